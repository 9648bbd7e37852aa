//! Notifications: what a resident is told when the app is closed: reminders
//! (24 h and 2 h before), promotion from the waitlist, an event moved or
//! cancelled, a request for feedback, a volunteer shift approved or about to
//! start. They are derived from the messages every write records
//! ([`follow::Notices`], a `db::Follower`), so they commit with their cause;
//! they wait on the job queue until due, respect the resident's settings and
//! the centre's quiet hours ([`deliver`]), land in the inbox, go out live on
//! `me` as `notification.created` and, when configured, to the app's push
//! gateway as a signed webhook.

pub mod deliver;
pub mod follow;
pub mod personal;
pub mod routes;
pub mod texts;

use chrono::{NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};

pub const REMINDER: &str = "reminder";
pub const PROMOTED: &str = "promoted";
pub const EVENT_CHANGED: &str = "event_changed";
pub const EVENT_CANCELLED: &str = "event_cancelled";
pub const FEEDBACK_REQUEST: &str = "feedback_request";
pub const SHIFT_APPROVED: &str = "shift_approved";
pub const SHIFT_REMINDER: &str = "shift_reminder";
pub const KINDS: &[&str] = &[
    REMINDER,
    PROMOTED,
    EVENT_CHANGED,
    EVENT_CANCELLED,
    FEEDBACK_REQUEST,
    SHIFT_APPROVED,
    SHIFT_REMINDER,
];

/// The job kind that delivers one notification.
pub const NOTIFY_JOB: &str = "notify";
/// The job kind that, when an event ends, asks its attendees for feedback.
pub const FEEDBACK_JOB: &str = "feedback_request";

/// One notification waiting in the queue: who, what kind, about what.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Notice {
    pub user_id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// For reminders: how long before the start (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_secs: Option<i64>,
    /// For a cancellation: the organizer's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Reminders before an event's start, and their job keys.
pub const REMINDERS: [(i64, &str); 2] = [(24 * 3600, "24h"), (2 * 3600, "2h")];

pub fn reminder_key(registration_id: &str, label: &str) -> String {
    format!("reminder:{label}:{registration_id}")
}

pub fn shift_reminder_key(application_id: &str) -> String {
    format!("shift_reminder:{application_id}")
}

/// A shift reminder goes this long before the shift.
pub const SHIFT_REMINDER_BEFORE: i64 = 2 * 3600;

pub fn event_subject(event_id: &str) -> String {
    format!("event:{event_id}")
}

/// Quiet hours, local time: notifications wait from 22:00 until 07:00.
const QUIET_FROM: u32 = 22;
const QUIET_UNTIL: u32 = 7;

/// When a notification may go out: `at` itself, or 07:00 local when `at`
/// falls in the quiet hours of `tz`.
pub fn outside_quiet_hours(at: NaiveDateTime, tz: chrono_tz::Tz) -> NaiveDateTime {
    use chrono::Timelike;
    let local = tz.from_utc_datetime(&at);
    let hour = local.hour();
    if (QUIET_UNTIL..QUIET_FROM).contains(&hour) {
        return at;
    }
    let day = if hour >= QUIET_FROM {
        local.date_naive().succ_opt().unwrap_or(local.date_naive())
    } else {
        local.date_naive()
    };
    let seven = day
        .and_hms_opt(QUIET_UNTIL, 0, 0)
        .unwrap_or(local.naive_local());
    tz.from_local_datetime(&seven)
        .earliest()
        .map_or(at, |t| t.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("valid time")
    }

    #[test]
    fn quiet_hours_hold_notifications_until_seven_local_time() {
        let shanghai = chrono_tz::Asia::Shanghai;
        // 12:00 Shanghai (04:00 UTC): goes now.
        assert_eq!(
            outside_quiet_hours(utc(2026, 12, 3, 4, 0), shanghai),
            utc(2026, 12, 3, 4, 0)
        );
        // 23:30 Shanghai (15:30 UTC): waits until 07:00 the next day (23:00 UTC).
        assert_eq!(
            outside_quiet_hours(utc(2026, 12, 3, 15, 30), shanghai),
            utc(2026, 12, 3, 23, 0)
        );
        // 06:00 Shanghai (22:00 UTC the day before): waits an hour.
        assert_eq!(
            outside_quiet_hours(utc(2026, 12, 2, 22, 0), shanghai),
            utc(2026, 12, 2, 23, 0)
        );
        // 07:00 and 21:59 are not quiet.
        assert_eq!(
            outside_quiet_hours(utc(2026, 12, 2, 23, 0), shanghai),
            utc(2026, 12, 2, 23, 0)
        );
        assert_eq!(
            outside_quiet_hours(utc(2026, 12, 3, 13, 59), shanghai),
            utc(2026, 12, 3, 13, 59)
        );
    }
}
