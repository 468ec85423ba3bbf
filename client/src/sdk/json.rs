//! The JSON answers of the node API, as the SDK reads them: only the fields it verifies or
//! binds; every byte field is hex, every payload base64.

use super::SdkError;
use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use serde::Deserialize;

/// A node's JSON error.
#[derive(Deserialize)]
pub(super) struct ErrorJson {
    pub(super) error: String,
    pub(super) code: String,
}

/// An inclusion proof object (`proof` or `namespace_proof`): only the bytes are trusted.
#[derive(Deserialize)]
pub(super) struct ProofJson {
    pub(super) bytes: String,
}

#[derive(Deserialize)]
pub(super) struct TxJson {
    pub(super) payload: String,
}

#[derive(Deserialize)]
pub(super) struct EvidenceJson {
    pub(super) bytes: String,
}

/// `GET /v1/transactions/{hash}`.
#[derive(Deserialize)]
pub(super) struct TransactionJson {
    pub(super) status: String,
    pub(super) height: Option<u64>,
    pub(super) index: Option<u32>,
    pub(super) namespace: Option<u64>,
    pub(super) position: Option<u32>,
    pub(super) header_bytes: Option<String>,
    pub(super) certificate_bytes: Option<String>,
    pub(super) namespace_proof: Option<ProofJson>,
    pub(super) payload: Option<String>,
    pub(super) transaction_proof: Option<ProofJson>,
    pub(super) namespace_transactions: Option<Vec<TxJson>>,
}

/// A namespace read or a `namespace_block` event.
#[derive(Deserialize)]
pub(super) struct NamespaceJson {
    pub(super) height: u64,
    pub(super) header_bytes: String,
    pub(super) certificate_bytes: String,
    pub(super) namespace: u64,
    pub(super) status: String,
    pub(super) proof: ProofJson,
    pub(super) evidence: Option<EvidenceJson>,
    pub(super) transactions: Vec<TxJson>,
}

/// `GET /v1/headers/{h}/proof`.
#[derive(Deserialize)]
pub(super) struct HistoryJson {
    pub(super) header_bytes: String,
    pub(super) later_header_bytes: String,
    pub(super) later_certificate_bytes: String,
    pub(super) proof: ProofJson,
}

/// One message of `GET /v1/namespaces/{dst}/inbox`.
#[derive(Deserialize)]
pub(super) struct MessageJson {
    pub(super) source: u64,
    pub(super) sequence: u64,
    pub(super) height: u64,
    pub(super) index: u32,
    pub(super) hash: String,
    pub(super) block: usize,
    pub(super) position: u32,
}

/// One proof block of an inbox answer.
#[derive(Deserialize)]
pub(super) struct ProofBlockJson {
    pub(super) height: u64,
    pub(super) source: u64,
    pub(super) header_bytes: String,
    pub(super) certificate_bytes: String,
    pub(super) namespace_proof: ProofJson,
    pub(super) namespace_transactions: Vec<TxJson>,
}

/// `GET /v1/namespaces/{dst}/inbox`.
#[derive(Deserialize)]
pub(super) struct InboxJson {
    pub(super) destination: u64,
    pub(super) messages: Vec<MessageJson>,
    pub(super) blocks: Vec<ProofBlockJson>,
    pub(super) next: Option<u64>,
}

/// `GET /v1/headers/{h}`.
#[derive(Deserialize)]
pub(super) struct HeaderJson {
    pub(super) header_bytes: String,
    pub(super) certificate_bytes: String,
}

#[derive(Deserialize)]
pub(super) struct SubmitJson {
    pub(super) hash: String,
}

pub(super) fn hex_bytes(url: &str, field: &str, value: &str) -> Result<Vec<u8>, SdkError> {
    hex::decode(value).map_err(|e| SdkError::Malformed {
        url: url.to_string(),
        what: format!("{field} is not hex: {e}"),
    })
}

pub(super) fn payloads(url: &str, txs: &[TxJson]) -> Result<Vec<Bytes>, SdkError> {
    txs.iter()
        .map(|t| {
            STANDARD
                .decode(t.payload.as_bytes())
                .map(Bytes::from)
                .map_err(|e| SdkError::Malformed {
                    url: url.to_string(),
                    what: format!("a payload is not base64: {e}"),
                })
        })
        .collect()
}
