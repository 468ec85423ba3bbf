//! Reads of the finalized chain: headers (by height, `latest` or hash), whole blocks,
//! namespace blocks, and what a node started from a checkpoint answers below it.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::{CHAIN, FakeNode, Fixture, block, certificate, limits};
use commonware_codec::Encode;
use cortado_api::{ApiConfig, router};
use cortado_storage::Index;
use cortado_types::Transaction;
use serde_json::{Value, json};
use tokio::sync::watch;

#[tokio::test]
async fn headers_by_height_and_latest() {
    let fx = Fixture::new(64).await;
    for (uri, b) in [
        ("/v1/headers/1", &fx.blocks[1]),
        ("/v1/headers/latest", &fx.blocks[2]),
    ] {
        let (status, _, json) = fx.get(uri).await;
        assert_eq!(status, StatusCode::OK);
        let h = b.header();
        let cert = certificate(b);
        assert_eq!(json["height"], h.height);
        assert_eq!(json["hash"], b.hash().to_hex());
        assert_eq!(json["header_bytes"], hex::encode(h.encode()));
        assert_eq!(json["certificate_bytes"], hex::encode(cert.encode()));
        assert_eq!(json["header"]["chain_id"], 7);
        assert_eq!(json["header"]["view"], h.view);
        assert_eq!(json["header"]["parent_view"], h.parent_view);
        assert_eq!(json["header"]["leader"], "ab".repeat(32));
        assert_eq!(json["header"]["timestamp_ms"], h.timestamp_ms);
        assert_eq!(json["header"]["parent"], h.parent.to_hex());
        assert_eq!(
            json["header"]["payload_commitment"],
            h.payload_commitment.to_hex()
        );
        assert_eq!(json["certificate"]["block"], b.hash().to_hex());
        assert_eq!(json["certificate"]["view"], cert.view);
        assert_eq!(json["certificate"]["signature"], "5c".repeat(48));
        let entries = h.table.entries();
        let namespaces = json["header"]["namespaces"].as_array().unwrap();
        assert_eq!(namespaces.len(), entries.len());
        for (got, want) in namespaces.iter().zip(entries) {
            assert_eq!(got["namespace"], want.namespace.get());
            assert_eq!(got["tx_count"], want.tx_count);
            assert_eq!(got["byte_len"], want.byte_len);
            assert_eq!(got["commitment"], want.commitment.to_hex());
        }
    }
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    fx.expect_error(
        get("/v1/headers/3"),
        StatusCode::NOT_FOUND,
        "not_found",
        "height 3 is not finalized (latest finalized height: 2)",
    )
    .await;
    fx.expect_error(
        get("/v1/headers/abc"),
        StatusCode::BAD_REQUEST,
        "invalid_height",
        "got \"abc\"",
    )
    .await;
    fx.expect_error(
        get("/v1/headers/-1"),
        StatusCode::BAD_REQUEST,
        "invalid_height",
        "\"latest\" or a block hash",
    )
    .await;
    fx.expect_error(
        get("/v1/headers/18446744073709551616"),
        StatusCode::BAD_REQUEST,
        "invalid_height",
        "unsigned 64-bit",
    )
    .await;
    fx.expect_error(
        get("/v1/headers/18446744073709551615"),
        StatusCode::NOT_FOUND,
        "not_found",
        "not finalized",
    )
    .await;
}

