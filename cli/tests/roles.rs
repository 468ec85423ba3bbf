//! Integration: 4 real `cortado node` processes, of which 2 are API nodes (`--api-nodes 2`).
//! The validators that are not API nodes take part in consensus and store their own shares
//! only: they receive no other validator's share, serve headers and status, refuse data routes
//! and submissions with 421, and their mempools drain once the blocks holding the copies they
//! were gossiped are finalized.

mod common;

use common::Net;
use cortado_client::{
    Trust,
    sdk::{Client, Options},
};
use cortado_types::Namespace;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn status(net: &Net, node: usize) -> Value {
    net.get(node, "/v1/status").await.expect("status").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_without_the_api_role_store_only_their_shares() {
    let dir = std::env::temp_dir().join(format!("cortado-roles-{}", std::process::id()));
    let n = 4usize;
    let net = Net::start_with(&dir, n as u16, &["--api-nodes", "2"]);
    for i in 0..n {
        net.wait_height(i, 2).await;
    }
    let genesis = std::fs::read_to_string(dir.join("genesis.toml")).unwrap();
    assert_eq!(genesis.matches("role = \"api\"").count(), 2, "{genesis}");
    assert_eq!(genesis.matches("role = \"validator\"").count(), 2);

    // 16 transactions of 64 KiB through the two API nodes.
    let mut hashes = Vec::new();
    for i in 0..16u64 {
        let mut payload = vec![(i % 251) as u8; 64 << 10];
        payload[..8].copy_from_slice(&i.to_be_bytes());
        hashes.push(net.submit((i % 2) as usize, 1 + i % 2, &payload).await);
    }
    let mut top = 0;
    for hash in &hashes {
        let (h, _) = net.wait_final(1, hash).await;
        top = top.max(h);
    }
    for i in 0..n {
        net.wait_height(i, top).await;
    }

    // A validator-only node agrees on every header and serves it.
    for h in 1..=top {
        let (_, api) = net.get(0, &format!("/v1/headers/{h}")).await.unwrap();
        let (code, own) = net.get(3, &format!("/v1/headers/{h}")).await.unwrap();
        assert_eq!(code, 200);
        assert_eq!(own["hash"], api["hash"], "height {h}");
        assert_eq!(own["header_bytes"], api["header_bytes"]);
    }
    // It refuses data routes and submissions, pointing at the API nodes.
    let (code, v) = net.get(3, "/v1/namespaces/1/blocks/latest").await.unwrap();
    assert_eq!(code, 421, "{v}");
    assert_eq!(v["code"], "not_served");
    assert!(
        v["error"].as_str().unwrap().contains(&net.nodes[0].url),
        "{v}"
    );
    let r = net
        .http
        .post(format!("{}/v1/transactions?namespace=1", net.nodes[3].url))
        .header("content-type", "application/octet-stream")
        .body("refused")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 421);

    // The SDK, given a validator-only node first, moves on to an API node for data.
    let trust = Trust::from_genesis_toml(&genesis).expect("genesis parses");
    let sdk = Client::new(
        trust,
        vec![net.nodes[3].url.clone(), net.nodes[1].url.clone()],
        Options::default(),
    );
    let hash = sdk.submit(Namespace(9), b"through the sdk").await.unwrap();
    let final_tx = sdk
        .wait_final(hash, Duration::from_secs(60))
        .await
        .expect("final and verified through the API node");
    assert_eq!(&final_tx.payload[..], b"through the sdk");

    // Shares: the validator-only nodes received their own share of each block and nothing
    // more; the API nodes received the others' shares too, and reconstructed every block.
    for i in 2..n {
        let d = &status(&net, i).await["dispersal"];
        let (stored, received) = (
            d["share_bytes_stored"].as_u64().unwrap(),
            d["share_bytes_received"].as_u64().unwrap(),
        );
        let shares = d["shares_stored"].as_u64().unwrap();
        assert!(shares > 0);
        // Its own shares and their envelopes, plus at most a few shares of proposals that were
        // abandoned before it verified them (a loaded machine times views out); a node that
        // was pushed other validators' shares would receive twice what it stores or more.
        assert!(
            received <= stored + stored / 4 + 64 * shares,
            "node {i} received {received} share bytes for {stored} stored"
        );
        assert_eq!(d["blocks_reconstructed"], 0);
        // An API node is pushed 2 shares of each block (k - 1 + 1 spare) besides its own.
        let api = &status(&net, 0).await["dispersal"];
        let api_received = api["share_bytes_received"].as_u64().unwrap();
        assert!(
            2 * api_received > 3 * received,
            "API node 0 received {api_received} share bytes, validator-only node {i} {received}"
        );
        assert!(api["blocks_reconstructed"].as_u64().unwrap() > 0);
    }

    // Their mempools drain: the copies they were sent leave with the finalized blocks' manifests,
    // well before their 10 s time to live would drop them.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut pooled = 0;
        for i in 0..n {
            pooled += status(&net, i).await["mempool"]["txs"].as_u64().unwrap();
        }
        if pooled == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pooled} transactions still pooled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
