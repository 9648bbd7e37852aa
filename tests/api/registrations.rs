//! Signing up under real concurrency: never overbooked, one registration per
//! resident, the waitlist first-come first-served.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

fn seats(roster: &[Value], status: &str) -> i64 {
    roster
        .iter()
        .filter(|r| r["status"] == status)
        .map(|r| r["party_size"].as_i64().unwrap())
        .sum()
}

both_databases! {
    /// 300 residents press "sign up" at the same moment for 25 seats.
    async fn three_hundred_residents_racing_for_25_seats_fill_exactly_25(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "健康促进会").await;
        let event = app.published_event(&owner, &org, 25, json!({})).await;
        let residents = app.seeded_residents(300).await;

        let answers = futures_util::future::join_all(residents.iter().map(|r| app.sign_up(r, &event, 1))).await;
        let mut confirmed = 0;
        let mut positions = Vec::new();
        for res in answers {
            assert_eq!(res.status(), 201, "no refusal and no 5xx");
            let body: Value = res.json().await.unwrap();
            match body["status"].as_str().unwrap() {
                "confirmed" => confirmed += 1,
                "waitlisted" => positions.push(body["waitlist_position"].as_i64().unwrap()),
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(confirmed, 25);
        assert_eq!(positions.len(), 275);

        let roster = app.roster(&owner, &event).await;
        assert_eq!(roster.len(), 300);
        let people: HashSet<_> = roster.iter().map(|r| r["user_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(people.len(), 300, "one registration per resident");
        assert_eq!(seats(&roster, "confirmed"), 25);
        // Positions 1…275, in the order the database accepted the sign-ups.
        let mut waiting: Vec<&Value> = roster.iter().filter(|r| r["status"] == "waitlisted").collect();
        waiting.sort_by_key(|r| instant(&r["created_at"]));
        let in_order: Vec<i64> = waiting.iter().map(|r| r["waitlist_position"].as_i64().unwrap()).collect();
        assert_eq!(in_order, (1..=275).collect::<Vec<_>>());

        let e = app.event(&event).await;
        assert_eq!((e["seats_left"].as_i64(), e["confirmed_count"].as_i64(), e["waitlist_count"].as_i64()), (Some(0), Some(25), Some(275)));
    }
}

both_databases! {
    async fn mixed_parties_racing_never_exceed_capacity(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "助餐点").await;
        let event = app.published_event(&owner, &org, 40, json!({"max_party_size": 3})).await;
        let residents = app.seeded_residents(120).await;
        let answers = futures_util::future::join_all(
            residents.iter().enumerate().map(|(i, r)| app.sign_up(r, &event, (i % 3 + 1) as i64)),
        )
        .await;
        for res in answers {
            assert_eq!(res.status(), 201);
        }
        let roster = app.roster(&owner, &event).await;
        let confirmed = seats(&roster, "confirmed");
        assert!(confirmed <= 40, "{confirmed} seats confirmed for 40");
        assert!(confirmed >= 38, "at most a party of 3 short of full: {confirmed}");
        let e = app.event(&event).await;
        assert_eq!(e["confirmed_count"].as_i64(), Some(confirmed));
        assert_eq!(e["waitlist_count"].as_i64(), Some(seats(&roster, "waitlisted")));
    }
}

both_databases! {
    /// Half the confirmed and waitlisted residents cancel while 50 newcomers sign up.
    async fn cancellations_racing_sign_ups_keep_seats_full_and_the_waitlist_in_order(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "社区花园").await;
        let event = app.published_event(&owner, &org, 25, json!({})).await;
        let early = app.seeded_residents(100).await;
        let mut registrations = Vec::new();
        for r in &early {
            let res = app.sign_up(r, &event, 1).await;
            registrations.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        let newcomers = app.seeded_residents(50).await;
        let app_ref = &app;
        let cancels = early.iter().zip(&registrations).step_by(2).map(|(r, id)| async move {
            app_ref.post(&format!("/registrations/{id}/cancel"), Some(&r.access), json!({})).await
        });
        let signups = newcomers.iter().map(|r| app.sign_up(r, &event, 1));
        let (cancelled, signed) = tokio::join!(
            futures_util::future::join_all(cancels),
            futures_util::future::join_all(signups)
        );
        assert!(cancelled.iter().all(|r| r.status() == 200));
        assert!(signed.iter().all(|r| r.status() == 201));

        let roster = app.roster(&owner, &event).await;
        let active: Vec<&Value> = roster.iter().filter(|r| r["status"] != "cancelled").collect();
        assert_eq!(active.len(), 100, "50 of 100 cancelled, 50 new");
        assert_eq!(seats(&roster, "confirmed"), 25, "min(capacity, demand)");
        // FIFO: nobody confirmed signed up after anyone still waiting.
        let mut by_time = active.clone();
        by_time.sort_by_key(|r| instant(&r["created_at"]));
        let first_waiting = by_time.iter().position(|r| r["status"] == "waitlisted").unwrap();
        assert!(by_time[first_waiting..].iter().all(|r| r["status"] == "waitlisted"));
        let positions: Vec<i64> = by_time[first_waiting..].iter().map(|r| r["waitlist_position"].as_i64().unwrap()).collect();
        assert_eq!(positions, (1..=75).collect::<Vec<_>>());
    }
}

both_databases! {
    async fn pressing_sign_up_ten_times_at_once_makes_one_registration(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "文体队").await;
        let event = app.published_event(&owner, &org, 10, json!({})).await;
        let resident = app.register("急性子").await;
        let answers = futures_util::future::join_all((0..10).map(|_| app.sign_up(&resident, &event, 1))).await;
        let created = answers.iter().filter(|r| r.status() == 201).count();
        assert_eq!(created, 1);
        for res in answers.into_iter().filter(|r| r.status() != 201) {
            assert_problem(res, 409, "already_registered").await;
        }
        let e = app.event(&event).await;
        assert_eq!(e["confirmed_count"], 1);
    }
}

both_databases! {
    /// Capacity 3: A(1) and B(2) fill it; C(2) then D(1) wait. A cancels: the
    /// free seat goes to D, and C stays first in line.
    async fn a_party_that_does_not_fit_keeps_its_place_while_a_smaller_one_goes_ahead(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "心理咨询").await;
        let event = app.published_event(&owner, &org, 3, json!({})).await;
        let [a, b, c, d]: [Session; 4] = app.residents(4).await.try_into().unwrap();
        let a_reg: Value = app.sign_up(&a, &event, 1).await.json().await.unwrap();
        assert_eq!(app.sign_up(&b, &event, 2).await.json::<Value>().await.unwrap()["status"], "confirmed");
        let c_reg: Value = app.sign_up(&c, &event, 2).await.json().await.unwrap();
        let d_reg: Value = app.sign_up(&d, &event, 1).await.json().await.unwrap();
        assert_eq!((c_reg["waitlist_position"].as_i64(), d_reg["waitlist_position"].as_i64()), (Some(1), Some(2)));

        let res = app.post(&format!("/registrations/{}/cancel", a_reg["id"].as_str().unwrap()), Some(&a.access), json!({})).await;
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "cancelled");
        let d_now: Value = app.get(&format!("/registrations/{}", d_reg["id"].as_str().unwrap()), Some(&d.access)).await.json().await.unwrap();
        assert_eq!(d_now["status"], "confirmed");
        assert!(d_now["promoted_at"].is_string());
        let c_now: Value = app.get(&format!("/registrations/{}", c_reg["id"].as_str().unwrap()), Some(&c.access)).await.json().await.unwrap();
        assert_eq!((c_now["status"].as_str(), c_now["waitlist_position"].as_i64()), (Some("waitlisted"), Some(1)));

        // More seats: C gets in.
        let res = app.request(reqwest::Method::PATCH, &format!("/events/{event}"), Some(&owner.access)).json(&json!({"capacity": 5})).send().await.unwrap();
        assert_eq!(res.json::<Value>().await.unwrap()["seats_left"], 0);
        let c_now: Value = app.get(&format!("/registrations/{}", c_reg["id"].as_str().unwrap()), Some(&c.access)).await.json().await.unwrap();
        assert_eq!(c_now["status"], "confirmed");
        let res = app.request(reqwest::Method::PATCH, &format!("/events/{event}"), Some(&owner.access)).json(&json!({"capacity": 4})).send().await.unwrap();
        assert_problem(res, 409, "capacity_below_confirmed").await;
    }
}

