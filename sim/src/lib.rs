//! Deterministic multi-node Cortado scenarios on the simulated network, with fault schedules and invariant checks.
//!
//! A [`Cluster`] runs `n` full validators — the real `cortado-chain` engine (simplex, marshal,
//! header broadcast, erasure-coded dispersal, storage) and the real `cortado-mempool` (journal,
//! gossip) — on commonware's seeded deterministic runtime, connected by
//! `commonware_p2p::simulated` links whose latency, jitter and loss the scenario sets, and which
//! it can cut (partitions) and restore. Validators can be stopped and restarted on the same
//! simulated storage (crash and recover), and can be made Byzantine ([`cortado_chain::Faults`]).
//! Every validator is also an API node (it reconstructs every finalized block from shares)
//! unless a scenario clears [`Validator::api`]: such a validator keeps only its own shares and
//! records finalized headers. A validator can also run one of commonware's own Byzantine simplex
//! actors instead of its engine, or run as twins ([`Validator::behaviour`], [`byzantine`],
//! [`twins`]).
//!
//! Invariants checked by [`Cluster::assert_consistent`]: every validator's finalized chain is a
//! consistent copy of one chain (same hash at every height, contiguous parent links), and every
//! validator reconstructed identical block contents. [`Cluster::duplicates`] counts
//! transactions a later block repeated (scenarios without view changes or restarts expect none).
//! Liveness checks ([`Cluster::wait_for_height`]) count honest validators only.
//!
//! [`scenarios`] holds the scenarios the tests and the seed sweep (`--bin sweep`) share.

pub mod byzantine;
mod recorder;
pub mod scenarios;
pub mod twins;
pub mod wan;

pub use byzantine::Behaviour;
pub use recorder::Recorder;

use commonware_cryptography::Signer;
use commonware_p2p::{
    Receiver, Sender,
    simulated::{self, Link, Network, Oracle},
};
use commonware_runtime::{Clock, Handle, Quota, Spawner, Supervisor, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use cortado_chain::{
    Channels, Config, Engine, Faults, PublicKey, Timeouts,
    keys::{self, Committee},
};
use cortado_types::{ChainId, Hash, Limits, Transaction};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::{collections::BTreeMap, sync::Arc, time::Duration};

/// The chain id used by simulations.
pub const CHAIN_ID: ChainId = ChainId(0x51_4d);

/// Per-channel rate limit per peer in simulations: generous for the traffic (the network, not
/// the quota, is under test), small enough that the per-channel inbound mailboxes the simulated
/// network sizes from it (peers × burst) stay small.
const QUOTA: Quota = Quota::per_second(NZU32!(1_000));

/// The p2p channels of a validator, in the order [`Cluster`] passes them on: votes,
/// certificates, resolver, headers, backfill, shares, block sync (the engine's), gossip (the
/// mempool's).
pub const CHANNELS: [u64; 8] = [0, 1, 2, 3, 4, 5, 7, 6];

/// A registered simulated channel.
type SimChannel = (
    simulated::Sender<PublicKey, deterministic::Context>,
    simulated::Receiver<PublicKey>,
);

/// Registers every channel of [`CHANNELS`] for one validator.
async fn register(
    control: &simulated::Control<PublicKey, deterministic::Context>,
) -> [SimChannel; 8] {
    let mut channels = Vec::with_capacity(CHANNELS.len());
    for channel in CHANNELS {
        channels.push(control.register(channel, QUOTA).await.expect("register"));
    }
    let Ok(channels) = channels.try_into() else {
        unreachable!("one registration per channel of CHANNELS");
    };
    channels
}

/// A link with `ms` milliseconds of one-way latency, 1 ms jitter, no loss.
pub fn link(ms: u64) -> Link {
    Link {
        latency: Duration::from_millis(ms),
        jitter: Duration::from_millis(1),
        success_rate: commonware_utils::probability!(1.0),
    }
}

/// Transaction `i` of tick `tick` of [`Cluster::spawn_load`]: payload `tick || i`, namespace
/// `100 + (tick × per_tick + i) mod namespaces`.
pub fn load_tx(tick: u64, i: u64, per_tick: u64, namespaces: u64) -> Transaction {
    let mut payload = tick.to_be_bytes().to_vec();
    payload.extend_from_slice(&i.to_be_bytes());
    Transaction::new(100 + (tick * per_tick + i) % namespaces, payload)
}

/// The hashes of every transaction `spawn_load(ticks, per_tick, namespaces, _)` submits.
pub fn load_hashes(ticks: u64, per_tick: u64, namespaces: u64) -> std::collections::HashSet<Hash> {
    (0..ticks)
        .flat_map(|tick| (0..per_tick).map(move |i| load_tx(tick, i, per_tick, namespaces).hash()))
        .collect()
}

/// One running (or stopped) validator.
pub struct Validator {
    /// Its identity.
    pub public_key: PublicKey,
    /// What it has finalized (survives restarts, like the node's index).
    pub recorder: Recorder,
    /// How it misbehaves (from its next start).
    pub faults: Faults,
    /// Whether it is an API node (reconstructs every block; the default) or keeps only its own
    /// shares. Set before the validators start: every validator pushes its shares to the API
    /// nodes.
    pub api: bool,
    /// Honest, or which Byzantine actor it runs (from its next start; a Byzantine validator is
    /// never an API node and takes no submissions).
    pub behaviour: Behaviour,
    /// What the secondary engine of a twins validator finalized (empty otherwise).
    pub twin: Recorder,
    engine: Option<Engine>,
    mempool: Option<(cortado_mempool::Mailbox, Handle<()>)>,
    /// The tasks of a Byzantine validator (mock actor, or twin engines and their pools).
    byzantine: Vec<Handle<()>>,
    twin_engines: Vec<Engine>,
    restarts: u32,
}

impl Validator {
    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.engine.is_some() || !self.byzantine.is_empty()
    }

    /// Whether it runs the honest engine.
    pub fn is_honest(&self) -> bool {
        self.behaviour == Behaviour::Honest
    }

    /// The engine (if running).
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Its mempool (if running).
    pub fn mempool(&self) -> Option<&cortado_mempool::Mailbox> {
        self.mempool.as_ref().map(|(m, _)| m)
    }
}

