//! Heavy readers beside the load, on real processes: SSE subscribers and range readers
//! (`cortado bench --readers N --range-readers M`) on a 4-node network finalizing 1 MB/s of
//! 64 KiB transactions. No node stops, no reader is refused within the default limits, every
//! transaction is seen final, readers receive events, and each node's peak resident memory
//! stays under a bound.
//!
//! The default run is short (CI: 100 subscribers, 5 s). The slow profile is the issue's load,
//! 1,000 subscribers for 30 s:
//!
//! ```sh
//! CORTADO_READERS=1000 CORTADO_READERS_SECS=30 cargo test --release -p cortado --test readers -- --nocapture
//! ```
//!
//! Latency with and without readers is a benchmark, not a test: see docs/BENCHMARKS.md.

mod common;

use common::Net;
use serde_json::Value;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of process `pid` in bytes (`VmHWM` in /proc), if readable.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A node's peak resident memory bound: far above what 4 nodes at 1 MB/s use (~100-300 MiB),
/// far below what per-subscriber copies of blocks would take at 1,000 subscribers.
const PEAK_RSS_MAX: u64 = 1 << 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_readers_beside_the_load_stop_no_node() {
    let readers = env_or("CORTADO_READERS", 100);
    let secs = env_or("CORTADO_READERS_SECS", 5);
    let dir = std::env::temp_dir().join(format!("cortado-readers-{}", std::process::id()));
    let mut net = Net::start(&dir, 4);
    net.wait_height(0, 1).await;
    let urls: Vec<String> = net.nodes.iter().map(|n| n.url.clone()).collect();
    let out = dir.join("bench.json");
    let output = tokio::task::spawn_blocking({
        let (out, urls) = (out.clone(), urls.join(","));
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_cortado"))
                .args(["bench", "--url", &urls, "--mbps", "1", "--size", "65536"])
                .args(["--duration", &secs.to_string(), "--finality-timeout", "30"])
                .args(["--readers", &readers.to_string(), "--range-readers", "4"])
                .args(["--quiet", "--out"])
                .arg(&out)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    assert!(n(&report, "submitted") > 0, "{report}");
    assert_eq!(n(&report, "failed"), 0, "{report}");
    assert_eq!(n(&report, "timed_out"), 0, "{report}");
    let r = &report["readers"];
    assert_eq!(n(r, "subscribers"), readers);
    assert!(n(r, "streams_opened") >= readers, "{r}");
    assert!(
        n(r, "events") >= readers,
        "every subscriber got events: {r}"
    );
    assert!(n(r, "range_queries") > 0, "{r}");
    assert_eq!(r["refused_by_status"], serde_json::json!({}), "{r}");

    // Every node still answers and kept finalizing; memory stayed bounded.
    let heights: Vec<u64> = futures::future::join_all((0..4).map(|i| net.height(i)))
        .await
        .into_iter()
        .map(|h| h.expect("the node still answers"))
        .collect();
    let top = *heights.iter().max().unwrap();
    for i in 0..4 {
        net.wait_height(i, top).await;
        let pid = net.nodes[i].pid().expect("the node still runs");
        let peak = peak_rss(pid).expect("/proc is readable");
        eprintln!("node {i}: peak RSS {} MiB", peak >> 20);
        assert!(peak < PEAK_RSS_MAX, "node {i} peaked at {peak} bytes");
    }
    eprintln!("{r}");
}
