//! Registrations as personal data: a person's sign-ups (with the consent each
//! carried) in their export; on erasure, upcoming ones cancelled through
//! [`seats`](super::seats) (seats freed, the waitlist promoted) and notes
//! erased. Past registrations stay, pointing at the erased account, so
//! attendance figures do not change.

use diesel::prelude::*;
use serde_json::{Value, json};

use super::{CANCELLED, Registration, WAITLISTED, seats};
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
        // Upcoming sign-ups, and places on the waitlist of anything not yet
        // over, are given up (seats freed, the waitlist promoted). A seat at
        // an activity under way stays: it may already be checked in.
        let upcoming: Vec<String> = registrations::table
            .inner_join(events::table)
            .filter(registrations::user_id.eq(user_id))
            .filter(registrations::status.ne(CANCELLED))
            .filter(
                events::starts_at.gt(now).or(registrations::status
                    .eq(WAITLISTED)
                    .and(events::ends_at.gt(now))),
            )
            .select(registrations::id)
            .load(tx.conn())?;
        for id in upcoming {
            seats::cancel(tx, &id, user_id)?;
        }
        // `updated_at` moves so staff phones' sync feeds pick the change up.
        diesel::update(registrations::table.filter(registrations::user_id.eq(user_id)))
            .set((
                registrations::note.eq(None::<String>),
                registrations::erased_at.eq(Some(now)),
                registrations::updated_at.eq(now),
            ))
            .execute(tx.conn())?;
        Ok(())
    }

    /// Walk-ins lose their names, phones and birth years; at a sensitive
    /// activity every person leaves the roster (user, note, who cancelled).
    fn erase_event(
        &self,
        tx: &mut Tx<'_>,
        event_id: &str,
        sensitive: bool,
    ) -> Result<(), ApiError> {
        let now = db::now();
        diesel::update(
            registrations::table
                .filter(registrations::event_id.eq(event_id))
                .filter(
                    registrations::walk_in_name
                        .is_not_null()
                        .or(registrations::walk_in_phone.is_not_null())
                        .or(registrations::walk_in_birth_year.is_not_null()),
                ),
        )
        .set((
            registrations::walk_in_name.eq(None::<String>),
            registrations::walk_in_phone.eq(None::<String>),
            registrations::walk_in_birth_year.eq(None::<i32>),
            registrations::erased_at.eq(Some(now)),
            registrations::updated_at.eq(now),
        ))
        .execute(tx.conn())?;
        if sensitive {
            diesel::update(
                registrations::table
                    .filter(registrations::event_id.eq(event_id))
                    .filter(
                        registrations::user_id
                            .is_not_null()
                            .or(registrations::note.is_not_null())
                            .or(registrations::cancelled_by.is_not_null()),
                    ),
            )
            .set((
                registrations::user_id.eq(None::<String>),
                registrations::note.eq(None::<String>),
                registrations::cancelled_by.eq(None::<String>),
                registrations::erased_at.eq(Some(now)),
                registrations::updated_at.eq(now),
            ))
            .execute(tx.conn())?;
        }
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
