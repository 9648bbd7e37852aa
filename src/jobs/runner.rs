//! Runs due jobs: claims a batch (a lease, so a crashed instance's jobs come
//! back), hands each to the handler registered for its kind, and records the
//! outcome. Several instances may run at once: on PostgreSQL a claim skips the
//! rows another instance is claiming (`FOR UPDATE SKIP LOCKED`); on SQLite
//! claims go through the one writer.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::Job;
use crate::db::schema::jobs;
use crate::db::{self, Db, DbConn};
use crate::error::ApiError;

/// Most jobs one claim takes.
pub const BATCH: i64 = 500;
/// Jobs running at once on one instance (webhook deliveries wait on the network).
const CONCURRENCY: usize = 64;
/// Jobs started at once while the instance is serving requests, and claimed
/// at once then: background work yields the cores and the SQLite writer to
/// the people waiting on an answer, and keeps going at this pace.
const UNDER_LOAD: usize = 2;
/// How often a runner held back by requests looks again.
const PACE: Duration = Duration::from_millis(10);
/// How long a rush of requests ([`Db::rushed`]) holds every job back; after
/// that, jobs go on at the [`UNDER_LOAD`] pace while it lasts.
const SLACK: Duration = Duration::from_secs(5);
/// How long a claimed job is this instance's before another may take it.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// How often an idle runner looks for due jobs.
const POLL: Duration = Duration::from_millis(500);
/// A job whose handler keeps failing is dropped after this many claims.
pub const MAX_ATTEMPTS: i32 = 12;

/// What became of a job.
#[derive(Debug)]
pub enum Outcome {
    /// Done; the runner removes the job.
    Done,
    /// Done, and the handler removed the job in its own transaction with
    /// [`super::complete`] (exactly once with its effects).
    Completed,
    /// [`Outcome::Completed`], and that transaction queued jobs due now (a
    /// commit's webhook deliveries): the runner looks for them at once
    /// rather than at its next poll.
    CompletedWithMore,
    /// Try again at `at`.
    Retry { at: NaiveDateTime, error: String },
    /// Give up on it (logged).
    Drop { error: String },
}

pub type Running = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// Does one kind of job; defined here, implemented by features, registered in `app`.
pub trait Handler: Send + Sync + 'static {
    fn run(&self, db: Db, job: Job) -> Running;

    /// Whether a job of this kind is kept however often it fails (retried at
    /// the time its handler gives), rather than dropped after
    /// [`MAX_ATTEMPTS`]: for jobs that are the only record of their work.
    fn never_dropped(&self) -> bool {
        false
    }
}

/// Every registered handler by kind.
#[derive(Clone, Default)]
pub struct Handlers(HashMap<&'static str, Arc<dyn Handler>>);

impl Handlers {
    pub fn with(mut self, kind: &'static str, handler: impl Handler) -> Handlers {
        self.0.insert(kind, Arc::new(handler));
        self
    }
}

/// Starts the runner on its own task; it stops when the runtime does.
pub fn start(db: Db, handlers: Handlers) {
    tokio::spawn(run_forever(db, handlers));
}

async fn run_forever(db: Db, handlers: Handlers) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let under_load = Arc::new(Semaphore::new(UNDER_LOAD));
    let more = Arc::new(Notify::new());
    let mut rush = Rush::default();
    loop {
        // Claim few while requests are being served: a claimed job waits for
        // a turn here, and its lease runs meanwhile.
        let limit = if db.serving() {
            UNDER_LOAD as i64
        } else {
            BATCH
        };
        let claimed = match db.write(move |tx| claim(tx, db::now(), limit)).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming jobs failed");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        let full = claimed.len() as i64 == limit;
        for job in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let turn = wait_for_turn(&db, &under_load, &mut rush).await;
            let (db, more) = (db.clone(), more.clone());
            let handler = handlers.0.get(job.kind.as_str()).cloned();
            // A kind this instance does not know may be another version's
            // (a rolling deploy): kept for an instance that knows it.
            let keep = handler.as_ref().is_none_or(|h| h.never_dropped());
            tokio::spawn(async move {
                let outcome = match handler {
                    Some(handler) => handler.run(db.clone(), job.clone()).await,
                    None => Outcome::Retry {
                        at: db::now() + chrono::Duration::minutes(1),
                        error: format!("no handler for {}", job.kind),
                    },
                };
                let queued = matches!(outcome, Outcome::CompletedWithMore);
                finish(&db, job, outcome, keep).await;
                drop((permit, turn));
                if queued {
                    more.notify_one();
                }
            });
        }
        if !full {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = more.notified() => {}
            }
        }
    }
}

