//! The database: one connection type over SQLite and PostgreSQL, its pool, the
//! one way to write ([`Db::write`] with a [`Tx`]) and the bridge from async
//! handlers to blocking diesel.

pub mod clock;
pub mod lock;
pub mod migrations;
pub mod schema;

mod batch;
mod hot;
pub mod tx;
mod writer;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};

use crate::config::Settings;
use crate::error::ApiError;
pub use batch::Grouped;
pub use clock::now;
pub use tx::{Follower, Message, Numbered, Outbox, Tx};
use writer::{Priority, Writer};

/// One live connection to whichever database the settings chose.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    // Last: SQLite accepts any string as a path.
    Sqlite(SqliteConnection),
}

/// Runs the same diesel code against the concrete connection inside a [`DbConn`],
/// for the statements the multi-backend cannot express (`ON CONFLICT`, `RETURNING`).
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

/// Which database a URL selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres(String),
    Sqlite(String),
}

impl Backend {
    /// `postgres://…`/`postgresql://…` select PostgreSQL; `sqlite://path`,
    /// `sqlite:path` or a plain path select SQLite.
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(url.to_owned())
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Backend::Sqlite(path.to_owned())
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            Backend::Sqlite(path.to_owned())
        } else {
            Backend::Sqlite(url.to_owned())
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }
}

/// Opens connections for the pool and applies the SQLite pragmas to each one.
#[derive(Clone, Debug)]
pub struct Manager {
    backend: Backend,
    sqlite_pragmas: String,
}

impl Manager {
    pub fn new(settings: &Settings) -> Manager {
        let sqlite_pragmas = format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
             PRAGMA foreign_keys = ON; PRAGMA synchronous = {};",
            settings.sqlite_busy_timeout_ms,
            settings.sqlite_synchronous.pragma()
        );
        Manager {
            backend: Backend::from_url(&settings.database_url),
            sqlite_pragmas,
        }
    }

    pub fn connect(&self) -> Result<DbConn, ConnectError> {
        match &self.backend {
            Backend::Postgres(url) => Ok(DbConn::Pg(PgConnection::establish(url)?)),
            Backend::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(&self.sqlite_pragmas)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::PoolError),
    #[error("cannot start the SQLite writer: {0}")]
    Thread(std::io::Error),
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConn, ConnectError> {
        Manager::connect(self)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1").map_err(ConnectError::from)
    }

    /// A connection that comes back still inside a transaction (a closure
    /// that panicked, a failed rollback) is discarded, never reused.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        tx::in_transaction(conn)
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// How long a write waits for its messages to be numbered before answering.
const NUMBERING_WAIT: Duration = Duration::from_secs(2);

/// The async face of the database: every call runs on the blocking thread pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    manager: Manager,
    backend: &'static str,
    /// SQLite's one writer with group commit; `None` on PostgreSQL, where each
    /// write runs on a pooled connection.
    writer: Option<Writer>,
    /// Stores and announces the messages writes record (set by `app`).
    outbox: Arc<OnceLock<Arc<dyn Outbox>>>,
    /// Who reacts inside each write to what it recorded (set by `app`).
    followers: Arc<OnceLock<Vec<Arc<dyn Follower>>>>,
    /// Calls through the shared pool in progress (requests, mostly), shared
    /// by every clone and lane: background work reads it to yield ([`Db::serving`]).
    in_flight: Arc<AtomicUsize>,
    /// Whether this handle's calls count in `in_flight` (lanes' do not).
    counted: bool,
    /// The shared pool's size, kept by lanes (whose own pools are smaller):
    /// more counted calls than this in progress is a rush ([`Db::rushed`]).
    shared_size: usize,
    /// PostgreSQL's batches of writes on one hot row ([`Db::write_on`]).
    lanes: hot::Lanes,
}

/// One counted call in progress; uncounted when dropped (also when the
/// caller's future is dropped half-way).
struct Serving(Option<Arc<AtomicUsize>>);

