//! Signing up, one's own registrations, cancelling, and the staff roster.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::roster::{self, RosterEntry};
use super::{EventSummary, RegistrationView, STATUSES, access, queries, seats};
use crate::auth::CurrentUser;
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::events::access::{self as event_access, Need};
use crate::events::queries as events;
use crate::http::extract::Guarded;
use crate::http::json::JsonOrEmpty;
use crate::http::pagination::{PageQuery, Paged};
use crate::organizations::access_log::{self, Access};
use crate::validate::{int_in, optional_text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/events/{id}/registrations")
            .route(web::post().to(register))
            .route(web::get().to(roster_of)),
    )
    .route("/me/registrations", web::get().to(mine))
    .route("/registrations/{id}", web::get().to(get))
    .route("/registrations/{id}/cancel", web::post().to(cancel));
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// The resident plus companions, 1 to the event's `max_party_size` (default 1).
    #[schema(example = 2)]
    pub party_size: Option<i64>,
    #[schema(example = "需要轮椅位")]
    pub note: Option<String>,
    /// Separate consent to sensitive personal information (the text of `GET
    /// /consent`): required for counselling, health talks, legal aid and meal
    /// help (`422 consent_required` otherwise).
    pub consent_sensitive: Option<bool>,
}

fn parse_status(value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(s) if STATUSES.contains(&s.as_str()) => Ok(Some(s)),
        Some(_) => Err(ApiError::field("status", Invalid::OneOf(STATUSES))),
    }
}

fn view(conn: &mut DbConn, r: super::Registration) -> Result<RegistrationView, ApiError> {
    let event = events::find(conn, &r.event_id)?.ok_or(ApiError::from(Code::NotFound))?;
    let position = queries::waitlist_position(conn, &r)?;
    Ok(RegistrationView::new(
        r,
        position,
        EventSummary::of(&event, db::now()),
    ))
}

/// Signs the caller up: `confirmed` while seats last, else `waitlisted`.
///
/// The body may be left out: no body, an empty one or `null` sign up one person.
#[utoipa::path(post, path = "/api/v1/events/{id}/registrations", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event")),
    request_body(content = Option<RegisterBody>,
        description = "Every field is optional: no body, an empty one or `null` sign up one person."),
    responses(
        (status = 201, body = RegistrationView),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`already_registered`, `event_full`, `registration_closed`, `event_not_open`", body = Problem),
        (status = 422, description = "`consent_required`, `not_eligible`, `party_too_large`, `validation_failed`", body = Problem),
    ))]
pub async fn register(
    Guarded(user, body): Guarded<CurrentUser, JsonOrEmpty<RegisterBody>>,
    db: web::Data<Db>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    crate::parse_fields!(
        party_size = "party_size" => int_in(body.party_size.unwrap_or(1), 1, 100),
        note = "note" => optional_text(body.note.as_deref(), 500),
    );
    let consent = body.consent_sensitive.unwrap_or(false);
    let key = event_id.clone();
    let view = db
        .write_on(&key, move |c| {
            let (registration, event) =
                seats::sign_up(c, &event_id, &user.id, party_size, note, consent)?;
            let position = queries::waitlist_position(c, &registration)?;
            Ok(RegistrationView::new(
                registration,
                position,
                EventSummary::of(&event, db::now()),
            ))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MineQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `confirmed`, `waitlisted` or `cancelled`.
    pub status: Option<String>,
}

/// The caller's registrations, latest event first.
#[utoipa::path(get, path = "/api/v1/me/registrations", tag = "registrations",
    security(("bearer" = [])),
    params(MineQuery),
    responses(
        (status = 200, body = Paged<RegistrationView>),
        (status = 401, description = "`unauthenticated`", body = Problem),
    ))]
pub async fn mine(
    user: CurrentUser,
    db: web::Data<Db>,
    query: web::Query<MineQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let status = parse_status(query.status)?;
    let for_query = page.clone();
    let paged = db
        .run(move |c| {
            let rows = queries::mine(c, &user.id, status.as_deref(), &for_query)?;
            let now = db::now();
            let mut items = Vec::with_capacity(rows.len());
            let mut keys = Vec::with_capacity(rows.len());
            for (r, event) in rows {
                keys.push((event.starts_at, r.id.clone()));
                let position = queries::waitlist_position(c, &r)?;
                items.push(RegistrationView::new(
                    r,
                    position,
                    EventSummary::of(&event, now),
                ));
            }
            Ok(Paged::from_rows(
                items.into_iter().zip(keys).collect(),
                &for_query,
                |(_, (at, id)): &(RegistrationView, (chrono::NaiveDateTime, String))| {
                    (*at, id.as_str())
                },
                |(item, _)| item,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(paged))
}

/// One registration (its resident, or the organization's staff).
#[utoipa::path(get, path = "/api/v1/registrations/{id}", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RegistrationView),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn get(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = db
        .run(move |c| {
            let r = access::load(c, &id, &user, Need::Staff)?;
            view(c, r)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Cancels a registration (its resident, or an owner or manager); frees its
/// seats and promotes the waitlist in order.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/cancel", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RegistrationView),
        (status = 403, description = "`forbidden` (staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`event_not_open` (the event is over)", body = Problem),
    ))]
pub async fn cancel(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = db
        .write(move |c| {
            access::load(c, &id, &user, Need::Manager)?;
            let r = seats::cancel(c, &id, &user.id)?;
            view(c, r)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RosterQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `confirmed`, `waitlisted` or `cancelled`.
    pub status: Option<String>,
    /// Part of a name, or the last four digits of a phone number.
    pub q: Option<String>,
}

/// The roster for the organization's staff; `Accept: text/csv` gives every row
/// as one CSV file.
#[utoipa::path(get, path = "/api/v1/events/{id}/registrations", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event"), RosterQuery),
    responses(
        (status = 200, body = Paged<RosterEntry>, description = "JSON pages, or `text/csv`"),
        (status = 403, description = "`forbidden` (not its organization's staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn roster_of(
    req: HttpRequest,
    user: CurrentUser,
    db: web::Data<Db>,
    event_id: web::Path<String>,
    query: web::Query<RosterQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (reader, logged_event) = (user.id.clone(), event_id.to_string());
    let csv = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let status = parse_status(query.status)?;
    let q = query
        .q
        .map(|s| s.trim().chars().take(50).collect::<String>())
        .filter(|s| !s.is_empty());
    let for_query = page.clone();
    let (entries, org_id) = db
        .run(move |c| {
            let access = event_access::load(c, &event_id, Some(&user), Need::Staff, false)?;
            let entries = roster::load(
                c,
                &event_id,
                status.as_deref(),
                q.as_deref(),
                (!csv).then_some(&for_query),
            )?;
            Ok((entries, access.event.organization_id))
        })
        .await?;
    let what = if csv {
        Access::RosterCsv
    } else {
        Access::Roster
    };
    access_log::note(&db, org_id, reader, what, Some(logged_event)).await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"roster.csv\"",
            ))
            .body(roster::to_csv(&entries)?));
    }
    let paged = Paged::from_rows(
        entries,
        &page,
        |e| (e.created_at.naive_utc(), e.registration_id.as_str()),
        |e| e,
    );
    Ok(HttpResponse::Ok().json(paged))
}
