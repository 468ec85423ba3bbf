//! Round trips through the SQLite index, in memory and on disk.

mod common;

use common::{block, block_with_invalid, certificate, context, limits, params, transactions};
use commonware_codec::Encode;
use cortado_coding::{InvalidEncodingEvidence, build_block, verify_invalid_encoding};
use cortado_storage::{Error, FinalizedBlock, Index, Reader};
use cortado_types::{Block, FinalityCertificate, Hash, Height, Namespace, Transaction, history};

/// Five blocks over many namespaces: block 2 is empty, namespace 5 skips block 3, and the
/// transaction `(5, "dup")` appears in blocks 1 and 4.
fn chain() -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut parent = Hash::ZERO;
    let contents: Vec<Vec<(u64, &[u8])>> = vec![
        vec![(9, b"a"), (5, b"b"), (9, b"c"), (1, b"d"), (5, b"e")],
        vec![(5, b"dup"), (u64::MAX, b"max"), (3, b"x"), (0, b"zero")],
        vec![],
        (0..40u64).map(|ns| (ns * 3, &b"many"[..])).collect(),
        vec![(5, b"dup"), (5, b"f"), (2, b"g")],
    ];
    for (height, txs) in contents.iter().enumerate() {
        let b = block(height as Height, parent, txs);
        parent = b.hash();
        blocks.push(b);
    }
    blocks
}

async fn filled(index: &Index) -> Vec<Block> {
    let blocks = chain();
    for b in &blocks {
        index
            .insert_finalized(b, &certificate(b), &[], 5_000 + b.height())
            .await
            .expect("insert");
    }
    blocks
}

/// Checks every read against the blocks inserted.
async fn check_reads(index: &impl Reader, blocks: &[Block]) {
    assert_eq!(index.latest_height().await.unwrap(), Some(4));
    for b in blocks {
        let (header, cert) = index.header(b.height()).await.unwrap().expect("header");
        assert_eq!(&header, b.header());
        assert_eq!(cert, certificate(b));
        let (back, cert) = index.block(b.height()).await.unwrap().expect("block");
        assert_eq!(&back, b);
        assert_eq!(cert, certificate(b));
    }
    let (latest, _) = index.header_latest().await.unwrap().expect("latest");
    assert_eq!(&latest, blocks[4].header());
    assert!(index.header(5).await.unwrap().is_none());
    assert!(index.block(5).await.unwrap().is_none());
    assert!(index.header(u64::MAX).await.unwrap().is_none());

    let range = index.headers_range(1, 3).await.unwrap();
    let heights: Vec<Height> = range.iter().map(|(h, _)| h.height).collect();
    assert_eq!(heights, vec![1, 2, 3]);
    assert!(index.headers_range(5, 10).await.unwrap().is_empty());
    assert!(index.headers_range(0, 0).await.unwrap().is_empty());
    assert_eq!(index.headers_range(3, 100).await.unwrap().len(), 2);
}

#[tokio::test]
async fn round_trip_in_memory() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    assert_eq!(index.latest_height().await.unwrap(), None);
    assert!(index.header_latest().await.unwrap().is_none());
    let blocks = filled(&index).await;
    check_reads(&index, &blocks).await;
    // Clones share the database.
    check_reads(&index.clone(), &blocks).await;
}

#[tokio::test]
async fn reinsert_is_idempotent() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let blocks = filled(&index).await;
    for b in &blocks {
        index
            .insert_finalized(b, &certificate(b), &[], 99)
            .await
            .expect("same block again is a no-op");
    }
    check_reads(&index, &blocks).await;
}

