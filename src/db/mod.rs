//! The database: one connection type over SQLite and PostgreSQL, its pool, the
//! write-transaction helper and the bridge from async handlers to blocking diesel.

pub mod migrations;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};

use crate::config::Settings;
use crate::error::ApiError;

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

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// The async face of the database: every call runs on the blocking thread pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: &'static str,
    /// SQLite has one writer at a time: writers queue here, asleep in the async
    /// runtime, instead of each holding a connection in SQLite's busy handler
    /// (which polls with growing sleeps). `None` on PostgreSQL.
    write_gate: Option<Arc<Semaphore>>,
    /// Where committed live messages are announced (set once the hub runs).
    live: Arc<std::sync::OnceLock<Arc<crate::live::hub::Signal>>>,
}

impl Db {
    pub fn connect(settings: &Settings) -> Result<Db, r2d2::PoolError> {
        let manager = Manager::new(settings);
        let backend = manager.backend.name();
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size())
            .connection_timeout(Duration::from_secs(settings.pool_timeout_secs))
            .build(manager)?;
        let write_gate = (backend == "sqlite").then(|| Arc::new(Semaphore::new(1)));
        Ok(Db {
            pool,
            backend,
            write_gate,
            live: Arc::default(),
        })
    }

    /// From now on, topics published in `write` transactions wake this signal.
    pub fn attach_live(&self, signal: Arc<crate::live::hub::Signal>) {
        let _ = self.live.set(signal);
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

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
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

    /// Runs `f` inside one write transaction (see [`write_tx`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        let _permit = match &self.write_gate {
            Some(gate) => Some(
                gate.acquire()
                    .await
                    .map_err(|_| ApiError::internal("the write gate was closed"))?,
            ),
            None => None,
        };
        let (value, topics) = self
            .run(move |conn| {
                crate::live::publish::take_pending();
                let result = write_tx(conn, |c| {
                    let value = f(c)?;
                    crate::live::publish::notify_pending(c)?;
                    Ok(value)
                });
                let topics = crate::live::publish::take_pending();
                result.map(|value| (value, topics))
            })
            .await?;
        if let Some(signal) = self.live.get() {
            signal.mark(topics);
        }
        Ok(value)
    }
}

/// A read-modify-write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so
/// concurrent writers queue on the write lock instead of failing with
/// `SQLITE_BUSY` when a read transaction tries to upgrade; on PostgreSQL it is a
/// plain `BEGIN` and callers lock the rows they change.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(err)
        }
    }
}

/// The current time as stored: UTC, truncated to microseconds so that SQLite and
/// PostgreSQL hold the same value and cursors round-trip exactly.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
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
