//! Wire-format fixtures: the encoded bytes of each type are pinned in `tests/fixtures/*.hex`.
//!
//! If one of these fails, the encoding changed. That forks every existing chain: bump
//! `FORMAT_VERSION` and write a migration instead of regenerating the fixture. To create a
//! fixture for a new type, run with `CORTADO_BLESS=1` once and commit the file.

use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use cortado_types::{
    Block, BlockContext, ChainId, FinalityCertificate, Hash, Header, Limits, NamespaceData,
    Transaction,
};
use std::path::PathBuf;

/// A stand-in namespace commitment (the real one is the erasure code's, in cortado-coding).
fn commit(data: &NamespaceData) -> Hash {
    Hash::digest(b"test", &[&data.encode_payloads()])
}

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

fn sample_block() -> Block {
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
        // Height 5 = 0b101: two peaks.
        history: vec![Hash([5u8; 32]), Hash([6u8; 32])],
    };
    Block::build(ctx, txs, &Limits::default(), commit).unwrap()
}

#[test]
fn transaction_fixture() {
    let tx = Transaction::new(42, Bytes::from_static(b"hello"));
    check("transaction", &tx.encode());
    check("transaction_hash", tx.hash().as_bytes());
}

#[test]
fn block_and_header_fixture() {
    let block = sample_block();
    check("block", &block.encode());
    check("header", &block.header().encode());
    check("block_hash", block.hash().as_bytes());
    let back = Block::decode_cfg(block.encode(), &Limits::default()).unwrap();
    assert_eq!(back, block);
    let header = Header::decode_cfg(block.header().encode(), &1024).unwrap();
    assert_eq!(&header, block.header());
}

#[test]
fn certificate_fixture() {
    let cert = FinalityCertificate {
        epoch: 0,
        view: 9,
        parent_view: 8,
        block: Hash([2u8; 32]),
        signature: [4u8; 48],
    };
    check("certificate", &cert.encode());
    assert_eq!(cert.encode().len(), 105);
    assert_eq!(
        FinalityCertificate::decode_cfg(cert.encode(), &()).unwrap(),
        cert
    );
}

/// A signed message: secret key 0x11…11 (its address is pinned too), chain 7. ECDSA signing is
/// deterministic (RFC 6979), so the signature bytes are stable; docs/LIGHT_CLIENT.md quotes
/// these values as a test vector.
#[test]
fn envelope_fixture() {
    let key = cortado_types::SenderKey::from_bytes(&[0x11; 32]).unwrap();
    let envelope = cortado_types::Envelope::sign(
        ChainId(7),
        &key,
        cortado_types::Namespace(10),
        cortado_types::Namespace(20),
        3,
        Bytes::from_static(b"bob"),
        Bytes::from_static(b"pay 5"),
    );
    check("envelope", &envelope.encode());
    check("envelope_sender", key.address().as_bytes());
    check("envelope_digest", &envelope.digest(ChainId(7)));
    check(
        "envelope_domain",
        &cortado_types::message::sender::domain_separator(),
    );
    assert_eq!(
        cortado_types::Envelope::from_transaction(
            ChainId(7),
            cortado_types::Namespace(10),
            &envelope.encode()
        ),
        Ok(envelope)
    );
}

#[test]
fn bundle_fixture() {
    let bundle = cortado_types::Bundle::new(vec![
        Transaction::new(1, Bytes::from_static(b"buy")),
        Transaction::new(2, Bytes::from_static(b"sell")),
    ])
    .unwrap();
    check("bundle_carrier", &bundle.carrier().encode());
    check("bundle_marker", &bundle.marker().payload);
    check("bundle_hash", bundle.hash().as_bytes());
    assert_eq!(
        cortado_types::Marker::decode(&bundle.marker().payload)
            .unwrap()
            .members(),
        bundle.member_hashes().as_slice()
    );
}
