use crate::{Hash, Namespace};

/// Why a block, table or transaction is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A transaction payload exceeds the configured limit.
    #[error("transaction payload is {size} bytes; the limit is {limit} bytes (tx_bytes_max)")]
    TransactionTooLarge {
        /// Payload size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The namespace table is not strictly sorted by namespace id.
    #[error("namespace table is not strictly ascending at namespace {0}")]
    TableNotSorted(Namespace),
    /// The block holds more namespaces than allowed.
    #[error("block holds {count} namespaces; the limit is {limit} (namespaces_per_block_max)")]
    TooManyNamespaces {
        /// Namespaces in the block.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The block payload exceeds the configured limit.
    #[error("block payload is {size} bytes; the limit is {limit} bytes (block_bytes_max)")]
    BlockTooLarge {
        /// Payload bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The block holds more transactions than allowed.
    #[error("block holds {count} transactions; the limit is {limit} (txs_per_block_max)")]
    TooManyTransactions {
        /// Transactions in the block.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A table entry does not describe the namespace data next to it.
    #[error("namespace table entry for namespace {0} does not match the block's data")]
    EntryMismatch(Namespace),
    /// The header's payload commitment is not the root of its namespace table.
    #[error("payload commitment {claimed} does not match the namespace table root {computed}")]
    CommitmentMismatch {
        /// Commitment in the header.
        claimed: Hash,
        /// Commitment computed from the table.
        computed: Hash,
    },
    /// A namespace appears in a block without transactions.
    #[error("namespace {0} appears in the block with no transactions")]
    EmptyNamespace(Namespace),
}
