//! The actor: one select loop over the mailbox, the gossip channel and the gossip timer. All I/O
//! is here; the rules are in `state`, the journal's bookkeeping in `journal`.
//!
//! Each iteration waits for one event, then drains whatever else is already queued (up to
//! `mailbox_size` mailbox messages and [`GOSSIP_DRAIN_MAX`] gossip messages), applies it all to
//! the pool in arrival order while appending admitted transactions to the journal, syncs the
//! journal once, and only then answers every request of the batch and queues the newly admitted
//! local transactions for gossip (group commit).
//!
//! The actor stops when the runtime stops, when every [`Mailbox`] is dropped, or when the gossip
//! channel closes; callers then get [`crate::Error::Closed`].

use crate::{
    Config, Error, Stats, Submitted,
    gossip::{self, Outbox},
    ingress::{Mailbox, Message},
    journal::Wal,
    metrics::Metrics as MempoolMetrics,
    state::{Admitted, Bounds, Peer, PeerNumbers, Pool},
};
use commonware_cryptography::PublicKey;
use commonware_macros::select;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{
    Clock, ContextCell, Handle, IoBuf, Metrics, Spawner, Storage, spawn_cell,
};
use commonware_utils::channel::{mpsc, oneshot};
use cortado_types::{Hash, Transaction};
use futures::{
    FutureExt as _,
    future::{self, Either},
};
use std::{
    collections::{BTreeMap, HashSet, VecDeque},
    sync::Arc,
    time::{Duration, SystemTime},
};
use tracing::debug;

/// The validators that lead the next `count` views, this node excluded (a leader schedule):
/// local transactions are gossiped to them.
pub type Leaders<P> = Arc<dyn Fn(usize) -> Vec<P> + Send + Sync>;

/// Most gossip messages handled in one group commit.
const GOSSIP_DRAIN_MAX: usize = 64;

/// Most owned transactions re-offered in one go.
const REOFFER_BATCH_MAX: usize = 4_096;

/// What woke the loop.
enum Event<P> {
    Stop,
    Closed(&'static str),
    Tick,
    Local(Message),
    Gossip(P, IoBuf),
}

/// Where a transaction to admit comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A local submission (owned once admitted).
    Local,
    /// A peer's gossip.
    Copy(Peer),
    /// Its owner's gossip, again, because it is still pending there.
    Reoffered(Peer),
}

/// An answer held until the batch is durable.
enum Reply {
    Submit(
        oneshot::Sender<Result<Submitted, Error>>,
        Result<Submitted, Error>,
    ),
    Select(oneshot::Sender<Vec<Transaction>>, Vec<Transaction>),
    Finalized(oneshot::Sender<()>),
    Contains(oneshot::Sender<bool>, bool),
    Stats(oneshot::Sender<Stats>, Stats),
    FinalizedCopies(oneshot::Sender<()>),
    Reoffer(oneshot::Sender<usize>, usize),
}

impl Reply {
    fn send(self) {
        // A caller that stopped waiting is not an error.
        match self {
            Reply::Submit(response, value) => drop(response.send(value)),
            Reply::Select(response, value) => drop(response.send(value)),
            Reply::Finalized(response) => drop(response.send(())),
            Reply::Contains(response, value) => drop(response.send(value)),
            Reply::Stats(response, value) => drop(response.send(value)),
            Reply::FinalizedCopies(response) => drop(response.send(())),
            Reply::Reoffer(response, count) => drop(response.send(count)),
        }
    }
}

/// The work of one loop iteration.
#[derive(Default)]
struct Batch {
    replies: Vec<Reply>,
    /// Local transactions admitted in this batch, to gossip once durable.
    gossip: Vec<Transaction>,
    /// Whether anything was appended to the journal.
    dirty: bool,
    /// Owned transactions to offer the upcoming leaders again.
    reoffers: Vec<Transaction>,
}

