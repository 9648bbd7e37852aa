//! Spawning a real server on port 0 against a fresh database, and the small
//! client helpers the tests share.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::ServerHandle;
use diesel::{Connection, RunQueryDsl};
use mulin::app::Application;
use mulin::config::{Secret, Settings};
use mulin::db::Db;
use reqwest::{Method, Response};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "test-only-secret-which-is-long-enough-0123456789";
/// The key the test servers seal stored key material under.
pub const SECRET_KEY: &str = "mulin-tests-secret-key-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery";

/// Runs a test body once on SQLite and once on PostgreSQL. The PostgreSQL twin
/// is ignored (and counted as such) unless asked for with `--include-ignored`
/// and `MULIN_TEST_DATABASE_URL`. The body receives the `Kind` to spawn.
#[macro_export]
macro_rules! both_databases {
    ($(#[$meta:meta])* async fn $name:ident($kind:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($kind: $crate::helpers::Kind) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                run($crate::helpers::Kind::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            #[ignore = "PostgreSQL: set MULIN_TEST_DATABASE_URL and pass --include-ignored"]
            async fn postgres() {
                let kind = $crate::helpers::Kind::postgres()
                    .expect("MULIN_TEST_DATABASE_URL must name a PostgreSQL server for this test");
                run(kind).await
            }
        }
    };
}

#[derive(Clone, Debug)]
pub enum Kind {
    Sqlite,
    /// The server URL of a PostgreSQL cluster where test databases are created.
    Postgres(String),
}

impl Kind {
    pub fn postgres() -> Option<Kind> {
        std::env::var("MULIN_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(Kind::Postgres)
    }
}

/// A database that exists for one test and is dropped after it.
pub enum TestDb {
    /// Owned elsewhere.
    None,
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    pub fn create(kind: &Kind) -> (TestDb, String) {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("mulin-test.db").display().to_string();
                (TestDb::Sqlite { _dir: dir }, url)
            }
            Kind::Postgres(admin_url) => {
                let name = format!("mulin_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(admin_url)
                    .expect("PostgreSQL at MULIN_TEST_DATABASE_URL is reachable");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                (
                    TestDb::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                    },
                    url,
                )
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

pub fn test_settings(database_url: String) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database_url,
        jwt_secret: Some(Secret::new(JWT_SECRET)),
        secret_key: Some(Secret::new(SECRET_KEY)),
        auth_rate_limit: 0,
        workers: Some(2),
        pool_size: Some(10),
        ..Settings::default()
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    server: Running,
    // Dropped last: the database outlives the server.
    _test_db: TestDb,
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub phone: String,
    pub access: String,
    pub refresh: String,
}

static PHONES: AtomicU64 = AtomicU64::new(0);

/// A fresh, valid mobile number.
pub fn new_phone() -> String {
    let n = PHONES.fetch_add(1, Ordering::Relaxed);
    format!("1390{:07}", n % 10_000_000)
}

impl TestApp {
    pub async fn spawn(kind: Kind) -> TestApp {
        Self::spawn_with(kind, |_| {}).await
    }

    pub async fn spawn_with(kind: Kind, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let (test_db, database_url) = TestDb::create(&kind);
        let mut settings = test_settings(database_url.clone());
        tweak(&mut settings);
        Self::start(settings, test_db).await
    }

    /// Starts a server on an existing database (the caller keeps it alive).
    pub async fn start(settings: Settings, test_db: TestDb) -> TestApp {
        let app = Application::build(settings).await.expect("server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let db = app.db().clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: http_client(),
            db,
            server: Running::InProcess(handle),
            _test_db: test_db,
        }
    }

