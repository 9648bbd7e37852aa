//! Retention (PIPL Art. 19): `MULIN_RETENTION_DAYS` (default 180) after an
//! activity ends, a sweep on the job queue erases the names, phones and birth
//! years of its walk-ins and, for the sensitive categories (counselling,
//! health talks, legal aid, meal help), takes every person out of its roster.
//! Registrations stay as rows (party sizes, statuses) and check-ins keep
//! their pseudonymous attendee key and age band, so counts, reports and
//! indicators do not change; frozen reports are never touched.
//!
//! One recurring job (`retention.sweep`, one key, so one per deployment
//! however many instances run) wakes every hour, erases up to 200 events per
//! round and comes back at once while more are due.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::registrations;
use crate::db::{self, Db, DbConn, Tx};
use crate::error::ApiError;
use crate::events::queries as events_q;
use crate::jobs::runner::{Handler, Outcome, Running};
use crate::jobs::{self, Job, NewJob};

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

/// Erases the personal data of one ended event's roster.
fn erase_event(conn: &mut DbConn, event: &crate::events::Event) -> Result<(), ApiError> {
    let now = db::now();
    diesel::update(
        registrations::table
            .filter(registrations::event_id.eq(&event.id))
            .filter(
                registrations::walk_in_name
                    .is_not_null()
                    .or(registrations::walk_in_phone.is_not_null())
                    .or(registrations::walk_in_birth_year.is_not_null()),
            ),
    )
    .set((
        registrations::walk_in_name.eq(None::<String>),
        registrations::walk_in_phone.eq(None::<String>),
        registrations::walk_in_birth_year.eq(None::<i32>),
        registrations::erased_at.eq(Some(now)),
    ))
    .execute(conn)?;
    if event.is_sensitive() {
        diesel::update(
            registrations::table
                .filter(registrations::event_id.eq(&event.id))
                .filter(
                    registrations::user_id
                        .is_not_null()
                        .or(registrations::note.is_not_null()),
                ),
        )
        .set((
            registrations::user_id.eq(None::<String>),
            registrations::note.eq(None::<String>),
            registrations::erased_at.eq(Some(now)),
        ))
        .execute(conn)?;
    }
    events_q::mark_personal_erased(conn, &event.id)
}

/// One round: returns when to run next.
fn round(tx: &mut Tx<'_>, days: i64) -> Result<chrono::NaiveDateTime, ApiError> {
    let now = db::now();
    let due = events_q::due_for_retention(tx, now - Duration::days(days), ROUND)?;
    for event in &due {
        erase_event(tx, event)?;
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

/// The sweep, registered with the job runner by `app`.
pub struct Sweep {
    pub days: i64,
}

impl Handler for Sweep {
    fn run(&self, db: Db, job: Job) -> Running {
        let days = self.days;
        Box::pin(async move {
            let claimed = job.clone();
            let result = db
                .write(move |tx| {
                    let next = round(tx, days)?;
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
