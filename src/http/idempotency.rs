//! `Idempotency-Key` on every POST. The first request with a key claims it in the
//! database (one row per caller and key); its response is stored and replayed to
//! any later request from the same caller with the same key and body. A request
//! that arrives while the first is still running waits for it (bounded by
//! `idempotency_wait_ms`) and then replays, or answers `409
//! idempotency_key_in_use`. A different body under the same key gets `422
//! idempotency_key_reused`. 5xx and 429 answers are not kept, so a retry runs again.

use std::time::{Duration, Instant};

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::schema::idempotency_keys as ik;
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code};
use crate::http::client::{CallerScope, client_address};
use crate::http::etag::hex;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED: &str = "Idempotent-Replayed";
/// A claim older than this with no stored answer is taken to be from a crashed
/// request and may be taken over.
const STALE_CLAIM: chrono::Duration = chrono::Duration::seconds(120);
/// Stored answers are kept at least this long.
pub const KEEP: chrono::Duration = chrono::Duration::hours(25);
const KEPT_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

#[derive(Queryable)]
struct Stored {
    request_hash: String,
    response_status: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
    created_at: NaiveDateTime,
}

enum Claim {
    Owned,
    Replay(Stored),
    Mismatch,
    InProgress,
}

fn claim(conn: &mut DbConn, scope: &str, key: &str, hash: &str) -> Result<Claim, ApiError> {
    let now = db::now();
    let inserted = db_run!(conn, |c| diesel::insert_into(ik::table)
        .values((
            ik::scope.eq(scope),
            ik::idempotency_key.eq(key),
            ik::request_hash.eq(hash),
            ik::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(Claim::Owned);
    }
    let stored: Stored = ik::table
        .find((scope, key))
        .select((
            ik::request_hash,
            ik::response_status,
            ik::response_headers,
            ik::response_body,
            ik::created_at,
        ))
        .first(conn)?;
    if stored.request_hash != hash {
        return Ok(Claim::Mismatch);
    }
    if stored.response_status.is_some() {
        return Ok(Claim::Replay(stored));
    }
    if now - stored.created_at > STALE_CLAIM {
        let taken = diesel::update(ik::table.find((scope, key)))
            .filter(ik::created_at.eq(stored.created_at))
            .filter(ik::response_status.is_null())
            .set(ik::created_at.eq(now))
            .execute(conn)?;
        if taken == 1 {
            return Ok(Claim::Owned);
        }
    }
    Ok(Claim::InProgress)
}

fn release(conn: &mut DbConn, scope: &str, key: &str) -> Result<(), ApiError> {
    diesel::delete(ik::table.find((scope, key)))
        .filter(ik::response_status.is_null())
        .execute(conn)?;
    Ok(())
}

fn store(
    conn: &mut DbConn,
    scope: &str,
    key: &str,
    status: u16,
    headers: String,
    body: Vec<u8>,
) -> Result<(), ApiError> {
    diesel::update(ik::table.find((scope, key)))
        .set((
            ik::response_status.eq(Some(i32::from(status))),
            ik::response_headers.eq(Some(headers)),
            ik::response_body.eq(Some(body)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes answers older than [`KEEP`]; run periodically.
/// Forgets every response kept for `user_id` (account erasure).
pub fn forget_user(conn: &mut DbConn, user_id: &str) -> Result<usize, ApiError> {
    Ok(diesel::delete(ik::table.filter(ik::scope.eq(format!("user:{user_id}")))).execute(conn)?)
}

pub fn prune(conn: &mut DbConn) -> Result<usize, ApiError> {
    Ok(diesel::delete(ik::table.filter(ik::created_at.lt(db::now() - KEEP))).execute(conn)?)
}

fn replay(stored: Stored) -> HttpResponse {
    let status = stored
        .response_status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    let headers: Vec<(String, String)> = stored
        .response_headers
        .as_deref()
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    for (name, value) in headers {
        res.insert_header((name, value));
    }
    res.insert_header((REPLAYED, "true"));
    res.body(stored.response_body.unwrap_or_default())
}

/// Who is asking: the user behind a valid access token, else the client address.
fn caller_scope(req: &ServiceRequest) -> String {
    let caller = req
        .app_data::<web::Data<dyn CallerScope>>()
        .and_then(|scope| scope.caller(req.request()));
    match caller {
        Some(user) => format!("user:{user}"),
        None => {
            let address = match req.app_data::<web::Data<Settings>>() {
                Some(settings) => client_address(req.request(), settings),
                None => client_address(req.request(), &Settings::default()),
            };
            format!("anon:{address}")
        }
    }
}

/// The whole request body, within the route's limit.
async fn read_body(req: &mut ServiceRequest) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let limit = crate::http::extract::body_limit(req.path());
    let mut payload = actix_web::HttpMessage::take_payload(req);
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::InvalidBody(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(Code::PayloadTooLarge.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Routes whose answers carry tokens or secrets: an `Idempotency-Key` on them
/// is ignored (prefixes, or whole patterns).
const SECRET_ROUTES: &[&str] = &[
    "/api/v1/auth/",
    "/api/v1/centres/{id}/displays",
    "/api/v1/organizations/{id}/webhooks",
    "/api/v1/buyers/{id}/webhooks",
    "/api/v1/webhooks/{id}/rotate-secret",
];

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let (Some(raw_key), true) = (req.headers().get(HEADER), req.method() == Method::POST) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // Answers that carry tokens or secrets are never stored (a copy of the
    // database must not hold them), and nothing is kept for a path no route
    // serves. Matched on the route pattern, not the raw path.
    let storable = super::route::pattern(req.request())
        .is_some_and(|p| !SECRET_ROUTES.iter().any(|s| p.starts_with(s) || p == *s));
    if !storable {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = raw_key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or(ApiError::from(Code::InvalidIdempotencyKey))?;
    let (Some(db), Some(settings)) = (
        req.app_data::<web::Data<Db>>().cloned(),
        req.app_data::<web::Data<Settings>>().cloned(),
    ) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let scope = caller_scope(&req);
    let body = read_body(&mut req).await?;
    let mut hasher = Sha256::new();
    hasher.update(req.path().as_bytes());
    hasher.update([0]);
    hasher.update(req.query_string().as_bytes());
    hasher.update([0]);
    hasher.update(&body);
    let hash = hex(&hasher.finalize());
    req.set_payload(Payload::from(body));

    let deadline = Instant::now() + Duration::from_millis(settings.idempotency_wait_ms);
    loop {
        let (s, k, h) = (scope.clone(), key.clone(), hash.clone());
        match db.write(move |c| claim(c, &s, &k, &h)).await? {
            Claim::Owned => break,
            Claim::Replay(stored) => {
                let (req, _) = req.into_parts();
                return Ok(ServiceResponse::new(req, replay(stored)));
            }
            Claim::Mismatch => return Err(ApiError::from(Code::IdempotencyKeyReused).into()),
            Claim::InProgress if Instant::now() >= deadline => {
                return Err(ApiError::from(Code::IdempotencyKeyInUse).into());
            }
            Claim::InProgress => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }

    let res = match next.call(req).await {
        Ok(res) => res,
        Err(err) => {
            let (s, k) = (scope.clone(), key.clone());
            let _ = db.write(move |c| release(c, &s, &k)).await;
            return Err(err);
        }
    };
    let status = res.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        let (s, k) = (scope, key);
        if let Err(e) = db.write(move |c| release(c, &s, &k)).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = body::to_bytes(body)
        .await
        .map_err(|e| ApiError::internal(format!("reading a response body: {}", e.into())))?;
    let kept: Vec<(String, String)> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = head.headers().get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    let headers = serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into());
    let stored_body = bytes.to_vec();
    if let Err(e) = db
        .write(move |c| store(c, &scope, &key, status.as_u16(), headers, stored_body))
        .await
    {
        tracing::warn!(error = %e, "could not store an idempotent response");
    }
    Ok(ServiceResponse::new(
        req,
        head.set_body(BoxBody::new(bytes)),
    ))
}
