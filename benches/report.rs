//! The report of a large contract: `cargo bench --bench report`. Seeds one
//! contracted project with 200 delivered events, 20,000 check-ins (2,000
//! residents, 100 a session), 6,000 feedback answers, and measures
//! `GET /projects/{id}/report` warm beside two ceilings in the same run:
//! the report computed without HTTP (`projects::report::compute`, the same
//! 13 queries and the same aggregation) and one raw aggregate query over the
//! contract's check-ins (the least any report could cost the database).
//! SQLite always; PostgreSQL too when `MULIN_BENCH_DATABASE_URL` (or
//! `MULIN_TEST_DATABASE_URL`) names a server where a scratch database may be
//! made. `MULIN_BENCH_SCALE=0.1` seeds a tenth for a quick look.
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::time::{Duration, Instant};

use chrono::Duration as Span;
use diesel::prelude::*;
use mulin::accounts::{User, queries as users};
use mulin::app::Application;
use mulin::auth::sessions;
use mulin::auth::tokens::TokenKeys;
use mulin::centres::{Centre, queries as centres};
use mulin::checkin::queries::{Scan, apply};
use mulin::config::{Secret, Settings};
use mulin::db::schema::{checkins, events as events_t, registrations as registrations_t};
use mulin::db::{self, Db};
use mulin::events::input::EventFields;
use mulin::events::{Event, PUBLISHED, queries as events};
use mulin::feedback::{Feedback, queries as feedback};
use mulin::organizations::{Organization, VERIFIED, queries as orgs};
use mulin::projects::input::IndicatorFields;
use mulin::projects::{Buyer, CONTRACTED, Project, queries as projects, report};
use mulin::registrations::{CONFIRMED, Registration, seats};

const SECRET: &str = "benchmark-secret-that-is-long-enough-0123456789";