/// State kept across a whole-cluster restart.
pub struct Shared {
    /// Each validator's recorder, in participant order.
    pub recorders: Vec<Recorder>,
}

/// `n` validators on a simulated network.
pub struct Cluster {
    context: deterministic::Context,
    oracle: Oracle<PublicKey, deterministic::Context>,
    committee: Committee,
    participants: Set<PublicKey>,
    /// The validators, in participant order.
    pub validators: Vec<Validator>,
    limits: Limits,
    timeouts: Timeouts,
    share_retention_views: Option<u64>,
}

/// Milliseconds since the Unix epoch on a runtime's clock.
fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Cluster {
    /// Deals keys (from the runtime's seed), starts the simulated network, links every pair
    /// with `link`, and starts all validators.
    pub async fn start(mut context: deterministic::Context, n: u32, link: Link) -> Self {
        let mut rng = StdRng::seed_from_u64(context.random());
        let mut cluster = Self::prepare(context, &mut rng, n, link, None).await;
        cluster.start_all().await;
        cluster
    }

    /// Like [`Self::start`] but validators are not started yet (set faults, then
    /// [`Self::start_all`]), keys come from `rng`, and recorders may come from a previous run
    /// (to restart a whole cluster on the same storage after an unclean shutdown).
    pub async fn prepare(
        context: deterministic::Context,
        rng: &mut StdRng,
        n: u32,
        link: Link,
        previous: Option<Shared>,
    ) -> Self {
        let committee = keys::deal(rng, n);
        let keys: Vec<PublicKey> = committee
            .validators
            .iter()
            .map(|v| v.identity.public_key())
            .collect();
        let participants = Set::try_from(keys.clone()).expect("distinct keys");
        let limits = Limits::default();
        let max_size = cortado_chain::max_message_size(&limits, n);
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size,
                max_peers_per_set: NZUsize!(n as usize),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            keys.clone(),
        )
        .await;
        network.start();
        let recorders: Vec<Recorder> = match previous {
            Some(Shared { recorders }) => recorders,
            None => (0..n).map(|_| Recorder::default()).collect(),
        };
        let validators = keys
            .iter()
            .zip(recorders)
            .map(|(k, recorder)| {
                let clock = context.child("clock");
                let recorder = recorder.with_clock(Arc::new(move || now_ms(&clock)));
                Validator {
                    public_key: k.clone(),
                    recorder,
                    faults: Faults::default(),
                    api: true,
                    behaviour: Behaviour::Honest,
                    twin: Recorder::default(),
                    engine: None,
                    mempool: None,
                    byzantine: Vec::new(),
                    twin_engines: Vec::new(),
                    restarts: 0,
                }
            })
            .collect();
        let mut cluster = Self {
            context,
            oracle,
            committee,
            participants,
            validators,
            limits,
            share_retention_views: None,
            timeouts: Timeouts {
                leader: Duration::from_millis(500),
                certification: Duration::from_millis(1_000),
                retry: Duration::from_millis(1_000),
                skip: Duration::from_millis(5_000),
                fetch: Duration::from_millis(500),
                max_future: Duration::from_millis(500),
                empty_block_delay: Duration::from_millis(100),
                block_interval_min: Duration::ZERO,
            },
        };
        cluster.set_links(|_, _| Some(link.clone())).await;
        cluster
    }

    /// Makes validator `i` (from its next start) behave as `behaviour`; a Byzantine validator is
    /// not an API node (set before the validators start).
    pub fn set_behaviour(&mut self, i: usize, behaviour: Behaviour) {
        let v = &mut self.validators[i];
        v.behaviour = behaviour;
        if behaviour != Behaviour::Honest {
            v.api = false;
        }
    }

    /// Validators (on their next start) keep their shares of this many recent views only.
    pub fn set_share_retention_views(&mut self, views: Option<u64>) {
        self.share_retention_views = views;
    }

    /// The consensus timing validators start with (their next start).
    pub fn timeouts_mut(&mut self) -> &mut Timeouts {
        &mut self.timeouts
    }

    /// Starts every validator not running.
    pub async fn start_all(&mut self) {
        for i in 0..self.validators.len() {
            if !self.validators[i].is_running() {
                self.start_validator(i).await;
            }
        }
    }

    /// The runtime context.
    pub fn context(&self) -> &deterministic::Context {
        &self.context
    }

    /// The group's public polynomial (what certificates verify against).
    pub fn sharing(&self) -> &cortado_chain::Sharing {
        &self.committee.sharing
    }

    /// Coding parameters of the cluster.
    pub fn params(&self) -> cortado_coding::Params {
        cortado_coding::Params::for_validators(self.validators.len())
    }

    /// What outlives the cluster's tasks: the recorders (without their clocks).
    pub fn shared(&self) -> Shared {
        Shared {
            recorders: self
                .validators
                .iter()
                .map(|v| v.recorder.detached())
                .collect(),
        }
    }

    /// Sets the link from `i` to `j` for every ordered pair (`None` cuts it).
    pub async fn set_links(&mut self, f: impl Fn(usize, usize) -> Option<Link>) {
        let keys: Vec<PublicKey> = self.participants.iter().cloned().collect();
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                if i == j {
                    continue;
                }
                let _ = self.oracle.remove_link(a.clone(), b.clone()).await;
                if let Some(l) = f(i, j) {
                    self.oracle
                        .add_link(a.clone(), b.clone(), l)
                        .await
                        .expect("link");
                }
            }
        }
    }

    /// Starts (or restarts, on the same storage) validator `i`, as its [`Validator::behaviour`]
    /// says.
    pub async fn start_validator(&mut self, i: usize) {
        assert!(
            !self.validators[i].is_running(),
            "validator {i} already running"
        );
        self.validators[i].restarts += 1;
        let control = self.oracle.control(self.validators[i].public_key.clone());
        let context = self
            .context
            .child("validator")
            .with_attribute("index", i)
            .with_attribute("run", self.validators[i].restarts);
        match self.validators[i].behaviour {
            Behaviour::Honest => {
                let channels = register(&control).await;
                let sink = self.validators[i].recorder.clone();
                let (engine, mempool, pool) = self
                    .start_node(
                        i,
                        context,
                        format!("validator-{i}"),
                        sink,
                        channels,
                        control,
                    )
                    .await;
                let v = &mut self.validators[i];
                v.engine = Some(engine);
                v.mempool = Some((mempool, pool));
            }
            Behaviour::Twins => self.start_twins(i, context, control).await,
            behaviour => {
                let scheme = cortado_chain::signing_scheme(
                    CHAIN_ID,
                    self.participants.clone(),
                    self.committee.sharing.clone(),
                    self.committee.validators[i].share.clone(),
                )
                .expect("a dealt share belongs to the committee");
                let votes = control.register(0, QUOTA).await.expect("register");
                let certificates = control.register(1, QUOTA).await.expect("register");
                let handle = byzantine::start_actor(
                    behaviour,
                    context.child("byzantine"),
                    scheme,
                    votes,
                    certificates,
                );
                self.validators[i].byzantine.push(handle);
            }
        }
    }

    /// Starts validator `i` as twins: two honest engines with its keys, on split channels.
    async fn start_twins(
        &mut self,
        i: usize,
        context: deterministic::Context,
        control: simulated::Control<PublicKey, deterministic::Context>,
    ) {
        let me = self.validators[i].public_key.clone();
        let others: Vec<PublicKey> = self
            .participants
            .iter()
            .filter(|k| **k != me)
            .cloned()
            .collect();
        let mut rng = StdRng::seed_from_u64(self.context.random());
        let halves = Arc::new(twins::Halves::sample(&mut rng, &others));
        let mut primary = Vec::new();
        let mut secondary = Vec::new();
        for pair in register(&control).await {
            let [p, s] = twins::split(&context, &halves, pair);
            primary.push(p);
            secondary.push(s);
        }
        let sinks = [
            self.validators[i].recorder.clone(),
            self.validators[i].twin.clone(),
        ];
        for (side, (channels, sink)) in [primary, secondary].into_iter().zip(sinks).enumerate() {
            let Ok(channels) = <[_; 8]>::try_from(channels) else {
                unreachable!("one split per channel of CHANNELS");
            };
            let (engine, _, pool) = self
                .start_node(
                    i,
                    context.child("twin").with_attribute("side", side),
                    format!("validator-{i}-twin-{side}"),
                    sink,
                    channels,
                    control.clone(),
                )
                .await;
            let v = &mut self.validators[i];
            v.twin_engines.push(engine);
            v.byzantine.push(pool);
        }
    }

    /// Starts a mempool and an engine for validator `i` on `channels` (in [`CHANNELS`]
    /// order), with storage under `prefix`, delivering to `sink`.
    async fn start_node<S, R>(
        &self,
        i: usize,
        context: deterministic::Context,
        prefix: String,
        sink: Recorder,
        channels: [(S, R); 8],
        control: simulated::Control<PublicKey, deterministic::Context>,
    ) -> (Engine, cortado_mempool::Mailbox, Handle<()>)
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let [
            votes,
            certificates,
            resolver,
            blocks,
            backfill,
            shares,
            sync,
            gossip,
        ] = channels;
        let channels = Channels {
            votes,
            certificates,
            resolver,
            blocks,
            backfill,
            shares,
            sync,
        };
        let push_to: Vec<PublicKey> = self
            .validators
            .iter()
            .filter(|v| v.api)
            .map(|v| v.public_key.clone())
            .collect();
        let max_message_size = cortado_chain::max_message_size(&self.limits, self.validators_len());
        let (pool, mempool) = cortado_mempool::Actor::init(
            context.child("mempool"),
            cortado_mempool::Config {
                journal_partition: format!("{prefix}-mempool"),
                tx_bytes_max: self.limits.tx_bytes_max,
                max_message_size: max_message_size as usize,
                gossip_batch_bytes_max: (self.limits.tx_bytes_max
                    + cortado_mempool::GOSSIP_OVERHEAD)
                    .max(cortado_chain::engine::GOSSIP_BATCH_BYTES),
                ..Default::default()
            },
        )
        .await;
        sink.set_mempool(mempool.clone());
        let v = &self.validators[i];
        let dealt = &self.committee.validators[i];
        let engine = Engine::start(
            context.child("chain"),
            Config {
                chain_id: CHAIN_ID,
                limits: self.limits,
                genesis_timestamp_ms: 0,
                signer: dealt.identity.clone(),
                participants: self.participants.clone(),
                sharing: self.committee.sharing.clone(),
                share: dealt.share.clone(),
                blocker: control,
                provider: self.oracle.manager(),
                partition_prefix: prefix,
                mailbox_size: NZUsize!(1024),
                timeouts: self.timeouts,
                source: mempool.clone(),
                sink,
                push_to,
                reconstruct: v.api,
                share_retention_views: self.share_retention_views,
                retrieval_window: cortado_chain::engine::RETRIEVAL_WINDOW,
                checkpoint: None,
                faults: v.faults.clone(),
            },
            channels,
        )
        .await;
        // Local transactions go to the next leaders, as on a real node.
        let schedule = cortado_chain::Schedule::new(&self.participants, engine.status.clone());
        let me = v.public_key.clone();
        let leaders: cortado_mempool::Leaders<PublicKey> =
            Arc::new(move |count| schedule.upcoming(&me, count));
        let pool_handle = pool.start(gossip, Some(leaders));
        (engine, mempool, pool_handle)
    }

    fn validators_len(&self) -> u32 {
        self.validators.len() as u32
    }

    /// Stops validator `i` abruptly (its tasks are aborted; only durable state survives).
    pub fn crash_validator(&mut self, i: usize) {
        let v = &mut self.validators[i];
        if let Some(engine) = v.engine.take() {
            engine.abort();
        }
        if let Some((_, handle)) = v.mempool.take() {
            handle.abort();
        }
        for engine in v.twin_engines.drain(..) {
            engine.abort();
        }
        for handle in v.byzantine.drain(..) {
            handle.abort();
        }
    }

    /// Runs until every running honest validator has finalized `height`, or `deadline` of simulated
    /// time passes. Returns whether the height was reached.
    pub async fn wait_for_height(&self, height: u64, deadline: Duration) -> bool {
        let start = self.context.current();
        loop {
            let done = self
                .validators
                .iter()
                .filter(|v| v.is_running() && v.is_honest())
                .all(|v| v.recorder.height() >= height);
            if done {
                return true;
            }
            let elapsed = self
                .context
                .current()
                .duration_since(start)
                .unwrap_or_default();
            if elapsed >= deadline {
                return false;
            }
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lowest finalized height among running honest validators.
    pub fn min_height(&self) -> u64 {
        self.validators
            .iter()
            .filter(|v| v.is_running() && v.is_honest())
            .map(|v| v.recorder.height())
            .min()
            .unwrap_or(0)
    }

    /// Highest finalized height among all validators.
    pub fn max_height(&self) -> u64 {
        self.validators
            .iter()
            .map(|v| v.recorder.height())
            .max()
            .unwrap_or(0)
    }

    /// Submits a transaction to validator `i`'s mempool (if running).
    pub async fn submit(&self, i: usize, tx: Transaction) -> bool {
        match self.validators[i].mempool() {
            Some(m) => m.submit(tx).await.is_ok(),
            None => false,
        }
    }

    /// Checks the safety invariants across validators and returns the agreed chain
    /// (height → block hash).
    pub fn assert_consistent(&self) -> BTreeMap<u64, Hash> {
        let mut agreed: BTreeMap<u64, Hash> = BTreeMap::new();
        let mut contents: BTreeMap<u64, Vec<Hash>> = BTreeMap::new();
        let recorders = self.validators.iter().flat_map(|v| [&v.recorder, &v.twin]);
        for recorder in recorders {
            recorder.assert_linked();
            for (h, hash) in recorder.chain() {
                if let Some(prev) = agreed.insert(h, hash) {
                    assert_eq!(
                        prev, hash,
                        "two different blocks finalized at height {h} (safety violation)"
                    );
                }
                // A validator that is not an API node recorded the header only.
                let Some(block) = recorder.block(h) else {
                    continue;
                };
                let txs: Vec<Hash> = block.transactions().map(|t| t.hash()).collect();
                if let Some(prev) = contents.insert(h, txs.clone()) {
                    assert_eq!(
                        prev, txs,
                        "validators reconstructed different contents at {h}"
                    );
                }
            }
        }
        agreed
    }

    /// Sum of the counter `name` over the validator with `index`, from the runtime's metrics.
    pub fn counter(&self, name: &str, index: usize) -> u64 {
        use commonware_runtime::Metrics as _;
        let label = format!("index=\"{index}\"");
        self.context
            .encode()
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains(name) && l.contains(&label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// Transactions finalized more than once (the most any validator saw).
    pub fn duplicates(&self) -> usize {
        self.validators
            .iter()
            .map(|v| v.recorder.duplicate_transactions())
            .max()
            .unwrap_or(0)
    }

    /// Spawns a task that submits `per_tick` transactions spread over `namespaces` namespaces
    /// every `interval`, `ticks` times, round-robin to the running API nodes (a validator that
    /// is not one takes no submissions). Payloads are unique: `tick || index`.
    pub fn spawn_load(&self, ticks: u64, per_tick: u64, namespaces: u64, interval: Duration) {
        let mempools: Vec<cortado_mempool::Mailbox> = self
            .validators
            .iter()
            .filter(|v| v.api)
            .filter_map(|v| v.mempool().cloned())
            .collect();
        self.context.child("load").spawn(move |context| async move {
            for tick in 0..ticks {
                for i in 0..per_tick {
                    let tx = load_tx(tick, i, per_tick, namespaces);
                    let target =
                        &mempools[((tick * per_tick + i) % mempools.len() as u64) as usize];
                    let _ = target.submit(tx).await;
                }
                context.sleep(interval).await;
            }
        });
    }
}
