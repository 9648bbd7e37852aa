//! `POST /centres/{id}/managers`, `/centres/{id}/displays` and
//! `DELETE /displays/{id}`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::require_manager;
use crate::accounts::{Phone, queries as users};
use crate::auth::tokens::TokenKeys;
use crate::auth::{Admin, CurrentUser};
use crate::db::schema::{centre_managers, displays};
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::live::outbox;
use crate::live::topics::display_control;
use crate::validate::text;

/// A display counts as online when it was heard from this recently.
const ONLINE_WITHIN: chrono::Duration = chrono::Duration::seconds(50);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/centres/{id}/managers", web::post().to(add_manager))
        .service(
            web::resource("/centres/{id}/displays")
                .route(web::post().to(create_display))
                .route(web::get().to(list_displays)),
        )
        .route("/displays/{id}", web::delete().to(revoke_display));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddManager {
    #[schema(example = "13912345678")]
    pub phone: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ManagerView {
    pub centre_id: String,
    pub user_id: String,
    pub display_name: String,
}

/// Admin: makes the holder of a phone number a manager of the centre's screens
/// and announcements.
#[utoipa::path(post, path = "/api/v1/centres/{id}/managers", tag = "displays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "centre")),
    request_body = AddManager,
    responses(
        (status = 201, body = ManagerView),
        (status = 403, description = "`forbidden` (not an admin)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`already_member`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn add_manager(
    Guarded(_admin, body): Guarded<Admin, Json<AddManager>>,
    db: web::Data<Db>,
    centre_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::field("phone", e))?;
    let centre_id = centre_id.into_inner();
    let view = db
        .write(move |c| {
            crate::centres::queries::find(c, &centre_id)?.ok_or(ApiError::from(Code::NotFound))?;
            let user = users::find_by_phone(c, &phone)?
                .ok_or_else(|| ApiError::field("phone", Invalid::UnknownPhone))?;
            diesel::insert_into(centre_managers::table)
                .values((
                    centre_managers::centre_id.eq(&centre_id),
                    centre_managers::user_id.eq(&user.id),
                    centre_managers::created_at.eq(db::now()),
                ))
                .execute(c.conn())
                .map_err(|e| {
                    if db::is_unique_violation(&e) {
                        ApiError::from(Code::AlreadyMember)
                    } else {
                        e.into()
                    }
                })?;
            Ok(ManagerView {
                centre_id: centre_id.clone(),
                user_id: user.id,
                display_name: user.display_name,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDisplay {
    #[schema(example = "一楼大厅电视")]
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DisplayCreated {
    pub id: String,
    pub name: String,
    /// Enter once on the screen's pairing page; valid until revoked, read-only,
    /// for this centre only.
    pub token: String,
}

/// A new display screen for the centre, with its token (shown once).
#[utoipa::path(post, path = "/api/v1/centres/{id}/displays", tag = "displays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "centre")),
    request_body = CreateDisplay,
    responses(
        (status = 201, body = DisplayCreated),
        (status = 403, description = "`forbidden` (not an admin or centre manager)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn create_display(
    Guarded(user, body): Guarded<CurrentUser, Json<CreateDisplay>>,
    db: web::Data<Db>,
    keys: web::Data<TokenKeys>,
    centre_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = text(&body.name, 1, 50).map_err(|e| ApiError::field("name", e))?;
    let shown = name.clone();
    let id = uuid::Uuid::new_v4().to_string();
    let (display_id, centre) = (id.clone(), centre_id.into_inner());
    let centre_for_token = centre.clone();
    db.write(move |c| {
        require_manager(c, &centre, &user)?;
        let now = db::now();
        diesel::insert_into(displays::table)
            .values((
                displays::id.eq(&display_id),
                displays::centre_id.eq(&centre),
                displays::name.eq(&name),
                displays::created_by.eq(&user.id),
                displays::created_at.eq(now),
            ))
            .execute(c.conn())?;
        Ok(())
    })
    .await?;
    let token = keys.issue_display(&id, &centre_for_token)?;
    Ok(HttpResponse::Created().json(DisplayCreated {
        id,
        name: shown,
        token,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DisplayView {
    pub id: String,
    pub name: String,
    /// Heard from in the last minute (its page keeps a live connection).
    pub online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DisplayList {
    pub items: Vec<DisplayView>,
}

/// The centre's screens that are not revoked, and whether each is online.
#[utoipa::path(get, path = "/api/v1/centres/{id}/displays", tag = "displays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "centre")),
    responses(
        (status = 200, body = DisplayList),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn list_displays(
    user: CurrentUser,
    db: web::Data<Db>,
    centre_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows: Vec<(String, String, Option<NaiveDateTime>)> = db
        .run(move |c| {
            require_manager(c, &centre_id, &user)?;
            Ok(displays::table
                .filter(displays::centre_id.eq(&*centre_id))
                .filter(displays::revoked_at.is_null())
                .order(displays::created_at.asc())
                .select((displays::id, displays::name, displays::last_seen_at))
                .load(c)?)
        })
        .await?;
    let now = db::now();
    let items = rows
        .into_iter()
        .map(|(id, name, seen)| DisplayView {
            id,
            name,
            online: seen.is_some_and(|t| now - t < ONLINE_WITHIN),
            last_seen_at: seen.map(|t| t.and_utc()),
        })
        .collect();
    Ok(HttpResponse::Ok().json(DisplayList { items }))
}

/// Revokes a display: its token stops working and its open sockets close.
#[utoipa::path(delete, path = "/api/v1/displays/{id}", tag = "displays",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn revoke_display(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    db.write(move |c| {
        let centre: String = displays::table
            .find(&*id)
            .filter(displays::revoked_at.is_null())
            .select(displays::centre_id)
            .first(c.conn())
            .optional()?
            .ok_or(ApiError::from(Code::NotFound))?;
        require_manager(c, &centre, &user)?;
        diesel::update(displays::table.find(&*id))
            .set(displays::revoked_at.eq(Some(db::now())))
            .execute(c.conn())?;
        // Every instance's hub closes this display's sockets on this message.
        outbox::publish(
            c,
            display_control(&id),
            "display.revoked",
            &serde_json::json!({}),
        );
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Records that a display was heard from (its live connection is open).
pub fn seen(conn: &mut crate::db::DbConn, display_id: &str) -> Result<(), ApiError> {
    diesel::update(displays::table.find(display_id))
        .set(displays::last_seen_at.eq(Some(db::now())))
        .execute(conn)?;
    Ok(())
}
