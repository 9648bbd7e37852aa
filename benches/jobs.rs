//! Job-queue harness (issue 14): `cargo bench --bench jobs`. On SQLite, and on
//! PostgreSQL when `MULIN_BENCH_DATABASE_URL` names a server:
//!
//! 1. 10,000 reminders fall due in the same minute (10,000 residents signed up
//!    for one event; the clock is moved to 24 h before its start): how long
//!    until every one is in its inbox, beside a raw loop inserting as many
//!    notification rows one transaction each (the database ceiling).
//! 2. Webhook throughput: 2,000 deliveries queued by one commit, posted to a
//!    bare actix-web receiver, beside a bare reqwest loop posting as many
//!    signed bodies to it with the runner's concurrency (the HTTP ceiling).
//! 3. Sign-up throughput over HTTP with the queue idle and no endpoints, and
//!    with an endpoint receiving every sign-up while 10,000 reminders fall
//!    due: four runs of 2,000, idle, busy, busy, idle.
//!
//! `MULIN_BENCH_SCALE=0.1` for a quick look.
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use diesel::RunQueryDsl;
use diesel::prelude::*;
use mulin::app::Application;
use mulin::auth::tokens::TokenKeys;
use mulin::config::{Secret, Settings};
use mulin::db::schema::{notifications, webhook_deliveries};
use mulin::db::{self, Db};

use common::*;

