//! The bad-encoding rule: commitments to chunks that are not a canonical encoding yield the same
//! `InvalidEncoding` verdict from every `k` chunks, with evidence anyone can check.

mod common;

use bytes::Bytes;
use common::{VALIDATOR_COUNTS, context, namespace, pick, subsets, transactions};
use commonware_codec::{Decode, Encode};
use cortado_coding::{
    BlockCheckError, Chunk, Decoded, InvalidEncodingEvidence, NOT_A_CODEWORD, Params, Share,
    commit_chunks, decode_namespace, encode_namespace, encode_namespace_invalid,
    invalid_encoding_evidence, reconstruct, shard_len, verify_block, verify_invalid_encoding,
    verify_share,
};
use cortado_types::{Block, Limits, Namespace, NamespaceData, NamespaceEntry, Transaction};

/// Checks that every subset tried yields the same `InvalidEncoding` verdict, that the evidence
/// verifies, survives its codec, and that its chunks alone suffice. Returns the verdict.
fn assert_invalid(
    params: Params,
    entry: &NamespaceEntry,
    chunks: &[Chunk],
    limits: &Limits,
) -> String {
    let mut verdict = None;
    for subset in subsets(params, 6, 99) {
        let given = pick(chunks, &subset);
        let decoded = decode_namespace(params, entry, &given, limits).unwrap();
        let Decoded::InvalidEncoding(reason) = &decoded else {
            panic!("n = {}, subset {subset:?}: {decoded:?}", params.n);
        };
        match &verdict {
            None => verdict = Some(reason.clone()),
            Some(first) => assert_eq!(first, reason, "subset {subset:?}"),
        }
        let evidence = invalid_encoding_evidence(params, entry, &given, limits)
            .unwrap()
            .expect("invalid encodings have evidence");
        assert_eq!(evidence.chunks.len(), params.k as usize);
        assert!(verify_invalid_encoding(params, &evidence, limits));
        let cfg = (params, *limits);
        let back = InvalidEncodingEvidence::decode_cfg(evidence.encode(), &cfg).unwrap();
        assert_eq!(back, evidence);
    }
    verdict.unwrap()
}

#[test]
fn fault_injection_helper_is_invalid_for_every_subset() {
    let limits = Limits::default();
    for n in VALIDATOR_COUNTS {
        let params = Params::for_validators(n);
        let data = namespace(5, &[10, 0, 33], n as u64);
        for corrupt in [0, params.k - 1, params.n - 1] {
            let (entry, chunks) = encode_namespace_invalid(params, &data, corrupt);
            assert_eq!(entry.tx_count, 3);
            let reason = assert_invalid(params, &entry, &chunks, &limits);
            if params.n > params.k {
                assert_eq!(reason, NOT_A_CODEWORD);
            }
        }
    }
}

#[test]
fn replaced_recovery_chunk_is_invalid() {
    // Take a valid encoding, replace one recovery chunk's bytes, and commit to the result.
    let limits = Limits::default();
    for n in [2, 4, 7, 10, 100] {
        let params = Params::for_validators(n);
        let data = namespace(6, &[300, 1], 1);
        let (_, chunks) = encode_namespace(params, &data);
        let mut payloads: Vec<Bytes> = chunks.into_iter().map(|c| c.data).collect();
        let last = payloads.len() - 1;
        payloads[last] = common::Rng::new(3).bytes(payloads[last].len());
        let (root, chunks) = commit_chunks(payloads);
        let entry = data.entry(root);
        let reason = assert_invalid(params, &entry, &chunks, &limits);
        assert_eq!(reason, NOT_A_CODEWORD);
    }
}

/// Commits to a hand-made blob (valid Reed–Solomon code of it), for canonical-form violations.
fn commit_blob(params: Params, blob: Vec<u8>) -> (cortado_types::Hash, Vec<Chunk>) {
    let k = params.k as usize;
    let shard = blob.len() / k;
    let originals: Vec<&[u8]> = blob.chunks(shard).collect();
    let mut payloads: Vec<Bytes> = originals
        .iter()
        .map(|o| Bytes::copy_from_slice(o))
        .collect();
    if params.n > params.k {
        let recovery =
            reed_solomon_simd::encode(k, (params.n - params.k) as usize, &originals).unwrap();
        payloads.extend(recovery.into_iter().map(Bytes::from));
    }
    commit_chunks(payloads)
}

