//! The OpenAPI document, generated from the handlers' annotations. `mulin
//! openapi` writes it to `openapi/openapi.json`; a test fails when that file and
//! the code disagree.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    accounts, centres, checkin, displays, error, events, health, live, organizations, registrations,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mulin API",
        version = "1",
        description = "Mulin (睦邻): residents join the activities of their neighbourhood's \
                       social organizations; staff run them; centre screens show them live. \
                       Errors are application/problem+json with a stable `code`. \
                       A body that is not JSON, or has a field the route does not know, is \
                       `400 invalid_body`; a field of the wrong type or a missing required one \
                       is `422 validation_failed`, named in `errors`.",
    ),
    paths(
        health::healthz,
        health::readyz,
        accounts::auth_routes::register,
        accounts::auth_routes::login,
        accounts::auth_routes::refresh,
        accounts::auth_routes::logout,
        accounts::routes::get_me,
        accounts::routes::patch_me,
        organizations::routes::create,
        organizations::routes::list,
        organizations::routes::get,
        organizations::routes::approve,
        organizations::routes::suspend,
        organizations::routes::members,
        organizations::routes::add_member,
        organizations::routes::remove_member,
        centres::routes::create,
        centres::routes::list,
        centres::routes::get,
        events::routes::create,
        events::routes::list,
        events::routes::get,
        events::routes::patch,
        events::routes::publish,
        events::routes::cancel,
        registrations::routes::register,
        registrations::routes::mine,
        registrations::routes::get,
        registrations::routes::cancel,
        registrations::routes::roster_of,
        checkin::qr::ticket,
        checkin::qr::ticket_svg,
        checkin::qr::keys,
        checkin::routes::check_in,
        checkin::routes::batch,
        checkin::door::walk_in,
        checkin::routes::undo,
        checkin::door::attendance,
        checkin::sync::sync,
        checkin::sync::anomalies,
        live::socket::live,
        displays::routes::add_manager,
        displays::routes::create_display,
        displays::routes::list_displays,
        displays::routes::revoke_display,
        displays::board::board,
        displays::announcements::post,
        displays::announcements::remove,
    ),
    components(schemas(error::Problem, error::ProblemField, events::routes::SeriesCreated)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Register, sign in, refresh, sign out"),
        (name = "accounts", description = "The signed-in user"),
        (name = "organizations", description = "Community social organizations and their members"),
        (name = "centres", description = "Neighbourhood centres"),
        (name = "events", description = "Activities: create, publish, browse, cancel"),
        (name = "registrations", description = "Signing up, the waitlist, cancelling, rosters"),
        (name = "check-in", description = "Tickets, scanning at the door, walk-ins, offline sync, attendance"),
        (name = "live", description = "Live updates over a WebSocket"),
        (name = "displays", description = "Centre screens: managers, displays, announcements, the board"),
        (name = "operations", description = "Probes"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as pretty JSON with a trailing newline, exactly as committed.
pub fn to_json() -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&ApiDoc::openapi())?;
    text.push('\n');
    Ok(text)
}

/// `GET /api/v1/openapi.json`
pub async fn serve() -> HttpResponse {
    match to_json() {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/json")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
