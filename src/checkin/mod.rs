//! Check-in at the door: signed QR tickets, manual check-in by name, walk-ins,
//! offline batches from staff phones, undo with an audit trail, attendance
//! figures and the sync feed for offline rosters.

pub mod door;
pub mod qr;
pub mod queries;
pub mod routes;
pub mod sync;
pub mod tickets;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::checkins;

pub const QR: &str = "qr";
pub const MANUAL: &str = "manual";
pub const WALK_IN: &str = "walk_in";

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = checkins)]
pub struct Checkin {
    pub id: String,
    pub registration_id: String,
    pub event_id: String,
    pub method: String,
    pub device_id: Option<String>,
    pub offline: bool,
    pub scanned_at: NaiveDateTime,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckinView {
    pub id: String,
    pub registration_id: String,
    pub event_id: String,
    /// `qr`, `manual` or `walk_in`.
    pub method: String,
    pub device_id: Option<String>,
    /// Scanned without a connection and uploaded later.
    pub offline: bool,
    pub scanned_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<Checkin> for CheckinView {
    fn from(c: Checkin) -> Self {
        CheckinView {
            id: c.id,
            registration_id: c.registration_id,
            event_id: c.event_id,
            method: c.method,
            device_id: c.device_id,
            offline: c.offline,
            scanned_at: c.scanned_at.and_utc(),
            created_at: c.created_at.and_utc(),
        }
    }
}
