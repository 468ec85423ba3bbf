//! Events rendered once per finalized block and shared by every stream at the tip.
//!
//! A public node may hold a thousand streams, nearly all at the tip: each would otherwise read
//! the same header or namespace from the index and render the same JSON when a block is
//! finalized, and at 12 blocks a second that work saturates a small machine. The feed renders
//! each event once: the first stream that needs the event of one kind (a header, a namespace
//! with or without payloads, an inbox) at one height reads the index and renders it; the
//! streams that ask meanwhile wait for that rendering; all of them send a copy.
//!
//! Only the last [`FEED_HEIGHTS`] heights up to the announced finalized height are kept, and
//! at most `stream_cache_bytes_max` bytes of rendered events: older heights are dropped first,
//! and a height dropped for its bytes is never rendered again. A stream asking for a height the
//! feed does not keep (too far behind, dropped, or not indexed yet) reads the index itself,
//! in batches, as it always could; it rejoins the feed once it is back within the window.
//!
//! The feed reads the same index a stream would, at heights the node has announced (so
//! indexed), and renders the same views, so what a stream sends does not depend on which of the
//! two paths served it. A rendering that fails is not kept: the stream gets the error, and the
//! next one to ask tries again.

use crate::{
    metrics::ApiMetrics,
    routes::inbox_view,
    views::{HeaderView, NamespaceEventView},
};
use axum::response::sse::Event;
use cortado_storage::{Error as StorageError, InboxQuery, Reader};
use cortado_types::{FinalityCertificate, Header, Height, Namespace};
use prometheus_client::metrics::counter::Counter;
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};
use tokio::sync::OnceCell;

/// Heights the feed keeps below and at the tip.
pub(crate) const FEED_HEIGHTS: u64 = 16;

/// Most messages one `inbox_block` event reads (a block holds at most `txs_per_block_max`).
const INBOX_BLOCK_MESSAGES_MAX: usize = 65_536;

/// What a stream follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Headers,
    /// A namespace, and whether events carry the payloads.
    Namespace(Namespace, bool),
    Inbox(Namespace),
}

/// An event and the bytes of its data.
pub(crate) struct Rendered {
    pub(crate) event: Event,
    pub(crate) bytes: usize,
}

/// The `error` event a stream ends with when the index fails.
pub(crate) fn error_event(err: &StorageError) -> Event {
    tracing::error!(%err, "index read failed in a stream");
    let data = serde_json::json!({
        "error": format!("the node's index failed: {err}; reconnect with Last-Event-ID"),
        "code": crate::error::code::INTERNAL,
    });
    Event::default().event("error").data(data.to_string())
}

/// An event named `name` with id `height` and `data` as JSON.
pub(crate) fn json_event(
    name: &'static str,
    height: Height,
    data: &impl serde::Serialize,
) -> Rendered {
    let event = Event::default().event(name).id(height.to_string());
    match serde_json::to_string(data) {
        Ok(json) => Rendered {
            bytes: json.len(),
            event: event.data(json),
        },
        // Serializing these views cannot fail; say so on the wire if it ever does.
        Err(e) => {
            let data =
                serde_json::json!({ "error": e.to_string(), "code": crate::error::code::INTERNAL });
            let data = data.to_string();
            Rendered {
                bytes: data.len(),
                event: event.event("error").data(data),
            }
        }
    }
}

/// The `header` event of a header.
pub(crate) fn header_event(header: &Header, certificate: &FinalityCertificate) -> Rendered {
    json_event(
        "header",
        header.height,
        &HeaderView::new(header, certificate),
    )
}

/// The `namespace_block` event of `namespace` at `height`; `None` if the block does not hold it.
pub(crate) async fn namespace_event(
    reader: &impl Reader,
    namespace: Namespace,
    payloads: bool,
    height: Height,
) -> Result<Option<Rendered>, StorageError> {
    let nb = reader.namespace_block(namespace, height).await?;
    Ok(nb
        .as_ref()
        .and_then(|nb| NamespaceEventView::new(nb, payloads))
        .map(|view| json_event("namespace_block", height, &view)))
}

/// The `inbox_block` event of the messages to `destination` at `height`; `None` if there are none.
pub(crate) async fn inbox_event(
    reader: &impl Reader,
    destination: Namespace,
    height: Height,
) -> Result<Option<Rendered>, StorageError> {
    let messages: Vec<_> = reader
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
        match inbox_view(reader, destination, messages, Vec::new(), None).await {
            Ok(view) => json_event("inbox_block", height, &view),
            Err(e) => {
                let data = serde_json::json!({ "error": e.message, "code": e.code }).to_string();
                Rendered {
                    bytes: data.len(),
                    event: Event::default().event("error").data(data),
                }
            }
        },
    ))
}

