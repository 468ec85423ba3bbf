//! Compact transaction proofs: one transaction of a namespace, proven with an O(log n) path to
//! the namespace entry's `tx_root` instead of the whole namespace.
//!
//! The tree is `cortado_types::merkle` (RFC 6962 shape, SHA-256) under domain `_CORTADO_TXS`,
//! whose leaves are the namespace's transaction hashes in block order
//! (`cortado_types::tx_leaf`). The header carries the whole namespace table, so once the header
//! verifies, a proof names the namespace's entry by the transaction's namespace; the path then
//! leads from the transaction's leaf to that entry's `tx_root`. Everything is SHA-256, which an
//! EVM has as a precompile.
//!
//! # What it proves, and what it does not
//!
//! It proves that the leader committed the transaction's hash at `position` of the namespace in a
//! certified header. It does not prove that the namespace is *validly encoded*: validators vote
//! holding one chunk each, so a Byzantine leader can certify a `tx_root` that its coded data does
//! not match. Every node that reconstructs the namespace then finds the mismatch (the bad-encoding
//! rule recomputes `tx_root`) and treats the namespace as empty, with evidence anyone can check.
//! A reader who must not depend on that (a bridge crediting value) asks for the whole namespace
//! (`?full=true`), which is proven unconditionally by re-encoding.

use crate::{ProofError, params::tree_height, share::path_encode_size, share::read_version};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use cortado_types::{
    DOMAIN_TXS, FORMAT_VERSION, Hash, Header, NamespaceData, NamespaceEntry, merkle, tx_leaf,
};

/// Proof that a transaction hash sits at `position` of its namespace's transaction tree.
///
/// Encoding: `version (1 byte, FORMAT_VERSION) || position (u32 BE) || count (u32 BE) || path
/// length (varint) || path hashes (32 bytes each)`. Codec config: `txs_per_block_max`; a
/// decoder requires `count ≤` it, `position < count` and at most `ceil(log2(count))` hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionProof {
    /// The transaction's position in its namespace (0-based, block order).
    pub position: u32,
    /// Transactions in the namespace (the entry's `tx_count`).
    pub count: u32,
    /// Audit path from the transaction's leaf to the entry's `tx_root`.
    pub path: Vec<Hash>,
}

impl Write for TransactionProof {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.position.write(buf);
        self.count.write(buf);
        self.path.write(buf);
    }
}

impl EncodeSize for TransactionProof {
    fn encode_size(&self) -> usize {
        1 + 4 + 4 + path_encode_size(self.path.len())
    }
}

impl Read for TransactionProof {
    /// `txs_per_block_max`.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, txs_max: &usize) -> Result<Self, CodecError> {
        read_version(buf, "TransactionProof")?;
        let position = u32::read(buf)?;
        let count = u32::read(buf)?;
        if count as usize > *txs_max {
            return Err(CodecError::Invalid(
                "TransactionProof",
                "count beyond txs_per_block_max",
            ));
        }
        if position >= count {
            return Err(CodecError::Invalid(
                "TransactionProof",
                "position beyond the count",
            ));
        }
        let path =
            Vec::<Hash>::read_cfg(buf, &(RangeCfg::new(..=tree_height(count as usize)), ()))?;
        Ok(Self {
            position,
            count,
            path,
        })
    }
}

/// The proof of the transaction at `position` of `data` (whose entry's `tx_root` is
/// `merkle::root` over `data.tx_leaves()`); `None` if `position` is out of range.
pub fn prove_transaction(data: &NamespaceData, position: u32) -> Option<TransactionProof> {
    prove_among(&data.tx_hashes(), position)
}

/// The proof of the transaction at `position` among a namespace's transaction hashes in block
/// order; `None` if `position` is out of range.
pub fn prove_among(tx_hashes: &[Hash], position: u32) -> Option<TransactionProof> {
    if position as usize >= tx_hashes.len() {
        return None;
    }
    let leaves: Vec<Hash> = tx_hashes.iter().map(tx_leaf).collect();
    Some(TransactionProof {
        position,
        count: u32::try_from(leaves.len()).ok()?,
        path: merkle::proof(DOMAIN_TXS, &leaves, position as usize),
    })
}

