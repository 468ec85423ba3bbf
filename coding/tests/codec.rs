//! Codecs: round trips, bounds that hold for every block within the limits, rejections, and
//! decoders that never panic on hostile bytes.

mod common;

use bytes::Bytes;
use common::{Rng, VALIDATOR_COUNTS, context, namespace, transactions};
use commonware_codec::{Decode, Encode, EncodeSize};
use cortado_coding::{
    AbsenceProof, Chunk, InvalidEncodingEvidence, NamespaceProof, Params, Share, build_block,
    chunk_bytes_max, encode_namespace_invalid, prove_namespace, share_bytes_max,
};
use cortado_types::{FORMAT_VERSION, Hash, Limits, Namespace};
use proptest::prelude::*;

const SMALL: Limits = Limits {
    tx_bytes_max: 300,
    block_bytes_max: 2_000,
    namespaces_per_block_max: 8,
    txs_per_block_max: 40,
};

fn sample_shares(params: Params, limits: &Limits) -> (cortado_types::Block, Vec<Share>) {
    let shape = vec![(1, vec![0, 5]), (2, vec![299]), (9, vec![1; 7])];
    build_block(params, context(), transactions(&shape, 3), limits).unwrap()
}

#[test]
fn shares_round_trip() {
    for n in VALIDATOR_COUNTS {
        let params = Params::for_validators(n);
        let (_, shares) = sample_shares(params, &SMALL);
        let cfg = (params, SMALL);
        for share in &shares {
            let bytes = share.encode();
            assert_eq!(bytes[0], FORMAT_VERSION);
            assert!(bytes.len() <= share_bytes_max(params, &SMALL));
            assert_eq!(&Share::decode_cfg(bytes, &cfg).unwrap(), share);
            for chunk in &share.chunks {
                assert_eq!(&Chunk::decode_cfg(chunk.encode(), &cfg).unwrap(), chunk);
            }
        }
    }
}

#[test]
fn proofs_round_trip() {
    let params = Params::for_validators(4);
    let (block, _) = sample_shares(params, &SMALL);
    let header = block.header();
    for ns in 0..12 {
        match prove_namespace(header, Namespace(ns)) {
            Ok(proof) => {
                let bytes = proof.encode();
                assert_eq!(bytes[0], FORMAT_VERSION);
                assert_eq!(NamespaceProof::decode_cfg(bytes, &8).unwrap(), proof);
            }
            Err(absence) => {
                let bytes = absence.encode();
                assert_eq!(AbsenceProof::decode_cfg(bytes, &8).unwrap(), absence);
            }
        }
    }
    let empty = AbsenceProof {
        below: None,
        above: None,
        table_len: 0,
    };
    assert_eq!(empty.encode().as_ref(), &[FORMAT_VERSION, 0, 0, 0, 0, 0, 0]);
    assert_eq!(AbsenceProof::decode_cfg(empty.encode(), &8).unwrap(), empty);
}

#[test]
fn evidence_round_trips() {
    let params = Params::for_validators(10);
    let data = namespace(4, &[10, 20], 1);
    let (entry, chunks) = encode_namespace_invalid(params, &data, 3);
    let evidence = InvalidEncodingEvidence {
        entry,
        chunks: chunks
            .into_iter()
            .enumerate()
            .take(4)
            .map(|(i, c)| (i as u16, c))
            .collect(),
    };
    let cfg = (params, SMALL);
    assert_eq!(
        InvalidEncodingEvidence::decode_cfg(evidence.encode(), &cfg).unwrap(),
        evidence
    );
    // More than k chunks are refused.
    let mut more = evidence.clone();
    more.chunks.push(more.chunks[0].clone());
    assert!(InvalidEncodingEvidence::decode_cfg(more.encode(), &cfg).is_err());
}

#[test]
fn decoders_reject_out_of_bounds_values() {
    let params = Params::for_validators(4);
    let cfg = (params, SMALL);
    let (block, shares) = sample_shares(params, &SMALL);
    let good = shares[1].encode();
    // Version.
    let mut bytes = good.to_vec();
    bytes[0] = FORMAT_VERSION + 1;
    assert!(Share::decode_cfg(bytes, &cfg).is_err());
    // Index out of range.
    let mut share = shares[1].clone();
    share.index = 4;
    assert!(Share::decode_cfg(share.encode(), &cfg).is_err());
    // Too many chunks.
    let mut share = shares[1].clone();
    share.chunks = vec![share.chunks[0].clone(); SMALL.namespaces_per_block_max + 1];
    assert!(Share::decode_cfg(share.encode(), &cfg).is_err());
    // A chunk above chunk_bytes_max, and a path longer than ceil(log2 n).
    let big = Chunk {
        data: Bytes::from(vec![0u8; chunk_bytes_max(params, &SMALL) + 1]),
        path: vec![],
    };
    assert!(Chunk::decode_cfg(big.encode(), &cfg).is_err());
    let long = Chunk {
        data: Bytes::from_static(b"ab"),
        path: vec![Hash::ZERO; 3],
    };
    assert!(Chunk::decode_cfg(long.encode(), &cfg).is_err());
    // Trailing bytes.
    let mut bytes = good.to_vec();
    bytes.push(0);
    assert!(Share::decode_cfg(bytes, &cfg).is_err());
    // Proofs: position beyond the table, table above the limit, over-long path.
    let proof = prove_namespace(block.header(), Namespace(2)).unwrap();
    let mut wrong = proof.clone();
    wrong.position = wrong.table_len;
    assert!(NamespaceProof::decode_cfg(wrong.encode(), &8).is_err());
    assert!(NamespaceProof::decode_cfg(proof.encode(), &2).is_err());
    let mut wrong = proof.clone();
    wrong.path.push(Hash::ZERO);
    assert!(NamespaceProof::decode_cfg(wrong.encode(), &8).is_err());
    let absence = AbsenceProof {
        below: None,
        above: None,
        table_len: 9,
    };
    assert!(AbsenceProof::decode_cfg(absence.encode(), &8).is_err());
}

