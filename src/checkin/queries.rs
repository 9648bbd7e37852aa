//! The `checkins`, `checkin_audit`, `checkin_scans` and `event_tallies` tables.
//!
//! Locks, always in this order: the event's row, in share mode
//! (`events::queries::lock_shared`: check-ins at several doors run side by
//! side, and a cancellation, which locks the row outright, waits for them or
//! they for it), then the rows the check-in writes, then last the event's
//! tally row ([`count_in`], right before the commit). A unique index allows
//! one check-in per registration: of two phones scanning one ticket at once,
//! the second finds the first's check-in (`already_checked_in`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Checkin;
use crate::db::schema::{checkin_audit, checkin_scans, checkins, registrations};
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

/// A registration with the person it names, in one read, and that person
/// for the door.
struct WithPerson {
    registration: Registration,
    who: Who,
    /// The account's birth year (a walk-in has no age band).
    birth_year: Option<i32>,
}

fn with_person(conn: &mut DbConn, registration_id: &str) -> Result<Option<WithPerson>, ApiError> {
    use crate::db::schema::users;
    type Row = (
        Registration,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<i32>,
    );
    let row: Option<Row> = registrations::table
        .left_join(users::table)
        .filter(registrations::id.eq(registration_id))
        .select((
            Registration::as_select(),
            users::display_name.nullable(),
            registrations::walk_in_name,
            users::phone.nullable(),
            registrations::walk_in_phone,
            users::erased_at.nullable(),
            users::birth_year.nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(registration, name, walk_in_name, phone, walk_in_phone, erased_at, birth_year)| {
            WithPerson {
                registration,
                who: roster::greeting(
                    name,
                    walk_in_name,
                    phone,
                    walk_in_phone,
                    erased_at.is_some(),
                ),
                birth_year,
            }
        },
    ))
}

/// PostgreSQL's [`record`] in one statement: the check-in, its registration's
/// change stamp and its audit row, each only if the check-in went in.
const RECORD_PG: &str = "WITH inserted AS ( \
       INSERT INTO checkins (id, registration_id, event_id, method, device_id, offline, \
                             scanned_at, created_by, created_at, attendee_key, age_band) \
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
       ON CONFLICT DO NOTHING \
       RETURNING id, registration_id), \
     stamped AS ( \
       UPDATE registrations SET updated_at = $9 \
       WHERE id IN (SELECT registration_id FROM inserted)), \
     audited AS ( \
       INSERT INTO checkin_audit (id, checkin_id, registration_id, event_id, action, actor, \
                                  device_id, method, offline, scanned_at, at) \
       SELECT $12, id, registration_id, $3, 'created', $13, $5, $4, $6, $7, $9 FROM inserted) \
     SELECT count(*) AS inserted FROM inserted";

/// Inserts a new check-in, stamps its registration as changed (for sync
/// feeds) and writes its audit row; false, with nothing written, when the
/// registration is checked in already. A check-in on a busy event runs in its
/// event's lane on PostgreSQL (`db::hot`), one statement after another, where
/// every round trip counts: there this is one statement. On SQLite, where a
/// statement costs no round trip, it is three.
fn record(conn: &mut DbConn, c: &Checkin, actor: &str) -> Result<bool, ApiError> {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = BigInt)]
        inserted: i64,
    }
    match conn {
        DbConn::Pg(pg) => {
            let row: Inserted = diesel::sql_query(RECORD_PG)
                .bind::<Text, _>(&c.id)
                .bind::<Text, _>(&c.registration_id)
                .bind::<Text, _>(&c.event_id)
                .bind::<Text, _>(&c.method)
                .bind::<Nullable<Text>, _>(&c.device_id)
                .bind::<Bool, _>(c.offline)
                .bind::<Timestamp, _>(c.scanned_at)
                .bind::<Text, _>(&c.created_by)
                .bind::<Timestamp, _>(c.created_at)
                .bind::<Nullable<Text>, _>(&c.attendee_key)
                .bind::<Nullable<Text>, _>(&c.age_band)
                .bind::<Text, _>(uuid::Uuid::new_v4().to_string())
                .bind::<Text, _>(actor)
                .get_result(pg)?;
            Ok(row.inserted == 1)
        }
        DbConn::Sqlite(sqlite) => {
            let inserted = diesel::insert_into(checkins::table)
                .values(c)
                .on_conflict_do_nothing()
                .execute(sqlite)?;
            if inserted == 0 {
                return Ok(false);
            }
            regs_q::touch(conn, &c.registration_id)?;
            audit(conn, c, "created", actor)?;
            Ok(true)
        }
    }
}

