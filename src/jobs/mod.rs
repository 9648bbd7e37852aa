//! The durable job queue: work that must happen later or outside the request
//! (reminders, notifications, webhook deliveries, retention sweeps) is a row in
//! `jobs`, written in the same transaction as the change that caused it, so a
//! job exists if and only if its cause committed, and survives restarts.
//!
//! Why not a crate: the maintained Rust queues (graphile_worker, apalis-sql,
//! pgqrs, ishikari) run on sqlx and mostly on PostgreSQL only; none can enqueue
//! inside a diesel transaction on SQLite and PostgreSQL, which is the property
//! that makes reminders impossible to lose. The queue is small: [`runner`]
//! claims due jobs with `FOR UPDATE SKIP LOCKED` on PostgreSQL (several
//! instances, each job claimed by one) and through the single writer on SQLite,
//! with a lease so a crashed instance's jobs are claimed again.
//!
//! Floor 2: features register a [`runner::Handler`] per kind in `app`.

pub mod runner;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::jobs;
use crate::db::{self, DbConn};
use crate::error::ApiError;

/// One job as stored.
#[derive(Clone, Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub job_key: Option<String>,
    pub subject: Option<String>,
    /// JSON text.
    pub payload: String,
    pub run_at: NaiveDateTime,
    /// Claims so far, this one included.
    pub attempts: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

impl Job {
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_str(&self.payload)
            .map_err(|e| ApiError::internal(format!("job {} payload: {e}", self.id)))
    }
}

/// A job to add.
pub struct NewJob<'a, P: Serialize> {
    pub kind: &'a str,
    /// Finds the job again; adding a job whose key waits already replaces it.
    pub key: Option<String>,
    pub subject: Option<String>,
    pub payload: &'a P,
    pub run_at: NaiveDateTime,
}

/// One job's row as inserted: every column named, an absent one as `NULL`,
/// so one statement shape serves a job or a few hundred.
#[derive(Insertable)]
#[diesel(table_name = jobs, treat_none_as_default_value = false)]
struct Row<'a> {
    id: String,
    kind: &'a str,
    job_key: Option<&'a str>,
    subject: Option<&'a str>,
    payload: &'a str,
    run_at: NaiveDateTime,
    attempts: i32,
    created_at: NaiveDateTime,
}

/// A job to add, its payload already serialized (see [`put`]).
pub struct Keyed {
    pub kind: &'static str,
    pub key: String,
    pub subject: Option<String>,
    pub payload: String,
    pub run_at: NaiveDateTime,
}

impl Keyed {
    fn row(&self, now: NaiveDateTime) -> Row<'_> {
        Row {
            id: uuid::Uuid::new_v4().to_string(),
            kind: self.kind,
            job_key: Some(&self.key),
            subject: self.subject.as_deref(),
            payload: &self.payload,
            run_at: self.run_at,
            attempts: 0,
            created_at: now,
        }
    }
}

/// Rows per statement: far below either database's limit on bound values
/// (SQLite's 32,766; 8 a row).
const CHUNK: usize = 500;

/// Adds a job inside the caller's transaction. A job with the same key that is
/// still waiting is replaced (its time and payload move to the new ones).
pub fn enqueue<P: Serialize>(conn: &mut DbConn, job: NewJob<'_, P>) -> Result<String, ApiError> {
    let payload =
        serde_json::to_string(job.payload).map_err(|e| ApiError::internal(e.to_string()))?;
    let row = Row {
        id: uuid::Uuid::new_v4().to_string(),
        kind: job.kind,
        job_key: job.key.as_deref(),
        subject: job.subject.as_deref(),
        payload: &payload,
        run_at: job.run_at,
        attempts: 0,
        created_at: db::now(),
    };
    let id = row.id.clone();
    if job.key.is_none() {
        diesel::insert_into(jobs::table)
            .values(&row)
            .execute(conn)?;
    } else {
        upsert(conn, std::slice::from_ref(&row))?;
    }
    Ok(id)
}

/// Adds or replaces many keyed jobs inside the caller's transaction, in one
/// statement per few hundred (a group commit's reminders). A key must appear
/// once: the same row cannot be replaced twice by one statement.
pub fn put(conn: &mut DbConn, new: &[Keyed]) -> Result<(), ApiError> {
    let now = db::now();
    for chunk in new.chunks(CHUNK) {
        let rows: Vec<Row<'_>> = chunk.iter().map(|k| k.row(now)).collect();
        upsert(conn, &rows)?;
    }
    Ok(())
}

