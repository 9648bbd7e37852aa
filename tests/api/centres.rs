//! Centres: created by admins, readable by anyone.

use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn an_admin_adds_a_centre_that_everyone_can_read(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let resident = app.register("居民").await;
        let body = json!({"name": "古美睦邻中心", "address": "平吉路 100 号", "street": "古美路街道", "district": "闵行区"});

        assert_problem(app.post("/centres", Some(&resident.access), body.clone()).await, 403, "forbidden").await;
        assert_problem(app.post("/centres", None, body.clone()).await, 401, "unauthenticated").await;

        let res = app.post("/centres", Some(&admin.access), body).await;
        assert_eq!(res.status(), 201);
        let centre: Value = res.json().await.unwrap();
        assert_eq!(centre["timezone"], "Asia/Shanghai");
        let id = centre["id"].as_str().unwrap();

        let fetched: Value = app.get(&format!("/centres/{id}"), None).await.json().await.unwrap();
        assert_eq!(fetched["name"], "古美睦邻中心");
        let list: Value = app.get("/centres", None).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["next_cursor"], Value::Null);
        assert_problem(app.get(&format!("/centres/{}", uuid::Uuid::new_v4()), None).await, 404, "not_found").await;

        let res = app
            .post("/centres", Some(&admin.access), json!({"name": "柏林中心", "address": "x", "street": "y", "district": "z", "timezone": "Europe/Berlin"}))
            .await;
        assert_eq!(res.json::<Value>().await.unwrap()["timezone"], "Europe/Berlin");
        let res = app
            .post("/centres", Some(&admin.access), json!({"name": "x", "address": "x", "street": "y", "district": "z", "timezone": "Mars/Olympus"}))
            .await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "timezone");
    }
}
