//! Assembles one validator's consensus stack: dispersal (erasure-coded shares), buffered
//! broadcast (headers), marshal (ordering, storage, backfill), the application behind marshal's
//! `Inline` wrapper, the simplex engine, and the finalizer that reconstructs finalized blocks for
//! the node's sink.

use crate::{
    ChainBlock, Digest, PrivateKey, PublicKey, Scheme, Share, Sharing, Status,
    application::{Application, Progress, TxSource, genesis_block},
    finalizer::{FinalizedSink, Finalizer},
    verify::{certificate_of, finalization_of, signing_scheme},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    Reporters,
    marshal::{
        self, Identifier, Start,
        core::{Actor as Marshal, Mailbox as MarshalMailbox},
        resolver::p2p as marshal_resolver,
        standard::{Inline, Standard},
    },
    simplex::{
        self,
        config::{Floor, ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
    },
    types::{Epoch, FixedEpocher, Height, ViewDelta},
};
use commonware_cryptography::{
    Digested, Digestible, Signer, certificate::ConstantProvider, sha256::Sha256,
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::archive::immutable;
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, ordered::Set};
use cortado_coding::Params;
use cortado_dispersal::BlockSource;
use cortado_types::{ChainId, FinalityCertificate, Limits};
use rand_core::CryptoRng;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

const REPLAY_BUFFER: NonZeroUsize = NZUsize!(8 * 1024 * 1024);
const WRITE_BUFFER: NonZeroUsize = NZUsize!(1024 * 1024);
const PAGE_CACHE_PAGE_SIZE: std::num::NonZeroU16 = NZU16!(4_096);
const PAGE_CACHE_CAPACITY: NonZeroUsize = NZUsize!(4_096);
const PRUNABLE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4_096);
const IMMUTABLE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(262_144);
const FREEZER_TABLE_INITIAL_SIZE: u32 = 65_536;
const FREEZER_TABLE_RESIZE_FREQUENCY: u8 = 4;
const FREEZER_TABLE_RESIZE_CHUNK_SIZE: u32 = 1 << 16;
const FREEZER_VALUE_TARGET_SIZE: u64 = 1 << 30;
/// Finalized headers marshal asks peers for at once while catching up, per height of the
/// retrieval window. Each request is one small header; on a loaded machine a validator answers
/// it 0.1–0.4 s later whoever asks, so the headers in flight, not the peers, bound a catch-up
/// (measured: 32 in flight, ~100 headers/s on 10 loopback validators at 1 MB/s).
const REPAIRS_PER_RETRIEVAL: usize = 4;

/// How many missing finalized heights marshal requests at once for a retrieval window of
/// `window` blocks.
fn repair_window(window: NonZeroUsize) -> NonZeroUsize {
    window.saturating_mul(NonZeroUsize::new(REPAIRS_PER_RETRIEVAL).expect("non-zero"))
}

/// Default of [`Config::retrieval_window`].
pub const RETRIEVAL_WINDOW: NonZeroUsize = NZUsize!(32);
/// Shares pushed to each API node per block beyond the k - 1 it needs (see
/// `cortado_dispersal::Config::push_spare`).
const PUSH_SPARE: u16 = 1;
/// Shortest time an API node that has not answered yet has to send a whole block (block sync).
const SYNC_REQUEST_TIMEOUT_MIN: Duration = Duration::from_secs(1);
/// One epoch forever (validator-set changes come later).
const EPOCH_LENGTH: NonZeroU64 = NZU64!(u64::MAX);

/// Consensus timing. `certification > leader`, and `skip > certification, retry`.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// How long to wait for the leader's proposal before voting to skip the view.
    pub leader: Duration,
    /// How long to wait for a notarization before voting to skip the view.
    pub certification: Duration,
    /// How often to rebroadcast a nullify vote while stuck.
    pub retry: Duration,
    /// After how long an inactive leader may be skipped early.
    pub skip: Duration,
    /// How long to wait for a peer to answer a fetch.
    pub fetch: Duration,
    /// How far in the future a block timestamp may be before verification holds it.
    pub max_future: Duration,
    /// How long a leader with an empty mempool waits for a transaction before it proposes an
    /// empty block (it proposes as soon as one arrives). Bounds idle chain growth; must stay
    /// well below `leader`.
    pub empty_block_delay: Duration,
    /// A leader proposes no sooner than this after its parent block's timestamp (0: as soon as
    /// the parent is notarized). Bounds the block rate, and with it consensus work per second
    /// (signatures and certificates cost the same for an empty block as for a full one), at the
    /// price of up to this much added latency. Must stay well below `leader`.
    pub block_interval_min: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            leader: Duration::from_millis(1_000),
            certification: Duration::from_millis(2_000),
            retry: Duration::from_millis(5_000),
            skip: Duration::from_millis(10_000),
            fetch: Duration::from_millis(1_000),
            max_future: Duration::from_millis(500),
            empty_block_delay: Duration::from_millis(200),
            block_interval_min: Duration::ZERO,
        }
    }
}

