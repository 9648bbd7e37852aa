//! Check-ins at two doors racing sign-ups and cancellations of the same event:
//! check-ins hold the event in share mode and count on a row of their own, so
//! this is where a count could go stale or a lock order could deadlock. A
//! scan that waited for a cancellation; a party's check-in, which counts every
//! member.

use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn check_ins_racing_sign_ups_and_cancellations_leave_exact_counts_and_a_true_last_message(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "两扇门").await;
        let starts = chrono::Utc::now() + chrono::Duration::minutes(30);
        let event = app
            .published_event(&owner, &org, 300, json!({"starts_at": starts.to_rfc3339(), "ends_at": (starts + chrono::Duration::hours(2)).to_rfc3339()}))
            .await;
        let staff = app.residents(2).await;
        for s in &staff {
            let res = app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": s.phone, "role": "staff"})).await;
            assert_eq!(res.status(), 201);
        }
        // 80 residents hold tickets; 60 more will sign up during the rush.
        let holders = app.seeded_residents(80).await;
        let mut registrations = Vec::new();
        let mut tickets = Vec::new();
        for r in &holders {
            let res = app.sign_up(r, &event, 1).await;
            assert_eq!(res.status(), 201);
            let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            let t: Value = app.get(&format!("/registrations/{id}/ticket"), Some(&r.access)).await.json().await.unwrap();
            tickets.push(t["token"].as_str().unwrap().to_owned());
            registrations.push(id);
        }
        let newcomers = app.seeded_residents(60).await;

        let (app, event, staff) = (&app, &event, &staff);
        let scan = |i: usize| {
            let (url, t) = (format!("/events/{event}/checkins"), tickets[i].clone());
            async move { app.post(&url, Some(&staff[i % 2].access), json!({"ticket": t, "device_id": format!("door-{}", i % 2)})).await }
        };
        let mut checked_in = 0;
        let mut count = |status: u16, body: &Value| match status {
            201 => checked_in += 1,
            409 => assert_eq!(body["code"], "registration_cancelled", "{body}"),
            other => panic!("scan answered {other}: {body}"),
        };

        // All at once, first: 60 scans at two doors and 60 sign-ups. Nothing
        // is taken back, so every count on the event's topic only grows: a
        // check-in that announced seats read before a sign-up committed would
        // show up here as `confirmed` going down.
        let scans = futures_util::future::join_all((0..60).map(scan));
        let sign_ups = futures_util::future::join_all(newcomers.iter().map(|r| app.sign_up(r, event, 1)));
        let (scans, sign_ups) = tokio::join!(scans, sign_ups);
        for res in scans {
            let status = res.status().as_u16();
            count(status, &res.json().await.unwrap());
        }
        for res in sign_ups {
            assert_eq!(res.status(), 201, "sign-up during the rush");
        }
        let counts = event_counts(app, event).await;
        for pair in counts.windows(2) {
            for field in ["confirmed", "checked_in"] {
                assert!(pair[0][field].as_i64() <= pair[1][field].as_i64(), "{field} went down: {} then {}", pair[0], pair[1]);
            }
        }

        // Then the last 20 scans while 20 holders cancel: ten of them racing
        // their own scan, ten already checked in.
        let scans = futures_util::future::join_all((60..80).map(scan));
        let cancels = futures_util::future::join_all((0..20).map(|i| {
            let who = if i < 10 { 60 + 2 * i } else { 2 * (i - 10) };
            let url = format!("/registrations/{}/cancel", registrations[who]);
            let holder = &holders[who];
            async move { app.post(&url, Some(&holder.access), json!({})).await }
        }));
        let (scans, cancels) = tokio::join!(scans, cancels);
        for res in scans {
            let status = res.status().as_u16();
            count(status, &res.json().await.unwrap());
        }
        for res in cancels {
            let status = res.status().as_u16();
            assert!(status == 200 || status == 409, "cancellation answered {status}: {}", res.text().await.unwrap());
        }

        // The event's figures are the committed truth...
        let shown: Value = app.get(&format!("/events/{event}"), None).await.json().await.unwrap();
        assert_eq!(shown["checked_in_count"], checked_in, "every admitted scan counted once");
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance["checked_in"], checked_in);
        assert_eq!(attendance["confirmed"], shown["confirmed_count"]);

        // ...and the last `event.counts` a hall screen received says the same.
        let counts = event_counts(app, event).await;
        let last_counts = counts.last().cloned();
        let counts = last_counts.expect("counts were sent");
        assert_eq!(counts["checked_in"], shown["checked_in_count"], "{counts} vs {shown}");
        assert_eq!(counts["confirmed"], shown["confirmed_count"], "{counts} vs {shown}");
        assert_eq!(counts["seats_left"], shown["seats_left"], "{counts} vs {shown}");
        assert_eq!(counts["waitlisted"], shown["waitlist_count"], "{counts} vs {shown}");
    }
}

