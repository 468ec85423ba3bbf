//! Cross-rollup message latency against a running network: from submitting a message on
//! rollup A (namespace 10) to its verified receipt by rollup B (namespace 20) through the SDK's
//! inbox, next to plain finality of the same transactions as a client sees it.
//!
//! ```sh
//! cargo run --release -p cortado -- dev &
//! cargo run --release -p cortado-client --features http --example message_latency -- \
//!     .cortado-dev/genesis.toml http://127.0.0.1:27100 http://127.0.0.1:27101 200
//! ```

use bytes::Bytes;
use cortado_client::{
    Trust,
    sdk::{Client, Options},
};
use cortado_types::{Envelope, Namespace, SenderKey};
use futures::StreamExt;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(((v.len().max(1) - 1) as f64 * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: message_latency GENESIS SEND_URL RECEIVE_URL COUNT");
        std::process::exit(2);
    }
    let trust = Trust::from_genesis_toml(&std::fs::read_to_string(&args[1]).unwrap()).unwrap();
    let count: u64 = args[4].parse().unwrap();
    let options = Options {
        poll_interval: Duration::from_millis(5),
        ..Options::default()
    };
    let chain = trust.chain_id;
    // The sending user's key (fixed, so a later run continues the same stream).
    let alice = SenderKey::from_bytes(&[0xa1; 32]).expect("a valid key");
    let sender = Client::new(trust.clone(), vec![args[2].clone()], options.clone());
    let receiver = Client::new(trust, vec![args[3].clone()], options);
    let (a, b) = (Namespace(10), Namespace(20));
    // Continue the sequence where an earlier run stopped.
    let start = {
        let mut next = 0;
        loop {
            let (page, full) = receiver
                .inbox_page(b, a, &alice.address(), next)
                .await
                .unwrap();
            if let Some(last) = page.last() {
                next = last.envelope.sequence + 1;
            }
            if !full {
                break next;
            }
        }
    };
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let received: Arc<Mutex<Vec<f64>>> = Arc::default();
    let inbox = {
        let (sent, received) = (sent.clone(), received.clone());
        let mut stream = Box::pin(receiver.inbox(b, a, alice.address(), start));
        tokio::spawn(async move {
            while let Some(message) = stream.next().await {
                let message = message.expect("every message verifies");
                let now = Instant::now();
                if let Some(at) = sent.lock().unwrap().remove(&message.envelope.sequence) {
                    received
                        .lock()
                        .unwrap()
                        .push((now - at).as_secs_f64() * 1e3);
                }
            }
        })
    };
    let mut finality = Vec::new();
    let mut waits = Vec::new();
    for sequence in start..start + count {
        let envelope = Envelope::sign(
            chain,
            &alice,
            a,
            b,
            sequence,
            Bytes::from_static(b"bob"),
            Bytes::from(format!("transfer {sequence}")),
        );
        sent.lock().unwrap().insert(sequence, Instant::now());
        let at = Instant::now();
        let hash = sender.send_message(&envelope).await.unwrap();
        let sender = sender.clone();
        waits.push(tokio::spawn(async move {
            sender
                .wait_final(hash, Duration::from_secs(30))
                .await
                .unwrap();
            (Instant::now() - at).as_secs_f64() * 1e3
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        if waits.len() >= 16 {
            for w in waits.drain(..) {
                finality.push(w.await.unwrap());
            }
        }
    }
    for w in waits {
        finality.push(w.await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sent.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    inbox.abort();
    let mut received = received.lock().unwrap().clone();
    println!(
        "messages: {count} sent, {} received verified; submit -> verified receipt p50 {:.0} ms p99 {:.0} ms",
        received.len(),
        percentile(&mut received, 0.5),
        percentile(&mut received, 0.99)
    );
    println!(
        "plain finality (submit -> wait_final verified) p50 {:.0} ms p99 {:.0} ms",
        percentile(&mut finality, 0.5),
        percentile(&mut finality, 0.99)
    );
}