impl Serving {
    fn enter(db: &Db) -> Serving {
        if !db.counted {
            return Serving(None);
        }
        db.in_flight.fetch_add(1, Ordering::Relaxed);
        Serving(Some(db.in_flight.clone()))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(n) = &self.0 {
            n.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Db {
    pub fn connect(settings: &Settings) -> Result<Db, ConnectError> {
        let manager = Manager::new(settings);
        let backend = manager.backend.name();
        if backend == "sqlite" {
            // WAL is a property of the file: set it once, before the pool opens
            // its connections together (on a new file they would race for it
            // and log "database is locked").
            drop(manager.connect()?);
        }
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size())
            .connection_timeout(Duration::from_secs(settings.pool_timeout_secs))
            .build(manager.clone())?;
        let outbox: Arc<OnceLock<Arc<dyn Outbox>>> = Arc::default();
        let followers: Arc<OnceLock<Vec<Arc<dyn Follower>>>> = Arc::default();
        let writer = match backend {
            "sqlite" => Some(
                Writer::start(manager.clone(), outbox.clone(), followers.clone())
                    .map_err(ConnectError::Thread)?,
            ),
            _ => None,
        };
        Ok(Db {
            pool,
            manager,
            backend,
            writer,
            outbox,
            followers,
            in_flight: Arc::default(),
            counted: true,
            shared_size: settings.pool_size() as usize,
            lanes: hot::Lanes::default(),
        })
    }

    /// The same database through `size` connections of its own, for a
    /// background task (the hub, the sequencer) that must not queue behind the
    /// requests for the shared pool's connections. Writes still go through the
    /// one SQLite writer. A lane's calls are background work: they do not
    /// count in [`Db::serving`], and on SQLite their writes wait for a gap in
    /// the requests' writes (`writer`).
    pub fn lane(&self, size: u32) -> Result<Db, ConnectError> {
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .connection_timeout(self.pool.connection_timeout())
            .build(self.manager.clone())?;
        Ok(Db {
            pool,
            counted: false,
            ..self.clone()
        })
    }

    /// Whether reads or writes through the shared pool (requests, mostly)
    /// are in progress right now, on this instance: the job runner runs
    /// fewer jobs at once while they are, so that reminders and webhook
    /// deliveries take the cores and the SQLite writer only when requests
    /// leave them free.
    pub fn serving(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Whether more calls are in progress than the shared pool has
    /// connections: requests are queueing, a rush.
    pub fn rushed(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > self.shared_size
    }

    /// Commits made so far, where every change to the database passes through
    /// this process (SQLite's one writer): a count that has not moved means
    /// nothing changed, so a page read before can be served again. `None` on
    /// PostgreSQL, where other instances commit too.
    pub fn writes_committed(&self) -> Option<u64> {
        self.writer.as_ref().map(Writer::committed)
    }

    /// Where the messages of every write go from now on (once).
    pub fn attach_outbox(&self, outbox: Arc<dyn Outbox>) {
        let _ = self.outbox.set(outbox);
    }

    /// Who follows every write from now on (once).
    pub fn attach_followers(&self, followers: Vec<Arc<dyn Follower>>) {
        let _ = self.followers.set(followers);
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// A connection for synchronous callers (CLI, start-up, tests).
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, ApiError> {
        self.pool
            .get()
            .map_err(|e| ApiError::Unavailable(e.to_string()))
    }

    /// Runs `f` with a pooled connection on the blocking pool, for reads.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        let _serving = Serving::enter(self);
        self.blocking(f).await
    }

    /// `f` on a pooled connection on the blocking pool, not counted in
    /// [`Db::serving`] (its caller counts itself once).
    async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
    }

    /// Runs `f` inside one write transaction ([`Tx`]): on PostgreSQL `BEGIN` on
    /// a pooled connection, on SQLite a savepoint in the writer's next group
    /// commit. The messages `f` records are stored just before the commit and
    /// announced after it; an error (or a panic) in `f` rolls everything back.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        let _serving = Serving::enter(self);
        if let Some(writer) = &self.writer {
            return writer.write(self.priority(), f).await;
        }
        let outbox = self.outbox.clone();
        let followers = self.followers.clone();
        let (value, messages) = self
            .blocking(move |conn| {
                let followers = followers.get().map_or(&[][..], Vec::as_slice);
                tx::run(conn, outbox.get().map(|o| o.as_ref()), followers, f)
            })
            .await?;
        self.numbered(&messages).await;
        Ok(value)
    }

    /// [`Db::write`] for a write that locks the row `key` names (an event's,
    /// by its id) as its first lock, as every other write with that key does.
    /// On PostgreSQL the writes waiting on one key in this instance commit
    /// together, a savepoint each (`hot`): the row's lock changes hands once
    /// per batch. On SQLite every write is already batched by the one writer.
    pub async fn write_on<T, F>(&self, key: &str, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        if self.writer.is_some() {
            return self.write(f).await;
        }
        let _serving = Serving::enter(self);
        hot::write_on(self, key, f).await
    }

    /// [`Db::write_on`] for one item of a [`Grouped`] kind of write: the
    /// items of such writes on `key` that queue together (on SQLite in the
    /// writer's batch, on PostgreSQL in the key's lane) are written by one
    /// call of [`Grouped::write`]. The answer is this item's output.
    pub async fn write_grouped<G: Grouped>(
        &self,
        key: &str,
        item: G::Item,
    ) -> Result<G::Output, ApiError> {
        let _serving = Serving::enter(self);
        match &self.writer {
            Some(writer) => writer.write_grouped::<G>(self.priority(), key, item).await,
            None => hot::write_grouped::<G>(self, key, item).await,
        }
    }

    /// Where this handle's writes queue in SQLite's writer: a lane's writes
    /// are background work, and yield to requests'.
    fn priority(&self) -> Priority {
        if self.counted {
            Priority::Request
        } else {
            Priority::Background
        }
    }

    /// Waits (at most [`NUMBERING_WAIT`]) until committed messages are
    /// numbered, so that a writer is answered only then.
    async fn numbered(&self, messages: &[Message]) {
        if let (Some(outbox), false) = (self.outbox.get(), messages.is_empty()) {
            if let Some(numbered) = outbox.committed(messages) {
                if tokio::time::timeout(NUMBERING_WAIT, numbered)
                    .await
                    .is_err()
                {
                    tracing::warn!("live messages not numbered within 2 s; answering anyway");
                }
            }
        }
    }
}

/// Whether the database answers (for `/readyz`).
pub fn ping(conn: &mut DbConn) -> Result<(), ApiError> {
    diesel::sql_query("SELECT 1")
        .execute(conn)
        .map(|_| ())
        .map_err(|e| ApiError::Unavailable(e.to_string()))
}

/// True when `err` is a unique-constraint violation.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The names of the tables in the database (for the check that every table
/// is classified as personal data or not: see `privacy`).
pub fn table_names(conn: &mut DbConn) -> Result<Vec<String>, ApiError> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match conn {
        DbConn::Pg(_) => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        }
        DbConn::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
    };
    let names: Vec<Name> = diesel::sql_query(sql).load(conn)?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }

    /// `.cargo/config.toml` builds the bundled SQLite with the planner
    /// stability guarantee; without it every `LIMIT ?` statement is prepared
    /// afresh on each execution.
    #[test]
    fn the_bundled_sqlite_keeps_plans_whatever_is_bound() {
        let mut conn = diesel::SqliteConnection::establish(":memory:").expect("sqlite");
        let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options")
            .load(&mut conn)
            .expect("compile options");
        assert!(
            options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "SQLite was built without SQLITE_ENABLE_QPSG (see .cargo/config.toml)"
        );
    }
}