/// The mempool actor. Create it with [`Actor::init`], run it with [`Actor::start`].
pub struct Actor<E: Spawner + Clock + Storage + Metrics> {
    context: ContextCell<E>,
    cfg: Config,
    pool: Pool,
    wal: Wal<E>,
    mailbox: mpsc::Receiver<Message>,
    outbox: Outbox,
    metrics: MempoolMetrics,
    /// Gossiped copies in arrival order, with the time they expire.
    copies: VecDeque<(SystemTime, Hash)>,
    /// Owned transactions replayed from the journal at start, until the re-offer: what this
    /// node acknowledged in an earlier run and gossiped then, to leaders who may have dropped
    /// it. Transactions submitted in this run were gossiped already and are not re-offered.
    recovered: HashSet<Hash>,
    /// Owned transactions to gossip again if still pending: (due, admission order) → (hash,
    /// the interval after which the next re-offer is due). One entry per owned transaction;
    /// entries of finalized ones are dropped when they come due.
    reoffers: BTreeMap<(SystemTime, u64), (Hash, Duration)>,
    /// Counter for the re-offer keys.
    reoffer_seq: u64,
    /// The number given to each peer heard from, for the pool's per-peer shares of copies
    /// (at most [`PEERS_MAX`]; the p2p layer admits only the chain's validators).
    peers: PeerNumbers,
}

/// Most peers numbered apart; any further peer shares the last number.
const PEERS_MAX: usize = 4096;

impl<E: Spawner + Clock + Storage + Metrics> Actor<E> {
    /// Checks `cfg` (panicking with [`Config::assert`]'s message if it is invalid), opens the
    /// journal and replays it into the pool. Panics if the journal cannot be read.
    pub async fn init(context: E, cfg: Config) -> (Self, Mailbox) {
        if let Err(err) = cfg.assert() {
            panic!("invalid mempool configuration: {err}");
        }
        let mut pool = Pool::new(Bounds::from(&cfg));
        let wal = Wal::init(context.child("journal"), &cfg, &mut pool).await;
        let metrics = MempoolMetrics::init(&context);
        metrics.set(pool.stats(), wal.bytes());
        let (sender, receiver) = mpsc::channel(cfg.mailbox_size);
        let mailbox = Mailbox::new(sender, cfg.tx_bytes_max);
        let outbox = Outbox::new(cfg.gossip_batch_bytes_max, cfg.gossip_interval);
        let recovered = pool.owned().iter().map(Transaction::hash).collect();
        let actor = Self {
            context: ContextCell::new(context),
            cfg,
            recovered,
            pool,
            wal,
            mailbox: receiver,
            copies: VecDeque::new(),
            reoffers: BTreeMap::new(),
            reoffer_seq: 0,
            peers: PeerNumbers::new(PEERS_MAX),
            outbox,
            metrics,
        };
        (actor, mailbox)
    }

    /// Runs the actor on its own task, gossiping over `gossip` (a p2p channel whose messages are
    /// bounded by [`Config::max_message_size`]). With `leaders`, local transactions go to the
    /// next [`Config::forward_leaders`] leaders; without, to every validator.
    pub fn start<P: PublicKey>(
        mut self,
        gossip: (impl Sender<PublicKey = P>, impl Receiver<PublicKey = P>),
        leaders: Option<Leaders<P>>,
    ) -> Handle<()> {
        spawn_cell!(self.context, self.run(gossip, leaders))
    }

    async fn run<P: PublicKey>(
        mut self,
        (mut sender, mut receiver): (impl Sender<PublicKey = P>, impl Receiver<PublicKey = P>),
        leaders: Option<Leaders<P>>,
    ) {
        let leaders = leaders.as_deref();
        // Replay may have left old sections worth compacting.
        self.wal.maintain(&self.pool).await;
        let mut shutdown = self.context.stopped();
        loop {
            let timer = match self.outbox.deadline() {
                Some(deadline) => Either::Left(self.context.sleep_until(deadline)),
                None => Either::Right(future::pending()),
            };
            let event = select! {
                _ = &mut shutdown => Event::Stop,
                // Before the mailbox, so a busy mailbox cannot starve the gossip timer.
                _ = timer => Event::Tick,
                message = self.mailbox.recv() => match message {
                    Some(message) => Event::Local(message),
                    None => Event::Closed("every mailbox was dropped"),
                },
                received = receiver.recv() => match received {
                    Ok((peer, message)) => Event::Gossip(peer, message),
                    Err(err) => {
                        debug!(?err, "gossip receiver failed");
                        Event::Closed("the gossip channel closed")
                    }
                },
            };
            self.expire_copies();
            let mut batch = Batch::default();
            match event {
                Event::Stop => {
                    debug!("mempool stopping");
                    break;
                }
                Event::Closed(why) => {
                    debug!(why, "mempool stopping");
                    break;
                }
                Event::Tick => {
                    self.flush(&mut sender, leaders);
                    continue;
                }
                Event::Local(message) => self.handle_local(message, &mut batch).await,
                Event::Gossip(peer, message) => self.handle_gossip(peer, message, &mut batch).await,
            }
            let open = self.drain(&mut receiver, &mut batch).await;
            self.commit(batch, &mut sender, leaders).await;
            if !open {
                debug!("mempool stopping: the gossip channel closed");
                break;
            }
        }
    }

