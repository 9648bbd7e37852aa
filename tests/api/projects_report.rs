//! The report of a purchased-service project, walked from draft to a frozen
//! report under the test clock (bids close, activities end, the feedback
//! window runs out without waiting), with feedback, expenses, typed values,
//! evaluations, the CSV, the printable page behind its 10-minute link and the
//! live `project:` topic.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{Session, TestApp, assert_problem};
use crate::live::{connect, next, subscribe};
use crate::projects::{bid_body, contracted, draft, ok, world};

/// The service's clock as the test moved it.
struct Clock(i64);

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.0)
    }

    async fn advance(&mut self, app: &TestApp, secs: i64) {
        app.advance(secs).await;
        self.0 += secs;
    }
}

async fn linked_event(
    app: &TestApp,
    owner: &Session,
    org: &str,
    centre: &str,
    contract: &str,
    starts: DateTime<Utc>,
) -> String {
    let res = app.post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
        "title": "手指操：老年人健脑课", "category": "culture_sports", "centre_id": centre,
        "starts_at": starts.to_rfc3339(), "ends_at": (starts + Duration::hours(1)).to_rfc3339(),
        "capacity": 30, "contract_id": contract,
    })).await;
    let event = ok(res, 201).await;
    let id = event["id"].as_str().unwrap().to_owned();
    ok(
        app.post(
            &format!("/events/{id}/publish"),
            Some(&owner.access),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    id
}

async fn resident(app: &TestApp, name: &str, birth_year: Option<i64>) -> Session {
    let who = app.register(name).await;
    if let Some(year) = birth_year {
        let res = app
            .request(Method::PATCH, "/me", Some(&who.access))
            .json(&json!({"birth_year": year}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    who
}

async fn sign_up(app: &TestApp, who: &Session, event: &str, party: i64) -> String {
    let r = ok(app.sign_up(who, event, party).await, 201).await;
    assert_eq!(r["status"], "confirmed");
    r["id"].as_str().unwrap().to_owned()
}

async fn check_in(app: &TestApp, staff: &Session, event: &str, registration: &str) -> String {
    let res = app
        .post(
            &format!("/events/{event}/checkins"),
            Some(&staff.access),
            json!({"registration_id": registration}),
        )
        .await;
    let body = ok(res, 201).await;
    body["checkin"]["id"].as_str().unwrap().to_owned()
}

fn indicator<'a>(report: &'a Value, source: &str) -> &'a Value {
    report["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"] == source)
        .unwrap()
}

both_databases! {
    async fn a_project_walks_from_draft_to_a_frozen_report_that_never_changes(kind) {
        let app = TestApp::spawn_process(kind, &[]).await;
        let mut clock = Clock(0);
        let w = world(&app).await;
        let project = draft(&app, &w, &(clock.now() + Duration::hours(1)).to_rfc3339()).await;
        let id = project["id"].as_str().unwrap().to_owned();
        ok(app.post(&format!("/projects/{id}/open"), Some(&w.staff.access), json!({})).await, 200).await;
        let bid = ok(app.post(&format!("/projects/{id}/bids"), Some(&w.owner.access), bid_body()).await, 201).await;
        ok(app.post(&format!("/projects/{id}/evaluators"), Some(&w.staff.access), json!({"phone": w.evaluator.phone})).await, 201).await;

        // The bids close by themselves when bids_close_at passes.
        clock.advance(&app, 2 * 3600).await;
        let seen = ok(app.get(&format!("/projects/{id}"), Some(&w.staff.access)).await, 200).await;
        assert_eq!(seen["status"], "reviewing");
        assert_problem(app.post(&format!("/projects/{id}/bids"), Some(&w.rival_owner.access), bid_body()).await, 409, "bids_closed").await;
        let bid_id = bid["id"].as_str().unwrap();
        ok(app.post(&format!("/bids/{bid_id}/scores"), Some(&w.evaluator.access),
            json!({"qualification": 18, "plan": 17, "capacity": 16, "outputs": 18, "budget": 15})).await, 201).await;
        ok(app.post(&format!("/projects/{id}/award"), Some(&w.staff.access), json!({"bid_id": bid_id})).await, 200).await;

        // Two activities of the contract: one in half an hour, one tomorrow.
        let first = linked_event(&app, &w.owner, &w.org, &w.centre, &id, clock.now() + Duration::minutes(30)).await;
        let second = linked_event(&app, &w.owner, &w.org, &w.centre, &id, clock.now() + Duration::hours(26)).await;
        let elder = resident(&app, "王阿姨", Some(1950)).await;
        let younger = resident(&app, "李先生", Some(1990)).await;
        let unknown = resident(&app, "陈女士", None).await;
        let absent = resident(&app, "缺席者", Some(1945)).await;
        let r_elder = sign_up(&app, &elder, &first, 1).await;
        let r_younger = sign_up(&app, &younger, &first, 2).await;
        let r_unknown = sign_up(&app, &unknown, &first, 1).await;
        let r_absent = sign_up(&app, &absent, &first, 1).await;
        let r_again = sign_up(&app, &elder, &second, 1).await;
        check_in(&app, &w.owner, &first, &r_elder).await;
        check_in(&app, &w.owner, &first, &r_younger).await;
        let undone_later = check_in(&app, &w.owner, &first, &r_unknown).await;
        ok(app.post(&format!("/events/{first}/walk-ins"), Some(&w.owner.access), json!({"display_name": "散客"})).await, 201).await;

        // Feedback: only after the end, only from attendees, once.
        let feedback = |r: &str| format!("/registrations/{r}/feedback");
        assert_problem(app.post(&feedback(&r_elder), Some(&elder.access), json!({"score": 5})).await, 409, "event_not_ended").await;
        clock.advance(&app, 2 * 3600).await;
        assert_problem(app.post(&feedback(&r_absent), Some(&absent.access), json!({"score": 1})).await, 409, "not_attended").await;
        assert_problem(app.post(&feedback(&r_elder), Some(&younger.access), json!({"score": 1})).await, 404, "not_found").await;
        assert_problem(app.post(&feedback(&r_elder), Some(&elder.access), json!({"score": 6})).await, 422, "validation_failed").await;
        ok(app.post(&feedback(&r_elder), Some(&elder.access), json!({"score": 5, "comment": "老师讲得很清楚"})).await, 201).await;
        assert_problem(app.post(&feedback(&r_elder), Some(&elder.access), json!({"score": 4})).await, 409, "already_given").await;
        ok(app.post(&feedback(&r_younger), Some(&younger.access), json!({"score": 4})).await, 201).await;
        let summary = ok(app.get(&format!("/events/{first}/feedback"), Some(&w.staff.access)).await, 200).await;
        assert_eq!(summary["count"], 2);
        assert_eq!(summary["mean"], 4.5);
        assert_eq!(summary["distribution"]["5"], 1);
        assert_eq!(summary["comments"]["items"][0]["comment"], "老师讲得很清楚");
        assert!(!summary.to_string().contains("王阿姨"));
        assert_problem(app.get(&format!("/events/{first}/feedback"), Some(&absent.access)).await, 403, "forbidden").await;

        // The second activity, tomorrow.
        clock.advance(&app, 24 * 3600).await;
        check_in(&app, &w.owner, &second, &r_again).await;
        clock.advance(&app, 2 * 3600).await;

        // Delivery records: an expense, a typed value, a deviation note.
        let res = app.post(&format!("/projects/{id}/expenses"), Some(&w.owner.access), json!({"spent_on": crate::projects::shanghai_day(1), "amount_cny": "57500.00", "item": "讲座教材"})).await;
        assert_eq!(ok(res, 201).await["amount_cny"], "57500.00");
        assert_problem(app.post(&format!("/projects/{id}/expenses"), Some(&w.owner.access), json!({"spent_on": crate::projects::shanghai_day(1), "amount_cny": "1.999", "item": "x"})).await, 422, "validation_failed").await;
        assert_problem(app.post(&format!("/projects/{id}/expenses"), Some(&w.staff.access), json!({"spent_on": crate::projects::shanghai_day(1), "amount_cny": "1", "item": "x"})).await, 403, "forbidden").await;
        let before = ok(app.get(&format!("/projects/{id}/report"), Some(&w.staff.access)).await, 200).await;
        let manual = indicator(&before, "manual")["id"].as_str().unwrap().to_owned();
        let attendances = indicator(&before, "attendances")["id"].as_str().unwrap().to_owned();
        assert!(indicator(&before, "manual")["actual"].is_null());
        assert_problem(app.post(&format!("/indicators/{attendances}/actual"), Some(&w.evaluator.access), json!({"value": 999, "note": "x"})).await, 409, "not_manual").await;
        assert_problem(app.post(&format!("/indicators/{manual}/actual"), Some(&w.owner.access), json!({"value": 1, "note": "x"})).await, 403, "forbidden").await;
        ok(app.post(&format!("/indicators/{manual}/actual"), Some(&w.evaluator.access), json!({"value": 1, "note": "街道台账核对"})).await, 200).await;
        ok(app.post(&format!("/indicators/{attendances}/deviation"), Some(&w.owner.access), json!({"note": "寒潮改期两场"})).await, 200).await;

        // The figures, computed from check-ins and feedback.
        let report = ok(app.get(&format!("/projects/{id}/report"), Some(&w.owner.access)).await, 200).await;
        assert_eq!(report["project"]["status"], "contracted");
        assert!(report["frozen_at"].is_null());
        assert_eq!(report["organization"]["id"], w.org.as_str());
        let a = indicator(&report, "attendances");
        assert_eq!(a["actual"], 6.0, "{report}");  // 1 + 2 + 1 + a walk-in, then 1
        assert_eq!(a["achievement_pct"], 75.0);
        assert_eq!(a["suggested_score"], 30.0);
        assert_eq!(a["deviation_note"], "寒潮改期两场");
        let s = indicator(&report, "sessions_held");
        assert_eq!(s["actual"], 2.0);
        assert_eq!(s["suggested_score"], 10.0);
        let sat = indicator(&report, "satisfaction");
        assert_eq!(sat["actual"], 90.0);
        assert_eq!(sat["suggested_score"], 20.0);
        assert_eq!(sat["response_rate_pct"], 50.0);
        let budget = indicator(&report, "budget_execution");
        assert_eq!(budget["actual"], 50.0);
        assert_eq!(budget["suggested_score"], 10.0);
        let typed = indicator(&report, "manual");
        assert_eq!(typed["actual"], 1.0);
        assert_eq!(typed["actual_note"], "街道台账核对");
        assert_eq!(typed["actual_by"], "第三方评估师");
        assert_eq!(report["feedback"]["count"], 2);
        assert_eq!(report["anomalies"]["offline_conflicts"], 0);
        let monthly = report["monthly"].as_array().unwrap();
        assert!(monthly.len() >= 2);
        assert_eq!(monthly.iter().map(|m| m["attendances"].as_i64().unwrap()).sum::<i64>(), 6);
        assert_eq!(monthly.iter().map(|m| m["sessions"].as_i64().unwrap()).sum::<i64>(), 2);
        // Residents: three distinct, walk-ins and guests aside; one of the two with a birth year is 60+.
        let unique = monthly.iter().map(|m| m["unique_residents"].as_i64().unwrap()).max().unwrap();
        assert_eq!(unique, 3);
        assert_problem(app.get(&format!("/projects/{id}/report"), Some(&elder.access)).await, 403, "forbidden").await;

        // The CSV: BOM, Chinese headers, one row per indicator.
        let res = app.get(&format!("/projects/{id}/report?format=csv"), Some(&w.staff.access)).await;
        assert_eq!(res.status(), 200);
        let bytes = res.bytes().await.unwrap();
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(text.starts_with("一级指标,二级指标,三级指标,数据来源"), "{text}");
        assert_eq!(text.lines().count(), 6);
        assert_problem(app.get(&format!("/projects/{id}/report?format=xls"), Some(&w.staff.access)).await, 422, "validation_failed").await;

        // Evaluations: mid-term, then final; the close needs a final one.
        ok(app.post(&format!("/projects/{id}/mid-term"), Some(&w.staff.access), json!({})).await, 200).await;
        let scores = |score: f64| json!({"stage": "mid_term", "opinion": "进度正常", "scores": [{"indicator_id": attendances, "score": score, "note": "人次略低"}]});
        let problem = assert_problem(app.post(&format!("/projects/{id}/evaluations"), Some(&w.evaluator.access), scores(41.0)).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "scores[0].score");
        ok(app.post(&format!("/projects/{id}/evaluations"), Some(&w.evaluator.access), scores(28.0)).await, 201).await;
        assert_problem(app.post(&format!("/projects/{id}/evaluations"), Some(&w.evaluator.access), scores(30.0)).await, 409, "already_evaluated").await;
        let mut final_body = scores(30.0);
        final_body["stage"] = json!("final");
        assert_problem(app.post(&format!("/projects/{id}/evaluations"), Some(&w.evaluator.access), final_body.clone()).await, 409, "evaluation_not_open").await;
        ok(app.post(&format!("/projects/{id}/resume"), Some(&w.staff.access), json!({})).await, 200).await;
        ok(app.post(&format!("/projects/{id}/final"), Some(&w.staff.access), json!({})).await, 200).await;
        assert_problem(app.post(&format!("/projects/{id}/close"), Some(&w.staff.access), json!({})).await, 409, "no_final_evaluation").await;
        ok(app.post(&format!("/projects/{id}/evaluations"), Some(&w.evaluator.access), final_body).await, 201).await;
        let closed = ok(app.post(&format!("/projects/{id}/close"), Some(&w.staff.access), json!({})).await, 200).await;
        assert_eq!(closed["status"], "closed");
        assert!(closed["frozen_at"].is_string());

        // The frozen report never changes: not when a check-in is undone.
        let frozen = ok(app.get(&format!("/projects/{id}/report"), Some(&w.staff.access)).await, 200).await;
        assert_eq!(frozen["project"]["status"], "closed");
        assert!(frozen["frozen_at"].is_string());
        assert_eq!(indicator(&frozen, "attendances")["scores"].as_array().unwrap().len(), 2);
        assert_eq!(app.delete(&format!("/checkins/{undone_later}"), Some(&w.owner.access)).await.status(), 204);
        let after = ok(app.get(&format!("/projects/{id}/report"), Some(&w.staff.access)).await, 200).await;
        assert_eq!(after, frozen);
        assert_eq!(indicator(&after, "attendances")["actual"], 6.0);
        assert_problem(app.post(&format!("/projects/{id}/expenses"), Some(&w.owner.access), json!({"spent_on": crate::projects::shanghai_day(1), "amount_cny": "1", "item": "x"})).await, 409, "report_frozen").await;
        assert_problem(app.post(&format!("/projects/{id}/cancel"), Some(&w.staff.access), json!({"reason": "x"})).await, 409, "invalid_transition").await;

        // The printable page, through a 10-minute link that needs no token.
        let link = ok(app.post(&format!("/projects/{id}/report/links"), Some(&w.staff.access), json!({})).await, 201).await;
        let url = link["url"].as_str().unwrap().to_owned();
        let page = app.get(&url, None).await;
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = page.text().await.unwrap();
        assert!(html.contains("绩效评价报告") && html.contains("<svg") && html.contains("报告已冻结"));
        assert!(!html.contains("<script"));
        assert_problem(app.get(&format!("{url}x"), None).await, 403, "invalid_link").await;
        assert_problem(app.post(&format!("/projects/{id}/report/links"), Some(&elder.access), json!({})).await, 403, "forbidden").await;

        // The feedback window closes 14 days after the end; the link after 10 minutes.
        clock.advance(&app, 15 * 24 * 3600).await;
        assert_problem(app.post(&feedback(&r_unknown), Some(&unknown.access), json!({"score": 3})).await, 409, "not_attended").await;
        assert_problem(app.post(&feedback(&r_again), Some(&elder.access), json!({"score": 3})).await, 409, "feedback_closed").await;
        assert_problem(app.get(&url, None).await, 403, "invalid_link").await;
    }
}

both_databases! {
    async fn buyer_staff_follow_the_report_live_as_check_ins_arrive(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let id = contracted(&app, &w).await;
        let event = linked_event(&app, &w.owner, &w.org, &w.centre, &id, Utc::now() + Duration::minutes(30)).await;
        let resident = app.register("居民").await;
        let registration = sign_up(&app, &resident, &event, 1).await;
        // The watcher's first look at a new contract is announced too: let it pass.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

        let mut outsider = connect(&app, Some(&resident.access)).await;
        let refused = subscribe(&mut outsider, &format!("project:{id}"), None).await;
        assert_eq!(refused["op"], "error");
        assert_eq!(refused["code"], "forbidden");

        let mut socket = connect(&app, Some(&w.staff.access)).await;
        let subscribed = subscribe(&mut socket, &format!("project:{id}"), None).await;
        assert_eq!(subscribed["op"], "subscribed");
        assert_eq!(subscribed["snapshot"]["status"], "contracted");
        check_in(&app, &w.owner, &event, &registration).await;
        let message = next(&mut socket).await;
        assert_eq!(message["type"], "report.changed", "{message}");
        assert_eq!(message["data"]["id"], id.as_str());
        let report = ok(app.get(&format!("/projects/{id}/report"), Some(&w.staff.access)).await, 200).await;
        assert_eq!(indicator(&report, "attendances")["actual"], 1.0);
        assert_eq!(report["anomalies"]["offline_conflicts"], 0);

        // A second phone uploads its offline scan of the same ticket: reported
        // beside the figures, not counted in them.
        let batch = json!({"device_id": "phone-b", "scans": [{"scan_id": "s1", "registration_id": registration, "scanned_at": Utc::now().to_rfc3339()}]});
        let results = ok(app.post(&format!("/events/{event}/checkins/batch"), Some(&w.owner.access), batch).await, 200).await;
        assert_eq!(results["results"][0]["result"], "already_checked_in");
        let report = ok(app.get(&format!("/projects/{id}/report"), Some(&w.staff.access)).await, 200).await;
        assert_eq!(report["anomalies"]["offline_conflicts"], 1);
        assert_eq!(indicator(&report, "attendances")["actual"], 1.0);

        // A state change is announced as project.updated.
        ok(app.post(&format!("/projects/{id}/mid-term"), Some(&w.staff.access), json!({})).await, 200).await;
        loop {
            let message = next(&mut socket).await;
            if message["type"] == "project.updated" {
                assert_eq!(message["data"]["status"], "mid_term_review");
                break;
            }
            assert_eq!(message["type"], "report.changed");
        }
    }
}
