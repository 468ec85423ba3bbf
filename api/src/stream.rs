//! Server-sent event streams of finalized headers and of one namespace's blocks.
//!
//! A stream starts at a height: `Last-Event-ID + 1` if the client resumes (every event's id is
//! its height), else `?from=`, else the next height to be finalized. It catches up from the
//! index in batches of at most `stream_batch_max` and then follows the `finalized` watch
//! channel, which only wakes it: the index is the source of truth, so the node must index a
//! block before it announces its height. The current value of the channel is marked seen
//! before each index read, so a block finalized during the read still wakes the stream.
//!
//! At most one batch of headers (or, for a namespace stream, one batch of heights: blocks are
//! read one at a time as they are sent) is held per stream. A stream ends when the node drops
//! the channel's sender (shutdown) or, after an `error` event, when the index fails.

use crate::{
    Node,
    error::{ApiError, ErrorBody, code},
    routes::{ApiReader, AppState, inbox_view, parse_height, parse_namespace},
    views::{HeaderView, NamespaceEventView},
};
use axum::{
    extract::{
        Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::HeaderMap,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use cortado_storage::{Error as StorageError, InboxQuery, Reader};

/// Most messages one `inbox_block` event reads (a block holds at most `txs_per_block_max`).
const INBOX_BLOCK_MESSAGES_MAX: usize = 65_536;
use cortado_types::{FinalityCertificate, Header, Height, Namespace};
use serde::Deserialize;
use std::{collections::VecDeque, convert::Infallible, time::Duration};
use tokio::sync::watch;

/// Query of the stream routes.
#[derive(Deserialize)]
pub(crate) struct StreamQuery {
    from: Option<String>,
    /// Namespace streams only: `false` leaves out the payloads (hashes only).
    payloads: Option<bool>,
}

/// What a stream follows.
#[derive(Clone, Copy)]
enum Kind {
    Headers,
    /// A namespace, and whether events carry the payloads.
    Namespace(Namespace, bool),
    Inbox(Namespace),
}

/// Read from the index, not yet sent.
enum Pending {
    Header(Box<(Header, FinalityCertificate)>),
    Height(Height),
}

/// The state of one stream between events.
struct Follow<R> {
    reader: R,
    finalized: watch::Receiver<u64>,
    kind: Kind,
    /// The next height to read; `None` past `u64::MAX`.
    next: Option<Height>,
    pending: VecDeque<Pending>,
    batch: usize,
    done: bool,
}

fn error_event(err: &StorageError) -> Event {
    tracing::error!(%err, "index read failed in a stream");
    let data = serde_json::json!({
        "error": format!("the node's index failed: {err}; reconnect with Last-Event-ID"),
        "code": code::INTERNAL,
    });
    Event::default().event("error").data(data.to_string())
}

fn json_event(name: &'static str, height: Height, data: &impl serde::Serialize) -> Event {
    let event = Event::default().event(name).id(height.to_string());
    match serde_json::to_string(data) {
        Ok(json) => event.data(json),
        // Serializing these views cannot fail; say so on the wire if it ever does.
        Err(e) => {
            let data = serde_json::json!({ "error": e.to_string(), "code": code::INTERNAL });
            event.event("error").data(data.to_string())
        }
    }
}

impl<R: Reader> Follow<R> {
    /// Reads the next batch into `pending`; false when the index has nothing new.
    async fn fill(&mut self) -> Result<bool, StorageError> {
        let Some(next) = self.next else {
            return Ok(false);
        };
        match self.kind {
            Kind::Headers => {
                let batch = self.reader.headers_range(next, self.batch).await?;
                let Some(last) = batch.last().map(|(h, _)| h.height) else {
                    return Ok(false);
                };
                self.next = last.checked_add(1);
                self.pending
                    .extend(batch.into_iter().map(|hc| Pending::Header(Box::new(hc))));
                Ok(true)
            }
            Kind::Inbox(destination) => self.fill_inbox(destination, next).await,
            Kind::Namespace(namespace, _) => {
                // Bound the walk by the latest height first, so that skipping the heights
                // without this namespace never skips a block indexed during the walk.
                let Some(latest) = self.reader.latest_height().await? else {
                    return Ok(false);
                };
                if next > latest {
                    return Ok(false);
                }
                let heights = self
                    .reader
                    .namespace_heights(namespace, next, self.batch)
                    .await?;
                let full = heights.len() == self.batch;
                let within: Vec<Height> = heights.into_iter().filter(|h| *h <= latest).collect();
                self.next = match within.last() {
                    Some(last) if full && within.len() == self.batch => last.checked_add(1),
                    _ => latest.checked_add(1),
                };
                self.pending.extend(within.into_iter().map(Pending::Height));
                Ok(true)
            }
        }
    }

    /// The heights ≥ `next` (up to the latest) holding messages to `destination`.
    async fn fill_inbox(
        &mut self,
        destination: Namespace,
        next: Height,
    ) -> Result<bool, StorageError> {
        let Some(latest) = self.reader.latest_height().await? else {
            return Ok(false);
        };
        if next > latest {
            return Ok(false);
        }
        // Heights only: each event then reads its own height, once.
        let heights: Vec<Height> = self
            .reader
            .inbox_heights(destination, next, self.batch)
            .await?
            .into_iter()
            .filter(|h| *h <= latest)
            .collect();
        let full = heights.len() == self.batch;
        self.next = match (full, heights.last()) {
            (true, Some(last)) => last.checked_add(1),
            _ => latest.checked_add(1),
        };
        self.pending
            .extend(heights.into_iter().map(Pending::Height));
        Ok(true)
    }

    /// The event for a pending item; `None` if there is nothing to send for it.
    async fn event(&self, pending: Pending) -> Result<Option<Event>, StorageError> {
        match (pending, self.kind) {
            (Pending::Header(hc), _) => {
                let (header, certificate) = *hc;
                let view = HeaderView::new(&header, &certificate);
                Ok(Some(json_event("header", header.height, &view)))
            }
            (Pending::Height(height), Kind::Namespace(namespace, payloads)) => {
                // `namespace_heights` lists only blocks holding the namespace; skip any other.
                let nb = self.reader.namespace_block(namespace, height).await?;
                Ok(nb
                    .as_ref()
                    .and_then(|nb| NamespaceEventView::new(nb, payloads))
                    .map(|view| json_event("namespace_block", height, &view)))
            }
            (Pending::Height(height), Kind::Inbox(destination)) => {
                let messages: Vec<_> = self
                    .reader
                    .inbox(
                        destination,
                        InboxQuery::AtHeight { height },
                        INBOX_BLOCK_MESSAGES_MAX,
                    )
                    .await?;
                if messages.is_empty() {
                    return Ok(None);
                }
                Ok(Some(
                    match inbox_view(&self.reader, destination, messages, Vec::new(), None).await {
                        Ok(view) => json_event("inbox_block", height, &view),
                        Err(e) => {
                            let data = serde_json::json!({ "error": e.message, "code": e.code });
                            Event::default().event("error").data(data.to_string())
                        }
                    },
                ))
            }
            (Pending::Height(_), Kind::Headers) => Ok(None),
        }
    }
}

/// One step of a stream: the next event and the state after it, or `None` at the end.
async fn step<R: Reader>(mut st: Follow<R>) -> Option<(Result<Event, Infallible>, Follow<R>)> {
    loop {
        if let Some(pending) = st.pending.pop_front() {
            match st.event(pending).await {
                Ok(Some(event)) => return Some((Ok(event), st)),
                Ok(None) => continue,
                Err(e) => {
                    st.pending.clear();
                    st.done = true;
                    return Some((Ok(error_event(&e)), st));
                }
            }
        }
        if st.done {
            return None;
        }
        st.finalized.borrow_and_update();
        match st.fill().await {
            Ok(true) => {}
            Ok(false) => {
                if st.finalized.changed().await.is_err() {
                    // The node is shutting down.
                    return None;
                }
            }
            Err(e) => {
                st.done = true;
                return Some((Ok(error_event(&e)), st));
            }
        }
    }
}

/// The first height of a stream: `Last-Event-ID + 1`, else `?from=`, else the next height.
async fn start(
    reader: &impl Reader,
    query: &StreamQuery,
    headers: &HeaderMap,
) -> Result<Option<Height>, ApiError> {
    // `from` is checked even when Last-Event-ID overrides it: a malformed request is refused.
    let from = query
        .from
        .as_deref()
        .map(|from| parse_height(from, "from"))
        .transpose()?;
    if let Some(value) = headers.get("last-event-id") {
        // Browsers send the header only once they have an id, so an empty one is malformed too.
        let id = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError::bad_request(
                    code::INVALID_HEIGHT,
                    "Last-Event-ID must be a block height (the id of the last event received)",
                )
            })?;
        return Ok(parse_height(id, "Last-Event-ID")?.checked_add(1));
    }
    if let Some(from) = from {
        return Ok(Some(from));
    }
    let latest = reader.latest_height().await.map_err(ApiError::storage)?;
    Ok(latest.map_or(Some(0), |h| h.checked_add(1)))
}

