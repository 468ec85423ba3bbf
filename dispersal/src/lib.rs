//! Send shares, verify and store them, gather shares and reconstruct.
//!
//! One [`Actor`] per node. The chain talks to it through a [`Mailbox`]:
//!
//! - **Leader** ([`Mailbox::disperse`]): stores its own share durably, then sends share `i` to
//!   validator `i` only, on the dispersal p2p channel. (The header travels separately, with
//!   consensus; it carries the namespace table and commitments.)
//! - **Validator** ([`Mailbox::verify`]): for a proposed header, waits for its own share *from
//!   that header's leader*, checks every chunk against the header's namespace commitments
//!   (`cortado_coding::verify_share`), stores it durably (synced), pushes it to the API nodes it
//!   is a designated pusher of (each API node is pushed by the `k - 1 + push_spare` validators
//!   after it in index order, enough to decode with its own share and a spare), and only then
//!   answers `true`. The chain votes only after that, so a notarized block has ≥ 2f+1
//!   stored shares, ≥ f+1 of them at honest validators: enough to recover it (k = f+1). A share
//!   that fails the check answers `false` (the leader misbehaved; no correct share will come).
//!   A missing share keeps the answer pending, and the validator asks the leader for it
//!   (`ask.rs`: after 150 ms, then doubling, four times; the leader keeps its last four
//!   proposals' shares and answers each requester twice at most); consensus times out the view
//!   if it never comes.
//!   A header with an empty namespace table needs no share. The leader's share comes with the
//!   block's *manifest* (its transaction hashes), returned with the verdict ([`Verdict`]): the
//!   chain uses it to keep the transactions of not-yet-finalized ancestors out of its own
//!   proposals.
//! - **API node** ([`Mailbox::retrieve`]): gathers k verified shares of a finalized header — its
//!   own, the ones validators pushed (verified by `reconstruct` itself, which takes the k
//!   lowest-indexed shares whose chunks all verify: no chunk is hashed twice), and requested
//!   ones — and reconstructs the block with `cortado_coding::reconstruct`, which re-encodes
//!   every namespace and checks it against its commitment before a byte is served; an invalidly
//!   encoded namespace comes back marked and empty, the same verdict at every honest node.
//!   Pushes get until `fetch_timeout` after the block's proposal timestamp; a block older than
//!   that (this node was down or is catching up) is requested at once. Requests go to as many
//!   validators as shares are missing, best score first (`peers.rs`: shares that arrive raise a
//!   validator's score, unanswered requests lower it, an invalid share sinks it), each answered
//!   within `fetch_timeout` by the share or by `Missing`, else the next validator is asked.
//!   Many retrievals run at once (the chain's finalizer keeps a window of heights in flight).
//!   When every validator was asked once without `k` shares coming of it (the shares were
//!   pruned after `retention_views`), the retrieval ends [`RetrieveError::Unavailable`].
//! - **Block sync** ([`Syncer`], [`SyncMailbox::fetch`], its own p2p channel): the whole block
//!   from an API node, checked against the certified header (`cortado_coding::verify_block`)
//!   before it is used; API nodes that lie or do not answer are scored down and skipped. Every
//!   node answers such requests from its [`BlockSource`] (its index).
//!
//! # Peer input
//!
//! Messages are decoded with bounded configuration (`cortado_coding::share_bytes_max`, a manifest
//! of at most `txs_per_block_max` hashes). A proposal (share for my index with a manifest) is
//! kept as a candidate per (block, sender), and only the one sent by the header's leader is ever
//! checked; a share for another index is accepted only from that validator (a validator pushes
//! its own share). Candidates and gathered shares are bounded in bytes and blocks; at a bound
//! the sender holding the most loses its oldest first, so a peer flooding shares for random
//! blocks evicts only its own; nothing unverified is stored on disk. Malformed messages are
//! dropped with a debug log.
//!
//! # Storage
//!
//! Own shares live in a prunable `commonware_storage` archive keyed by block hash and indexed by
//! view, synced before a vote. Pruning keeps `retention_views` views (default: keep all).

mod actor;
mod ask;
mod config;
mod ingress;
mod metrics;
mod peers;
mod retrieve;
mod state;
mod sync;
mod wire;

pub use actor::Actor;
pub use config::{Config, Faults};
pub use ingress::{Mailbox, Manifest, RetrieveError, Retrieved, Verdict};
pub use metrics::StatsSnapshot;
pub use sync::{BlockSource, SyncConfig, SyncMailbox, Syncer, sync_message_bytes_max};
pub use wire::message_bytes_max;

/// Entry points for the fuzz targets in `fuzz/` (not an API).
#[doc(hidden)]
pub mod fuzz {
    use commonware_codec::{Decode, Encode};
    use cortado_coding::Params;
    use cortado_types::Limits;

    /// Decodes `data` as a peer's dispersal message and as a peer's block-sync message, with
    /// the bounds a node uses; returns the re-encoding of each that decoded.
    pub fn wire(data: &[u8], params: Params, limits: Limits) -> [Option<Vec<u8>>; 2] {
        let cfg = (params, limits);
        [
            crate::wire::Wire::decode_cfg(bytes::Bytes::copy_from_slice(data), &cfg)
                .ok()
                .map(|m| m.encode().to_vec()),
            crate::sync::wire::SyncWire::decode_cfg(bytes::Bytes::copy_from_slice(data), &cfg)
                .ok()
                .map(|m| m.encode().to_vec()),
        ]
    }
}
