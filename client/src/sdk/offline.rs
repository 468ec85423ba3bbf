//! Saved API answers checked offline, with no request.

use super::{
    HeaderJson, HistoryJson, NamespaceContent, NamespaceJson, SdkError, TransactionJson, bind,
    hex_bytes, payloads,
};
use crate::{Trust, VerifiedHeader};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use commonware_codec::{Decode, DecodeExt, Encode};
use cortado_types::{Hash, Namespace, history::HistoryProof};
use serde_json::{Value, json};

/// What [`verify_document`] verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verified {
    /// A header and its own certificate.
    Header {
        /// The height.
        height: u64,
    },
    /// A namespace read or event.
    Namespace {
        /// The height.
        height: u64,
        /// The namespace.
        namespace: Namespace,
        /// What the block holds of it.
        content: NamespaceContent,
    },
    /// A finalized transaction with its inclusion proof.
    Transaction {
        /// The hash.
        hash: Hash,
        /// The height.
        height: u64,
    },
    /// An older header proven through a later certified header's history.
    History {
        /// The proven height.
        height: u64,
        /// The later height.
        against: u64,
    },
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Header { height } => {
                write!(f, "header {height} with its finality certificate")
            }
            Self::Namespace {
                height,
                namespace,
                content,
            } => match content {
                NamespaceContent::Transactions(t) => write!(
                    f,
                    "namespace {namespace} at height {height}: {} transactions, exactly and in order (header, certificate, namespace proof)",
                    t.len()
                ),
                NamespaceContent::InvalidEncoding => write!(
                    f,
                    "namespace {namespace} at height {height}: invalidly encoded, counts as empty (evidence)"
                ),
                NamespaceContent::Absent => write!(
                    f,
                    "namespace {namespace} at height {height}: absent (absence proof)"
                ),
            },
            Self::Transaction { hash, height } => write!(
                f,
                "transaction {hash} final at height {height} (header, certificate, namespace proof, position)"
            ),
            Self::History { height, against } => write!(
                f,
                "header {height} in the history of header {against}, itself certified"
            ),
        }
    }
}

fn offline_header(
    trust: &Trust,
    header_bytes: &str,
    certificate_bytes: &str,
) -> Result<VerifiedHeader, SdkError> {
    crate::verify_header(
        trust,
        &hex_bytes(OFFLINE, "header_bytes", header_bytes)?,
        &hex_bytes(OFFLINE, "certificate_bytes", certificate_bytes)?,
    )
    .map_err(|source| SdkError::Verify {
        url: OFFLINE.into(),
        source,
    })
}

/// The "node" of an offline check, in errors.
const OFFLINE: &str = "the saved answer";