both_databases! {
    async fn a_party_checks_in_whole_and_every_count_says_so(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "一家三口").await;
        let starts = chrono::Utc::now() + chrono::Duration::minutes(30);
        let event = app
            .published_event(&owner, &org, 10, json!({"max_party_size": 3, "starts_at": starts.to_rfc3339(), "ends_at": (starts + chrono::Duration::hours(2)).to_rfc3339()}))
            .await;
        let [family, single]: [Session; 2] = app.residents(2).await.try_into().unwrap();
        let mut ids = Vec::new();
        for (who, party) in [(&family, 3), (&single, 1)] {
            let res = app.sign_up(who, &event, party).await;
            assert_eq!(res.status(), 201);
            ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        let url = format!("/events/{event}/checkins");
        let scan = |id: &str| app.post(&url, Some(&owner.access), json!({"registration_id": id}));
        let mut expected = Vec::new();
        for (id, status, now_in) in [(&ids[0], 201, 3), (&ids[0], 200, 3), (&ids[1], 201, 4)] {
            let res = scan(id).await;
            assert_eq!(res.status(), status);
            let shown: Value = app.get(&format!("/events/{event}"), None).await.json().await.unwrap();
            assert_eq!(shown["checked_in_count"], now_in, "after scanning {id}");
            if status == 201 {
                expected.push(now_in);
            }
        }
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance["checked_in"], 4);
        // One `event.counts` per admitted scan, none for the repeat.
        let counts: Vec<i64> = event_counts(&app, &event).await.iter().filter_map(|c| c["checked_in"].as_i64()).filter(|n| *n > 0).collect();
        assert_eq!(counts, expected);
    }
}

