//! Deriving notifications from what each write recorded: the registration,
//! check-in and event messages already say who, what and which event, so the
//! features that make those changes know nothing of notifications. Runs inside
//! the commit's transaction (a per-commit `db::Follower`): a reminder exists if
//! and only if the sign-up that asked for it committed, and a cancellation
//! withdraws reminders in the same commit. A group commit of 64 sign-ups reads
//! each event once and puts its 128 reminders in one statement.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;
use crate::db::{self, Follower, Message, Tx};
use crate::error::ApiError;
use crate::events::{self, Event};
use crate::jobs::{self, Keyed, NewJob};
use crate::registrations::{self, CONFIRMED};

/// The `db::Follower` that turns messages into queued notifications.
pub struct Notices;

/// What the feedback job remembers of its event, to notice a move.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub event_id: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub centre_id: Option<String>,
    pub location: Option<String>,
}

impl Snapshot {
    fn of(event: &Event) -> Snapshot {
        Snapshot {
            event_id: event.id.clone(),
            starts_at: event.starts_at,
            ends_at: event.ends_at,
            centre_id: event.centre_id.clone(),
            location: event.location.clone(),
        }
    }
}

fn feedback_key(event_id: &str) -> String {
    format!("feedback_request:{event_id}")
}

fn str_field<'a>(data: &'a Value, name: &str) -> Option<&'a str> {
    data.get(name).and_then(Value::as_str)
}

/// What one commit does to keyed jobs (reminders, shift reminders), the last
/// word per key: `Some` puts the job (adds or replaces it), `None` withdraws
/// it. Applied in a few statements before anything that deletes such jobs some
/// other way (an event's cancellation), and at the end; with the events read
/// so far, each once. Feedback requests (`feedback_key`) never go through it:
/// they are read and written directly.
#[derive(Default)]
struct Plan {
    keyed: BTreeMap<String, Option<Keyed>>,
    events: HashMap<String, Option<Event>>,
}

impl Plan {
    fn put(&mut self, job: Keyed) {
        self.keyed.insert(job.key.clone(), Some(job));
    }

    fn withdraw(&mut self, key: String) {
        self.keyed.insert(key, None);
    }

    /// Drops what the commit meant to do with `key`, for a job that is not
    /// stored (nothing to withdraw).
    fn forget(&mut self, key: &str) {
        self.keyed.remove(key);
    }

    /// The event as it stands at the end of the commit's writes (every write
    /// ran before its followers), read once.
    fn event(&mut self, tx: &mut Tx<'_>, id: &str) -> Result<Option<Event>, ApiError> {
        if let Some(event) = self.events.get(id) {
            return Ok(event.clone());
        }
        let event = events::queries::find(tx, id)?;
        self.events.insert(id.to_owned(), event.clone());
        Ok(event)
    }

    fn apply(&mut self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        let mut put = Vec::new();
        let mut gone = Vec::new();
        for (key, job) in std::mem::take(&mut self.keyed) {
            match job {
                Some(job) => put.push(job),
                None => gone.push(key),
            }
        }
        jobs::withdraw(tx, &gone)?;
        jobs::put(tx, &put)
    }
}

impl Follower for Notices {
    fn per_commit(&self) -> bool {
        true
    }

