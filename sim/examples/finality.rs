//! Simulated finality latency: proposal timestamp → block finalized and delivered at each
//! validator, in simulated time, on links of fixed one-way latency (1 ms jitter).
//!
//! `cargo run --release -p cortado-sim --example finality -- [validators] [latency_ms] [blocks] [seed]`
//! (defaults: 4 50 200 1). Prints p50/p90/p99 and the 3δ floor of simplex (δ = link latency).

use commonware_runtime::{Runner, deterministic};
use cortado_sim::{Cluster, link};
use std::time::Duration;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are integers"))
        .collect();
    let n = *args.first().unwrap_or(&4) as u32;
    let delta = *args.get(1).unwrap_or(&50);
    let blocks = *args.get(2).unwrap_or(&200);
    let seed = *args.get(3).unwrap_or(&1);
    let cfg = deterministic::Config::default()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(3_600)));
    let mut latencies = deterministic::Runner::new(cfg).start(|context| async move {
        let cluster = Cluster::start(context, n, link(delta)).await;
        cluster.spawn_load(u64::MAX, 5, 5, Duration::from_millis(50));
        assert!(
            cluster
                .wait_for_height(blocks, Duration::from_secs(blocks * 10))
                .await
        );
        cluster.assert_consistent();
        cluster
            .validators
            .iter()
            .flat_map(|v| v.recorder.latencies())
            .filter(|(h, _)| *h > 0)
            .map(|(_, l)| l)
            .collect::<Vec<u64>>()
    });
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    println!(
        "validators={n} delta={delta}ms blocks={blocks} seed={seed} samples={}",
        latencies.len()
    );
    println!(
        "finality (proposal -> delivered): p50={} ms p90={} ms p99={} ms max={} ms; floor 3*delta = {} ms",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        latencies[latencies.len() - 1],
        3 * delta
    );
}
