//! Load harness: `cargo bench --bench load`. Spawns the real server on port 0
//! and runs each scenario beside its ceiling in the same process and run:
//! a bare actix-web handler answering the same bytes (the HTTP ceiling) and a raw
//! diesel loop doing the same database work without HTTP (the database ceiling).
//! Prints requests/s, p50 and p99, and each scenario's ratio to its ceiling.
//! SQLite always; PostgreSQL too when `MULIN_BENCH_DATABASE_URL` (or
//! `MULIN_TEST_DATABASE_URL`) names a server where a scratch database may be made.
//!
//! Sizes can be scaled down with `MULIN_BENCH_SCALE=0.1` for a quick look.
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration as Span;
use mulin::app::Application;
use mulin::auth::tokens::TokenKeys;
use mulin::checkin::routes::{DoorScan, DoorScans};
use mulin::checkin::tickets::{TicketClaims, TicketKeys};
use mulin::config::{Secret, Settings};
use mulin::db::{self, Db};
use mulin::events::queries as events;
use mulin::http::pagination::Page;

mod common;
use common::*;

/// The sealer the bench server seals ticket keys under (`secret_key` below).
fn sealer() -> Arc<mulin::auth::sealed::Sealer> {
    Arc::new(mulin::auth::sealed::Sealer::new(SECRET.as_bytes()))
}

