//! A thousand live subscribers on one topic, ten of which stop reading: each
//! of the ten is closed with 4008 (slow consumer), and every one of the 990
//! others receives every message, in order, and stays open. (What the ten
//! cost the others' latency is measured in `benches/live.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::both_databases;
use crate::helpers::*;
use crate::within;

const SUBSCRIBERS: usize = 1_000;
const STALLED: usize = 10;
/// A small queue (`MULIN_LIVE_QUEUE_FRAMES`), so the test fills it quickly.
const QUEUE: usize = 32;
/// Messages of this size fill the kernel's buffers in a few hundred frames.
const TEXT_BYTES: usize = 16 * 1024;

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A signed-in socket subscribed to `topic`. A stalled one asks the kernel for
/// the smallest receive buffer, as a phone that stopped reading would soon have.
async fn subscriber(app: &TestApp, token: &str, topic: &str, stalled: bool) -> (Socket, i64) {
    let addr: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    if stalled {
        tcp.set_recv_buffer_size(4096).unwrap();
    }
    let stream = tcp.connect(addr).await.unwrap();
    let mut request = format!("ws://{addr}/api/v1/live")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    socket
        .send(Message::Text(
            json!({"op": "subscribe", "topic": topic})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let subscribed = next_text(&mut socket).await.expect("subscribed");
    assert_eq!(subscribed["op"], "subscribed");
    (socket, subscribed["seq"].as_i64().unwrap())
}

/// The next text frame as JSON; `None` once the socket closes.
async fn next_text(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a frame within 30 s")?
        {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn slow_closes(app: &TestApp) -> u64 {
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("mulin_live_slow_consumer_closes "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

both_databases! {
    async fn stalled_subscribers_are_closed_with_4008_and_the_rest_get_everything(kind) {
        within(300, async {
            let app = TestApp::spawn_with(kind, |s| {
                s.live_max_connections_per_user = usize::MAX;
                s.live_queue_frames = QUEUE;
            })
            .await;
            let admin = app.admin().await;
            let centre: Value = app
                .post("/centres", Some(&admin.access), json!({"name": "慢读测试中心", "address": "x", "street": "y", "district": "z"}))
                .await
                .json()
                .await
                .unwrap();
            let topic = format!("centre:{}", centre["id"].as_str().unwrap());
            let viewer = app.seeded_residents(1).await.remove(0);

            let mut sockets = Vec::with_capacity(SUBSCRIBERS);
            for chunk in (0..SUBSCRIBERS).collect::<Vec<_>>().chunks(50) {
                let opened = join_all(chunk.iter().map(|i| subscriber(&app, &viewer.access, &topic, *i < STALLED))).await;
                sockets.extend(opened);
            }
            let start = sockets[0].1;
            assert!(sockets.iter().all(|(_, seq)| *seq == start));
            let mut stalled: Vec<Socket> = Vec::new();
            let mut readers = Vec::new();
            let delivered = Arc::new(AtomicU64::new(0));
            for (i, (socket, _)) in sockets.into_iter().enumerate() {
                if i < STALLED {
                    stalled.push(socket);
                } else {
                    readers.push(tokio::spawn(read_all(socket, start, delivered.clone())));
                }
            }

            // Publish until every stalled subscriber has been let go, one
            // message at a time, each once every healthy subscriber has read
            // the one before: the healthy never fall behind, whatever the
            // machine's speed, and the stalled fall further behind each time.
            let healthy = (SUBSCRIBERS - STALLED) as u64;
            let text = "x".repeat(TEXT_BYTES);
            let mut published = 0u64;
            while slow_closes(&app).await < STALLED as u64 {
                assert!(published < 2_000, "{published} messages and the stalled are still open");
                let (topic, text) = (topic.clone(), text.clone());
                app.db
                    .write(move |c| {
                        mulin::live::outbox::publish(c, topic, "announcement.posted", &json!({"text": text}));
                        Ok(())
                    })
                    .await
                    .unwrap();
                published += 1;
                while delivered.load(Ordering::SeqCst) < healthy * published {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            assert_eq!(slow_closes(&app).await, STALLED as u64, "only the stalled were closed");

            // The stalled ones read at last: what was queued, then 4008. The
            // server lets go of a connection soon after queueing the close, so
            // a client that answers a heartbeat ping queued before it (as this
            // one does, automatically, on reading the ping) meets a reset
            // instead and never reads the close; a reset without a ping first
            // is a failure.
            for mut socket in stalled {
                let mut pinged = false;
                let code = loop {
                    match tokio::time::timeout(Duration::from_secs(30), socket.next()).await.expect("closes") {
                        Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                        Some(Ok(Message::Ping(_))) => pinged = true,
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => {
                            // Closed as slow all the same (the metric above).
                            assert!(pinged, "reset without a ping first: {e}");
                            break None;
                        }
                        None => panic!("the connection ended without a close frame"),
                    }
                };
                if code.is_some() || !pinged {
                    assert_eq!(code, Some(4008));
                }
            }

            // One last message, then everyone healthy must have all of them.
            let topic_last = topic.clone();
            app.db
                .write(move |c| {
                    mulin::live::outbox::publish(c, topic_last, "announcement.posted", &json!({"text": "last"}));
                    Ok(())
                })
                .await
                .unwrap();
            let last = start + published as i64 + 1;
            let readers = join_all(readers).await;
            for reader in readers {
                let seen = reader.unwrap();
                assert_eq!(seen, last, "a healthy subscriber saw every message up to the last");
            }
        })
        .await;
    }
}

/// Reads until the final (short) message, checking that sequence numbers run
/// on without a hole; returns the last one seen. The big frames are not
/// parsed as JSON: a thousand readers in one debug-built process would spend
/// the test's time there.
async fn read_all(mut socket: Socket, start: i64, delivered: Arc<AtomicU64>) -> i64 {
    let mut expected = start + 1;
    loop {
        let text = loop {
            match tokio::time::timeout(Duration::from_secs(30), socket.next())
                .await
                .expect("a frame within 30 s")
            {
                Some(Ok(Message::Text(text))) => break text,
                Some(Ok(Message::Close(frame))) => {
                    panic!("a healthy subscriber was closed: {frame:?}")
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("a healthy subscriber lost its socket: {e}"),
                None => panic!("a healthy subscriber's socket ended"),
            }
        };
        let seq = text
            .rfind("\"seq\":")
            .map(|at| &text[at + 6..])
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse::<i64>().ok());
        assert_eq!(seq, Some(expected), "in order, none missing");
        delivered.fetch_add(1, Ordering::SeqCst);
        if text.len() < 1_000 {
            return expected;
        }
        expected += 1;
    }
}
