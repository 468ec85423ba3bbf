//! The dispersal actor: all I/O (p2p, storage, timers); the rules are in `cortado-coding` and
//! `state.rs`.

use crate::{
    ask::{Ask, Asks, KeptProposals},
    config::Config,
    ingress::{Mailbox, Message, Verdict},
    metrics::{Metrics as DispersalMetrics, Stats},
    peers::Scores,
    retrieve::Retrieval,
    state::{Buffers, designated},
    wire::Wire,
};
use commonware_codec::Decode;
use commonware_cryptography::sha256::Digest;
use commonware_macros::select;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{
    Clock, ContextCell, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef, spawn_cell,
};
use commonware_storage::{
    archive::{Archive as _, Identifier, prunable},
    translator::EightCap,
};
use commonware_utils::{
    NZU16, NZUsize,
    channel::{mpsc, oneshot},
};
use cortado_coding::{Share, verify_share};
use cortado_types::{Hash, Header};
use futures::future::{self, Either};
use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
};
use tracing::{debug, warn};

/// Views per archive section (the granularity of pruning), unless the retention is short.
const VIEWS_PER_SECTION: u64 = 4_096;

/// Views per archive section for a retention of `retention_views`: a quarter of the retention
/// within `[16, VIEWS_PER_SECTION]` (so shares are pruned at most 25 % late). A store must be
/// reopened with the section size it was created with: it changes only for retentions below
/// `4 × VIEWS_PER_SECTION` views.
pub(crate) fn section_views(retention_views: Option<u64>) -> u64 {
    retention_views.map_or(VIEWS_PER_SECTION, |r| (r / 4).clamp(16, VIEWS_PER_SECTION))
}

pub(crate) type Store<E> = prunable::Archive<EightCap, E, Digest, Share>;

pub(crate) fn key(block: &Hash) -> Digest {
    Digest(block.0)
}

/// The dispersal actor.
pub struct Actor<E: Spawner + Clock + Storage + Metrics, P> {
    pub(crate) context: ContextCell<E>,
    pub(crate) cfg: Config<P>,
    mailbox: mpsc::Receiver<Message>,
    pub(crate) store: Option<Store<E>>,
    pub(crate) buffers: Buffers,
    pub(crate) verifying: HashMap<Hash, Vec<(Header, oneshot::Sender<Verdict>)>>,
    /// Verifications whose share has not come: when to ask the leader next.
    pub(crate) asks: Asks,
    /// This node's recent proposals, to answer requests for shares that did not arrive.
    pub(crate) kept: KeptProposals,
    pub(crate) retrievals: HashMap<Hash, Retrieval>,
    pub(crate) scores: Scores,
    max_view: u64,
    pruned_below: u64,
    /// Blocks named by `Faults::spam_shares` so far.
    spammed: u64,
    pub(crate) metrics: DispersalMetrics,
    pub(crate) stats: Arc<Stats>,
}

