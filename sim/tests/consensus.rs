//! Consensus scenarios on the deterministic runtime: liveness, agreement, determinism, faults,
//! crash and recovery. Every scenario takes a seed; none reads the wall clock.

use commonware_runtime::{Clock, Runner, deterministic};
use cortado_sim::{Cluster, link};
use cortado_types::Hash;
use rand::{SeedableRng, rngs::StdRng};
use std::time::Duration;

fn config(seed: u64) -> deterministic::Config {
    deterministic::Config::default()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(900)))
}

/// Runs `n` validators with 50 ms links and a steady load until all finalize `blocks`;
/// returns the first `blocks` block hashes and the runtime's auditor state.
fn finalize_blocks(n: u32, seed: u64, blocks: u64) -> (Vec<Hash>, String) {
    deterministic::Runner::new(config(seed)).start(|context| async move {
        let cluster = Cluster::start(context, n, link(50)).await;
        cluster.spawn_load(400, 5, 5, Duration::from_millis(40));
        assert!(
            cluster
                .wait_for_height(blocks, Duration::from_secs(120))
                .await,
            "did not finalize {blocks} blocks"
        );
        let chain = cluster.assert_consistent();
        let txs = cluster.validators[0].recorder.transactions().len();
        assert!(txs > 0, "no transactions were finalized");
        assert_eq!(
            cluster.duplicates(),
            0,
            "a steady network repeats no transaction"
        );
        let hashes = chain.values().take(blocks as usize + 1).copied().collect();
        (hashes, cluster.context().auditor().state())
    })
}

#[test]
fn four_validators_finalize_50_blocks() {
    let (chain, _) = finalize_blocks(4, 1, 50);
    assert_eq!(chain.len(), 51);
}

#[test]
fn seven_validators_finalize_50_blocks() {
    let (chain, _) = finalize_blocks(7, 2, 50);
    assert_eq!(chain.len(), 51);
}

#[test]
fn same_seed_same_chain() {
    let a = finalize_blocks(4, 3, 20);
    let b = finalize_blocks(4, 3, 20);
    assert_eq!(a.0, b.0, "same seed produced different chains");
    assert_eq!(a.1, b.1, "same seed produced different executions");
    let c = finalize_blocks(4, 4, 20);
    assert_ne!(
        a.0, c.0,
        "different seeds should give different keys and chains"
    );
}

#[test]
fn leaders_pace_blocks_by_block_interval_min() {
    deterministic::Runner::new(config(6)).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(6);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, link(20), None).await;
        // Links of 20 ms: unpaced, a block every ~60 ms; paced, no faster than one per 250 ms.
        cluster.timeouts_mut().block_interval_min = Duration::from_millis(250);
        cluster.start_all().await;
        cluster.spawn_load(200, 4, 2, Duration::from_millis(20));
        assert!(cluster.wait_for_height(20, Duration::from_secs(60)).await);
        cluster.assert_consistent();
        let r = &cluster.validators[0].recorder;
        let stamps: Vec<u64> = (1..=20)
            .map(|h| r.block(h).expect("recorded").header().timestamp_ms)
            .collect();
        for pair in stamps.windows(2) {
            assert!(
                pair[1] - pair[0] >= 250,
                "blocks {} ms apart: {stamps:?}",
                pair[1] - pair[0]
            );
        }
        // Transactions still flow: the paced blocks carry the load.
        let txs: usize = (1..=20).map(|h| r.block(h).unwrap().tx_count()).sum();
        assert!(txs > 20, "only {txs} transactions in 20 paced blocks");
    });
}

#[test]
fn one_validator_offline_the_rest_finalize() {
    deterministic::Runner::new(config(5)).start(|context| async move {
        let mut cluster = Cluster::start(context, 4, link(50)).await;
        cluster.crash_validator(3);
        cluster.spawn_load(300, 3, 3, Duration::from_millis(50));
        assert!(
            cluster.wait_for_height(30, Duration::from_secs(120)).await,
            "three of four validators must keep finalizing"
        );
        cluster.assert_consistent();
    });
}

