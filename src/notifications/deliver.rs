//! Sending a queued notification when it falls due: the resident's settings
//! (`event_cancelled` always goes), the centre's quiet hours (22:00–07:00
//! local; cancellations and changes within 24 h of the start go at once), a
//! last look that the reason still holds (a reminder for a seat still held, an
//! event still on), then the inbox row, the live `notification.created` on
//! `me`, and the push gateway, all in one transaction with the job's removal.
//! When an event ends, [`FeedbackRequests`] asks the residents checked in.

use chrono::NaiveDateTime;
use serde_json::json;

use super::texts::{Subject, render};
use super::*;
use crate::centres;
use crate::db::schema::notifications;
use crate::db::{self, Db, Tx};
use crate::error::ApiError;
use crate::events::{self, Event};
use crate::jobs::runner::{Handler, Outcome, Running};
use crate::jobs::{self, Job, NewJob};
use crate::live::outbox::publish;
use crate::registrations::{self, CONFIRMED};
use diesel::prelude::*;

/// The job kind a push-gateway delivery is queued as (handled by `webhooks`).
pub const PUSH_JOB: &str = "push";

/// Handles `notify` jobs.
pub struct Deliver {
    /// Whether `MULIN_PUSH_WEBHOOK_URL` is set.
    pub push: bool,
}

/// What became of one notice, decided inside its transaction.
enum Decision {
    Sent,
    Dropped,
    Later(NaiveDateTime),
}

impl Handler for Deliver {
    fn run(&self, db: Db, job: Job) -> Running {
        let push = self.push;
        Box::pin(async move {
            let for_write = job.clone();
            let decided = db
                .write(move |tx| {
                    let notice: Notice = for_write.payload()?;
                    let decision = decide_and_send(tx, &notice, push)?;
                    match decision {
                        Decision::Later(at) => {
                            jobs::postpone(tx, &for_write, at)?;
                        }
                        Decision::Sent | Decision::Dropped => {
                            if !jobs::complete(tx, &for_write)? {
                                // Claimed again elsewhere after the lease ran
                                // out: undo, the other claim sends it.
                                return Err(ApiError::internal("job taken over"));
                            }
                        }
                    }
                    Ok(())
                })
                .await;
            match decided {
                Ok(()) => Outcome::Completed,
                Err(e) => Outcome::Retry {
                    at: db::now() + backoff(job.attempts),
                    error: e.to_string(),
                },
            }
        })
    }
}

/// 30 s, 1 min, 2 min … at most an hour.
fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 30_i64.saturating_mul(1_i64 << attempts.clamp(0, 7));
    chrono::Duration::seconds(secs.min(3600))
}

fn decide_and_send(tx: &mut Tx<'_>, notice: &Notice, push: bool) -> Result<Decision, ApiError> {
    let now = db::now();
    if notice.kind != EVENT_CANCELLED && !enabled(tx, &notice.user_id, &notice.kind)? {
        return Ok(Decision::Dropped);
    }
    let Some(event_id) = notice.event_id.as_deref() else {
        return Ok(Decision::Dropped);
    };
    let Some(event) = events::queries::find(tx, event_id)? else {
        return Ok(Decision::Dropped);
    };
    if !still_holds(tx, notice, &event)? {
        return Ok(Decision::Dropped);
    }
    let (mut subject, tz) = subject_of(tx, &event)?;
    if let Some(shift_id) = notice.shift_id.as_deref() {
        let Some(shift) = crate::volunteers::queries::shift(tx, shift_id)? else {
            return Ok(Decision::Dropped);
        };
        subject.title = format!("{}（{}）", shift.role, event.title);
        subject.starts_at = shift.starts_at;
    }
    let urgent = matches!(notice.kind.as_str(), EVENT_CANCELLED | EVENT_CHANGED)
        && event.starts_at - now <= chrono::Duration::hours(24);
    let allowed = outside_quiet_hours(now, tz);
    if !urgent && allowed > now {
        return Ok(Decision::Later(allowed));
    }
    let user = crate::accounts::queries::find(tx, &notice.user_id)?;
    if user.erased_at.is_some() {
        return Ok(Decision::Dropped);
    }
    let (title, body) = render(notice, &subject, &user.locale);
    let id = uuid::Uuid::new_v4().to_string();
    let data = json!({
        "event_id": notice.event_id,
        "registration_id": notice.registration_id,
        "shift_id": notice.shift_id,
        "application_id": notice.application_id,
    });
    diesel::insert_into(notifications::table)
        .values((
            notifications::id.eq(&id),
            notifications::user_id.eq(&notice.user_id),
            notifications::kind.eq(&notice.kind),
            notifications::title.eq(&title),
            notifications::body.eq(&body),
            notifications::data.eq(data.to_string()),
            notifications::created_at.eq(now),
        ))
        .execute(tx.conn())?;
    let view = json!({
        "id": id, "kind": notice.kind, "title": title, "body": body, "data": data,
        "created_at": now.and_utc(), "read_at": null,
    });
    publish(
        tx,
        format!("user:{}", notice.user_id),
        "notification.created",
        &view,
    );
    if push {
        let payload = json!({
            "user_id": notice.user_id, "notification_id": id, "kind": notice.kind,
            "title": title, "body": body, "category": "service",
        });
        jobs::enqueue(
            tx,
            NewJob {
                kind: PUSH_JOB,
                key: None,
                // Withdrawn if the person deletes the account meanwhile.
                subject: Some(format!("user:{}", notice.user_id)),
                payload: &payload,
                run_at: now,
            },
        )?;
    }
    Ok(Decision::Sent)
}

