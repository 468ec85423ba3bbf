//! Catch-up on real processes: an API node SIGKILLed under load misses several hundred blocks,
//! is restarted, reaches the tip, and serves every block it missed with valid proofs (checked
//! by the SDK against the genesis file alone), including every transaction acknowledged while
//! it was down.

mod common;

use common::Net;
use cortado_client::{
    Trust,
    sdk::{Client, NamespaceContent, Options},
};
use cortado_types::{Namespace, Transaction};
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const NS: Namespace = Namespace(12);
/// Blocks the killed node misses.
const MISSED: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_node_killed_for_hundreds_of_blocks_rejoins_and_serves_them() {
    let dir = std::env::temp_dir().join(format!("cortado-catchup-{}", std::process::id()));
    let mut net = Net::start(&dir, 4);
    net.wait_height(1, 3).await;
    let genesis = std::fs::read_to_string(dir.join("genesis.toml")).unwrap();
    let trust = Trust::from_genesis_toml(&genesis).expect("genesis parses");

    // Load through the nodes that stay up: 4 KiB every 20 ms, acknowledged hashes kept.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let submitter = {
        let client = Client::new(
            trust.clone(),
            vec![net.nodes[0].url.clone(), net.nodes[2].url.clone()],
            Options::default(),
        );
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            for i in 0u64..100_000 {
                let mut payload = vec![0u8; 4096];
                payload[..8].copy_from_slice(&i.to_be_bytes());
                if let Ok(hash) = client.submit(NS, &payload).await {
                    acknowledged.lock().unwrap().push(hash);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    net.nodes[1].sigkill();
    let killed = Instant::now();
    let killed_at = net.height(0).await.unwrap();
    let deadline = killed + Duration::from_secs(180);
    while net.height(0).await.unwrap_or(0) < killed_at + MISSED {
        assert!(
            Instant::now() < deadline,
            "the network stalled with one node down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let live_rate = MISSED as f64 / killed.elapsed().as_secs_f64();

    net.nodes[1].start();
    let restarted = Instant::now();
    let tip = net.height(0).await.unwrap();
    // Bounded wait; the time taken is reported, not asserted (no timing assertions).
    let deadline = restarted + Duration::from_secs(180);
    let mut saw_syncing = false;
    loop {
        if let Some((200, status)) = net.get(1, "/v1/status").await {
            saw_syncing |= status["sync"]["state"] == "syncing";
            if status["height"].as_u64().is_some_and(|h| h >= tip) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "node 1 did not reach the tip it restarted behind"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = restarted.elapsed();
    println!(
        "node 1 missed {} blocks; reached the tip {took:?} after restarting ({:.0} blocks/s incl. start-up; chain {live_rate:.1} blocks/s); reported syncing: {saw_syncing}",
        tip - killed_at,
        (tip - killed_at) as f64 / took.as_secs_f64()
    );
    submitter.abort();

    // Every height it missed, proven by node 1 alone: inclusion or absence of the namespace,
    // and every transaction acknowledged meanwhile is among the blocks it serves.
    let only_node_1 = Client::new(trust, vec![net.nodes[1].url.clone()], Options::default());
    let range = only_node_1
        .namespace_range(NS, killed_at.max(1), tip)
        .await
        .expect("node 1 serves every block it missed, with valid proofs");
    assert_eq!(range.len() as u64, tip - killed_at.max(1) + 1);
    let mut served = BTreeSet::new();
    for block in &range {
        if let NamespaceContent::Transactions(txs) = &block.content {
            served.extend(txs.iter().map(|p| Transaction::hash_parts(NS, p)));
        }
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 100, "the load ran");
    let mut checked = 0;
    for hash in &acknowledged {
        // Those finalized by the tip node 1 was asked to reach.
        let final_on_0 = net.get(0, &format!("/v1/transactions/{hash}")).await;
        let Some((200, v)) = final_on_0 else { continue };
        let Some(height) = v["height"].as_u64() else {
            continue;
        };
        if height < killed_at.max(1) || height > tip {
            continue;
        }
        assert!(
            served.contains(hash),
            "node 1 lacks {hash} (height {height})"
        );
        checked += 1;
    }
    assert!(
        checked > 100,
        "only {checked} acknowledged transactions fell in the gap"
    );

    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
