//! Atomic bundles on real processes: under load with competing transactions, every bundle's
//! members land in one block, never split.

mod common;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::Net;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_land_whole_under_load() {
    let dir = std::env::temp_dir().join(format!("cortado-bundles-{}", std::process::id()));
    let net = Net::start(&dir, 4);
    net.wait_height(0, 1).await;

    // Competing load: 40 transactions of 200 KiB (8 MB, a full block's worth) over 4 namespaces.
    let mut competing = Vec::new();
    for i in 0..40u64 {
        let mut payload = format!("load-{i}-").into_bytes();
        payload.resize(200 << 10, b'.');
        competing.push(net.submit((i % 4) as usize, 100 + i % 4, &payload).await);
    }
    // Bundles of 2 to 4 members across namespaces, some large enough (3 × 300 KiB) that they
    // must wait for room in a block rather than be cut.
    let mut bundles = Vec::new();
    for b in 0..12u64 {
        let (members, size) = if b % 4 == 0 {
            (3, 300 << 10)
        } else {
            (2 + b % 3, 1 << 10)
        };
        let txs: Vec<Value> = (0..members)
            .map(|m| {
                let mut payload = format!("bundle-{b}-member-{m}-").into_bytes();
                payload.resize(size, b'#');
                json!({"namespace": 200 + m, "payload": STANDARD.encode(payload)})
            })
            .collect();
        let response = net
            .http
            .post(format!("{}/v1/bundles", net.nodes[(b % 4) as usize].url))
            .json(&json!({ "transactions": txs }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let v: Value = response.json().await.unwrap();
        bundles.push((v["hash"].as_str().unwrap().to_string(), b % 4));
    }
    // A bundle with a malformed member is refused whole, saying which member. (Bundles larger
    // than a block are refused with 413 naming the limit: api/tests/routes.rs, with small
    // limits; here the request body limit would cut such a body off first.)
    let refused = net
        .http
        .post(format!("{}/v1/bundles", net.nodes[0].url))
        .json(&json!({ "transactions": [
            {"namespace": 300, "payload": STANDARD.encode(b"fine")},
            {"namespace": 301, "payload": "not base64!"},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let v: Value = refused.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("transaction 1"),
        "{v}"
    );

    // Every bundle becomes final on the node it was submitted to, in one block.
    for (hash, node) in &bundles {
        let deadline = Instant::now() + Duration::from_secs(120);
        let view = loop {
            let (status, v) = net
                .get(*node as usize, &format!("/v1/bundles/{hash}"))
                .await
                .unwrap();
            assert_eq!(status, 200, "{v}");
            match v["status"].as_str().unwrap() {
                "pending" => {}
                "finalized" => break v,
                other => panic!("bundle {hash} is {other}: {v}"),
            }
            assert!(Instant::now() < deadline, "bundle {hash} not final");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let height = view["height"].as_u64().unwrap();
        for member in view["transactions"].as_array().unwrap() {
            assert_eq!(member["height"], height, "{view}");
            // Any other node agrees, from its own index.
            let (_, t) = net
                .get(
                    ((node + 1) % 4) as usize,
                    &format!("/v1/transactions/{}", member["hash"].as_str().unwrap()),
                )
                .await
                .unwrap();
            if t["status"] == "finalized" {
                assert_eq!(t["height"], height);
            }
        }
    }
    for hash in &competing {
        net.wait_final(0, hash).await;
    }
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
