//! Scanning at the door (by ticket or from the roster), offline batches from
//! staff phones, and undoing a mistaken scan.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::queries::{self, Outcome, Scan};
use super::tickets::TicketKeys;
use super::{CheckinView, MANUAL, QR};
use crate::auth::CurrentUser;
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::events::Event;
use crate::events::access::{self as event_access, Need};
use crate::events::queries as events;
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::registrations::{EventSummary, Registration, RegistrationView, roster};
use crate::validate::text;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events/{id}/checkins", web::post().to(check_in))
        .service(
            web::resource("/events/{id}/checkins/batch")
                .app_data(crate::http::extract::json_config_with_limit(
                    crate::http::extract::BATCH_BODY_LIMIT,
                ))
                .route(web::post().to(batch)),
        )
        .route("/checkins/{id}", web::delete().to(undo));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinBody {
    /// A scanned ticket…
    pub ticket: Option<String>,
    /// …or a registration found on the roster (manual check-in).
    pub registration_id: Option<String>,
    /// The scanning phone, for the audit trail.
    pub device_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckinResult {
    /// `ok` or `already_checked_in`.
    pub result: String,
    pub checkin: CheckinView,
    pub registration: Option<RegistrationView>,
    /// Who was checked in, for the door (staff only): on first scans, repeat
    /// scans and walk-ins alike.
    pub attendee: Option<Attendee>,
}

/// The person at the door, so the volunteer can greet them by name and notice
/// the wrong person holding a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attendee {
    #[schema(example = "赵秀英")]
    pub display_name: String,
    /// The last four digits of their phone, if one is known.
    #[schema(example = "5678")]
    pub phone_last4: Option<String>,
}

impl From<roster::Who> for Attendee {
    fn from((display_name, phone_last4): roster::Who) -> Self {
        Attendee {
            display_name,
            phone_last4,
        }
    }
}

/// The attendee of a registration, for a check-in answer.
pub fn attendee(c: &mut DbConn, registration_id: &str) -> Result<Option<Attendee>, ApiError> {
    Ok(roster::who(c, registration_id)?.map(Attendee::from))
}

/// The registration a ticket or id names, or the scan's refusal code.
fn target(
    c: &mut DbConn,
    keys: &TicketKeys,
    event_id: &str,
    ticket: Option<&str>,
    registration_id: Option<&str>,
) -> Result<Result<(String, &'static str), Code>, ApiError> {
    match (ticket, registration_id) {
        (Some(token), None) => match keys.verify(token, c) {
            Ok(claims) if claims.evt != event_id => Ok(Err(Code::WrongEvent)),
            Ok(claims) => Ok(Ok((claims.sub, QR))),
            Err(ApiError::Problem(code)) => Ok(Err(code)),
            Err(e) => Err(e),
        },
        (None, Some(id)) => Ok(Ok((id.to_owned(), MANUAL))),
        (None, None) => Err(ApiError::field(
            "ticket",
            Invalid::OneRequired("registration_id"),
        )),
        (Some(_), Some(_)) => Err(ApiError::field(
            "ticket",
            Invalid::NotBoth("registration_id"),
        )),
    }
}

pub fn device(value: Option<&str>) -> Result<Option<String>, ApiError> {
    value
        .map(|d| text(d, 1, 100).map_err(|e| ApiError::field("device_id", e)))
        .transpose()
}

/// Checks a person in by ticket or by registration id.
#[utoipa::path(post, path = "/api/v1/events/{id}/checkins", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event")),
    request_body = CheckinBody,
    responses(
        (status = 201, body = CheckinResult, description = "`result: ok`"),
        (status = 200, body = CheckinResult, description = "`result: already_checked_in`, with the first check-in"),
        (status = 403, description = "`forbidden` (not staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`registration_cancelled`, `not_confirmed`, `event_cancelled`, `outside_checkin_window`, `wrong_event`", body = Problem),
        (status = 422, description = "`invalid_ticket`; `validation_failed` (both or neither of `ticket` and `registration_id`)", body = Problem),
    ))]
