//! Bounded, durable transaction pool with gossip to the other validators.
//!
//! One [`Actor`] per node owns the pool. Everything else talks to it through a cloneable
//! [`Mailbox`]: the API submits transactions, the block builder selects them, the chain reports
//! which ones were finalized.
//!
//! # Rules
//!
//! - **Bounds.** The pool holds at most [`Config::bytes_max`] bytes of transaction payload
//!   (default 256 MiB), at most [`Config::txs_max`] transactions, and at most
//!   [`Config::namespace_bytes_max`] payload bytes per namespace (default 64 MiB), so one rollup
//!   cannot fill the pool for the others. A payload larger than [`Config::tx_bytes_max`] (default
//!   1 MiB) is refused outright. Sizes are payload bytes, the same measure as
//!   `Limits::block_bytes_max`. A full pool refuses new transactions ([`Error::Full`],
//!   [`Error::NamespaceFull`]); it never evicts an acknowledged one. A local submission that would
//!   not fit evicts the oldest gossiped copies (of its namespace, when that is the bound)
//!   first: a peer flooding copies cannot make this node refuse what its clients submit (copies
//!   are soft state; their owners keep and re-offer them).
//! - **Duplicates.** A transaction is identified by its hash. Submitting one that is already in
//!   the pool, or that was finalized recently (the last [`Config::recent_finalized_max`] hashes
//!   reported through [`Mailbox::finalized`]), succeeds with [`Submitted::duplicate`] set and
//!   changes nothing. A late gossip copy of a finalized transaction is likewise ignored.
//! - **Selection.** [`Mailbox::select`] walks the pool in arrival order (FIFO), skips the hashes
//!   it is told to exclude (those already in not-yet-finalized ancestor blocks), skips any
//!   transaction that would break the block limits (`block_bytes_max`,
//!   `namespaces_per_block_max`, `txs_per_block_max`) and keeps going, so smaller later
//!   transactions can fill the rest of the block. Selection removes nothing:
//!   [`Mailbox::finalized`] does.
//! - **Owned transactions and copies.** A transaction submitted here is *owned*: this node
//!   acknowledged it, journals it and keeps it until it sees it finalized in a block it
//!   reconstructed ([`Mailbox::finalized`]). A transaction received by gossip is a *copy* of one
//!   its owner acknowledged: soft state, never journaled, dropped when a finalized block's
//!   manifest names it ([`Mailbox::finalized_copies`], for validators that do not reconstruct;
//!   the claim is remembered, so late copies are refused), when this node sees it finalized, or
//!   after [`Config::copy_ttl`]. A local submission of a pooled copy adopts it (journaled from
//!   then on). The owner is the backstop if copies are lost: it proposes its own transactions
//!   when it leads, and while its node is caught up the chain calls [`Mailbox::reoffer`], which
//!   gossips (as a *re-offer*) every owned transaction still pending `reoffer_after` after it
//!   was last gossiped (then twice as long, up to `copy_ttl`), and after a restart every one
//!   replayed from the journal. A re-offer is admitted over a manifest's claim older than
//!   `reoffer_after` (a claim the owner still contradicts is a lie), so a false manifest or a
//!   crash of a copy holder delays a transaction but cannot lose or strand it.
//! - **Durability** (system invariant 3: a node never acknowledges a transaction before it is
//!   durable). Every transaction submitted here is appended to a `commonware_storage` segmented
//!   journal, and the journal is synced before the submit is answered. Group commit: in one loop
//!   iteration the actor drains everything queued (submits, gossip, queries), appends all
//!   admitted local transactions, syncs once, then answers everything in arrival order. Query
//!   answers are also held until the sync, so no caller can observe a transaction that a crash
//!   could still lose.
//! - **Finalized removal is journaled too.** [`Mailbox::finalized`] appends a record naming the
//!   removed hashes, synced with the same group commit, so a restart does not resurrect finalized
//!   transactions (which a leader would otherwise include a second time). The node should still
//!   report, after a restart, the blocks it finalized since its last report: `finalized` is
//!   idempotent. After a restart the recent-finalized set holds only the hashes named by records
//!   still in the journal, plus whatever the node reports.
//! - **Journal bounds.** The journal advances to a new section every
//!   [`Config::journal_section_bytes`] bytes. When the journal holds more than twice the live
//!   pool plus two sections, or its oldest section holds no live transaction, the oldest section
//!   is compacted: its live transactions are re-appended to the current section (keeping their
//!   arrival sequence number, so FIFO order survives), synced, and the section is pruned. The
//!   journal therefore stays within about twice the live pool plus a few sections.
//! - **Replay.** [`Actor::init`] replays the journal (owned transactions only) into the pool
//!   before the actor accepts anything. Replayed transactions bypass the byte and count bounds (they were acknowledged;
//!   dropping them would break the invariant), so a pool restarted with smaller bounds may sit
//!   above them until it drains. A transaction larger than the current `tx_bytes_max` is dropped
//!   with a warning: no block could carry it.
//! - **Gossip.** A transaction admitted through a local submit is sent, after it is durable, to
//!   the leaders of the next [`Config::forward_leaders`] views when [`Actor::start`] is given a
//!   leader schedule ([`Leaders`]; round-robin leaders are known in advance), else to every
//!   validator (`Recipients::All`). Bytes on the wire per transaction are therefore
//!   `forward_leaders`, not `n - 1`, times its size. Outgoing transactions are batched into one
//!   message until the batch would exceed [`Config::gossip_batch_bytes_max`] or
//!   [`Config::gossip_interval`] passes (default 5 ms), whichever comes first; the recipients are
//!   those upcoming when the batch leaves. A message never exceeds the p2p
//!   [`Config::max_message_size`]. Copies are not re-gossiped. Gossip is best effort: a leader
//!   that is rate-limited, offline or whose block was full misses the batch, and the
//!   transaction still reaches a block when another holder, or its owner, leads.
//! - **What is in flight** is not the pool's business: validators see only shares of blocks,
//!   so the chain excludes, when it selects, what its unfinalized ancestors' manifests name
//!   (the manifest travels with the leader's shares, `cortado-dispersal`). Proposal hints from
//!   peers (gossip tags 1 and 2) are refused: no peer can keep a transaction out of blocks.
//! - **Peer input.** A gossip message is decoded with bounded codec configuration (count bounded
//!   by the message size, each payload by `tx_bytes_max`); a malformed or oversize message is
//!   dropped with a debug log, never a panic. A transaction refused by the bounds is dropped the
//!   same way.
//! - **Failures.** A failed journal write, sync or replay is fatal (the actor panics): the pool
//!   cannot keep its promise without a working disk.

