//! Seeded scenarios shared by the tests (`sim/tests/`) and the seed sweep (`--bin sweep`): one
//! implementation, so what the sweep explores is what `cargo test` checks.
//!
//! A scenario runs one seed on a fresh deterministic runtime and returns a [`Summary`] or a
//! failure message; [`Scenario::run`] also turns a panic (a broken invariant in
//! [`Cluster::assert_consistent`] or a recorder, the runtime's simulated-time limit) into a
//! failure, so a sweep goes on to the next seed.
//!
//! # Byzantine scenarios (`<behaviour>-<n>`, n = 4, 7, 10)
//!
//! f = (n - 1) / 3 validators, chosen by the seed, run the commonware Byzantine actor
//! `behaviour` ([`crate::byzantine`], [`crate::twins`]) instead of the Cortado engine; the other
//! n - f run the full engine, every one an API node. Links are 30 ms ± 10 ms. A load of
//! [`LOAD_TICKS`] × [`LOAD_PER_TICK`] transactions goes to the honest validators. Asserted:
//!
//! 1. safety: no two blocks finalized at one height, at any honest validator or twin, and
//!    identical contents wherever reconstructed ([`Cluster::assert_consistent`]);
//! 2. availability: every honest validator reconstructed every block it finalized (no height
//!    delivered as a header only);
//! 3. inclusion: every submitted transaction is finalized at every honest validator, within
//!    [`INCLUSION_LIMIT`] of simulated time, and none twice;
//! 4. liveness: after that, the chain grows by [`TRAILING_BLOCKS`] more blocks within
//!    [`TRAILING_LIMIT`] (so finality does not stop once the load is in).
//!
//! # Fault scenarios
//!
//! - `lossy-view-changes`: 4 validators on lossy links (10 % loss), one cut off in turn, under
//!   load; one keeps only its shares. All transactions final, none twice.
//! - `false-manifest`: a leader names 20 victims in every manifest; they are still finalized.
//! - `share-flood`: a validator answers every dispersal message with 16 shares for blocks that
//!   do not exist; the others still verify (and vote for) the real blocks.
//!
//! No scenario reads the wall clock.

use crate::{Behaviour, Cluster, load_hashes};
use commonware_p2p::simulated::Link;
use commonware_runtime::{Clock, Runner, deterministic};
use commonware_utils::probability;
use cortado_types::{Hash, Transaction};
use rand::{SeedableRng, rngs::StdRng, seq::index::sample};
use std::{
    collections::HashSet,
    panic::AssertUnwindSafe,
    time::{Duration, SystemTime},
};

/// Load ticks of a Byzantine scenario (one every [`LOAD_INTERVAL`]).
pub const LOAD_TICKS: u64 = 40;
/// Transactions per load tick.
pub const LOAD_PER_TICK: u64 = 4;
/// Namespaces the load spreads over.
const LOAD_NAMESPACES: u64 = 3;
/// Interval between load ticks.
const LOAD_INTERVAL: Duration = Duration::from_millis(50);
/// Simulated time within which every submitted transaction must be final everywhere.
pub const INCLUSION_LIMIT: Duration = Duration::from_secs(120);
/// Blocks the chain must grow by after the load is final.
pub const TRAILING_BLOCKS: u64 = 10;
/// Simulated time within which those blocks must be final.
pub const TRAILING_LIMIT: Duration = Duration::from_secs(60);
/// The runtime stops (and the seed fails) after this much simulated time.
const RUNTIME_LIMIT: Duration = Duration::from_secs(900);

/// What one passing seed did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Lowest finalized height among honest validators at the end.
    pub height: u64,
    /// Transactions submitted (and found final everywhere).
    pub transactions: usize,
    /// Simulated time the run took.
    pub simulated: Duration,
    /// Lost shares leaders sent again on request (summed over validators).
    pub served: u64,
    /// Scenario-specific figures, for the sweep's verbose lines.
    pub detail: String,
}

