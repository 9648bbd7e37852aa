//! The link to PostgreSQL cut under load (a TCP proxy between Mulin and the
//! database is closed, then reopened; the shared server keeps running):
//! `/readyz` goes red, requests answer `503` rather than `500`, and once the
//! link is back the service recovers by itself — including the live messages
//! another instance sequenced while this one could not hear them.
//! PostgreSQL only: SQLite is a file inside the process, with no link to cut.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::proxy::Proxy;
use crate::within;

/// Polls `/readyz` until it answers `want`, for at most `secs`.
async fn readiness_becomes(app: &TestApp, want: u16, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(res) = app.client.get(app.url("/readyz")).send().await {
            if res.status().as_u16() == want {
                return res.json().await.unwrap_or(Value::Null);
            }
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not answer {want} within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL: set MULIN_TEST_DATABASE_URL and pass --include-ignored"]
async fn postgres_a_cut_database_link_answers_503_and_recovers_without_a_restart() {
    let kind = Kind::postgres().expect("MULIN_TEST_DATABASE_URL must name a PostgreSQL server");
    within(180, async {
        let (test_db, url) = TestDb::create(&kind);
        let mut through = reqwest::Url::parse(&url).unwrap();
        let host = through.host_str().unwrap().to_owned();
        let port = through.port().unwrap_or(5432);
        let upstream: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .unwrap()
            .next()
            .unwrap();
        let proxy = Proxy::start(upstream).await;
        through.set_host(Some("127.0.0.1")).unwrap();
        through.set_port(Some(proxy.addr.port())).unwrap();

        // Another instance on the same database, reaching it directly.
        let direct = TestApp::start_shared(test_settings(url)).await;
        let mut settings = test_settings(through.to_string());
        settings.pool_timeout_secs = 2;
        let app = TestApp::start(settings, test_db).await;

        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "断网互助会").await;
        let event = app.published_event(&owner, &org, 500, json!({})).await;
        let residents = app.seeded_residents(30).await;
        readiness_becomes(&app, 200, 5).await;

        let ws = format!("{}/api/v1/live", app.address.replace("http://", "ws://"));
        let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
        let topic = format!("event:{event}");
        socket
            .send(Message::Text(
                json!({"op": "subscribe", "topic": topic})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
        let start = next_json(&mut socket).await["seq"].as_i64().unwrap();

        // Readers keep coming the whole time.
        let stop = Arc::new(AtomicBool::new(false));
        let load = {
            let (client, url, stop) = (
                app.client.clone(),
                app.url(&format!("/events/{event}")),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(res) = client.get(&url).send().await {
                        statuses.push(res.status().as_u16());
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                statuses
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;

        proxy.cut();
        let red = readiness_becomes(&app, 503, 20).await;
        assert_eq!(red["code"], "service_unavailable");
        for resident in &residents[..10] {
            let res = app.sign_up(resident, &event, 1).await;
            assert_eq!(res.status(), 503, "a write while the link is down");
            assert_eq!(res.headers()["retry-after"], "1");
            assert_eq!(
                res.json::<Value>().await.unwrap()["code"],
                "service_unavailable"
            );
        }
        // Meanwhile the other instance takes sign-ups; this one cannot hear of them.
        for resident in &residents[20..25] {
            assert_eq!(direct.sign_up(resident, &event, 1).await.status(), 201);
        }

        proxy.reopen();
        readiness_becomes(&app, 200, 30).await;
        for resident in &residents[..10] {
            assert_eq!(
                app.sign_up(resident, &event, 1).await.status(),
                201,
                "the retry goes through"
            );
        }
        stop.store(true, Ordering::SeqCst);
        let statuses = load.await.unwrap();
        assert!(
            statuses.iter().all(|s| [200, 503].contains(s)),
            "only 200 and 503: {statuses:?}"
        );
        assert!(
            statuses.contains(&503) && statuses.last() == Some(&200),
            "{statuses:?}"
        );

        // The subscriber hears all fifteen sign-ups, in order, without a hole:
        // the five from the other instance arrive once the listener is back.
        for expected in start + 1..=start + 15 {
            let message = next_json(&mut socket).await;
            assert_eq!(message["op"], "event", "{message}");
            assert_eq!(message["seq"].as_i64(), Some(expected), "{message}");
        }
        let e = app.event(&event).await;
        assert_eq!(e["confirmed_count"].as_i64(), Some(15));
        drop(direct);
    })
    .await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON text frame, within ten seconds.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}