pub async fn check_in(
    Guarded(user, body): Guarded<CurrentUser, Json<CheckinBody>>,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let device_id = device(body.device_id.as_deref())?;
    // Who is asking and what the ticket says are settled before the write lock:
    // signature checks are CPU work that must not hold up other writers.
    let (user, event_id) = (user, event_id.into_inner());
    let (who, eid) = (user.clone(), event_id.clone());
    let (registration_id, method, repeat) = db
        .run(move |c| {
            let access = staff_only(c, &eid, &who)?;
            let (registration_id, method) = target(
                c,
                &keys,
                &eid,
                body.ticket.as_deref(),
                body.registration_id.as_deref(),
            )??;
            let repeat = match queries::repeat_scan(c, &access.event, &registration_id)? {
                Some(checkin) => Some((checkin, attendee(c, &registration_id)?)),
                None => None,
            };
            Ok((registration_id, method, repeat))
        })
        .await?;
    if let Some((checkin, attendee)) = repeat {
        return Ok(HttpResponse::Ok().json(CheckinResult {
            result: "already_checked_in".into(),
            checkin: checkin.into(),
            registration: None,
            attendee,
        }));
    }
    let key = event_id.clone();
    let scan = DoorScan {
        event_id,
        registration_id,
        method,
        device_id,
        scanned_at: db::now(),
        actor: user.id.clone(),
    };
    let outcome = db.write_grouped::<DoorScans>(&key, scan).await?;
    let (outcome, view, attendee) = outcome;
    match outcome {
        Outcome::Ok(checkin, ..) => Ok(HttpResponse::Created().json(CheckinResult {
            result: "ok".into(),
            checkin: checkin.into(),
            registration: view,
            attendee,
        })),
        Outcome::Already(checkin) => Ok(HttpResponse::Ok().json(CheckinResult {
            result: "already_checked_in".into(),
            checkin: checkin.into(),
            registration: None,
            attendee,
        })),
        Outcome::Refused(code) => Err(code.into()),
    }
}

/// One scan at an event's door, as [`DoorScans`] queues it.
pub struct DoorScan {
    pub event_id: String,
    pub registration_id: String,
    pub method: &'static str,
    pub device_id: Option<String>,
    /// When the scan reached the service.
    pub scanned_at: chrono::NaiveDateTime,
    /// The staff member scanning.
    pub actor: String,
}

/// The scans at one event's door that queue together, applied in one write
/// ([`queries::scan_many`]): each is answered with how it ended, the
/// registration's view for a check-in and who it is for the greeting.
pub struct DoorScans;

impl db::Grouped for DoorScans {
    type Item = DoorScan;
    type Output = (Outcome, Option<RegistrationView>, Option<Attendee>);

    fn write(c: &mut db::Tx<'_>, items: &[DoorScan]) -> Result<Vec<Self::Output>, ApiError> {
        let Some(first) = items.first() else {
            return Ok(Vec::new());
        };
        // Queued with their event's id as the key, so one group is one event.
        if items.iter().any(|s| s.event_id != first.event_id) {
            return Err(ApiError::internal(
                "door scans of several events in one group",
            ));
        }
        let scans: Vec<Scan> = items
            .iter()
            .map(|s| Scan {
                event_id: &s.event_id,
                registration_id: &s.registration_id,
                method: s.method,
                device_id: s.device_id.as_deref(),
                offline: false,
                scanned_at: s.scanned_at,
                actor: &s.actor,
            })
            .collect();
        let (event, outcomes) = queries::scan_many(c, &first.event_id, &scans)?;
        let mut answers = Vec::with_capacity(outcomes.len());
        for (outcome, item) in outcomes.into_iter().zip(items) {
            let (view, attendee) = match &outcome {
                Outcome::Ok(_, r, who) => (
                    Some(view_with(&event, (**r).clone())),
                    Some(Attendee::from(who.clone())),
                ),
                // A refused scan names nobody: no read for it.
                Outcome::Refused(_) => (None, None),
                Outcome::Already(_) => (None, attendee(c, &item.registration_id)?),
            };
            answers.push((outcome, view, attendee));
        }
        Ok(answers)
    }
}

/// Staff of the event's organization may check in (the event-access rule:
/// `404` for an event the caller may not see, `403` for one they may).
pub fn staff_only(
    c: &mut DbConn,
    event_id: &str,
    user: &CurrentUser,
) -> Result<event_access::EventAccess, ApiError> {
    event_access::load(c, event_id, Some(user), Need::Staff, false)
}

