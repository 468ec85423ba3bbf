//! Erasure-coded dispersal scenarios: 7 validators (f = 2, k = 3), blocks of many namespaces,
//! honest and Byzantine leaders, validators that refuse to serve, crash and restart.
//! Every validator is also an API node and reconstructs every finalized block from shares,
//! except in the scenario where most are validators only.

use commonware_runtime::{Clock, Runner, deterministic};
use cortado_chain::Faults;
use cortado_sim::{Cluster, link};
use cortado_types::Hash;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::{collections::HashSet, time::Duration};

const N: u32 = 7;
const TICKS: u64 = 60;
const PER_TICK: u64 = 8;
const NAMESPACES: u64 = 24;

fn config(seed: u64) -> deterministic::Config {
    deterministic::Config::default()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(900)))
}

/// The transactions `spawn_load(TICKS, PER_TICK, NAMESPACES, _)` submits.
fn submitted() -> HashSet<Hash> {
    cortado_sim::load_hashes(TICKS, PER_TICK, NAMESPACES)
}

/// Runs the load and waits until every submitted transaction is finalized at every running
/// API node (bounded), then checks agreement and returns the cluster.
async fn run_load(cluster: &Cluster) {
    cluster.spawn_load(TICKS, PER_TICK, NAMESPACES, Duration::from_millis(50));
    let expected = submitted();
    let start = cluster.context().current();
    loop {
        let all = cluster
            .validators
            .iter()
            .filter(|v| v.is_running() && v.api)
            .all(|v| {
                let got: HashSet<Hash> = v.recorder.transactions().into_iter().collect();
                expected.is_subset(&got)
            });
        if all {
            break;
        }
        let waited = cluster.context().current().duration_since(start).unwrap();
        assert!(
            waited < Duration::from_secs(120),
            "not every submitted transaction was finalized and reconstructed"
        );
        cluster.context().sleep(Duration::from_millis(100)).await;
    }
    cluster.assert_consistent();
    // Nothing was finalized that was not submitted: what came back is byte-identical.
    for v in cluster
        .validators
        .iter()
        .filter(|v| v.is_running() && v.api)
    {
        let got: HashSet<Hash> = v.recorder.transactions().into_iter().collect();
        assert_eq!(
            got, expected,
            "reconstructed transactions differ from the submitted ones"
        );
    }
}

/// Heights of non-empty blocks proposed by validator `leader`.
fn led_by(cluster: &Cluster, leader: usize) -> Vec<u64> {
    let key: [u8; 32] = commonware_codec::Encode::encode(&cluster.validators[leader].public_key)
        .as_ref()
        .try_into()
        .unwrap();
    let r = &cluster.validators[1].recorder;
    r.chain()
        .keys()
        .copied()
        .filter(|h| {
            let b = r.block(*h).unwrap();
            b.header().leader == key && !b.header().table.is_empty()
        })
        .collect()
}

#[test]
fn all_honest_blocks_are_reconstructed_from_shares() {
    deterministic::Runner::new(config(21)).start(|context| async move {
        let cluster = Cluster::start(context, N, link(50)).await;
        run_load(&cluster).await;
        let blocks: usize = cluster.validators[0]
            .recorder
            .chain()
            .keys()
            .filter(|h| {
                cluster.validators[0]
                    .recorder
                    .block(**h)
                    .unwrap()
                    .namespaces()
                    .len()
                    > 3
            })
            .count();
        assert!(blocks > 0, "expected blocks with many namespaces");
        assert_eq!(
            cluster.duplicates(),
            0,
            "honest leaders repeat no transaction"
        );
        for i in 0..N as usize {
            assert!(cluster.counter("dispersal_reconstructed", i) > 0);
            assert_eq!(cluster.counter("dispersal_shares_rejected", i), 0);
        }
    });
}

