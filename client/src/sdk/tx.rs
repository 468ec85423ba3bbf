//! A finalized transaction answer, checked: the compact proof by default, the whole namespace
//! when the answer carries it. Shared by the SDK's requests and `cortado verify`.

use super::{SdkError, TransactionJson, hex_bytes, payloads};
use crate::{Trust, VerifiedHeader};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use cortado_coding::TransactionProof;
use cortado_types::{Hash, Namespace, Transaction};

/// What a finalized transaction answer proved, once its header verified.
pub(super) struct CheckedTx {
    /// The namespace.
    pub(super) namespace: Namespace,
    /// Its position in the namespace.
    pub(super) position: u32,
    /// Its payload, which hashes to the transaction hash.
    pub(super) payload: Bytes,
    /// The compact proof, verified against the entry's `tx_root`.
    pub(super) proof: TransactionProof,
    /// The namespace's payloads, verified by re-encoding, when the answer carried them
    /// (`?full=true`).
    pub(super) payloads: Option<Vec<Bytes>>,
}

/// Checks answer `t` about transaction `hash` against its verified `header`: the payload hashes
/// to `hash`, the compact proof leads from it to the namespace entry's `tx_root` at `position`,
/// and, if the answer holds the namespace's transactions, they re-encode to its commitment with
/// this payload at `position`.
pub(super) fn check(
    trust: &Trust,
    url: &str,
    header: &VerifiedHeader,
    hash: Hash,
    t: &TransactionJson,
) -> Result<CheckedTx, SdkError> {
    let malformed = |what: String| SdkError::Malformed {
        url: url.to_string(),
        what,
    };
    let missing = |field: &str| malformed(format!("field `{field}` is missing"));
    let verify = |source| SdkError::Verify {
        url: url.to_string(),
        source,
    };
    let namespace = Namespace(t.namespace.ok_or_else(|| missing("namespace"))?);
    let position = t.position.ok_or_else(|| missing("position"))?;
    let payload = STANDARD
        .decode(t.payload.as_deref().ok_or_else(|| missing("payload"))?)
        .map(Bytes::from)
        .map_err(|e| malformed(format!("field `payload` is not base64: {e}")))?;
    if Transaction::hash_parts(namespace, &payload) != hash {
        return Err(malformed(format!(
            "field `payload` is not transaction {hash}'s (of namespace {namespace})"
        )));
    }
    let proof_json = t
        .transaction_proof
        .as_ref()
        .ok_or_else(|| missing("transaction_proof"))?;
    let proof = crate::verify_transaction(
        trust,
        header,
        namespace,
        &hash,
        &hex_bytes(url, "transaction_proof.bytes", &proof_json.bytes)?,
    )
    .map_err(verify)?;
    if proof.position != position {
        return Err(malformed(format!(
            "field `position` is {position}; the transaction proof is for position {}",
            proof.position
        )));
    }
    let payloads = match &t.namespace_transactions {
        None => None,
        Some(txs) => {
            let payloads = payloads(url, txs)?;
            let namespace_proof = t
                .namespace_proof
                .as_ref()
                .ok_or_else(|| missing("namespace_proof"))?;
            crate::verify_namespace(
                trust,
                header,
                namespace,
                &hex_bytes(url, "namespace_proof.bytes", &namespace_proof.bytes)?,
                &payloads,
            )
            .map_err(verify)?;
            if payloads.get(position as usize) != Some(&payload) {
                return Err(malformed(format!(
                    "the namespace's transaction at position {position} is not the answer's payload"
                )));
            }
            Some(payloads)
        }
    };
    Ok(CheckedTx {
        namespace,
        position,
        payload,
        proof,
        payloads,
    })
}
