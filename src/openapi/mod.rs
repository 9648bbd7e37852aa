//! The OpenAPI document, generated from the handlers' annotations. `mulin
//! openapi` writes it to `openapi/openapi.json`; a test fails when that file and
//! the code disagree. The document also answers requests no route took: a
//! documented path asked with another method is `405` with `Allow`.

use std::sync::OnceLock;

use actix_web::{HttpRequest, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, Code};

mod problems;
use crate::{
    accounts, catalogue, centres, checkin, displays, error, events, feedback, health, live,
    notifications, organizations, projects, registrations, volunteers, webhooks,
};
use problems::SharedProblems;

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
                       is `422 validation_failed`, named in `errors`. A path below asked with \
                       a method it does not list is `405 method_not_allowed` with `Allow`.",
    ),
    paths(
        health::healthz,
        health::readyz,
        crate::http::metrics::serve,
        serve,
        displays::page::index,
        health::advance_clock,
        accounts::auth_routes::register,
        accounts::auth_routes::login,
        accounts::auth_routes::refresh,
        accounts::auth_routes::logout,
        accounts::routes::get_me,
        accounts::routes::patch_me,
        accounts::personal::export,
        accounts::personal::erase,
        registrations::consent::text,
        organizations::access_log::list,
        checkin::audit::audit,
        organizations::routes::create,
        organizations::routes::list,
        organizations::routes::get,
        organizations::routes::patch,
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
        volunteers::routes::opt_in,
        volunteers::routes::mine,
        volunteers::shifts::create,
        volunteers::shifts::list,
        volunteers::shifts::apply,
        volunteers::shifts::applications,
        volunteers::shifts::approve,
        volunteers::shifts::reject,
        volunteers::door::attendance,
        volunteers::door::backfill,
        volunteers::door::verify,
        volunteers::records::mine,
        volunteers::records::of_org,
        volunteers::records::csv,
        volunteers::certificates::issue,
        volunteers::certificates::show,
        notifications::routes::inbox,
        notifications::routes::read,
        notifications::routes::settings,
        notifications::routes::change_settings,
        webhooks::routes::create_for_org,
        webhooks::routes::list_for_org,
        webhooks::routes::create_for_buyer,
        webhooks::routes::list_for_buyer,
        webhooks::routes::delete,
        webhooks::routes::rotate,
        webhooks::log::deliveries,
        webhooks::log::redeliver,
        projects::buyers::create,
        projects::buyers::list,
        projects::buyers::add_member,
        projects::buyers::remove_member,
        projects::routes::create,
        projects::routes::list,
        projects::routes::get,
        projects::routes::patch,
        projects::states::open,
        projects::states::review,
        projects::states::mid_term,
        projects::states::resume,
        projects::states::final_review,
        projects::states::close,
        projects::states::cancel,
        projects::routes::my_evaluations,
        projects::bids::create,
        projects::bids::list,
        projects::bids::withdraw,
        projects::bids::score,
        projects::bids::award,
        projects::bids::add_evaluator,
        projects::bids::remove_evaluator,
        projects::delivery::evaluate,
        projects::delivery::actual,
        projects::delivery::deviation,
        projects::delivery::add_expense,
        projects::delivery::expenses,
        projects::report::get,
        projects::page::link,
        projects::page::show,
        feedback::routes::give,
        feedback::routes::summary,
        catalogue::routes::catalogue,
        catalogue::routes::create,
        catalogue::routes::list,
        catalogue::routes::remove,
        catalogue::routes::recommend,
    ),
    components(schemas(error::Problem, error::ProblemField, events::routes::SeriesCreated)),
    modifiers(&BearerAuth, &SharedProblems),
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
        (name = "volunteers", description = "Volunteers, shifts, service hours and certificates"),
        (name = "notifications", description = "The inbox, read marks and per-kind settings: reminders, promotions, changes, cancellations, feedback requests"),
        (name = "webhooks", description = "Signed (Standard Webhooks) deliveries of thin events to organizations' and buyers' systems, with a delivery log"),
        (name = "projects", description = "Purchased-service projects: buyers, bids, contracts, evaluation and the report"),
        (name = "feedback", description = "Residents' feedback on activities they attended"),
        (name = "catalogue", description = "Organizations' service offerings and buyers' recommendations"),
        (name = "operations", description = "Probes and the test clock"),
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

/// A documented path: its segments (`None` for a `{parameter}`) and methods.
type Route = (Vec<Option<String>>, Vec<&'static str>);

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let methods = methods.iter().filter(|m| m.1).map(|m| m.0).collect();
                (segments, methods)
            })
            .collect()
    })
}

/// The methods the document lists for `path` (empty for an unknown path).
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let asked: Vec<&str> = path.split('/').collect();
    let mut allowed: Vec<&'static str> = Vec::new();
    for (segments, methods) in routes() {
        let matches = segments.len() == asked.len()
            && segments.iter().zip(&asked).all(|(s, a)| match s {
                Some(literal) => literal == a,
                None => !a.is_empty(),
            });
        if matches {
            for method in methods {
                if !allowed.contains(method) {
                    allowed.push(method);
                }
            }
        }
    }
    allowed
}

/// The answer when no route took a request: `405 method_not_allowed` for a
/// documented path asked with another method (`extract::problems_everywhere`
/// adds `Allow`), else `404`.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        Err(Code::NotFound.into())
    } else {
        Err(Code::MethodNotAllowed.into())
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object)))]
pub async fn serve() -> HttpResponse {
    match to_json() {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/json")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
