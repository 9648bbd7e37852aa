//! Check-ins as personal data: when a person was checked in, and how. Erasing
//! leaves them: a check-in carries only a pseudonymous attendee key and an age
//! band, so attendance, unique residents and every report stay as they were.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::{checkins, registrations};
use crate::db::{DbConn, Tx};
use crate::error::ApiError;
use crate::privacy::Personal;

pub struct CheckinData;

impl Personal for CheckinData {
    fn section(&self) -> &'static str {
        "checkins"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["checkins"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let rows: Vec<(String, String, String, String, chrono::NaiveDateTime)> = checkins::table
            .inner_join(registrations::table)
            .filter(registrations::user_id.eq(user_id))
            .order(checkins::scanned_at)
            .select((
                checkins::id,
                checkins::event_id,
                checkins::registration_id,
                checkins::method,
                checkins::scanned_at,
            ))
            .load(conn)?;
        Ok(Value::Array(
            rows.into_iter()
                .map(|(id, event, registration, method, at)| {
                    json!({"id": id, "event_id": event, "registration_id": registration,
                           "method": method, "checked_in_at": at.and_utc()})
                })
                .collect(),
        ))
    }

    fn erase(&self, _tx: &mut Tx<'_>, _user_id: &str) -> Result<(), ApiError> {
        Ok(())
    }
}
