//! `GET /display/{centre_id}`: the page for the hall's screen, and its assets,
//! compiled into the binary (no CDN, no build step). The page pairs once with a
//! display token kept in the browser's storage, loads the board and keeps it
//! current over the live WebSocket. An unknown centre is `404`, so a screen set
//! up with a mistyped address shows the mistake instead of an empty board.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::centres::queries as centres;
use crate::db::Db;
use crate::error::{ApiError, Code, Problem};

const INDEX: &str = include_str!("page/index.html");
const CSS: &str = include_str!("page/display.css");
const JS: &str = include_str!("page/display.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/display/{centre_id}", web::get().to(index))
        .route("/display-assets/display.css", web::get().to(css))
        .route("/display-assets/display.js", web::get().to(js));
}

fn page(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
        ))
        .body(body)
}

/// The page a centre's hall screen opens (HTML; it signs in with its display
/// token and follows the board live).
#[utoipa::path(get, path = "/display/{centre_id}", tag = "displays",
    params(("centre_id" = String, Path, description = "centre")),
    responses(
        (status = 200, description = "the page", body = String, content_type = "text/html"),
        (status = 404, description = "`not_found`: no such centre", body = Problem),
    ))]
pub async fn index(
    db: web::Data<Db>,
    centre_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = centre_id.into_inner();
    db.run(move |c| centres::find(c, &id))
        .await?
        .ok_or(ApiError::from(Code::NotFound))?;
    Ok(page("text/html; charset=utf-8", INDEX))
}

pub async fn css() -> HttpResponse {
    page("text/css; charset=utf-8", CSS)
}

pub async fn js() -> HttpResponse {
    page("text/javascript; charset=utf-8", JS)
}