/// Verifies that the transaction `tx_hash` of `namespace` sits at `proof.position` of that
/// namespace in `header` (whose certificate the caller has checked). Returns the namespace's
/// entry.
///
/// Checks: the header's table holds `namespace`; `proof.count` is its entry's `tx_count` (an
/// RFC 6962 path does not bind the tree size on its own); `position < count`; the path leads
/// from `tx_leaf(tx_hash)` to the entry's `tx_root`. See the module docs for what this does not
/// prove.
pub fn verify_transaction(
    header: &Header,
    namespace: cortado_types::Namespace,
    tx_hash: &Hash,
    proof: &TransactionProof,
) -> Result<NamespaceEntry, ProofError> {
    let entry = header
        .table
        .find(namespace)
        .map(|at| header.table.entries()[at])
        .map_err(|_| {
            ProofError::Invalid(format!("the header's table has no namespace {namespace}"))
        })?;
    if proof.count != entry.tx_count {
        return Err(ProofError::Invalid(format!(
            "proof is for {} transactions; namespace {namespace} has {}",
            proof.count, entry.tx_count
        )));
    }
    if proof.position >= proof.count {
        return Err(ProofError::Invalid(format!(
            "position {} is outside namespace {namespace}'s {} transactions",
            proof.position, proof.count
        )));
    }
    if !merkle::verify(
        DOMAIN_TXS,
        &entry.tx_root,
        tx_leaf(tx_hash),
        proof.position as usize,
        proof.count as usize,
        &proof.path,
    ) {
        return Err(ProofError::Invalid(format!(
            "transaction {tx_hash} at position {} does not verify against namespace {namespace}'s tx_root",
            proof.position
        )));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use commonware_codec::{Decode, Encode};
    use cortado_types::{Block, BlockContext, ChainId, Limits, Namespace, Transaction};

    fn block(counts: &[(u64, usize)]) -> Block {
        let txs = counts
            .iter()
            .flat_map(|(ns, n)| {
                (0..*n).map(move |i| Transaction::new(*ns, Bytes::from(format!("{ns}/{i}"))))
            })
            .collect();
        let ctx = BlockContext {
            chain_id: ChainId(1),
            height: 1,
            epoch: 0,
            view: 1,
            parent_view: 0,
            leader: [0; 32],
            timestamp_ms: 0,
            parent: Hash([0; 32]),
            history: vec![],
        };
        Block::build(ctx, txs, &Limits::default(), |d| {
            Hash::digest(b"t", &[&d.encode_payloads()])
        })
        .unwrap()
    }

    #[test]
    fn every_transaction_proves_and_nothing_else_does() {
        let block = block(&[(3, 1), (7, 5), (9, 17)]);
        let header = block.header();
        for data in block.namespaces() {
            let hashes = data.tx_hashes();
            for (position, hash) in (0u32..).zip(&hashes) {
                let proof = prove_transaction(data, position).unwrap();
                let bytes = proof.encode();
                assert_eq!(TransactionProof::decode_cfg(bytes, &1024).unwrap(), proof);
                let entry = verify_transaction(header, data.namespace, hash, &proof).unwrap();
                assert_eq!(entry.namespace, data.namespace);
                // Another transaction's hash, another namespace, a wrong count or position.
                let other = Transaction::hash_parts(data.namespace, b"not in the block");
                assert!(verify_transaction(header, data.namespace, &other, &proof).is_err());
                assert!(verify_transaction(header, Namespace(8), hash, &proof).is_err());
                let mut wrong = proof.clone();
                wrong.count += 1;
                assert!(verify_transaction(header, data.namespace, hash, &wrong).is_err());
                if proof.count > 1 {
                    let mut moved = proof.clone();
                    moved.position = (position + 1) % proof.count;
                    assert!(verify_transaction(header, data.namespace, hash, &moved).is_err());
                }
            }
            assert!(prove_transaction(data, hashes.len() as u32).is_none());
        }
    }

    #[test]
    fn decoding_refuses_out_of_range_proofs() {
        let proof = TransactionProof {
            position: 2,
            count: 2,
            path: vec![Hash([0; 32])],
        };
        assert!(TransactionProof::decode_cfg(proof.encode(), &1024).is_err());
        let long = TransactionProof {
            position: 0,
            count: 2,
            path: vec![Hash([0; 32]); 2],
        };
        assert!(TransactionProof::decode_cfg(long.encode(), &1024).is_err());
        let big = TransactionProof {
            position: 0,
            count: 2000,
            path: vec![],
        };
        assert!(TransactionProof::decode_cfg(big.encode(), &1024).is_err());
    }
}
