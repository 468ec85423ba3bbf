//! Each bound of `cortado_api::ApiLimits` exceeded on a real server on 127.0.0.1, answered with
//! its documented refusal, and the server serving again once the load is gone. Other loopback
//! addresses (127.0.0.2, …) stand for other clients.

mod common;

use common::{CHAIN, Fixture, limits};
use cortado_api::{ApiConfig, ApiLimits, REFUSING_MAX, serve};
use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
    sync::oneshot,
};

/// A server of the fixture's blocks within `bounds`.
struct Server {
    addr: SocketAddr,
    fx: Fixture,
    _stop: oneshot::Sender<()>,
}

async fn start(bounds: ApiLimits) -> Server {
    let cfg = ApiConfig {
        bounds: bounds.clone(),
        ..ApiConfig::new(limits(), CHAIN)
    };
    let fx = Fixture::with_config(cfg).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let router = fx.router.clone();
    tokio::spawn(async move {
        serve(listener, router, &bounds, async move {
            let _ = stopped.await;
        })
        .await
    });
    Server {
        addr,
        fx,
        _stop: stop,
    }
}

/// A connection to `server` from the loopback address `from`.
async fn connect(server: SocketAddr, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    let from: IpAddr = from.parse().expect("address");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    socket.connect(server).await.expect("connect")
}

/// A parsed answer: status code, `Retry-After`, body.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

impl Answer {
    fn assert_refusal(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(
            self.body.contains(&format!("\"code\":\"{code}\"")),
            "{self:?}"
        );
        assert!(self.retry_after.unwrap_or(0) >= 1, "Retry-After: {self:?}");
    }
}

/// Sends `request` (a request line and headers, without the blank line) on `stream` and
/// reads the answer's head and, unless it is an SSE stream, its body to the end.
async fn ask(stream: &mut TcpStream, request: &str) -> Answer {
    let request = format!("{request}\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    read_answer(stream).await
}

async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw);
        let sse = text.contains("text/event-stream") && text.contains("\r\n\r\n");
        if n == 0 || sse {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let retry_after = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("retry-after: ")
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().parse().ok());
    Answer {
        status,
        retry_after,
        body: body.to_string(),
    }
}

/// Opens an SSE stream of headers from `from`; returns its connection once the answer's head
/// is read.
async fn open_stream(server: SocketAddr, from: &str) -> (TcpStream, Answer) {
    let mut stream = connect(server, from).await;
    let answer = ask(&mut stream, "GET /v1/stream/headers?from=0 HTTP/1.1").await;
    (stream, answer)
}

/// Retries `f` until it answers 200 (a freed slot is given back when the server notices the
/// closed connection); at most 200 tries 25 ms apart.
async fn until_ok<F, Fut>(mut f: F) -> Answer
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let mut last = None;
    for _ in 0..200 {
        let answer = f().await;
        if answer.status == 200 {
            return answer;
        }
        last = Some(answer);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never served again: {last:?}");
}

const STATUS: &str = "GET /v1/status HTTP/1.1";

#[tokio::test]
async fn connections_are_bounded_per_address_and_in_all() {
    let server = start(ApiLimits {
        connections_max: 3,
        connections_per_address_max: 2,
        streams_max: 3,
        streams_per_address_max: 2,
        ..ApiLimits::default()
    })
    .await;
    let addr = server.addr;
    // Two idle connections from one client fill its share.
    let a1 = connect(addr, "127.0.0.1").await;
    let _a2 = connect(addr, "127.0.0.1").await;
    let mut a3 = connect(addr, "127.0.0.1").await;
    ask(&mut a3, STATUS)
        .await
        .assert_refusal(429, "too_many_connections");
    // Another client still gets in, until the node's total is reached.
    let _b1 = connect(addr, "127.0.0.2").await;
    let mut c1 = connect(addr, "127.0.0.3").await;
    let refused = ask(&mut c1, STATUS).await;
    refused.assert_refusal(503, "overloaded");
    assert!(refused.body.contains("connections"), "{refused:?}");
    // A closed connection gives its slot back.
    drop(a1);
    let answer = until_ok(|| async {
        let mut a = connect(addr, "127.0.0.1").await;
        ask(&mut a, STATUS).await
    })
    .await;
    assert!(answer.body.contains("\"chain_id\":7"), "{answer:?}");
}

#[tokio::test]
async fn request_rate_is_bounded_per_address() {
    let server = start(ApiLimits {
        requests_per_second_per_address: 1,
        requests_burst_per_address: 3,
        ..ApiLimits::default()
    })
    .await;
    for _ in 0..3 {
        let mut a = connect(server.addr, "127.0.0.1").await;
        assert_eq!(ask(&mut a, STATUS).await.status, 200);
    }
    let mut a = connect(server.addr, "127.0.0.1").await;
    let refused = ask(&mut a, STATUS).await;
    refused.assert_refusal(429, "rate_limited");
    // Another address has its own budget.
    let mut b = connect(server.addr, "127.0.0.2").await;
    assert_eq!(ask(&mut b, STATUS).await.status, 200);
}

