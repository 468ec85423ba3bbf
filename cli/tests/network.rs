//! Integration: real `cortado node` processes on 127.0.0.1 talking over TCP.
//!
//! Starts 4 nodes from `cortado genesis` configs, submits 200 transactions over 5 namespaces to
//! different nodes, reads each back as finalized from another node, checks every node reports
//! the same location for every transaction, sends bad input and checks the node keeps serving,
//! then SIGKILLs one node, keeps submitting, restarts it and checks it serves every block.

use serde_json::{Value, json};
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const CORTADO: &str = env!("CARGO_BIN_EXE_cortado");
/// Nodes stop by themselves after this long even if the test dies without cleaning up.
const NODE_LIFETIME_SECS: u64 = 600;

/// A base port such that `base..base+count` are all free now.
fn free_port_range(count: u16) -> u16 {
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        let base = 20_000 + (seed.wrapping_mul(31).wrapping_add(attempt * 97)) % 30_000;
        let all_free = (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no free port range");
}

struct Node {
    config: PathBuf,
    url: String,
    child: Option<Child>,
}

impl Node {
    fn start(&mut self) {
        assert!(self.child.is_none());
        let dir = self.config.parent().unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .unwrap();
        let child = Command::new(CORTADO)
            .args(["node", "--config"])
            .arg(&self.config)
            .args(["--exit-after", &NODE_LIFETIME_SECS.to_string()])
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start node");
        self.child = Some(child);
    }

    fn sigkill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.sigkill();
    }
}

struct Net {
    nodes: Vec<Node>,
    http: reqwest::Client,
    _dir: PathBuf,
}

impl Net {
    fn start(dir: &Path, n: u16) -> Self {
        let _ = std::fs::remove_dir_all(dir);
        let base = free_port_range(2 * n);
        let out = Command::new(CORTADO)
            .args(["genesis", "--validators", &n.to_string(), "--out"])
            .arg(dir)
            .args(["--p2p-port", &base.to_string()])
            .args(["--api-port", &(base + n).to_string()])
            .args(["--seed", "7"])
            .output()
            .expect("run cortado genesis");
        assert!(out.status.success(), "genesis failed: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("trusted dealer"),
            "genesis must warn about the dealer"
        );
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                config: dir.join(format!("node-{i}")).join("node.toml"),
                url: format!("http://127.0.0.1:{}", base + n + i),
                child: None,
            })
            .collect();
        for node in &mut nodes {
            node.start();
        }
        Self {
            nodes,
            http: reqwest::Client::new(),
            _dir: dir.to_path_buf(),
        }
    }

    async fn get(&self, node: usize, path: &str) -> Option<(u16, Value)> {
        let r = self
            .http
            .get(format!("{}{path}", self.nodes[node].url))
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.json().await.ok()?))
    }

    async fn height(&self, node: usize) -> Option<u64> {
        let (_, v) = self.get(node, "/v1/status").await?;
        v["height"].as_u64()
    }

    /// Waits (bounded) until `node` reports a finalized height ≥ `target`.
    async fn wait_height(&self, node: usize, target: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if self.height(node).await.is_some_and(|h| h >= target) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {node} did not reach height {target}");
    }

    async fn submit(&self, node: usize, ns: u64, payload: &[u8]) -> String {
        use base64::Engine as _;
        let body = json!({
            "namespace": ns,
            "payload": base64::engine::general_purpose::STANDARD.encode(payload),
        });
        let r = self
            .http
            .post(format!("{}/v1/transactions", self.nodes[node].url))
            .json(&body)
            .send()
            .await
            .expect("submit");
        assert_eq!(r.status().as_u16(), 202);
        let v: Value = r.json().await.unwrap();
        v["hash"].as_str().unwrap().to_string()
    }

    /// Waits (bounded) until `hash` is finalized on `node`; returns (height, index).
    async fn wait_final(&self, node: usize, hash: &str) -> (u64, u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some((200, v)) = self.get(node, &format!("/v1/transactions/{hash}")).await
                && v["status"] == "finalized"
            {
                return (v["height"].as_u64().unwrap(), v["index"].as_u64().unwrap());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("transaction {hash} not finalized on node {node}");
    }
}

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
