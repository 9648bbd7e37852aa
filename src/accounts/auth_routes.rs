//! `POST /auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout`: an
//! account's sign-up and sign-in, built on `auth`'s passwords, tokens and
//! sessions.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Phone, Profile, User, UserView, parse_locale, queries as users};
use crate::auth::CurrentUser;
use crate::auth::passwords::{self, Password};
use crate::auth::ratelimit::{self, Limiter, PER_PHONE};
use crate::auth::sessions::{self, Rotation};
use crate::auth::tokens::TokenKeys;
use crate::config::Settings;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Problem, Why};
use crate::http::client::client_address;
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::parse_fields;
use crate::validate::{birth_year, text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(register))
        .route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    #[schema(example = "13812345678")]
    pub phone: String,
    #[schema(example = "bamboo-garden-42")]
    pub password: String,
    #[schema(example = "王阿姨")]
    pub display_name: String,
    #[schema(example = 1952)]
    pub birth_year: Option<i64>,
    /// `zh-CN` (default) or `en`.
    pub locale: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(example = "13812345678")]
    pub phone: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// Tokens for a login: the access token goes in `Authorization: Bearer`, the
/// refresh token buys a new pair before the access token expires.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub user: UserView,
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub token_type: String,
}

fn refresh_ttl(settings: &Settings) -> chrono::Duration {
    chrono::Duration::seconds(
        i64::try_from(settings.refresh_token_ttl_secs).unwrap_or(30 * 24 * 3600),
    )
}

fn address_bucket(req: &HttpRequest, settings: &Settings) -> (String, u32) {
    (
        format!("auth-addr:{}", client_address(req, settings)),
        settings.auth_rate_limit,
    )
}

async fn pair(
    db: &Db,
    keys: &TokenKeys,
    profile: web::Data<Profile>,
    user_id: String,
    session_id: String,
    refresh_token: String,
) -> Result<TokenPair, ApiError> {
    let access_token = keys.issue_access(&user_id, &session_id)?;
    let user = db.run(move |c| profile.view(c, &user_id)).await?;
    Ok(TokenPair {
        user,
        access_token,
        refresh_token,
        expires_in: keys.access_ttl_secs,
        token_type: "Bearer".into(),
    })
}

async fn hash_off_thread(password: Password) -> Result<String, ApiError> {
    web::block(move || passwords::hash(&password))
        .await
        .map_err(|e| ApiError::internal(format!("hashing task: {e}")))?
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, body = TokenPair),
        (status = 400, description = "`invalid_body`", body = Problem),
        (status = 409, description = "`phone_taken`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = Problem),
    ))]
pub async fn register(
    req: HttpRequest,
    db: web::Data<Db>,
    keys: web::Data<TokenKeys>,
    profile: web::Data<Profile>,
    settings: web::Data<Settings>,
    limiter: web::Data<Limiter>,
    body: Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        phone = "phone" => Phone::parse(&body.phone),
        password = "password" => Password::parse(&body.password),
        display_name = "display_name" => text(&body.display_name, 1, 50),
        birth_year = "birth_year" => birth_year(body.birth_year),
        locale = "locale" => parse_locale(body.locale.as_deref()),
    );
    ratelimit::check(
        &db,
        &limiter,
        vec![
            address_bucket(&req, &settings),
            (format!("register-phone:{}", phone.digest()), PER_PHONE),
        ],
    )
    .await?;
    let password_hash = hash_off_thread(password).await?;
    let now = db::now();
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        phone: phone.as_str().to_owned(),
        password_hash,
        display_name,
        birth_year,
        locale,
        accessibility_needs: None,
        is_admin: false,
        created_at: now,
        updated_at: now,
        erased_at: None,
    };
    let ttl = refresh_ttl(&settings);
    let user_id = user.id.clone();
    let (session_id, refresh_token) = db
        .write(move |c| {
            users::insert(c, &user)?;
            sessions::start(c, &user.id, ttl)
        })
        .await?;
    let tokens = pair(&db, &keys, profile, user_id, session_id, refresh_token).await?;
    Ok(HttpResponse::Created().json(tokens))
}

