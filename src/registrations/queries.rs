//! The `registrations` table: finding, storing and listing registrations. The
//! rules that decide who holds a seat are in `seats`, the only caller of the
//! statements here that change a registration's status.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::seats::WalkIn;
use super::{CANCELLED, CONFIRMED, Registration, WAITLISTED};
use crate::db::schema::{events, registrations};
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::events::Event;
use crate::http::pagination::Page;
use crate::live::outbox;

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Registration>, ApiError> {
    Ok(registrations::table
        .find(id)
        .select(Registration::as_select())
        .first(conn)
        .optional()?)
}

/// Whether the user holds an active (not cancelled) registration for the event.
pub fn active_of(conn: &mut DbConn, event_id: &str, user_id: &str) -> Result<bool, ApiError> {
    let active: i64 = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::user_id.eq(user_id))
        .filter(registrations::status.ne(CANCELLED))
        .count()
        .get_result(conn)?;
    Ok(active > 0)
}

/// The residents holding an active registration for the event:
/// `(registration id, user id, status)`, walk-ins without an account left out.
pub fn holders(
    conn: &mut DbConn,
    event_id: &str,
) -> Result<Vec<(String, String, String)>, ApiError> {
    let rows: Vec<(String, Option<String>, String)> = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.ne(CANCELLED))
        .filter(registrations::user_id.is_not_null())
        .select((
            registrations::id,
            registrations::user_id,
            registrations::status,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, user, status)| user.map(|u| (id, u, status)))
        .collect())
}

/// Stores a new registration; a second active one of the same resident for
/// the same event is refused by a unique index (`already_registered`).
pub(super) fn insert(conn: &mut DbConn, r: &Registration) -> Result<(), ApiError> {
    diesel::insert_into(registrations::table)
        .values(r)
        .execute(conn)
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                ApiError::from(Code::AlreadyRegistered)
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Stores a walk-in's registration with the name and phone given at the door.
pub(super) fn insert_walk_in(
    conn: &mut DbConn,
    r: &Registration,
    w: &WalkIn,
) -> Result<(), ApiError> {
    diesel::insert_into(registrations::table)
        .values((
            r,
            registrations::walk_in_name.eq(&w.display_name),
            registrations::walk_in_phone.eq(&w.phone),
            registrations::walk_in_birth_year.eq(w.birth_year),
            registrations::walk_in.eq(true),
        ))
        .execute(conn)?;
    Ok(())
}

pub(super) fn mark_cancelled(
    conn: &mut DbConn,
    id: &str,
    actor_id: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(registrations::table.find(id))
        .set((
            registrations::status.eq(CANCELLED),
            registrations::cancelled_at.eq(Some(now)),
            registrations::cancelled_by.eq(Some(actor_id)),
            registrations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub(super) fn mark_promoted(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(registrations::table.find(id))
        .set((
            registrations::status.eq(CONFIRMED),
            registrations::promoted_at.eq(Some(now)),
            registrations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records that a registration changed (a check-in, an undo), for sync feeds.
pub fn touch(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(registrations::table.find(id))
        .set(registrations::updated_at.eq(db::now()))
        .execute(conn)?;
    Ok(())
}

/// A registration message to its organization and to its resident.
pub fn announce(tx: &mut Tx<'_>, org_id: &str, r: &Registration, kind: &str) {
    let data = serde_json::json!({
        "registration_id": r.id,
        "event_id": r.event_id,
        "status": r.status,
        "party_size": r.party_size,
    });
    outbox::to_org_and_user(tx, org_id, r.user_id.as_deref(), kind, &data);
}

/// Cancels every active registration of an event (seats: see
/// `seats::event_cancelled`); returns the residents who were registered.
pub(super) fn cancel_all(
    conn: &mut DbConn,
    event_id: &str,
    actor_id: &str,
) -> Result<Vec<String>, ApiError> {
    let now = db::now();
    let residents: Vec<Option<String>> = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.ne(CANCELLED))
        .select(registrations::user_id)
        .load(conn)?;
    diesel::update(
        registrations::table
            .filter(registrations::event_id.eq(event_id))
            .filter(registrations::status.ne(CANCELLED)),
    )
    .set((
        registrations::status.eq(CANCELLED),
        registrations::cancelled_at.eq(Some(now)),
        registrations::cancelled_by.eq(Some(actor_id)),
        registrations::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(residents.into_iter().flatten().collect())
}

/// 1 for the head of the waitlist.
pub fn waitlist_position(conn: &mut DbConn, r: &Registration) -> Result<Option<i64>, ApiError> {
    let (Some(ticket), true) = (r.waitlist_ticket, r.status == WAITLISTED) else {
        return Ok(None);
    };
    let ahead: i64 = registrations::table
        .filter(registrations::event_id.eq(&r.event_id))
        .filter(registrations::status.eq(WAITLISTED))
        .filter(registrations::waitlist_ticket.lt(ticket))
        .count()
        .get_result(conn)?;
    Ok(Some(ahead + 1))
}

/// The user's registrations with their events, the latest event first.
pub fn mine(
    conn: &mut DbConn,
    user_id: &str,
    status: Option<&str>,
    page: &Page,
) -> Result<Vec<(Registration, Event)>, ApiError> {
    let mut query = registrations::table
        .inner_join(events::table)
        .filter(registrations::user_id.eq(user_id.to_owned()))
        .select((Registration::as_select(), Event::as_select()))
        .order((events::starts_at.desc(), registrations::id.desc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(registrations::status.eq(status.to_owned()));
    }
    if let Some((at, id)) = &page.after {
        query = query.filter(
            events::starts_at.lt(*at).or(events::starts_at
                .eq(*at)
                .and(registrations::id.lt(id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}
