//! The erasure-code test vector of `docs/LIGHT_CLIENT.md` (section 4, "Test vector"): two fixed
//! namespaces coded for 4, 7 and 10 validators, with the shard length, the chunks and the
//! commitments pinned as hex, and the payload commitment of the block holding both at `n = 4`.
//!
//! The document prints the same inputs and expected values so that an independent implementation
//! can check its field arithmetic, its transforms (`n = 4` and `n = 7` code at the high rate,
//! `n = 10` at the low rate with two recovery chunks), its blob layout and its Merkle trees. If
//! this test fails, the coding changed: that forks every existing chain (see `tests/fixtures.rs`),
//! and the document must change with it.

use bytes::Bytes;
use cortado_coding::{Params, build_block, encode_namespace, shard_len};
use cortado_types::{BlockContext, ChainId, Hash, Limits, Namespace, NamespaceData, Transaction};

/// Namespace 1: the payloads `"hello"` and `"world"`.
fn small() -> NamespaceData {
    NamespaceData::new(
        Namespace(1),
        vec![Bytes::from_static(b"hello"), Bytes::from_static(b"world")],
    )
}

/// Namespace 2: one 200-byte payload, the bytes `0x00, 0x01, …, 0xc7`.
fn large() -> NamespaceData {
    NamespaceData::new(
        Namespace(2),
        vec![Bytes::from((0u8..200).collect::<Vec<u8>>())],
    )
}

/// The expected coding of one namespace for `n` validators.
struct Vector {
    /// Validators.
    n: usize,
    /// Chunk length in bytes.
    shard: usize,
    /// Hex of each chunk, or of its first bytes.
    chunks: &'static [&'static str],
    /// Hex of the namespace commitment (the chunk tree's root).
    commitment: &'static str,
}

