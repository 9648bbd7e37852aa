//! Check-in at the door: tickets verified offline, racing scanners, offline
//! batches, walk-ins, refusals, undo, attendance and the sync feed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

/// An event whose check-in window is open now (it starts in 30 minutes).
async fn event_soon(
    app: &TestApp,
    manager: &Session,
    org: &str,
    capacity: i64,
    extra: Value,
) -> String {
    let mut body = json!({"starts_at": minutes_from_now(30), "ends_at": minutes_from_now(150)});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.published_event(manager, org, capacity, body).await
}

fn minutes_from_now(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

async fn signed_up(app: &TestApp, resident: &Session, event: &str) -> String {
    let res = app.sign_up(resident, event, 1).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ticket(app: &TestApp, who: &Session, registration: &str) -> String {
    let res = app
        .get(
            &format!("/registrations/{registration}/ticket"),
            Some(&who.access),
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn scan(app: &TestApp, staff: &Session, event: &str, body: Value) -> reqwest::Response {
    app.post(
        &format!("/events/{event}/checkins"),
        Some(&staff.access),
        body,
    )
    .await
}

both_databases! {
    async fn a_ticket_verifies_offline_with_the_published_key_and_forgeries_are_refused(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "健康讲座").await;
        let event = event_soon(&app, &owner, &org, 10, json!({})).await;
        let resident = app.register("持票人").await;
        let registration = signed_up(&app, &resident, &event).await;
        let token = ticket(&app, &resident, &registration).await;
        assert!(token.len() < 400, "short enough for a low-density QR code: {}", token.len());

        // Verify as a staff phone would, offline, with a plain Ed25519 library.
        let keys: Value = app.get("/checkin/keys", None).await.json().await.unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "EdDSA");
        let key = keys["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).expect("kid published");
        assert_eq!((key["kty"].as_str(), key["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
        let x: [u8; 32] = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap().try_into().unwrap();
        let verifying = VerifyingKey::from_bytes(&x).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        verifying.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("genuine");
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!((claims["sub"].as_str(), claims["evt"].as_str()), (Some(registration.as_str()), Some(event.as_str())));
        assert_eq!(claims["party_size"], 1);
        assert!(claims.get("phone").is_none() && claims.get("name").is_none(), "no personal data: {claims}");

        let staff = app.register("门口").await;
        app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": staff.phone, "role": "staff"})).await;

        // The payload altered (another registration id), the signature kept.
        let mut altered = claims.clone();
        altered["party_size"] = json!(5);
        let altered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(altered.to_string()), parts[2]);
        assert_problem(scan(&app, &staff, &event, json!({"ticket": altered})).await, 422, "invalid_ticket").await;
        // Signed by another key under the server's kid.
        let forger = SigningKey::from_bytes(&[7u8; 32]);
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        let forged_sig = forger.sign(signing_input.as_bytes());
        let forged = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(forged_sig.to_bytes()));
        assert_problem(scan(&app, &staff, &event, json!({"ticket": forged})).await, 422, "invalid_ticket").await;
        assert_problem(scan(&app, &staff, &event, json!({"ticket": "not-a-ticket"})).await, 422, "invalid_ticket").await;
        // Both or neither of ticket and registration_id: said as such.
        let both = scan(&app, &staff, &event, json!({"ticket": token, "registration_id": registration})).await;
        let both = assert_problem(both, 422, "validation_failed").await;
        assert_eq!(both["errors"], json!([{"field": "ticket", "message": "此项与 registration_id 只能填写一个"}]));
        let neither = assert_problem(scan(&app, &staff, &event, json!({})).await, 422, "validation_failed").await;
        assert_eq!(neither["errors"], json!([{"field": "ticket", "message": "须填写此项或 registration_id"}]));

        let res = scan(&app, &staff, &event, json!({"ticket": token})).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        assert_eq!((body["result"].as_str(), body["checkin"]["method"].as_str()), (Some("ok"), Some("qr")));
        let svg = app.get(&format!("/registrations/{registration}/ticket.svg"), Some(&resident.access)).await;
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        assert!(svg.text().await.unwrap().starts_with("<?xml"));
    }
}

both_databases! {
    async fn two_phones_scanning_one_ticket_200_times_make_one_check_in(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "助餐").await;
        let event = event_soon(&app, &owner, &org, 10, json!({})).await;
        let resident = app.register("老人").await;
        let registration = signed_up(&app, &resident, &event).await;
        let token = ticket(&app, &resident, &registration).await;
        let staff = app.residents(2).await;
        for s in &staff {
            app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": s.phone, "role": "staff"})).await;
        }
        let answers = futures_util::future::join_all((0..200).map(|i| {
            scan(&app, &staff[i % 2], &event, json!({"ticket": token, "device_id": format!("phone-{}", i % 2)}))
        }))
        .await;
        let mut created = 0;
        let mut ids = std::collections::HashSet::new();
        for res in answers {
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            match status {
                201 => created += 1,
                200 => assert_eq!(body["result"], "already_checked_in"),
                other => panic!("unexpected {other}: {body}"),
            }
            ids.insert(body["checkin"]["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(created, 1);
        assert_eq!(ids.len(), 1, "every answer points at the same check-in");
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance["checked_in"], 1);
    }
}

both_databases! {
    /// A phone uploads 500 offline scans; the first upload is cut off halfway
    /// and retried; a second phone-side retry later gets identical results.
    async fn an_offline_batch_of_500_uploaded_again_gives_identical_results(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "大型讲座").await;
        let event = event_soon(&app, &owner, &org, 500, json!({})).await;
        let residents = app.seeded_residents(500).await;
        let mut tokens = Vec::new();
        for chunk in residents.chunks(50) {
            let regs = futures_util::future::join_all(chunk.iter().map(|r| signed_up(&app, r, &event))).await;
            let tickets = futures_util::future::join_all(chunk.iter().zip(&regs).map(|(r, id)| ticket(&app, r, id))).await;
            tokens.extend(tickets);
        }
        let scanned_at = chrono::Utc::now().to_rfc3339();
        let body = json!({
            "device_id": "door-phone-1",
            "scans": tokens.iter().enumerate().map(|(i, t)| json!({"scan_id": format!("s{i}"), "ticket": t, "scanned_at": scanned_at})).collect::<Vec<_>>()
        });
        let url = app.url(&format!("/events/{event}/checkins/batch"));
        // The connection drops before the answer arrives.
        let cut = tokio::time::timeout(
            std::time::Duration::from_millis(30),
            app.client.post(&url).bearer_auth(&owner.access).json(&body).send(),
        )
        .await;
        // Whether or not the first upload got through before the cut, the phone
        // retries: what follows must hold either way.
        drop(cut);
        let first: Value = app.client.post(&url).bearer_auth(&owner.access).json(&body).send().await.unwrap().json().await.unwrap();
        let second: Value = app.client.post(&url).bearer_auth(&owner.access).json(&body).send().await.unwrap().json().await.unwrap();
        let results = first["results"].as_array().unwrap();
        assert_eq!(results.len(), 500);
        assert!(results.iter().all(|r| r["result"] == "ok"), "{}", results.iter().find(|r| r["result"] != "ok").unwrap_or(&Value::Null));
        assert_eq!(first, second, "identical results");
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance["checked_in"], 500, "one check-in per registration");
    }
}

both_databases! {
    async fn when_two_phones_scanned_one_ticket_offline_the_earlier_scan_wins(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "双门").await;
        let event = event_soon(&app, &owner, &org, 10, json!({})).await;
        let resident = app.register("走两门").await;
        let registration = signed_up(&app, &resident, &event).await;
        let token = ticket(&app, &resident, &registration).await;
        let early = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
        let late = (chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339();
        let batch_path = format!("/events/{event}/checkins/batch");
        let upload = |device: &'static str, at: String| {
            app.post(&batch_path, Some(&owner.access), json!({"device_id": device, "scans": [{"scan_id": "x1", "ticket": token, "scanned_at": at}]}))
        };
        // The later scan is uploaded first…
        let late_again = late.clone();
        let b: Value = upload("phone-B", late).await.json().await.unwrap();
        assert_eq!(b["results"][0]["result"], "ok");
        // …then the earlier one arrives and wins.
        let a: Value = upload("phone-A", early.clone()).await.json().await.unwrap();
        assert_eq!(a["results"][0]["result"], "ok");
        assert_eq!(a["results"][0]["checkin_id"], b["results"][0]["checkin_id"], "still one check-in");

        let roster = app.roster(&owner, &event).await;
        let at: chrono::DateTime<chrono::Utc> = roster[0]["checked_in_at"].as_str().unwrap().parse().unwrap();
        let early_at: chrono::DateTime<chrono::Utc> = early.parse().unwrap();
        assert!((at - early_at).num_milliseconds().abs() < 1, "the earliest scan counts");
        // Phone B uploads its unchanged batch again: its first answer is replayed.
        let again: Value = upload("phone-B", late_again).await.json().await.unwrap();
        assert_eq!(again, b, "the same results, whatever arrived meanwhile");
        let anomalies: Value = app.get(&format!("/events/{event}/checkin/anomalies"), Some(&owner.access)).await.json().await.unwrap();
        let items = anomalies["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{anomalies}");
        assert_eq!((items[0]["device_id"].as_str(), items[0]["result"].as_str()), (Some("phone-B"), Some("already_checked_in")));
        assert_eq!(items[0]["counted_device_id"], "phone-A", "both devices named");
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance["checked_in"], 1);
    }
}

both_databases! {
    async fn cancelled_waitlisted_foreign_and_early_scans_are_refused_with_their_codes(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "拒绝").await;
        let event = event_soon(&app, &owner, &org, 1, json!({})).await;
        let other = event_soon(&app, &owner, &org, 5, json!({})).await;
        let [first, second, third]: [Session; 3] = app.residents(3).await.try_into().unwrap();
        let confirmed = signed_up(&app, &first, &event).await;
        let waitlisted = signed_up(&app, &second, &event).await;
        let token = ticket(&app, &first, &confirmed).await;

        let res = app.get(&format!("/registrations/{waitlisted}/ticket"), Some(&second.access)).await;
        assert_problem(res, 409, "not_confirmed").await;
        assert_problem(scan(&app, &owner, &event, json!({"registration_id": waitlisted})).await, 409, "not_confirmed").await;
        assert_problem(scan(&app, &owner, &other, json!({"ticket": token})).await, 409, "wrong_event").await;
        assert_problem(scan(&app, &owner, &event, json!({"registration_id": uuid::Uuid::new_v4().to_string()})).await, 404, "not_found").await;

        app.post(&format!("/registrations/{confirmed}/cancel"), Some(&first.access), json!({})).await;
        assert_problem(scan(&app, &owner, &event, json!({"ticket": token})).await, 409, "registration_cancelled").await;

        let on_other = signed_up(&app, &third, &other).await;
        let other_token = ticket(&app, &third, &on_other).await;
        app.post(&format!("/events/{other}/cancel"), Some(&owner.access), json!({"reason": "停电"})).await;
        assert_problem(scan(&app, &owner, &other, json!({"ticket": other_token})).await, 409, "event_cancelled").await;

        let tomorrow = app.published_event(&owner, &org, 5, json!({})).await;
        let later = signed_up(&app, &third, &tomorrow).await;
        assert_problem(scan(&app, &owner, &tomorrow, json!({"registration_id": later})).await, 409, "outside_checkin_window").await;
        // Offline scans are accepted outside the window.
        let res = app.post(&format!("/events/{tomorrow}/checkins/batch"), Some(&owner.access), json!({"device_id": "p", "scans": [{"scan_id": "1", "registration_id": later, "scanned_at": chrono::Utc::now().to_rfc3339()}]})).await;
        assert_eq!(res.json::<Value>().await.unwrap()["results"][0]["result"], "ok");
    }
}

