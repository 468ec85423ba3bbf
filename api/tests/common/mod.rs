//! Test fixtures: a fake node (a test double of the real mempool and consensus), a real
//! in-memory index with a few finalized blocks, and helpers to call the router and read SSE.

#![allow(dead_code)]

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use cortado_api::{ApiConfig, ConsensusStatus, Node, SubmitError, Submitted, router};
use cortado_storage::Index;
use cortado_types::{
    Block, BlockContext, ChainId, FinalityCertificate, Hash, Height, Limits, Transaction,
};
use http_body_util::BodyExt;
use serde_json::Value;
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::watch;
use tower::ServiceExt;

/// Small limits, so oversize bodies stay small.
pub fn limits() -> Limits {
    Limits {
        tx_bytes_max: 1024,
        block_bytes_max: 64 * 1024,
        namespaces_per_block_max: 64,
        txs_per_block_max: 1024,
    }
}

pub const CHAIN: ChainId = ChainId(7);

/// What the fake node records and how it answers.
#[derive(Default)]
pub struct FakeState {
    /// Transactions submitted and accepted, in order.
    pub submitted: Vec<Transaction>,
    /// Hashes reported as pending.
    pub pending: HashSet<Hash>,
    /// If set, the answer to the next submissions.
    pub refuse: Option<SubmitError>,
}

/// A test double of the node: an in-memory set of pending hashes, no consensus.
#[derive(Clone, Default)]
pub struct FakeNode(pub Arc<Mutex<FakeState>>);

impl FakeNode {
    pub fn refuse(&self, err: Option<SubmitError>) {
        self.0.lock().unwrap().refuse = err;
    }

    pub fn submitted(&self) -> Vec<Transaction> {
        self.0.lock().unwrap().submitted.clone()
    }
}

impl Node for FakeNode {
    async fn submit(&self, tx: Transaction) -> Result<Submitted, SubmitError> {
        let mut state = self.0.lock().unwrap();
        if let Some(err) = state.refuse.clone() {
            return Err(err);
        }
        let hash = tx.hash();
        let duplicate = !state.pending.insert(hash);
        state.submitted.push(tx);
        Ok(Submitted { hash, duplicate })
    }

    async fn is_pending(&self, hash: Hash) -> bool {
        self.0.lock().unwrap().pending.contains(&hash)
    }

    async fn status(&self) -> ConsensusStatus {
        let state = self.0.lock().unwrap();
        ConsensusStatus {
            view: 42,
            validators: 4,
            peers: 3,
            last_finality_latency_ms: Some(250),
            mempool_txs: state.pending.len(),
            mempool_bytes: state.submitted.iter().map(|t| t.payload.len()).sum(),
        }
    }
}

/// A block at `height` after `parent` holding `(namespace, payload)` transactions.
pub fn block(height: Height, parent: Hash, txs: &[(u64, &[u8])]) -> Block {
    let ctx = BlockContext {
        chain_id: CHAIN,
        height,
        epoch: 0,
        view: 2 * height + 1,
        parent_view: 2 * height,
        leader: [0xab; 32],
        timestamp_ms: 1_700_000_000_000 + height,
        parent,
    };
    let txs = txs
        .iter()
        .map(|(ns, p)| Transaction::new(*ns, p.to_vec()))
        .collect();
    Block::build(ctx, txs, &limits()).expect("test block within limits")
}

pub fn certificate(block: &Block) -> FinalityCertificate {
    FinalityCertificate {
        epoch: 0,
        view: block.header().view,
        parent_view: block.header().parent_view,
        block: block.hash(),
        signature: [0x5c; 48],
    }
}

/// A running API over a fake node and an in-memory index.
pub struct Fixture {
    pub router: Router,
    pub node: FakeNode,
    pub index: Index,
    pub finalized: watch::Sender<u64>,
    pub blocks: Vec<Block>,
}

impl Fixture {
    /// Heights 0..=2: namespace 5 in blocks 0 and 2 only.
    pub async fn new(batch: usize) -> Fixture {
        let index = Index::open_in_memory(limits()).await.expect("index");
        let (finalized, rx) = watch::channel(0);
        let node = FakeNode::default();
        let mut cfg = ApiConfig::new(limits(), CHAIN);
        cfg.stream_batch_max = batch;
        cfg.check().expect("valid config");
        let router = router(node.clone(), index.clone(), rx, cfg);
        let mut fx = Fixture {
            router,
            node,
            index,
            finalized,
            blocks: Vec::new(),
        };
        fx.finalize(&[(1, b"a"), (5, b"b"), (5, b"c")]).await;
        fx.finalize(&[(2, b"d")]).await;
        fx.finalize(&[(9, b"f"), (5, b"e")]).await;
        fx
    }

    /// Finalizes the next block: index it, then announce its height.
    pub async fn finalize(&mut self, txs: &[(u64, &[u8])]) -> Block {
        let height = self.blocks.len() as Height;
        let parent = self.blocks.last().map_or(Hash::ZERO, Block::hash);
        let b = block(height, parent, txs);
        self.index
            .insert_finalized(&b, &certificate(&b), 0)
            .await
            .expect("insert");
        self.finalized.send_replace(height);
        self.blocks.push(b.clone());
        b
    }

    /// Sends a request and reads the whole JSON answer.
    pub async fn call(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        (status, headers, json)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, HeaderMap, Value) {
        self.call(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Checks an error answer: status, code, the message containing `needle`; then that the
    /// router still serves.
    pub async fn expect_error(
        &self,
        req: Request<Body>,
        status: StatusCode,
        code: &str,
        needle: &str,
    ) -> HeaderMap {
        let (got, headers, json) = self.call(req).await;
        assert_eq!(got, status, "{json}");
        assert_eq!(json["code"], code, "{json}");
        let message = json["error"].as_str().expect("error is a string");
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        assert_eq!(
            json.as_object().unwrap().len(),
            2,
            "only error and code: {json}"
        );
        let (ok, _, _) = self.get("/v1/status").await;
        assert_eq!(ok, StatusCode::OK, "router still serves");
        headers
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: String,
    pub data: Value,
}

/// Reads events from an SSE body, skipping comments (keep-alives).
pub struct SseReader {
    body: Body,
    buf: String,
}

impl SseReader {
    pub fn new(body: Body) -> Self {
        Self {
            body,
            buf: String::new(),
        }
    }

    /// The next event, or `None` when the stream ends. Guarded by a generous timeout so a
    /// broken stream fails the test rather than hanging it.
    pub async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(Duration::from_secs(30), self.next_inner())
            .await
            .expect("an SSE event within 30 s")
    }

    async fn next_inner(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: String::new(),
                    id: String::new(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a comment
                }
                event.data = serde_json::from_str(&data).expect("event data is JSON");
                return Some(event);
            }
            let frame = self.body.frame().await?.expect("body frame");
            if let Ok(bytes) = frame.into_data() {
                self.buf
                    .push_str(std::str::from_utf8(&bytes).expect("utf-8"));
            }
        }
    }
}

/// Opens an SSE stream; panics unless the answer is 200 text/event-stream.
pub async fn open_stream(fx: &Fixture, uri: &str, last_event_id: Option<&str>) -> SseReader {
    let mut req = Request::get(uri);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let response = fx
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "SSE content type"
    );
    SseReader::new(response.into_body())
}
