//! Hands finalized blocks, in height order, reconstructed from shares and with a certificate, to
//! the node's sink.
//!
//! Marshal delivers finalized *headers*. On an API node (`reconstruct`), the finalizer asks
//! dispersal to gather ≥ k shares and reconstruct the block (every namespace re-encoded and
//! checked against its commitment, an invalidly encoded namespace marked and empty) before the
//! sink sees a byte. When no validator holds enough shares any more (the block is older than
//! their `share_retention_views`), it fetches the whole block from an API node instead, which
//! is checked against the certified header the same way (`cortado_dispersal::Syncer`); when
//! neither works it tries both again after `OBTAIN_RETRY`; once a block had to come whole, blocks
//! far below the tip are asked of API nodes first (`obtain`). A validator that is not an API
//! node keeps only its own shares: the sink gets
//! the header and its certificate ([`FinalizedSink::finalized_header`]).
//!
//! Reconstruction is pipelined: marshal dispatches up to `max_pending_acks` finalized blocks
//! before it waits for acknowledgements, and the finalizer starts the retrieval of each as it
//! arrives, up to `window` at once, so a node catching up gathers the shares of many heights in
//! parallel; the sink still receives blocks one at a time, in height order.
//!
//! Marshal reports each finalized block with an acknowledgement and waits for it before it
//! counts the block as processed (and, after a restart, redelivers anything unacknowledged).
//! The [`Finalizer`] acknowledges only after [`FinalizedSink::finalized`] returned, which must
//! mean "durably stored"; so a crash at any point loses nothing and at worst redelivers.
//!
//! A block's certificate is its own finalization when one exists. A block can also be final
//! only because a descendant was finalized (its own finalize votes never reached a quorum); it
//! then carries the certificate of the nearest finalized descendant, whose `block` field names
//! that descendant, and the parent links of the headers in between prove the rest.

use crate::{
    ChainBlock, Scheme, Status, TxSource, manifests::Manifests, status::RateSampler,
    verify::certificate_of,
};
use commonware_actor::Feedback;
use commonware_consensus::{
    Heightable,
    marshal::{Update, core::Mailbox, standard::Standard},
    types::Height,
};
use commonware_cryptography::Digested;
use commonware_runtime::{
    Clock, Handle, Metrics, Spawner,
    telemetry::metrics::{Gauge, Histogram, MetricsExt as _},
};
use commonware_utils::{Acknowledgement, acknowledgement::Exact};
use cortado_coding::InvalidEncodingEvidence;
use cortado_dispersal::{RetrieveError, Retrieved, SyncMailbox};
use cortado_types::{Block, FinalityCertificate, Header};
use futures::{
    FutureExt, StreamExt,
    channel::mpsc,
    future::{self, Either},
    stream::FuturesOrdered,
};
use std::{
    future::Future,
    num::NonZeroUsize,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tracing::{debug, info};

/// A block delivered within this long of its proposal means this node is live again.
const CAUGHT_UP_LATENCY_MS: u64 = 5_000;

/// How often, at most, the mempool is asked to re-offer pending transactions.
const REOFFER_EVERY_MS: u64 = 250;

/// How long to wait before asking validators and API nodes again for a block none could send.
const OBTAIN_RETRY: Duration = Duration::from_millis(250);

/// How long to wait before looking again for a finalization marshal has not stored yet.
const CERTIFICATE_RETRY: Duration = Duration::from_millis(20);

/// Receives every finalized block, in height order, at least once.
pub trait FinalizedSink: Clone + Send + 'static {
    /// Store (durably) and publish consecutive finalized blocks, in height order (one while the
    /// node is live; many while it catches up, to be stored in one durable write). Called again
    /// with the same blocks after a restart if the previous call may not have completed, so it
    /// must be idempotent.
    fn finalized(&mut self, blocks: Vec<Finalized>) -> impl Future<Output = ()> + Send;

    /// Store (durably) and publish consecutive finalized headers whose blocks this node does
    /// not reconstruct (a validator that is not an API node). Same delivery rules as
    /// [`Self::finalized`]: height order, at least once, idempotent.
    fn finalized_headers(
        &mut self,
        headers: Vec<(Header, FinalityCertificate)>,
    ) -> impl Future<Output = ()> + Send;
}

