//! The caller's own personal data: `GET /me/export` (everything held, one
//! JSON document) and `DELETE /me` (erasure, with the password). Both walk the
//! [`Registry`] every feature registered its share in; this file also holds
//! the account's own share (the `users` row) and the sessions'.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::queries;
use crate::auth::ratelimit::{self, Limiter, PER_PHONE};
use crate::auth::{CurrentUser, passwords, sessions};
use crate::db::schema::users;
use crate::db::{self, Db, DbConn, Tx};
use crate::error::{ApiError, Code, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::privacy::{Personal, Registry};

/// What an erased person is called wherever a name is still shown (rosters of
/// past activities, certificates, who recorded hours).
pub const ERASED_NAME: &str = "已注销";
/// What stands in for an erased account's phone number (followed by its id).
pub const ERASED_PHONE_PREFIX: &str = "erased:";

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `DELETE /me` is on the `/me` resource in `routes`.
    cfg.route("/me/export", web::get().to(export));
}

/// Everything Mulin holds about the caller, as one JSON document: the account,
/// sessions, registrations, consents, check-ins, feedback, volunteer records,
/// notifications, roles in organizations, centres and buyers, the rosters the
/// caller read, and live messages still kept for them.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One JSON object, one key per section", body = Object),
        (status = 401, description = "`unauthenticated`", body = Problem),
    ))]
pub async fn export(
    user: CurrentUser,
    db: web::Data<Db>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let mut doc = db.run(move |c| registry.export(c, &user.id)).await?;
    if let Value::Object(map) = &mut doc {
        map.insert("exported_at".into(), json!(db::now().and_utc()));
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"mulin-export.json\"",
        ))
        .insert_header(("Cache-Control", "no-store"))
        .json(doc))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    pub password: String,
}

/// Deletes the caller's account: personal fields erased, sessions ended and
/// sockets closed, upcoming registrations cancelled (seats freed, the waitlist
/// promoted). Past attendance and volunteer hours stay only as anonymous
/// counts; certificates stay verifiable and name the person as 已注销. The
/// phone number may register again, as a new account.
#[utoipa::path(delete, path = "/api/v1/me", tag = "accounts",
    security(("bearer" = [])),
    request_body = EraseBody,
    responses(
        (status = 204, description = "Erased"),
        (status = 401, description = "`unauthenticated`, `invalid_credentials` (wrong password)", body = Problem),
        (status = 409, description = "`sole_owner`: the only owner of an organization", body = Problem),
        (status = 429, description = "`rate_limited`: more than 10 attempts a minute", body = Problem),
        (status = 422, description = "`validation_failed` (`password` missing)", body = Problem),
    ))]
pub async fn erase(
    Guarded(user, body): Guarded<CurrentUser, Json<EraseBody>>,
    db: web::Data<Db>,
    registry: web::Data<Registry>,
    limiter: web::Data<Limiter>,
) -> Result<HttpResponse, ApiError> {
    // A stolen access token must not buy unlimited password guesses, when one
    // right guess deletes the account for good.
    ratelimit::check(
        &db,
        &limiter,
        vec![(format!("erase:{}", user.id), PER_PHONE)],
    )
    .await?;
    let password = body.into_inner().password;
    let id = user.id.clone();
    let stored = db
        .run(move |c| Ok(queries::find(c, &id)?.password_hash))
        .await?;
    let matches = web::block(move || passwords::verify(&password, &stored))
        .await
        .map_err(|e| ApiError::internal(format!("verify task: {e}")))?;
    if !matches {
        return Err(Code::InvalidCredentials.into());
    }
    db.write(move |tx| registry.erase(tx, &user.id)).await?;
    tracing::info!("an account was erased at its holder's request");
    Ok(HttpResponse::NoContent().finish())
}

/// The `users` row. Erasing it keeps the row (others' records point at its id)
/// with nothing personal left: the phone becomes a tombstone no one can type,
/// so the number may register again.
pub struct AccountData;

impl Personal for AccountData {
    fn section(&self) -> &'static str {
        "account"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["users"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let u = queries::find(conn, user_id)?;
        Ok(json!({
            "id": u.id,
            "phone": u.phone,
            "display_name": u.display_name,
            "birth_year": u.birth_year,
            "language": u.locale,
            "accessibility_needs": u.accessibility_needs,
            "is_admin": u.is_admin,
            "created_at": u.created_at.and_utc(),
            "updated_at": u.updated_at.and_utc(),
        }))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        let now = db::now();
        diesel::update(users::table.find(user_id))
            .set((
                users::phone.eq(format!("{ERASED_PHONE_PREFIX}{user_id}")),
                users::password_hash.eq("!"),
                users::display_name.eq(ERASED_NAME),
                users::birth_year.eq(None::<i32>),
                users::accessibility_needs.eq(None::<String>),
                users::is_admin.eq(false),
                users::updated_at.eq(now),
                users::erased_at.eq(Some(now)),
            ))
            .execute(tx.conn())?;
        crate::http::idempotency::forget_user(tx, user_id)?;
        Ok(())
    }
}

/// Logins: when each started and ended. Erasing ends them all, which closes
/// the person's sockets on every instance.
pub struct SessionData;

impl Personal for SessionData {
    fn section(&self) -> &'static str {
        "sessions"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["sessions", "refresh_tokens"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        Ok(Value::Array(
            sessions::of_user(conn, user_id)?
                .into_iter()
                .map(|(id, started, ended)| {
                    json!({"id": id, "started_at": started.and_utc(), "ended_at": ended.map(|t| t.and_utc())})
                })
                .collect(),
        ))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        sessions::revoke_all(tx, user_id)
    }
}
