//! At the door: staff sign volunteers in and out (scanning their code or
//! typing their number); a sign-out rebuilds the day's hours record, verified
//! by the staff member who recorded it. Forgotten scans are back-filled by a
//! manager and wait for a second manager's verification.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::routes::from_code;
use super::{HoursRecord, HoursView, Shift, Volunteer, queries, tenths_of};
use crate::auth::CurrentUser;
use crate::centres::queries as centres;
use crate::checkin::tickets::TicketKeys;
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::events::access::{self as event_access, Need};
use crate::events::{CANCELLED, Event, input::timestamp};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::live::outbox::publish;
use crate::organizations::access::{self as org_access, Need as OrgNeed};
use crate::parse_fields;
use crate::validate::text;

/// At most this many in/out pairs per volunteer, shift and day.
const MAX_PAIRS: usize = 3;
/// Sign-in opens this long before the shift starts.
const EARLY: Duration = Duration::hours(2);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceBody {
    /// The number the volunteer reads out, or …
    #[schema(example = "V2026483917")]
    pub volunteer_no: Option<String>,
    /// … the code scanned from the volunteer's app.
    pub code: Option<String>,
    /// `in` or `out`.
    #[schema(example = "in")]
    pub action: String,
}

/// One sign-in or sign-out; a sign-out carries the day's hours record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attendance {
    /// `in` or `out`.
    pub action: String,
    pub shift_id: String,
    pub volunteer_no: String,
    /// For the door: who is standing there.
    pub display_name: String,
    pub at: DateTime<Utc>,
    /// Sign-out: the hours record of this volunteer, shift and day.
    pub record: Option<HoursView>,
    /// Sign-out: the same record's id, hours and state, at the top level.
    pub id: Option<String>,
    pub hours: Option<f64>,
    pub verified: Option<bool>,
}

/// The local date of `at` where the event happens.
fn local_day(conn: &mut DbConn, event: &Event, at: NaiveDateTime) -> Result<NaiveDate, ApiError> {
    let tz = match &event.centre_id {
        Some(id) => centres::find(conn, id)?.map_or(chrono_tz::Asia::Shanghai, |c| c.tz()),
        None => chrono_tz::Asia::Shanghai,
    };
    Ok(tz.from_utc_datetime(&at).date_naive())
}

fn who(
    c: &mut DbConn,
    keys: &TicketKeys,
    volunteer_no: Option<&str>,
    code: Option<&str>,
) -> Result<Volunteer, ApiError> {
    match (volunteer_no.map(str::trim), code) {
        (Some(no), None) => queries::by_number(c, no)?
            .ok_or_else(|| ApiError::field("volunteer_no", Invalid::Unknown)),
        (None, Some(code)) => from_code(c, keys, code),
        (Some(_), Some(_)) => Err(ApiError::field("volunteer_no", Invalid::NotBoth("code"))),
        (None, None) => Err(ApiError::field(
            "volunteer_no",
            Invalid::OneRequired("code"),
        )),
    }
}

/// Org staff: signs a volunteer in or out of a shift.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/attendance", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "shift")),
    request_body = AttendanceBody,
    responses(
        (status = 201, body = Attendance),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden` (not its organization's staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_approved`, `already_signed_in`, `not_signed_in`, `too_many_pairs`, `outside_shift_window`, `event_cancelled`", body = Problem),
        (status = 422, description = "`validation_failed`, `invalid_ticket` (a code that is not a volunteer's)", body = Problem),
    ))]
