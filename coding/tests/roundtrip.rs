//! Valid encodings round-trip: any `k` chunks recover the namespace, whole blocks reconstruct.

mod common;

use bytes::Bytes;
use common::{Rng, VALIDATOR_COUNTS, context, namespace, pick, subsets, transactions};
use cortado_coding::{
    DecodeError, Decoded, Params, build_block, decode_namespace, encode_namespace,
    invalid_encoding_evidence, namespace_chunks, namespace_entry, reconstruct, shard_len,
    verify_share,
};
use cortado_types::{Limits, Namespace, NamespaceData};
use proptest::prelude::*;

fn roundtrip(params: Params, data: &NamespaceData, extra_subsets: usize, seed: u64) {
    let limits = Limits::default();
    let (entry, chunks) = encode_namespace(params, data);
    assert_eq!(chunks.len(), params.n as usize);
    assert_eq!(entry, namespace_entry(params, data));
    assert_eq!(entry.tx_count as usize, data.payloads.len());
    let shard = shard_len(params, data.encode_payloads().len());
    assert!(chunks.iter().all(|c| c.data.len() == shard));
    for subset in subsets(params, extra_subsets, seed) {
        let decoded = decode_namespace(params, &entry, &pick(&chunks, &subset), &limits);
        assert_eq!(
            decoded,
            Ok(Decoded::Valid(data.clone())),
            "n = {}, subset {subset:?}",
            params.n
        );
    }
    assert_eq!(
        invalid_encoding_evidence(params, &entry, &pick(&chunks, &[0]), &limits).err(),
        (params.k > 1).then_some(DecodeError::NotEnoughChunks {
            needed: params.k as usize,
            have: 1
        })
    );
}

#[test]
fn sizes_round_trip_for_every_validator_count() {
    let shapes: Vec<Vec<usize>> = vec![
        vec![],         // no payload at all
        vec![0],        // one empty payload
        vec![1],        // one byte
        vec![3, 0, 17], // odd sizes
        vec![1001],
        vec![5; 200], // many tiny payloads
    ];
    for n in VALIDATOR_COUNTS {
        let params = Params::for_validators(n);
        for (i, sizes) in shapes.iter().enumerate() {
            roundtrip(params, &namespace(9, sizes, i as u64), 8, n as u64);
        }
    }
}

#[test]
fn one_mebibyte_namespace_round_trips() {
    for n in [4, 10, 100] {
        let params = Params::for_validators(n);
        roundtrip(params, &namespace(1, &[1 << 20], 1), 2, 7);
    }
}

#[test]
fn unverified_and_duplicate_chunks_are_ignored() {
    let params = Params::for_validators(7);
    let limits = Limits::default();
    let data = namespace(3, &[40, 41], 2);
    let (entry, chunks) = encode_namespace(params, &data);
    let mut given = pick(&chunks, &[5, 5, 6]);
    // A forged chunk at index 0 and an out-of-range index: both ignored.
    let mut forged = chunks[0].clone();
    forged.data = Bytes::from(vec![0u8; forged.data.len()]);
    given.push((0, forged));
    given.push((200, chunks[1].clone()));
    assert_eq!(
        decode_namespace(params, &entry, &given, &limits),
        Err(DecodeError::NotEnoughChunks { needed: 3, have: 2 })
    );
    given.push((2, chunks[2].clone()));
    assert_eq!(
        decode_namespace(params, &entry, &given, &limits),
        Ok(Decoded::Valid(data))
    );
}

