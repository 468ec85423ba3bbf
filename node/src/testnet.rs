//! Generating a network: keys, a genesis file and one node file per validator.
//!
//! The BLS shares come from a **trusted dealer** (this process): fine for development and
//! test networks, not for anything holding value, because the dealer knew the group secret.
//! A DKG ceremony replaces it for real deployments.

use crate::config::{
    ConsensusFile, Genesis, GenesisValidator, LimitsFile, MempoolFile, NodeFile, Role, SyncFile,
};
use crate::secret::Secret;
use commonware_cryptography::Signer;
use cortado_chain::keys;
use cortado_types::Limits;
use rand::{SeedableRng, rngs::StdRng};
use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of validators.
    pub validators: u32,
    /// Chain id.
    pub chain_id: u64,
    /// Host the validators listen on.
    pub host: IpAddr,
    /// p2p port of validator 0; validator i uses base + i.
    pub p2p_port_base: u16,
    /// API port of validator 0; validator i uses base + i.
    pub api_port_base: u16,
    /// Genesis timestamp, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Block limits.
    pub limits: Limits,
    /// Key seed (None: from the OS).
    pub seed: Option<u64>,
    /// Consensus timing written into each node file.
    pub consensus: ConsensusFile,
    /// How many validators (the first ones) are API nodes; `None`: all of them.
    pub api_nodes: Option<u32>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// I/O on the output directory.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Bad options.
    #[error("{0}")]
    Invalid(String),
}

fn write(path: &Path, text: &str, private: bool) -> Result<(), GenerateError> {
    let io = |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    if private {
        crate::secret::write_private(path, text).map_err(io)
    } else {
        std::fs::write(path, text).map_err(io)
    }
}

/// Writes `out/genesis.toml` and `out/node-<i>/node.toml` for every validator; returns the
/// node file paths in validator order.
pub fn generate(out: &Path, opts: &Options) -> Result<Vec<PathBuf>, GenerateError> {
    if opts.validators == 0 {
        return Err(GenerateError::Invalid(
            "--validators must be at least 1".into(),
        ));
    }
    opts.limits.check().map_err(GenerateError::Invalid)?;
    if let Some(api) = opts.api_nodes
        && !(1..=opts.validators).contains(&api)
    {
        return Err(GenerateError::Invalid(format!(
            "--api-nodes must be between 1 and the number of validators ({}), not {api}",
            opts.validators
        )));
    }
    let last = u32::from(opts.p2p_port_base.max(opts.api_port_base)) + opts.validators;
    if last > u32::from(u16::MAX) {
        return Err(GenerateError::Invalid("port range exceeds 65535".into()));
    }
    let mut rng = match opts.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => rand::make_rng(),
    };
    let committee = keys::deal(&mut rng, opts.validators);
    let validators: Vec<GenesisValidator> = committee
        .validators
        .iter()
        .enumerate()
        .map(|(i, v)| GenesisValidator {
            public_key: keys::public_key_hex(&v.identity.public_key()),
            p2p: SocketAddr::new(opts.host, opts.p2p_port_base + i as u16),
            api: Some(SocketAddr::new(opts.host, opts.api_port_base + i as u16)),
            role: if opts.api_nodes.is_none_or(|api| (i as u32) < api) {
                Role::Api
            } else {
                Role::Validator
            },
        })
        .collect();
    let genesis = Genesis {
        chain_id: opts.chain_id,
        timestamp_ms: opts.timestamp_ms,
        dealer: "trusted".into(),
        group_public_key: keys::identity_hex(&committee.sharing),
        polynomial: keys::sharing_hex(&committee.sharing),
        limits: LimitsFile::from(opts.limits),
        validators: validators.clone(),
    };
    let header = "# Cortado genesis. The BLS key shares of this network were dealt by a TRUSTED DEALER\n\
                  # (`cortado genesis`): whoever ran it could forge certificates. Development and\n\
                  # test networks only; a DKG ceremony replaces the dealer for real deployments.\n";
    let text = toml::to_string_pretty(&genesis).expect("genesis serializes");
    write(&out.join("genesis.toml"), &format!("{header}{text}"), false)?;

    let mut files = Vec::new();
    for (i, (dealt, v)) in committee
        .validators
        .iter()
        .zip(validators.iter())
        .enumerate()
    {
        let node = NodeFile {
            genesis: PathBuf::from("../genesis.toml"),
            private_key: Secret::new(keys::private_key_hex(&dealt.identity)),
            share: Secret::new(keys::share_hex(&dealt.share)),
            data_dir: PathBuf::from("data"),
            p2p_listen: Some(v.p2p),
            api_listen: v.api.expect("set above"),
            log: "info".into(),
            worker_threads: 2,
            mempool: MempoolFile::default(),
            consensus: opts.consensus.clone(),
            share_retention_views: None,
            sync: SyncFile::default(),
            api: cortado_api::ApiLimits::default(),
        };
        let path = out.join(format!("node-{i}")).join("node.toml");
        let text = toml::to_string_pretty(&node).expect("node file serializes");
        write(
            &path,
            &format!(
                "# Cortado node {i}. Holds this validator's private keys: keep it private.\n{text}"
            ),
            true,
        )?;
        files.push(path);
    }
    Ok(files)
}
