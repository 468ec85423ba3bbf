//! Request handlers of the plain (non-streaming) routes, and the parsers they share with the
//! streams.

use crate::{
    ApiConfig, Node,
    config::base64_len,
    error::{ApiError, ErrorBody, code},
    views::{
        BlockView, HeaderView, HistoryProofView, InboxView, NamespaceBlockView, TransactionView,
    },
};
use axum::{
    Json,
    body::Bytes,
    extract::{
        Path, Query, State,
        rejection::{BytesRejection, PathRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode, header},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use cortado_storage::Reader;
use cortado_types::{Hash, Height, Namespace, Transaction};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::watch;
use utoipa::ToSchema;

pub(crate) mod bundles;
mod inbox;

pub(crate) use bundles::*;
pub(crate) use inbox::*;

/// What every handler sees.
pub(crate) struct AppState<N, R> {
    pub(crate) node: N,
    pub(crate) reader: R,
    pub(crate) finalized: watch::Receiver<u64>,
    pub(crate) cfg: Arc<ApiConfig>,
    pub(crate) metrics: crate::metrics::ApiMetrics,
    /// The shared renderings of the latest heights, for the streams.
    pub(crate) feed: Arc<crate::feed::Feed>,
}

impl<N: Clone, R: Clone> Clone for AppState<N, R> {
    fn clone(&self) -> Self {
        Self {
            node: self.node.clone(),
            reader: self.reader.clone(),
            finalized: self.finalized.clone(),
            cfg: self.cfg.clone(),
            metrics: self.metrics.clone(),
            feed: self.feed.clone(),
        }
    }
}

/// The bounds every handler's reader satisfies.
pub(crate) trait ApiReader: Reader + Clone + Send + Sync + 'static {}
impl<R: Reader + Clone + Send + Sync + 'static> ApiReader for R {}

type ApiResult<T> = Result<T, ApiError>;

/// Parses a height (`what` names it in the error: "height", "from", "Last-Event-ID").
pub(crate) fn parse_height(value: &str, what: &str) -> ApiResult<Height> {
    value.parse::<Height>().map_err(|_| {
        ApiError::bad_request(
            code::INVALID_HEIGHT,
            format!("{what} must be a block height (an unsigned 64-bit integer); got {value:?}"),
        )
    })
}

/// Parses a namespace id.
pub(crate) fn parse_namespace(value: &str) -> ApiResult<Namespace> {
    value.parse::<Namespace>().map_err(|_| {
        ApiError::bad_request(
            code::INVALID_NAMESPACE,
            format!("namespace must be an unsigned 64-bit integer; got {value:?}"),
        )
    })
}

/// A 404 for a height that is not (yet) in the index: `not_held` below the checkpoint this node
/// started from, `not_found` otherwise.
pub(crate) async fn not_finalized(reader: &impl Reader, height: Height) -> ApiError {
    match reader.held_from().await {
        Ok(Some(from)) if height < from => {
            return ApiError::not_held(format!(
                "this node joined the chain from a checkpoint at height {from} and does not hold height {height} or anything below {from}; ask another API node or an archive node"
            ));
        }
        Ok(_) => {}
        Err(e) => return ApiError::storage(e),
    }
    match reader.latest_height().await {
        Ok(Some(latest)) => ApiError::not_found(format!(
            "height {height} is not finalized (latest finalized height: {latest})"
        )),
        Ok(None) => ApiError::not_found(format!(
            "height {height} is not finalized; no block is finalized yet"
        )),
        Err(e) => ApiError::storage(e),
    }
}

/// Resolves `{height}` path values: a number, `latest`, or a block hash (64 hex digits,
/// optionally `0x`-prefixed).
async fn resolve_height(reader: &impl Reader, value: &str, what: &str) -> ApiResult<Height> {
    if value == "latest" {
        return match reader.latest_height().await.map_err(ApiError::storage)? {
            Some(h) => Ok(h),
            None => Err(ApiError::not_found("no block is finalized yet")),
        };
    }
    let hex = value.strip_prefix("0x").unwrap_or(value);
    if hex.len() == 64 {
        let hash: Hash = hex
            .parse()
            .map_err(|e: cortado_types::hash::ParseHashError| {
                ApiError::bad_request(code::INVALID_HASH, e.to_string())
            })?;
        return match reader.height_of(hash).await.map_err(ApiError::storage)? {
            Some(h) => Ok(h),
            None => Err(ApiError::not_found(format!(
                "no finalized block with hash {hash} is indexed here"
            ))),
        };
    }
    value.parse::<Height>().map_err(|_| {
        ApiError::bad_request(
            code::INVALID_HEIGHT,
            format!(
                "{what} must be a block height (an unsigned 64-bit integer), \"latest\" or a block hash (64 hex digits); got {value:?}"
            ),
        )
    })
}

/// The query of `POST /v1/transactions` (raw form).
#[derive(Deserialize)]
pub(crate) struct SubmitQuery {
    namespace: Option<String>,
}

/// The JSON form of a submission.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitBody {
    /// The namespace (rollup) the transaction belongs to.
    #[serde(deserialize_with = "crate::number::u64_exact")]
    namespace: u64,
    /// The payload, standard base64; at most `tx_bytes_max` bytes decoded.
    payload: String,
}

impl SubmitBody {
    /// The namespace of `data` if it parses as this body (for the fuzz targets).
    pub(crate) fn namespace_of(data: &[u8]) -> Option<u64> {
        serde_json::from_slice::<Self>(data)
            .ok()
            .map(|b| b.namespace)
    }
}

/// The answer to an accepted submission.
#[derive(Serialize, ToSchema)]
pub(crate) struct SubmitResponse {
    /// The transaction hash (hex): `SHA-256("_CORTADO_TX" || encoding)`, the encoding being the
    /// version byte (1), the namespace (8 bytes, big-endian), the payload length (varint) and the
    /// payload (docs/LIGHT_CLIENT.md).
    hash: String,
    /// True when the mempool already held it (the submission is idempotent).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

/// Whether a `Content-Type` is JSON (`application/json` or `*/*+json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The 413 for a body that hit the body limit before it was read whole.
fn body_too_large(cfg: &ApiConfig, headers: &HeaderMap, json: bool) -> ApiError {
    let tx_max = cfg.limits.tx_bytes_max;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match (json, length) {
        (false, Some(len)) => ApiError::too_large(format!(
            "transaction payload is {len} bytes; the limit is {tx_max} bytes (tx_bytes_max)"
        )),
        (false, None) => ApiError::too_large(format!(
            "transaction payload exceeds the limit of {tx_max} bytes (tx_bytes_max)"
        )),
        (true, Some(len)) => ApiError::too_large(format!(
            "request body is {len} bytes; the limit is {} bytes (tx_bytes_max {tx_max} as base64, {} bytes, plus {} bytes of JSON envelope)",
            cfg.body_bytes_max(),
            base64_len(tx_max),
            cfg.body_envelope_bytes
        )),
        (true, None) => ApiError::too_large(format!(
            "request body exceeds the limit of {} bytes (tx_bytes_max {tx_max} as base64, plus {} bytes of JSON envelope)",
            cfg.body_bytes_max(),
            cfg.body_envelope_bytes
        )),
    }
}

/// Reads a submission in either form into a transaction, checking its size.
fn parse_submission(
    cfg: &ApiConfig,
    headers: &HeaderMap,
    query: SubmitQuery,
    body: Bytes,
) -> ApiResult<Transaction> {
    // The JSON form is the default: `curl -d '{...}'` sends a form content type, and a body
    // without `?namespace=` can only be the JSON form. `?namespace=` selects the raw form (the
    // older spelling of `POST /v1/namespaces/{ns}/transactions`).
    if is_json(headers) || query.namespace.is_none() {
        if query.namespace.is_some() {
            return Err(ApiError::bad_request(
                code::BAD_REQUEST,
                "give the namespace either in the JSON body or in the path with a raw body (POST /v1/namespaces/{ns}/transactions), not both",
            ));
        }
        let parsed: SubmitBody = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                code::INVALID_JSON,
                format!("invalid JSON body (expected {{\"namespace\": <u64>, \"payload\": \"<base64>\"}}, or raw bytes to POST /v1/namespaces/{{ns}}/transactions): {e}"),
            )
        })?;
        let payload = STANDARD.decode(parsed.payload.as_bytes()).map_err(|e| {
            ApiError::bad_request(
                code::INVALID_BASE64,
                format!("payload is not valid base64: {e}"),
            )
        })?;
        return checked_transaction(cfg, Namespace(parsed.namespace), Bytes::from(payload));
    }
    let Some(namespace) = query.namespace else {
        return Err(ApiError::bad_request(
            code::INVALID_NAMESPACE,
            "a raw transaction body needs its namespace: POST /v1/namespaces/{ns}/transactions; to send JSON instead, use Content-Type: application/json",
        ));
    };
    checked_transaction(cfg, parse_namespace(&namespace)?, body)
}

