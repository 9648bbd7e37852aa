//! Shifts on an event and the volunteers' applications for them. Approved
//! applications fill the slots; the shift's row is held while its count moves,
//! so no race ever approves more volunteers than there are slots
//! (`409 shift_full`). Each change is announced on the event's topic as
//! `shift.updated`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{
    APPROVED, Application, ApplicationView, PENDING, REJECTED, Shift, ShiftView, Volunteer, queries,
};
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::{self, Db, Tx};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::events::access::{self as event_access, Need};
use crate::events::{CANCELLED, DRAFT, input::timestamp};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::live::outbox::publish;
use crate::parse_fields;
use crate::validate::{int_in, text};

/// How far before its event a shift may start, or after it end (setting up,
/// clearing away).
const AROUND_EVENT: Duration = Duration::hours(12);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShift {
    #[schema(example = "签到引导")]
    pub role: String,
    pub starts_at: String,
    pub ends_at: String,
    /// 1–500.
    pub slots: i64,
    /// Who is served (服务对象), as the national volunteer system records it.
    #[schema(example = "社区老人")]
    pub served_group: String,
    /// What the volunteers do (服务内容).
    #[schema(example = "引导老人签到、入座")]
    pub content: String,
    /// Approve applications as they arrive, while slots last (default false).
    pub auto_approve: Option<bool>,
}

fn shift_updated(tx: &mut Tx<'_>, shift: &Shift) {
    publish(
        tx,
        format!("event:{}", shift.event_id),
        "shift.updated",
        &json!(ShiftView::from(shift.clone())),
    );
}

/// Tells the volunteer (on `me`) that an application was decided; the
/// notifications follow this message.
fn application_decided(
    tx: &mut Tx<'_>,
    shift: &Shift,
    application_id: &str,
    user_id: &str,
    status: &str,
) {
    publish(
        tx,
        format!("user:{user_id}"),
        "application.decided",
        &json!({
            "application_id": application_id,
            "shift_id": shift.id,
            "event_id": shift.event_id,
            "status": status,
            "starts_at": shift.starts_at.and_utc(),
        }),
    );
}

/// Owners and managers: a shift on one of their events.
#[utoipa::path(post, path = "/api/v1/events/{id}/shifts", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event")),
    request_body = NewShift,
    responses(
        (status = 201, body = ShiftView),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden` (not its owner or manager)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`event_cancelled`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn create(
    Guarded(user, body): Guarded<CurrentUser, Json<NewShift>>,
    db: web::Data<Db>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        role = "role" => text(&body.role, 1, 50),
        starts_at = "starts_at" => timestamp(&body.starts_at),
        ends_at = "ends_at" => timestamp(&body.ends_at),
        slots = "slots" => int_in(body.slots, 1, 500),
        served_group = "served_group" => text(&body.served_group, 1, 100),
        content = "content" => text(&body.content, 1, 500),
    );
    if ends_at <= starts_at {
        return Err(ApiError::field("ends_at", Invalid::NotAfter("starts_at")));
    }
    let event_id = event_id.into_inner();
    let shift = db
        .write(move |tx| {
            let access = event_access::load(tx, &event_id, Some(&user), Need::Manager, true)?;
            let event = access.event;
            if event.status == CANCELLED {
                return Err(Code::EventCancelled.into());
            }
            if starts_at < event.starts_at - AROUND_EVENT || ends_at > event.ends_at + AROUND_EVENT
            {
                return Err(ApiError::field("starts_at", Invalid::OutsideEvent));
            }
            let shift = Shift {
                id: uuid::Uuid::new_v4().to_string(),
                event_id: event.id,
                organization_id: event.organization_id,
                role,
                starts_at,
                ends_at,
                slots,
                approved: 0,
                served_group,
                content,
                auto_approve: body.auto_approve.unwrap_or(false),
                created_by: user.id.clone(),
                created_at: db::now(),
            };
            queries::insert_shift(tx, &shift)?;
            shift_updated(tx, &shift);
            Ok(shift)
        })
        .await?;
    Ok(HttpResponse::Created().json(ShiftView::from(shift)))
}

/// The shifts of an event anyone may see, earliest first.
#[utoipa::path(get, path = "/api/v1/events/{id}/shifts", tag = "volunteers",
    params(("id" = String, Path, description = "event")),
    responses(
        (status = 200, body = [ShiftView]),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn list(
    MaybeUser(user): MaybeUser,
    db: web::Data<Db>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shifts = db
        .run(move |c| {
            event_access::load(c, &event_id, user.as_ref(), Need::See, false)?;
            queries::shifts_of(c, &event_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(shifts.into_iter().map(ShiftView::from).collect::<Vec<_>>()))
}

fn application_view(a: Application, v: &Volunteer, display_name: String) -> ApplicationView {
    ApplicationView {
        id: a.id,
        shift_id: a.shift_id,
        status: a.status,
        volunteer_no: v.volunteer_no.clone(),
        display_name,
        skills: v.skills(),
        decided_at: a.decided_at.map(|t| t.and_utc()),
        created_at: a.created_at.and_utc(),
    }
}

/// Takes a slot for an approval, or refuses with `shift_full`.
fn take_slot(tx: &mut Tx<'_>, shift: &mut Shift) -> Result<(), ApiError> {
    if shift.approved >= shift.slots {
        return Err(Code::ShiftFull.into());
    }
    queries::add_approved(tx, &shift.id, 1)?;
    shift.approved += 1;
    Ok(())
}

/// A volunteer applies for a shift of a published event that has not ended.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/applications", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "shift")),
    responses(
        (status = 201, body = ApplicationView, description = "`pending`, or `approved` on a shift with auto-approval"),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_volunteer`, `already_applied`, `shift_full`, `event_not_open`", body = Problem),
    ))]