fn sse<R: ApiReader>(
    reader: R,
    finalized: watch::Receiver<u64>,
    kind: Kind,
    next: Option<Height>,
    batch: usize,
    keepalive: Duration,
) -> Response {
    let follow = Follow {
        reader,
        finalized,
        kind,
        next,
        pending: VecDeque::new(),
        batch: batch.max(1),
        done: false,
    };
    let events = futures::stream::unfold(follow, step);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive"))
        .into_response()
}

/// `GET /v1/stream/headers?from=H`.
#[utoipa::path(
    get,
    path = "/v1/stream/headers",
    tag = "streams",
    params(
        ("from" = Option<u64>, Query, description = "First height to send (default: the next to be finalized)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this height (takes precedence over `from`)"),
    ),
    responses(
        (status = 200, description = "Server-sent events: `header` events (id = height) whose data is a header view; an `error` event before the stream ends on an index failure", content_type = "text/event-stream", body = HeaderView),
        (status = 400, description = "Not a height", body = ErrorBody),
    )
)]
pub(crate) async fn headers<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    query: Result<Query<StreamQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let next = start(&state.reader, &query, &headers).await?;
    Ok(sse(
        state.reader,
        state.finalized,
        Kind::Headers,
        next,
        state.cfg.stream_batch_max,
        state.cfg.sse_keepalive,
    ))
}