/// A transaction of `namespace` with `payload`, refused if the namespace is reserved, it is
/// over `tx_bytes_max`, or it looks like a message and is not a valid one.
fn checked_transaction(
    cfg: &ApiConfig,
    namespace: Namespace,
    payload: Bytes,
) -> ApiResult<Transaction> {
    if namespace == cortado_types::BUNDLE_NAMESPACE {
        return Err(ApiError::bad_request(
            code::INVALID_NAMESPACE,
            format!(
                "namespace {namespace} is reserved for bundle carriers; submit bundles to POST /v1/bundles"
            ),
        ));
    }
    let tx = Transaction::new(namespace, payload);
    tx.check(cfg.limits.tx_bytes_max)
        .map_err(|e| ApiError::too_large(e.to_string()))?;
    check_message(cfg, &tx, "")?;
    Ok(tx)
}

/// Refuses a payload that looks like a cross-rollup message but is not a valid one of its
/// namespace on this chain: it would be finalized as an ordinary transaction and its sender
/// would wonder why the destination never saw it.
pub(crate) fn check_message(cfg: &ApiConfig, tx: &Transaction, what: &str) -> ApiResult<()> {
    match cortado_types::Envelope::from_transaction(cfg.chain_id, tx.namespace, &tx.payload) {
        Ok(_) | Err(cortado_types::EnvelopeError::NotAMessage) => Ok(()),
        Err(e) => Err(ApiError::bad_request(
            code::INVALID_MESSAGE,
            format!(
                "{what}the payload starts with the message magic CXM1 but is not a valid message: {e}; sign it with Envelope::sign (docs/LIGHT_CLIENT.md, section 8)"
            ),
        )),
    }
}