both_databases! {
    /// Every field of a sign-up is optional, so the body may be left out.
    async fn a_sign_up_without_a_body_is_one_person(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "不带正文").await;
        let event = app.published_event(&owner, &org, 10, json!({})).await;
        let path = format!("/events/{event}/registrations");
        let no_body = app.request(reqwest::Method::POST, &path, Some(&app.register("甲").await.access));
        let empty_json = app.request(reqwest::Method::POST, &path, Some(&app.register("乙").await.access))
            .header("content-type", "application/json").header("content-length", "0");
        let empty_object = app.request(reqwest::Method::POST, &path, Some(&app.register("丙").await.access))
            .header("content-type", "application/json").body("{}");
        for request in [no_body, empty_json, empty_object] {
            let res = request.send().await.unwrap();
            assert_eq!(res.status(), 201);
            let body: Value = res.json().await.unwrap();
            assert_eq!((body["status"].as_str(), body["party_size"].as_i64()), (Some("confirmed"), Some(1)));
        }
        // A body that is there is still read as JSON.
        let res = app.request(reqwest::Method::POST, &path, Some(&app.register("丁").await.access)).body("party_size=2").send().await.unwrap();
        assert_problem(res, 415, "unsupported_media_type").await;
    }
}

both_databases! {
    async fn every_refusal_has_its_code(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "法律咨询站").await;
        let young = app.register("年轻人").await;
        let res = app.request(reqwest::Method::PATCH, "/me", Some(&young.access)).json(&json!({"birth_year": 1995})).send().await.unwrap();
        assert_eq!(res.status(), 200);

        let no_waitlist = app.published_event(&owner, &org, 1, json!({"waitlist_enabled": false})).await;
        let first = app.register("第一位").await;
        assert_eq!(app.sign_up(&first, &no_waitlist, 1).await.status(), 201);
        assert_problem(app.sign_up(&young, &no_waitlist, 1).await, 409, "event_full").await;
        assert_problem(app.sign_up(&first, &no_waitlist, 1).await, 409, "already_registered").await;

        let later = app.published_event(&owner, &org, 5, json!({"registration_opens_at": hours_from_now(2)})).await;
        assert_problem(app.sign_up(&young, &later, 1).await, 409, "registration_closed").await;

        let elderly_only = app.published_event(&owner, &org, 5, json!({"min_age": 60})).await;
        assert_problem(app.sign_up(&young, &elderly_only, 1).await, 422, "not_eligible").await;
        let unknown_age = app.register("未填年龄").await;
        assert_problem(app.sign_up(&unknown_age, &elderly_only, 1).await, 422, "not_eligible").await;

        let pairs = app.published_event(&owner, &org, 5, json!({"max_party_size": 2})).await;
        let zh = assert_problem(app.sign_up(&young, &pairs, 3).await, 422, "party_too_large").await;
        assert_eq!(zh["detail"], "该活动每次报名最多 2 人。");
        let res = app.request(reqwest::Method::POST, &format!("/events/{pairs}/registrations"), Some(&young.access))
            .header("accept-language", "en").json(&json!({"party_size": 3})).send().await.unwrap();
        let en = assert_problem(res, 422, "party_too_large").await;
        assert_eq!(en["detail"], "This activity allows at most 2 people per registration.");
        assert_problem(app.sign_up(&young, &pairs, 0).await, 422, "validation_failed").await;

        let cancelled = app.published_event(&owner, &org, 5, json!({})).await;
        let res = app.post(&format!("/events/{cancelled}/cancel"), Some(&owner.access), json!({"reason": "讲师生病"})).await;
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "cancelled");
        assert_problem(app.sign_up(&young, &cancelled, 1).await, 409, "event_not_open").await;

        // A draft is invisible to residents.
        let res = app.post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({"title": "草稿", "category": "other", "location": "x", "starts_at": hours_from_now(5), "ends_at": hours_from_now(6), "capacity": 5})).await;
        let draft = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_problem(app.sign_up(&young, &draft, 1).await, 404, "not_found").await;
        assert_problem(app.get(&format!("/events/{draft}"), Some(&young.access)).await, 404, "not_found").await;
        assert_eq!(app.get(&format!("/events/{draft}"), Some(&owner.access)).await.status(), 200);
        assert_problem(app.sign_up(&young, &uuid::Uuid::new_v4().to_string(), 1).await, 404, "not_found").await;

        // A pending organization cannot publish.
        let newcomer = app.register("新组织负责人").await;
        let res = app.post("/organizations", Some(&newcomer.access), json!({"name": "未审核", "category": "charity"})).await;
        let pending = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let res = app.post(&format!("/organizations/{pending}/events"), Some(&newcomer.access), json!({"title": "x", "category": "other", "location": "x", "starts_at": hours_from_now(5), "ends_at": hours_from_now(6), "capacity": 5})).await;
        let event = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let res = app.post(&format!("/events/{event}/publish"), Some(&newcomer.access), json!({})).await;
        assert_problem(res, 409, "organization_not_verified").await;
    }
}

