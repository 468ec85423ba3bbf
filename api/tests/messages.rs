//! The inbox: cross-rollup messages by destination, each proven by a block of its source
//! namespace, with sequence gaps visible.

mod common;

use axum::{body::Body, http::Request, http::StatusCode};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use common::{Fixture, hex_field, limits, params};
use commonware_codec::{Decode, Encode};
use cortado_coding::{NamespaceProof, verify_namespace};
use cortado_types::{Envelope, Header, Namespace, SenderKey};
use serde_json::Value;

fn key(seed: u8) -> SenderKey {
    SenderKey::from_bytes(&[seed; 32]).unwrap()
}

fn signed(by: u8, source: u64, destination: u64, sequence: u64, body: &str) -> Envelope {
    Envelope::sign(
        common::CHAIN,
        &key(by),
        Namespace(source),
        Namespace(destination),
        sequence,
        Bytes::from_static(b"bob"),
        Bytes::copy_from_slice(body.as_bytes()),
    )
}

/// A message of alice (key 0xa1…).
fn message(source: u64, destination: u64, sequence: u64, body: &str) -> Vec<u8> {
    signed(0xa1, source, destination, sequence, body)
        .encode()
        .to_vec()
}

fn alice_hex() -> String {
    hex::encode(key(0xa1).address().as_bytes())
}

