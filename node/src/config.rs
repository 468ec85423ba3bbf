//! The genesis file (shared by every node of a chain) and the node file (one per node).
//!
//! Both are TOML. Paths in a node file are relative to the node file's directory.
//!
//! ```toml
//! # genesis.toml
//! chain_id = 1
//! timestamp_ms = 1763900000000
//! dealer = "trusted"                  # BLS shares came from a trusted dealer (dev/test only)
//! group_public_key = "…"              # what a light client pins
//! polynomial = "…"                    # the group's public polynomial (hex)
//! [limits]
//! tx_bytes_max = 1048576
//! block_bytes_max = 8388608
//! namespaces_per_block_max = 1024
//! txs_per_block_max = 65536
//! [[validators]]
//! public_key = "…"                    # ed25519, hex
//! p2p = "127.0.0.1:27000"
//! api = "127.0.0.1:28000"             # informational: where its API is advertised
//! role = "api"                        # or "validator" (default "api"; see Role)
//! ```

use crate::secret::Secret;
use cortado_types::{ChainId, Limits};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path} is not a valid {what} file: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// "genesis" or "node".
        what: &'static str,
        /// The parse error.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range or inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Block limits as written in the genesis file.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LimitsFile {
    /// Largest transaction payload in bytes.
    pub tx_bytes_max: usize,
    /// Largest sum of payload bytes in a block.
    pub block_bytes_max: usize,
    /// Most namespaces in a block.
    pub namespaces_per_block_max: usize,
    /// Most transactions in a block.
    pub txs_per_block_max: usize,
}

impl From<Limits> for LimitsFile {
    fn from(l: Limits) -> Self {
        Self {
            tx_bytes_max: l.tx_bytes_max,
            block_bytes_max: l.block_bytes_max,
            namespaces_per_block_max: l.namespaces_per_block_max,
            txs_per_block_max: l.txs_per_block_max,
        }
    }
}

impl From<LimitsFile> for Limits {
    fn from(l: LimitsFile) -> Self {
        Self {
            tx_bytes_max: l.tx_bytes_max,
            block_bytes_max: l.block_bytes_max,
            namespaces_per_block_max: l.namespaces_per_block_max,
            txs_per_block_max: l.txs_per_block_max,
        }
    }
}

/// What a validator serves besides consensus.
///
/// Every validator stores its own share of every block and votes. An *API node* also receives
/// every other validator's share of every block, reconstructs each finalized block, indexes its
/// data, serves it with proofs and takes submissions. A *validator* without the API role
/// receives only its own shares (about payload/k per block, nothing more), indexes headers and
/// certificates, and serves headers, status and metrics. At least one validator must be an API
/// node; every validator's role is in genesis so that each knows whom to push its shares to.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reconstructs, indexes and serves every block; takes submissions (the default).
    #[default]
    Api,
    /// Keeps only its own shares; serves headers, status and metrics.
    Validator,
}

/// One validator in the genesis file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GenesisValidator {
    /// ed25519 public key, hex.
    pub public_key: String,
    /// Address its p2p listens on and others dial.
    pub p2p: SocketAddr,
    /// Address of its HTTP API (informational, for clients).
    pub api: Option<SocketAddr>,
    /// What it serves (default: an API node).
    #[serde(default)]
    pub role: Role,
}

/// The genesis file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Genesis {
    /// Chain id (in every signing domain).
    pub chain_id: u64,
    /// Timestamp of the genesis block, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// How the BLS shares were produced: "trusted" (a trusted dealer; dev and test only).
    pub dealer: String,
    /// The group public key certificates verify against (hex).
    pub group_public_key: String,
    /// The group's public polynomial (hex).
    pub polynomial: String,
    /// Block limits.
    pub limits: LimitsFile,
    /// The validators, sorted by public key.
    pub validators: Vec<GenesisValidator>,
}

impl Genesis {
    /// Reads and checks a genesis file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let genesis: Genesis = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            what: "genesis",
            source: Box::new(source),
        })?;
        genesis.check().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(genesis)
    }

    /// Consistency checks.
    pub fn check(&self) -> Result<(), String> {
        if self.validators.is_empty() {
            return Err("the genesis file lists no validators".into());
        }
        Limits::from(self.limits).check()?;
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (i, v) in self.validators.iter().enumerate() {
            let key = cortado_chain::keys::parse_public_key(&v.public_key)
                .map_err(|e| format!("validator {}: {e}", v.public_key))?;
            // Keys compare by their canonical form (hex case does not make two validators).
            if let Some(first) = seen.insert(cortado_chain::keys::public_key_hex(&key), i) {
                return Err(format!(
                    "validator key {} is listed twice (validators {first} and {i}): every validator needs its own key",
                    v.public_key
                ));
            }
        }
        let n = u32::try_from(self.validators.len()).map_err(|_| "too many validators")?;
        let sharing = cortado_chain::keys::parse_sharing(&self.polynomial, n)
            .map_err(|e| format!("polynomial: {e}"))?;
        if cortado_chain::keys::identity_hex(&sharing) != self.group_public_key {
            return Err("group_public_key does not match the polynomial".into());
        }
        if !self.validators.iter().any(|v| v.role == Role::Api) {
            return Err(
                "no validator has role = \"api\": nobody would reconstruct blocks or take submissions"
                    .into(),
            );
        }
        Ok(())
    }

    /// The URLs of the API nodes that advertise an address (for clients and error messages).
    pub fn api_urls(&self) -> Vec<String> {
        self.validators
            .iter()
            .filter(|v| v.role == Role::Api)
            .filter_map(|v| v.api.map(|a| format!("http://{a}")))
            .collect()
    }

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        ChainId(self.chain_id)
    }
}

