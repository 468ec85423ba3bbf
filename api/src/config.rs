//! Configuration of the HTTP API.

use crate::ApiLimits;
use cortado_types::{ChainId, Limits};
use std::time::Duration;

/// Configuration of the HTTP API.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The chain's limits (from genesis); `tx_bytes_max` bounds submissions.
    pub limits: Limits,
    /// The chain id, reported by `/v1/status`.
    pub chain_id: ChainId,
    /// Interval of SSE keep-alive comments.
    pub sse_keepalive: Duration,
    /// Most headers (or namespace heights) an SSE stream reads from the index at once.
    pub stream_batch_max: usize,
    /// Bytes a submission body may hold beyond the base64 encoding of `tx_bytes_max` (the JSON
    /// envelope: braces, field names, namespace).
    pub body_envelope_bytes: usize,
    /// Whether this node serves namespace data and takes submissions (an API node, the
    /// default). A validator that is not an API node indexes headers only: its data routes and
    /// submissions answer 421 `not_served`, naming [`Self::data_nodes`].
    pub serves_data: bool,
    /// Where the API nodes are (their URLs, from genesis), for the `not_served` message.
    pub data_nodes: Vec<String>,
    /// Bounds on what clients may make the node spend (`[api]` in the node file).
    pub bounds: ApiLimits,
}

impl ApiConfig {
    /// Default SSE keep-alive interval.
    pub const SSE_KEEPALIVE_DEFAULT: Duration = Duration::from_secs(15);
    /// Default SSE batch size.
    pub const STREAM_BATCH_MAX_DEFAULT: usize = 64;
    /// Default envelope allowance of a submission body.
    pub const BODY_ENVELOPE_BYTES_DEFAULT: usize = 1024;

    /// A configuration with the defaults for everything but the chain's own values.
    pub fn new(limits: Limits, chain_id: ChainId) -> Self {
        Self {
            limits,
            chain_id,
            sse_keepalive: Self::SSE_KEEPALIVE_DEFAULT,
            stream_batch_max: Self::STREAM_BATCH_MAX_DEFAULT,
            body_envelope_bytes: Self::BODY_ENVELOPE_BYTES_DEFAULT,
            serves_data: true,
            data_nodes: Vec::new(),
            bounds: ApiLimits::default(),
        }
    }

    /// The same, for a validator that is not an API node (see [`Self::serves_data`]).
    pub fn validator_only(mut self, data_nodes: Vec<String>) -> Self {
        self.serves_data = false;
        self.data_nodes = data_nodes;
        self
    }

    /// Largest submission body accepted: `tx_bytes_max` base64-encoded, plus the envelope.
    pub fn body_bytes_max(&self) -> usize {
        base64_len(self.limits.tx_bytes_max).saturating_add(self.body_envelope_bytes)
    }

    /// Checks the values; returns a message naming the broken one.
    pub fn check(&self) -> Result<(), String> {
        self.limits.check()?;
        self.bounds.check()?;
        if self.stream_batch_max == 0 {
            return Err("stream_batch_max must be at least 1".into());
        }
        if self.sse_keepalive.is_zero() {
            return Err("sse_keepalive must be positive".into());
        }
        if self.body_envelope_bytes < 64 {
            return Err(format!(
                "body_envelope_bytes ({}) must be at least 64, or no JSON submission fits",
                self.body_envelope_bytes
            ));
        }
        Ok(())
    }
}

/// Length of the padded standard base64 encoding of `n` bytes.
pub(crate) fn base64_len(n: usize) -> usize {
    n.div_ceil(3).saturating_mul(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limit_covers_base64_of_the_largest_payload() {
        let cfg = ApiConfig::new(Limits::default(), ChainId(1));
        assert!(cfg.check().is_ok());
        assert_eq!(base64_len(0), 0);
        assert_eq!(base64_len(1), 4);
        assert_eq!(base64_len(3), 4);
        assert_eq!(base64_len(4), 8);
        assert_eq!(cfg.body_bytes_max(), 4 * ((1 << 20) / 3 + 1) + 1024);
    }

    #[test]
    fn bad_values_named() {
        let mut cfg = ApiConfig::new(Limits::default(), ChainId(1));
        cfg.stream_batch_max = 0;
        assert!(cfg.check().unwrap_err().contains("stream_batch_max"));
    }
}
