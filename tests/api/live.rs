//! Live updates over a real WebSocket: topics, ordering, resume, restarts,
//! several instances, slow consumers, limits and authorization.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::both_databases;
use crate::helpers::*;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp, token: Option<&str>) -> Socket {
    let url = format!("{}/api/v1/live", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade")
        .0
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON text frame (pings are skipped), within five seconds.
pub(crate) async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

pub(crate) async fn subscribe(socket: &mut Socket, topic: &str, since: Option<i64>) -> Value {
    let mut message = json!({"op": "subscribe", "topic": topic});
    if let Some(since) = since {
        message["since"] = json!(since);
    }
    send(socket, message).await;
    next(socket).await
}

async fn soon_event(app: &TestApp, owner: &Session, org: &str, capacity: i64) -> String {
    let soon = |m: i64| (chrono::Utc::now() + chrono::Duration::minutes(m)).to_rfc3339();
    app.published_event(
        owner,
        org,
        capacity,
        json!({"starts_at": soon(30), "ends_at": soon(120)}),
    )
    .await
}

both_databases! {
    async fn event_subscribers_see_counts_after_a_sign_up_and_a_check_in(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "直播").await;
        let event = soon_event(&app, &owner, &org, 5).await;
        let mut socket = connect(&app, None).await;
        let subscribed = subscribe(&mut socket, &format!("event:{event}"), None).await;
        assert_eq!(subscribed["op"], "subscribed");
        assert_eq!(subscribed["snapshot"]["seats_left"], 5);
        let start = subscribed["seq"].as_i64().unwrap();

        let resident = app.register("报名者").await;
        let res = app.sign_up(&resident, &event, 1).await;
        let registration = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let counts = next(&mut socket).await;
        assert_eq!((counts["op"].as_str(), counts["type"].as_str()), (Some("event"), Some("event.counts")));
        assert_eq!(counts["seq"].as_i64(), Some(start + 1));
        assert_eq!(counts["data"]["confirmed"], 1);
        assert_eq!(counts["data"]["seats_left"], 4);

        app.post(&format!("/events/{event}/checkins"), Some(&owner.access), json!({"registration_id": registration})).await;
        let counts = next(&mut socket).await;
        assert_eq!(counts["seq"].as_i64(), Some(start + 2));
        assert_eq!(counts["data"]["checked_in"], 1);

        send(&mut socket, json!({"op": "ping"})).await;
        assert_eq!(next(&mut socket).await["op"], "pong");
    }
}

both_databases! {
    async fn a_waitlisted_resident_hears_of_the_promotion(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "候补").await;
        let event = soon_event(&app, &owner, &org, 1).await;
        let [first, waiting]: [Session; 2] = app.residents(2).await.try_into().unwrap();
        let seat = app.sign_up(&first, &event, 1).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let queued = app.sign_up(&waiting, &event, 1).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        let mut socket = connect(&app, Some(&waiting.access)).await;
        assert_eq!(subscribe(&mut socket, "me", None).await["op"], "subscribed");
        app.post(&format!("/registrations/{seat}/cancel"), Some(&first.access), json!({})).await;
        let promoted = next(&mut socket).await;
        assert_eq!((promoted["topic"].as_str(), promoted["type"].as_str()), (Some("me"), Some("registration.promoted")));
        assert_eq!(promoted["data"]["registration_id"], queued.as_str());
        assert_eq!(promoted["data"]["status"], "confirmed");
    }
}

both_databases! {
    async fn a_reconnecting_client_gets_exactly_what_it_missed_or_a_resync(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "断线").await;
        let event = soon_event(&app, &owner, &org, 10).await;
        let topic = format!("event:{event}");
        let mut socket = connect(&app, None).await;
        let seq = subscribe(&mut socket, &topic, None).await["seq"].as_i64().unwrap();
        drop(socket);

        for r in app.residents(3).await {
            app.sign_up(&r, &event, 1).await;
        }
        let mut socket = connect(&app, None).await;
        let subscribed = subscribe(&mut socket, &topic, Some(seq)).await;
        assert_eq!(subscribed["seq"].as_i64(), Some(seq + 3));
        let missed: Vec<i64> = [next(&mut socket).await, next(&mut socket).await, next(&mut socket).await]
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(missed, [seq + 1, seq + 2, seq + 3]);
        send(&mut socket, json!({"op": "ping"})).await;
        assert_eq!(next(&mut socket).await["op"], "pong", "nothing more than the three");

        // History that no longer reaches back: resync.
        let id = topic.clone();
        app.db.run(move |c| {
            use diesel::prelude::*;
            use mulin::db::schema::live_messages;
            diesel::delete(live_messages::table.filter(live_messages::topic.eq(&id)).filter(live_messages::seq.le(seq + 1))).execute(c)?;
            Ok(())
        }).await.unwrap();
        let mut socket = connect(&app, None).await;
        assert_eq!(subscribe(&mut socket, &topic, Some(seq)).await["op"], "subscribed");
        assert_eq!(next(&mut socket).await["op"], "resync");
    }
}