    /// The real `mulin serve` binary in a child process of its own, with the
    /// test clock on: the clock belongs to the process, so a test that moves it
    /// must not share a process with other tests' servers. `env` adds or
    /// overrides `MULIN_*` variables.
    pub async fn spawn_process(kind: Kind, env: &[(&str, &str)]) -> TestApp {
        let (test_db, database_url) = TestDb::create(&kind);
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("MULIN_DATABASE_URL".into(), database_url.clone()));
        let child = ChildServer::start(env).await;
        let settings = test_settings(database_url);
        let db = tokio::task::spawn_blocking(move || Db::connect(&settings).expect("test db"))
            .await
            .expect("connect");
        TestApp {
            address: child.address.clone(),
            client: http_client(),
            db,
            server: Running::Child(child),
            _test_db: test_db,
        }
    }

    /// Kills the child process (as a crash would) and starts it again on the
    /// same database and settings. Only for `spawn_process` servers.
    pub async fn restart(&mut self) {
        let Running::Child(child) = &mut self.server else {
            panic!("restart needs a server from spawn_process");
        };
        let env = child.env.clone();
        child.kill();
        let next = ChildServer::start(env).await;
        self.address = next.address.clone();
        self.server = Running::Child(next);
    }

    /// Moves the service's test clock forward (`spawn_process` servers only).
    pub async fn advance(&self, secs: i64) {
        let res = self
            .post("/api/v1/test/clock", None, json!({"advance_secs": secs}))
            .await;
        assert_eq!(res.status(), 200, "test clock moved");
    }

    /// Notifications wait out the quiet hours (22:00–07:00 in Shanghai): a test
    /// that expects one at once, run at night, first moves the clock (still at
    /// the wall clock: call it right after `spawn_process`) to 07:05 there.
    pub async fn out_of_quiet_hours(&self) {
        use chrono::{TimeZone, Timelike};
        let tz = chrono_tz::Asia::Shanghai;
        let local = chrono::Utc::now().with_timezone(&tz);
        let day = match local.hour() {
            7..22 => return,
            22.. => local.date_naive() + chrono::Duration::days(1),
            _ => local.date_naive(),
        };
        let seven = tz
            .from_local_datetime(&day.and_hms_opt(7, 5, 0).unwrap())
            .unwrap();
        self.advance((seven - local).num_seconds()).await;
    }

    /// Everything the child server logged so far (`spawn_process` servers only).
    pub fn server_log(&self) -> String {
        match &self.server {
            Running::Child(child) => std::fs::read_to_string(&child.log).unwrap_or_default(),
            Running::InProcess(_) => String::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/api/")
            || !path.starts_with('/')
            || path.starts_with("/healthz")
            || path.starts_with("/readyz")
            || path.starts_with("/metrics")
        {
            format!("{}{path}", self.address)
        } else {
            format!("{}/api/v1{path}", self.address)
        }
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("GET sent")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token)
            .json(&body)
            .send()
            .await
            .expect("POST sent")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .expect("DELETE sent")
    }

    pub async fn register_as(&self, phone: &str, name: &str) -> Session {
        let res = self
            .post(
                "/auth/register",
                None,
                json!({"phone": phone, "password": PASSWORD, "display_name": name}),
            )
            .await;
        assert_eq!(res.status(), 201, "register {phone}");
        session(res.json().await.expect("token pair"))
    }

    pub async fn register(&self, name: &str) -> Session {
        self.register_as(&new_phone(), name).await
    }

    /// A registered user made platform admin the way operators do it.
    pub async fn admin(&self) -> Session {
        let session = self.register("管理员").await;
        let phone = mulin::accounts::Phone::parse(&session.phone).expect("phone");
        let granted = self
            .db
            .run(move |c| mulin::accounts::queries::grant_admin(c, &phone))
            .await
            .expect("grant admin");
        assert!(granted);
        session
    }