    /// Handles everything already queued. Returns false if the gossip channel closed (the batch
    /// is still committed before the actor stops).
    async fn drain<P: PublicKey>(
        &mut self,
        receiver: &mut impl Receiver<PublicKey = P>,
        batch: &mut Batch,
    ) -> bool {
        for _ in 1..self.cfg.mailbox_size {
            let Ok(message) = self.mailbox.try_recv() else {
                break;
            };
            self.handle_local(message, batch).await;
        }
        for _ in 0..GOSSIP_DRAIN_MAX {
            // Receivers are mpsc-backed and cancel-safe, as `select!` already requires.
            match receiver.recv().now_or_never() {
                None => break,
                Some(Ok((peer, message))) => self.handle_gossip(peer, message, batch).await,
                Some(Err(err)) => {
                    debug!(?err, "gossip receiver failed");
                    return false;
                }
            }
        }
        true
    }

    /// Makes the batch durable, answers it, gossips its local transactions, keeps the journal
    /// bounded.
    async fn commit<P: PublicKey>(
        &mut self,
        batch: Batch,
        sender: &mut impl Sender<PublicKey = P>,
        leaders: Option<&(dyn Fn(usize) -> Vec<P> + Send + Sync)>,
    ) {
        if batch.dirty {
            self.wal.sync().await;
        }
        for reply in batch.replies {
            reply.send();
        }
        if !batch.reoffers.is_empty() {
            self.send_reoffers(sender, batch.reoffers, leaders);
        }
        let now = self.context.current();
        for tx in batch.gossip {
            if let Some(full) = self.outbox.push(tx, now) {
                self.send(sender, full, leaders);
            }
            if self.outbox.is_full() {
                self.flush(sender, leaders);
            }
        }
        if self
            .outbox
            .deadline()
            .is_some_and(|deadline| deadline <= now)
        {
            self.flush(sender, leaders);
        }
        if batch.dirty {
            self.wal.maintain(&self.pool).await;
        }
        self.metrics.copies_evicted.inc_by(self.pool.take_evicted());
        self.metrics
            .copies_displaced
            .inc_by(self.pool.take_displaced());
        self.metrics.set(self.pool.stats(), self.wal.bytes());
    }

