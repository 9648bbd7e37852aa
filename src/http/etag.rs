//! `ETag` on every successful GET, computed from the body, and `304 Not Modified`
//! when `If-None-Match` already names it — cheap phones on slow links refetch
//! lists often and mostly get nothing new.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use sha2::{Digest, Sha256};

pub async fn etag(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::GET {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.call(req).await?;
    if res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    // A handler that keeps its pages (the public listing) sends their tag.
    if let Some(tag) = res.headers().get(header::ETAG).cloned() {
        let tag = tag.to_str().unwrap_or_default().to_owned();
        if matches(if_none_match.as_deref(), &tag) {
            let (req, res) = res.into_parts();
            return Ok(ServiceResponse::new(
                req,
                not_modified(res.headers(), &tag)?,
            ));
        }
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    let tag = tag(&bytes);
    if matches(if_none_match.as_deref(), &tag) {
        return Ok(ServiceResponse::new(
            req,
            not_modified(head.headers(), &tag)?,
        ));
    }
    let tag_value = header::HeaderValue::from_str(&tag)
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()))?;
    head.headers_mut().insert(header::ETAG, tag_value);
    Ok(ServiceResponse::new(
        req,
        head.set_body(BoxBody::new(bytes)),
    ))
}

/// The weak tag of a body.
pub fn tag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("W/\"{}\"", hex(&digest[..16]))
}

/// Whether `If-None-Match` names `tag` (weak comparison, or `*`).
fn matches(if_none_match: Option<&str>, tag: &str) -> bool {
    if_none_match.is_some_and(|v| {
        v.split(',').map(str::trim).any(|t| {
            t == "*" || t == tag || t.trim_start_matches("W/") == tag.trim_start_matches("W/")
        })
    })
}

/// `304` with the tag and the response's `Cache-Control`.
fn not_modified(headers: &header::HeaderMap, tag: &str) -> Result<HttpResponse, Error> {
    let tag_value = header::HeaderValue::from_str(tag)
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()))?;
    let mut not_modified = HttpResponse::NotModified();
    not_modified.insert_header((header::ETAG, tag_value));
    if let Some(cc) = headers.get(header::CACHE_CONTROL) {
        not_modified.insert_header((header::CACHE_CONTROL, cc.clone()));
    }
    Ok(not_modified.finish())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