both_databases! {
    async fn walk_ins_fill_the_last_seats_without_overbooking(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "社区食堂").await;
        let event = event_soon(&app, &owner, &org, 10, json!({})).await;
        for r in app.residents(5).await {
            signed_up(&app, &r, &event).await;
        }
        let staff = app.register("门口志愿者").await;
        app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": staff.phone, "role": "staff"})).await;
        let walk_in_path = format!("/events/{event}/walk-ins");
        let answers = futures_util::future::join_all((0..20).map(|i| {
            app.post(&walk_in_path, Some(&staff.access), json!({"display_name": format!("散客{i}"), "birth_year": 1945}))
        }))
        .await;
        let mut admitted = 0;
        for res in answers {
            match res.status().as_u16() {
                201 => admitted += 1,
                _ => {
                    // Walk-ins never wait, whether or not the event has a waitlist.
                    let refusal = assert_problem(res, 409, "event_full").await;
                    assert!(!refusal["detail"].as_str().unwrap().contains("不设候补"), "{refusal}");
                }
            }
        }
        assert_eq!(admitted, 5);
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&staff.access)).await.json().await.unwrap();
        assert_eq!((attendance["confirmed"].as_i64(), attendance["walk_ins"].as_i64(), attendance["checked_in"].as_i64()), (Some(10), Some(5), Some(5)));

        let res = app.request(reqwest::Method::POST, &walk_in_path, Some(&staff.access)).header("accept-language", "en")
            .json(&json!({"display_name": "晚到"})).send().await.unwrap();
        let refusal = assert_problem(res, 409, "event_full").await;
        assert_eq!(refusal["detail"], "There are no seats left, and walk-ins cannot join the waitlist.");

        // Past capacity only by a manager's override, which is recorded.
        let res = app.post(&format!("/events/{event}/walk-ins"), Some(&staff.access), json!({"display_name": "加座", "override": true})).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.post(&format!("/events/{event}/walk-ins"), Some(&owner.access), json!({"display_name": "加座", "phone": "13912340000", "override": true})).await;
        assert_eq!(res.status(), 201);
        let found: Value = app.get(&format!("/events/{event}/registrations?q=0000"), Some(&staff.access)).await.json().await.unwrap();
        assert_eq!(found["items"][0]["display_name"], "加座");
        assert_eq!(found["items"][0]["walk_in"], true);
        assert!(found["items"][0]["checked_in_at"].is_string());
    }
}