/// `POST /v1/transactions`.
#[utoipa::path(
    post,
    path = "/v1/transactions",
    tag = "transactions",
    request_body(
        description = "The transaction as JSON (a raw payload goes to `POST /v1/namespaces/{ns}/transactions`)",
        content((SubmitBody = "application/json"))
    ),
    responses(
        (status = 202, description = "Accepted into the mempool (durably)", body = SubmitResponse),
        (status = 400, description = "Malformed: bad JSON, base64 or namespace, or a message envelope that does not verify (invalid_message)", body = ErrorBody),
        (status = 409, description = "The transaction is a member of a pending bundle (bundle_conflict)", body = ErrorBody),
        (status = 413, description = "Payload or body over the limit (named)", body = ErrorBody),
        (status = 429, description = "The namespace's share of the mempool is full; see Retry-After", body = ErrorBody),
        (status = 503, description = "The mempool is full; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn submit<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<SubmitResponse>)> {
    let body = submitted_body(&state.cfg, &headers, body, is_json(&headers))?;
    let Query(query) = query?;
    let tx = parse_submission(&state.cfg, &headers, query, body)?;
    accept(&state.node, tx).await
}

/// A submission's body, or the 413 naming the limit it passed.
fn submitted_body(
    cfg: &ApiConfig,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    json: bool,
) -> ApiResult<Bytes> {
    match body {
        Ok(body) => Ok(body),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(body_too_large(cfg, headers, json))
        }
        Err(rejection) => Err(rejection.into()),
    }
}

