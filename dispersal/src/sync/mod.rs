//! Block sync: whole finalized blocks from API nodes, for heights whose shares no validator
//! holds any more (this node was down longer than the validators' `share_retention_views`, or
//! starts on an empty data directory on a long chain).
//!
//! The finalizer asks for a block here once a retrieval from shares ended unavailable
//! (`RetrieveError::Unavailable`). The [`Syncer`] asks one API node at a time, best score
//! first (the scores of `peers.rs`, rotated by height so that a window of heights spreads over
//! all of them), for the block with the hash and height of the certified header it has. The
//! answer is either the block with the evidence of each invalidly encoded namespace, or
//! `NotHeld`. A block is accepted only if it checks against the header
//! ([`cortado_coding::verify_block`]: same header, every valid namespace re-encodes to its
//! table entry, every invalid one comes with evidence that verifies), so what this node indexes
//! is exactly what it would have reconstructed from shares; the header itself is certified and
//! linked by marshal before the finalizer sees it. A block that does not check sinks its
//! sender's score to the floor and the next API node is asked at once; one not answered in time
//! lowers it (`request_timeout` until the API node has answered once, then four times its
//! smoothed response time, at least 500 ms). Only answers from the node asked, about a block being fetched,
//! are decoded further than their tag and hash; anything else is dropped. When every API node
//! declined, timed out or lied, the fetch ends as unavailable and the finalizer tries again
//! later (shares first).
//!
//! The same actor answers other nodes' requests from this node's [`BlockSource`] (its index on
//! an API node; nothing on a validator that is not one), one at a time.

pub(crate) mod wire;

pub use wire::sync_message_bytes_max;

use crate::{Mailbox, RetrieveError, Retrieved, metrics::Stats, peers::Scores};
use bytes::Bytes;
use commonware_codec::Decode;
use commonware_macros::select;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{
    Clock, ContextCell, Handle, Metrics, Spawner, spawn_cell,
    telemetry::metrics::{Counter, MetricsExt as _},
};
use commonware_utils::channel::{mpsc, oneshot};
use cortado_coding::{Params, verify_block};
use cortado_types::{Block, Hash, Header, Limits};
use futures::future::{self, Either};
use std::{
    collections::{BTreeSet, HashMap},
    future::Future,
    num::NonZeroUsize,
    sync::{Arc, atomic::Ordering},
    time::{Duration, SystemTime},
};
use tracing::{debug, info, warn};
use wire::SyncWire;

/// Shortest time an API node has to send a block, whatever its recent response times (blocks
/// differ in size much more than shares).
const REQUEST_TIMEOUT_MIN: Duration = Duration::from_millis(500);

/// Where a node serves finalized blocks from.
pub trait BlockSource: Clone + Send + Sync + 'static {
    /// The finalized block `block` at `height`, with the evidence of each of its invalidly
    /// encoded namespaces, if this node stores it.
    fn stored_block(
        &self,
        height: u64,
        block: Hash,
    ) -> impl Future<Output = Option<Retrieved>> + Send;
}

/// Configuration of the [`Syncer`].
#[derive(Clone, Debug)]
pub struct SyncConfig<P> {
    /// All validators, in participant order.
    pub participants: Vec<P>,
    /// This node's index in `participants`.
    pub me: u16,
    /// Coding parameters.
    pub params: Params,
    /// Block limits (bound decoding).
    pub limits: Limits,
    /// The nodes that store whole blocks (the API nodes).
    pub serve_from: Vec<P>,
    /// How long an API node has to answer a request, until its response times are known.
    pub request_timeout: Duration,
    /// Capacity of the mailbox.
    pub mailbox_size: NonZeroUsize,
    /// FAULT INJECTION (simulations only): serve blocks with one payload byte changed.
    pub corrupt_served_blocks: bool,
}

/// Handle to the [`Syncer`]. Cheap to clone; bounded.
#[derive(Clone, Debug)]
pub struct SyncMailbox {
    sender: mpsc::Sender<(Header, oneshot::Sender<Option<Retrieved>>)>,
}

impl SyncMailbox {
    /// The block `header` names, from an API node, checked against `header` (which must be
    /// finalized: it is what the block is checked against).
    pub async fn fetch(&self, header: Header) -> Result<Retrieved, RetrieveError> {
        let (response, receiver) = oneshot::channel();
        self.sender
            .send((header, response))
            .await
            .map_err(|_| RetrieveError::Stopped)?;
        receiver
            .await
            .map_err(|_| RetrieveError::Stopped)?
            .ok_or(RetrieveError::Unavailable)
    }
}

