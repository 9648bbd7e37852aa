//! `CurrentUser`: the caller behind a valid access token whose session is still
//! live. `MaybeUser`: the same, or nobody when no token was sent.
//!
//! [`authenticate_request`] checks a request's token once, before anything
//! else reads it, on every route: a garbage, expired or revoked token is `401`
//! even on a public route (a client must learn to refresh, not be served as
//! anonymous). The caller it finds is kept in the request for the extractors.

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};

use super::sessions;
use super::tokens::TokenKeys;
use crate::db::Db;
use crate::error::{ApiError, Code};

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: String,
    pub session_id: String,
    pub is_admin: bool,
}

/// The bearer token of a request, if it sent an `Authorization: Bearer` header.
pub fn bearer(req: &HttpRequest) -> Option<Result<String, ApiError>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned())
            .ok_or(ApiError::from(Code::Unauthenticated)),
    )
}

/// What authenticating a request needs, taken from it before going async.
struct Pending {
    token: Option<Result<String, ApiError>>,
    keys: Option<web::Data<TokenKeys>>,
    db: Option<web::Data<Db>>,
}

impl Pending {
    fn of(req: &HttpRequest) -> Pending {
        Pending {
            token: bearer(req),
            keys: req.app_data::<web::Data<TokenKeys>>().cloned(),
            db: req.app_data::<web::Data<Db>>().cloned(),
        }
    }
}

async fn authenticate(
    token: String,
    keys: Option<web::Data<TokenKeys>>,
    db: Option<web::Data<Db>>,
) -> Result<CurrentUser, ApiError> {
    let (Some(keys), Some(db)) = (keys, db) else {
        return Err(ApiError::internal(
            "token keys or database missing from app data",
        ));
    };
    let claims = keys.verify_access(&token)?;
    let (session_id, user_id) = (claims.sid.clone(), claims.sub.clone());
    let is_admin = db
        .run(move |c| sessions::live_user(c, &session_id, &user_id))
        .await?
        .ok_or(ApiError::from(Code::Unauthenticated))?;
    Ok(CurrentUser {
        id: claims.sub,
        session_id: claims.sid,
        is_admin,
    })
}

/// Middleware: a request that carries `Authorization: Bearer` is
/// authenticated here, once. A display token passes through (its routes check
/// it); any other token must be a live access token, else `401`.
pub async fn authenticate_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // `/auth/*` (register, login, refresh, logout) is where a client with a
    // stale access token goes to get a fresh one: never refused for it here.
    // The probes answer the load balancer, whatever header it sends.
    let exempt = crate::http::route::pattern(req.request())
        .is_some_and(|p| p.starts_with("/api/v1/auth/") || p == "/healthz" || p == "/readyz");
    let Pending { token, keys, db } = Pending::of(req.request());
    if let (Some(token), false) = (token, exempt) {
        let checked = match token {
            Ok(token)
                if keys
                    .as_ref()
                    .is_some_and(|k| k.verify_display(&token).is_ok()) =>
            {
                Ok(None)
            }
            Ok(token) => authenticate(token, keys, db).await.map(Some),
            Err(e) => Err(e),
        };
        match checked {
            Ok(Some(user)) => {
                req.extensions_mut().insert(user);
            }
            Ok(None) => {}
            // Answered here, inside the request's language and metrics.
            Err(e) => {
                let response = actix_web::ResponseError::error_response(&e);
                return Ok(req.into_response(response));
            }
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The caller the middleware found, if it ran.
fn authenticated(req: &HttpRequest) -> Option<CurrentUser> {
    req.extensions().get::<CurrentUser>().cloned()
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(user) = authenticated(req) {
            return Box::pin(async move { Ok(user) });
        }
        let Pending { token, keys, db } = Pending::of(req);
        Box::pin(async move {
            let token = token.ok_or(ApiError::from(Code::Unauthenticated))??;
            authenticate(token, keys, db).await
        })
    }
}

/// An optional caller: no `Authorization` header is anonymous; a bad one is
/// still `401`, so clients learn their token needs refreshing.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(user) = authenticated(req) {
            return Box::pin(async move { Ok(MaybeUser(Some(user))) });
        }
        let Pending { token, keys, db } = Pending::of(req);
        Box::pin(async move {
            match token {
                None => Ok(MaybeUser(None)),
                Some(token) => Ok(MaybeUser(Some(authenticate(token?, keys, db).await?))),
            }
        })
    }
}

/// A platform admin; anyone else signed in gets `403` before their body is read.
#[derive(Clone, Debug)]
pub struct Admin(pub CurrentUser);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.is_admin {
                Ok(Admin(user))
            } else {
                Err(Code::Forbidden.into())
            }
        })
    }
}
