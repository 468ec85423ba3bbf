//! The OpenAPI document describes every route the router serves, and only those; every schema
//! it references is defined.

mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::Fixture;
use serde_json::Value;
use std::collections::BTreeSet;
use tower::ServiceExt;

/// The paths registered in the router, read from its source so that a route added without
/// its OpenAPI annotation fails this test.
fn router_paths() -> BTreeSet<String> {
    let source = include_str!("../src/lib.rs");
    let mut paths = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let open = rest.find('"').expect("route path literal");
        let close = rest[open + 1..].find('"').expect("closing quote") + open + 1;
        paths.insert(rest[open + 1..close].to_string());
    }
    paths
}

/// Every `$ref` in the document.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().expect("$ref is a string").to_string());
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_route_is_described_and_served() {
    let fx = Fixture::new(64).await;
    let (status, _, doc) = fx.get("/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    let served = router_paths();
    assert!(served.len() >= 10, "found the routes: {served:?}");
    assert_eq!(documented, served, "documented vs served paths");

    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(
            schemas.contains_key(name),
            "{name} is referenced but not defined"
        );
    }

    // Each documented operation reaches its handler (not the 404/405 fallbacks), and each
    // documents its error body.
    let hash = cortado_types::Transaction::new(1u64, &b"a"[..])
        .hash()
        .to_hex();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let uri = path
                .replace("{height}", "0")
                .replace("{ns}", "5")
                .replace("{source}", "6")
                .replace("{sender}", &"ab".repeat(20))
                .replace("{hash}", &hash);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = match (method.clone(), path.as_str()) {
                (Method::POST, "/v1/bundles") => {
                    Body::from(r#"{"transactions":[{"namespace":1,"payload":"aGk="}]}"#)
                }
                (Method::POST, _) => Body::from(r#"{"namespace":1,"payload":"aGk="}"#),
                _ => Body::empty(),
            };
            let req = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header("content-type", "application/json")
                .body(body)
                .unwrap();
            let response = fx.router.clone().oneshot(req).await.unwrap();
            let status = response.status();
            if !status.is_success() {
                // Only a handler's own answer (e.g. an unknown bundle) is acceptable, never the
                // router's fallbacks.
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
                let body = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let json: Value = serde_json::from_slice(&body).unwrap();
                assert!(
                    !json["error"].as_str().unwrap().contains("no route"),
                    "{method} {uri}: {json}"
                );
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
            if path != "/v1/openapi.json" && path != "/metrics" {
                assert!(
                    responses
                        .keys()
                        .any(|s| s.starts_with('4') || s.starts_with('5')),
                    "{method} {path} documents its errors"
                );
            }
        }
    }
}