    fn follow(&self, tx: &mut Tx<'_>, recorded: &[Message]) -> Result<(), ApiError> {
        let mut plan = Plan::default();
        for (at, message) in recorded.iter().enumerate() {
            let Some((scope, owner)) = message.topic.split_once(':') else {
                continue;
            };
            let relevant = matches!(
                (scope, message.kind.as_str()),
                (
                    "user",
                    "registration.created"
                        | "registration.promoted"
                        | "registration.cancelled"
                        | "event.cancelled"
                        | "application.decided"
                ) | (
                    "org",
                    "event.published" | "event.updated" | "event.cancelled"
                )
            );
            if !relevant {
                continue;
            }
            let data: Value = serde_json::from_str(&message.data)
                .map_err(|e| ApiError::internal(format!("message data: {e}")))?;
            match (scope, message.kind.as_str()) {
                ("user", "registration.created")
                    if str_field(&data, "status") == Some(CONFIRMED) =>
                {
                    remind(tx, &mut plan, owner, &data, Held::New)?;
                }
                ("user", "registration.promoted") => {
                    remind(tx, &mut plan, owner, &data, Held::Before)?;
                    let notice = Notice {
                        user_id: owner.to_owned(),
                        kind: PROMOTED.into(),
                        event_id: str_field(&data, "event_id").map(str::to_owned),
                        registration_id: str_field(&data, "registration_id").map(str::to_owned),
                        ..Notice::default()
                    };
                    tell_now(tx, notice)?;
                }
                ("user", "registration.cancelled") => {
                    if let Some(id) = str_field(&data, "registration_id") {
                        for (_, label) in REMINDERS {
                            plan.withdraw(reminder_key(id, label));
                        }
                    }
                }
                ("user", "event.cancelled") => {
                    let notice = Notice {
                        user_id: owner.to_owned(),
                        kind: EVENT_CANCELLED.into(),
                        event_id: str_field(&data, "event_id").map(str::to_owned),
                        reason: str_field(&data, "reason").map(str::to_owned),
                        ..Notice::default()
                    };
                    tell_now(tx, notice)?;
                }
                ("user", "application.decided") => {
                    shift_decided(tx, &mut plan, owner, &data)?;
                }
                ("org", "event.cancelled") => {
                    if let Some(id) = str_field(&data, "id") {
                        // Reminders put earlier in this commit go too.
                        plan.apply(tx)?;
                        jobs::withdraw_about(tx, NOTIFY_JOB, &event_subject(id))?;
                        jobs::withdraw(tx, &[feedback_key(id)])?;
                    }
                }
                ("org", _) => {
                    if let Some(id) = str_field(&data, "id") {
                        let joined_after = signed_up_after(&recorded[at + 1..], id)?;
                        event_updated(tx, &mut plan, id, &joined_after)?;
                    }
                }
                _ => {}
            }
        }
        plan.apply(tx)
    }
}

/// A volunteer's application decided: approved → told now and reminded 2 h
/// before the shift; rejected (again) → the reminder withdrawn.
fn shift_decided(
    tx: &mut Tx<'_>,
    plan: &mut Plan,
    user_id: &str,
    data: &Value,
) -> Result<(), ApiError> {
    let Some(application_id) = str_field(data, "application_id") else {
        return Ok(());
    };
    let key = shift_reminder_key(application_id);
    if str_field(data, "status") != Some("approved") {
        plan.withdraw(key);
        return Ok(());
    }
    let notice = Notice {
        user_id: user_id.to_owned(),
        kind: SHIFT_APPROVED.into(),
        event_id: str_field(data, "event_id").map(str::to_owned),
        shift_id: str_field(data, "shift_id").map(str::to_owned),
        application_id: Some(application_id.to_owned()),
        ..Notice::default()
    };
    tell_now(tx, notice.clone())?;
    let starts_at = str_field(data, "starts_at")
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .map(|t| t.naive_utc());
    if let Some(starts_at) = starts_at {
        let at = starts_at - chrono::Duration::seconds(SHIFT_REMINDER_BEFORE);
        if at > db::now() {
            plan.put(keyed(
                key,
                None,
                &Notice {
                    kind: SHIFT_REMINDER.into(),
                    ..notice
                },
                at,
            )?);
        }
    }
    Ok(())
}

/// A notification job keyed `key`, to go out at `at`.
fn keyed(
    key: String,
    subject: Option<String>,
    notice: &Notice,
    at: NaiveDateTime,
) -> Result<Keyed, ApiError> {
    Ok(Keyed {
        kind: NOTIFY_JOB,
        key,
        subject,
        payload: serde_json::to_string(notice).map_err(|e| ApiError::internal(e.to_string()))?,
        run_at: at,
    })
}

/// Queues a notification to go out now.
fn tell_now(tx: &mut Tx<'_>, notice: Notice) -> Result<(), ApiError> {
    jobs::enqueue(
        tx,
        NewJob {
            kind: NOTIFY_JOB,
            key: None,
            subject: None,
            payload: &notice,
            run_at: db::now(),
        },
    )?;
    Ok(())
}

/// Whether a registration was created in this commit or existed before it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Created in this commit: no reminder of it is stored yet, so one
    /// already behind needs no withdrawal (a sign-up the day before the
    /// event would otherwise cost a delete per reminder).
    New,
    Before,
}

