//! Test fixtures: a fake node (a test double of the real mempool and consensus), a real
//! in-memory index with a few finalized blocks, and helpers to call the router and read SSE.

#![allow(dead_code)]

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use commonware_codec::Decode;
use cortado_api::{ApiConfig, ConsensusStatus, Node, SubmitError, Submitted, router};
use cortado_coding::{
    AbsenceProof, Chunk, InvalidEncodingEvidence, NamespaceProof, Params, build_block,
    encode_namespace_invalid, invalid_encoding_evidence, namespace_entry, verify_absence,
    verify_invalid_encoding, verify_namespace,
};
use cortado_storage::Index;
use cortado_types::{
    Block, BlockContext, ChainId, FinalityCertificate, Hash, Header, Height, Limits, Namespace,
    NamespaceData, Transaction,
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
    /// If set, submissions wait for a permit of this semaphore (close it to let them go).
    pub stall: Option<Arc<tokio::sync::Semaphore>>,
}

/// A test double of the node: an in-memory set of pending hashes, no consensus.
#[derive(Clone, Default)]
pub struct FakeNode(pub Arc<Mutex<FakeState>>);

impl FakeNode {
    pub fn refuse(&self, err: Option<SubmitError>) {
        self.0.lock().unwrap().refuse = err;
    }

    /// Makes submissions wait until the returned semaphore is closed.
    pub fn stall(&self) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        self.0.lock().unwrap().stall = Some(gate.clone());
        gate
    }

    pub fn submitted(&self) -> Vec<Transaction> {
        self.0.lock().unwrap().submitted.clone()
    }
}

impl Node for FakeNode {
    async fn submit(&self, tx: Transaction) -> Result<Submitted, SubmitError> {
        let stall = self.0.lock().unwrap().stall.clone();
        if let Some(stall) = stall {
            let _ = stall.acquire().await;
        }
        let mut state = self.0.lock().unwrap();
        if let Some(err) = state.refuse.clone() {
            return Err(err);
        }
        let hash = tx.hash();
        let duplicate = !state.pending.insert(hash);
        // A bundle is pending under its own hash too, as in the mempool.
        if let Ok(bundle) = cortado_types::Bundle::from_carrier(&tx, usize::MAX) {
            state.pending.insert(bundle.hash());
        }
        state.submitted.push(tx);
        Ok(Submitted { hash, duplicate })
    }

    async fn is_pending(&self, hash: Hash) -> bool {
        self.0.lock().unwrap().pending.contains(&hash)
    }

    async fn metrics(&self) -> String {
        "# HELP node_height Finalized height.\n# TYPE node_height gauge\nnode_height 2\n# EOF\n"
            .to_string()
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
            dispersal: Default::default(),
            sync: cortado_api::SyncStatus {
                syncing: true,
                height: 2,
                tip: 902,
                rate_blocks_per_s: 150.0,
                chain_rate_blocks_per_s: 10.0,
                eta_s: Some(6.5),
            },
        }
    }
}

/// The coding parameters of the test chain: four validators, k = 2.
pub fn params() -> Params {
    Params::for_validators(4)
}

/// The context of the block at `height` after `parent` (none for genesis), with the parent's
/// hash and the history accumulator it leaves.
fn context(height: Height, parent: Option<&Header>) -> BlockContext {
    BlockContext {
        chain_id: CHAIN,
        height,
        epoch: 0,
        view: 2 * height + 1,
        parent_view: 2 * height,
        leader: [0xab; 32],
        timestamp_ms: 1_700_000_000_000 + height,
        parent: parent.map_or(Hash::ZERO, Header::hash),
        history: parent.map(Header::child_history).unwrap_or_default(),
    }
}

fn transactions(txs: &[(u64, &[u8])]) -> Vec<Transaction> {
    txs.iter()
        .map(|(ns, p)| Transaction::new(*ns, p.to_vec()))
        .collect()
}

/// A block at `height` after `parent` holding `(namespace, payload)` transactions, with real
/// namespace commitments.
pub fn block(height: Height, parent: Option<&Header>, txs: &[(u64, &[u8])]) -> Block {
    build_block(
        params(),
        context(height, parent),
        transactions(txs),
        &limits(),
    )
    .expect("test block within limits")
    .0
}