/// Mempool settings of a node file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MempoolFile {
    /// Pool capacity in bytes.
    pub bytes_max: usize,
    /// Per-namespace capacity in bytes.
    pub namespace_bytes_max: usize,
    /// Most transactions held.
    pub txs_max: usize,
    /// How many upcoming leaders each local transaction is gossiped to.
    pub forward_leaders: usize,
}

impl Default for MempoolFile {
    fn default() -> Self {
        Self {
            bytes_max: 256 << 20,
            namespace_bytes_max: 64 << 20,
            txs_max: 1_000_000,
            forward_leaders: cortado_mempool::Config::default().forward_leaders,
        }
    }
}

/// Consensus timing of a node file, in milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConsensusFile {
    /// Wait for a proposal before voting to skip.
    pub leader_timeout_ms: u64,
    /// Wait for a notarization before voting to skip.
    pub certification_timeout_ms: u64,
    /// Rebroadcast interval while stuck.
    pub retry_ms: u64,
    /// Skip an inactive leader after this long.
    pub skip_timeout_ms: u64,
    /// Peer fetch timeout.
    pub fetch_timeout_ms: u64,
    /// How long an idle leader waits for a transaction before proposing an empty block.
    pub empty_block_delay_ms: u64,
    /// A leader proposes no sooner than this after its parent (0: at once). Bounds the block
    /// rate and the consensus work it costs (default [`BLOCK_INTERVAL_MIN_MS`]).
    pub block_interval_min_ms: u64,
}

/// Default `[consensus] block_interval_min_ms` of node files: at most 25 blocks a second.
///
/// Every block costs each validator the same signature work (two threshold certificates
/// recovered and verified), full or nearly empty. Without a bound, a steady stream of small
/// transactions makes leaders propose back to back and, on a small machine, the block rate rises
/// until that work takes every core: 1 MB/s of 4 KiB transactions on 4 validator processes
/// sharing 2 cores doubled the client-perceived latency over the empty-chain floor. 40 ms
/// brought it to 1.6 × (10 validators: 1.25 ×) and changed nothing for 64 KiB transactions or
/// an idle chain (docs/BENCHMARKS.md, "Block pacing"). Over a WAN, where a view takes longer
/// than 40 ms, it never applies.
pub const BLOCK_INTERVAL_MIN_MS: u64 = 40;

impl Default for ConsensusFile {
    fn default() -> Self {
        let t = cortado_chain::Timeouts::default();
        Self {
            leader_timeout_ms: t.leader.as_millis() as u64,
            certification_timeout_ms: t.certification.as_millis() as u64,
            retry_ms: t.retry.as_millis() as u64,
            skip_timeout_ms: t.skip.as_millis() as u64,
            fetch_timeout_ms: t.fetch.as_millis() as u64,
            empty_block_delay_ms: t.empty_block_delay.as_millis() as u64,
            block_interval_min_ms: BLOCK_INTERVAL_MIN_MS,
        }
    }
}

impl ConsensusFile {
    /// As chain timeouts.
    pub fn timeouts(&self) -> cortado_chain::Timeouts {
        cortado_chain::Timeouts {
            leader: Duration::from_millis(self.leader_timeout_ms),
            certification: Duration::from_millis(self.certification_timeout_ms),
            retry: Duration::from_millis(self.retry_ms),
            skip: Duration::from_millis(self.skip_timeout_ms),
            fetch: Duration::from_millis(self.fetch_timeout_ms),
            max_future: cortado_chain::Timeouts::default().max_future,
            empty_block_delay: Duration::from_millis(self.empty_block_delay_ms),
            block_interval_min: Duration::from_millis(self.block_interval_min_ms),
        }
    }
}

