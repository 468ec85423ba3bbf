//! Everything that must be rejected: tampered shares and chunks, false namespace reads, forged
//! absence proofs, headers that cannot head a block.

mod common;

use bytes::Bytes;
use common::{context, pick, transactions};
use cortado_coding::{
    AbsenceProof, DecodeError, NamespaceProof, Params, ShareError, build_block, check_header,
    decode_namespace, prove_namespace, reconstruct, verify_absence, verify_namespace, verify_share,
};
use cortado_types::{Block, Error, Hash, Header, Limits, Namespace, NamespaceTable};

fn sample(n: usize) -> (Params, Block, Vec<cortado_coding::Share>) {
    let params = Params::for_validators(n);
    let shape = vec![
        (10, vec![5, 6, 7]),
        (20, vec![100]),
        (30, vec![1, 1]),
        (40, vec![0, 9]),
        (50, vec![64]),
    ];
    let (block, shares) = build_block(
        params,
        context(),
        transactions(&shape, 1),
        &Limits::default(),
    )
    .unwrap();
    (params, block, shares)
}

#[test]
fn tampered_chunk_is_rejected() {
    let (params, block, shares) = sample(7);
    let mut share = shares[3].clone();
    let mut data = share.chunks[2].data.to_vec();
    data[0] ^= 1;
    share.chunks[2].data = Bytes::from(data);
    assert_eq!(
        verify_share(params, block.header(), 3, &share),
        Err(ShareError::BadChunk(Namespace(30)))
    );
    // Decoding ignores it: with it, only k - 1 chunks verify.
    let entry = &block.header().table.entries()[2];
    let mut given = vec![(3u16, share.chunks[2].clone())];
    given.extend(pick(
        &shares
            .iter()
            .map(|s| s.chunks[2].clone())
            .collect::<Vec<_>>(),
        &[0, 1],
    ));
    assert_eq!(
        decode_namespace(params, entry, &given, &Limits::default()),
        Err(DecodeError::NotEnoughChunks { needed: 3, have: 2 })
    );
}

#[test]
fn chunk_under_wrong_index_is_rejected() {
    let (params, block, shares) = sample(7);
    let mut share = shares[4].clone();
    share.index = 5;
    assert_eq!(
        verify_share(params, block.header(), 5, &share),
        Err(ShareError::BadChunk(Namespace(10)))
    );
    assert_eq!(
        verify_share(params, block.header(), 4, &share),
        Err(ShareError::WrongIndex {
            expected: 4,
            got: 5
        })
    );
    share.index = 7;
    assert_eq!(
        verify_share(params, block.header(), 7, &share),
        Err(ShareError::IndexOutOfRange { index: 7, n: 7 })
    );
}

#[test]
fn truncated_or_extended_path_is_rejected() {
    let (params, block, shares) = sample(10);
    let mut share = shares[9].clone();
    share.chunks[1].path.pop();
    assert_eq!(
        verify_share(params, block.header(), 9, &share),
        Err(ShareError::BadChunk(Namespace(20)))
    );
    let mut share = shares[9].clone();
    share.chunks[1].path.push(Hash::ZERO);
    assert_eq!(
        verify_share(params, block.header(), 9, &share),
        Err(ShareError::BadChunk(Namespace(20)))
    );
}

#[test]
fn share_with_a_missing_or_extra_chunk_is_rejected() {
    let (params, block, shares) = sample(4);
    let mut share = shares[0].clone();
    share.chunks.pop();
    assert_eq!(
        verify_share(params, block.header(), 0, &share),
        Err(ShareError::ChunkCount {
            expected: 5,
            got: 4
        })
    );
    let mut share = shares[0].clone();
    share.chunks.push(share.chunks[0].clone());
    assert_eq!(
        verify_share(params, block.header(), 0, &share),
        Err(ShareError::ChunkCount {
            expected: 5,
            got: 6
        })
    );
}

#[test]
fn reordered_chunks_are_rejected() {
    let (params, block, shares) = sample(4);
    let mut share = shares[1].clone();
    share.chunks.swap(0, 1);
    assert_eq!(
        verify_share(params, block.header(), 1, &share),
        Err(ShareError::BadChunk(Namespace(10)))
    );
}