/// One block being fetched.
struct Fetch {
    header: Header,
    waiters: Vec<oneshot::Sender<Option<Retrieved>>>,
    /// The API node asked now, when, and when its answer is due.
    asked: Option<(u16, SystemTime, SystemTime)>,
    /// API nodes that declined, timed out or lied.
    tried: BTreeSet<u16>,
}

struct SyncMetrics {
    synced: Counter,
    rejected: Counter,
    timed_out: Counter,
    not_held: Counter,
    served: Counter,
    served_not_held: Counter,
}

/// Fetches whole blocks from API nodes and serves this node's to others.
pub struct Syncer<E: Spawner + Clock + Metrics, P, S> {
    context: ContextCell<E>,
    cfg: SyncConfig<P>,
    source: S,
    mailbox: mpsc::Receiver<(Header, oneshot::Sender<Option<Retrieved>>)>,
    fetches: HashMap<Hash, Fetch>,
    /// Indices of the API nodes other than this one.
    servers: Vec<u16>,
    scores: Scores,
    stats: Arc<Stats>,
    metrics: SyncMetrics,
    announced: bool,
}

impl<E, P, S> Syncer<E, P, S>
where
    E: Spawner + Clock + Metrics,
    P: commonware_cryptography::PublicKey,
    S: BlockSource,
{
    /// Creates the syncer; it counts into `dispersal`'s statistics.
    pub fn new(
        context: E,
        cfg: SyncConfig<P>,
        source: S,
        dispersal: &Mailbox,
    ) -> (Self, SyncMailbox) {
        let (sender, receiver) = mpsc::channel(cfg.mailbox_size.get());
        let servers = cfg
            .serve_from
            .iter()
            .filter_map(|p| cfg.participants.iter().position(|q| q == p))
            .map(|i| i as u16)
            .filter(|i| *i != cfg.me)
            .collect();
        let metrics = SyncMetrics {
            synced: context.counter(
                "blocks_synced",
                "Whole blocks from API nodes that checked against their header",
            ),
            rejected: context.counter(
                "synced_blocks_rejected",
                "Whole blocks from API nodes that did not check against their header",
            ),
            timed_out: context.counter(
                "sync_requests_timed_out",
                "Block requests to API nodes not answered in time",
            ),
            not_held: context.counter(
                "sync_requests_not_held",
                "Block requests to API nodes answered NotHeld",
            ),
            served: context.counter("sync_blocks_served", "Whole blocks served to peers"),
            served_not_held: context.counter(
                "sync_requests_declined",
                "Block requests from peers for blocks not stored here",
            ),
        };
        let n = cfg.participants.len() as u16;
        (
            Self {
                context: ContextCell::new(context),
                cfg,
                source,
                mailbox: receiver,
                fetches: HashMap::new(),
                servers,
                scores: Scores::new(n),
                stats: dispersal.shared_stats(),
                metrics,
                announced: false,
            },
            SyncMailbox { sender },
        )
    }

    /// Runs the syncer on the block-sync channel.
    pub fn start(
        mut self,
        network: (impl Sender<PublicKey = P>, impl Receiver<PublicKey = P>),
    ) -> Handle<()> {
        spawn_cell!(self.context, self.run(network))
    }

    async fn run(
        mut self,
        (mut sender, mut receiver): (impl Sender<PublicKey = P>, impl Receiver<PublicKey = P>),
    ) {
        let mut shutdown = self.context.stopped();
        loop {
            let next = self
                .fetches
                .values()
                .filter_map(|f| f.asked.map(|(_, _, due)| due))
                .min();
            let timer = match next {
                Some(at) => Either::Left(self.context.sleep_until(at)),
                None => Either::Right(future::pending()),
            };
            select! {
                _ = &mut shutdown => break,
                _ = timer => self.expire(&mut sender),
                request = self.mailbox.recv() => match request {
                    Some((header, response)) => self.start_fetch(header, response, &mut sender),
                    None => break,
                },
                received = receiver.recv() => match received {
                    Ok((peer, bytes)) => self.handle_peer(peer, bytes, &mut sender).await,
                    Err(err) => {
                        debug!(?err, "block-sync receiver closed");
                        break;
                    }
                },
            }
            // Forget fetches the finalizer abandoned.
            self.fetches.retain(|_, f| {
                f.waiters.retain(|w| !w.is_closed());
                !f.waiters.is_empty()
            });
        }
    }

    fn index_of(&self, key: &P) -> Option<u16> {
        self.cfg
            .participants
            .iter()
            .position(|p| p == key)
            .map(|i| i as u16)
    }

    fn start_fetch(
        &mut self,
        header: Header,
        response: oneshot::Sender<Option<Retrieved>>,
        sender: &mut impl Sender<PublicKey = P>,
    ) {
        let block = header.hash();
        if let Some(f) = self.fetches.get_mut(&block) {
            f.waiters.push(response);
            return;
        }
        if !self.announced {
            self.announced = true;
            info!(
                height = header.height,
                "validators no longer hold shares of a block this node needs: fetching whole blocks from API nodes"
            );
        }
        self.fetches.insert(
            block,
            Fetch {
                header,
                waiters: vec![response],
                asked: None,
                tried: BTreeSet::new(),
            },
        );
        self.ask_next(block, sender);
    }

    /// Asks the best API node not tried yet for `block`; ends the fetch as unavailable when
    /// none is left.
    fn ask_next(&mut self, block: Hash, sender: &mut impl Sender<PublicKey = P>) {
        loop {
            let Some(f) = self.fetches.get_mut(&block) else {
                return;
            };
            let candidates = self
                .servers
                .iter()
                .copied()
                .filter(|i| !f.tried.contains(i));
            let Some(index) = self
                .scores
                .choose(candidates, 1, f.header.height, 0)
                .first()
                .copied()
            else {
                let f = self.fetches.remove(&block).expect("present");
                debug!(%block, height = f.header.height, "no API node could send the block");
                for waiter in f.waiters {
                    let _ = waiter.send(None);
                }
                return;
            };
            let now = self.context.current();
            let message = SyncWire::Request {
                height: f.header.height,
                block,
            }
            .to_bytes();
            let peer = self.cfg.participants[usize::from(index)].clone();
            if sender
                .send(Recipients::One(peer), message, false)
                .is_empty()
            {
                // Not connected: try the next one.
                f.tried.insert(index);
                self.scores.timed_out(index);
                continue;
            }
            let timeout = self
                .scores
                .timeout(index, self.cfg.request_timeout)
                .max(REQUEST_TIMEOUT_MIN.min(self.cfg.request_timeout));
            f.asked = Some((index, now, now + timeout));
            return;
        }
    }

    /// Requests not answered in time: score down, ask the next API node.
    fn expire(&mut self, sender: &mut impl Sender<PublicKey = P>) {
        let now = self.context.current();
        let expired: Vec<Hash> = self
            .fetches
            .iter_mut()
            .filter_map(|(block, f)| match f.asked {
                Some((index, _, due)) if due <= now => {
                    f.asked = None;
                    f.tried.insert(index);
                    self.scores.timed_out(index);
                    self.metrics.timed_out.inc();
                    Some(*block)
                }
                _ => None,
            })
            .collect();
        for block in expired {
            self.ask_next(block, sender);
        }
    }

    async fn handle_peer(
        &mut self,
        peer: P,
        bytes: commonware_runtime::IoBuf,
        sender: &mut impl Sender<PublicKey = P>,
    ) {
        let Some(from) = self.index_of(&peer) else {
            return;
        };
        let message = match SyncWire::decode_cfg(bytes, &(self.cfg.params, self.cfg.limits)) {
            Ok(message) => message,
            Err(err) => {
                debug!(from, %err, "undecodable block-sync message");
                self.declined(from, None, sender, true);
                return;
            }
        };
        match message {
            SyncWire::Request { height, block } => self.serve(peer, height, block, sender).await,
            SyncWire::NotHeld { block } => {
                self.metrics.not_held.inc();
                self.declined(from, Some(block), sender, false);
            }
            SyncWire::Block { block, evidence } => self.received(from, *block, evidence, sender),
        }
    }

    /// API node `from` will not send `block` (or, with `None`, sent something undecodable:
    /// whatever it was asked for).
    fn declined(
        &mut self,
        from: u16,
        block: Option<Hash>,
        sender: &mut impl Sender<PublicKey = P>,
        lied: bool,
    ) {
        let asked: Vec<Hash> = self
            .fetches
            .iter()
            .filter(|(hash, f)| {
                matches!(f.asked, Some((i, _, _)) if i == from) && block.is_none_or(|b| b == **hash)
            })
            .map(|(hash, _)| *hash)
            .collect();
        if lied {
            self.scores.invalid(from);
        }
        for hash in asked {
            let f = self.fetches.get_mut(&hash).expect("present");
            if let Some((_, sent, _)) = f.asked.take() {
                let elapsed = since(self.context.current(), sent);
                self.scores.answered(from, elapsed);
            }
            f.tried.insert(from);
            self.ask_next(hash, sender);
        }
    }

    /// A block from API node `from`: used only if `from` was asked for it and it checks.
    fn received(
        &mut self,
        from: u16,
        block: Block,
        evidence: Vec<cortado_coding::InvalidEncodingEvidence>,
        sender: &mut impl Sender<PublicKey = P>,
    ) {
        let asked_from = |f: &Fetch| matches!(f.asked, Some((i, _, _)) if i == from);
        // The block asked for by its hash, or else the one asked for at its height: a block
        // with another hash at a height we asked `from` about is a lie about that block (a
        // forged header), refused below, not an unsolicited message to drop and time out on.
        let by_hash = block.hash();
        let hash = if self.fetches.get(&by_hash).is_some_and(asked_from) {
            by_hash
        } else {
            match self
                .fetches
                .iter()
                .find(|(_, f)| asked_from(f) && f.header.height == block.height())
            {
                Some((hash, _)) => *hash,
                None => return,
            }
        };
        let f = self.fetches.get(&hash).expect("found above");
        if let Err(err) = verify_block(
            self.cfg.params,
            &f.header,
            &block,
            &evidence,
            &self.cfg.limits,
        ) {
            warn!(from, height = f.header.height, %err, "an API node sent a block that does not check; asking another");
            self.metrics.rejected.inc();
            self.stats
                .synced_blocks_rejected
                .fetch_add(1, Ordering::Relaxed);
            self.declined(from, Some(hash), sender, true);
            return;
        }
        let f = self.fetches.remove(&hash).expect("present");
        if let Some((_, sent, _)) = f.asked {
            self.scores
                .answered(from, since(self.context.current(), sent));
        }
        self.scores.delivered(from);
        self.scores.tick();
        self.metrics.synced.inc();
        self.stats.blocks_synced.fetch_add(1, Ordering::Relaxed);
        let retrieved = Retrieved { block, evidence };
        // Usually one waiter: the block is copied only for the others.
        let mut waiters = f.waiters;
        let last = waiters.pop();
        for waiter in waiters {
            let _ = waiter.send(Some(retrieved.clone()));
        }
        if let Some(last) = last {
            let _ = last.send(Some(retrieved));
        }
    }

    /// Answers a peer's request from this node's store.
    async fn serve(
        &mut self,
        peer: P,
        height: u64,
        block: Hash,
        sender: &mut impl Sender<PublicKey = P>,
    ) {
        let answer = match self.source.stored_block(height, block).await {
            Some(stored) if stored.block.hash() == block => {
                self.metrics.served.inc();
                let block = if self.cfg.corrupt_served_blocks {
                    corrupt(stored.block, &self.cfg.limits)
                } else {
                    stored.block
                };
                SyncWire::Block {
                    block: Box::new(block),
                    evidence: stored.evidence,
                }
            }
            _ => {
                self.metrics.served_not_held.inc();
                SyncWire::NotHeld { block }
            }
        };
        let _ = sender.send(Recipients::One(peer), answer.to_bytes(), false);
    }
}