pub async fn apply(
    user: CurrentUser,
    db: web::Data<Db>,
    shift_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shift_id = shift_id.into_inner();
    let view = db
        .write(move |tx| {
            let mut shift = queries::lock_shift(tx, &shift_id)?;
            let access = event_access::load(tx, &shift.event_id, Some(&user), Need::See, false)?;
            let volunteer =
                queries::volunteer(tx, &user.id)?.ok_or(ApiError::from(Code::NotVolunteer))?;
            let now = db::now();
            if access.event.status == DRAFT
                || access.event.status == CANCELLED
                || shift.ends_at <= now
            {
                return Err(Code::EventNotOpen.into());
            }
            if queries::application_of(tx, &shift.id, &user.id)?.is_some() {
                return Err(Code::AlreadyApplied.into());
            }
            // A full shift takes no more applications, pending or not.
            if shift.approved >= shift.slots {
                return Err(Code::ShiftFull.into());
            }
            let status = if shift.auto_approve {
                take_slot(tx, &mut shift)?;
                shift_updated(tx, &shift);
                APPROVED
            } else {
                PENDING
            };
            let application = Application {
                id: uuid::Uuid::new_v4().to_string(),
                shift_id: shift.id.clone(),
                user_id: user.id.clone(),
                status: status.into(),
                decided_by: None,
                decided_at: (status == APPROVED).then_some(now),
                created_at: now,
            };
            queries::insert_application(tx, &application)?;
            if status == APPROVED {
                application_decided(tx, &shift, &application.id, &user.id, APPROVED);
            }
            let name = crate::accounts::queries::find(tx, &user.id)?.display_name;
            Ok(application_view(application, &volunteer, name))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// A shift's applications: every one for its organization's owners and
/// managers, the caller's own for a volunteer.
#[utoipa::path(get, path = "/api/v1/shifts/{id}/applications", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "shift"), PageQuery),
    responses(
        (status = 200, body = Paged<ApplicationView>),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn applications(
    user: CurrentUser,
    db: web::Data<Db>,
    shift_id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let (rows, names) = db
        .run(move |c| {
            let shift = queries::shift(c, &shift_id)?.ok_or(ApiError::from(Code::NotFound))?;
            let access = event_access::load(c, &shift.event_id, Some(&user), Need::See, false)?;
            let only = (!access.manages(&user)).then_some(user.id.as_str());
            let rows = queries::applications(c, &shift.id, only, &for_query)?;
            let ids: Vec<&str> = rows.iter().map(|(a, _)| a.user_id.as_str()).collect();
            let names = crate::accounts::queries::display_names(c, &ids)?;
            Ok((rows, names))
        })
        .await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |(a, _)| (a.created_at, a.id.as_str()),
        |(a, v)| {
            let name = names.get(&a.user_id).cloned().unwrap_or_default();
            application_view(a, &v, name)
        },
    );
    Ok(HttpResponse::Ok().json(paged))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Decision {
    pub id: String,
    pub status: String,
    pub decided_at: Option<DateTime<Utc>>,
}

async fn decide(
    user: CurrentUser,
    db: web::Data<Db>,
    id: String,
    to: &'static str,
) -> Result<HttpResponse, ApiError> {
    let decision = db
        .write(move |tx| {
            let found = queries::application(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            let mut shift = queries::lock_shift(tx, &found.shift_id)?;
            event_access::load(tx, &shift.event_id, Some(&user), Need::Manager, false)?;
            // Read again under the shift's lock: a racing decision may have
            // moved it since.
            let application =
                queries::application(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            if application.status == to {
                return Ok(Decision {
                    id: application.id,
                    status: application.status,
                    decided_at: application.decided_at.map(|t| t.and_utc()),
                });
            }
            match (application.status.as_str(), to) {
                (PENDING | REJECTED, APPROVED) => take_slot(tx, &mut shift)?,
                (APPROVED, REJECTED) => {
                    queries::add_approved(tx, &shift.id, -1)?;
                    shift.approved -= 1;
                }
                (PENDING, REJECTED) => {}
                _ => return Err(Code::InvalidTransition.into()),
            }
            let now = db::now();
            queries::decide(tx, &application.id, to, &user.id, now)?;
            shift_updated(tx, &shift);
            application_decided(tx, &shift, &application.id, &application.user_id, to);
            Ok(Decision {
                id: application.id,
                status: to.into(),
                decided_at: Some(now.and_utc()),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(decision))
}

/// Owners and managers approve an application; it takes a slot.
#[utoipa::path(post, path = "/api/v1/applications/{id}/approve", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "application")),
    responses(
        (status = 200, body = Decision),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`shift_full`", body = Problem),
    ))]
pub async fn approve(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(user, db, id.into_inner(), APPROVED).await
}

/// Owners and managers reject an application (an approved one frees its slot).
#[utoipa::path(post, path = "/api/v1/applications/{id}/reject", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "application")),
    responses(
        (status = 200, body = Decision),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn reject(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(user, db, id.into_inner(), REJECTED).await
}
