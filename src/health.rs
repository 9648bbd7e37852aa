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
