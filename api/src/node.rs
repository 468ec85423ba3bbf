//! What the API needs from the running node besides the index.

use cortado_types::{Hash, Namespace, Transaction};
use std::{future::Future, time::Duration};

/// What the API needs from the running node besides the index.
pub trait Node: Clone + Send + Sync + 'static {
    /// Admit a transaction to the mempool; resolves once it is durable there (or refused).
    fn submit(
        &self,
        tx: Transaction,
    ) -> impl Future<Output = Result<Submitted, SubmitError>> + Send;

    /// Whether the mempool holds this hash (not yet finalized).
    fn is_pending(&self, hash: Hash) -> impl Future<Output = bool> + Send;

    /// Live status of consensus and p2p.
    fn status(&self) -> impl Future<Output = ConsensusStatus> + Send;

    /// The node's own metrics (consensus, p2p, mempool, dispersal, finality) in the Prometheus
    /// text format; `/metrics` appends the API's request metrics.
    fn metrics(&self) -> impl Future<Output = String> + Send;
}

/// A transaction the mempool accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The transaction hash.
    pub hash: Hash,
    /// Whether the mempool already held it (the submission changed nothing).
    pub duplicate: bool,
}

/// Why the mempool refused a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The payload exceeds `tx_bytes_max`.
    TooLarge {
        /// Payload size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The mempool is full; retry later.
    MempoolFull {
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// This namespace's share of the mempool is full; retry later.
    NamespaceFull {
        /// The namespace.
        namespace: Namespace,
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// The node cannot take transactions now (starting, stopping, or failed).
    Unavailable(String),
    /// The mempool refused a bundle (its members conflict with pending ones, or it is
    /// malformed).
    InvalidBundle(String),
    /// A well-formed bundle whose members are pending or finalized already, or a transaction
    /// that is a member of a pending bundle (409).
    BundleConflict(String),
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::TooLarge { size, limit } => write!(
                f,
                "transaction payload is {size} bytes; the limit is {limit} bytes (tx_bytes_max)"
            ),
            SubmitError::MempoolFull { retry_after } => write!(
                f,
                "the mempool is full; retry in {} s",
                retry_after_secs(*retry_after)
            ),
            SubmitError::NamespaceFull {
                namespace,
                retry_after,
            } => write!(
                f,
                "namespace {namespace} has its full share of the mempool; retry in {} s",
                retry_after_secs(*retry_after)
            ),
            SubmitError::Unavailable(why) => write!(f, "the node cannot take transactions: {why}"),
            SubmitError::InvalidBundle(why) => write!(f, "bundle refused: {why}"),
            SubmitError::BundleConflict(why) => write!(f, "refused: {why}"),
        }
    }
}

impl std::error::Error for SubmitError {}

/// A retry delay in whole seconds, rounded up, at least 1 (the `Retry-After` header unit).
pub(crate) fn retry_after_secs(delay: Duration) -> u64 {
    let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    secs.max(1)
}

/// Live status of consensus and p2p, as the node reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsensusStatus {
    /// Current consensus view.
    pub view: u64,
    /// Number of validators.
    pub validators: usize,
    /// Connected peers.
    pub peers: usize,
    /// Time from proposal to finality of the last finalized block, in ms.
    pub last_finality_latency_ms: Option<u64>,
    /// Transactions in the mempool.
    pub mempool_txs: usize,
    /// Payload bytes in the mempool.
    pub mempool_bytes: usize,
    /// Erasure-coded dispersal at this node.
    pub dispersal: DispersalStatus,
    /// Catch-up progress.
    pub sync: SyncStatus,
}

/// How far this node is behind the finalized chain, and how fast it catches up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncStatus {
    /// Whether this node is catching up (more than a few blocks below the tip).
    pub syncing: bool,
    /// Highest finalized height this node processed (stored and indexed).
    pub height: u64,
    /// Highest finalized height this node knows of.
    pub tip: u64,
    /// Blocks per second this node processes (smoothed).
    pub rate_blocks_per_s: f64,
    /// Blocks per second the chain grows (smoothed).
    pub chain_rate_blocks_per_s: f64,
    /// Estimated seconds to the tip, when gaining on it.
    pub eta_s: Option<f64>,
}

/// What this node's dispersal has done since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DispersalStatus {
    /// Own shares verified and stored (one per non-empty block voted for).
    pub shares_stored: u64,
    /// Bytes of own shares stored.
    pub share_bytes_stored: u64,
    /// Bytes of shares received from peers (own and pushed).
    pub share_bytes_received: u64,
    /// Blocks reconstructed from shares.
    pub blocks_reconstructed: u64,
    /// Time of the last reconstruction (decode + re-encode check), in microseconds.
    pub last_reconstruct_us: u64,
}