mod actor;
mod config;
mod gossip;
mod ingress;
mod journal;
mod metrics;
mod state;
#[cfg(test)]
mod tests;

pub use actor::{Actor, Leaders};
pub use config::Config;
pub use gossip::GOSSIP_OVERHEAD;
pub use ingress::Mailbox;

/// Entry points for the fuzz targets in `fuzz/` (not an API).
#[doc(hidden)]
pub mod fuzz {
    /// Decodes `data` as a peer's gossip message with the bounds a node uses; returns its
    /// re-encoding if it decoded.
    pub fn gossip(data: &[u8], tx_bytes_max: usize, max_message_size: usize) -> Option<Vec<u8>> {
        let (txs, reoffer) = crate::gossip::decode_batch(
            bytes::Bytes::copy_from_slice(data),
            tx_bytes_max,
            max_message_size,
        )
        .ok()?;
        let encoded = if reoffer {
            crate::gossip::encode_reoffer(&txs)
        } else {
            crate::gossip::encode(&txs)
        };
        Some(encoded.to_vec())
    }
}

use cortado_types::{Hash, Namespace};
use std::{fmt, time::Duration};

/// The answer to an accepted [`Mailbox::submit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The transaction hash.
    pub hash: Hash,
    /// True if the pool already held this transaction (a gossiped copy held here becomes this
    /// node's own, journaled, before the answer) or it was finalized recently.
    pub duplicate: bool,
}

/// Pool occupancy, as returned by [`Mailbox::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transactions in the pool.
    pub txs: usize,
    /// Sum of their payload bytes.
    pub bytes: usize,
}

