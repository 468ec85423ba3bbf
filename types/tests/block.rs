//! Block building, validation and decoding of hostile input.

use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use cortado_types::{
    Block, BlockContext, ChainId, Error, Hash, Limits, Namespace, NamespaceData, Transaction,
};
use proptest::prelude::*;

/// A stand-in namespace commitment (the real one is the erasure code's, in cortado-coding).
fn commit(data: &NamespaceData) -> Hash {
    Hash::digest(b"test", &[&data.encode_payloads()])
}

fn ctx() -> BlockContext {
    BlockContext {
        chain_id: ChainId(9),
        height: 1,
        epoch: 0,
        view: 1,
        parent_view: 0,
        leader: [0u8; 32],
        timestamp_ms: 1,
        parent: Hash::ZERO,
        history: Vec::new(),
    }
}

#[test]
fn groups_by_namespace_ascending_keeping_order() {
    let txs = vec![
        Transaction::new(5, &b"a"[..]),
        Transaction::new(1, &b"b"[..]),
        Transaction::new(5, &b"c"[..]),
        Transaction::new(3, &b"d"[..]),
        Transaction::new(1, &b"e"[..]),
    ];
    let block = Block::build(ctx(), txs, &Limits::default(), commit).unwrap();
    let order: Vec<(u64, Bytes)> = block
        .transactions()
        .map(|t| (t.namespace.get(), t.payload))
        .collect();
    assert_eq!(
        order,
        vec![
            (1, Bytes::from_static(b"b")),
            (1, Bytes::from_static(b"e")),
            (3, Bytes::from_static(b"d")),
            (5, Bytes::from_static(b"a")),
            (5, Bytes::from_static(b"c")),
        ]
    );
    assert_eq!(block.namespace(Namespace(3)).unwrap().payloads.len(), 1);
    assert!(block.namespace(Namespace(4)).is_none());
    assert_eq!(
        block.header().payload_commitment,
        block.header().table.root()
    );
}

#[test]
fn limits_enforced() {
    let limits = Limits {
        tx_bytes_max: 4,
        block_bytes_max: 8,
        namespaces_per_block_max: 2,
        txs_per_block_max: 10,
    };
    assert!(matches!(
        Block::build(
            ctx(),
            vec![Transaction::new(1, vec![0u8; 5])],
            &limits,
            commit
        ),
        Err(Error::TransactionTooLarge { size: 5, limit: 4 })
    ));
    assert!(matches!(
        Block::build(
            ctx(),
            vec![Transaction::new(1, vec![0u8; 4]); 3],
            &limits,
            commit
        ),
        Err(Error::BlockTooLarge { .. })
    ));
    assert!(matches!(
        Block::build(
            ctx(),
            (0..3).map(|i| Transaction::new(i, vec![0u8; 1])).collect(),
            &limits,
            commit
        ),
        Err(Error::TooManyNamespaces { count: 3, limit: 2 })
    ));
}

#[test]
fn tampered_block_rejected() {
    let block = Block::build(
        ctx(),
        vec![
            Transaction::new(1, &b"abc"[..]),
            Transaction::new(2, &b"xyz"[..]),
        ],
        &Limits::default(),
        commit,
    )
    .unwrap();
    let mut enc = block.encode().to_vec();
    // Flip a byte of the header's payload commitment: it no longer matches the table's root.
    // (Whether the data matches each namespace commitment is cortado-coding's check.)
    let at = 1 + 1 + 5 * 8 + 32 + 8 + 32;
    enc[at] ^= 1;
    assert!(Block::decode_cfg(Bytes::from(enc.clone()), &Limits::default()).is_err());
    enc[at] ^= 1;
    // An extra payload byte changes the namespace's byte length: rejected.
    let mut longer_payload = enc.clone();
    let last = longer_payload.len() - 1;
    longer_payload[last - 3] = 4;
    assert!(Block::decode_cfg(Bytes::from(longer_payload), &Limits::default()).is_err());
    // Truncation is an error, never a panic.
    for cut in 0..enc.len() {
        assert!(Block::decode_cfg(Bytes::from(enc[..cut].to_vec()), &Limits::default()).is_err());
    }
    // Extra bytes are rejected too.
    let mut longer = block.encode().to_vec();
    longer.push(0);
    assert!(Block::decode_cfg(Bytes::from(longer), &Limits::default()).is_err());
}

proptest! {
    #[test]
    fn round_trip(txs in proptest::collection::vec((0u64..6, proptest::collection::vec(any::<u8>(), 0..40)), 0..30)) {
        let txs: Vec<Transaction> = txs.into_iter().map(|(n, p)| Transaction::new(n, p)).collect();
        let block = Block::build(ctx(), txs.clone(), &Limits::default(), commit).unwrap();
        prop_assert_eq!(block.tx_count(), txs.len());
        let back = Block::decode_cfg(block.encode(), &Limits::default()).unwrap();
        prop_assert_eq!(back.hash(), block.hash());
        prop_assert_eq!(back, block);
    }

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Block::decode_cfg(Bytes::from(bytes), &Limits::default());
    }
}

#[test]
fn invalid_namespace_round_trips_as_empty() {
    let block = Block::build(
        ctx(),
        vec![
            Transaction::new(1, &b"a"[..]),
            Transaction::new(2, &b"b"[..]),
        ],
        &Limits::default(),
        commit,
    )
    .unwrap();
    let header = block.header().clone();
    let namespaces = vec![
        block.namespaces()[0].clone(),
        NamespaceData::invalid(cortado_types::Namespace(2)),
    ];
    let marked = Block::from_parts(header, namespaces, &Limits::default()).unwrap();
    assert_eq!(marked.hash(), block.hash(), "same header, same block id");
    assert_eq!(
        marked.invalid_namespaces().collect::<Vec<_>>(),
        vec![cortado_types::Namespace(2)]
    );
    assert_eq!(marked.tx_count(), 1);
    let back = Block::decode_cfg(marked.encode(), &Limits::default()).unwrap();
    assert_eq!(back, marked);
    // An invalid namespace cannot carry data.
    let mut bad = NamespaceData::invalid(cortado_types::Namespace(2));
    bad.payloads.push(Bytes::from_static(b"x"));
    let parts = vec![block.namespaces()[0].clone(), bad];
    assert!(Block::from_parts(block.header().clone(), parts, &Limits::default()).is_err());
}
