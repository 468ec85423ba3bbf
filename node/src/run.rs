//! Starting, running and stopping a node.

use crate::{
    channels,
    config::{NodeConfig, Role},
    glue::{ApiNode, Sink},
    metered,
};
use commonware_cryptography::Signer;
use commonware_runtime::{Clock, Metrics, Quota, Runner, Spawner, Supervisor, tokio as cw_tokio};
use commonware_utils::NZUsize;
use cortado_chain::{Channels, Engine, keys};
use cortado_types::Limits;
use std::{
    net::SocketAddr,
    num::{NonZeroU32, NonZeroUsize},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The index could not be opened.
    #[error("cannot open the index: {0}")]
    Index(#[from] cortado_storage::Error),
    /// A finalized block or header could not be written to the index, even after retries:
    /// the node stopped without acknowledging it (it is replayed on restart).
    #[error("stopped: {0} (check the disk holding the data directory, then restart)")]
    IndexWrite(String),
    /// The API port could not be bound.
    #[error("cannot listen for the API on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The p2p port could not be bound.
    #[error(
        "cannot listen for p2p on {addr}: {source} (is another node, or this one still stopping, using the port?)"
    )]
    P2pListen {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The API's runtime could not be built.
    #[error("cannot start the API's threads: {0}")]
    ApiRuntime(std::io::Error),
    /// Invalid key material.
    #[error("invalid key material: {0}")]
    Keys(#[from] keys::KeyError),
    /// The data directory was built by a node of another role.
    #[error(
        "{path} says this data directory belongs to a node with role {found:?}, but genesis now gives it role {expected:?}: a validator-only node indexes headers only, so an API node needs a fresh data directory (and a validator-only node should not keep an API node's data)"
    )]
    RoleChanged {
        /// The role file.
        path: std::path::PathBuf,
        /// The role recorded there.
        found: String,
        /// The role genesis gives.
        expected: String,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Records this node's role in its data directory on first start, and refuses to start with
/// another one: an index built by a validator-only node lacks the data of every block.
fn check_role(data_dir: &std::path::Path, role: Role) -> Result<(), NodeError> {
    let path = data_dir.join("role");
    let name = match role {
        Role::Api => "api",
        Role::Validator => "validator",
    };
    match std::fs::read_to_string(&path) {
        Ok(found) if found.trim() == name => Ok(()),
        Ok(found) => Err(NodeError::RoleChanged {
            path,
            found: found.trim().to_string(),
            expected: name.to_string(),
        }),
        // A data directory from before roles existed was an API node's.
        Err(_) if data_dir.join("index.sqlite").exists() && role != Role::Api => {
            Err(NodeError::RoleChanged {
                path,
                found: "api".into(),
                expected: name.to_string(),
            })
        }
        Err(_) => std::fs::write(&path, name).map_err(|source| NodeError::DataDir {
            path: path.clone(),
            source,
        }),
    }
}

/// Rate quota per peer for each channel.
fn quota(per_second: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(per_second).expect("non-zero quota"))
}

/// Runs a node until Ctrl-C or SIGTERM (or `exit_after`, for tests and scripts). Blocks the
/// calling thread.
pub fn run(cfg: NodeConfig, exit_after: Option<Duration>) -> Result<(), NodeError> {
    let data_dir = cfg.node.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|source| NodeError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    let runtime = cw_tokio::Config::new()
        .with_worker_threads(cfg.node.worker_threads)
        .with_storage_directory(data_dir.join("chain"))
        .with_tcp_nodelay(Some(true))
        .with_catch_panics(false);
    cw_tokio::Runner::new(runtime)
        .start(|context| async move { start(context, cfg, exit_after).await })
}

