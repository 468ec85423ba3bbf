//! Catch-up: a validator that was down for hundreds of blocks restarts under load, reaches the
//! tip and votes again; its finalized chain equals the others'. Simulated time only.

use commonware_runtime::{Clock, Runner, deterministic};
use cortado_sim::{Cluster, link};
use rand::{SeedableRng, rngs::StdRng};
use std::time::Duration;

fn config(seed: u64) -> deterministic::Config {
    deterministic::Config::default()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(3_600)))
}

/// Waits (simulated time) until validator `i` has finalized `height`; returns the time taken, or
/// `None` after `deadline`.
async fn time_to_reach(
    cluster: &Cluster,
    i: usize,
    height: u64,
    deadline: Duration,
) -> Option<Duration> {
    let start = cluster.context().current();
    loop {
        let waited = cluster
            .context()
            .current()
            .duration_since(start)
            .unwrap_or_default();
        if cluster.validators[i].recorder.height() >= height {
            return Some(waited);
        }
        if waited >= deadline {
            return None;
        }
        cluster.context().sleep(Duration::from_millis(20)).await;
    }
}

/// Heights of the blocks validator `leader` proposed, as validator `reader` recorded them.
fn led_by(cluster: &Cluster, reader: usize, leader: usize) -> Vec<u64> {
    let key: [u8; 32] = commonware_codec::Encode::encode(&cluster.validators[leader].public_key)
        .as_ref()
        .try_into()
        .unwrap();
    let r = &cluster.validators[reader].recorder;
    r.chain()
        .keys()
        .copied()
        .filter(|h| {
            let leader = match r.block(*h) {
                Some(b) => b.header().leader,
                None => return false,
            };
            leader == key
        })
        .collect()
}

/// Validator `down` (an API node or not) is down while the others finalize 500+ blocks under
/// load; restarted, it reaches the tip at many times the chain's own block rate, proposes and
/// votes again, and its chain equals the others'.
fn down_for_500_blocks(seed: u64, api: bool) {
    deterministic::Runner::new(config(seed)).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, link(20), None).await;
        let down = 1;
        cluster.validators[down].api = api;
        cluster.start_all().await;
        cluster.spawn_load(100_000, 2, 4, Duration::from_millis(50));
        assert!(cluster.wait_for_height(10, Duration::from_secs(60)).await);

        cluster.crash_validator(down);
        let crashed_at = cluster.validators[down].recorder.height();
        let start = cluster.context().current();
        let others = |c: &Cluster| c.validators[0].recorder.height();
        while others(&cluster) < crashed_at + 500 {
            cluster.context().sleep(Duration::from_millis(100)).await;
        }
        let live_rate = (others(&cluster) - crashed_at) as f64
            / cluster.context().current().duration_since(start).unwrap().as_secs_f64();

        cluster.start_validator(down).await;
        let restarted_at = others(&cluster);
        let behind = restarted_at - cluster.validators[down].recorder.height();
        let took = time_to_reach(&cluster, down, restarted_at, Duration::from_secs(600))
            .await
            .expect("the restarted validator did not reach the tip it restarted behind");
        let rate = behind as f64 / took.as_secs_f64().max(0.001);
        println!(
            "api {api}: behind {behind} blocks; caught up in {took:?} (simulated): {rate:.1} blocks/s vs the chain's {live_rate:.1} blocks/s ({:.1}x)",
            rate / live_rate
        );
        // It follows live blocks again, and takes part: it stores (and so votes for) its own
        // shares of new blocks, and blocks it proposed are finalized.
        let tip = cluster.max_height() + 40;
        assert!(cluster.wait_for_height(tip, Duration::from_secs(60)).await);
        let stats = cluster.validators[down].engine().unwrap().dispersal.stats();
        assert!(stats.shares_stored > 0, "the restarted validator stored no share: it does not vote");
        let proposed = led_by(&cluster, 0, down);
        assert!(
            proposed.iter().any(|h| *h > restarted_at),
            "no block proposed by the restarted validator was finalized"
        );
        let agreed = cluster.assert_consistent();
        let chain = cluster.validators[down].recorder.chain();
        assert!(chain.len() as u64 >= tip, "the restarted validator has gaps");
        for (h, hash) in chain {
            assert_eq!(agreed[&h], hash);
        }
        assert!(
            rate >= 10.0 * live_rate,
            "catch-up {rate:.1} blocks/s is less than 10x the chain's {live_rate:.1} blocks/s"
        );
    });
}

#[test]
fn api_node_down_for_500_blocks_catches_up_under_load() {
    down_for_500_blocks(12, true);
}

#[test]
fn validator_only_node_down_for_500_blocks_catches_up_and_votes() {
    down_for_500_blocks(13, false);
}

