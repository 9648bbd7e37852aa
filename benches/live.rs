//! Live-update benchmark: `cargo bench --bench live`. The server runs in a child
//! process (this binary re-executed in a server role), so its memory per
//! connection is its own and client and server each get their own file limit.
//! Beside it, in the same run, a bare tokio-tungstenite broadcast server pushing
//! the same bytes is measured the same way (the ceiling).
//!
//! Scenarios: N idle authenticated connections (memory per connection); one
//! change fanned out to N subscribers (time until each has it); 100 changes a
//! second with 1 % of subscribers stalled (healthy clients' latency), and the
//! same without stalled clients. SQLite only (the hub is the same code on both
//! databases). `MULIN_BENCH_CONNECTIONS` sets N (default 10,000; the machine's
//! file limit is 20,000 per process, so the two servers are measured in turn).
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mulin::accounts::{User, queries as users};
use mulin::app::Application;
use mulin::auth::passwords::{self, Password};
use mulin::auth::sessions;
use mulin::auth::tokens::TokenKeys;
use mulin::config::{Secret, Settings};
use mulin::db::{self, Db};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const SECRET: &str = "benchmark-secret-that-is-long-enough-0123456789";

fn settings(database_url: &str) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        jwt_secret: Some(Secret::new(SECRET)),
        secret_key: Some(Secret::new(SECRET)),
        auth_rate_limit: 0,
        workers: Some(2),
        live_max_connections_per_user: usize::MAX,
        // Small enough that a stalled client's queue fills within the run's
        // 500 changes (with the default 2,000 frames it never would, and the
        // "stalled" round would measure clients that are never let go).
        live_queue_frames: STALL_QUEUE,
        ..Settings::default()
    }
}

/// The server's per-connection queue, in frames (see `settings`).
const STALL_QUEUE: usize = 64;

fn rss_bytes(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

/// Child role: the Mulin server on `MULIN_BENCH_DB`; prints its port.
async fn serve_mulin() {
    let url = std::env::var("MULIN_BENCH_DB").unwrap();
    let app = Application::build(settings(&url)).await.unwrap();
    println!("PORT {}", app.port());
    std::io::stdout().flush().unwrap();
    app.run_until_stopped().await.unwrap();
}

/// Child role: a bare broadcast server. WebSocket clients on the printed port;
/// each line sent to the control port is pushed to every client.
async fn serve_bare() {
    let sockets = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!(
        "PORT {} {}",
        sockets.local_addr().unwrap().port(),
        control.local_addr().unwrap().port()
    );
    std::io::stdout().flush().unwrap();
    let (tx, _) = tokio::sync::broadcast::channel::<Arc<str>>(4096);
    let sender = tx.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = control.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = sender.send(Arc::from(line));
                }
            });
        }
    });
    while let Ok((stream, _)) = sockets.accept().await {
        let mut rx = tx.subscribe();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (mut sink, mut source) = ws.split();
            loop {
                tokio::select! {
                    msg = rx.recv() => match msg {
                        Ok(text) => if sink.send(Message::Text(text.to_string().into())).await.is_err() { return },
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    },
                    frame = source.next() => if frame.is_none() { return },
                }
            }
        });
    }
}

fn spawn_child(role: &str, db: &str) -> (Child, Vec<u16>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("MULIN_BENCH_ROLE", role)
        .env("MULIN_BENCH_DB", db)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports = line
        .split_whitespace()
        .skip(1)
        .map(|p| p.parse().unwrap())
        .collect();
    (child, ports)
}