fn scale(n: usize) -> usize {
    let factor: f64 = std::env::var("MULIN_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * factor) as usize).max(1)
}

fn line(name: &str, mut latencies: Vec<Duration>, elapsed: Duration) -> String {
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    format!(
        "| {name} | {} | {:.0} | {:.1} | {:.1} |",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    )
}

fn indicator(source: &str, op: &str, target: f64, weight: i32) -> IndicatorFields {
    IndicatorFields {
        level1: "output".into(),
        level2: "数量指标".into(),
        name: source.into(),
        source: source.into(),
        op: op.into(),
        target,
        unit: "次".into(),
        weight,
    }
}

/// The contract, its events, residents, check-ins and feedback; returns the
/// project id and an admin's access token.
async fn seed(
    db: &Db,
    keys: &TokenKeys,
    sessions_n: usize,
    residents_n: usize,
) -> (String, String) {
    let (project, admin, session, event_ids, people) = db
        .write(move |c| {
            let now = db::now();
            let person = |i: usize, admin: bool| User {
                id: uuid::Uuid::new_v4().to_string(),
                phone: format!("+86137{i:08}"),
                password_hash: "not-a-login".into(),
                display_name: format!("居民{i}"),
                birth_year: Some(1940 + i32::try_from(i % 50).unwrap_or(0)),
                locale: "zh-CN".into(),
                accessibility_needs: None,
                is_admin: admin,
                created_at: now,
                updated_at: now,
                erased_at: None,
            };
            let admin = person(99_999_999, true);
            users::insert(c, &admin)?;
            let (session, _) = sessions::start(c, &admin.id, Span::days(1))?;
            let mut people = Vec::with_capacity(residents_n);
            for i in 0..residents_n {
                let p = person(i, false);
                users::insert(c, &p)?;
                people.push(p.id);
            }
            let centre = Centre {
                id: uuid::Uuid::new_v4().to_string(),
                name: "五角场睦邻中心".into(),
                address: "国权路 1 号".into(),
                street: "五角场街道".into(),
                district: "杨浦区".into(),
                timezone: "Asia/Shanghai".into(),
                created_at: now,
                updated_at: now,
            };
            centres::insert(c, &centre)?;
            let org = Organization {
                id: uuid::Uuid::new_v4().to_string(),
                name: "压测服务社".into(),
                category: "charity".into(),
                description: None,
                contact_phone: None,
                status: VERIFIED.into(),
                created_by: admin.id.clone(),
                created_at: now,
                updated_at: now,
                person_in_charge: None,
            };
            orgs::create(c, &org)?;
            let buyer = Buyer {
                id: uuid::Uuid::new_v4().to_string(),
                name: "五角场街道办事处".into(),
                level: "street".into(),
                region: "杨浦区".into(),
                created_by: admin.id.clone(),
                created_at: now,
            };
            projects::insert_buyer(c, &buyer)?;
            let starts_on = (now - Span::days(200)).date();
            let project = Project {
                id: uuid::Uuid::new_v4().to_string(),
                buyer_id: buyer.id,
                title: "压测项目".into(),
                category: "health_talk".into(),
                description: "200 场活动".into(),
                budget_fen: 12_000_000,
                starts_on,
                ends_on: starts_on + Span::days(365),
                bids_close_at: now - Span::days(201),
                status: CONTRACTED.into(),
                cancel_reason: None,
                awarded_bid_id: None,
                organization_id: Some(org.id.clone()),
                report_mark: None,
                frozen_at: None,
                frozen_report: None,
                created_by: admin.id.clone(),
                created_at: now,
                updated_at: now,
            };
            projects::insert_project(c, &project)?;
            projects::set_centres(c, &project.id, std::slice::from_ref(&centre.id))?;
            projects::replace_indicators(
                c,
                &project.id,
                &[
                    indicator("attendances", ">=", 20_000.0, 30),
                    indicator("sessions_held", ">=", 200.0, 20),
                    indicator("unique_residents", ">=", 2_000.0, 20),
                    indicator("elderly_share", ">=", 60.0, 10),
                    indicator("satisfaction", ">=", 90.0, 10),
                    indicator("volunteer_hours", ">=", 100.0, 5),
                    indicator("budget_execution", "<=", 100.0, 5),
                ],
            )?;
            let mut event_ids = Vec::with_capacity(sessions_n);
            for e in 0..sessions_n {
                let starts_at =
                    now - Span::days(190) + Span::hours(20 * i64::try_from(e).unwrap_or(0));
                let mut fields = EventFields::basic(
                    "手指操",
                    "health_talk",
                    "二楼",
                    starts_at,
                    starts_at + Span::hours(1),
                    200,
                );
                fields.centre_id = Some(centre.id.clone());
                fields.contract_id = Some(project.id.clone());
                let mut event = Event::draft(&org.id, &admin.id, &fields, None);
                event.status = PUBLISHED.into();
                events::insert(c, &event)?;
                event_ids.push(event.id);
            }
            Ok((project.id, admin.id, session, event_ids, people))
        })
        .await
        .unwrap();
    let per_session = 100.min(people.len());
    for (e, event_id) in event_ids.into_iter().enumerate() {
        let people = people.clone();
        let admin = admin.clone();
        db.write(move |c| {
            let event = events::find(c, &event_id)?.unwrap();
            for k in 0..per_session {
                let user = &people[(e * 37 + k) % people.len()];
                let r = Registration {
                    id: uuid::Uuid::new_v4().to_string(),
                    event_id: event_id.clone(),
                    user_id: Some(user.clone()),
                    party_size: 1,
                    note: None,
                    status: CONFIRMED.into(),
                    waitlist_ticket: None,
                    created_at: event.starts_at - Span::days(1),
                    updated_at: event.starts_at - Span::days(1),
                    promoted_at: None,
                    cancelled_at: None,
                    cancelled_by: None,
                    over_capacity: false,
                    consent_version: event.is_sensitive().then(|| "bench".to_owned()),
                    consented_at: event
                        .is_sensitive()
                        .then_some(event.starts_at - Span::days(1)),
                };
                seats::confirmed_before(c, &r)?;
                apply(
                    c,
                    &event,
                    &Scan {
                        event_id: &event_id,
                        registration_id: &r.id,
                        method: "qr",
                        device_id: Some("bench"),
                        offline: true,
                        scanned_at: event.starts_at,
                        actor: &admin,
                    },
                )?;
                if k % 10 < 3 {
                    feedback::insert(
                        c,
                        &Feedback {
                            id: uuid::Uuid::new_v4().to_string(),
                            registration_id: r.id.clone(),
                            event_id: event_id.clone(),
                            score: 4 + i32::try_from(k % 2).unwrap_or(0),
                            comment: None,
                            created_at: event.ends_at,
                        },
                    )?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
    }
    (project, keys.issue_access(&admin, &session).unwrap())
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
    let sessions_n = scale(200);
    let seeded = Instant::now();
    let (project, token) = seed(&db, &keys, sessions_n, scale(2_000)).await;
    if db.backend() == "postgres" {
        diesel::sql_query("ANALYZE")
            .execute(&mut *db.get().unwrap())
            .unwrap();
    }
    println!(
        "\n### {label}\n\n{} sessions, {} check-ins, seeded in {:.0} s\n",
        sessions_n,
        sessions_n * 100,
        seeded.elapsed().as_secs_f64()
    );
    println!("| scenario | requests | req/s | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let n = 200;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://127.0.0.1:{port}/api/v1/projects/{project}/report");
    for _ in 0..10 {
        let res = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["indicators"][0]["actual"], (sessions_n * 100) as f64);
    }
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let res = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        latencies.push(t.elapsed());
    }
    println!(
        "{}",
        line(
            "GET /projects/{id}/report (warm, one at a time)",
            latencies,
            started.elapsed()
        )
    );

    let p = projects::find(&mut db.get().unwrap(), &project)
        .unwrap()
        .unwrap();
    let (latencies, elapsed) = tokio::task::spawn_blocking({
        let db = db.clone();
        move || {
            let mut conn = db.get().unwrap();
            let started = Instant::now();
            let mut latencies = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let r = report::compute(&mut conn, &p, None).unwrap();
                assert_eq!(r.indicators.len(), 7);
                latencies.push(t.elapsed());
            }
            (latencies, started.elapsed())
        }
    })
    .await
    .unwrap();
    println!(
        "{}",
        line("ceiling: report::compute without HTTP", latencies, elapsed)
    );

    let (latencies, elapsed) = tokio::task::spawn_blocking({
        let db = db.clone();
        let project = project.clone();
        move || {
            let mut conn = db.get().unwrap();
            let started = Instant::now();
            let mut latencies = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let people: Option<i64> = checkins::table
                    .inner_join(registrations_t::table)
                    .inner_join(events_t::table.on(events_t::id.eq(checkins::event_id)))
                    .filter(events_t::contract_id.eq(&project))
                    .select(diesel::dsl::sum(registrations_t::party_size))
                    .first(&mut *conn)
                    .unwrap();
                assert!(people.unwrap_or(0) > 0);
                latencies.push(t.elapsed());
            }
            (latencies, started.elapsed())
        }
    })
    .await
    .unwrap();
    println!(
        "{}",
        line(
            "ceiling: one raw SUM over the contract's check-ins",
            latencies,
            elapsed
        )
    );
    handle.stop(false).await;
}

fn main() {
    common::on_each_database("report", |label, url| async move { run(label, url).await });
}
