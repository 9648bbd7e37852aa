//! At the door without a ticket: walk-ins, and the attendance figures.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::WALK_IN;
use super::queries::{self, Outcome, Scan};
use super::routes::{Attendee, CheckinResult, device, view_with};
use crate::accounts::Phone;
use crate::auth::CurrentUser;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Problem};
use crate::events::access::{self as event_access, Need};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::registrations::seats::{self, WalkIn};
use crate::validate::{birth_year, int_in, text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events/{id}/walk-ins", web::post().to(walk_in))
        .route("/events/{id}/attendance", web::get().to(attendance));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkInBody {
    #[schema(example = "刘奶奶")]
    pub display_name: String,
    pub phone: Option<String>,
    pub birth_year: Option<i64>,
    /// Default 1.
    pub party_size: Option<i64>,
    /// Managers only: admit past capacity (recorded on the registration).
    pub r#override: Option<bool>,
    pub device_id: Option<String>,
    /// Separate consent to sensitive personal information (`GET /consent`):
    /// required for counselling, health talks, legal aid and meal help.
    pub consent_sensitive: Option<bool>,
}

/// Someone without the app at the door: a registration that is checked in at
/// once. A full event refuses with `event_full` unless a manager overrides.
#[utoipa::path(post, path = "/api/v1/events/{id}/walk-ins", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event")),
    request_body = WalkInBody,
    responses(
        (status = 201, body = CheckinResult),
        (status = 403, description = "`forbidden` (override by staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`event_full`, `event_cancelled`, `outside_checkin_window`", body = Problem),
        (status = 422, description = "`consent_required`, `validation_failed`", body = Problem),
    ))]
pub async fn walk_in(
    Guarded(user, body): Guarded<CurrentUser, Json<WalkInBody>>,
    db: web::Data<Db>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    crate::parse_fields!(
        name = "display_name" => text(&body.display_name, 1, 50),
        phone = "phone" => body.phone.as_deref().map(Phone::parse).transpose(),
        born = "birth_year" => birth_year(body.birth_year),
        party_size = "party_size" => int_in(body.party_size.unwrap_or(1), 1, 10),
    );
    let device_id = device(body.device_id.as_deref())?;
    let force = body.r#override.unwrap_or(false);
    let consent_sensitive = body.consent_sensitive.unwrap_or(false);
    let key = event_id.clone();
    let (checkin, registration, attendee) = db
        .write_on(&key, move |c| {
            let access = event_access::load(c, &event_id, Some(&user), Need::Staff, true)?;
            let event = access.event.clone();
            if force && !access.manages(&user) {
                return Err(Code::Forbidden.into());
            }
            if event.status == crate::events::CANCELLED {
                return Err(Code::EventCancelled.into());
            }
            let now = db::now();
            if !queries::in_window(&event, now) {
                return Err(Code::OutsideCheckinWindow.into());
            }
            let walk_in = WalkIn {
                display_name: name,
                phone: phone.map(|p| p.as_str().to_owned()),
                birth_year: born,
                party_size,
                override_capacity: force,
                consent_sensitive,
            };
            let registration = seats::walk_in(c, &event, &walk_in)?;
            let outcome = queries::apply(
                c,
                &event,
                &Scan {
                    event_id: &event_id,
                    registration_id: &registration.id,
                    method: WALK_IN,
                    device_id: device_id.as_deref(),
                    offline: false,
                    scanned_at: now,
                    actor: &user.id,
                },
            )?;
            // The seats as the walk-in left them (the event is locked outright).
            let seated = crate::events::queries::find(c, &event_id)?
                .ok_or(ApiError::from(Code::NotFound))?;
            queries::settle(c, &seated, outcome.1)?;
            match outcome.0 {
                Outcome::Ok(checkin, registration, who) => {
                    let attendee = Some(Attendee::from(who));
                    Ok((checkin, view_with(&seated, *registration), attendee))
                }
                other => Err(ApiError::internal(format!(
                    "walk-in check-in ended as {}",
                    other.result()
                ))),
            }
        })
        .await?;
    Ok(HttpResponse::Created().json(CheckinResult {
        result: "ok".into(),
        checkin: checkin.into(),
        registration: Some(registration),
        attendee,
    }))
}

/// An event's attendance, in people.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttendanceView {
    pub capacity: i32,
    /// People holding confirmed seats (walk-ins included).
    pub confirmed: i32,
    pub waitlisted: i32,
    /// People checked in.
    pub checked_in: i32,
    /// People admitted as walk-ins.
    pub walk_ins: i64,
    /// People confirmed but never checked in; counted once the event has ended.
    pub no_shows: i64,
}

/// Attendance figures for the organization's staff.
#[utoipa::path(get, path = "/api/v1/events/{id}/attendance", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event")),
    responses(
        (status = 200, body = AttendanceView),
        (status = 403, description = "`forbidden`: not staff of the event's organization", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn attendance(
    user: CurrentUser,
    db: web::Data<Db>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let a = db
        .run(move |c| {
            let access = event_access::load(c, &event_id, Some(&user), Need::Staff, false)?;
            super::figures::attendance(c, &access.event)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AttendanceView {
        capacity: a.capacity,
        confirmed: a.confirmed,
        waitlisted: a.waitlisted,
        checked_in: a.checked_in,
        walk_ins: a.walk_ins,
        no_shows: a.no_shows,
    }))
}
