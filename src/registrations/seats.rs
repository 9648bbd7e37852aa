//! Seats: the one module that changes who holds a seat. Sign-up, the waitlist
//! and its promotion, cancellation, a raised capacity, a cancelled event and
//! walk-ins at the door (with a manager's override) all go through here.
//!
//! Invariant, on every path and under any concurrency: the seats held by
//! confirmed registrations and seated walk-ins never exceed the capacity. The
//! seat itself is always taken by a conditional update the database evaluates
//! (`events::queries::claim`), with a `CHECK` constraint behind it, and
//! that update holds the event's row until commit. Cancellations, promotions,
//! walk-ins and the slow path of a sign-up lock the event first
//! (`events::queries::lock`); a sign-up that finds a free seat at once lets
//! the seat statement take the lock (see `sign_up`). A walk-in admitted past capacity by a
//! manager's override holds no seat: it counts in attendance, never in
//! `confirmed_count`, and cancelling it frees nothing.

use chrono::Datelike;
use diesel::prelude::*;

use super::queries::{self, announce};
use super::{CANCELLED, CONFIRMED, Registration, WAITLISTED, consent};
use crate::accounts::queries as users;
use crate::db::schema::registrations;
use crate::db::{self, Tx};
use crate::error::{ApiError, Code, Why};
use crate::events::queries as events_q;
use crate::events::{self as ev, Event};
use crate::organizations::VERIFIED;

fn age_allows(event: &Event, birth_year: Option<i32>) -> bool {
    let Some(born) = birth_year else { return false };
    let age = db::now().year() - born;
    event.min_age.is_none_or(|min| age >= min) && event.max_age.is_none_or(|max| age <= max)
}

fn new_registration(event_id: &str, user_id: Option<&str>, party_size: i32) -> Registration {
    let now = db::now();
    Registration {
        id: uuid::Uuid::new_v4().to_string(),
        event_id: event_id.to_owned(),
        user_id: user_id.map(str::to_owned),
        party_size,
        note: None,
        status: CONFIRMED.into(),
        waitlist_ticket: None,
        created_at: now,
        updated_at: now,
        promoted_at: None,
        cancelled_at: None,
        cancelled_by: None,
        over_capacity: false,
        consent_version: None,
        consented_at: None,
    }
}

/// What a sign-up needs of the event and the resident, checked once the seat
/// statement (or, without a free seat, `events::queries::lock`) holds the
/// event's row; a refusal rolls the seat back with the rest of the write.
fn check_open(
    tx: &mut Tx<'_>,
    event: &Event,
    organization_status: &str,
    user_id: &str,
    party_size: i32,
) -> Result<(), ApiError> {
    let now = db::now();
    match event.status_at(now) {
        ev::DRAFT => return Err(Code::NotFound.into()),
        ev::CANCELLED | ev::COMPLETED => return Err(Code::EventNotOpen.into()),
        _ => {}
    }
    if organization_status != VERIFIED {
        return Err(Code::EventNotOpen.into());
    }
    if event.registration_opens_at.is_some_and(|opens| now < opens) || now >= event.closes_at() {
        return Err(Code::RegistrationClosed.into());
    }
    if party_size > event.max_party_size {
        let max = event.max_party_size.into();
        return Err(ApiError::explained(
            Code::PartyTooLarge,
            Why::PartyLimit { max },
        ));
    }
    if event.min_age.is_some() || event.max_age.is_some() {
        let birth_year = users::find(tx, user_id)?.birth_year;
        if !age_allows(event, birth_year) {
            return Err(Code::NotEligible.into());
        }
    }
    Ok(())
}

