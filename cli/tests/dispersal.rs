//! Integration: 7 real `cortado node` processes (f = 2, k = 3). Megabyte blocks are finalized,
//! every validator stores about payload/k of them (shares, not blocks), and what the API serves
//! verifies offline against the header, the namespace proof and the finality certificate.

mod common;

use common::Net;
use commonware_codec::Decode;
use cortado_chain::CertificateVerifier;
use cortado_coding::{NamespaceProof, Params};
use cortado_node::Genesis;
use cortado_types::{ChainId, FinalityCertificate, Header, Namespace};
use std::path::Path;

/// Bytes under `dir`, skipping entries whose name starts with one of `skip`.
fn du(dir: &Path, skip: &[&str]) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if skip.iter().any(|s| name.starts_with(s)) {
            continue;
        }
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            du(&entry.path(), skip)
        } else {
            meta.len()
        };
    }
    total
}

/// A validator's block storage: its chain directory without the mempool journal (transient
/// pending transactions) and without the API's query index (index.sqlite, outside chain/).
fn block_storage(net: &Net, node: usize) -> u64 {
    let dir = net.nodes[node]
        .config
        .parent()
        .unwrap()
        .join("data")
        .join("chain");
    du(&dir, &["mempool"])
}

fn unhex(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_validators_store_shares_and_serve_verifiable_namespaces() {
    let dir = std::env::temp_dir().join(format!("cortado-da-{}", std::process::id()));
    let n = 7usize;
    // Paced blocks (300 ms apart at least), so that the sequential submissions below gather
    // into megabyte blocks whatever the machine's speed.
    let net = Net::start_with(&dir, n as u16, &["--block-interval-ms", "300"]);
    for i in 0..n {
        net.wait_height(i, 2).await;
    }
    let before: Vec<u64> = (0..n).map(|i| block_storage(&net, i)).collect();

    // 24 transactions of 256 KiB over 3 namespaces: megabyte blocks.
    let size = 256 << 10;
    let mut hashes = Vec::new();
    for i in 0..24u64 {
        let mut payload = vec![(i % 251) as u8; size];
        payload[..8].copy_from_slice(&i.to_be_bytes());
        hashes.push(net.submit((i % 3) as usize, 1 + i % 3, &payload).await);
    }
    let payload_bytes = 24 * size as u64;
    let mut top = 0;
    let mut heights = Vec::new();
    for hash in &hashes {
        let (h, _) = net.wait_final(4, hash).await;
        top = top.max(h);
        heights.push(h);
    }
    for i in 0..n {
        net.wait_height(i, top).await;
    }
    let biggest = {
        let mut max = 0u64;
        for h in &heights {
            let (_, v) = net.get(0, &format!("/v1/headers/{h}")).await.unwrap();
            let bytes: u64 = v["header"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["byte_len"].as_u64().unwrap())
                .sum();
            max = max.max(bytes);
        }
        max
    };
    assert!(
        biggest >= 1 << 20,
        "expected a block of at least 1 MiB, got {biggest}"
    );

    // Each validator stored about payload/k: at most half the payload (k = 3 gives ~1/3).
    for (i, before) in before.iter().enumerate() {
        let grew = block_storage(&net, i).saturating_sub(*before);
        eprintln!(
            "validator {i}: block storage grew {grew} bytes for {payload_bytes} payload bytes ({:.2})",
            grew as f64 / payload_bytes as f64
        );
        assert!(
            grew <= payload_bytes / 2,
            "validator {i} stored {grew} bytes for {payload_bytes} bytes of payload"
        );
    }

    // What the API serves verifies offline: header + namespace proof + certificate.
    let genesis = Genesis::load(&dir.join("genesis.toml")).unwrap();
    let sharing = cortado_chain::keys::parse_sharing(&genesis.polynomial, n as u32).unwrap();
    let verifier = CertificateVerifier::new(ChainId(genesis.chain_id), &sharing);
    let params = Params::for_validators(n);
    let limits = cortado_types::Limits::default();
    for (i, h) in heights.iter().enumerate().take(6) {
        let ns = 1 + (i as u64) % 3;
        let (status, v) = net
            .get(5, &format!("/v1/namespaces/{ns}/blocks/{h}"))
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(v["status"], "valid");
        let header =
            Header::decode_cfg(unhex(&v["header_bytes"]), &limits.namespaces_per_block_max)
                .unwrap();
        let proof = NamespaceProof::decode_cfg(
            unhex(&v["proof"]["bytes"]),
            &limits.namespaces_per_block_max,
        )
        .unwrap();
        use base64::Engine as _;
        let payloads: Vec<bytes::Bytes> = v["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                base64::engine::general_purpose::STANDARD
                    .decode(t["payload"].as_str().unwrap())
                    .unwrap()
                    .into()
            })
            .collect();
        cortado_coding::verify_namespace(params, &header, Namespace(ns), &payloads, &proof)
            .expect("served namespace verifies");
        let cert = FinalityCertificate::decode_cfg(unhex(&v["certificate_bytes"]), &()).unwrap();
        assert!(
            verifier.verify(&cert),
            "certificate verifies against the group key"
        );
        if cert.block == header.hash() {
            continue;
        }
        // Finalized through a descendant: the certificate names a later block.
        assert!(cert.view > header.view);
    }
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
