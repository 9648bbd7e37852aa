//! `/organizations/{id}/events`, `/events`, `/events/{id}` and its publish and
//! cancel actions.

use std::time::Instant;

use actix_web::http::header::{self, ContentType};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{self as event_access, EventAccess};
use super::input::{CreateEvent, EventFields, PatchEvent, RepeatSpec, timestamp};
use super::live::announce;
use super::page_cache::PageCache;
use super::queries::{self, Filters};
use super::{
    CANCELLED, CATEGORIES, COMPLETED, Contracts, DRAFT, Event, EventView, PUBLISHED,
    SENSITIVE_CATEGORIES, Seats, recurrence,
};
use crate::auth::{CurrentUser, MaybeUser};
use crate::centres::queries as centres;
use crate::db::{self, Db, DbConn, Tx};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::etag;
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::organizations::VERIFIED;
use crate::organizations::access::{self, Need};
use crate::validate::text;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/organizations/{id}/events", web::post().to(create))
        .route("/events", web::get().to(list))
        .service(
            web::resource("/events/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(patch)),
        )
        .route("/events/{id}/publish", web::post().to(publish))
        .route("/events/{id}/cancel", web::post().to(cancel));
}

fn check_centre(
    conn: &mut DbConn,
    centre_id: Option<&str>,
) -> Result<Option<chrono_tz::Tz>, ApiError> {
    match centre_id {
        None => Ok(None),
        Some(id) => centres::find(conn, id)?
            .map(|c| Some(c.tz()))
            .ok_or_else(|| ApiError::field("centre_id", Invalid::Unknown)),
    }
}

/// Each occurrence of a series: the same fields, moved to its own start, with
/// the sign-up window moved along.
fn occurrences_of(
    f: &EventFields,
    repeat: &RepeatSpec,
    tz: chrono_tz::Tz,
) -> Result<Vec<EventFields>, ApiError> {
    let times = recurrence::occurrences(f.starts_at, f.ends_at, tz, &repeat.weekdays, repeat.until)
        .map_err(|e| ApiError::field("repeat.until", e))?;
    Ok(times
        .into_iter()
        .map(|(starts_at, ends_at)| {
            let shift = starts_at - f.starts_at;
            EventFields {
                starts_at,
                ends_at,
                registration_opens_at: f.registration_opens_at.map(|t| t + shift),
                registration_closes_at: f.registration_closes_at.map(|t| t + shift),
                ..f.clone()
            }
        })
        .collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesCreated {
    pub series_id: String,
    pub items: Vec<EventView>,
}

/// Creates an event in `draft` (or, with `repeat`, one per occurrence).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/events", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization")),
    request_body = CreateEvent,
    responses(
        (status = 201, description = "The event, or `{series_id, items}` with `repeat`", body = EventView),
        (status = 403, description = "`forbidden` (staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed` (also a `contract_id` the event cannot count for)", body = Problem),
    ))]
pub async fn create(
    Guarded(user, body): Guarded<CurrentUser, Json<CreateEvent>>,
    db: web::Data<Db>,
    contracts: web::Data<dyn Contracts>,
    org_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (fields, repeat) = body.into_inner().parse()?;
    let org_id = org_id.into_inner();
    let contracts = contracts.into_inner();
    let created = db
        .write(move |c| {
            let standing = access::require(c, &org_id, &user, Need::Manager)?;
            let tz =
                check_centre(c, fields.centre_id.as_deref())?.unwrap_or(chrono_tz::Asia::Shanghai);
            let now = db::now();
            match repeat {
                None => {
                    if let Some(contract) = &fields.contract_id {
                        contracts.check_link(c, contract, &org_id, &fields)?;
                    }
                    let event = Event::draft(&org_id, &user.id, &fields, None);
                    queries::insert(c, &event)?;
                    Ok((
                        None,
                        vec![EventView::new(event, standing.organization.name, now)],
                    ))
                }
                Some(repeat) => {
                    let series_id = uuid::Uuid::new_v4().to_string();
                    let mut items = Vec::new();
                    for occurrence in occurrences_of(&fields, &repeat, tz)? {
                        if let Some(contract) = &occurrence.contract_id {
                            contracts.check_link(c, contract, &org_id, &occurrence)?;
                        }
                        let event =
                            Event::draft(&org_id, &user.id, &occurrence, Some(series_id.clone()));
                        queries::insert(c, &event)?;
                        items.push(EventView::new(
                            event,
                            standing.organization.name.clone(),
                            now,
                        ));
                    }
                    Ok((Some(series_id), items))
                }
            }
        })
        .await?;
    match created {
        (Some(series_id), items) => {
            Ok(HttpResponse::Created().json(SeriesCreated { series_id, items }))
        }
        (None, mut items) => Ok(HttpResponse::Created().json(items.pop())),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub centre_id: Option<String>,
    pub organization_id: Option<String>,
    pub category: Option<String>,
    /// Events starting at or after this time (default: those not yet ended).
    pub from: Option<String>,
    /// Events starting before this time.
    pub to: Option<String>,
    /// Words in the title or description (Chinese works).
    pub q: Option<String>,
    /// Only events with (true) or without (false) free seats.
    pub has_seats: Option<bool>,
}

/// Published activities, soonest first, with live counts.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(ListQuery),
    responses(
        (status = 200, body = Paged<EventView>),
        (status = 400, description = "`invalid_query`", body = Problem),
        (status = 422, description = "`validation_failed` (an unknown `category`, a bad time)", body = Problem),
    ))]
