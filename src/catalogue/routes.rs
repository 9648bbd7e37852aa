//! `GET /catalogue`, `/organizations/{id}/offerings`, `DELETE /offerings/{id}`
//! and `POST /buyers/{id}/recommendations`.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries::{self, Search};
use super::{Offering, OfferingView};
use crate::auth::CurrentUser;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::events::CATEGORIES;
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::organizations::access::{self as org_access, Need};
use crate::organizations::queries as orgs;
use crate::parse_fields;
use crate::projects::{access as project_access, money, queries as projects};
use crate::validate::{int_in, optional_text, text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/catalogue", web::get().to(catalogue))
        .service(
            web::resource("/organizations/{id}/offerings")
                .route(web::post().to(create))
                .route(web::get().to(list)),
        )
        .route("/offerings/{id}", web::delete().to(remove))
        .route("/buyers/{id}/recommendations", web::post().to(recommend));
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CatalogueQuery {
    /// An event category.
    pub category: Option<String>,
    /// A street the offering serves, e.g. `五角场街道`.
    pub street: Option<String>,
    /// Text in the title, the description or the organization's name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Recommended offerings first (with the buyer and year that recommended
/// them), then the others, oldest first within each; anyone may read it.
#[utoipa::path(get, path = "/api/v1/catalogue", tag = "catalogue",
    params(CatalogueQuery),
    responses(
        (status = 200, body = inline(Paged<OfferingView>)),
        (status = 422, description = "`validation_failed` (unknown category)", body = Problem),
    ))]