impl Summary {
    /// The summary of a run that started at `start` and submitted `transactions`.
    fn of(cluster: &Cluster, start: SystemTime, transactions: usize, detail: String) -> Self {
        Self {
            height: cluster.min_height(),
            transactions,
            simulated: cluster
                .context()
                .current()
                .duration_since(start)
                .unwrap_or_default(),
            detail,
            ..Self::default()
        }
    }
}

/// A seed's result: its summary, or why it failed.
pub type Outcome = Result<Summary, String>;

/// What a scenario does.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Byzantine { behaviour: Behaviour, n: u32 },
    LossyViewChanges,
    FalseManifest,
    ShareFlood,
}

/// A named, seeded scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Its name on the sweep's command line.
    pub name: String,
    kind: Kind,
}

impl Scenario {
    /// Runs one seed; a panic inside is a failure too.
    pub fn run(&self, seed: u64) -> Outcome {
        let kind = self.kind;
        match std::panic::catch_unwind(AssertUnwindSafe(move || match kind {
            Kind::Byzantine { behaviour, n } => byzantine(seed, n, behaviour),
            Kind::LossyViewChanges => lossy_view_changes(seed),
            Kind::FalseManifest => false_manifest(seed),
            Kind::ShareFlood => share_flood(seed),
        })) {
            Ok(outcome) => outcome,
            Err(panic) => Err(panic_message(panic.as_ref())),
        }
    }
}

/// The text of a panic payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic with a non-text payload".into());
    format!("panicked: {text}")
}

/// Every scenario, Byzantine ones first.
pub fn all() -> Vec<Scenario> {
    let mut all = Vec::new();
    for behaviour in Behaviour::BYZANTINE {
        for n in [4, 7, 10] {
            all.push(Scenario {
                name: format!("{}-{n}", behaviour.name()),
                kind: Kind::Byzantine { behaviour, n },
            });
        }
    }
    for (name, kind) in [
        ("lossy-view-changes", Kind::LossyViewChanges),
        ("false-manifest", Kind::FalseManifest),
        ("share-flood", Kind::ShareFlood),
    ] {
        all.push(Scenario {
            name: name.into(),
            kind,
        });
    }
    all
}

/// The scenario called `name`.
pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

fn config(seed: u64) -> deterministic::Config {
    deterministic::Config::default()
        .with_seed(seed)
        .with_timeout(Some(RUNTIME_LIMIT))
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// 30 ms ± 10 ms, no loss.
fn jittery() -> Link {
    Link {
        latency: Duration::from_millis(30),
        jitter: Duration::from_millis(10),
        success_rate: probability!(1.0),
    }
}

/// 20 ms ± 15 ms, losing one message in ten: shares, votes and gossip go missing, views time
/// out and leaders change while blocks wait for finality.
fn lossy() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(15),
        success_rate: probability!(0.9),
    }
}

/// Waits (bounded) until every hash of `expected` is finalized at every running honest API
/// node.
pub async fn wait_all_final(
    cluster: &Cluster,
    expected: &HashSet<Hash>,
    limit: Duration,
) -> Result<(), String> {
    let start = cluster.context().current();
    loop {
        let missing = cluster
            .validators
            .iter()
            .filter(|v| v.is_running() && v.is_honest() && v.api)
            .map(|v| {
                let got: HashSet<Hash> = v.recorder.transactions().into_iter().collect();
                expected.difference(&got).count()
            })
            .max()
            .unwrap_or(0);
        if missing == 0 {
            return Ok(());
        }
        let waited = cluster
            .context()
            .current()
            .duration_since(start)
            .unwrap_or_default();
        ensure(waited < limit, || {
            format!("{missing} transactions not finalized after {waited:?}")
        })?;
        cluster.context().sleep(Duration::from_millis(100)).await;
    }
}

