//! The accept loop: HTTP/1.1 connections counted in all and per address, each with an
//! idle/header-read timeout, and a graceful shutdown.
//!
//! A connection over [`ApiLimits::connections_max`] or
//! [`ApiLimits::connections_per_address_max`] is not left waiting in the backlog: it is
//! answered, for its first request, with the JSON refusal (`503 overloaded` or
//! `429 too_many_connections`, `Retry-After: 1`) and closed. At most [`REFUSING_MAX`] such
//! answers are in progress at once; past that, refused connections are closed unanswered.

use crate::{
    ApiLimits,
    error::{ApiError, code},
    limits::{Slot, Slots, refusal},
};
use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    response::{IntoResponse, Response},
};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    convert::Infallible, future::Future, net::SocketAddr, pin::pin, sync::Arc, time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

/// How long [`serve`] lets open connections (SSE streams above all) finish after shutdown
/// is signalled, before it drops them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Most refused connections answered at once.
pub const REFUSING_MAX: usize = 64;

/// How long a refused connection has to send its request before it is closed unanswered.
const REFUSING_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets open
/// requests finish for at most [`SHUTDOWN_GRACE`]. Each request carries its peer's
/// `ConnectInfo<SocketAddr>`, which the per-address limits of the router read.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ApiLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Slots::new(limits.connections_max, limits.connections_per_address_max);
    let refusing = Arc::new(Semaphore::new(REFUSING_MAX));
    let idle = limits.idle_timeout();
    // Every connection task holds a receiver; `closed()` resolves when the last one is gone.
    let (stopping_tx, stopping_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%err, "API accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        match connections.acquire(Some(remote.ip())) {
            Ok(slot) => {
                let conn = connection(stream, remote, router.clone(), idle, slot);
                tokio::spawn(until_stopped(conn, stopping_rx.clone()));
            }
            Err(full) => {
                let Ok(permit) = refusing.clone().try_acquire_owned() else {
                    continue;
                };
                let error = refusal(full, "connections", code::TOO_MANY_CONNECTIONS);
                let conn = refuse(stream, error);
                let stopping = stopping_rx.clone();
                tokio::spawn(async move {
                    until_stopped(conn, stopping).await;
                    drop(permit);
                });
            }
        }
    }
    drop(stopping_rx);
    let _ = stopping_tx.send(true);
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, stopping_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            "API connections still open {SHUTDOWN_GRACE:?} after shutdown; dropping them"
        );
    }
    Ok(())
}

/// Drives one connection; once `stopping` turns true, asks it to finish its current request
/// and close.
async fn until_stopped<C>(conn: C, mut stopping: watch::Receiver<bool>)
where
    C: Future<Output = ()> + GracefulConnection,
{
    let mut conn = pin!(conn);
    tokio::select! {
        () = conn.as_mut() => return,
        _ = stopping.wait_for(|s| *s) => {}
    }
    conn.as_mut().shut_down();
    conn.await;
}

/// A connection that can be asked to close after its current request.
trait GracefulConnection {
    fn shut_down(self: std::pin::Pin<&mut Self>);
}

/// A connection future over hyper's HTTP/1 connection.
struct Conn<S: hyper::service::HttpService<Incoming>> {
    inner: http1::Connection<TokioIo<TcpStream>, S>,
    _slot: Option<Slot>,
}

impl<S> Future for Conn<S>
where
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Output = ();
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let this = self.get_mut();
        match std::pin::Pin::new(&mut this.inner).poll(cx) {
            std::task::Poll::Ready(result) => {
                if let Err(err) = result {
                    tracing::trace!(%err, "API connection ended");
                }
                std::task::Poll::Ready(())
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

impl<S> GracefulConnection for Conn<S>
where
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn shut_down(self: std::pin::Pin<&mut Self>) {
        std::pin::Pin::new(&mut self.get_mut().inner).graceful_shutdown();
    }
}

/// Serves `router` on an accepted connection, holding its `slot` until it closes.
fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    idle: Duration,
    slot: Slot,
) -> impl Future<Output = ()> + GracefulConnection {
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(idle);
    Conn {
        inner: builder.serve_connection(TokioIo::new(stream), service),
        _slot: Some(slot),
    }
}

/// Answers every request of a refused connection with `error`, then closes it.
fn refuse(stream: TcpStream, error: ApiError) -> impl Future<Output = ()> + GracefulConnection {
    let service = service_fn(move |_request: hyper::Request<Incoming>| {
        let response: Response = error.clone().into_response();
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSING_TIMEOUT)
        .keep_alive(false);
    Conn {
        inner: builder.serve_connection(TokioIo::new(stream), service),
        _slot: None,
    }
}
