//! The `checkins`, `checkin_audit`, `checkin_scans` and `event_tallies` tables.
//!
//! Locks, always in this order: the event's row, in share mode
//! (`events::queries::lock_shared`: check-ins at several doors run side by
//! side, and a cancellation, which locks the row outright, waits for them or
//! they for it), then the registrations and the rows the check-ins write,
//! and the event's tally row last ([`settle`], `record::count_in`), once for
//! all the scans of one write (a group of door scans, an upload). An undo
//! stamps the registration before it deletes the check-in, in that order too.
//! A unique index allows one check-in per registration: of two phones
//! scanning one ticket at once, the second finds the first's check-in
//! (`already_checked_in`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Checkin;
use super::record::{audit, count_in, record};
use crate::db::schema::{checkin_scans, checkins, registrations};
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::events::{self as ev, Event, queries as events_q};
use crate::registrations::roster::{self, Who};
use crate::registrations::{self as regs, Registration, queries as regs_q};

/// How one scan ended.
#[derive(Debug)]
pub enum Outcome {
    /// Checked in now, and who it is (for the door and the `org:` message).
    Ok(Checkin, Box<Registration>, Who),
    /// Already checked in: the check-in that counts (for offline scans, the
    /// earliest one).
    Already(Checkin),
    Refused(Code),
}

impl Outcome {
    pub fn result(&self) -> &'static str {
        match self {
            Outcome::Ok(..) => "ok",
            Outcome::Already(_) => "already_checked_in",
            Outcome::Refused(code) => code.as_str(),
        }
    }

    pub fn checkin_id(&self) -> Option<&str> {
        match self {
            Outcome::Ok(c, ..) | Outcome::Already(c) => Some(&c.id),
            Outcome::Refused(_) => None,
        }
    }
}

/// One scan to apply.
pub struct Scan<'a> {
    pub event_id: &'a str,
    pub registration_id: &'a str,
    pub method: &'a str,
    pub device_id: Option<&'a str>,
    pub offline: bool,
    pub scanned_at: NaiveDateTime,
    pub actor: &'a str,
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Checkin>, ApiError> {
    Ok(checkins::table
        .find(id)
        .select(Checkin::as_select())
        .first(conn)
        .optional()?)
}

pub(super) fn of_registration(
    conn: &mut DbConn,
    registration_id: &str,
) -> Result<Option<Checkin>, ApiError> {
    Ok(checkins::table
        .filter(checkins::registration_id.eq(registration_id))
        .select(Checkin::as_select())
        .first(conn)
        .optional()?)
}

/// A registration and the person it names, for the door.
#[derive(Clone)]
struct WithPerson {
    registration: Registration,
    who: Who,
    /// The account's birth year (a walk-in has no age band).
    birth_year: Option<i32>,
}

type PersonRow = (roster::WhoRow, Option<i32>);

impl WithPerson {
    fn of(registration: Registration, (who, birth_year): PersonRow) -> WithPerson {
        WithPerson {
            registration,
            who: roster::who_of(who),
            birth_year,
        }
    }
}

/// A registration with its person, in one read.
fn with_person(conn: &mut DbConn, registration_id: &str) -> Result<Option<WithPerson>, ApiError> {
    Ok(with_people(conn, vec![registration_id.to_owned()])?.remove(registration_id))
}

/// The registrations `ids` with their persons, by id, in one read.
fn with_people(
    conn: &mut DbConn,
    ids: Vec<String>,
) -> Result<HashMap<String, WithPerson>, ApiError> {
    use crate::db::schema::users;
    let rows: Vec<(Registration, PersonRow)> = registrations::table
        .left_join(users::table)
        .filter(registrations::id.eq_any(ids))
        .select((
            Registration::as_select(),
            (roster::who_columns(), users::birth_year.nullable()),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(registration, person)| {
            (
                registration.id.clone(),
                WithPerson::of(registration, person),
            )
        })
        .collect())
}

