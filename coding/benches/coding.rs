//! Coding benchmarks: encode + commit a block (`build_block`), verify one validator's share,
//! reconstruct a block from `k` shares, for 1 MiB and 8 MiB payloads at n = 10 and n = 100 with
//! 1, 16 and 256 namespaces.
//!
//! `cargo bench -p cortado-coding -- --warm-up-time 1 --measurement-time 3`
//!
//! Before the benchmarks it prints the sizes: namespace proof for a 1024-entry table, and bytes
//! per share against `payload / k`.

use bytes::Bytes;
use commonware_codec::EncodeSize;
use cortado_coding::{
    Params, Share, build_block, chunk_bytes_max, prove_namespace, reconstruct, share_bytes_max,
    verify_share,
};
use cortado_types::{Block, BlockContext, ChainId, Hash, Limits, Namespace, Transaction};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const PAYLOADS: [(usize, &str); 2] = [(1 << 20, "1MiB"), (8 << 20, "8MiB")];
const VALIDATORS: [usize; 2] = [10, 100];
const NAMESPACES: [usize; 3] = [1, 16, 256];

fn context() -> BlockContext {
    BlockContext {
        chain_id: ChainId(1),
        height: 1,
        epoch: 0,
        view: 1,
        parent_view: 0,
        leader: [1u8; 32],
        timestamp_ms: 1,
        parent: Hash::ZERO,
        history: Vec::new(),
    }
}

/// `payload` bytes spread evenly over `namespaces` namespaces, in transactions of at most
/// `tx_bytes_max` (1 MiB), filled with a cheap deterministic pattern.
fn transactions(payload: usize, namespaces: usize) -> Vec<Transaction> {
    let limits = Limits::default();
    let per_namespace = payload / namespaces;
    let mut txs = Vec::new();
    let mut seed = 0x1234_5678_u64;
    for ns in 0..namespaces {
        let mut left = per_namespace;
        while left > 0 {
            let size = left.min(limits.tx_bytes_max);
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 56) as u8
                })
                .collect();
            txs.push(Transaction::new(ns as u64 * 3 + 1, Bytes::from(bytes)));
            left -= size;
        }
    }
    txs
}

fn built(
    params: Params,
    payload: usize,
    namespaces: usize,
) -> (Block, Vec<Share>, Vec<Transaction>) {
    let txs = transactions(payload, namespaces);
    let (block, shares) = build_block(params, context(), txs.clone(), &Limits::default()).unwrap();
    (block, shares, txs)
}

fn print_sizes() {
    let limits = Limits::default();
    let txs: Vec<Transaction> = (0..1024u64)
        .map(|ns| Transaction::new(ns * 2, Bytes::from_static(b"x")))
        .collect();
    let (block, _) = build_block(Params::for_validators(10), context(), txs, &limits).unwrap();
    let proof = prove_namespace(block.header(), Namespace(512)).unwrap();
    let absence = prove_namespace(block.header(), Namespace(513)).unwrap_err();
    eprintln!(
        "namespace proof, 1024-entry table: {} bytes ({} path hashes); absence proof: {} bytes",
        proof.encode_size(),
        proof.path.len(),
        absence.encode_size()
    );
    eprintln!(
        "payload  n    k   namespaces  share bytes  payload/k  ratio   share_bytes_max  chunk_bytes_max"
    );
    for (payload, name) in PAYLOADS {
        for n in VALIDATORS {
            let params = Params::for_validators(n);
            for namespaces in NAMESPACES {
                let (_, shares, _) = built(params, payload, namespaces);
                let share = shares[n - 1].encode_size();
                let ideal = payload as f64 / params.k as f64;
                eprintln!(
                    "{name:>7}  {n:<4} {:<3} {namespaces:<11} {share:<12} {:<10.0} {:<7.3} {:<16} {}",
                    params.k,
                    ideal,
                    share as f64 / ideal,
                    share_bytes_max(params, &limits),
                    chunk_bytes_max(params, &limits),
                );
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    print_sizes();
    let limits = Limits::default();
    for (payload, name) in PAYLOADS {
        for n in VALIDATORS {
            let params = Params::for_validators(n);
            for namespaces in NAMESPACES {
                let id = format!("size={name}/n={n}/ns={namespaces}");
                let (block, shares, txs) = built(params, payload, namespaces);
                let mut group = c.benchmark_group("coding");
                group.sample_size(10);
                group.throughput(Throughput::Bytes(payload as u64));
                group.bench_function(format!("encode/{id}"), |b| {
                    b.iter_batched(
                        || txs.clone(),
                        |txs| build_block(params, context(), txs, &limits).unwrap(),
                        BatchSize::LargeInput,
                    )
                });
                let last = shares.last().unwrap();
                group.bench_function(format!("verify_share/{id}"), |b| {
                    b.iter(|| verify_share(params, block.header(), last.index, black_box(last)))
                });
                // The best case: the k originals, no Reed–Solomon decoding.
                let head = &shares[..params.k as usize];
                group.bench_function(format!("reconstruct_originals/{id}"), |b| {
                    b.iter(|| {
                        reconstruct(params, block.header(), black_box(head), &limits).unwrap()
                    })
                });
                // The worst case: the last k shares (recovery chunks only when n ≥ 2k), so every
                // original is Reed–Solomon decoded.
                let tail = &shares[n - params.k as usize..];
                group.bench_function(format!("reconstruct/{id}"), |b| {
                    b.iter(|| {
                        reconstruct(params, block.header(), black_box(tail), &limits).unwrap()
                    })
                });
                group.finish();
            }
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