both_databases! {
    async fn only_this_organizations_staff_check_in_and_only_managers_undo(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "本组织").await;
        let (_other_org, other_owner) = app.verified_org(&admin, "别的组织").await;
        let event = event_soon(&app, &owner, &org, 10, json!({})).await;
        let resident = app.register("自己签到").await;
        let registration = signed_up(&app, &resident, &event).await;

        assert_problem(scan(&app, &resident, &event, json!({"registration_id": registration})).await, 403, "forbidden").await;
        // The event is public, so staff of another organization may see it but
        // not do this (403); the check-in itself is none of their business (404).
        assert_problem(scan(&app, &other_owner, &event, json!({"registration_id": registration})).await, 403, "forbidden").await;
        assert_problem(app.get(&format!("/events/{event}/checkin/sync"), Some(&other_owner.access)).await, 403, "forbidden").await;

        let sync: Value = app.get(&format!("/events/{event}/checkin/sync"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(sync["items"].as_array().unwrap().len(), 1);
        let cursor = sync["next_cursor"].as_str().unwrap().to_owned();
        let quiet: Value = app.get(&format!("/events/{event}/checkin/sync?since={cursor}"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(quiet["items"], json!([]), "nothing changed");

        let staff = app.register("员工").await;
        app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": staff.phone, "role": "staff"})).await;
        let res = scan(&app, &staff, &event, json!({"registration_id": registration, "device_id": "desk"})).await;
        let checkin = res.json::<Value>().await.unwrap()["checkin"]["id"].as_str().unwrap().to_owned();
        assert_eq!(res_status(&app, &event, &owner).await, 1);

        let changed: Value = app.get(&format!("/events/{event}/checkin/sync?since={cursor}"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(changed["items"][0]["checkin_id"], checkin.as_str(), "checked in elsewhere shows up");
        assert_eq!(changed["items"][0]["checked_in_by_device"], "desk");

        assert_problem(app.delete(&format!("/checkins/{checkin}"), Some(&staff.access)).await, 403, "forbidden").await;
        assert_problem(app.delete(&format!("/checkins/{checkin}"), Some(&other_owner.access)).await, 404, "not_found").await;
        assert_eq!(app.delete(&format!("/checkins/{checkin}"), Some(&owner.access)).await.status(), 204);
        assert_eq!(res_status(&app, &event, &owner).await, 0);
        // Checked in again after the undo.
        assert_eq!(scan(&app, &staff, &event, json!({"registration_id": registration})).await.status(), 201);
    }
}

async fn res_status(app: &TestApp, event: &str, owner: &Session) -> i64 {
    let attendance: Value = app
        .get(&format!("/events/{event}/attendance"), Some(&owner.access))
        .await
        .json()
        .await
        .unwrap();
    attendance["checked_in"].as_i64().unwrap()
}

both_databases! {
    async fn after_the_event_unscanned_confirmed_people_are_no_shows(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "统计").await;
        let event = event_soon(&app, &owner, &org, 10, json!({"max_party_size": 3})).await;
        let [a, b]: [Session; 2] = app.residents(2).await.try_into().unwrap();
        let came = signed_up(&app, &a, &event).await;
        assert_eq!(app.sign_up(&b, &event, 3).await.status(), 201);
        scan(&app, &owner, &event, json!({"registration_id": came})).await;
        // Move the event into the past, as time would.
        let id = event.clone();
        app.db
            .run(move |c| {
                use diesel::prelude::*;
                use mulin::db::schema::events;
                let past = mulin::db::now() - chrono::Duration::hours(3);
                diesel::update(events::table.find(&id))
                    .set((events::starts_at.eq(past), events::ends_at.eq(past + chrono::Duration::hours(1))))
                    .execute(c)?;
                Ok(())
            })
            .await
            .unwrap();
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance, json!({"capacity": 10, "confirmed": 4, "waitlisted": 0, "checked_in": 1, "walk_ins": 0, "no_shows": 3}));
    }
}

both_databases! {
    async fn after_a_key_rotation_old_tickets_still_check_in_and_both_keys_are_published(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "换钥").await;
        let event = event_soon(&app, &owner, &org, 10, json!({})).await;
        let [a, b]: [Session; 2] = app.residents(2).await.try_into().unwrap();
        let old_registration = signed_up(&app, &a, &event).await;
        let old_ticket = ticket(&app, &a, &old_registration).await;

        let sealer = mulin::auth::sealed::Sealer::new(SECRET_KEY.as_bytes());
        let new_kid = app.db.write(move |tx| mulin::checkin::tickets::rotate(tx, &sealer)).await.unwrap();
        let keys: Value = app.get("/checkin/keys", None).await.json().await.unwrap();
        let kids: Vec<&str> = keys["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids.len(), 2, "{kids:?}");
        assert!(kids.contains(&new_kid.as_str()));

        let new_registration = signed_up(&app, &b, &event).await;
        let new_ticket = ticket(&app, &b, &new_registration).await;
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(new_ticket.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["kid"], new_kid.as_str(), "new tickets use the new key");
        assert_eq!(scan(&app, &owner, &event, json!({"ticket": old_ticket})).await.status(), 201);
        assert_eq!(scan(&app, &owner, &event, json!({"ticket": new_ticket})).await.status(), 201);
    }
}

both_databases! {
    async fn an_event_can_open_check_in_earlier_than_an_hour_before(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "早开").await;
        let later = |m: i64| (chrono::Utc::now() + chrono::Duration::minutes(m)).to_rfc3339();
        let early = app.published_event(&owner, &org, 5, json!({"starts_at": later(180), "ends_at": later(240), "checkin_opens_minutes": 240})).await;
        let usual = app.published_event(&owner, &org, 5, json!({"starts_at": later(180), "ends_at": later(240)})).await;
        let resident = app.register("早到").await;
        let on_early = signed_up(&app, &resident, &early).await;
        let on_usual = signed_up(&app, &resident, &usual).await;
        assert_eq!(scan(&app, &owner, &early, json!({"registration_id": on_early})).await.status(), 201);
        assert_problem(scan(&app, &owner, &usual, json!({"registration_id": on_usual})).await, 409, "outside_checkin_window").await;
        let e = app.event(&early).await;
        assert_eq!(e["checkin_opens_minutes"], 240);
    }
}

both_databases! {
    async fn an_override_walk_in_holds_no_seat_and_cancelling_it_frees_none(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "加座").await;
        let event = event_soon(&app, &owner, &org, 2, json!({"waitlist_enabled": true})).await;
        for r in app.residents(2).await {
            signed_up(&app, &r, &event).await;
        }
        let res = app.post(&format!("/events/{event}/walk-ins"), Some(&owner.access), json!({"display_name": "老邻居", "override": true})).await;
        assert_eq!(res.status(), 201);
        let walk_in = res.json::<Value>().await.unwrap()["registration"]["id"].as_str().unwrap().to_owned();
        let e = app.event(&event).await;
        assert_eq!((e["confirmed_count"].as_i64(), e["seats_left"].as_i64(), e["checked_in_count"].as_i64()), (Some(2), Some(0), Some(1)), "counted in attendance, holding no seat");

        let res = app.post(&format!("/registrations/{walk_in}/cancel"), Some(&owner.access), json!({})).await;
        assert_eq!(res.status(), 200);
        let e = app.event(&event).await;
        assert_eq!((e["confirmed_count"].as_i64(), e["seats_left"].as_i64()), (Some(2), Some(0)), "its cancellation frees nothing");

        let third = app.register("第三位").await;
        let res = app.sign_up(&third, &event, 1).await;
        assert_eq!(res.status(), 201);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "waitlisted", "two seats, two confirmed: the third waits");
        let e = app.event(&event).await;
        assert_eq!((e["confirmed_count"].as_i64(), e["capacity"].as_i64()), (Some(2), Some(2)));
    }
}

