//! Notifications driven by the test clock: reminders a day and two hours
//! ahead, moved with their event, withdrawn by cancellations (across a
//! restart), held in quiet hours, switched off in settings, in English for
//! those who chose it; promotion and feedback requests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

/// `days` days from now at `hour`:00 Shanghai time (fixed local times keep
/// the quiet hours out of the way unless a test wants them).
fn shanghai(days: i64, hour: u32) -> DateTime<Utc> {
    let tz = chrono_tz::Asia::Shanghai;
    let day = (Utc::now().with_timezone(&tz) + Duration::days(days)).date_naive();
    tz.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The service's clock now: the wall clock plus the offset the test clock
/// keeps in the database (read, not moved).
async fn service_now(app: &TestApp) -> DateTime<Utc> {
    use diesel::prelude::*;
    use mulin::db::schema::app_secrets;
    let offset: Option<String> = app
        .db
        .run(|c| {
            Ok(app_secrets::table
                .find("test_clock_offset_micros")
                .select(app_secrets::value)
                .first(c)
                .optional()?)
        })
        .await
        .unwrap();
    let micros = offset.map_or(0, |v| v.parse::<i64>().unwrap());
    Utc::now() + Duration::microseconds(micros)
}

/// Moves the clock to `at` (plus a minute) and waits until every job due by
/// then has run.
async fn move_to(app: &TestApp, at: DateTime<Utc>) {
    let now = service_now(app).await;
    let secs = (at - now).num_seconds() + 60;
    assert!(secs > 0, "the clock only moves forward");
    app.advance(secs).await;
    settle(app).await;
}

/// Waits until no job is due at the service's current time (read afresh each
/// round: jobs the handlers add "now" are waited for too).
async fn settle(app: &TestApp) {
    for _ in 0..200 {
        let now = service_now(app).await.naive_utc();
        let due = app.db.run(move |c| mulin::jobs::due(c, now)).await.unwrap();
        if due == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("due jobs did not run within 20 s");
}

async fn inbox(app: &TestApp, who: &Session) -> Vec<Value> {
    let res = app
        .get("/me/notifications?limit=100", Some(&who.access))
        .await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(items: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = items
        .iter()
        .map(|n| {
            let kind = n["kind"].as_str().unwrap();
            let title = n["title"].as_str().unwrap();
            if kind == "reminder" {
                format!(
                    "reminder:{}",
                    if title.contains("明天") || title.starts_with("Tomorrow") {
                        "24h"
                    } else {
                        "2h"
                    }
                )
            } else {
                kind.to_owned()
            }
        })
        .collect();
    kinds.sort();
    kinds
}

async fn event_at(
    app: &TestApp,
    owner: &Session,
    org: &str,
    start: DateTime<Utc>,
    capacity: i64,
) -> String {
    app.published_event(
        owner,
        org,
        capacity,
        json!({"starts_at": start.to_rfc3339(), "ends_at": (start + Duration::hours(2)).to_rfc3339()}),
    )
    .await
}

both_databases! {
    async fn a_resident_is_reminded_a_day_and_two_hours_ahead_and_a_late_sign_up_only_once(kind) {
        let app = TestApp::spawn_process(kind, &[]).await;
        app.out_of_quiet_hours().await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "提醒").await;
        let start = shanghai(3, 14);
        let event = event_at(&app, &owner, &org, start, 10).await;
        let early = app.register("早报名").await;
        assert_eq!(app.sign_up(&early, &event, 1).await.status(), 201);
        assert!(inbox(&app, &early).await.is_empty());

        move_to(&app, start - Duration::hours(24)).await;
        let items = inbox(&app, &early).await;
        assert_eq!(kinds(&items), ["reminder:24h"]);
        assert_eq!(items[0]["title"], "明天的活动提醒");
        assert!(items[0]["body"].as_str().unwrap().contains("14:00"), "local time: {}", items[0]["body"]);
        assert_eq!(items[0]["data"]["event_id"], event.as_str());
        assert_eq!(items[0]["read_at"], Value::Null);

        // Signed up after the day-ahead reminder's time: only the 2 h one.
        let late = app.register("晚报名").await;
        assert_eq!(app.sign_up(&late, &event, 1).await.status(), 201);
        move_to(&app, start - Duration::hours(2)).await;
        assert_eq!(kinds(&inbox(&app, &early).await), ["reminder:24h", "reminder:2h"]);
        assert_eq!(kinds(&inbox(&app, &late).await), ["reminder:2h"]);

        // Read marks.
        let res = app.post("/me/notifications/read", Some(&early.access), json!({"all": true})).await;
        assert_eq!(res.status(), 204);
        assert!(inbox(&app, &early).await.iter().all(|n| n["read_at"].is_string()));
        let res = app.post("/me/notifications/read", Some(&early.access), json!({})).await;
        assert_problem(res, 422, "validation_failed").await;
    }
}

both_databases! {
    async fn a_burst_of_sign_ups_and_cancellations_puts_and_withdraws_every_reminder_once(kind) {
        let app = TestApp::spawn_process(kind, &[]).await;
        app.out_of_quiet_hours().await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "成批").await;
        let start = shanghai(3, 14);
        let event = event_at(&app, &owner, &org, start, 100).await;
        let residents = app.seeded_residents(60).await;

        // All at once: the writes share commits, and each commit's reminders
        // are put in one statement.
        let ids = futures_util::future::join_all(residents.iter().map(|r| async {
            let res = app.sign_up(r, &event, 1).await;
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        }))
        .await;
        // Every other one cancels, all at once: withdrawn a commit at a time.
        let app = &app;
        futures_util::future::join_all(ids.iter().zip(&residents).step_by(2).map(|(id, r)| async move {
            let res = app.post(&format!("/registrations/{id}/cancel"), Some(&r.access), json!({})).await;
            assert_eq!(res.status(), 200);
        }))
        .await;

        move_to(app, start - Duration::hours(2)).await;
        for (i, resident) in residents.iter().enumerate() {
            let got = kinds(&inbox(app, resident).await);
            if i % 2 == 0 {
                assert!(got.is_empty(), "resident {i} cancelled, yet: {got:?}");
            } else {
                assert_eq!(got, ["reminder:24h", "reminder:2h"], "resident {i}");
            }
        }
    }
}

both_databases! {
    async fn reminders_move_with_their_event_and_vanish_with_a_cancellation_across_a_restart(kind) {
        let mut app = TestApp::spawn_process(kind, &[]).await;
        app.out_of_quiet_hours().await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "改期").await;
        let start = shanghai(3, 14);
        let event = event_at(&app, &owner, &org, start, 10).await;
        let stays = app.register("留下").await;
        let leaves = app.register("退出").await;
        assert_eq!(app.sign_up(&stays, &event, 1).await.status(), 201);
        let res = app.sign_up(&leaves, &event, 1).await;
        let registration = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let res = app.post(&format!("/registrations/{registration}/cancel"), Some(&leaves.access), json!({})).await;
        assert_eq!(res.status(), 200);

        // A restart in between: the queue is in the database.
        app.restart().await;

        // Moved a day later: those registered are told, reminders follow.
        let moved = start + Duration::days(1);
        let res = app
            .request(Method::PATCH, &format!("/events/{event}"), Some(&owner.access))
            .json(&json!({"starts_at": moved.to_rfc3339(), "ends_at": (moved + Duration::hours(2)).to_rfc3339()}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        settle(&app).await;
        assert_eq!(kinds(&inbox(&app, &stays).await), ["event_changed"]);

        move_to(&app, start - Duration::hours(2)).await;
        assert_eq!(kinds(&inbox(&app, &stays).await), ["event_changed"], "nothing at the old times");
        move_to(&app, moved - Duration::hours(24)).await;
        assert_eq!(kinds(&inbox(&app, &stays).await), ["event_changed", "reminder:24h"]);

        app.restart().await;
        let res = app.post(&format!("/events/{event}/cancel"), Some(&owner.access), json!({"reason": "场地维修"})).await;
        assert_eq!(res.status(), 200);
        move_to(&app, moved - Duration::hours(2)).await;
        let items = inbox(&app, &stays).await;
        assert_eq!(kinds(&items), ["event_cancelled", "event_changed", "reminder:24h"], "no 2 h reminder for a cancelled event");
        let cancelled = items.iter().find(|n| n["kind"] == "event_cancelled").unwrap();
        assert!(cancelled["body"].as_str().unwrap().contains("场地维修"));
        assert!(inbox(&app, &leaves).await.is_empty(), "a cancelled registration is never reminded");
    }
}

both_databases! {
    async fn quiet_hours_hold_a_reminder_until_seven_and_settings_and_language_are_respected(kind) {
        let app = TestApp::spawn_process(kind, &[]).await;
        app.out_of_quiet_hours().await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "安静").await;
        // 08:00 start: the 2 h reminder falls at 06:00, inside the quiet hours.
        let start = shanghai(3, 8);
        let event = event_at(&app, &owner, &org, start, 10).await;
        let resident = app.register("早起的人").await;
        let english = app.register("Reader").await;
        let silent = app.register("不要提醒").await;
        let res = app.request(Method::PATCH, "/me", Some(&english.access)).json(&json!({"language": "en"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let res = app
            .request(Method::PATCH, "/me/notification-settings", Some(&silent.access))
            .json(&json!({"kinds": {"reminder": false}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["kinds"]["reminder"], false);
        let res = app
            .request(Method::PATCH, "/me/notification-settings", Some(&silent.access))
            .json(&json!({"kinds": {"event_cancelled": false}}))
            .send()
            .await
            .unwrap();
        assert_problem(res, 422, "validation_failed").await;
        for who in [&resident, &english, &silent] {
            assert_eq!(app.sign_up(who, &event, 1).await.status(), 201);
        }

        move_to(&app, start - Duration::hours(24)).await;
        assert_eq!(kinds(&inbox(&app, &resident).await), ["reminder:24h"]);
        let items = inbox(&app, &english).await;
        assert_eq!(items[0]["title"].as_str().unwrap(), format!("Tomorrow: 健康讲座：高血压的日常管理"));
        assert!(inbox(&app, &silent).await.is_empty(), "reminders switched off");

        move_to(&app, start - Duration::hours(2)).await;
        assert_eq!(kinds(&inbox(&app, &resident).await), ["reminder:24h"], "06:00 is quiet");
        move_to(&app, start - Duration::hours(1)).await;
        assert_eq!(kinds(&inbox(&app, &resident).await), ["reminder:24h", "reminder:2h"], "sent at 07:00");
    }
}

both_databases! {
    async fn a_promoted_resident_is_told_at_once_and_attendees_are_asked_for_feedback(kind) {
        let app = TestApp::spawn_process(kind, &[]).await;
        app.out_of_quiet_hours().await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "候补").await;
        let start = shanghai(2, 15);
        let event = event_at(&app, &owner, &org, start, 1).await;
        let first = app.register("先到").await;
        let second = app.register("候补者").await;
        let res = app.sign_up(&first, &event, 1).await;
        let first_registration = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let res = app.sign_up(&second, &event, 1).await;
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "waitlisted");
        let res = app.post(&format!("/registrations/{first_registration}/cancel"), Some(&first.access), json!({})).await;
        assert_eq!(res.status(), 200);
        settle(&app).await;
        let items = inbox(&app, &second).await;
        assert_eq!(kinds(&items), ["promoted"]);
        assert_eq!(items[0]["title"], "候补成功，您有座位了");

        // Checked in at the door, then the event ends: a feedback request.
        move_to(&app, start).await;
        let registration = app.get("/me/registrations", Some(&second.access)).await.json::<Value>().await.unwrap()["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app.post(&format!("/events/{event}/checkins"), Some(&owner.access), json!({"registration_id": registration})).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        move_to(&app, start + Duration::hours(2)).await;
        assert!(kinds(&inbox(&app, &second).await).contains(&"feedback_request".to_owned()));
        assert!(!kinds(&inbox(&app, &first).await).contains(&"feedback_request".to_owned()), "only those checked in");
    }
}

both_databases! {
    async fn a_volunteer_hears_of_an_approval_and_is_reminded_before_the_shift(kind) {
        let app = TestApp::spawn_process(kind, &[]).await;
        app.out_of_quiet_hours().await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "志愿").await;
        let start = shanghai(3, 14);
        let event = event_at(&app, &owner, &org, start, 10).await;
        let shift_start = start - Duration::hours(1);
        let res = app
            .post(
                &format!("/events/{event}/shifts"),
                Some(&owner.access),
                json!({"role": "签到引导", "starts_at": shift_start.to_rfc3339(), "ends_at": (start + Duration::hours(2)).to_rfc3339(),
                       "slots": 2, "served_group": "社区老人", "content": "引导老人签到、入座"}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let shift = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let volunteer = app.register("小志").await;
        let declined = app.register("小拒").await;
        for who in [&volunteer, &declined] {
            let res = app.post("/me/volunteer", Some(&who.access), json!({"skills": ["引导"]})).await;
            assert_eq!(res.status(), 201);
        }
        let mut applications = Vec::new();
        for who in [&volunteer, &declined] {
            let res = app.post(&format!("/shifts/{shift}/applications"), Some(&who.access), json!({})).await;
            assert_eq!(res.status(), 201);
            applications.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        for (application, decision) in applications.iter().zip(["approve", "approve"]) {
            let res = app.post(&format!("/applications/{application}/{decision}"), Some(&owner.access), json!({})).await;
            assert_eq!(res.status(), 200);
        }
        // Approved, then rejected after all: no reminder for that one.
        let res = app.post(&format!("/applications/{}/reject", applications[1]), Some(&owner.access), json!({})).await;
        assert_eq!(res.status(), 200);
        settle(&app).await;
        let items = inbox(&app, &volunteer).await;
        assert_eq!(kinds(&items), ["shift_approved"]);
        assert!(items[0]["body"].as_str().unwrap().contains("签到引导"), "{}", items[0]["body"]);

        move_to(&app, shift_start - Duration::hours(2)).await;
        assert_eq!(kinds(&inbox(&app, &volunteer).await), ["shift_approved", "shift_reminder"]);
        assert_eq!(kinds(&inbox(&app, &declined).await), ["shift_approved"], "rejected: no reminder");
    }
}