/// Inserts rows, replacing the waiting job of each key that has one. One
/// statement where a delete and an insert would be two. The replaced job gets
/// a new id and no lease, so a run of the old one that is still under way
/// cannot complete it (`complete` matches the id).
fn upsert(conn: &mut DbConn, rows: &[Row<'_>]) -> Result<(), ApiError> {
    use diesel::upsert::excluded;
    let upsert = diesel::insert_into(jobs::table)
        .values(rows)
        .on_conflict(jobs::job_key)
        .do_update()
        .set((
            jobs::id.eq(excluded(jobs::id)),
            jobs::kind.eq(excluded(jobs::kind)),
            jobs::subject.eq(excluded(jobs::subject)),
            jobs::payload.eq(excluded(jobs::payload)),
            jobs::run_at.eq(excluded(jobs::run_at)),
            jobs::attempts.eq(0),
            jobs::locked_until.eq(None::<NaiveDateTime>),
            jobs::last_error.eq(None::<String>),
            jobs::created_at.eq(excluded(jobs::created_at)),
        ));
    crate::db_run!(conn, |c| upsert.execute(c))?;
    Ok(())
}

/// Adds many jobs of one kind inside the caller's transaction, in one
/// statement per few hundred: for jobs whose keys are new (a fresh id in each,
/// as a webhook delivery's), so there is nothing waiting to replace; a key
/// that is already waiting fails the transaction.
pub fn enqueue_new(
    conn: &mut DbConn,
    kind: &str,
    new: &[(String, String, NaiveDateTime)],
) -> Result<(), ApiError> {
    let now = db::now();
    for chunk in new.chunks(CHUNK) {
        let rows: Vec<Row<'_>> = chunk
            .iter()
            .map(|(key, payload, run_at)| Row {
                id: uuid::Uuid::new_v4().to_string(),
                kind,
                job_key: Some(key),
                subject: None,
                payload,
                run_at: *run_at,
                attempts: 0,
                created_at: now,
            })
            .collect();
        let insert = diesel::insert_into(jobs::table).values(&rows);
        crate::db_run!(&mut *conn, |c| insert.execute(c))?;
    }
    Ok(())
}

/// Withdraws waiting jobs by key (a cancelled registration's reminders, a
/// commit's dozens). One statement per key, prepared once per connection and
/// always an index lookup. An `IN` list is prepared afresh for every length,
/// and SQLite's planner, given statistics taken while `jobs` was nearly
/// empty, scanned the table for it (measured: a third of the writer's time).
pub fn withdraw(conn: &mut DbConn, keys: &[String]) -> Result<usize, ApiError> {
    let mut withdrawn = 0;
    for key in keys {
        withdrawn += diesel::delete(jobs::table.filter(jobs::job_key.eq(key))).execute(conn)?;
    }
    Ok(withdrawn)
}

/// Withdraws every waiting job of `kind` about `subject` (a cancelled event's).
pub fn withdraw_about(conn: &mut DbConn, kind: &str, subject: &str) -> Result<usize, ApiError> {
    Ok(diesel::delete(
        jobs::table
            .filter(jobs::kind.eq(kind))
            .filter(jobs::subject.eq(subject)),
    )
    .execute(conn)?)
}

/// The waiting jobs of `kind` about `subject`, to move them.
pub fn about(conn: &mut DbConn, kind: &str, subject: &str) -> Result<Vec<Job>, ApiError> {
    Ok(jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::subject.eq(subject))
        .select(Job::as_select())
        .load(conn)?)
}

/// Moves one waiting job to a new time.
pub fn reschedule(conn: &mut DbConn, id: &str, run_at: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(jobs::table.find(id))
        .set(jobs::run_at.eq(run_at))
        .execute(conn)?;
    Ok(())
}

/// Removes a job its handler finished, inside the handler's own transaction:
/// false when the job is gone or was claimed again (its lease ran out), so the
/// handler's effects must roll back and not happen twice.
pub fn complete(conn: &mut DbConn, job: &Job) -> Result<bool, ApiError> {
    let deleted = diesel::delete(
        jobs::table
            .filter(jobs::id.eq(&job.id))
            .filter(jobs::attempts.eq(job.attempts)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// The waiting job with this key, if any.
pub fn by_key(conn: &mut DbConn, key: &str) -> Result<Option<Job>, ApiError> {
    Ok(jobs::table
        .filter(jobs::job_key.eq(key))
        .select(Job::as_select())
        .first(conn)
        .optional()?)
}

/// Puts a claimed job back to wait until `at` (quiet hours, a moved event, a
/// recurring sweep's next round), inside the handler's transaction; not a
/// failure, so its count of attempts starts again.
pub fn postpone(conn: &mut DbConn, job: &Job, at: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(
        jobs::table
            .filter(jobs::id.eq(&job.id))
            .filter(jobs::attempts.eq(job.attempts)),
    )
    .set((
        jobs::run_at.eq(at),
        jobs::locked_until.eq(None::<NaiveDateTime>),
        jobs::attempts.eq(0),
    ))
    .execute(conn)?;
    Ok(())
}

/// How many jobs are due by `at` (waiting or running), for tests and `/metrics`.
pub fn due(conn: &mut DbConn, at: NaiveDateTime) -> Result<i64, ApiError> {
    Ok(jobs::table
        .filter(jobs::run_at.le(at))
        .count()
        .get_result(conn)?)
}