/// Signs `user_id` up for `event_id` with a party of `party_size`:
/// `confirmed` while seats last, else `waitlisted`, else `event_full`.
///
/// The common case holds the event's lock briefly: the seat statement itself
/// takes it (PostgreSQL), then the event's read, the insert, the messages and
/// the commit. Only
/// when no seat is free does the sign-up lock the event and decide between
/// the waitlist and `event_full`. A second active sign-up of the same
/// resident is refused by a unique index (`already_registered`), which rolls
/// the seat back with the rest of the transaction.
pub fn sign_up(
    tx: &mut Tx<'_>,
    event_id: &str,
    user_id: &str,
    party_size: i32,
    note: Option<String>,
    consent_sensitive: bool,
) -> Result<(Registration, Event), ApiError> {
    let mut registration = new_registration(event_id, Some(user_id), party_size);
    registration.note = note;
    // The common case first: the seat statement, then the event (and its
    // organization's standing) read under the row lock that statement took,
    // then the checks. A refusal rolls the seat back with the rest of the
    // write; the answer is the one the checks would have given first.
    let open = |tx: &mut Tx<'_>, registration: &mut Registration| {
        let (event, organization_status) = events_q::find_with_organization_status(tx, event_id)?
            .ok_or(ApiError::from(Code::NotFound))?;
        check_open(tx, &event, &organization_status, user_id, party_size)?;
        let consent = consent::check(&event, consent_sensitive)?;
        registration.consent_version = consent.map(str::to_owned);
        registration.consented_at = consent.map(|_| db::now());
        Ok::<_, ApiError>(event)
    };
    let event = if events_q::claim(tx, event_id, party_size, true)? {
        open(tx, &mut registration)?
    } else {
        // No seat at the first try: decide under the event's lock.
        events_q::lock(tx, event_id)?;
        let event = open(tx, &mut registration)?;
        if queries::active_of(tx, event_id, user_id)? {
            return Err(Code::AlreadyRegistered.into());
        }
        let seated = if event.capacity - event.confirmed_seats >= party_size {
            events_q::claim_seats_returning(tx, event_id, party_size, true)?
        } else {
            None
        };
        match seated {
            Some(event) => event,
            None if event.waitlist_enabled => {
                let (ticket, event) = events_q::join_waitlist(tx, event_id, party_size)?;
                registration.status = WAITLISTED.into();
                registration.waitlist_ticket = Some(ticket);
                event
            }
            None => return Err(Code::EventFull.into()),
        }
    };
    // Stamped once its place is decided, so times follow the order the
    // database accepted sign-ups (as waitlist tickets do).
    let now = db::now();
    (registration.created_at, registration.updated_at) = (now, now);
    queries::insert(tx, &registration)?;
    announce(
        tx,
        &event.organization_id,
        &registration,
        "registration.created",
    );
    // `event` was read after the seat was claimed, under the event's lock.
    crate::events::live::changed(tx, &event)?;
    Ok((registration, event))
}

/// Cancels a registration (idempotent), frees its seats (if it held any) and
/// promotes the waitlist. The caller has checked who may do this. Messages
/// keep cause before effect: the cancellation, then the promotions.
pub fn cancel(tx: &mut Tx<'_>, id: &str, actor_id: &str) -> Result<Registration, ApiError> {
    let event_id = queries::find(tx, id)?
        .ok_or(ApiError::from(Code::NotFound))?
        .event_id;
    let event = events_q::lock(tx, &event_id)?;
    let registration = queries::find(tx, id)?.ok_or(ApiError::from(Code::NotFound))?;
    if registration.status == CANCELLED {
        return Ok(registration);
    }
    let now = db::now();
    if event.status_at(now) == ev::COMPLETED {
        return Err(Code::EventNotOpen.into());
    }
    queries::mark_cancelled(tx, id, actor_id, now)?;
    let cancelled = queries::find(tx, id)?.ok_or(ApiError::from(Code::NotFound))?;
    announce(
        tx,
        &event.organization_id,
        &cancelled,
        "registration.cancelled",
    );
    match registration.status.as_str() {
        CONFIRMED if !registration.over_capacity => {
            events_q::release_seats(tx, &event_id, registration.party_size)?;
            promote(tx, &event_id)?;
        }
        WAITLISTED => events_q::leave_waitlist(tx, &event_id, registration.party_size)?,
        _ => {}
    }
    crate::events::live::changed_by_id(tx, &event_id)?;
    Ok(cancelled)
}

