//! The route pattern of a request (`/api/v1/events/{id}/registrations`),
//! found once. actix finds it by trying each route's pattern in turn, most of
//! them regular expressions, and the log span, authentication and the metrics
//! each asked for it again: with 147 routes that was about a third of the
//! HTTP workers' time in a sign-up (`perf`, BENCHMARKS.md, session 11). The
//! log span ([`Spans`], the outermost layer) now finds it and leaves it in
//! the request's extensions for the others.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage, HttpRequest};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// The pattern found for a request; `None` for a path no route serves.
#[derive(Clone)]
struct RoutePattern(Option<String>);

/// The request's route pattern, found on first asking.
pub fn pattern(req: &HttpRequest) -> Option<String> {
    if let Some(found) = req.extensions().get::<RoutePattern>() {
        return found.0.clone();
    }
    let found = req.match_pattern();
    req.extensions_mut().insert(RoutePattern(found.clone()));
    found
}

/// The root span of every request: tracing-actix-web's default fields (but
/// the HTTP version and scheme), with the route found once.
pub struct Spans;

impl RootSpanBuilder for Spans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = pattern(request.request());
        let route = route.as_deref().unwrap_or("default");
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let connection = request.connection_info();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.uri().path_and_query().map_or("", |p| p.as_str()),
            http.host = %connection.host(),
            http.client_ip = %connection.realip_remote_addr().unwrap_or(""),
            http.user_agent = %user_agent,
            otel.name = %format!("{} {route}", request.method()),
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
