//! The `events` table, including its counters. The seat and waitlist counters
//! are changed only by `registrations::seats` (through `claim_seats`,
//! `release_seats`, the waitlist functions and `clear_counts`), always inside a
//! transaction that first called `lock`. Check-ins hold the row in share mode
//! (`lock_shared`) and count on a row of their own (`checkin::record::count_in`).

use chrono::NaiveDateTime;

use diesel::prelude::*;

use super::input::EventFields;
use super::{Event, PUBLISHED};
use crate::db::schema::{events, organizations};
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;
use crate::organizations::VERIFIED;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Event>, ApiError> {
    Ok(events::table
        .find(id)
        .select(Event::as_select())
        .first(conn)
        .optional()?)
}

/// The event and its organization's status (`verified`, …), in one read: a
/// sign-up's look at the event once its seat statement holds the row.
pub fn find_with_organization_status(
    conn: &mut DbConn,
    id: &str,
) -> Result<Option<(Event, String)>, ApiError> {
    Ok(events::table
        .inner_join(organizations::table)
        .filter(events::id.eq(id))
        .select((Event::as_select(), organizations::status))
        .first(conn)
        .optional()?)
}

/// Loads the event and holds its row until the transaction ends, so every
/// change to its seats and registrations happens one at a time. SQLite's
/// `BEGIN IMMEDIATE` already serializes writers; PostgreSQL takes the row lock.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<Event, ApiError> {
    held(conn, id, false)
}

/// Loads the event and keeps it from changing until the transaction ends,
/// while letting other holders in share mode go on: check-ins at several doors
/// run side by side, and wait only for a change of the event's seats or state
/// (which takes [`lock`]), so the counts they send are the committed ones.
/// SQLite's single writer already runs them one at a time.
pub fn lock_shared(conn: &mut DbConn, id: &str) -> Result<Event, ApiError> {
    held(conn, id, true)
}

fn held(conn: &mut DbConn, id: &str, shared: bool) -> Result<Event, ApiError> {
    let event = match conn {
        DbConn::Pg(c) => {
            let query = events::table.find(id).select(Event::as_select());
            if shared {
                query.for_share().first(c).optional()?
            } else {
                query.for_update().first(c).optional()?
            }
        }
        DbConn::Sqlite(_) => find(conn, id)?,
    };
    event.ok_or(ApiError::from(Code::NotFound))
}

