//! The stream feed: subscribers at the tip share one rendering of each event, a stream far
//! behind reads the index and then joins the feed with the same events, and a feed with almost
//! no memory still delivers every event in order. Counts come from `/metrics`, not timing.

mod common;

use axum::{body::Body, http::Request};
use bytes::Bytes;
use common::{Fixture, SseEvent, SseReader, limits, open_stream};
use commonware_codec::Encode;
use cortado_api::ApiConfig;
use cortado_types::{Envelope, Namespace, SenderKey};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SUBSCRIBERS: usize = 20;

async fn take(reader: &mut SseReader, n: usize) -> Vec<SseEvent> {
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        events.push(reader.next().await.expect("stream still open"));
    }
    events
}

/// The value of the counter `name` in `/metrics`.
async fn counter(fx: &Fixture, name: &str) -> u64 {
    let response = fx
        .router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .expect("infallible");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// A signed message from namespace 10 to 20.
fn message(sequence: u64) -> Vec<u8> {
    Envelope::sign(
        common::CHAIN,
        &SenderKey::from_bytes(&[0xa1; 32]).unwrap(),
        Namespace(10),
        Namespace(20),
        sequence,
        Bytes::from_static(b"bob"),
        Bytes::from(format!("m{sequence}")),
    )
    .encode()
    .to_vec()
}

/// Ten blocks (heights 3..=12), namespace 5 in the even ones.
async fn finalize_ten(fx: &mut Fixture) {
    for i in 0..10u64 {
        let payload = format!("tx{i}");
        if i % 2 == 0 {
            fx.finalize(&[(5, payload.as_bytes()), (7, b"other")]).await;
        } else {
            fx.finalize(&[(7, payload.as_bytes())]).await;
        }
    }
}

#[tokio::test]
async fn subscribers_at_the_tip_share_one_rendering_per_event() {
    let mut fx = Fixture::new(64).await;
    let mut headers = Vec::new();
    let mut namespaces = Vec::new();
    for _ in 0..SUBSCRIBERS {
        headers.push(open_stream(&fx, "/v1/stream/headers", None).await);
        namespaces.push(open_stream(&fx, "/v1/stream/namespaces/5", None).await);
    }
    finalize_ten(&mut fx).await;

    let first_headers = take(&mut headers[0], 10).await;
    let ids: Vec<&str> = first_headers.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]);
    for (event, block) in first_headers.iter().zip(&fx.blocks[3..]) {
        let (_, _, json) = fx.get(&format!("/v1/headers/{}", block.height())).await;
        assert_eq!(event.data, json, "the feed sends what the index answers");
    }
    let first_namespaces = take(&mut namespaces[0], 5).await;
    let ids: Vec<&str> = first_namespaces.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["3", "5", "7", "9", "11"], "blocks without 5 skipped");
    for stream in &mut headers[1..] {
        assert_eq!(take(stream, 10).await, first_headers);
    }
    for stream in &mut namespaces[1..] {
        assert_eq!(take(stream, 5).await, first_namespaces);
    }

    // Each header rendered once and each namespace event once, whatever the subscribers.
    assert_eq!(counter(&fx, "api_stream_feed_renders_total").await, 10 + 5);
    assert_eq!(
        counter(&fx, "api_stream_feed_events_total").await,
        (SUBSCRIBERS * (10 + 5)) as u64
    );
}

#[tokio::test]
async fn a_stream_far_behind_reads_the_index_then_joins_the_feed() {
    // Batches of 4 heights: the catch-up takes several index reads.
    let mut fx = Fixture::new(4).await;
    let mut live = open_stream(&fx, "/v1/stream/headers?from=0", None).await;
    let mut live_ns = open_stream(&fx, "/v1/stream/namespaces/5?from=0", None).await;
    let mut seen = take(&mut live, 3).await;
    let mut seen_ns = take(&mut live_ns, 2).await; // heights 0 and 2
    for _ in 0..4 {
        finalize_ten(&mut fx).await;
        seen.extend(take(&mut live, 10).await);
        seen_ns.extend(take(&mut live_ns, 5).await);
    }
    let tip = fx.blocks.len() - 1;
    assert_eq!(tip, 42);
    let rendered = counter(&fx, "api_stream_feed_renders_total").await;

    // 43 heights, of which the feed keeps the last 16: heights 0..=26 come from the index.
    let mut late = open_stream(&fx, "/v1/stream/headers?from=0", None).await;
    let mut late_ns = open_stream(&fx, "/v1/stream/namespaces/5?from=0", None).await;
    assert_eq!(take(&mut late, tip + 1).await, seen);
    assert_eq!(take(&mut late_ns, seen_ns.len()).await, seen_ns);
    assert_eq!(
        counter(&fx, "api_stream_feed_renders_total").await,
        rendered,
        "the kept heights were not rendered again"
    );
    // Both follow the next block from the feed.
    fx.finalize(&[(5, b"next")]).await;
    assert_eq!(take(&mut late, 1).await[0].id, "43");
    assert_eq!(take(&mut late_ns, 1).await[0].id, "43");
    assert_eq!(take(&mut live_ns, 1).await[0].id, "43");
}

#[tokio::test]
async fn a_feed_without_memory_still_delivers_every_event_in_order() {
    let mut cfg = ApiConfig::new(limits(), common::CHAIN);
    cfg.stream_batch_max = 3;
    cfg.bounds.stream_cache_bytes_max = 1;
    let mut fx = Fixture::with_config(cfg).await;
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(open_stream(&fx, "/v1/stream/namespaces/5?from=0", None).await);
    }
    finalize_ten(&mut fx).await;
    let first = take(&mut streams[0], 7).await;
    let ids: Vec<&str> = first.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["0", "2", "3", "5", "7", "9", "11"]);
    // Each stream read after the first finds only the last height kept, so it reads the
    // rest from the index: the same events.
    for stream in &mut streams[1..] {
        assert_eq!(take(stream, 7).await, first);
    }
    fx.finalize(&[(5, b"next")]).await;
    for stream in &mut streams {
        assert_eq!(take(stream, 1).await[0].id, "13");
    }
}

#[tokio::test]
async fn inbox_subscribers_share_the_feed() {
    let mut fx = Fixture::new(64).await;
    let mut streams = Vec::new();
    for _ in 0..SUBSCRIBERS {
        streams.push(open_stream(&fx, "/v1/stream/namespaces/20/inbox", None).await);
    }
    fx.finalize(&[(10, &message(0)), (10, &message(1))]).await; // height 3
    fx.finalize(&[(10, b"plain")]).await; // height 4: no message
    fx.finalize(&[(10, &message(2))]).await; // height 5
    let first = take(&mut streams[0], 2).await;
    assert_eq!((first[0].id.as_str(), first[1].id.as_str()), ("3", "5"));
    assert_eq!(first[0].event, "inbox_block");
    assert_eq!(first[0].data["messages"].as_array().unwrap().len(), 2);
    for stream in &mut streams[1..] {
        assert_eq!(take(stream, 2).await, first);
    }
    // Per height: one header and one inbox rendering (height 4's is empty and sends nothing).
    assert_eq!(counter(&fx, "api_stream_feed_renders_total").await, 3 * 2);
    assert_eq!(
        counter(&fx, "api_stream_feed_events_total").await,
        (SUBSCRIBERS * 2) as u64
    );
}
