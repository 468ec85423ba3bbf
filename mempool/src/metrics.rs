//! Prometheus metrics of the mempool actor.

use crate::Stats;
use commonware_runtime::{
    Metrics as RuntimeMetrics,
    telemetry::metrics::{Counter, Gauge, GaugeExt as _, MetricsExt as _},
};

/// Metrics registered under the actor's context.
pub(crate) struct Metrics {
    /// Transactions in the pool.
    pub txs: Gauge,
    /// Payload bytes in the pool.
    pub bytes: Gauge,
    /// Bytes in the journal's retained sections.
    pub journal_bytes: Gauge,
    /// Transactions admitted from local submits.
    pub admitted_local: Counter,
    /// Transactions admitted from gossip.
    pub admitted_gossip: Counter,
    /// Submits and gossip copies of transactions already pooled or recently finalized.
    pub duplicates: Counter,
    /// Transactions refused by a bound (local or gossip).
    pub refused: Counter,
    /// Transactions removed because they were finalized.
    pub finalized: Counter,
    /// Gossip messages sent.
    pub gossip_sent: Counter,
    /// Gossip messages that reached no peer (none connected, or all rate-limited).
    pub gossip_unsent: Counter,
    /// Gossip messages received.
    pub gossip_received: Counter,
    /// Gossip messages dropped as malformed or oversize.
    pub gossip_invalid: Counter,
    /// Gossiped copies dropped because a finalized block's manifest named them (or its
    /// manifest was not known here).
    pub copies_dropped: Counter,
    /// Gossiped copies evicted to make room for acknowledged submissions.
    pub copies_evicted: Counter,
    /// Gossiped copies evicted for another peer's copy (their sender held more copies).
    pub copies_displaced: Counter,
    /// Gossiped copies dropped when their time to live passed.
    pub copies_expired: Counter,
    /// Owned transactions gossiped again (after a restart, or still pending after
    /// `reoffer_after`).
    pub reoffered: Counter,
}

impl Metrics {
    /// Registers the metrics with `context`.
    pub fn init<E: RuntimeMetrics>(context: &E) -> Self {
        Self {
            txs: context.gauge("txs", "Transactions in the pool"),
            bytes: context.gauge("bytes", "Payload bytes in the pool"),
            journal_bytes: context.gauge("journal_bytes", "Bytes in the journal"),
            admitted_local: context.counter("admitted_local", "Transactions admitted locally"),
            admitted_gossip: context.counter("admitted_gossip", "Transactions admitted by gossip"),
            duplicates: context.counter("duplicates", "Duplicate transactions"),
            refused: context.counter("refused", "Transactions refused by a bound"),
            finalized: context.counter("finalized", "Transactions removed as finalized"),
            gossip_sent: context.counter("gossip_sent", "Gossip messages sent"),
            gossip_unsent: context.counter("gossip_unsent", "Gossip messages that reached no peer"),
            gossip_received: context.counter("gossip_received", "Gossip messages received"),
            gossip_invalid: context.counter("gossip_invalid", "Malformed gossip messages dropped"),
            copies_dropped: context.counter(
                "copies_dropped",
                "Gossiped copies dropped because a finalized block's manifest named them",
            ),
            copies_expired: context.counter("copies_expired", "Gossiped copies that expired"),
            copies_evicted: context.counter(
                "copies_evicted",
                "Gossiped copies evicted to make room for acknowledged submissions",
            ),
            copies_displaced: context.counter(
                "copies_displaced",
                "Gossiped copies evicted for the copy of a peer holding fewer",
            ),
            reoffered: context.counter(
                "reoffered",
                "Owned transactions gossiped to the leaders again (after a restart or while pending)",
            ),
        }
    }

    /// Updates the occupancy gauges.
    pub fn set(&self, stats: Stats, journal_bytes: u64) {
        let _ = self.txs.try_set(stats.txs);
        let _ = self.bytes.try_set(stats.bytes);
        let _ = self.journal_bytes.try_set(journal_bytes);
    }
}
