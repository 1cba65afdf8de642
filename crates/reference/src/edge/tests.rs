//! The edge over real HTTP on loopback: a router of test routes behind the proxy's own layers and
//! accept loop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::{serve, with_layers};

async fn panics() -> &'static str {
    panic!("boom in a handler")
}

async fn echo(Path(id): Path<String>) -> String {
    id
}

async fn number(Path(n): Path<u32>) -> String {
    n.to_string()
}

/// Serves the test routes behind the proxy's layers; returns the address and the stop switch.
async fn start() -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let app = Router::new()
        .route("/panic", get(panics))
        .route("/ok", get(|| async { "ok" }))
        .route("/echo/{id}", get(echo))
        .route("/number/{n}", get(number));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, with_layers(app), async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// One raw HTTP/1.1 response off `stream`: status, head and body (by its content-length).
async fn read_response(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "the connection closed before a response head: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).expect("a status");
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .and_then(|v| v.parse().ok())
        .expect("a content-length");
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the connection closed inside the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    (status, head, buf[head_end..head_end + length].to_vec())
}

fn litellm_error(body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).expect("a JSON body");
    let e = &v["error"];
    assert!(e["message"].is_string() && e["type"].is_string() && e["code"].is_string(), "{v}");
    assert!(e.get("param").is_some(), "{v}");
    v
}

/// Log lines written to a buffer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the log buffer")).to_string()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

// A current-thread runtime, so the connection tasks run on this thread, under its subscriber.
#[tokio::test(flavor = "current_thread")]
async fn a_handler_panic_is_a_500_in_litellms_shape_and_the_connection_goes_on() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(log.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (addr, _stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /panic HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    let (status, _, body) = read_response(&mut stream).await;
    assert_eq!(status, 500);
    let v = litellm_error(&body);
    assert_eq!(v["error"]["code"], "500");
    assert_eq!(v["error"]["type"], "internal_server_error");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("boom in a handler")), "{v}");
    // Logged as an error, with the panic's message, so a 500 in the field can be traced to its bug.
    let logged = log.text();
    let line = logged.lines().find(|l| l.contains("a request handler panicked")).unwrap_or_default();
    assert!(line.contains("ERROR") && line.contains("boom in a handler"), "the log: {logged:?}");
    // The same connection answers the next request.
    stream.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    let (status, _, body) = read_response(&mut stream).await;
    assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));
}

/// Requests hyper refuses before the router runs, and a rejection axum answers in plain text.
#[tokio::test]
async fn errors_before_any_handler_come_in_litellms_shape() {
    let (addr, _stop) = start().await;
    let long_target = format!("GET /ok?{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000));
    let long_header = format!("GET /ok HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "a".repeat(500_000));
    let cases: [(&str, Vec<u8>, u16, &str); 5] = [
        (
            "a control byte in a header",
            b"GET /ok HTTP/1.1\r\nhost: x\r\nx-bad: a\x01b\r\n\r\n".to_vec(),
            400,
            "malformed",
        ),
        ("a space in a header name", b"GET /ok HTTP/1.1\r\nhost: x\r\nx bad: a\r\n\r\n".to_vec(), 400, "malformed"),
        ("a target over hyper's limit", long_target.into_bytes(), 414, "request target"),
        ("a head over hyper's buffer", long_header.into_bytes(), 431, "request head"),
        ("a path id axum rejects", b"GET /number/abc HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 400, "Invalid URL"),
    ];
    for (what, request, expected, reason) in cases {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // The server may answer and close before it has read all of a long request.
        let _ = stream.write_all(&request).await;
        let (status, head, body) = read_response(&mut stream).await;
        assert_eq!(status, expected, "{what}: {head} {}", String::from_utf8_lossy(&body));
        assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{what}: {head}");
        let v = litellm_error(&body);
        assert_eq!(v["error"]["code"], expected.to_string(), "{what}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{what}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains(reason)), "{what}: {v}");
    }
    // The server still serves.
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    assert_eq!(read_response(&mut stream).await.0, 200);
}

/// A path segment that is not UTF-8 once decoded reaches the handler as Starlette decodes it.
#[tokio::test]
async fn a_path_that_is_not_utf8_reaches_the_handler_decoded_lossily() {
    let (addr, _stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /echo/%ff%fe HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    let (status, _, body) = read_response(&mut stream).await;
    assert_eq!((status, String::from_utf8_lossy(&body).as_ref()), (200, "\u{fffd}\u{fffd}"));
}
