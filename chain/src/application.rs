//! Block building and verification: the part of consensus that knows what a Cortado block is.
//!
//! Marshal's `Deferred` wrapper calls [`Application::propose`] when this validator leads a view
//! and [`Application::verify`] for every proposal; it has already checked that the block's parent
//! is the one consensus names and that the height is the parent's plus one.

use crate::{ChainBlock, Context, Scheme, block::from_digest};
use commonware_consensus::{CertifiableBlock, Heightable, marshal::ancestry::Ancestry};
use commonware_cryptography::Digested;
use commonware_runtime::{Clock, Metrics, Spawner};
use cortado_types::{Block, BlockContext, ChainId, Hash, Limits, Transaction};
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

/// Most unfinalized ancestors a proposer walks to collect transactions to exclude.
const EXCLUDE_DEPTH_MAX: usize = 64;

/// Where a proposer takes transactions from (the mempool).
pub trait TxSource: Clone + Send + Sync + 'static {
    /// Transactions in arrival order that fit `limits`, skipping hashes in `exclude`.
    fn select(
        &self,
        limits: Limits,
        exclude: HashSet<Hash>,
    ) -> impl Future<Output = Vec<Transaction>> + Send;
}

/// The chain's genesis block: height 0, empty, proposed "by" the first validator at view 0.
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
        },
        Vec::new(),
        &Limits::default(),
    )
    .expect("the empty block is within any limits");
    ChainBlock::new(block).expect("a validator key is a valid leader")
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
    source: T,
    finalized_height: Arc<AtomicU64>,
    max_future: Duration,
    empty_block_delay: Duration,
}

/// How often a leader with nothing to propose looks at the mempool again.
const EMPTY_POLL: Duration = Duration::from_millis(5);

impl<T: TxSource> Application<T> {
    /// Creates the application. `finalized_height` is advanced by the finalizer once a block is
    /// durably processed; proposers exclude transactions of ancestors above it.
    pub fn new(
        chain_id: ChainId,
        limits: Limits,
        source: T,
        finalized_height: Arc<AtomicU64>,
        max_future: Duration,
        empty_block_delay: Duration,
    ) -> Self {
        Self {
            chain_id,
            limits,
            source,
            finalized_height,
            max_future,
            empty_block_delay,
        }
    }

    /// Hashes of transactions in unfinalized ancestors, starting from the parent.
    async fn pending_in_ancestors(
        &self,
        parent: &Digested<ChainBlock>,
        ancestry: &mut impl Ancestry<ChainBlock>,
    ) -> HashSet<Hash> {
        let finalized = self.finalized_height.load(Ordering::Acquire);
        let mut exclude = HashSet::new();
        let mut current = parent.clone();
        for _ in 0..EXCLUDE_DEPTH_MAX {
            if current.height().get() <= finalized {
                break;
            }
            exclude.extend(current.inner().block().transactions().map(|tx| tx.hash()));
            match ancestry.next().await {
                Some(next) => current = next,
                None => break,
            }
        }
        exclude
    }
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
        let exclude = self.pending_in_ancestors(&parent, &mut ancestry).await;
        // An idle chain still makes progress, but at most one empty block per delay: wait for a
        // transaction (proposing the moment one is there) before settling for an empty block.
        let mut waited = Duration::ZERO;
        let txs = loop {
            let txs = self.source.select(self.limits, exclude.clone()).await;
            if !txs.is_empty() || waited >= self.empty_block_delay {
                break txs;
            }
            runtime.sleep(EMPTY_POLL).await;
            waited += EMPTY_POLL;
        };
        let parent_header = parent.inner().block().header();
        let timestamp_ms = millis(runtime.current()).max(parent_header.timestamp_ms + 1);
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
        };
        let block = match Block::build(ctx, txs, &self.limits) {
            Ok(block) => block,
            Err(err) => {
                // The mempool only hands out transactions within the limits.
                warn!(%err, "could not build a block from the mempool's selection");
                return None;
            }
        };
        debug!(height = block.height(), txs = block.tx_count(), "proposing");
        let hash = block.hash();
        let block = ChainBlock::new(block).ok()?;
        Some(Digested::precomputed(block, crate::block::to_digest(hash)))
    }

    async fn verify(
        &mut self,
        (runtime, context): (E, Context),
        mut ancestry: impl Ancestry<ChainBlock>,
    ) -> bool {
        let (Some(block), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            return false;
        };
        let header = block.inner().block().header();
        let parent_header = parent.inner().block().header();
        if header.chain_id != self.chain_id {
            debug!(chain_id = %header.chain_id, "rejecting block of another chain");
            return false;
        }
        if block.inner().context() != context {
            debug!("rejecting block whose embedded context differs from consensus");
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
        true
    }
}