fn audit(conn: &mut DbConn, c: &Checkin, action: &str, actor: &str) -> Result<(), ApiError> {
    diesel::insert_into(checkin_audit::table)
        .values((
            checkin_audit::id.eq(uuid::Uuid::new_v4().to_string()),
            checkin_audit::checkin_id.eq(&c.id),
            checkin_audit::registration_id.eq(&c.registration_id),
            checkin_audit::event_id.eq(&c.event_id),
            checkin_audit::action.eq(action),
            checkin_audit::actor.eq(actor),
            checkin_audit::device_id.eq(&c.device_id),
            checkin_audit::method.eq(&c.method),
            checkin_audit::offline.eq(c.offline),
            checkin_audit::scanned_at.eq(c.scanned_at),
            checkin_audit::at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
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
/// (or refused) under the lock by [`apply`], which gives the same answer for
/// a check-in that commits in between.
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
    let refused = |code| Ok((Outcome::Refused(code), 0));
    let Some(WithPerson {
        registration,
        who,
        birth_year,
    }) = with_person(conn, scan.registration_id)?
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
    let people = registration.party_size;
    Ok((Outcome::Ok(checkin, Box::new(registration), who), people))
}

/// Adds `people` (negative to take away) to the event's check-in count and
/// returns the new count. Every check-in of the event queues on this row until
/// it commits, so it is the last thing a check-in changes (see the module's
/// lock order).
pub fn count_in(conn: &mut DbConn, event_id: &str, people: i32) -> Result<i32, ApiError> {
    use crate::db::schema::event_tallies as tallies;
    if people < 0 {
        // Something was counted, so the row exists (and a negative first
        // value would fail the table's check before the conflict is seen).
        let update = diesel::update(tallies::table.find(event_id))
            .set(tallies::checked_in.eq(tallies::checked_in + people));
        return Ok(crate::db_run!(conn, |c| update
            .returning(tallies::checked_in)
            .get_result(c))?);
    }
    let upsert = diesel::insert_into(tallies::table)
        .values((
            tallies::event_id.eq(event_id),
            tallies::checked_in.eq(people),
        ))
        .on_conflict(tallies::event_id)
        .do_update()
        .set(
            tallies::checked_in
                .eq(tallies::checked_in + diesel::upsert::excluded(tallies::checked_in)),
        );
    Ok(crate::db_run!(conn, |c| upsert
        .returning(tallies::checked_in)
        .get_result(c))?)
}

/// After the scans or undos of one transaction on `event` (held since before
/// them, so its seats are current): counts the `people` they admitted (or took
/// away) and sends the event's fresh counts. Nothing when nobody changed.
pub fn settle(tx: &mut Tx<'_>, event: &Event, people: i32) -> Result<(), ApiError> {
    if people == 0 {
        return Ok(());
    }
    let mut event = event.clone();
    event.checked_in_count = count_in(tx, &event.id, people)?;
    crate::events::live::changed(tx, &event)
}

/// Undoes a check-in (a mistaken scan); the audit trail keeps it.
pub fn undo(conn: &mut Tx<'_>, checkin: &Checkin, actor: &str) -> Result<(), ApiError> {
    let event = events_q::lock_shared(conn, &checkin.event_id)?;
    let Some(current) = find(conn, &checkin.id)? else {
        return Ok(());
    };
    let party: i32 = registrations::table
        .find(&current.registration_id)
        .select(registrations::party_size)
        .first(conn.conn())?;
    // Two undos of one check-in at once: the second deletes nothing.
    if diesel::delete(checkins::table.find(&current.id)).execute(conn.conn())? == 0 {
        return Ok(());
    }
    regs_q::touch(conn, &current.registration_id)?;
    audit(conn, &current, "undone", actor)?;
    let user: Option<String> = registrations::table
        .find(&current.registration_id)
        .select(registrations::user_id)
        .first(conn.conn())?;
    announce(
        conn,
        &event.organization_id,
        &current,
        user.as_deref(),
        None,
        "checkin.undone",
    );
    settle(conn, &event, -party)
}

/// A check-in message to the organization and the resident (the counts follow
/// from [`settle`]). The organization's copy of a new check-in names the
/// attendee, for the other phones at the door (erasing the person blanks it:
/// `live::personal`).
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