async fn run(label: &str, database_url: String) {
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url,
        jwt_secret: Some(Secret::new(SECRET)),
        secret_key: Some(Secret::new(SECRET)),
        auth_rate_limit: 0,
        workers: Some(2),
        ..Settings::default()
    };
    let app = Application::build(settings.clone()).await.unwrap();
    let port = app.port();
    let db = app.db().clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let keys = TokenKeys::new(SECRET.as_bytes(), 3600);
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = client();
    let concurrency = 200;

    let signups = scale(4_000);
    let people = seed_users(&db, &keys, signups).await;
    let tokens = Arc::new(people.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    let users: Vec<String> = people.iter().map(|(u, _)| u.clone()).collect();
    // The first resident also owns the organization: its staff token.
    let owner = users[0].clone();
    let hot = seed_events(&db, owner.clone(), 1, 10_000).await.remove(0);
    let spread = Arc::new(seed_events(&db, owner.clone(), 1_000, 10_000).await);
    let browse_events = scale(10_000).saturating_sub(1_001);
    seed_events(&db, owner.clone(), browse_events, 50).await;
    // Fresh bulk-loaded tables have no planner statistics yet; in service,
    // autovacuum (PostgreSQL) would have gathered them. Without this PostgreSQL
    // sorts all 10,000 rows for every page (measured: 3.9 ms vs 0.06 ms a query).
    // Not on SQLite, where nothing in service gathers statistics: there the
    // snapshot taken now would be all the planner knows as the tables grow
    // (it planned a scan of `jobs` for a withdrawal, sized for an empty
    // table), and the bundled SQLite's STAT4 re-prepares a statement whenever
    // a new value is bound to a column it has samples of (until 2026-11-22 the
    // harness analyzed SQLite too).
    if db.backend() == "postgres" {
        db.run(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("ANALYZE")?;
            Ok(())
        })
        .await
        .unwrap();
    }

    println!("\n### {label}\n");
    println!("| scenario | ok | failed | req/s | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");

    // Hot sign-up: everyone at one event.
    let (b, t, e) = (base.clone(), tokens.clone(), hot.clone());
    let hot_stats = drive(
        concurrency,
        signups,
        http_job(
            client.clone(),
            move |c, i| {
                c.post(format!("{b}/events/{e}/registrations"))
                    .bearer_auth(&t[i])
                    .json(&serde_json::json!({}))
            },
            201,
        ),
    )
    .await;
    println!("{}", hot_stats.line("sign-up, one event (10,000 seats)"));

    // Sign-ups spread over 1,000 events.
    let (b, t, s) = (base.clone(), tokens.clone(), spread.clone());
    let spread_stats = drive(
        concurrency,
        signups,
        http_job(
            client.clone(),
            move |c, i| {
                c.post(format!("{b}/events/{}/registrations", s[i % s.len()]))
                    .bearer_auth(&t[i])
                    .json(&serde_json::json!({}))
            },
            201,
        ),
    )
    .await;
    println!("{}", spread_stats.line("sign-up, 1,000 events"));

    // One busy organization against many: the same sign-ups over 100 events of
    // ONE organization, then over 100 organizations (one event each), 32
    // clients. Every sign-up writes to its organization's topic, so this shows
    // whether one organization is one lane.
    let one_org = Arc::new(seed_events_of(&db, owner.clone(), 1, 100, 10_000).await);
    let many_orgs = Arc::new(seed_events_of(&db, owner.clone(), 100, 1, 10_000).await);
    let mut org_stats = Vec::new();
    for (name, events) in [
        (
            "sign-up, 100 events of one organization (32 clients)",
            one_org,
        ),
        ("sign-up, 100 organizations (32 clients)", many_orgs),
    ] {
        let (b, t) = (base.clone(), tokens.clone());
        let stats = drive(
            32,
            signups,
            http_job(
                client.clone(),
                move |c, i| {
                    c.post(format!(
                        "{b}/events/{}/registrations",
                        events[i % events.len()]
                    ))
                    .bearer_auth(&t[i])
                    .json(&serde_json::json!({}))
                },
                201,
            ),
        )
        .await;
        println!("{}", stats.line(name));
        org_stats.push(stats.rate());
    }
    let org_ratio = org_stats[0] / org_stats[1];

    // The same response bytes from a bare handler.
    let sample = client
        .post(format!("{base}/events/{}/registrations", spread[0]))
        .bearer_auth(&tokens[0])
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let (ceiling_port, ceiling) = ceiling_server(sample, 201);
    let bare = drive(
        concurrency,
        signups,
        http_job(
            client.clone(),
            move |c, _| {
                c.post(format!("http://127.0.0.1:{ceiling_port}/"))
                    .json(&serde_json::json!({}))
            },
            201,
        ),
    )
    .await;
    ceiling.stop(false).await;
    println!("{}", bare.line("ceiling: bare actix-web POST, same bytes"));

    // The database ceiling: the endpoint's own write — the same
    // `seats::sign_up` (locks, checks, insert, live messages) in the same
    // `Db::write_on` transaction (batched by event on PostgreSQL), at the same
    // concurrency — without HTTP, auth or JSON. On a fresh event with the
    // same capacity. On PostgreSQL, also with one transaction per sign-up
    // (`Db::write`), to show what the batches change.
    let mut ways = vec![("write_on", true)];
    if db.backend() == "postgres" {
        ways.push(("write, one transaction each", false));
    }
    let mut runs = Vec::new();
    for (way, batched) in ways {
        let raw_hot = seed_events(&db, owner.clone(), 1, 10_000).await.remove(0);
        let raw_users = Arc::new(users.clone());
        let stats = drive(concurrency, signups, {
            let db = db.clone();
            Arc::new(move |i| {
                let (db, event, user) = (db.clone(), raw_hot.clone(), raw_users[i].clone());
                Box::pin(async move {
                    let key = event.clone();
                    let f = move |tx: &mut db::Tx<'_>| {
                        mulin::registrations::seats::sign_up(tx, &event, &user, 1, None, false)
                    };
                    match batched {
                        true => db.write_on(&key, f).await.is_ok(),
                        false => db.write(f).await.is_ok(),
                    }
                })
            })
        })
        .await;
        println!(
            "{}",
            stats.line(&format!(
                "ceiling: the same sign-up without HTTP, one event ({way})"
            ))
        );
        runs.push(stats);
    }
    // The first run is the endpoint's own way (`write_on`).
    let raw = runs.swap_remove(0);

    // Browse the first page.
    let b = base.clone();
    let browse_total = scale(10_000);
    let browse = drive(
        64,
        browse_total,
        http_job(
            client.clone(),
            move |c, _| c.get(format!("{b}/events?limit=20")),
            200,
        ),
    )
    .await;
    println!(
        "{}",
        browse.line(&format!(
            "browse GET /events?limit=20 ({} events)",
            browse_events + 1_001
        ))
    );
    // The same page, but a query string never asked before (a bound far in
    // the future, a second apart), so no request is answered from a kept
    // page (SQLite keeps pages between writes): the listing's own cost.
    let b = base.clone();
    let fresh_browse = drive(
        64,
        browse_total,
        http_job(
            client.clone(),
            move |c, i| {
                let to = chrono::DateTime::parse_from_rfc3339("2999-01-01T00:00:00Z").unwrap()
                    + chrono::Duration::seconds(i as i64);
                c.get(format!(
                    "{b}/events?limit=20&to={}",
                    to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ))
            },
            200,
        ),
    )
    .await;
    println!(
        "{}",
        fresh_browse.line("browse, a query string never asked before (no kept page)")
    );
    let page = client
        .get(format!("{base}/events?limit=20"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let (ceiling_port, ceiling) = ceiling_server(page, 200);
    let bare_browse = drive(
        64,
        browse_total,
        http_job(
            client.clone(),
            move |c, _| c.get(format!("http://127.0.0.1:{ceiling_port}/")),
            200,
        ),
    )
    .await;
    ceiling.stop(false).await;
    println!(
        "{}",
        bare_browse.line("ceiling: bare actix-web GET, same bytes")
    );
    let raw_browse = tokio::task::spawn_blocking({
        let db = db.clone();
        move || {
            let mut conn = db.get().unwrap();
            let page = Page {
                limit: 20,
                after: None,
            };
            let mut latencies = Vec::with_capacity(browse_total);
            let started = Instant::now();
            for _ in 0..browse_total {
                let t = Instant::now();
                let rows = events::list(&mut conn, &Default::default(), &page).unwrap();
                assert_eq!(rows.len(), 21);
                latencies.push(t.elapsed());
            }
            Stats {
                ok: browse_total,
                failed: 0,
                elapsed: started.elapsed(),
                latencies,
            }
        }
    })
    .await
    .unwrap();
    println!(
        "{}",
        raw_browse.line("ceiling: raw diesel listing query loop (1 thread)")
    );

    println!();
    println!(
        "ratios: hot sign-up / bare POST = {:.2}; sign-up (1,000 events) / bare POST = {:.2}; hot sign-up / raw seat loop = {:.2}",
        hot_stats.rate() / bare.rate(),
        spread_stats.rate() / bare.rate(),
        hot_stats.rate() / raw.rate()
    );
    println!(
        "ratios: browse / bare GET = {:.2}; browse / raw listing loop = {:.2}; never-asked browse / raw listing loop = {:.2}",
        browse.rate() / bare_browse.rate(),
        browse.rate() / raw_browse.rate(),
        fresh_browse.rate() / raw_browse.rate()
    );
    checkin_scenarios(&db, &base, &client, &users, &tokens[0], owner).await;
    println!("\nSign-ups, one organization ÷ 100 organizations: {org_ratio:.2}");
    handle.stop(false).await;
}

/// A published event starting in 30 minutes (check-in open) with every user in
/// `users` confirmed; returns its id and the registrations' ids.
async fn event_with_registrations(
    db: &Db,
    owner: String,
    users: Vec<String>,
) -> (String, Vec<String>) {
    let capacity = i32::try_from(users.len()).unwrap();
    let event = seed_events(db, owner, 1, capacity).await.remove(0);
    let id = event.clone();
    let registrations = db
        .write(move |c| {
            use diesel::prelude::*;
            use mulin::db::schema::events as t;
            let soon = db::now() + Span::minutes(30);
            diesel::update(t::table.find(&id))
                .set((t::starts_at.eq(soon), t::ends_at.eq(soon + Span::hours(2))))
                .execute(c.conn())?;
            let mut out = Vec::with_capacity(users.len());
            for user in &users {
                out.push(
                    mulin::registrations::seats::sign_up(c, &id, user, 1, None, false)?
                        .0
                        .id,
                );
            }
            Ok(out)
        })
        .await
        .unwrap();
    (event, registrations)
}

async fn tickets_for(db: &Db, event: &str, registrations: &[String]) -> Vec<String> {
    let (event, registrations) = (event.to_owned(), registrations.to_vec());
    db.run(move |c| {
        let keys = TicketKeys::load(c, sealer())?;
        registrations
            .iter()
            .map(|r| {
                keys.sign(&TicketClaims {
                    sub: r.clone(),
                    evt: event.clone(),
                    party_size: 1,
                    exp: (db::now() + Span::days(1)).and_utc().timestamp(),
                    typ: None,
                })
            })
            .collect()
    })
    .await
    .unwrap()
}

/// 200 scanners redeeming distinct tickets, a 500-scan batch, and their ceilings.
async fn checkin_scenarios(
    db: &Db,
    base: &str,
    client: &reqwest::Client,
    users: &[String],
    staff: &str,
    owner: String,
) {
    let (event, registrations) = event_with_registrations(db, owner.clone(), users.to_vec()).await;
    let tickets = Arc::new(tickets_for(db, &event, &registrations).await);
    let (b, t, e, s) = (
        base.to_owned(),
        tickets.clone(),
        event.clone(),
        staff.to_owned(),
    );
    let scans = drive(
        200,
        tickets.len(),
        http_job(
            client.clone(),
            move |c, i| {
                c.post(format!("{b}/events/{e}/checkins"))
                    .bearer_auth(&s)
                    .json(&serde_json::json!({"ticket": t[i], "device_id": "door"}))
            },
            201,
        ),
    )
    .await;
    println!(
        "{}",
        scans.line("check-in by ticket, 200 scanners, distinct tickets")
    );

    let sample = client
        .post(format!("{base}/events/{event}/checkins"))
        .bearer_auth(staff)
        .json(&serde_json::json!({"ticket": tickets[0]}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let (ceiling_port, ceiling) = ceiling_server(sample, 201);
    let bare = drive(
        200,
        tickets.len(),
        http_job(
            client.clone(),
            move |c, _| {
                c.post(format!("http://127.0.0.1:{ceiling_port}/"))
                    .json(&serde_json::json!({"ticket": "x"}))
            },
            201,
        ),
    )
    .await;
    ceiling.stop(false).await;
    println!("{}", bare.line("ceiling: bare actix-web POST, same bytes"));

    // The database ceiling: the endpoint's own work — verify the ticket, then
    // the same `checkin::routes::DoorScans` write (the scans that queue
    // together read in one statement with the event held in share mode, one
    // statement per scan, one count) through `Db::write_grouped` (batched by
    // event), live messages included — at the same concurrency, without
    // HTTP, auth or JSON.
    let (raw_event, raw_registrations) =
        event_with_registrations(db, owner.clone(), users.to_vec()).await;
    let raw_tickets = Arc::new(tickets_for(db, &raw_event, &raw_registrations).await);
    let keys = Arc::new(db.run(|c| TicketKeys::load(c, sealer())).await.unwrap());
    let staff_user = users[0].clone();
    let total = raw_tickets.len();
    let raw = drive(200, total, {
        let db = db.clone();
        Arc::new(move |i| {
            let (db, keys, ticket) = (db.clone(), keys.clone(), raw_tickets[i].clone());
            let (event_id, actor) = (raw_event.clone(), staff_user.clone());
            Box::pin(async move {
                let Ok(claims) = db.run(move |c| keys.verify(&ticket, c)).await else {
                    return false;
                };
                let key = event_id.clone();
                let scan = DoorScan {
                    event_id,
                    registration_id: claims.sub,
                    method: "qr",
                    device_id: Some("door".into()),
                    scanned_at: db::now(),
                    actor,
                };
                db.write_grouped::<DoorScans>(&key, scan)
                    .await
                    .is_ok_and(|(outcome, ..)| outcome.result() == "ok")
            })
        })
    })
    .await;
    println!(
        "{}",
        raw.line("ceiling: the same check-in work without HTTP (200 in flight)")
    );

    // One offline batch of 500 scans, five times on fresh events.
    let mut batch_latencies = Vec::new();
    let started = Instant::now();
    for _ in 0..5 {
        let (batch_event, batch_regs) =
            event_with_registrations(db, owner.clone(), users[..500.min(users.len())].to_vec())
                .await;
        let batch_tickets = tickets_for(db, &batch_event, &batch_regs).await;
        let now = chrono::Utc::now().to_rfc3339();
        let body = serde_json::json!({
            "device_id": "phone-1",
            "scans": batch_tickets.iter().enumerate().map(|(i, t)| serde_json::json!({"scan_id": i.to_string(), "ticket": t, "scanned_at": now})).collect::<Vec<_>>()
        });
        let t = Instant::now();
        let res = client
            .post(format!("{base}/events/{batch_event}/checkins/batch"))
            .bearer_auth(staff)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let _ = res.bytes().await;
        batch_latencies.push(t.elapsed());
    }
    let batches = Stats {
        ok: 5,
        failed: 0,
        elapsed: started.elapsed(),
        latencies: batch_latencies,
    };
    println!(
        "| batch upload of 500 offline scans (5 uploads) | 5 | 0 | - | {:.1} | {:.1} |",
        batches.percentile(0.5).as_secs_f64() * 1000.0,
        batches.percentile(0.99).as_secs_f64() * 1000.0
    );
    println!();
    println!(
        "ratios: check-in / bare POST = {:.2}; check-in / raw check-in loop = {:.2}; 500-scan batch = {:.0} scans/s",
        scans.rate() / bare.rate(),
        scans.rate() / raw.rate(),
        500.0 / batches.percentile(0.5).as_secs_f64()
    );
}

fn main() {
    common::on_each_database("load", |label, url| async move { run(label, url).await });
}
