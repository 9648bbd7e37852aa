//! Who runs a centre's screens (admins and its centre managers), and the rule
//! that a display token reads its own centre's board and live topic and nothing
//! else.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};
use diesel::prelude::*;

use crate::auth::CurrentUser;
use crate::auth::tokens::TokenKeys;
use crate::centres::{Centre, queries as centres};
use crate::db::DbConn;
use crate::db::schema::{centre_managers, displays};
use crate::error::{ApiError, Code};

/// The centre, if `user` is an admin or one of its managers (`403` otherwise).
pub fn require_manager(
    conn: &mut DbConn,
    centre_id: &str,
    user: &CurrentUser,
) -> Result<Centre, ApiError> {
    let centre = centres::find(conn, centre_id)?.ok_or(ApiError::from(Code::NotFound))?;
    if user.is_admin || is_manager(conn, centre_id, &user.id)? {
        Ok(centre)
    } else {
        Err(Code::Forbidden.into())
    }
}

pub fn is_manager(conn: &mut DbConn, centre_id: &str, user_id: &str) -> Result<bool, ApiError> {
    let found: i64 = centre_managers::table
        .filter(centre_managers::centre_id.eq(centre_id))
        .filter(centre_managers::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// A display that exists and is not revoked: its centre.
pub fn live_display(conn: &mut DbConn, display_id: &str) -> Result<Option<String>, ApiError> {
    Ok(displays::table
        .find(display_id)
        .filter(displays::revoked_at.is_null())
        .select(displays::centre_id)
        .first(conn)
        .optional()?)
}

/// What the live socket needs from displays (registered by `app`).
pub struct Gate;

impl crate::live::topics::DisplayGate for Gate {
    fn centre_of(&self, conn: &mut DbConn, display_id: &str) -> Result<Option<String>, ApiError> {
        live_display(conn, display_id)
    }

    fn seen(&self, tx: &mut crate::db::Tx<'_>, display_id: &str) -> Result<(), ApiError> {
        super::routes::seen(tx, display_id)
    }
}

/// Middleware: a request carrying a display token may read its centre's board
/// and open the live socket; every other route answers `403`.
pub async fn display_scope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let display = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            req.app_data::<web::Data<TokenKeys>>()
                .and_then(|keys| keys.verify_display(token.trim()).ok())
        });
    if let Some(claims) = display {
        let path = req.path();
        let board = format!("/api/v1/centres/{}/board", claims.centre);
        let allowed = path == board || path == "/api/v1/live";
        if !allowed {
            let (req, _) = req.into_parts();
            return Ok(ServiceResponse::new(
                req,
                ApiError::from(Code::Forbidden).error_response(),
            ));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
