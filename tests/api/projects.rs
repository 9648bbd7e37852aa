//! Purchased-service projects: buyers and their staff, the indicator table's
//! rules, the state table, bids, scores, evaluators, the award, and events
//! linked to a contract. (The report, feedback and the walk to a frozen
//! report under the test clock are in `projects_report`.)

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{Session, TestApp, assert_problem};

/// Today in Shanghai, moved by `days`, as `YYYY-MM-DD`.
pub(crate) fn shanghai_day(days: i64) -> String {
    let now = Utc::now() + Duration::hours(8) + Duration::days(days);
    now.format("%Y-%m-%d").to_string()
}

/// The indicator table used throughout: weights 40 + 20 + 20 + 10 + 10.
pub(crate) fn indicators() -> Value {
    json!([
        {"level1": "output", "level2": "数量指标", "name": "服务人次", "source": "attendances",
         "op": ">=", "target": 8, "unit": "人次", "weight": 40},
        {"level1": "output", "level2": "数量指标", "name": "活动场次", "source": "sessions_held",
         "op": ">=", "target": 4, "unit": "场", "weight": 20},
        {"level1": "satisfaction", "level2": "服务对象满意度", "name": "居民满意度", "source": "satisfaction",
         "op": ">=", "target": 90, "unit": "%", "weight": 20},
        {"level1": "effect", "level2": "社会效益", "name": "社区评价", "source": "manual",
         "op": ">=", "target": 1, "unit": "项", "weight": 10},
        {"level1": "budget", "level2": "预算执行", "name": "预算执行率", "source": "budget_execution",
         "op": "<=", "target": 100, "unit": "%", "weight": 10}
    ])
}

/// Everyone a project needs: an admin, a centre, a buyer with one staff
/// member, two verified organizations and an independent evaluator.
pub(crate) struct World {
    pub admin: Session,
    pub centre: String,
    pub other_centre: String,
    pub buyer: String,
    pub staff: Session,
    pub org: String,
    pub owner: Session,
    pub rival: String,
    pub rival_owner: Session,
    pub evaluator: Session,
}

