//! Query index of finalized headers, certificates and transactions, in SQLite through sqlx.
//!
//! The index is what the API reads: it answers "what is the header and certificate at height
//! `h`", "which transactions of namespace `x` are in block `h`", "where was transaction `t`
//! finalized", and "which heights from `h` on contain namespace `x`". It is not the chain's
//! source of truth (that is the chain store); it is rebuilt from finalized blocks.
//!
//! # Rules
//!
//! - Only finalized blocks enter the index, each with its finality certificate, through
//!   [`Index::insert_finalized`]. That call is one SQL transaction, and the database runs in WAL
//!   mode with `synchronous=FULL`, so once it returns the block is durable (invariant 3 of the
//!   design: never acknowledge what is not durable).
//! - Inserting a height again with the same block hash is a no-op, so a node may replay its
//!   finalizations after a crash. A different hash at an indexed height is
//!   [`Error::Conflict`]: two blocks finalized at one height is a safety violation, and the
//!   index refuses to hide it.
//! - Every transaction of a block is stored at `(height, index)`, where `index` is its position
//!   in [`cortado_types::Block::transactions`] order (namespaces ascending, each in block order),
//!   from 0. A transaction hash that appears in several blocks is located at its first (lowest)
//!   height, and [`Index::block`] still rebuilds every block whole.
//! - A namespace whose committed encoding was invalid (design: *bad encoding*) counts as empty:
//!   it has no transactions, only its mark and its evidence (the encoded
//!   `cortado_coding::InvalidEncodingEvidence`, stored by `(height, namespace)`). The index takes
//!   such a verdict only with its evidence, one item per invalid namespace, and serves the
//!   verdict only with it ([`NamespaceBlock::evidence`]), so that a reader can check it (design,
//!   invariant 5). [`Index::block`] rebuilds those namespaces as
//!   `cortado_types::NamespaceData::invalid`.
//! - A read of a namespace the block does not hold answers the header and certificate with no
//!   transactions: absence is proven from the header's sorted table, not by the index.
//! - Headers and certificates are stored in their canonical commonware-codec encoding and
//!   decoded with the [`cortado_types::Limits`] given at open time, so a corrupt row is an
//!   [`Error::Codec`], never a panic, and what is served re-encodes to the same bytes.
//! - Heights are stored as SQLite integers (`i64`); a height above `i64::MAX` is never indexed,
//!   and reads of such heights find nothing. Namespaces are stored as the `i64` with the same
//!   bits, so every `u64` namespace is supported.
//!
//! Readers go through the [`Reader`] trait, which [`Index`] implements, so that the API can be
//! tested and later backed by Postgres through the same sqlx API.

#![warn(missing_docs)]

mod index;
mod reader;
mod schema;

pub use index::{
    CompactTx, EncodedEvidence, FinalizedBlock, InboxQuery, Index, IndexedMessage, IndexedTx,
    NamespaceBlock, TxLocation,
};
pub use reader::Reader;

/// Why an index operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed (I/O, lock timeout, constraint).
    #[error("index database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A stored row does not decode: the database is corrupt or was written by another version.
    #[error("corrupt index row: {0}")]
    Codec(String),
    /// A different block is already indexed at this height: a safety violation.
    #[error(
        "conflicting finalized blocks at height {height}: indexed {stored}, offered {new} (safety violation)"
    )]
    Conflict {
        /// The height.
        height: u64,
        /// Hash of the block already indexed.
        stored: cortado_types::Hash,
        /// Hash of the block offered now.
        new: cortado_types::Hash,
    },
    /// The caller offered something the index cannot hold (a height beyond `i64::MAX`, or
    /// invalid-encoding evidence that is not one item per invalid namespace of the block).
    #[error("invalid insert: {0}")]
    Invalid(String),
    /// The database file has a schema version this build does not know.
    #[error(
        "index schema version {found} is not supported (this build uses {expected}); the index was written by another version of Cortado: start the node with a fresh data directory"
    )]
    Schema {
        /// Version found in the file.
        found: i64,
        /// Version this build writes.
        expected: i64,
    },
}
