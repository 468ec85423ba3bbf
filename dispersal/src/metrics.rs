//! Prometheus metrics of the dispersal actor.

use commonware_runtime::{
    Metrics as RuntimeMetrics,
    telemetry::metrics::{Counter, Gauge, MetricsExt as _},
};

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
            buffered_bytes: context.gauge("buffered_bytes", "Bytes of shares held in memory"),
        }
    }
}