/// Signs in with phone and password. A wrong password and an unknown phone get
/// the same answer.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 422, description = "`validation_failed` (not a mobile number, a field missing or of the wrong type)", body = Problem),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = Problem),
    ))]
pub async fn login(
    req: HttpRequest,
    db: web::Data<Db>,
    keys: web::Data<TokenKeys>,
    profile: web::Data<Profile>,
    settings: web::Data<Settings>,
    limiter: web::Data<Limiter>,
    body: Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(phone = "phone" => Phone::parse(&body.phone));
    ratelimit::check(
        &db,
        &limiter,
        vec![
            address_bucket(&req, &settings),
            (format!("login-phone:{}", phone.digest()), PER_PHONE),
        ],
    )
    .await?;
    let user = db.run(move |c| users::find_by_phone(c, &phone)).await?;
    let password = body.password;
    let user = web::block(move || match user {
        Some(user) if passwords::verify(&password, &user.password_hash) => Some(user),
        Some(_) => None,
        None => {
            passwords::verify_against_dummy(&password);
            None
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("verify task: {e}")))?
    .ok_or(ApiError::from(Code::InvalidCredentials))?;
    let ttl = refresh_ttl(&settings);
    let user_id = user.id.clone();
    let (session_id, refresh_token) = db.write(move |c| sessions::start(c, &user.id, ttl)).await?;
    let tokens = pair(&db, &keys, profile, user_id, session_id, refresh_token).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Exchanges a refresh token for a new pair. The old refresh token stops
/// working; presenting it again revokes every token of that login.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "`unauthenticated` (unknown, expired or signed out) or `refresh_token_reused`", body = Problem),
        (status = 422, description = "`validation_failed` (`refresh_token` missing or not a string)", body = Problem),
        (status = 429, description = "`rate_limited`", body = Problem),
    ))]
pub async fn refresh(
    req: HttpRequest,
    db: web::Data<Db>,
    keys: web::Data<TokenKeys>,
    profile: web::Data<Profile>,
    settings: web::Data<Settings>,
    limiter: web::Data<Limiter>,
    body: Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    ratelimit::check(&db, &limiter, vec![address_bucket(&req, &settings)]).await?;
    let token = body.into_inner().refresh_token;
    if token.len() > 256 {
        return Err(not_a_refresh_token());
    }
    let ttl = refresh_ttl(&settings);
    match db.write(move |c| sessions::rotate(c, &token, ttl)).await? {
        Rotation::Rotated {
            user_id,
            session_id,
            refresh_token,
        } => {
            let tokens = pair(&db, &keys, profile, user_id, session_id, refresh_token).await?;
            Ok(HttpResponse::Ok().json(tokens))
        }
        Rotation::Invalid => Err(not_a_refresh_token()),
        Rotation::Reused => {
            tracing::warn!("a rotated refresh token was presented again; session revoked");
            Err(Code::RefreshTokenReused.into())
        }
    }
}

/// `401 unauthenticated` that speaks of the refresh token, not the access token.
fn not_a_refresh_token() -> ApiError {
    ApiError::explained(Code::Unauthenticated, Why::RefreshTokenInvalid)
}

/// Ends this login: its refresh token and access tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    request_body = RefreshBody,
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 422, description = "`validation_failed` (`refresh_token` missing or not a string)", body = Problem),
    ))]
pub async fn logout(
    Guarded(user, body): Guarded<CurrentUser, Json<RefreshBody>>,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().refresh_token;
    db.write(move |c| {
        if let Some(session) = sessions::session_of_refresh_token(c, &token, &user.id)? {
            sessions::revoke(c, &session)?;
        }
        sessions::revoke(c, &user.session_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