#[tokio::test]
async fn sse_streams_are_bounded_per_address_and_in_all() {
    let server = start(ApiLimits {
        streams_max: 2,
        streams_per_address_max: 1,
        ..ApiLimits::default()
    })
    .await;
    let addr = server.addr;
    let (first, answer) = open_stream(addr, "127.0.0.1").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    open_stream(addr, "127.0.0.1")
        .await
        .1
        .assert_refusal(429, "too_many_streams");
    // Plain requests are not streams: still served.
    let mut a = connect(addr, "127.0.0.1").await;
    assert_eq!(ask(&mut a, STATUS).await.status, 200);
    let (_second, answer) = open_stream(addr, "127.0.0.2").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    open_stream(addr, "127.0.0.3")
        .await
        .1
        .assert_refusal(503, "overloaded");
    // A client that goes away gives its stream back.
    drop(first);
    until_ok(|| async { open_stream(addr, "127.0.0.1").await.1 }).await;
}

#[tokio::test]
async fn requests_in_flight_are_shed_and_slow_answers_time_out() {
    let server = start(ApiLimits {
        requests_in_flight_max: 1,
        request_timeout_ms: 300,
        ..ApiLimits::default()
    })
    .await;
    let addr = server.addr;
    let gate = server.fx.node.stall();
    let submit = "POST /v1/transactions?namespace=3 HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\n\r\nhi";
    // One submission waits inside the node...
    let mut slow = connect(addr, "127.0.0.1").await;
    slow.write_all(submit.as_bytes()).await.expect("write");
    // ... and holds the only slot: the next request is shed at once, until the first times out.
    let mut shed = None;
    for _ in 0..200 {
        let mut b = connect(addr, "127.0.0.2").await;
        let answer = ask(&mut b, STATUS).await;
        if answer.status == 503 {
            shed = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let shed = shed.expect("a request was shed while another was in flight");
    shed.assert_refusal(503, "overloaded");
    let timed_out = read_answer(&mut slow).await;
    timed_out.assert_refusal(503, "timeout");
    assert!(timed_out.body.contains("300 ms"), "{timed_out:?}");
    // Nothing stalls any more: served again.
    gate.close();
    let mut c = connect(addr, "127.0.0.1").await;
    assert_eq!(ask(&mut c, STATUS).await.status, 200);
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = start(ApiLimits {
        idle_timeout_ms: 200,
        ..ApiLimits::default()
    })
    .await;
    // A client that connects and sends nothing (or half a request) is closed by the server.
    let mut silent = connect(server.addr, "127.0.0.1").await;
    let mut half = connect(server.addr, "127.0.0.1").await;
    half.write_all(b"GET /v1/status HTTP/1.1\r\nHost: te")
        .await
        .expect("write");
    for stream in [&mut silent, &mut half] {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("the server closes an idle connection");
        // Closed (EOF or reset), with at most an error answer before it.
        if let Ok(n) = read {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
        }
    }
}

#[tokio::test]
async fn refusals_in_progress_are_bounded_too() {
    let server = start(ApiLimits {
        connections_max: 2,
        connections_per_address_max: 1,
        streams_max: 2,
        streams_per_address_max: 1,
        ..ApiLimits::default()
    })
    .await;
    let addr = server.addr;
    let _held = connect(addr, "127.0.0.1").await;
    // Over the limit, each connection is answered `429`, which takes reading its request:
    // REFUSING_MAX silent ones hold every refusal in progress...
    let mut silent = Vec::new();
    for _ in 0..REFUSING_MAX {
        silent.push(connect(addr, "127.0.0.1").await);
    }
    // ...so the next is closed without an answer (the server spends nothing more on it),
    // once the server has taken up the silent ones (it accepts in order).
    let mut dropped = None;
    for _ in 0..200 {
        let answer = ask_once(addr).await;
        if answer.status == 0 {
            dropped = Some(answer);
            break;
        }
        answer.assert_refusal(429, "too_many_connections");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let dropped = dropped.expect("a connection past REFUSING_MAX refusals is dropped");
    assert!(dropped.body.is_empty(), "{dropped:?}");
    // Once the silent ones go, refusals are answered again.
    drop(silent);
    let mut last = None;
    for _ in 0..200 {
        let answer = ask_once(addr).await;
        if answer.status == 429 {
            answer.assert_refusal(429, "too_many_connections");
            last = None;
            break;
        }
        last = Some(answer);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(last.is_none(), "refusals never answered again: {last:?}");
}

/// A status request on a new connection; a connection the server closed at once (the write or
/// the read fails) reads as an empty answer with status 0.
async fn ask_once(server: SocketAddr) -> Answer {
    let mut stream = connect(server, "127.0.0.1").await;
    let request = format!("{STATUS}\r\nHost: test\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    read_answer(&mut stream).await
}