#[tokio::test]
async fn whole_blocks() {
    let fx = Fixture::new(64).await;
    let (status, _, json) = fx.get("/v1/blocks/0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["hash"], fx.blocks[0].hash().to_hex());
    assert_eq!(json["certificate"]["block"], fx.blocks[0].hash().to_hex());
    let want: Vec<Value> = fx.blocks[0]
        .transactions()
        .enumerate()
        .map(|(i, tx)| {
            json!({"index": i, "namespace": tx.namespace.get(), "hash": tx.hash().to_hex(),
                   "payload": STANDARD.encode(&tx.payload)})
        })
        .collect();
    assert_eq!(json["transactions"], Value::Array(want));
    assert_eq!(json["invalid_namespaces"], json!([]));
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    fx.expect_error(
        get("/v1/blocks/9"),
        StatusCode::NOT_FOUND,
        "not_found",
        "height 9",
    )
    .await;
    fx.expect_error(
        get("/v1/blocks/x"),
        StatusCode::BAD_REQUEST,
        "invalid_height",
        "got \"x\"",
    )
    .await;
}

#[tokio::test]
async fn namespace_blocks() {
    let fx = Fixture::new(64).await;
    let (status, _, json) = fx.get("/v1/namespaces/5/blocks/0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["namespace"], 5);
    assert_eq!(json["height"], 0);
    assert_eq!(json["hash"], fx.blocks[0].hash().to_hex());
    assert_eq!(json["certificate"]["block"], fx.blocks[0].hash().to_hex());
    // Block 0 order: ns 1 "a" (0), ns 5 "b" (1), ns 5 "c" (2).
    let tx = |p: &[u8], i: u32| {
        json!({"index": i, "hash": Transaction::new(5u64, p.to_vec()).hash().to_hex(),
               "payload": STANDARD.encode(p)})
    };
    assert_eq!(json["transactions"], json!([tx(b"b", 1), tx(b"c", 2)]));
    assert_eq!(json["status"], "valid");
    assert_eq!(json["proof"]["kind"], "inclusion");
    assert_eq!(json["evidence"], Value::Null);
    assert_eq!(
        json["header_bytes"],
        hex::encode(fx.blocks[0].header().encode())
    );
    // A block without the namespace: the header, no transactions and the proof of absence.
    let (status, _, json) = fx.get("/v1/namespaces/5/blocks/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["transactions"], json!([]));
    assert_eq!(json["status"], "absent");
    assert_eq!(json["proof"]["kind"], "absence");
    assert_eq!(json["hash"], fx.blocks[1].hash().to_hex());
    let (_, _, json) = fx.get("/v1/namespaces/5/blocks/latest").await;
    assert_eq!(json["transactions"], json!([tx(b"e", 0)]));
    assert_eq!(json["status"], "valid");

    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    fx.expect_error(
        get("/v1/namespaces/5/blocks/3"),
        StatusCode::NOT_FOUND,
        "not_found",
        "height 3 is not finalized",
    )
    .await;
    fx.expect_error(
        get("/v1/namespaces/abc/blocks/0"),
        StatusCode::BAD_REQUEST,
        "invalid_namespace",
        "got \"abc\"",
    )
    .await;
    fx.expect_error(
        get("/v1/namespaces/5/blocks/zz"),
        StatusCode::BAD_REQUEST,
        "invalid_height",
        "got \"zz\"",
    )
    .await;
}

#[tokio::test]
async fn headers_by_hash() {
    let fx = Fixture::new(64).await;
    let b = &fx.blocks[1];
    for uri in [
        format!("/v1/headers/{}", b.hash().to_hex()),
        format!("/v1/headers/0x{}", b.hash().to_hex()),
        format!("/v1/blocks/{}", b.hash().to_hex()),
    ] {
        let (status, _, json) = fx.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(json["height"], 1, "{uri}");
    }
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    fx.expect_error(
        get(&format!("/v1/headers/{}", "ab".repeat(32))),
        StatusCode::NOT_FOUND,
        "not_found",
        "no finalized block with hash",
    )
    .await;
    fx.expect_error(
        get(&format!("/v1/headers/{}", "zz".repeat(32))),
        StatusCode::BAD_REQUEST,
        "invalid_hash",
        "",
    )
    .await;
}

/// A node that joined from a checkpoint at height 3 serves 3 and above, and answers
/// `not_held` (not `not_found`) for what lies below, on every height-addressed route.
#[tokio::test]
async fn below_a_checkpoint_is_not_held() {
    let mut blocks = vec![block(0, None, &[(5, b"g")])];
    for height in 1..6 {
        let b = block(height, Some(blocks.last().unwrap().header()), &[(5, b"x")]);
        blocks.push(b);
    }
    let index = Index::open_in_memory(limits()).await.unwrap();
    index
        .start_from_checkpoint(blocks[3].header())
        .await
        .unwrap();
    for b in &blocks[3..] {
        index
            .insert_finalized(b, &certificate(b), &[], 0)
            .await
            .unwrap();
    }
    let (finalized, rx) = watch::channel(5);
    let node = FakeNode::default();
    let fx = Fixture {
        router: router(
            node.clone(),
            index.clone(),
            rx,
            ApiConfig::new(limits(), CHAIN),
        ),
        node,
        index,
        finalized,
        blocks,
    };
    for uri in ["/v1/headers/3", "/v1/blocks/5", "/v1/namespaces/5/blocks/4"] {
        let (status, _, _) = fx.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
    let (status, _, json) = fx.get("/v1/headers/4/proof?against=5").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    for uri in [
        "/v1/headers/2",
        "/v1/blocks/0",
        "/v1/namespaces/5/blocks/1",
        "/v1/headers/1/proof?against=5",
    ] {
        fx.expect_error(
            get(uri),
            StatusCode::NOT_FOUND,
            "not_held",
            "joined the chain from a checkpoint at height 3",
        )
        .await;
    }
    fx.expect_error(
        get("/v1/headers/6"),
        StatusCode::NOT_FOUND,
        "not_found",
        "height 6 is not finalized",
    )
    .await;
}