async fn start(
    context: cw_tokio::Context,
    cfg: NodeConfig,
    exit_after: Option<Duration>,
) -> Result<(), NodeError> {
    let genesis = &cfg.genesis;
    let limits: Limits = genesis.limits.into();
    let chain_id = genesis.chain_id();
    let signer = keys::parse_private_key(cfg.node.private_key.expose())?;
    let share = keys::parse_share(cfg.node.share.expose())?;
    let n = genesis.validators.len() as u32;
    let sharing = keys::parse_sharing(&genesis.polynomial, n)?;
    let mut peers = Vec::with_capacity(genesis.validators.len());
    for v in &genesis.validators {
        peers.push((keys::parse_public_key(&v.public_key)?, v.p2p));
    }
    let participants =
        commonware_utils::ordered::Set::from_iter_dedup(peers.iter().map(|(k, _)| k.clone()));
    let role = genesis.validators[cfg.index].role;
    check_role(&cfg.node.data_dir, role)?;
    let api_nodes: Vec<_> = genesis
        .validators
        .iter()
        .zip(&peers)
        .filter(|(v, _)| v.role == Role::Api)
        .map(|(_, (k, _))| k.clone())
        .collect();

    // p2p: authenticated, encrypted, only the genesis validators.
    let max_message_size = cortado_chain::max_message_size(&limits, n);
    let listen = cfg.p2p_listen();
    let (mut network, oracle) = crate::p2p::network(
        &context,
        &signer,
        &crate::p2p::namespace(b"_CORTADO_P2P", chain_id.0),
        listen,
        &peers,
        max_message_size,
    )
    .map_err(|source| NodeError::P2pListen {
        addr: listen,
        source,
    })?;
    let metered = |name, channel| metered::channel(&context, name, channel);
    let votes = metered("votes", network.register(channels::VOTES, quota(2_000)));
    let certificates = metered(
        "certificates",
        network.register(channels::CERTIFICATES, quota(2_000)),
    );
    let resolver = metered("resolver", network.register(channels::RESOLVER, quota(500)));
    let blocks = metered("headers", network.register(channels::BLOCKS, quota(200)));
    let backfill = metered("backfill", network.register(channels::BACKFILL, quota(200)));
    let gossip = metered("mempool", network.register(channels::MEMPOOL, quota(2_000)));
    let shares = metered("shares", network.register(channels::SHARES, quota(2_000)));
    let sync = metered("block_sync", network.register(channels::SYNC, quota(1_000)));
    let network_handle = network.start();

    // Query index.
    let index =
        cortado_storage::Index::open(&cfg.node.data_dir.join("index.sqlite"), limits).await?;
    let checkpoint = match &cfg.checkpoint {
        Some(checkpoint) => {
            index.start_from_checkpoint(&checkpoint.header).await?;
            info!(
                height = checkpoint.header.height,
                block = %checkpoint.header.hash(),
                "starting from a checkpoint: nothing below it will be held"
            );
            Some(checkpoint.certificate.clone())
        }
        None => None,
    };
    let latest = index.latest_height().await?.unwrap_or(0);
    let (finalized_tx, finalized_rx) = watch::channel(latest);
    let finalized_tx = Arc::new(finalized_tx);
    let (fatal_tx, mut fatal_rx) = watch::channel(None);
    let fatal_tx = Arc::new(fatal_tx);

    // Mempool.
    let pool_cfg = cortado_mempool::Config {
        bytes_max: cfg.node.mempool.bytes_max,
        txs_max: cfg.node.mempool.txs_max,
        forward_leaders: cfg.node.mempool.forward_leaders,
        namespace_bytes_max: cfg.node.mempool.namespace_bytes_max,
        tx_bytes_max: limits.tx_bytes_max,
        max_message_size: max_message_size as usize,
        gossip_batch_bytes_max: (limits.tx_bytes_max + cortado_mempool::GOSSIP_OVERHEAD)
            .max(cortado_chain::engine::GOSSIP_BATCH_BYTES),
        ..Default::default()
    };
    if let Err(message) = pool_cfg.assert() {
        return Err(NodeError::Config(crate::ConfigError::Invalid {
            path: cfg.node.genesis.clone(),
            message: format!("[mempool] {message}"),
        }));
    }
    let (pool, mempool) = cortado_mempool::Actor::init(context.child("mempool"), pool_cfg).await;

    // Consensus.
    let engine = Engine::start(
        context.child("chain"),
        cortado_chain::Config {
            chain_id,
            limits,
            genesis_timestamp_ms: genesis.timestamp_ms,
            signer: signer.clone(),
            participants: participants.clone(),
            sharing,
            share,
            blocker: oracle.clone(),
            provider: oracle.clone(),
            partition_prefix: "chain".into(),
            mailbox_size: NZUsize!(1024),
            timeouts: cfg.node.consensus.timeouts(),
            source: mempool.clone(),
            sink: Sink {
                index: index.clone(),
                params: cortado_coding::Params::for_validators(participants.len()),
                mempool: mempool.clone(),
                finalized: finalized_tx.clone(),
                fatal: fatal_tx.clone(),
            },
            // API nodes want every share; a validator-only node gets only its own.
            push_to: api_nodes,
            reconstruct: role == Role::Api,
            share_retention_views: cfg.node.share_retention_views,
            retrieval_window: NonZeroUsize::new(cfg.node.sync.retrieval_window)
                .expect("checked when the node file was loaded"),
            checkpoint,
            faults: Default::default(),
        },
        Channels {
            votes,
            certificates,
            resolver,
            blocks,
            backfill,
            shares,
            sync,
        },
    )
    .await;

    // The mempool sends local transactions to the next leaders (the engine's view tells which).
    let schedule = cortado_chain::Schedule::new(&participants, engine.status.clone());
    let me = signer.public_key();
    let leaders: cortado_mempool::Leaders<_> = Arc::new(move |count| schedule.upcoming(&me, count));
    let pool_handle = pool.start(gossip, Some(leaders));

    // Connected peers, read from the p2p tracker's metrics once a second.
    let peers_connected = Arc::new(AtomicUsize::new(0));
    {
        let peers_connected = peers_connected.clone();
        context.child("peers").spawn(move |context| async move {
            loop {
                let text = context.encode();
                let n = text
                    .lines()
                    .filter(|l| {
                        !l.starts_with('#') && l.contains("tracker") && l.contains("_connected{")
                    })
                    .filter(|l| l.rsplit(' ').next().is_some_and(|v| v != "0"))
                    .count();
                peers_connected.store(n, Ordering::Relaxed);
                context.sleep(Duration::from_secs(1)).await;
            }
        });
    }

    // API, on a runtime of its own whose threads run at a lower priority (cortado_api::runtime):
    // clients get the CPU that consensus leaves.
    let api_addr = cfg.node.api_listen;
    let listener = std::net::TcpListener::bind(api_addr)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|source| NodeError::Listen {
            addr: api_addr,
            source,
        })?;
    let api_runtime = cortado_api::runtime(&cfg.node.api).map_err(NodeError::ApiRuntime)?;
    let router = cortado_api::router(
        ApiNode {
            mempool,
            dispersal: engine.dispersal.clone(),
            status: engine.status.clone(),
            validators: n as usize,
            peers: peers_connected,
            metrics: {
                let context = context.child("metrics");
                Arc::new(move || context.encode())
            },
        },
        index.with_own_readers(),
        finalized_rx,
        cortado_api::ApiConfig {
            bounds: cfg.node.api.clone(),
            ..match role {
                Role::Api => cortado_api::ApiConfig::new(limits, chain_id),
                Role::Validator => {
                    cortado_api::ApiConfig::new(limits, chain_id).validator_only(genesis.api_urls())
                }
            }
        },
    );
    let bounds = cfg.node.api.clone();
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let api = api_runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        cortado_api::serve(listener, router, &bounds, async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        })
        .await
    });
    info!(
        validator = %keys::public_key_hex(&signer.public_key()),
        ?role,
        p2p = %listen,
        api = %api_addr,
        chain_id = chain_id.0,
        height = latest,
        "node started"
    );

    let exit = async {
        match exit_after {
            Some(after) => {
                tokio::time::sleep(after).await;
                info!(?after, "exit-after reached");
            }
            None => std::future::pending().await,
        }
    };
    let failure = tokio::select! {
        _ = wait_for_signal() => None,
        _ = exit => None,
        failed = fatal_rx.wait_for(Option::is_some) => failed.ok().and_then(|f| f.clone()),
    };
    info!("stopping");
    let _ = stop_tx.send(true);
    let _ = api.await;
    api_runtime.shutdown_background();
    drop(finalized_tx);
    engine.abort();
    pool_handle.abort();
    network_handle.abort();
    index.close().await;
    if let Err(err) = context.stop(0, Some(Duration::from_secs(5))).await {
        warn!(?err, "tasks did not stop in time");
    }
    info!("stopped");
    match failure {
        Some(why) => Err(NodeError::IndexWrite(why)),
        None => Ok(()),
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                error!(%err, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
