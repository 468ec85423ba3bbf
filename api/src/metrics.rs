//! Request metrics of the API (counts and latencies by route, method and status) and the
//! `/metrics` route, which serves them after the node's own metrics in the Prometheus text
//! format.

use crate::{Node, routes::ApiReader, routes::AppState};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use std::{sync::Arc, time::Instant};

/// The labels of a request: the route template (not the raw path, so that the label set stays
/// bounded; `unmatched` for paths no route takes), the method and the status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

/// Latency buckets in seconds: 100 µs to 10 s.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0,
];

/// The API's metrics; cheap to clone.
#[derive(Clone)]
pub(crate) struct ApiMetrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// Events the stream feed read from the index and rendered ([`crate::feed`]).
    pub(crate) feed_renders: Counter,
    /// Events the stream feed sent to streams.
    pub(crate) feed_events: Counter,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl ApiMetrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("api");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "requests",
            "API requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "API request latency (to the response head; streams count until they start)",
            latency.clone(),
        );
        let feed_renders = Counter::default();
        let feed_events = Counter::default();
        registry.register(
            "stream_feed_renders",
            "Stream events read from the index and rendered once for every stream at the tip",
            feed_renders.clone(),
        );
        registry.register(
            "stream_feed_events",
            "Stream events sent from the shared renderings (streams behind the tip read the index)",
            feed_events.clone(),
        );
        Self {
            registry: Arc::new(registry),
            requests,
            latency,
            feed_renders,
            feed_events,
        }
    }

    fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Middleware recording every request.
pub(crate) async fn track(
    State(metrics): State<ApiMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let labels = RequestLabels {
        route,
        method,
        status: response.status().as_u16(),
    };
    metrics.requests.get_or_create(&labels).inc();
    metrics
        .latency
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the node's metrics, then the API's, in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "node",
    responses((
        status = 200,
        description = "Prometheus / OpenMetrics text: consensus, p2p bytes per channel, mempool, \
                       dispersal, finality latency, and API requests by route and status",
        content_type = "application/openmetrics-text",
        body = String,
    ))
)]
pub(crate) async fn metrics<N: Node, R: ApiReader>(
    State(state): State<AppState<N, R>>,
) -> impl IntoResponse {
    let node = state.node.metrics().await;
    // Each exposition ends with `# EOF`; keep only the last one.
    let mut body = node
        .trim_end()
        .strip_suffix("# EOF")
        .unwrap_or(node.trim_end())
        .to_string();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    body.push_str(&state.metrics.encode());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        body,
    )
}