pub(crate) async fn centre(app: &TestApp, admin: &Session, name: &str) -> String {
    let res = app
        .post(
            "/centres",
            Some(&admin.access),
            json!({"name": name, "address": "国权路 1 号", "street": "五角场街道", "district": "杨浦区"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let centre = centre(app, &admin, "五角场睦邻中心").await;
    let other_centre = centre_named(app, &admin).await;
    let res = app
        .post(
            "/buyers",
            Some(&admin.access),
            json!({"name": "五角场街道办事处", "level": "street", "region": "杨浦区五角场街道"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let buyer = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let staff = app.register("街道科员").await;
    let res = app
        .post(
            &format!("/buyers/{buyer}/members"),
            Some(&admin.access),
            json!({"phone": staff.phone}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (org, owner) = app.verified_org(&admin, "健康促进社").await;
    let (rival, rival_owner) = app.verified_org(&admin, "乐龄服务社").await;
    let evaluator = app.register("第三方评估师").await;
    World {
        admin,
        centre,
        other_centre,
        buyer,
        staff,
        org,
        owner,
        rival,
        rival_owner,
        evaluator,
    }
}

async fn centre_named(app: &TestApp, admin: &Session) -> String {
    centre(app, admin, "控江睦邻中心").await
}

pub(crate) fn project_body(w: &World, bids_close_at: &str) -> Value {
    json!({
        "title": "五角场街道为老健康服务项目",
        "category": "health_talk",
        "description": "为辖区老年人开展健康讲座与手指操。",
        "budget_cny": "120000.00",
        "starts_on": shanghai_day(0),
        "ends_on": shanghai_day(60),
        "centre_ids": [w.centre],
        "bids_close_at": bids_close_at,
        "indicators": indicators(),
    })
}

pub(crate) async fn draft(app: &TestApp, w: &World, bids_close_at: &str) -> Value {
    let res = app
        .post(
            &format!("/buyers/{}/projects", w.buyer),
            Some(&w.staff.access),
            project_body(w, bids_close_at),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

pub(crate) async fn ok(res: reqwest::Response, status: u16) -> Value {
    let code = res.status().as_u16();
    let body = res.text().await.unwrap();
    assert_eq!(code, status, "{body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

pub(crate) fn bid_body() -> Value {
    json!({"plan": "每月 4 场健康讲座，配套手指操。", "budget_cny": "115000.00", "team": "社工 3 名，医生志愿者 2 名",
           "milestones": [{"month": "2026-12", "what": "完成首批讲座"}]})
}

/// A project awarded to `w.org` without waiting: opened, closed for bids by
/// hand, scored by the evaluator, awarded. Returns the project id.
pub(crate) async fn contracted(app: &TestApp, w: &World) -> String {
    let project = draft(app, w, &(Utc::now() + Duration::days(1)).to_rfc3339()).await;
    let id = project["id"].as_str().unwrap().to_owned();
    ok(
        app.post(
            &format!("/projects/{id}/open"),
            Some(&w.staff.access),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let bid = ok(
        app.post(
            &format!("/projects/{id}/bids"),
            Some(&w.owner.access),
            bid_body(),
        )
        .await,
        201,
    )
    .await;
    ok(
        app.post(
            &format!("/projects/{id}/evaluators"),
            Some(&w.staff.access),
            json!({"phone": w.evaluator.phone}),
        )
        .await,
        201,
    )
    .await;
    ok(
        app.post(
            &format!("/projects/{id}/review"),
            Some(&w.staff.access),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let bid_id = bid["id"].as_str().unwrap();
    ok(
        app.post(
            &format!("/bids/{bid_id}/scores"),
            Some(&w.evaluator.access),
            json!({"qualification": 18, "plan": 17, "capacity": 16, "outputs": 18, "budget": 15}),
        )
        .await,
        201,
    )
    .await;
    let awarded = ok(
        app.post(
            &format!("/projects/{id}/award"),
            Some(&w.staff.access),
            json!({"bid_id": bid_id}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(awarded["status"], "contracted");
    id
}

both_databases! {
    async fn buyers_are_made_by_admins_and_staffed_by_phone(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let nobody = app.register("路人").await;
        let res = app.post("/buyers", Some(&nobody.access), json!({"name": "x", "level": "street", "region": "y"})).await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.post("/buyers", Some(&w.admin.access), json!({"name": "区民政局", "level": "city", "region": "杨浦区"})).await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "level");

        // Staff see their buyer; others see none; /me lists it.
        let mine = ok(app.get("/buyers", Some(&w.staff.access)).await, 200).await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        let theirs = ok(app.get("/buyers", Some(&nobody.access)).await, 200).await;
        assert!(theirs["items"].as_array().unwrap().is_empty());
        let me = ok(app.get("/me", Some(&w.staff.access)).await, 200).await;
        assert_eq!(me["buyers"][0]["buyer_id"], w.buyer.as_str());

        // Staff add staff; a stranger cannot; an unknown phone is a field error.
        let colleague = app.register("同事").await;
        ok(app.post(&format!("/buyers/{}/members", w.buyer), Some(&w.staff.access), json!({"phone": colleague.phone})).await, 201).await;
        let res = app.post(&format!("/buyers/{}/members", w.buyer), Some(&w.staff.access), json!({"phone": colleague.phone})).await;
        assert_problem(res, 409, "already_member").await;
        let res = app.post(&format!("/buyers/{}/members", w.buyer), Some(&nobody.access), json!({"phone": nobody.phone})).await;
        assert_problem(res, 404, "not_found").await;
        let res = app.post(&format!("/buyers/{}/members", w.buyer), Some(&w.staff.access), json!({"phone": "13700000999"})).await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app.delete(&format!("/buyers/{}/members/{}", w.buyer, colleague.user_id), Some(&w.staff.access)).await;
        assert_eq!(res.status(), 204);
    }
}

both_databases! {
    async fn a_project_refuses_bad_tables_and_money_and_keeps_nothing_of_them(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let path = format!("/buyers/{}/projects", w.buyer);
        let close = (Utc::now() + Duration::days(1)).to_rfc3339();

        let mut body = project_body(&w, &close);
        body["indicators"][0]["weight"] = json!(45);
        let res = app.post(&path, Some(&w.staff.access), body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "indicators");

        let mut body = project_body(&w, &close);
        let row = body["indicators"][4].clone();
        let mut rows: Vec<Value> = (0..31).map(|_| row.clone()).collect();
        rows[0]["weight"] = json!(100);
        body["indicators"] = json!(rows);
        assert_problem(app.post(&path, Some(&w.staff.access), body).await, 422, "validation_failed").await;

        for (field, value, at) in [
            ("budget_cny", json!(120000.5), "budget_cny"),
            ("budget_cny", json!("120000.505"), "budget_cny"),
            ("budget_cny", json!("-5"), "budget_cny"),
            ("category", json!("banking"), "category"),
            ("ends_on", json!("2020-01-01"), "ends_on"),
            ("centre_ids", json!(["no-such-centre"]), "centre_ids"),
        ] {
            let mut body = project_body(&w, &close);
            body[field] = value;
            let problem = assert_problem(app.post(&path, Some(&w.staff.access), body).await, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], at, "{problem}");
        }
        for (field, value) in [("level1", json!("impact")), ("op", json!(">")), ("source", json!("guess")), ("target", json!(-1)), ("weight", json!(12.5))] {
            let mut body = project_body(&w, &close);
            body["indicators"][1][field] = value;
            let problem = assert_problem(app.post(&path, Some(&w.staff.access), body).await, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], format!("indicators[1].{field}"), "{problem}");
        }
        // None of it was written.
        let list = ok(app.get(&path, Some(&w.staff.access)).await, 200).await;
        assert!(list["items"].as_array().unwrap().is_empty());

        // Only buyer staff create projects.
        let res = app.post(&path, Some(&w.owner.access), project_body(&w, &close)).await;
        assert_problem(res, 404, "not_found").await;
    }
}

both_databases! {
    async fn the_state_table_is_followed_and_only_drafts_change(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let project = draft(&app, &w, &(Utc::now() + Duration::days(1)).to_rfc3339()).await;
        let id = project["id"].as_str().unwrap();
        assert_eq!(project["status"], "draft");
        assert_eq!(project["budget_cny"], "120000.00");
        assert_eq!(project["indicators"].as_array().unwrap().len(), 5);

        // A draft is the buyer's own: others do not see it.
        assert_problem(app.get(&format!("/projects/{id}"), Some(&w.owner.access)).await, 404, "not_found").await;
        // Draft edits, including the whole table.
        let patched = ok(app.request(Method::PATCH, &format!("/projects/{id}"), Some(&w.staff.access))
            .json(&json!({"title": "为老健康服务（修订）", "budget_cny": "100000"})).send().await.unwrap(), 200).await;
        assert_eq!(patched["budget_cny"], "100000.00");
        let res = app.request(Method::PATCH, &format!("/projects/{id}"), Some(&w.staff.access))
            .json(&json!({"indicators": [indicators()[0]]})).send().await.unwrap();
        assert_problem(res, 422, "validation_failed").await;

        for step in ["review", "mid-term", "resume", "final", "close"] {
            let res = app.post(&format!("/projects/{id}/{step}"), Some(&w.staff.access), json!({})).await;
            assert_problem(res, 409, "invalid_transition").await;
        }
        let res = app.post(&format!("/projects/{id}/open"), Some(&w.owner.access), json!({})).await;
        assert_problem(res, 404, "not_found").await;
        let opened = ok(app.post(&format!("/projects/{id}/open"), Some(&w.staff.access), json!({})).await, 200).await;
        assert_eq!(opened["status"], "open");
        // Past draft: anyone signed in reads it; only buyer staff move it.
        let seen = ok(app.get(&format!("/projects/{id}"), Some(&w.owner.access)).await, 200).await;
        assert_eq!(seen["status"], "open");
        assert_problem(app.post(&format!("/projects/{id}/review"), Some(&w.owner.access), json!({})).await, 403, "forbidden").await;
        let res = app.request(Method::PATCH, &format!("/projects/{id}"), Some(&w.staff.access))
            .json(&json!({"title": "改不了"})).send().await.unwrap();
        assert_problem(res, 409, "project_not_editable").await;
        assert_problem(app.post(&format!("/projects/{id}/open"), Some(&w.staff.access), json!({})).await, 409, "invalid_transition").await;

        // Cancel with a reason, from any state but closed; then nothing moves.
        assert_problem(app.post(&format!("/projects/{id}/cancel"), Some(&w.staff.access), json!({})).await, 422, "validation_failed").await;
        let cancelled = ok(app.post(&format!("/projects/{id}/cancel"), Some(&w.staff.access), json!({"reason": "预算调整"})).await, 200).await;
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["cancel_reason"], "预算调整");
        assert_problem(app.post(&format!("/projects/{id}/cancel"), Some(&w.staff.access), json!({"reason": "再次"})).await, 409, "invalid_transition").await;
        assert_problem(app.post(&format!("/projects/{id}/open"), Some(&w.staff.access), json!({})).await, 409, "invalid_transition").await;
    }
}

both_databases! {
    async fn bids_scores_evaluators_and_the_award_follow_their_rules(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let project = draft(&app, &w, &(Utc::now() + Duration::days(1)).to_rfc3339()).await;
        let id = project["id"].as_str().unwrap();
        // No bids on a draft (it cannot be seen).
        assert_problem(app.post(&format!("/projects/{id}/bids"), Some(&w.owner.access), bid_body()).await, 404, "not_found").await;
        ok(app.post(&format!("/projects/{id}/open"), Some(&w.staff.access), json!({})).await, 200).await;

        let mut bad = bid_body();
        bad["budget_cny"] = json!(115000.0);
        assert_problem(app.post(&format!("/projects/{id}/bids"), Some(&w.owner.access), bad).await, 422, "validation_failed").await;
        let ours = ok(app.post(&format!("/projects/{id}/bids"), Some(&w.owner.access), bid_body()).await, 201).await;
        assert_eq!(ours["budget_cny"], "115000.00");
        assert_problem(app.post(&format!("/projects/{id}/bids"), Some(&w.owner.access), bid_body()).await, 409, "already_bid").await;
        let theirs = ok(app.post(&format!("/projects/{id}/bids"), Some(&w.rival_owner.access), bid_body()).await, 201).await;
        // A resident runs no organization; an unverified organization cannot bid.
        let resident = app.register("居民").await;
        assert_problem(app.post(&format!("/projects/{id}/bids"), Some(&resident.access), bid_body()).await, 403, "forbidden").await;
        let pending = app.register("新组织负责人").await;
        ok(app.post("/organizations", Some(&pending.access), json!({"name": "未认证社", "category": "charity"})).await, 201).await;
        assert_problem(app.post(&format!("/projects/{id}/bids"), Some(&pending.access), bid_body()).await, 409, "organization_not_verified").await;

        // Withdraw while open, then bid again.
        let theirs_id = theirs["id"].as_str().unwrap();
        assert_problem(app.delete(&format!("/bids/{theirs_id}"), Some(&w.owner.access)).await, 404, "not_found").await;
        assert_eq!(app.delete(&format!("/bids/{theirs_id}"), Some(&w.rival_owner.access)).await.status(), 204);
        let theirs = ok(app.post(&format!("/projects/{id}/bids"), Some(&w.rival_owner.access), bid_body()).await, 201).await;

        // An organization sees its own bids; buyer staff see all with scores.
        let own = ok(app.get(&format!("/projects/{id}/bids"), Some(&w.owner.access)).await, 200).await;
        assert_eq!(own["items"].as_array().unwrap().len(), 1);
        assert!(own["items"][0]["score_count"].is_null());
        let all = ok(app.get(&format!("/projects/{id}/bids"), Some(&w.staff.access)).await, 200).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 3);
        assert_problem(app.get(&format!("/projects/{id}/bids"), Some(&resident.access)).await, 403, "forbidden").await;

        // Evaluators: not a member of a bidding organization.
        assert_problem(app.post(&format!("/projects/{id}/evaluators"), Some(&w.staff.access), json!({"phone": w.rival_owner.phone})).await, 409, "conflict_of_interest").await;
        ok(app.post(&format!("/projects/{id}/evaluators"), Some(&w.staff.access), json!({"phone": w.evaluator.phone})).await, 201).await;
        let mine = ok(app.get("/me/evaluations", Some(&w.evaluator.access)).await, 200).await;
        assert_eq!(mine["items"][0]["id"], id);

        // Scores only while reviewing; awards only then too.
        let ours_id = ours["id"].as_str().unwrap();
        let score = json!({"qualification": 18, "plan": 17, "capacity": 16, "outputs": 18, "budget": 15, "comment": "方案扎实"});
        assert_problem(app.post(&format!("/bids/{ours_id}/scores"), Some(&w.evaluator.access), score.clone()).await, 409, "not_reviewing").await;
        assert_problem(app.post(&format!("/projects/{id}/award"), Some(&w.staff.access), json!({"bid_id": ours_id})).await, 409, "invalid_transition").await;
        ok(app.post(&format!("/projects/{id}/review"), Some(&w.staff.access), json!({})).await, 200).await;
        assert_problem(app.post(&format!("/projects/{id}/bids"), Some(&w.owner.access), bid_body()).await, 409, "bids_closed").await;
        let mut out_of_range = score.clone();
        out_of_range["plan"] = json!(21);
        let problem = assert_problem(app.post(&format!("/bids/{ours_id}/scores"), Some(&w.evaluator.access), out_of_range).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "plan");
        assert_problem(app.post(&format!("/bids/{ours_id}/scores"), Some(&w.owner.access), score.clone()).await, 403, "forbidden").await;
        let given = ok(app.post(&format!("/bids/{ours_id}/scores"), Some(&w.evaluator.access), score.clone()).await, 201).await;
        assert_eq!(given["total"], 84);
        assert_problem(app.post(&format!("/bids/{ours_id}/scores"), Some(&w.evaluator.access), score.clone()).await, 409, "already_scored").await;
        ok(app.post(&format!("/bids/{ours_id}/scores"), Some(&w.staff.access), score.clone()).await, 201).await;
        // A reviewer who belongs to the bidding organization does not score its bid.
        ok(app.post(&format!("/organizations/{}/members", w.rival), Some(&w.rival_owner.access), json!({"phone": w.staff.phone, "role": "staff"})).await, 201).await;
        let theirs_now = theirs["id"].as_str().unwrap();
        assert_problem(app.post(&format!("/bids/{theirs_now}/scores"), Some(&w.staff.access), score).await, 409, "conflict_of_interest").await;

        // The award needs a scored bid of this project.
        let theirs_id = theirs["id"].as_str().unwrap();
        assert_problem(app.post(&format!("/projects/{id}/award"), Some(&w.staff.access), json!({"bid_id": theirs_id})).await, 409, "bid_not_scored").await;
        assert_problem(app.post(&format!("/projects/{id}/award"), Some(&w.staff.access), json!({"bid_id": "nope"})).await, 422, "validation_failed").await;
        let awarded = ok(app.post(&format!("/projects/{id}/award"), Some(&w.staff.access), json!({"bid_id": ours_id})).await, 200).await;
        assert_eq!(awarded["status"], "contracted");
        assert_eq!(awarded["organization_id"], w.org.as_str());
        let listed = ok(app.get(&format!("/projects/{id}/bids"), Some(&w.staff.access)).await, 200).await;
        let ours_listed = listed["items"].as_array().unwrap().iter().find(|b| b["id"] == ours_id).unwrap().clone();
        assert_eq!(ours_listed["score_count"], 2);
        assert_eq!(ours_listed["mean_score"], 84.0);
    }
}

both_databases! {
    async fn events_link_to_a_contract_only_inside_its_period_and_centres(kind) {
        let app = TestApp::spawn(kind).await;
        let w = world(&app).await;
        let id = contracted(&app, &w).await;
        let event = |centre: &str, starts: chrono::DateTime<Utc>| json!({
            "title": "手指操：老年人健脑课", "category": "health_talk", "centre_id": centre,
            "starts_at": starts.to_rfc3339(), "ends_at": (starts + Duration::hours(1)).to_rfc3339(),
            "capacity": 20, "contract_id": id,
        });
        let soon = Utc::now() + Duration::hours(3);
        let path = format!("/organizations/{}/events", w.org);
        let linked = ok(app.post(&path, Some(&w.owner.access), event(&w.centre, soon)).await, 201).await;
        assert_eq!(linked["contract_id"], id.as_str());

        for bad in [
            event(&w.other_centre, soon),
            event(&w.centre, Utc::now() + Duration::days(90)),
            json!({"title": "无中心", "category": "health_talk", "location": "小区广场",
                   "starts_at": soon.to_rfc3339(), "ends_at": (soon + Duration::hours(1)).to_rfc3339(),
                   "capacity": 20, "contract_id": id}),
        ] {
            let problem = assert_problem(app.post(&path, Some(&w.owner.access), bad).await, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], "contract_id", "{problem}");
        }
        // Another organization cannot count its events for this contract.
        let problem = assert_problem(app.post(&format!("/organizations/{}/events", w.rival), Some(&w.rival_owner.access), event(&w.centre, soon)).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "contract_id");

        // PATCH links and unlinks; moving a linked event out of the period is refused.
        let plain = ok(app.post(&path, Some(&w.owner.access), json!({
            "title": "健康讲座", "category": "health_talk", "centre_id": w.centre,
            "starts_at": soon.to_rfc3339(), "ends_at": (soon + Duration::hours(1)).to_rfc3339(), "capacity": 20})).await, 201).await;
        let plain_id = plain["id"].as_str().unwrap();
        let patched = ok(app.request(Method::PATCH, &format!("/events/{plain_id}"), Some(&w.owner.access))
            .json(&json!({"contract_id": id})).send().await.unwrap(), 200).await;
        assert_eq!(patched["contract_id"], id.as_str());
        let far = Utc::now() + Duration::days(100);
        let res = app.request(Method::PATCH, &format!("/events/{plain_id}"), Some(&w.owner.access))
            .json(&json!({"starts_at": far.to_rfc3339(), "ends_at": (far + Duration::hours(1)).to_rfc3339()})).send().await.unwrap();
        assert_problem(res, 422, "validation_failed").await;
        let unlinked = ok(app.request(Method::PATCH, &format!("/events/{plain_id}"), Some(&w.owner.access))
            .json(&json!({"contract_id": null})).send().await.unwrap(), 200).await;
        assert!(unlinked["contract_id"].is_null());
    }
}