/// A confirmed seat: the reminders still ahead of now.
fn remind(
    tx: &mut Tx<'_>,
    plan: &mut Plan,
    user_id: &str,
    data: &Value,
    held: Held,
) -> Result<(), ApiError> {
    let (Some(registration_id), Some(event_id)) = (
        str_field(data, "registration_id"),
        str_field(data, "event_id"),
    ) else {
        return Ok(());
    };
    if let Some(event) = plan.event(tx, event_id)? {
        schedule_reminders(plan, user_id, registration_id, &event, held)?;
    }
    Ok(())
}

/// Puts a registration's reminders at their times before the event's start:
/// those still ahead are (re)scheduled, those already behind are withdrawn.
fn schedule_reminders(
    plan: &mut Plan,
    user_id: &str,
    registration_id: &str,
    event: &Event,
    held: Held,
) -> Result<(), ApiError> {
    let now = db::now();
    for (before, label) in REMINDERS {
        let key = reminder_key(registration_id, label);
        let at = event.starts_at - chrono::Duration::seconds(before);
        if at <= now {
            match held {
                Held::New => plan.forget(&key),
                Held::Before => plan.withdraw(key),
            }
            continue;
        }
        let notice = Notice {
            user_id: user_id.to_owned(),
            kind: REMINDER.into(),
            event_id: Some(event.id.clone()),
            registration_id: Some(registration_id.to_owned()),
            before_secs: Some(before),
            ..Notice::default()
        };
        plan.put(keyed(key, Some(event_subject(&event.id)), &notice, at)?);
    }
    Ok(())
}

/// The registrations for `event_id` created by writes later in the commit
/// than an edit of the event: the follower sees the commit's end, so they are
/// among the event's holders, but they signed up for the event as it was
/// already and are not told it changed.
fn signed_up_after(later: &[Message], event_id: &str) -> Result<HashSet<String>, ApiError> {
    let mut ids = HashSet::new();
    for m in later {
        if m.kind != "registration.created" || !m.topic.starts_with("user:") {
            continue;
        }
        let data: Value = serde_json::from_str(&m.data)
            .map_err(|e| ApiError::internal(format!("message data: {e}")))?;
        if str_field(&data, "event_id") == Some(event_id) {
            if let Some(id) = str_field(&data, "registration_id") {
                ids.insert(id.to_owned());
            }
        }
    }
    Ok(ids)
}

/// An event published or edited: its feedback request waits for its end, and
/// when its time or place moved, its reminders move with it and everyone
/// registered before the edit is told.
fn event_updated(
    tx: &mut Tx<'_>,
    plan: &mut Plan,
    event_id: &str,
    joined_after: &HashSet<String>,
) -> Result<(), ApiError> {
    let Some(event) = plan.event(tx, event_id)? else {
        return Ok(());
    };
    if event.status != events::PUBLISHED {
        return Ok(());
    }
    let key = feedback_key(event_id);
    let before: Option<Snapshot> = jobs::by_key(tx, &key)?
        .map(|job| job.payload())
        .transpose()?;
    let now = Snapshot::of(&event);
    if before.as_ref() == Some(&now) {
        return Ok(());
    }
    jobs::enqueue(
        tx,
        NewJob {
            kind: FEEDBACK_JOB,
            key: Some(key),
            subject: Some(event_subject(event_id)),
            payload: &now,
            run_at: event.ends_at,
        },
    )?;
    let Some(before) = before else {
        return Ok(());
    };
    let moved = before.starts_at != now.starts_at
        || before.centre_id != now.centre_id
        || before.location != now.location;
    if !moved {
        return Ok(());
    }
    for (registration_id, user_id, status) in registrations::queries::holders(tx, event_id)? {
        if status == CONFIRMED {
            schedule_reminders(plan, &user_id, &registration_id, &event, Held::Before)?;
        }
        if joined_after.contains(&registration_id) {
            continue;
        }
        let notice = Notice {
            user_id,
            kind: EVENT_CHANGED.into(),
            event_id: Some(event_id.to_owned()),
            registration_id: Some(registration_id),
            ..Notice::default()
        };
        tell_now(tx, notice)?;
    }
    Ok(())
}
