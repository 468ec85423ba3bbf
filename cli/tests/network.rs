//! Integration: real `cortado node` processes on 127.0.0.1 talking over TCP.
//!
//! Starts 4 nodes from `cortado genesis` configs, submits 200 transactions over 5 namespaces to
//! different nodes, reads each back as finalized from another node, checks every node reports
//! the same location for every transaction, sends bad input and checks the node keeps serving,
//! then SIGKILLs one node, keeps submitting, restarts it and checks it serves every block.

mod common;

use common::Net;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_finalize_serve_and_survive_sigkill() {
    let dir = std::env::temp_dir().join(format!("cortado-it-{}", std::process::id()));
    let mut net = Net::start(&dir, 4);
    for i in 0..4 {
        net.wait_height(i, 1).await;
    }

    // 200 transactions over 5 namespaces, each to a different node than it is read from.
    let mut sent = Vec::new();
    for i in 0..200u64 {
        let ns = 40 + i % 5;
        let payload = format!("tx-{i}");
        let node = (i % 4) as usize;
        let hash = net.submit(node, ns, payload.as_bytes()).await;
        sent.push((hash, ns, payload));
    }
    let mut located = Vec::new();
    for (i, (hash, _, _)) in sent.iter().enumerate() {
        located.push(net.wait_final((i + 1) % 4, hash).await);
    }
    // Every node agrees on where every transaction is.
    let top = located.iter().map(|(h, _)| *h).max().unwrap();
    for node in 0..4 {
        net.wait_height(node, top).await;
        for ((hash, _, _), loc) in sent.iter().zip(located.iter()) {
            let (status, v) = net
                .get(node, &format!("/v1/transactions/{hash}"))
                .await
                .unwrap();
            assert_eq!(status, 200);
            assert_eq!(
                (v["height"].as_u64().unwrap(), v["index"].as_u64().unwrap()),
                *loc
            );
        }
    }
    // Each namespace's block lists exactly that namespace's transactions, in block order.
    for ((hash, ns, payload), (height, _)) in sent.iter().zip(located.iter()).take(20) {
        let (status, v) = net
            .get(2, &format!("/v1/namespaces/{ns}/blocks/{height}"))
            .await
            .unwrap();
        assert_eq!(status, 200);
        let txs = v["transactions"].as_array().unwrap();
        let expected: Vec<_> = sent
            .iter()
            .zip(located.iter())
            .filter(|((_, n, _), (h, _))| n == ns && h == height)
            .map(|((h, _, _), (_, idx))| (h.clone(), *idx))
            .collect();
        let mut expected = expected;
        expected.sort_by_key(|(_, idx)| *idx);
        let got: Vec<_> = txs
            .iter()
            .map(|t| {
                (
                    t["hash"].as_str().unwrap().to_string(),
                    t["index"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "namespace {ns} at height {height}");
        assert!(txs.iter().any(|t| t["hash"] == *hash.as_str()));
        let _ = payload;
    }

    // Bad input gets a JSON error and the node keeps working.
    let bad = net
        .http
        .post(format!("{}/v1/transactions", net.nodes[0].url))
        .header("content-type", "application/json")
        .body("{\"namespace\": 1, \"payload\": \"***\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let v: Value = bad.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("base64"), "{v}");
    let (status, v) = net.get(0, "/v1/transactions/nothex").await.unwrap();
    assert_eq!((status, v["code"].as_str().unwrap()), (400, "invalid_hash"));
    let (status, _) = net.get(0, "/v1/blocks/999999999").await.unwrap();
    assert_eq!(status, 404);
    net.submit(0, 1, b"still alive").await;

    // Prometheus metrics: consensus, finality, p2p bytes per channel, API requests.
    let metrics = net
        .http
        .get(format!("{}/metrics", net.nodes[1].url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
    };
    assert!(value("chain_finalizer_finalized_height ") >= 1.0);
    assert!(value("chain_finalizer_finality_latency_seconds_count ") >= 1.0);
    assert!(value("p2p_sent_bytes_total{channel=\"votes\"}") > 0.0);
    assert!(value("p2p_received_bytes_total{channel=\"shares\"}") > 0.0);
    assert!(value("mempool_bytes") >= 0.0);
    assert!(metrics.contains("api_requests_total{route=\"/v1/status\""));

    // The API runs on threads of its own at nice +10, its SQLite readers too; consensus, the
    // index writer and the main thread keep the node's priority.
    let threads = common::threads(net.nodes[0].pid().unwrap());
    let base = threads[0].1;
    let lowered = (base + 10).min(19);
    let named = |prefix: &str| -> Vec<i32> {
        threads
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, nice)| *nice)
            .collect()
    };
    let api = named("cortado-api");
    assert!(api.len() >= 2, "{threads:?}");
    assert!(api.iter().all(|n| *n == lowered), "{threads:?}");
    let readers = named("own-sqlite-");
    assert!(!readers.is_empty(), "{threads:?}");
    assert!(readers.iter().all(|n| *n == lowered), "{threads:?}");
    let writers = named("sqlx-sqlite-wor");
    assert!(writers.contains(&base), "{threads:?}");
    let node_runtime = named("tokio-rt-worker");
    assert!(!node_runtime.is_empty(), "{threads:?}");
    assert!(node_runtime.iter().all(|n| *n == base), "{threads:?}");

    // SIGKILL node 3, keep going without it, restart it: it serves every block.
    net.nodes[3].sigkill();
    let mut later = Vec::new();
    for i in 0..50u64 {
        let hash = net
            .submit((i % 3) as usize, 45, format!("after-{i}").as_bytes())
            .await;
        later.push(hash);
    }
    for hash in &later {
        net.wait_final(1, hash).await;
    }
    let target = net.height(0).await.unwrap();
    net.nodes[3].start();
    net.wait_height(3, target).await;
    for height in 1..=target {
        let (s0, a) = net.get(0, &format!("/v1/headers/{height}")).await.unwrap();
        let (s3, b) = net.get(3, &format!("/v1/headers/{height}")).await.unwrap();
        assert_eq!((s0, s3), (200, 200), "height {height}");
        assert_eq!(a["hash"], b["hash"], "node 3 disagrees at height {height}");
    }
    for hash in later.iter().chain(sent.iter().map(|(h, _, _)| h)) {
        net.wait_final(3, hash).await;
    }
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
