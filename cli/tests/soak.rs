//! Kill -9 soak on real processes: under load, a random validator is SIGKILLed and restarted
//! every few seconds (one down at a time: f = 1 of 4); then the faults stop, and within a bounded
//! time every node is at the tip, all agree on every header, and every transaction any node
//! acknowledged is final on every node.
//!
//! The default run is short (CI). The long run (minutes of faults) is the same test with
//! `CORTADO_SOAK_SECS`:
//!
//! ```sh
//! CORTADO_SOAK_SECS=180 cargo test --release -p cortado --test soak -- --nocapture
//! ```

mod common;

use common::Net;
use cortado_client::{
    Trust,
    sdk::{Client, Options},
};
use cortado_types::{Hash, Namespace};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const N: usize = 4;
const NS: Namespace = Namespace(33);

fn soak_secs() -> u64 {
    std::env::var("CORTADO_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kill_9_under_load_then_everyone_converges() {
    let dir = std::env::temp_dir().join(format!("cortado-soak-{}", std::process::id()));
    let mut net = Net::start(&dir, N as u16);
    for i in 0..N {
        net.wait_height(i, 2).await;
    }
    let genesis = std::fs::read_to_string(dir.join("genesis.toml")).unwrap();
    let trust = Trust::from_genesis_toml(&genesis).expect("genesis parses");
    let urls: Vec<String> = net.nodes.iter().map(|n| n.url.clone()).collect();

    // Load: one submitter per node, each to its own node only (so a kill interrupts it), keeping
    // every hash its node acknowledged.
    let acknowledged: Arc<Mutex<Vec<Hash>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut submitters = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let client = Client::new(trust.clone(), vec![url.clone()], Options::default());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        submitters.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let payload = format!("soak-{i}-{n}");
                n += 1;
                if let Ok(hash) = client.submit(NS, payload.as_bytes()).await {
                    acknowledged.lock().unwrap().push(hash);
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }

    // Faults: kill a random node, restart it 1-4 s later, pause 1-3 s, repeat.
    let seed = std::env::var("CORTADO_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < Duration::from_secs(soak_secs()) {
        let victim = rng.random_range(0..N);
        net.nodes[victim].sigkill();
        kills += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(1_000..4_000))).await;
        net.nodes[victim].start();
        tokio::time::sleep(Duration::from_millis(rng.random_range(1_000..3_000))).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in submitters {
        let _ = s.await;
    }
    let faults_stopped = Instant::now();

    // Every node reaches the tip: the height node 0 had when the faults stopped, plus a margin.
    let mut target = 0;
    for i in 0..N {
        target = target.max(net.height(i).await.unwrap_or(0));
    }
    target += 10;
    for i in 0..N {
        net.wait_height(i, target).await;
    }
    let converged = faults_stopped.elapsed();

    // Every node agrees on every header up to the target.
    let mut chain: BTreeMap<u64, String> = BTreeMap::new();
    for i in 0..N {
        for h in 1..=target {
            let (status, v) = net
                .get(i, &format!("/v1/headers/{h}"))
                .await
                .unwrap_or_else(|| panic!("node {i} did not answer for header {h}"));
            assert_eq!(status, 200, "node {i} lacks header {h}");
            let bytes = v["header_bytes"].as_str().unwrap().to_string();
            match chain.get(&h) {
                Some(prev) => assert_eq!(prev, &bytes, "node {i} disagrees at height {h}"),
                None => {
                    chain.insert(h, bytes);
                }
            }
        }
    }

    // Every acknowledged transaction is final on every node: each node's blocks of the
    // namespace, read height by height, hold them all.
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "the load ran ({})",
        acknowledged.len()
    );
    for i in 0..N {
        let mut final_here = std::collections::HashSet::new();
        for h in 1..=target {
            let (status, v) = net
                .get(i, &format!("/v1/namespaces/{}/blocks/{h}", NS.get()))
                .await
                .unwrap_or_else(|| panic!("node {i} did not answer for height {h}"));
            assert_eq!(status, 200, "node {i} at height {h}: {v}");
            for tx in v["transactions"].as_array().into_iter().flatten() {
                final_here.insert(tx["hash"].as_str().unwrap().to_string());
            }
        }
        for hash in &acknowledged {
            assert!(
                final_here.contains(&hash.to_string()),
                "acknowledged transaction {hash} is not final on node {i} by height {target}"
            );
        }
    }
    println!(
        "{kills} kills in {:?}; {} acknowledged transactions; all {N} nodes at height {target} {converged:?} after the faults stopped; every header agreed, every transaction final everywhere",
        Duration::from_secs(soak_secs()),
        acknowledged.len()
    );
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
