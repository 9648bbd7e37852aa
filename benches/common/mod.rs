//! What the load harnesses share: sizes, the request driver and its
//! statistics, seeding residents and events straight into the database, and
//! the bare actix-web ceiling server.
#![allow(dead_code, reason = "each bench uses its own part")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::Duration as Span;
use diesel::{Connection, RunQueryDsl};
use mulin::accounts::{User, queries as users};
use mulin::auth::passwords::{self, Password};
use mulin::auth::sessions;
use mulin::auth::tokens::TokenKeys;
use mulin::db::{self, Db};
use mulin::events::input::EventFields;
use mulin::events::{Event, PUBLISHED, queries as events};
use mulin::organizations::{Organization, VERIFIED, queries as orgs};

pub const SECRET: &str = "benchmark-secret-that-is-long-enough-0123456789";

pub fn scale(n: usize) -> usize {
    let factor: f64 = std::env::var("MULIN_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * factor) as usize).max(1)
}

pub struct Stats {
    pub ok: usize,
    pub failed: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Stats {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i]
    }

    pub fn line(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {:.0} | {:.1} | {:.1} |",
            self.ok,
            self.failed,
            self.rate(),
            self.percentile(0.50).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0
        )
    }
}

pub type Job = Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Runs `total` jobs with `concurrency` of them in flight at any time.
pub async fn drive(concurrency: usize, total: usize, job: Job) -> Stats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                let (mut latencies, mut failed) = (Vec::new(), 0);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return (latencies, failed);
                    }
                    let t = Instant::now();
                    if job(i).await {
                        latencies.push(t.elapsed());
                    } else {
                        failed += 1;
                    }
                }
            })
        })
        .collect();
    let mut stats = Stats {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for w in workers {
        let (latencies, failed) = w.await.unwrap();
        stats.ok += latencies.len();
        stats.failed += failed;
        stats.latencies.extend(latencies);
    }
    stats.elapsed = started.elapsed();
    stats
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(512)
        // Inside the server's keep-alive (75 s), so no request meets a closing connection.
        .pool_idle_timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Phone numbers handed out so far (each seeded resident has their own).
static PHONES: AtomicUsize = AtomicUsize::new(0);

/// Users with live sessions, made directly in the database (hashing thousands of
/// passwords through the API would measure argon2, not sign-up).
pub async fn seed_users(db: &Db, keys: &TokenKeys, n: usize) -> Vec<(String, String)> {
    let hash = passwords::hash(&Password::parse("benchmark-password").unwrap()).unwrap();
    let created: Vec<(String, String)> = db
        .write(move |c| {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let i = PHONES.fetch_add(1, Ordering::Relaxed);
                let now = db::now();
                let user = User {
                    id: uuid::Uuid::new_v4().to_string(),
                    phone: format!("+86137{i:08}"),
                    password_hash: hash.clone(),
                    display_name: format!("居民{i}"),
                    birth_year: Some(1950),
                    locale: "zh-CN".into(),
                    accessibility_needs: None,
                    is_admin: false,
                    created_at: now,
                    updated_at: now,
                    erased_at: None,
                };
                users::insert(c, &user)?;
                let (session, _) = sessions::start(c, &user.id, Span::days(1))?;
                out.push((user.id, session));
            }
            Ok(out)
        })
        .await
        .unwrap();
    created
        .into_iter()
        .map(|(user, session)| {
            let token = keys.issue_access(&user, &session).unwrap();
            (user, token)
        })
        .collect()
}

/// `n` events of one new organization.
pub async fn seed_events(db: &Db, owner: String, n: usize, capacity: i32) -> Vec<String> {
    seed_events_of(db, owner, 1, n, capacity).await
}

/// `per_org` events in each of `orgs` new organizations.
pub async fn seed_events_of(
    db: &Db,
    owner: String,
    orgs: usize,
    per_org: usize,
    capacity: i32,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(orgs * per_org);
    for _ in 0..orgs {
        ids.extend(seed_org_events(db, owner.clone(), per_org, capacity).await);
    }
    ids
}

