//! Events: validation, recurring programmes in a centre's time zone, browsing
//! with filters and stable pagination.

use chrono::{Datelike, TimeZone, Timelike};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

async fn centre(app: &TestApp, admin: &Session, timezone: &str) -> String {
    let res = app
        .post("/centres", Some(&admin.access), json!({"name": "中心", "address": "路 1 号", "street": "街道", "district": "区", "timezone": timezone}))
        .await;
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Four weeks around the next last Sunday of March still ahead (at least a
/// day away): from the Tuesday twelve days before it to the Thursday eleven
/// days after it, as `YYYY-MM-DD`.
fn around_next_spring_change() -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    let mut year = today.year();
    loop {
        let mut sunday = chrono::NaiveDate::from_ymd_opt(year, 3, 31).unwrap();
        while sunday.weekday() != chrono::Weekday::Sun {
            sunday = sunday.pred_opt().unwrap();
        }
        let tuesday = sunday - chrono::Duration::days(12);
        if tuesday > today + chrono::Duration::days(1) {
            let thursday = sunday + chrono::Duration::days(11);
            return (tuesday.to_string(), thursday.to_string());
        }
        year += 1;
    }
}

both_databases! {
    /// Tuesdays and Thursdays 09:30 local, across Berlin's next spring clock
    /// change (the last Sunday of March) and in Shanghai (no daylight saving).
    async fn a_recurring_programme_keeps_its_local_wall_clock_time(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "助餐服务队").await;
        let (first_tuesday, last_thursday) = around_next_spring_change();
        let (berlin, shanghai) = (
            format!("{first_tuesday}T09:30:00+01:00"),
            format!("{first_tuesday}T09:30:00+08:00"),
        );
        for (tz_name, start, until, expected) in [
            ("Europe/Berlin", berlin.as_str(), last_thursday.as_str(), 8),
            ("Asia/Shanghai", shanghai.as_str(), last_thursday.as_str(), 8),
        ] {
            let tz: chrono_tz::Tz = tz_name.parse().unwrap();
            let centre_id = centre(&app, &admin, tz_name).await;
            let end = start.replace("09:30", "11:00");
            let res = app
                .post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
                    "title": "助老餐桌", "category": "meal_help", "centre_id": centre_id,
                    "starts_at": start, "ends_at": end, "capacity": 30,
                    "repeat": {"weekdays": ["tue", "thu"], "until": until}
                }))
                .await;
            assert_eq!(res.status(), 201);
            let series: Value = res.json().await.unwrap();
            let items = series["items"].as_array().unwrap();
            assert_eq!(items.len(), expected, "{tz_name}");
            let series_id = series["series_id"].as_str().unwrap();
            let mut offsets = std::collections::HashSet::new();
            for item in items {
                assert_eq!(item["series_id"], series_id);
                let starts: chrono::DateTime<chrono::Utc> = item["starts_at"].as_str().unwrap().parse().unwrap();
                let local = tz.from_utc_datetime(&starts.naive_utc());
                assert_eq!((local.hour(), local.minute()), (9, 30), "{tz_name} {starts}");
                assert!(matches!(local.weekday(), chrono::Weekday::Tue | chrono::Weekday::Thu));
                let ends: chrono::DateTime<chrono::Utc> = item["ends_at"].as_str().unwrap().parse().unwrap();
                assert_eq!(ends - starts, chrono::Duration::minutes(90));
                offsets.insert(starts.hour());
            }
            let expected_utc_hours = if tz_name == "Europe/Berlin" { 2 } else { 1 };
            assert_eq!(offsets.len(), expected_utc_hours, "{tz_name}: UTC hours {offsets:?}");

            // Cancelling one occurrence leaves the others.
            let first = items[0]["id"].as_str().unwrap();
            app.post(&format!("/events/{first}/publish"), Some(&owner.access), json!({})).await;
            app.post(&format!("/events/{first}/cancel"), Some(&owner.access), json!({"reason": "节假日"})).await;
            let second = app.get(&format!("/events/{}", items[1]["id"].as_str().unwrap()), Some(&owner.access)).await.json::<Value>().await.unwrap();
            assert_eq!(second["status"], "draft");
        }
        let res = app
            .post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
                "title": "每天", "category": "meal_help", "location": "x",
                "starts_at": hours_from_now(24), "ends_at": hours_from_now(25), "capacity": 30,
                "repeat": {"weekdays": ["mon","tue","wed","thu","fri","sat","sun"], "until": "2028-06-30"}
            }))
            .await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "repeat.until");
    }
}