/// Time from `sent` to `now` (zero if the clock went back).
fn since(now: SystemTime, sent: SystemTime) -> Duration {
    now.duration_since(sent).unwrap_or_default()
}

/// FAULT INJECTION: the block with the first byte of its first payload inverted (unchanged if
/// it has no payload byte). A block's entries bind its transactions (`tx_root`), so the lie
/// comes with the header it implies: that entry's `tx_root` and the payload commitment redone,
/// a block that decodes and is whole, but not the certified one.
fn corrupt(block: Block, limits: &Limits) -> Block {
    let mut namespaces = block.namespaces().to_vec();
    let Some(at) = namespaces
        .iter()
        .position(|n| n.payloads.iter().any(|p| !p.is_empty()))
    else {
        return block;
    };
    let data = &mut namespaces[at];
    let payload = data
        .payloads
        .iter_mut()
        .find(|p| !p.is_empty())
        .expect("found above");
    let mut bytes = payload.to_vec();
    bytes[0] ^= 0xff;
    *payload = Bytes::from(bytes);
    let mut header = block.header().clone();
    let mut entries = header.table.entries().to_vec();
    entries[at] = data.entry(entries[at].commitment);
    let Ok(table) = cortado_types::NamespaceTable::new(entries) else {
        return block;
    };
    header.payload_commitment = table.root();
    header.table = table;
    Block::from_parts(header, namespaces, limits).unwrap_or(block)
}
