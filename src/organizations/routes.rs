//! `/organizations`, approval by admins, and `/organizations/{id}/members`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::access::{self, Need};
use super::access_log::{self, Access};
use super::{
    MemberView, Organization, OrganizationView, PENDING, Role, SUSPENDED, VERIFIED, parse_category,
    queries,
};
use crate::accounts::{Phone, queries as users};
use crate::auth::ratelimit::{self, Limiter};
use crate::auth::{Admin, CurrentUser, MaybeUser};
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::parse_fields;
use crate::validate::{optional_text, present, text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/organizations")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/organizations/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch)),
    )
    .route("/organizations/{id}/approve", web::post().to(approve))
    .route("/organizations/{id}/suspend", web::post().to(suspend))
    .service(
        web::resource("/organizations/{id}/members")
            .route(web::get().to(members))
            .route(web::post().to(add_member)),
    )
    .route(
        "/organizations/{id}/members/{user_id}",
        web::delete().to(remove_member),
    );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    #[schema(example = "古美社区花园队")]
    pub name: String,
    #[schema(example = "life_service")]
    pub category: String,
    pub description: Option<String>,
    #[schema(example = "021-64001234")]
    pub contact_phone: Option<String>,
}

fn contact_phone(value: Option<&str>) -> Result<Option<String>, Invalid> {
    let phone = optional_text(value, 30)?;
    match &phone {
        Some(p) if !p.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)) => {
            Err(Invalid::Phone)
        }
        _ => Ok(phone),
    }
}

/// Registers an organization; it starts `pending` until an admin approves it,
/// and its creator becomes its owner.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations",
    security(("bearer" = [])),
    request_body = CreateOrganization,
    responses(
        (status = 201, body = OrganizationView),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn create(
    Guarded(user, body): Guarded<CurrentUser, Json<CreateOrganization>>,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        name = "name" => text(&body.name, 1, 100),
        category = "category" => parse_category(&body.category),
        description = "description" => optional_text(body.description.as_deref(), 2000),
        contact_phone = "contact_phone" => contact_phone(body.contact_phone.as_deref()),
    );
    let now = db::now();
    let org = Organization {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        category,
        description,
        contact_phone,
        status: PENDING.into(),
        created_by: user.id,
        created_at: now,
        updated_at: now,
        person_in_charge: None,
    };
    let org = db
        .write(move |c| {
            queries::create(c, &org)?;
            Ok(org)
        })
        .await?;
    Ok(HttpResponse::Created().json(OrganizationView::from(org)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Only this category.
    pub category: Option<String>,
}

/// Verified organizations; admins also see every other one, members their own.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations",
    params(ListQuery),
    responses(
        (status = 200, body = Paged<OrganizationView>),
        (status = 400, description = "`invalid_query`", body = Problem),
    ))]
pub async fn list(
    user: MaybeUser,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let category = query
        .category
        .map(|c| parse_category(&c).map_err(|e| ApiError::field("category", e)))
        .transpose()?;
    let page_for_query = page.clone();
    let rows = db
        .run(move |c| queries::list(c, user.0.as_ref(), category.as_deref(), &page_for_query))
        .await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |o| (o.created_at, o.id.as_str()),
        OrganizationView::from,
    );
    Ok(HttpResponse::Ok().json(paged))
}

/// One organization, if visible to the caller.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = OrganizationView),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn get(
    user: MaybeUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org = db
        .run(move |c| {
            let org = queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            if access::visible(c, &org, user.0.as_ref())? {
                Ok(org)
            } else {
                Err(Code::NotFound.into())
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationView::from(org)))
}

/// The fields an owner changes on `PATCH /organizations/{id}`; `null` clears one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchOrganization {
    /// The person in charge (负责人) shown on certificates and reports.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "张丽")]
    pub person_in_charge: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "021-64001234")]
    pub contact_phone: Option<Option<String>>,
}

/// The owner (or an admin): the person in charge and the contact phone shown
/// on certificates and reports.
#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "organizations",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = PatchOrganization,
    responses(
        (status = 200, body = OrganizationView),
        (status = 403, description = "`forbidden` (not its owner)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn patch(
    Guarded(user, body): Guarded<CurrentUser, Json<PatchOrganization>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        person = "person_in_charge" => body
            .person_in_charge
            .map(|p| optional_text(p.as_deref(), 50))
            .transpose(),
        phone = "contact_phone" => body
            .contact_phone
            .map(|p| contact_phone(p.as_deref()))
            .transpose(),
    );
    let id = id.into_inner();
    let org = db
        .write(move |c| {
            let standing = access::require(c, &id, &user, Need::Manager)?;
            if !standing.is_owner_or_admin() {
                return Err(Code::Forbidden.into());
            }
            queries::update_contacts(c, &id, person, phone)?;
            queries::find(c, &id)?.ok_or(ApiError::from(Code::NotFound))
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationView::from(org)))
}