#[test]
fn bounds_hold_at_the_limits() {
    // Blocks at the edges of the limits: one namespace with the most bytes, the most
    // transactions (empty and not), the most namespaces.
    let full = |sizes: Vec<usize>| vec![(1u64, sizes)];
    let mut shapes = vec![
        full(vec![300, 300, 300, 300, 300, 300, 200]),
        full(vec![0; 40]),
        full(vec![50; 40]),
        (0..8).map(|i| (i, vec![250])).collect::<Vec<_>>(),
        (0..8).map(|i| (i, vec![0; 5])).collect::<Vec<_>>(),
    ];
    shapes.push((0..8).map(|i| (i, vec![40; 5])).collect());
    for n in VALIDATOR_COUNTS {
        let params = Params::for_validators(n);
        for (i, shape) in shapes.iter().enumerate() {
            let (_, shares) =
                build_block(params, context(), transactions(shape, i as u64), &SMALL).unwrap();
            check_bounds(params, &SMALL, &shares);
        }
    }
}

fn check_bounds(params: Params, limits: &Limits, shares: &[Share]) {
    let cfg = (params, *limits);
    for share in shares {
        for chunk in &share.chunks {
            assert!(chunk.data.len() <= chunk_bytes_max(params, limits));
            assert!(chunk.path.len() <= params.path_len_max());
        }
        assert!(share.encode_size() <= share_bytes_max(params, limits));
        assert_eq!(&Share::decode_cfg(share.encode(), &cfg).unwrap(), share);
    }
}

fn decode_all(bytes: &[u8], params: Params, limits: &Limits) {
    let cfg = (params, *limits);
    let _ = Share::decode_cfg(bytes.to_vec(), &cfg);
    let _ = Chunk::decode_cfg(bytes.to_vec(), &cfg);
    let _ = InvalidEncodingEvidence::decode_cfg(bytes.to_vec(), &cfg);
    let _ = NamespaceProof::decode_cfg(bytes.to_vec(), &limits.namespaces_per_block_max);
    let _ = AbsenceProof::decode_cfg(bytes.to_vec(), &limits.namespaces_per_block_max);
}

/// Valid encodings of every type, to mutate.
fn corpus(params: Params) -> Vec<Vec<u8>> {
    let (block, shares) = sample_shares(params, &SMALL);
    let mut out: Vec<Vec<u8>> = shares.iter().take(3).map(|s| s.encode().to_vec()).collect();
    out.push(shares[0].chunks[0].encode().to_vec());
    for ns in [1, 3] {
        match prove_namespace(block.header(), Namespace(ns)) {
            Ok(p) => out.push(p.encode().to_vec()),
            Err(a) => out.push(a.encode().to_vec()),
        }
    }
    let (entry, chunks) = encode_namespace_invalid(params, &namespace(1, &[9], 1), 0);
    let evidence = InvalidEncodingEvidence {
        entry,
        chunks: chunks
            .into_iter()
            .enumerate()
            .take(params.k as usize)
            .map(|(i, c)| (i as u16, c))
            .collect(),
    };
    out.push(evidence.encode().to_vec());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoders_never_panic_on_random_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        which in 0usize..VALIDATOR_COUNTS.len(),
        version_first in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if version_first && !bytes.is_empty() {
            bytes[0] = FORMAT_VERSION;
        }
        let params = Params::for_validators(VALIDATOR_COUNTS[which]);
        decode_all(&bytes, params, &SMALL);
        decode_all(&bytes, params, &Limits::default());
    }

    #[test]
    fn decoders_never_panic_on_mutated_encodings(
        which in 0usize..VALIDATOR_COUNTS.len(),
        pick in any::<usize>(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..4),
    ) {
        let params = Params::for_validators(VALIDATOR_COUNTS[which]);
        let corpus = corpus(params);
        let mut bytes = corpus[pick % corpus.len()].clone();
        for (at, value, kind) in edits {
            let at = at % (bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = value,
                1 => bytes.truncate(at),
                2 => bytes.insert(at, value),
                _ if at < bytes.len() => { bytes.remove(at); }
                _ => {}
            }
        }
        decode_all(&bytes, params, &SMALL);
    }

    #[test]
    fn random_blocks_stay_within_bounds(
        shape in prop::collection::btree_map(0u64..20, prop::collection::vec(0usize..=300, 1..10), 0..=8),
        which in 0usize..VALIDATOR_COUNTS.len(),
        seed in any::<u64>(),
    ) {
        let params = Params::for_validators(VALIDATOR_COUNTS[which]);
        let shape: Vec<(u64, Vec<usize>)> = shape.into_iter().collect();
        let built = build_block(params, context(), transactions(&shape, seed), &SMALL);
        prop_assume!(built.is_ok());
        let (_, shares) = built.unwrap();
        check_bounds(params, &SMALL, &shares);
    }
}

#[test]
fn default_bounds_are_sane() {
    let limits = Limits::default();
    for n in [4, 10, 100] {
        let params = Params::for_validators(n);
        let chunk = chunk_bytes_max(params, &limits);
        let share = share_bytes_max(params, &limits);
        // 8 MiB plus prefixes, over k, rounded; a share adds 1024 paths and rounding.
        assert!(chunk >= (8 << 20) / params.k as usize);
        assert!(
            share >= chunk && share < chunk + (1 << 20),
            "n = {n}: {share} vs {chunk}"
        );
    }
    let _ = Rng::new(0);
}
