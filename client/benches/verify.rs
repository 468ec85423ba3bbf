//! What a light client pays per check: a certificate, a header with a namespace proof (1 KiB
//! and 1 MiB of namespace data), a history proof; and the sizes of what it downloads.
//!
//! `cargo bench -p cortado-client --bench verify`

#[path = "../tests/common/mod.rs"]
mod common;

use bytes::Bytes;
use common::{CHAIN, committee, limits, sign, trust};
use commonware_codec::Encode;
use cortado_client::{verify_certificate, verify_header, verify_namespace};
use cortado_coding::{Params, build_block, prove_namespace};
use cortado_types::{BlockContext, Hash, Namespace, Transaction, history};
use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::HashMap;

fn bench(c: &mut Criterion) {
    let committee = committee();
    let trust = trust(&committee);

    // A block with a namespace of `size` bytes (1 KiB transactions) next to 15 others.
    for (label, size) in [("1KiB", 1usize << 10), ("1MiB", 1 << 20)] {
        let ns = Namespace(7);
        let mut txs: Vec<Transaction> = (0..size / 1024)
            .map(|i| Transaction::new(ns, Bytes::from(vec![i as u8; 1024])))
            .collect();
        txs.extend((0..15u64).map(|i| Transaction::new(100 + i, Bytes::from(vec![1u8; 512]))));
        let ctx = BlockContext {
            chain_id: CHAIN,
            height: 0,
            epoch: 0,
            view: 1,
            parent_view: 0,
            leader: [0; 32],
            timestamp_ms: 0,
            parent: Hash::ZERO,
            history: Vec::new(),
        };
        let (block, _) = build_block(Params::for_validators(4), ctx, txs, &limits()).unwrap();
        let header = block.header();
        let cert = sign(&committee, CHAIN, header);
        let (header_bytes, cert_bytes) = (header.encode(), cert.encode());
        let proof = prove_namespace(header, ns).unwrap().encode();
        let payloads = block
            .namespaces()
            .iter()
            .find(|d| d.namespace == ns)
            .unwrap()
            .payloads
            .clone();
        eprintln!(
            "sizes ({label} namespace, 16 namespaces): header {} B, certificate {} B, namespace proof {} B",
            header_bytes.len(),
            cert_bytes.len(),
            proof.len()
        );
        if size == 1 << 10 {
            c.bench_function("verify certificate", |b| {
                b.iter(|| verify_certificate(&trust, header, &cert).unwrap())
            });
        }
        c.bench_function(&format!("verify header + namespace proof ({label})"), |b| {
            b.iter(|| {
                let v = verify_header(&trust, &header_bytes, &cert_bytes).unwrap();
                verify_namespace(&trust, &v, ns, &proof, &payloads).unwrap();
            })
        });
    }

    // A history of 1,000,000 headers (synthetic leaves; the proof is the same shape).
    let count: u64 = 1_000_000;
    let mut peaks = Vec::new();
    let mut nodes = HashMap::new();
    let leaf = |i: u64| Hash::digest(b"leaf", &[&i.to_be_bytes()]);
    for i in 0..count {
        let (next, created) = history::append(&peaks, i, leaf(i));
        peaks = next;
        for (level, index, hash) in created {
            if level >= 1 || index == 12_345 || index == 12_344 {
                nodes.insert((level, index), hash);
            }
        }
    }
    let old = 12_345u64;
    let siblings = history::proof_positions(old, count)
        .unwrap()
        .iter()
        .map(|p| nodes[p])
        .collect();
    let proof = history::HistoryProof {
        leaf: old,
        count,
        siblings,
    };
    eprintln!(
        "history proof of header {old} against {count}: {} B ({} siblings)",
        proof.encode().len(),
        proof.siblings.len()
    );
    c.bench_function("verify history proof (1M headers)", |b| {
        b.iter(|| history::verify(&peaks, count, leaf(old), &proof).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
