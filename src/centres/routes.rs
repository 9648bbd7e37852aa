//! `POST /centres` (admins), `GET /centres`, `GET /centres/{id}`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Centre, CentreView, parse_timezone, queries};
use crate::auth::Admin;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::parse_fields;
use crate::validate::text;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/centres")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .route("/centres/{id}", web::get().to(get));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCentre {
    #[schema(example = "古美睦邻中心")]
    pub name: String,
    #[schema(example = "平吉路 100 号")]
    pub address: String,
    #[schema(example = "古美路街道")]
    pub street: String,
    #[schema(example = "闵行区")]
    pub district: String,
    /// IANA time zone; `Asia/Shanghai` when absent.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: Option<String>,
}

/// Admin: adds a neighbourhood centre.
#[utoipa::path(post, path = "/api/v1/centres", tag = "centres",
    security(("bearer" = [])),
    request_body = CreateCentre,
    responses(
        (status = 201, body = CentreView),
        (status = 403, description = "`forbidden` (not an admin)", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn create(
    Guarded(_admin, body): Guarded<Admin, Json<CreateCentre>>,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        name = "name" => text(&body.name, 1, 100),
        address = "address" => text(&body.address, 1, 200),
        street = "street" => text(&body.street, 1, 50),
        district = "district" => text(&body.district, 1, 50),
        timezone = "timezone" => parse_timezone(body.timezone.as_deref()),
    );
    let now = db::now();
    let centre = Centre {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        address,
        street,
        district,
        timezone,
        created_at: now,
        updated_at: now,
    };
    let centre = db
        .write(move |c| {
            queries::insert(c, &centre)?;
            Ok(centre)
        })
        .await?;
    Ok(HttpResponse::Created().json(CentreView::from(centre)))
}

/// Every centre, oldest first.
#[utoipa::path(get, path = "/api/v1/centres", tag = "centres",
    params(PageQuery),
    responses(
        (status = 200, body = Paged<CentreView>),
        (status = 400, description = "`invalid_query`", body = Problem),
    ))]
pub async fn list(
    db: web::Data<Db>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let page_for_query = page.clone();
    let rows = db.run(move |c| queries::list(c, &page_for_query)).await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |c| (c.created_at, c.id.as_str()),
        CentreView::from,
    );
    Ok(HttpResponse::Ok().json(paged))
}

/// One centre.
#[utoipa::path(get, path = "/api/v1/centres/{id}", tag = "centres",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = CentreView),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn get(db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let centre = db
        .run(move |c| queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound)))
        .await?;
    Ok(HttpResponse::Ok().json(CentreView::from(centre)))
}