#[test]
fn partition_without_quorum_halts_then_recovers() {
    deterministic::Runner::new(config(6)).start(|context| async move {
        let mut cluster = Cluster::start(context, 4, link(50)).await;
        cluster.spawn_load(1_000, 2, 2, Duration::from_millis(50));
        assert!(cluster.wait_for_height(10, Duration::from_secs(60)).await);

        // Split 2 | 2: neither side has the 3 votes a quorum needs.
        cluster
            .set_links(|i, j| ((i < 2) == (j < 2)).then(|| link(50)))
            .await;
        // Let messages already in flight land, then nothing more may finalize.
        cluster.context().sleep(Duration::from_secs(2)).await;
        let halted_at = cluster.max_height();
        cluster.context().sleep(Duration::from_secs(20)).await;
        assert_eq!(
            cluster.max_height(),
            halted_at,
            "a partition without quorum finalized a block"
        );

        // Heal: the network recovers and goes on.
        cluster.set_links(|_, _| Some(link(50))).await;
        assert!(
            cluster
                .wait_for_height(halted_at + 20, Duration::from_secs(120))
                .await,
            "network did not recover after the partition healed"
        );
        cluster.assert_consistent();
    });
}

#[test]
fn crashed_validator_restarts_with_its_blocks_and_catches_up() {
    deterministic::Runner::new(config(7)).start(|context| async move {
        let mut cluster = Cluster::start(context, 4, link(50)).await;
        cluster.spawn_load(1_000, 3, 3, Duration::from_millis(50));
        assert!(cluster.wait_for_height(15, Duration::from_secs(60)).await);

        cluster.crash_validator(1);
        let before = cluster.validators[1].recorder.chain();
        let crashed_at = cluster.validators[1].recorder.height();
        assert!(
            cluster
                .wait_for_height(crashed_at + 25, Duration::from_secs(120))
                .await
        );

        cluster.start_validator(1).await;
        // Everything it had finalized is still in its own storage.
        let reader = cluster.validators[1].engine().unwrap().reader.clone();
        for (height, hash) in before.iter().filter(|(h, _)| **h > 0) {
            let header = reader
                .header(*height)
                .await
                .expect("finalized block lost in crash");
            assert_eq!(header.hash(), *hash);
        }
        // And it catches up with the others (backfill from peers).
        let target = cluster.max_height() + 5;
        assert!(
            cluster
                .wait_for_height(target, Duration::from_secs(120))
                .await,
            "restarted validator did not catch up"
        );
        cluster.assert_consistent();
    });
}

#[test]
fn whole_cluster_unclean_shutdown_loses_no_finalized_block() {
    // First run: finalize some blocks, then stop every task at an arbitrary instant.
    let keys_seed = 99;
    let (shared, checkpoint) =
        deterministic::Runner::new(config(8)).start_and_recover(|context| async move {
            let mut rng = StdRng::seed_from_u64(keys_seed);
            let mut cluster = Cluster::prepare(context, &mut rng, 4, link(50), None).await;
            cluster.start_all().await;
            cluster.spawn_load(1_000, 3, 3, Duration::from_millis(50));
            assert!(cluster.wait_for_height(12, Duration::from_secs(60)).await);
            // Stop mid-block: some votes and blocks are in flight.
            cluster.context().sleep(Duration::from_millis(137)).await;
            cluster.shared()
        });
    let before: Vec<_> = shared.recorders.iter().map(|r| r.chain()).collect();

    // Second run: same storage, same keys.
    deterministic::Runner::from(checkpoint).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(keys_seed);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, link(50), Some(shared)).await;
        cluster.start_all().await;
        for (v, chain) in cluster.validators.iter().zip(before.iter()) {
            let reader = v.engine().unwrap().reader.clone();
            for (height, hash) in chain.iter().filter(|(h, _)| **h > 0) {
                let header = reader.header(*height).await.expect("finalized block lost");
                assert_eq!(header.hash(), *hash);
            }
        }
        let target = cluster.max_height() + 10;
        assert!(
            cluster
                .wait_for_height(target, Duration::from_secs(120))
                .await,
            "cluster did not resume after restart"
        );
        cluster.assert_consistent();
    });
}