impl Timeouts {
    /// Checks the orderings simplex requires; returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.leader.is_zero() {
            return Err("leader timeout must be > 0".into());
        }
        if self.certification <= self.leader {
            return Err("certification timeout must exceed leader timeout".into());
        }
        if self.skip <= self.certification || self.skip <= self.retry {
            return Err("skip timeout must exceed certification and retry timeouts".into());
        }
        if self.retry.is_zero() || self.fetch.is_zero() {
            return Err("retry and fetch timeouts must be > 0".into());
        }
        if self.empty_block_delay * 2 > self.leader {
            return Err("empty_block_delay must be at most half the leader timeout".into());
        }
        if self.block_interval_min * 2 > self.leader {
            return Err("block_interval_min must be at most half the leader timeout".into());
        }
        Ok(())
    }
}

/// Everything one validator's consensus stack needs.
pub struct Config<B, P, T, S> {
    /// The chain.
    pub chain_id: ChainId,
    /// Block limits (from genesis).
    pub limits: Limits,
    /// Genesis block timestamp (from genesis).
    pub genesis_timestamp_ms: u64,
    /// This validator's identity.
    pub signer: PrivateKey,
    /// All validators (the genesis set).
    pub participants: Set<PublicKey>,
    /// The group's public polynomial.
    pub sharing: Sharing,
    /// This validator's BLS share.
    pub share: Share,
    /// Blocks misbehaving peers.
    pub blocker: B,
    /// Supplies the peer set to broadcast and fetch from.
    pub provider: P,
    /// Prefix of every storage partition.
    pub partition_prefix: String,
    /// Capacity of the actors' mailboxes.
    pub mailbox_size: NonZeroUsize,
    /// Timing.
    pub timeouts: Timeouts,
    /// The mempool.
    pub source: T,
    /// Where finalized blocks go.
    pub sink: S,
    /// Peers that serve an API and want every share pushed (the API nodes).
    pub push_to: Vec<PublicKey>,
    /// Whether this node is an API node: it reconstructs every finalized block from shares
    /// for the sink. A validator that is not keeps only its own shares and hands the sink
    /// finalized headers.
    pub reconstruct: bool,
    /// Keep stored shares of this many recent views (None: keep all).
    pub share_retention_views: Option<u64>,
    /// Finalized heights fetched and reconstructed at once while catching up (marshal's
    /// unacknowledged dispatches, the finalizer's retrievals; marshal asks for
    /// `REPAIRS_PER_RETRIEVAL` times as many missing headers at once). Memory: up to this many
    /// blocks and their shares ([`RETRIEVAL_WINDOW`] by default), and the headers in flight.
    pub retrieval_window: NonZeroUsize,
    /// Start from this finalization instead of genesis (a node joining a long chain with an
    /// empty data directory): marshal fetches the block it names and delivers from there; no
    /// height below it is ever delivered. Ignored once the node has progress of its own. The
    /// caller verifies it against the group key first.
    pub checkpoint: Option<FinalityCertificate>,
    /// Deliberate misbehaviour (simulations only; default: none).
    pub faults: Faults,
}

/// Deliberate misbehaviour of a validator, for simulations of Byzantine behaviour.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Share-level faults (omit, corrupt, refuse to serve).
    pub dispersal: cortado_dispersal::Faults,
    /// As leader, commit to an invalid encoding of the first namespace.
    pub invalid_encoding: bool,
    /// As leader, date blocks this far ahead of the local clock.
    pub future_timestamp: Duration,
    /// As leader, name these transaction hashes in every manifest too, whether or not the
    /// block holds them (a leader lying about its block to keep them out of the next ones).
    pub false_manifest: Vec<cortado_types::Hash>,
}

