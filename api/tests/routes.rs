//! The plain routes: answers, and every error's status, code and message.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::{CHAIN, Fixture, limits};
use commonware_codec::Encode;
use cortado_api::{ApiConfig, SubmitError};
use cortado_types::{Namespace, Transaction};
use serde_json::{Value, json};
use std::time::Duration;

fn post_json(body: &Value) -> Request<Body> {
    Request::post("/v1/transactions")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn post_raw(uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/octet-stream")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn submit_json_and_raw() {
    let fx = Fixture::new(64).await;
    let payload = b"hello rollup".to_vec();
    let (status, _, json) = fx
        .call(post_json(
            &json!({"namespace": 42, "payload": STANDARD.encode(&payload)}),
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let tx = Transaction::new(42u64, payload.clone());
    assert_eq!(json, json!({ "hash": tx.hash().to_hex() }));

    // The same bytes raw: the same transaction, now a duplicate.
    let (status, _, json) = fx
        .call(post_raw("/v1/transactions?namespace=42", payload.clone()))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        json,
        json!({ "hash": tx.hash().to_hex(), "duplicate": true })
    );

    // No content type at all is the raw form too; JSON content types with parameters are JSON.
    let req = Request::post("/v1/transactions?namespace=7")
        .body(Body::from("raw"))
        .unwrap();
    assert_eq!(fx.call(req).await.0, StatusCode::ACCEPTED);
    let req = Request::post("/v1/transactions")
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(
            json!({"namespace": 8, "payload": ""}).to_string(),
        ))
        .unwrap();
    assert_eq!(fx.call(req).await.0, StatusCode::ACCEPTED);
    // `curl -d '{...}'` sends a form content type: without ?namespace= it is the JSON form.
    let req = Request::post("/v1/transactions")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            json!({"namespace": 9, "payload": STANDARD.encode(b"curl")}).to_string(),
        ))
        .unwrap();
    assert_eq!(fx.call(req).await.0, StatusCode::ACCEPTED);
    // The largest payload fits, in both forms.
    let max = vec![0xee; common::limits().tx_bytes_max];
    let big = json!({"namespace": u64::MAX - 1, "payload": STANDARD.encode(&max)});
    assert_eq!(fx.call(post_json(&big)).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        fx.call(post_raw("/v1/transactions?namespace=1", max.clone()))
            .await
            .0,
        StatusCode::ACCEPTED
    );

    // The raw payload to the namespace's path; a JSON integer spelled as a float (JSON Schema's
    // `integer`, which generated clients may send) is the same namespace.
    assert_eq!(
        fx.call(post_raw("/v1/namespaces/11/transactions", b"path".to_vec()))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let spelled = r#"{"namespace": 1.2e1, "payload": ""}"#;
    let req = Request::post("/v1/transactions")
        .header("content-type", "application/json")
        .body(Body::from(spelled))
        .unwrap();
    assert_eq!(fx.call(req).await.0, StatusCode::ACCEPTED);
    for (body, needle) in [
        (r#"{"namespace": 12.5, "payload": ""}"#, "got 12.5"),
        (r#"{"namespace": -1, "payload": ""}"#, "got -1"),
        (r#"{"namespace": "12", "payload": ""}"#, "got \"12\""),
    ] {
        let req = Request::post("/v1/transactions")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let (status, _, json) = fx.call(req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json["code"], "invalid_json", "{body}");
        assert!(json["error"].as_str().unwrap().contains(needle), "{json}");
    }
    let (status, _, json) = fx
        .call(post_raw(
            &format!("/v1/namespaces/{}/transactions", u64::MAX),
            b"x".to_vec(),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["code"], "invalid_namespace", "{json}");

    let submitted = fx.node.submitted();
    assert_eq!(submitted.len(), 9);
    assert_eq!(submitted[0], tx);
    assert_eq!(submitted[1], tx);
    assert_eq!(submitted[2], Transaction::new(7u64, &b"raw"[..]));
    assert_eq!(submitted[3], Transaction::new(8u64, Vec::new()));
    assert_eq!(submitted[4], Transaction::new(9u64, &b"curl"[..]));
    assert_eq!(submitted[5], Transaction::new(u64::MAX - 1, max.clone()));
    assert_eq!(submitted[6], Transaction::new(1u64, max));
    assert_eq!(submitted[7], Transaction::new(11u64, &b"path"[..]));
    assert_eq!(submitted[8], Transaction::new(12u64, Vec::new()));
}

#[tokio::test]
async fn submit_oversize_is_413_naming_the_limit() {
    let fx = Fixture::new(64).await;
    let limit = common::limits().tx_bytes_max;
    // Decodes past tx_bytes_max, while the body is within the body limit.
    let over = STANDARD.encode(vec![1u8; limit + 76]);
    fx.expect_error(
        post_json(&json!({"namespace": 1, "payload": over})),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!(
            "transaction payload is {} bytes; the limit is {limit} bytes (tx_bytes_max)",
            limit + 76
        ),
    )
    .await;
    // A JSON body past the body limit, with and without Content-Length.
    let huge =
        json!({"namespace": 1, "payload": STANDARD.encode(vec![1u8; 2 * limit])}).to_string();
    let req = Request::post("/v1/transactions")
        .header("content-type", "application/json")
        .header("content-length", huge.len())
        .body(Body::from(huge.clone()))
        .unwrap();
    fx.expect_error(
        req,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("request body is {} bytes; the limit is", huge.len()),
    )
    .await;
    let req = post_json(&serde_json::from_str(&huge).unwrap());
    fx.expect_error(
        req,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "tx_bytes_max",
    )
    .await;
    // Raw bodies: just over, and far over (body limit) with and without Content-Length.
    fx.expect_error(
        post_raw("/v1/transactions?namespace=1", vec![0; limit + 1]),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!(
            "transaction payload is {} bytes; the limit is {limit} bytes (tx_bytes_max)",
            limit + 1
        ),
    )
    .await;
    let req = Request::post("/v1/transactions?namespace=1")
        .header("content-type", "application/octet-stream")
        .header("content-length", 4 * limit)
        .body(Body::from(vec![0u8; 4 * limit]))
        .unwrap();
    fx.expect_error(
        req,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!(
            "transaction payload is {} bytes; the limit is {limit} bytes (tx_bytes_max)",
            4 * limit
        ),
    )
    .await;
    fx.expect_error(
        post_raw("/v1/transactions?namespace=1", vec![0; 4 * limit]),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("exceeds the limit of {limit} bytes (tx_bytes_max)"),
    )
    .await;
    assert!(fx.node.submitted().is_empty());
}

#[tokio::test]
async fn submit_malformed_is_400_saying_what() {
    let fx = Fixture::new(64).await;
    let json_req = |body: &str| {
        Request::post("/v1/transactions")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let bad = StatusCode::BAD_REQUEST;
    fx.expect_error(
        json_req("{not json"),
        bad,
        "invalid_json",
        "invalid JSON body",
    )
    .await;
    fx.expect_error(json_req(""), bad, "invalid_json", "EOF")
        .await;
    fx.expect_error(
        json_req(r#"{"namespace": 1}"#),
        bad,
        "invalid_json",
        "missing field `payload`",
    )
    .await;
    fx.expect_error(
        json_req(r#"{"namespace": -1, "payload": ""}"#),
        bad,
        "invalid_json",
        "expected an unsigned 64-bit integer, got -1",
    )
    .await;
    fx.expect_error(
        json_req(r#"{"namespace": 1, "payload": "", "extra": 1}"#),
        bad,
        "invalid_json",
        "unknown field `extra`",
    )
    .await;
    fx.expect_error(
        json_req(r#"{"namespace": 1, "payload": "no!"}"#),
        bad,
        "invalid_base64",
        "payload is not valid base64: ",
    )
    .await;
    // Without ?namespace= the body can only be the JSON form, whatever its content type.
    fx.expect_error(
        post_raw("/v1/transactions", b"x".to_vec()),
        bad,
        "invalid_json",
        "or raw bytes to POST /v1/namespaces/{ns}/transactions",
    )
    .await;
    fx.expect_error(
        post_raw("/v1/transactions?namespace=abc", b"x".to_vec()),
        bad,
        "invalid_namespace",
        "namespace must be an unsigned 64-bit integer; got \"abc\"",
    )
    .await;
    fx.expect_error(
        post_raw(
            "/v1/transactions?namespace=18446744073709551616",
            b"x".to_vec(),
        ),
        bad,
        "invalid_namespace",
        "18446744073709551616",
    )
    .await;
    let both = Request::post("/v1/transactions?namespace=1")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"namespace": 1, "payload": ""}).to_string(),
        ))
        .unwrap();
    fx.expect_error(both, bad, "bad_request", "not both").await;
    fx.expect_error(
        post_raw("/v1/transactions?namespace=%FF%FE", b"x".to_vec()),
        bad,
        "invalid_namespace",
        "namespace must be an unsigned 64-bit integer",
    )
    .await;
    fx.expect_error(
        post_raw("/v1/transactions?namespace=1&namespace=2", b"x".to_vec()),
        bad,
        "bad_request",
        "invalid query string",
    )
    .await;
    assert!(fx.node.submitted().is_empty());
}

#[tokio::test]
async fn submit_refusals_map_to_status_and_retry_after() {
    let fx = Fixture::new(64).await;
    let body = json!({"namespace": 3, "payload": "AAAA"});
    fx.node.refuse(Some(SubmitError::MempoolFull {
        retry_after: Duration::from_millis(1500),
    }));
    let headers = fx
        .expect_error(
            post_json(&body),
            StatusCode::SERVICE_UNAVAILABLE,
            "mempool_full",
            "mempool is full",
        )
        .await;
    assert_eq!(headers["retry-after"], "2");
    fx.node.refuse(Some(SubmitError::NamespaceFull {
        namespace: Namespace(3),
        retry_after: Duration::ZERO,
    }));
    let headers = fx
        .expect_error(
            post_json(&body),
            StatusCode::TOO_MANY_REQUESTS,
            "namespace_full",
            "namespace 3",
        )
        .await;
    assert_eq!(headers["retry-after"], "1");
    fx.node
        .refuse(Some(SubmitError::Unavailable("starting up".into())));
    let headers = fx
        .expect_error(
            post_json(&body),
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "starting up",
        )
        .await;
    assert!(headers.get("retry-after").is_none());
    fx.node
        .refuse(Some(SubmitError::TooLarge { size: 9, limit: 8 }));
    fx.expect_error(
        post_json(&body),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "transaction payload is 9 bytes; the limit is 8 bytes (tx_bytes_max)",
    )
    .await;
    fx.node.refuse(None);
    assert_eq!(fx.call(post_json(&body)).await.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn transaction_status() {
    let fx = Fixture::new(64).await;
    // Block 2 holds namespace 5 ("e") then 9 ("f").
    let tx = Transaction::new(9u64, &b"f"[..]);
    let (status, _, json) = fx.get(&format!("/v1/transactions/{}", tx.hash())).await;
    assert_eq!(status, StatusCode::OK);
    let b = &fx.blocks[2];
    let proof = cortado_coding::prove_namespace(b.header(), Namespace(9)).unwrap();
    let tx_proof = cortado_coding::prove_transaction(&b.namespaces()[1], 0).unwrap();
    let mut expected = json!({
        "hash": tx.hash().to_hex(), "status": "finalized", "height": 2, "index": 1,
        "namespace": 9, "block_hash": b.hash().to_hex(), "position": 0,
        "header_bytes": hex::encode(b.header().encode()),
        "certificate_bytes": hex::encode(common::certificate(b).encode()),
        "namespace_proof": {
            "kind": "inclusion", "position": 1, "table_len": 2,
            "entry": {"namespace": 9, "tx_count": 1, "byte_len": 1,
                      "commitment": proof.entry.commitment.to_hex(),
                      "tx_root": proof.entry.tx_root.to_hex()},
            "path": proof.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
            "bytes": hex::encode(proof.encode()),
        },
        "payload": "Zg==",
        // One transaction: the path is empty and tx_root is its leaf.
        "transaction_proof": {
            "position": 0, "count": 1, "path": [], "bytes": hex::encode(tx_proof.encode()),
        },
    });
    assert_eq!(proof.entry.tx_root, cortado_types::tx_leaf(&tx.hash()));
    assert_eq!(json, expected);
    // The whole namespace only on request.
    let (status, _, json) = fx
        .get(&format!("/v1/transactions/{}?full=true", tx.hash()))
        .await;
    assert_eq!(status, StatusCode::OK);
    expected["namespace_transactions"] =
        json!([{"index": 1, "hash": tx.hash().to_hex(), "payload": "Zg=="}]);
    assert_eq!(json, expected);
    let (status, _, json) = fx
        .get(&format!("/v1/transactions/{}?full=maybe", tx.hash()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    // Upper case and 0x are accepted; the answer is lowercase.
    let upper = format!("0x{}", tx.hash().to_hex().to_uppercase());
    let (_, _, json) = fx.get(&format!("/v1/transactions/{upper}")).await;
    assert_eq!(json["hash"], tx.hash().to_hex());

    let pending = Transaction::new(1u64, &b"soon"[..]);
    fx.call(post_raw("/v1/transactions?namespace=1", b"soon".to_vec()))
        .await;
    let (status, _, json) = fx
        .get(&format!("/v1/transactions/{}", pending.hash()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({ "hash": pending.hash().to_hex(), "status": "pending" })
    );

    let unknown = Transaction::new(1u64, &b"never"[..]).hash();
    fx.expect_error(
        Request::get(format!("/v1/transactions/{unknown}"))
            .body(Body::empty())
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("unknown transaction {unknown}"),
    )
    .await;
    for bad in ["xyz", "00", &"g".repeat(64), &"0".repeat(66)] {
        fx.expect_error(
            Request::get(format!("/v1/transactions/{bad}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
            "a hash is 64 hex characters",
        )
        .await;
    }
}

#[tokio::test]
async fn status_reports_chain_index_and_node() {
    let fx = Fixture::new(64).await;
    let (status, _, json) = fx.get("/v1/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({
            "chain_id": 7, "height": 2, "view": 42, "validators": 4, "peers": 3,
            "last_finality_latency_ms": 250, "mempool": { "txs": 0, "bytes": 0 },
            "dispersal": {
                "shares_stored": 0, "share_bytes_stored": 0, "share_bytes_received": 0,
                "blocks_reconstructed": 0, "last_reconstruct_us": 0,
            },
            "sync": {
                "state": "syncing", "tip": 902, "behind": 900, "rate_blocks_per_s": 150.0,
                "chain_rate_blocks_per_s": 10.0, "eta_s": 6.5,
            },
        })
    );
}

#[tokio::test]
async fn a_validator_only_node_serves_headers_and_refuses_data_routes() {
    let cfg = ApiConfig::new(limits(), CHAIN).validator_only(vec!["http://127.0.0.1:27100".into()]);
    let fx = Fixture::with_config(cfg).await;
    for uri in [
        "/v1/status",
        "/v1/headers/latest",
        "/v1/headers/1/proof?against=latest",
        "/v1/openapi.json",
    ] {
        let (status, _, json) = fx.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {json}");
    }
    for uri in [
        "/v1/blocks/1",
        "/v1/namespaces/5/blocks/2",
        "/v1/namespaces/5/inbox",
        "/v1/transactions/00",
        "/v1/bundles/00",
        "/v1/stream/namespaces/5",
    ] {
        fx.expect_error(
            Request::get(uri).body(Body::empty()).unwrap(),
            StatusCode::MISDIRECTED_REQUEST,
            "not_served",
            "http://127.0.0.1:27100",
        )
        .await;
    }
    fx.expect_error(
        Request::post("/v1/transactions?namespace=1")
            .header("content-type", "application/octet-stream")
            .body(Body::from("x"))
            .unwrap(),
        StatusCode::MISDIRECTED_REQUEST,
        "not_served",
        "role = \"validator\"",
    )
    .await;
    assert!(
        fx.node.submitted().is_empty(),
        "nothing reached the mempool"
    );
    // A path that merely starts like a data route is an ordinary unknown route.
    fx.expect_error(
        Request::get("/v1/transactionsx")
            .body(Body::empty())
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
        "no route",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let fx = Fixture::new(64).await;
    let req = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap()
    };
    for uri in [
        "/",
        "/v1",
        "/v2/status",
        "/v1/headers",
        "/v1/namespaces/5",
        "/v1/blocks/1/extra",
    ] {
        fx.expect_error(
            req("GET", uri),
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no route for GET {uri}"),
        )
        .await;
    }
    let headers = fx
        .expect_error(
            req("DELETE", "/v1/status"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "DELETE is not allowed on /v1/status",
        )
        .await;
    assert!(headers["allow"].to_str().unwrap().contains("GET"));
    let headers = fx
        .expect_error(
            req("GET", "/v1/transactions"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "GET is not allowed",
        )
        .await;
    assert_eq!(headers["allow"], "POST");
    fx.expect_error(
        req("PUT", "/v1/stream/headers"),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "PUT",
    )
    .await;
}

#[tokio::test]
async fn undecodable_path_is_400_json() {
    let fx = Fixture::new(64).await;
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    fx.expect_error(
        get("/v1/headers/%FF"),
        StatusCode::BAD_REQUEST,
        "bad_request",
        "invalid path",
    )
    .await;
    fx.expect_error(
        get("/v1/transactions/%C3%28"),
        StatusCode::BAD_REQUEST,
        "bad_request",
        "invalid path",
    )
    .await;
}

#[tokio::test]
async fn index_failure_is_500_json() {
    let fx = Fixture::new(64).await;
    fx.index.close().await;
    for uri in [
        "/v1/headers/0",
        "/v1/status",
        "/v1/namespaces/5/blocks/0",
        "/v1/blocks/latest",
    ] {
        let (status, _, json) = fx.get(uri).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}: {json}");
        assert_eq!(json["code"], "internal");
        assert!(
            json["error"].as_str().unwrap().contains("index failed"),
            "{json}"
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let fx = Fixture::new(64).await;
    fx.get("/v1/status").await;
    fx.get("/v1/status").await;
    fx.get("/v1/headers/99").await;
    fx.get("/v1/no/such/route").await;
    let response = fx
        .router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    // The node's metrics come first, then the API's, with one EOF marker at the very end.
    assert!(text.starts_with("# HELP node_height"), "{text}");
    assert!(text.contains("node_height 2\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1, "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    for line in [
        r#"api_requests_total{route="/v1/status",method="GET",status="200"} 2"#,
        r#"api_requests_total{route="/v1/headers/{height}",method="GET",status="404"} 1"#,
        r#"api_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"api_request_duration_seconds_count{route="/v1/status",method="GET",status="200"} 2"#,
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
}

#[tokio::test]
async fn bundles_are_submitted_whole_and_report_their_status() {
    let mut fx = common::Fixture::new(64).await;
    let post_bundle = |body: Value| {
        Request::post("/v1/bundles")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let members = [(1u64, &b"buy"[..]), (2, b"sell")];
    let body = json!({"transactions": members.iter().map(|(ns, p)| json!({"namespace": ns, "payload": STANDARD.encode(p)})).collect::<Vec<_>>()});
    let (status, _, json) = fx.call(post_bundle(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    let bundle = cortado_types::Bundle::new(
        members
            .iter()
            .map(|(ns, p)| Transaction::new(*ns, p.to_vec()))
            .collect(),
    )
    .unwrap();
    assert_eq!(json["hash"], bundle.hash().to_hex());
    assert_eq!(
        json["transactions"],
        json!(
            bundle
                .member_hashes()
                .iter()
                .map(|h| h.to_hex())
                .collect::<Vec<_>>()
        )
    );
    // The node got the carrier, one unit.
    assert_eq!(fx.node.submitted().last(), Some(&bundle.carrier()));
    let (_, _, pending) = fx.get(&format!("/v1/bundles/{}", bundle.hash())).await;
    assert_eq!(
        pending,
        json!({"hash": bundle.hash().to_hex(), "status": "pending"})
    );

    // Finalized: every member and the marker in one block, read from the block itself.
    let marker = bundle.marker();
    let b = fx
        .finalize(&[
            (1, b"buy"),
            (2, b"sell"),
            (3, b"other"),
            (u64::MAX, &marker.payload),
        ])
        .await;
    let (_, _, done) = fx.get(&format!("/v1/bundles/{}", bundle.hash())).await;
    assert_eq!(done["status"], "finalized", "{done}");
    assert_eq!(done["height"], b.height());
    assert_eq!(done["transactions"][1]["index"], 1);

    // A member finalized earlier without the bundle (posted alone elsewhere, or a faulty
    // leader): the bundle's block does not make it whole again.
    let late = cortado_types::Bundle::new(vec![
        Transaction::new(1u64, b"x".to_vec()),
        Transaction::new(2u64, b"y".to_vec()),
    ])
    .unwrap();
    let alone = fx.finalize(&[(1, b"x")]).await;
    let marker = late.marker();
    let last = fx
        .finalize(&[(1, b"x"), (2, b"y"), (u64::MAX, &marker.payload)])
        .await;
    let (_, _, failed) = fx.get(&format!("/v1/bundles/{}", late.hash())).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed.get("height"), None);
    assert_eq!(failed["transactions"][0]["height"], alone.height());
    assert_eq!(failed["transactions"][1]["height"], last.height());
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains(&late.member_hashes()[0].to_string())
            && reason.contains(&format!("height {}", alone.height())),
        "{reason}"
    );

    // A marker finalized first without its members (a faulty leader): the later block with
    // all of them does not make the bundle whole.
    let early = cortado_types::Bundle::new(vec![
        Transaction::new(1u64, b"m".to_vec()),
        Transaction::new(2u64, b"n".to_vec()),
    ])
    .unwrap();
    let marker = early.marker();
    let premature = fx.finalize(&[(u64::MAX, &marker.payload)]).await;
    fx.finalize(&[(1, b"m"), (2, b"n"), (u64::MAX, &marker.payload)])
        .await;
    let (_, _, failed) = fx.get(&format!("/v1/bundles/{}", early.hash())).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["reason"].as_str().unwrap().contains(&format!(
            "marker was first finalized at height {}",
            premature.height()
        )),
        "{failed}"
    );

    // A marker without all its members in its block (a faulty leader) records nothing.
    let partial = cortado_types::Bundle::new(vec![
        Transaction::new(1u64, b"p".to_vec()),
        Transaction::new(2u64, b"q".to_vec()),
    ])
    .unwrap();
    let marker = partial.marker();
    fx.finalize(&[(1, b"p"), (u64::MAX, &marker.payload)]).await;
    fx.expect_error(
        Request::get(format!("/v1/bundles/{}", partial.hash()))
            .body(Body::empty())
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
        "unknown bundle",
    )
    .await;

    // Refusals, each saying what is wrong.
    let tx = |ns: u64, p: &str| json!({"namespace": ns, "payload": p});
    for (body, status, code, needle) in [
        (
            json!({"transactions": []}),
            400,
            "invalid_bundle",
            "at least one",
        ),
        (
            json!({"transactions": [tx(1, "YQ=="), tx(1, "YQ==")]}),
            400,
            "invalid_bundle",
            "repeats",
        ),
        (
            json!({"transactions": [tx(u64::MAX, "YQ==")]}),
            400,
            "invalid_bundle",
            "reserved",
        ),
        (
            json!({"transactions": [tx(1, "***")]}),
            400,
            "invalid_base64",
            "transaction 0",
        ),
        (json!({"txs": []}), 400, "invalid_json", "expected"),
        (
            json!({"transactions": [tx(1, &STANDARD.encode([0u8; 700])), tx(2, &STANDARD.encode([0u8; 700]))]}),
            413,
            "payload_too_large",
            "tx_bytes_max",
        ),
    ] {
        fx.expect_error(
            post_bundle(body),
            StatusCode::from_u16(status).unwrap(),
            code,
            needle,
        )
        .await;
    }
    // The carrier namespace is not open to plain transactions.
    fx.expect_error(
        post_json(&json!({"namespace": u64::MAX, "payload": "YQ=="})),
        StatusCode::BAD_REQUEST,
        "invalid_namespace",
        "reserved for bundle carriers",
    )
    .await;
    let unknown = Transaction::new(9u64, b"z".to_vec()).hash();
    fx.expect_error(
        Request::get(format!("/v1/bundles/{unknown}"))
            .body(Body::empty())
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
        "unknown bundle",
    )
    .await;
}
