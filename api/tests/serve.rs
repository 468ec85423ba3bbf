//! A real server on 127.0.0.1:0: bad requests over the socket, the server still serving after
//! each, and a clean shutdown with an SSE stream open.

mod common;

use common::Fixture;
use cortado_api::{ApiLimits, serve};
use std::net::SocketAddr;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};

/// Sends one HTTP/1.1 request with `Connection: close` and returns the status line and body.
async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{head}\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    // The server may answer (413) and close before reading a large body.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn serves_bad_input_and_shuts_down() {
    let fx = Fixture::new(64).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let router = fx.router.clone();
    let server = tokio::spawn(async move {
        serve(listener, router, &ApiLimits::default(), async move {
            let _ = stop_rx.await;
        })
        .await
    });

    let oversize = vec![b'a'; 8 * common::limits().tx_bytes_max];
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "POST /v1/transactions?namespace=1 HTTP/1.1\r\nContent-Type: application/octet-stream",
            oversize,
            "413",
            "payload_too_large",
        ),
        (
            "POST /v1/transactions HTTP/1.1\r\nContent-Type: application/json",
            b"{oops".to_vec(),
            "400",
            "invalid_json",
        ),
        (
            "GET /v1/headers/nope HTTP/1.1",
            Vec::new(),
            "400",
            "invalid_height",
        ),
        (
            "GET /v1/transactions/123 HTTP/1.1",
            Vec::new(),
            "400",
            "invalid_hash",
        ),
        ("GET /nowhere HTTP/1.1", Vec::new(), "404", "not_found"),
        (
            "PATCH /v1/status HTTP/1.1",
            Vec::new(),
            "405",
            "method_not_allowed",
        ),
        (
            "GET /v1/stream/headers?from=x HTTP/1.1",
            Vec::new(),
            "400",
            "invalid_height",
        ),
    ];
    for (head, body, status, code) in cases {
        let (line, answer) = http(addr, head, &body).await;
        assert!(line.contains(status), "{head}: {line}");
        assert!(
            answer.contains(&format!("\"code\":\"{code}\"")),
            "{head}: {answer}"
        );
        let (line, answer) = http(addr, "GET /v1/status HTTP/1.1", b"").await;
        assert!(line.contains("200"), "still serving after {head}: {line}");
        assert!(answer.contains("\"chain_id\":7"), "{answer}");
    }
    let (line, answer) = http(
        addr,
        "POST /v1/transactions HTTP/1.1\r\nContent-Type: application/json",
        br#"{"namespace": 3, "payload": "aGk="}"#,
    )
    .await;
    assert!(line.contains("202"), "{line}");
    assert!(answer.contains("\"hash\":"), "{answer}");

    // An open stream does not keep the server up once the node has stopped.
    let mut sse = TcpStream::connect(addr).await.expect("connect");
    sse.write_all(b"GET /v1/stream/headers?from=0 HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 64];
    let n = sse.read(&mut first).await.expect("read");
    assert!(String::from_utf8_lossy(&first[..n]).contains("200"));
    stop_tx.send(()).expect("server running");
    drop(fx.finalized);
    server.await.expect("join").expect("serve returns Ok");
}