fn blob_of(params: Params, bytes: &[u8], shard: usize, prefix: u32) -> Vec<u8> {
    let mut blob = prefix.to_be_bytes().to_vec();
    blob.extend_from_slice(bytes);
    blob.resize(params.k as usize * shard, 0);
    blob
}

#[test]
fn non_canonical_blobs_are_invalid() {
    let limits = Limits::default();
    for n in [1, 4, 10] {
        let params = Params::for_validators(n);
        let data = namespace(8, &[20, 7], 4);
        let bytes = data.encode_payloads();
        let shard = shard_len(params, bytes.len());
        let len = bytes.len() as u32;
        let cases: Vec<(&str, Vec<u8>, NamespaceEntry)> = vec![
            // Length prefix beyond the blob.
            (
                "beyond",
                blob_of(params, &bytes, shard, u32::MAX),
                data.entry(Default::default()),
            ),
            // Non-zero padding.
            (
                "padding",
                {
                    let mut b = blob_of(params, &bytes, shard + 64, len);
                    *b.last_mut().unwrap() = 1;
                    b
                },
                data.entry(Default::default()),
            ),
            // Chunks longer than the minimal length (zero padding, otherwise canonical).
            (
                "minimal",
                blob_of(params, &bytes, shard + 64, len),
                data.entry(Default::default()),
            ),
            // Not a payload list (count says 3 payloads, the bytes hold 2).
            (
                "parse",
                {
                    let mut b = bytes.clone();
                    b[0] = 3;
                    blob_of(params, &b, shard, len)
                },
                data.entry(Default::default()),
            ),
            // A valid list that does not match the entry's counts.
            (
                "entry",
                blob_of(params, &bytes, shard, len),
                NamespaceEntry {
                    tx_count: 3,
                    ..data.entry(Default::default())
                },
            ),
            // A valid list with the entry's counts but another transaction root: the leader
            // certified a tx_root its data does not have.
            (
                "tx_root",
                blob_of(params, &bytes, shard, len),
                NamespaceEntry {
                    tx_root: cortado_types::Hash([9; 32]),
                    ..data.entry(Default::default())
                },
            ),
        ];
        for (name, blob, entry) in cases {
            let (root, chunks) = commit_blob(params, blob);
            let entry = NamespaceEntry {
                commitment: root,
                ..entry
            };
            let reason = assert_invalid(params, &entry, &chunks, &limits);
            assert_ne!(reason, NOT_A_CODEWORD, "{name}");
            if name == "tx_root" {
                assert!(reason.contains("tx_root"), "{name}: {reason}");
            }
        }
        // The canonical blob itself is valid.
        let (root, chunks) = commit_blob(params, blob_of(params, &bytes, shard, len));
        let entry = data.entry(root);
        assert_eq!(entry, encode_namespace(params, &data).0);
        let given = pick(&chunks, &(0..params.k as usize).collect::<Vec<_>>());
        assert_eq!(
            decode_namespace(params, &entry, &given, &limits),
            Ok(Decoded::Valid(data.clone()))
        );
    }
}

#[test]
fn limits_are_part_of_the_verdict() {
    let params = Params::for_validators(4);
    let data = namespace(8, &[200, 7], 4);
    let (entry, chunks) = encode_namespace(params, &data);
    let small = Limits {
        tx_bytes_max: 100,
        ..Limits::default()
    };
    let reason = assert_invalid(params, &entry, &chunks, &small);
    assert_eq!(reason, "the bytes are not a payload list within the limits");
    let total = Limits {
        block_bytes_max: 150,
        tx_bytes_max: 150,
        ..Limits::default()
    };
    assert_invalid(params, &entry, &chunks, &total);
    // Under the default limits the same evidence does not verify.
    let evidence = invalid_encoding_evidence(params, &entry, &pick(&chunks, &[0, 1]), &small)
        .unwrap()
        .unwrap();
    assert!(!verify_invalid_encoding(
        params,
        &evidence,
        &Limits::default()
    ));
}

