//! SSE streams: catch-up in batches, following new finalizations, resumption by `from` and by
//! `Last-Event-ID`, skipping blocks without the namespace, and ending at shutdown. Each test
//! reads a bounded number of events; nothing depends on timing.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::{Fixture, SseEvent, open_stream, verify_answer};
use cortado_types::Transaction;
use serde_json::json;

fn heights(events: &[SseEvent]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

async fn take(reader: &mut common::SseReader, n: usize) -> Vec<SseEvent> {
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        events.push(reader.next().await.expect("stream still open"));
    }
    events
}

#[tokio::test]
async fn headers_from_a_height_then_follow() {
    // Batches of 2 make the three-block catch-up take two index reads.
    let mut fx = Fixture::new(2).await;
    let mut stream = open_stream(&fx, "/v1/stream/headers?from=0", None).await;
    let events = take(&mut stream, 3).await;
    assert_eq!(heights(&events), ["0", "1", "2"]);
    for (e, b) in events.iter().zip(&fx.blocks) {
        assert_eq!(e.event, "header");
        assert_eq!(e.data["height"], b.height());
        assert_eq!(e.data["hash"], b.hash().to_hex());
        // The same JSON as /v1/headers/{height}.
        let (_, _, json) = fx.get(&format!("/v1/headers/{}", b.height())).await;
        assert_eq!(e.data, json);
    }
    // New finalizations arrive in order.
    fx.finalize(&[(3, b"x")]).await;
    fx.finalize(&[]).await;
    let events = take(&mut stream, 2).await;
    assert_eq!(heights(&events), ["3", "4"]);
    assert_eq!(events[1].data["hash"], fx.blocks[4].hash().to_hex());
}

#[tokio::test]
async fn headers_default_to_the_next_height() {
    let mut fx = Fixture::new(64).await;
    let mut stream = open_stream(&fx, "/v1/stream/headers", None).await;
    fx.finalize(&[(1, b"new")]).await;
    let events = take(&mut stream, 1).await;
    assert_eq!(heights(&events), ["3"]);
}

#[tokio::test]
async fn headers_resume_from_last_event_id() {
    let mut fx = Fixture::new(1).await;
    // Last-Event-ID wins over ?from= (a browser reconnects with the original URL).
    let mut stream = open_stream(&fx, "/v1/stream/headers?from=0", Some("0")).await;
    assert_eq!(heights(&take(&mut stream, 2).await), ["1", "2"]);
    let mut stream = open_stream(&fx, "/v1/stream/headers", Some("2")).await;
    fx.finalize(&[(4, b"y")]).await;
    assert_eq!(heights(&take(&mut stream, 1).await), ["3"]);
    let mut stream = open_stream(&fx, "/v1/stream/headers?from=2", None).await;
    assert_eq!(heights(&take(&mut stream, 2).await), ["2", "3"]);
}

#[tokio::test]
async fn streams_end_when_the_node_stops() {
    let fx = Fixture::new(2).await;
    let mut headers = open_stream(&fx, "/v1/stream/headers?from=1", None).await;
    let mut ns = open_stream(&fx, "/v1/stream/namespaces/5?from=0", None).await;
    drop(fx.finalized);
    let mut got = Vec::new();
    while let Some(e) = headers.next().await {
        got.push(e);
    }
    assert_eq!(heights(&got), ["1", "2"]);
    let mut got = Vec::new();
    while let Some(e) = ns.next().await {
        got.push(e);
    }
    assert_eq!(heights(&got), ["0", "2"]);
}