both_databases! {
    async fn cancelling_an_event_cancels_every_registration(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "志愿者协会").await;
        let event = app.published_event(&owner, &org, 2, json!({})).await;
        let residents = app.residents(4).await;
        for r in &residents {
            assert_eq!(app.sign_up(r, &event, 1).await.status(), 201);
        }
        let resident = app.register("无关").await;
        let res = app.post(&format!("/events/{event}/cancel"), Some(&resident.access), json!({"reason": "x"})).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.post(&format!("/events/{event}/cancel"), Some(&owner.access), json!({"reason": "暴雨预警"})).await;
        let e: Value = res.json().await.unwrap();
        assert_eq!((e["status"].as_str(), e["cancel_reason"].as_str(), e["confirmed_count"].as_i64()), (Some("cancelled"), Some("暴雨预警"), Some(0)));
        let roster = app.roster(&owner, &event).await;
        assert!(roster.iter().all(|r| r["status"] == "cancelled"));
        let mine: Value = app.get("/me/registrations", Some(&residents[0].access)).await.json().await.unwrap();
        assert_eq!(mine["items"][0]["status"], "cancelled");
        assert_eq!(mine["items"][0]["event"]["status"], "cancelled");
    }
}

both_databases! {
    async fn registrations_and_rosters_are_private(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org_a, owner_a) = app.verified_org(&admin, "A 组织").await;
        let (_org_b, owner_b) = app.verified_org(&admin, "B 组织").await;
        let event = app.published_event(&owner_a, &org_a, 5, json!({})).await;
        let [alice, bob]: [Session; 2] = app.residents(2).await.try_into().unwrap();
        let reg: Value = app.sign_up(&alice, &event, 1).await.json().await.unwrap();
        let reg_id = reg["id"].as_str().unwrap();

        assert_problem(app.get(&format!("/registrations/{reg_id}"), Some(&bob.access)).await, 404, "not_found").await;
        assert_problem(app.post(&format!("/registrations/{reg_id}/cancel"), Some(&bob.access), json!({})).await, 404, "not_found").await;
        // The event is public: outsiders may see it, not its roster (403, and no data).
        assert_problem(app.get(&format!("/events/{event}/registrations"), Some(&owner_b.access)).await, 403, "forbidden").await;
        assert_problem(app.get(&format!("/events/{event}/registrations"), Some(&bob.access)).await, 403, "forbidden").await;
        assert_eq!(app.get(&format!("/registrations/{reg_id}"), Some(&owner_a.access)).await.status(), 200);

        // Staff see the roster, but may not cancel for people.
        let staff = app.register("门口工作人员").await;
        app.post(&format!("/organizations/{org_a}/members"), Some(&owner_a.access), json!({"phone": staff.phone, "role": "staff"})).await;
        assert_problem(app.post(&format!("/registrations/{reg_id}/cancel"), Some(&staff.access), json!({})).await, 403, "forbidden").await;
        let roster = app.roster(&staff, &event).await;
        let phone = roster[0]["phone"].as_str().unwrap();
        assert_eq!(phone, format!("*******{}", &alice.phone[alice.phone.len() - 4..]));

        // Search by the last four digits, and the CSV form.
        let last4 = &alice.phone[alice.phone.len() - 4..];
        let found: Value = app.get(&format!("/events/{event}/registrations?q={last4}"), Some(&staff.access)).await.json().await.unwrap();
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        let csv = app.request(reqwest::Method::GET, &format!("/events/{event}/registrations"), Some(&staff.access)).header("accept", "text/csv").send().await.unwrap();
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = csv.text().await.unwrap();
        assert!(text.contains("display_name,phone,party_size"));
        assert!(text.contains(&format!("*******{last4}")));
        assert!(!text.contains(&alice.phone), "no full phone number in the CSV");
    }
}

