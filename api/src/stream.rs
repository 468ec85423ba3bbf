//! Server-sent event streams of finalized headers and of one namespace's blocks.
//!
//! A stream starts at a height: `Last-Event-ID + 1` if the client resumes (every event's id is
//! its height), else `?from=`, else the next height to be finalized. It catches up from the
//! index in batches of at most `stream_batch_max` and then follows the `finalized` watch
//! channel, which only wakes it: the index is the source of truth, so the node must index a
//! block before it announces its height. The current value of the channel is marked seen
//! before each index read, so a block finalized during the read still wakes the stream.
//!
//! Within the last heights up to the announced one, a stream takes each event from the shared
//! [`Feed`](crate::feed), which reads and renders it once for every stream at the tip; behind
//! that window it reads the index itself. Both paths render the same views.
//!
//! At most one batch of headers (or, for a namespace stream, one batch of heights: blocks are
//! read one at a time as they are sent) is held per stream. A stream ends when the node drops
//! the channel's sender (shutdown) or, after an `error` event, when the index fails.

use crate::views::{HeaderView, NamespaceEventView};
use crate::{
    Node,
    error::{ApiError, ErrorBody, code},
    feed::{Feed, Kind, Served, error_event, header_event, inbox_event, namespace_event},
    routes::{ApiReader, AppState, parse_height, parse_namespace},
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
use cortado_storage::{Error as StorageError, Reader};
use cortado_types::{FinalityCertificate, Header, Height, Namespace};
use serde::Deserialize;
use std::{collections::VecDeque, convert::Infallible, sync::Arc};
use tokio::sync::watch;

/// Query of the stream routes.
#[derive(Deserialize)]
pub(crate) struct StreamQuery {
    from: Option<String>,
    /// Namespace streams only: `false` leaves out the payloads (hashes only).
    payloads: Option<bool>,
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
    /// The shared renderings of the latest heights.
    feed: Arc<Feed>,
    /// The last event came from the feed at the announced height.
    at_tip: bool,
}

impl<R: Reader> Follow<R> {
    /// Ends the stream after an `error` event.
    fn fail(&mut self, err: &StorageError) -> Event {
        self.pending.clear();
        self.done = true;
        error_event(err)
    }

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
        let rendered = match (pending, self.kind) {
            (Pending::Header(hc), _) => Some(header_event(&hc.0, &hc.1)),
            // `namespace_heights` lists only blocks holding the namespace; skip any other.
            (Pending::Height(height), Kind::Namespace(namespace, payloads)) => {
                namespace_event(&self.reader, namespace, payloads, height).await?
            }
            (Pending::Height(height), Kind::Inbox(destination)) => {
                inbox_event(&self.reader, destination, height).await?
            }
            (Pending::Height(_), Kind::Headers) => None,
        };
        Ok(rendered.map(|r| r.event))
    }

    /// Serves `next` from the feed when the feed keeps it, the announced height being `tip`;
    /// `Ok(None)` when the stream must read the index instead.
    async fn serve_from_feed(
        &mut self,
        tip: Height,
    ) -> Result<Option<Option<Event>>, StorageError> {
        let Some(next) = self.next.filter(|next| *next <= tip) else {
            return Ok(None);
        };
        match self.feed.event(&self.reader, self.kind, next, tip).await? {
            Served::NotKept => Ok(None),
            Served::Event(event) => {
                self.next = next.checked_add(1);
                self.at_tip = next == tip;
                Ok(Some(event))
            }
        }
    }
}

/// One step of a stream: the next event and the state after it, or `None` at the end.
///
/// Within the feed's window a stream takes each height's event from the feed; behind it, it
/// reads the index in batches. Once it has sent the announced height from the feed it waits
/// for the next announcement without asking the index (the node indexes before announcing).
async fn step<R: Reader>(mut st: Follow<R>) -> Option<(Result<Event, Infallible>, Follow<R>)> {
    loop {
        if let Some(pending) = st.pending.pop_front() {
            match st.event(pending).await {
                Ok(Some(event)) => return Some((Ok(event), st)),
                Ok(None) => continue,
                Err(e) => return Some((Ok(st.fail(&e)), st)),
            }
        }
        if st.done {
            return None;
        }
        let tip = *st.finalized.borrow_and_update();
        match st.serve_from_feed(tip).await {
            Ok(Some(Some(event))) => return Some((Ok(event), st)),
            Ok(Some(None)) => continue,
            Ok(None) => {}
            Err(e) => return Some((Ok(st.fail(&e)), st)),
        }
        let fresh = if st.at_tip && st.next.is_some_and(|next| next > tip) {
            Ok(false)
        } else {
            st.at_tip = false;
            st.fill().await
        };
        match fresh {
            Ok(true) => {}
            Ok(false) => {
                if st.finalized.changed().await.is_err() {
                    // The node is shutting down.
                    return None;
                }
            }
            Err(e) => return Some((Ok(st.fail(&e)), st)),
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

fn sse<N, R: ApiReader>(state: AppState<N, R>, kind: Kind, next: Option<Height>) -> Response {
    let follow = Follow {
        reader: state.reader,
        finalized: state.finalized,
        kind,
        next,
        pending: VecDeque::new(),
        batch: state.cfg.stream_batch_max.max(1),
        done: false,
        feed: state.feed,
        at_tip: false,
    };
    let keepalive = state.cfg.sse_keepalive;
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
    Ok(sse(state, Kind::Headers, next))
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
        state,
        Kind::Namespace(namespace, query.payloads.unwrap_or(true)),
        next,
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
    Ok(sse(state, Kind::Inbox(destination), next))
}