#[test]
fn header_with_wrong_commitment_is_rejected() {
    let (params, block, shares) = sample(4);
    let mut header = block.header().clone();
    header.payload_commitment = Hash([1; 32]);
    assert_eq!(
        verify_share(params, &header, 0, &shares[0]),
        Err(ShareError::BadHeader)
    );
    assert!(matches!(
        reconstruct(params, &header, &shares, &Limits::default()),
        Err(DecodeError::Block(Error::CommitmentMismatch { .. }))
    ));
    assert!(matches!(
        check_header(&header, &Limits::default()),
        Err(Error::CommitmentMismatch { .. })
    ));
    assert_eq!(check_header(block.header(), &Limits::default()), Ok(()));
}

fn with_table(header: &Header, entries: Vec<cortado_types::NamespaceEntry>) -> Header {
    let mut header = header.clone();
    header.table = NamespaceTable::new(entries).unwrap();
    header.payload_commitment = header.table.root();
    header
}

#[test]
fn check_header_enforces_limits() {
    let (_, block, _) = sample(4);
    let header = block.header();
    let limits = Limits::default();
    let mut entries = header.table.entries().to_vec();
    entries[1].tx_count = 0;
    assert_eq!(
        check_header(&with_table(header, entries), &limits),
        Err(Error::EmptyNamespace(Namespace(20)))
    );
    let mut entries = header.table.entries().to_vec();
    entries[1].byte_len = limits.block_bytes_max as u64;
    assert!(matches!(
        check_header(&with_table(header, entries), &limits),
        Err(Error::BlockTooLarge { .. })
    ));
    let mut entries = header.table.entries().to_vec();
    entries[1].tx_count = u32::MAX;
    assert!(matches!(
        check_header(&with_table(header, entries), &limits),
        Err(Error::TooManyTransactions { .. })
    ));
    let small = Limits {
        namespaces_per_block_max: 4,
        ..limits
    };
    assert!(matches!(
        check_header(header, &small),
        Err(Error::TooManyNamespaces { count: 5, limit: 4 })
    ));
}

#[test]
fn namespace_reads_verify() {
    for n in [1, 4, 10] {
        let (params, block, _) = sample(n);
        for data in block.namespaces() {
            let proof = prove_namespace(block.header(), data.namespace).unwrap();
            assert_eq!(
                verify_namespace(
                    params,
                    block.header(),
                    data.namespace,
                    &data.payloads,
                    &proof
                ),
                Ok(())
            );
        }
    }
}

fn read(block: &Block, namespace: u64) -> (Vec<Bytes>, NamespaceProof) {
    let payloads = block
        .namespace(Namespace(namespace))
        .unwrap()
        .payloads
        .clone();
    (
        payloads,
        prove_namespace(block.header(), Namespace(namespace)).unwrap(),
    )
}

#[test]
fn false_namespace_reads_are_rejected() {
    let (params, block, _) = sample(4);
    let header = block.header();
    let ns = Namespace(10);
    let (payloads, proof) = read(&block, 10);
    let check = |payloads: &[Bytes], proof: &NamespaceProof| {
        verify_namespace(params, header, ns, payloads, proof)
    };
    // An omitted transaction.
    assert!(check(&payloads[..2], &proof).is_err());
    // A reordered pair.
    let mut swapped = payloads.clone();
    swapped.swap(0, 1);
    assert!(check(&swapped, &proof).is_err());
    // An altered byte (same counts).
    let mut altered = payloads.clone();
    altered[2] = Bytes::from(vec![0u8; altered[2].len()]);
    assert!(check(&altered, &proof).is_err());
    // An extra transaction, with a proof whose counts were edited to match.
    let mut extra = payloads.clone();
    extra.push(Bytes::from_static(b"x"));
    let mut edited = proof.clone();
    edited.entry.tx_count += 1;
    edited.entry.byte_len += 1;
    assert!(check(&extra, &edited).is_err());
    // Another namespace's proof and payloads.
    let (other_payloads, other_proof) = read(&block, 20);
    assert!(check(&other_payloads, &other_proof).is_err());
    // Wrong table length, wrong position, truncated path.
    let mut wrong = proof.clone();
    wrong.table_len = 4;
    assert!(check(&payloads, &wrong).is_err());
    let mut wrong = proof.clone();
    wrong.position = 1;
    assert!(check(&payloads, &wrong).is_err());
    let mut wrong = proof.clone();
    wrong.path.pop();
    assert!(check(&payloads, &wrong).is_err());
    // The right proof against another header.
    let (_, other_block, _) = sample(7);
    assert!(verify_namespace(params, other_block.header(), ns, &payloads, &proof).is_err());
    // The right data under other coding parameters.
    assert!(verify_namespace(Params::for_validators(7), header, ns, &payloads, &proof).is_err());
    // And the honest read still verifies.
    assert_eq!(check(&payloads, &proof), Ok(()));
}