    /// A verified organization owned by a new user.
    pub async fn verified_org(&self, admin: &Session, name: &str) -> (String, Session) {
        let owner = self.register(&format!("{name} owner")).await;
        let org = self
            .post(
                "/organizations",
                Some(&owner.access),
                json!({"name": name, "category": "life_service"}),
            )
            .await;
        assert_eq!(org.status(), 201);
        let org: Value = org.json().await.expect("org");
        let id = org["id"].as_str().expect("id").to_owned();
        let approved = self
            .post(
                &format!("/organizations/{id}/approve"),
                Some(&admin.access),
                json!({}),
            )
            .await;
        assert_eq!(approved.status(), 200);
        (id, owner)
    }

    /// A server on a database owned by the caller (restarts, several instances).
    pub async fn start_shared(settings: Settings) -> TestApp {
        Self::start(settings, TestDb::None).await
    }

    pub fn stop(&mut self) {
        match &mut self.server {
            // Sends the stop command at once; the returned future only waits for it.
            Running::InProcess(handle) => drop(handle.stop(false)),
            Running::Child(child) => child.kill(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        // Well inside the server's keep-alive, so a pooled connection is never
        // reused just as the server closes it.
        .pool_idle_timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
}

enum Running {
    InProcess(ServerHandle),
    Child(ChildServer),
}

/// `mulin serve` in a child process, logging JSON to a file.
struct ChildServer {
    process: std::process::Child,
    address: String,
    env: Vec<(String, String)>,
    log: std::path::PathBuf,
    _log_dir: std::sync::Arc<tempfile::TempDir>,
}

impl ChildServer {
    async fn start(env: Vec<(String, String)>) -> ChildServer {
        let log_dir = std::sync::Arc::new(tempfile::tempdir().expect("log dir"));
        let log = log_dir.path().join("server.log");
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mulin"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("MULIN_LISTEN", "127.0.0.1:0")
            .env("MULIN_JWT_SECRET", JWT_SECRET)
            .env("MULIN_SECRET_KEY", SECRET_KEY)
            .env("MULIN_AUTH_RATE_LIMIT", "0")
            .env("MULIN_WORKERS", "2")
            .env("MULIN_POOL_SIZE", "10")
            .env("MULIN_LOG_FORMAT", "json")
            .env("MULIN_TEST_CLOCK", "true")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(file);
        for (k, v) in &env {
            command.env(k, v);
        }
        let process = command.spawn().expect("mulin serve starts");
        let mut child = ChildServer {
            process,
            address: String::new(),
            env,
            log,
            _log_dir: log_dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&child.log).unwrap_or_default();
            if let Some(address) = listening_address(&text) {
                child.address = format!("http://{address}");
                return child;
            }
            if let Ok(Some(status)) = child.process.try_wait() {
                panic!("mulin serve exited with {status}:\n{text}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "mulin serve did not start within 60 s:\n{text}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The address from the server's JSON "listening" log line.
fn listening_address(log: &str) -> Option<String> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "listening")
        .and_then(|line| line["fields"]["address"].as_str().map(str::to_owned))
}

pub fn session(pair: Value) -> Session {
    Session {
        user_id: pair["user"]["id"].as_str().expect("user id").to_owned(),
        phone: pair["user"]["phone"].as_str().expect("phone").to_owned(),
        access: pair["access_token"].as_str().expect("access").to_owned(),
        refresh: pair["refresh_token"].as_str().expect("refresh").to_owned(),
    }
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for expected {code}");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content-type {content_type}"
    );
    let body: Value = res.json().await.expect("problem body");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

/// The instant an RFC 3339 field names. Sort by this, never by the text:
/// responses print as many fractional digits as the instant needs (`.120Z`
/// beside `.120500Z`), so the text does not sort as time does.
pub fn instant(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp")).expect("RFC 3339")
}

/// RFC 3339 for `hours` from now (UTC).
pub fn hours_from_now(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339()
}

impl TestApp {
    /// `n` residents registered concurrently (a few at a time).
    pub async fn residents(&self, n: usize) -> Vec<Session> {
        let mut all = Vec::with_capacity(n);
        for chunk in (0..n).collect::<Vec<_>>().chunks(16) {
            let batch =
                futures_util::future::join_all(chunk.iter().map(|i| self.register_resident(*i)))
                    .await;
            all.extend(batch);
        }
        all
    }

    /// `n` residents with live sessions, written straight into the database
    /// (hashing a thousand passwords through the API would spend the test's
    /// time on argon2). Their tokens are signed with [`JWT_SECRET`], so only
    /// for servers started with it (every helper's are).
    pub async fn seeded_residents(&self, n: usize) -> Vec<Session> {
        use mulin::auth::passwords::{self, Password};
        let hash = passwords::hash(&Password::parse(PASSWORD).expect("password")).expect("hash");
        let created: Vec<(String, String, String)> = self
            .db
            .write(move |c| {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let now = mulin::db::now();
                    let user = mulin::accounts::User {
                        id: uuid::Uuid::new_v4().to_string(),
                        phone: format!("+86{}", new_phone()),
                        password_hash: hash.clone(),
                        display_name: format!("居民{i:04}"),
                        birth_year: Some(1955),
                        locale: "zh-CN".into(),
                        accessibility_needs: None,
                        is_admin: false,
                        created_at: now,
                        updated_at: now,
                        erased_at: None,
                    };
                    mulin::accounts::queries::insert(c, &user)?;
                    let (session, _) =
                        mulin::auth::sessions::start(c, &user.id, chrono::Duration::days(1))?;
                    out.push((user.id, user.phone, session));
                }
                Ok(out)
            })
            .await
            .expect("residents seeded");
        let keys = mulin::auth::tokens::TokenKeys::new(JWT_SECRET.as_bytes(), 3600);
        created
            .into_iter()
            .map(|(user_id, phone, session)| Session {
                access: keys.issue_access(&user_id, &session).expect("token"),
                refresh: String::new(),
                user_id,
                phone,
            })
            .collect()
    }

    async fn register_resident(&self, i: usize) -> Session {
        self.register(&format!("居民{i:03}")).await
    }

    /// A published event of `org_id` created by its owner or manager; `extra`
    /// fields override the defaults (tomorrow, 2 hours, waitlist on).
    pub async fn published_event(
        &self,
        manager: &Session,
        org_id: &str,
        capacity: i64,
        extra: Value,
    ) -> String {
        let mut body = json!({
            "title": "健康讲座：高血压的日常管理",
            "category": "culture_sports",
            "location": "睦邻中心二楼",
            "starts_at": hours_from_now(24),
            "ends_at": hours_from_now(26),
            "capacity": capacity,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        let res = self
            .post(
                &format!("/organizations/{org_id}/events"),
                Some(&manager.access),
                body,
            )
            .await;
        assert_eq!(res.status(), 201, "create event");
        let id = res.json::<Value>().await.expect("event")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let res = self
            .post(
                &format!("/events/{id}/publish"),
                Some(&manager.access),
                json!({}),
            )
            .await;
        assert_eq!(res.status(), 200, "publish");
        id
    }

    pub async fn sign_up(&self, resident: &Session, event_id: &str, party_size: i64) -> Response {
        self.post(
            &format!("/events/{event_id}/registrations"),
            Some(&resident.access),
            json!({"party_size": party_size}),
        )
        .await
    }

    pub async fn event(&self, event_id: &str) -> Value {
        self.get(&format!("/events/{event_id}"), None)
            .await
            .json()
            .await
            .expect("event")
    }

    /// Every roster entry of an event, walking the pages.
    pub async fn roster(&self, staff: &Session, event_id: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/events/{event_id}/registrations?limit=100&cursor={c}"),
                None => format!("/events/{event_id}/registrations?limit=100"),
            };
            let page: Value = self
                .get(&path, Some(&staff.access))
                .await
                .json()
                .await
                .expect("roster");
            all.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return all,
            }
        }
    }
}