#[tokio::test]
async fn a_batch_is_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(&dir.path().join("index.sqlite"), limits())
        .await
        .unwrap();
    let blocks = chain();
    let certs: Vec<FinalityCertificate> = blocks.iter().map(certificate).collect();
    let items = |range: std::ops::Range<usize>| -> Vec<FinalizedBlock<'_>> {
        range
            .map(|i| FinalizedBlock {
                block: &blocks[i],
                certificate: &certs[i],
                evidence: &[],
            })
            .collect()
    };
    let hashes = index.insert_finalized_batch(&items(0..3), 7).await.unwrap();
    assert_eq!(hashes.len(), 3);
    for (b, h) in blocks.iter().zip(&hashes) {
        assert_eq!(*h, b.transactions().map(|t| t.hash()).collect::<Vec<_>>());
    }
    // A new block, then one conflicting with a stored height: refused whole.
    let other = block(2, blocks[1].hash(), &[(1, b"other")]);
    let other_cert = certificate(&other);
    let mut bad = items(3..4);
    bad.push(FinalizedBlock {
        block: &other,
        certificate: &other_cert,
        evidence: &[],
    });
    assert!(matches!(
        index.insert_finalized_batch(&bad, 8).await,
        Err(Error::Conflict { height: 2, .. })
    ));
    assert_eq!(
        index.latest_height().await.unwrap(),
        Some(2),
        "block 3 of the refused batch was not written"
    );
    // The rest, overlapping: already stored blocks are no-ops.
    index.insert_finalized_batch(&items(1..5), 9).await.unwrap();
    check_reads(&index, &blocks).await;
}

#[tokio::test]
async fn conflict_detected() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let blocks = filled(&index).await;
    let other = block(3, blocks[2].hash(), &[(1, b"other")]);
    let err = index
        .insert_finalized(&other, &certificate(&other), &[], 0)
        .await
        .expect_err("conflict");
    match err {
        Error::Conflict {
            height,
            stored,
            new,
        } => {
            assert_eq!(height, 3);
            assert_eq!(stored, blocks[3].hash());
            assert_eq!(new, other.hash());
        }
        e => panic!("expected a conflict, got {e}"),
    }
    // Nothing of the refused block leaked in.
    check_reads(&index, &blocks).await;
    let other_tx = Transaction::new(1u64, &b"other"[..]).hash();
    assert!(index.transaction(other_tx).await.unwrap().is_none());
}

#[tokio::test]
async fn descendant_certificate_is_kept_as_given() {
    // A block finalized only through a descendant carries the descendant's certificate.
    let index = Index::open_in_memory(limits()).await.unwrap();
    let blocks = chain();
    index
        .insert_finalized(&blocks[0], &certificate(&blocks[1]), &[], 0)
        .await
        .unwrap();
    let (_, cert) = index.header(blocks[0].height()).await.unwrap().unwrap();
    assert_eq!(cert, certificate(&blocks[1]));
    assert_eq!(cert.block, blocks[1].hash());
}