/// The p2p channels the engine uses, each a (sender, receiver) pair.
pub struct Channels<S1, R1, S2, R2, S3, R3, S4, R4, S5, R5, S6, R6, S7, R7> {
    /// Simplex votes.
    pub votes: (S1, R1),
    /// Simplex certificates.
    pub certificates: (S2, R2),
    /// Simplex fetches of missing certificates.
    pub resolver: (S3, R3),
    /// Headers from proposers (buffered broadcast).
    pub blocks: (S4, R4),
    /// Marshal's backfill of finalized headers.
    pub backfill: (S5, R5),
    /// Erasure-coded shares (dispersal).
    pub shares: (S6, R6),
    /// Whole finalized blocks from API nodes (block sync, beyond the share retention).
    pub sync: (S7, R7),
}

/// A running validator's handles.
pub struct Engine {
    /// Live consensus status.
    pub status: Status,
    /// Reads of the finalized chain this validator stores.
    pub reader: Reader,
    /// This validator's dispersal actor (its stored shares).
    pub dispersal: cortado_dispersal::Mailbox,
    /// Task handles (consensus, marshal, broadcast, finalizer).
    pub handles: Vec<Handle<()>>,
}

impl Engine {
    /// Stops every task (as a crash would: nothing is flushed that was not already durable).
    pub fn abort(self) {
        for handle in self.handles {
            handle.abort();
        }
    }
}

/// Reads of the finalized headers and certificates marshal stores.
#[derive(Clone)]
pub struct Reader {
    marshal: MarshalMailbox<Scheme, Standard<ChainBlock>>,
}

impl Reader {
    /// The finalized header at `height`, if stored here.
    pub async fn header(&self, height: u64) -> Option<cortado_types::Header> {
        self.marshal
            .get_block(Identifier::Height(Height::new(height)))
            .await
            .map(|b| b.inner().header().clone())
    }

    /// The finalization certificate stored for `height` (none for a height finalized only
    /// through a descendant).
    pub async fn certificate(&self, height: u64) -> Option<FinalityCertificate> {
        self.marshal
            .get_finalization(Height::new(height))
            .await
            .map(|f| certificate_of(&f))
    }

    /// The highest finalized block this node has processed.
    pub async fn processed_height(&self) -> Option<u64> {
        self.marshal.get_processed().await.map(|p| p.height().get())
    }
}

/// Size of a mempool gossip batch (when one transaction is smaller).
pub const GOSSIP_BATCH_BYTES: usize = 2 << 20;

/// Largest p2p message the engine's and the mempool's channels must admit for `limits` and `n` validators.
pub fn max_message_size(limits: &Limits, n: u32) -> u32 {
    let headers = marshal::max_payload_size::<Standard<ChainBlock>, Scheme>(n, limits);
    let consensus = simplex::max_payload_size::<Scheme, Digest>(n);
    let params = Params::for_validators(n as usize);
    let shares = cortado_dispersal::message_bytes_max(params, limits);
    let sync = cortado_dispersal::sync_message_bytes_max(params, limits);
    // Mempool gossip: one largest transaction, or a 2 MiB batch.
    let gossip = (limits.tx_bytes_max + cortado_mempool::GOSSIP_OVERHEAD).max(GOSSIP_BATCH_BYTES);
    u32::try_from(headers.max(consensus).max(shares).max(sync).max(gossip) + 1024)
        .expect("message bound fits u32")
}

