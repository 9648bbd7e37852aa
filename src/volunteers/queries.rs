//! The volunteers' tables: profiles, shifts, applications, the door's in/out
//! pairs, hours records and certificates. Every change to a shift's slots or
//! to a volunteer's pairs on it holds the shift's row (`lock_shift`) until the
//! transaction ends, so racing applications and scans are decided one at a time.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{APPROVED, Application, HoursRecord, Shift, Volunteer};
use crate::db::schema::{
    shift_applications, shifts, volunteer_certificates, volunteer_hours, volunteer_sessions,
    volunteers,
};
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;

pub fn volunteer(conn: &mut DbConn, user_id: &str) -> Result<Option<Volunteer>, ApiError> {
    Ok(volunteers::table
        .find(user_id)
        .select(Volunteer::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_number(conn: &mut DbConn, volunteer_no: &str) -> Result<Option<Volunteer>, ApiError> {
    Ok(volunteers::table
        .filter(volunteers::volunteer_no.eq(volunteer_no))
        .select(Volunteer::as_select())
        .first(conn)
        .optional()?)
}

/// Adds the profile; a racing second opt-in of the same user is
/// `already_volunteer` (the caller has checked the number is free).
pub fn insert_volunteer(conn: &mut DbConn, v: &Volunteer) -> Result<(), ApiError> {
    diesel::insert_into(volunteers::table)
        .values(v)
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyVolunteer))?;
    Ok(())
}

/// A unique-index violation as `code` (the transaction ends with it).
fn unique_as(e: diesel::result::Error, code: Code) -> ApiError {
    if db::is_unique_violation(&e) {
        code.into()
    } else {
        e.into()
    }
}

pub fn insert_shift(conn: &mut DbConn, shift: &Shift) -> Result<(), ApiError> {
    diesel::insert_into(shifts::table)
        .values(shift)
        .execute(conn)?;
    Ok(())
}

pub fn shift(conn: &mut DbConn, id: &str) -> Result<Option<Shift>, ApiError> {
    Ok(shifts::table
        .find(id)
        .select(Shift::as_select())
        .first(conn)
        .optional()?)
}

/// The shift, its row held until the transaction ends (SQLite's one writer
/// already serializes; PostgreSQL takes the row lock).
pub fn lock_shift(conn: &mut DbConn, id: &str) -> Result<Shift, ApiError> {
    let shift = match conn {
        DbConn::Pg(c) => shifts::table
            .find(id)
            .select(Shift::as_select())
            .for_update()
            .first(c)
            .optional()?,
        DbConn::Sqlite(_) => shift(conn, id)?,
    };
    shift.ok_or(ApiError::from(Code::NotFound))
}

pub fn shifts_of(conn: &mut DbConn, event_id: &str) -> Result<Vec<Shift>, ApiError> {
    Ok(shifts::table
        .filter(shifts::event_id.eq(event_id))
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .limit(200)
        .select(Shift::as_select())
        .load(conn)?)
}

/// Moves the shift's approved count by `delta`; the caller holds its lock and
/// has checked the slots.
pub fn add_approved(conn: &mut DbConn, id: &str, delta: i32) -> Result<(), ApiError> {
    diesel::update(shifts::table.find(id))
        .set(shifts::approved.eq(shifts::approved + delta))
        .execute(conn)?;
    Ok(())
}

pub fn insert_application(conn: &mut DbConn, a: &Application) -> Result<(), ApiError> {
    diesel::insert_into(shift_applications::table)
        .values(a)
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyApplied))?;
    Ok(())
}

pub fn application(conn: &mut DbConn, id: &str) -> Result<Option<Application>, ApiError> {
    Ok(shift_applications::table
        .find(id)
        .select(Application::as_select())
        .first(conn)
        .optional()?)
}

pub fn application_of(
    conn: &mut DbConn,
    shift_id: &str,
    user_id: &str,
) -> Result<Option<Application>, ApiError> {
    Ok(shift_applications::table
        .filter(shift_applications::shift_id.eq(shift_id))
        .filter(shift_applications::user_id.eq(user_id))
        .select(Application::as_select())
        .first(conn)
        .optional()?)
}