type Item = (Digested<ChainBlock>, Exact);

/// A finalized block with its certificate (if it has its own) and its reconstruction (on an
/// API node; `Some(None)` if dispersal stopped).
struct Ready {
    block: Digested<ChainBlock>,
    ack: Exact,
    certificate: Option<FinalityCertificate>,
    retrieved: Option<Option<Retrieved>>,
}

type Prepared = Pin<Box<dyn Future<Output = Ready> + Send>>;

/// A finalized block for the sink: reconstructed, with its certificate and the evidence of
/// each invalidly encoded namespace.
#[derive(Clone, Debug)]
pub struct Finalized {
    /// The block; invalidly encoded namespaces are marked and empty.
    pub block: Arc<Block>,
    /// Its finalization, or its nearest finalized descendant's.
    pub certificate: FinalityCertificate,
    /// For each invalidly encoded namespace, the chunks that prove it.
    pub evidence: Vec<InvalidEncodingEvidence>,
}

/// The marshal-facing half: a reporter that queues finalized blocks for the [`Finalizer`].
///
/// The queue is unbounded in type but bounded in fact: marshal never has more than
/// `max_pending_acks` blocks unacknowledged.
#[derive(Clone)]
pub struct Reporter {
    sender: mpsc::UnboundedSender<Item>,
    tip: Arc<AtomicU64>,
    status: Status,
}

impl commonware_consensus::Reporter for Reporter {
    type Activity = Update<ChainBlock>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match activity {
            Update::Tip(_, height, _) => {
                self.tip.fetch_max(height.get(), Ordering::Relaxed);
                self.status.saw_tip(height.get());
                Feedback::Ok
            }
            Update::Block(block, ack) => match self.sender.unbounded_send((block, ack)) {
                Ok(()) => Feedback::Ok,
                Err(_) => Feedback::Closed,
            },
        }
    }
}

/// Delivers finalized blocks to the sink and acknowledges them to marshal.
pub struct Finalizer<E, S, T> {
    context: E,
    receiver: mpsc::UnboundedReceiver<Item>,
    dispersal: cortado_dispersal::Mailbox,
    sync: SyncMailbox,
    marshal: Mailbox<Scheme, Standard<ChainBlock>>,
    sink: S,
    finalized_height: Arc<AtomicU64>,
    tip: Arc<AtomicU64>,
    status: Status,
    metrics: FinalizerMetrics,
    reconstruct: bool,
    window: usize,
    sampler: RateSampler,
    source: T,
    /// When the mempool was last asked to re-offer (ms since the epoch).
    reoffered_at: Option<u64>,
    /// The nearest finalized descendant found for the last block without a finalization of its
    /// own: its height and certificate.
    descendant: Option<(u64, FinalityCertificate)>,
    manifests: Manifests,
    /// The last block obtained came whole from an API node because no validator held its
    /// shares: older blocks are asked of API nodes first (see [`obtain`]).
    shares_pruned: Arc<AtomicBool>,
}

/// Finality as this node sees it.
struct FinalizerMetrics {
    /// Highest height delivered to the sink (stored and indexed).
    height: Gauge,
    /// Proposal timestamp → delivered to the sink here.
    latency: Histogram,
    /// Highest finalized height known (processed or not).
    tip: Gauge,
    /// Blocks between the processed height and the tip.
    behind: Gauge,
    /// Blocks per second processed (smoothed).
    rate: Gauge,
}

/// Finality latency buckets in seconds: 25 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 10.0,
];

