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
        .get(1, &format!("/v1/transactions/{hash}?full=true"))
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
    every_field_is_bound(&net, &dir, &saved, first.height).await;
    sdk_refuses_an_unbound_index(&client, &saved).await;

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

/// Runs `cortado verify` on each `(name, answer)`; returns its output lines by name.
fn verify_files(dir: &std::path::Path, answers: &[(String, serde_json::Value)]) -> Vec<String> {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cortado"));
    command
        .args(["verify", "--genesis"])
        .arg(dir.join("genesis.toml"));
    for (name, answer) in answers {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, answer.to_string()).unwrap();
        command.arg(path);
    }
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    answers
        .iter()
        .map(|(name, _)| {
            text.lines()
                .find(|l| l.contains(&format!("{name}.json: ")))
                .unwrap_or_else(|| panic!("no line for {name}: {text}"))
                .to_string()
        })
        .collect()
}

/// Issue 14: `cortado verify` accepts each kind of answer as served, and refuses every field
/// the proofs do not bind or that contradicts them, naming it (before, a changed `block_hash`,
/// `status: "pending"`, a wrong `namespace_transactions[].hash`, the top-level `hash` or
/// `height` of a header answer and a transaction attached to an absent answer were accepted).
async fn every_field_is_bound(
    net: &Net,
    dir: &std::path::Path,
    tx: &serde_json::Value,
    height: u64,
) {
    use serde_json::{Value, json};
    let get = |path: String| async move {
        let (status, json) = net.get(1, &path).await.unwrap();
        assert_eq!(status, 200, "{path}: {json}");
        json
    };
    let header = get(format!("/v1/headers/{height}")).await;
    let compact = get(format!("/v1/transactions/{}", tx["hash"].as_str().unwrap())).await;
    assert!(compact.get("namespace_transactions").is_none(), "{compact}");
    let valid = get(format!("/v1/namespaces/{}/blocks/{height}", NS.get())).await;
    let absent = get(format!("/v1/namespaces/999999/blocks/{height}")).await;
    let history = get(format!(
        "/v1/headers/{}/proof?against=latest",
        height.saturating_sub(1)
    ))
    .await;
    let good: Vec<(String, Value)> = [
        ("good-tx", tx),
        ("good-tx-compact", &compact),
        ("good-header", &header),
        ("good-valid", &valid),
        ("good-absent", &absent),
        ("good-history", &history),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v.clone()))
    .collect();
    for line in verify_files(dir, &good) {
        assert!(line.contains(": OK: "), "{line}");
    }
    type Tamper = fn(&mut Value);
    let cases: Vec<(&str, &Value, Tamper, &str)> = vec![
        (
            "tx-block-hash",
            tx,
            |v| v["block_hash"] = json!("00".repeat(32)),
            "`block_hash`",
        ),
        (
            "tx-pending",
            tx,
            |v| v["status"] = json!("pending"),
            "`status`",
        ),
        (
            "tx-index",
            tx,
            |v| v["index"] = json!(v["index"].as_u64().unwrap() + 1),
            "`index`",
        ),
        (
            "tx-height",
            tx,
            |v| v["height"] = json!(v["height"].as_u64().unwrap() + 1),
            "height",
        ),
        (
            "tx-member-hash",
            tx,
            |v| v["namespace_transactions"][0]["hash"] = json!("11".repeat(32)),
            "`namespace_transactions[0].hash`",
        ),
        (
            "compact-payload",
            &compact,
            |v| v["payload"] = json!("bm90IGZpcnN0"), // "not first"
            "`payload` is not transaction",
        ),
        (
            "compact-path",
            &compact,
            |v| {
                let proof = &mut v["transaction_proof"];
                proof["bytes"] = json!(format!("{}00", proof["bytes"].as_str().unwrap()));
            },
            "transaction proof does not decode",
        ),
        (
            "compact-count",
            &compact,
            |v| v["transaction_proof"]["count"] = json!(99),
            "`transaction_proof.count`",
        ),
        (
            "compact-position",
            &compact,
            |v| v["position"] = json!(v["position"].as_u64().unwrap() + 1),
            "`position`",
        ),
        (
            "tx-extra",
            tx,
            |v| v["note"] = json!("trust me"),
            "`note` is not bound",
        ),
        (
            "header-hash",
            &header,
            |v| v["hash"] = json!("22".repeat(32)),
            "`hash`",
        ),
        (
            "header-height",
            &header,
            |v| v["height"] = json!(7),
            "`height`",
        ),
        (
            "header-time",
            &header,
            |v| v["header"]["timestamp_ms"] = json!(1),
            "`header.timestamp_ms`",
        ),
        (
            "absent-with-tx",
            &absent,
            |v| {
                v["transactions"] =
                    json!([{"index": 0, "hash": "33".repeat(32), "payload": "eA=="}])
            },
            "`transactions` holds 1 items",
        ),
        (
            "valid-index",
            &valid,
            |v| v["transactions"][0]["index"] = json!(4_000_000),
            "`transactions[0].index`",
        ),
        (
            "history-against",
            &history,
            |v| v["against"] = json!(1),
            "`against`",
        ),
    ];
    let answers: Vec<(String, Value)> = cases
        .iter()
        .map(|(name, answer, tamper, _)| {
            let mut answer = (*answer).clone();
            tamper(&mut answer);
            (name.to_string(), answer)
        })
        .collect();
    for ((name, _, _, needle), line) in cases.iter().zip(verify_files(dir, &answers)) {
        assert!(
            line.contains(": FAILED: ") && line.contains(needle),
            "{name}: expected a refusal naming {needle}: {line}"
        );
    }
}

/// The SDK derives a transaction's index from the header and compares the node's: a node
/// (here a one-answer HTTP server on 127.0.0.1) that serves a proven transaction with a wrong
/// `index` is refused, naming the field.
async fn sdk_refuses_an_unbound_index(client: &Client, saved: &serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut lying = saved.clone();
    lying["index"] = serde_json::json!(saved["index"].as_u64().unwrap() + 1);
    let body = lying.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        // Bounded: a few requests at most (the SDK may retry).
        for _ in 0..8 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let _ = stream.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    let liar = Client::new(client.trust(), vec![url], Options::default());
    let hash: cortado_types::Hash = saved["hash"].as_str().unwrap().parse().unwrap();
    let err = liar
        .wait_final(hash, Duration::from_secs(10))
        .await
        .expect_err("a wrong index is refused");
    assert!(err.to_string().contains("`index`"), "{err}");
    server.abort();
}