both_databases! {
    /// A client coming back far behind (more than its queue holds) is replayed
    /// what it missed in pages as it reads: every message, in order, no
    /// `resync` while the history holds the gap, and it is not taken for a
    /// slow consumer.
    async fn a_client_resuming_far_behind_is_replayed_everything_in_pages(kind) {
        let app = TestApp::spawn_with(kind, |s| s.live_queue_frames = 32).await;
        let admin = app.admin().await;
        let centre: Value = app.post("/centres", Some(&admin.access), json!({"name": "回放", "address": "x", "street": "y", "district": "z"})).await.json().await.unwrap();
        let topic = format!("centre:{}", centre["id"].as_str().unwrap());
        let mut socket = connect(&app, None).await;
        let since = subscribe(&mut socket, &topic, None).await["seq"].as_i64().unwrap();
        drop(socket);

        let missed = 600i64;
        let key = topic.clone();
        app.db
            .write(move |c| {
                for n in 0..missed {
                    mulin::live::outbox::publish(c, key.clone(), "announcement.posted", &json!({"n": n}));
                }
                Ok(())
            })
            .await
            .unwrap();
        let mut socket = connect(&app, None).await;
        assert_eq!(subscribe(&mut socket, &topic, Some(since)).await["op"], "subscribed");
        for n in 0..missed {
            let message = next(&mut socket).await;
            assert_eq!(message["op"], "event", "{message}");
            assert_eq!((message["seq"].as_i64(), message["data"]["n"].as_i64()), (Some(since + 1 + n), Some(n)));
        }
        // Caught up, it is live again.
        let key = topic.clone();
        app.db.write(move |c| { mulin::live::outbox::publish(c, key, "announcement.posted", &json!({"n": "live"})); Ok(()) }).await.unwrap();
        assert_eq!(next(&mut socket).await["data"]["n"], "live");
    }
}