pub async fn seed_org_events(db: &Db, owner: String, n: usize, capacity: i32) -> Vec<String> {
    seed_org_events_at(db, owner, n, capacity, Span::days(1))
        .await
        .1
}

/// A new verified organization of `owner` with `n` published events, the
/// first starting `ahead` from now and each next a minute later:
/// `(organization id, event ids)`.
pub async fn seed_org_events_at(
    db: &Db,
    owner: String,
    n: usize,
    capacity: i32,
    ahead: Span,
) -> (String, Vec<String>) {
    db.write(move |c| {
        let now = db::now();
        let org = Organization {
            id: uuid::Uuid::new_v4().to_string(),
            name: "压测组织".into(),
            category: "charity".into(),
            description: None,
            contact_phone: None,
            status: VERIFIED.into(),
            created_by: owner,
            created_at: now,
            updated_at: now,
            person_in_charge: None,
        };
        orgs::create(c, &org)?;
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let starts_at = now + ahead + Span::minutes(i as i64);
            let fields = EventFields::basic(
                &format!("社区活动 {i}"),
                "culture_sports",
                "睦邻中心一楼",
                starts_at,
                starts_at + Span::hours(2),
                capacity,
            );
            let mut event = Event::draft(&org.id, &org.created_by, &fields, None);
            event.status = PUBLISHED.into();
            event.description = Some("欢迎邻居们参加，一起动手。".into());
            events::insert(c, &event)?;
            ids.push(event.id);
        }
        Ok((org.id, ids))
    })
    .await
    .unwrap()
}

/// A bare actix-web server answering every request with `body`.
pub fn ceiling_server(body: Vec<u8>, status: u16) -> (u16, actix_web::dev::ServerHandle) {
    let body = web::Bytes::from(body);
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().default_service(web::to(move || {
            let body = body.clone();
            async move {
                HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                    .content_type("application/json")
                    .body(body)
            }
        }))
    })
    .workers(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (port, handle)
}

pub fn http_job(
    client: reqwest::Client,
    make: impl Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
    expect: u16,
) -> Job {
    let make = Arc::new(make);
    Arc::new(move |i| {
        let req = make(&client, i);
        Box::pin(async move {
            match req.send().await {
                Ok(res) => {
                    let ok = res.status().as_u16() == expect;
                    let _ = res.bytes().await;
                    ok
                }
                Err(_) => false,
            }
        })
    })
}

/// Runs `run` on SQLite, then on a scratch PostgreSQL database when
/// `MULIN_BENCH_DATABASE_URL` (or `MULIN_TEST_DATABASE_URL`) names a server.
pub fn on_each_database<F, Fut>(name: &str, run: F)
where
    F: Fn(&'static str, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "Mulin {} benchmark: {} cores, commit {}",
            name,
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            option_env!("MULIN_COMMIT").unwrap_or("(set MULIN_COMMIT)")
        );
        // `MULIN_BENCH_ONLY=sqlite` or `=postgres` runs one database (for a
        // profile of one of them); the figures in BENCHMARKS.md run both.
        let only = std::env::var("MULIN_BENCH_ONLY").unwrap_or_default();
        let dir = tempfile::tempdir().unwrap();
        if only != "postgres" {
            run(
                "SQLite (synchronous=FULL, WAL)",
                dir.path().join("bench.db").display().to_string(),
            )
            .await;
        }
        let pg = std::env::var("MULIN_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("MULIN_TEST_DATABASE_URL"))
            .ok()
            .filter(|_| only != "sqlite");
        if let Some(admin_url) = pg.filter(|u| !u.is_empty()) {
            let name = format!("mulin_bench_{}", uuid::Uuid::new_v4().simple());
            let mut admin = diesel::PgConnection::establish(&admin_url).unwrap();
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .unwrap();
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b);
            run("PostgreSQL", format!("{base}/{name}")).await;
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin);
        } else {
            println!("\n(PostgreSQL skipped: set MULIN_BENCH_DATABASE_URL)");
        }
    });
}
