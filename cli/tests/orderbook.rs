//! The order-book example on a live 4-node network: two rollups (A follows node 0, B node 1)
//! settle a scripted session of orders with verified cross-rollup messages; afterwards both
//! states equal a replay from Cortado's finalized data (through node 2), each asset's supply is
//! conserved, a message signed by anyone but the peer's operator is ignored even when
//! finalized, and a forged message in no finalized block fails verification.

mod common;

use common::Net;
use cortado_client::{
    Trust,
    sdk::{Client, Options, verify_document},
};
use cortado_orderbook::{
    GENESIS_BALANCE, Message, NS_A, Order, Side, USERS,
    follow::{Follower, place, session},
    operator_key,
};
use std::time::{Duration, Instant};

const PAIRS: u64 = 50;

fn follower(trust: &Trust, url: &str, side: Side, post: bool) -> Follower {
    let (own, peer) = match side {
        Side::A => (1001, 1002),
        Side::B => (1002, 1001),
    };
    Follower::new(
        side,
        trust.clone(),
        url.to_string(),
        operator_key(peer).address(),
        post.then(|| operator_key(own)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderbook_session_settles_and_replays() {
    let dir = std::env::temp_dir().join(format!("cortado-orderbook-{}", std::process::id()));
    let net = Net::start(&dir, 4);
    net.wait_height(0, 1).await;
    let trust =
        Trust::from_genesis_toml(&std::fs::read_to_string(dir.join("genesis.toml")).unwrap())
            .unwrap();
    let mut a = follower(&trust, &net.nodes[0].url, Side::A, true);
    let mut b = follower(&trust, &net.nodes[1].url, Side::B, true);

    // A finalized message that is not signed by A's operator: B must ignore it.
    let user = Client::new(
        trust.clone(),
        vec![net.nodes[3].url.clone()],
        Options::default(),
    );
    let mut impostor_state = cortado_orderbook::State::genesis(Side::A);
    impostor_state.apply_transaction(
        &Order {
            id: "free-beta".into(),
            user: "mallory".into(),
            give: 1,
            want: 1,
        }
        .payload(),
    );
    // mallory has no ALPHA: the impostor fakes the outbox entry directly.
    impostor_state.outbox.push(Message::Offer(Order {
        id: "free-beta".into(),
        user: "mallory".into(),
        give: 40,
        want: 40,
    }));
    let forged = impostor_state
        .envelope(trust.chain_id, &operator_key(666), 0)
        .expect("outbox entry");
    let forged_hash = user.send_message(&forged).await.unwrap();
    user.wait_final(forged_hash, Duration::from_secs(60))
        .await
        .unwrap();

    // Squatting (issue 13): a stranger without the operators' keys posts envelopes naming
    // each operator as sender with sequence numbers 0-29, before any real message. Each is
    // refused (it would not be a message anyway: the index and the SDK check the signature).
    for (side, operator) in [(Side::A, 1001), (Side::B, 1002)] {
        let mut squatter = cortado_orderbook::State::genesis(side);
        for sequence in 0..30u64 {
            squatter.outbox.push(Message::Fill {
                order: format!("A-{sequence}"),
                counterparty: "mallory".into(),
            });
            let squat = cortado_types::Envelope {
                sender: operator_key(operator).address(),
                ..squatter
                    .envelope(trust.chain_id, &operator_key(666), sequence)
                    .unwrap()
            };
            match user.send_message(&squat).await {
                Err(cortado_client::sdk::SdkError::Refused { status: 400, .. }) => {}
                other => panic!("a squatting envelope was not refused: {other:?}"),
            }
        }
    }

    // The session: 50 matching pairs plus refused overdrafts, placed through node 3.
    let orders = session(PAIRS);
    let hashes = place(&user, &orders).await.unwrap();
    assert!(orders.len() >= 100, "at least 100 orders");
    // A bait order on B that only the forged offer would match.
    let bait = Order {
        id: "B-bait".into(),
        user: "dave".into(),
        give: 40,
        want: 40,
    };
    user.submit(Side::B.namespace(), &bait.payload())
        .await
        .unwrap();

    // Run both rollups until every pair has settled on both sides.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let (sa, sb) = (a.step().await.unwrap(), b.step().await.unwrap());
        a.post().await.unwrap();
        b.post().await.unwrap();
        // Done when every pair settled on both sides and B has applied the bait order (placed
        // last, it may become final after the last trade).
        let bait_applied = b.state.book.iter().any(|id| id == "B-bait")
            || b.state.trades.iter().any(|(_, id)| id == "B-bait");
        if a.state.trades.len() as u64 == PAIRS
            && b.state.trades.len() as u64 == PAIRS
            && bait_applied
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "trades A {} B {}",
            a.state.trades.len(),
            b.state.trades.len()
        );
        if !sa && !sb {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for hash in &hashes {
        user.wait_final(*hash, Duration::from_secs(30))
            .await
            .unwrap();
    }

    // Supply is conserved on both rollups; every trade moved value both ways.
    for s in [&a.state, &b.state] {
        assert_eq!(
            s.supply(),
            GENESIS_BALANCE * USERS.len() as u64,
            "{:?}",
            s.side
        );
        // Refused: the overdrafts (A only), and any order finalized twice (a transaction may
        // land in two blocks after a view change; its second copy repeats an id).
        let traded = |id: &String| s.trades.iter().any(|(a, b)| a == id || b == id);
        assert!(
            s.refused
                .iter()
                .all(|id| id.starts_with("A-overdraft") || traded(id)),
            "{:?}",
            s.refused
        );
    }
    let overdrafts: std::collections::BTreeSet<_> = a
        .state
        .refused
        .iter()
        .filter(|id| id.starts_with("A-overdraft"))
        .collect();
    assert_eq!(
        overdrafts.len(),
        PAIRS.div_ceil(5) as usize,
        "overdrafts refused"
    );
    assert!(a.state.escrow.is_empty(), "every A order settled");
    // The forged offer was finalized but ignored: the bait is still on the book, unmatched.
    assert!(b.state.book.iter().any(|id| id == "B-bait"));
    assert!(b.state.trades.iter().all(|(x, _)| x != "free-beta"));

    // Replays from the chain alone (node 2, no posting) reach the same states.
    let (ha, hb) = (a.state.height, b.state.height);
    let mut ra = follower(&trust, &net.nodes[2].url, Side::A, false);
    let mut rb = follower(&trust, &net.nodes[2].url, Side::B, false);
    ra.catch_up(ha).await.unwrap();
    rb.catch_up(hb).await.unwrap();
    assert_eq!(ra.state, a.state, "A replays to the same state");
    assert_eq!(rb.state, b.state, "B replays to the same state");

    // A message in no finalized block cannot be proven: append a forged offer to a real,
    // verified namespace answer of A, and verification fails.
    let signed = a
        .state
        .envelope(trust.chain_id, &operator_key(1001), 0)
        .unwrap();
    let located = user
        .wait_final(
            cortado_types::Transaction::new(
                NS_A,
                commonware_codec::Encode::encode(&signed).to_vec(),
            )
            .hash(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let (_, mut answer) = net
        .get(
            0,
            &format!("/v1/namespaces/{}/blocks/{}", NS_A, located.height),
        )
        .await
        .unwrap();
    assert!(verify_document(&trust, &answer).is_ok());
    let mut fake = signed.clone();
    fake.sequence = 999;
    answer["transactions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "index": 0,
            "hash": "00",
            "payload": base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                commonware_codec::Encode::encode(&fake),
            ),
        }));
    assert!(
        verify_document(&trust, &answer).is_err(),
        "a forged message does not verify"
    );

    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