impl<E: Spawner + Clock + Metrics, S: FinalizedSink, T: TxSource> Finalizer<E, S, T> {
    /// Creates the finalizer and its reporter (to give to marshal). With `reconstruct`, every
    /// finalized block is rebuilt from shares for the sink; without, the sink gets headers.
    /// Up to `window` blocks are reconstructed at once (marshal must dispatch at least that
    /// many unacknowledged blocks for the window to fill).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        context: E,
        dispersal: cortado_dispersal::Mailbox,
        sync: SyncMailbox,
        marshal: Mailbox<Scheme, Standard<ChainBlock>>,
        sink: S,
        finalized_height: Arc<AtomicU64>,
        status: Status,
        reconstruct: bool,
        window: NonZeroUsize,
        source: T,
        manifests: Manifests,
    ) -> (Self, Reporter) {
        let (sender, receiver) = mpsc::unbounded();
        let tip = Arc::new(AtomicU64::new(0));
        let status_for_reporter = status.clone();
        let metrics = FinalizerMetrics {
            height: context.gauge(
                "finalized_height",
                "Highest finalized height stored and indexed by this node",
            ),
            latency: context.histogram(
                "finality_latency_seconds",
                "Proposal timestamp to finalized, reconstructed and indexed on this node",
                LATENCY_BUCKETS,
            ),
            tip: context.gauge(
                "finalized_tip",
                "Highest finalized height this node knows of",
            ),
            behind: context.gauge(
                "sync_behind_blocks",
                "Finalized blocks known but not yet processed here",
            ),
            rate: context.gauge(
                "sync_blocks_per_second",
                "Finalized blocks processed per second (smoothed)",
            ),
        };
        (
            Self {
                metrics,
                context,
                receiver,
                dispersal,
                sync,
                marshal,
                sink,
                finalized_height,
                tip: tip.clone(),
                status,
                reconstruct,
                window: window.get(),
                sampler: RateSampler::default(),
                source,
                reoffered_at: None,
                descendant: None,
                manifests,
                shares_pruned: Arc::default(),
            },
            Reporter {
                sender,
                tip,
                status: status_for_reporter,
            },
        )
    }

    /// The highest finalized height marshal has seen (possibly not processed yet).
    pub fn tip(&self) -> Arc<AtomicU64> {
        self.tip.clone()
    }

    /// Runs until marshal drops the reporter.
    pub fn start(self) -> Handle<()> {
        let context = self.context.child("finalizer");
        let mut this = self;
        context.spawn(move |context| async move {
            this.context = context;
            this.run().await
        })
    }

    async fn run(mut self) {
        // Retrievals of up to `window` blocks run at once (a node catching up gathers shares for
        // many heights in parallel); the sink takes every block that is ready at the head of
        // the window in one call, in height order (one durable write for many blocks).
        let mut pending = FuturesOrdered::new();
        let mut closed = false;
        loop {
            let first = if pending.is_empty() {
                if closed {
                    return;
                }
                match self.receiver.next().await {
                    Some(item) => pending.push_back(self.prepare(item)),
                    None => closed = true,
                }
                continue;
            } else if !closed && pending.len() < self.window {
                match future::select(pending.next(), self.receiver.next()).await {
                    Either::Left((ready, _)) => ready,
                    Either::Right((Some(item), _)) => {
                        pending.push_back(self.prepare(item));
                        continue;
                    }
                    Either::Right((None, _)) => {
                        closed = true;
                        continue;
                    }
                }
            } else {
                pending.next().await
            };
            let Some(first) = first else {
                continue;
            };
            let mut ready = vec![first];
            while let Some(Some(next)) = pending.next().now_or_never() {
                ready.push(next);
            }
            if !self.deliver(ready).await {
                return;
            }
        }
    }

    /// Starts what a finalized block needs before the sink can take it: its certificate, and
    /// its reconstruction from shares on an API node.
    fn prepare(&self, (block, ack): Item) -> Prepared {
        let sources = self.reconstruct.then(|| Sources {
            dispersal: self.dispersal.clone(),
            sync: self.sync.clone(),
            shares_pruned: self.shares_pruned.clone(),
            // Far enough behind that validators may have pruned it: twice the window.
            old: block.height().get().saturating_add(2 * self.window as u64)
                < self.tip.load(Ordering::Relaxed),
        });
        let marshal = self.marshal.clone();
        let context = self.context.child("obtain");
        Box::pin(async move {
            let height = block.height();
            let header = block.inner().header().clone();
            let certificate = async {
                marshal
                    .get_finalization(height)
                    .await
                    .map(|f| certificate_of(&f))
            };
            let retrieve = async { Some(obtain(&context, &sources?, header).await) };
            let (certificate, retrieved) = future::join(certificate, retrieve).await;
            Ready {
                block,
                ack,
                certificate,
                retrieved,
            }
        })
    }

    /// Hands consecutive finalized blocks to the sink in one call, then acknowledges them to
    /// marshal. Returns `false` if the node is shutting down.
    async fn deliver(&mut self, ready: Vec<Ready>) -> bool {
        let mut blocks = Vec::with_capacity(ready.len());
        let mut headers = Vec::with_capacity(ready.len());
        let mut acks = Vec::with_capacity(ready.len());
        let mut last = (0, 0);
        for item in ready {
            let height = item.block.height().get();
            let certificate = match item.certificate {
                Some(certificate) => certificate,
                // Finalized only through a descendant: take the descendant's certificate.
                None => self.certificate_for(height).await,
            };
            let header = item.block.inner().header().clone();
            last = (height, header.timestamp_ms);
            match item.retrieved {
                Some(Some(retrieved)) => blocks.push(Finalized {
                    block: Arc::new(retrieved.block),
                    certificate,
                    evidence: retrieved.evidence,
                }),
                // Dispersal stopped: the node is shutting down; marshal redelivers on restart.
                Some(None) => return false,
                None => headers.push((header, certificate)),
            }
            acks.push(item.ack);
        }
        let finalized: Vec<(Option<Header>, cortado_types::Hash, u64)> = blocks
            .iter()
            .map(|f| (None, f.block.hash(), f.block.height()))
            .chain(
                headers
                    .iter()
                    .map(|(h, _)| (Some(h.clone()), h.hash(), h.height)),
            )
            .collect();
        let reconstructed = !blocks.is_empty();
        if !blocks.is_empty() {
            self.sink.finalized(blocks).await;
        }
        if !headers.is_empty() {
            self.sink.finalized_headers(headers).await;
        }
        // The manifests of finalized blocks are no longer needed to build on them. A node that
        // does not reconstruct drops the copies its mempool held of their transactions, by
        // their leaders' word (all of its copies when the word is not known here), before the
        // processed height moves past them.
        for (header, hash, height) in finalized {
            let manifest = self.manifests.finalized(&hash, height);
            if reconstructed {
                continue;
            }
            // Not known here (this validator did not get its share, or was catching up): the
            // mempool drops, and holds for finalized, every copy; their owners re-offer what
            // is still pending. (A validator-only node never downloads blocks.)
            let hashes = match (manifest, header) {
                (Some(manifest), _) => Some(manifest.to_vec()),
                (None, Some(header)) if header.table.is_empty() => Some(Vec::new()),
                (None, _) => None,
            };
            self.source.finalized_copies(hashes).await;
        }
        let (height, timestamp_ms) = last;
        self.finalized_height.fetch_max(height, Ordering::Release);
        for ack in acks {
            ack.acknowledge();
        }
        self.after_delivery(height, timestamp_ms).await;
        true
    }

    /// Status, metrics, progress line and the re-offer, after `height` was delivered.
    async fn after_delivery(&mut self, height: u64, timestamp_ms: u64) {
        let now = self
            .context
            .current()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let latency_ms = now.saturating_sub(timestamp_ms);
        self.status.set_finalized(height, latency_ms);
        self.metrics.height.set(height as i64);
        self.metrics.latency.observe(latency_ms as f64 / 1000.0);
        if self.sampler.is_new() {
            info!(
                height,
                tip = self.status.tip(),
                latency_ms,
                "first finalized block delivered since start"
            );
        }
        let caught_up = latency_ms <= CAUGHT_UP_LATENCY_MS
            && !self.status.sync().syncing()
            && self.tip.load(Ordering::Relaxed) <= height;
        if caught_up
            && self
                .reoffered_at
                .is_none_or(|at| now >= at + REOFFER_EVERY_MS)
        {
            // Every block finalized so far has been processed (and its transactions dropped
            // from the mempool), so what the mempool still owns is pending: after a restart
            // (first time) all of it, then what has waited too long, goes to the next leaders
            // again. Never while behind: this node would offer transactions already final.
            self.reoffered_at = Some(now);
            self.source.reoffer().await;
        }
        if self.sampler.sample(&self.status, now) {
            let sync = self.status.sync();
            self.metrics.tip.set(sync.tip as i64);
            self.metrics.behind.set(sync.behind() as i64);
            self.metrics.rate.set(sync.rate.round() as i64);
            if sync.syncing() {
                let eta = sync
                    .eta_seconds()
                    .map(|s| format!("~{s:.0} s to the tip"))
                    .unwrap_or_else(|| "not gaining on the chain yet".into());
                info!(
                    "catching up: height {height} of {} ({} behind), {:.0} blocks/s, chain {:.1} blocks/s, {eta}",
                    sync.tip,
                    sync.behind(),
                    sync.rate,
                    sync.chain_rate
                );
            }
        }
        debug!(height, "finalized");
    }

    /// The finalization of `height`, or of its nearest finalized descendant. Blocks arrive in
    /// height order, so the descendant found for one block without a finalization of its own is
    /// the nearest for every later one up to it: it is kept, and a run of such blocks (a node
    /// catching up) costs one scan, not one per block.
    async fn certificate_for(&mut self, height: u64) -> FinalityCertificate {
        if let Some((at, certificate)) = &self.descendant
            && *at >= height
        {
            return certificate.clone();
        }
        loop {
            let tip = self.tip.load(Ordering::Relaxed).max(height);
            for h in height..=tip {
                if let Some(finalization) = self.marshal.get_finalization(Height::new(h)).await {
                    let certificate = certificate_of(&finalization);
                    self.descendant = Some((h, certificate.clone()));
                    return certificate;
                }
            }
            // Marshal may not have stored the finalization yet.
            self.context.sleep(CERTIFICATE_RETRY).await;
        }
    }
}

