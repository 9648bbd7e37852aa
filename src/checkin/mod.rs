//! Check-in at the door: signed QR tickets, manual check-in by name, walk-ins,
//! offline batches from staff phones, undo with an audit trail, attendance
//! figures and the sync feed for offline rosters.

pub mod audit;
pub mod door;
pub mod figures;
pub mod personal;
pub mod qr;
pub mod queries;
pub mod record;
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
// Absent values are inserted as NULL, not as DEFAULT (there is none): the
// statement is then the same every time, and prepared once.
#[diesel(treat_none_as_default_value = false)]
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
    /// A pseudonym of the registered resident (never of walk-ins or party
    /// guests), the same at every check-in: distinct residents are counted
    /// from it, so erasing the person later changes no figure.
    pub attendee_key: Option<String>,
    /// `60+` or `under_60` at the event's date, when the resident gave a birth year.
    pub age_band: Option<String>,
}

pub const ELDERLY: &str = "60+";
pub const UNDER_60: &str = "under_60";

/// The pseudonymous attendee key of a resident: a one-way digest of their
/// random account id, kept on each check-in.
pub fn attendee_key(user_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("mulin-attendee:{user_id}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The age band of someone born in `birth_year` on a day of `year`.
pub fn age_band(birth_year: Option<i32>, year: i32) -> Option<String> {
    birth_year.map(|born| {
        if year - born >= 60 {
            ELDERLY.to_owned()
        } else {
            UNDER_60.to_owned()
        }
    })
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