/// When the current rush of requests began, if one is on.
#[derive(Default)]
struct Rush(Option<Instant>);

impl Rush {
    /// Whether jobs wait now: a rush is on and has lasted less than [`SLACK`].
    fn holds(&mut self, rushed: bool) -> bool {
        if !rushed {
            self.0 = None;
            return false;
        }
        self.0.get_or_insert_with(Instant::now).elapsed() < SLACK
    }
}

/// Returns at once while the instance serves no request; otherwise when one of
/// the [`UNDER_LOAD`] turns is free (or the requests are gone), and not in the
/// first [`SLACK`] of a rush. Only the runner's loop waits here, so the wait is
/// one timer, not one per job.
async fn wait_for_turn(
    db: &Db,
    under_load: &Arc<Semaphore>,
    rush: &mut Rush,
) -> Option<OwnedSemaphorePermit> {
    loop {
        if !db.serving() {
            rush.holds(false);
            return None;
        }
        if rush.holds(db.rushed()) {
            tokio::time::sleep(PACE).await;
            continue;
        }
        if let Ok(turn) = under_load.clone().try_acquire_owned() {
            return Some(turn);
        }
        tokio::time::sleep(PACE).await;
    }
}

/// Claims up to `limit` due jobs that nobody holds, oldest first.
pub fn claim(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> Result<Vec<Job>, ApiError> {
    let until = now + LEASE;
    let claimed = match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "UPDATE jobs SET attempts = attempts + 1, locked_until = $1 \
             WHERE id IN (SELECT id FROM jobs WHERE run_at <= $2 \
               AND (locked_until IS NULL OR locked_until < $2) \
               ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
        )
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<Job>(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(
            "UPDATE jobs SET attempts = attempts + 1, locked_until = ? \
             WHERE id IN (SELECT id FROM jobs WHERE run_at <= ? \
               AND (locked_until IS NULL OR locked_until < ?) \
               ORDER BY run_at LIMIT ?) \
             RETURNING *",
        )
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<Job>(c)?,
    };
    Ok(claimed)
}

/// Records what became of a claimed job.
async fn finish(db: &Db, job: Job, outcome: Outcome, keep: bool) {
    let id = job.id.clone();
    let kind = job.kind.clone();
    let result = db
        .write(move |tx| {
            match outcome {
                Outcome::Completed | Outcome::CompletedWithMore => {}
                Outcome::Done => {
                    super::complete(tx, &job)?;
                }
                Outcome::Retry { at, error } if keep || job.attempts < MAX_ATTEMPTS => {
                    tracing::info!(job = %job.id, kind = %job.kind, %error, %at, "job will be retried");
                    diesel::update(
                        jobs::table
                            .filter(jobs::id.eq(&job.id))
                            .filter(jobs::attempts.eq(job.attempts)),
                    )
                    .set((
                        jobs::run_at.eq(at),
                        jobs::locked_until.eq(None::<NaiveDateTime>),
                        jobs::last_error.eq(Some(error)),
                    ))
                    .execute(tx.conn())?;
                }
                Outcome::Retry { error, .. } | Outcome::Drop { error } => {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, %error, "job dropped");
                    super::complete(tx, &job)?;
                }
            }
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(job = %id, %kind, error = %e, "recording a job's outcome failed; it runs again after its lease");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rush_holds_jobs_for_the_slack_and_no_longer() {
        let mut rush = Rush::default();
        assert!(!rush.holds(false));
        assert!(rush.holds(true), "a rush begins");
        assert!(rush.holds(true), "and goes on");
        rush.0 = Some(Instant::now() - SLACK);
        assert!(!rush.holds(true), "after the slack, jobs go on");
        assert!(!rush.holds(false));
        assert!(rush.holds(true), "a new rush holds them again");
    }
}
