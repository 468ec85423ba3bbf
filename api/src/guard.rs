//! The router's side of the limits ([`crate::limits`]): the request rate and SSE streams of
//! each address, requests in flight and the request timeout.

use crate::{
    ApiLimits,
    error::{ApiError, code},
    limits::{Rate, Slots, refusal},
};
use axum::{
    Router,
    body::Body,
    error_handling::HandleErrorLayer,
    extract::{ConnectInfo, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tower::{BoxError, ServiceBuilder, limit::GlobalConcurrencyLimitLayer};

/// What the per-address middleware counts.
pub(crate) struct Guards {
    rate: Rate,
    streams: Arc<Slots>,
}

/// Wraps `router` in the limits: outermost the per-address rate and stream counts, then the
/// node-wide requests in flight (shed at once when full, never queued), then the timeout.
pub(crate) fn bound<S>(router: Router<S>, limits: &ApiLimits) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let guards = Arc::new(Guards {
        rate: Rate::new(limits),
        streams: Slots::new(limits.streams_max, limits.streams_per_address_max),
    });
    let timeout = limits.request_timeout();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(limits.requests_in_flight_max));
    router
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |err: BoxError| async move {
                    tower_refusal(&err, timeout)
                }))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::with_semaphore(in_flight))
                .timeout(timeout),
        )
        .layer(axum::middleware::from_fn_with_state(guards, per_address))
}

/// The JSON answer to an error of the tower layers.
fn tower_refusal(err: &BoxError, timeout: Duration) -> ApiError {
    let retry_after = Some(Duration::from_secs(1));
    if err.is::<tower::timeout::error::Elapsed>() {
        ApiError {
            retry_after,
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::TIMEOUT,
                format!(
                    "the answer took longer than this node's request timeout ({} ms); retry later or ask another API node",
                    timeout.as_millis()
                ),
            )
        }
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError {
            retry_after,
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::OVERLOADED,
                "this node is answering its most requests at once; retry later or ask another API node",
            )
        }
    } else {
        ApiError::internal(format!("request failed: {err}"))
    }
}

/// Refuses a request over its address's rate, and an SSE stream over the stream counts; holds
/// a stream's slot until its body is dropped (the client gone or the stream ended).
async fn per_address(State(guards): State<Arc<Guards>>, request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip
        && let Err(wait) = guards.rate.check(ip)
    {
        return ApiError {
            retry_after: Some(wait.max(Duration::from_secs(1))),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                "your address sent more requests than this node's rate per address \
                 (requests_per_second_per_address); slow down",
            )
        }
        .into_response();
    }
    if !request.uri().path().starts_with("/v1/stream/") {
        return next.run(request).await;
    }
    let slot = match guards.streams.acquire(ip) {
        Ok(slot) => slot,
        Err(full) => return refusal(full, "SSE streams", code::TOO_MANY_STREAMS).into_response(),
    };
    next.run(request).await.map(|body| {
        Body::from_stream(body.into_data_stream().map(move |chunk| {
            let _held = &slot;
            chunk
        }))
    })
}