both_databases! {
    async fn sequence_numbers_continue_after_a_restart(kind) {
        let (test_db, url) = TestDb::create(&kind);
        let first = TestApp::start_shared(test_settings(url.clone())).await;
        let admin = first.admin().await;
        let (org, owner) = first.verified_org(&admin, "重启").await;
        let event = soon_event(&first, &owner, &org, 10).await;
        let resident = first.register("重启前").await;
        let mut socket = connect(&first, None).await;
        subscribe(&mut socket, &format!("event:{event}"), None).await;
        first.sign_up(&resident, &event, 1).await;
        // The sign-up's message, numbered (on PostgreSQL by the sequencer,
        // just after the commit).
        let before = next(&mut socket).await["seq"].as_i64().unwrap();
        drop(socket);
        drop(first);

        let second = TestApp::start_shared(test_settings(url)).await;
        let mut socket = connect(&second, None).await;
        assert_eq!(subscribe(&mut socket, &format!("event:{event}"), None).await["seq"].as_i64(), Some(before));
        let other = second.register("重启后").await;
        second.sign_up(&other, &event, 1).await;
        assert_eq!(next(&mut socket).await["seq"].as_i64(), Some(before + 1));
        drop(test_db);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL: set MULIN_TEST_DATABASE_URL and pass --include-ignored"]
async fn postgres_a_sign_up_through_one_instance_reaches_a_subscriber_on_another() {
    let kind = Kind::postgres().expect("MULIN_TEST_DATABASE_URL must name a PostgreSQL server");
    let (test_db, url) = TestDb::create(&kind);
    let a = TestApp::start_shared(test_settings(url.clone())).await;
    let b = TestApp::start_shared(test_settings(url)).await;
    let admin = a.admin().await;
    let (org, owner) = a.verified_org(&admin, "双实例").await;
    let event = soon_event(&a, &owner, &org, 10).await;
    let mut on_b = connect(&b, None).await;
    let seq = subscribe(&mut on_b, &format!("event:{event}"), None).await["seq"]
        .as_i64()
        .unwrap();
    let resident = a.register("实例A").await;
    let started = std::time::Instant::now();
    assert_eq!(a.sign_up(&resident, &event, 1).await.status(), 201);
    let message = next(&mut on_b).await;
    assert_eq!(message["seq"].as_i64(), Some(seq + 1));
    assert_eq!(message["data"]["confirmed"], 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(test_db);
}

both_databases! {
    /// A client that never reads is closed with 4008 while a healthy one on the
    /// same topic receives every message.
    async fn a_client_that_never_reads_is_closed_without_slowing_the_others(kind) {
        let app = TestApp::spawn(kind).await;
        let topic = "centre:slow-consumer-test";
        let centre_id = {
            let admin = app.admin().await;
            let res = app.post("/centres", Some(&admin.access), json!({"name": "慢", "address": "x", "street": "y", "district": "z"})).await;
            res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        };
        let topic = topic.replace("slow-consumer-test", &centre_id);
        let mut stalled = connect(&app, None).await;
        subscribe(&mut stalled, &topic, None).await;
        let mut healthy = connect(&app, None).await;
        let start = subscribe(&mut healthy, &topic, None).await["seq"].as_i64().unwrap();

        let total = 10_000i64;
        let big = "x".repeat(2_000);
        let publisher = {
            let db = app.db.clone();
            let topic = topic.clone();
            tokio::spawn(async move {
                for chunk in 0..(total / 500) {
                    let (topic, big) = (topic.clone(), big.clone());
                    db.write(move |c| {
                        for i in 0..500 {
                            mulin::live::outbox::publish(c, topic.clone(), "announcement.posted", &json!({"n": chunk * 500 + i, "text": big}));
                        }
                        Ok(())
                    })
                    .await
                    .unwrap();
                }
            })
        };
        let mut received = 0;
        let mut expected = start + 1;
        while received < total {
            let message = next(&mut healthy).await;
            assert_eq!(message["seq"].as_i64(), Some(expected), "in order, none missing");
            expected += 1;
            received += 1;
        }
        publisher.await.unwrap();

        // The stalled client finally reads: what was queued, then the close.
        let code = loop {
            match tokio::time::timeout(Duration::from_secs(10), stalled.next()).await.expect("closes") {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => break None,
            }
        };
        assert_eq!(code, Some(4008));
    }
}

both_databases! {
    async fn limits_and_authorization_hold_on_the_socket(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, _owner) = app.verified_org(&admin, "权限").await;
        let (_other, other_owner) = app.verified_org(&admin, "别家").await;

        // A forged token is refused at the upgrade.
        let url = format!("{}/api/v1/live", app.address.replace("http://", "ws://"));
        let mut request = url.clone().into_client_request().unwrap();
        request.headers_mut().insert("authorization", HeaderValue::from_static("Bearer forged.token.here"));
        assert!(tokio_tungstenite::connect_async(request).await.is_err());

        // The browser form: the token in Sec-WebSocket-Protocol, answered with mulin.v1.
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&format!("mulin.v1, mulin.bearer.{}", other_owner.access)).unwrap(),
        );
        let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "mulin.v1");
        let refused = subscribe(&mut socket, &format!("org:{org}"), None).await;
        assert_eq!((refused["op"].as_str(), refused["code"].as_str()), (Some("error"), Some("forbidden")));
        send(&mut socket, json!({"op": "ping"})).await;
        assert_eq!(next(&mut socket).await["op"], "pong", "the connection stays open");

        let mut anonymous = connect(&app, None).await;
        let refused = subscribe(&mut anonymous, "me", None).await;
        assert_eq!(refused["code"], "unauthenticated");
        send(&mut anonymous, json!({"op": "dance"})).await;
        assert_eq!(next(&mut anonymous).await["code"], "invalid_message");

        // A frame over 64 KiB closes the connection with 1009.
        anonymous.send(Message::Text("x".repeat(1024 * 1024).into())).await.ok();
        let code = loop {
            match tokio::time::timeout(Duration::from_secs(5), anonymous.next()).await.expect("closes") {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => break None,
            }
        };
        assert_eq!(code, Some(1009));
    }
}