/// The event, held in share mode as [`events_q::lock_shared`] holds it, and
/// the registrations `ids` with their persons, by id. On PostgreSQL one
/// statement, which also locks the registrations' rows as the check-ins'
/// change stamps will (in the order of their ids): a locked row is read as it
/// is once the lock is held, so a scan that waited for the event while a
/// cancellation held it sees the registration cancelled (an unlocked joined
/// row would be read as it was before the wait). The same ticket scanned at
/// two instances at once: the second waits here for the first's commit, then
/// finds its check-in.
fn held_with_people(
    conn: &mut DbConn,
    event_id: &str,
    ids: Vec<String>,
) -> Result<(Event, HashMap<String, WithPerson>), ApiError> {
    use crate::db::schema::{events, users};
    let DbConn::Pg(pg) = conn else {
        let event = events_q::lock_shared(conn, event_id)?;
        return Ok((event, with_people(conn, ids)?));
    };
    type Row = (Event, Registration, PersonRow);
    let query = events::table
        // (Owned: diesel's join clauses take only `'static` binds.)
        .inner_join(registrations::table.on(registrations::id.eq_any(ids.clone())))
        .left_join(users::table.on(registrations::user_id.eq(users::id.nullable())))
        .filter(events::id.eq(event_id))
        .select((
            Event::as_select(),
            Registration::as_select(),
            (roster::who_columns(), users::birth_year.nullable()),
        ))
        .order(registrations::id);
    let rows: Vec<Row> =
        crate::db::lock::share_and_no_key_update(query, events::table, registrations::table)
            .load(pg)?;
    let Some(event) = rows.first().map(|(event, ..)| event.clone()) else {
        // None of the registrations exists (or no such event): the event
        // alone, as `lock_shared` holds it (or its `404`).
        let event = events_q::lock_shared(conn, event_id)?;
        return Ok((event, with_people(conn, ids)?));
    };
    let found = rows
        .into_iter()
        .map(|(_, registration, person)| {
            (
                registration.id.clone(),
                WithPerson::of(registration, person),
            )
        })
        .collect();
    Ok((event, found))
}

/// Whether online check-in is open now: from the event's
/// `checkin_opens_minutes` (default an hour) before the start to the end.
pub fn in_window(event: &Event, now: NaiveDateTime) -> bool {
    let opens = event.starts_at - chrono::Duration::minutes(i64::from(event.checkin_opens_minutes));
    now >= opens && now <= event.ends_at
}

/// A live scan of a ticket that is already checked in changes nothing, so it is
/// answered from a read, without queueing for the event's lock: forty repeat
/// scans at a busy door cost no writes. `None` when the scan must be applied
/// (or refused) under the lock by [`scan_many`], which gives the same answer
/// for a check-in that commits in between.
pub fn repeat_scan(
    conn: &mut DbConn,
    event: &Event,
    registration_id: &str,
) -> Result<Option<Checkin>, ApiError> {
    if event.status == ev::CANCELLED {
        return Ok(None);
    }
    // The registration's event and whether it is checked in, in one read
    // (the check-in itself is read only for a repeat).
    let row: Option<(String, Option<String>)> = registrations::table
        .left_join(checkins::table)
        .filter(registrations::id.eq(registration_id))
        .select((registrations::event_id, checkins::id.nullable()))
        .first(conn)
        .optional()?;
    match row {
        Some((event_id, Some(checkin_id))) if event_id == event.id => find(conn, &checkin_id),
        _ => Ok(None),
    }
}

/// Applies one scan with the event already held by the caller (in share mode
/// or outright). Returns how it ended and the people it admitted, which the
/// caller counts with [`settle`] once all its scans are applied.
pub fn apply(conn: &mut Tx<'_>, event: &Event, scan: &Scan) -> Result<(Outcome, i32), ApiError> {
    let found = with_person(conn, scan.registration_id)?;
    admit(conn, event, found, scan)
}

/// The scans at an event's door that queued together, the whole write
/// (`routes::DoorScans`): holds the event in share mode and reads every
/// scan's registration with its person in one statement, applies the scans
/// in order (a ticket scanned twice among them is checked in by the first),
/// then counts the people they admitted and sends the event's fresh counts
/// once. On PostgreSQL, where it runs in the event's lane, that is one
/// statement per scan admitted, and for the lot one read before and the
/// count after (a repeat or a refusal reads a little more). Returns the event
/// as counted.
pub fn scan_many(
    tx: &mut Tx<'_>,
    event_id: &str,
    scans: &[Scan],
) -> Result<(Event, Vec<Outcome>), ApiError> {
    let ids = scans.iter().map(|s| s.registration_id.to_owned()).collect();
    let (mut event, found) = held_with_people(tx, event_id, ids)?;
    let mut outcomes = Vec::with_capacity(scans.len());
    let mut people = 0;
    for scan in scans {
        let person = found.get(scan.registration_id).cloned();
        let (outcome, admitted) = admit(tx, &event, person, scan)?;
        people += admitted;
        outcomes.push(outcome);
    }
    if let Some(count) = settle(tx, &event, people)? {
        event.checked_in_count = count;
    }
    Ok((event, outcomes))
}

