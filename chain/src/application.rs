//! Block building and verification: the part of consensus that knows what a Cortado block is.
//!
//! Marshal's `Inline` wrapper calls [`Application::propose`] when this validator leads a view and
//! [`Application::verify`] before it votes for a proposal; it has already checked that the
//! header's parent is the one consensus names and that the height is the parent's plus one.
//!
//! - **Propose**: no sooner than `block_interval_min` after the parent's timestamp (nor later
//!   than `block_interval_min` from now, whatever the parent's timestamp says), take
//!   transactions from the mempool (waiting up to `empty_block_delay` for one
//!   before settling for an empty block), skipping every transaction named by the manifest of an
//!   ancestor that is not finalized and processed here yet (so an honest leader never proposes
//!   a transaction twice in one chain, whatever the timing); group and erasure-code them
//!   (`cortado-coding`), hand the shares to dispersal with the block's manifest (own share
//!   stored durably, share `i` and the manifest sent to validator `i`), and give consensus the
//!   header. When an ancestor's manifest is not known here (its share has not arrived within
//!   [`MANIFEST_WAIT`], or it was stored before a restart), the proposal is empty.
//! - **Verify**: same chain id; the embedded context is consensus's; the history accumulator is
//!   the parent's with the parent's hash appended (`cortado_types::history`); the timestamp advances and
//!   is not more than `max_future` ahead (a block from the future is held, not rejected); and this
//!   validator's own share arrived from the leader, verifies against the header's namespace
//!   commitments and is stored durably; the leader's manifest that came with it is recorded.
//!   Only then does the vote go out.

use crate::{ChainBlock, Context, Scheme, block::from_digest, manifests::Manifests};
use commonware_consensus::{CertifiableBlock, marshal::ancestry::Ancestry};
use commonware_cryptography::Digested;
use commonware_runtime::{Clock, Metrics, Spawner};
use cortado_coding::{
    Chunk, Params, Share, build_block, encode_namespace, encode_namespace_invalid,
};
use cortado_dispersal::{Mailbox as Dispersal, Verdict};
use cortado_types::{Block, BlockContext, ChainId, Hash, Header, Limits, Transaction};
use futures::StreamExt;
use std::{
    collections::HashSet,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tracing::{debug, warn};

/// How often a leader with nothing to propose looks at the mempool again.
const EMPTY_POLL: Duration = Duration::from_millis(5);

/// How long a leader waits for the share (and so the manifest) of an ancestor it has not
/// verified itself before it settles for an empty block.
pub const MANIFEST_WAIT: Duration = Duration::from_millis(250);

/// Most unfinalized ancestors a leader looks through; further behind, it proposes empty.
const ANCESTRY_MAX: usize = 64;

/// Where a proposer takes transactions from (the mempool).
pub trait TxSource: Clone + Send + Sync + 'static {
    /// Transactions in arrival order that fit `limits`, skipping hashes in `exclude` (those in
    /// not-yet-finalized ancestors).
    fn select(
        &self,
        limits: Limits,
        exclude: Arc<HashSet<Hash>>,
    ) -> impl Future<Output = Vec<Transaction>> + Send;

    /// A block this node does not reconstruct was finalized: drop the copies of the
    /// transactions its leader's manifest named (`None`: its manifest is not known here, so
    /// drop every copy; owners keep and re-offer what is still pending).
    fn finalized_copies(&self, hashes: Option<Vec<Hash>>) -> impl Future<Output = ()> + Send;

    /// This node is caught up with the finalized chain: offer the transactions it acknowledged
    /// and that are still pending (all of them the first time after a start, then those
    /// waiting too long) to the upcoming leaders again.
    fn reoffer(&self) -> impl Future<Output = ()> + Send;
}

impl TxSource for cortado_mempool::Mailbox {
    async fn select(&self, limits: Limits, exclude: Arc<HashSet<Hash>>) -> Vec<Transaction> {
        cortado_mempool::Mailbox::select(self, limits, exclude).await
    }

    async fn finalized_copies(&self, hashes: Option<Vec<Hash>>) {
        cortado_mempool::Mailbox::finalized_copies(self, hashes).await
    }

    async fn reoffer(&self) {
        let count = cortado_mempool::Mailbox::reoffer(self).await;
        if count > 0 {
            debug!(
                count,
                "pending transactions offered to the next leaders again"
            );
        }
    }
}