/// What the feed answers for one height.
pub(crate) enum Served {
    /// The height's event for the stream, or `None` if it has none (a block without the
    /// namespace, an inbox without messages).
    Event(Option<Event>),
    /// The feed does not keep this height: read the index.
    NotKept,
}

type Cell = Arc<OnceCell<Option<Event>>>;

/// One height's renderings.
struct Slot {
    /// The header (its namespace table says which namespace events exist) and its event.
    header: OnceCell<Option<Arc<(Header, Event)>>>,
    events: Mutex<HashMap<Kind, Cell>>,
}

#[derive(Default)]
struct Inner {
    /// The kept heights, each with the bytes rendered into it.
    slots: BTreeMap<Height, (Arc<Slot>, usize)>,
    bytes: usize,
    /// Heights below this are not kept (dropped for their bytes, or below the window).
    floor: Height,
}

/// The shared renderings of the last [`FEED_HEIGHTS`] finalized heights.
pub(crate) struct Feed {
    inner: Mutex<Inner>,
    bytes_max: usize,
    /// Renderings into the feed (`api_stream_feed_renders_total`).
    renders: Counter,
    /// Events sent from the feed (`api_stream_feed_events_total`).
    served: Counter,
}

impl Feed {
    /// An empty feed keeping at most `bytes_max` bytes of rendered events.
    pub(crate) fn new(bytes_max: usize, metrics: &ApiMetrics) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            bytes_max,
            renders: metrics.feed_renders.clone(),
            served: metrics.feed_events.clone(),
        }
    }

    /// The slot of `height` when the feed keeps it, the tip being `tip`.
    fn slot(&self, height: Height, tip: Height) -> Option<Arc<Slot>> {
        if height > tip {
            return None;
        }
        let mut inner = self.inner.lock().expect("feed lock");
        let low = tip.saturating_sub(FEED_HEIGHTS - 1);
        if low > inner.floor {
            inner.floor = low;
            let kept = inner.slots.split_off(&low);
            let dropped: usize = inner.slots.values().map(|(_, b)| b).sum();
            inner.bytes -= dropped;
            inner.slots = kept;
        }
        if height < inner.floor {
            return None;
        }
        let (slot, _) = inner.slots.entry(height).or_insert_with(|| {
            let slot = Slot {
                header: OnceCell::new(),
                events: Mutex::new(HashMap::new()),
            };
            (Arc::new(slot), 0)
        });
        Some(slot.clone())
    }

    /// Counts `bytes` rendered into `height`'s slot (if still kept) and drops the oldest
    /// heights while the feed holds more than its budget (never the last one).
    fn account(&self, height: Height, bytes: usize) {
        self.renders.inc();
        let mut inner = self.inner.lock().expect("feed lock");
        let Some((_, held)) = inner.slots.get_mut(&height) else {
            return;
        };
        *held += bytes;
        inner.bytes += bytes;
        while inner.bytes > self.bytes_max && inner.slots.len() > 1 {
            let Some((oldest, (_, held))) = inner.slots.pop_first() else {
                break;
            };
            inner.bytes -= held;
            inner.floor = oldest + 1;
        }
    }

    /// The event of `kind` at `height` for a stream, the announced finalized height being `tip`.
    pub(crate) async fn event(
        &self,
        reader: &impl Reader,
        kind: Kind,
        height: Height,
        tip: Height,
    ) -> Result<Served, StorageError> {
        let Some(slot) = self.slot(height, tip) else {
            return Ok(Served::NotKept);
        };
        let header = slot
            .header
            .get_or_try_init(|| async {
                let Some((header, certificate)) = reader.header(height).await? else {
                    return Ok::<_, StorageError>(None);
                };
                let rendered = header_event(&header, &certificate);
                self.account(height, rendered.bytes);
                Ok(Some(Arc::new((header, rendered.event))))
            })
            .await?;
        let Some(header) = header.clone() else {
            // Not indexed (yet): the index path decides.
            return Ok(Served::NotKept);
        };
        let event = match kind {
            Kind::Headers => Some(header.1.clone()),
            Kind::Namespace(namespace, _) if header.0.table.find(namespace).is_err() => None,
            Kind::Namespace(..) | Kind::Inbox(_) => {
                let cell = slot
                    .events
                    .lock()
                    .expect("feed slot")
                    .entry(kind)
                    .or_default()
                    .clone();
                cell.get_or_try_init(|| async {
                    let rendered = match kind {
                        Kind::Namespace(namespace, payloads) => {
                            namespace_event(reader, namespace, payloads, height).await?
                        }
                        Kind::Inbox(destination) => {
                            inbox_event(reader, destination, height).await?
                        }
                        Kind::Headers => None,
                    };
                    self.account(height, rendered.as_ref().map_or(0, |r| r.bytes));
                    Ok::<_, StorageError>(rendered.map(|r| r.event))
                })
                .await?
                .clone()
            }
        };
        if event.is_some() {
            self.served.inc();
        }
        Ok(Served::Event(event))
    }
}