/// Where an API node obtains a finalized block's contents.
struct Sources {
    dispersal: cortado_dispersal::Mailbox,
    sync: SyncMailbox,
    /// Shared by every retrieval: the last block obtained needed a whole-block sync.
    shares_pruned: Arc<AtomicBool>,
    /// The block is more than two windows below the highest finalized height known.
    old: bool,
}

/// A finalized block's contents: reconstructed from validators' shares or, when no validator
/// holds enough of them any more, fetched whole from an API node and checked against the
/// header; both again after a pause until one works. `None` if the node is shutting down.
///
/// A node syncing a long stretch beyond the validators' share retention would otherwise spend
/// a round of share requests, every validator declining, on each block before asking an API
/// node. So once a block had to come whole, an *old* block (more than two windows below the
/// tip: near the tip shares are the normal path) asks API nodes first, and shares only if no
/// API node holds it; a block obtained from shares (or a sync that fails) ends that mode. The
/// order changes what is asked first, never what is accepted: both paths check every byte
/// against the certified header.
async fn obtain(context: &impl Clock, sources: &Sources, header: Header) -> Option<Retrieved> {
    let mut sync_first = sources.old && sources.shares_pruned.load(Ordering::Relaxed);
    loop {
        if !sync_first {
            match sources.dispersal.retrieve(header.clone()).await {
                Ok(retrieved) => {
                    sources.shares_pruned.store(false, Ordering::Relaxed);
                    return Some(retrieved);
                }
                Err(RetrieveError::Stopped) => return None,
                Err(RetrieveError::Unavailable) => {}
            }
        }
        match sources.sync.fetch(header.clone()).await {
            Ok(retrieved) => {
                sources.shares_pruned.store(true, Ordering::Relaxed);
                return Some(retrieved);
            }
            Err(RetrieveError::Stopped) => return None,
            Err(RetrieveError::Unavailable) if sync_first => {
                // No API node holds it: shares at once.
                sources.shares_pruned.store(false, Ordering::Relaxed);
                sync_first = false;
            }
            Err(RetrieveError::Unavailable) => context.sleep(OBTAIN_RETRY).await,
        }
    }
}

/// Milliseconds since the Unix epoch of a runtime clock reading.
pub fn epoch_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