/// n = 4, namespace 1: every chunk in full.
const SMALL_N4: Vector = Vector {
    n: 4,
    shard: 64,
    chunks: &[
        concat!(
            "0000000d020568656c6c6f05776f726c64000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
        concat!(
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
        concat!(
            "0000000a010cece6e3e3e10cdbe1d7e3e5000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
        concat!(
            "00000007030984838f8f8e09ac8ea58f81000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ],
    commitment: "7111331c19b382fc406731f8bbd1c862cb4f584cfda13da774b26eba3c490928",
};

/// n = 4, namespace 2: every chunk in full.
const LARGE_N4: Vector = Vector {
    n: 4,
    shard: 128,
    chunks: &[
        concat!(
            "000000cb01c801000102030405060708090a0b0c0d0e0f101112131415161718",
            "191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738",
            "393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758",
            "595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778",
        ),
        concat!(
            "797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798",
            "999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8",
            "b9babbbcbdbebfc0c1c2c3c4c5c6c70000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
        concat!(
            "434240da4bdb480e0f0c0d0a0b080906070405020300011e1f1c1d1a1b181916",
            "fefdfcfbfaf9f8c7c6c5c4c3c2c1c0cfcecdcccbcac9c8d7d6d5d4d3d2d1d0df",
            "6635fb935d0ec0a96734fa925c0fc185491bd7b5792be73cf0a26e0cc0925e44",
            "cac8cbc6c5c7c4eae9ebe8e5e6e4e7ecefedeee3e0e2e1d6d5d7d4d9dad8dbd0",
        ),
        concat!(
            "3a383b6d376d368e8f8c8d8a8b888986878485828380819e9f9c9d9a9b989996",
            "7e7d7c7b7a797847464544434241404f4e4d4c4b4a494857565554535251505f",
            "e6b57b13dd8e4029e7b47a12dc8f41cd00519cf93465a86ca1f03d5895c4091c",
            "9392909a98999b8a88898b81838280848687858f8d8c8ea6a4a5a7adafaeaca8",
        ),
    ],
    commitment: "083c0a1b8a1386bef22c21f4633f3bb8d3d589c0099e19537b83e44ec6831d3b",
};

/// n = 7, namespace 1: the first 16 bytes of every chunk.
const SMALL_N7: Vector = Vector {
    n: 7,
    shard: 64,
    chunks: &[
        "0000000d020568656c6c6f05776f726c",
        "00000000000000000000000000000000",
        "00000000000000000000000000000000",
        "00000006050d454344444d0d8e4d8344",
        "0000000c0401a9a5a7a7ac0155ac54a7",
        "000000040d0613171f1f1806b418b21f",
        "000000030e0f97949090960f18961790",
    ],
    commitment: "513ec93f6c8011eaccd62feda817a7826ca398c1e01219db9789d3d2d795f151",
};

/// n = 7, namespace 2: the first 16 bytes of every chunk.
const LARGE_N7: Vector = Vector {
    n: 7,
    shard: 128,
    chunks: &[
        "000000cb01c801000102030405060708",
        "797a7b7c7d7e7f808182838485868788",
        "00000000000000000000000000000000",
        "da81418ce71e7ce22e7cb0d21e4c809a",
        "e0b97a2ad1bb4b6ca0f23e5c90c20e14",
        "82d4139eb00821ef2273bedb16478a9f",
        "c196538ffa1b68e12c7db0d518498491",
    ],
    commitment: "61fa68fee952d0579ee65443b5e3ec7ba79d8acc4b72d7d0cd67f67075521a9d",
};

/// n = 10, namespace 1: the first 16 bytes of every chunk.
const SMALL_N10: Vector = Vector {
    n: 10,
    shard: 64,
    chunks: &[
        "0000000d020568656c6c6f05776f726c",
        "00000000000000000000000000000000",
        "00000000000000000000000000000000",
        "00000000000000000000000000000000",
        "00000006050d454344444d0d8e4d8344",
        "0000000c0401a9a5a7a7ac0155ac54a7",
        "000000040d0613171f1f1806b418b21f",
        "000000030e0f97949090960f18961790",
        "000000040d0613171f1f1806b418b21f",
        "0000000c0401a9a5a7a7ac0155ac54a7",
    ],
    commitment: "996a213cbca8ff3ef34e28412b95595da0b77045534d8cfe6458799b8641ca70",
};

/// n = 10, namespace 2: the first 16 bytes of every chunk.
const LARGE_N10: Vector = Vector {
    n: 10,
    shard: 64,
    chunks: &[
        "000000cb01c801000102030405060708",
        "393a3b3c3d3e3f404142434445464748",
        "797a7b7c7d7e7f808182838485868788",
        "b9babbbcbdbebfc0c1c2c3c4c5c6c700",
        "a6775b6fe89b1580a07858c3e33b1b5b",
        "8300e026fe4e9d27c840af5bb43cd3d8",
        "0bd89678dfe24284c014505612c6827c",
        "d755d60635013423a82ca7ce45c14a37",
        "a221a02149244be66de9620b80048ff2",
        "aa7956ffe80814c5e53d1d86a67e5e1e",
    ],
    commitment: "29a8ecd37e19ca971676c39cc4f6f457480442873bdeb2cca85fc45e14dac2a5",
};

/// Encodes `data` for `v.n` validators and compares everything with `v`.
fn check(data: &NamespaceData, v: &Vector) {
    let n = v.n;
    let params = Params::for_validators(n);
    let coded_len = data.encode_payloads().len();
    assert_eq!(
        shard_len(params, coded_len),
        v.shard,
        "n = {n}: shard length"
    );
    let (entry, chunks) = encode_namespace(params, data);
    assert_eq!(chunks.len(), n, "n = {n}: one chunk per validator");
    assert_eq!(
        v.chunks.len(),
        n,
        "n = {n}: one expected chunk per validator"
    );
    for (i, (chunk, expected)) in chunks.iter().zip(v.chunks).enumerate() {
        assert_eq!(chunk.data.len(), v.shard, "n = {n}: length of chunk {i}");
        let shown = &chunk.data[..expected.len() / 2];
        assert_eq!(hex::encode(shown), *expected, "n = {n}: chunk {i}");
    }
    assert_eq!(
        entry.commitment.to_hex(),
        v.commitment,
        "n = {n}: commitment"
    );
    assert_eq!(
        entry.tx_count as usize,
        data.payloads.len(),
        "n = {n}: tx_count"
    );
    assert_eq!(entry.byte_len, data.byte_len(), "n = {n}: byte_len");
}

#[test]
fn namespace_bytes_and_blob_prefix() {
    // count 2, then length 5 and "hello", length 5 and "world"
    assert_eq!(
        hex::encode(small().encode_payloads()),
        "020568656c6c6f05776f726c64"
    );
    // count 1, then length 200 (varint c8 01) and the payload
    let large = large().encode_payloads();
    assert_eq!(large.len(), 203);
    assert_eq!(hex::encode(&large[..5]), "01c8010001");
}

#[test]
fn four_validators() {
    check(&small(), &SMALL_N4);
    check(&large(), &LARGE_N4);
}

#[test]
fn seven_validators() {
    check(&small(), &SMALL_N7);
    check(&large(), &LARGE_N7);
}

#[test]
fn ten_validators() {
    check(&small(), &SMALL_N10);
    check(&large(), &LARGE_N10);
}

#[test]
fn payload_commitment_of_the_block() {
    let ctx = BlockContext {
        chain_id: ChainId(1),
        height: 1,
        epoch: 0,
        view: 1,
        parent_view: 0,
        leader: [0u8; 32],
        timestamp_ms: 0,
        parent: Hash([0u8; 32]),
        history: Vec::new(),
    };
    let txs = vec![
        Transaction::new(1, Bytes::from_static(b"hello")),
        Transaction::new(2, large().payloads[0].clone()),
        Transaction::new(1, Bytes::from_static(b"world")),
    ];
    let (block, shares) =
        build_block(Params::for_validators(4), ctx, txs, &Limits::default()).unwrap();
    let header = block.header();
    let entries = header.table.entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].commitment.to_hex(), SMALL_N4.commitment);
    assert_eq!(entries[1].commitment.to_hex(), LARGE_N4.commitment);
    let tx_roots: Vec<String> = entries.iter().map(|e| e.tx_root.to_hex()).collect();
    let hashes: Vec<String> = block.transactions().map(|tx| tx.hash().to_hex()).collect();
    // Block order: namespace 1 ("hello", "world"), then namespace 2.
    assert_eq!(
        hashes,
        [
            "3804c1b7e44969ccf06022dec6ec3b2eae9d5653609482bdb07a94931f5a5748",
            "af90c57ed479113ad0b79c1e7360b82d268ea0765185f0bdda279e42823fbed5",
            "49425553acd29199048d38b43cf50be131ccfa6b97a50eb63e52ef2e5f1dee34",
        ]
    );
    assert_eq!(
        tx_roots,
        [
            "5658fe6b53a22b90e3867991a30752267f2028a741dedfa2871f9802a00fc853",
            "6b6c59e958057c741bdb7a85f93b124bd4aa6c3a96d6bcf6d7af3d3907645270",
        ]
    );
    let leaves: Vec<String> = entries.iter().map(|e| e.leaf().to_hex()).collect();
    assert_eq!(
        leaves,
        [
            "737fe728493b50797c8ff5b5770ce90e49313e9eb300f9e4b03e4fd09d571908",
            "80d258e577d5412dc2cabb3b736807ff7ad73ca31fad8c4665aa2db6661b87e4",
        ]
    );
    assert_eq!(
        header.payload_commitment.to_hex(),
        "ef9f24a8d352a7c2806f8fc8d58f72ef27208e932f9a1502675fae355f8df301"
    );
    // The compact proof of (1, "world"): position 1 of 2, the path is the leaf of "hello".
    let proof = cortado_coding::prove_transaction(&block.namespaces()[0], 1).unwrap();
    let path: Vec<String> = proof.path.iter().map(|h| h.to_hex()).collect();
    assert_eq!((proof.position, proof.count), (1, 2));
    assert_eq!(
        path,
        ["fa4e60b78098e57d034cf7eb85fa02a470b676c09328beac25bbe4ba475003ee"]
    );
    assert_eq!(
        hex::encode(commonware_codec::Encode::encode(&proof)),
        "02000000010000000201fa4e60b78098e57d034cf7eb85fa02a470b676c09328beac25bbe4ba475003ee"
    );
    // Validator i's share holds chunk i of each namespace, in table order.
    for (i, share) in shares.iter().enumerate() {
        assert_eq!(hex::encode(&share.chunks[0].data), SMALL_N4.chunks[i]);
        assert_eq!(hex::encode(&share.chunks[1].data), LARGE_N4.chunks[i]);
    }
}