pub fn decide(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(shift_applications::table.find(id))
        .set((
            shift_applications::status.eq(status),
            shift_applications::decided_by.eq(Some(by)),
            shift_applications::decided_at.eq(Some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A page of a shift's applications (all of them, or one volunteer's), with
/// each applicant's profile.
pub fn applications(
    conn: &mut DbConn,
    shift_id: &str,
    only_user: Option<&str>,
    page: &Page,
) -> Result<Vec<(Application, Volunteer)>, ApiError> {
    let mut q = shift_applications::table
        .inner_join(volunteers::table.on(volunteers::user_id.eq(shift_applications::user_id)))
        .filter(shift_applications::shift_id.eq(shift_id))
        .into_boxed();
    if let Some(user) = only_user {
        q = q.filter(shift_applications::user_id.eq(user.to_owned()));
    }
    if let Some((at, id)) = &page.after {
        q = q.filter(
            shift_applications::created_at
                .gt(*at)
                .or(shift_applications::created_at
                    .eq(*at)
                    .and(shift_applications::id.gt(id.clone()))),
        );
    }
    Ok(q.order((
        shift_applications::created_at.asc(),
        shift_applications::id.asc(),
    ))
    .limit(page.limit + 1)
    .select((Application::as_select(), Volunteer::as_select()))
    .load(conn)?)
}

/// Whether the volunteer holds an approved place on the shift.
pub fn is_approved(conn: &mut DbConn, shift_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(application_of(conn, shift_id, user_id)?.is_some_and(|a| a.status == APPROVED))
}

/// The id and sign-in time of the volunteer's open pair on the shift.
pub fn open_pair(
    conn: &mut DbConn,
    shift_id: &str,
    user_id: &str,
) -> Result<Option<(String, NaiveDate)>, ApiError> {
    Ok(volunteer_sessions::table
        .filter(volunteer_sessions::shift_id.eq(shift_id))
        .filter(volunteer_sessions::user_id.eq(user_id))
        .filter(volunteer_sessions::out_at.is_null())
        .select((volunteer_sessions::id, volunteer_sessions::day))
        .first(conn)
        .optional()?)
}

/// The in/out pairs (closed or open) of a volunteer on a shift on one day.
pub fn pairs_on(
    conn: &mut DbConn,
    shift_id: &str,
    user_id: &str,
    day: NaiveDate,
) -> Result<Vec<(NaiveDateTime, Option<NaiveDateTime>)>, ApiError> {
    Ok(volunteer_sessions::table
        .filter(volunteer_sessions::shift_id.eq(shift_id))
        .filter(volunteer_sessions::user_id.eq(user_id))
        .filter(volunteer_sessions::day.eq(day))
        .order(volunteer_sessions::in_at.asc())
        .select((volunteer_sessions::in_at, volunteer_sessions::out_at))
        .load(conn)?)
}

/// Opens a pair; a second open pair (two phones at once) is `already_signed_in`.
pub fn sign_in(
    conn: &mut DbConn,
    shift_id: &str,
    user_id: &str,
    day: NaiveDate,
    at: NaiveDateTime,
    by: &str,
) -> Result<(), ApiError> {
    diesel::insert_into(volunteer_sessions::table)
        .values((
            volunteer_sessions::id.eq(uuid::Uuid::new_v4().to_string()),
            volunteer_sessions::shift_id.eq(shift_id),
            volunteer_sessions::user_id.eq(user_id),
            volunteer_sessions::day.eq(day),
            volunteer_sessions::in_at.eq(at),
            volunteer_sessions::signed_in_by.eq(by),
        ))
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadySignedIn))?;
    Ok(())
}

pub fn sign_out(
    conn: &mut DbConn,
    pair_id: &str,
    at: NaiveDateTime,
    by: &str,
) -> Result<(), ApiError> {
    diesel::update(volunteer_sessions::table.find(pair_id))
        .set((
            volunteer_sessions::out_at.eq(Some(at)),
            volunteer_sessions::signed_out_by.eq(Some(by)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The door's record of a volunteer, shift and day (not back-filled ones).
pub fn door_record(
    conn: &mut DbConn,
    shift_id: &str,
    user_id: &str,
    day: NaiveDate,
) -> Result<Option<HoursRecord>, ApiError> {
    Ok(volunteer_hours::table
        .filter(volunteer_hours::shift_id.eq(shift_id))
        .filter(volunteer_hours::user_id.eq(user_id))
        .filter(volunteer_hours::day.eq(day))
        .filter(volunteer_hours::backfilled.eq(false))
        .select(HoursRecord::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_hours(conn: &mut DbConn, r: &HoursRecord) -> Result<(), ApiError> {
    diesel::insert_into(volunteer_hours::table)
        .values(r)
        .execute(conn)?;
    Ok(())
}

/// A door record rebuilt after another sign-out: its hours, recorder and
/// verifier (the staff member who recorded them certifies them).
pub fn update_door_hours(
    conn: &mut DbConn,
    id: &str,
    tenths: i32,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(volunteer_hours::table.find(id))
        .set((
            volunteer_hours::tenths.eq(tenths),
            volunteer_hours::recorded_by.eq(by),
            volunteer_hours::verified_by.eq(Some(by)),
            volunteer_hours::verified_at.eq(Some(at)),
            volunteer_hours::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A back-filled record's sign-in and sign-out times.
pub type MaybePair = (Option<NaiveDateTime>, Option<NaiveDateTime>);

/// Back-filled pairs of the volunteer on the shift (to refuse overlaps).
pub fn backfilled_pairs(
    conn: &mut DbConn,
    shift_id: &str,
    user_id: &str,
) -> Result<Vec<MaybePair>, ApiError> {
    Ok(volunteer_hours::table
        .filter(volunteer_hours::shift_id.eq(shift_id))
        .filter(volunteer_hours::user_id.eq(user_id))
        .filter(volunteer_hours::backfilled.eq(true))
        .select((volunteer_hours::in_at, volunteer_hours::out_at))
        .load(conn)?)
}

/// Every door pair of the volunteer on the shift, any day.
pub fn all_pairs(
    conn: &mut DbConn,
    shift_id: &str,
    user_id: &str,
) -> Result<Vec<(NaiveDateTime, Option<NaiveDateTime>)>, ApiError> {
    Ok(volunteer_sessions::table
        .filter(volunteer_sessions::shift_id.eq(shift_id))
        .filter(volunteer_sessions::user_id.eq(user_id))
        .select((volunteer_sessions::in_at, volunteer_sessions::out_at))
        .load(conn)?)
}

pub fn hours_record(conn: &mut DbConn, id: &str) -> Result<Option<HoursRecord>, ApiError> {
    Ok(volunteer_hours::table
        .find(id)
        .select(HoursRecord::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a record verified by `by`, unless it already was; its row is
/// re-read under the write so two managers verifying at once agree.
pub fn verify(
    tx: &mut Tx<'_>,
    id: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<HoursRecord, ApiError> {
    diesel::update(
        volunteer_hours::table
            .find(id)
            .filter(volunteer_hours::verified_at.is_null()),
    )
    .set((
        volunteer_hours::verified_by.eq(Some(by)),
        volunteer_hours::verified_at.eq(Some(at)),
        volunteer_hours::updated_at.eq(at),
    ))
    .execute(tx.conn())?;
    hours_record(tx, id)?.ok_or(ApiError::from(Code::NotFound))
}

/// A page of an organization's records, newest first, optionally only the
/// verified (or unverified) ones.
pub fn hours_of_org(
    conn: &mut DbConn,
    org_id: &str,
    verified: Option<bool>,
    page: &Page,
) -> Result<Vec<(HoursRecord, String)>, ApiError> {
    let mut q = volunteer_hours::table
        .inner_join(volunteers::table.on(volunteers::user_id.eq(volunteer_hours::user_id)))
        .filter(volunteer_hours::organization_id.eq(org_id))
        .into_boxed();
    match verified {
        Some(true) => q = q.filter(volunteer_hours::verified_at.is_not_null()),
        Some(false) => q = q.filter(volunteer_hours::verified_at.is_null()),
        None => {}
    }
    if let Some((at, id)) = &page.after {
        q = q.filter(
            volunteer_hours::created_at
                .lt(*at)
                .or(volunteer_hours::created_at
                    .eq(*at)
                    .and(volunteer_hours::id.lt(id.clone()))),
        );
    }
    Ok(q.order((
        volunteer_hours::created_at.desc(),
        volunteer_hours::id.desc(),
    ))
    .limit(page.limit + 1)
    .select((HoursRecord::as_select(), volunteers::volunteer_no))
    .load(conn)?)
}

/// Records of one volunteer (a page, newest first), or, with `verified_in`,
/// every verified record between two days (certificates, exports).
pub fn hours_of_user(
    conn: &mut DbConn,
    user_id: &str,
    page: Option<&Page>,
    verified_in: Option<(NaiveDate, NaiveDate)>,
) -> Result<Vec<(HoursRecord, Shift)>, ApiError> {
    let mut q = volunteer_hours::table
        .inner_join(shifts::table)
        .filter(volunteer_hours::user_id.eq(user_id))
        .into_boxed();
    if let Some((from, to)) = verified_in {
        q = q
            .filter(volunteer_hours::verified_at.is_not_null())
            .filter(volunteer_hours::day.between(from, to));
    }
    if let Some((at, id)) = page.and_then(|p| p.after.as_ref()) {
        q = q.filter(
            volunteer_hours::created_at
                .lt(*at)
                .or(volunteer_hours::created_at
                    .eq(*at)
                    .and(volunteer_hours::id.lt(id.clone()))),
        );
    }
    if let Some(page) = page {
        q = q.limit(page.limit + 1);
    }
    Ok(q.order((
        volunteer_hours::created_at.desc(),
        volunteer_hours::id.desc(),
    ))
    .select((HoursRecord::as_select(), Shift::as_select()))
    .load(conn)?)
}

/// Every verified record of an organization between two days, oldest first,
/// with the volunteer's number (the CSV export).
pub fn verified_of_org(
    conn: &mut DbConn,
    org_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(HoursRecord, Shift, String)>, ApiError> {
    Ok(volunteer_hours::table
        .inner_join(shifts::table)
        .inner_join(volunteers::table.on(volunteers::user_id.eq(volunteer_hours::user_id)))
        .filter(volunteer_hours::organization_id.eq(org_id))
        .filter(volunteer_hours::verified_at.is_not_null())
        .filter(volunteer_hours::day.between(from, to))
        .order((volunteer_hours::day.asc(), volunteer_hours::id.asc()))
        .limit(100_000)
        .select((
            HoursRecord::as_select(),
            Shift::as_select(),
            volunteers::volunteer_no,
        ))
        .load(conn)?)
}

/// Verified hours, in tenths, served on shifts of the given events: the
/// `volunteer_hours` figure a purchased-service contract's indicators use.
pub fn verified_tenths_on_events(conn: &mut DbConn, event_ids: &[&str]) -> Result<i64, ApiError> {
    if event_ids.is_empty() {
        return Ok(0);
    }
    let tenths: Option<i64> = volunteer_hours::table
        .inner_join(shifts::table)
        .filter(shifts::event_id.eq_any(event_ids))
        .filter(volunteer_hours::verified_at.is_not_null())
        .select(diesel::dsl::sum(volunteer_hours::tenths))
        .first(conn)?;
    Ok(tenths.unwrap_or(0))
}

pub fn insert_certificate(
    conn: &mut DbConn,
    no: &str,
    user_id: &str,
    body: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(volunteer_certificates::table)
        .values((
            volunteer_certificates::certificate_no.eq(no),
            volunteer_certificates::user_id.eq(user_id),
            volunteer_certificates::body.eq(body),
            volunteer_certificates::issued_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn certificate(conn: &mut DbConn, no: &str) -> Result<Option<String>, ApiError> {
    Ok(volunteer_certificates::table
        .find(no)
        .select(volunteer_certificates::body)
        .first(conn)
        .optional()?)
}
