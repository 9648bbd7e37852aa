//! Registering endpoints (the secret is shown once), listing and deleting
//! them, rotating the secret (the old one keeps signing for 24 h), the
//! delivery log and redelivery. An organization's endpoints belong to its
//! owners and managers.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::target::{self, Refused};
use super::{
    BUYER, BUYER_EVENTS, Endpoint, ORG_EVENTS, ORGANIZATION, ROTATION_OVERLAP, new_secret,
};
use crate::auth::CurrentUser;
use crate::auth::sealed::Sealer;
use crate::config::Settings;
use crate::db::schema::webhook_endpoints;
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paged};
use crate::organizations::access::{Need, require};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/organizations/{id}/webhooks")
            .route(web::post().to(create_for_org))
            .route(web::get().to(list_for_org)),
    )
    .service(
        web::resource("/buyers/{id}/webhooks")
            .route(web::post().to(create_for_buyer))
            .route(web::get().to(list_for_buyer)),
    )
    .route("/webhooks/{id}", web::delete().to(delete))
    .route("/webhooks/{id}/rotate-secret", web::post().to(rotate))
    .route(
        "/webhooks/{id}/deliveries",
        web::get().to(super::log::deliveries),
    )
    .route(
        "/deliveries/{id}/redeliver",
        web::post().to(super::log::redeliver),
    );
}

/// Most endpoints one owner may register.
const MAX_ENDPOINTS: i64 = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// A public `https://` (or `http://`) URL; at most 2,000 characters.
    #[schema(example = "https://mzj.example.gov.cn/hooks/mulin")]
    pub url: String,
    /// Event types to receive (1–20 of the owner's kinds).
    #[schema(example = json!(["registration.created", "event.cancelled"]))]
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// Set when the endpoint answered `410` (it receives nothing more).
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookView {
    fn from(e: Endpoint) -> Self {
        WebhookView {
            events: e.events(),
            id: e.id,
            url: e.url,
            disabled_at: e.disabled_at.map(|t| t.and_utc()),
            created_at: e.created_at.and_utc(),
        }
    }
}

/// A new endpoint, or a rotated secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecret {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// `whsec_` + base64; keep it: it is never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
    /// After a rotation: until when the previous secret also signs.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

fn owns(conn: &mut DbConn, endpoint: &Endpoint, user: &CurrentUser) -> Result<(), ApiError> {
    match endpoint.owner_kind.as_str() {
        ORGANIZATION => require(conn, &endpoint.owner_id, user, Need::Manager).map(|_| ()),
        BUYER => require_buyer_staff(conn, &endpoint.owner_id, user),
        _ => Err(Code::NotFound.into()),
    }
}

/// Buyer staff (and admins) manage a buyer's endpoints; anyone else: `404`.
fn require_buyer_staff(
    conn: &mut DbConn,
    buyer_id: &str,
    user: &CurrentUser,
) -> Result<(), ApiError> {
    let exists = crate::projects::queries::buyer(conn, buyer_id)?.is_some();
    if exists && crate::projects::access::is_buyer_staff(conn, buyer_id, user)? {
        Ok(())
    } else {
        Err(Code::NotFound.into())
    }
}

pub(super) fn endpoint_for(
    conn: &mut DbConn,
    id: &str,
    user: &CurrentUser,
) -> Result<Endpoint, ApiError> {
    let endpoint: Endpoint = webhook_endpoints::table
        .find(id)
        .filter(webhook_endpoints::deleted_at.is_null())
        .select(Endpoint::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::from(Code::NotFound))?;
    owns(conn, &endpoint, user)?;
    Ok(endpoint)
}

