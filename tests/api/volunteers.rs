//! Volunteers: opting in, shifts, applications, the door, back-fills and
//! their verification, the volunteer's records, certificates and the CSV the
//! national volunteer information system takes.

use chrono::{DateTime, Duration, DurationRound, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{Session, TestApp, assert_problem};
use crate::live::{connect, next, subscribe};

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// A published event starting in 30 minutes and a shift on it that started
/// three hours ago and ends in an hour (the event's set-up and its first hour).
async fn event_with_shift(
    app: &TestApp,
    manager: &Session,
    org: &str,
    slots: i64,
    auto_approve: bool,
) -> (String, String, DateTime<Utc>) {
    let now = Utc::now().duration_trunc(Duration::minutes(1)).unwrap();
    let event = app
        .published_event(
            manager,
            org,
            50,
            json!({"starts_at": at(now + Duration::minutes(30)), "ends_at": at(now + Duration::minutes(150))}),
        )
        .await;
    let start = now - Duration::hours(3);
    let res = app
        .post(
            &format!("/events/{event}/shifts"),
            Some(&manager.access),
            json!({"role": "签到引导", "starts_at": at(start), "ends_at": at(now + Duration::hours(1)),
                   "slots": slots, "served_group": "社区老人", "content": "引导老人签到、入座", "auto_approve": auto_approve}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let shift: Value = res.json().await.unwrap();
    (event, shift["id"].as_str().unwrap().to_owned(), start)
}

async fn opt_in(app: &TestApp, who: &Session) -> Value {
    let res = app
        .post(
            "/me/volunteer",
            Some(&who.access),
            json!({"skills": ["送餐", "陪伴老人"], "availability": "周末上午"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

both_databases! {
    async fn a_volunteer_is_signed_in_at_the_door_back_filled_verified_and_certified(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "助老志愿队").await;
        let manager = app.register("第二位主管").await;
        let staff = app.register("门口志愿者").await;
        for (who, role) in [(&manager, "manager"), (&staff, "staff")] {
            let res = app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": who.phone, "role": role})).await;
            assert_eq!(res.status(), 201);
        }
        let (event, shift, start) = event_with_shift(&app, &owner, &org, 2, false).await;
        let mut org_socket = connect(&app, Some(&staff.access)).await;
        let org_seq = subscribe(&mut org_socket, &format!("org:{org}"), None).await["seq"].as_i64().unwrap();
        let mut event_socket = connect(&app, None).await;
        subscribe(&mut event_socket, &format!("event:{event}"), None).await;

        // Opting in: a number, a door code, once only; /me shows it.
        let zhao = app.register("赵阿姨").await;
        let profile = opt_in(&app, &zhao).await;
        let number = profile["volunteer_no"].as_str().unwrap().to_owned();
        assert!(number.starts_with('V') && number.len() == 11, "{number}");
        let code = profile["code"].as_str().unwrap().to_owned();
        assert_problem(app.post("/me/volunteer", Some(&zhao.access), json!({"skills": []})).await, 409, "already_volunteer").await;
        let me: Value = app.get("/me", Some(&zhao.access)).await.json().await.unwrap();
        assert_eq!(me["volunteer"]["volunteer_no"], number.as_str());
        assert_eq!(me["volunteer"]["skills"], json!(["送餐", "陪伴老人"]));

        // Applying; the door refuses a volunteer without an approved place.
        let stranger = app.register("没登记的居民").await;
        assert_problem(app.post(&format!("/shifts/{shift}/applications"), Some(&stranger.access), json!({})).await, 409, "not_volunteer").await;
        let res = app.post(&format!("/shifts/{shift}/applications"), Some(&zhao.access), json!({})).await;
        assert_eq!(res.status(), 201);
        let application: Value = res.json().await.unwrap();
        assert_eq!(application["status"], "pending");
        assert_problem(app.post(&format!("/shifts/{shift}/applications"), Some(&zhao.access), json!({})).await, 409, "already_applied").await;
        let door_url = format!("/shifts/{shift}/attendance");
        let door = |body: Value| app.post(&door_url, Some(&staff.access), body);
        assert_problem(door(json!({"code": code, "action": "in"})).await, 409, "not_approved").await;
        assert_problem(app.post(&format!("/applications/{}/approve", application["id"].as_str().unwrap()), Some(&staff.access), json!({})).await, 403, "forbidden").await;
        let res = app.post(&format!("/applications/{}/approve", application["id"].as_str().unwrap()), Some(&owner.access), json!({})).await;
        assert_eq!(res.status(), 200);
        let update = next(&mut event_socket).await;
        assert_eq!((update["type"].as_str(), update["data"]["approved"].as_i64()), (Some("shift.updated"), Some(1)));

        // The door: in by code, out by number, three pairs a day at most.
        let res = door(json!({"code": code, "action": "in"})).await;
        assert_eq!(res.status(), 201);
        let signed_in: Value = res.json().await.unwrap();
        assert_eq!((signed_in["action"].as_str(), signed_in["display_name"].as_str()), (Some("in"), Some("赵阿姨")));
        let message = next(&mut org_socket).await;
        assert_eq!((message["seq"].as_i64(), message["type"].as_str()), (Some(org_seq + 1), Some("volunteer.signed_in")));
        assert_eq!(message["data"]["volunteer_no"], number.as_str());
        assert_problem(door(json!({"volunteer_no": number, "action": "in"})).await, 409, "already_signed_in").await;
        let res = door(json!({"volunteer_no": number, "action": "out"})).await;
        assert_eq!(res.status(), 201);
        let out: Value = res.json().await.unwrap();
        assert_eq!((out["verified"].as_bool(), out["hours"].as_f64()), (Some(true), Some(0.0)));
        let door_record = out["id"].as_str().unwrap().to_owned();
        assert_problem(door(json!({"volunteer_no": number, "action": "out"})).await, 409, "not_signed_in").await;
        for _ in 0..2 {
            assert_eq!(door(json!({"volunteer_no": number, "action": "in"})).await.status(), 201);
            let again: Value = door(json!({"volunteer_no": number, "action": "out"})).await.json().await.unwrap();
            assert_eq!(again["id"], door_record.as_str(), "one record per volunteer, shift and day");
        }
        assert_problem(door(json!({"volunteer_no": number, "action": "in"})).await, 409, "too_many_pairs").await;
        // A resident's ticket is not a volunteer's code, and the reverse.
        let resident = app.register("参加讲座").await;
        let registration: Value = app.sign_up(&resident, &event, 1).await.json().await.unwrap();
        let ticket: Value = app.get(&format!("/registrations/{}/ticket", registration["id"].as_str().unwrap()), Some(&resident.access)).await.json().await.unwrap();
        assert_problem(door(json!({"code": ticket["token"], "action": "in"})).await, 422, "invalid_ticket").await;
        assert_problem(app.post(&format!("/events/{event}/checkins"), Some(&staff.access), json!({"ticket": code})).await, 422, "invalid_ticket").await;
        assert_problem(door(json!({"action": "in"})).await, 422, "validation_failed").await;
        let both = assert_problem(door(json!({"volunteer_no": number, "code": code, "action": "in"})).await, 422, "validation_failed").await;
        assert_eq!(both["errors"][0]["field"], "volunteer_no");

        // Back-fills: a reason, no overlap, clipped to the shift, then verified by another manager.
        let backfill_url = format!("/shifts/{shift}/backfill");
        let backfill = |body: Value| app.post(&backfill_url, Some(&owner.access), body);
        let long = json!({"volunteer_no": number, "in_at": at(start + Duration::minutes(10)), "out_at": at(start + Duration::minutes(117)), "reason": "签到手机没电，纸质签到表为证"});
        let res = backfill(long.clone()).await;
        assert_eq!(res.status(), 201);
        let filled: Value = res.json().await.unwrap();
        assert_eq!((filled["hours"].as_f64(), filled["backfilled"].as_bool(), filled["verified"].as_bool()), (Some(1.7), Some(true), Some(false)));
        assert_problem(backfill(long).await, 409, "overlapping_record").await;
        let early = backfill(json!({"volunteer_no": number, "in_at": at(start - Duration::minutes(30)), "out_at": at(start + Duration::minutes(8)), "reason": "提前到场布置"})).await;
        let early: Value = early.json().await.unwrap();
        assert_eq!(early["hours"].as_f64(), Some(0.1), "clipped to the shift: 8 minutes");
        let no_reason = backfill(json!({"volunteer_no": number, "in_at": at(start + Duration::minutes(130)), "out_at": at(start + Duration::minutes(140)), "reason": ""})).await;
        assert_eq!(assert_problem(no_reason, 422, "validation_failed").await["errors"][0]["field"], "reason");
        let future = backfill(json!({"volunteer_no": number, "in_at": at(Utc::now()), "out_at": at(Utc::now() + Duration::hours(1)), "reason": "预先登记"})).await;
        assert_problem(future, 422, "validation_failed").await;

        let pending: Value = app.get(&format!("/organizations/{org}/hours?verified=false"), Some(&manager.access)).await.json().await.unwrap();
        assert_eq!(pending["items"].as_array().unwrap().len(), 2);
        let filled_id = filled["id"].as_str().unwrap();
        assert_problem(app.post(&format!("/hours/{filled_id}/verify"), Some(&owner.access), json!({})).await, 403, "forbidden").await;
        assert_problem(app.post(&format!("/hours/{filled_id}/verify"), Some(&staff.access), json!({})).await, 403, "forbidden").await;
        let res = app.post(&format!("/hours/{filled_id}/verify"), Some(&manager.access), json!({})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["verified"], true);
        let pending: Value = app.get(&format!("/organizations/{org}/hours?verified=false"), Some(&manager.access)).await.json().await.unwrap();
        assert_eq!(pending["items"].as_array().unwrap().len(), 1, "the early back-fill still waits");

        // The volunteer's own records.
        let mine: Value = app.get("/me/volunteer/hours", Some(&zhao.access)).await.json().await.unwrap();
        let items = mine["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        let verified_fill = items.iter().find(|r| r["id"] == filled_id).unwrap();
        assert_eq!(verified_fill["activity"], "健康讲座：高血压的日常管理");
        assert_eq!(verified_fill["served_group"], "社区老人");
        assert_eq!(verified_fill["recorder"], "助老志愿队 owner");
        assert_eq!(verified_fill["verifier"], "第二位主管");

        // Only verified hours count: the certificate, the CSV and the contract figure.
        let res = app.post("/me/volunteer/certificates", Some(&zhao.access), json!({})).await;
        assert_eq!(res.status(), 201);
        let certificate: Value = res.json().await.unwrap();
        assert_eq!(certificate["total_hours"].as_f64(), Some(1.7));
        assert_eq!(certificate["volunteer"], json!({"name": "赵阿姨", "volunteer_no": number}));
        assert_eq!(certificate["organizations"][0]["person_in_charge"], "助老志愿队 owner");
        let no = certificate["certificate_no"].as_str().unwrap();
        let page = app.client.get(app.url(&format!("/certificates/{no}"))).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = page.text().await.unwrap();
        for expected in ["志愿服务记录证明", "赵阿姨", number.as_str(), "1.7 小时", no, "助老志愿队"] {
            assert!(html.contains(expected), "page lacks {expected}");
        }
        let again: Value = app.client.get(app.url(&format!("/certificates/{no}"))).header("accept", "application/json").send().await.unwrap().json().await.unwrap();
        assert_eq!(again, certificate, "the issued certificate never changes");
        assert_problem(app.get("/certificates/MLZ20260101-0000000000", None).await, 404, "not_found").await;
        let second: Value = app.post("/me/volunteer/certificates", Some(&zhao.access), json!({})).await.json().await.unwrap();
        assert_ne!(second["certificate_no"], certificate["certificate_no"], "each request a new number");

        let csv = app.request(Method::GET, &format!("/organizations/{org}/volunteer-hours.csv"), Some(&owner.access)).send().await.unwrap();
        assert_eq!(csv.status(), 200);
        let bytes = csv.bytes().await.unwrap();
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "姓名,志愿者编号,活动名称,服务日期,服务地点,服务对象,服务内容,服务时长（小时）,记录人,审核人");
        assert_eq!(lines.len(), 3, "the door record and the verified back-fill: {text}");
        assert!(lines.iter().any(|l| l.starts_with(&format!("赵阿姨,{number},健康讲座")) && l.contains(",1.7,助老志愿队 owner,第二位主管")), "{text}");
        assert_problem(app.get(&format!("/organizations/{org}/volunteer-hours.csv"), Some(&staff.access)).await, 403, "forbidden").await;

        let tenths = app.db.run(move |c| mulin::volunteers::queries::verified_tenths_on_events(c, &[event.as_str()])).await.unwrap();
        assert_eq!(tenths, 17);
    }
}

both_databases! {
    async fn a_hundred_volunteers_racing_for_five_places_fill_exactly_five(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "抢岗位").await;
        let (_event, auto, _) = event_with_shift(&app, &owner, &org, 5, true).await;
        let (_event, manual, _) = event_with_shift(&app, &owner, &org, 3, false).await;
        let volunteers = app.seeded_residents(100).await;
        for chunk in volunteers.chunks(20) {
            futures_util::future::join_all(chunk.iter().map(|v| opt_in(&app, v))).await;
        }
        // Auto-approval: every applicant at once.
        let apply_url = format!("/shifts/{auto}/applications");
        let answers = futures_util::future::join_all(
            volunteers.iter().map(|v| app.post(&apply_url, Some(&v.access), json!({}))),
        )
        .await;
        let mut approved = 0;
        for res in answers {
            match res.status().as_u16() {
                201 => {
                    assert_eq!(res.json::<Value>().await.unwrap()["status"], "approved");
                    approved += 1;
                }
                409 => assert_eq!(res.json::<Value>().await.unwrap()["code"], "shift_full"),
                other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
            }
        }
        assert_eq!(approved, 5);
        // Manual approval: 30 pending applications approved at once (twice each).
        let mut ids = Vec::new();
        for v in &volunteers[..30] {
            let res = app.post(&format!("/shifts/{manual}/applications"), Some(&v.access), json!({})).await;
            ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        let urls: Vec<String> = ids.iter().chain(ids.iter()).map(|id| format!("/applications/{id}/approve")).collect();
        let answers = futures_util::future::join_all(
            urls.iter().map(|url| app.post(url, Some(&owner.access), json!({}))),
        )
        .await;
        let mut ok = std::collections::HashSet::new();
        for res in answers {
            match res.status().as_u16() {
                200 => {
                    ok.insert(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
                }
                409 => assert_eq!(res.json::<Value>().await.unwrap()["code"], "shift_full"),
                other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
            }
        }
        assert_eq!(ok.len(), 3, "three distinct applications approved");
        let shifts: Value = app.get(&format!("/events/{_event}/shifts"), None).await.json().await.unwrap();
        assert_eq!((shifts[0]["approved"].as_i64(), shifts[0]["slots_left"].as_i64()), (Some(3), Some(0)));
        let listed: Value = app.get(&format!("/shifts/{manual}/applications?limit=100"), Some(&owner.access)).await.json().await.unwrap();
        let approved_listed = listed["items"].as_array().unwrap().iter().filter(|a| a["status"] == "approved").count();
        assert_eq!(approved_listed, 3);
        // A volunteer sees only their own application.
        let own: Value = app.get(&format!("/shifts/{manual}/applications"), Some(&volunteers[0].access)).await.json().await.unwrap();
        assert_eq!(own["items"].as_array().unwrap().len(), 1);
    }
}

both_databases! {
    async fn only_an_organizations_managers_open_shifts(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "岗位权限").await;
        let (event, _shift, _) = event_with_shift(&app, &owner, &org, 2, false).await;
        let outsider = app.register("路人").await;
        let body = json!({"role": "x", "starts_at": at(Utc::now()), "ends_at": at(Utc::now() + Duration::hours(1)), "slots": 1, "served_group": "y", "content": "z"});
        assert_problem(app.post(&format!("/events/{event}/shifts"), Some(&outsider.access), body.clone()).await, 403, "forbidden").await;
        let mut wrong = body.clone();
        wrong["ends_at"] = json!(at(Utc::now() - Duration::hours(1)));
        let problem = assert_problem(app.post(&format!("/events/{event}/shifts"), Some(&owner.access), wrong).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "ends_at");
        let mut far = body;
        far["starts_at"] = json!(at(Utc::now() + Duration::days(3)));
        far["ends_at"] = json!(at(Utc::now() + Duration::days(3) + Duration::hours(1)));
        assert_problem(app.post(&format!("/events/{event}/shifts"), Some(&owner.access), far).await, 422, "validation_failed").await;
        assert_problem(app.get("/events/no-such-event/shifts", None).await, 404, "not_found").await;
        assert_problem(app.get("/me/volunteer", Some(&outsider.access)).await, 404, "not_found").await;
    }
}