#[test]
fn ten_validators_over_a_simulated_wan_finalize() {
    // The simulated-WAN benchmark at a small size, so it cannot rot.
    deterministic::Runner::new(config(12)).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(12);
        let mut cluster = Cluster::prepare(context, &mut rng, 10, link(1), None).await;
        cluster
            .set_links(|i, j| Some(cortado_sim::wan::link(i, j)))
            .await;
        cluster.start_all().await;
        cluster.spawn_load(200, 3, 4, Duration::from_millis(100));
        assert!(cluster.wait_for_height(15, Duration::from_secs(120)).await);
        cluster.assert_consistent();
        // Every block takes at least the floor of its leader (nothing beats the network).
        let v = &cluster.validators[3];
        for (height, latency) in v.recorder.latencies().into_iter().filter(|(h, _)| *h > 2) {
            let block = v.recorder.block(height).unwrap();
            let leader = cluster
                .validators
                .iter()
                .position(|x| {
                    commonware_codec::Encode::encode(&x.public_key).as_ref()
                        == block.header().leader.as_slice()
                })
                .unwrap();
            let floor = cortado_sim::wan::floor_ms(10, leader)[3];
            assert!(
                latency as f64 + 2.0 >= floor,
                "block {height} finalized in {latency} ms, below the {floor} ms floor"
            );
        }
    });
}

/// A leader that dates its blocks 450 ms ahead (within the 500 ms verifiers accept) does not hold
/// back the next leader: pacing waits at most `block_interval_min` from the moment it proposes.
/// Measured in simulated time at an honest validator: from a future-dated block's delivery to
/// its child's.
#[test]
fn a_block_dated_ahead_does_not_delay_the_next_leader() {
    deterministic::Runner::new(config(16)).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(16);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, link(20), None).await;
        cluster.timeouts_mut().block_interval_min = Duration::from_millis(40);
        let early = 1;
        cluster.validators[early].faults.future_timestamp = Duration::from_millis(450);
        cluster.start_all().await;
        cluster.spawn_load(400, 2, 2, Duration::from_millis(20));
        // When validator 0 delivered each height, in simulated time (block timestamps cannot
        // tell: a future-dated block and its child carry future timestamps).
        let start = cluster.context().current();
        let mut delivered: std::collections::HashMap<u64, Duration> = Default::default();
        while delivered.len() < 61 {
            let height = cluster.validators[0].recorder.height();
            let now = cluster.context().current().duration_since(start).unwrap();
            for h in 0..=height {
                delivered.entry(h).or_insert(now);
            }
            assert!(now < Duration::from_secs(120), "the chain stalled");
            cluster.context().sleep(Duration::from_millis(5)).await;
        }
        cluster.assert_consistent();
        let key: [u8; 32] = commonware_codec::Encode::encode(&cluster.validators[early].public_key)
            .as_ref()
            .try_into()
            .unwrap();
        let r = &cluster.validators[0].recorder;
        let mut gaps = Vec::new();
        for h in 1..60 {
            if r.block(h).is_some_and(|b| b.header().leader == key) {
                gaps.push((delivered[&(h + 1)] - delivered[&h]).as_millis());
            }
        }
        println!("delivery gaps after a block dated 450 ms ahead: {gaps:?} ms");
        assert!(gaps.len() >= 5, "too few future-dated blocks: {gaps:?}");
        assert!(
            gaps.iter().all(|g| *g < 300),
            "the block after a future-dated one came {gaps:?} ms later"
        );
    });
}