/// A block whose namespace `bad` a Byzantine leader committed with an invalid encoding (with
/// the coding crate's fault injection), as an honest node reconstructs it (`bad` empty and
/// marked), and the evidence that node found: `k` chunks of `bad`.
pub fn block_with_invalid(
    height: Height,
    parent: Option<&Header>,
    txs: &[(u64, &[u8])],
    bad: u64,
) -> (Block, InvalidEncodingEvidence) {
    let (params, bad) = (params(), Namespace(bad));
    let mut evidence = None;
    let built = Block::build(
        context(height, parent),
        transactions(txs),
        &limits(),
        |data| {
            if data.namespace != bad {
                return namespace_entry(params, data).commitment;
            }
            let (entry, chunks) = encode_namespace_invalid(params, data, 1);
            let chunks: Vec<(u16, Chunk)> = (0..).zip(chunks).collect();
            evidence =
                invalid_encoding_evidence(params, &entry, &chunks, &limits()).expect("k chunks");
            entry.commitment
        },
    )
    .expect("test block within limits");
    let namespaces = built
        .namespaces()
        .iter()
        .map(|d| {
            if d.namespace == bad {
                NamespaceData::invalid(bad)
            } else {
                d.clone()
            }
        })
        .collect();
    let block = Block::from_parts(built.header().clone(), namespaces, &limits())
        .expect("an invalid namespace is empty");
    (
        block,
        evidence.expect("the bad namespace decodes as invalid"),
    )
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
        let mut cfg = ApiConfig::new(limits(), CHAIN);
        cfg.stream_batch_max = batch;
        Self::with_config(cfg).await
    }

    /// The same blocks, served with `cfg`.
    pub async fn with_config(cfg: ApiConfig) -> Fixture {
        let index = Index::open_in_memory(limits()).await.expect("index");
        let (finalized, rx) = watch::channel(0);
        let node = FakeNode::default();
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
        let b = block(self.next_height(), self.parent(), txs);
        self.insert(b, &[]).await
    }

    /// Finalizes the next block with namespace `bad` invalidly encoded; returns the block and
    /// the evidence indexed with it.
    pub async fn finalize_invalid(
        &mut self,
        txs: &[(u64, &[u8])],
        bad: u64,
    ) -> (Block, InvalidEncodingEvidence) {
        let (b, evidence) = block_with_invalid(self.next_height(), self.parent(), txs, bad);
        let b = self.insert(b, std::slice::from_ref(&evidence)).await;
        (b, evidence)
    }

    fn next_height(&self) -> Height {
        self.blocks.len() as Height
    }

    fn parent(&self) -> Option<&Header> {
        self.blocks.last().map(Block::header)
    }

    async fn insert(&mut self, b: Block, evidence: &[InvalidEncodingEvidence]) -> Block {
        self.index
            .insert_finalized(&b, &certificate(&b), evidence, 0)
            .await
            .expect("insert");
        self.finalized.send_replace(b.height());
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

/// Decodes a hex field of a JSON answer.
pub fn hex_field(json: &Value, field: &str) -> Vec<u8> {
    let text = json[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string: {json}"));
    hex::decode(text).unwrap_or_else(|e| panic!("{field} is hex ({e}): {json}"))
}

/// The header of a namespace answer, decoded from `header_bytes` as a client would.
pub fn header_of(json: &Value) -> Header {
    Header::decode_cfg(
        hex_field(json, "header_bytes"),
        &limits().namespaces_per_block_max,
    )
    .expect("header_bytes decode")
}

/// The certificate of an answer, decoded from `certificate_bytes`.
pub fn certificate_of(json: &Value) -> FinalityCertificate {
    FinalityCertificate::decode_cfg(hex_field(json, "certificate_bytes"), &())
        .expect("certificate_bytes decode")
}

/// The payloads of a namespace answer's transactions, in the order given.
pub fn payloads_of(json: &Value) -> Vec<Bytes> {
    json["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|tx| {
            let payload = tx["payload"].as_str().expect("payload");
            Bytes::from(STANDARD.decode(payload).expect("base64 payload"))
        })
        .collect()
}

/// The inclusion proof of a namespace answer, decoded from `proof.bytes`.
pub fn inclusion_of(json: &Value) -> NamespaceProof {
    assert_eq!(json["proof"]["kind"], "inclusion", "{json}");
    NamespaceProof::decode_cfg(
        hex_field(&json["proof"], "bytes"),
        &limits().namespaces_per_block_max,
    )
    .expect("proof bytes decode")
}

/// The absence proof of a namespace answer, decoded from `proof.bytes`.
pub fn absence_of(json: &Value) -> AbsenceProof {
    assert_eq!(json["proof"]["kind"], "absence", "{json}");
    AbsenceProof::decode_cfg(
        hex_field(&json["proof"], "bytes"),
        &limits().namespaces_per_block_max,
    )
    .expect("proof bytes decode")
}

/// The evidence of an invalid-encoding answer, decoded from `evidence.bytes`.
pub fn evidence_of(json: &Value) -> InvalidEncodingEvidence {
    InvalidEncodingEvidence::decode_cfg(
        hex_field(&json["evidence"], "bytes"),
        &(params(), limits()),
    )
    .expect("evidence bytes decode")
}

/// What a client checks of a namespace answer (a GET or a `namespace_block` event), offline:
/// the header and certificate agree, and the status is proven: the transactions against the
/// inclusion proof, the absence against its neighbours, or the invalid encoding by its
/// evidence. Returns the header.
pub fn verify_answer(json: &Value) -> Header {
    let header = header_of(json);
    let certificate = certificate_of(json);
    assert_eq!(
        certificate.block,
        header.hash(),
        "certificate for this header"
    );
    assert_eq!(json["height"], header.height);
    let namespace = Namespace(json["namespace"].as_u64().expect("namespace"));
    match json["status"].as_str().expect("status") {
        "valid" => {
            let proof = inclusion_of(json);
            verify_namespace(params(), &header, namespace, &payloads_of(json), &proof)
                .unwrap_or_else(|e| panic!("valid namespace verifies ({e}): {json}"));
            assert_eq!(json["evidence"], Value::Null);
        }
        "invalid_encoding" => {
            let proof = inclusion_of(json);
            assert_eq!(proof.entry.namespace, namespace);
            assert_eq!(json["transactions"], serde_json::json!([]));
            let evidence = evidence_of(json);
            assert_eq!(
                evidence.entry, proof.entry,
                "the evidence is about the proven entry"
            );
            assert!(verify_invalid_encoding(params(), &evidence, &limits()));
            assert_eq!(json["evidence"]["chunks"], evidence.chunks.len());
        }
        "absent" => {
            verify_absence(&header, namespace, &absence_of(json))
                .unwrap_or_else(|e| panic!("absence verifies ({e}): {json}"));
            assert_eq!(json["transactions"], serde_json::json!([]));
            assert_eq!(json["evidence"], Value::Null);
        }
        other => panic!("unknown status {other:?}: {json}"),
    }
    header
}
