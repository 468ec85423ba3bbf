//! The DKG ceremony's loop (`cortado_chain::ceremony::actor`) on the deterministic runtime
//! with a simulated network: all present, one offline, one dealing wrong evaluations, one
//! crashing and restarting in the middle. Simulated time only.

use commonware_cryptography::Signer as _;
use commonware_p2p::simulated::{self, Network};
use commonware_runtime::{Clock, Handle, Quota, Runner, Spawner, Supervisor, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use cortado_chain::{
    PrivateKey, Variant,
    ceremony::{
        Plan,
        actor::{self, Aborted, Config},
        state::Completed,
        wire,
    },
};
use std::time::Duration;

type Result = std::result::Result<Completed, Aborted>;

fn config(i: usize) -> Config {
    Config {
        tick: Duration::from_millis(200),
        timeout: Duration::from_secs(30),
        linger: Duration::from_secs(2),
        partition: format!("ceremony-{i}"),
        corrupt_dealings: false,
    }
}

struct Net {
    keys: Vec<PrivateKey>,
    plan: Plan,
    oracle: simulated::Oracle<cortado_chain::PublicKey, deterministic::Context>,
}

async fn network(context: &deterministic::Context, n: u64) -> Net {
    network_with(context, n, |_, _| cortado_sim::link(30)).await
}

async fn network_with(
    context: &deterministic::Context,
    n: u64,
    link: impl Fn(usize, usize) -> commonware_p2p::simulated::Link,
) -> Net {
    let mut keys: Vec<PrivateKey> = (0..n).map(|i| PrivateKey::from_seed(100 + i)).collect();
    keys.sort_by_key(|k| k.public_key());
    let publics: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
    let plan = Plan {
        chain_id: 3,
        round: 0,
        participants: Set::try_from(publics.clone()).unwrap(),
    };
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: wire::max_size(plan.n()) as u32,
            max_peers_per_set: NZUsize!(n as usize),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        publics.clone(),
    )
    .await;
    network.start();
    for (i, a) in publics.iter().enumerate() {
        for (j, b) in publics.iter().enumerate() {
            if a != b {
                oracle
                    .add_link(a.clone(), b.clone(), link(i, j))
                    .await
                    .unwrap();
            }
        }
    }
    Net { keys, plan, oracle }
}

impl Net {
    async fn spawn(
        &self,
        context: &deterministic::Context,
        i: usize,
        cfg: Config,
    ) -> Handle<Result> {
        let control = self.oracle.control(self.keys[i].public_key());
        let channel = control
            .register(0, Quota::per_second(NZU32!(10_000)))
            .await
            .unwrap();
        let (plan, key) = (self.plan.clone(), self.keys[i].clone());
        context
            .child("participant")
            .with_attribute("index", i)
            .spawn(move |context| actor::run(context, plan, key, channel, cfg))
    }
}

fn done(result: Result) -> Completed {
    match result {
        Ok(done) => done,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn four_participants_produce_one_key_in_simulated_time() {
    deterministic::Runner::seeded(1).start(|context| async move {
        let net = network(&context, 4).await;
        let mut handles = Vec::new();
        for i in 0..4 {
            handles.push(net.spawn(&context, i, config(i)).await);
        }
        let started = context.current();
        let mut results = Vec::new();
        for h in handles {
            results.push(done(h.await.unwrap()));
        }
        let took = context.current().duration_since(started).unwrap();
        println!("4 participants, 30 ms links: done in {took:?} (simulated, linger included)");
        let output = &results[0].output;
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.output, *output);
            assert_eq!(
                output.public().partial_public(r.share.index).unwrap(),
                r.share.public::<Variant>(),
                "participant {i}'s share"
            );
            let verified = r
                .transcript
                .verify(&net.plan, &mut commonware_utils::test_rng())
                .unwrap();
            assert_eq!(verified, *output);
        }
    });
}

#[test]
fn an_offline_participant_stops_the_ceremony_with_a_report_naming_it() {
    deterministic::Runner::seeded(2).start(|context| async move {
        let net = network(&context, 4).await;
        let mut handles = Vec::new();
        for i in 0..3 {
            handles.push(net.spawn(&context, i, config(i)).await);
        }
        let absent = net.keys[3].public_key();
        for h in handles {
            let err = h
                .await
                .unwrap()
                .expect_err("cannot complete without participant 3");
            let text = err.to_string();
            assert!(text.contains("no result within 30s"), "{text}");
            assert!(
                text.contains(&format!(
                    "participant 3 {absent}: no dealing received from it"
                )),
                "{text}"
            );
            assert_eq!(
                text.matches("no dealing received").count(),
                1,
                "only the absent participant failed to deal: {text}"
            );
        }
    });
}

#[test]
fn a_participant_dealing_wrong_evaluations_is_named_by_every_other() {
    deterministic::Runner::seeded(3).start(|context| async move {
        let net = network(&context, 4).await;
        let mut handles = Vec::new();
        for i in 0..4 {
            let mut cfg = config(i);
            cfg.corrupt_dealings = i == 1;
            handles.push(net.spawn(&context, i, cfg).await);
        }
        let liar = net.keys[1].public_key();
        for (i, h) in handles.into_iter().enumerate() {
            let text = h
                .await
                .unwrap()
                .expect_err("no log from the liar")
                .to_string();
            if i != 1 {
                assert!(
                    text.contains(&format!(
                        "participant 1 {liar}: its dealing to this participant failed its check"
                    )),
                    "participant {i}: {text}"
                );
            }
        }
    });
}

#[test]
fn a_participant_crashing_mid_ceremony_resumes_and_all_agree() {
    deterministic::Runner::seeded(4).start(|context| async move {
        let net = network(&context, 4).await;
        let mut handles = Vec::new();
        for i in 0..4 {
            handles.push(Some(net.spawn(&context, i, config(i)).await));
        }
        // Participant 2 crashes once it has had time to deal and acknowledge, and comes back
        // three seconds later on the same storage.
        context.sleep(Duration::from_millis(70)).await;
        handles[2].take().unwrap().abort();
        context.sleep(Duration::from_secs(3)).await;
        handles[2] = Some(net.spawn(&context, 2, config(2)).await);
        let mut results = Vec::new();
        for h in handles {
            results.push(done(h.unwrap().await.unwrap()));
        }
        for r in &results {
            assert_eq!(r.output, results[0].output);
        }
    });
}

/// Ceremony time in the simulated WAN (participants round-robin in 10 AWS regions, p50
/// latencies): `cargo test --release -p cortado-sim --test ceremony -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: 50 participants take minutes of CPU"]
fn ceremony_time_on_a_simulated_wan() {
    for n in [4u64, 10, 50] {
        deterministic::Runner::seeded(n).start(|context| async move {
            let net = network_with(&context, n, cortado_sim::wan::link).await;
            let mut handles = Vec::new();
            for i in 0..n as usize {
                let mut cfg = config(i);
                cfg.timeout = Duration::from_secs(600);
                handles.push(net.spawn(&context, i, cfg).await);
            }
            let started = context.current();
            let wall = std::time::Instant::now();
            for h in handles {
                done(h.await.unwrap());
            }
            println!(
                "{n} participants, simulated WAN: every participant done {:?} (simulated) after they all started; {:.1} s wall",
                context.current().duration_since(started).unwrap(),
                wall.elapsed().as_secs_f64()
            );
        });
    }
}
