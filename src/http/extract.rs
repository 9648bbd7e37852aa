//! Extractor configuration: bodies over 64 KiB, non-JSON bodies and malformed
//! queries become problem+json with their stable codes (bodies that are JSON but
//! not of the route's shape are explained by `http::json`), and any
//! bare error status left by the framework (404 for an unknown route, 405…) is
//! rewritten as problem+json too.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, ResponseError, web};

use crate::error::{ApiError, Code, PROBLEM_JSON};

pub const BODY_LIMIT: usize = 64 * 1024;
/// An offline batch of 500 signed tickets is about 170 KB; that route alone
/// accepts bodies up to this size.
pub const BATCH_BODY_LIMIT: usize = 512 * 1024;

/// The body limit of a request path.
pub fn body_limit(path: &str) -> usize {
    if path.ends_with("/checkins/batch") {
        BATCH_BODY_LIMIT
    } else {
        BODY_LIMIT
    }
}
/// Oversized bodies up to this size are read and discarded before the `413`, so
/// the client gets the answer instead of a connection reset mid-upload.
const DRAIN_LIMIT: u64 = 4 * 1024 * 1024;

pub fn json_config() -> web::JsonConfig {
    json_config_with_limit(BODY_LIMIT)
}

pub fn json_config_with_limit(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req: &HttpRequest| json_error(err).into())
}

pub fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            Code::PayloadTooLarge.into()
        }
        JsonPayloadError::ContentType => Code::UnsupportedMediaType.into(),
        JsonPayloadError::Payload(PayloadError::Overflow) => Code::PayloadTooLarge.into(),
        // The parser's message may quote the client's values: only its
        // position is kept, for the log.
        JsonPayloadError::Deserialize(e) => {
            ApiError::InvalidBody(format!("not JSON, line {} column {}", e.line(), e.column()))
        }
        JsonPayloadError::Payload(_) => ApiError::InvalidBody("the body could not be read".into()),
        _ => ApiError::InvalidBody("the body could not be read as JSON".into()),
    }
}

/// A query that does not parse is `400 invalid_query`; the parser's message,
/// which may quote the client's values, is dropped.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|_err: QueryPayloadError, _req| {
        ApiError::InvalidQuery("a parameter does not parse".into()).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err, _req| ApiError::from(Code::NotFound).into())
}

pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(BODY_LIMIT)
}

/// The methods a path allows, for the `Allow` header of a `405`. `app`
/// registers it as app data, from the OpenAPI document (which lives above
/// this floor).
#[derive(Clone, Copy)]
pub struct AllowedMethods(pub fn(&str) -> Vec<&'static str>);

/// Middleware: any 4xx/5xx answer that is not already problem+json (the router's
/// 404 and 405, a framework-level 413…) is replaced by the problem for its
/// status, and a `405` says what the path allows.
pub async fn problems_everywhere(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut res = as_problem(next.call(req).await?);
    if res.status() == StatusCode::METHOD_NOT_ALLOWED && !res.headers().contains_key(header::ALLOW)
    {
        let allowed = res
            .request()
            .app_data::<AllowedMethods>()
            .map(|allowed| allowed.0(res.request().path()))
            .unwrap_or_default();
        if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
            res.headers_mut().insert(header::ALLOW, value);
        }
    }
    Ok(res)
}

fn as_problem(res: ServiceResponse<impl MessageBody + 'static>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if status.as_u16() < 400 || is_problem {
        return res.map_into_boxed_body();
    }
    let code = match status {
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::Forbidden,
        s if s.is_client_error() => Code::InvalidBody,
        _ => Code::Internal,
    };
    let error = if code == Code::Internal {
        ApiError::internal(format!("bare {status} from the framework"))
    } else {
        ApiError::from(code)
    };
    let (req, _) = res.into_parts();
    ServiceResponse::new(req, error.error_response())
}

/// `Guarded(guard, value)`: extracts `G` (who is calling) to completion before
/// `T` (usually the JSON body), so a caller who may not call gets `401`/`403`
/// whatever they sent, instead of whichever error happened to resolve first.
pub struct Guarded<G, T>(pub G, pub T);

impl<G, T> actix_web::FromRequest for Guarded<G, T>
where
    G: actix_web::FromRequest + 'static,
    T: actix_web::FromRequest + 'static,
    G::Error: Into<Error>,
    T::Error: Into<Error>,
{
    type Error = Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let guard = G::from_request(req, payload);
        let value = T::from_request(req, payload);
        Box::pin(async move {
            let guard = guard.await.map_err(Into::into)?;
            let value = value.await.map_err(Into::into)?;
            Ok(Guarded(guard, value))
        })
    }
}

/// Middleware: a body declared larger than its route's limit (64 KiB, or
/// 512 KiB for offline batches) is never parsed. Up to 4 MiB it is read and
/// discarded (so the client gets an answer instead of a reset mid-upload) and
/// the request goes on with no body: the route's extractors still settle who is
/// calling first (`401`/`403`), and its JSON extractor then answers `413` from
/// the declared length. Beyond 4 MiB the answer is `413` at once.
pub async fn reject_oversized(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > DRAIN_LIMIT => {
            let (req, _) = req.into_parts();
            Ok(ServiceResponse::new(
                req,
                ApiError::from(Code::PayloadTooLarge).error_response(),
            ))
        }
        Some(len) if len > body_limit(req.path()) as u64 => {
            let mut payload = actix_web::HttpMessage::take_payload(&mut req);
            while let Some(Ok(_)) = payload.next().await {}
            req.set_payload(actix_web::dev::Payload::None);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        _ => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}