/// [`apply`] on the registration `found`: how the scan ended and the people
/// it admitted, for the caller to count.
fn admit(
    conn: &mut Tx<'_>,
    event: &Event,
    found: Option<WithPerson>,
    scan: &Scan,
) -> Result<(Outcome, i32), ApiError> {
    let refused = |code| Ok((Outcome::Refused(code), 0));
    let Some(WithPerson {
        registration,
        who,
        birth_year,
    }) = found
    else {
        return refused(Code::NotFound);
    };
    if registration.event_id != event.id {
        return refused(Code::WrongEvent);
    }
    if event.status == ev::CANCELLED {
        return refused(Code::EventCancelled);
    }
    let now = db::now();
    let refusal = match registration.status.as_str() {
        regs::CANCELLED => Some(Code::RegistrationCancelled),
        regs::CONFIRMED if !scan.offline && !in_window(event, now) => {
            Some(Code::OutsideCheckinWindow)
        }
        regs::CONFIRMED => None,
        _ => Some(Code::NotConfirmed),
    };
    // A scan at the door that will be admitted skips this read: the insert
    // below finds an earlier check-in by its unique index. An upload (which
    // may hold an earlier scan) and a refusal (a ticket already used answers
    // `already_checked_in`, whatever its state now) look first.
    let existing = if scan.offline || refusal.is_some() {
        of_registration(conn, scan.registration_id)?
    } else {
        None
    };
    if let Some(existing) = existing {
        if scan.offline
            && scan.scanned_at < existing.scanned_at
            && scan.device_id != existing.device_id.as_deref()
        {
            // An earlier scan from another phone arrives late: it wins, and the
            // scans that had been counted are marked as the duplicates.
            let earlier = Checkin {
                device_id: scan.device_id.map(str::to_owned),
                scanned_at: scan.scanned_at,
                method: scan.method.to_owned(),
                offline: true,
                ..existing.clone()
            };
            // Only uploads get here, and they hold the event outright: no
            // other scan of this ticket can be under way.
            diesel::update(checkins::table.find(&existing.id))
                .set((
                    checkins::device_id.eq(&earlier.device_id),
                    checkins::scanned_at.eq(earlier.scanned_at),
                    checkins::method.eq(&earlier.method),
                    checkins::offline.eq(true),
                ))
                .execute(conn.conn())?;
            // Their answer stays `ok` (a re-upload replays it); the conflict
            // is marked for the anomalies list and the reports.
            diesel::update(
                checkin_scans::table
                    .filter(checkin_scans::checkin_id.eq(&existing.id))
                    .filter(checkin_scans::result.eq("ok")),
            )
            .set(checkin_scans::superseded.eq(true))
            .execute(conn.conn())?;
            audit(conn, &existing, "superseded", scan.actor)?;
            audit(conn, &earlier, "created", scan.actor)?;
            return Ok((Outcome::Ok(earlier, Box::new(registration), who), 0));
        }
        return Ok((Outcome::Already(existing), 0));
    }
    if let Some(code) = refusal {
        return refused(code);
    }
    let (attendee_key, age_band) = match &registration.user_id {
        Some(user_id) => (
            Some(super::attendee_key(user_id)),
            super::age_band(birth_year, chrono::Datelike::year(&event.starts_at)),
        ),
        None => (None, None),
    };
    let checkin = Checkin {
        id: uuid::Uuid::new_v4().to_string(),
        registration_id: registration.id.clone(),
        event_id: event.id.clone(),
        method: scan.method.to_owned(),
        device_id: scan.device_id.map(str::to_owned),
        offline: scan.offline,
        scanned_at: scan.scanned_at,
        created_by: scan.actor.to_owned(),
        created_at: now,
        attendee_key,
        age_band,
    };
    // Another door's scan of the same ticket may be committing right now: the
    // unique index makes this insert wait for it and then do nothing.
    let people = registration.party_size;
    if !record(conn.conn(), &checkin, scan.actor)? {
        let first = of_registration(conn, &registration.id)?
            .ok_or_else(|| ApiError::internal("a check-in conflicted with none"))?;
        return Ok((Outcome::Already(first), 0));
    }
    announce(
        conn,
        &event.organization_id,
        &checkin,
        registration.user_id.as_deref(),
        Some(&who),
        "checkin.created",
    );
    Ok((Outcome::Ok(checkin, Box::new(registration), who), people))
}