/// Per subscriber: (seq, arrival time) of each frame it read.
type Arrivals = Arc<Mutex<Vec<Vec<(i64, Instant)>>>>;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(port: u16, path: &str, token: Option<&str>) -> Socket {
    let mut request = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// A socket whose kernel receive buffer is as small as the kernel allows, as a
/// phone that stopped reading soon has: the server's writes to it block after
/// a few kilobytes, and frames pile up in its queue.
async fn open_stalled(port: u16, token: &str) -> Socket {
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let mut request = format!("ws://127.0.0.1:{port}/api/v1/live")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap()
        .0
}

/// The server's count of slow-consumer closes since it started.
async fn slow_closes(client: &reqwest::Client, port: u16) -> u64 {
    let text = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("mulin_live_slow_consumer_closes"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

async fn open_many(n: usize, port: u16, path: &str, token: Option<&str>) -> Vec<Socket> {
    let mut all = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let batch =
            futures_util::future::join_all(chunk.iter().map(|_| open(port, path, token))).await;
        all.extend(batch);
    }
    all
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// Seeds a resident per sign-up and an event everyone subscribes to.
async fn seed(db: &Db, residents: usize) -> (String, Vec<String>) {
    let keys = TokenKeys::new(SECRET.as_bytes(), 3600);
    let hash = passwords::hash(&Password::parse("benchmark-password").unwrap()).unwrap();
    let (event, people) = db
        .write(move |c| {
            let mut people = Vec::new();
            for i in 0..residents {
                let now = db::now();
                let user = User {
                    id: uuid::Uuid::new_v4().to_string(),
                    phone: format!("+86137{i:08}"),
                    password_hash: hash.clone(),
                    display_name: format!("居民{i}"),
                    birth_year: None,
                    locale: "zh-CN".into(),
                    accessibility_needs: None,
                    is_admin: false,
                    created_at: now,
                    updated_at: now,
                    erased_at: None,
                };
                users::insert(c, &user)?;
                let (session, _) = sessions::start(c, &user.id, chrono::Duration::days(1))?;
                people.push((user.id, session));
            }
            let now = db::now();
            let org = mulin::organizations::Organization {
                id: uuid::Uuid::new_v4().to_string(),
                name: "直播压测".into(),
                category: "charity".into(),
                description: None,
                contact_phone: None,
                status: mulin::organizations::VERIFIED.into(),
                created_by: people[0].0.clone(),
                created_at: now,
                updated_at: now,
                person_in_charge: None,
            };
            mulin::organizations::queries::create(c, &org)?;
            let starts_at = now + chrono::Duration::days(1);
            let fields = mulin::events::input::EventFields::basic(
                "直播",
                "other",
                "x",
                starts_at,
                starts_at + chrono::Duration::hours(1),
                10_000,
            );
            let mut event = mulin::events::Event::draft(&org.id, &org.created_by, &fields, None);
            event.status = mulin::events::PUBLISHED.into();
            mulin::events::queries::insert(c, &event)?;
            Ok((event.id, people))
        })
        .await
        .unwrap();
    let tokens = people
        .iter()
        .map(|(u, s)| keys.issue_access(u, s).unwrap())
        .collect();
    (event, tokens)
}

/// Reads every subscriber until it has `count` event frames, recording when
/// each frame with a sequence number arrived; stalled sockets never read.
fn listen(sockets: Vec<Socket>, count: usize, stalled: usize) -> Arrivals {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    for (i, mut socket) in sockets.into_iter().enumerate() {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            if i < stalled {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(socket);
                return;
            }
            let mut seen = Vec::with_capacity(count);
            while seen.len() < count {
                match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let value: serde_json::Value =
                            serde_json::from_str(&text).unwrap_or_default();
                        if value["op"] == "event" || value["n"].is_i64() {
                            let seq = value["seq"].as_i64().or(value["n"].as_i64()).unwrap_or(-1);
                            seen.push((seq, Instant::now()));
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            arrivals.lock().await.push(seen);
        });
    }
    arrivals
}

async fn subscribe_all(sockets: &mut [Socket], topic: &str) -> i64 {
    let mut seq = 0;
    for socket in sockets.iter_mut() {
        socket
            .send(Message::Text(
                serde_json::json!({"op": "subscribe", "topic": topic})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
    }
    for socket in sockets.iter_mut() {
        // Wait for this socket's `subscribed` (skipping pings and anything else).
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Text(text) = frame {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if v["op"] == "subscribed" {
                    seq = v["seq"].as_i64().unwrap_or(0);
                    break;
                }
            }
        }
    }
    seq
}

async fn wait_all(arrivals: &Arrivals, expected: usize) {
    for _ in 0..600 {
        if arrivals.lock().await.len() >= expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run() {
    let n: usize = std::env::var("MULIN_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("live.db").display().to_string();
    let db = mulin::app::prepare(&settings(&db_path)).await.unwrap().db;
    let (event, tokens) = seed(&db, 1_100).await;
    let (mut mulin, ports) = spawn_child("mulin-server", &db_path);
    let port = ports[0];
    let (mut bare, bare_ports) = spawn_child("bare-server", "");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    println!(
        "Mulin live benchmark: {} cores, {n} connections, commit {}",
        std::thread::available_parallelism().map_or(0, |c| c.get()),
        option_env!("MULIN_COMMIT").unwrap_or("(set MULIN_COMMIT)")
    );

    // 1 and 2 for Mulin: idle authenticated connections, then one change fanned
    // out to all of them; then the same for the bare server (never both open at
    // once: the client process has a 20,000-file limit).
    let before = rss_bytes(mulin.id());
    let mut idle = open_many(n, port, "/api/v1/live", Some(&tokens[0])).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let per_conn = (rss_bytes(mulin.id()).saturating_sub(before)) as f64 / n as f64;
    let start_seq = subscribe_all(&mut idle, &format!("event:{event}")).await;
    let arrivals = listen(idle, 1, 0);
    let t0 = Instant::now();
    let res = client
        .post(format!(
            "http://127.0.0.1:{port}/api/v1/events/{event}/registrations"
        ))
        .bearer_auth(&tokens[1])
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    wait_all(&arrivals, n).await;
    let mut lat: Vec<Duration> = arrivals
        .lock()
        .await
        .iter()
        .filter_map(|s| s.first())
        .filter(|(seq, _)| *seq == start_seq + 1)
        .map(|(_, at)| *at - t0)
        .collect();
    lat.sort_unstable();
    drop(arrivals);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let bare_before = rss_bytes(bare.id());
    let bare_idle = open_many(n, bare_ports[0], "/", None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bare_per_conn = (rss_bytes(bare.id()).saturating_sub(bare_before)) as f64 / n as f64;
    let mut control = tokio::net::TcpStream::connect(("127.0.0.1", bare_ports[1]))
        .await
        .unwrap();
    let bare_arrivals = listen(bare_idle, 1, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t1 = Instant::now();
    control.write_all(b"{\"n\":1,\"data\":{\"capacity\":10000,\"confirmed\":1,\"waitlisted\":0,\"checked_in\":0,\"seats_left\":9999}}\n").await.unwrap();
    wait_all(&bare_arrivals, n).await;
    let mut bare_lat: Vec<Duration> = bare_arrivals
        .lock()
        .await
        .iter()
        .filter_map(|s| s.first())
        .map(|(_, at)| *at - t1)
        .collect();
    bare_lat.sort_unstable();
    drop(bare_arrivals);
    let _ = bare.kill();
    println!(
        "\n| scenario | Mulin | bare broadcast server | ratio |\n| --- | ---: | ---: | ---: |"
    );
    println!(
        "| memory per idle connection ({n}) | {:.1} KiB | {:.1} KiB | {:.2} |",
        per_conn / 1024.0,
        bare_per_conn / 1024.0,
        per_conn / bare_per_conn.max(1.0)
    );
    println!(
        "| fan-out of one change: received by | {} of {n} | {} of {n} | |",
        lat.len(),
        bare_lat.len()
    );
    println!(
        "| fan-out p50 (ms, from the sign-up request / the push) | {:.1} | {:.1} | {:.2} |",
        percentile(&lat, 0.5),
        percentile(&bare_lat, 0.5),
        percentile(&lat, 0.5) / percentile(&bare_lat, 0.5).max(0.001)
    );
    println!(
        "| fan-out p99 (ms) | {:.1} | {:.1} | {:.2} |",
        percentile(&lat, 0.99),
        percentile(&bare_lat, 0.99),
        percentile(&lat, 0.99) / percentile(&bare_lat, 0.99).max(0.001)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 3. 100 changes a second for 5 s to 1,000 subscribers, with and without 1 % stalled.
    for stalled in [0usize, 10] {
        let closes_before = slow_closes(&client, port).await;
        let mut subs = Vec::with_capacity(1_000);
        for _ in 0..stalled {
            subs.push(open_stalled(port, &tokens[0]).await);
        }
        // Signed in: anonymous sockets are limited to 20 per client address.
        subs.extend(open_many(1_000 - stalled, port, "/api/v1/live", Some(&tokens[0])).await);
        let start = subscribe_all(&mut subs, &format!("event:{event}")).await;
        let arrivals = listen(subs, 500, stalled);
        let mut sent = Vec::with_capacity(500);
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        for k in 0..500 {
            tick.tick().await;
            let (client, token, url) = (
                client.clone(),
                tokens[100 + k + stalled * 50].clone(),
                format!("http://127.0.0.1:{port}/api/v1/events/{event}/registrations"),
            );
            sent.push(Instant::now());
            tokio::spawn(async move {
                let _ = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({}))
                    .send()
                    .await;
            });
        }
        wait_all(&arrivals, 1_000 - stalled).await;
        let mut lat: Vec<Duration> = Vec::new();
        for seen in arrivals.lock().await.iter() {
            for (seq, at) in seen {
                let k = (*seq - start - 1) as usize;
                if let Some(t) = sent.get(k) {
                    lat.push(at.saturating_duration_since(*t));
                }
            }
        }
        lat.sort_unstable();
        println!(
            "| 100 changes/s × 5 s, 1,000 subscribers, {stalled} stalled: healthy p50 / p99 (ms); slow-consumer closes | {:.1} / {:.1}; {} | | |",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            slow_closes(&client, port).await - closes_before
        );
    }
    let _ = mulin.kill();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match std::env::var("MULIN_BENCH_ROLE").as_deref() {
        Ok("mulin-server") => runtime.block_on(serve_mulin()),
        Ok("bare-server") => runtime.block_on(serve_bare()),
        _ => runtime.block_on(run()),
    }
}
