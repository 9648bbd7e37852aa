//! The delivery log of an endpoint and redelivery (same `webhook-id`).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::follow::schedule;
use super::routes::endpoint_for;
use crate::auth::CurrentUser;
use crate::db::schema::webhook_deliveries;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Problem};
use crate::http::pagination::{PageQuery, Paged};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: String,
    event: String,
    attempt: i32,
    status: String,
    response_code: Option<i32>,
    next_attempt_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    message_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    /// The `webhook-id` header, the same on every attempt.
    pub webhook_id: String,
    #[schema(example = "registration.created")]
    pub event: String,
    /// Attempts made so far.
    pub attempt: i32,
    /// `pending`, `succeeded`, `failed` or `disabled`.
    #[schema(example = "succeeded")]
    pub status: String,
    /// The last answer's status code (`null`: none yet, or no answer).
    pub response_code: Option<i32>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses(
        (status = 200, body = Paged<DeliveryView>),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn deliveries(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let rows: Vec<DeliveryRow> = db
        .run(move |c| {
            let endpoint = endpoint_for(c, &id, &user)?;
            let mut q = webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(&endpoint.id))
                .into_boxed();
            if let Some((at, id)) = &for_query.after {
                q = q.filter(
                    webhook_deliveries::created_at
                        .lt(*at)
                        .or(webhook_deliveries::created_at
                            .eq(*at)
                            .and(webhook_deliveries::id.lt(id.clone()))),
                );
            }
            Ok(q.order((
                webhook_deliveries::created_at.desc(),
                webhook_deliveries::id.desc(),
            ))
            .limit(for_query.limit + 1)
            .select(DeliveryRow::as_select())
            .load(c)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paged::from_rows(
        rows,
        &page,
        |d| (d.created_at, d.id.as_str()),
        |d| DeliveryView {
            id: d.id,
            webhook_id: d.message_id,
            event: d.event,
            attempt: d.attempt,
            status: d.status,
            response_code: d.response_code,
            next_attempt_at: d.next_attempt_at.map(|t| t.and_utc()),
            created_at: d.created_at.and_utc(),
        },
    )))
}

/// Sends a delivery again now, with the same `webhook-id`.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/redeliver", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 202, description = "queued"),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`webhook_disabled` (the endpoint answered 410 or was removed)", body = Problem),
    ))]
pub async fn redeliver(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    db.write(move |tx| {
        let endpoint_id: String = webhook_deliveries::table
            .find(id.as_str())
            .select(webhook_deliveries::endpoint_id)
            .first(tx.conn())
            .optional()?
            .ok_or(ApiError::from(Code::NotFound))?;
        let endpoint = endpoint_for(tx, &endpoint_id, &user)?;
        if endpoint.disabled_at.is_some() {
            return Err(Code::WebhookDisabled.into());
        }
        let now = db::now();
        diesel::update(webhook_deliveries::table.find(id.as_str()))
            .set((
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::next_attempt_at.eq(Some(now)),
                webhook_deliveries::updated_at.eq(now),
            ))
            .execute(tx.conn())?;
        schedule(tx, &id, now)
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}
