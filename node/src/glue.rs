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
    time::{Duration, SystemTime, UNIX_EPOCH},
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
    /// Set once an index write failed for good: the node then stops, with this error.
    pub fatal: Arc<watch::Sender<Option<String>>>,
}

/// Attempts at an index write before the node gives up on it.
const WRITE_ATTEMPTS: u32 = 4;
/// Wait before the first retry (then four times longer each time: 0.1, 0.4, 1.6 s).
const WRITE_RETRY: Duration = Duration::from_millis(100);

/// Runs the index write `write`, retrying a failure ([`WRITE_ATTEMPTS`] in all: a busy or
/// briefly full disk may recover). If it still fails, reports the failure on `fatal` and never
/// returns: nothing is acknowledged to the chain, so nothing is lost, and the node stops with
/// that error (it replays the blocks from its chain storage when restarted).
pub async fn durably<T, F, Fut>(
    fatal: &watch::Sender<Option<String>>,
    what: impl std::fmt::Display,
    mut write: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, cortado_storage::Error>>,
{
    let mut delay = WRITE_RETRY;
    for attempt in 1.. {
        match write().await {
            Ok(value) => return value,
            Err(err) if attempt < WRITE_ATTEMPTS => {
                warn!(%err, attempt, "{what}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            Err(err) => {
                error!(%err, "{what}; stopping the node");
                fatal.send_replace(Some(format!(
                    "{what} after {WRITE_ATTEMPTS} attempts: {err}"
                )));
                break;
            }
        }
    }
    std::future::pending().await
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
        let heights =
            blocks.first().map(|f| f.block.height())..=blocks.last().map(|f| f.block.height());
        let index = &self.index;
        let hashes = durably(
            &self.fatal,
            format!("cannot store finalized blocks {heights:?}"),
            || index.insert_finalized_batch(&items, now),
        )
        .await;
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
        let heights =
            headers.first().map(|(h, _)| h.height)..=headers.last().map(|(h, _)| h.height);
        let index = &self.index;
        let now = now_ms();
        durably(
            &self.fatal,
            format!("cannot store finalized headers {heights:?}"),
            || index.insert_headers(&items, now),
        )
        .await;
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
            Err(PoolError::BundleConflict(why)) => Err(SubmitError::BundleConflict(why)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use cortado_types::Limits;

    #[tokio::test]
    async fn a_failing_index_write_is_retried_then_stops_the_node_without_returning() {
        let (fatal, mut stopped) = watch::channel(None);
        // A transient failure: the write succeeds on its third attempt.
        let mut attempts = 0;
        let value = durably(&fatal, "write", || {
            attempts += 1;
            let outcome = if attempts < 3 {
                Err(cortado_storage::Error::Invalid("busy".into()))
            } else {
                Ok(attempts)
            };
            async move { outcome }
        })
        .await;
        assert_eq!(value, 3);
        assert!(fatal.borrow().is_none());
        // A lasting one (the index is closed): reported as fatal, and the write never returns
        // (so the chain is never told the blocks are stored).
        let index = Index::open_in_memory(Limits::default()).await.unwrap();
        index.close().await;
        tokio::select! {
            _ = durably(&fatal, "cannot store finalized headers 0..=0", || {
                index.insert_headers(&[], 0)
            }) => panic!("a failed write returned"),
            _ = stopped.wait_for(Option::is_some) => {}
        }
        let message = fatal.borrow().clone().unwrap();
        assert!(
            message.starts_with("cannot store finalized headers 0..=0 after 4 attempts: "),
            "{message}"
        );
    }
}