impl<E, P> Actor<E, P>
where
    E: Spawner + Clock + Storage + Metrics,
    P: commonware_cryptography::PublicKey,
{
    /// Opens the share store and creates the actor. Panics on an invalid configuration (call
    /// [`Config::check`] first to report it) or if storage cannot be opened.
    pub async fn init(context: E, cfg: Config<P>) -> (Self, Mailbox) {
        if let Err(e) = cfg.check() {
            panic!("invalid dispersal configuration: {e}");
        }
        let (sender, receiver) = mpsc::channel(cfg.mailbox_size.get());
        let prefix = cfg.partition.clone();
        let store = Store::init(
            context.child("shares"),
            prunable::Config {
                translator: EightCap,
                metadata_partition: format!("{prefix}-metadata"),
                key_partition: format!("{prefix}-key"),
                key_page_cache: CacheRef::new(NZU16!(4_096), NZUsize!(256)),
                value_partition: format!("{prefix}-value"),
                compression: None,
                codec_config: (cfg.params, cfg.limits),
                items_per_section: std::num::NonZeroU64::new(section_views(cfg.retention_views))
                    .expect("at least 16"),
                key_write_buffer: NZUsize!(64 * 1024),
                value_write_buffer: NZUsize!(1024 * 1024),
                replay_buffer: NZUsize!(1024 * 1024),
            },
        )
        .await
        .expect("cannot open the share store");
        let buffers = Buffers::new(cfg.buffered_bytes_max, cfg.buffered_blocks_max);
        let cfg_n = cfg.params.n;
        let metrics = DispersalMetrics::init(&context);
        let stats = Arc::new(Stats::default());
        (
            Self {
                context: ContextCell::new(context),
                cfg,
                mailbox: receiver,
                store: Some(store),
                buffers,
                verifying: HashMap::new(),
                asks: Asks::new(),
                kept: KeptProposals::default(),
                retrievals: HashMap::new(),
                scores: Scores::new(cfg_n),
                max_view: 0,
                pruned_below: 0,
                spammed: 0,
                metrics,
                stats: stats.clone(),
            },
            Mailbox::new(sender, stats),
        )
    }

    /// Runs the actor on the dispersal channel.
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
                .retrievals
                .values()
                .map(|r| r.next_request)
                .chain(self.asks.values().map(|a| a.at))
                .min();
            let timer = match next {
                Some(at) => Either::Left(self.context.sleep_until(at)),
                None => Either::Right(future::pending()),
            };
            select! {
                _ = &mut shutdown => break,
                _ = timer => {
                    self.request_missing(&mut sender);
                    self.ask_leaders(&mut sender);
                },
                message = self.mailbox.recv() => match message {
                    Some(message) => self.handle_local(message, &mut sender).await,
                    None => break,
                },
                received = receiver.recv() => match received {
                    Ok((peer, bytes)) => self.handle_peer(peer, bytes, &mut sender).await,
                    Err(err) => {
                        debug!(?err, "dispersal receiver closed");
                        break;
                    }
                },
            }
            self.metrics.buffered_bytes.set(self.buffers.bytes() as i64);
            // Forget verifications consensus abandoned (their receivers are gone).
            self.verifying.retain(|_, waiters| {
                waiters.retain(|(_, r)| !r.is_closed());
                !waiters.is_empty()
            });
            let verifying = &self.verifying;
            self.asks.retain(|block, _| verifying.contains_key(block));
        }
    }

    pub(crate) fn index_of(&self, key: &P) -> Option<u16> {
        self.cfg
            .participants
            .iter()
            .position(|p| p == key)
            .map(|i| i as u16)
    }

    pub(crate) fn leader_of(&self, header: &Header) -> Option<u16> {
        self.cfg
            .participants
            .iter()
            .position(|p| p.encode().as_ref() == header.leader.as_slice())
            .map(|i| i as u16)
    }

    async fn handle_local(&mut self, message: Message, sender: &mut impl Sender<PublicKey = P>) {
        match message {
            Message::Disperse {
                header,
                shares,
                manifest,
                response,
            } => {
                self.disperse(header, shares, manifest, sender).await;
                let _ = response.send(());
            }
            Message::Verify { header, response } => {
                let block = header.hash();
                if header.table.is_empty() {
                    let _ = response.send(Verdict::Valid(Some(Arc::from(Vec::new()))));
                    return;
                }
                if self.stored(&block).await {
                    let _ = response.send(Verdict::Valid(None));
                    return;
                }
                self.verifying
                    .entry(block)
                    .or_default()
                    .push((header, response));
                self.try_verify(block, sender).await;
                if self.verifying.contains_key(&block) && !self.asks.contains_key(&block) {
                    let now = self.context.current();
                    self.asks.insert(block, Ask::new(now));
                }
            }
            Message::Retrieve { header, response } => {
                self.start_retrieval(header, response).await;
            }
            Message::Stored { block, response } => {
                let store = self
                    .store
                    .as_ref()
                    .expect("store present between operations");
                let share = store
                    .get(Identifier::Key(&key(&block)))
                    .await
                    .expect("share store read failed");
                let _ = response.send(share);
            }
        }
    }

    async fn stored(&self, block: &Hash) -> bool {
        let store = self
            .store
            .as_ref()
            .expect("store present between operations");
        store
            .has(Identifier::Key(&key(block)))
            .await
            .expect("share store read failed")
    }

    async fn put(&mut self, header: &Header, share: &Share) {
        let store = self.store.take().expect("store present between operations");
        let store = store
            .put_sync(header.view, key(&header.hash()), share)
            .await
            .expect("share store write failed");
        let size = commonware_codec::EncodeSize::encode_size(share) as u64;
        self.metrics.share_bytes_stored.inc_by(size);
        self.stats
            .share_bytes_stored
            .fetch_add(size, Ordering::Relaxed);
        self.stats.shares_stored.fetch_add(1, Ordering::Relaxed);
        self.store = Some(store);
        self.max_view = self.max_view.max(header.view);
        self.maybe_prune().await;
    }

    async fn maybe_prune(&mut self) {
        let Some(keep) = self.cfg.retention_views else {
            return;
        };
        let floor = self.max_view.saturating_sub(keep);
        if floor < self.pruned_below + section_views(self.cfg.retention_views) {
            return;
        }
        let store = self.store.take().expect("store present between operations");
        let store = store.prune(floor).await.expect("share store prune failed");
        self.store = Some(store);
        self.pruned_below = floor;
    }

    async fn disperse(
        &mut self,
        header: Header,
        shares: Vec<Share>,
        manifest: Vec<Hash>,
        sender: &mut impl Sender<PublicKey = P>,
    ) {
        if header.table.is_empty() {
            return;
        }
        let block = header.hash();
        let me = self.cfg.me as usize;
        assert_eq!(
            shares.len(),
            self.cfg.participants.len(),
            "one share per validator"
        );
        self.put(&header, &shares[me]).await;
        let encoded = commonware_codec::Encode::encode(&manifest);
        self.kept.keep(block, shares.clone(), manifest);
        for (i, mut share) in shares.into_iter().enumerate() {
            let index = i as u16;
            if i == me {
                if !self.cfg.faults.refuse_to_serve {
                    self.push(block, share, sender);
                }
                continue;
            }
            if self.cfg.faults.omit_shares_to.contains(&index) {
                continue;
            }
            if self.cfg.faults.corrupt_shares_to.contains(&index) {
                corrupt(&mut share);
            }
            let peer = self.cfg.participants[i].clone();
            let message = Wire::proposal_bytes(block, &share, &encoded);
            if sender.send(Recipients::One(peer), message, true).is_empty() {
                debug!(index, "share not sent (peer offline or rate-limited)");
            }
        }
    }

    fn push(&mut self, block: Hash, mut share: Share, sender: &mut impl Sender<PublicKey = P>) {
        if self.cfg.faults.corrupt_pushes {
            corrupt(&mut share);
        }
        let n = self.cfg.params.n;
        let pushers = (self.cfg.params.k - 1).saturating_add(self.cfg.push_spare);
        let targets: Vec<P> = self
            .cfg
            .push_to
            .iter()
            .filter(|p| {
                self.index_of(p)
                    .is_some_and(|target| designated(self.cfg.me, target, n, pushers))
            })
            .cloned()
            .collect();
        if targets.is_empty() {
            return;
        }
        let message = Wire::Share { block, share }.to_bytes();
        sender.send(Recipients::Some(targets), message, false);
    }

    async fn try_verify(&mut self, block: Hash, sender: &mut impl Sender<PublicKey = P>) {
        let Some(waiters) = self.verifying.get(&block) else {
            return;
        };
        let header = waiters[0].0.clone();
        let Some(leader) = self.leader_of(&header) else {
            warn!(%block, "proposal from a leader outside the validator set");
            self.answer_verify(&block, Verdict::Invalid);
            return;
        };
        let Some((share, manifest)) = self.buffers.take_candidate(&block, leader) else {
            return;
        };
        match verify_share(self.cfg.params, &header, self.cfg.me, &share) {
            Ok(()) => {
                self.put(&header, &share).await;
                self.metrics.shares_verified.inc();
                if !self.cfg.faults.refuse_to_serve {
                    self.push(block, share, sender);
                }
                self.answer_verify(&block, Verdict::Valid(Some(Arc::from(manifest))));
            }
            Err(err) => {
                self.metrics.shares_rejected.inc();
                warn!(%block, leader, %err, "leader sent an invalid share; not voting for it");
                self.answer_verify(&block, Verdict::Invalid);
            }
        }
    }

    fn answer_verify(&mut self, block: &Hash, verdict: Verdict) {
        self.asks.remove(block);
        for (_, response) in self.verifying.remove(block).unwrap_or_default() {
            let _ = response.send(verdict.clone());
        }
    }

    async fn handle_peer(
        &mut self,
        peer: P,
        bytes: commonware_runtime::IoBuf,
        sender: &mut impl Sender<PublicKey = P>,
    ) {
        let cfg = (self.cfg.params, self.cfg.limits);
        let size = bytes.len() as u64;
        let message = match Wire::decode_cfg(bytes, &cfg) {
            Ok(m) => m,
            Err(err) => {
                debug!(?err, "dropping malformed dispersal message");
                return;
            }
        };
        let Some(from) = self.index_of(&peer) else {
            return;
        };
        if self.cfg.faults.spam_shares > 0 {
            self.spam(sender);
        }
        if matches!(message, Wire::Share { .. } | Wire::Proposal { .. }) {
            self.stats
                .share_bytes_received
                .fetch_add(size, Ordering::Relaxed);
        }
        match message {
            Wire::Proposal {
                block,
                share,
                manifest,
            } if share.index == self.cfg.me => {
                if self.buffers.add_candidate(block, from, share, manifest) {
                    self.try_verify(block, sender).await;
                }
            }
            Wire::Proposal { share, .. } => {
                debug!(
                    from,
                    index = share.index,
                    "dropping a proposal share for another validator"
                );
            }
            Wire::Share { block, share } if share.index == from && from != self.cfg.me => {
                if self.buffers.add_pushed(block, share) {
                    self.try_retrieve(block);
                }
            }
            Wire::Share { share, .. } => {
                debug!(
                    from,
                    index = share.index,
                    "dropping a share pushed for another validator"
                );
            }
            Wire::Request { block } => {
                if self.cfg.faults.refuse_to_serve {
                    return;
                }
                let store = self
                    .store
                    .as_ref()
                    .expect("store present between operations");
                let share = store
                    .get(Identifier::Key(&key(&block)))
                    .await
                    .expect("share store read failed");
                let message = match share {
                    Some(share) => {
                        self.metrics.requests_served.inc();
                        Wire::Share { block, share }
                    }
                    None => {
                        self.metrics.requests_missing.inc();
                        Wire::Missing { block }
                    }
                };
                sender.send(Recipients::One(peer), message.to_bytes(), false);
            }
            Wire::Missing { block } => self.declined(from, block),
            Wire::RequestProposal { block } => self.answer_request(from, peer, block, sender),
        }
    }
}

