//! Retention (PIPL Art. 19): `MULIN_RETENTION_DAYS` (default 180) after an
//! activity ends, a sweep on the job queue has every `privacy::Personal` part
//! erase its share: the names, phones and birth years of its walk-ins and, for
//! the sensitive categories (counselling, health talks, legal aid, meal help),
//! every person on its roster and their feedback comments.
//! Registrations stay as rows (party sizes, statuses) and check-ins keep
//! their pseudonymous attendee key and age band, so counts, reports and
//! indicators do not change; frozen reports are never touched.
//!
//! One recurring job (`retention.sweep`, one key, so one per deployment
//! however many instances run) wakes every hour, erases up to 200 events per
//! round and comes back at once while more are due.

use crate::db::{self, Db, Tx};
use crate::error::ApiError;
use crate::events::queries as events_q;
use crate::jobs::runner::{Handler, Outcome, Running};
use crate::jobs::{self, Job, NewJob};
use crate::privacy::Registry;
use chrono::Duration;

pub const SWEEP_JOB: &str = "retention.sweep";
const SWEEP_KEY: &str = "retention.sweep";
/// Events erased per round.
const ROUND: i64 = 200;
/// Time between sweeps when nothing more is due.
const EVERY: Duration = Duration::hours(1);

/// Schedules the sweep if no instance has yet (at start-up).
pub fn ensure_scheduled(tx: &mut Tx<'_>) -> Result<(), ApiError> {
    if jobs::by_key(tx, SWEEP_KEY)?.is_none() {
        jobs::enqueue(
            tx,
            NewJob {
                kind: SWEEP_JOB,
                key: Some(SWEEP_KEY.into()),
                subject: None,
                payload: &serde_json::json!({}),
                run_at: db::now(),
            },
        )?;
    }
    Ok(())
}

/// One round: returns when to run next.
fn round(
    tx: &mut Tx<'_>,
    days: i64,
    registry: &Registry,
) -> Result<chrono::NaiveDateTime, ApiError> {
    let now = db::now();
    let due = events_q::due_for_retention(tx, now - Duration::days(days), ROUND)?;
    for event in &due {
        registry.erase_event(tx, &event.id, event.is_sensitive())?;
        events_q::mark_personal_erased(tx, &event.id)?;
    }
    if !due.is_empty() {
        tracing::info!(
            events = due.len(),
            "retention: rosters of ended activities erased"
        );
    }
    Ok(if due.len() as i64 == ROUND {
        now
    } else {
        now + EVERY
    })
}

/// The sweep, registered with the job runner by `app`: each part of the
/// registry erases its share of an ended activity.
pub struct Sweep {
    pub days: i64,
    pub registry: Registry,
}

impl Handler for Sweep {
    fn run(&self, db: Db, job: Job) -> Running {
        let days = self.days;
        let registry = self.registry.clone();
        Box::pin(async move {
            let claimed = job.clone();
            let result = db
                .write(move |tx| {
                    let next = round(tx, days, &registry)?;
                    jobs::postpone(tx, &claimed, next)
                })
                .await;
            match result {
                Ok(()) => Outcome::Completed,
                // A failed round comes back in five minutes, never dropped:
                // the sweep is the only one.
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed; trying again in 5 minutes");
                    let retry = db::now() + Duration::minutes(5);
                    match db.write(move |tx| jobs::postpone(tx, &job, retry)).await {
                        Ok(()) => Outcome::Completed,
                        Err(e) => Outcome::Retry {
                            at: retry,
                            error: e.to_string(),
                        },
                    }
                }
            }
        })
    }
}