/// Every honest API node holds the whole block at every height it finalized.
fn check_reconstructed(cluster: &Cluster) -> Result<(), String> {
    for (i, v) in cluster.validators.iter().enumerate() {
        if !(v.is_honest() && v.api) {
            continue;
        }
        let headers = v.recorder.header_heights();
        ensure(headers.is_empty(), || {
            format!("validator {i} has heights {headers:?} as headers only")
        })?;
        if let Some(h) = (1..=v.recorder.height()).find(|h| v.recorder.block(*h).is_none()) {
            return Err(format!("validator {i} did not reconstruct block {h}"));
        }
    }
    Ok(())
}

/// f of `n` validators run `behaviour`; see the module docs for what is asserted.
fn byzantine(seed: u64, n: u32, behaviour: Behaviour) -> Outcome {
    deterministic::Runner::new(config(seed)).start(|context| async move {
        let start = context.current();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cluster = Cluster::prepare(context, &mut rng, n, jittery(), None).await;
        let f = ((n - 1) / 3) as usize;
        let mut faulty: Vec<usize> = sample(&mut rng, n as usize, f).into_vec();
        faulty.sort();
        for &i in &faulty {
            cluster.set_behaviour(i, behaviour);
        }
        cluster.start_all().await;
        cluster.spawn_load(LOAD_TICKS, LOAD_PER_TICK, LOAD_NAMESPACES, LOAD_INTERVAL);
        let expected = load_hashes(LOAD_TICKS, LOAD_PER_TICK, LOAD_NAMESPACES);
        wait_all_final(&cluster, &expected, INCLUSION_LIMIT)
            .await
            .map_err(|e| format!("Byzantine {faulty:?}: {e}"))?;
        let target = cluster.min_height() + TRAILING_BLOCKS;
        let reached = cluster.wait_for_height(target, TRAILING_LIMIT).await;
        ensure(reached, || {
            format!(
                "Byzantine {faulty:?}: finality stopped at {} (target {target})",
                cluster.min_height()
            )
        })?;
        cluster.assert_consistent();
        check_reconstructed(&cluster)?;
        let duplicates = cluster.duplicates();
        ensure(duplicates == 0, || {
            format!("Byzantine {faulty:?}: {duplicates} transactions finalized twice")
        })?;
        let twin_height = faulty
            .iter()
            .map(|&i| cluster.validators[i].twin.height())
            .max()
            .unwrap_or(0);
        Ok(Summary::of(
            &cluster,
            start,
            expected.len(),
            format!("byzantine {faulty:?}, twin height {twin_height}"),
        ))
    })
}

/// Lossy links, a validator cut off in turn for a second every two seconds, and load: many
/// views change while their blocks wait for finality. No transaction is finalized twice. The
/// summary's detail counts the lost shares leaders sent again on request.
fn lossy_view_changes(seed: u64) -> Outcome {
    deterministic::Runner::new(config(seed)).start(|context| async move {
        let start = context.current();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, lossy(), None).await;
        // Validator 3 keeps only its own shares: its pool learns what was finalized from the
        // blocks' manifests.
        cluster.validators[3].api = false;
        cluster.start_all().await;
        let (ticks, per_tick, namespaces) = (200, 6, 5);
        cluster.spawn_load(ticks, per_tick, namespaces, Duration::from_millis(25));
        for round in 0..8usize {
            let cut = round % 4;
            cluster
                .set_links(|i, j| (i != cut && j != cut).then(lossy))
                .await;
            cluster.context().sleep(Duration::from_secs(1)).await;
            cluster.set_links(|_, _| Some(lossy())).await;
            cluster.context().sleep(Duration::from_secs(1)).await;
        }
        let expected = load_hashes(ticks, per_tick, namespaces);
        wait_all_final(&cluster, &expected, Duration::from_secs(300)).await?;
        cluster.assert_consistent();
        let duplicates = cluster.duplicates();
        if duplicates > 0 {
            let details: Vec<String> = cluster.validators[0]
                .recorder
                .duplicate_details()
                .into_iter()
                .map(|(hash, at)| {
                    let at: Vec<_> = at.iter().map(|(h, l, v)| (*h, l[0], *v)).collect();
                    format!("{hash}: (height, leader byte, view) {at:?}")
                })
                .collect();
            return Err(format!(
                "an honest leader proposed {duplicates} transactions twice: {}",
                details.join("; ")
            ));
        }
        let served: u64 = (0..4)
            .map(|i| cluster.counter("dispersal_proposal_requests_served", i))
            .sum();
        Ok(Summary {
            served,
            ..Summary::of(&cluster, start, expected.len(), format!("served {served}"))
        })
    })
}

