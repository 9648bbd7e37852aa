//! Buyers (a street office 街道办 or a district civil-affairs bureau 区民政局)
//! and their staff: `POST/GET /buyers`, `POST/DELETE /buyers/{id}/members`.
//! Platform admins create buyers; admins and buyer staff add staff by phone.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Buyer, BuyerView, access, queries};
use crate::accounts::{Phone, queries as users};
use crate::auth::CurrentUser;
use crate::auth::ratelimit::{self, Limiter};
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::parse_fields;
use crate::validate::text;

pub const LEVELS: &[&str] = &["street", "district"];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBuyer {
    #[schema(example = "杨浦区五角场街道办事处")]
    pub name: String,
    /// `street` or `district`.
    #[schema(example = "street")]
    pub level: String,
    #[schema(example = "上海市杨浦区五角场街道")]
    pub region: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStaff {
    #[schema(example = "13812345678")]
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub buyer_id: String,
    pub user_id: String,
    pub display_name: String,
}

/// Admins: a new buyer.
#[utoipa::path(post, path = "/api/v1/buyers", tag = "projects",
    security(("bearer" = [])),
    request_body = NewBuyer,
    responses(
        (status = 201, body = BuyerView),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden` (not an admin)", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn create(
    Guarded(user, body): Guarded<CurrentUser, Json<NewBuyer>>,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    if !user.is_admin {
        return Err(Code::Forbidden.into());
    }
    let body = body.into_inner();
    parse_fields!(
        name = "name" => text(&body.name, 1, 100),
        level = "level" => super::input::one_of(&body.level, LEVELS),
        region = "region" => text(&body.region, 1, 100),
    );
    let buyer = db
        .write(move |tx| {
            let buyer = Buyer {
                id: uuid::Uuid::new_v4().to_string(),
                name,
                level,
                region,
                created_by: user.id.clone(),
                created_at: db::now(),
            };
            queries::insert_buyer(tx, &buyer)?;
            Ok(buyer)
        })
        .await?;
    Ok(HttpResponse::Created().json(BuyerView::from(buyer)))
}

/// Admins see every buyer; anyone else the buyers they staff.
#[utoipa::path(get, path = "/api/v1/buyers", tag = "projects",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = inline(Paged<BuyerView>)),
        (status = 401, description = "`unauthenticated`", body = Problem),
    ))]
pub async fn list(
    user: CurrentUser,
    db: web::Data<Db>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = q.parse()?;
    let rows = {
        let page = page.clone();
        db.run(move |c| {
            let only = (!user.is_admin).then_some(user.id.as_str());
            queries::buyers_page(c, only, &page)
        })
        .await?
    };
    Ok(HttpResponse::Ok().json(Paged::from_rows(
        rows,
        &page,
        |b| (b.created_at, &b.id),
        BuyerView::from,
    )))
}

/// Loads the buyer for its staff (or an admin); others get `404`.
fn require_staff(
    conn: &mut db::DbConn,
    buyer_id: &str,
    user: &CurrentUser,
) -> Result<Buyer, ApiError> {
    let buyer = queries::buyer(conn, buyer_id)?.ok_or(ApiError::from(Code::NotFound))?;
    if !access::is_buyer_staff(conn, buyer_id, user)? {
        return Err(Code::NotFound.into());
    }
    Ok(buyer)
}

/// Admins and buyer staff: a staff member, by phone.
#[utoipa::path(post, path = "/api/v1/buyers/{id}/members", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "buyer")),
    request_body = AddStaff,
    responses(
        (status = 201, body = StaffView),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`already_member`", body = Problem),
        (status = 422, description = "`validation_failed` (no account with that phone)", body = Problem),
        (status = 429, description = "`rate_limited`: more than 30 lookups by phone in an hour (with organizations' members)", body = Problem),
    ))]
pub async fn add_member(
    Guarded(user, body): Guarded<CurrentUser, Json<AddStaff>>,
    db: web::Data<Db>,
    limiter: web::Data<Limiter>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(phone = "phone" => Phone::parse(&body.phone));
    let id = id.into_inner();
    // A lookup by phone: who may add staff is settled first, then it counts.
    let (buyer, caller) = (id.clone(), user.clone());
    db.run(move |c| require_staff(c, &buyer, &caller).map(drop))
        .await?;
    ratelimit::phone_lookup(&db, &limiter, &user).await?;
    let view = db
        .write(move |tx| {
            require_staff(tx, &id, &user)?;
            let target = users::find_by_phone(tx, &phone)?
                .ok_or_else(|| ApiError::field("phone", Invalid::UnknownPhone))?;
            queries::add_buyer_member(tx, &id, &target.id)?;
            Ok(StaffView {
                buyer_id: id,
                user_id: target.id,
                display_name: target.display_name,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Admins and buyer staff: removes a staff member.
#[utoipa::path(delete, path = "/api/v1/buyers/{id}/members/{user_id}", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "buyer"), ("user_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn remove_member(
    user: CurrentUser,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, member) = path.into_inner();
    db.write(move |tx| {
        require_staff(tx, &id, &user)?;
        if queries::remove_buyer_member(tx, &id, &member)? == 0 {
            return Err(Code::NotFound.into());
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
