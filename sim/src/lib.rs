//! Deterministic multi-node Cortado scenarios on the simulated network, with fault schedules and invariant checks.
//!
//! A [`Cluster`] runs `n` full validators (the real `cortado-chain` engine: simplex, marshal,
//! buffered broadcast, storage) on commonware's seeded deterministic runtime, connected by
//! `commonware_p2p::simulated` links whose latency, jitter and loss the scenario sets, and which it
//! can cut (partitions) and restore. Validators can be stopped and restarted on the same
//! simulated storage (crash and recover).
//!
//! Invariants checked by [`Cluster::assert_consistent`]: every validator's finalized chain is a
//! prefix-consistent copy of one chain (same hash at every height, contiguous parent links) and
//! each transaction appears at most once.

mod pool;
mod recorder;

pub use pool::Pool;
pub use recorder::Recorder;

use commonware_cryptography::Signer;
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Quota, Spawner, Supervisor, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use cortado_chain::{
    Channels, Config, Engine, PublicKey, Timeouts,
    keys::{self, Committee},
};
use cortado_types::{ChainId, Hash, Limits, Transaction};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::{collections::BTreeMap, sync::Arc, time::Duration};

/// The chain id used by simulations.
pub const CHAIN_ID: ChainId = ChainId(0x51_4d);

/// Per-channel rate limit in simulations (generous: the network, not the quota, is under test).
const QUOTA: Quota = Quota::per_second(NZU32!(100_000));

/// A link with `ms` milliseconds of one-way latency, 1 ms jitter, no loss.
pub fn link(ms: u64) -> Link {
    Link {
        latency: Duration::from_millis(ms),
        jitter: Duration::from_millis(1),
        success_rate: commonware_utils::probability!(1.0),
    }
}

/// One running (or stopped) validator.
pub struct Validator {
    /// Its identity.
    pub public_key: PublicKey,
    /// What it has finalized (survives restarts, like the node's index).
    pub recorder: Recorder,
    engine: Option<Engine>,
    restarts: u32,
}

impl Validator {
    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.engine.is_some()
    }

    /// The engine (if running).
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }
}

/// State kept across a whole-cluster restart.
pub struct Shared {
    /// The transaction pool.
    pub pool: Pool,
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
    /// The shared transaction pool (perfect gossip).
    pub pool: Pool,
    limits: Limits,
    timeouts: Timeouts,
}

impl Cluster {
    /// Deals keys (from the runtime's seed), starts the simulated network, links every pair
    /// with `link`, and starts all validators.
    pub async fn start(mut context: deterministic::Context, n: u32, link: Link) -> Self {
        let mut rng = StdRng::seed_from_u64(context.random());
        Self::start_with(context, &mut rng, n, link, None).await
    }