both_databases! {
    async fn an_event_body_is_checked_field_by_field(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "校验").await;
        let eleven_tags = vec!["a"; 11];
        let res = app
            .post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
                "title": "", "category": "party", "starts_at": "tomorrow", "ends_at": hours_from_now(1),
                "capacity": 0, "max_party_size": 11, "min_age": 130, "tags": eleven_tags
            }))
            .await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["title", "category", "starts_at", "capacity", "max_party_size", "min_age", "tags"]);

        let res = app
            .post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
                "title": "时间颠倒", "category": "other", "location": "x",
                "starts_at": hours_from_now(5), "ends_at": hours_from_now(4), "capacity": 10
            }))
            .await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "ends_at");
        // Either a centre or a place, both optional on their own.
        let res = app
            .request(reqwest::Method::POST, &format!("/organizations/{org}/events"), Some(&owner.access))
            .header("accept-language", "en")
            .json(&json!({"title": "无处", "category": "other", "starts_at": hours_from_now(5), "ends_at": hours_from_now(6), "capacity": 10}))
            .send().await.unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"], json!([{"field": "location", "message": "this or centre_id is required"}]));
        let res = app
            .post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
                "title": "无地点", "category": "other", "starts_at": hours_from_now(5), "ends_at": hours_from_now(6), "capacity": 10, "centre_id": uuid::Uuid::new_v4().to_string()
            }))
            .await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "centre_id");

        let staff = app.register("员工").await;
        app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": staff.phone, "role": "staff"})).await;
        let res = app
            .post(&format!("/organizations/{org}/events"), Some(&staff.access), json!({"title": "x", "category": "other", "location": "x", "starts_at": hours_from_now(5), "ends_at": hours_from_now(6), "capacity": 10}))
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
}

both_databases! {
    async fn browsing_filters_by_centre_category_words_and_free_seats(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "综合服务社").await;
        let gumei = centre(&app, &admin, "Asia/Shanghai").await;
        let garden = app.published_event(&owner, &org, 1, json!({"title": "社区花园：种植多肉", "category": "garden", "centre_id": gumei, "description": "带上手套"})).await;
        let talk = app.published_event(&owner, &org, 50, json!({"title": "Health talk: Blood Pressure", "category": "health_talk", "starts_at": hours_from_now(30), "ends_at": hours_from_now(31)})).await;
        let resident = app.register("看活动").await;
        app.sign_up(&resident, &garden, 1).await;
        // A draft never shows.
        app.post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({"title": "草稿花园", "category": "garden", "location": "x", "starts_at": hours_from_now(5), "ends_at": hours_from_now(6), "capacity": 5})).await;

        let ids = |v: Value| -> Vec<String> { v["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect() };
        let all: Value = app.get("/events", None).await.json().await.unwrap();
        assert_eq!(ids(all.clone()), [garden.as_str(), talk.as_str()], "soonest first, drafts hidden");
        assert_eq!(all["items"][0]["organization_name"], "综合服务社");
        assert_eq!(all["items"][0]["seats_left"], 0);
        assert_eq!(ids(app.get(&format!("/events?centre_id={gumei}"), None).await.json().await.unwrap()), [garden.as_str()]);
        assert_eq!(ids(app.get("/events?category=health_talk", None).await.json().await.unwrap()), [talk.as_str()]);
        assert_eq!(ids(app.get("/events?has_seats=true", None).await.json().await.unwrap()), [talk.as_str()]);
        let q = |s: &str| format!("/events?q={}", urlencode(s));
        assert_eq!(ids(app.get(&q("多肉"), None).await.json().await.unwrap()), [garden.as_str()]);
        assert_eq!(ids(app.get(&q("手套"), None).await.json().await.unwrap()), [garden.as_str()]);
        assert_eq!(ids(app.get(&q("blood"), None).await.json().await.unwrap()), [talk.as_str()]);
        assert_eq!(ids(app.get(&q("100%"), None).await.json().await.unwrap()), Vec::<String>::new());
        assert_eq!(ids(app.get(&format!("/events?from={}", urlencode(&hours_from_now(29))), None).await.json().await.unwrap()), [talk.as_str()]);
        assert_problem(app.get("/events?from=yesterday", None).await, 422, "validation_failed").await;
        let not_a_bool = assert_problem(app.get("/events?has_seats=maybe", None).await, 400, "invalid_query").await;
        assert!(!not_a_bool.to_string().contains("maybe"), "no parser text: {not_a_bool}");
        // An unknown category is a mistake to name, not an empty list.
        let res = app.request(reqwest::Method::GET, "/events?category=foo", None).header("accept-language", "en").send().await.unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "category");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("health_talk"), "{problem}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

both_databases! {
    async fn walking_every_page_while_events_are_published_skips_and_repeats_nothing(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "翻页").await;
        let mut existing = Vec::new();
        for i in 0..30 {
            // Several events share a start time, so the id breaks ties.
            let at = 24 + (i / 3);
            existing.push(app.published_event(&owner, &org, 10, json!({"starts_at": hours_from_now(at), "ends_at": hours_from_now(at + 1)})).await);
        }
        let writer = {
            let address = app.address.clone();
            let token = owner.access.clone();
            let org = org.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder().no_proxy().build().unwrap();
                for i in 0..20 {
                    let body = json!({"title": format!("新活动{i}"), "category": "other", "location": "x", "starts_at": hours_from_now(20 + i), "ends_at": hours_from_now(21 + i), "capacity": 5});
                    let res = client.post(format!("{address}/api/v1/organizations/{org}/events")).bearer_auth(&token).json(&body).send().await.unwrap();
                    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
                    client.post(format!("{address}/api/v1/events/{id}/publish")).bearer_auth(&token).send().await.unwrap();
                }
            })
        };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor { Some(c) => format!("/events?limit=4&cursor={c}"), None => "/events?limit=4".into() };
            let page: Value = app.get(&path, None).await.json().await.unwrap();
            seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() { Some(c) => cursor = Some(c.to_owned()), None => break }
        }
        writer.await.unwrap();
        let unique: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "nothing repeated");
        for id in &existing {
            assert!(seen.contains(id), "nothing skipped");
        }
    }
}
