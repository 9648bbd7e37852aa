//! The test clock: `MULIN_TEST_CLOCK=true` lets a test move the service's time
//! forward; without it the route does not exist.

use serde_json::json;

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn moving_the_clock_past_an_events_end_completes_it_and_closes_sign_up(kind) {
        let mut app = TestApp::spawn_process(kind, &[]).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "时钟").await;
        let event = app.published_event(&owner, &org, 10, json!({})).await;
        assert_eq!(app.event(&event).await["status"], "published");

        // The event runs 24 h to 26 h from now: a day and a bit later it is over.
        app.advance(27 * 3600).await;
        assert_eq!(app.event(&event).await["status"], "completed");
        let resident = app.register("迟到的人").await;
        assert_problem(app.sign_up(&resident, &event, 1).await, 409, "event_not_open").await;

        // A restarted instance resumes at the moved time.
        app.restart().await;
        assert_eq!(app.event(&event).await["status"], "completed");
    }
}

both_databases! {
    async fn the_clock_moves_only_forward_and_only_by_sane_amounts(kind) {
        let app = TestApp::spawn_process(kind, &[]).await;
        assert!(app.server_log().contains("MULIN_TEST_CLOCK is on"), "the start-up warning is logged");
        for bad in [json!({"advance_secs": 0}), json!({"advance_secs": -60})] {
            let res = app.post("/api/v1/test/clock", None, bad).await;
            assert_problem(res, 422, "validation_failed").await;
        }
        // A client's mistake is no warning for the operator (logged at debug).
        let log = app.server_log();
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("\"level\":\"WARN\"")).collect();
        assert!(warnings.iter().all(|l| l.contains("MULIN_TEST_CLOCK")), "{warnings:?}");
        let res = app.post("/api/v1/test/clock", None, json!({"advance_secs": 3600})).await;
        assert_eq!(res.status(), 200);
        let now: chrono::DateTime<chrono::Utc> =
            res.json::<serde_json::Value>().await.unwrap()["now"].as_str().unwrap().parse().unwrap();
        let ahead = now - chrono::Utc::now();
        assert!(ahead > chrono::Duration::minutes(59) && ahead < chrono::Duration::minutes(61), "{ahead}");
    }
}

both_databases! {
    async fn without_the_setting_there_is_no_test_clock(kind) {
        let app = TestApp::spawn(kind).await;
        let res = app.post("/api/v1/test/clock", None, json!({"advance_secs": 3600})).await;
        assert_problem(res, 404, "not_found").await;
    }
}
