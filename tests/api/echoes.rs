//! Nothing a client sends is echoed into a log line or an error body: every
//! field of every route's JSON body (read from the served OpenAPI document, so
//! a new route is covered the day it is documented) is sent holding a phone
//! number, once as a JSON number and once as text, and the server's log (at
//! debug) and every refusal are searched for it.

use serde_json::{Map, Value, json};

use crate::both_databases;
use crate::helpers::*;

/// `schema` with its `$ref` (and a one-element `allOf`) followed.
fn resolve<'a>(schema: &'a Value, schemas: &'a Value) -> &'a Value {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        return resolve(&schemas[name], schemas);
    }
    match schema["allOf"].as_array() {
        Some(parts) if parts.len() == 1 => resolve(&parts[0], schemas),
        _ => schema,
    }
}

/// Every documented operation that takes a JSON body: (method, path, the
/// body's field names).
fn bodies(document: &Value) -> Vec<(reqwest::Method, String, Vec<String>)> {
    let schemas = &document["components"]["schemas"];
    let mut found = Vec::new();
    let empty = Map::new();
    for (path, item) in document["paths"].as_object().unwrap_or(&empty) {
        for (method, operation) in item.as_object().unwrap_or(&empty) {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_null() {
                continue;
            }
            let fields: Vec<String> = resolve(schema, schemas)["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            found.push((method, path.clone(), fields));
        }
    }
    found
}

both_databases! {
    async fn no_field_of_any_body_is_echoed_into_the_log_or_an_error(kind) {
        let app = TestApp::spawn_process(kind, &[("RUST_LOG", "debug")]).await;
        let admin = app.admin().await;
        let document: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();
        let operations = bodies(&document);
        assert!(operations.len() >= 40, "only {} bodies documented", operations.len());
        let mut sent: Vec<(String, String)> = Vec::new();
        let mut refusals: Vec<(String, String)> = Vec::new();
        let mut next = 13_900_000_000u64 + u64::from(rand_u16()) * 10_000;
        for (method, path, fields) in &operations {
            // Signing out would end the admin's session for the rest of the test.
            if path.ends_with("/auth/logout") {
                continue;
            }
            let url = path
                .split('/')
                .map(|s| if s.starts_with('{') { uuid::Uuid::new_v4().to_string() } else { s.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            for field in fields {
                for as_text in [false, true] {
                    next += 1;
                    let marker = next.to_string();
                    let value = if as_text { json!(marker) } else { json!(next) };
                    let res = app
                        .request(method.clone(), &url, Some(&admin.access))
                        .json(&json!({ field.as_str(): value }))
                        .send()
                        .await
                        .unwrap();
                    let status = res.status();
                    assert!(!status.is_server_error(), "{method} {path} {field}: {status}");
                    let body = res.text().await.unwrap();
                    let what = format!("{method} {path} .{field} ({})", if as_text { "text" } else { "number" });
                    if status.is_client_error() {
                        refusals.push((what.clone(), body));
                    }
                    sent.push((what, marker));
                }
            }
        }
        assert!(sent.len() >= 200, "only {} bodies sent", sent.len());
        let log = app.server_log();
        assert!(log.lines().count() > 100, "the debug log was written");
        for (what, marker) in &sent {
            assert!(!log.contains(marker.as_str()), "{what}: its value reached the log");
            for (refused, body) in &refusals {
                assert!(!body.contains(marker.as_str()), "{what}: its value is in the refusal of {refused}: {body}");
            }
        }
    }
}

/// A little randomness, so two runs do not send the same numbers.
fn rand_u16() -> u16 {
    let id = uuid::Uuid::new_v4();
    u16::from_le_bytes([id.as_bytes()[0], id.as_bytes()[1]])
}
