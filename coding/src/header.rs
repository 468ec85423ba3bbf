//! The checks on a header's table that make its block reconstructible.

use cortado_types::{Error, Header, Limits};

/// Checks that a header's table can describe a block within `limits`: at most
/// `namespaces_per_block_max` entries, the payload commitment is the table's root, every entry
/// has at least one transaction, and the entries' transaction counts and byte lengths add up to
/// at most `txs_per_block_max` and `block_bytes_max`.
///
/// A validator should run this (with [`crate::verify_share`]) before voting: a header that
/// passes always reconstructs from `k` verified shares into a [`cortado_types::Block`], with any
/// namespace whose data breaks the per-transaction limits or its entry marked invalidly encoded.
pub fn check_header(header: &Header, limits: &Limits) -> Result<(), Error> {
    let entries = header.table.entries();
    if entries.len() > limits.namespaces_per_block_max {
        return Err(Error::TooManyNamespaces {
            count: entries.len(),
            limit: limits.namespaces_per_block_max,
        });
    }
    let computed = header.table.root();
    if computed != header.payload_commitment {
        return Err(Error::CommitmentMismatch {
            claimed: header.payload_commitment,
            computed,
        });
    }
    let (mut txs, mut bytes) = (0u64, 0u64);
    for entry in entries {
        if entry.tx_count == 0 {
            return Err(Error::EmptyNamespace(entry.namespace));
        }
        txs = txs.saturating_add(entry.tx_count as u64);
        bytes = bytes.saturating_add(entry.byte_len);
    }
    if txs > limits.txs_per_block_max as u64 {
        return Err(Error::TooManyTransactions {
            count: usize::try_from(txs).unwrap_or(usize::MAX),
            limit: limits.txs_per_block_max,
        });
    }
    if bytes > limits.block_bytes_max as u64 {
        return Err(Error::BlockTooLarge {
            size: usize::try_from(bytes).unwrap_or(usize::MAX),
            limit: limits.block_bytes_max,
        });
    }
    Ok(())
}
