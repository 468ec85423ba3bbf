//! Block building, validation and decoding of hostile input.

use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use cortado_types::{Block, BlockContext, ChainId, Error, Hash, Limits, Namespace, Transaction};
use proptest::prelude::*;

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
    let block = Block::build(ctx(), txs, &Limits::default()).unwrap();
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
        Block::build(ctx(), vec![Transaction::new(1, vec![0u8; 5])], &limits),
        Err(Error::TransactionTooLarge { size: 5, limit: 4 })
    ));
    assert!(matches!(
        Block::build(ctx(), vec![Transaction::new(1, vec![0u8; 4]); 3], &limits),
        Err(Error::BlockTooLarge { .. })
    ));
    assert!(matches!(
        Block::build(
            ctx(),
            (0..3).map(|i| Transaction::new(i, vec![0u8; 1])).collect(),
            &limits
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
    )
    .unwrap();
    let mut enc = block.encode().to_vec();
    // Flip the last payload byte: the namespace commitment no longer matches.
    let last = enc.len() - 1;
    enc[last] ^= 1;
    assert!(Block::decode_cfg(Bytes::from(enc.clone()), &Limits::default()).is_err());
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
        let block = Block::build(ctx(), txs.clone(), &Limits::default()).unwrap();
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
