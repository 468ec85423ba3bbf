//! Round trips through the SQLite index, in memory and on disk.

use cortado_storage::{Error, Index, Reader};
use cortado_types::{
    Block, BlockContext, ChainId, FinalityCertificate, Hash, Height, Limits, Namespace, Transaction,
};

fn limits() -> Limits {
    Limits::default()
}

/// A block at `height` whose transactions are `(namespace, payload)` in the given order.
fn block(height: Height, parent: Hash, txs: &[(u64, &[u8])]) -> Block {
    let ctx = BlockContext {
        chain_id: ChainId(7),
        height,
        epoch: 0,
        view: height + 10,
        parent_view: height + 9,
        leader: [height as u8; 32],
        timestamp_ms: 1_000 + height,
        parent,
    };
    let txs = txs
        .iter()
        .map(|(ns, p)| Transaction::new(*ns, p.to_vec()))
        .collect();
    Block::build(ctx, txs, &limits()).expect("test block within limits")
}

fn certificate(block: &Block) -> FinalityCertificate {
    FinalityCertificate {
        epoch: 0,
        view: block.header().view,
        parent_view: block.header().parent_view,
        block: block.hash(),
        signature: [block.height() as u8; 48],
    }
}

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
            .insert_finalized(b, &certificate(b), 5_000 + b.height())
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
            .insert_finalized(b, &certificate(b), 99)
            .await
            .expect("same block again is a no-op");
    }
    check_reads(&index, &blocks).await;
}

#[tokio::test]
async fn conflict_detected() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let blocks = filled(&index).await;
    let other = block(3, blocks[2].hash(), &[(1, b"other")]);
    let err = index
        .insert_finalized(&other, &certificate(&other), 0)
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
        .insert_finalized(&blocks[0], &certificate(&blocks[1]), 0)
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
        .insert_finalized(&blocks[4], &certificate(&blocks[4]), 1)
        .await
        .unwrap();
    let other = block(4, blocks[3].hash(), &[]);
    assert!(matches!(
        index
            .insert_finalized(&other, &certificate(&other), 1)
            .await,
        Err(Error::Conflict { height: 4, .. })
    ));
    // The file is in WAL mode.
    let next = block(5, blocks[4].hash(), &[(8, b"late")]);
    index
        .insert_finalized(&next, &certificate(&next), 2)
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