/// Signs `users` up for `event` through the library, `chunk` to a transaction
/// (the same path, followers and all, as the HTTP route).
async fn sign_up_all(db: &Db, event: &str, users: Vec<String>, chunk: usize) {
    for part in users.chunks(chunk) {
        let (event, part) = (event.to_owned(), part.to_vec());
        db.write(move |tx| {
            for user in &part {
                mulin::registrations::seats::sign_up(tx, &event, user, 1, None, false)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    }
}

async fn count_notifications(db: &Db) -> i64 {
    db.run(|c| Ok(notifications::table.count().get_result::<i64>(c)?))
        .await
        .unwrap()
}

async fn count_delivered(db: &Db) -> i64 {
    db.run(|c| {
        Ok(webhook_deliveries::table
            .filter(webhook_deliveries::status.eq("succeeded"))
            .count()
            .get_result::<i64>(c)?)
    })
    .await
    .unwrap()
}

/// Polls `count` until it reaches `target` (or 5 minutes pass); the time taken.
async fn until<F, Fut>(target: i64, count: F) -> (i64, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let started = Instant::now();
    loop {
        let n = count().await;
        if n >= target || started.elapsed() > Duration::from_secs(300) {
            return (n, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Each of `people` signs up over HTTP for one of `events` in turn, 200 at a time.
async fn sign_up_burst(
    client: &reqwest::Client,
    base: &str,
    people: Arc<Vec<(String, String)>>,
    events: Vec<String>,
) -> Stats {
    let base = base.to_owned();
    drive(
        200,
        people.len(),
        http_job(
            client.clone(),
            move |c, i| {
                c.post(format!(
                    "{base}/events/{}/registrations",
                    events[i % events.len()]
                ))
                .bearer_auth(&people[i].1)
                .json(&serde_json::json!({}))
            },
            201,
        ),
    )
    .await
}

/// Notifications wait out the centre's quiet hours (22:00–07:00 in Shanghai),
/// so a run started in the evening would measure nothing: the test clock is
/// moved to 09:00 there unless it is already between 08:00 and 18:00 (the
/// scenarios move it two hours more).
async fn daytime_in_shanghai(db: &Db) {
    use chrono::{TimeZone, Timelike};
    let local = chrono_tz::Asia::Shanghai.from_utc_datetime(&db::now());
    if (8..18).contains(&local.hour()) {
        return;
    }
    let day = if local.hour() < 8 {
        local.date_naive()
    } else {
        local.date_naive() + Span::days(1)
    };
    let nine = chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_hms_opt(9, 0, 0).unwrap())
        .unwrap();
    let secs = (nine - local).num_seconds();
    db.write(move |tx| Ok(db::clock::advance(tx, secs)?))
        .await
        .unwrap();
}

async fn run(label: &str, database_url: String) {
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url,
        jwt_secret: Some(Secret::new(SECRET)),
        secret_key: Some(Secret::new(SECRET)),
        auth_rate_limit: 0,
        workers: Some(2),
        test_clock: true,
        webhook_allow_private: true,
        ..Settings::default()
    };
    let app = Application::build(settings.clone()).await.unwrap();
    let port = app.port();
    let db = app.db().clone();
    // The harness watches the tables through a lane of its own: its polls are
    // not requests, and the runner slows down while requests are served.
    let watch = db.lane(1).unwrap();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    daytime_in_shanghai(&db).await;
    let keys = TokenKeys::new(SECRET.as_bytes(), 3600);
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = client();
    println!("\n### {label}\n");

    // 1. Reminders falling due together.
    let n = scale(10_000);
    let people = seed_users(&db, &keys, n).await;
    let users: Vec<String> = people.iter().map(|(u, _)| u.clone()).collect();
    let owner = users[0].clone();
    let (_, events) = seed_org_events_at(&db, owner.clone(), 1, n as i32, Span::hours(25)).await;
    sign_up_all(&db, &events[0], users.clone(), 500).await;
    let already = count_notifications(&db).await;
    db.write(|tx| Ok(db::clock::advance(tx, 3600 + 30)?))
        .await
        .unwrap();
    let (sent, reminders_took) = until(already + n as i64, || count_notifications(&watch)).await;
    let sent = sent - already;
    // Ceiling: the same number of inbox rows, one transaction each, no queue.
    let raw = {
        let db = db.clone();
        let user = owner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get().unwrap();
            let started = Instant::now();
            for i in 0..n {
                diesel::insert_into(notifications::table)
                    .values((
                        notifications::id.eq(format!("raw-{i}")),
                        notifications::user_id.eq(&user),
                        notifications::kind.eq("reminder"),
                        notifications::title.eq("明天的活动提醒"),
                        notifications::body.eq("「社区活动」将于明天开始。"),
                        notifications::data.eq("{}"),
                        notifications::created_at.eq(db::now()),
                    ))
                    .execute(&mut *conn)
                    .unwrap();
            }
            started.elapsed()
        })
        .await
        .unwrap()
    };
    println!("| scenario | done | seconds | per second |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| {n} reminders due in the same minute → inboxes | {sent} | {:.1} | {:.0} |",
        reminders_took.as_secs_f64(),
        sent as f64 / reminders_took.as_secs_f64()
    );
    println!(
        "| ceiling: raw loop, {n} inbox rows, a transaction each | {n} | {:.1} | {:.0} |",
        raw.as_secs_f64(),
        n as f64 / raw.as_secs_f64()
    );

    // 2. Webhook deliveries to a bare receiver.
    let (receiver_port, receiver) = ceiling_server(b"{}".to_vec(), 200);
    let m = scale(2_000);
    let more = seed_users(&db, &keys, m).await;
    let owner_token = people[0].1.clone();
    let (org, events) = seed_org_events_at(&db, owner.clone(), 1, m as i32, Span::days(30)).await;
    let res = client
        .post(format!("{base}/organizations/{org}/webhooks"))
        .bearer_auth(&owner_token)
        .json(&serde_json::json!({"url": format!("http://127.0.0.1:{receiver_port}/hook"), "events": ["registration.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let secret = res.json::<serde_json::Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = count_delivered(&db).await;
    // One commit queues every delivery at once.
    sign_up_all(
        &db,
        &events[0],
        more.iter().map(|(u, _)| u.clone()).collect(),
        m,
    )
    .await;
    let (delivered, delivery_took) = until(before + m as i64, || count_delivered(&watch)).await;
    let delivered = delivered - before;
    let body = serde_json::json!({"type": "registration.created", "timestamp": "2026-11-22T00:00:00Z", "data": {"registration_id": "r", "event_id": "e", "status": "confirmed", "party_size": 1}}).to_string();
    let (url, secret2, body2) = (
        format!("http://127.0.0.1:{receiver_port}/hook"),
        secret.clone(),
        body.clone(),
    );
    let bare = drive(
        64,
        m,
        Arc::new(move |i| {
            let (c, url, secret, body) =
                (client.clone(), url.clone(), secret2.clone(), body2.clone());
            Box::pin(async move {
                let id = format!("msg_{i}");
                let ts = chrono::Utc::now().timestamp();
                let sig = mulin::webhooks::signature(&[secret.as_str()], &id, ts, &body);
                c.post(url)
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", sig)
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            })
        }),
    )
    .await;
    println!(
        "| {m} webhook deliveries queued by one commit → succeeded | {delivered} | {:.1} | {:.0} |",
        delivery_took.as_secs_f64(),
        delivered as f64 / delivery_took.as_secs_f64()
    );
    println!(
        "| ceiling: bare reqwest, {m} signed POSTs, 64 in flight | {} | {:.1} | {:.0} |",
        bare.ok,
        bare.elapsed.as_secs_f64(),
        bare.rate()
    );

    // 3. Sign-up over HTTP, queue idle vs. busy, in the order idle, busy,
    // busy, idle: the database grows with every run, so each kind of run
    // meets it as large on average (until 2026-11-22 one idle run came
    // first and one busy run second, and the busy run paid for the growth).
    let k = scale(2_000);
    let client = common::client();
    let (_, quiet_events) =
        seed_org_events_at(&db, owner.clone(), 100, 2 * k as i32, Span::days(30)).await;
    // Busy: the organization has an endpoint for every sign-up, and the
    // reminders of a fresh 10,000-seat event fall due as the run starts.
    let (busy_org, busy_events) =
        seed_org_events_at(&db, owner.clone(), 100, 2 * k as i32, Span::days(30)).await;
    let res = client
        .post(format!("{base}/organizations/{busy_org}/webhooks"))
        .bearer_auth(&owner_token)
        .json(&serde_json::json!({"url": format!("http://127.0.0.1:{receiver_port}/busy"), "events": ["registration.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The two busy runs' reminders: two 10,000-seat events, all signed up
    // before the first run (so the runs differ only by what they add), the
    // first starting 25 h ahead and the second 26 h: each clock move of an
    // hour makes one event's day-ahead reminders due.
    for hours in [25, 26] {
        let due_people = seed_users(&db, &keys, n).await;
        let (_, due_event) =
            seed_org_events_at(&db, owner.clone(), 1, n as i32, Span::hours(hours)).await;
        sign_up_all(
            &db,
            &due_event[0],
            due_people.iter().map(|(u, _)| u.clone()).collect(),
            500,
        )
        .await;
    }
    let mut quiet = Vec::new();
    let mut busy = Vec::new();
    for round in 0..4 {
        let people = Arc::new(seed_users(&db, &keys, k).await);
        if round == 0 || round == 3 {
            quiet.push(sign_up_burst(&client, &base, people, quiet_events.clone()).await);
            continue;
        }
        let (inbox_before, delivered_before) = (
            count_notifications(&watch).await,
            count_delivered(&watch).await,
        );
        let step = if round == 1 { 3600 + 30 } else { 3600 };
        db.write(move |tx| Ok(db::clock::advance(tx, step)?))
            .await
            .unwrap();
        let due_since = Instant::now();
        let stats = sign_up_burst(&client, &base, people, busy_events.clone()).await;
        // What the sign-ups' priority cost the background work: when the
        // run's reminders and deliveries were all done, counted from the
        // moment the reminders fell due (just before the sign-ups started).
        // The next run starts only then.
        let (mut reminders_done, mut deliveries_done) = (None, None);
        while (reminders_done.is_none() || deliveries_done.is_none())
            && due_since.elapsed() < Duration::from_secs(300)
        {
            if reminders_done.is_none()
                && count_notifications(&watch).await >= inbox_before + n as i64
            {
                reminders_done = Some(due_since.elapsed());
            }
            if deliveries_done.is_none()
                && count_delivered(&watch).await >= delivered_before + k as i64
            {
                deliveries_done = Some(due_since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        busy.push((stats, reminders_done, deliveries_done));
    }
    let secs = |d: Option<Duration>| {
        d.map_or("more than 300".into(), |d| {
            format!("{:.1}", d.as_secs_f64())
        })
    };
    println!();
    println!("| scenario | ok | failed | req/s | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let quiet_line = "sign-up over 100 events, queue idle, no endpoints";
    let busy_line = "sign-up over 100 events, a delivery each + reminders falling due";
    println!("{}", quiet[0].line(&format!("1. {quiet_line}")));
    println!("{}", busy[0].0.line(&format!("2. {busy_line}")));
    println!("{}", busy[1].0.line(&format!("3. {busy_line}")));
    println!("{}", quiet[1].line(&format!("4. {quiet_line}")));
    // Each kind's rate over its two runs together.
    let rate = |runs: &[&Stats]| {
        runs.iter().map(|s| s.ok).sum::<usize>() as f64
            / runs.iter().map(|s| s.elapsed.as_secs_f64()).sum::<f64>()
    };
    let quiet_rate = rate(&[&quiet[0], &quiet[1]]);
    let busy_rate = rate(&[&busy[0].0, &busy[1].0]);
    println!(
        "\nRatios: busy / idle sign-up = {:.2} (runs 2+3 / runs 1+4); deliveries / bare POSTs = {:.2}; reminders / raw inserts = {:.2}",
        busy_rate / quiet_rate,
        (delivered as f64 / delivery_took.as_secs_f64()) / bare.rate(),
        (sent as f64 / reminders_took.as_secs_f64()) / (n as f64 / raw.as_secs_f64())
    );
    for (i, (stats, reminders_done, deliveries_done)) in busy.iter().enumerate() {
        println!(
            "Busy run {}: the sign-ups took {:.1} s; the {n} reminders that fell due as they started were all in inboxes after {} s, and the {k} deliveries they queued had all succeeded after {} s.",
            i + 2,
            stats.elapsed.as_secs_f64(),
            secs(*reminders_done),
            secs(*deliveries_done),
        );
    }
    drop(receiver.stop(false));
    drop(handle.stop(false));
}

fn main() {
    common::on_each_database(
        "job-queue",
        |label, url| async move { run(label, url).await },
    );
}
