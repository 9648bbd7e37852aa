//! Middleware that reads the caller's language from `Accept-Language` (`zh-CN`
//! unless English is preferred) and runs the rest of the request in it. The
//! language itself and its negotiation live in `error::locale`, which the error
//! words read.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;

use crate::error::locale::{Locale, in_locale};

/// Middleware: negotiates the language and runs the rest of the request in it.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let locale = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Locale::ZhCn, Locale::negotiate);
    in_locale(locale, next.call(req)).await
}
