//! What check-ins say, read for others: attendance for the door, the facts a
//! project's report is computed from, its anomalies, the changes a buyer's
//! live report counts, and who attended (for feedback requests).

use diesel::prelude::*;

use crate::db::schema::{checkin_audit, checkin_scans, checkins, registrations};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::events::Event;
use crate::registrations as regs;

/// The residents checked in at the event (walk-ins without an account left
/// out): `(registration id, user id)`.
pub fn attended(conn: &mut DbConn, event_id: &str) -> Result<Vec<(String, String)>, ApiError> {
    let rows: Vec<(String, Option<String>)> = checkins::table
        .inner_join(registrations::table)
        .filter(checkins::event_id.eq(event_id))
        .filter(registrations::user_id.is_not_null())
        .select((registrations::id, registrations::user_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, user)| user.map(|u| (id, u)))
        .collect())
}

/// Attendance figures in people.
pub struct Attendance {
    pub capacity: i32,
    pub confirmed: i32,
    pub waitlisted: i32,
    pub checked_in: i32,
    pub walk_ins: i64,
    pub no_shows: i64,
}

pub fn attendance(conn: &mut DbConn, event: &Event) -> Result<Attendance, ApiError> {
    let walk_ins: Option<i64> = registrations::table
        .filter(registrations::event_id.eq(&event.id))
        .filter(registrations::walk_in.eq(true))
        .filter(registrations::status.ne(regs::CANCELLED))
        .select(diesel::dsl::sum(registrations::party_size))
        .first(conn)?;
    let no_shows = if event.ends_at <= db::now() {
        let unscanned: Option<i64> = registrations::table
            .left_join(checkins::table)
            .filter(registrations::event_id.eq(&event.id))
            .filter(registrations::status.eq(regs::CONFIRMED))
            .filter(checkins::id.is_null())
            .select(diesel::dsl::sum(registrations::party_size))
            .first(conn)?;
        unscanned.unwrap_or(0)
    } else {
        0
    };
    Ok(Attendance {
        capacity: event.capacity,
        confirmed: event.confirmed_seats,
        waitlisted: event.waitlist_seats,
        checked_in: event.checked_in_count,
        walk_ins: walk_ins.unwrap_or(0),
        no_shows,
    })
}

/// One check-in as figures need it: no names, only the pseudonymous key.
#[derive(Clone, Debug)]
pub struct CheckinFact {
    pub event_id: String,
    /// `None` for walk-ins.
    pub attendee_key: Option<String>,
    pub age_band: Option<String>,
    /// People admitted on it (party guests included).
    pub people: i32,
}

/// Every check-in of these events (one query).
pub fn facts_of(conn: &mut DbConn, event_ids: &[String]) -> Result<Vec<CheckinFact>, ApiError> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, Option<String>, Option<String>, i32)> = checkins::table
        .inner_join(registrations::table)
        .filter(checkins::event_id.eq_any(event_ids))
        .select((
            checkins::event_id,
            checkins::attendee_key,
            checkins::age_band,
            registrations::party_size,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(event_id, attendee_key, age_band, people)| CheckinFact {
            event_id,
            attendee_key,
            age_band,
            people,
        })
        .collect())
}

/// Uploaded scans of these events that lost to another device's scan of the
/// same ticket (offline conflicts; one query).
pub fn offline_conflicts(conn: &mut DbConn, event_ids: &[String]) -> Result<i64, ApiError> {
    if event_ids.is_empty() {
        return Ok(0);
    }
    let rows: Vec<(String, Option<String>)> = checkin_scans::table
        .left_join(
            checkins::table.on(checkins::registration_id
                .nullable()
                .eq(checkin_scans::registration_id)),
        )
        .filter(checkin_scans::event_id.eq_any(event_ids))
        .filter(
            checkin_scans::result
                .eq("already_checked_in")
                .or(checkin_scans::superseded.eq(true)),
        )
        .select((
            checkin_scans::device_id,
            checkins::device_id.nullable().assume_not_null().nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .iter()
        .filter(|(scan_device, counted)| counted.as_deref() != Some(scan_device.as_str()))
        .count() as i64)
}

/// How many check-in changes (scans, undos, supersessions) each of these
/// events has seen: a number that only grows, so a change in it means the
/// figures may have moved.
pub fn change_counts(
    conn: &mut DbConn,
    event_ids: &[String],
) -> Result<Vec<(String, i64)>, ApiError> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(checkin_audit::table
        .filter(checkin_audit::event_id.eq_any(event_ids))
        .group_by(checkin_audit::event_id)
        .select((checkin_audit::event_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Whether the registration is checked in.
pub fn is_checked_in(conn: &mut DbConn, registration_id: &str) -> Result<bool, ApiError> {
    Ok(super::queries::of_registration(conn, registration_id)?.is_some())
}
