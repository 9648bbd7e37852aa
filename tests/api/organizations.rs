//! Organizations: approval, roles, members, visibility, the last owner.

use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn an_organization_goes_from_pending_to_verified_and_builds_its_team(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let owner = app.register("花园队长").await;

        let res = app
            .post("/organizations", Some(&owner.access), json!({"name": "古美社区花园队 🌱", "category": "culture_sports", "description": "每周六上午在社区花园劳动"}))
            .await;
        assert_eq!(res.status(), 201);
        let org: Value = res.json().await.unwrap();
        assert_eq!(org["status"], "pending");
        assert_eq!(org["name"], "古美社区花园队 🌱");
        let id = org["id"].as_str().unwrap().to_owned();

        // Only admins approve.
        let res = app.post(&format!("/organizations/{id}/approve"), Some(&owner.access), json!({})).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.post(&format!("/organizations/{id}/approve"), Some(&admin.access), json!({})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "verified");

        // The owner adds a manager by phone; the manager adds staff.
        let manager = app.register("经理").await;
        let res = app
            .post(&format!("/organizations/{id}/members"), Some(&owner.access), json!({"phone": manager.phone, "role": "manager"}))
            .await;
        assert_eq!(res.status(), 201);
        let staff = app.register("工作人员").await;
        let res = app
            .post(&format!("/organizations/{id}/members"), Some(&manager.access), json!({"phone": staff.phone, "role": "staff"}))
            .await;
        assert_eq!(res.status(), 201);
        let res = app
            .post(&format!("/organizations/{id}/members"), Some(&manager.access), json!({"phone": staff.phone, "role": "staff"}))
            .await;
        assert_problem(res, 409, "already_member").await;

        // Staff cannot add members; managers cannot make owners.
        let someone = app.register("路人").await;
        let res = app
            .post(&format!("/organizations/{id}/members"), Some(&staff.access), json!({"phone": someone.phone, "role": "staff"}))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post(&format!("/organizations/{id}/members"), Some(&manager.access), json!({"phone": someone.phone, "role": "owner"}))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post(&format!("/organizations/{id}/members"), Some(&owner.access), json!({"phone": new_phone(), "role": "staff"}))
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "phone");

        // Staff can see the team.
        let res = app.get(&format!("/organizations/{id}/members"), Some(&staff.access)).await;
        assert_eq!(res.status(), 200);
        let members: Value = res.json().await.unwrap();
        let roles: Vec<(&str, &str)> = members["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["display_name"].as_str().unwrap(), m["role"].as_str().unwrap()))
            .collect();
        assert_eq!(roles, [("花园队长", "owner"), ("经理", "manager"), ("工作人员", "staff")]);

        // The last owner stays; managers cannot remove owners.
        let res = app.delete(&format!("/organizations/{id}/members/{}", owner.user_id), Some(&manager.access)).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.delete(&format!("/organizations/{id}/members/{}", owner.user_id), Some(&owner.access)).await;
        assert_problem(res, 409, "last_owner").await;
        let res = app.delete(&format!("/organizations/{id}/members/{}", staff.user_id), Some(&manager.access)).await;
        assert_eq!(res.status(), 204);
        let res = app.get(&format!("/organizations/{id}/members"), Some(&staff.access)).await;
        assert_problem(res, 404, "not_found").await;

        // /me shows the memberships.
        let me: Value = app.get("/me", Some(&manager.access)).await.json().await.unwrap();
        assert_eq!(me["memberships"], json!([{"organization_id": id, "organization_name": "古美社区花园队 🌱", "role": "manager"}]));
    }
}

both_databases! {
    async fn a_manager_of_one_organization_cannot_see_into_another(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (a, owner_a) = app.verified_org(&admin, "A 助餐").await;
        let (b, _owner_b) = app.verified_org(&admin, "B 法律咨询").await;
        let manager_a = app.register("A 经理").await;
        let res = app.post(&format!("/organizations/{a}/members"), Some(&owner_a.access), json!({"phone": manager_a.phone, "role": "manager"})).await;
        assert_eq!(res.status(), 201);

        assert_problem(app.get(&format!("/organizations/{b}/members"), Some(&manager_a.access)).await, 404, "not_found").await;
        let res = app.post(&format!("/organizations/{b}/members"), Some(&manager_a.access), json!({"phone": manager_a.phone, "role": "owner"})).await;
        assert_problem(res, 404, "not_found").await;
        let res = app.delete(&format!("/organizations/{b}/members/{}", manager_a.user_id), Some(&manager_a.access)).await;
        assert_problem(res, 404, "not_found").await;
        // B itself is public because it is verified.
        assert_eq!(app.get(&format!("/organizations/{b}"), None).await.status(), 200);
    }
}

