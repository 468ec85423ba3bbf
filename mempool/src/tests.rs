//! Actor tests on the deterministic runtime with a simulated network. No wall clock: every wait is
//! simulated time, every poll is bounded.

use crate::{Actor, Config, Error, Limit, Mailbox, Stats, gossip};
use commonware_cryptography::{
    Signer as _,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_p2p::{
    Manager as _, Receiver as _, Recipients, Sender as _,
    simulated::{self, Link, Network, Oracle},
};
use commonware_runtime::{
    Clock as _, Quota, Runner as _, Storage as _, Supervisor as _, deterministic,
};
use commonware_utils::{NZUsize, ordered::Set, probability};
use cortado_types::{Hash, Limits, Transaction};
use futures::FutureExt as _;
use std::{collections::HashSet, num::NonZeroU32, time::Duration};

const CHANNEL: u64 = 0;
const MESSAGE_MAX: usize = 4 << 10;
const QUOTA: Quota = Quota::per_second(NonZeroU32::MAX);
const POLL: Duration = Duration::from_millis(10);
const POLLS_MAX: usize = 200;

type Channel = (
    simulated::Sender<PublicKey, deterministic::Context>,
    simulated::Receiver<PublicKey>,
);

fn config(index: usize) -> Config {
    Config {
        bytes_max: 8 << 10,
        txs_max: 64,
        tx_bytes_max: 1 << 10,
        namespace_bytes_max: 4 << 10,
        recent_finalized_max: 1 << 10,
        gossip_batch_bytes_max: 4 << 10,
        max_message_size: MESSAGE_MAX,
        mailbox_size: 64,
        journal_partition: format!("mempool_{index}"),
        journal_section_bytes: 4 << 10,
        ..Config::default()
    }
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

fn tx(namespace: u64, size: usize, tag: u16) -> Transaction {
    let mut payload = vec![0u8; size.max(2)];
    payload[..2].copy_from_slice(&tag.to_be_bytes());
    payload.truncate(size);
    Transaction::new(namespace, payload)
}

fn block_limits() -> Limits {
    Limits {
        tx_bytes_max: 1 << 10,
        ..Limits::default()
    }
}

/// A simulated network of `n` fully linked peers, all tracked; returns their channels.
async fn network(
    context: &deterministic::Context,
    n: usize,
) -> (
    Oracle<PublicKey, deterministic::Context>,
    Vec<PublicKey>,
    Vec<Channel>,
) {
    let (network, oracle) = Network::<deterministic::Context, PublicKey>::new(
        context.child("network"),
        simulated::Config {
            max_size: MESSAGE_MAX as u32,
            max_peers_per_set: NZUsize!(n),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
    );
    network.start();
    let peers: Vec<PublicKey> = (0..n)
        .map(|i| PrivateKey::from_seed(i as u64).public_key())
        .collect();
    let mut channels = Vec::new();
    for peer in &peers {
        let channel = oracle
            .control(peer.clone())
            .register(CHANNEL, QUOTA)
            .await
            .unwrap();
        channels.push(channel);
    }
    let link = Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        success_rate: probability!(1.0),
    };
    for a in &peers {
        for b in &peers {
            if a != b {
                oracle
                    .add_link(a.clone(), b.clone(), link.clone())
                    .await
                    .unwrap();
            }
        }
    }
    oracle
        .manager()
        .track(0, Set::from_iter_dedup(peers.clone()));
    (oracle, peers, channels)
}

/// Starts a mempool for peer `index` on `channel`.
async fn start(
    context: &deterministic::Context,
    index: usize,
    cfg: Config,
    channel: Channel,
) -> Mailbox {
    let context = context.child("mempool").with_attribute("index", index);
    let (actor, mailbox) = Actor::init(context, cfg).await;
    actor.start(channel, None);
    mailbox
}

/// Starts `n` connected mempools with the test configuration and lets them connect.
async fn start_pools(context: &deterministic::Context, n: usize) -> Vec<Mailbox> {
    let (_oracle, _peers, channels) = network(context, n).await;
    let mut mailboxes = Vec::new();
    for (index, channel) in channels.into_iter().enumerate() {
        mailboxes.push(start(context, index, config(index), channel).await);
    }
    settle(context).await;
    mailboxes
}

/// Polls `mailbox` until it holds `hash`, within a bounded number of simulated polls.
async fn eventually_contains(
    context: &deterministic::Context,
    mailbox: &Mailbox,
    hash: Hash,
) -> bool {
    for _ in 0..POLLS_MAX {
        if mailbox.contains(hash).await {
            return true;
        }
        context.sleep(POLL).await;
    }
    false
}

/// Lets peer-set updates and in-flight messages settle.
async fn settle(context: &deterministic::Context) {
    context.sleep(Duration::from_millis(200)).await;
}

fn gossip_scenario(seed: u64) -> String {
    runner(seed).start(|context| async move {
        let mailboxes = start_pools(&context, 4).await;

        // One transaction from node 0, one from node 1.
        let first = tx(1, 100, 1);
        let second = tx(2, 200, 2);
        let submitted = mailboxes[0].submit(first.clone()).await.unwrap();
        assert_eq!(submitted.hash, first.hash());
        assert!(!submitted.duplicate);
        assert!(!mailboxes[1].submit(second.clone()).await.unwrap().duplicate);

        for mailbox in &mailboxes {
            assert!(eventually_contains(&context, mailbox, first.hash()).await);
            assert!(eventually_contains(&context, mailbox, second.hash()).await);
            assert_eq!(mailbox.stats().await, Stats { txs: 2, bytes: 300 });
        }

        // Node 2 submits what it already received by gossip: a duplicate.
        assert!(mailboxes[2].submit(first.clone()).await.unwrap().duplicate);

        // Finalization is per node; a finalized transaction is gone and stays gone.
        for mailbox in &mailboxes {
            mailbox.finalized(vec![first.hash()]).await;
            assert!(!mailbox.contains(first.hash()).await);
        }
        assert!(mailboxes[3].submit(first.clone()).await.unwrap().duplicate);
        assert!(!mailboxes[3].contains(first.hash()).await);
        context.auditor().state()
    })
}

#[test]
fn gossip_reaches_every_pool() {
    gossip_scenario(1);
}

#[test]
fn same_seed_same_run() {
    assert_eq!(gossip_scenario(7), gossip_scenario(7));
}

#[test]
fn gossiped_transactions_are_not_regossiped() {
    runner(2).start(|context| async move {
        let (_oracle, peers, mut channels) = network(&context, 4).await;
        // Peer 3 runs no mempool: it only watches what arrives.
        let (_, mut observer) = channels.pop().unwrap();
        let mut mailboxes = Vec::new();
        for (index, channel) in channels.into_iter().enumerate() {
            mailboxes.push(start(&context, index, config(index), channel).await);
        }
        settle(&context).await;

        let txs: Vec<Transaction> = (0..3).map(|tag| tx(1, 50, tag)).collect();
        for tx in &txs {
            mailboxes[0].submit(tx.clone()).await.unwrap();
        }
        for mailbox in &mailboxes {
            for tx in &txs {
                assert!(eventually_contains(&context, mailbox, tx.hash()).await);
            }
        }
        settle(&context).await;

        // Every transaction reached the observer exactly once, from node 0.
        let mut received = Vec::new();
        while let Some(Ok((from, message))) = observer.recv().now_or_never() {
            assert_eq!(from, peers[0], "a gossiped transaction was re-gossiped");
            received.extend(gossip::decode(message, 1 << 10, MESSAGE_MAX).unwrap());
        }
        assert_eq!(received, txs);
    });
}

#[test]
fn burst_is_gossiped_in_bounded_batches() {
    runner(10).start(|context| async move {
        // The simulated sender panics on a message above MESSAGE_MAX, which is also
        // gossip_batch_bytes_max here: every batch must respect it.
        let (_oracle, peers, mut channels) = network(&context, 3).await;
        let (_, mut observer) = channels.pop().unwrap();
        let mut mailboxes = Vec::new();
        for (index, channel) in channels.into_iter().enumerate() {
            mailboxes.push(start(&context, index, config(index), channel).await);
        }
        settle(&context).await;

        // Eight near-maximal transactions submitted at once: one group commit, several batches.
        let txs: Vec<Transaction> = (0..8).map(|tag| tx(tag as u64 % 2, 1000, tag)).collect();
        let results =
            futures::future::join_all(txs.iter().map(|tx| mailboxes[0].submit(tx.clone()))).await;
        assert!(results.into_iter().all(|result| !result.unwrap().duplicate));
        for tx in &txs {
            assert!(eventually_contains(&context, &mailboxes[1], tx.hash()).await);
        }
        settle(&context).await;
        let mut messages = 0;
        let mut received = Vec::new();
        while let Some(Ok((from, message))) = observer.recv().now_or_never() {
            assert_eq!(from, peers[0]);
            assert!(message.len() <= MESSAGE_MAX);
            received.extend(gossip::decode(message, 1 << 10, MESSAGE_MAX).unwrap());
            messages += 1;
        }
        assert_eq!(received, txs);
        assert!(
            messages >= 2,
            "{messages} message(s) for 8 KiB of transactions"
        );
    });
}

#[test]
fn duplicate_submit_is_idempotent() {
    runner(3).start(|context| async move {
        let (_oracle, _peers, mut channels) = network(&context, 2).await;
        let mailbox = start(&context, 0, config(0), channels.remove(0)).await;

        let t = tx(1, 10, 1);
        let first = mailbox.submit(t.clone()).await.unwrap();
        let second = mailbox.submit(t.clone()).await.unwrap();
        assert_eq!(first.hash, second.hash);
        assert!(!first.duplicate);
        assert!(second.duplicate);

        // Two submits of a new transaction in the same group commit: one admits, one is the
        // duplicate, both resolve after the journal sync.
        let u = tx(1, 10, 2);
        let (a, b) = futures::join!(mailbox.submit(u.clone()), mailbox.submit(u.clone()));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.hash, b.hash);
        assert!(a.duplicate != b.duplicate);
        assert_eq!(mailbox.stats().await, Stats { txs: 2, bytes: 20 });
    });
}

#[test]
fn full_pool_refuses_until_finalized() {
    runner(4).start(|context| async move {
        let (_oracle, _peers, mut channels) = network(&context, 2).await;
        let mailbox = start(&context, 0, config(0), channels.remove(0)).await;
        let retry_after = Config::default().full_retry_after;

        // Too large is refused outright.
        assert_eq!(
            mailbox.submit(tx(1, 1025, 0)).await,
            Err(Error::TooLarge {
                size: 1025,
                limit: 1024
            })
        );

        // Namespace 1 fills its 4 KiB share.
        let mut ns1 = Vec::new();
        for tag in 0..4 {
            let t = tx(1, 1024, tag);
            mailbox.submit(t.clone()).await.unwrap();
            ns1.push(t.hash());
        }
        let err = mailbox.submit(tx(1, 1, 100)).await.unwrap_err();
        assert_eq!(
            err,
            Error::NamespaceFull {
                namespace: 1.into(),
                limit: 4 << 10,
                retry_after
            }
        );
        assert!(err.to_string().contains("retry after 1 s"), "{err}");

        // Namespaces 2 and 3 fill the rest of the 8 KiB pool.
        for (namespace, tag) in [(2, 10), (2, 11), (3, 12), (3, 13)] {
            mailbox.submit(tx(namespace, 1024, tag)).await.unwrap();
        }
        let err = mailbox.submit(tx(4, 1, 200)).await.unwrap_err();
        assert_eq!(
            err,
            Error::Full {
                limit: Limit::Bytes(8 << 10),
                retry_after
            }
        );
        assert_eq!(
            err.to_string(),
            "mempool is full (8 KiB, bytes_max); retry after 1 s"
        );
        // A duplicate is still answered while full.
        assert!(mailbox.submit(tx(1, 1024, 0)).await.unwrap().duplicate);

        // Finalizing frees room.
        mailbox.finalized(ns1[..2].to_vec()).await;
        assert_eq!(
            mailbox.stats().await,
            Stats {
                txs: 6,
                bytes: 6 << 10
            }
        );
        assert!(mailbox.submit(tx(4, 1, 200)).await.is_ok());
    });
}

#[test]
fn malformed_gossip_is_ignored() {
    runner(5).start(|context| async move {
        let (_oracle, peers, mut channels) = network(&context, 3).await;
        let (mut attacker, _) = channels.pop().unwrap();
        let mut mailboxes = Vec::new();
        for (index, channel) in channels.into_iter().enumerate() {
            mailboxes.push(start(&context, index, config(index), channel).await);
        }
        settle(&context).await;
        let victim = peers[0].clone();
        let mut send = |message: Vec<u8>| {
            let sent = attacker.send(Recipients::One(victim.clone()), message, false);
            assert_eq!(sent, vec![victim.clone()]);
        };

        // Garbage, an empty batch, a huge count, a payload above tx_bytes_max, trailing bytes.
        send(vec![0xff]);
        send(gossip::encode(&[]).to_vec());
        send(vec![0xff, 0xff, 0xff, 0xff, 0x0f]);
        let oversize = tx(1, 1025, 1);
        send(gossip::encode(std::slice::from_ref(&oversize)).to_vec());
        let mut trailing = gossip::encode(&[tx(1, 10, 2)]).to_vec();
        trailing.push(0);
        send(trailing);
        settle(&context).await;
        assert_eq!(mailboxes[0].stats().await, Stats::default());

        // The victim keeps working: a well-formed batch from the same peer is admitted...
        let good = tx(1, 10, 3);
        send(gossip::encode(std::slice::from_ref(&good)).to_vec());
        assert!(eventually_contains(&context, &mailboxes[0], good.hash()).await);
        // ...and local submits still gossip to the others.
        let local = tx(2, 10, 4);
        mailboxes[0].submit(local.clone()).await.unwrap();
        assert!(eventually_contains(&context, &mailboxes[1], local.hash()).await);
        // Gossip admitted at the victim is not forwarded.
        settle(&context).await;
        assert!(!mailboxes[1].contains(good.hash()).await);
    });
}

#[test]
fn restart_replays_pending_and_drops_finalized() {
    let (txs, checkpoint) = runner(6).start_and_recover(|context| async move {
        let mailboxes = start_pools(&context, 2).await;
        let txs: Vec<Transaction> = (0..4).map(|tag| tx(1, 100, tag)).collect();
        for tx in &txs {
            mailboxes[0].submit(tx.clone()).await.unwrap();
        }
        for tx in &txs {
            assert!(eventually_contains(&context, &mailboxes[1], tx.hash()).await);
        }
        for mailbox in &mailboxes {
            mailbox.finalized(vec![txs[1].hash()]).await;
        }
        // The crash comes right after: nothing is synced on shutdown.
        txs
    });

    deterministic::Runner::from(checkpoint).start(|context| async move {
        let (_oracle, _peers, mut channels) = network(&context, 2).await;
        // Node 1 got its transactions by gossip: copies are soft state, node 0 owns them.
        let gossiped = start(&context, 1, config(1), channels.pop().unwrap()).await;
        assert_eq!(gossiped.stats().await, Stats::default());
        let mailbox = start(&context, 0, config(0), channels.pop().unwrap()).await;
        assert!(mailbox.contains(txs[0].hash()).await);
        assert!(!mailbox.contains(txs[1].hash()).await);
        assert_eq!(mailbox.stats().await, Stats { txs: 3, bytes: 300 });
        // Arrival order survives.
        let selected = mailbox.select(block_limits(), HashSet::new()).await;
        assert_eq!(
            selected,
            vec![txs[0].clone(), txs[2].clone(), txs[3].clone()]
        );
        // The finalized one is remembered: a late copy is a duplicate and is not re-added.
        assert!(mailbox.submit(txs[1].clone()).await.unwrap().duplicate);
        assert!(!mailbox.contains(txs[1].hash()).await);
        // New transactions queue behind the replayed ones.
        let new = tx(1, 100, 99);
        mailbox.submit(new.clone()).await.unwrap();
        let selected = mailbox.select(block_limits(), HashSet::new()).await;
        assert_eq!(selected.last(), Some(&new));
        assert_eq!(selected.len(), 4);
        // The re-offer gossips the replayed pending ones (gossiped in the earlier run, maybe
        // lost with a leader), not the one submitted in this run (gossiped already), and once.
        assert_eq!(mailbox.reoffer().await, 3);
        assert_eq!(mailbox.reoffer().await, 0);
    });
}

#[test]
fn journal_stays_bounded_and_compaction_survives_restart() {
    const ROUNDS: u16 = 60;
    let ((before, sections), checkpoint) = runner(7).start_and_recover(|context| async move {
        let (_oracle, _peers, mut channels) = network(&context, 2).await;
        let mailbox = start(&context, 0, config(0), channels.remove(0)).await;
        // Each round admits four transactions and finalizes three; one of each round lives for
        // ten rounds. About 80 KiB is written in all, through 4 KiB sections.
        for round in 0..ROUNDS {
            let txs: Vec<Transaction> = (0..4)
                .map(|i| tx(1 + i, 300, round * 4 + i as u16))
                .collect();
            for tx in &txs {
                mailbox.submit(tx.clone()).await.unwrap();
            }
            let mut finalized: Vec<Hash> = txs[1..].iter().map(Transaction::hash).collect();
            if round >= 10 {
                finalized.push(tx(1, 300, (round - 10) * 4).hash());
            }
            mailbox.finalized(finalized).await;
        }
        let before = mailbox.select(block_limits(), HashSet::new()).await;
        let sections = context.scan("mempool_0").await.unwrap().len();
        (before, sections)
    });
    assert_eq!(before.len(), 10);
    assert!(sections <= 6, "journal kept {sections} sections");

    deterministic::Runner::from(checkpoint).start(|context| async move {
        let (_oracle, _peers, mut channels) = network(&context, 2).await;
        let mailbox = start(&context, 0, config(0), channels.remove(0)).await;
        let after = mailbox.select(block_limits(), HashSet::new()).await;
        assert_eq!(after, before);
    });
}

#[test]
fn select_excludes_and_respects_limits() {
    runner(8).start(|context| async move {
        let (_oracle, _peers, mut channels) = network(&context, 2).await;
        let mailbox = start(&context, 0, config(0), channels.remove(0)).await;
        let txs: Vec<Transaction> = (0..5).map(|tag| tx(1 + tag as u64 % 2, 100, tag)).collect();
        for tx in &txs {
            mailbox.submit(tx.clone()).await.unwrap();
        }
        let exclude: HashSet<Hash> = [txs[0].hash()].into_iter().collect();
        let limits = Limits {
            block_bytes_max: 250,
            ..block_limits()
        };
        let selected = mailbox.select(limits, exclude).await;
        assert_eq!(selected, vec![txs[1].clone(), txs[2].clone()]);
        // Nothing was removed.
        assert_eq!(mailbox.stats().await.txs, 5);
    });
}

#[test]
fn stopped_actor_reports_closed() {
    runner(9).start(|context| async move {
        let (_oracle, _peers, mut channels) = network(&context, 2).await;
        let context = context.child("mempool");
        let (actor, mailbox) = Actor::init(context, config(0)).await;
        let handle = actor.start(channels.remove(0), None);
        handle.abort();
        let _ = handle.await;
        assert_eq!(mailbox.submit(tx(1, 1, 1)).await, Err(Error::Closed));
        assert!(
            mailbox
                .select(block_limits(), HashSet::new())
                .await
                .is_empty()
        );
        assert!(!mailbox.contains(tx(1, 1, 1).hash()).await);
        assert_eq!(mailbox.stats().await, Stats::default());
    });
}

/// Polls until `select` on `mailbox` yields exactly `expected` (as a set), bounded.
async fn eventually_selects(
    context: &deterministic::Context,
    mailbox: &Mailbox,
    expected: &[Hash],
) -> bool {
    let expected: HashSet<Hash> = expected.iter().copied().collect();
    for _ in 0..POLLS_MAX {
        let got: HashSet<Hash> = mailbox
            .select(block_limits(), HashSet::new())
            .await
            .iter()
            .map(Transaction::hash)
            .collect();
        if got == expected {
            return true;
        }
        context.sleep(POLL).await;
    }
    false
}

/// A proposal hint in the format peers used to send (tag 2, a block hash, the hashes).
fn old_hint(block: Hash, hashes: &[Hash]) -> Vec<u8> {
    let mut message = vec![2u8];
    message.extend_from_slice(&block.0);
    message.push(hashes.len() as u8);
    for h in hashes {
        message.extend_from_slice(&h.0);
    }
    message
}

#[test]
fn excluded_transactions_are_skipped_and_no_peer_can_mark_any() {
    runner(9).start(|context| async move {
        let (_oracle, peers, mut channels) = network(&context, 3).await;
        let (mut outsider, _) = channels.pop().unwrap();
        let mut mailboxes = Vec::new();
        for (index, channel) in channels.into_iter().enumerate() {
            mailboxes.push(start(&context, index, config(index), channel).await);
        }
        settle(&context).await;
        let txs: Vec<Transaction> = (0..4).map(|i| tx(1, 20, i)).collect();
        for t in &txs {
            mailboxes[0].submit(t.clone()).await.unwrap();
        }
        let all: Vec<Hash> = txs.iter().map(Transaction::hash).collect();
        assert!(eventually_selects(&context, &mailboxes[1], &all).await);
        // What the proposer's ancestors hold is excluded by the caller, nothing else.
        let exclude: HashSet<Hash> = all[..2].iter().copied().collect();
        let selected = mailboxes[1].select(Limits::default(), exclude).await;
        let selected: Vec<Hash> = selected.iter().map(Transaction::hash).collect();
        assert_eq!(selected, all[2..].to_vec());
        // A Byzantine peer "hints" every transaction in flight, again and again (the old hint
        // message): refused, nothing is skipped anywhere.
        for _ in 0..20 {
            for peer in &peers[..2] {
                outsider.send(
                    Recipients::One(peer.clone()),
                    old_hint(Hash([7; 32]), &all),
                    false,
                );
            }
            context.sleep(Duration::from_millis(100)).await;
        }
        for m in &mailboxes {
            assert!(eventually_selects(&context, m, &all).await);
        }
        // Finalized: gone.
        for m in &mailboxes {
            m.finalized(vec![all[0]]).await;
        }
        for m in &mailboxes {
            assert!(eventually_selects(&context, m, &all[1..]).await);
        }
    });
}

#[test]
fn old_hints_and_garbage_are_ignored() {
    runner(10).start(|context| async move {
        let (_oracle, peers, mut channels) = network(&context, 3).await;
        let (mut outsider, _) = channels.pop().unwrap();
        let mut mailboxes = Vec::new();
        for (index, channel) in channels.into_iter().enumerate() {
            mailboxes.push(start(&context, index, config(index), channel).await);
        }
        settle(&context).await;
        let late = tx(3, 30, 77);
        outsider.send(
            Recipients::One(peers[0].clone()),
            old_hint(Hash([5; 32]), &[late.hash()]),
            false,
        );
        outsider.send(Recipients::One(peers[0].clone()), vec![1u8, 0xff], false);
        outsider.send(Recipients::One(peers[0].clone()), vec![1u8, 2, 0], false);
        outsider.send(Recipients::One(peers[0].clone()), vec![2u8; 40], false);
        outsider.send(
            Recipients::One(peers[0].clone()),
            vec![0u8, 0xff, 0xff, 0x7f],
            false,
        );
        settle(&context).await;
        mailboxes[0].submit(late.clone()).await.unwrap();
        assert!(eventually_selects(&context, &mailboxes[0], &[late.hash()]).await);
    });
}

#[test]
fn an_owner_offers_a_pending_transaction_again_until_it_is_finalized() {
    runner(13).start(|context| async move {
        let mailboxes = start_pools(&context, 3).await;
        let t = tx(1, 40, 9);
        mailboxes[0].submit(t.clone()).await.unwrap();
        assert!(eventually_contains(&context, &mailboxes[1], t.hash()).await);
        // Node 1 learns of a finalized block whose manifest it does not know: it drops every
        // copy (and holds each for finalized a while).
        mailboxes[1].finalized_copies(None).await;
        assert!(!mailboxes[1].contains(t.hash()).await);
        // The chain, caught up, asks for re-offers: nothing is due yet.
        assert_eq!(mailboxes[0].reoffer().await, 0);
        // After reoffer_after it is due; node 1 takes it back (the claim is that old too).
        context.sleep(Config::default().reoffer_after).await;
        assert_eq!(mailboxes[0].reoffer().await, 1);
        assert!(eventually_contains(&context, &mailboxes[1], t.hash()).await);
        // Not due again before twice as long.
        assert_eq!(mailboxes[0].reoffer().await, 0);
        // Finalized at the owner: no more re-offers.
        mailboxes[0].finalized(vec![t.hash()]).await;
        context.sleep(Config::default().copy_ttl * 2).await;
        assert_eq!(mailboxes[0].reoffer().await, 0);
    });
}

/// Starts a mempool whose local transactions go to the leaders `leaders` returns.
async fn start_with_leaders(
    context: &deterministic::Context,
    index: usize,
    cfg: Config,
    channel: Channel,
    leaders: Vec<PublicKey>,
) -> Mailbox {
    let context = context.child("mempool").with_attribute("index", index);
    let (actor, mailbox) = Actor::init(context, cfg).await;
    let schedule: crate::Leaders<PublicKey> =
        std::sync::Arc::new(move |count| leaders.iter().take(count).cloned().collect());
    actor.start(channel, Some(schedule));
    mailbox
}

#[test]
fn local_transactions_go_to_the_upcoming_leaders_only() {
    runner(11).start(|context| async move {
        let (_oracle, peers, mut channels) = network(&context, 4).await;
        let mut mailboxes = Vec::new();
        let cfg = Config {
            forward_leaders: 2,
            ..config(0)
        };
        // Node 0's schedule names 2, 1, 3 as the next leaders; it forwards to the first two.
        let schedule = vec![peers[2].clone(), peers[1].clone(), peers[3].clone()];
        mailboxes.push(start_with_leaders(&context, 0, cfg, channels.remove(0), schedule).await);
        for (index, channel) in channels.into_iter().enumerate() {
            mailboxes.push(start(&context, index + 1, config(index + 1), channel).await);
        }
        settle(&context).await;
        let t = tx(1, 50, 1);
        mailboxes[0].submit(t.clone()).await.unwrap();
        assert!(eventually_contains(&context, &mailboxes[1], t.hash()).await);
        assert!(eventually_contains(&context, &mailboxes[2], t.hash()).await);
        settle(&context).await;
        assert!(
            !mailboxes[3].contains(t.hash()).await,
            "not an upcoming leader"
        );
    });
}

#[test]
fn copies_leave_on_a_finalized_manifest_or_expiry_and_the_owner_keeps_its_own() {
    runner(12).start(|context| async move {
        let mailboxes = start_pools(&context, 3).await;
        let proposed = tx(1, 40, 1);
        let idle = tx(1, 40, 2);
        mailboxes[0].submit(proposed.clone()).await.unwrap();
        mailboxes[0].submit(idle.clone()).await.unwrap();
        for m in &mailboxes[1..] {
            assert!(eventually_contains(&context, m, proposed.hash()).await);
            assert!(eventually_contains(&context, m, idle.hash()).await);
        }
        // Node 1 proposes `proposed` in a block; once that block is finalized, every node that
        // does not reconstruct drops its copy by the block's manifest. Node 0 owns it: only its
        // own reconstruction (`finalized`) removes it.
        for m in &mailboxes {
            m.finalized_copies(Some(vec![proposed.hash()])).await;
        }
        assert!(mailboxes[0].contains(proposed.hash()).await, "owned");
        assert!(!mailboxes[1].contains(proposed.hash()).await);
        assert!(!mailboxes[2].contains(proposed.hash()).await);
        // A late copy of it is refused as recently finalized.
        assert!(mailboxes[2].contains(idle.hash()).await);
        // The other copy expires after copy_ttl; its owner still holds it.
        context.sleep(Config::default().copy_ttl).await;
        for m in &mailboxes[1..] {
            assert!(!m.contains(idle.hash()).await, "expired copy");
        }
        assert!(mailboxes[0].contains(idle.hash()).await);
        // A local submission of a copy adopts it: it survives expiry there.
        let adopted = tx(2, 40, 3);
        mailboxes[0].submit(adopted.clone()).await.unwrap();
        assert!(eventually_contains(&context, &mailboxes[2], adopted.hash()).await);
        assert!(
            mailboxes[2]
                .submit(adopted.clone())
                .await
                .unwrap()
                .duplicate
        );
        context.sleep(Config::default().copy_ttl).await;
        assert!(mailboxes[2].contains(adopted.hash()).await, "adopted");
        assert!(!mailboxes[1].contains(adopted.hash()).await, "expired copy");
    });
}
