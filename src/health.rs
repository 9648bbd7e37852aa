//! Probes for the load balancer: `/healthz` (the process answers) and `/readyz`
//! (the database answers too).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Db};
use crate::error::{ApiError, Problem};

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `postgres` (only on `/readyz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        database: None,
    })
}

/// The database is reachable.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "`service_unavailable`", body = Problem),
    ))]
pub async fn readyz(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    db.run(db::ping).await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: Some(db.backend()),
    }))
}

/// How far to move the test clock.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// Seconds to move forward, 1 to 10 years' worth.
    pub advance_secs: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ClockNow {
    /// The service's time after the move (UTC).
    pub now: chrono::DateTime<chrono::Utc>,
}

const TEN_YEARS_SECS: i64 = 10 * 366 * 24 * 3600;

/// Moves the service's clock forward, for tests of everything time-driven.
/// Exists only with `MULIN_TEST_CLOCK=true` (never in production); otherwise `404`.
#[utoipa::path(post, path = "/api/v1/test/clock", tag = "operations",
    request_body = AdvanceClock,
    responses(
        (status = 200, body = ClockNow),
        (status = 404, description = "`not_found`: the test clock is off", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn advance_clock(
    db: web::Data<Db>,
    body: crate::http::json::Json<AdvanceClock>,
) -> Result<HttpResponse, ApiError> {
    if !db::clock::is_test_clock() {
        return Err(crate::error::Code::NotFound.into());
    }
    let secs = body.into_inner().advance_secs;
    if !(1..=TEN_YEARS_SECS).contains(&secs) {
        return Err(ApiError::field(
            "advance_secs",
            crate::error::Invalid::OutOfRange {
                min: 1,
                max: TEN_YEARS_SECS,
            },
        ));
    }
    let now = db
        .write(move |tx| Ok(db::clock::advance(tx, secs)?))
        .await?
        .ok_or(ApiError::from(crate::error::Code::NotFound))?;
    tracing::warn!(%now, "test clock moved");
    Ok(HttpResponse::Ok().json(ClockNow { now: now.and_utc() }))
}
