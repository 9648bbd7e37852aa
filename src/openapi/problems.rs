//! The refusals every route shares, written into the document once instead of
//! on each handler: what the middleware and extractors answer before a handler
//! runs (a bad token, a body or query that does not parse, a body too large, a
//! database that cannot be reached), and the content type every refusal is
//! served with, `application/problem+json`.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};

use crate::error::PROBLEM_JSON;

pub struct SharedProblems;

/// The shared refusals, kept once under `components.responses` and referred
/// to from each operation: (name, status, description).
const SHARED: &[(&str, &str, &str)] = &[
    (
        "BadRequest",
        "400",
        "`invalid_body` (not JSON, or a field the route does not know), `invalid_query` \
         (a query parameter does not parse) or `invalid_idempotency_key` (an empty or \
         over-long `Idempotency-Key`), as the route takes a body, a query or a POST",
    ),
    (
        "Unauthenticated",
        "401",
        "`unauthenticated`: no token where one is needed, or a token that is malformed, \
         expired or revoked (on every route but `/auth/*`, public ones too)",
    ),
    (
        "KeyInUse",
        "409",
        "`idempotency_key_in_use`: the first request with this `Idempotency-Key` is still running",
    ),
    (
        "PayloadTooLarge",
        "413",
        "`payload_too_large`: a body over 64 KiB (512 KiB for offline batches); \
         who is calling is checked first",
    ),
    (
        "UnsupportedMediaType",
        "415",
        "`unsupported_media_type`: a body that is not `application/json`",
    ),
    (
        "ValidationFailed",
        "422",
        "`validation_failed`: a field or query parameter of the wrong type, missing or out \
         of range, named in `errors`; or `idempotency_key_reused`: the `Idempotency-Key` \
         came with a different request",
    ),
    (
        "ServiceUnavailable",
        "503",
        "`service_unavailable`: the database cannot be reached; retry after `Retry-After`",
    ),
];

impl Modify for SharedProblems {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, _, text) in SHARED {
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(problem(text)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (false, item.put.as_mut()),
                (false, item.patch.as_mut()),
                (false, item.delete.as_mut()),
            ];
            for (post, operation) in operations {
                if let Some(operation) = operation {
                    complete(path, post, operation);
                }
            }
        }
    }
}

/// What a route can answer before (or besides) its handler, by what it takes.
fn complete(path: &str, post: bool, operation: &mut Operation) {
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_body = operation.request_body.is_some();
    let probe = path == "/healthz" || path == "/readyz";
    // `/auth/*` is exempt from the token check (a stale token is why the client
    // is there); everything else refuses a token that is invalid, expired or
    // revoked, public routes included.
    let token_checked = !path.starts_with("/api/v1/auth/") && !probe;
    let mut statuses = Vec::new();
    if token_checked {
        statuses.push("401");
    }
    if has_body {
        statuses.extend(["400", "413", "415", "422"]);
    }
    if has_query {
        statuses.extend(["400", "422"]);
    }
    if post {
        statuses.extend(["400", "409", "422"]);
    }
    if !probe {
        statuses.push("503");
    }
    let responses = &mut operation.responses.responses;
    for status in statuses {
        if let Some((name, ..)) = SHARED.iter().find(|(_, s, _)| *s == status) {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    }
    for (status, response) in responses.iter_mut() {
        if let (RefOr::T(response), '4' | '5') = (response, status.chars().next().unwrap_or('2')) {
            serve_as_problem(response);
        }
    }
}

/// A refusal with the `Problem` body.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, problem_content())
        .build()
}

fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("Problem")))
}

/// A refusal's body is `application/problem+json`, whatever the handler's
/// annotation said; one with no body named gets the `Problem` schema.
fn serve_as_problem(response: &mut Response) {
    let content = response
        .content
        .shift_remove("application/json")
        .unwrap_or_else(problem_content);
    response.content.insert(PROBLEM_JSON.to_owned(), content);
}