both_databases! {
    async fn sign_ups_racing_event_cancellations_in_one_organization_all_get_clear_answers(kind) {
        // Residents of event B sign up for event A of the same organization
        // while a manager cancels B: the cancellation tells each of them (their
        // `me` topic) as the sign-ups announce to the organization's topic.
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "赛跑").await;
        let residents = app.seeded_residents(40).await;
        for round in 0..5 {
            let a = app.published_event(&owner, &org, 100, json!({})).await;
            let b = app.published_event(&owner, &org, 100, json!({})).await;
            for r in &residents {
                assert_eq!(app.sign_up(r, &b, 1).await.status(), 201);
            }
            let cancel_path = format!("/events/{b}/cancel");
            let cancel = app.post(&cancel_path, Some(&owner.access), json!({"reason": "场地维修"}));
            let sign_ups = futures_util::future::join_all(residents.iter().map(|r| app.sign_up(r, &a, 1)));
            let (cancelled, signed) = tokio::join!(cancel, sign_ups);
            assert_eq!(cancelled.status(), 200, "round {round}: the cancellation");
            for res in signed {
                assert_eq!(res.status(), 201, "round {round}: every sign-up answered, none failed");
            }
            let (ea, eb) = (app.event(&a).await, app.event(&b).await);
            assert_eq!(ea["confirmed_count"].as_i64(), Some(40));
            assert_eq!((eb["status"].as_str(), eb["confirmed_count"].as_i64()), (Some("cancelled"), Some(0)));
        }
    }
}