pub async fn attendance(
    Guarded(user, body): Guarded<CurrentUser, Json<AttendanceBody>>,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
    shift_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let signing_in = match body.action.as_str() {
        "in" => true,
        "out" => false,
        _ => return Err(ApiError::field("action", Invalid::OneOf(&["in", "out"]))),
    };
    let shift_id = shift_id.into_inner();
    // Who is asking and whose code it is are settled before the write.
    let (who_, sid, keys_) = (user.clone(), shift_id.clone(), keys.clone());
    let volunteer = db
        .run(move |c| {
            let shift = queries::shift(c, &sid)?.ok_or(ApiError::from(Code::NotFound))?;
            event_access::load(c, &shift.event_id, Some(&who_), Need::Staff, false)?;
            who(
                c,
                &keys_,
                body.volunteer_no.as_deref(),
                body.code.as_deref(),
            )
        })
        .await?;
    let answer = db
        .write(move |tx| {
            let shift = queries::lock_shift(tx, &shift_id)?;
            let event =
                event_access::load(tx, &shift.event_id, Some(&user), Need::Staff, false)?.event;
            if event.status == CANCELLED {
                return Err(Code::EventCancelled.into());
            }
            if !queries::is_approved(tx, &shift.id, &volunteer.user_id)? {
                return Err(Code::NotApproved.into());
            }
            let now = db::now();
            let name = crate::accounts::queries::find(tx, &volunteer.user_id)?.display_name;
            let mut answer = Attendance {
                action: if signing_in { "in" } else { "out" }.into(),
                shift_id: shift.id.clone(),
                volunteer_no: volunteer.volunteer_no.clone(),
                display_name: name,
                at: now.and_utc(),
                record: None,
                id: None,
                hours: None,
                verified: None,
            };
            if signing_in {
                if now < shift.starts_at - EARLY || now > shift.ends_at {
                    return Err(Code::OutsideShiftWindow.into());
                }
                if queries::open_pair(tx, &shift.id, &volunteer.user_id)?.is_some() {
                    return Err(Code::AlreadySignedIn.into());
                }
                let day = local_day(tx, &event, now)?;
                if queries::pairs_on(tx, &shift.id, &volunteer.user_id, day)?.len() >= MAX_PAIRS {
                    return Err(Code::TooManyPairs.into());
                }
                queries::sign_in(tx, &shift.id, &volunteer.user_id, day, now, &user.id)?;
            } else {
                let (pair, day) = queries::open_pair(tx, &shift.id, &volunteer.user_id)?
                    .ok_or(ApiError::from(Code::NotSignedIn))?;
                queries::sign_out(tx, &pair, now, &user.id)?;
                let record = door_record(tx, &shift, &volunteer, day, &user.id, now)?;
                answer.id = Some(record.id.clone());
                answer.hours = Some(record.hours);
                answer.verified = Some(record.verified);
                answer.record = Some(record);
            }
            publish(
                tx,
                format!("org:{}", shift.organization_id),
                if signing_in {
                    "volunteer.signed_in"
                } else {
                    "volunteer.signed_out"
                },
                &json!({
                    "shift_id": shift.id,
                    "event_id": shift.event_id,
                    "volunteer_no": volunteer.volunteer_no,
                    "at": answer.at,
                    "hours": answer.hours,
                }),
            );
            Ok(answer)
        })
        .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// Rebuilds the day's door record from its closed pairs.
fn door_record(
    tx: &mut DbConn,
    shift: &Shift,
    volunteer: &Volunteer,
    day: NaiveDate,
    by: &str,
    now: NaiveDateTime,
) -> Result<HoursView, ApiError> {
    let pairs: Vec<(NaiveDateTime, NaiveDateTime)> =
        queries::pairs_on(tx, &shift.id, &volunteer.user_id, day)?
            .into_iter()
            .filter_map(|(i, o)| o.map(|o| (i, o)))
            .collect();
    let tenths = tenths_of(&pairs, (shift.starts_at, shift.ends_at));
    let record = match queries::door_record(tx, &shift.id, &volunteer.user_id, day)? {
        Some(existing) => {
            queries::update_door_hours(tx, &existing.id, tenths, by, now)?;
            HoursRecord {
                tenths,
                recorded_by: by.into(),
                verified_by: Some(by.into()),
                verified_at: Some(now),
                updated_at: now,
                ..existing
            }
        }
        None => {
            let record = HoursRecord {
                id: uuid::Uuid::new_v4().to_string(),
                shift_id: shift.id.clone(),
                organization_id: shift.organization_id.clone(),
                user_id: volunteer.user_id.clone(),
                day,
                tenths,
                backfilled: false,
                reason: None,
                in_at: None,
                out_at: None,
                recorded_by: by.into(),
                verified_by: Some(by.into()),
                verified_at: Some(now),
                created_at: now,
                updated_at: now,
            };
            queries::insert_hours(tx, &record)?;
            record
        }
    };
    Ok(HoursView::new(record, volunteer.volunteer_no.clone()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    pub volunteer_no: String,
    pub in_at: String,
    pub out_at: String,
    /// Why the door scans are missing (required, 2–500 characters).
    #[schema(example = "签到手机没电，现场纸质签到表为证")]
    pub reason: String,
}

fn overlaps(a: (NaiveDateTime, NaiveDateTime), b: (NaiveDateTime, NaiveDateTime)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Owners and managers: records hours the door missed. The record stays
/// flagged and counts nowhere until another manager verifies it.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/backfill", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "shift")),
    request_body = Backfill,
    responses(
        (status = 201, body = HoursView, description = "`backfilled: true, verified: false`"),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_approved`, `overlapping_record`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn backfill(
    Guarded(user, body): Guarded<CurrentUser, Json<Backfill>>,
    db: web::Data<Db>,
    shift_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        in_at = "in_at" => timestamp(&body.in_at),
        out_at = "out_at" => timestamp(&body.out_at),
        reason = "reason" => text(&body.reason, 2, 500),
    );
    if out_at <= in_at {
        return Err(ApiError::field("out_at", Invalid::NotAfter("in_at")));
    }
    if out_at > db::now() {
        return Err(ApiError::field("out_at", Invalid::NotBefore("now")));
    }
    let shift_id = shift_id.into_inner();
    let view = db
        .write(move |tx| {
            let shift = queries::lock_shift(tx, &shift_id)?;
            let event =
                event_access::load(tx, &shift.event_id, Some(&user), Need::Manager, false)?.event;
            let volunteer = queries::by_number(tx, body.volunteer_no.trim())?
                .ok_or_else(|| ApiError::field("volunteer_no", Invalid::Unknown))?;
            if !queries::is_approved(tx, &shift.id, &volunteer.user_id)? {
                return Err(Code::NotApproved.into());
            }
            let door = queries::all_pairs(tx, &shift.id, &volunteer.user_id)?
                .into_iter()
                .map(|(i, o)| (i, o.unwrap_or(NaiveDateTime::MAX)));
            let filled = queries::backfilled_pairs(tx, &shift.id, &volunteer.user_id)?
                .into_iter()
                .filter_map(|(i, o)| Some((i?, o?)));
            if door.chain(filled).any(|p| overlaps(p, (in_at, out_at))) {
                return Err(Code::OverlappingRecord.into());
            }
            let now = db::now();
            let record = HoursRecord {
                id: uuid::Uuid::new_v4().to_string(),
                shift_id: shift.id.clone(),
                organization_id: shift.organization_id.clone(),
                user_id: volunteer.user_id.clone(),
                day: local_day(tx, &event, in_at)?,
                tenths: tenths_of(&[(in_at, out_at)], (shift.starts_at, shift.ends_at)),
                backfilled: true,
                reason: Some(reason),
                in_at: Some(in_at),
                out_at: Some(out_at),
                recorded_by: user.id.clone(),
                verified_by: None,
                verified_at: None,
                created_at: now,
                updated_at: now,
            };
            queries::insert_hours(tx, &record)?;
            Ok(HoursView::new(record, volunteer.volunteer_no))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Owners and managers other than its recorder verify a record.
#[utoipa::path(post, path = "/api/v1/hours/{id}/verify", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "hours record")),
    responses(
        (status = 200, body = HoursView),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden` (its recorder, or not an owner or manager)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn verify(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view = db
        .write(move |tx| {
            let record = queries::hours_record(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            org_access::require(tx, &record.organization_id, &user, OrgNeed::Manager)?;
            if record.recorded_by == user.id {
                return Err(Code::Forbidden.into());
            }
            let record = queries::verify(tx, &record.id, &user.id, db::now())?;
            let no = queries::volunteer(tx, &record.user_id)?
                .map(|v| v.volunteer_no)
                .unwrap_or_default();
            Ok(HoursView::new(record, no))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_pairs_do_not_overlap() {
        let t = |h| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .unwrap_or_default()
        };
        assert!(!overlaps((t(9), t(10)), (t(10), t(11))));
        assert!(overlaps((t(9), t(11)), (t(10), t(12))));
        assert!(overlaps((t(9), t(12)), (t(10), t(11))));
    }
}