#[test]
fn validators_that_are_not_api_nodes_receive_only_their_own_shares() {
    deterministic::Runner::new(config(27)).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(27);
        let mut cluster = Cluster::prepare(context, &mut rng, N, link(50), None).await;
        // Validators 0 and 1 are API nodes; the other five keep only their own shares.
        for v in cluster.validators.iter_mut().skip(2) {
            v.api = false;
        }
        cluster.start_all().await;
        run_load(&cluster).await;
        assert_eq!(
            cluster.duplicates(),
            0,
            "honest leaders repeat no transaction"
        );
        let api_chain = cluster.validators[0].recorder.chain();
        // Each leader's share comes with its block's manifest, 32 bytes per transaction.
        let manifest_bytes: u64 = api_chain
            .keys()
            .filter_map(|h| cluster.validators[0].recorder.block(*h))
            .map(|b| 32 * b.tx_count() as u64)
            .sum();
        let stats = |i: usize| cluster.validators[i].engine().unwrap().dispersal.stats();
        for i in 2..N as usize {
            let v = &cluster.validators[i];
            assert!(v.recorder.block(1).is_none(), "validator {i} reconstructed");
            assert!(!v.recorder.header_heights().is_empty());
            for (h, hash) in v.recorder.chain() {
                if let Some(api) = api_chain.get(&h) {
                    assert_eq!(*api, hash, "validator {i} finalized another block at {h}");
                }
            }
            assert_eq!(cluster.counter("dispersal_reconstructed", i), 0);
            // Only its own shares arrived: the bytes received are the bytes stored plus each
            // message's envelope and manifest, a fraction of what an API node receives.
            let (own, api) = (stats(i), stats(0));
            assert!(own.shares_stored > 0);
            assert!(
                own.share_bytes_received
                    <= own.share_bytes_stored + 64 * own.shares_stored + manifest_bytes,
                "validator {i} received {} share bytes for {} stored",
                own.share_bytes_received,
                own.share_bytes_stored
            );
            assert!(3 * own.share_bytes_received < api.share_bytes_received);
        }
        // The validators' mempools held copies of the API nodes' transactions; the finalized
        // blocks' manifests emptied them (no copy waits for its time to live).
        cluster.context().sleep(Duration::from_secs(2)).await;
        for i in 0..N as usize {
            let pool = cluster.validators[i].mempool().unwrap().stats().await;
            assert_eq!(pool.txs, 0, "validator {i} still pools {pool:?}");
        }
    });
}

#[test]
fn corrupted_pushes_are_skipped_by_the_api_nodes() {
    deterministic::Runner::new(config(28)).start(|context| async move {
        let mut rng = StdRng::seed_from_u64(28);
        let mut cluster = Cluster::prepare(context, &mut rng, N, link(50), None).await;
        // Validators 1 and 2 push corrupted copies of their shares to every API node they
        // serve (validator 0 among them); they store and vote honestly.
        for v in [1, 2] {
            cluster.validators[v].faults.dispersal.corrupt_pushes = true;
        }
        cluster.start_all().await;
        run_load(&cluster).await;
        assert_eq!(cluster.duplicates(), 0);
        for i in 0..N as usize {
            assert!(cluster.counter("dispersal_reconstructed", i) > 0);
            assert_eq!(cluster.counter("dispersal_invalid_namespaces", i), 0);
        }
    });
}

#[test]
fn leader_omitting_shares_to_two_validators_still_finalizes() {
    deterministic::Runner::new(config(22)).start(|mut context| async move {
        let mut rng = StdRng::seed_from_u64(context.random());
        let mut cluster = Cluster::prepare(context, &mut rng, N, link(50), None).await;
        cluster.validators[0].faults = Faults {
            dispersal: cortado_dispersal::Faults {
                omit_shares_to: vec![5, 6],
                ..Default::default()
            },
            ..Default::default()
        };
        cluster.start_all().await;
        run_load(&cluster).await;
        let heights = led_by(&cluster, 0);
        assert!(
            !heights.is_empty(),
            "the faulty leader's blocks must finalize"
        );
        for h in heights {
            let block = cluster.validators[1].recorder.block(h).unwrap();
            let d5 = cluster.validators[5].engine().unwrap();
            let d1 = cluster.validators[1].engine().unwrap();
            assert!(
                d5.dispersal.stored_share(block.hash()).await.is_none(),
                "v5 got no share"
            );
            assert!(
                d1.dispersal.stored_share(block.hash()).await.is_some(),
                "v1 stored its share"
            );
        }
    });
}