both_databases! {
    async fn one_user_may_hold_only_so_many_sockets_and_metrics_count_them(kind) {
        let app = TestApp::spawn_with(kind, |s| s.live_max_connections_per_user = 2).await;
        let user = app.register("多开").await;
        let first = connect(&app, Some(&user.access)).await;
        let _second = connect(&app, Some(&user.access)).await;
        let url = format!("{}/api/v1/live", app.address.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", user.access)).unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
            other => panic!("expected 429, got {other:?}"),
        }
        // The server counts a socket once its connection task starts.
        let mut metrics = String::new();
        for _ in 0..40 {
            metrics = app.get("/metrics", None).await.text().await.unwrap();
            if metrics.contains("mulin_live_connections 2") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(metrics.contains("mulin_live_connections 2"), "{metrics}");
        // A client that closes frees its seat at once; one that just vanishes
        // is noticed by the heartbeat (within 60 s) and frees it then.
        let mut first = first;
        first.close(None).await.unwrap();
        drop(first);
        // The seat frees once the server notices the closed socket.
        let mut reconnected = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let url = format!("{}/api/v1/live", app.address.replace("http://", "ws://"));
            let mut request = url.into_client_request().unwrap();
            request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", user.access)).unwrap());
            if tokio_tungstenite::connect_async(request).await.is_ok() {
                reconnected = true;
                break;
            }
        }
        assert!(reconnected);
    }
}

both_databases! {
    async fn a_cancellation_reaches_the_organization_before_the_promotion_it_caused(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "先后").await;
        let event = app.published_event(&owner, &org, 1, json!({"waitlist_enabled": true})).await;
        let (first, second) = (app.register("先到").await, app.register("候补").await);
        let res = app.sign_up(&first, &event, 1).await;
        let registration = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.sign_up(&second, &event, 1).await.status(), 201);
        let res = app.post(&format!("/registrations/{registration}/cancel"), Some(&first.access), json!({})).await;
        assert_eq!(res.status(), 200);

        // Replayed from the start: every message once, numbered 1, 2, 3 …, in
        // the order of cause and effect.
        let mut socket = connect(&app, Some(&owner.access)).await;
        let subscribed = subscribe(&mut socket, &format!("org:{org}"), Some(0)).await;
        assert_eq!(subscribed["op"], "subscribed");
        let total = subscribed["seq"].as_i64().unwrap();
        let mut kinds = Vec::new();
        for expected in 1..=total {
            let message = next(&mut socket).await;
            assert_eq!(message["seq"].as_i64(), Some(expected));
            kinds.push(message["type"].as_str().unwrap().to_owned());
        }
        let cancelled = kinds.iter().position(|k| k == "registration.cancelled").expect("cancelled");
        let promoted = kinds.iter().position(|k| k == "registration.promoted").expect("promoted");
        assert!(cancelled < promoted, "cause before effect: {kinds:?}");
    }
}

