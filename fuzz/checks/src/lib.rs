//! What each fuzz target checks. Every decoder of bytes a peer or a client controls runs with
//! the bounds a node uses; none may panic, and whatever decodes must re-encode to exactly the
//! bytes it came from (one encoding per value: nobody can make two byte strings, and so two
//! hashes, of one transaction, header or proof). The JSON target feeds answers to the offline
//! verifier and bodies to the API's parsers.
//!
//! `fuzz/fuzz_targets/*.rs` call these under libFuzzer (`cargo fuzz run <target>`);
//! `tests/corpus.rs` runs them over `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`
//! on every `cargo test`.

use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use cortado_coding::{
    AbsenceProof, Chunk, InvalidEncodingEvidence, NamespaceProof, Params, Share, TransactionProof,
};
use cortado_types::{
    Block, Bundle, Envelope, FinalityCertificate, Header, Limits, Marker, NamespaceTable,
    Transaction, history::HistoryProof,
};

/// A target's check: panics on a defect, else returns how many of its decoders took the input.
pub type Check = fn(&[u8]) -> usize;

/// The targets, by name: each checks one family of decoders.
pub const TARGETS: [(&str, Check); 5] = [
    ("transactions", transactions),
    ("headers", headers),
    ("proofs", proofs),
    ("wire", wire),
    ("json", json),
];

/// The genesis the JSON target's answers were taken under (a `cortado dev` chain).
pub const GENESIS: &str = include_str!("../../corpus/genesis.toml");

/// Decodes with `cfg` and, if that succeeds, checks the value re-encodes to `data`; 1 if it
/// decoded (each check returns how many of its decoders took the input).
fn canonical<T: Decode + Encode>(data: &[u8], cfg: &T::Cfg, what: &str) -> usize {
    let Ok(value) = T::decode_cfg(Bytes::copy_from_slice(data), cfg) else {
        return 0;
    };
    assert_eq!(
        value.encode().as_ref(),
        data,
        "{what}: decoded bytes that are not its encoding"
    );
    1
}

/// Transactions, bundles (the submitted form), bundle markers and message envelopes.
pub fn transactions(data: &[u8]) -> usize {
    let limits = Limits::default();
    let mut taken = canonical::<Transaction>(data, &limits.tx_bytes_max, "Transaction")
        + canonical::<Bundle>(data, &limits.tx_bytes_max, "Bundle")
        + canonical::<Envelope>(data, &(), "Envelope");
    let payload = Bytes::copy_from_slice(data);
    if let Ok(marker) = Marker::decode(&payload) {
        assert_eq!(
            marker.transaction().payload,
            payload,
            "Marker: not its encoding"
        );
        taken += 1;
    }
    taken
}

/// Headers, finality certificates, history proofs, namespace tables and whole blocks.
pub fn headers(data: &[u8]) -> usize {
    let limits = Limits::default();
    canonical::<Header>(data, &limits.namespaces_per_block_max, "Header")
        + canonical::<FinalityCertificate>(data, &(), "FinalityCertificate")
        + canonical::<HistoryProof>(data, &(), "HistoryProof")
        + canonical::<NamespaceTable>(data, &limits.namespaces_per_block_max, "NamespaceTable")
        + canonical::<Block>(data, &limits, "Block")
}

/// The dispersal parameters the targets decode shares under: 4 validators, and one more odd n.
fn params() -> [Params; 2] {
    [Params::for_validators(4), Params::for_validators(10)]
}

/// Namespace and absence proofs, invalid-encoding evidence, shares and chunks.
pub fn proofs(data: &[u8]) -> usize {
    let limits = Limits::default();
    let max = limits.namespaces_per_block_max;
    let mut taken = canonical::<NamespaceProof>(data, &max, "NamespaceProof")
        + canonical::<AbsenceProof>(data, &max, "AbsenceProof")
        + canonical::<TransactionProof>(data, &limits.txs_per_block_max, "TransactionProof");
    for params in params() {
        let cfg = (params, limits);
        taken += canonical::<InvalidEncodingEvidence>(data, &cfg, "InvalidEncodingEvidence")
            + canonical::<Share>(data, &cfg, "Share")
            + canonical::<Chunk>(data, &cfg, "Chunk");
    }
    taken
}

/// Peer messages: dispersal, block sync and mempool gossip.
pub fn wire(data: &[u8]) -> usize {
    let limits = Limits::default();
    let mut taken = 0;
    for params in params() {
        for (what, encoded) in ["dispersal", "block sync"]
            .into_iter()
            .zip(cortado_dispersal::fuzz::wire(data, params, limits))
        {
            if let Some(encoded) = encoded {
                assert_eq!(encoded, data, "{what} message: not its encoding");
                taken += 1;
            }
        }
    }
    if let Some(encoded) = cortado_mempool::fuzz::gossip(data, limits.tx_bytes_max, 1 << 20) {
        assert_eq!(encoded, data, "gossip message: not its encoding");
        taken += 1;
    }
    taken
}

/// JSON: saved answers through `cortado verify`'s checks, and the API's request bodies.
pub fn json(data: &[u8]) -> usize {
    let value = serde_json::from_slice::<serde_json::Value>(data).ok();
    let mut taken = 0;
    if let Some(value) = &value {
        let trust = cortado_client::Trust::from_genesis_toml(GENESIS).expect("the corpus genesis");
        taken += usize::from(cortado_client::sdk::verify_document(&trust, value).is_ok());
    }
    let (submit, bundle) = cortado_api::fuzz::bodies(data);
    taken += usize::from(submit.is_some()) + usize::from(bundle.is_some());
    // The API reads a namespace from its exact text; where a double holds it exactly, it
    // must agree with serde_json's reading of the same number.
    let agrees = |number: &serde_json::Value, read: u64, what: &str| {
        if let Some(number) = number.as_f64().filter(|f| *f < 9.007e15) {
            assert_eq!(number, read as f64, "{what} read differently");
        }
    };
    if let (Some(namespace), Some(value)) = (submit, &value) {
        agrees(&value["namespace"], namespace, "namespace");
    }
    if let (Some(namespaces), Some(value)) = (bundle, &value) {
        let members = value["transactions"].as_array().into_iter().flatten();
        for (read, member) in namespaces.into_iter().zip(members) {
            agrees(&member["namespace"], read, "bundle member namespace");
        }
    }
    taken
}
