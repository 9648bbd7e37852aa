//! Centre screens: the day's board in the centre's time zone, announcements,
//! display tokens that can only read, and revocation that closes their socket.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::both_databases;
use crate::helpers::*;

async fn centre(app: &TestApp, admin: &Session) -> String {
    let res = app
        .post("/centres", Some(&admin.access), json!({"name": "古美睦邻中心", "address": "平吉路 100 号", "street": "古美路街道", "district": "闵行区"}))
        .await;
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The start of today in Shanghai, as UTC.
fn shanghai_today_start() -> chrono::NaiveDateTime {
    let tz = chrono_tz::Asia::Shanghai;
    let today = tz.from_utc_datetime(&Utc::now().naive_utc()).date_naive();
    tz.from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .naive_utc()
}

/// An event placed directly at exact times (the API refuses past starts).
async fn event_at(
    app: &TestApp,
    org: &str,
    owner: &Session,
    centre: &str,
    title: &str,
    starts: chrono::NaiveDateTime,
    minutes: i64,
) -> String {
    let res = app
        .post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
            "title": title, "category": "culture_sports", "centre_id": centre,
            "starts_at": (Utc::now() + chrono::Duration::days(1)).to_rfc3339(),
            "ends_at": (Utc::now() + chrono::Duration::days(1) + chrono::Duration::hours(1)).to_rfc3339(),
            "capacity": 20
        }))
        .await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/events/{id}/publish"),
        Some(&owner.access),
        json!({}),
    )
    .await;
    let event = id.clone();
    app.db
        .run(move |c| {
            use diesel::prelude::*;
            use mulin::db::schema::events;
            diesel::update(events::table.find(&event))
                .set((
                    events::starts_at.eq(starts),
                    events::ends_at.eq(starts + chrono::Duration::minutes(minutes)),
                    events::registration_closes_at
                        .eq(Some(starts + chrono::Duration::minutes(minutes))),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    id
}

both_databases! {
    /// Shanghai's day runs 16:00–16:00 UTC: an event at 16:30 UTC "today" in UTC
    /// is tomorrow on a Shanghai screen, and one at 15:30 UTC yesterday is today.
    async fn the_board_shows_today_in_the_centres_time_zone_in_start_order(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "健康促进会").await;
        let centre = centre(&app, &admin).await;
        let start = shanghai_today_start();
        let minutes = |m: i64| start + chrono::Duration::minutes(m);
        let late = event_at(&app, &org, &owner, &centre, "晚间太极", minutes(23 * 60 + 30), 20).await;
        let early = event_at(&app, &org, &owner, &centre, "早操", minutes(30), 60).await;
        event_at(&app, &org, &owner, &centre, "明天的讲座", minutes(24 * 60 + 30), 60).await;
        event_at(&app, &org, &owner, &centre, "昨天的讲座", minutes(-30), 20).await;

        let board: Value = app.get(&format!("/centres/{centre}/board"), None).await.json().await.unwrap();
        let today = chrono_tz::Asia::Shanghai.from_utc_datetime(&Utc::now().naive_utc()).date_naive();
        assert_eq!(board["date"], today.format("%Y-%m-%d").to_string());
        let ids: Vec<&str> = board["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [early.as_str(), late.as_str()], "today only, in start order");
        assert_eq!(board["events"][0]["organization_name"], "健康促进会");
        let now = Utc::now().naive_utc();
        let expected = if now < minutes(30) { "upcoming" } else if now < minutes(90) { "in_progress" } else { "ended" };
        assert_eq!(board["events"][0]["status"], expected);
        let text = board.to_string();
        assert!(!text.contains(&owner.phone) && !text.contains("display_name"), "nothing personal");
    }
}

async fn connect(
    app: &TestApp,
    token: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut request = format!("{}/api/v1/live", app.address.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&format!("mulin.v1, mulin.bearer.{token}")).unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(s, _)| s)
}

async fn next_json<
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
>(
    socket: &mut S,
) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("frame in 5 s")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

both_databases! {
    async fn a_check_in_changes_the_board_and_tells_the_screens(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "社区食堂").await;
        let centre = centre(&app, &admin).await;
        let starts = (Utc::now().naive_utc() - chrono::Duration::minutes(10)).max(shanghai_today_start());
        let event = event_at(&app, &org, &owner, &centre, "午餐", starts, 180).await;
        let display = app.post(&format!("/centres/{centre}/displays"), Some(&admin.access), json!({"name": "大厅电视"})).await;
        let token = display.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();

        let mut screen = connect(&app, Some(&token)).await.unwrap();
        screen.send(Message::Text(json!({"op": "subscribe", "topic": format!("centre:{centre}")}).to_string().into())).await.unwrap();
        assert_eq!(next_json(&mut screen).await["op"], "subscribed");

        let resident = app.register("吃饭的人").await;
        let registration = app.sign_up(&resident, &event, 1).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(next_json(&mut screen).await["type"], "board.changed");
        app.post(&format!("/events/{event}/checkins"), Some(&owner.access), json!({"registration_id": registration})).await;
        let changed = next_json(&mut screen).await;
        assert_eq!((changed["type"].as_str(), changed["data"]["event_id"].as_str()), (Some("board.changed"), Some(event.as_str())));

        let board: Value = app.request(reqwest::Method::GET, &format!("/centres/{centre}/board"), Some(&token)).send().await.unwrap().json().await.unwrap();
        assert_eq!(board["events"][0]["checked_in_count"], 1);
        assert_eq!(board["events"][0]["seats_left"], 19);
        assert_eq!(board["events"][0]["status"], "in_progress");
    }
}

both_databases! {
    async fn a_display_token_only_reads_its_board_and_revocation_closes_its_socket(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "文体队").await;
        let centre = centre(&app, &admin).await;
        let other_centre = {
            let res = app.post("/centres", Some(&admin.access), json!({"name": "别处", "address": "x", "street": "y", "district": "z"})).await;
            res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        };
        let manager = app.register("中心主任").await;
        let resident = app.register("居民").await;
        assert_problem(app.post(&format!("/centres/{centre}/managers"), Some(&resident.access), json!({"phone": manager.phone})).await, 403, "forbidden").await;
        assert_eq!(app.post(&format!("/centres/{centre}/managers"), Some(&admin.access), json!({"phone": manager.phone})).await.status(), 201);
        assert_problem(app.post(&format!("/centres/{centre}/displays"), Some(&resident.access), json!({"name": "x"})).await, 403, "forbidden").await;
        let created: Value = app.post(&format!("/centres/{centre}/displays"), Some(&manager.access), json!({"name": "一楼大厅"})).await.json().await.unwrap();
        let (display, token) = (created["id"].as_str().unwrap().to_owned(), created["token"].as_str().unwrap().to_owned());
        let event = app.published_event(&owner, &org, 5, json!({"centre_id": centre})).await;

        // Only its own board.
        let get = |path: String| app.request(reqwest::Method::GET, &path, Some(&token)).send();
        assert_eq!(get(format!("/centres/{centre}/board")).await.unwrap().status(), 200);
        assert_problem(get(format!("/centres/{other_centre}/board")).await.unwrap(), 403, "forbidden").await;
        assert_problem(get("/events".into()).await.unwrap(), 403, "forbidden").await;
        assert_problem(get(format!("/events/{event}/registrations")).await.unwrap(), 403, "forbidden").await;
        assert_problem(get("/me".into()).await.unwrap(), 403, "forbidden").await;
        let res = app.request(reqwest::Method::POST, "/organizations", Some(&token)).json(&json!({"name": "x", "category": "charity"})).send().await.unwrap();
        assert_problem(res, 403, "forbidden").await;

        // Only its centre's topic.
        let mut screen = connect(&app, Some(&token)).await.unwrap();
        for topic in [format!("org:{org}"), format!("event:{event}"), format!("centre:{other_centre}"), "me".to_owned()] {
            screen.send(Message::Text(json!({"op": "subscribe", "topic": topic}).to_string().into())).await.unwrap();
            assert_eq!(next_json(&mut screen).await["code"], "forbidden", "{topic}");
        }
        screen.send(Message::Text(json!({"op": "subscribe", "topic": format!("centre:{centre}")}).to_string().into())).await.unwrap();
        assert_eq!(next_json(&mut screen).await["op"], "subscribed");

        // The manager sees the screen online, then revokes it: the socket closes.
        let list: Value = app.get(&format!("/centres/{centre}/displays"), Some(&manager.access)).await.json().await.unwrap();
        assert_eq!(list["items"][0]["online"], true);
        assert!(list["items"][0]["last_seen_at"].is_string());
        assert_eq!(app.delete(&format!("/displays/{display}"), Some(&manager.access)).await.status(), 204);
        let code = loop {
            match tokio::time::timeout(Duration::from_secs(1), screen.next()).await.expect("closed within a second") {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => break None,
            }
        };
        assert_eq!(code, Some(4003));
        assert!(connect(&app, Some(&token)).await.is_err(), "a revoked token cannot reconnect");
        let list: Value = app.get(&format!("/centres/{centre}/displays"), Some(&manager.access)).await.json().await.unwrap();
        assert_eq!(list["items"], json!([]));
    }
}