#[test]
fn odd_or_unequal_chunk_lengths_are_invalid() {
    let limits = Limits::default();
    let params = Params::for_validators(4);
    let data = namespace(1, &[10], 1);
    let (_, chunks) = encode_namespace(params, &data);
    // Unequal lengths: one chunk two bytes longer.
    let mut payloads: Vec<Bytes> = chunks.iter().map(|c| c.data.clone()).collect();
    let mut longer = payloads[3].to_vec();
    longer.extend_from_slice(&[0, 0]);
    payloads[3] = Bytes::from(longer);
    let (root, committed) = commit_chunks(payloads);
    assert_invalid(params, &data.entry(root), &committed, &limits);
    // Odd lengths everywhere.
    let payloads: Vec<Bytes> = (0..4).map(|_| Bytes::from_static(b"abc")).collect();
    let (root, committed) = commit_chunks(payloads);
    let reason = assert_invalid(params, &data.entry(root), &committed, &limits);
    assert_eq!(reason, NOT_A_CODEWORD);
    // An even but unaligned length, on a genuine Reed–Solomon codeword.
    let originals: Vec<Vec<u8>> = (0..2).map(|i| vec![i as u8; 66]).collect();
    let mut payloads: Vec<Bytes> = originals.iter().map(|o| Bytes::from(o.clone())).collect();
    payloads.extend(
        reed_solomon_simd::encode(2, 2, &originals)
            .unwrap()
            .into_iter()
            .map(Bytes::from),
    );
    let (root, committed) = commit_chunks(payloads);
    let reason = assert_invalid(params, &data.entry(root), &committed, &limits);
    assert_eq!(reason, NOT_A_CODEWORD);
    // Empty chunks.
    let payloads: Vec<Bytes> = (0..4).map(|_| Bytes::new()).collect();
    let (root, committed) = commit_chunks(payloads);
    assert_invalid(params, &data.entry(root), &committed, &limits);
}

#[test]
fn evidence_for_a_valid_encoding_is_rejected() {
    let limits = Limits::default();
    for n in [1, 4, 10, 100] {
        let params = Params::for_validators(n);
        let data = namespace(2, &[50, 60], 2);
        let (entry, chunks) = encode_namespace(params, &data);
        let given = pick(&chunks, &(0..params.k as usize).collect::<Vec<_>>());
        assert_eq!(
            invalid_encoding_evidence(params, &entry, &given, &limits),
            Ok(None)
        );
        let evidence = InvalidEncodingEvidence {
            entry,
            chunks: given,
        };
        assert!(!verify_invalid_encoding(params, &evidence, &limits));
    }
}

#[test]
fn evidence_with_bad_chunks_is_rejected() {
    let limits = Limits::default();
    let params = Params::for_validators(7);
    let data = namespace(2, &[50, 60], 2);
    let (entry, chunks) = encode_namespace_invalid(params, &data, 6);
    let given = pick(&chunks, &[0, 3, 6]);
    let mut evidence = invalid_encoding_evidence(params, &entry, &given, &limits)
        .unwrap()
        .unwrap();
    assert!(verify_invalid_encoding(params, &evidence, &limits));
    // Too few chunks.
    evidence.chunks.pop();
    assert!(!verify_invalid_encoding(params, &evidence, &limits));
    // A chunk under the wrong index, or with tampered bytes.
    evidence.chunks.push((5, chunks[6].clone()));
    assert!(!verify_invalid_encoding(params, &evidence, &limits));
    evidence.chunks[2] = (
        6,
        Chunk {
            data: Bytes::from(vec![0u8; chunks[6].data.len()]),
            path: chunks[6].path.clone(),
        },
    );
    assert!(!verify_invalid_encoding(params, &evidence, &limits));
    // Another entry (valid one for the same data).
    let (valid_entry, _) = encode_namespace(params, &data);
    let forged = InvalidEncodingEvidence {
        entry: valid_entry,
        chunks: given,
    };
    assert!(!verify_invalid_encoding(params, &forged, &limits));
}

/// A block where the leader encodes namespace `bad` invalidly, and its shares.
fn byzantine_block(params: Params, bad: u64) -> (Block, Vec<Share>) {
    let limits = Limits::default();
    let txs: Vec<Transaction> =
        transactions(&[(1, vec![10, 20]), (bad, vec![30, 1]), (3, vec![5])], 4);
    let mut coded = Vec::new();
    let block = Block::build(context(), txs, &limits, |data: &NamespaceData| {
        let (entry, chunks) = if data.namespace == Namespace(bad) {
            encode_namespace_invalid(params, data, params.n - 1)
        } else {
            encode_namespace(params, data)
        };
        coded.push(chunks);
        entry.commitment
    })
    .unwrap();
    let shares = (0..params.n)
        .map(|i| Share {
            index: i,
            chunks: coded.iter().map(|c| c[i as usize].clone()).collect(),
        })
        .collect();
    (block, shares)
}