#[test]
fn absence_proofs_verify() {
    let (_, block, _) = sample(4);
    let header = block.header();
    for absent in [0u64, 9, 11, 25, 45, 51, u64::MAX] {
        let proof = prove_namespace(header, Namespace(absent)).unwrap_err();
        assert_eq!(
            verify_absence(header, Namespace(absent), &proof),
            Ok(()),
            "{absent}"
        );
    }
    let empty = build_block(
        Params::for_validators(4),
        context(),
        vec![],
        &Limits::default(),
    )
    .unwrap()
    .0;
    let proof = prove_namespace(empty.header(), Namespace(5)).unwrap_err();
    assert_eq!(
        proof,
        AbsenceProof {
            below: None,
            above: None,
            table_len: 0
        }
    );
    assert_eq!(verify_absence(empty.header(), Namespace(5), &proof), Ok(()));
    // An empty-table proof against a non-empty header fails.
    assert!(verify_absence(header, Namespace(5), &proof).is_err());
}

#[test]
fn forged_absence_proofs_are_rejected() {
    let (_, block, _) = sample(4);
    let header = block.header();
    let presence = |ns: u64| prove_namespace(header, Namespace(ns)).unwrap();
    // The namespace is present: its neighbours are not adjacent.
    let forged = AbsenceProof {
        below: Some(presence(20)),
        above: Some(presence(40)),
        table_len: 5,
    };
    assert!(verify_absence(header, Namespace(30), &forged).is_err());
    // Neighbours not adjacent around an absent namespace.
    assert!(verify_absence(header, Namespace(25), &forged).is_err());
    // The namespace itself as a neighbour.
    let forged = AbsenceProof {
        below: Some(presence(30)),
        above: Some(presence(40)),
        table_len: 5,
    };
    assert!(verify_absence(header, Namespace(30), &forged).is_err());
    // Wrong table length: "below is last".
    let mut last = presence(40);
    last.table_len = 4;
    let forged = AbsenceProof {
        below: Some(last),
        above: None,
        table_len: 4,
    };
    assert!(verify_absence(header, Namespace(45), &forged).is_err());
    // Below without above, not last.
    let forged = AbsenceProof {
        below: Some(presence(40)),
        above: None,
        table_len: 5,
    };
    assert!(verify_absence(header, Namespace(45), &forged).is_err());
    // Above without below, not first.
    let forged = AbsenceProof {
        below: None,
        above: Some(presence(20)),
        table_len: 5,
    };
    assert!(verify_absence(header, Namespace(15), &forged).is_err());
    // Swapped neighbours.
    let honest = prove_namespace(header, Namespace(25)).unwrap_err();
    let forged = AbsenceProof {
        below: honest.above.clone(),
        above: honest.below.clone(),
        table_len: 5,
    };
    assert!(verify_absence(header, Namespace(25), &forged).is_err());
    // No neighbours for a non-empty table.
    let forged = AbsenceProof {
        below: None,
        above: None,
        table_len: 5,
    };
    assert!(verify_absence(header, Namespace(25), &forged).is_err());
    // A neighbour whose entry was edited.
    let mut edited = honest.clone();
    edited.below.as_mut().unwrap().entry.namespace = Namespace(24);
    assert!(verify_absence(header, Namespace(25), &edited).is_err());
    // The honest proof for another namespace.
    assert!(verify_absence(header, Namespace(35), &honest).is_err());
    assert_eq!(verify_absence(header, Namespace(25), &honest), Ok(()));
}

#[test]
fn table_length_is_bound_by_the_header_not_the_path() {
    // Leaf 0 of a 4-entry table also verifies as leaf 0 of a 3-entry one (RFC 6962 shapes):
    // the verifier must take the table length from the header.
    let (params, block, _) = sample(4);
    let mut entries = block.header().table.entries().to_vec();
    entries.truncate(4);
    let header = with_table(block.header(), entries);
    let mut proof = prove_namespace(&header, Namespace(10)).unwrap();
    proof.table_len = 3;
    assert!(cortado_types::merkle::verify(
        b"_CORTADO_TABLE",
        &header.payload_commitment,
        proof.entry.leaf(),
        0,
        3,
        &proof.path
    ));
    let payloads = block.namespace(Namespace(10)).unwrap().payloads.clone();
    assert!(verify_namespace(params, &header, Namespace(10), &payloads, &proof).is_err());
}