#[test]
fn corrupted_shares_get_no_vote_and_the_block_is_recoverable() {
    deterministic::Runner::new(config(23)).start(|mut context| async move {
        let mut rng = StdRng::seed_from_u64(context.random());
        let mut cluster = Cluster::prepare(context, &mut rng, N, link(50), None).await;
        cluster.validators[0].faults = Faults {
            dispersal: cortado_dispersal::Faults {
                corrupt_shares_to: vec![5, 6],
                ..Default::default()
            },
            ..Default::default()
        };
        cluster.start_all().await;
        run_load(&cluster).await;
        assert!(!led_by(&cluster, 0).is_empty());
        for i in [5, 6] {
            assert!(
                cluster.counter("dispersal_shares_rejected", i) > 0,
                "validator {i} must refuse the corrupted share"
            );
        }
        for i in [1, 2, 3, 4] {
            assert_eq!(cluster.counter("dispersal_shares_rejected", i), 0);
        }
    });
}

#[test]
fn invalid_encoding_gets_the_same_verdict_everywhere() {
    deterministic::Runner::new(config(24)).start(|mut context| async move {
        let mut rng = StdRng::seed_from_u64(context.random());
        let mut cluster = Cluster::prepare(context, &mut rng, N, link(50), None).await;
        cluster.validators[0].faults = Faults {
            invalid_encoding: true,
            ..Default::default()
        };
        cluster.start_all().await;
        // Every transaction is still finalized, later, in a valid block: the invalid namespace
        // counts as empty and its transactions go back into the mempools.
        run_load(&cluster).await;
        let heights = led_by(&cluster, 0);
        assert!(!heights.is_empty());
        for h in heights {
            let verdicts: Vec<Vec<_>> = cluster
                .validators
                .iter()
                .map(|v| v.recorder.block(h).unwrap().invalid_namespaces().collect())
                .collect();
            let first = verdicts[0].clone();
            assert_eq!(
                first.len(),
                1,
                "the first namespace of block {h} is invalid"
            );
            assert_eq!(
                first[0],
                cluster.validators[0]
                    .recorder
                    .block(h)
                    .unwrap()
                    .header()
                    .table
                    .entries()[0]
                    .namespace
            );
            assert!(
                verdicts.iter().all(|v| *v == first),
                "verdicts differ at {h}"
            );
        }
    });
}

#[test]
fn data_is_retrieved_when_two_validators_refuse_to_serve() {
    deterministic::Runner::new(config(25)).start(|mut context| async move {
        let mut rng = StdRng::seed_from_u64(context.random());
        let mut cluster = Cluster::prepare(context, &mut rng, N, link(50), None).await;
        for i in [5, 6] {
            cluster.validators[i].faults = Faults {
                dispersal: cortado_dispersal::Faults {
                    refuse_to_serve: true,
                    ..Default::default()
                },
                ..Default::default()
            };
        }
        cluster.start_all().await;
        run_load(&cluster).await;
    });
}

#[test]
fn stored_shares_survive_a_crash() {
    deterministic::Runner::new(config(26)).start(|context| async move {
        let mut cluster = Cluster::start(context, N, link(50)).await;
        cluster.spawn_load(TICKS, PER_TICK, NAMESPACES, Duration::from_millis(50));
        assert!(cluster.wait_for_height(20, Duration::from_secs(120)).await);
        let chain = cluster.validators[3].recorder.chain();
        let mut stored = Vec::new();
        for (h, hash) in &chain {
            let block = cluster.validators[3].recorder.block(*h).unwrap();
            if block.header().table.is_empty() {
                continue;
            }
            let share = cluster.validators[3]
                .engine()
                .unwrap()
                .dispersal
                .stored_share(*hash)
                .await;
            if let Some(share) = share {
                stored.push((*hash, share));
            }
        }
        assert!(!stored.is_empty(), "validator 3 stored shares");
        cluster.crash_validator(3);
        cluster.context().sleep(Duration::from_secs(2)).await;
        cluster.start_validator(3).await;
        for (hash, share) in stored {
            let again = cluster.validators[3]
                .engine()
                .unwrap()
                .dispersal
                .stored_share(hash)
                .await;
            assert_eq!(again, Some(share), "share of {hash} lost in the crash");
        }
        let target = cluster.max_height() + 5;
        assert!(
            cluster
                .wait_for_height(target, Duration::from_secs(120))
                .await
        );
        cluster.assert_consistent();
    });
}