pub async fn list(
    req: HttpRequest,
    db: web::Data<Db>,
    pages: web::Data<PageCache>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    // Counted before the read: a commit during it leaves the page stale.
    let writes = db.writes_committed();
    let read_at = Instant::now();
    if let Some(page) = writes.and_then(|w| pages.get(req.query_string(), w)) {
        return Ok(json_page(page.body, &page.etag));
    }
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .parse()?;
    let parse_time = |field, v: Option<String>| {
        v.map(|t| timestamp(&t).map_err(|e| ApiError::field(field, e)))
            .transpose()
    };
    let filters = Filters {
        from: parse_time("from", q.from)?,
        to: parse_time("to", q.to)?,
        centre_id: q.centre_id,
        organization_id: q.organization_id,
        category: q
            .category
            .map(|c| match CATEGORIES.contains(&c.as_str()) {
                true => Ok(c),
                false => Err(ApiError::field("category", Invalid::OneOf(CATEGORIES))),
            })
            .transpose()?,
        q: q.q
            .map(|s| s.trim().chars().take(100).collect::<String>())
            .filter(|s| !s.is_empty()),
        has_seats: q.has_seats,
    };
    let for_query = page.clone();
    let rows = db
        .run(move |c| queries::list(c, &filters, &for_query))
        .await?;
    let now = db::now();
    let paged = Paged::from_rows(
        rows,
        &page,
        |(e, _)| (e.starts_at, e.id.as_str()),
        |(e, org)| EventView::new(e, org, now),
    );
    let body =
        Bytes::from(serde_json::to_vec(&paged).map_err(|e| ApiError::internal(e.to_string()))?);
    let tag = etag::tag(&body);
    if let Some(writes) = writes {
        pages.put(
            req.query_string(),
            writes,
            read_at,
            body.clone(),
            tag.clone(),
        );
    }
    Ok(json_page(body, &tag))
}

fn json_page(body: Bytes, tag: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .insert_header((header::ETAG, tag))
        .body(body)
}

