//! Builds and runs one Cortado node from its configuration: runtime, p2p, consensus, mempool, index and API.
//!
//! A node is a validator: it runs the commonware tokio runtime, authenticated p2p
//! (`commonware_p2p::authenticated::lookup`: ed25519 identities, encrypted links, only the
//! genesis validators admitted), the consensus engine of `cortado-chain`, the mempool, the SQLite
//! query index, and the HTTP API on its own port (loopback by default).
//!
//! Data directory layout: `chain/` (commonware storage: consensus journal, finalized blocks and
//! certificates, mempool journal) and `index.sqlite` (the query index).

pub mod ceremony;
pub mod config;
mod glue;
mod metered;
mod p2p;
mod run;
pub mod secret;
pub mod testnet;

pub use config::{
    BLOCK_INTERVAL_MIN_MS, Checkpoint, ConfigError, ConsensusFile, Genesis, NodeConfig, NodeFile,
    Role, SyncFile,
};
pub use run::{NodeError, run};

/// p2p channel ids. Each has its own rate quota and bounded mailbox.
pub mod channels {
    /// Simplex votes.
    pub const VOTES: u64 = 0;
    /// Simplex certificates.
    pub const CERTIFICATES: u64 = 1;
    /// Simplex certificate fetches.
    pub const RESOLVER: u64 = 2;
    /// Headers from proposers.
    pub const BLOCKS: u64 = 3;
    /// Marshal backfill of finalized headers.
    pub const BACKFILL: u64 = 4;
    /// Mempool gossip (transactions and re-offers).
    pub const MEMPOOL: u64 = 5;
    /// Erasure-coded shares.
    pub const SHARES: u64 = 6;
    /// Whole finalized blocks from API nodes (block sync).
    pub const SYNC: u64 = 7;
}
