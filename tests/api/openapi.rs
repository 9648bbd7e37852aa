//! The committed OpenAPI document is exactly what the code generates.

use crate::helpers::*;

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = mulin::openapi::to_json().expect("document");
    let committed = std::fs::read_to_string("openapi/openapi.json").unwrap_or_default();
    assert!(
        generated == committed,
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_server_serves_the_same_document() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let served = app.get("/openapi.json", None).await.text().await.unwrap();
    assert_eq!(served, mulin::openapi::to_json().unwrap());
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    for path in [
        "/api/v1/auth/register",
        "/api/v1/organizations/{id}/members/{user_id}",
        "/api/v1/centres/{id}",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}