/// `GET /v1/stream/namespaces/{ns}?from=H&payloads=false`.
#[utoipa::path(
    get,
    path = "/v1/stream/namespaces/{ns}",
    tag = "streams",
    params(
        ("ns" = u64, Path, description = "The namespace"),
        ("from" = Option<u64>, Query, description = "First height to consider (default: the next to be finalized)"),
        ("payloads" = Option<bool>, Query, description = "`false`: transactions carry their index and hash only (default `true`)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this height (takes precedence over `from`)"),
    ),
    responses(
        (status = 200, description = "Server-sent events: one `namespace_block` event (id = height) per finalized block holding the namespace, valid or not", content_type = "text/event-stream", body = NamespaceEventView),
        (status = 400, description = "Not a namespace or height", body = ErrorBody),
    )
)]
pub(crate) async fn namespace<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<StreamQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(ns) = path?;
    let namespace = parse_namespace(&ns)?;
    let Query(query) = query?;
    let next = start(&state.reader, &query, &headers).await?;
    Ok(sse(
        state.reader,
        state.finalized,
        Kind::Namespace(namespace, query.payloads.unwrap_or(true)),
        next,
        state.cfg.stream_batch_max,
        state.cfg.sse_keepalive,
    ))
}

/// `GET /v1/stream/namespaces/{ns}/inbox?from=H`.
#[utoipa::path(
    get,
    path = "/v1/stream/namespaces/{ns}/inbox",
    tag = "streams",
    params(
        ("ns" = u64, Path, description = "The destination namespace"),
        ("from" = Option<u64>, Query, description = "First height to consider (default: the next to be finalized)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this height (takes precedence over `from`)"),
    ),
    responses(
        (status = 200, description = "Server-sent events: one `inbox_block` event (id = height) per finalized block holding messages to the namespace, with their proofs (the inbox view)", content_type = "text/event-stream", body = crate::views::InboxView),
        (status = 400, description = "Not a namespace or height", body = ErrorBody),
    )
)]
pub(crate) async fn inbox<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<StreamQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(ns) = path?;
    let destination = parse_namespace(&ns)?;
    let Query(query) = query?;
    let next = start(&state.reader, &query, &headers).await?;
    Ok(sse(
        state.reader,
        state.finalized,
        Kind::Inbox(destination),
        next,
        state.cfg.stream_batch_max,
        state.cfg.sse_keepalive,
    ))
}
