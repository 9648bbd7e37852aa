//! Access tokens (HS256 JWTs that expire, with `exp iat iss aud sub typ` required
//! and checked, plus the session id `sid`) and opaque refresh tokens (random,
//! stored only as a SHA-256 hash).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sealed::Sealer;
use crate::db::schema::app_secrets;
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::http::client::CallerScope;
use crate::http::etag::hex;

pub const ISSUER: &str = "mulin";
pub const AUDIENCE: &str = "mulin-api";
pub const ACCESS: &str = "access";
pub const DISPLAY: &str = "display";
/// Display tokens are valid until revoked; the expiry only satisfies libraries.
const DISPLAY_LIFETIME_SECS: i64 = 10 * 366 * 24 * 3600;

/// A hall screen's token: read-only, for one centre, checked against
/// revocation on every use.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DisplayClaims {
    /// The display.
    pub sub: String,
    pub centre: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub typ: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub typ: String,
}

/// The keys and rules for access tokens, shared by every worker.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_secs: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl_secs: u64) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl_secs: i64::try_from(access_ttl_secs).unwrap_or(900),
        }
    }

    pub fn issue_access(&self, user_id: &str, session_id: &str) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat: now,
            exp: now + self.access_ttl_secs,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            typ: ACCESS.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("signing an access token: {e}")))
    }

    /// The claims of a valid, unexpired access token. A display token is
    /// `403 forbidden` (screens may only read their board); anything else is
    /// `401 unauthenticated` (the reason goes to the debug log only).
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, ApiError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                if self.verify_display(token).is_ok() {
                    return ApiError::from(Code::Forbidden);
                }
                tracing::debug!(reason = %e, "access token refused");
                ApiError::from(Code::Unauthenticated)
            })?;
        if data.claims.typ != ACCESS {
            return Err(Code::Unauthenticated.into());
        }
        Ok(data.claims)
    }

    pub fn issue_display(&self, display_id: &str, centre_id: &str) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = DisplayClaims {
            sub: display_id.to_owned(),
            centre: centre_id.to_owned(),
            iat: now,
            exp: now + DISPLAY_LIFETIME_SECS,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            typ: DISPLAY.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("signing a display token: {e}")))
    }

    /// The claims of a genuine display token (revocation is checked by the caller).
    pub fn verify_display(&self, token: &str) -> Result<DisplayClaims, ApiError> {
        let data = jsonwebtoken::decode::<DisplayClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| ApiError::from(Code::Unauthenticated))?;
        if data.claims.typ != DISPLAY {
            return Err(Code::Unauthenticated.into());
        }
        Ok(data.claims)
    }
}

/// Idempotency keys are kept per user when a valid access token is sent.
impl CallerScope for TokenKeys {
    fn caller(&self, req: &actix_web::HttpRequest) -> Option<String> {
        let token = super::extractors::bearer(req)?.ok()?;
        self.verify_access(&token).ok().map(|claims| claims.sub)
    }
}

/// A fresh refresh token: (what the client keeps, what the database keeps).
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Deletes the generated secret (`MULIN_JWT_SECRET` is set); true if there was one.
pub fn forget_shared_secret(conn: &mut Tx<'_>) -> Result<bool, ApiError> {
    let deleted = diesel::delete(app_secrets::table.find("jwt_hs256")).execute(conn.conn())?;
    Ok(deleted > 0)
}

/// The HMAC secret all instances share when `MULIN_JWT_SECRET` is unset: one
/// generated by whichever instance starts first, kept in the database sealed
/// (a value kept before sealing existed is sealed now).
pub fn shared_secret(conn: &mut DbConn, sealer: &Sealer) -> Result<String, ApiError> {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let candidate = sealer.seal(&URL_SAFE_NO_PAD.encode(bytes));
    db_run!(conn, |c| diesel::insert_into(app_secrets::table)
        .values((
            app_secrets::name.eq("jwt_hs256"),
            app_secrets::value.eq(&candidate),
            app_secrets::created_at.eq(db::now()),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    let stored: String = app_secrets::table
        .find("jwt_hs256")
        .select(app_secrets::value)
        .first(conn)?;
    let secret = sealer.open(&stored)?;
    if !Sealer::is_sealed(&stored) {
        diesel::update(app_secrets::table.find("jwt_hs256"))
            .set(app_secrets::value.eq(sealer.seal(&secret)))
            .execute(conn)?;
    }
    Ok(secret)
}