/// Verifies a saved API answer offline (no request): a header (`/v1/headers/{h}`), a
/// namespace read or `namespace_block` event, a finalized transaction, or a history proof.
/// Every field must be what the verified bytes render to ([`bind`](super::bind)): a field that
/// differs, is missing, or that the proofs do not bind is refused, by name. A header whose
/// certificate is a descendant's cannot be checked offline; verify it against a node with
/// [`Client`](super::Client).
pub fn verify_document(trust: &Trust, json: &serde_json::Value) -> Result<Verified, SdkError> {
    let malformed = |what: String| SdkError::Malformed {
        url: OFFLINE.into(),
        what,
    };
    let parse = |what: &str| {
        malformed(format!(
            "not a {what} answer: {}",
            json.to_string().chars().take(80).collect::<String>()
        ))
    };
    let verify = |source| SdkError::Verify {
        url: OFFLINE.into(),
        source,
    };
    if json.get("later_header_bytes").is_some() {
        let h: HistoryJson =
            serde_json::from_value(json.clone()).map_err(|_| parse("history proof"))?;
        let later = offline_header(trust, &h.later_header_bytes, &h.later_certificate_bytes)?;
        let proof_bytes = hex_bytes(OFFLINE, "proof.bytes", &h.proof.bytes)?;
        let proven = crate::verify_history(
            trust,
            &later,
            &hex_bytes(OFFLINE, "header_bytes", &h.header_bytes)?,
            &proof_bytes,
        )
        .map_err(verify)?;
        let proof = HistoryProof::decode(proof_bytes.clone())
            .map_err(|e| malformed(format!("proof.bytes: {e}")))?;
        let certificate = later
            .certificate()
            .ok_or_else(|| malformed("the later header has no certificate of its own".into()))?;
        let later_view = bind::header_view(later.header(), certificate);
        json_same(
            json,
            json!({
                "height": proven.height(),
                "hash": proven.header().hash().to_hex(),
                "header_bytes": hex::encode(proven.header().encode()),
                "against": later.height(),
                "later_header_bytes": later_view["header_bytes"],
                "later_certificate_bytes": later_view["certificate_bytes"],
                "proof": bind::history_proof_view(&proof),
            }),
        )?;
        return Ok(Verified::History {
            height: proven.height(),
            against: later.height(),
        });
    }
    if json.get("namespace_proof").is_some() || json.get("status").is_some_and(|s| s == "pending") {
        return verify_transaction(trust, json);
    }
    if json.get("proof").is_some() && json.get("namespace").is_some() {
        let n: NamespaceJson =
            serde_json::from_value(json.clone()).map_err(|_| parse("namespace"))?;
        let header = offline_header(trust, &n.header_bytes, &n.certificate_bytes)?;
        let namespace = Namespace(n.namespace);
        let proof = hex_bytes(OFFLINE, "proof.bytes", &n.proof.bytes)?;
        let (content, transactions, evidence) = match n.status.as_str() {
            "valid" => {
                let payloads = payloads(OFFLINE, &n.transactions)?;
                crate::verify_namespace(trust, &header, namespace, &proof, &payloads)
                    .map_err(verify)?;
                let txs = bind::transactions_view(header.header(), namespace, &payloads);
                (NamespaceContent::Transactions(payloads), txs, Value::Null)
            }
            "invalid_encoding" => {
                let evidence = n
                    .evidence
                    .ok_or_else(|| malformed("invalid_encoding without evidence".into()))?;
                let evidence_bytes = hex_bytes(OFFLINE, "evidence.bytes", &evidence.bytes)?;
                crate::verify_invalid_encoding(trust, &header, namespace, &proof, &evidence_bytes)
                    .map_err(verify)?;
                let chunks = cortado_coding::InvalidEncodingEvidence::decode_cfg(
                    evidence_bytes.clone(),
                    &(trust.params(), trust.limits),
                )
                .map_err(|e| malformed(format!("evidence.bytes: {e}")))?
                .chunks
                .len();
                let evidence = json!({"bytes": hex::encode(&evidence_bytes), "chunks": chunks});
                (NamespaceContent::InvalidEncoding, json!([]), evidence)
            }
            "absent" => {
                crate::verify_absence(trust, &header, namespace, &proof).map_err(verify)?;
                (NamespaceContent::Absent, json!([]), Value::Null)
            }
            other => {
                return Err(malformed(format!(
                    "field `status` is {other:?}; a namespace is \"valid\", \"invalid_encoding\" or \"absent\""
                )));
            }
        };
        let certificate = header
            .certificate()
            .ok_or_else(|| malformed("the header has no certificate of its own".into()))?;
        let view = bind::header_view(header.header(), certificate);
        // A namespace read carries the whole header view; an event only its height, hash and bytes.
        let mut expected = if json.get("block_hash").is_some() {
            bind::object(json!({
                "height": view["height"],
                "block_hash": view["hash"],
                "header_bytes": view["header_bytes"],
                "certificate_bytes": view["certificate_bytes"],
            }))
        } else {
            view
        };
        expected.insert("namespace".into(), json!(namespace.get()));
        expected.insert("status".into(), json!(n.status));
        expected.insert("proof".into(), bind::proof_view(header.header(), namespace));
        expected.insert("evidence".into(), evidence);
        expected.insert("transactions".into(), transactions);
        json_same(json, Value::Object(expected))?;
        return Ok(Verified::Namespace {
            height: header.height(),
            namespace,
            content,
        });
    }
    if json.get("header_bytes").is_some() {
        let h: HeaderJson = serde_json::from_value(json.clone()).map_err(|_| parse("header"))?;
        let header = offline_header(trust, &h.header_bytes, &h.certificate_bytes)?;
        let certificate = header
            .certificate()
            .ok_or_else(|| malformed("the header has no certificate of its own".into()))?;
        json_same(
            json,
            Value::Object(bind::header_view(header.header(), certificate)),
        )?;
        return Ok(Verified::Header {
            height: header.height(),
        });
    }
    Err(malformed(
        "not an answer this tool verifies (a header, namespace read or event, finalized transaction or history proof)".into(),
    ))
}

/// A saved `/v1/transactions/{hash}` answer: finalized, every field bound.
fn verify_transaction(trust: &Trust, json: &Value) -> Result<Verified, SdkError> {
    let malformed = |what: String| SdkError::Malformed {
        url: OFFLINE.into(),
        what,
    };
    let hash: Hash = json["hash"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| malformed("field `hash` is not a transaction hash".into()))?;
    if json["status"] != "finalized" {
        return Err(malformed(format!(
            "field `status` is {}: only a finalized transaction comes with proofs to verify",
            json["status"]
        )));
    }
    let t: TransactionJson = serde_json::from_value(json.clone())
        .map_err(|e| malformed(format!("not a transaction answer: {e}")))?;
    let missing = |field: &str| malformed(format!("field `{field}` is missing"));
    let header = offline_header(
        trust,
        t.header_bytes
            .as_deref()
            .ok_or_else(|| missing("header_bytes"))?,
        t.certificate_bytes
            .as_deref()
            .ok_or_else(|| missing("certificate_bytes"))?,
    )?;
    let checked = super::tx::check(trust, OFFLINE, &header, hash, &t)?;
    let (namespace, position) = (checked.namespace, checked.position);
    let certificate = header
        .certificate()
        .ok_or_else(|| malformed("the header has no certificate of its own".into()))?;
    let view = bind::header_view(header.header(), certificate);
    let mut expected = json!({
        "hash": hash.to_hex(),
        "status": "finalized",
        "height": header.height(),
        "index": bind::slot(header.header(), namespace, position),
        "namespace": namespace.get(),
        "block_hash": view["hash"],
        "position": position,
        "header_bytes": view["header_bytes"],
        "certificate_bytes": view["certificate_bytes"],
        "namespace_proof": bind::proof_view(header.header(), namespace),
        "payload": STANDARD.encode(&checked.payload),
        "transaction_proof": bind::transaction_proof_view(&checked.proof),
    });
    if let Some(payloads) = &checked.payloads {
        expected["namespace_transactions"] =
            bind::transactions_view(header.header(), namespace, payloads);
    }
    json_same(json, expected)?;
    Ok(Verified::Transaction {
        hash,
        height: header.height(),
    })
}

fn json_same(given: &Value, expected: Value) -> Result<(), SdkError> {
    bind::same(given, &expected).map_err(|what| SdkError::Malformed {
        url: OFFLINE.into(),
        what,
    })
}
