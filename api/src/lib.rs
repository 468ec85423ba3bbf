//! HTTP API of a Cortado node: routes, SSE streams and JSON errors.
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/transactions` | 202 `{"hash"}` (plus `"duplicate": true` if the mempool had it) |
//! | `GET /v1/transactions/{hash}` | `{"hash","status":"pending"}`, or once final `{"hash","status":"finalized","height","index","namespace","block_hash","position","header_bytes","certificate_bytes","namespace_proof","payload","transaction_proof"}`: the payload and its O(log n) path to the namespace entry's `tx_root`, so the answer alone proves inclusion; `?full=true` adds `namespace_transactions` (all the namespace's transactions in the block, which prove it by re-encoding, without the compact proof's assumption on the encoding) |
//! | `POST /v1/namespaces/{ns}/transactions` | the same for a raw payload as the body (`POST /v1/transactions?namespace=ns` is accepted too) |
//! | `POST /v1/bundles` | 202 `{"hash","transactions":[hash…]}`: `{"transactions":[{"namespace","payload"}…]}` included in one block, all or none (`cortado_types::Bundle`) |
//! | `GET /v1/bundles/{hash}` | `{"hash","status":"pending"}`, or from the chain (the bundle's marker in a block, alike on every API node) `{"hash","status":"finalized","height","transactions":[{"hash","height","index"}…]}`, or `"failed"` with a `reason` (a member was first finalized without the bundle) |
//! | `GET /v1/status` | `{"chain_id","height","view","validators","peers","last_finality_latency_ms","mempool":{"txs","bytes"},"dispersal":{"shares_stored","share_bytes_stored","share_bytes_received","blocks_reconstructed","last_reconstruct_us"}}` |
//! | `GET /v1/headers/{height\|latest}` | `{"height","hash","header","header_bytes","certificate","certificate_bytes"}`: the header, its hex encoding, the certificate and its hex encoding |
//! | `GET /v1/headers/{height}/proof?against={later\|latest}` | `{"height","hash","header_bytes","against","later_header_bytes","later_certificate_bytes","proof":{"leaf","count","siblings","bytes"}}`: the proof that header `height` is in the history accumulator of the later header (default: the latest), `bytes` the encoded `cortado_types::history::HistoryProof` |
//! | `GET /v1/blocks/{height\|latest}` | the same plus `"invalid_namespaces": [ns…]` and every transaction |
//! | `GET /v1/namespaces/{ns}/blocks/{height\|latest}` | the same as a header plus `"namespace","status","proof","evidence","transactions"` (below) |
//! | `GET /metrics` | Prometheus text: the node's metrics (consensus, p2p bytes per channel, mempool, dispersal, finality latency) then `api_requests_total` and `api_request_duration_seconds` by route, method and status |
//! | `GET /v1/openapi.json` | the OpenAPI 3.1 description of every route, generated from this crate |
//! | `GET /v1/namespaces/{dst}/inbox/{source}/{sender}?from_seq=N`, or `GET /v1/namespaces/{dst}/inbox?from=H` (optionally `&source=S`; `?source=S&sender=A&from_seq=N` is the older spelling of the first) | cross-rollup messages to `dst` (`cortado_types::Envelope`s finalized in their source namespace): `{"destination","messages":[{"source","sequence","sender","recipient","body","hash","height","index","block","position"}],"blocks":[{"height","source","header_bytes","certificate_bytes","namespace_proof","namespace_transactions"}],"gaps":[[first,last]…],"next"}`; each message is proven by `blocks[block]` (one per block and source), at `position` among its namespace transactions; with `sender`, one sender's messages by sequence, with the missing numbers in `gaps` and `next` the next number; otherwise in finalization order, whole heights only, `next` the height to go on from. An answer stops early at `response_bytes_max` of proof payloads ([`ApiLimits`]) |
//! | `GET /v1/stream/headers?from=H` | SSE, event `header`, one per finalized height |
//! | `GET /v1/stream/namespaces/{dst}/inbox?from=H` | SSE, event `inbox_block`, one per finalized block holding messages to `dst`: the inbox view of that block's messages |
//! | `GET /v1/stream/namespaces/{ns}?from=H` | SSE, event `namespace_block`, one per finalized block holding `ns` (valid or not): `{"height","block_hash","header_bytes","certificate_bytes","namespace","status","proof","evidence","transactions"}`; with `&payloads=false` each transaction is `{"index","hash"}` only (inclusion tracking without the bytes) |
//!
//! A submission is either JSON to `POST /v1/transactions`, `{"namespace": 42, "payload":
//! "<base64>"}`, or the raw payload as the body of `POST /v1/namespaces/42/transactions`. The body may hold at most `tx_bytes_max` as base64 plus
//! [`ApiConfig::body_envelope_bytes`]; the decoded payload at most `tx_bytes_max`.
//!
//! Hashes are lowercase hex (a `0x` prefix and upper case are accepted on input), payloads
//! standard base64, `header_bytes`, `certificate_bytes` and every `"bytes"` hex of the
//! canonical commonware-codec encodings. Transaction indices are positions in the block's
//! transaction order (namespaces ascending, each in block order), from 0.
//!
//! # Namespace reads and their proofs
//!
//! A namespace read (and each `namespace_block` event) says what the block holds of the
//! namespace and proves it against the header (design: *Namespace proofs*, invariant 5):
//!
//! - `"status"`: `"valid"` (the namespace is in the header's table and `"transactions"` are its
//!   whole content, in block order), `"invalid_encoding"` (it is in the table but its committed
//!   encoding is invalid, so it counts as empty: `"transactions"` is `[]`), or `"absent"` (not in
//!   the table; `"transactions"` is `[]`). The stream sends no event for an absent namespace.
//! - `"proof"`, computed from the header with `cortado_coding::prove_namespace`: for a namespace
//!   in the table, `{"kind":"inclusion","position","table_len","entry":{"namespace","tx_count",
//!   "byte_len","commitment"},"path":[hash…],"bytes"}` with `bytes` the encoded
//!   `cortado_coding::NamespaceProof`; for an absent one, `{"kind":"absence","below","above",
//!   "table_len","bytes"}` with the neighbouring entries as inclusion objects (or null) and
//!   `bytes` the encoded `cortado_coding::AbsenceProof`.
//! - `"evidence"`: null, except for `"invalid_encoding"`: `{"bytes","chunks"}`, `bytes` the
//!   encoded `cortado_coding::InvalidEncodingEvidence` (`k` chunks with their paths) and
//!   `chunks` how many it holds.
//!
//! A client trusts none of it: it decodes `header_bytes`, checks `certificate_bytes` against
//! the chain's group key and the header hash, decodes `proof.bytes`, and then checks
//! `cortado_coding::verify_namespace` on the payloads in the order given (any altered, missing,
//! extra or reordered transaction fails), `verify_absence`, or, for an invalid encoding, that the
//! decoded evidence's entry is the proof's entry and `verify_invalid_encoding` accepts it; the
//! coding parameters come from the genesis validator count, the limits from genesis too.
//!
//! # Errors
//!
//! A validator that is not an API node ([`ApiConfig::serves_data`] false) indexes headers only:
//! it serves `/v1/status`, `/v1/headers…`, `/v1/stream/headers`, `/metrics` and the OpenAPI
//! document, and answers every other route (namespace data, blocks, transactions, bundles,
//! inboxes, submissions) with 421 `not_served`, naming the API nodes.
//!
//! Every error, including axum's own rejections, unknown routes (404) and wrong methods (405),
//! is JSON `{"error": "<what is wrong>", "code": "<code>"}`, with the codes in [`error::code`].
//! A full mempool is a 503 and a full namespace a 429, both with `Retry-After` in seconds.
//! The bounds on connections, requests, streams and time ([`ApiLimits`]) refuse with 429
//! (per address) or 503 (node-wide), with `Retry-After` too.
//! Finalized data comes only from the index (through [`cortado_storage::Reader`]); pending
//! state and live status come from the [`Node`].

#![warn(missing_docs)]

mod config;
pub mod error;
mod feed;
mod guard;
mod limits;
mod metrics;
mod node;
mod number;
mod openapi;
mod routes;
mod runtime;
mod serve;
mod stream;
mod views;

pub use config::ApiConfig;
pub use error::ApiError;
pub use limits::ApiLimits;
pub use node::{ConsensusStatus, DispersalStatus, Node, SubmitError, Submitted, SyncStatus};
pub use openapi::ApiDoc;
pub use runtime::{THREAD_NAME, lowered_runtime, runtime};
pub use serve::{REFUSING_MAX, SHUTDOWN_GRACE, serve};

/// Entry points for the fuzz targets in `fuzz/` (not an API).
#[doc(hidden)]
pub mod fuzz {
    /// Parses `data` as the JSON body of `POST /v1/transactions` and of `POST /v1/bundles`:
    /// the namespace of the first, and the namespaces of the second's members, if they parse.
    pub fn bodies(data: &[u8]) -> (Option<u64>, Option<Vec<u64>>) {
        (
            crate::routes::SubmitBody::namespace_of(data),
            crate::routes::bundles::BundleBody::namespaces_of(data),
        )
    }
}

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use routes::AppState;
use std::sync::Arc;
use tokio::sync::watch;

/// Builds the API's router.
///
/// `finalized` carries the latest finalized height; the node must index a block (in `reader`)
/// before it sends that block's height, and the streams end when its sender is dropped.
pub fn router<N, R>(node: N, reader: R, finalized: watch::Receiver<u64>, cfg: ApiConfig) -> Router
where
    N: Node,
    R: cortado_storage::Reader + Clone + Send + Sync + 'static,
{
    let body_bytes_max = cfg.body_bytes_max();
    let metrics = metrics::ApiMetrics::new();
    let gate = (!cfg.serves_data).then(|| Arc::new(cfg.data_nodes.clone()));
    let bounds = cfg.bounds.clone();
    let feed = Arc::new(feed::Feed::new(bounds.stream_cache_bytes_max, &metrics));
    let state = AppState {
        node,
        reader,
        finalized,
        cfg: Arc::new(cfg),
        metrics: metrics.clone(),
        feed,
    };
    let routes = Router::new()
        .route("/v1/transactions", post(routes::submit::<N, R>))
        .route("/v1/transactions/{hash}", get(routes::transaction::<N, R>))
        .route("/v1/bundles", post(routes::submit_bundle::<N, R>))
        .route("/v1/bundles/{hash}", get(routes::bundle::<N, R>))
        .route("/v1/status", get(routes::status::<N, R>))
        .route("/v1/headers/{height}", get(routes::header::<N, R>))
        .route(
            "/v1/headers/{height}/proof",
            get(routes::history_proof::<N, R>),
        )
        .route("/v1/blocks/{height}", get(routes::block::<N, R>))
        .route(
            "/v1/namespaces/{ns}/blocks/{height}",
            get(routes::namespace_block::<N, R>),
        )
        .route("/v1/namespaces/{ns}/inbox", get(routes::inbox::<N, R>))
        .route(
            "/v1/namespaces/{ns}/inbox/{source}/{sender}",
            get(routes::sender_inbox::<N, R>),
        )
        .route(
            "/v1/namespaces/{ns}/transactions",
            post(routes::submit_raw::<N, R>),
        )
        .route("/v1/stream/headers", get(stream::headers::<N, R>))
        .route("/v1/stream/namespaces/{ns}", get(stream::namespace::<N, R>))
        .route(
            "/v1/stream/namespaces/{ns}/inbox",
            get(stream::inbox::<N, R>),
        )
        .route("/v1/openapi.json", get(openapi::openapi_json::<N, R>))
        .route("/metrics", get(metrics::metrics::<N, R>))
        // After every route: it applies to the routes present.
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(axum::middleware::from_fn_with_state(gate, data_gate));
    guard::bound(routes, &bounds)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .with_state(state)
}

/// Refuses the data routes on a validator that is not an API node (`Some(api node URLs)`).
async fn data_gate(
    axum::extract::State(gate): axum::extract::State<Option<Arc<Vec<String>>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match gate {
        Some(data_nodes) if error::is_data_route(request.uri().path()) => {
            error::not_served(request.uri().path(), &data_nodes).into_response()
        }
        _ => next.run(request).await,
    }
}
