//! Tickets for residents (`/registrations/{id}/ticket`, its QR code) and the
//! public keys staff phones verify them with (`/checkin/keys`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::tickets::{Jwk, TICKET_GRACE, TicketClaims, TicketKeys};
use crate::auth::CurrentUser;
use crate::db::{Db, DbConn};
use crate::error::{ApiError, Code, Problem};
use crate::events::access::Need;
use crate::events::queries as events;
use crate::registrations as regs;
use crate::registrations::access as registration_access;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/registrations/{id}/ticket", web::get().to(ticket))
        .route("/registrations/{id}/ticket.svg", web::get().to(ticket_svg))
        .route("/checkin/keys", web::get().to(keys));
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// Compact JWS (EdDSA); the QR code's content.
    pub token: String,
    pub registration_id: String,
    pub event_id: String,
}

/// A confirmed registration's ticket, for its resident or the organization's staff.
fn issue(
    c: &mut DbConn,
    keys: &TicketKeys,
    id: &str,
    user: &CurrentUser,
) -> Result<Ticket, ApiError> {
    let r = registration_access::load(c, id, user, Need::Staff)?;
    let event = events::find(c, &r.event_id)?.ok_or(ApiError::from(Code::NotFound))?;
    match r.status.as_str() {
        regs::CONFIRMED => {}
        regs::CANCELLED => return Err(Code::RegistrationCancelled.into()),
        _ => return Err(Code::NotConfirmed.into()),
    }
    let claims = TicketClaims {
        sub: r.id.clone(),
        evt: r.event_id.clone(),
        party_size: r.party_size,
        exp: (event.ends_at + TICKET_GRACE).and_utc().timestamp(),
        typ: None,
    };
    Ok(Ticket {
        token: keys.sign(&claims)?,
        registration_id: r.id,
        event_id: r.event_id,
    })
}

/// The ticket of a confirmed registration.
#[utoipa::path(get, path = "/api/v1/registrations/{id}/ticket", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Ticket),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_confirmed`, `registration_cancelled`", body = Problem),
    ))]
pub async fn ticket(
    user: CurrentUser,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = db.run(move |c| issue(c, &keys, &id, &user)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(t))
}

/// The ticket as a QR code: large modules and a wide quiet zone, readable off a
/// cheap phone screen.
#[utoipa::path(get, path = "/api/v1/registrations/{id}/ticket.svg", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, content_type = "image/svg+xml", description = "QR code"),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_confirmed`, `registration_cancelled`", body = Problem),
    ))]
pub async fn ticket_svg(
    user: CurrentUser,
    db: web::Data<Db>,
    keys: web::Data<TicketKeys>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = db.run(move |c| issue(c, &keys, &id, &user)).await?;
    let code = qrcode::QrCode::with_error_correction_level(t.token.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::internal(format!("qr code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(480, 480)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(svg))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeySet {
    pub keys: Vec<Jwk>,
}

/// The public keys that verify tickets, for offline checking on staff phones.
#[utoipa::path(get, path = "/api/v1/checkin/keys", tag = "check-in",
    responses((status = 200, body = KeySet)))]
pub async fn keys(
    keys: web::Data<TicketKeys>,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let ring = keys.clone();
    db.run(move |c| ring.reload(c)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(KeySet {
            keys: keys.public_keys()?,
        }))
}
