//! Personal data: export, erasure, separate consent for sensitive activities,
//! retention, the access log and the check-in audit trail, and no phone
//! numbers or names in the server's log.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::both_databases;
use crate::helpers::*;
use crate::live::connect;

fn minutes_from_now(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

async fn ok(res: reqwest::Response, status: u16) -> Value {
    let code = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(code, status, "{body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

async fn add_member(app: &TestApp, owner: &Session, org: &str, who: &Session, role: &str) {
    let res = app
        .post(
            &format!("/organizations/{org}/members"),
            Some(&owner.access),
            json!({"phone": who.phone, "role": role}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

async fn erase(app: &TestApp, who: &Session, password: &str) -> reqwest::Response {
    app.request(reqwest::Method::DELETE, "/me", Some(&who.access))
        .json(&json!({"password": password}))
        .send()
        .await
        .unwrap()
}

/// The close code the socket ends with, within five seconds.
async fn close_code(socket: &mut crate::live::Socket) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

both_databases! {
    async fn sensitive_activities_need_separate_consent_stored_with_its_version(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "心理服务社").await;
        let consent = ok(app.get("/consent", None).await, 200).await;
        let version = consent["version"].as_str().unwrap().to_owned();
        assert!(consent["zh-CN"].as_str().unwrap().contains("敏感个人信息"));
        assert!(!consent["en"].as_str().unwrap().is_empty());

        let session = app.published_event(&owner, &org, 5, json!({
            "title": "心理咨询", "category": "counselling",
            "starts_at": minutes_from_now(30), "ends_at": minutes_from_now(90)})).await;
        let resident = app.register("王阿姨").await;
        let path = format!("/events/{session}/registrations");
        let refused = assert_problem(app.post(&path, Some(&resident.access), json!({})).await, 422, "consent_required").await;
        assert!(refused["detail"].as_str().unwrap().contains("consent"), "{refused}");
        assert_problem(app.post(&path, Some(&resident.access), json!({"consent_sensitive": false})).await, 422, "consent_required").await;
        // Nothing was written by the refusals.
        assert_eq!(app.event(&session).await["seats_left"], 5);
        ok(app.post(&path, Some(&resident.access), json!({"consent_sensitive": true})).await, 201).await;

        // Walk-ins to a sensitive activity need it too; other activities do not.
        let walk_ins = format!("/events/{session}/walk-ins");
        assert_problem(app.post(&walk_ins, Some(&owner.access), json!({"display_name": "刘奶奶"})).await, 422, "consent_required").await;
        ok(app.post(&walk_ins, Some(&owner.access), json!({"display_name": "刘奶奶", "consent_sensitive": true})).await, 201).await;
        let taiji = app.published_event(&owner, &org, 5, json!({"starts_at": minutes_from_now(30), "ends_at": minutes_from_now(90)})).await;
        ok(app.sign_up(&resident, &taiji, 1).await, 201).await;

        // People signed up under one category: it cannot cross the sensitive line.
        let patch = |event: &str, category: &str| {
            app.request(reqwest::Method::PATCH, &format!("/events/{event}"), Some(&owner.access)).json(&json!({"category": category})).send()
        };
        let moved = assert_problem(patch(&taiji, "legal_aid").await.unwrap(), 422, "validation_failed").await;
        assert_eq!(moved["errors"][0]["field"], "category", "{moved}");
        assert_problem(patch(&session, "culture_sports").await.unwrap(), 422, "validation_failed").await;
        assert_eq!(patch(&session, "health_talk").await.unwrap().status(), 200, "within the sensitive set is fine");

        let export = ok(app.get("/me/export", Some(&resident.access)).await, 200).await;
        let consents = export["consents"].as_array().unwrap();
        assert_eq!(consents.len(), 1, "{export}");
        assert_eq!(consents[0]["event_id"], session.as_str());
        assert_eq!(consents[0]["version"], version.as_str());
        assert!(consents[0]["given_at"].is_string());
    }
}

both_databases! {
    async fn a_resident_exports_everything_then_deletes_the_account(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "社区花园队").await;
        let garden = app.published_event(&owner, &org, 1, json!({"waitlist_enabled": true})).await;
        let resident = app.register("张建国").await;
        let waiting = app.register("李秀英").await;
        ok(app.sign_up(&resident, &garden, 1).await, 201).await;
        let queued = ok(app.sign_up(&waiting, &garden, 1).await, 201).await;
        assert_eq!(queued["status"], "waitlisted");
        ok(app.post("/me/volunteer", Some(&resident.access), json!({"skills": ["园艺"]})).await, 201).await;
        let mut settings = ok(app.get("/me/notification-settings", Some(&resident.access)).await, 200).await;
        settings["kinds"]["reminder"] = json!(false);
        ok(app.request(reqwest::Method::PATCH, "/me/notification-settings", Some(&resident.access)).json(&settings).send().await.unwrap(), 200).await;

        let export = ok(app.get("/me/export", Some(&resident.access)).await, 200).await;
        for section in ["account", "sessions", "registrations", "consents", "checkins", "feedback",
                        "volunteer", "notifications", "memberships", "centres_managed", "buyer_roles",
                        "roster_reads", "live_messages", "exported_at"] {
            assert!(export.get(section).is_some(), "export lacks {section}: {export}");
        }
        assert_eq!(export["account"]["display_name"], "张建国");
        assert!(export["account"]["phone"].as_str().unwrap().ends_with(&resident.phone[resident.phone.len() - 8..]));
        assert!(export["account"].get("password_hash").is_none());
        assert_eq!(export["registrations"][0]["event"]["id"], garden.as_str());
        assert_eq!(export["volunteer"]["profile"]["skills"], json!(["园艺"]));
        assert_eq!(export["notifications"]["settings"]["reminder"], false);
        assert!(!export["sessions"].as_array().unwrap().is_empty());

        // The resident's app is open on `me`.
        let mut socket = connect(&app, Some(&resident.access)).await;

        assert_problem(erase(&app, &resident, "wrong password").await, 401, "invalid_credentials").await;
        assert_eq!(app.get("/me", Some(&resident.access)).await.status(), 200, "a wrong password changes nothing");
        assert_eq!(erase(&app, &resident, PASSWORD).await.status(), 204);

        assert_eq!(close_code(&mut socket).await, Some(4001), "the socket closes when the account goes");
        assert_eq!(app.get("/me", Some(&resident.access)).await.status(), 401);
        let refresh = app.post("/auth/refresh", None, json!({"refresh_token": resident.refresh})).await;
        assert_eq!(refresh.status(), 401);
        let login = app.post("/auth/login", None, json!({"phone": resident.phone, "password": PASSWORD})).await;
        assert_problem(login, 401, "invalid_credentials").await;

        // The seat went to the waitlist.
        let promoted = ok(app.get(&format!("/registrations/{}", queued["id"].as_str().unwrap()), Some(&waiting.access)).await, 200).await;
        assert_eq!(promoted["status"], "confirmed");
        // The roster keeps the cancelled row, without the person.
        let roster = app.roster(&owner, &garden).await;
        let gone = roster.iter().find(|r| r["status"] == "cancelled").expect("the cancelled row");
        assert_eq!(gone["erased"], true);
        assert_eq!(gone["phone"], "");
        assert_ne!(gone["display_name"], "张建国");

        // Nothing is kept on the person's own live topic, not even the
        // cancellation the erasure caused.
        let user_topic = format!("user:{}", resident.user_id);
        let kept: i64 = app.db.run(move |c| {
            use diesel::prelude::*;
            use mulin::db::schema::live_messages;
            Ok(live_messages::table.filter(live_messages::topic.eq(user_topic)).count().get_result(c)?)
        }).await.unwrap();
        assert_eq!(kept, 0);

        // The number may register again, as a new account.
        let again = app.register_as(&resident.phone, "张建国").await;
        assert_ne!(again.user_id, resident.user_id);
        let fresh = ok(app.get("/me/export", Some(&again.access)).await, 200).await;
        assert_eq!(fresh["registrations"], json!([]));
    }
}

both_databases! {
    async fn deleting_an_account_allows_ten_password_attempts_a_minute(kind) {
        let app = TestApp::spawn(kind).await;
        let resident = app.register("猜密码").await;
        for _ in 0..10 {
            assert_problem(erase(&app, &resident, "guess").await, 401, "invalid_credentials").await;
        }
        assert_problem(erase(&app, &resident, PASSWORD).await, 429, "rate_limited").await;
        assert_eq!(app.get("/me", Some(&resident.access)).await.status(), 200);
    }
}

both_databases! {
    async fn the_only_owner_of_an_organization_cannot_delete_the_account(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "法律援助站").await;
        assert_problem(erase(&app, &owner, PASSWORD).await, 409, "sole_owner").await;
        assert_eq!(app.get("/me", Some(&owner.access)).await.status(), 200);
        let partner = app.register("第二负责人").await;
        add_member(&app, &owner, &org, &partner, "owner").await;
        assert_eq!(erase(&app, &owner, PASSWORD).await.status(), 204);
        let members = ok(app.get(&format!("/organizations/{org}/members"), Some(&partner.access)).await, 200).await;
        let ids: Vec<&str> = members["items"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [partner.user_id.as_str()]);
    }
}

both_databases! {
    async fn every_table_is_exported_or_declared_to_hold_nothing_personal(kind) {
        let app = TestApp::spawn(kind).await;
        let tables: BTreeSet<String> = app.db.run(mulin::db::table_names).await.unwrap().into_iter().collect();
        let registry = mulin::app::personal_data();
        let claimed: BTreeSet<String> = registry.tables().into_iter().map(str::to_owned).collect();
        let declared: BTreeSet<String> = mulin::privacy::NOT_PERSONAL.iter().map(|(t, _)| (*t).to_owned()).collect();
        let unclassified: Vec<&String> = tables.iter().filter(|t| !claimed.contains(*t) && !declared.contains(*t)).collect();
        assert!(unclassified.is_empty(), "tables neither exported by a privacy::Personal part nor listed in privacy::NOT_PERSONAL: {unclassified:?}");
        let both: Vec<&String> = claimed.intersection(&declared).collect();
        assert!(both.is_empty(), "tables both exported and declared not personal: {both:?}");
        let stale: Vec<&String> = claimed.union(&declared).filter(|t| !tables.contains(*t)).collect();
        assert!(stale.is_empty(), "classified tables that do not exist: {stale:?}");
    }
}

both_databases! {
    async fn staff_reads_of_rosters_are_logged_for_the_owner_and_the_audit_trail_names_actor_and_device(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "助餐点").await;
        let staff = app.register("门口志愿者").await;
        let manager = app.register("项目主管").await;
        add_member(&app, &owner, &org, &staff, "staff").await;
        add_member(&app, &owner, &org, &manager, "manager").await;
        let event = app.published_event(&owner, &org, 10, json!({"starts_at": minutes_from_now(30), "ends_at": minutes_from_now(90)})).await;
        let resident = app.register("赵大爷").await;
        let registration = ok(app.sign_up(&resident, &event, 1).await, 201).await["id"].as_str().unwrap().to_owned();

        app.roster(&staff, &event).await;
        app.roster(&staff, &event).await;
        let csv = app.request(reqwest::Method::GET, &format!("/events/{event}/registrations"), Some(&staff.access))
            .header("accept", "text/csv").send().await.unwrap();
        assert_eq!(csv.status(), 200);
        ok(app.get(&format!("/events/{event}/checkin/sync"), Some(&staff.access)).await, 200).await;

        let checked = ok(app.post(&format!("/events/{event}/checkins"), Some(&staff.access),
            json!({"registration_id": registration, "device_id": "door-phone-1"})).await, 201).await;
        let checkin = checked["checkin"]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.delete(&format!("/checkins/{checkin}"), Some(&manager.access)).await.status(), 204);

        assert_problem(app.get(&format!("/events/{event}/checkin/audit"), Some(&staff.access)).await, 403, "forbidden").await;
        let audit = ok(app.get(&format!("/events/{event}/checkin/audit"), Some(&manager.access)).await, 200).await;
        let trail: Vec<(String, String, Option<String>)> = audit["items"].as_array().unwrap().iter()
            .map(|e| (e["action"].as_str().unwrap().to_owned(), e["actor"]["display_name"].as_str().unwrap().to_owned(), e["device_id"].as_str().map(str::to_owned)))
            .collect();
        assert_eq!(trail, [
            ("created".to_owned(), "门口志愿者".to_owned(), Some("door-phone-1".to_owned())),
            ("undone".to_owned(), "项目主管".to_owned(), Some("door-phone-1".to_owned())),
        ]);

        assert_problem(app.get(&format!("/organizations/{org}/access-log"), Some(&manager.access)).await, 403, "forbidden").await;
        assert_problem(app.get(&format!("/organizations/{org}/access-log"), Some(&staff.access)).await, 403, "forbidden").await;
        for reader in [&owner, &admin] {
            let log = ok(app.get(&format!("/organizations/{org}/access-log"), Some(&reader.access)).await, 200).await;
            let items = log["items"].as_array().unwrap();
            let lookups = items.iter().filter(|e| e["what"] == "phone_lookup").count();
            assert_eq!(lookups, 2, "adding two members by phone is two lookups: {log}");
            let mut seen: Vec<(String, String)> = items.iter()
                .filter(|e| e["what"] != "phone_lookup")
                .map(|e| (e["actor"]["display_name"].as_str().unwrap().to_owned(), e["what"].as_str().unwrap().to_owned()))
                .collect();
            seen.sort();
            assert_eq!(seen, [
                ("门口志愿者".to_owned(), "roster".to_owned()),
                ("门口志愿者".to_owned(), "roster_csv".to_owned()),
                ("门口志愿者".to_owned(), "sync_feed".to_owned()),
                ("项目主管".to_owned(), "checkin_audit".to_owned()),
            ], "two roster reads in a row are one entry");
            assert!(items.iter().filter(|e| e["what"] != "phone_lookup").all(|e| e["event_id"] == event.as_str()));
        }
    }
}

both_databases! {
    async fn rosters_of_sensitive_activities_and_walk_in_details_are_erased_after_the_retention_period(kind) {
        let app = TestApp::spawn_process(kind, &[("MULIN_TEST_CLOCK", "true"), ("MULIN_RETENTION_DAYS", "30")]).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "邻里服务中心").await;
        let soon = json!({"starts_at": minutes_from_now(30), "ends_at": minutes_from_now(90)});
        let mut counselling = soon.clone();
        counselling["category"] = json!("counselling");
        counselling["title"] = json!("婚姻家庭咨询");
        let sensitive = app.published_event(&owner, &org, 10, counselling).await;
        let taiji = app.published_event(&owner, &org, 10, soon).await;
        let resident = app.register("陈美华").await;
        let mut registrations = Vec::new();
        for event in [&sensitive, &taiji] {
            let r = ok(app.post(&format!("/events/{event}/registrations"), Some(&resident.access),
                json!({"consent_sensitive": true, "note": "需要安静的房间"})).await, 201).await;
            ok(app.post(&format!("/events/{event}/checkins"), Some(&owner.access), json!({"registration_id": r["id"]})).await, 201).await;
            registrations.push(r["id"].as_str().unwrap().to_owned());
            ok(app.post(&format!("/events/{event}/walk-ins"), Some(&owner.access),
                json!({"display_name": "孙桂兰", "phone": "13911112222", "birth_year": 1948, "consent_sensitive": true})).await, 201).await;
        }
        let attendance = |event: String| {
            let app = &app;
            let owner = &owner;
            async move { ok(app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await, 200).await }
        };
        let before = (attendance(sensitive.clone()).await, attendance(taiji.clone()).await);

        // After the activities: feedback with a comment on each.
        app.advance(2 * 3600).await;
        for registration in &registrations {
            ok(app.post(&format!("/registrations/{registration}/feedback"), Some(&resident.access),
                json!({"score": 4, "comment": "说到了家里的难处"})).await, 201).await;
        }
        let comments = |event: String| {
            let app = &app;
            let owner = &owner;
            async move {
                let f = ok(app.get(&format!("/events/{event}/feedback"), Some(&owner.access)).await, 200).await;
                (f["count"].clone(), f["comments"]["items"][0]["comment"].clone())
            }
        };
        assert_eq!(comments(sensitive.clone()).await, (json!(1), json!("说到了家里的难处")));

        // Just before the period ends nothing is erased.
        app.advance(29 * 86_400 - 30 * 60).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(app.roster(&owner, &sensitive).await.iter().all(|r| r["erased"] == false));

        app.advance(2 * 86_400).await;
        let mut erased = false;
        for _ in 0..40 {
            let roster = app.roster(&owner, &sensitive).await;
            if roster.iter().all(|r| r["erased"] == true) {
                erased = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(erased, "the sweep erased the sensitive roster");
        for row in app.roster(&owner, &sensitive).await {
            assert_eq!(row["display_name"], "");
            assert_eq!(row["phone"], "");
            assert_eq!(row["user_id"], Value::Null);
            assert_eq!(row["note"], Value::Null);
        }
        let taiji_roster = app.roster(&owner, &taiji).await;
        let kept = taiji_roster.iter().find(|r| r["user_id"] == resident.user_id.as_str()).expect("the resident stays on an ordinary roster");
        assert_eq!(kept["display_name"], "陈美华");
        let walk_in = taiji_roster.iter().find(|r| r["user_id"].is_null()).unwrap();
        assert_eq!(walk_in["display_name"], "");
        assert_eq!(walk_in["erased"], true);
        // Counts stay; the comment at the sensitive activity goes, its score stays.
        assert_eq!((attendance(sensitive.clone()).await, attendance(taiji.clone()).await), before);
        assert_eq!(comments(sensitive.clone()).await, (json!(1), Value::Null));
        assert_eq!(comments(taiji.clone()).await, (json!(1), json!("说到了家里的难处")));
        // The resident's own history no longer links them to the counselling session.
        let mine = ok(app.get("/me/registrations?limit=100", Some(&resident.access)).await, 200).await;
        let events: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|r| r["event_id"].as_str().unwrap()).collect();
        assert_eq!(events, [taiji.as_str()]);
        // And the log never carried the walk-in's name or number.
        let log = app.server_log();
        assert!(!log.contains("孙桂兰") && !log.contains("11112222"), "personal data in the server log");
    }
}

/// How a name may appear in a URL or a log: as typed, or percent-encoded.
fn spellings(text: &str) -> Vec<String> {
    let encoded: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
    vec![text.to_owned(), encoded.clone(), encoded.to_lowercase()]
}

both_databases! {
    async fn no_phone_number_or_name_reaches_the_server_log_or_an_error_body(kind) {
        // At debug level, so that whatever an operator may turn on is covered.
        let app = TestApp::spawn_process(kind, &[("RUST_LOG", "debug")]).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "睦邻互助社").await;
        let names = ["周秀兰", "吴国强", "郑小燕", "冯桂芝"];
        let mut phones = vec![admin.phone.clone(), owner.phone.clone()];
        let mut people = Vec::new();
        for name in &names[..3] {
            let phone = new_phone();
            people.push(app.register_as(&phone, name).await);
            phones.push(phone);
        }
        let walk_in_phone = new_phone();
        let unknown_phone = new_phone();
        phones.extend([walk_in_phone.clone(), unknown_phone.clone()]);
        let mut error_bodies = Vec::new();

        // Refusals that involve a phone number or a name.
        let taken = app.post("/auth/register", None, json!({"phone": people[0].phone, "password": PASSWORD, "display_name": names[0]})).await;
        assert_eq!(taken.status(), 409);
        error_bodies.push(taken.text().await.unwrap());
        let wrong = app.post("/auth/login", None, json!({"phone": people[1].phone, "password": "not the password"})).await;
        assert_eq!(wrong.status(), 401);
        error_bodies.push(wrong.text().await.unwrap());
        let bad = app.post("/auth/register", None, json!({"phone": format!("{}99", people[2].phone), "password": PASSWORD, "display_name": names[2]})).await;
        assert_eq!(bad.status(), 422);
        error_bodies.push(bad.text().await.unwrap());
        // A phone sent as a number: the parser's message would quote it.
        let typed = app.post("/auth/login", None, json!({"phone": people[1].phone.parse::<u64>().unwrap(), "password": PASSWORD})).await;
        assert!(typed.status().is_client_error());
        error_bodies.push(typed.text().await.unwrap());
        let named = app.post("/auth/register", None, json!({"phone": new_phone(), "password": PASSWORD, "display_name": [names[1]]})).await;
        assert!(named.status().is_client_error());
        error_bodies.push(named.text().await.unwrap());
        let nobody = app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": unknown_phone, "role": "staff"})).await;
        assert!(nobody.status().is_client_error());
        error_bodies.push(nobody.text().await.unwrap());
        add_member(&app, &owner, &org, &people[2], "staff").await;

        // The door: sign-ups, a walk-in, searches by name and by digits.
        let event = app.published_event(&owner, &org, 10, json!({"starts_at": minutes_from_now(30), "ends_at": minutes_from_now(90)})).await;
        for person in &people[..2] {
            let r = ok(app.sign_up(person, &event, 1).await, 201).await;
            ok(app.post(&format!("/events/{event}/checkins"), Some(&people[2].access), json!({"registration_id": r["id"]})).await, 201).await;
        }
        ok(app.post(&format!("/events/{event}/walk-ins"), Some(&people[2].access), json!({"display_name": names[3], "phone": walk_in_phone})).await, 201).await;
        let too_long = app.post(&format!("/events/{event}/walk-ins"), Some(&people[2].access), json!({"display_name": names[3].repeat(20), "phone": walk_in_phone})).await;
        assert_eq!(too_long.status(), 422);
        error_bodies.push(too_long.text().await.unwrap());
        let by_name = reqwest::Url::parse_with_params(&app.url(&format!("/events/{event}/registrations")), &[("q", names[0])]).unwrap();
        let found: Value = app.client.get(by_name).bearer_auth(&people[2].access).send().await.unwrap().json().await.unwrap();
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        let digits = &people[1].phone[people[1].phone.len() - 4..];
        ok(app.get(&format!("/events/{event}/registrations?q={digits}"), Some(&people[2].access)).await, 200).await;
        ok(app.get("/me/export", Some(&people[0].access)).await, 200).await;
        assert_eq!(erase(&app, &people[0], PASSWORD).await.status(), 204);

        let log = app.server_log();
        assert!(log.lines().count() > 10, "the server logged the run: {log}");
        for phone in &phones {
            let national = &phone[phone.len() - 11..];
            assert!(!log.contains(national), "phone {national} in the server log");
            assert!(error_bodies.iter().all(|b| !b.contains(national)), "phone {national} in an error body: {error_bodies:?}");
        }
        for name in names {
            for spelling in spellings(name) {
                assert!(!log.contains(&spelling), "name {name} ({spelling}) in the server log");
            }
            assert!(error_bodies.iter().all(|b| !b.contains(name)), "name {name} in an error body: {error_bodies:?}");
        }
    }
}