/// One event with live counts (drafts only for its organization's staff).
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = EventView),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn get(
    user: MaybeUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = db
        .run(move |c| {
            let a = event_access::load(c, &id, user.0.as_ref(), event_access::Need::See, false)?;
            Ok(EventView::new(a.event, a.organization.name, db::now()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Locks the event for a manager's change.
fn lock_for_manager(
    tx: &mut Tx<'_>,
    id: &str,
    user: &CurrentUser,
) -> Result<EventAccess, ApiError> {
    event_access::load(tx, id, Some(user), event_access::Need::Manager, true)
}

/// Changes an event. Capacity cannot drop below the confirmed seats; added
/// seats go to the waitlist first.
#[utoipa::path(patch, path = "/api/v1/events/{id}", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = PatchEvent,
    responses(
        (status = 200, body = EventView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`capacity_below_confirmed`, `event_not_open`", body = Problem),
        (status = 422, description = "`validation_failed` (also a `contract_id` the event cannot count for)", body = Problem),
    ))]
pub async fn patch(
    Guarded(user, body): Guarded<CurrentUser, Json<PatchEvent>>,
    db: web::Data<Db>,
    seats: web::Data<dyn Seats>,
    contracts: web::Data<dyn Contracts>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    let seats = seats.into_inner();
    let contracts = contracts.into_inner();
    let view = db
        .write(move |c| {
            let EventAccess {
                event,
                organization,
                ..
            } = lock_for_manager(c, &id, &user)?;
            let org_name = organization.name;
            let now = db::now();
            if matches!(event.status_at(now), CANCELLED | COMPLETED) {
                return Err(Code::EventNotOpen.into());
            }
            let fields = patch.apply(&event)?;
            if fields.centre_id != event.centre_id {
                check_centre(c, fields.centre_id.as_deref())?;
            }
            let moved = fields.contract_id != event.contract_id
                || fields.starts_at != event.starts_at
                || fields.ends_at != event.ends_at
                || fields.centre_id != event.centre_id;
            if let (Some(contract), true) = (&fields.contract_id, moved) {
                contracts.check_link(c, contract, &event.organization_id, &fields)?;
            }
            if fields.capacity < event.confirmed_seats {
                return Err(Code::CapacityBelowConfirmed.into());
            }
            // Consent (or its absence) was given for the category people
            // signed up under, and retention follows the category.
            let sensitive = SENSITIVE_CATEGORIES.contains(&fields.category.as_str());
            if sensitive != event.is_sensitive() && event.confirmed_seats + event.waitlist_seats > 0
            {
                return Err(ApiError::field("category", Invalid::SensitivityLocked));
            }
            queries::update_fields(c, &id, &fields)?;
            if fields.capacity > event.capacity {
                seats.capacity_raised(c, &id)?;
            }
            let before = event;
            let event = queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            if moved {
                super::live::moved(c, &before, &event)?;
            }
            let view = EventView::new(event, org_name, now);
            announce(c, &view, "event.updated")?;
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Publishes a draft (the organization must be verified).
#[utoipa::path(post, path = "/api/v1/events/{id}/publish", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = EventView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`organization_not_verified`, `event_not_open`", body = Problem),
    ))]
pub async fn publish(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = db
        .write(move |c| {
            let EventAccess {
                event,
                organization,
                ..
            } = lock_for_manager(c, &id, &user)?;
            let org_name = organization.name;
            let now = db::now();
            let kind = match event.status_at(now) {
                DRAFT => {
                    if organization.status != VERIFIED {
                        return Err(Code::OrganizationNotVerified.into());
                    }
                    queries::set_status(c, &id, PUBLISHED, None)?;
                    "event.published"
                }
                PUBLISHED => "event.updated",
                _ => return Err(Code::EventNotOpen.into()),
            };
            let event = queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            let view = EventView::new(event, org_name, now);
            announce(c, &view, kind)?;
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelEvent {
    /// Told to everyone registered.
    #[schema(example = "讲师临时生病，活动取消，敬请谅解")]
    pub reason: String,
}

/// Cancels an event and every registration for it.
#[utoipa::path(post, path = "/api/v1/events/{id}/cancel", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = CancelEvent,
    responses(
        (status = 200, body = EventView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`event_not_open` (already over)", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn cancel(
    Guarded(user, body): Guarded<CurrentUser, Json<CancelEvent>>,
    db: web::Data<Db>,
    seats: web::Data<dyn Seats>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reason = text(&body.reason, 1, 500).map_err(|e| ApiError::field("reason", e))?;
    let seats = seats.into_inner();
    let view = db
        .write(move |c| {
            let EventAccess {
                event,
                organization,
                ..
            } = lock_for_manager(c, &id, &user)?;
            let org_name = organization.name;
            let now = db::now();
            match event.status_at(now) {
                CANCELLED => {}
                COMPLETED => return Err(Code::EventNotOpen.into()),
                _ => {
                    let told = seats.event_cancelled(c, &id, &user.id)?;
                    queries::set_status(c, &id, CANCELLED, Some(&reason))?;
                    let data = serde_json::json!({"event_id": id.as_str(), "reason": reason});
                    for resident in told {
                        crate::live::outbox::publish(
                            c,
                            format!("user:{resident}"),
                            "event.cancelled",
                            &data,
                        );
                    }
                    let event = queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound))?;
                    announce(
                        c,
                        &EventView::new(event, org_name.clone(), now),
                        "event.cancelled",
                    )?;
                }
            }
            let event = queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            Ok(EventView::new(event, org_name, now))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