both_databases! {
    async fn pending_organizations_are_seen_only_by_their_members_and_admins(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let owner = app.register("新组织").await;
        let res = app.post("/organizations", Some(&owner.access), json!({"name": "待审核组织", "category": "charity"})).await;
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let stranger = app.register("陌生人").await;

        assert_problem(app.get(&format!("/organizations/{id}"), None).await, 404, "not_found").await;
        assert_problem(app.get(&format!("/organizations/{id}"), Some(&stranger.access)).await, 404, "not_found").await;
        assert_eq!(app.get(&format!("/organizations/{id}"), Some(&owner.access)).await.status(), 200);
        assert_eq!(app.get(&format!("/organizations/{id}"), Some(&admin.access)).await.status(), 200);

        let names = |v: Value| -> Vec<String> {
            v["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
        };
        let anonymous = names(app.get("/organizations", None).await.json().await.unwrap());
        assert!(!anonymous.contains(&"待审核组织".to_owned()));
        let own = names(app.get("/organizations", Some(&owner.access)).await.json().await.unwrap());
        assert!(own.contains(&"待审核组织".to_owned()));

        let res = app.post(&format!("/organizations/{id}/suspend"), Some(&admin.access), json!({})).await;
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "suspended");
        let res = app.post(&format!("/organizations/{}/approve", uuid::Uuid::new_v4()), Some(&admin.access), json!({})).await;
        assert_problem(res, 404, "not_found").await;
    }
}

both_databases! {
    async fn listing_walks_every_organization_once_while_new_ones_arrive(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let owner = app.register("批量").await;
        let mut created = Vec::new();
        for i in 0..25 {
            let res = app.post("/organizations", Some(&owner.access), json!({"name": format!("组织{i:02}"), "category": "charity"})).await;
            created.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/organizations?limit=7&cursor={c}"),
                None => "/organizations?limit=7".to_owned(),
            };
            let page: Value = app.get(&path, Some(&admin.access)).await.json().await.unwrap();
            // Someone registers another organization between every page.
            app.post("/organizations", Some(&owner.access), json!({"name": format!("插入{pages}"), "category": "charity"})).await;
            pages += 1;
            for item in page["items"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no organization twice");
        for id in &created {
            assert!(seen.contains(id), "nothing skipped");
        }
        assert_problem(app.get("/organizations?limit=0", None).await, 422, "validation_failed").await;
        assert_problem(app.get("/organizations?cursor=%%%", None).await, 400, "invalid_query").await;
        assert_problem(app.get("/organizations?limit=abc", None).await, 400, "invalid_query").await;
    }
}

both_databases! {
    /// Two owners removing each other at the same moment: one succeeds, the
    /// other is refused, and the organization keeps an owner.
    async fn two_owners_removing_each_other_at_once_leave_one_owner(kind) {
        let app = TestApp::spawn(kind).await;
        for round in 0..5 {
            let first = app.register("一号").await;
            let res = app.post("/organizations", Some(&first.access), json!({"name": format!("双主{round}"), "category": "mediation"})).await;
            let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            let second = app.register("二号").await;
            let res = app.post(&format!("/organizations/{id}/members"), Some(&first.access), json!({"phone": second.phone, "role": "owner"})).await;
            assert_eq!(res.status(), 201);
            let path_a = format!("/organizations/{id}/members/{}", second.user_id);
            let path_b = format!("/organizations/{id}/members/{}", first.user_id);
            let (a, b) = tokio::join!(
                app.delete(&path_a, Some(&first.access)),
                app.delete(&path_b, Some(&second.access)),
            );
            let mut statuses = [a.status().as_u16(), b.status().as_u16()];
            statuses.sort_unstable();
            // The loser is either refused as last owner or no longer a member.
            assert!(statuses == [204, 404] || statuses == [204, 409], "{statuses:?}");
            let admin_view = app.db.run({
                let id = id.clone();
                move |c| mulin::organizations::queries::count_owners(c, &id)
            }).await.unwrap();
            assert_eq!(admin_view, 1);
        }
    }
}
