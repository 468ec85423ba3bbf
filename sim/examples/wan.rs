//! Simulated-WAN finality: `n` full Cortado validators (consensus, dispersal, mempool) placed
//! round-robin in 10 AWS regions with published inter-region latencies (see `cortado_sim::wan`),
//! on the deterministic runtime. Reports proposal → finalized-and-reconstructed latency at every
//! validator, in simulated time, next to the simplex floor computed from the same matrix and the
//! same leaders.
//!
//! `cargo run --release -p cortado-sim --example wan -- [validators] [blocks] [seed]`
//! (defaults: 50 60 1).

use commonware_runtime::{Runner, deterministic};
use cortado_sim::{Cluster, link, wan};
use rand::{SeedableRng, rngs::StdRng};
use std::time::Duration;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are integers"))
        .collect();
    let n = *args.first().unwrap_or(&50) as usize;
    let blocks = *args.get(1).unwrap_or(&60);
    let seed = *args.get(2).unwrap_or(&1);
    let cfg = deterministic::Config::default()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(36_000)));
    let (mut measured, mut floors) = deterministic::Runner::new(cfg).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cluster = Cluster::prepare(context, &mut rng, n as u32, link(1), None).await;
        cluster.set_links(|i, j| Some(wan::link(i, j))).await;
        cluster.start_all().await;
        cluster.spawn_load(u64::MAX, 4, 8, Duration::from_millis(100));
        assert!(
            cluster
                .wait_for_height(blocks, Duration::from_secs(blocks * 20))
                .await,
            "did not finalize {blocks} blocks"
        );
        cluster.assert_consistent();
        measure(&cluster, n)
    });
    println!(
        "validators={n} regions=10 blocks={blocks} seed={seed} samples={}",
        measured.len()
    );
    let (p50, p99) = (pct(&mut measured, 0.5), pct(&mut measured, 0.99));
    let (f50, f99) = (pct(&mut floors, 0.5), pct(&mut floors, 0.99));
    println!("finality (proposal -> finalized + reconstructed): p50={p50:.0} ms p99={p99:.0} ms");
    println!("simplex floor (same matrix and leaders):         p50={f50:.0} ms p99={f99:.0} ms");
    println!("ratio p50 / floor p50 = {:.2}", p50 / f50);
}

/// Per (block, validator): measured latency and the floor for that block's leader.
fn measure(cluster: &Cluster, n: usize) -> (Vec<f64>, Vec<f64>) {
    let keys: Vec<[u8; 32]> = cluster
        .validators
        .iter()
        .map(|v| {
            commonware_codec::Encode::encode(&v.public_key)
                .as_ref()
                .try_into()
                .expect("32-byte key")
        })
        .collect();
    let (mut measured, mut floors) = (Vec::new(), Vec::new());
    for (j, v) in cluster.validators.iter().enumerate() {
        for (height, latency) in v.recorder.latencies() {
            // Skip the start-up blocks.
            if height < 5 {
                continue;
            }
            let block = v.recorder.block(height).expect("recorded");
            let Some(leader) = keys.iter().position(|k| *k == block.header().leader) else {
                continue;
            };
            measured.push(latency as f64);
            floors.push(wan::floor_ms(n, leader)[j]);
        }
    }
    (measured, floors)
}