/// A node file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeFile {
    /// Path of the genesis file.
    pub genesis: PathBuf,
    /// This node's ed25519 private key (hex). Keep this file private.
    pub private_key: Secret,
    /// This node's BLS share (hex). Keep this file private.
    pub share: Secret,
    /// Where the node keeps its data.
    pub data_dir: PathBuf,
    /// p2p listen address (defaults to this validator's address in genesis).
    pub p2p_listen: Option<SocketAddr>,
    /// HTTP API listen address. Loopback unless you mean to expose it.
    pub api_listen: SocketAddr,
    /// Log filter (e.g. "info", "cortado=debug").
    #[serde(default = "default_log")]
    pub log: String,
    /// Worker threads of the runtime.
    #[serde(default = "default_threads")]
    pub worker_threads: usize,
    /// Mempool settings.
    #[serde(default)]
    pub mempool: MempoolFile,
    /// Consensus timing.
    #[serde(default)]
    pub consensus: ConsensusFile,
    /// Keep this validator's stored shares for this many recent views (absent: keep all).
    #[serde(default)]
    pub share_retention_views: Option<u64>,
    /// Catching up.
    #[serde(default)]
    pub sync: SyncFile,
    /// Bounds on what API clients may make the node spend (connections, requests, streams,
    /// timeouts; `cortado_api::ApiLimits` lists them and their defaults).
    #[serde(default)]
    pub api: cortado_api::ApiLimits,
}

/// How a node catches up with the chain (`[sync]` in the node file).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SyncFile {
    /// Finalized heights fetched and reconstructed at once while catching up (default 32).
    /// Memory: up to this many blocks and their shares.
    pub retrieval_window: usize,
    /// Start a fresh data directory from this certified header instead of genesis: a height,
    /// `latest`, or a block hash (64 hex digits), fetched from another API node of genesis and
    /// verified against the group key (`cortado node --checkpoint` overrides it). Ignored once
    /// the data directory holds the chain. History below it is not held (`404 not_held`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

impl Default for SyncFile {
    fn default() -> Self {
        Self {
            retrieval_window: cortado_chain::engine::RETRIEVAL_WINDOW.get(),
            checkpoint: None,
        }
    }
}

/// A certified header to start a fresh data directory from (see [`SyncFile::checkpoint`]).
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The header.
    pub header: cortado_types::Header,
    /// Its own finality certificate (verified by whoever built this).
    pub certificate: cortado_types::FinalityCertificate,
}

/// Largest `[sync] retrieval_window`: each height in the window may hold a whole block and
/// its shares in memory.
pub const RETRIEVAL_WINDOW_MAX: usize = 256;

fn default_log() -> String {
    "info".into()
}

fn default_threads() -> usize {
    2
}

/// A node file with its genesis, paths resolved and keys checked.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The node file, with paths made absolute.
    pub node: NodeFile,
    /// The genesis it points at.
    pub genesis: Genesis,
    /// This validator's index in the genesis list.
    pub index: usize,
    /// Start from this certified header (a fresh data directory only; resolved from
    /// [`SyncFile::checkpoint`] by the caller, `None` from [`Self::load`]).
    pub checkpoint: Option<Checkpoint>,
}

impl NodeConfig {
    /// Loads a node file and its genesis, and checks they fit together.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        crate::secret::check_private(path).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut node: NodeFile = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            what: "node",
            source: Box::new(source),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if node.genesis.is_relative() {
            node.genesis = base.join(&node.genesis);
        }
        if node.data_dir.is_relative() {
            node.data_dir = base.join(&node.data_dir);
        }
        let genesis = Genesis::load(&node.genesis)?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let key = cortado_chain::keys::parse_private_key(node.private_key.expose())
            .map_err(|e| invalid(e.to_string()))?;
        cortado_chain::keys::parse_share(node.share.expose())
            .map_err(|e| invalid(e.to_string()))?;
        let me =
            cortado_chain::keys::public_key_hex(&commonware_cryptography::Signer::public_key(&key));
        let index = genesis
            .validators
            .iter()
            .position(|v| v.public_key == me)
            .ok_or_else(|| {
                invalid(format!(
                    "this node's key {me} is not a validator in the genesis file"
                ))
            })?;
        node.consensus
            .timeouts()
            .check()
            .map_err(|e| invalid(format!("[consensus] {e}")))?;
        if node.worker_threads == 0 {
            return Err(invalid("worker_threads must be at least 1".into()));
        }
        node.api.check().map_err(invalid)?;
        if !(1..=RETRIEVAL_WINDOW_MAX).contains(&node.sync.retrieval_window) {
            return Err(invalid(format!(
                "[sync] retrieval_window is {}; it must be between 1 and {RETRIEVAL_WINDOW_MAX}",
                node.sync.retrieval_window
            )));
        }
        Ok(Self {
            node,
            genesis,
            index,
            checkpoint: None,
        })
    }

    /// The p2p address to listen on.
    pub fn p2p_listen(&self) -> SocketAddr {
        self.node
            .p2p_listen
            .unwrap_or(self.genesis.validators[self.index].p2p)
    }
}
