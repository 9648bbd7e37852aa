//! Registrations as personal data: a person's sign-ups (with the consent each
//! carried) in their export; on erasure, upcoming ones cancelled through
//! [`seats`](super::seats) (seats freed, the waitlist promoted) and notes
//! erased. Past registrations stay, pointing at the erased account, so
//! attendance figures do not change.

use diesel::prelude::*;
use serde_json::{Value, json};

use super::{CANCELLED, Registration, seats};
use crate::db::schema::{events, registrations};
use crate::db::{self, DbConn, Tx};
use crate::error::ApiError;
use crate::events::Event;
use crate::privacy::Personal;

fn with_events(conn: &mut DbConn, user_id: &str) -> Result<Vec<(Registration, Event)>, ApiError> {
    Ok(registrations::table
        .inner_join(events::table)
        .filter(registrations::user_id.eq(user_id))
        .order((registrations::created_at, registrations::id))
        .select((Registration::as_select(), Event::as_select()))
        .load(conn)?)
}

pub struct RegistrationData;

impl Personal for RegistrationData {
    fn section(&self) -> &'static str {
        "registrations"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["registrations"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        Ok(Value::Array(
            with_events(conn, user_id)?
                .into_iter()
                .map(|(r, e)| {
                    json!({
                        "id": r.id,
                        "event": {"id": e.id, "title": e.title, "category": e.category,
                                  "starts_at": e.starts_at.and_utc(), "ends_at": e.ends_at.and_utc(),
                                  "location": e.location, "centre_id": e.centre_id},
                        "status": r.status,
                        "party_size": r.party_size,
                        "note": r.note,
                        "created_at": r.created_at.and_utc(),
                        "promoted_at": r.promoted_at.map(|t| t.and_utc()),
                        "cancelled_at": r.cancelled_at.map(|t| t.and_utc()),
                        "consent_version": r.consent_version,
                    })
                })
                .collect(),
        ))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        let now = db::now();
        let upcoming: Vec<String> = registrations::table
            .inner_join(events::table)
            .filter(registrations::user_id.eq(user_id))
            .filter(registrations::status.ne(CANCELLED))
            .filter(events::starts_at.gt(now))
            .select(registrations::id)
            .load(tx.conn())?;
        for id in upcoming {
            seats::cancel(tx, &id, user_id)?;
        }
        diesel::update(registrations::table.filter(registrations::user_id.eq(user_id)))
            .set(registrations::note.eq(None::<String>))
            .execute(tx.conn())?;
        Ok(())
    }
}

/// The separate consents given for sensitive activities, with the version of
/// the text each was given under. They live on the registrations, so erasing
/// is the registrations' part.
pub struct ConsentData;

impl Personal for ConsentData {
    fn section(&self) -> &'static str {
        "consents"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        Ok(Value::Array(
            with_events(conn, user_id)?
                .into_iter()
                .filter_map(|(r, e)| {
                    let version = r.consent_version?;
                    Some(json!({
                        "kind": "sensitive",
                        "registration_id": r.id,
                        "event_id": e.id,
                        "event_title": e.title,
                        "version": version,
                        "given_at": r.consented_at.map(|t| t.and_utc()),
                    }))
                })
                .collect(),
        ))
    }

    fn erase(&self, _tx: &mut Tx<'_>, _user_id: &str) -> Result<(), ApiError> {
        Ok(())
    }
}
