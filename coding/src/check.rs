//! Checking a whole block that another node sent against its (certified) header: what a node
//! syncing namespace data from an API node runs before it stores a byte.
//!
//! A block whose header hashes to the certified one binds the namespace table and with it every
//! namespace's commitment. [`verify_block`] then re-encodes every valid namespace and compares
//! the commitment it yields with the table's (the block's own construction already matched
//! each entry's transaction count, byte length and `tx_root`), and checks
//! the evidence of every namespace marked invalidly encoded ([`crate::verify_invalid_encoding`]),
//! so the block is exactly the one every honest node reconstructs from shares.

use crate::{InvalidEncodingEvidence, Params, encode::commitment_of, verify_invalid_encoding};
use cortado_types::{Block, Header, Limits, Namespace};

/// Why a block does not match its header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockCheckError {
    /// The block carries another header.
    #[error("the block is not the one the certified header names")]
    OtherHeader,
    /// A namespace's data does not re-encode to its table entry.
    #[error("namespace {0} does not re-encode to its commitment")]
    Commitment(Namespace),
    /// A namespace is marked invalidly encoded without evidence that verifies.
    #[error("namespace {0} is marked invalidly encoded without valid evidence")]
    Evidence(Namespace),
    /// Evidence about a namespace the block holds as valid, or twice about one namespace.
    #[error("unexpected evidence about namespace {0}")]
    ExtraEvidence(Namespace),
}

/// Checks that `block` and `evidence` are what reconstructing `header`'s block from shares
/// yields: same header, every valid namespace re-encoding to its table entry, and for each
/// namespace marked invalidly encoded exactly one item of evidence, about its entry, that
/// verifies under `limits`.
///
/// Panics if the parameters are invalid (configuration).
pub fn verify_block(
    params: Params,
    header: &Header,
    block: &Block,
    evidence: &[InvalidEncodingEvidence],
    limits: &Limits,
) -> Result<(), BlockCheckError> {
    params.assert_valid();
    if block.hash() != header.hash() {
        return Err(BlockCheckError::OtherHeader);
    }
    let entries = header.table.entries();
    for (entry, data) in entries.iter().zip(block.namespaces()) {
        let ns = entry.namespace;
        let items: Vec<&InvalidEncodingEvidence> = evidence
            .iter()
            .filter(|e| e.entry.namespace == ns)
            .collect();
        if data.invalid_encoding {
            match items.as_slice() {
                [one] if one.entry == *entry && verify_invalid_encoding(params, one, limits) => {}
                [_, _, ..] => return Err(BlockCheckError::ExtraEvidence(ns)),
                _ => return Err(BlockCheckError::Evidence(ns)),
            }
        } else {
            if !items.is_empty() {
                return Err(BlockCheckError::ExtraEvidence(ns));
            }
            // Every `Block` was built from its data or checked against its table
            // (`Block::from_parts`: counts and `tx_root`), so only the commitment, which takes
            // the re-encoding, is left to check; hashing the transactions again would repeat it.
            if commitment_of(params, data) != Some(entry.commitment) {
                return Err(BlockCheckError::Commitment(ns));
            }
        }
    }
    if let Some(stray) = evidence
        .iter()
        .find(|e| header.table.find(e.entry.namespace).is_err())
    {
        return Err(BlockCheckError::ExtraEvidence(stray.entry.namespace));
    }
    Ok(())
}