#[tokio::test]
async fn namespace_stream_skips_blocks_without_it() {
    // Batches of 1 so that the skipping crosses batch boundaries.
    let mut fx = Fixture::new(1).await;
    let mut stream = open_stream(&fx, "/v1/stream/namespaces/5?from=0", None).await;
    let events = take(&mut stream, 2).await;
    assert_eq!(heights(&events), ["0", "2"]);
    let tx = |p: &[u8], i: u32| {
        json!({"index": i, "hash": Transaction::new(5u64, p.to_vec()).hash().to_hex(),
               "payload": STANDARD.encode(p)})
    };
    assert_eq!(events[0].event, "namespace_block");
    // The event is the namespace read of that height, with the header and certificate only
    // in their encoded form.
    for e in &events {
        let (_, _, read) = fx.get(&format!("/v1/namespaces/5/blocks/{}", e.id)).await;
        let mut want = json!({"height": read["height"], "block_hash": read["hash"]});
        for key in [
            "header_bytes",
            "certificate_bytes",
            "namespace",
            "status",
            "proof",
            "evidence",
            "transactions",
        ] {
            want[key] = read[key].clone();
        }
        assert_eq!(e.data, want);
        assert_eq!(e.data["status"], "valid");
        verify_answer(&e.data);
    }
    assert_eq!(events[0].data["block_hash"], fx.blocks[0].hash().to_hex());
    assert_eq!(
        events[0].data["transactions"],
        json!([tx(b"b", 1), tx(b"c", 2)])
    );
    assert_eq!(events[1].data["transactions"], json!([tx(b"e", 0)]));
    // Blocks 3 and 4 lack namespace 5; block 5 has it and is the next event.
    fx.finalize(&[(4, b"no")]).await;
    fx.finalize(&[]).await;
    fx.finalize(&[(6, b"z"), (5, b"g")]).await;
    let events = take(&mut stream, 1).await;
    assert_eq!(heights(&events), ["5"]);
    assert_eq!(events[0].data["transactions"], json!([tx(b"g", 0)]));
    assert_eq!(events[0].data["block_hash"], fx.blocks[5].hash().to_hex());
}

#[tokio::test]
async fn namespace_stream_without_payloads_carries_hashes_only() {
    let fx = Fixture::new(64).await;
    let mut full = open_stream(&fx, "/v1/stream/namespaces/5?from=0", None).await;
    let mut lean = open_stream(&fx, "/v1/stream/namespaces/5?from=0&payloads=false", None).await;
    let full = take(&mut full, 2).await;
    let lean = take(&mut lean, 2).await;
    assert_eq!(heights(&lean), ["0", "2"]);
    for (f, l) in full.iter().zip(&lean) {
        let mut want = f.data.clone();
        for tx in want["transactions"].as_array_mut().unwrap() {
            tx.as_object_mut().unwrap().remove("payload");
        }
        assert_eq!(l.data, want);
    }
    assert_eq!(
        lean[0].data["transactions"],
        json!([
            {"index": 1, "hash": Transaction::new(5u64, &b"b"[..]).hash().to_hex()},
            {"index": 2, "hash": Transaction::new(5u64, &b"c"[..]).hash().to_hex()},
        ])
    );
    // Not a boolean: a 400 naming the parameter.
    let (status, _, json) = fx.get("/v1/stream/namespaces/5?payloads=maybe").await;
    assert_eq!(status, 400, "{json}");
}

#[tokio::test]
async fn namespace_stream_serves_invalid_encodings_with_evidence() {
    let mut fx = Fixture::new(1).await;
    let mut stream = open_stream(&fx, "/v1/stream/namespaces/5?from=1", None).await;
    assert_eq!(heights(&take(&mut stream, 1).await), ["2"]);
    let (_, evidence) = fx.finalize_invalid(&[(5, b"bad"), (6, b"fine")], 5).await;
    fx.finalize(&[(4, b"absent")]).await;
    fx.finalize(&[(5, b"good again")]).await;
    // Height 4 lacks namespace 5: no event. Every event verifies offline.
    let events = take(&mut stream, 2).await;
    assert_eq!(heights(&events), ["3", "5"]);
    for e in &events {
        verify_answer(&e.data);
    }
    let invalid = &events[0].data;
    assert_eq!(invalid["status"], "invalid_encoding");
    assert_eq!(invalid["transactions"], json!([]));
    assert_eq!(invalid["proof"]["kind"], "inclusion");
    assert_eq!(common::evidence_of(invalid), evidence);
    assert_eq!(events[1].data["status"], "valid");
    assert_eq!(
        events[1].data["transactions"][0]["payload"],
        STANDARD.encode(b"good again")
    );
    // The other namespace of the invalid block is valid.
    let mut stream = open_stream(&fx, "/v1/stream/namespaces/6?from=0", None).await;
    let events = take(&mut stream, 1).await;
    assert_eq!(heights(&events), ["3"]);
    assert_eq!(events[0].data["status"], "valid");
    verify_answer(&events[0].data);
}