/// The chain's genesis block header: height 0, empty, proposed "by" the first validator at view 0.
pub fn genesis_block(
    chain_id: ChainId,
    first_validator: &crate::PublicKey,
    timestamp_ms: u64,
) -> ChainBlock {
    use commonware_codec::Encode;
    let mut leader = [0u8; 32];
    leader.copy_from_slice(&first_validator.encode());
    let block = Block::build(
        BlockContext {
            chain_id,
            height: 0,
            epoch: 0,
            view: 0,
            parent_view: 0,
            leader,
            timestamp_ms,
            parent: Hash::ZERO,
            history: Vec::new(),
        },
        Vec::new(),
        &Limits::default(),
        |_| unreachable!("the genesis block has no namespaces"),
    )
    .expect("the empty block is within any limits");
    ChainBlock::new(block.header().clone()).expect("a validator key is a valid leader")
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Builds and checks Cortado blocks for consensus.
#[derive(Clone)]
pub struct Application<T: TxSource> {
    chain_id: ChainId,
    limits: Limits,
    params: Params,
    source: T,
    dispersal: Dispersal,
    max_future: Duration,
    empty_block_delay: Duration,
    block_interval_min: Duration,
    invalid_encoding: bool,
    future_timestamp: Duration,
    false_manifest: Vec<Hash>,
    progress: Progress,
    manifests: Manifests,
}

/// How far this node has processed the finalized chain.
#[derive(Clone, Default)]
pub struct Progress {
    /// Highest finalized height processed (stored, mempool told).
    pub processed: Arc<AtomicU64>,
    /// Highest finalized height known.
    pub tip: Arc<AtomicU64>,
}

impl Progress {
    /// Whether finalized blocks are known that this node has not processed yet (it is catching
    /// up, so its mempool may still hold transactions that are already final).
    pub fn behind(&self) -> bool {
        self.tip.load(Ordering::Relaxed) > self.processed.load(Ordering::Relaxed) + 1
    }
}

impl<T: TxSource> Application<T> {
    /// Creates the application. `faults` (simulations only) make this validator, as leader,
    /// commit to an invalid encoding of its first namespace, or date its blocks ahead.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        chain_id: ChainId,
        limits: Limits,
        params: Params,
        source: T,
        dispersal: Dispersal,
        max_future: Duration,
        empty_block_delay: Duration,
        block_interval_min: Duration,
        faults: &crate::Faults,
        progress: Progress,
        manifests: Manifests,
    ) -> Self {
        Self {
            manifests,
            progress,
            chain_id,
            limits,
            params,
            source,
            dispersal,
            max_future,
            empty_block_delay,
            block_interval_min,
            invalid_encoding: faults.invalid_encoding,
            future_timestamp: faults.future_timestamp,
            false_manifest: faults.false_manifest.clone(),
        }
    }

    /// The transactions of the ancestors from `parent` down to the last block this node has
    /// finalized and processed (its mempool no longer holds theirs), by their manifests; `None`
    /// if one is not known here in time (propose nothing rather than risk a repeat).
    async fn in_ancestry<E: Clock>(
        &self,
        runtime: &E,
        parent: Digested<ChainBlock>,
        ancestry: &mut impl Ancestry<ChainBlock>,
    ) -> Option<HashSet<Hash>> {
        let processed = self.progress.processed.load(Ordering::Acquire);
        let mut exclude = HashSet::new();
        let mut next = Some(parent);
        for _ in 0..ANCESTRY_MAX {
            let Some(block) = next else {
                return Some(exclude);
            };
            let header = block.inner().header();
            if header.height <= processed {
                return Some(exclude);
            }
            let hash = header.hash();
            let manifest = match self.manifests.get(&hash) {
                Some(manifest) => manifest,
                None => {
                    // Not verified here yet (the notarization came first): wait for the share.
                    let verdict = self.dispersal.verify(header.clone());
                    let timeout = runtime.sleep(MANIFEST_WAIT);
                    futures::pin_mut!(verdict, timeout);
                    match futures::future::select(verdict, timeout).await {
                        futures::future::Either::Left((Some(Verdict::Valid(Some(m))), _)) => {
                            self.manifests.insert(hash, header.height, m.clone());
                            m
                        }
                        _ => {
                            debug!(
                                height = header.height,
                                "ancestor's manifest unknown here: proposing an empty block"
                            );
                            return None;
                        }
                    }
                }
            };
            exclude.extend(manifest.iter().copied());
            next = ancestry.next().await;
        }
        None
    }

    fn build(&self, ctx: BlockContext, txs: Vec<Transaction>) -> Option<(Block, Vec<Share>)> {
        let built = if self.invalid_encoding {
            build_invalid(self.params, ctx, txs, &self.limits)
        } else {
            build_block(self.params, ctx, txs, &self.limits)
        };
        match built {
            Ok(built) => Some(built),
            Err(err) => {
                // The mempool only hands out transactions within the limits.
                warn!(%err, "could not build a block from the mempool's selection");
                None
            }
        }
    }
}

/// Like `build_block`, but the first namespace's chunks are not a codeword (a Byzantine leader).
fn build_invalid(
    params: Params,
    ctx: BlockContext,
    txs: Vec<Transaction>,
    limits: &Limits,
) -> Result<(Block, Vec<Share>), cortado_types::Error> {
    let mut chunks: Vec<Vec<Chunk>> = Vec::new();
    let block = Block::build(ctx, txs, limits, |data| {
        let (entry, c) = if chunks.is_empty() {
            encode_namespace_invalid(params, data, params.n - 1)
        } else {
            encode_namespace(params, data)
        };
        chunks.push(c);
        entry.commitment
    })?;
    let shares = (0..params.n)
        .map(|i| Share {
            index: i,
            chunks: chunks.iter().map(|c| c[i as usize].clone()).collect(),
        })
        .collect();
    Ok((block, shares))
}