both_databases! {
    async fn every_check_in_answer_names_the_person_for_the_door(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "门口问候").await;
        let event = event_soon(&app, &owner, &org, 10, json!({})).await;
        let resident = app.register("赵秀英").await;
        let registration = signed_up(&app, &resident, &event).await;
        let last4 = resident.phone[resident.phone.len() - 4..].to_owned();
        let first = scan(&app, &owner, &event, json!({"registration_id": registration})).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        assert_eq!(first["attendee"], json!({"display_name": "赵秀英", "phone_last4": last4}));
        let again: Value = scan(&app, &owner, &event, json!({"registration_id": registration})).await.json().await.unwrap();
        assert_eq!(again["result"], "already_checked_in");
        assert_eq!(again["attendee"]["display_name"], "赵秀英");
        let walk_in: Value = app.post(&format!("/events/{event}/walk-ins"), Some(&owner.access),
            json!({"display_name": "钱大爷", "phone": "13812345678"})).await.json().await.unwrap();
        assert_eq!(walk_in["attendee"], json!({"display_name": "钱大爷", "phone_last4": "5678"}));

        // The other phones at the door see who came in, on the organization's topic…
        let checked_in = |messages: &[Value]| -> Vec<Value> {
            messages.iter().filter(|m| m["type"] == "checkin.created").map(|m| m["data"]["attendee"].clone()).collect()
        };
        let history = org_history(&app, &owner, &org).await;
        assert_eq!(checked_in(&history), vec![
            json!({"display_name": "赵秀英", "phone_last4": last4}),
            json!({"display_name": "钱大爷", "phone_last4": "5678"}),
        ]);
        // …and once she erases her account, its history no longer names her.
        let res = app.request(reqwest::Method::DELETE, "/me", Some(&resident.access))
            .json(&json!({"password": PASSWORD})).send().await.unwrap();
        assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
        let history = org_history(&app, &owner, &org).await;
        assert_eq!(checked_in(&history), vec![
            json!({"display_name": "已注销", "phone_last4": null}),
            json!({"display_name": "钱大爷", "phone_last4": "5678"}),
        ]);
        assert!(!history.iter().any(|m| m.to_string().contains(&resident.phone[3..])));
    }
}

/// Every message the organization's topic still holds, from the start.
async fn org_history(app: &TestApp, owner: &Session, org: &str) -> Vec<Value> {
    use crate::live::{connect, next, subscribe};
    let mut socket = connect(app, Some(&owner.access)).await;
    let subscribed = subscribe(&mut socket, &format!("org:{org}"), Some(0)).await;
    assert_eq!(subscribed["op"], "subscribed", "{subscribed}");
    let last = subscribed["seq"].as_i64().unwrap();
    let mut messages = Vec::new();
    while messages
        .last()
        .is_none_or(|m: &Value| m["seq"].as_i64() < Some(last))
    {
        messages.push(next(&mut socket).await);
    }
    messages
}