#[tokio::test]
async fn namespace_stream_resumes_from_last_event_id() {
    let mut fx = Fixture::new(64).await;
    let mut stream = open_stream(&fx, "/v1/stream/namespaces/5?from=0", Some("0")).await;
    assert_eq!(heights(&take(&mut stream, 1).await), ["2"]);
    let mut stream = open_stream(&fx, "/v1/stream/namespaces/5?from=1", None).await;
    assert_eq!(heights(&take(&mut stream, 1).await), ["2"]);
    // Defaults to the next height: old blocks with the namespace are not replayed.
    let mut stream = open_stream(&fx, "/v1/stream/namespaces/5", None).await;
    fx.finalize(&[(5, b"later")]).await;
    let events = take(&mut stream, 1).await;
    assert_eq!(heights(&events), ["3"]);
    assert_eq!(
        events[0].data["transactions"][0]["payload"],
        STANDARD.encode(b"later")
    );
}

#[tokio::test]
async fn stream_errors_are_json() {
    let fx = Fixture::new(64).await;
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let bad = StatusCode::BAD_REQUEST;
    fx.expect_error(
        get("/v1/stream/headers?from=abc"),
        bad,
        "invalid_height",
        "from must be a block height",
    )
    .await;
    fx.expect_error(
        get("/v1/stream/namespaces/5?from=-3"),
        bad,
        "invalid_height",
        "got \"-3\"",
    )
    .await;
    fx.expect_error(
        get("/v1/stream/namespaces/x"),
        bad,
        "invalid_namespace",
        "got \"x\"",
    )
    .await;
    let with_id = |uri: &str, id: &str| {
        Request::get(uri)
            .header("last-event-id", id)
            .body(Body::empty())
            .unwrap()
    };
    fx.expect_error(
        with_id("/v1/stream/headers", "abc"),
        bad,
        "invalid_height",
        "Last-Event-ID must be a block height",
    )
    .await;
    // Browsers send no header before their first id, so an empty one is malformed too; and a
    // malformed ?from= is refused even when Last-Event-ID overrides it.
    for (uri, id) in [
        ("/v1/stream/headers?from=2", ""),
        ("/v1/stream/namespaces/1/inbox", " "),
    ] {
        fx.expect_error(
            with_id(uri, id),
            bad,
            "invalid_height",
            "Last-Event-ID must be a block height",
        )
        .await;
    }
    fx.expect_error(
        with_id("/v1/stream/headers?from=AAA", "0"),
        bad,
        "invalid_height",
        "from must be a block height",
    )
    .await;
    fx.expect_error(
        with_id("/v1/stream/namespaces/1", "1.5"),
        bad,
        "invalid_height",
        "Last-Event-ID",
    )
    .await;
}

#[tokio::test]
async fn index_failure_ends_a_stream_with_an_error_event() {
    let fx = Fixture::new(1).await;
    let mut stream = open_stream(&fx, "/v1/stream/headers?from=0", None).await;
    assert_eq!(heights(&take(&mut stream, 1).await), ["0"]);
    fx.index.close().await;
    let event = stream.next().await.expect("an error event");
    assert_eq!(event.event, "error");
    assert_eq!(event.data["code"], "internal");
    assert!(
        stream.next().await.is_none(),
        "the stream ends after an error"
    );
}