both_databases! {
    async fn looking_people_up_by_phone_is_limited_to_thirty_an_hour_per_caller(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "查号测试").await;
        let path = format!("/organizations/{org}/members");
        for _ in 0..30 {
            let res = app.post(&path, Some(&owner.access), json!({"phone": new_phone(), "role": "staff"})).await;
            assert_problem(res, 422, "validation_failed").await;
        }
        let res = app.post(&path, Some(&owner.access), json!({"phone": new_phone(), "role": "staff"})).await;
        assert!(res.headers().contains_key("retry-after"));
        assert_problem(res, 429, "rate_limited").await;
        let log = ok(app.get(&format!("/organizations/{org}/access-log?limit=100"), Some(&owner.access)).await, 200).await;
        assert_eq!(log["items"].as_array().unwrap().len(), 30, "every lookup made is logged; the refused one was not made");
    }
}

both_databases! {
    async fn lookups_by_phone_for_a_buyers_staff_and_evaluators_share_the_callers_hour(kind) {
        let app = TestApp::spawn(kind).await;
        let w = crate::projects::world(&app).await;
        let (admin, org, owner, buyer) = (&w.admin, &w.org, &w.owner, &w.buyer);
        // The owner of an organization is also a buyer's staff member.
        let res = app.post(&format!("/buyers/{buyer}/members"), Some(&admin.access), json!({"phone": owner.phone})).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let project = crate::projects::draft(&app, &w, &(chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()).await;
        let project = project["id"].as_str().unwrap().to_owned();
        let unknown = |path: String| {
            let app = &app;
            let token = owner.access.clone();
            // Members have a role; buyers' staff and evaluators do not.
            let body = if path.starts_with("/organizations") {
                json!({"phone": new_phone(), "role": "staff"})
            } else {
                json!({"phone": new_phone()})
            };
            async move { app.post(&path, Some(&token), body).await }
        };
        for i in 0..30 {
            let path = match i % 3 {
                0 => format!("/organizations/{org}/members"),
                1 => format!("/buyers/{buyer}/members"),
                _ => format!("/projects/{project}/evaluators"),
            };
            let res = unknown(path.clone()).await;
            assert_eq!(res.status(), 422, "{path}: {}", res.text().await.unwrap());
        }
        for path in [format!("/buyers/{buyer}/members"), format!("/projects/{project}/evaluators"), format!("/organizations/{org}/members")] {
            let res = unknown(path).await;
            assert!(res.headers().contains_key("retry-after"));
            assert_problem(res, 429, "rate_limited").await;
        }
        // A caller who may not add anyone is refused for that, not counted.
        let stranger = app.register("路人").await;
        let res = app.post(&format!("/buyers/{buyer}/members"), Some(&stranger.access), json!({"phone": new_phone()})).await;
        assert!(matches!(res.status().as_u16(), 403 | 404), "{}", res.status());
        // Admins are not limited.
        let res = app.post(&format!("/buyers/{buyer}/members"), Some(&admin.access), json!({"phone": new_phone()})).await;
        assert_problem(res, 422, "validation_failed").await;
        // The periodic prune runs (its SQL on both databases); the caller stays refused.
        app.db.write(|c| mulin::auth::ratelimit::prune(c)).await.unwrap();
        let res = unknown(format!("/buyers/{buyer}/members")).await;
        assert_problem(res, 429, "rate_limited").await;
    }
}