impl Engine {
    /// Builds and starts every actor.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    pub async fn start<E, B, P, T, S, S1, R1, S2, R2, S3, R3, S4, R4, S5, R5, S6, R6, S7, R7>(
        context: E,
        cfg: Config<B, P, T, S>,
        channels: Channels<S1, R1, S2, R2, S3, R3, S4, R4, S5, R5, S6, R6, S7, R7>,
    ) -> Self
    where
        E: Clock + CryptoRng + Spawner + Storage + Metrics,
        B: Blocker<PublicKey = PublicKey>,
        P: Provider<PublicKey = PublicKey>,
        T: TxSource,
        S: FinalizedSink + BlockSource,
        S1: Sender<PublicKey = PublicKey>,
        R1: Receiver<PublicKey = PublicKey>,
        S2: Sender<PublicKey = PublicKey>,
        R2: Receiver<PublicKey = PublicKey>,
        S3: Sender<PublicKey = PublicKey>,
        R3: Receiver<PublicKey = PublicKey>,
        S4: Sender<PublicKey = PublicKey>,
        R4: Receiver<PublicKey = PublicKey>,
        S5: Sender<PublicKey = PublicKey>,
        R5: Receiver<PublicKey = PublicKey>,
        S6: Sender<PublicKey = PublicKey>,
        R6: Receiver<PublicKey = PublicKey>,
        S7: Sender<PublicKey = PublicKey>,
        R7: Receiver<PublicKey = PublicKey>,
    {
        cfg.timeouts.check().expect("invalid consensus timeouts");
        let me = cfg.signer.public_key();
        let scheme = signing_scheme(
            cfg.chain_id,
            cfg.participants.clone(),
            cfg.sharing,
            cfg.share,
        )
        .expect("this validator's share must belong to the genesis set");
        let page_cache = CacheRef::new(PAGE_CACHE_PAGE_SIZE, PAGE_CACHE_CAPACITY);
        let prefix = cfg.partition_prefix.clone();
        let genesis = genesis_block(
            cfg.chain_id,
            cfg.participants.iter().next().expect("non-empty committee"),
            cfg.genesis_timestamp_ms,
        );
        let genesis_digest = genesis.digest();
        let params = Params::for_validators(cfg.participants.len());

        // Erasure-coded shares: leader → validator i, validators → API nodes.
        let participants: Vec<PublicKey> = cfg.participants.iter().cloned().collect();
        let me_index = participants
            .iter()
            .position(|p| *p == me)
            .expect("this validator is in the genesis set") as u16;
        let (dispersal, dispersal_mailbox) = cortado_dispersal::Actor::init(
            context.child("dispersal"),
            cortado_dispersal::Config {
                participants,
                me: me_index,
                params,
                limits: cfg.limits,
                push_to: cfg.push_to.clone(),
                push_spare: PUSH_SPARE,
                fetch_timeout: cfg.timeouts.fetch,
                buffered_bytes_max: 256 << 20,
                buffered_blocks_max: 256,
                mailbox_size: cfg.mailbox_size,
                partition: format!("{prefix}-shares"),
                retention_views: cfg.share_retention_views,
                faults: cfg.faults.dispersal.clone(),
            },
        )
        .await;
        let dispersal_handle = dispersal.start(channels.shares);

        // Whole blocks from API nodes, for heights no validator holds shares of any more.
        let (syncer, sync_mailbox) = cortado_dispersal::Syncer::new(
            context.child("block_sync"),
            cortado_dispersal::SyncConfig {
                participants: cfg.participants.iter().cloned().collect(),
                me: me_index,
                params,
                limits: cfg.limits,
                serve_from: cfg.push_to.clone(),
                request_timeout: cfg.timeouts.fetch.max(SYNC_REQUEST_TIMEOUT_MIN),
                mailbox_size: cfg.mailbox_size,
                corrupt_served_blocks: cfg.faults.dispersal.corrupt_served_blocks,
            },
            cfg.sink.clone(),
            &dispersal_mailbox,
        );
        let sync_handle = syncer.start(channels.sync);
        let dispersal_mailbox_handle = dispersal_mailbox.clone();

        // Full-block dissemination (replaced by erasure-coded shares later).
        let (broadcast, buffer) = buffered::Engine::new(
            context.child("broadcast"),
            buffered::Config {
                public_key: me.clone(),
                mailbox_size: cfg.mailbox_size,
                deque_size: 10,
                priority: false,
                codec_config: cfg.limits,
                peer_provider: cfg.provider.clone(),
                strategy: Sequential,
            },
        );
        let broadcast_handle = broadcast.start(channels.blocks);

        // Marshal: finalized blocks and certificates on disk, ordered delivery, backfill.
        let finalizations = immutable::Archive::init(
            context.child("finalizations_by_height"),
            archive_config(&prefix, "finalizations", &page_cache, ()),
        )
        .await
        .expect("failed to open the finalizations archive");
        let blocks = immutable::Archive::init(
            context.child("finalized_blocks"),
            archive_config(&prefix, "blocks", &page_cache, cfg.limits),
        )
        .await
        .expect("failed to open the finalized blocks archive");
        let (marshal, marshal_mailbox, _floor): (
            _,
            MarshalMailbox<Scheme, Standard<ChainBlock>>,
            _,
        ) = Marshal::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal::Config {
                provider: ConstantProvider::new(scheme.clone()),
                epocher: FixedEpocher::new(EPOCH_LENGTH),
                start: match cfg.checkpoint.as_ref().and_then(finalization_of) {
                    Some(floor) => Start::Floor(floor),
                    None => Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
                },
                partition_prefix: format!("{prefix}-marshal"),
                mailbox_size: cfg.mailbox_size,
                view_retention: ViewDelta::new(2_560),
                prunable_items_per_section: PRUNABLE_ITEMS_PER_SECTION,
                page_cache: page_cache.clone(),
                replay_buffer: REPLAY_BUFFER,
                key_write_buffer: WRITE_BUFFER,
                value_write_buffer: WRITE_BUFFER,
                block_codec_config: cfg.limits,
                max_repair: repair_window(cfg.retrieval_window),
                max_pending_acks: cfg.retrieval_window,
                strategy: Sequential,
            },
        )
        .await;

        let status = Status::default();
        let finalized_height = Arc::new(AtomicU64::new(0));
        let manifests = crate::manifests::Manifests::default();
        let (finalizer, finalized_reporter) = Finalizer::new(
            context.child("finalizer"),
            dispersal_mailbox.clone(),
            sync_mailbox,
            marshal_mailbox.clone(),
            cfg.sink,
            finalized_height.clone(),
            status.clone(),
            cfg.reconstruct,
            cfg.retrieval_window,
            cfg.source.clone(),
            manifests.clone(),
        );
        let finalizer_tip = finalizer.tip();
        let finalizer_handle = finalizer.start();

        let resolver = marshal_resolver::init(
            context.child("backfill"),
            marshal_resolver::Config {
                public_key: me.clone(),
                peer_provider: cfg.provider,
                blocker: cfg.blocker.clone(),
                mailbox_size: cfg.mailbox_size,
                fetch_timeout: NZDuration!(cfg.timeouts.fetch),
                fetch_retry_delay: Duration::from_millis(100),
                priority_requests: false,
                priority_responses: false,
            },
            channels.backfill,
        );
        let marshal_handle = marshal.start(finalized_reporter, buffer, resolver);

        let application = Application::new(
            cfg.chain_id,
            cfg.limits,
            params,
            cfg.source,
            dispersal_mailbox,
            cfg.timeouts.max_future,
            cfg.timeouts.empty_block_delay,
            cfg.timeouts.block_interval_min,
            &cfg.faults,
            Progress {
                processed: finalized_height,
                tip: finalizer_tip,
            },
            manifests,
        );
        let reader = Reader {
            marshal: marshal_mailbox.clone(),
        };
        // Inline: a validator votes only after its own share verified and is durable.
        let inline = Inline::new(
            context.child("inline"),
            application,
            marshal_mailbox,
            FixedEpocher::new(EPOCH_LENGTH),
        );
        let reporter = Reporters::from((inline.clone(), status.clone()));
        let consensus = simplex::Engine::new(
            context.child("consensus"),
            simplex::config::Config {
                scheme,
                elector: RoundRobin::<Sha256>::default(),
                blocker: cfg.blocker,
                automaton: inline.clone(),
                relay: inline,
                reporter,
                strategy: Sequential,
                partition: format!("{prefix}-consensus"),
                mailbox_size: cfg.mailbox_size,
                epoch: Epoch::zero(),
                floor: Floor::Genesis(genesis_digest),
                replay_buffer: REPLAY_BUFFER,
                write_buffer: WRITE_BUFFER,
                page_cache,
                leader_timeout: cfg.timeouts.leader,
                certification_timeout: cfg.timeouts.certification,
                timeout_retry: cfg.timeouts.retry,
                view_retention: ViewDelta::new(256),
                skip: SkipPolicy::Enabled {
                    timeout: cfg.timeouts.skip,
                    budget: SkipBudget::Participants,
                },
                fetch_timeout: NZDuration!(cfg.timeouts.fetch),
                fetch_retry_delay: Duration::from_millis(100),
                forward: ForwardPolicy::SilentLeader,
                track_historical_votes: false,
            },
        );
        let consensus_handle =
            consensus.start(channels.votes, channels.certificates, channels.resolver);

        Self {
            status,
            reader,
            dispersal: dispersal_mailbox_handle,
            handles: vec![
                consensus_handle,
                marshal_handle,
                broadcast_handle,
                finalizer_handle,
                dispersal_handle,
                sync_handle,
            ],
        }
    }
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: FREEZER_TABLE_INITIAL_SIZE,
        freezer_table_resize_frequency: FREEZER_TABLE_RESIZE_FREQUENCY,
        freezer_table_resize_chunk_size: FREEZER_TABLE_RESIZE_CHUNK_SIZE,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: FREEZER_VALUE_TARGET_SIZE,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: IMMUTABLE_ITEMS_PER_SECTION,
        freezer_key_write_buffer: WRITE_BUFFER,
        freezer_value_write_buffer: WRITE_BUFFER,
        ordinal_write_buffer: WRITE_BUFFER,
        replay_buffer: REPLAY_BUFFER,
        codec_config,
    }
}
