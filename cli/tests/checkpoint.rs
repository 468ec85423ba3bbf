//! Joining from a checkpoint on real processes: a validator's data directory is wiped on a
//! running chain and the node restarted with `--checkpoint latest`. It fetches a certified recent
//! header from another API node, serves the tip, proves new transactions to the SDK on its own,
//! and answers `404 not_held` for every height below the checkpoint.

mod common;

use common::Net;
use cortado_client::{
    Trust,
    sdk::{Client, Options},
};
use cortado_types::Namespace;
use std::time::{Duration, Instant};

const NS: Namespace = Namespace(21);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_from_a_checkpoint_serves_the_tip_and_not_below() {
    let dir = std::env::temp_dir().join(format!("cortado-checkpoint-{}", std::process::id()));
    let mut net = Net::start(&dir, 4);
    net.wait_height(0, 3).await;
    let genesis = std::fs::read_to_string(dir.join("genesis.toml")).unwrap();
    let trust = Trust::from_genesis_toml(&genesis).expect("genesis parses");
    for i in 0..20u8 {
        net.submit(0, NS.get(), &[i; 100]).await;
    }
    net.wait_height(0, 60).await;

    // A fresh data directory for node 3, started from a checkpoint.
    net.nodes[3].sigkill();
    std::fs::remove_dir_all(dir.join("node-3").join("data")).unwrap();
    let before = net.height(0).await.unwrap();
    net.nodes[3].args = vec!["--checkpoint".into(), "latest".into()];
    net.nodes[3].start();
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(120);
    loop {
        if net.height(3).await.is_some_and(|h| h >= before) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node started from a checkpoint did not reach height {before}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "node 3 (empty data directory, --checkpoint latest) served height {before} {:?} after it started",
        restarted.elapsed()
    );

    // Below the checkpoint: not_held, naming the checkpoint.
    let (status, body) = net.get(3, "/v1/headers/1").await.unwrap();
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "not_held", "{body}");
    let message = body["error"].as_str().unwrap();
    let at = message
        .split("checkpoint at height ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|h| h.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no checkpoint height in {message:?}"));
    assert!(
        at >= 60,
        "checkpoint {at} is not recent (the chain was at {before})"
    );
    assert_eq!(
        net.get(3, &format!("/v1/headers/{at}")).await.unwrap().0,
        200
    );
    for path in [
        format!("/v1/headers/{}", at - 1),
        format!("/v1/blocks/{}", at - 1),
        format!("/v1/namespaces/{}/blocks/2", NS.get()),
    ] {
        let (status, body) = net.get(3, &path).await.unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_held")),
            "{path}: {body}"
        );
    }

    // New data, proven by node 3 alone; and everything from the checkpoint to its tip.
    let only_3 = Client::new(trust, vec![net.nodes[3].url.clone()], Options::default());
    let hash = net.submit(0, NS.get(), b"after the checkpoint").await;
    let hash = hash.parse().unwrap();
    let final_tx = only_3
        .wait_final(hash, Duration::from_secs(60))
        .await
        .expect("node 3 proves a transaction finalized after its checkpoint");
    assert!(final_tx.height > at);
    let range = only_3
        .namespace_range(NS, at, final_tx.height)
        .await
        .expect("node 3 proves every height from its checkpoint on");
    assert_eq!(range.len() as u64, final_tx.height - at + 1);

    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
