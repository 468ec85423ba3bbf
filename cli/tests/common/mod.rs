//! Helpers for integration tests: real `cortado node` processes on 127.0.0.1.
#![allow(dead_code)]

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
pub fn free_port_range(count: u16) -> u16 {
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

pub struct Node {
    pub config: PathBuf,
    pub url: String,
    /// Extra arguments of `cortado node` at the next start.
    pub args: Vec<String>,
    child: Option<Child>,
}

impl Node {
    pub fn start(&mut self) {
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
            .args(&self.args)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start node");
        self.child = Some(child);
    }

    /// The process id, while the node runs (it has not exited).
    pub fn pid(&mut self) -> Option<u32> {
        let child = self.child.as_mut()?;
        matches!(child.try_wait(), Ok(None)).then(|| child.id())
    }

    /// Waits up to `timeout` for the node to exit by itself; its exit status, or `None` if it
    /// still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn sigkill(&mut self) {
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

pub struct Net {
    pub nodes: Vec<Node>,
    pub http: reqwest::Client,
    pub dir: PathBuf,
}

impl Net {
    pub fn start(dir: &Path, n: u16) -> Self {
        Self::start_with(dir, n, &[])
    }

    /// [`Self::start`] with more `cortado genesis` arguments.
    pub fn start_with(dir: &Path, n: u16, genesis_args: &[&str]) -> Self {
        let _ = std::fs::remove_dir_all(dir);
        let base = free_port_range(2 * n);
        let out = Command::new(CORTADO)
            .args(["genesis", "--validators", &n.to_string(), "--out"])
            .arg(dir)
            .args(genesis_args)
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
                args: Vec::new(),
                child: None,
            })
            .collect();
        for node in &mut nodes {
            node.start();
        }
        Self {
            nodes,
            http: reqwest::Client::new(),
            dir: dir.to_path_buf(),
        }
    }

    /// Starts one `cortado node` per `(node file, API URL)` (files written by something else,
    /// such as `cortado ceremony`).
    pub fn from_node_files(dir: &Path, files: Vec<(PathBuf, String)>) -> Self {
        let mut nodes: Vec<Node> = files
            .into_iter()
            .map(|(config, url)| Node {
                config,
                url,
                args: Vec::new(),
                child: None,
            })
            .collect();
        for node in &mut nodes {
            node.start();
        }
        Self {
            nodes,
            http: reqwest::Client::new(),
            dir: dir.to_path_buf(),
        }
    }

    pub async fn get(&self, node: usize, path: &str) -> Option<(u16, Value)> {
        let r = self
            .http
            .get(format!("{}{path}", self.nodes[node].url))
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.json().await.ok()?))
    }

    pub async fn height(&self, node: usize) -> Option<u64> {
        let (_, v) = self.get(node, "/v1/status").await?;
        v["height"].as_u64()
    }

    /// Waits (bounded) until `node` reports a finalized height ≥ `target`.
    pub async fn wait_height(&self, node: usize, target: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if self.height(node).await.is_some_and(|h| h >= target) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {node} did not reach height {target}");
    }

    pub async fn submit(&self, node: usize, ns: u64, payload: &[u8]) -> String {
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
    pub async fn wait_final(&self, node: usize, hash: &str) -> (u64, u64) {
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

/// Every thread of process `pid`: its name and nice value (Linux `/proc`), the main thread
/// first.
pub fn threads(pid: u32) -> Vec<(String, i32)> {
    let mut tids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect();
    tids.sort_by_key(|tid| (*tid != pid, *tid));
    tids.iter()
        .filter_map(|tid| {
            let dir = format!("/proc/{pid}/task/{tid}");
            let name = std::fs::read_to_string(format!("{dir}/comm")).ok()?;
            let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
            // Fields after the parenthesised name start at the 3rd; nice is the 19th.
            let after = &stat[stat.rfind(')')? + 2..];
            let nice = after.split(' ').nth(19 - 3)?.parse().ok()?;
            Some((name.trim().to_string(), nice))
        })
        .collect()
}