/// Validator 0 is the only API node (it owns every submission); 1 and 2 keep only their
/// shares; 3 names 20 victims in every manifest, whether its block holds them or not. The
/// victims are still finalized, once.
fn false_manifest(seed: u64) -> Outcome {
    deterministic::Runner::new(config(seed)).start(|context| async move {
        let start = context.current();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, crate::link(30), None).await;
        let victims: Vec<Transaction> = (0..20u8)
            .map(|i| Transaction::new(7, vec![0xaa, i]))
            .collect();
        for v in &mut cluster.validators[1..] {
            v.api = false;
        }
        cluster.validators[3].faults.false_manifest = victims.iter().map(|t| t.hash()).collect();
        cluster.start_all().await;
        // Background load, so the liar's blocks carry shares (and its manifests).
        cluster.spawn_load(100, 4, 3, Duration::from_millis(50));
        cluster.context().sleep(Duration::from_secs(1)).await;
        for victim in &victims {
            ensure(cluster.submit(0, victim.clone()).await, || {
                "validator 0 refused a victim".into()
            })?;
        }
        let mut expected: HashSet<Hash> = victims.iter().map(|t| t.hash()).collect();
        expected.extend(load_hashes(100, 4, 3));
        wait_all_final(&cluster, &expected, Duration::from_secs(120)).await?;
        cluster.assert_consistent();
        let duplicates = cluster.duplicates();
        ensure(duplicates == 0, || {
            format!("{duplicates} transactions finalized twice")
        })?;
        Ok(Summary::of(&cluster, start, expected.len(), String::new()))
    })
}

/// Validator 3 answers every dispersal message with 16 empty shares for blocks that do not
/// exist, to every other validator. Every honest validator still verifies (and so votes for)
/// the shares of the blocks others led.
fn share_flood(seed: u64) -> Outcome {
    deterministic::Runner::new(config(seed)).start(|context| async move {
        let start = context.current();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, crate::link(30), None).await;
        cluster.validators[3].faults.dispersal.spam_shares = 16;
        cluster.start_all().await;
        let (ticks, per_tick, namespaces) = (120, 4, 4);
        cluster.spawn_load(ticks, per_tick, namespaces, Duration::from_millis(50));
        let expected = load_hashes(ticks, per_tick, namespaces);
        wait_all_final(&cluster, &expected, Duration::from_secs(120)).await?;
        cluster.assert_consistent();
        // At least the non-empty blocks of the two other honest validators were verified.
        let r = &cluster.validators[0].recorder;
        let non_empty = r
            .chain()
            .keys()
            .filter(|h| r.block(**h).is_some_and(|b| !b.header().table.is_empty()))
            .count() as u64;
        ensure(non_empty > 20, || format!("{non_empty} non-empty blocks"))?;
        for i in 0..3 {
            let verified = cluster.counter("dispersal_shares_verified", i);
            ensure(2 * verified >= non_empty, || {
                format!("validator {i} verified {verified} shares of {non_empty} non-empty blocks")
            })?;
        }
        Ok(Summary::of(
            &cluster,
            start,
            expected.len(),
            format!("{non_empty} non-empty blocks"),
        ))
    })
}
