//! Atomic bundles on real processes: under load with competing transactions, every bundle's
//! members land in one block, never split, and every API node says so from its own index; the
//! SDK verifies a bundle finalized whole, and one whose member was finalized alone first.

mod common;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::Net;
use cortado_client::{
    Trust,
    sdk::{BundleStatus, Client, Options},
};
use cortado_types::{Bundle, Transaction};
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
        // Every other API node answers alike, from the block's marker (none of them held the
        // bundle in its mempool: only the node it was submitted to did).
        for other in (0..4).filter(|o| o != node) {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let (status, v) = net
                    .get(other as usize, &format!("/v1/bundles/{hash}"))
                    .await
                    .unwrap();
                if status == 200 && v["status"] == "finalized" {
                    assert_eq!(v["height"], height, "{v}");
                    assert_eq!(v["transactions"], view["transactions"], "{v}");
                    break;
                }
                assert!(
                    status == 404 || v["status"] == "pending",
                    "node {other} on bundle {hash}: {status} {v}"
                );
                assert!(Instant::now() < deadline, "node {other}: bundle {hash}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
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

    // Through the SDK, verified: a bundle finalized whole; then a bundle one of whose members
    // was finalized alone first (submitted to another node before the bundle existed): the
    // bundle is refused where the member is pending, or dropped, and never finalized.
    let genesis = std::fs::read_to_string(dir.join("genesis.toml")).unwrap();
    let trust = Trust::from_genesis_toml(&genesis).expect("genesis parses");
    let urls: Vec<String> = net.nodes.iter().map(|n| n.url.clone()).collect();
    let client = Client::new(trust, urls, Options::default());
    let whole = Bundle::new(vec![
        Transaction::new(400u64, b"whole-a".to_vec()),
        Transaction::new(401u64, b"whole-b".to_vec()),
    ])
    .unwrap();
    assert_eq!(client.submit_bundle(&whole).await.unwrap(), whole.hash());
    match client
        .wait_bundle(&whole, Duration::from_secs(60))
        .await
        .unwrap()
    {
        BundleStatus::Finalized { height, members } => {
            assert_eq!(members.len(), 2);
            assert!(members.iter().all(|m| m.height == height));
        }
        other => panic!("{other:?}"),
    }
    let lone = Transaction::new(402u64, b"lone".to_vec());
    let lone_hash = net.submit(2, 402, b"lone").await;
    let (lone_height, _) = net.wait_final(2, &lone_hash).await;
    // The client may ask any node: each must have indexed the member, or it reports pending.
    for node in 0..4 {
        net.wait_final(node, &lone_hash).await;
    }
    let split = Bundle::new(vec![lone, Transaction::new(403u64, b"partner".to_vec())]).unwrap();
    match client.bundle_status(&split).await.unwrap() {
        BundleStatus::Failed { height, member, .. } => {
            assert_eq!(height, lone_height);
            assert_eq!(member.to_hex(), lone_hash);
        }
        other => panic!("{other:?}"),
    }
    // Submitting it now is refused (its member is finalized) on every node.
    for node in 0..4 {
        let txs: Vec<Value> = split
            .transactions()
            .iter()
            .map(
                |t| json!({"namespace": t.namespace.get(), "payload": STANDARD.encode(&t.payload)}),
            )
            .collect();
        let response = net
            .http
            .post(format!("{}/v1/bundles", net.nodes[node].url))
            .json(&json!({ "transactions": txs }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let v: Value = response.json().await.unwrap();
        assert_eq!(status, 409, "node {node}: {v}");
        assert_eq!(v["code"], "bundle_conflict", "{v}");
        assert!(v["error"].as_str().unwrap().contains("finalized"), "{v}");
    }
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