    async fn handle_local(&mut self, message: Message, batch: &mut Batch) {
        let reply = match message {
            Message::Submit { hash, tx, response } => {
                let result = self
                    .admit(hash, tx, Origin::Local, batch)
                    .await
                    .map(|duplicate| Submitted { hash, duplicate });
                Reply::Submit(response, result)
            }
            Message::Select {
                limits,
                exclude,
                response,
            } => Reply::Select(response, self.pool.select(&limits, &exclude)),
            Message::FinalizedCopies { hashes, response } => {
                let now = self.context.current();
                let dropped = match hashes {
                    Some(hashes) => self.pool.drop_copies(&hashes, now),
                    None => self.pool.drop_all_copies(now),
                };
                self.metrics.copies_dropped.inc_by(dropped.len() as u64);
                Reply::FinalizedCopies(response)
            }
            Message::Reoffer { response } => {
                // Owned transactions from the journal that are still pending are durable
                // already: they go to the upcoming leaders again, once, and then like the
                // others whose re-offer is due. (Leaders skip what their unfinalized ancestors
                // hold when they select, so a copy does not repeat it.)
                let recovered = std::mem::take(&mut self.recovered);
                let owned: Vec<Transaction> = self
                    .pool
                    .owned()
                    .into_iter()
                    .filter(|tx| recovered.contains(&tx.hash()))
                    .collect();
                let count = owned.len();
                let now = self.context.current();
                for tx in &owned {
                    self.schedule_reoffer(tx.hash(), now, self.cfg.reoffer_after);
                }
                batch.reoffers.extend(owned);
                self.metrics.reoffered.inc_by(count as u64);
                let due = self.reoffer_due();
                let count = count + due.len();
                batch.reoffers.extend(due);
                Reply::Reoffer(response, count)
            }
            Message::Finalized { hashes, response } => {
                let removed = self.pool.finalize(&hashes);
                if !removed.is_empty() {
                    self.wal.append_finalized(&removed).await;
                    self.metrics.finalized.inc_by(removed.len() as u64);
                    batch.dirty = true;
                }
                Reply::Finalized(response)
            }
            Message::Contains { hash, response } => {
                Reply::Contains(response, self.pool.contains(&hash))
            }
            Message::Stats { response } => Reply::Stats(response, self.pool.stats()),
        };
        batch.replies.push(reply);
    }

    async fn handle_gossip<P: PublicKey>(&mut self, peer: P, message: IoBuf, batch: &mut Batch) {
        self.metrics.gossip_received.inc();
        let decoded =
            gossip::decode_batch(message, self.cfg.tx_bytes_max, self.cfg.max_message_size);
        let (txs, reoffered) = match decoded {
            Ok(batch) => batch,
            Err(err) => {
                debug!(?peer, ?err, "dropping malformed gossip message");
                self.metrics.gossip_invalid.inc();
                return;
            }
        };
        let from = self.peers.number(&peer.encode());
        for tx in txs {
            let hash = tx.hash();
            let origin = if reoffered {
                Origin::Reoffered(from)
            } else {
                Origin::Copy(from)
            };
            if let Err(err) = self.admit(hash, tx, origin, batch).await {
                debug!(?peer, ?hash, %err, "dropping gossiped transaction");
            }
        }
    }

    /// Admits a transaction; journals it if it is new and local (or a local submission of a
    /// pooled copy). Returns whether it was a duplicate.
    async fn admit(
        &mut self,
        hash: Hash,
        tx: Transaction,
        origin: Origin,
        batch: &mut Batch,
    ) -> Result<bool, Error> {
        let local = origin == Origin::Local;
        let admitted = match origin {
            Origin::Reoffered(from) => self.pool.admit_reoffered(
                hash,
                tx.clone(),
                from,
                self.context.current(),
                self.cfg.reoffer_after,
            ),
            Origin::Copy(from) => self.pool.admit_from(hash, tx.clone(), Some(from)),
            Origin::Local => self.pool.admit_from(hash, tx.clone(), None),
        };
        match admitted {
            Ok(Admitted::New { seq }) if local => {
                self.wal.append_tx(seq, hash, &tx).await;
                batch.dirty = true;
                self.metrics.admitted_local.inc();
                let now = self.context.current();
                self.schedule_reoffer(hash, now, self.cfg.reoffer_after);
                batch.gossip.push(tx);
                Ok(false)
            }
            Ok(Admitted::New { .. }) => {
                // A copy: soft state, its owner journaled it.
                self.metrics.admitted_gossip.inc();
                let expires = self.context.current() + self.cfg.copy_ttl;
                self.copies.push_back((expires, hash));
                Ok(false)
            }
            Ok(Admitted::Adopted { seq }) => {
                // Acknowledged here now, so durable here; its owner already gossiped it.
                self.wal.append_tx(seq, hash, &tx).await;
                batch.dirty = true;
                let now = self.context.current();
                self.schedule_reoffer(hash, now, self.cfg.reoffer_after);
                self.metrics.duplicates.inc();
                Ok(true)
            }
            Ok(Admitted::Duplicate) => {
                self.metrics.duplicates.inc();
                Ok(true)
            }
            Err(err) => {
                self.metrics.refused.inc();
                Err(err)
            }
        }
    }