/// Transactions an API node acknowledged while cut off from every peer stay in its journal
/// through two restarts, and once it has caught up it offers them to the next leaders again:
/// they are finalized in blocks other validators proposed, not only when it leads itself.
#[test]
fn acknowledged_transactions_survive_restarts_and_are_reoffered() {
    deterministic::Runner::new(config(14)).start(|context| async move {
        let mut cluster = Cluster::start(context, 4, link(20)).await;
        assert!(cluster.wait_for_height(5, Duration::from_secs(60)).await);
        let owner = 1;
        // Cut the owner off: its gossip reaches no leader.
        cluster
            .set_links(|i, j| (i != owner && j != owner).then(|| link(20)))
            .await;
        let mut hashes = Vec::new();
        for i in 0..20u64 {
            let tx = cortado_types::Transaction::new(7, i.to_be_bytes().to_vec());
            hashes.push(tx.hash());
            assert!(cluster.submit(owner, tx).await, "acknowledged");
        }
        cluster.crash_validator(owner);
        cluster.set_links(|_, _| Some(link(20))).await;
        let h = cluster.validators[0].recorder.height();
        while cluster.validators[0].recorder.height() < h + 50 {
            cluster.context().sleep(Duration::from_millis(100)).await;
        }
        // Restart, crash again before it can have caught up, restart.
        cluster.start_validator(owner).await;
        cluster.context().sleep(Duration::from_millis(30)).await;
        cluster.crash_validator(owner);
        cluster.start_validator(owner).await;
        let deadline = cluster.context().current() + Duration::from_secs(120);
        let final_at = loop {
            let r = &cluster.validators[0].recorder;
            let found: Vec<u64> = r
                .chain()
                .keys()
                .copied()
                .filter(|height| {
                    r.block(*height)
                        .is_some_and(|b| b.transactions().any(|t| hashes.contains(&t.hash())))
                })
                .collect();
            let got: usize = found
                .iter()
                .map(|height| {
                    r.block(*height)
                        .unwrap()
                        .transactions()
                        .filter(|t| hashes.contains(&t.hash()))
                        .count()
                })
                .sum();
            if got >= hashes.len() {
                break found;
            }
            assert!(
                cluster.context().current() < deadline,
                "{got} of {} acknowledged transactions finalized",
                hashes.len()
            );
            cluster.context().sleep(Duration::from_millis(100)).await;
        };
        let by_owner = led_by(&cluster, 0, owner);
        assert!(
            final_at.iter().any(|h| !by_owner.contains(h)),
            "only the owner's own blocks carried them: they were not offered to other leaders"
        );
        assert_eq!(cluster.duplicates(), 0);
        cluster.assert_consistent();
    });
}

/// An API node down for longer than validators keep their shares cannot rebuild the blocks it
/// missed from shares: it fetches them whole from the other API nodes, one of which serves
/// every block with a payload byte changed. The lies are detected and the liar skipped; the
/// node reaches the tip and every block it indexed equals the honest nodes' block, byte for
/// byte.
#[test]
fn api_node_down_beyond_share_retention_syncs_from_api_nodes_despite_a_liar() {
    let seed = 15;
    deterministic::Runner::new(config(seed)).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cluster = Cluster::prepare(context, &mut rng, 4, link(20), None).await;
        let (down, liar) = (1, 2);
        cluster.set_share_retention_views(Some(64));
        cluster.validators[liar].faults.dispersal.corrupt_served_blocks = true;
        cluster.start_all().await;
        cluster.spawn_load(100_000, 2, 4, Duration::from_millis(50));
        assert!(cluster.wait_for_height(10, Duration::from_secs(60)).await);

        cluster.crash_validator(down);
        let crashed_at = cluster.validators[down].recorder.height();
        let start = cluster.context().current();
        let others = |c: &Cluster| c.validators[0].recorder.height();
        while others(&cluster) < crashed_at + 400 {
            cluster.context().sleep(Duration::from_millis(100)).await;
        }
        let live_rate = (others(&cluster) - crashed_at) as f64
            / cluster.context().current().duration_since(start).unwrap().as_secs_f64();

        cluster.start_validator(down).await;
        let restarted_at = others(&cluster);
        let behind = restarted_at - cluster.validators[down].recorder.height();
        let took = time_to_reach(&cluster, down, restarted_at, Duration::from_secs(600))
            .await
            .expect("the restarted API node did not reach the tip it restarted behind");
        let rate = behind as f64 / took.as_secs_f64().max(0.001);
        let stats = cluster.validators[down].engine().unwrap().dispersal.stats();
        println!(
            "behind {behind} blocks (retention 64 views); caught up in {took:?} (simulated): {rate:.1} blocks/s vs the chain's {live_rate:.1} blocks/s ({:.1}x); {} blocks synced whole, {} rejected, {} reconstructed; {} share rounds declined",
            rate / live_rate,
            stats.blocks_synced,
            stats.synced_blocks_rejected,
            stats.blocks_reconstructed,
            stats.retrievals_unavailable,
        );
        // Once a block had to come whole, older ones are asked of API nodes first: the share
        // round every validator declines is not paid per block (it was, 376 times, before).
        assert!(
            stats.retrievals_unavailable < stats.blocks_synced / 4,
            "{} share rounds ended unavailable for {} blocks synced whole",
            stats.retrievals_unavailable,
            stats.blocks_synced
        );
        assert!(
            stats.blocks_synced >= behind / 2,
            "only {} of {behind} blocks were synced whole: the shares were not pruned?",
            stats.blocks_synced
        );
        assert!(
            stats.synced_blocks_rejected > 0,
            "the liar's corrupted blocks were never seen"
        );
        assert!(
            stats.synced_blocks_rejected < stats.blocks_synced / 4,
            "the liar was not skipped: {} of its blocks rejected for {} synced",
            stats.synced_blocks_rejected,
            stats.blocks_synced
        );

        let tip = cluster.max_height() + 20;
        assert!(cluster.wait_for_height(tip, Duration::from_secs(60)).await);
        let agreed = cluster.assert_consistent();
        let synced = &cluster.validators[down].recorder;
        let honest = &cluster.validators[0].recorder;
        let mut compared = 0;
        for (h, hash) in synced.chain() {
            assert_eq!(agreed[&h], hash);
            if let (Some(mine), Some(theirs)) = (synced.block(h), honest.block(h)) {
                assert_eq!(*mine, *theirs, "height {h}: the synced block differs");
                compared += 1;
            }
        }
        assert!(compared as u64 >= tip, "the synced node has gaps");
    });
}
