//! A light client follows a live 4-node network (real processes) through the SDK, trusting only
//! the genesis file: it verifies every block of a namespace it is streamed, survives the node it
//! reads from being killed by moving to another, and what it received is exactly what the chain
//! holds (checked height by height, with absence proofs, afterwards).

mod common;

use common::Net;
use cortado_client::{
    Trust,
    sdk::{Client, NamespaceContent, Options},
};
use cortado_types::Namespace;
use futures::StreamExt;
use std::{collections::BTreeSet, time::Duration};

const NS: Namespace = Namespace(77);
/// Blocks to follow.
const BLOCKS: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_client_follows_verifies_and_fails_over() {
    let dir = std::env::temp_dir().join(format!("cortado-light-{}", std::process::id()));
    let mut net = Net::start(&dir, 4);
    net.wait_height(0, 1).await;
    let genesis = std::fs::read_to_string(dir.join("genesis.toml")).unwrap();
    let trust = Trust::from_genesis_toml(&genesis).expect("genesis parses");
    let urls: Vec<String> = net.nodes.iter().map(|n| n.url.clone()).collect();
    let client = Client::new(trust, urls, Options::default());

    // A steady trickle of transactions into the namespace, through nodes 1..3 (node 0 dies).
    let submitter = {
        let client = Client::new(
            client.trust(),
            net.nodes[1..].iter().map(|n| n.url.clone()).collect(),
            Options::default(),
        );
        tokio::spawn(async move {
            let mut sent = Vec::new();
            for i in 0u64.. {
                match client.submit(NS, format!("tx-{i}").as_bytes()).await {
                    Ok(hash) => sent.push(hash),
                    Err(e) => panic!("submit {i}: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
                if i >= 10_000 {
                    break;
                }
            }
            sent
        })
    };

    // The SDK's own wait_final verifies a transaction's inclusion proof from one answer.
    let hash = client.submit(NS, b"first").await.unwrap();
    let first = client
        .wait_final(hash, Duration::from_secs(60))
        .await
        .expect("first transaction final and verified");
    assert_eq!(&first.payload[..], b"first");
    assert_eq!(first.header.height, first.height);

    // `cortado verify` checks a saved answer offline against the genesis file, and refuses a
    // tampered one. (Node 1 may index the block a moment after the node the SDK asked.)
    net.wait_final(1, &hash.to_string()).await;
    let (status, saved) = net
        .get(1, &format!("/v1/transactions/{hash}"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let good = dir.join("tx.json");
    std::fs::write(&good, saved.to_string()).unwrap();
    let mut tampered = saved.clone();
    let txs = tampered["namespace_transactions"].as_array_mut().unwrap();
    let position = saved["position"].as_u64().unwrap() as usize;
    txs[position]["payload"] = serde_json::Value::String("Zmlyc3Q=".into()); // "first"
    txs.push(serde_json::json!({"index": 0, "hash": "00", "payload": "eA=="}));
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, tampered.to_string()).unwrap();
    let verify = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cortado"))
            .args(["verify", "--genesis"])
            .arg(dir.join("genesis.toml"))
            .arg(file)
            .output()
            .unwrap()
    };
    let ok = verify(&good);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}");
    assert!(out.contains("OK: transaction"), "{out}");
    let refused = verify(&bad);
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success(), "{out}");
    assert!(
        out.contains("FAILED") && out.contains("does not verify"),
        "{out}"
    );

    let from = first.height;
    let mut stream = Box::pin(client.stream_namespace(NS, from));
    let mut heights = Vec::new();
    let mut killed = false;
    while heights.last().is_none_or(|h| *h < from + BLOCKS) {
        let block = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("a block within 60 s")
            .expect("the stream goes on")
            .unwrap_or_else(|e| panic!("stream error: {e}"));
        assert_eq!(block.namespace, NS);
        assert!(
            matches!(block.content, NamespaceContent::Transactions(ref t) if !t.is_empty()),
            "a streamed block holds the namespace"
        );
        heights.push(block.height);
        if !killed && block.height >= from + BLOCKS / 2 {
            // Kill the node the client reads from (node 0, its first URL).
            net.nodes[0].sigkill();
            killed = true;
        }
    }
    assert!(killed);
    assert!(
        heights.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing heights: no duplicate ({heights:?})"
    );
    let last = *heights.last().unwrap();
    submitter.abort();

    // Every height from `from` to `last`, proven (inclusion or absence) from the surviving
    // nodes: the stream yielded exactly the blocks that hold the namespace.
    let range = client.namespace_range(NS, from, last).await.unwrap();
    assert_eq!(range.len() as u64, last - from + 1);
    let holding: BTreeSet<u64> = range
        .iter()
        .filter(|b| matches!(b.content, NamespaceContent::Transactions(_)))
        .map(|b| b.height)
        .collect();
    let streamed: BTreeSet<u64> = heights.iter().copied().collect();
    assert_eq!(streamed, holding, "no gap: the stream missed no block");
    // The light client moved forward through verified headers only.
    assert!(client.latest().is_some_and(|h| h.height >= last));

    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