both_databases! {
    /// Messages of one topic committed concurrently (sign-ups, a waitlist,
    /// cancellations and the promotions they cause): a client that reads them
    /// live, drops in the middle of the burst and resumes with `since` has
    /// seen every message exactly once, numbered without a gap, one
    /// `registration.created` per acknowledged sign-up, one
    /// `registration.promoted` per waitlisted resident given a seat, and each
    /// promotion after a cancellation.
    async fn a_client_dropped_during_a_burst_of_writes_resumes_with_every_message_once_in_order(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "续传").await;
        let event = app.published_event(&owner, &org, 60, json!({"waitlist_enabled": true})).await;
        let residents = app.seeded_residents(120).await;
        let topic = format!("org:{org}");

        // The first half of the residents fill the event.
        let first: Vec<Value> = futures_util::future::join_all(residents[..60].iter().map(|r| async {
            let res = app.sign_up(r, &event, 1).await;
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()
        }))
        .await;
        let mut socket = connect(&app, Some(&owner.access)).await;
        let start = subscribe(&mut socket, &topic, None).await["seq"].as_i64().unwrap();

        // The burst: 30 of them cancel while the second half signs up.
        let app = &app;
        let cancels = futures_util::future::join_all(first.iter().take(30).zip(&residents).map(|(r, who)| {
            let path = format!("/registrations/{}/cancel", r["id"].as_str().unwrap());
            async move { app.post(&path, Some(&who.access), json!({})).await.status() }
        }));
        let second = futures_util::future::join_all(residents[60..].iter().map(|r| async {
            let res = app.sign_up(r, &event, 1).await;
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()
        }));
        // Read live while the writes commit, and drop the socket part-way
        // through (the burst records 90 to 120 messages on the topic).
        let reading = async move {
            let mut seen = Vec::new();
            while seen.len() < 40 {
                seen.push(next(&mut socket).await);
            }
            drop(socket);
            seen
        };
        let (cancelled, second, mut seen) = tokio::join!(cancels, second, reading);
        assert!(cancelled.iter().all(|s| *s == 200), "{cancelled:?}");

        // Resume after the last message seen, once every write was answered.
        let last = seen.last().unwrap()["seq"].as_i64().unwrap();
        let mut socket = connect(app, Some(&owner.access)).await;
        let resumed = subscribe(&mut socket, &topic, Some(last)).await;
        assert_eq!(resumed["op"], "subscribed", "{resumed}");
        let head = resumed["seq"].as_i64().unwrap();
        for _ in last..head {
            seen.push(next(&mut socket).await);
        }
        send(&mut socket, json!({"op": "ping"})).await;
        assert_eq!(next(&mut socket).await["op"], "pong", "nothing after the head");

        let seqs: Vec<i64> = seen.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (start + 1..=head).collect::<Vec<_>>(), "every message once, in order");
        let of_kind = |kind: &str| -> Vec<String> {
            let mut ids: Vec<String> = seen
                .iter()
                .filter(|m| m["type"] == kind)
                .map(|m| m["data"]["registration_id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        };
        let mut acknowledged: Vec<String> = second.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        acknowledged.sort();
        assert_eq!(of_kind("registration.created"), acknowledged, "one created per acknowledged sign-up");
        assert_eq!(of_kind("registration.cancelled").len(), 30);
        // A seat freed before anyone waited goes to the next sign-up instead;
        // of those who waited, all but the 30 still waiting were promoted.
        let mut waited: Vec<String> = second.iter().filter(|r| r["status"] == "waitlisted").map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        waited.sort();
        let promoted = of_kind("registration.promoted");
        assert_eq!(promoted.len() + 30, waited.len(), "one promotion per seat given to a waiting resident");
        assert!(promoted.iter().all(|id| waited.binary_search(id).is_ok()), "only those who waited are promoted");
        // Cause before effect: the n-th promotion follows at least n cancellations.
        let mut cancellations = 0;
        for m in &seen {
            match m["type"].as_str() {
                Some("registration.cancelled") => cancellations += 1,
                Some("registration.promoted") => {
                    assert!(cancellations > 0, "a promotion before any cancellation");
                    cancellations -= 1;
                }
                _ => {}
            }
        }
        let e = app.event(&event).await;
        assert_eq!((e["confirmed_count"].as_i64(), e["waitlist_count"].as_i64()), (Some(60), Some(30)));
    }
}

both_databases! {
    async fn one_transaction_may_record_thousands_of_messages(kind) {
        // A cancelled event tells every registered resident: one transaction,
        // thousands of messages, stored and numbered in order.
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let res = app.post("/centres", Some(&admin.access), json!({"name": "多", "address": "x", "street": "y", "district": "z"})).await;
        let topic = format!("centre:{}", res.json::<Value>().await.unwrap()["id"].as_str().unwrap());
        let total = 15_000;
        let t = topic.clone();
        app.db
            .write(move |c| {
                for i in 0..total {
                    mulin::live::outbox::publish(c, t.clone(), "announcement.posted", &json!({"n": i}));
                }
                Ok(())
            })
            .await
            .unwrap();
        // Answered only once numbered (on PostgreSQL by the sequencer).
        let mut socket = connect(&app, None).await;
        assert_eq!(subscribe(&mut socket, &topic, None).await["seq"].as_i64(), Some(total));
        send(&mut socket, json!({"op": "unsubscribe", "topic": topic})).await;
        assert_eq!(next(&mut socket).await["op"], "unsubscribed");
        assert_eq!(subscribe(&mut socket, &topic, Some(total - 3)).await["seq"].as_i64(), Some(total));
        for n in (total - 3)..total {
            let message = next(&mut socket).await;
            assert_eq!((message["seq"].as_i64(), message["data"]["n"].as_i64()), (Some(n + 1), Some(n)));
        }
    }
}
