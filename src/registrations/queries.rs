//! The `registrations` table: signing up, cancelling, promoting the waitlist.
//! Every function that changes seats runs inside a write transaction and takes
//! the event's lock first (`events::queries::lock`), so sign-ups, cancellations
//! and capacity changes of one event happen one at a time; the seat check itself
//! is a conditional update the database evaluates (`claim_seats`).

use chrono::Datelike;
use diesel::prelude::*;

use super::{CANCELLED, CONFIRMED, Registration, WAITLISTED};
use crate::accounts::queries as users;
use crate::db::schema::{events, registrations};
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};
use crate::events::queries as events_q;
use crate::events::{self as ev, Event};
use crate::http::pagination::Page;
use crate::live::publish as live;
use crate::organizations::{VERIFIED, queries as orgs};

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Registration>, ApiError> {
    Ok(registrations::table
        .find(id)
        .select(Registration::as_select())
        .first(conn)
        .optional()?)
}

fn age_allows(event: &Event, birth_year: Option<i32>) -> bool {
    let Some(born) = birth_year else { return false };
    let age = chrono::Utc::now().year() - born;
    event.min_age.is_none_or(|min| age >= min) && event.max_age.is_none_or(|max| age <= max)
}

/// Signs `user_id` up for `event_id` with a party of `party_size`.
pub fn register(
    conn: &mut DbConn,
    event_id: &str,
    user_id: &str,
    party_size: i32,
    note: Option<String>,
) -> Result<(Registration, Event), ApiError> {
    let event = events_q::lock(conn, event_id)?;
    let now = db::now();
    match event.status_at(now) {
        ev::DRAFT => return Err(Code::NotFound.into()),
        ev::CANCELLED | ev::COMPLETED => return Err(Code::EventNotOpen.into()),
        _ => {}
    }
    let org = orgs::find(conn, &event.organization_id)?.ok_or(ApiError::from(Code::NotFound))?;
    if org.status != VERIFIED {
        return Err(Code::EventNotOpen.into());
    }
    if event.registration_opens_at.is_some_and(|opens| now < opens) || now >= event.closes_at() {
        return Err(Code::RegistrationClosed.into());
    }
    if party_size > event.max_party_size {
        return Err(Code::PartyTooLarge.into());
    }
    if event.min_age.is_some() || event.max_age.is_some() {
        let birth_year = users::find(conn, user_id)?.birth_year;
        if !age_allows(&event, birth_year) {
            return Err(Code::NotEligible.into());
        }
    }
    let active: i64 = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::user_id.eq(user_id))
        .filter(registrations::status.ne(CANCELLED))
        .count()
        .get_result(conn)?;
    if active > 0 {
        return Err(Code::AlreadyRegistered.into());
    }
    let (status, ticket) = if events_q::claim_seats(conn, event_id, party_size)? {
        (CONFIRMED, None)
    } else if event.waitlist_enabled {
        (
            WAITLISTED,
            Some(events_q::join_waitlist(conn, event_id, party_size)?),
        )
    } else {
        return Err(Code::EventFull.into());
    };
    let registration = Registration {
        id: uuid::Uuid::new_v4().to_string(),
        event_id: event_id.to_owned(),
        user_id: Some(user_id.to_owned()),
        party_size,
        note,
        status: status.into(),
        waitlist_ticket: ticket,
        created_at: now,
        updated_at: now,
        promoted_at: None,
        cancelled_at: None,
        cancelled_by: None,
    };
    diesel::insert_into(registrations::table)
        .values(&registration)
        .execute(conn)
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                ApiError::from(Code::AlreadyRegistered)
            } else {
                e.into()
            }
        })?;
    announce(
        conn,
        &event.organization_id,
        &registration,
        "registration.created",
    )?;
    live::event_changed(conn, event_id)?;
    Ok((registration, event))
}

/// A registration message to its organization and to its resident.
pub fn announce(
    conn: &mut DbConn,
    org_id: &str,
    r: &Registration,
    kind: &str,
) -> Result<(), ApiError> {
    let data = serde_json::json!({
        "registration_id": r.id,
        "event_id": r.event_id,
        "status": r.status,
        "party_size": r.party_size,
    });
    live::to_org_and_user(conn, org_id, r.user_id.as_deref(), kind, &data)
}

/// Cancels a registration (idempotent), frees its seats and promotes the
/// waitlist. The caller has checked who may do this.
pub fn cancel(conn: &mut DbConn, id: &str, actor_id: &str) -> Result<Registration, ApiError> {
    let event_id = find(conn, id)?
        .ok_or(ApiError::from(Code::NotFound))?
        .event_id;
    let event = events_q::lock(conn, &event_id)?;
    let registration = find(conn, id)?.ok_or(ApiError::from(Code::NotFound))?;
    if registration.status == CANCELLED {
        return Ok(registration);
    }
    let now = db::now();
    if event.status_at(now) == ev::COMPLETED {
        return Err(Code::EventNotOpen.into());
    }
    diesel::update(registrations::table.find(id))
        .set((
            registrations::status.eq(CANCELLED),
            registrations::cancelled_at.eq(Some(now)),
            registrations::cancelled_by.eq(Some(actor_id)),
            registrations::updated_at.eq(now),
        ))
        .execute(conn)?;
    match registration.status.as_str() {
        CONFIRMED => {
            events_q::release_seats(conn, &event_id, registration.party_size)?;
            promote(conn, &event_id)?;
        }
        WAITLISTED => events_q::leave_waitlist(conn, &event_id, registration.party_size)?,
        _ => {}
    }
    let cancelled = find(conn, id)?.ok_or(ApiError::from(Code::NotFound))?;
    announce(
        conn,
        &event.organization_id,
        &cancelled,
        "registration.cancelled",
    )?;
    live::event_changed(conn, &event_id)?;
    Ok(cancelled)
}

/// Confirms waitlisted registrations in ticket order while seats are free; a
/// party too large for the free seats keeps its place and later parties that
/// fit go ahead. Call with the event locked. Returns those promoted.
pub fn promote(conn: &mut DbConn, event_id: &str) -> Result<Vec<Registration>, ApiError> {
    let event = events_q::find(conn, event_id)?.ok_or(ApiError::from(Code::NotFound))?;
    let mut free = event.capacity - event.confirmed_seats;
    let mut promoted = Vec::new();
    if free <= 0 || event.waitlist_seats == 0 {
        return Ok(promoted);
    }
    let waiting: Vec<Registration> = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq(WAITLISTED))
        .filter(registrations::party_size.le(free))
        .order(registrations::waitlist_ticket.asc())
        .select(Registration::as_select())
        .load(conn)?;
    let now = db::now();
    for registration in waiting {
        if registration.party_size > free {
            continue;
        }
        if !events_q::claim_seats(conn, event_id, registration.party_size)? {
            break;
        }
        events_q::leave_waitlist(conn, event_id, registration.party_size)?;
        diesel::update(registrations::table.find(&registration.id))
            .set((
                registrations::status.eq(CONFIRMED),
                registrations::promoted_at.eq(Some(now)),
                registrations::updated_at.eq(now),
            ))
            .execute(conn)?;
        free -= registration.party_size;
        let registration = Registration {
            status: CONFIRMED.into(),
            promoted_at: Some(now),
            updated_at: now,
            ..registration
        };
        announce(
            conn,
            &event.organization_id,
            &registration,
            "registration.promoted",
        )?;
        promoted.push(registration);
        if free == 0 {
            break;
        }
    }
    Ok(promoted)
}

/// Cancels every active registration of a cancelled event; returns the
/// residents who were registered (to tell them).
pub fn cancel_all(
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