    fn schedule_reoffer(&mut self, hash: Hash, now: SystemTime, after: Duration) {
        self.reoffer_seq += 1;
        self.reoffers
            .insert((now + after, self.reoffer_seq), (hash, after));
    }

    /// Every owned transaction whose re-offer came due and that is still pending (at most
    /// [`REOFFER_BATCH_MAX`] per call), each with its next re-offer scheduled.
    fn reoffer_due(&mut self) -> Vec<Transaction> {
        let now = self.context.current();
        let mut due = Vec::new();
        for _ in 0..REOFFER_BATCH_MAX {
            let Some(entry) = self.reoffers.first_entry() else {
                break;
            };
            if entry.key().0 > now {
                break;
            }
            let (hash, after) = entry.remove();
            let Some(tx) = self.pool.owned_tx(&hash) else {
                continue;
            };
            let next = (after * 2).min(self.cfg.copy_ttl);
            self.schedule_reoffer(hash, now, next);
            self.metrics.reoffered.inc();
            due.push(tx);
        }
        due
    }

    /// Sends owned transactions to the upcoming leaders as re-offers, in batches within
    /// `gossip_batch_bytes_max`.
    fn send_reoffers<P: PublicKey>(
        &mut self,
        sender: &mut impl Sender<PublicKey = P>,
        txs: Vec<Transaction>,
        leaders: Option<&(dyn Fn(usize) -> Vec<P> + Send + Sync)>,
    ) {
        // The outbox's batching by size, sent at once (not on the gossip timer).
        let mut outbox = Outbox::new(self.cfg.gossip_batch_bytes_max, self.cfg.gossip_interval);
        let now = self.context.current();
        for tx in txs {
            if let Some(full) = outbox.push(tx, now) {
                self.send_encoded(sender, gossip::encode_reoffer(&full), full.len(), leaders);
            }
        }
        let rest = outbox.take();
        if !rest.is_empty() {
            self.send_encoded(sender, gossip::encode_reoffer(&rest), rest.len(), leaders);
        }
    }

    /// Drops the gossiped copies whose time to live has passed.
    fn expire_copies(&mut self) {
        let now = self.context.current();
        while let Some((expires, hash)) = self.copies.front().copied() {
            if expires > now {
                break;
            }
            self.copies.pop_front();
            if self.pool.expire_copy(&hash) {
                self.metrics.copies_expired.inc();
            }
        }
    }

    /// Sends the waiting gossip batch, if any.
    fn flush<P: PublicKey>(
        &mut self,
        sender: &mut impl Sender<PublicKey = P>,
        leaders: Option<&(dyn Fn(usize) -> Vec<P> + Send + Sync)>,
    ) {
        let txs = self.outbox.take();
        if !txs.is_empty() {
            self.send(sender, txs, leaders);
        }
    }

    fn send<P: PublicKey>(
        &mut self,
        sender: &mut impl Sender<PublicKey = P>,
        txs: Vec<Transaction>,
        leaders: Option<&(dyn Fn(usize) -> Vec<P> + Send + Sync)>,
    ) {
        let message = gossip::encode(&txs);
        self.send_encoded(sender, message, txs.len(), leaders);
    }

    fn send_encoded<P: PublicKey>(
        &mut self,
        sender: &mut impl Sender<PublicKey = P>,
        message: bytes::Bytes,
        count: usize,
        leaders: Option<&(dyn Fn(usize) -> Vec<P> + Send + Sync)>,
    ) {
        assert!(
            message.len() <= self.cfg.gossip_batch_bytes_max,
            "gossip batch of {} bytes exceeds gossip_batch_bytes_max",
            message.len()
        );
        let to = match leaders {
            Some(leaders) => Recipients::Some(leaders(self.cfg.forward_leaders)),
            None => Recipients::All,
        };
        if matches!(&to, Recipients::Some(peers) if peers.is_empty()) {
            // This node leads every upcoming view: it proposes its own transactions.
            return;
        }
        let recipients = sender.send(to, message, false);
        if recipients.is_empty() {
            debug!(txs = count, "gossip batch reached no peer");
            self.metrics.gossip_unsent.inc();
        } else {
            self.metrics.gossip_sent.inc();
        }
    }
}