pub async fn catalogue(
    db: web::Data<Db>,
    q: web::Query<CatalogueQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .parse()?;
    if let Some(c) = &q.category {
        if !CATEGORIES.contains(&c.as_str()) {
            return Err(ApiError::field("category", Invalid::OneOf(CATEGORIES)));
        }
    }
    let search = Search {
        category: q.category,
        street: q
            .street
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        q: q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    let paged = db
        .run(move |c| {
            let recommended = queries::latest_recommendations(c)?;
            let rows = queries::search(c, &search)?;
            // (group, created_at, id): recommended ones are group "r", others "o";
            // the cursor carries the group in front of the id.
            let mut keyed: Vec<((String, NaiveDateTime), OfferingView)> = rows
                .into_iter()
                .map(|(o, name)| {
                    let rec = recommended.get(&o.organization_id).cloned();
                    let group = if rec.is_some() { "r" } else { "o" };
                    (
                        (format!("{group}|{}", o.id), o.created_at),
                        OfferingView::new(o, name, rec),
                    )
                })
                .collect();
            let rank = |k: &(String, NaiveDateTime)| (!k.0.starts_with("r|"), k.1, k.0.clone());
            keyed.sort_by_key(|a| rank(&a.0));
            if let Some((at, id)) = &page.after {
                let after = rank(&(id.clone(), *at));
                keyed.retain(|(k, _)| rank(k) > after);
            }
            keyed.truncate(usize::try_from(page.limit + 1).unwrap_or(usize::MAX));
            Ok(Paged::from_rows(
                keyed,
                &page,
                |(k, _)| (k.1, k.0.as_str()),
                |(_, v)| v,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(paged))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOffering {
    #[schema(example = "老年人手指操健脑课")]
    pub title: String,
    /// An event category.
    #[schema(example = "health_talk")]
    pub category: String,
    pub description: String,
    #[schema(example = "60 岁以上社区老人")]
    pub target_group: String,
    /// The streets served (1–100).
    #[schema(example = json!(["五角场街道"]))]
    pub streets: Vec<String>,
    /// Yuan as a decimal string, at most two decimals.
    #[schema(example = "800.00")]
    pub unit_price_cny: Option<String>,
}

fn streets(values: &[String]) -> Result<String, Invalid> {
    if values.is_empty() || values.len() > 100 {
        return Err(Invalid::OutOfRange { min: 1, max: 100 });
    }
    let streets = values
        .iter()
        .map(|s| text(s, 1, 50))
        .collect::<Result<Vec<_>, _>>()?;
    serde_json::to_string(&streets).map_err(|_| Invalid::Unknown)
}

/// Owners and managers: an offering of their organization.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/offerings", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization")),
    request_body = NewOffering,
    responses(
        (status = 201, body = OfferingView),
        (status = 403, description = "`forbidden` (staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn create(
    Guarded(user, body): Guarded<CurrentUser, Json<NewOffering>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        title = "title" => text(&body.title, 1, 100),
        category = "category" => crate::projects::input::one_of(&body.category, CATEGORIES),
        description = "description" => text(&body.description, 1, 2000),
        target_group = "target_group" => text(&body.target_group, 1, 100),
        streets = "streets" => streets(&body.streets),
        price = "unit_price_cny" => body.unit_price_cny.as_deref().map(money::parse).transpose(),
    );
    let id = id.into_inner();
    let view = db
        .write(move |tx| {
            let standing = org_access::require(tx, &id, &user, Need::Manager)?;
            let o = Offering {
                id: uuid::Uuid::new_v4().to_string(),
                organization_id: id,
                title,
                category,
                description,
                target_group,
                streets,
                unit_price_fen: price,
                created_by: user.id.clone(),
                created_at: db::now(),
                removed_at: None,
            };
            queries::insert(tx, &o)?;
            let rec = queries::latest_recommendations(tx)?.remove(&o.organization_id);
            Ok(OfferingView::new(o, standing.organization.name, rec))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Owners and managers: their organization's offerings.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/offerings", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization")),
    responses(
        (status = 200, body = inline(Paged<OfferingView>)),
        (status = 403, description = "`forbidden` (staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn list(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let items = db
        .run(move |c| {
            let standing = org_access::require(c, &id, &user, Need::Manager)?;
            let rec = queries::latest_recommendations(c)?.remove(&id);
            Ok(queries::of_org(c, &id)?
                .into_iter()
                .map(|o| OfferingView::new(o, standing.organization.name.clone(), rec.clone()))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paged {
        items,
        next_cursor: None,
    }))
}

/// Owners and managers: removes an offering from the catalogue.
#[utoipa::path(delete, path = "/api/v1/offerings/{id}", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden` (staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn remove(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    db.write(move |tx| {
        let o = queries::find(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
        org_access::require(tx, &o.organization_id, &user, Need::Manager)?;
        queries::remove(tx, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecommendation {
    pub organization_id: String,
    #[schema(example = 2026)]
    pub year: i64,
    #[schema(example = "2026 年为老服务项目完成良好")]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationView {
    pub id: String,
    pub buyer_id: String,
    pub organization_id: String,
    pub year: i32,
    pub note: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Buyer staff: recommends an organization (it comes first in the catalogue).
#[utoipa::path(post, path = "/api/v1/buyers/{id}/recommendations", tag = "catalogue",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "buyer")),
    request_body = NewRecommendation,
    responses(
        (status = 201, body = RecommendationView),
        (status = 404, description = "`not_found` (not its staff)", body = Problem),
        (status = 422, description = "`validation_failed` (unknown organization, year)", body = Problem),
    ))]
pub async fn recommend(
    Guarded(user, body): Guarded<CurrentUser, Json<NewRecommendation>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        year = "year" => int_in(body.year, 2000, 2100),
        note = "note" => optional_text(Some(&body.note), 500).map(Option::unwrap_or_default),
    );
    let id = id.into_inner();
    let view = db
        .write(move |tx| {
            if projects::buyer(tx, &id)?.is_none()
                || !project_access::is_buyer_staff(tx, &id, &user)?
            {
                return Err(Code::NotFound.into());
            }
            let org = orgs::find(tx, &body.organization_id)?
                .filter(|o| o.status == crate::organizations::VERIFIED)
                .ok_or_else(|| ApiError::field("organization_id", Invalid::Unknown))?;
            let (rec_id, at) = queries::recommend(tx, &id, &org.id, year, &note, &user.id)?;
            Ok(RecommendationView {
                id: rec_id,
                buyer_id: id,
                organization_id: org.id,
                year,
                note,
                created_at: at.and_utc(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
