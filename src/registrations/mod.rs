//! Registrations: a resident's place at an event, `confirmed` while seats last,
//! else `waitlisted` in the order the database accepted them, until `cancelled`.
//! Waitlist rule: when seats free up, waitlisted registrations are confirmed in
//! ticket order, skipping a party that does not fit yet (it keeps its place at
//! the head) in favour of later ones that do. Every change of who holds a seat
//! goes through [`seats`].

pub mod access;
pub mod consent;
pub mod personal;
pub mod queries;
pub mod retention;
pub mod roster;
pub mod routes;
pub mod seats;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::registrations;
use crate::events::Event;

pub const CONFIRMED: &str = "confirmed";
pub const WAITLISTED: &str = "waitlisted";
pub const CANCELLED: &str = "cancelled";
pub const STATUSES: &[&str] = &[CONFIRMED, WAITLISTED, CANCELLED];

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = registrations)]
// Absent values are inserted as NULL, not as DEFAULT (there is none): the
// statement is then the same every time, and prepared once.
#[diesel(treat_none_as_default_value = false)]
pub struct Registration {
    pub id: String,
    pub event_id: String,
    pub user_id: Option<String>,
    pub party_size: i32,
    pub note: Option<String>,
    pub status: String,
    pub waitlist_ticket: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub promoted_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancelled_by: Option<String>,
    /// A walk-in a manager admitted past capacity: it holds no seat.
    pub over_capacity: bool,
    /// The version of the consent text agreed to (sensitive activities).
    pub consent_version: Option<String>,
    pub consented_at: Option<NaiveDateTime>,
}

/// The event a registration is for, as the resident's app lists it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EventSummary {
    pub id: String,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: String,
    pub centre_id: Option<String>,
    pub location: Option<String>,
}

impl EventSummary {
    pub fn of(event: &Event, now: NaiveDateTime) -> EventSummary {
        EventSummary {
            id: event.id.clone(),
            title: event.title.clone(),
            starts_at: event.starts_at.and_utc(),
            ends_at: event.ends_at.and_utc(),
            status: event.status_at(now).to_owned(),
            centre_id: event.centre_id.clone(),
            location: event.location.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationView {
    pub id: String,
    pub event_id: String,
    /// `confirmed`, `waitlisted` or `cancelled`.
    #[schema(example = "confirmed")]
    pub status: String,
    /// 1 for the head of the waitlist; only while `waitlisted`.
    pub waitlist_position: Option<i64>,
    pub party_size: i32,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a seat freed up and this registration left the waitlist.
    pub promoted_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub event: EventSummary,
}

impl RegistrationView {
    pub fn new(r: Registration, position: Option<i64>, event: EventSummary) -> RegistrationView {
        RegistrationView {
            id: r.id,
            event_id: r.event_id,
            status: r.status,
            waitlist_position: position,
            party_size: r.party_size,
            note: r.note,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            promoted_at: r.promoted_at.map(|t| t.and_utc()),
            cancelled_at: r.cancelled_at.map(|t| t.and_utc()),
            event,
        }
    }
}