async fn checked(
    body: NewWebhook,
    kinds: &'static [&'static str],
    settings: &Settings,
) -> Result<(String, Vec<String>), ApiError> {
    if body.url.chars().count() > 2000 {
        return Err(ApiError::field("url", Invalid::TooLong { max: 2000 }));
    }
    let url = target::check(body.url.trim(), settings.webhook_allow_private)
        .await
        .map_err(|e| match e {
            Refused::NotHttp | Refused::Private | Refused::Unresolvable => {
                ApiError::field("url", Invalid::PublicUrl)
            }
        })?;
    let mut events = body.events;
    events.sort();
    events.dedup();
    if events.is_empty() || events.len() > kinds.len() {
        return Err(ApiError::field("events", Invalid::OneOf(kinds)));
    }
    if events.iter().any(|e| !kinds.contains(&e.as_str())) {
        return Err(ApiError::field("events", Invalid::OneOf(kinds)));
    }
    Ok((url.to_string(), events))
}

/// Owners and managers: a new endpoint for the organization's events.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization")),
    request_body = NewWebhook,
    responses(
        (status = 201, body = WebhookSecret),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden` (staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`too_many_webhooks` (20 per owner)", body = Problem),
        (status = 422, description = "`validation_failed`: `url` not a public http(s) address, `events` empty or unknown", body = Problem),
    ))]
pub async fn create_for_org(
    user: CurrentUser,
    db: web::Data<Db>,
    sealer: web::Data<Sealer>,
    settings: web::Data<Settings>,
    id: web::Path<String>,
    body: Json<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let org_id = id.into_inner();
    let check_org = org_id.clone();
    let check_user = user.clone();
    db.run(move |c| require(c, &check_org, &check_user, Need::Manager).map(|_| ()))
        .await?;
    let (url, events) = checked(body.into_inner(), ORG_EVENTS, &settings).await?;
    let created = db
        .write(move |tx| create(tx, &sealer, ORGANIZATION, &org_id, &user, url, events))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Buyer staff: a new endpoint for the buyer's projects (`project.updated`,
/// `report.changed`, `report.frozen`).
#[utoipa::path(post, path = "/api/v1/buyers/{id}/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "buyer")),
    request_body = NewWebhook,
    responses(
        (status = 201, body = WebhookSecret),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 404, description = "`not_found` (not the buyer's staff)", body = Problem),
        (status = 409, description = "`too_many_webhooks` (20 per owner)", body = Problem),
        (status = 422, description = "`validation_failed`: `url` not a public http(s) address, `events` empty or unknown", body = Problem),
    ))]
pub async fn create_for_buyer(
    user: CurrentUser,
    db: web::Data<Db>,
    sealer: web::Data<Sealer>,
    settings: web::Data<Settings>,
    id: web::Path<String>,
    body: Json<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let buyer_id = id.into_inner();
    let (check_buyer, check_user) = (buyer_id.clone(), user.clone());
    db.run(move |c| require_buyer_staff(c, &check_buyer, &check_user))
        .await?;
    let (url, events) = checked(body.into_inner(), BUYER_EVENTS, &settings).await?;
    let created = db
        .write(move |tx| create(tx, &sealer, BUYER, &buyer_id, &user, url, events))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Buyer staff: the buyer's endpoints (secrets not shown).
#[utoipa::path(get, path = "/api/v1/buyers/{id}/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "buyer"), PageQuery),
    responses(
        (status = 200, body = Paged<WebhookView>),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn list_for_buyer(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let buyer_id = id.into_inner();
    let rows = db
        .run(move |c| {
            require_buyer_staff(c, &buyer_id, &user)?;
            list(c, BUYER, &buyer_id, &for_query)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paged::from_rows(
        rows,
        &page,
        |e| (e.created_at, e.id.as_str()),
        WebhookView::from,
    )))
}

fn create(
    tx: &mut DbConn,
    sealer: &Sealer,
    owner_kind: &str,
    owner_id: &str,
    user: &CurrentUser,
    url: String,
    events: Vec<String>,
) -> Result<WebhookSecret, ApiError> {
    let existing: i64 = webhook_endpoints::table
        .filter(webhook_endpoints::owner_kind.eq(owner_kind))
        .filter(webhook_endpoints::owner_id.eq(owner_id))
        .filter(webhook_endpoints::deleted_at.is_null())
        .count()
        .get_result(tx)?;
    if existing >= MAX_ENDPOINTS {
        return Err(Code::TooManyWebhooks.into());
    }
    let id = uuid::Uuid::new_v4().to_string();
    let secret = new_secret();
    let events_json =
        serde_json::to_string(&events).map_err(|e| ApiError::internal(e.to_string()))?;
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(&id),
            webhook_endpoints::owner_kind.eq(owner_kind),
            webhook_endpoints::owner_id.eq(owner_id),
            webhook_endpoints::url.eq(&url),
            webhook_endpoints::events.eq(&events_json),
            webhook_endpoints::secret.eq(sealer.seal(&secret)),
            webhook_endpoints::created_by.eq(&user.id),
            webhook_endpoints::created_at.eq(db::now()),
        ))
        .execute(tx)?;
    Ok(WebhookSecret {
        id,
        url,
        events,
        secret,
        previous_secret_valid_until: None,
    })
}

/// Owners and managers: the organization's endpoints (secrets not shown).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization"), PageQuery),
    responses(
        (status = 200, body = Paged<WebhookView>),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn list_for_org(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let org_id = id.into_inner();
    let rows = db
        .run(move |c| {
            require(c, &org_id, &user, Need::Manager)?;
            list(c, ORGANIZATION, &org_id, &for_query)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paged::from_rows(
        rows,
        &page,
        |e| (e.created_at, e.id.as_str()),
        WebhookView::from,
    )))
}

fn list(
    conn: &mut DbConn,
    kind: &str,
    owner: &str,
    page: &Page,
) -> Result<Vec<Endpoint>, ApiError> {
    let mut q = webhook_endpoints::table
        .filter(webhook_endpoints::owner_kind.eq(kind))
        .filter(webhook_endpoints::owner_id.eq(owner))
        .filter(webhook_endpoints::deleted_at.is_null())
        .into_boxed();
    if let Some((at, id)) = &page.after {
        q = q.filter(
            webhook_endpoints::created_at
                .gt(*at)
                .or(webhook_endpoints::created_at
                    .eq(*at)
                    .and(webhook_endpoints::id.gt(id.clone()))),
        );
    }
    Ok(
        q.order((webhook_endpoints::created_at, webhook_endpoints::id))
            .limit(page.limit + 1)
            .select(Endpoint::as_select())
            .load(conn)?,
    )
}

/// Removes an endpoint; waiting deliveries to it are dropped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "removed"),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn delete(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    db.write(move |tx| {
        let endpoint = endpoint_for(tx, &id, &user)?;
        diesel::update(webhook_endpoints::table.find(&endpoint.id))
            .set(webhook_endpoints::deleted_at.eq(Some(db::now())))
            .execute(tx.conn())?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret; the previous one also signs for 24 h so receivers can switch.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = WebhookSecret),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn rotate(
    user: CurrentUser,
    db: web::Data<Db>,
    sealer: web::Data<Sealer>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = db
        .write(move |tx| {
            let endpoint = endpoint_for(tx, &id, &user)?;
            let secret = new_secret();
            let until = db::now() + ROTATION_OVERLAP;
            diesel::update(webhook_endpoints::table.find(&endpoint.id))
                .set((
                    webhook_endpoints::secret.eq(sealer.seal(&secret)),
                    webhook_endpoints::previous_secret.eq(Some(&endpoint.secret)),
                    webhook_endpoints::previous_until.eq(Some(until)),
                ))
                .execute(tx.conn())?;
            Ok(WebhookSecret {
                events: endpoint.events(),
                id: endpoint.id,
                url: endpoint.url,
                secret,
                previous_secret_valid_until: Some(until.and_utc()),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(rotated))
}