#[tokio::test]
async fn namespace_block_is_exactly_that_namespace() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let blocks = filled(&index).await;
    for b in &blocks {
        let all: Vec<Transaction> = b.transactions().collect();
        for ns in [0u64, 1, 2, 3, 5, 9, 42, 117, u64::MAX] {
            let ns = Namespace(ns);
            let got = index
                .namespace_block(ns, b.height())
                .await
                .unwrap()
                .expect("finalized height");
            assert_eq!(&got.header, b.header());
            assert_eq!(got.certificate, certificate(b));
            assert_eq!(got.namespace, ns);
            assert!(!got.invalid_encoding);
            assert_eq!(got.evidence, None);
            let want: Vec<(u32, Hash, Vec<u8>)> = all
                .iter()
                .enumerate()
                .filter(|(_, tx)| tx.namespace == ns)
                .map(|(i, tx)| (i as u32, tx.hash(), tx.payload.to_vec()))
                .collect();
            let got: Vec<(u32, Hash, Vec<u8>)> = got
                .transactions
                .iter()
                .map(|t| (t.index, t.hash, t.payload.to_vec()))
                .collect();
            assert_eq!(got, want, "namespace {ns} at height {}", b.height());
        }
    }
    // Block 0's namespace 5: "b" then "e", at indices 1 and 2 (namespaces 1 < 5 < 9).
    let ns5 = index
        .namespace_block(Namespace(5), 0)
        .await
        .unwrap()
        .unwrap();
    let payloads: Vec<&[u8]> = ns5.transactions.iter().map(|t| &t.payload[..]).collect();
    assert_eq!(payloads, vec![&b"b"[..], &b"e"[..]]);
    assert_eq!(ns5.transactions[0].index, 1);
    assert!(
        index
            .namespace_block(Namespace(5), 5)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn namespace_heights_skip_blocks_without_it() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    filled(&index).await;
    let ns5 = Namespace(5);
    assert_eq!(
        index.namespace_heights(ns5, 0, 10).await.unwrap(),
        vec![0, 1, 4]
    );
    assert_eq!(index.namespace_heights(ns5, 1, 1).await.unwrap(), vec![1]);
    assert_eq!(index.namespace_heights(ns5, 2, 10).await.unwrap(), vec![4]);
    assert!(
        index
            .namespace_heights(ns5, 5, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(index.namespace_heights(ns5, 0, 0).await.unwrap().is_empty());
    assert_eq!(
        index.namespace_heights(Namespace(0), 0, 10).await.unwrap(),
        vec![1, 3]
    );
    assert_eq!(
        index
            .namespace_heights(Namespace(u64::MAX), 0, 10)
            .await
            .unwrap(),
        vec![1]
    );
    assert!(
        index
            .namespace_heights(Namespace(4), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn transaction_lookup_keeps_first_location() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let blocks = filled(&index).await;
    // Every transaction of every block is found; a repeated one at its first location.
    for b in &blocks {
        for (i, tx) in b.transactions().enumerate() {
            let loc = index
                .transaction(tx.hash())
                .await
                .unwrap()
                .expect("indexed");
            assert_eq!(loc.hash, tx.hash());
            assert_eq!(loc.namespace, tx.namespace);
            if loc.height == b.height() {
                assert_eq!(loc.index as usize, i);
                assert_eq!(loc.block_hash, b.hash());
            } else {
                assert!(loc.height < b.height());
            }
        }
    }
    let dup = Transaction::new(5u64, &b"dup"[..]).hash();
    let loc = index.transaction(dup).await.unwrap().unwrap();
    // Block 1 is ordered 0:"zero", 3:"x", 5:"dup", MAX:"max".
    assert_eq!((loc.height, loc.index), (1, 2));
    assert_eq!(loc.block_hash, blocks[1].hash());
    assert!(index.transaction(Hash([7; 32])).await.unwrap().is_none());
}

#[tokio::test]
async fn bundles_are_read_from_their_markers_whatever_the_indexing_order() {
    let bundle = cortado_types::Bundle::new(vec![
        Transaction::new(1u64, &b"buy"[..]),
        Transaction::new(2u64, &b"sell"[..]),
    ])
    .unwrap();
    let marker = bundle.marker();
    let other = cortado_types::Bundle::new(vec![Transaction::new(3u64, &b"solo"[..])]).unwrap();
    let other_marker = other.marker();
    // Height 1: the bundle whole. Height 2: the same again (a faulty leader repeats it).
    // Height 3: a marker whose member is missing from its block. Indexed newest first.
    let contents: Vec<Vec<(u64, &[u8])>> = vec![
        vec![(9, b"genesis")],
        vec![(1, b"buy"), (2, b"sell"), (u64::MAX, &marker.payload)],
        vec![(1, b"buy"), (2, b"sell"), (u64::MAX, &marker.payload)],
        vec![(4, b"not solo"), (u64::MAX, &other_marker.payload)],
    ];
    let mut blocks = Vec::new();
    let mut parent = Hash::ZERO;
    for (height, txs) in contents.iter().enumerate() {
        let b = block(height as Height, parent, txs);
        parent = b.hash();
        blocks.push(b);
    }
    let index = Index::open_in_memory(limits()).await.unwrap();
    for b in blocks.iter().rev() {
        index
            .insert_finalized(b, &certificate(b), &[], 1)
            .await
            .unwrap();
    }
    assert_eq!(
        index.bundle(bundle.hash()).await.unwrap(),
        Some((1, bundle.member_hashes())),
        "the earliest block holding the marker and every member"
    );
    assert_eq!(index.bundle(other.hash()).await.unwrap(), None);
    assert_eq!(index.bundle(bundle.member_hashes()[0]).await.unwrap(), None);
    // The marker is ordinary namespace data too, provable like any other.
    let loc = index.transaction(bundle.hash()).await.unwrap().unwrap();
    assert_eq!((loc.height, loc.namespace), (1, Namespace(u64::MAX)));
}

#[tokio::test]
async fn reopening_a_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.sqlite");
    let blocks = {
        let index = Index::open(&path, limits()).await.unwrap();
        let blocks = filled(&index).await;
        check_reads(&index, &blocks).await;
        index.close().await;
        blocks
    };
    let index = Index::open(&path, limits()).await.unwrap();
    check_reads(&index, &blocks).await;
    let dup = Transaction::new(5u64, &b"dup"[..]).hash();
    assert_eq!(index.transaction(dup).await.unwrap().unwrap().height, 1);
    assert_eq!(
        index.namespace_heights(Namespace(5), 0, 10).await.unwrap(),
        vec![0, 1, 4]
    );
    // A replay after restart is still a no-op, and a conflict is still caught.
    index
        .insert_finalized(&blocks[4], &certificate(&blocks[4]), &[], 1)
        .await
        .unwrap();
    let other = block(4, blocks[3].hash(), &[]);
    assert!(matches!(
        index
            .insert_finalized(&other, &certificate(&other), &[], 1)
            .await,
        Err(Error::Conflict { height: 4, .. })
    ));
    // The file is in WAL mode.
    let next = block(5, blocks[4].hash(), &[(8, b"late")]);
    index
        .insert_finalized(&next, &certificate(&next), &[], 2)
        .await
        .unwrap();
    assert!(dir.path().join("index.sqlite-wal").exists());
    index.close().await;
    let index = Index::open(&path, limits()).await.unwrap();
    assert_eq!(index.latest_height().await.unwrap(), Some(5));
}

#[tokio::test]
async fn concurrent_reads_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(&dir.path().join("index.sqlite"), limits())
        .await
        .unwrap();
    let blocks = filled(&index).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let index = index.clone();
        let blocks = blocks.clone();
        tasks.push(tokio::spawn(
            async move { check_reads(&index, &blocks).await },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Blocks 0..=3 where block 1 holds namespace 5 invalidly encoded (between valid 2 and 9), and
/// block 3 holds namespace `u64::MAX` invalidly encoded next to a valid namespace 0.
async fn filled_with_invalid(index: &Index) -> (Vec<Block>, Vec<InvalidEncodingEvidence>) {
    let b0 = block(0, Hash::ZERO, &[(5, b"ok")]);
    let (b1, e1) = block_with_invalid(
        1,
        b0.hash(),
        &[(9, b"after"), (5, b"bad-1"), (2, b"before"), (5, b"bad-2")],
        5,
    );
    let b2 = block(2, b1.hash(), &[(5, b"fine")]);
    let (b3, e3) = block_with_invalid(3, b2.hash(), &[(u64::MAX, b"m"), (0, b"z")], u64::MAX);
    let blocks = vec![b0, b1, b2, b3];
    let evidence = [vec![], vec![e1.clone()], vec![], vec![e3.clone()]];
    for (b, e) in blocks.iter().zip(&evidence) {
        index
            .insert_finalized(b, &certificate(b), e, 0)
            .await
            .expect("insert");
    }
    (blocks, vec![e1, e3])
}

#[tokio::test]
async fn invalid_namespaces_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.sqlite");
    let index = Index::open(&path, limits()).await.unwrap();
    let (blocks, evidence) = filled_with_invalid(&index).await;
    index.close().await;
    let index = Index::open(&path, limits()).await.unwrap();
    for b in &blocks {
        let (back, _) = index.block(b.height()).await.unwrap().expect("block");
        assert_eq!(&back, b);
    }
    let (b1, _) = index.block(1).await.unwrap().unwrap();
    assert_eq!(b1.invalid_namespaces().collect::<Vec<_>>(), [Namespace(5)]);
    // The invalid namespace's transactions are not indexed: it counts as empty.
    assert_eq!(
        b1.transactions().map(|t| t.payload).collect::<Vec<_>>(),
        [&b"before"[..], &b"after"[..]]
    );
    let bad = Transaction::new(5u64, &b"bad-1"[..]).hash();
    assert!(index.transaction(bad).await.unwrap().is_none());
    // Indices are slots of the header's table: the invalid namespace keeps its two (index 1
    // and 2, empty), so the transaction after it is at 3, as a verifier derives from the
    // header alone (schema 6; before, it was at 1).
    let after = Transaction::new(9u64, &b"after"[..]).hash();
    let at = index.transaction(after).await.unwrap().expect("indexed");
    assert_eq!((at.height, at.index), (1, 3));
    let (b3, _) = index.block(3).await.unwrap().unwrap();
    assert_eq!(
        b3.invalid_namespaces().collect::<Vec<_>>(),
        [Namespace(u64::MAX)]
    );
    // A block with an invalid namespace still walks as holding it.
    assert_eq!(
        index.namespace_heights(Namespace(5), 0, 10).await.unwrap(),
        vec![0, 1, 2]
    );
    // Replaying the insert with its evidence is a no-op; other evidence is still refused.
    index
        .insert_finalized(&blocks[1], &certificate(&blocks[1]), &evidence[..1], 0)
        .await
        .unwrap();
    assert!(matches!(
        index
            .insert_finalized(&blocks[1], &certificate(&blocks[1]), &evidence[1..], 0)
            .await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn namespace_block_of_an_invalid_namespace_carries_its_evidence() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let (blocks, evidence) = filled_with_invalid(&index).await;
    for (height, ns, evidence) in [(1, 5, &evidence[0]), (3, u64::MAX, &evidence[1])] {
        let got = index
            .namespace_block(Namespace(ns), height)
            .await
            .unwrap()
            .expect("finalized");
        assert_eq!(&got.header, blocks[height as usize].header());
        assert!(got.invalid_encoding);
        assert!(got.transactions.is_empty());
        let stored = got.evidence.expect("evidence of the verdict");
        assert_eq!(stored.bytes, evidence.encode());
        assert_eq!(stored.chunks, params().k as usize);
        let decoded = stored.decode(params(), &limits()).expect("decodes");
        assert_eq!(&decoded, evidence);
        assert!(verify_invalid_encoding(params(), &decoded, &limits()));
    }
    // The valid neighbours are served as before; an absent namespace has nothing.
    let valid = index
        .namespace_block(Namespace(2), 1)
        .await
        .unwrap()
        .unwrap();
    assert!(!valid.invalid_encoding && valid.evidence.is_none());
    assert_eq!(valid.transactions.len(), 1);
    assert_eq!(valid.transactions[0].index, 0);
    let absent = index
        .namespace_block(Namespace(3), 1)
        .await
        .unwrap()
        .unwrap();
    assert!(!absent.invalid_encoding && absent.evidence.is_none());
    assert!(absent.transactions.is_empty());
    // Namespace 5 is valid in the blocks around the invalid one.
    let ns5 = index
        .namespace_block(Namespace(5), 2)
        .await
        .unwrap()
        .unwrap();
    assert!(!ns5.invalid_encoding);
    assert_eq!(&ns5.transactions[0].payload[..], b"fine");
}

#[tokio::test]
async fn evidence_must_match_the_invalid_namespaces() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let (bad, evidence) = block_with_invalid(0, Hash::ZERO, &[(1, b"a"), (5, b"b")], 5);
    let (_, other) = block_with_invalid(0, Hash::ZERO, &[(1, b"a"), (5, b"c")], 5);
    let (_, of_one) = block_with_invalid(0, Hash::ZERO, &[(1, b"a"), (5, b"b")], 1);
    let good = block(0, Hash::ZERO, &[(1, b"a"), (5, b"b")]);
    let cert = certificate(&bad);
    let cases: Vec<(&Block, Vec<InvalidEncodingEvidence>, &str)> = vec![
        (&bad, vec![], "without evidence"),
        (&bad, vec![evidence.clone(), evidence.clone()], "two items"),
        (&bad, vec![other], "another table entry"),
        (&bad, vec![evidence.clone(), of_one], "validly encoded"),
        (&good, vec![evidence.clone()], "validly encoded"),
    ];
    for (block, evidence, needle) in cases {
        match index.insert_finalized(block, &cert, &evidence, 0).await {
            Err(Error::Invalid(message)) => {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}")
            }
            other => panic!("expected Invalid ({needle}), got {other:?}"),
        }
    }
    let (absent, _) = block_with_invalid(0, Hash::ZERO, &[(1, b"a"), (5, b"b")], 1);
    let (_, of_seven) = block_with_invalid(0, Hash::ZERO, &[(7, b"a")], 7);
    assert!(matches!(
        index.insert_finalized(&absent, &cert, &[of_seven], 0).await,
        Err(Error::Invalid(m)) if m.contains("does not hold")
    ));
    // Nothing was indexed by the refusals; the right evidence is accepted.
    assert_eq!(index.latest_height().await.unwrap(), None);
    index
        .insert_finalized(&bad, &cert, &[evidence], 0)
        .await
        .unwrap();
    assert_eq!(index.block(0).await.unwrap().unwrap().0, bad);
}

#[tokio::test]
async fn headers_only_index_serves_headers_and_history() {
    // What a validator that does not reconstruct blocks stores: headers and certificates.
    let index = Index::open_in_memory(limits()).await.unwrap();
    let mut headers = Vec::new();
    let mut ctx = context(0, Hash::ZERO);
    for height in 0..10u64 {
        ctx.height = height;
        let payload = height.to_be_bytes();
        let (b, _) = build_block(
            params(),
            ctx.clone(),
            transactions(&[(1, &payload), (2, b"xy")]),
            &limits(),
        )
        .unwrap();
        ctx.parent = b.hash();
        ctx.history = b.header().child_history();
        index
            .insert_header(b.header(), &certificate(&b), 7)
            .await
            .unwrap();
        // Idempotent.
        index
            .insert_header(b.header(), &certificate(&b), 8)
            .await
            .unwrap();
        headers.push((b.header().clone(), certificate(&b)));
    }
    assert_eq!(index.latest_height().await.unwrap(), Some(9));
    for (header, cert) in &headers {
        let (stored, stored_cert) = index.header(header.height).await.unwrap().unwrap();
        assert_eq!(&stored, header);
        assert_eq!(&stored_cert, cert);
    }
    let proof = index.history_proof(2, 9).await.unwrap().expect("indexed");
    assert_eq!(
        history::verify(&headers[9].0.history, 9, headers[2].0.hash(), &proof),
        Ok(())
    );
    // No transaction data was stored.
    let tx = Transaction::new(2u64, &b"xy"[..]).hash();
    assert!(index.transaction(tx).await.unwrap().is_none());
    // Another header at a stored height is a conflict; a header without its peaks is refused.
    let (other, _) = build_block(params(), context(3, Hash::ZERO), Vec::new(), &limits()).unwrap();
    assert!(matches!(
        index
            .insert_header(other.header(), &certificate(&other), 0)
            .await,
        Err(Error::Conflict { height: 3, .. })
    ));
    let mut bare = context(12, Hash::ZERO);
    bare.history = Vec::new();
    let (bare, _) = build_block(params(), bare, Vec::new(), &limits()).unwrap();
    assert!(matches!(
        index.insert_header(bare.header(), &certificate(&bare), 0).await,
        Err(Error::Invalid(m)) if m.contains("history peaks")
    ));
}

fn sender(seed: u8) -> cortado_types::SenderKey {
    cortado_types::SenderKey::from_bytes(&[seed; 32]).unwrap()
}

fn signed(
    key: u8,
    source: u64,
    destination: u64,
    sequence: u64,
    body: &str,
) -> cortado_types::Envelope {
    cortado_types::Envelope::sign(
        context(0, Hash::ZERO).chain_id,
        &sender(key),
        Namespace(source),
        Namespace(destination),
        sequence,
        bytes::Bytes::from_static(b"r"),
        bytes::Bytes::copy_from_slice(body.as_bytes()),
    )
}

fn message(source: u64, destination: u64, sequence: u64, body: &str) -> Vec<u8> {
    signed(5, source, destination, sequence, body)
        .encode()
        .to_vec()
}

#[tokio::test]
async fn inbox_indexes_messages_by_destination_first_wins() {
    use cortado_storage::InboxQuery;
    let index = Index::open_in_memory(limits()).await.unwrap();
    let m = |s, d, q, b| message(s, d, q, b);
    let (a0, b0, a1) = (m(10, 20, 0, "a0"), m(11, 20, 0, "b0"), m(10, 20, 1, "a1"));
    let dup = m(10, 20, 1, "a1 again");
    let spoofed = m(10, 20, 2, "posted in 12");
    let other = m(10, 21, 0, "to 21");
    let a3 = m(10, 20, 3, "a3");
    // A stranger names the sender's address with its own signature, taking number 1 before
    // the sender's own message 1 is final: not a message, so it takes nothing.
    let squat = cortado_types::Envelope {
        sender: sender(5).address(),
        ..signed(66, 10, 20, 1, "squat")
    }
    .encode()
    .to_vec();
    // Signed by the stranger itself: its own stream, not the sender's.
    let own = signed(66, 10, 20, 1, "mallory's own");
    let own = own.encode().to_vec();
    let contents: Vec<Vec<(u64, &[u8])>> = vec![
        vec![
            (10, &a0),
            (11, &b0),
            (10, b"plain"),
            (12, &spoofed),
            (10, &squat),
            (10, &own),
        ],
        vec![(10, &a1), (10, &other)],
        vec![(10, &dup), (10, &a3)],
    ];
    let mut parent = Hash::ZERO;
    for (height, txs) in contents.iter().enumerate() {
        let b = block(height as Height, parent, txs);
        parent = b.hash();
        index
            .insert_finalized(&b, &certificate(&b), &[], 0)
            .await
            .unwrap();
    }
    let summary = |msgs: Vec<cortado_storage::IndexedMessage>| -> Vec<(u64, u64, Height, String)> {
        msgs.into_iter()
            .map(|m| {
                (
                    m.envelope.source.get(),
                    m.envelope.sequence,
                    m.height,
                    String::from_utf8(m.envelope.body.to_vec()).unwrap(),
                )
            })
            .collect()
    };
    // One source by sequence: the gap at 2 is visible, the duplicate is not indexed.
    let from_10 = index
        .inbox(
            Namespace(20),
            InboxQuery::Sender {
                source: Namespace(10),
                sender: sender(5).address(),
                from_sequence: 0,
            },
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        summary(from_10),
        vec![
            (10, 0, 0, "a0".into()),
            (10, 1, 1, "a1".into()),
            (10, 3, 2, "a3".into())
        ]
    );
    // Every source in finalization order, from a height, bounded.
    let all = index
        .inbox(
            Namespace(20),
            InboxQuery::All {
                from_height: 0,
                source: None,
            },
            100,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 5, "the forged envelope is not a message");
    assert_eq!(
        summary(all)[..3],
        [
            (10, 0, 0, "a0".into()),
            (10, 1, 0, "mallory's own".into()),
            (11, 0, 0, "b0".into())
        ]
    );
    let mallory = index
        .inbox(
            Namespace(20),
            InboxQuery::Sender {
                source: Namespace(10),
                sender: sender(66).address(),
                from_sequence: 0,
            },
            100,
        )
        .await
        .unwrap();
    assert_eq!(summary(mallory), vec![(10, 1, 0, "mallory's own".into())]);
    let later = index
        .inbox(
            Namespace(20),
            InboxQuery::All {
                from_height: 1,
                source: None,
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(summary(later), vec![(10, 1, 1, "a1".into())]);
    assert_eq!(
        index
            .inbox(
                Namespace(21),
                InboxQuery::All {
                    from_height: 0,
                    source: None,
                },
                10
            )
            .await
            .unwrap()
            .len(),
        1
    );
    // Heights holding messages, without payloads, and one height's messages.
    let all = index
        .inbox(
            Namespace(20),
            InboxQuery::All {
                from_height: 0,
                source: None,
            },
            100,
        )
        .await
        .unwrap();
    let mut heights: Vec<Height> = all.iter().map(|m| m.height).collect();
    heights.dedup();
    assert!(heights.len() > 1, "{heights:?}");
    assert_eq!(
        index.inbox_heights(Namespace(20), 0, 100).await.unwrap(),
        heights
    );
    assert_eq!(
        index
            .inbox_heights(Namespace(20), heights[0] + 1, 1)
            .await
            .unwrap(),
        vec![heights[1]]
    );
    assert!(
        index
            .inbox_heights(Namespace(99), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    for h in &heights {
        let at = index
            .inbox(Namespace(20), InboxQuery::AtHeight { height: *h }, 100)
            .await
            .unwrap();
        let expected: Vec<_> = all.iter().filter(|m| m.height == *h).cloned().collect();
        assert_eq!(at, expected);
    }
}