    /// Like [`Self::start`] but with keys from `rng`, and the recorders and pool of a previous
    /// run (to restart a whole cluster on the same storage after an unclean shutdown).
    pub async fn start_with(
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
        let clock = || -> recorder::ClockFn {
            let clock = context.child("clock");
            Arc::new(move || {
                clock
                    .current()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0)
            })
        };
        let (pool, recorders): (Pool, Vec<Recorder>) = match previous {
            Some(Shared { pool, recorders }) => (
                pool,
                recorders.iter().map(|r| r.with_clock(clock())).collect(),
            ),
            None => {
                let pool = Pool::default();
                let recorders = (0..n)
                    .map(|_| Recorder::with_pool(pool.clone(), clock()))
                    .collect();
                (pool, recorders)
            }
        };
        let validators = keys
            .iter()
            .zip(recorders)
            .map(|(k, recorder)| Validator {
                public_key: k.clone(),
                recorder,
                engine: None,
                restarts: 0,
            })
            .collect();
        let mut cluster = Self {
            context,
            oracle,
            committee,
            participants,
            validators,
            pool,
            limits,
            timeouts: Timeouts {
                leader: Duration::from_millis(500),
                certification: Duration::from_millis(1_000),
                retry: Duration::from_millis(1_000),
                skip: Duration::from_millis(5_000),
                fetch: Duration::from_millis(500),
                max_future: Duration::from_millis(500),
                empty_block_delay: Duration::from_millis(100),
            },
        };
        cluster.set_links(|_, _| Some(link.clone())).await;
        for i in 0..n as usize {
            cluster.start_validator(i).await;
        }
        cluster
    }

    /// The runtime context.
    pub fn context(&self) -> &deterministic::Context {
        &self.context
    }

    /// The group's public polynomial (what certificates verify against).
    pub fn sharing(&self) -> &cortado_chain::Sharing {
        &self.committee.sharing
    }

    /// What outlives the cluster's tasks: recorders and the pool.
    pub fn shared(&self) -> Shared {
        Shared {
            pool: self.pool.clone(),
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

    /// Starts (or restarts, on the same storage) validator `i`.
    pub async fn start_validator(&mut self, i: usize) {
        assert!(
            self.validators[i].engine.is_none(),
            "validator {i} already running"
        );
        let v = &mut self.validators[i];
        v.restarts += 1;
        let dealt = &self.committee.validators[i];
        let control = self.oracle.control(v.public_key.clone());
        let register = async |channel| control.register(channel, QUOTA).await.expect("register");
        let channels = Channels {
            votes: register(0).await,
            certificates: register(1).await,
            resolver: register(2).await,
            blocks: register(3).await,
            backfill: register(4).await,
        };
        let context = self
            .context
            .child("validator")
            .with_attribute("index", i)
            .with_attribute("run", v.restarts);
        let engine = Engine::start(
            context,
            Config {
                chain_id: CHAIN_ID,
                limits: self.limits,
                genesis_timestamp_ms: 0,
                signer: dealt.identity.clone(),
                participants: self.participants.clone(),
                sharing: self.committee.sharing.clone(),
                share: dealt.share.clone(),
                blocker: control.clone(),
                provider: self.oracle.manager(),
                partition_prefix: format!("validator-{i}"),
                mailbox_size: NZUsize!(1024),
                timeouts: self.timeouts,
                source: self.pool.clone(),
                sink: v.recorder.clone(),
            },
            channels,
        )
        .await;
        v.engine = Some(engine);
    }

    /// Stops validator `i` abruptly (its tasks are aborted; only durable state survives).
    pub fn crash_validator(&mut self, i: usize) {
        if let Some(engine) = self.validators[i].engine.take() {
            engine.abort();
        }
    }

    /// Runs until every running validator has finalized `height`, or `deadline` of simulated
    /// time passes. Returns whether the height was reached.
    pub async fn wait_for_height(&self, height: u64, deadline: Duration) -> bool {
        let start = self.context.current();
        loop {
            let done = self
                .validators
                .iter()
                .filter(|v| v.is_running())
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

    /// Lowest finalized height among running validators.
    pub fn min_height(&self) -> u64 {
        self.validators
            .iter()
            .filter(|v| v.is_running())
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

    /// Submits transactions to the shared pool.
    pub fn submit(&self, txs: impl IntoIterator<Item = Transaction>) {
        self.pool.push(txs);
    }

    /// Checks the safety invariants across validators and returns the agreed chain
    /// (height → block hash) up to the lowest common height.
    pub fn assert_consistent(&self) -> BTreeMap<u64, Hash> {
        let mut agreed: BTreeMap<u64, Hash> = BTreeMap::new();
        for v in &self.validators {
            let chain = v.recorder.chain();
            v.recorder.assert_linked();
            for (h, hash) in chain {
                if let Some(prev) = agreed.insert(h, hash) {
                    assert_eq!(
                        prev, hash,
                        "two different blocks finalized at height {h} (safety violation)"
                    );
                }
            }
        }
        for v in &self.validators {
            v.recorder.assert_no_duplicate_transactions();
        }
        agreed
    }

    /// Spawns a task that submits `per_tick` transactions spread over `namespaces` namespaces
    /// every `interval`, `ticks` times. Payloads are unique: `tick || index`.
    pub fn spawn_load(&self, ticks: u64, per_tick: u64, namespaces: u64, interval: Duration) {
        let pool = self.pool.clone();
        self.context.child("load").spawn(move |context| async move {
            for tick in 0..ticks {
                let txs = (0..per_tick).map(|i| {
                    let mut payload = tick.to_be_bytes().to_vec();
                    payload.extend_from_slice(&i.to_be_bytes());
                    Transaction::new(100 + (tick * per_tick + i) % namespaces, payload)
                });
                pool.push(txs);
                context.sleep(interval).await;
            }
        });
    }
}
