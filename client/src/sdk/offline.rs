//! Saved API answers checked offline, with no request.

use super::{
    HeaderJson, HistoryJson, NamespaceContent, NamespaceJson, SdkError, TransactionJson, hex_bytes,
    payloads,
};
use crate::{Trust, VerifiedHeader};
use cortado_types::{Hash, Namespace, Transaction};

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
/// A header whose certificate is a descendant's cannot be checked offline; verify it against
/// a node with [`Client`].
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
        let proven = crate::verify_history(
            trust,
            &later,
            &hex_bytes(OFFLINE, "header_bytes", &h.header_bytes)?,
            &hex_bytes(OFFLINE, "proof.bytes", &h.proof.bytes)?,
        )
        .map_err(verify)?;
        return Ok(Verified::History {
            height: proven.height(),
            against: later.height(),
        });
    }
    if json.get("namespace_proof").is_some() {
        let hash: Hash = json["hash"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| parse("transaction"))?;
        let t: TransactionJson =
            serde_json::from_value(json.clone()).map_err(|_| parse("transaction"))?;
        let missing = |field: &str| malformed(format!("a finalized transaction without {field}"));
        let header = offline_header(
            trust,
            t.header_bytes
                .as_deref()
                .ok_or_else(|| missing("header_bytes"))?,
            t.certificate_bytes
                .as_deref()
                .ok_or_else(|| missing("certificate_bytes"))?,
        )?;
        let namespace = Namespace(t.namespace.ok_or_else(|| missing("namespace"))?);
        let txs = t
            .namespace_transactions
            .ok_or_else(|| missing("namespace_transactions"))?;
        let payloads = payloads(OFFLINE, &txs)?;
        let proof = t
            .namespace_proof
            .ok_or_else(|| missing("namespace_proof"))?;
        crate::verify_namespace(
            trust,
            &header,
            namespace,
            &hex_bytes(OFFLINE, "namespace_proof.bytes", &proof.bytes)?,
            &payloads,
        )
        .map_err(verify)?;
        let position = t.position.ok_or_else(|| missing("position"))? as usize;
        let payload = payloads
            .get(position)
            .ok_or_else(|| missing("a position within its namespace"))?;
        if Transaction::hash_parts(namespace, payload) != hash {
            return Err(malformed(format!(
                "the transaction at position {position} is not {hash}"
            )));
        }
        if t.height != Some(header.height()) {
            return Err(missing("a height matching its header"));
        }
        return Ok(Verified::Transaction {
            hash,
            height: header.height(),
        });
    }
    if json.get("proof").is_some() && json.get("namespace").is_some() {
        let n: NamespaceJson =
            serde_json::from_value(json.clone()).map_err(|_| parse("namespace"))?;
        let header = offline_header(trust, &n.header_bytes, &n.certificate_bytes)?;
        if header.height() != n.height {
            return Err(malformed("height does not match the header's".into()));
        }
        let namespace = Namespace(n.namespace);
        let proof = hex_bytes(OFFLINE, "proof.bytes", &n.proof.bytes)?;
        let content = match n.status.as_str() {
            "valid" => {
                let payloads = payloads(OFFLINE, &n.transactions)?;
                crate::verify_namespace(trust, &header, namespace, &proof, &payloads)
                    .map_err(verify)?;
                NamespaceContent::Transactions(payloads)
            }
            "invalid_encoding" => {
                let evidence = n
                    .evidence
                    .ok_or_else(|| malformed("invalid_encoding without evidence".into()))?;
                crate::verify_invalid_encoding(
                    trust,
                    &header,
                    namespace,
                    &proof,
                    &hex_bytes(OFFLINE, "evidence.bytes", &evidence.bytes)?,
                )
                .map_err(verify)?;
                NamespaceContent::InvalidEncoding
            }
            "absent" => {
                crate::verify_absence(trust, &header, namespace, &proof).map_err(verify)?;
                NamespaceContent::Absent
            }
            other => return Err(malformed(format!("unknown status {other:?}"))),
        };
        return Ok(Verified::Namespace {
            height: header.height(),
            namespace,
            content,
        });
    }
    if json.get("header_bytes").is_some() {
        let h: HeaderJson = serde_json::from_value(json.clone()).map_err(|_| parse("header"))?;
        let header = offline_header(trust, &h.header_bytes, &h.certificate_bytes)?;
        return Ok(Verified::Header {
            height: header.height(),
        });
    }
    Err(malformed(
        "not an answer this tool verifies (a header, namespace read or event, finalized transaction or history proof)".into(),
    ))
}