async fn set_status(
    db: web::Data<Db>,
    id: String,
    status: &'static str,
) -> Result<HttpResponse, ApiError> {
    let org = db
        .write(move |c| queries::set_status(c, &id, status))
        .await?;
    tracing::info!(organization = %org.id, status, "organization status changed");
    Ok(HttpResponse::Ok().json(OrganizationView::from(org)))
}

/// Admin: marks an organization verified, so it can publish events.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/approve", tag = "organizations",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = OrganizationView),
        (status = 403, description = "`forbidden` (not an admin)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn approve(
    _admin: Admin,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_status(db, id.into_inner(), VERIFIED).await
}

/// Admin: suspends an organization.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/suspend", tag = "organizations",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = OrganizationView),
        (status = 403, description = "`forbidden` (not an admin)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn suspend(
    _admin: Admin,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_status(db, id.into_inner(), SUSPENDED).await
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberView>,
}

/// The organization's members (any member may look).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/members", tag = "organizations",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = MemberList),
        (status = 404, description = "`not_found` (also for non-members)", body = Problem),
    ))]
pub async fn members(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let items = db
        .run(move |c| {
            access::require(c, &id, &user, Need::Staff)?;
            queries::members(c, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MemberList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The new member's account phone number.
    #[schema(example = "13912345678")]
    pub phone: String,
    /// `owner`, `manager` or `staff`.
    #[schema(example = "staff")]
    pub role: String,
}

/// Adds a member by phone. Owners and managers add managers and staff; only
/// owners (and admins) add owners. Each lookup is recorded in the
/// organization's access log; more than 30 lookups an hour by one caller
/// (here and in buyers' staff and evaluators together) is `429`.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members", tag = "organizations",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = AddMember,
    responses(
        (status = 201, body = MemberView),
        (status = 403, description = "`forbidden` (staff, or a manager adding an owner)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`already_member`", body = Problem),
        (status = 422, description = "`validation_failed` (bad role, or no account with that phone)", body = Problem),
        (status = 429, description = "`rate_limited`: more than 30 lookups by phone in an hour", body = Problem),
    ))]
pub async fn add_member(
    Guarded(user, body): Guarded<CurrentUser, Json<AddMember>>,
    db: web::Data<Db>,
    limiter: web::Data<Limiter>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        phone = "phone" => Phone::parse(&body.phone),
        role = "role" => Role::parse(&body.role),
    );
    // Each lookup by phone is limited (per caller, shared with the buyers'
    // lookups) and logged before it is made, in writes of their own, so a
    // refused lookup ("no such account") is logged too. Who may add members is
    // settled first.
    let (org_id, caller) = (id.to_string(), user.clone());
    db.run(move |c| access::require(c, &org_id, &caller, Need::Manager).map(drop))
        .await?;
    ratelimit::phone_lookup(&db, &limiter, &user).await?;
    let (org_id, caller) = (id.to_string(), user.id.clone());
    db.write(move |c| access_log::record(c, &org_id, &caller, Access::PhoneLookup, None))
        .await?;
    let member = db
        .write(move |c| {
            let standing = access::require(c, &id, &user, Need::Manager)?;
            if role == Role::Owner && !standing.is_owner_or_admin() {
                return Err(Code::Forbidden.into());
            }
            let target = users::find_by_phone(c, &phone)?
                .ok_or_else(|| ApiError::field("phone", Invalid::UnknownPhone))?;
            queries::add_member(c, &id, &target.id, role)?;
            Ok(MemberView {
                user_id: target.id,
                display_name: target.display_name,
                role: role.as_str().into(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(member))
}

/// Removes a member. Managers cannot remove owners; the last owner stays.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/members/{user_id}", tag = "organizations",
    security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`last_owner`", body = Problem),
    ))]
pub async fn remove_member(
    user: CurrentUser,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org_id, member_id) = path.into_inner();
    db.write(move |c| {
        queries::lock(c, &org_id)?;
        let standing = access::require(c, &org_id, &user, Need::Manager)?;
        let role =
            queries::role_of(c, &org_id, &member_id)?.ok_or(ApiError::from(Code::NotFound))?;
        if role == Role::Owner {
            if !standing.is_owner_or_admin() {
                return Err(Code::Forbidden.into());
            }
            if queries::count_owners(c, &org_id)? <= 1 {
                return Err(Code::LastOwner.into());
            }
        }
        queries::remove_member(c, &org_id, &member_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