/// What a destination rollup checks of each message: its block's proof verifies over the
/// block's namespace transactions, and the transaction at its position is this envelope.
fn verify_inbox(json: &Value) -> Vec<Envelope> {
    let blocks = json["blocks"].as_array().unwrap();
    let mut out = Vec::new();
    for m in json["messages"].as_array().unwrap() {
        let block = &blocks[m["block"].as_u64().unwrap() as usize];
        let header = Header::decode_cfg(
            hex_field(block, "header_bytes"),
            &limits().namespaces_per_block_max,
        )
        .unwrap();
        assert_eq!(header.height, m["height"].as_u64().unwrap());
        let proof = NamespaceProof::decode_cfg(
            hex_field(&block["namespace_proof"], "bytes"),
            &limits().namespaces_per_block_max,
        )
        .unwrap();
        let payloads: Vec<Bytes> = block["namespace_transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| Bytes::from(STANDARD.decode(t["payload"].as_str().unwrap()).unwrap()))
            .collect();
        let source = Namespace(m["source"].as_u64().unwrap());
        verify_namespace(params(), &header, source, &payloads, &proof).expect("proof verifies");
        let payload = &payloads[m["position"].as_u64().unwrap() as usize];
        let envelope =
            Envelope::from_transaction(common::CHAIN, source, payload).expect("a signed message");
        assert_eq!(envelope.sequence, m["sequence"].as_u64().unwrap());
        assert_eq!(STANDARD.encode(&envelope.body), m["body"].as_str().unwrap());
        out.push(envelope);
    }
    out
}

fn bodies(envelopes: &[Envelope]) -> Vec<String> {
    envelopes
        .iter()
        .map(|e| String::from_utf8(e.body.to_vec()).unwrap())
        .collect()
}

#[tokio::test]
async fn inbox_serves_proven_messages_in_order_with_gaps() {
    let mut fx = Fixture::new(64).await;
    let (a0, a1, a3, b0) = (
        message(10, 20, 0, "a0"),
        message(10, 20, 1, "a1"),
        message(10, 20, 3, "a3"),
        message(11, 20, 0, "b0"),
    );
    let spoofed = message(10, 20, 2, "posted in 12");
    fx.finalize(&[(10, &a0), (11, &b0), (10, b"plain"), (12, &spoofed)])
        .await;
    fx.finalize(&[(10, &a1)]).await;
    fx.finalize(&[(10, &a3), (10, &message(10, 21, 0, "elsewhere"))])
        .await;

    let (status, _, json) = fx
        .get(&format!(
            "/v1/namespaces/20/inbox?source=10&sender={}",
            alice_hex()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(bodies(&verify_inbox(&json)), ["a0", "a1", "a3"]);
    assert_eq!(json["gaps"], serde_json::json!([[2, 2]]));
    assert_eq!(json["next"], Value::Null);
    // One proof per (block, source).
    assert_eq!(json["blocks"].as_array().unwrap().len(), 3);
    // Squatting (issue 13): a stranger names alice as the sender of messages numbered 0-2
    // with bodies of its own, signed by its own key, finalized before alice's message 2. They
    // are not messages: alice's stream is unchanged and her real message 2 fills the gap.
    let squats: Vec<Vec<u8>> = (0..3)
        .map(|sequence| {
            Envelope {
                sender: key(0xa1).address(),
                ..signed(0x66, 10, 20, sequence, "squatted")
            }
            .encode()
            .to_vec()
        })
        .collect();
    fx.finalize(&[(10, &squats[0]), (10, &squats[1]), (10, &squats[2])])
        .await;
    fx.finalize(&[(10, &message(10, 20, 2, "a2"))]).await;
    let alice = format!("/v1/namespaces/20/inbox?source=10&sender={}", alice_hex());
    let (_, _, again) = fx.get(&alice).await;
    assert_eq!(bodies(&verify_inbox(&again)), ["a0", "a1", "a2", "a3"]);
    assert_eq!(again["gaps"], serde_json::json!([]));
    // The stranger's own signed messages are its own stream, numbered independently.
    let own = signed(0x66, 10, 20, 0, "mallory").encode().to_vec();
    fx.finalize(&[(10, &own)]).await;
    let (_, _, still) = fx.get(&alice).await;
    assert_eq!(bodies(&verify_inbox(&still)), ["a0", "a1", "a2", "a3"]);
    // Without a sender: every sender's messages of the source, in finalization order.
    let (_, _, every) = fx.get("/v1/namespaces/20/inbox?source=10").await;
    assert_eq!(
        bodies(&verify_inbox(&every)),
        ["a0", "a1", "a3", "a2", "mallory"]
    );
    assert_eq!(every["gaps"], serde_json::json!([]));

    // Paging by sequence.
    let (_, _, page) = fx
        .get(&format!(
            "/v1/namespaces/20/inbox?source=10&sender={}&from_seq=1&limit=1",
            alice_hex()
        ))
        .await;
    assert_eq!(bodies(&verify_inbox(&page)), ["a1"]);
    assert_eq!(page["next"], 2);

    // Every source, in finalization order.
    let (_, _, all) = fx.get("/v1/namespaces/20/inbox").await;
    assert_eq!(
        bodies(&verify_inbox(&all)),
        ["a0", "b0", "a1", "a3", "a2", "mallory"]
    );
    let (_, _, later) = fx.get("/v1/namespaces/20/inbox?from=4").await;
    assert_eq!(bodies(&verify_inbox(&later)), ["a1", "a3", "a2", "mallory"]);

    // Tampering is caught by the reader: change a byte of another transaction of the block.
    let mut tampered = json.clone();
    let txs = tampered["blocks"][0]["namespace_transactions"]
        .as_array_mut()
        .unwrap();
    txs.swap(0, 1);
    let result = std::panic::catch_unwind(|| verify_inbox(&tampered));
    assert!(result.is_err(), "a reordered namespace does not verify");

    for (uri, needle) in [
        (
            "/v1/namespaces/20/inbox?from_seq=3",
            "from_seq needs source",
        ),
        (
            "/v1/namespaces/20/inbox?source=10&sender=0000000000000000000000000000000000000000&from=3",
            "not both",
        ),
        (
            "/v1/namespaces/20/inbox?source=10&from_seq=3",
            "from_seq needs source and sender",
        ),
        ("/v1/namespaces/20/inbox?limit=0", "limit must be"),
        (
            "/v1/namespaces/20/inbox?source=10&sender=0000000000000000000000000000000000000000&from_seq=x",
            "from_seq must be",
        ),
    ] {
        fx.expect_error(
            Request::get(uri).body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
            needle,
        )
        .await;
    }
}

#[tokio::test]
async fn inbox_stream_sends_each_block_of_messages_and_resumes() {
    // A batch of 2 messages: a block of 3 messages to 20 must still come whole.
    let mut fx = Fixture::new(2).await;
    let (a0, a1, a2) = (
        message(10, 20, 0, "a0"),
        message(10, 20, 1, "a1"),
        message(10, 20, 2, "a2"),
    );
    let b0 = message(11, 20, 0, "b0");
    fx.finalize(&[(10, &a0), (10, &a1), (11, &b0)]).await; // height 3
    fx.finalize(&[(10, b"plain")]).await; // height 4: no message
    let mut stream = common::open_stream(&fx, "/v1/stream/namespaces/20/inbox?from=0", None).await;
    let first = stream.next().await.unwrap();
    assert_eq!(
        (first.event.as_str(), first.id.as_str()),
        ("inbox_block", "3")
    );
    assert_eq!(bodies(&verify_inbox(&first.data)), ["a0", "a1", "b0"]);
    // A block finalized while the stream is open.
    fx.finalize(&[(10, &a2), (10, &message(10, 21, 0, "not ours"))])
        .await; // height 5
    let second = stream.next().await.unwrap();
    assert_eq!(second.id, "5");
    assert_eq!(bodies(&verify_inbox(&second.data)), ["a2"]);
    // Resuming after height 3 skips it.
    let mut resumed = common::open_stream(&fx, "/v1/stream/namespaces/20/inbox", Some("3")).await;
    assert_eq!(resumed.next().await.unwrap().id, "5");
}

/// A payload that starts like a message but is not a valid one of its namespace on this chain
/// is refused at submission with `invalid_message`, naming what failed; a valid one and an
/// ordinary payload are accepted.
#[tokio::test]
async fn submissions_of_invalid_messages_are_refused() {
    let fx = Fixture::new(64).await;
    let post = |ns: u64, payload: Vec<u8>| {
        Request::post(format!("/v1/transactions?namespace={ns}"))
            .header("content-type", "application/octet-stream")
            .body(Body::from(payload))
            .unwrap()
    };
    let forged = Envelope {
        sender: key(0xa1).address(),
        ..signed(0x66, 10, 20, 0, "squat")
    };
    let other_chain = Envelope::sign(
        cortado_types::ChainId(common::CHAIN.0 + 1),
        &key(0xa1),
        Namespace(10),
        Namespace(20),
        0,
        Bytes::new(),
        Bytes::from_static(b"elsewhere"),
    );
    for (ns, payload, needle) in [
        (10, forged.encode().to_vec(), "is not signed by it"),
        (10, other_chain.encode().to_vec(), "is not signed by it"),
        (11, message(10, 20, 0, "a0"), "posted in 11"),
        (10, b"CXM1\x01old".to_vec(), "malformed envelope"),
    ] {
        fx.expect_error(
            post(ns, payload),
            StatusCode::BAD_REQUEST,
            "invalid_message",
            needle,
        )
        .await;
    }
    for (ns, payload) in [(10, message(10, 20, 0, "a0")), (10, b"plain".to_vec())] {
        let (status, _, json) = fx.call(post(ns, payload)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    }
}

/// `response_bytes_max` (issue 14): an inbox answer stops before the proving blocks' payloads
/// pass the budget, always with at least one message, and `next` leads to the rest. Paged
/// through, every message comes once, proven.
#[tokio::test]
async fn inbox_answers_stop_at_the_response_budget_and_resume() {
    let mut cfg = cortado_api::ApiConfig::new(limits(), common::CHAIN);
    // Less than one block's messages: one block per answer.
    cfg.bounds.response_bytes_max = 16;
    let mut fx = Fixture::with_config(cfg).await;
    let sent: Vec<String> = (0..4).map(|s| format!("m{s}")).collect();
    for pair in sent.chunks(2) {
        let seq = |b: &str| b[1..].parse::<u64>().unwrap();
        let (x, y) = (
            message(10, 20, seq(&pair[0]), &pair[0]),
            message(10, 20, seq(&pair[1]), &pair[1]),
        );
        fx.finalize(&[(10, &x), (10, &y)]).await;
    }
    for by_source in [false, true] {
        let mut got = Vec::new();
        let mut uri = if by_source {
            format!("/v1/namespaces/20/inbox?source=10&sender={}", alice_hex())
        } else {
            "/v1/namespaces/20/inbox".to_string()
        };
        for _ in 0..10 {
            let (status, _, json) = fx.get(&uri).await;
            assert_eq!(status, StatusCode::OK, "{json}");
            assert_eq!(json["blocks"].as_array().unwrap().len(), 1, "{json}");
            for body in bodies(&verify_inbox(&json)) {
                if !got.contains(&body) {
                    got.push(body);
                }
            }
            let Some(next) = json["next"].as_u64() else {
                break;
            };
            uri = if by_source {
                format!(
                    "/v1/namespaces/20/inbox?source=10&sender={}&from_seq={next}",
                    alice_hex()
                )
            } else {
                format!("/v1/namespaces/20/inbox?from={next}")
            };
        }
        assert_eq!(got, sent, "by source: {by_source}");
    }
    // A limit never splits a height: a limit of 1 still answers the first height whole, and
    // `next` is the height after it.
    let (_, _, one) = fx.get("/v1/namespaces/20/inbox?limit=1").await;
    assert_eq!(bodies(&verify_inbox(&one)), ["m0", "m1"]);
    let first = one["messages"][0]["height"].as_u64().unwrap();
    assert_eq!(one["next"], first + 1);
    let (_, _, rest) = fx
        .get(&format!(
            "/v1/namespaces/20/inbox?limit=1&from={}",
            first + 1
        ))
        .await;
    assert_eq!(bodies(&verify_inbox(&rest)), ["m2", "m3"]);
}