pub fn insert(conn: &mut DbConn, event: &Event) -> Result<(), ApiError> {
    diesel::insert_into(events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

pub fn update_fields(conn: &mut DbConn, id: &str, f: &EventFields) -> Result<(), ApiError> {
    diesel::update(events::table.find(id))
        .set((
            events::title.eq(&f.title),
            events::description.eq(&f.description),
            events::category.eq(&f.category),
            events::centre_id.eq(&f.centre_id),
            events::location.eq(&f.location),
            events::starts_at.eq(f.starts_at),
            events::ends_at.eq(f.ends_at),
            events::capacity.eq(f.capacity),
            events::waitlist_enabled.eq(f.waitlist_enabled),
            events::max_party_size.eq(f.max_party_size),
            events::registration_opens_at.eq(f.registration_opens_at),
            events::registration_closes_at.eq(f.registration_closes_at),
            events::min_age.eq(f.min_age),
            events::max_age.eq(f.max_age),
            events::accessibility.eq(&f.accessibility),
            events::tags.eq(f.tags_json()),
            events::checkin_opens_minutes.eq(f.checkin_opens_minutes),
            events::contract_id.eq(&f.contract_id),
            events::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The events linked to contract `contract_id`, earliest first.
pub fn of_contract(conn: &mut DbConn, contract_id: &str) -> Result<Vec<Event>, ApiError> {
    Ok(events::table
        .filter(events::contract_id.eq(contract_id))
        .order((events::starts_at.asc(), events::id.asc()))
        .select(Event::as_select())
        .load(conn)?)
}

/// `(event id, contract id, status, ends_at)` of every event linked to one
/// of `contract_ids`.
pub fn linked_to(
    conn: &mut DbConn,
    contract_ids: &[String],
) -> Result<Vec<(String, String, String, NaiveDateTime)>, ApiError> {
    if contract_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(events::table
        .filter(events::contract_id.eq_any(contract_ids))
        .select((
            events::id,
            events::contract_id.assume_not_null(),
            events::status,
            events::ends_at,
        ))
        .load(conn)?)
}

pub fn set_status(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    diesel::update(events::table.find(id))
        .set((
            events::status.eq(status),
            events::cancel_reason.eq(reason),
            events::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes `seats` confirmed seats if they fit: the database checks the
/// capacity in the same statement, whatever the application believed.
pub fn claim_seats(conn: &mut DbConn, id: &str, seats: i32) -> Result<bool, ApiError> {
    claim(conn, id, seats, false)
}

/// Takes `seats` seats if they fit (and, with `only_published`, only while the
/// event is published); false when they did not. On PostgreSQL the statement
/// takes the event's row lock itself, held from here to the commit.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    seats: i32,
    only_published: bool,
) -> Result<bool, ApiError> {
    let claimed = diesel::update(events::table.find(id))
        .filter(events::confirmed_seats.le(events::capacity - seats))
        .filter(events::status.eq(PUBLISHED).or(diesel::dsl::not(
            only_published.into_sql::<diesel::sql_types::Bool>(),
        )))
        .set(events::confirmed_seats.eq(events::confirmed_seats + seats))
        .execute(conn)?;
    Ok(claimed > 0)
}

/// [`claim`], and the event as it now is; `None` when the seats did not fit.
pub fn claim_seats_returning(
    conn: &mut DbConn,
    id: &str,
    seats: i32,
    only_published: bool,
) -> Result<Option<Event>, ApiError> {
    match claim(conn, id, seats, only_published)? {
        false => Ok(None),
        true => reread(conn, id).map(Some),
    }
}

/// The event this transaction just changed. A short `UPDATE` and this read
/// instead of one `UPDATE … RETURNING` every column: diesel prepares every
/// `UPDATE` afresh (it cannot tell a fixed statement from a generated one),
/// and parsing and planning one that returns the whole event cost more, inside
/// the event's lock, than this second, prepared-once statement.
fn reread(conn: &mut DbConn, id: &str) -> Result<Event, ApiError> {
    find(conn, id)?.ok_or(ApiError::from(Code::NotFound))
}

pub fn release_seats(conn: &mut DbConn, id: &str, seats: i32) -> Result<(), ApiError> {
    diesel::update(events::table.find(id))
        .set(events::confirmed_seats.eq(events::confirmed_seats - seats))
        .execute(conn)?;
    Ok(())
}

/// Adds `seats` to the waitlist and returns the next waitlist ticket (tickets
/// only grow, so their order is the order the database accepted sign-ups).
pub fn join_waitlist(conn: &mut DbConn, id: &str, seats: i32) -> Result<(i64, Event), ApiError> {
    diesel::update(events::table.find(id))
        .set((
            events::waitlist_seats.eq(events::waitlist_seats + seats),
            events::waitlist_seq.eq(events::waitlist_seq + 1),
        ))
        .execute(conn)?;
    let event = reread(conn, id)?;
    Ok((event.waitlist_seq, event))
}

pub fn leave_waitlist(conn: &mut DbConn, id: &str, seats: i32) -> Result<(), ApiError> {
    diesel::update(events::table.find(id))
        .set(events::waitlist_seats.eq(events::waitlist_seats - seats))
        .execute(conn)?;
    Ok(())
}

/// Empties the counters of a cancelled event.
pub fn clear_counts(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(events::table.find(id))
        .set((events::confirmed_seats.eq(0), events::waitlist_seats.eq(0)))
        .execute(conn)?;
    Ok(())
}

/// Filters of the public listing.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub centre_id: Option<String>,
    pub organization_id: Option<String>,
    pub category: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub q: Option<String>,
    pub has_seats: Option<bool>,
}

fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Published events of verified organizations, soonest first, each with its
/// organization's name: one query for the whole page.
pub fn list(conn: &mut DbConn, f: &Filters, page: &Page) -> Result<Vec<(Event, String)>, ApiError> {
    let mut query = events::table
        .inner_join(organizations::table)
        .filter(events::status.eq(PUBLISHED))
        .filter(organizations::status.eq(VERIFIED))
        .select((Event::as_select(), organizations::name))
        .order((events::starts_at.asc(), events::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    query = match f.from {
        Some(from) => query.filter(events::starts_at.ge(from)),
        None => query.filter(events::ends_at.gt(db::now())),
    };
    if let Some(to) = f.to {
        query = query.filter(events::starts_at.lt(to));
    }
    if let Some(v) = &f.centre_id {
        query = query.filter(events::centre_id.eq(v.clone()));
    }
    if let Some(v) = &f.organization_id {
        query = query.filter(events::organization_id.eq(v.clone()));
    }
    if let Some(v) = &f.category {
        query = query.filter(events::category.eq(v.clone()));
    }
    if let Some(q) = &f.q {
        let pattern = like_pattern(q);
        query = query.filter(
            lower(events::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(events::description.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    match f.has_seats {
        Some(true) => query = query.filter(events::confirmed_seats.lt(events::capacity)),
        Some(false) => query = query.filter(events::confirmed_seats.ge(events::capacity)),
        None => {}
    }
    if let Some((at, id)) = &page.after {
        query = query.filter(
            events::starts_at
                .gt(*at)
                .or(events::starts_at.eq(*at).and(events::id.gt(id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

/// Events that ended before `cutoff` whose personal data the retention sweep
/// has not erased yet, oldest first.
pub fn due_for_retention(
    conn: &mut DbConn,
    cutoff: chrono::NaiveDateTime,
    limit: i64,
) -> Result<Vec<Event>, ApiError> {
    Ok(events::table
        .filter(events::ends_at.lt(cutoff))
        .filter(events::personal_erased_at.is_null())
        .order((events::ends_at, events::id))
        .limit(limit)
        .select(Event::as_select())
        .load(conn)?)
}

/// Marks the event's personal data as erased by the retention sweep.
pub fn mark_personal_erased(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(events::table.find(id))
        .set(events::personal_erased_at.eq(Some(db::now())))
        .execute(conn)?;
    Ok(())
}
