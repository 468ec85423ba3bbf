//! Wire-format fixtures: commitments, a share, proofs and evidence for a small block at `n = 4`
//! are pinned in `tests/fixtures/*.hex`.
//!
//! If one of these fails, the coding or an encoding changed. That forks every existing chain:
//! bump `FORMAT_VERSION` and write a migration instead of regenerating the fixture. To create a
//! fixture for a new type, run with `CORTADO_BLESS=1` once and commit the file.

use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use cortado_coding::{
    InvalidEncodingEvidence, Params, Share, build_block, encode_namespace_invalid, prove_namespace,
};
use cortado_types::{
    Block, BlockContext, ChainId, Hash, Limits, Namespace, NamespaceData, Transaction,
};
use std::path::PathBuf;

fn check(name: &str, encoded: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.hex"));
    let hex = hex::encode(encoded);
    if std::env::var("CORTADO_BLESS").is_ok() {
        std::fs::write(&path, format!("{hex}\n")).unwrap();
    }
    let pinned = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing fixture {path:?}; run with CORTADO_BLESS=1 once"));
    assert_eq!(pinned.trim(), hex, "encoding of {name} changed");
}

/// The same transactions as `cortado-types`' block fixture, coded for 4 validators.
fn sample() -> (Params, Block, Vec<Share>) {
    let params = Params::for_validators(4);
    let txs = vec![
        Transaction::new(42, Bytes::from_static(b"hello")),
        Transaction::new(7, Bytes::from_static(b"first of seven")),
        Transaction::new(42, Bytes::from_static(b"world")),
        Transaction::new(7, Bytes::from_static(b"")),
    ];
    let ctx = BlockContext {
        chain_id: ChainId(1),
        height: 5,
        epoch: 0,
        view: 9,
        parent_view: 8,
        leader: [3u8; 32],
        timestamp_ms: 1_700_000_000_000,
        parent: Hash([1u8; 32]),
        history: Vec::new(),
    };
    let (block, shares) = build_block(params, ctx, txs, &Limits::default()).unwrap();
    (params, block, shares)
}

#[test]
fn commitments_and_share_fixture() {
    let (params, block, shares) = sample();
    let commitments: Vec<u8> = block
        .header()
        .table
        .entries()
        .iter()
        .flat_map(|e| e.commitment.0)
        .collect();
    check("commitments", &commitments);
    check(
        "payload_commitment",
        block.header().payload_commitment.as_bytes(),
    );
    check("share0", &shares[0].encode());
    check("share3", &shares[3].encode());
    let cfg = (params, Limits::default());
    assert_eq!(
        Share::decode_cfg(shares[0].encode(), &cfg).unwrap(),
        shares[0]
    );
}

#[test]
fn proof_fixtures() {
    let (_, block, _) = sample();
    let presence = prove_namespace(block.header(), Namespace(42)).unwrap();
    check("namespace_proof", &presence.encode());
    let absence = prove_namespace(block.header(), Namespace(8)).unwrap_err();
    check("absence_proof", &absence.encode());
}

#[test]
fn evidence_fixture() {
    let params = Params::for_validators(4);
    let data = NamespaceData::new(Namespace(7), vec![Bytes::from_static(b"bad leader")]);
    let (entry, chunks) = encode_namespace_invalid(params, &data, 3);
    let evidence = InvalidEncodingEvidence {
        entry,
        chunks: vec![(1, chunks[1].clone()), (3, chunks[3].clone())],
    };
    check("evidence", &evidence.encode());
    assert!(cortado_coding::verify_invalid_encoding(
        params,
        &evidence,
        &Limits::default()
    ));
}
