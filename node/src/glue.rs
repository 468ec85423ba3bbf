//! Adapters between the node's parts: the index as the chain's finalized sink, and the mempool
//! and consensus status as what the API needs.

use cortado_api::{ConsensusStatus, SubmitError, Submitted};
use cortado_chain::{Finalized, FinalizedSink, Status};
use cortado_coding::Params;
use cortado_dispersal::{BlockSource, Retrieved};
use cortado_mempool::{Error as PoolError, Mailbox};
use cortado_storage::{FinalizedBlock, Index};
use cortado_types::{FinalityCertificate, Hash, Header, Transaction};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};
use tokio::sync::watch;
use tracing::{error, warn};

/// Where finalized blocks go: the index (durably), then the mempool (removal), then the API's
/// watchers.
#[derive(Clone)]
pub struct Sink {
    pub index: Index,
    /// Coding parameters (to decode stored evidence when serving a block).
    pub params: Params,
    pub mempool: Mailbox,
    pub finalized: Arc<watch::Sender<u64>>,
}

impl BlockSource for Sink {
    /// The block as the index holds it (a validator that is not an API node holds none), with
    /// its stored evidence; `None` on a read error (logged: the peer asks another node).
    async fn stored_block(&self, height: u64, block: Hash) -> Option<Retrieved> {
        let read = async {
            let Some((stored, _)) = self.index.block(height).await? else {
                return Ok(None);
            };
            if stored.hash() != block {
                return Ok(None);
            }
            let mut evidence = Vec::new();
            for namespace in stored.invalid_namespaces() {
                let Some(nb) = self.index.namespace_block(namespace, height).await? else {
                    return Ok(None);
                };
                let Some(encoded) = nb.evidence else {
                    return Ok(None);
                };
                evidence.push(encoded.decode(self.params, self.index.limits())?);
            }
            Ok::<_, cortado_storage::Error>(Some(Retrieved {
                block: stored,
                evidence,
            }))
        };
        match read.await {
            Ok(found) => found,
            Err(err) => {
                warn!(%err, height, "cannot read a stored block for a peer");
                None
            }
        }
    }
}

impl FinalizedSink for Sink {
    async fn finalized(&mut self, blocks: Vec<Finalized>) {
        let now = now_ms();
        let items: Vec<FinalizedBlock<'_>> = blocks
            .iter()
            .map(|f| FinalizedBlock {
                block: &f.block,
                certificate: &f.certificate,
                evidence: &f.evidence,
            })
            .collect();
        let hashes = match self.index.insert_finalized_batch(&items, now).await {
            Ok(hashes) => hashes,
            Err(err) => {
                // A finalized block we cannot store is fatal: acknowledging it would lose it.
                let heights = blocks.first().map(|f| f.block.height())
                    ..=blocks.last().map(|f| f.block.height());
                error!(%err, ?heights, "cannot store finalized blocks");
                panic!("cannot store finalized blocks {heights:?}: {err}");
            }
        };
        // Bundles are recorded by the index from their markers in the blocks themselves.
        let finalized: Vec<Hash> = hashes.into_iter().flatten().collect();
        if !finalized.is_empty() {
            self.mempool.finalized(finalized).await;
        }
        if let Some(last) = blocks.last() {
            self.announce(last.block.height());
        }
    }

    async fn finalized_headers(&mut self, headers: Vec<(Header, FinalityCertificate)>) {
        let items: Vec<(&Header, &FinalityCertificate)> =
            headers.iter().map(|(h, c)| (h, c)).collect();
        if let Err(err) = self.index.insert_headers(&items, now_ms()).await {
            let heights =
                headers.first().map(|(h, _)| h.height)..=headers.last().map(|(h, _)| h.height);
            error!(%err, ?heights, "cannot store finalized headers");
            panic!("cannot store finalized headers {heights:?}: {err}");
        }
        // The chain's finalizer then drops this validator's copies of the blocks' transactions
        // by their manifests (their owners, the API nodes, remove their own when they
        // reconstruct the blocks).
        if let Some((last, _)) = headers.last() {
            self.announce(last.height);
        }
    }
}

impl Sink {
    /// Wakes the API's watchers once `height` is indexed.
    fn announce(&self, height: u64) {
        self.finalized.send_if_modified(|h| {
            let advanced = height > *h;
            if advanced {
                *h = height;
            }
            advanced
        });
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What the API asks of the node.
#[derive(Clone)]
pub struct ApiNode {
    pub mempool: Mailbox,
    pub dispersal: cortado_dispersal::Mailbox,
    pub status: Status,
    pub validators: usize,
    pub peers: Arc<AtomicUsize>,
    /// Encodes the runtime's metrics registry (every actor's metrics) as Prometheus text.
    pub metrics: Arc<dyn Fn() -> String + Send + Sync>,
}

impl cortado_api::Node for ApiNode {
    async fn submit(&self, tx: Transaction) -> Result<Submitted, SubmitError> {
        match self.mempool.submit(tx).await {
            Ok(s) => Ok(Submitted {
                hash: s.hash,
                duplicate: s.duplicate,
            }),
            Err(PoolError::TooLarge { size, limit }) => Err(SubmitError::TooLarge { size, limit }),
            Err(PoolError::Full { retry_after, .. }) => {
                Err(SubmitError::MempoolFull { retry_after })
            }
            Err(PoolError::NamespaceFull {
                namespace,
                retry_after,
                ..
            }) => Err(SubmitError::NamespaceFull {
                namespace,
                retry_after,
            }),
            Err(PoolError::Bundle(why)) => Err(SubmitError::InvalidBundle(why)),
            Err(other) => Err(SubmitError::Unavailable(other.to_string())),
        }
    }

    async fn metrics(&self) -> String {
        (self.metrics)()
    }

    async fn is_pending(&self, hash: Hash) -> bool {
        self.mempool.contains(hash).await
    }

    async fn status(&self) -> ConsensusStatus {
        let stats = self.mempool.stats().await;
        ConsensusStatus {
            view: self.status.view(),
            validators: self.validators,
            peers: self.peers.load(Ordering::Relaxed),
            last_finality_latency_ms: self.status.last_finality_latency_ms(),
            mempool_txs: stats.txs,
            mempool_bytes: stats.bytes,
            dispersal: {
                let d = self.dispersal.stats();
                cortado_api::DispersalStatus {
                    shares_stored: d.shares_stored,
                    share_bytes_stored: d.share_bytes_stored,
                    share_bytes_received: d.share_bytes_received,
                    blocks_reconstructed: d.blocks_reconstructed,
                    last_reconstruct_us: d.last_reconstruct_us,
                }
            },
            sync: {
                let s = self.status.sync();
                cortado_api::SyncStatus {
                    syncing: s.syncing(),
                    height: s.height,
                    tip: s.tip,
                    rate_blocks_per_s: s.rate,
                    chain_rate_blocks_per_s: s.chain_rate,
                    eta_s: s.eta_seconds(),
                }
            },
        }
    }
}