/// Which pool-wide bound refused a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The pool holds `bytes_max` payload bytes.
    Bytes(usize),
    /// The pool holds `txs_max` transactions.
    Txs(usize),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Bytes(limit) => write!(f, "{}, bytes_max", Bytes(*limit)),
            Limit::Txs(limit) => write!(f, "{limit} transactions, txs_max"),
        }
    }
}

/// Why the pool refused a transaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The payload is larger than `tx_bytes_max`.
    #[error(
        "transaction payload is {}; the limit is {} (tx_bytes_max): split it into smaller transactions",
        Bytes(*size),
        Bytes(*limit)
    )]
    TooLarge {
        /// Payload size in bytes.
        size: usize,
        /// The configured limit (`tx_bytes_max`).
        limit: usize,
    },
    /// The pool is full; retry later.
    #[error("mempool is full ({limit}); retry after {}", Secs(*retry_after))]
    Full {
        /// The bound that is reached.
        limit: Limit,
        /// When a retry has a fair chance (roughly a block time or more).
        retry_after: Duration,
    },
    /// The namespace's share of the pool is full; retry later.
    #[error(
        "namespace {namespace} already holds {} in the mempool (namespace_bytes_max); retry after {}",
        Bytes(*limit),
        Secs(*retry_after)
    )]
    NamespaceFull {
        /// The namespace.
        namespace: Namespace,
        /// The configured limit (`namespace_bytes_max`).
        limit: usize,
        /// When a retry has a fair chance.
        retry_after: Duration,
    },
    /// A bundle carrier that does not decode.
    #[error("invalid bundle: {0}")]
    Bundle(String),
    /// A bundle whose members are already pending (in another bundle or on their own) or
    /// finalized, or a transaction submitted alone while it is a member of a pending bundle:
    /// well-formed, but in conflict with what the pool holds.
    #[error("bundle conflict: {0}")]
    BundleConflict(String),
    /// The mempool actor has stopped.
    #[error("mempool is stopped (the node is shutting down or failed; check its logs)")]
    Closed,
}

/// Formats a byte count for people: `256 MiB`, `12 KiB`, `1000 bytes`.
struct Bytes(usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: usize = 1 << 10;
        const MIB: usize = 1 << 20;
        let n = self.0;
        if n >= MIB && n.is_multiple_of(MIB) {
            write!(f, "{} MiB", n / MIB)
        } else if n >= KIB && n.is_multiple_of(KIB) {
            write!(f, "{} KiB", n / KIB)
        } else {
            write!(f, "{n} bytes")
        }
    }
}

/// Formats a duration for people: `1 s`, `250 ms`.
struct Secs(Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms >= 1000 && ms.is_multiple_of(1000) {
            write!(f, "{} s", ms / 1000)
        } else {
            write!(f, "{ms} ms")
        }
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn messages_name_the_limit_and_the_remedy() {
        let full = Error::Full {
            limit: Limit::Bytes(256 << 20),
            retry_after: Duration::from_secs(1),
        };
        assert_eq!(
            full.to_string(),
            "mempool is full (256 MiB, bytes_max); retry after 1 s"
        );
        let too_large = Error::TooLarge {
            size: 2 << 20,
            limit: 1 << 20,
        };
        assert_eq!(
            too_large.to_string(),
            "transaction payload is 2 MiB; the limit is 1 MiB (tx_bytes_max): split it into smaller transactions"
        );
        let ns = Error::NamespaceFull {
            namespace: Namespace(7),
            limit: 64 << 20,
            retry_after: Duration::from_millis(500),
        };
        assert_eq!(
            ns.to_string(),
            "namespace 7 already holds 64 MiB in the mempool (namespace_bytes_max); retry after 500 ms"
        );
        let txs = Error::Full {
            limit: Limit::Txs(10),
            retry_after: Duration::from_secs(2),
        };
        assert_eq!(
            txs.to_string(),
            "mempool is full (10 transactions, txs_max); retry after 2 s"
        );
        assert_eq!(Bytes(1000).to_string(), "1000 bytes");
    }
}
