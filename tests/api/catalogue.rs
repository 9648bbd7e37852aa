//! The catalogue of offerings, buyers' recommendations, and the contacts an
//! owner sets on the organization (shown on certificates and reports).

use reqwest::Method;
use serde_json::json;

use crate::both_databases;
use crate::helpers::{TestApp, assert_problem};
use crate::projects::{ok, world};

both_databases! {
    async fn the_catalogue_lists_recommended_offerings_first_and_searches(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let offering = |title: &str, category: &str, street: &str| json!({
            "title": title, "category": category, "description": "每周一次，上门或在睦邻中心。",
            "target_group": "60 岁以上社区老人", "streets": [street], "unit_price_cny": "800.00",
        });
        let ours = ok(app.post(&format!("/organizations/{}/offerings", w.org), Some(&w.owner.access), offering("手指操健脑课", "health_talk", "五角场街道")).await, 201).await;
        assert_eq!(ours["unit_price_cny"], "800.00");
        ok(app.post(&format!("/organizations/{}/offerings", w.rival), Some(&w.rival_owner.access), offering("助老餐桌", "meal_help", "控江路街道")).await, 201).await;
        let gone = ok(app.post(&format!("/organizations/{}/offerings", w.rival), Some(&w.rival_owner.access), offering("社区花园", "garden", "控江路街道")).await, 201).await;
        let mut bad = offering("x", "banking", "五角场街道");
        bad["unit_price_cny"] = json!(800);
        let problem = assert_problem(app.post(&format!("/organizations/{}/offerings", w.org), Some(&w.owner.access), bad).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        assert_problem(app.post(&format!("/organizations/{}/offerings", w.org), Some(&w.rival_owner.access), offering("x", "garden", "y")).await, 404, "not_found").await;
        assert_eq!(app.delete(&format!("/offerings/{}", gone["id"].as_str().unwrap()), Some(&w.rival_owner.access)).await.status(), 204);

        // Before any recommendation: oldest first.
        let all = ok(app.get("/catalogue", None).await, 200).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        assert_eq!(all["items"][0]["title"], "手指操健脑课");
        // A recommendation by buyer staff puts the rival's offering first.
        assert_problem(app.post(&format!("/buyers/{}/recommendations", w.buyer), Some(&w.owner.access), json!({"organization_id": w.rival, "year": 2026, "note": "好"})).await, 404, "not_found").await;
        assert_problem(app.post(&format!("/buyers/{}/recommendations", w.buyer), Some(&w.staff.access), json!({"organization_id": "nope", "year": 2026, "note": "好"})).await, 422, "validation_failed").await;
        ok(app.post(&format!("/buyers/{}/recommendations", w.buyer), Some(&w.staff.access), json!({"organization_id": w.rival, "year": 2026, "note": "助餐服务口碑好"})).await, 201).await;
        let all = ok(app.get("/catalogue?limit=1", None).await, 200).await;
        assert_eq!(all["items"][0]["title"], "助老餐桌");
        assert_eq!(all["items"][0]["recommended"]["year"], 2026);
        assert_eq!(all["items"][0]["recommended"]["buyer_name"], "五角场街道办事处");
        let cursor = all["next_cursor"].as_str().unwrap();
        let rest = ok(app.get(&format!("/catalogue?limit=1&cursor={cursor}"), None).await, 200).await;
        assert_eq!(rest["items"][0]["title"], "手指操健脑课");
        assert!(rest["items"][0]["recommended"].is_null());
        assert!(rest["next_cursor"].is_null());

        // Filters: category, street, text.
        let found = ok(app.get("/catalogue?category=health_talk", None).await, 200).await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        let found = ok(app.get(&format!("/catalogue?street={}", urlencode("控江路街道")), None).await, 200).await;
        assert_eq!(found["items"][0]["title"], "助老餐桌");
        let found = ok(app.get(&format!("/catalogue?q={}", urlencode("健脑")), None).await, 200).await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        assert_problem(app.get("/catalogue?category=banking", None).await, 422, "validation_failed").await;
        let mine = ok(app.get(&format!("/organizations/{}/offerings", w.rival), Some(&w.rival_owner.access)).await, 200).await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    }
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

both_databases! {
    async fn the_owner_sets_the_person_in_charge_and_contact_phone(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let manager = app.register("主管").await;
        ok(app.post(&format!("/organizations/{}/members", w.org), Some(&w.owner.access), json!({"phone": manager.phone, "role": "manager"})).await, 201).await;
        let patch = |token: &str, body: serde_json::Value| {
            app.request(Method::PATCH, &format!("/organizations/{}", w.org), Some(token)).json(&body).send()
        };
        assert_problem(patch(&manager.access, json!({"person_in_charge": "张丽"})).await.unwrap(), 403, "forbidden").await;
        assert_problem(patch(&w.rival_owner.access, json!({"person_in_charge": "张丽"})).await.unwrap(), 404, "not_found").await;
        assert_problem(patch(&w.owner.access, json!({"contact_phone": "call me"})).await.unwrap(), 422, "validation_failed").await;
        assert_problem(patch(&w.owner.access, json!({"name": "改名"})).await.unwrap(), 400, "invalid_body").await;
        let org = ok(patch(&w.owner.access, json!({"person_in_charge": "张丽", "contact_phone": "021-65001234"})).await.unwrap(), 200).await;
        assert_eq!(org["person_in_charge"], "张丽");
        assert_eq!(org["contact_phone"], "021-65001234");
        let org = ok(patch(&w.owner.access, json!({"person_in_charge": null})).await.unwrap(), 200).await;
        assert!(org["person_in_charge"].is_null());
        assert_eq!(org["contact_phone"], "021-65001234");
    }
}