/// Confirms waitlisted registrations in ticket order while seats are free; a
/// party too large for the free seats keeps its place and later parties that
/// fit go ahead. Call with the event locked. Returns those promoted.
pub fn promote(tx: &mut Tx<'_>, event_id: &str) -> Result<Vec<Registration>, ApiError> {
    let event = events_q::find(tx, event_id)?.ok_or(ApiError::from(Code::NotFound))?;
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
        .load(tx.conn())?;
    let now = db::now();
    for registration in waiting {
        if registration.party_size > free {
            continue;
        }
        if !events_q::claim_seats(tx, event_id, registration.party_size)? {
            break;
        }
        events_q::leave_waitlist(tx, event_id, registration.party_size)?;
        queries::mark_promoted(tx, &registration.id, now)?;
        free -= registration.party_size;
        let registration = Registration {
            status: CONFIRMED.into(),
            promoted_at: Some(now),
            updated_at: now,
            ..registration
        };
        announce(
            tx,
            &event.organization_id,
            &registration,
            "registration.promoted",
        );
        promoted.push(registration);
        if free == 0 {
            break;
        }
    }
    Ok(promoted)
}

/// After an event's capacity was raised: the new seats go to the waitlist.
pub fn capacity_raised(tx: &mut Tx<'_>, event_id: &str) -> Result<(), ApiError> {
    promote(tx, event_id).map(|_| ())
}

/// Cancels every active registration of an event being cancelled and empties
/// its counters; returns the residents who were registered (to tell them).
pub fn event_cancelled(
    tx: &mut Tx<'_>,
    event_id: &str,
    actor_id: &str,
) -> Result<Vec<String>, ApiError> {
    let residents = queries::cancel_all(tx, event_id, actor_id)?;
    events_q::clear_counts(tx, event_id)?;
    Ok(residents)
}

/// A confirmed registration made in the past, as sample data (`demo`) lays
/// down history: it takes its seats like a sign-up, and is refused
/// (`event_full`) when they are not free, so the invariant holds for seeded
/// data too. The seats are taken by the same conditional update as a
/// sign-up's, so the event need not be locked first; any event status will do.
pub fn confirmed_before(tx: &mut Tx<'_>, registration: &Registration) -> Result<(), ApiError> {
    if registration.status != CONFIRMED || registration.over_capacity {
        return Err(ApiError::internal(
            "confirmed_before: not a seated confirmation",
        ));
    }
    if !events_q::claim_seats(tx, &registration.event_id, registration.party_size)? {
        return Err(Code::EventFull.into());
    }
    queries::insert(tx, registration)
}

/// Someone at the door without a registration.
pub struct WalkIn {
    pub display_name: String,
    pub phone: Option<String>,
    pub birth_year: Option<i32>,
    pub party_size: i32,
    /// A manager admits them past capacity (holding no seat).
    pub override_capacity: bool,
    /// Separate consent, for the sensitive categories.
    pub consent_sensitive: bool,
}

/// A walk-in's registration, confirmed at once: it takes seats like a sign-up,
/// or with the override none at all. The event must be locked by the caller.
pub fn walk_in(tx: &mut Tx<'_>, event: &Event, w: &WalkIn) -> Result<Registration, ApiError> {
    let consent = consent::check(event, w.consent_sensitive)?;
    let seated = events_q::claim_seats(tx, &event.id, w.party_size)?;
    if !seated && !w.override_capacity {
        return Err(ApiError::explained(Code::EventFull, Why::NoSeatForWalkIn));
    }
    let mut registration = new_registration(&event.id, None, w.party_size);
    registration.over_capacity = !seated;
    registration.consent_version = consent.map(str::to_owned);
    registration.consented_at = consent.map(|_| db::now());
    queries::insert_walk_in(tx, &registration, w)?;
    announce(
        tx,
        &event.organization_id,
        &registration,
        "registration.created",
    );
    Ok(registration)
}

/// The seat rules as the `events` feature calls them (registered by `app`).
pub struct Keeper;

impl crate::events::Seats for Keeper {
    fn capacity_raised(&self, tx: &mut Tx<'_>, event_id: &str) -> Result<(), ApiError> {
        capacity_raised(tx, event_id)
    }

    fn event_cancelled(
        &self,
        tx: &mut Tx<'_>,
        event_id: &str,
        actor_id: &str,
    ) -> Result<Vec<String>, ApiError> {
        event_cancelled(tx, event_id, actor_id)
    }
}