/// After the scans or undos of one transaction on `event` (held since before
/// them, so its seats are current): counts the `people` they admitted (or took
/// away) and sends the event's fresh counts. Nothing when nobody changed.
/// Returns the event's new count when it changed.
pub fn settle(tx: &mut Tx<'_>, event: &Event, people: i32) -> Result<Option<i32>, ApiError> {
    if people == 0 {
        return Ok(None);
    }
    let mut event = event.clone();
    event.checked_in_count = count_in(tx, &event.id, people)?;
    crate::events::live::changed(tx, &event)?;
    Ok(Some(event.checked_in_count))
}

/// Undoes a check-in (a mistaken scan); the audit trail keeps it.
pub fn undo(conn: &mut Tx<'_>, checkin: &Checkin, actor: &str) -> Result<(), ApiError> {
    let event = events_q::lock_shared(conn, &checkin.event_id)?;
    let Some(current) = find(conn, &checkin.id)? else {
        return Ok(());
    };
    // The registration's stamp before the delete, as a scan locks the
    // registration before it inserts: the other way round, an undo and a
    // re-scan of the same ticket deadlock (the scan's insert waits for the
    // undo's delete on the unique index, the undo's stamp for the scan's lock).
    regs_q::touch(conn, &current.registration_id)?;
    let (party, user): (i32, Option<String>) = registrations::table
        .find(&current.registration_id)
        .select((registrations::party_size, registrations::user_id))
        .first(conn.conn())?;
    // Two undos of one check-in at once: the second deletes nothing (its
    // stamp stays, which only makes a sync feed send the registration again).
    if diesel::delete(checkins::table.find(&current.id)).execute(conn.conn())? == 0 {
        return Ok(());
    }
    audit(conn, &current, "undone", actor)?;
    announce(
        conn,
        &event.organization_id,
        &current,
        user.as_deref(),
        None,
        "checkin.undone",
    );
    settle(conn, &event, -party).map(|_| ())
}

/// A check-in message to the organization and the resident (the counts follow
/// from [`settle`]). The organization's copy of a new
/// check-in names the attendee, for the other phones at the door (erasing the
/// person blanks it: `live::personal`).
fn announce(
    conn: &mut Tx<'_>,
    organization_id: &str,
    c: &Checkin,
    user_id: Option<&str>,
    who: Option<&Who>,
    kind: &str,
) {
    use crate::live::outbox::publish;
    let data = serde_json::json!({
        "checkin_id": c.id,
        "registration_id": c.registration_id,
        "event_id": c.event_id,
        "method": c.method,
        "device_id": c.device_id,
        "scanned_at": c.scanned_at.and_utc(),
    });
    let mut for_staff = data.clone();
    if let Some((display_name, phone_last4)) = who {
        for_staff["attendee"] =
            serde_json::json!({"display_name": display_name, "phone_last4": phone_last4});
    }
    publish(conn, format!("org:{organization_id}"), kind, &for_staff);
    if let Some(user) = user_id {
        publish(conn, format!("user:{user}"), kind, &data);
    }
}

/// A stored batch scan: (result, check-in id).
pub fn stored_scan(
    conn: &mut DbConn,
    event_id: &str,
    device_id: &str,
    scan_id: &str,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    Ok(checkin_scans::table
        .find((event_id, device_id, scan_id))
        .select((checkin_scans::result, checkin_scans::checkin_id))
        .first(conn)
        .optional()?)
}

#[expect(clippy::too_many_arguments, reason = "one row of the scans table")]
pub fn store_scan(
    conn: &mut DbConn,
    event_id: &str,
    device_id: &str,
    scan_id: &str,
    registration_id: Option<&str>,
    result: &str,
    checkin_id: Option<&str>,
    scanned_at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(checkin_scans::table)
        .values((
            checkin_scans::event_id.eq(event_id),
            checkin_scans::device_id.eq(device_id),
            checkin_scans::scan_id.eq(scan_id),
            checkin_scans::registration_id.eq(registration_id),
            checkin_scans::result.eq(result),
            checkin_scans::checkin_id.eq(checkin_id),
            checkin_scans::scanned_at.eq(scanned_at),
            checkin_scans::received_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}