impl<E, P> Actor<E, P>
where
    E: Spawner + Clock + Storage + Metrics,
    P: commonware_cryptography::PublicKey,
{
    /// Sends every other validator `spam_shares` empty proposal shares for blocks that do not
    /// exist (fault injection).
    fn spam(&mut self, sender: &mut impl Sender<PublicKey = P>) {
        for _ in 0..self.cfg.faults.spam_shares {
            self.spammed += 1;
            let mut block = [0xee; 32];
            block[..8].copy_from_slice(&self.spammed.to_le_bytes());
            for (index, peer) in self.cfg.participants.iter().enumerate() {
                if index == self.cfg.me as usize {
                    continue;
                }
                let message = Wire::Proposal {
                    block: Hash(block),
                    share: Share {
                        index: index as u16,
                        chunks: Vec::new(),
                    },
                    manifest: Vec::new(),
                };
                sender.send(Recipients::One(peer.clone()), message.to_bytes(), false);
            }
        }
    }
}

/// Flips one byte of the first non-empty chunk (fault injection).
fn corrupt(share: &mut Share) {
    if let Some(chunk) = share.chunks.iter_mut().find(|c| !c.data.is_empty()) {
        let mut data = chunk.data.to_vec();
        data[0] ^= 0xff;
        chunk.data = data.into();
    }
}