/// Submits `tx` and answers `202` with its hash.
async fn accept<N: Node>(
    node: &N,
    tx: Transaction,
) -> ApiResult<(StatusCode, Json<SubmitResponse>)> {
    let submitted = node.submit(tx).await?;
    let response = SubmitResponse {
        hash: submitted.hash.to_hex(),
        duplicate: submitted.duplicate,
    };
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// `POST /v1/namespaces/{ns}/transactions`: the body is the raw payload.
#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/transactions",
    tag = "transactions",
    params(("ns" = u64, Path, description = "The namespace (rollup) the transaction belongs to")),
    request_body(
        description = "The raw payload, at most `tx_bytes_max` bytes",
        content((Vec<u8> = "application/octet-stream"))
    ),
    responses(
        (status = 202, description = "Accepted into the mempool (durably)", body = SubmitResponse),
        (status = 400, description = "A malformed or reserved namespace, or a message envelope that does not verify (invalid_message)", body = ErrorBody),
        (status = 409, description = "The transaction is a member of a pending bundle (bundle_conflict)", body = ErrorBody),
        (status = 413, description = "Payload over the limit (named)", body = ErrorBody),
        (status = 429, description = "The namespace's share of the mempool is full; see Retry-After", body = ErrorBody),
        (status = 503, description = "The mempool is full; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn submit_raw<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<SubmitResponse>)> {
    let Path(ns) = path?;
    let body = submitted_body(&state.cfg, &headers, body, false)?;
    let tx = checked_transaction(&state.cfg, parse_namespace(&ns)?, body)?;
    accept(&state.node, tx).await
}

/// The finalized view of a transaction found at `loc`, with its compact proof, and with the
/// whole namespace when `full`.
async fn finalized_tx(
    reader: &impl Reader,
    loc: cortado_storage::TxLocation,
    full: bool,
) -> ApiResult<TransactionView> {
    let inconsistent = || {
        ApiError::internal(format!(
            "the index locates transaction {} at height {} index {} but its namespace block does not hold it",
            loc.hash, loc.height, loc.index
        ))
    };
    // The whole namespace already holds what the compact proof needs: one read, not two.
    let (compact, nb) = if full {
        let nb = reader
            .namespace_block(loc.namespace, loc.height)
            .await
            .map_err(ApiError::storage)?
            .ok_or_else(inconsistent)?;
        (nb.compact(loc.index).ok_or_else(inconsistent)?, Some(nb))
    } else {
        let compact = reader
            .compact_tx(&loc)
            .await
            .map_err(ApiError::storage)?
            .ok_or_else(inconsistent)?;
        (compact, None)
    };
    TransactionView::finalized(&loc, &compact, nb.as_ref()).ok_or_else(inconsistent)
}

/// The query of `GET /v1/transactions/{hash}`.
#[derive(Deserialize)]
pub(crate) struct TransactionQuery {
    full: Option<bool>,
}

/// `GET /v1/transactions/{hash}`.
#[utoipa::path(
    get,
    path = "/v1/transactions/{hash}",
    tag = "transactions",
    params(
        ("hash" = String, Path, description = "Transaction hash, 64 hex characters (0x and upper case accepted)"),
        ("full" = Option<bool>, Query, description = "Also return the namespace's transactions in the block (proven by re-encoding, with no assumption on the encoding; see docs/LIGHT_CLIENT.md); default false: the payload with its O(log n) proof to the entry's tx_root"),
    ),
    responses(
        (status = 200, description = "Pending, or finalized with its proof", body = TransactionView),
        (status = 400, description = "Not a hash", body = ErrorBody),
        (status = 404, description = "Neither finalized nor pending here", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn transaction<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<TransactionQuery>, QueryRejection>,
) -> ApiResult<Json<TransactionView>> {
    let Path(value) = path?;
    let Query(query) = query?;
    let full = query.full.unwrap_or(false);
    let hash: Hash = value
        .parse()
        .map_err(|e: cortado_types::hash::ParseHashError| {
            ApiError::bad_request(code::INVALID_HASH, e.to_string())
        })?;
    if let Some(loc) = state
        .reader
        .transaction(hash)
        .await
        .map_err(ApiError::storage)?
    {
        return Ok(Json(finalized_tx(&state.reader, loc, full).await?));
    }
    if state.node.is_pending(hash).await {
        return Ok(Json(TransactionView::pending(hash)));
    }
    // It may have been finalized (and left the mempool) between the two reads above.
    if let Some(loc) = state
        .reader
        .transaction(hash)
        .await
        .map_err(ApiError::storage)?
    {
        return Ok(Json(finalized_tx(&state.reader, loc, full).await?));
    }
    Err(ApiError::not_found(format!(
        "unknown transaction {hash}: it is neither finalized nor in this node's mempool"
    )))
}

/// The mempool part of the status.
#[derive(Serialize, ToSchema)]
pub(crate) struct MempoolStatusView {
    /// Transactions pending.
    txs: usize,
    /// Payload bytes pending.
    bytes: usize,
}

/// The dispersal part of the status: this node's shares and reconstructions.
#[derive(Serialize, ToSchema)]
pub(crate) struct DispersalStatusView {
    /// Shares stored.
    shares_stored: u64,
    /// Bytes of shares stored.
    share_bytes_stored: u64,
    /// Bytes of shares received.
    share_bytes_received: u64,
    /// Blocks reconstructed from shares.
    blocks_reconstructed: u64,
    /// Time the last reconstruction took, in microseconds.
    last_reconstruct_us: u64,
}

/// The catch-up part of the status.
#[derive(Serialize, ToSchema)]
pub(crate) struct SyncStatusView {
    /// "syncing" while more than a few blocks below the tip, else "synced".
    state: &'static str,
    /// Highest finalized height known to the network, as far as this node has heard.
    tip: u64,
    /// Finalized blocks between this node's processed height and the tip.
    behind: u64,
    /// Blocks per second this node processes (smoothed over seconds).
    rate_blocks_per_s: f64,
    /// Blocks per second the chain grows.
    chain_rate_blocks_per_s: f64,
    /// Estimated seconds to the tip, when gaining on it.
    eta_s: Option<f64>,
}

/// `/v1/status`: the chain, the index and the node's live state.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatusView {
    /// The chain id of the genesis file.
    chain_id: u64,
    /// Highest finalized height indexed, or null when none is.
    height: Option<u64>,
    /// The consensus view this node is in.
    view: u64,
    /// Validators in the genesis set.
    validators: usize,
    /// Validators this node is connected to.
    peers: usize,
    /// Proposal to finalization of the last block this node saw finalized, in milliseconds.
    last_finality_latency_ms: Option<u64>,
    /// Pending transactions.
    mempool: MempoolStatusView,
    /// Shares and reconstructions.
    dispersal: DispersalStatusView,
    /// Catch-up progress.
    sync: SyncStatusView,
}

/// `GET /v1/status`.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "node",
    responses(
        (status = 200, description = "The node's status", body = StatusView),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn status<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
) -> ApiResult<Json<StatusView>> {
    let height = state
        .reader
        .latest_height()
        .await
        .map_err(ApiError::storage)?;
    let live = state.node.status().await;
    let d = live.dispersal;
    Ok(Json(StatusView {
        chain_id: state.cfg.chain_id.0,
        height,
        view: live.view,
        validators: live.validators,
        peers: live.peers,
        last_finality_latency_ms: live.last_finality_latency_ms,
        mempool: MempoolStatusView {
            txs: live.mempool_txs,
            bytes: live.mempool_bytes,
        },
        dispersal: DispersalStatusView {
            shares_stored: d.shares_stored,
            share_bytes_stored: d.share_bytes_stored,
            share_bytes_received: d.share_bytes_received,
            blocks_reconstructed: d.blocks_reconstructed,
            last_reconstruct_us: d.last_reconstruct_us,
        },
        sync: SyncStatusView {
            state: if live.sync.syncing {
                "syncing"
            } else {
                "synced"
            },
            tip: live.sync.tip,
            behind: live.sync.tip.saturating_sub(live.sync.height),
            rate_blocks_per_s: live.sync.rate_blocks_per_s,
            chain_rate_blocks_per_s: live.sync.chain_rate_blocks_per_s,
            eta_s: live.sync.eta_s,
        },
    }))
}

/// `GET /v1/headers/{height|latest}`.
#[utoipa::path(
    get,
    path = "/v1/headers/{height}",
    tag = "finalized",
    params(("height" = String, Path, description = "A height, `latest`, or a block hash (64 hex digits)")),
    responses(
        (status = 200, description = "The header and its finality certificate", body = HeaderView),
        (status = 400, description = "Not a height", body = ErrorBody),
        (status = 404, description = "Not finalized yet", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn header<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<HeaderView>> {
    let Path(value) = path?;
    let height = resolve_height(&state.reader, &value, "height").await?;
    match state
        .reader
        .header(height)
        .await
        .map_err(ApiError::storage)?
    {
        Some((header, certificate)) => Ok(Json(HeaderView::new(&header, &certificate))),
        None => Err(not_finalized(&state.reader, height).await),
    }
}

/// `GET /v1/blocks/{height|latest}`.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    tag = "finalized",
    params(("height" = String, Path, description = "A height, `latest`, or a block hash (64 hex digits)")),
    responses(
        (status = 200, description = "The whole block with its certificate", body = BlockView),
        (status = 400, description = "Not a height", body = ErrorBody),
        (status = 404, description = "Not finalized yet", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn block<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<BlockView>> {
    let Path(value) = path?;
    let height = resolve_height(&state.reader, &value, "height").await?;
    match state
        .reader
        .block(height)
        .await
        .map_err(ApiError::storage)?
    {
        Some((block, certificate)) => Ok(Json(BlockView::new(&block, &certificate))),
        None => Err(not_finalized(&state.reader, height).await),
    }
}

/// `GET /v1/namespaces/{ns}/blocks/{height|latest}`.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/blocks/{height}",
    tag = "finalized",
    params(("ns" = u64, Path, description = "The namespace"), ("height" = String, Path, description = "A height, `latest`, or a block hash (64 hex digits)")),
    responses(
        (status = 200, description = "The namespace's part of the block, with its proof", body = NamespaceBlockView),
        (status = 400, description = "Not a namespace or height", body = ErrorBody),
        (status = 404, description = "Not finalized yet", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn namespace_block<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<NamespaceBlockView>> {
    let Path((ns, value)) = path?;
    let namespace = parse_namespace(&ns)?;
    let height = resolve_height(&state.reader, &value, "height").await?;
    match state
        .reader
        .namespace_block(namespace, height)
        .await
        .map_err(ApiError::storage)?
    {
        Some(nb) => Ok(Json(NamespaceBlockView::from(&nb))),
        None => Err(not_finalized(&state.reader, height).await),
    }
}

/// The query of `GET /v1/headers/{height}/proof`.
#[derive(Deserialize)]
pub(crate) struct ProofQuery {
    against: Option<String>,
}

/// `GET /v1/headers/{height}/proof?against={later|latest}`.
#[utoipa::path(
    get,
    path = "/v1/headers/{height}/proof",
    tag = "finalized",
    params(
        ("height" = String, Path, description = "A height, `latest`, or a block hash (64 hex digits)"),
        ("against" = Option<String>, Query, description = "The later header whose history proves it: a height, `latest` (the default) or a block hash"),
    ),
    responses(
        (status = 200, description = "The history proof with both headers", body = HistoryProofView),
        (status = 400, description = "Not a height, `latest` or a block hash", body = ErrorBody),
        (status = 404, description = "A height not finalized (or not indexed) yet, an unknown hash, or `against` not above `height` (no such proof)", body = ErrorBody),
        (status = 500, description = "The index failed", body = ErrorBody),
    )
)]
pub(crate) async fn history_proof<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ProofQuery>, QueryRejection>,
) -> ApiResult<Json<HistoryProofView>> {
    let Path(value) = path?;
    let Query(query) = query?;
    let height = resolve_height(&state.reader, &value, "height").await?;
    let against = resolve_height(
        &state.reader,
        query.against.as_deref().unwrap_or("latest"),
        "against",
    )
    .await?;
    if against <= height {
        // Well-formed, but no such proof exists: 404, like any other absent resource.
        return Err(ApiError::not_found(format!(
            "header {height} is not in the history of header {against}: against must be above height, as a header's history holds only the headers before it"
        )));
    }
    let Some((later, later_certificate)) = state
        .reader
        .header(against)
        .await
        .map_err(ApiError::storage)?
    else {
        return Err(not_finalized(&state.reader, against).await);
    };
    let Some((header, _)) = state
        .reader
        .header(height)
        .await
        .map_err(ApiError::storage)?
    else {
        return Err(not_finalized(&state.reader, height).await);
    };
    match state
        .reader
        .history_proof(height, against)
        .await
        .map_err(ApiError::storage)?
    {
        Some(proof) => Ok(Json(HistoryProofView::new(
            &header,
            &later,
            &later_certificate,
            &proof,
        ))),
        None => Err(ApiError::not_found(format!(
            "the history proof of header {height} against {against} needs headers this node has not indexed yet; retry shortly"
        ))),
    }
}
