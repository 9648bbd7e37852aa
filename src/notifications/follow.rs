//! Deriving notifications from what each write recorded: the registration,
//! check-in and event messages already say who, what and which event, so the
//! features that make those changes know nothing of notifications. Runs inside
//! the write's transaction (a `db::Follower`): a reminder exists if and only
//! if the sign-up that asked for it committed, and a cancellation withdraws
//! reminders in the same commit.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;
use crate::db::{self, Follower, Message, Tx};
use crate::error::ApiError;
use crate::events::{self, Event};
use crate::jobs::{self, NewJob};
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

impl Follower for Notices {
    fn follow(&self, tx: &mut Tx<'_>, recorded: &[Message]) -> Result<(), ApiError> {
        for message in recorded {
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
                    remind(tx, owner, &data)?;
                }
                ("user", "registration.promoted") => {
                    remind(tx, owner, &data)?;
                    let notice = Notice {
                        user_id: owner.to_owned(),
                        kind: PROMOTED.into(),
                        event_id: str_field(&data, "event_id").map(str::to_owned),
                        registration_id: str_field(&data, "registration_id").map(str::to_owned),
                        ..Notice::default()
                    };
                    now_or_later(tx, notice, None)?;
                }
                ("user", "registration.cancelled") => {
                    if let Some(id) = str_field(&data, "registration_id") {
                        let keys: Vec<String> =
                            REMINDERS.iter().map(|(_, l)| reminder_key(id, l)).collect();
                        jobs::withdraw(tx, &keys)?;
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
                    now_or_later(tx, notice, None)?;
                }
                ("user", "application.decided") => {
                    shift_decided(tx, owner, &data)?;
                }
                ("org", "event.cancelled") => {
                    if let Some(id) = str_field(&data, "id") {
                        jobs::withdraw_about(tx, NOTIFY_JOB, &event_subject(id))?;
                        jobs::withdraw(tx, &[feedback_key(id)])?;
                    }
                }
                ("org", _) => {
                    if let Some(id) = str_field(&data, "id") {
                        event_updated(tx, id)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A volunteer's application decided: approved → told now and reminded 2 h
/// before the shift; rejected (again) → the reminder withdrawn.
fn shift_decided(tx: &mut Tx<'_>, user_id: &str, data: &Value) -> Result<(), ApiError> {
    let Some(application_id) = str_field(data, "application_id") else {
        return Ok(());
    };
    let key = shift_reminder_key(application_id);
    if str_field(data, "status") != Some("approved") {
        jobs::withdraw(tx, &[key])?;
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
    now_or_later(tx, notice.clone(), None)?;
    let starts_at = str_field(data, "starts_at")
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .map(|t| t.naive_utc());
    if let Some(starts_at) = starts_at {
        let at = starts_at - chrono::Duration::seconds(SHIFT_REMINDER_BEFORE);
        if at > db::now() {
            jobs::enqueue(
                tx,
                NewJob {
                    kind: NOTIFY_JOB,
                    key: Some(key),
                    subject: None,
                    payload: &Notice {
                        kind: SHIFT_REMINDER.into(),
                        ..notice
                    },
                    run_at: at,
                },
            )?;
        }
    }
    Ok(())
}

/// Queues a notification to go out now (or at `key`'s time, replacing it).
fn now_or_later(tx: &mut Tx<'_>, notice: Notice, key: Option<String>) -> Result<(), ApiError> {
    jobs::enqueue(
        tx,
        NewJob {
            kind: NOTIFY_JOB,
            key,
            subject: None,
            payload: &notice,
            run_at: db::now(),
        },
    )?;
    Ok(())
}

/// A confirmed seat: the reminders still ahead of now.
fn remind(tx: &mut Tx<'_>, user_id: &str, data: &Value) -> Result<(), ApiError> {
    let (Some(registration_id), Some(event_id)) = (
        str_field(data, "registration_id"),
        str_field(data, "event_id"),
    ) else {
        return Ok(());
    };
    if let Some(event) = events::queries::find(tx, event_id)? {
        schedule_reminders(tx, user_id, registration_id, &event)?;
    }
    Ok(())
}

/// Puts a registration's reminders at their times before the event's start:
/// those still ahead are (re)scheduled, those already behind are withdrawn.
fn schedule_reminders(
    tx: &mut Tx<'_>,
    user_id: &str,
    registration_id: &str,
    event: &Event,
) -> Result<(), ApiError> {
    let now = db::now();
    for (before, label) in REMINDERS {
        let key = reminder_key(registration_id, label);
        let at = event.starts_at - chrono::Duration::seconds(before);
        if at <= now {
            jobs::withdraw(tx, &[key])?;
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
        jobs::enqueue(
            tx,
            NewJob {
                kind: NOTIFY_JOB,
                key: Some(key),
                subject: Some(event_subject(&event.id)),
                payload: &notice,
                run_at: at,
            },
        )?;
    }
    Ok(())
}

/// An event published or edited: its feedback request waits for its end, and
/// when its time or place moved, its reminders move with it and everyone
/// registered is told.
fn event_updated(tx: &mut Tx<'_>, event_id: &str) -> Result<(), ApiError> {
    let Some(event) = events::queries::find(tx, event_id)? else {
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
            schedule_reminders(tx, &user_id, &registration_id, &event)?;
        }
        let notice = Notice {
            user_id,
            kind: EVENT_CHANGED.into(),
            event_id: Some(event_id.to_owned()),
            registration_id: Some(registration_id),
            ..Notice::default()
        };
        now_or_later(tx, notice, None)?;
    }
    Ok(())
}