both_databases! {
    async fn announcements_appear_on_the_board_and_on_the_screens(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let centre = centre(&app, &admin).await;
        let mut screen = connect(&app, None).await.unwrap();
        screen.send(Message::Text(json!({"op": "subscribe", "topic": format!("centre:{centre}")}).to_string().into())).await.unwrap();
        assert_eq!(next_json(&mut screen).await["op"], "subscribed");

        let resident = app.register("居民").await;
        assert_problem(app.post(&format!("/centres/{centre}/announcements"), Some(&resident.access), json!({"text": "x"})).await, 403, "forbidden").await;
        let posted: Value = app.post(&format!("/centres/{centre}/announcements"), Some(&admin.access), json!({"text": "本周六上午九点社区花园义务劳动"})).await.json().await.unwrap();
        let message = next_json(&mut screen).await;
        assert_eq!((message["type"].as_str(), message["data"]["text"].as_str()), (Some("announcement.posted"), Some("本周六上午九点社区花园义务劳动")));
        let later = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        app.post(&format!("/centres/{centre}/announcements"), Some(&admin.access), json!({"text": "明天才显示", "starts_at": later})).await;
        next_json(&mut screen).await;

        let board: Value = app.get(&format!("/centres/{centre}/board"), None).await.json().await.unwrap();
        let texts: Vec<&str> = board["announcements"].as_array().unwrap().iter().map(|a| a["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["本周六上午九点社区花园义务劳动"], "only current ones");

        let id = posted["id"].as_str().unwrap();
        assert_eq!(app.delete(&format!("/announcements/{id}"), Some(&admin.access)).await.status(), 204);
        assert_eq!(next_json(&mut screen).await["type"], "announcement.removed");
        let board: Value = app.get(&format!("/centres/{centre}/board"), None).await.json().await.unwrap();
        assert_eq!(board["announcements"], json!([]));
    }
}

both_databases! {
    async fn the_hall_page_and_its_assets_are_served_by_the_binary(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let centre = centre(&app, &admin).await;
        for unknown in ["not-a-centre", &uuid::Uuid::new_v4().to_string()] {
            let res = app.client.get(format!("{}/display/{unknown}", app.address)).send().await.unwrap();
            assert_problem(res, 404, "not_found").await;
        }
        let page = app
            .client
            .get(format!("{}/display/{centre}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'self'"), "no CDN: {csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains("/display-assets/display.js") && html.contains("正在重新连接"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing fetched from elsewhere"
        );
        for asset in ["display.js", "display.css"] {
            let res = app
                .client
                .get(format!("{}/display-assets/{asset}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{asset}");
        }
        let js = app
            .client
            .get(format!("{}/display-assets/display.js", app.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            js.contains("localStorage") && js.contains("mulin.bearer."),
            "token kept in storage, sent as a subprotocol"
        );
    }
}

both_databases! {
    /// The clock's look (normally once a minute): a new day and an ended
    /// announcement are each announced exactly once, whoever looks (the
    /// server's own clock may look first).
    async fn a_new_day_and_an_ended_announcement_are_announced_once(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let centre = centre(&app, &admin).await;
        let ends = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let posted: Value = app.post(&format!("/centres/{centre}/announcements"), Some(&admin.access), json!({"text": "一小时后结束", "ends_at": ends})).await.json().await.unwrap();
        // Its end passes (moved back in the database rather than waited for).
        let id = posted["id"].as_str().unwrap().to_owned();
        app.db.run(move |c| {
            use diesel::prelude::*;
            use mulin::db::schema::announcements;
            diesel::update(announcements::table.find(&id))
                .set(announcements::ends_at.eq(Some(Utc::now().naive_utc() - chrono::Duration::seconds(1))))
                .execute(c)?;
            Ok(())
        }).await.unwrap();

        // Two instances looking at once, then a third look finds nothing left.
        let (a, b) = tokio::join!(app.db.write(mulin::displays::clock::tick), app.db.write(mulin::displays::clock::tick));
        assert!(a.unwrap() + b.unwrap() <= 2);
        assert_eq!(app.db.write(mulin::displays::clock::tick).await.unwrap(), 0, "nothing twice");

        // Everything ever published on the topic, replayed from the start.
        let mut screen = connect(&app, None).await.unwrap();
        screen.send(Message::Text(json!({"op": "subscribe", "topic": format!("centre:{centre}"), "since": 0}).to_string().into())).await.unwrap();
        assert_eq!(next_json(&mut screen).await["op"], "subscribed");
        let mut kinds = Vec::new();
        for _ in 0..3 {
            kinds.push(next_json(&mut screen).await["type"].as_str().unwrap_or_default().to_owned());
        }
        kinds.sort();
        assert_eq!(kinds, ["announcement.posted", "announcement.removed", "board.changed"]);
        let extra = tokio::time::timeout(Duration::from_millis(500), screen.next()).await;
        assert!(extra.is_err(), "no fourth message: {extra:?}");
    }
}

/// Every message the centre's topic holds, from the start.
async fn centre_history(app: &TestApp, centre: &str) -> Vec<Value> {
    let mut screen = connect(app, None).await.unwrap();
    let subscribe = json!({"op": "subscribe", "topic": format!("centre:{centre}"), "since": 0});
    screen
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let subscribed = next_json(&mut screen).await;
    assert_eq!(subscribed["op"], "subscribed", "{subscribed}");
    let last = subscribed["seq"].as_i64().unwrap();
    let mut messages: Vec<Value> = Vec::new();
    while messages
        .last()
        .is_none_or(|m| m["seq"].as_i64() < Some(last))
    {
        messages.push(next_json(&mut screen).await);
    }
    messages
}

/// The `board.changed` messages, as (reason, what it names).
fn board_changes(messages: &[Value]) -> Vec<(String, String)> {
    let mut changes: Vec<(String, String)> = messages
        .iter()
        .filter(|m| m["type"] == "board.changed")
        .map(|m| {
            let data = &m["data"];
            let named = data["event_id"]
                .as_str()
                .or(data["announcement_id"].as_str())
                .or(data["date"].as_str());
            (
                data["reason"].as_str().unwrap_or("changed").to_owned(),
                named.unwrap_or_default().to_owned(),
            )
        })
        .collect();
    changes.sort();
    changes
}

both_databases! {
    async fn time_alone_moves_the_board_and_the_screens_are_told_once(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "时钟队").await;
        let centre = centre(&app, &admin).await;
        let now = Utc::now().naive_utc();
        let minutes = |m: i64| now + chrono::Duration::minutes(m);
        let running = event_at(&app, &org, &owner, &centre, "正在进行", minutes(-1), 61).await;
        let over = event_at(&app, &org, &owner, &centre, "刚结束", minutes(-30), 29).await;
        event_at(&app, &org, &owner, &centre, "一小时后", minutes(60), 60).await;
        // An announcement posted an hour ahead of its start, which then passes
        // (both moved back in the database).
        let ahead = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let posted: Value = app.post(&format!("/centres/{centre}/announcements"), Some(&admin.access), json!({"text": "稍后显示", "starts_at": ahead})).await.json().await.unwrap();
        let announcement = posted["id"].as_str().unwrap().to_owned();
        let id = announcement.clone();
        app.db.run(move |c| {
            use diesel::prelude::*;
            use mulin::db::schema::announcements;
            diesel::update(announcements::table.find(&id))
                .set((
                    announcements::starts_at.eq(Some(Utc::now().naive_utc() - chrono::Duration::minutes(1))),
                    announcements::created_at.eq(Utc::now().naive_utc() - chrono::Duration::minutes(61)),
                ))
                .execute(c)?;
            Ok(())
        }).await.unwrap();

        // Two instances looking at once, then a third look finds nothing left.
        let (a, b) = tokio::join!(app.db.write(mulin::displays::clock::tick), app.db.write(mulin::displays::clock::tick));
        // (The server's own minute tick may have announced some first: the
        // topic's history below is what must be exact.)
        assert!(a.unwrap() + b.unwrap() <= 5, "a new day, two starts, one end, one announcement");
        assert_eq!(app.db.write(mulin::displays::clock::tick).await.unwrap(), 0, "nothing twice");

        let today = chrono_tz::Asia::Shanghai.from_utc_datetime(&now).date_naive().format("%Y-%m-%d").to_string();
        let mut expected = vec![
            ("announcement_started".to_owned(), announcement),
            ("event_ended".to_owned(), over.clone()),
            ("event_started".to_owned(), over.clone()),
            ("event_started".to_owned(), running.clone()),
            ("new_day".to_owned(), today),
        ];
        expected.sort();
        assert_eq!(board_changes(&centre_history(&app, &centre).await), expected);
        let board: Value = app.get(&format!("/centres/{centre}/board"), None).await.json().await.unwrap();
        let state = |id: &str| board["events"].as_array().unwrap().iter().find(|e| e["id"] == id).map(|e| e["status"].clone());
        // (Near Shanghai's midnight an activity may sit on yesterday's board.)
        for (id, status) in [(&running, "in_progress"), (&over, "ended")] {
            if let Some(shown) = state(id) {
                assert_eq!(shown, status);
            }
        }
        assert!(board["announcements"].as_array().unwrap().iter().any(|a| a["text"] == "稍后显示"));

        // An activity moved to another centre leaves the board it was on today.
        let other: Value = app.post("/centres", Some(&admin.access), json!({"name": "另一个中心", "address": "路 1 号", "street": "街道", "district": "区"})).await.json().await.unwrap();
        let other = other["id"].as_str().unwrap().to_owned();
        let soon = event_at(&app, &org, &owner, &centre, "搬走的活动", minutes(90), 30).await;
        let before = centre_history(&app, &centre).await.len();
        let res = app.request(reqwest::Method::PATCH, &format!("/events/{soon}"), Some(&owner.access)).json(&json!({"centre_id": other})).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let after = centre_history(&app, &centre).await;
        let on_today = chrono_tz::Asia::Shanghai.from_utc_datetime(&minutes(90)).date_naive()
            == chrono_tz::Asia::Shanghai.from_utc_datetime(&Utc::now().naive_utc()).date_naive();
        let told: Vec<(String, String)> = board_changes(&after[before..]);
        if on_today {
            assert_eq!(told, vec![("moved".to_owned(), soon.clone())]);
        } else {
            assert!(told.is_empty(), "tomorrow's activity was on no board: {told:?}");
        }
    }
}
