//! Prometheus metrics of the dispersal actor, and the counters the node's status reads.

use commonware_runtime::{
    Metrics as RuntimeMetrics,
    telemetry::metrics::{Counter, Gauge, MetricsExt as _},
};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared with the [`crate::Mailbox`] (read without a round trip to the actor).
#[derive(Debug, Default)]
pub struct Stats {
    /// Own shares verified and stored.
    pub shares_stored: AtomicU64,
    /// Bytes of own shares stored.
    pub share_bytes_stored: AtomicU64,
    /// Bytes of shares received from peers.
    pub share_bytes_received: AtomicU64,
    /// Blocks reconstructed.
    pub blocks_reconstructed: AtomicU64,
    /// Duration of the last reconstruction in microseconds.
    pub last_reconstruct_us: AtomicU64,
    /// Whole blocks fetched from API nodes that checked against their header.
    pub blocks_synced: AtomicU64,
    /// Whole blocks from API nodes that did not check (the sender was scored down).
    pub synced_blocks_rejected: AtomicU64,
    /// Retrievals from shares that ended unavailable (every validator asked, fewer than k
    /// shares came of it).
    pub retrievals_unavailable: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Own shares verified and stored.
    pub shares_stored: u64,
    /// Bytes of own shares stored.
    pub share_bytes_stored: u64,
    /// Bytes of shares received from peers.
    pub share_bytes_received: u64,
    /// Blocks reconstructed.
    pub blocks_reconstructed: u64,
    /// Duration of the last reconstruction in microseconds.
    pub last_reconstruct_us: u64,
    /// Whole blocks fetched from API nodes that checked against their header.
    pub blocks_synced: u64,
    /// Whole blocks from API nodes that did not check (the sender was scored down).
    pub synced_blocks_rejected: u64,
    /// Retrievals from shares that ended unavailable.
    pub retrievals_unavailable: u64,
}

impl Stats {
    /// Reads the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            shares_stored: self.shares_stored.load(Ordering::Relaxed),
            share_bytes_stored: self.share_bytes_stored.load(Ordering::Relaxed),
            share_bytes_received: self.share_bytes_received.load(Ordering::Relaxed),
            blocks_reconstructed: self.blocks_reconstructed.load(Ordering::Relaxed),
            last_reconstruct_us: self.last_reconstruct_us.load(Ordering::Relaxed),
            blocks_synced: self.blocks_synced.load(Ordering::Relaxed),
            synced_blocks_rejected: self.synced_blocks_rejected.load(Ordering::Relaxed),
            retrievals_unavailable: self.retrievals_unavailable.load(Ordering::Relaxed),
        }
    }
}

/// Metrics registered under the actor's context.
pub(crate) struct Metrics {
    /// Own shares received from the leader that verified and were stored.
    pub shares_verified: Counter,
    /// Own shares received from the leader that failed verification (no vote).
    pub shares_rejected: Counter,
    /// Bytes of own shares stored.
    pub share_bytes_stored: Counter,
    /// Blocks reconstructed from shares.
    pub reconstructed: Counter,
    /// Namespaces found invalidly encoded.
    pub invalid_namespaces: Counter,
    /// Milliseconds spent in the last reconstruction (decode + re-encode check).
    pub reconstruct_ms: Gauge,
    /// Share requests sent to peers (pushes were not enough).
    pub requests_sent: Counter,
    /// Share requests that were not answered within `fetch_timeout`.
    pub requests_timed_out: Counter,
    /// Shares from peers that failed verification during a retrieval.
    pub invalid_shares_received: Counter,
    /// Share requests that could not be sent (the validator was not connected).
    pub requests_unsent: Counter,
    /// Share requests from peers answered with the share.
    pub requests_served: Counter,
    /// Share requests from peers answered `Missing` (share not held here).
    pub requests_missing: Counter,
    /// Retrievals that ended with no validator able to send enough shares.
    pub retrievals_unavailable: Counter,
    /// Requests to a proposal's leader for an own share that had not arrived.
    pub proposal_requests_sent: Counter,
    /// Such requests from peers answered, as leader.
    pub proposal_requests_served: Counter,
    /// Bytes of shares held in memory.
    pub buffered_bytes: Gauge,
}

impl Metrics {
    pub(crate) fn init(context: &impl RuntimeMetrics) -> Self {
        Self {
            shares_verified: context.counter("shares_verified", "Own shares verified and stored"),
            shares_rejected: context
                .counter("shares_rejected", "Own shares that failed verification"),
            share_bytes_stored: context.counter("share_bytes_stored", "Bytes of own shares stored"),
            reconstructed: context.counter("reconstructed", "Blocks reconstructed from shares"),
            invalid_namespaces: context
                .counter("invalid_namespaces", "Namespaces found invalidly encoded"),
            reconstruct_ms: context.gauge("reconstruct_ms", "Last reconstruction time in ms"),
            requests_sent: context.counter("requests_sent", "Share requests sent to peers"),
            requests_timed_out: context.counter(
                "requests_timed_out",
                "Share requests not answered within fetch_timeout",
            ),
            invalid_shares_received: context.counter(
                "invalid_shares_received",
                "Shares from peers that failed verification during a retrieval",
            ),
            requests_unsent: context.counter(
                "requests_unsent",
                "Share requests that could not be sent (validator not connected)",
            ),
            requests_served: context.counter(
                "requests_served",
                "Share requests from peers answered with the share",
            ),
            requests_missing: context.counter(
                "requests_missing",
                "Share requests from peers answered Missing (not held here)",
            ),
            retrievals_unavailable: context.counter(
                "retrievals_unavailable",
                "Retrievals that ended with no validator able to send enough shares",
            ),
            buffered_bytes: context.gauge("buffered_bytes", "Bytes of shares held in memory"),
            proposal_requests_sent: context.counter(
                "proposal_requests_sent",
                "Requests to a proposal's leader for an own share that had not arrived",
            ),
            proposal_requests_served: context.counter(
                "proposal_requests_served",
                "Requests for an own share of our proposal answered, as leader",
            ),
        }
    }
}