#[test]
fn blocks_build_and_reconstruct() {
    let limits = Limits::default();
    let mut rng = Rng::new(11);
    let many_tiny: Vec<(u64, Vec<usize>)> = (0..300)
        .map(|i| (i * 7, vec![1 + i as usize % 5]))
        .collect();
    let mixed = vec![(1, vec![1 << 20]), (2, vec![0]), (900, vec![33, 1, 0, 77])];
    for n in VALIDATOR_COUNTS {
        let params = Params::for_validators(n);
        for (shape, seed) in [(&many_tiny, 1), (&mixed, 2), (&vec![], 3)] {
            if n == 100 && shape.len() == 300 {
                continue; // covered by the n = 10 run; keeps the suite fast in debug builds
            }
            let txs = transactions(shape, seed);
            let (block, shares) = build_block(params, context(), txs, &limits).unwrap();
            assert_eq!(shares.len(), n);
            for (i, share) in shares.iter().enumerate() {
                assert_eq!(share.index as usize, i);
                verify_share(params, block.header(), i as u16, share).unwrap();
            }
            for subset in subsets(params, 2, seed).into_iter().take(6) {
                let given: Vec<_> = subset.iter().map(|i| shares[*i].clone()).collect();
                let back = reconstruct(params, block.header(), &given, &limits).unwrap();
                assert_eq!(back, block, "n = {n}, subset {subset:?}");
            }
            // One share short.
            if !block.header().table.is_empty() {
                let few: Vec<_> = shares[..params.k as usize - 1].to_vec();
                assert_eq!(
                    reconstruct(params, block.header(), &few, &limits),
                    Err(DecodeError::NotEnoughChunks {
                        needed: params.k as usize,
                        have: params.k as usize - 1
                    })
                );
            }
            // Per-namespace decoding from the shares agrees with the block.
            let position = rng.below(block.header().table.len().max(1));
            if let Some(entry) = block.header().table.entries().get(position) {
                let chunks = namespace_chunks(&shares, position);
                assert_eq!(
                    decode_namespace(params, entry, &chunks, &limits),
                    Ok(Decoded::Valid(block.namespaces()[position].clone()))
                );
            }
        }
    }
}

#[test]
fn reconstruct_skips_bad_shares() {
    let params = Params::for_validators(4);
    let limits = Limits::default();
    let txs = transactions(&[(1, vec![10, 20]), (2, vec![30])], 5);
    let (block, shares) = build_block(params, context(), txs, &limits).unwrap();
    let mut bad = shares[0].clone();
    bad.chunks[1].data = Bytes::from(vec![1u8; bad.chunks[1].data.len()]);
    let mut moved = shares[1].clone();
    moved.index = 2; // presented under another index
    let given = vec![bad.clone(), moved, shares[3].clone()];
    assert_eq!(
        reconstruct(params, block.header(), &given, &limits),
        Err(DecodeError::NotEnoughChunks { needed: 2, have: 1 })
    );
    let given = vec![bad, shares[3].clone(), shares[3].clone(), shares[2].clone()];
    assert_eq!(
        reconstruct(params, block.header(), &given, &limits).unwrap(),
        block
    );
}

#[test]
fn non_default_parameters_round_trip() {
    for (n, k) in [(5, 5), (6, 1), (9, 8), (16, 4), (64, 32)] {
        let params = Params { n, k };
        params.check().unwrap();
        roundtrip(params, &namespace(4, &[100, 3, 0], n as u64), 4, 3);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_namespaces_round_trip(
        sizes in prop::collection::vec(0usize..3000, 0..12),
        which in 0usize..VALIDATOR_COUNTS.len(),
        seed in any::<u64>(),
    ) {
        let params = Params::for_validators(VALIDATOR_COUNTS[which]);
        let data = namespace(seed % 1000, &sizes, seed);
        let (entry, chunks) = encode_namespace(params, &data);
        let mut rng = Rng::new(seed);
        for _ in 0..3 {
            let subset = rng.subset(params.n as usize, params.k as usize);
            prop_assert_eq!(
                decode_namespace(params, &entry, &pick(&chunks, &subset), &Limits::default()),
                Ok(Decoded::Valid(data.clone()))
            );
        }
    }

    #[test]
    fn random_blocks_reconstruct(
        shape in prop::collection::btree_map(0u64..50, prop::collection::vec(0usize..500, 1..5), 0..12),
        which in 0usize..VALIDATOR_COUNTS.len(),
        seed in any::<u64>(),
    ) {
        let params = Params::for_validators(VALIDATOR_COUNTS[which]);
        let limits = Limits::default();
        let shape: Vec<(u64, Vec<usize>)> = shape.into_iter().collect();
        let (block, shares) = build_block(params, context(), transactions(&shape, seed), &limits).unwrap();
        let subset = Rng::new(seed).subset(params.n as usize, params.k as usize);
        let given: Vec<_> = subset.iter().map(|i| shares[*i].clone()).collect();
        prop_assert_eq!(reconstruct(params, block.header(), &given, &limits).unwrap(), block);
    }
}

#[test]
fn namespace_ids_are_kept() {
    let params = Params::for_validators(4);
    let data = NamespaceData::new(Namespace(u64::MAX), vec![Bytes::from_static(b"x")]);
    let (entry, chunks) = encode_namespace(params, &data);
    assert_eq!(entry.namespace, Namespace(u64::MAX));
    assert_eq!(
        decode_namespace(params, &entry, &pick(&chunks, &[2, 3]), &Limits::default()),
        Ok(Decoded::Valid(data))
    );
}