impl<E, T> commonware_consensus::Application<E> for Application<T>
where
    E: Spawner + Metrics + Clock,
    T: TxSource,
{
    type SigningScheme = Scheme;
    type Context = Context;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, context): (E, Context),
        mut ancestry: impl Ancestry<ChainBlock>,
        _input: (),
    ) -> Option<Digested<ChainBlock>> {
        let parent = ancestry.next().await?;
        // Pacing: no sooner than block_interval_min after the parent (transactions arriving
        // meanwhile join this block), and never more than block_interval_min from now: a parent
        // dated ahead of this clock (by up to max_future, which verifiers accept) must not hold
        // this proposal back by that much.
        let now = millis(runtime.current());
        let interval = self.block_interval_min.as_millis() as u64;
        let earliest = parent
            .inner()
            .header()
            .timestamp_ms
            .saturating_add(interval)
            .min(now.saturating_add(interval));
        if earliest > now {
            runtime.sleep(Duration::from_millis(earliest - now)).await;
        }
        // A node catching up may still pool transactions that are already final: it proposes an
        // empty block rather than repeat them; so it does when it cannot tell what an
        // unfinalized ancestor holds.
        let exclude = if self.progress.behind() {
            None
        } else {
            self.in_ancestry(&runtime, parent.clone(), &mut ancestry)
                .await
                .map(Arc::new)
        };
        // An idle chain still makes progress, but at most one empty block per delay: wait for a
        // transaction (proposing the moment one is there) before settling for an empty block.
        let mut waited = Duration::ZERO;
        let txs = loop {
            let Some(exclude) = &exclude else {
                break Vec::new();
            };
            let txs = self.source.select(self.limits, exclude.clone()).await;
            if !txs.is_empty() || waited >= self.empty_block_delay {
                break txs;
            }
            runtime.sleep(EMPTY_POLL).await;
            waited += EMPTY_POLL;
        };
        let parent_header = parent.inner().header();
        let timestamp_ms = (millis(runtime.current()) + self.future_timestamp.as_millis() as u64)
            .max(parent_header.timestamp_ms + 1);
        let mut leader = [0u8; 32];
        leader.copy_from_slice(commonware_codec::Encode::encode(&context.leader).as_ref());
        let ctx = BlockContext {
            chain_id: self.chain_id,
            height: parent_header.height + 1,
            epoch: context.round.epoch().get(),
            view: context.round.view().get(),
            parent_view: context.parent.0.get(),
            leader,
            timestamp_ms,
            parent: from_digest(&context.parent.1),
            history: parent_header.child_history(),
        };
        let mut hashes: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
        let (block, shares) = self.build(ctx, txs)?;
        hashes.extend(self.false_manifest.iter().copied());
        let header = block.header().clone();
        debug!(height = header.height, txs = block.tx_count(), "proposing");
        self.manifests
            .insert(block.hash(), header.height, Arc::from(hashes.clone()));
        self.dispersal
            .disperse(header.clone(), shares, hashes)
            .await;
        let block = ChainBlock::new(header).ok()?;
        let digest = crate::block::to_digest(block.hash());
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (runtime, context): (E, Context),
        mut ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        let (Some(block), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            return false;
        };
        let header: &Header = block.inner().header();
        let parent_header = parent.inner().header();
        if header.chain_id != self.chain_id {
            debug!(chain_id = %header.chain_id, "rejecting block of another chain");
            return false;
        }
        if block.inner().context() != context {
            debug!("rejecting block whose embedded context differs from consensus");
            return false;
        }
        if let Err(err) = cortado_coding::check_header(header, &self.limits) {
            debug!(%err, "rejecting a header no block could match");
            return false;
        }
        if header.history != parent_header.child_history() {
            debug!("rejecting block whose history accumulator is not its parent's plus the parent");
            return false;
        }
        if header.timestamp_ms <= parent_header.timestamp_ms {
            debug!("rejecting block whose timestamp does not advance");
            return false;
        }
        // A block from the future is not invalid, only early: hold the vote until our clock
        // catches up (consensus abandons the request if the view times out first).
        let now = millis(runtime.current());
        let ahead = header
            .timestamp_ms
            .saturating_sub(now + self.max_future.as_millis() as u64);
        if ahead > 0 {
            runtime.sleep(Duration::from_millis(ahead)).await;
        }
        match self.dispersal.verify(header.clone()).await {
            Some(Verdict::Valid(manifest)) => {
                if let Some(manifest) = manifest {
                    self.manifests
                        .insert(header.hash(), header.height, manifest);
                }
                true
            }
            Some(Verdict::Invalid) => false,
            // Dispersal stopped (shutting down): never vote.
            None => futures::future::pending().await,
        }
    }
}