#[test]
fn reconstruct_marks_invalid_namespaces_identically() {
    let limits = Limits::default();
    for n in [2, 4, 7, 10, 100] {
        let params = Params::for_validators(n);
        let (block, shares) = byzantine_block(params, 2);
        for share in &shares {
            // Validators cannot tell: every share verifies.
            verify_share(params, block.header(), share.index, share).unwrap();
        }
        let mut first: Option<Block> = None;
        for subset in subsets(params, 4, 5).into_iter().take(40) {
            let given: Vec<Share> = subset.iter().map(|i| shares[*i].clone()).collect();
            let back = reconstruct(params, block.header(), &given, &limits).unwrap();
            assert_eq!(
                back.invalid_namespaces().collect::<Vec<_>>(),
                vec![Namespace(2)]
            );
            assert_eq!(back.namespace(Namespace(1)), block.namespace(Namespace(1)));
            assert_eq!(back.namespace(Namespace(3)), block.namespace(Namespace(3)));
            assert_eq!(back.tx_count(), 3);
            match &first {
                None => first = Some(back),
                Some(first) => assert_eq!(first, &back, "subset {subset:?}"),
            }
        }
    }
}

#[test]
fn a_synced_block_is_checked_against_its_header() {
    let limits = Limits::default();
    for n in [4, 10] {
        let params = Params::for_validators(n);
        let (sent, shares) = byzantine_block(params, 2);
        let header = sent.header().clone();
        // What every honest node reconstructs, with the evidence of namespace 2.
        let block = reconstruct(params, &header, &shares, &limits).unwrap();
        let chunks: Vec<(u16, Chunk)> = shares
            .iter()
            .take(params.k as usize)
            .map(|s| (s.index, s.chunks[1].clone()))
            .collect();
        let entry = header.table.entries()[1];
        let evidence = invalid_encoding_evidence(params, &entry, &chunks, &limits)
            .unwrap()
            .unwrap();
        verify_block(
            params,
            &header,
            &block,
            std::slice::from_ref(&evidence),
            &limits,
        )
        .unwrap();

        // Evidence left out, doubled or about a valid namespace.
        assert_eq!(
            verify_block(params, &header, &block, &[], &limits),
            Err(BlockCheckError::Evidence(Namespace(2)))
        );
        assert_eq!(
            verify_block(
                params,
                &header,
                &block,
                &[evidence.clone(), evidence.clone()],
                &limits
            ),
            Err(BlockCheckError::ExtraEvidence(Namespace(2)))
        );
        let mut other = evidence.clone();
        other.entry = header.table.entries()[0];
        assert_eq!(
            verify_block(params, &header, &block, &[evidence.clone(), other], &limits),
            Err(BlockCheckError::ExtraEvidence(Namespace(1)))
        );

        // One payload byte changed in a valid namespace.
        let mut namespaces = block.namespaces().to_vec();
        let mut payload = namespaces[0].payloads[0].to_vec();
        payload[0] ^= 1;
        namespaces[0].payloads[0] = Bytes::from(payload);
        // The entry's tx_root no longer matches: the block does not even assemble.
        assert_eq!(
            Block::from_parts(header.clone(), namespaces, &limits),
            Err(cortado_types::Error::EntryMismatch(Namespace(1)))
        );

        // The invalid namespace claimed valid (with the payload the leader committed to).
        let mut namespaces = block.namespaces().to_vec();
        namespaces[1] = sent.namespaces()[1].clone();
        let claimed = Block::from_parts(header.clone(), namespaces, &limits).unwrap();
        assert_eq!(
            verify_block(params, &header, &claimed, &[], &limits),
            Err(BlockCheckError::Commitment(Namespace(2)))
        );

        // Another block's header.
        let (other_block, _) = byzantine_block(params, 3);
        assert_eq!(
            verify_block(params, other_block.header(), &block, &[evidence], &limits),
            Err(BlockCheckError::OtherHeader)
        );
    }
}