/// The registration as the door sees it, with its event already at hand.
pub fn view_with(event: &Event, r: Registration) -> RegistrationView {
    RegistrationView::new(r, None, EventSummary::of(event, db::now()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchScan {
    /// Unique per device; uploading the same scan again returns the same result.
    pub scan_id: String,
    pub ticket: Option<String>,
    pub registration_id: Option<String>,
    /// When the phone scanned it (RFC 3339).
    pub scanned_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    pub device_id: String,
    /// At most 500 (this route accepts bodies up to 512 KiB).
    pub scans: Vec<BatchScan>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    pub scan_id: String,
    /// `ok`, `already_checked_in`, or a refusal code.
    pub result: String,
    pub checkin_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    pub results: Vec<BatchItem>,
}

pub const MAX_BATCH: usize = 500;

/// Uploads scans made offline. Idempotent per `scan_id`; when two phones
/// scanned one ticket, the earliest scan wins and the other is listed as an
/// anomaly. Offline scans are accepted outside the check-in window.
#[utoipa::path(post, path = "/api/v1/events/{id}/checkins/batch", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event")),
    request_body = BatchBody,
    responses(
        (status = 200, body = BatchResult),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed` (over 500 scans, bad times)", body = Problem),
    ))]
pub async fn batch(
    Guarded(user, body): Guarded<CurrentUser, Json<BatchBody>>,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let device_id = text(&body.device_id, 1, 100).map_err(|e| ApiError::field("device_id", e))?;
    if body.scans.is_empty() || body.scans.len() > MAX_BATCH {
        return Err(ApiError::field(
            "scans",
            Invalid::OutOfRange {
                min: 1,
                max: MAX_BATCH as i64,
            },
        ));
    }
    let mut scans = Vec::with_capacity(body.scans.len());
    for s in body.scans {
        let scan_id = text(&s.scan_id, 1, 100).map_err(|e| ApiError::field("scans.scan_id", e))?;
        let at = crate::events::input::timestamp(&s.scanned_at)
            .map_err(|e| ApiError::field("scans.scanned_at", e))?;
        scans.push((scan_id, s.ticket, s.registration_id, at));
    }
    // Tickets are verified before the write lock is taken (CPU work).
    let (who, eid) = (user.clone(), event_id.clone());
    let scans = db
        .run(move |c| {
            staff_only(c, &eid, &who)?;
            let mut checked = Vec::with_capacity(scans.len());
            for (scan_id, ticket, registration_id, scanned_at) in scans {
                let target = match target(
                    c,
                    &keys,
                    &eid,
                    ticket.as_deref(),
                    registration_id.as_deref(),
                ) {
                    Ok(t) => t,
                    Err(ApiError::Validation(_)) => Err(Code::InvalidTicket),
                    Err(e) => return Err(e),
                };
                checked.push((scan_id, target, scanned_at));
            }
            Ok(checked)
        })
        .await?;
    let key = event_id.clone();
    let results = db
        .write_on(&key, move |c| {
            // Outright, not in share mode: an upload retried while the first
            // attempt still runs must wait for it and replay its answers (the
            // stored scans), not race it row by row. Uploads are rare.
            let event = events::lock(c, &event_id)?;
            let mut admitted = 0;
            let mut results = Vec::with_capacity(scans.len());
            for (scan_id, target, scanned_at) in scans {
                if let Some((result, checkin_id)) =
                    queries::stored_scan(c, &event_id, &device_id, &scan_id)?
                {
                    results.push(BatchItem {
                        scan_id,
                        result,
                        checkin_id,
                    });
                    continue;
                }
                let (result, checkin_id, target_id) = match target {
                    Ok((target_id, method)) => {
                        let (outcome, people) = queries::apply(
                            c,
                            &event,
                            &Scan {
                                event_id: &event_id,
                                registration_id: &target_id,
                                method,
                                device_id: Some(&device_id),
                                offline: true,
                                scanned_at,
                                actor: &user.id,
                            },
                        )?;
                        admitted += people;
                        (
                            outcome.result().to_owned(),
                            outcome.checkin_id().map(str::to_owned),
                            Some(target_id),
                        )
                    }
                    Err(code) => (code.as_str().to_owned(), None, None),
                };
                queries::store_scan(
                    c,
                    &event_id,
                    &device_id,
                    &scan_id,
                    target_id.as_deref(),
                    &result,
                    checkin_id.as_deref(),
                    scanned_at,
                )?;
                results.push(BatchItem {
                    scan_id,
                    result,
                    checkin_id,
                });
            }
            // Counted once for the whole upload, after every row it locks.
            queries::settle(c, &event, admitted)?;
            Ok(results)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BatchResult { results }))
}

#[utoipa::path(delete, path = "/api/v1/checkins/{id}", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Undone"),
        (status = 403, description = "`forbidden` (staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn undo(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    db.write(move |c| {
        let checkin = queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound))?;
        // A check-in is the organization's business: outsiders get `404`.
        event_access::load_inside(c, &checkin.event_id, &user, Need::Manager)?;
        queries::undo(c, &checkin, &user.id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