both_databases! {
    async fn a_scan_that_waited_for_a_cancellation_sees_the_registration_cancelled(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "等一等").await;
        let starts = chrono::Utc::now() + chrono::Duration::minutes(30);
        let event = app
            .published_event(&owner, &org, 10, json!({"starts_at": starts.to_rfc3339(), "ends_at": (starts + chrono::Duration::hours(2)).to_rfc3339()}))
            .await;
        let resident = app.register("孙阿姨").await;
        let res = app.sign_up(&resident, &event, 1).await;
        assert_eq!(res.status(), 201);
        let registration = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        // The cancellation holds the event (and has marked the registration
        // cancelled) for a second and a half before it commits; the scan
        // arrives meanwhile, so it reads while the cancellation is uncommitted
        // and then waits for the event.
        let (id, actor) = (registration.clone(), owner.user_id.clone());
        let cancelling = tokio::spawn({
            let db = app.db.clone();
            async move {
                db.write(move |tx| {
                    let cancelled = mulin::registrations::seats::cancel(tx, &id, &actor)?;
                    std::thread::sleep(std::time::Duration::from_millis(1500));
                    Ok(cancelled.status)
                })
                .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let scan = app.post(&format!("/events/{event}/checkins"), Some(&owner.access), json!({"registration_id": registration})).await;
        assert_eq!(cancelling.await.unwrap().unwrap(), "cancelled");
        assert_problem(scan, 409, "registration_cancelled").await;
        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance["checked_in"], 0, "{attendance}");
    }
}

both_databases! {
    async fn scans_that_queued_together_are_answered_each_as_if_alone_and_counted_once(kind) {
        use mulin::checkin::routes::{DoorScan, DoorScans};
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "一起扫").await;
        let starts = chrono::Utc::now() + chrono::Duration::minutes(30);
        let soon = json!({"max_party_size": 2, "starts_at": starts.to_rfc3339(), "ends_at": (starts + chrono::Duration::hours(2)).to_rfc3339()});
        let event = app.published_event(&owner, &org, 10, soon.clone()).await;
        let other = app.published_event(&owner, &org, 10, soon).await;
        let people: [Session; 4] = app.residents(4).await.try_into().unwrap();
        let mut ids = Vec::new();
        for (who, on, party) in [(&people[0], &event, 1), (&people[1], &event, 1), (&people[2], &event, 2), (&people[3], &other, 1)] {
            let res = app.sign_up(who, on, party).await;
            assert_eq!(res.status(), 201);
            ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        let res = app.post(&format!("/registrations/{}/cancel", ids[1]), Some(&people[1].access), json!({})).await;
        assert_eq!(res.status(), 200);
        let unknown = uuid::Uuid::new_v4().to_string();

        // One write over six scans, as a lane hands over the scans that queued
        // together: a check-in, a cancelled registration, the first ticket
        // again, a party of two, a ticket that does not exist, another
        // event's ticket.
        let order = [&ids[0], &ids[1], &ids[0], &ids[2], &unknown, &ids[3]];
        let items: Vec<DoorScan> = order
            .iter()
            .map(|id| DoorScan {
                event_id: event.clone(),
                registration_id: (*id).clone(),
                method: "manual",
                device_id: Some("door".into()),
                scanned_at: mulin::db::now(),
                actor: owner.user_id.clone(),
            })
            .collect();
        let answers = app
            .db
            .write(move |tx| {
                let answers = <DoorScans as mulin::db::Grouped>::write(tx, &items)?;
                Ok(answers
                    .into_iter()
                    .map(|(outcome, view, attendee)| {
                        let checkin = outcome.checkin_id().map(str::to_owned);
                        (outcome.result(), checkin, view.is_some(), attendee.map(|a| a.display_name))
                    })
                    .collect::<Vec<_>>())
            })
            .await
            .expect("the group's write");
        let results: Vec<&str> = answers.iter().map(|a| a.0).collect();
        assert_eq!(
            results,
            ["ok", "registration_cancelled", "already_checked_in", "ok", "not_found", "wrong_event"]
        );
        assert!(answers[0].1.is_some() && answers[0].1 == answers[2].1, "the repeat names the first check-in: {answers:?}");
        assert!(answers[0].2 && answers[3].2, "a check-in comes with its registration");
        assert!(answers[0].3.is_some() && answers[2].3 == answers[0].3, "the repeat names the same person");
        assert!(answers[1].3.is_none() && answers[4].3.is_none(), "a refusal names nobody");

        let attendance: Value = app.get(&format!("/events/{event}/attendance"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(attendance["checked_in"], 3, "one plus a party of two: {attendance}");
        let shown: Value = app.get(&format!("/events/{event}"), None).await.json().await.unwrap();
        assert_eq!(shown["checked_in_count"], 3);
        // The group's counts are sent once, after its last scan.
        let counts: Vec<i64> = event_counts(&app, &event).await.iter().filter_map(|c| c["checked_in"].as_i64()).filter(|n| *n > 0).collect();
        assert_eq!(counts, [3]);
        let roster = app.roster(&owner, &other).await;
        assert!(roster.iter().all(|r| r["checked_in_at"].is_null()), "the other event's ticket was not used: {roster:?}");
    }
}

/// Every `event.counts` of the event's topic so far, in order (replayed).
async fn event_counts(app: &TestApp, event: &str) -> Vec<Value> {
    use crate::live::{connect, next, subscribe};
    let mut socket = connect(app, None).await;
    let subscribed = subscribe(&mut socket, &format!("event:{event}"), Some(0)).await;
    assert_eq!(subscribed["op"], "subscribed", "{subscribed}");
    let last_seq = subscribed["seq"].as_i64().unwrap();
    let mut counts = Vec::new();
    while counts.last().is_none_or(|(seq, _)| *seq < last_seq) {
        let m = next(&mut socket).await;
        let seq = m["seq"].as_i64().unwrap();
        if m["type"] == "event.counts" {
            counts.push((seq, m["data"].clone()));
        } else if seq >= last_seq {
            break;
        }
    }
    counts.into_iter().map(|(_, data)| data).collect()
}