/// Whether the reason for the notice still holds when it goes out.
fn still_holds(tx: &mut Tx<'_>, notice: &Notice, event: &Event) -> Result<bool, ApiError> {
    if notice.kind == EVENT_CANCELLED {
        return Ok(true);
    }
    if event.status != events::PUBLISHED {
        return Ok(false);
    }
    if notice.kind == SHIFT_REMINDER {
        let Some(id) = notice.application_id.as_deref() else {
            return Ok(false);
        };
        let approved = crate::volunteers::queries::application(tx, id)?
            .is_some_and(|a| a.status == crate::volunteers::APPROVED);
        return Ok(approved);
    }
    if notice.kind == REMINDER {
        let Some(id) = notice.registration_id.as_deref() else {
            return Ok(false);
        };
        let held = registrations::queries::find(tx, id)?.is_some_and(|r| r.status == CONFIRMED);
        return Ok(held && event.starts_at > db::now());
    }
    Ok(true)
}

fn subject_of(tx: &mut Tx<'_>, event: &Event) -> Result<(Subject, chrono_tz::Tz), ApiError> {
    let centre = match &event.centre_id {
        Some(id) => centres::queries::find(tx, id)?,
        None => None,
    };
    let tz = centre
        .as_ref()
        .map_or(chrono_tz::Asia::Shanghai, |c| c.tz());
    let place = match (&centre, &event.location) {
        (Some(c), Some(l)) => Some(format!("{} {l}", c.name)),
        (Some(c), None) => Some(c.name.clone()),
        (None, l) => l.clone(),
    };
    Ok((
        Subject {
            title: event.title.clone(),
            starts_at: event.starts_at,
            place,
            tz,
        },
        tz,
    ))
}

/// Whether the user wants notifications of `kind` (on unless turned off).
pub fn enabled(tx: &mut Tx<'_>, user_id: &str, kind: &str) -> Result<bool, ApiError> {
    use crate::db::schema::notification_settings as s;
    let setting: Option<bool> = s::table
        .filter(s::user_id.eq(user_id))
        .filter(s::kind.eq(kind))
        .select(s::enabled)
        .first(tx.conn())
        .optional()?;
    Ok(setting.unwrap_or(true))
}

/// Handles `feedback_request` jobs: when an event has ended, one notice to
/// each resident checked in.
pub struct FeedbackRequests;

impl Handler for FeedbackRequests {
    fn run(&self, db: Db, job: Job) -> Running {
        Box::pin(async move {
            let for_write = job.clone();
            let result = db
                .write(move |tx| {
                    let snapshot: follow::Snapshot = for_write.payload()?;
                    let event = events::queries::find(tx, &snapshot.event_id)?;
                    let now = db::now();
                    if let Some(event) = event.filter(|e| e.status == events::PUBLISHED) {
                        if event.ends_at > now {
                            jobs::postpone(tx, &for_write, event.ends_at)?;
                            return Ok(());
                        }
                        for (registration_id, user_id) in
                            crate::checkin::figures::attended(tx, &event.id)?
                        {
                            let notice = Notice {
                                user_id,
                                kind: FEEDBACK_REQUEST.into(),
                                event_id: Some(event.id.clone()),
                                registration_id: Some(registration_id.clone()),
                                ..Notice::default()
                            };
                            jobs::enqueue(
                                tx,
                                NewJob {
                                    kind: NOTIFY_JOB,
                                    key: Some(format!("feedback:{registration_id}")),
                                    subject: None,
                                    payload: &notice,
                                    run_at: now,
                                },
                            )?;
                        }
                    }
                    if !jobs::complete(tx, &for_write)? {
                        return Err(ApiError::internal("job taken over"));
                    }
                    Ok(())
                })
                .await;
            match result {
                Ok(()) => Outcome::Completed,
                Err(e) => Outcome::Retry {
                    at: db::now() + backoff(job.attempts),
                    error: e.to_string(),
                },
            }
        })
    }
}
