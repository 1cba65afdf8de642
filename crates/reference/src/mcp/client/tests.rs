//! The client against wiremock upstreams: both framings, sessions, and every failure bounded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;

/// How the fake upstream misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Json,
    Sse,
    Garbage,
    NotJsonRpc,
    OldProtocol,
    RpcErrorOnCall,
}

/// A JSON-RPC upstream that echoes request ids, sets a session id, and records the session headers
/// it saw after `initialize`.
struct Upstream2 {
    mode: Mode,
    seen_sessions: Arc<Mutex<Vec<Option<String>>>>,
}

impl Respond for Upstream2 {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let method = body["method"].as_str().unwrap_or_default().to_string();
        if method != "initialize" {
            let sid = req.headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
            self.seen_sessions.lock().expect("lock").push(sid);
        }
        if self.mode == Mode::Garbage {
            return ResponseTemplate::new(200).set_body_raw("<html>oops</html>", "text/html");
        }
        if method.starts_with("notifications/") {
            return ResponseTemplate::new(202);
        }
        let result = match method.as_str() {
            "initialize" => {
                let version = if self.mode == Mode::OldProtocol { "2023-01-01" } else { "2025-06-18" };
                json!({"protocolVersion": version, "capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "1"}})
            }
            "tools/list" => match body["params"]["cursor"].as_str() {
                None => json!({"tools": [{"name": "a", "inputSchema": {"type": "object"}}], "nextCursor": "p2"}),
                Some(_) => json!({"tools": [{"name": "b", "inputSchema": {"type": "object"}}]}),
            },
            "tools/call" => {
                json!({"content": [{"type": "text", "text": format!("called {}", body["params"]["name"].as_str().unwrap_or("?"))}], "isError": false})
            }
            _ => Value::Null,
        };
        let mut answer = json!({"jsonrpc": "2.0", "id": body["id"], "result": result});
        if self.mode == Mode::NotJsonRpc && method == "tools/list" {
            answer = json!({"hello": "world"});
        }
        if self.mode == Mode::RpcErrorOnCall && method == "tools/call" {
            answer = json!({"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32602, "message": "unknown tool"}});
        }
        let template = ResponseTemplate::new(200).insert_header("mcp-session-id", "sess-1");
        if self.mode == Mode::Sse {
            // A notification first, then the answer, then a stream left open by a keep-alive comment.
            let stream = format!(
                "event: message\r\ndata: {}\r\n\r\nevent: message\r\ndata: {}\r\n\r\n: keep-alive\n",
                json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info"}}),
                answer
            );
            template.set_body_raw(stream, "text/event-stream")
        } else {
            template.set_body_json(answer)
        }
    }
}

async fn upstream(mode: Mode) -> (MockServer, Arc<Mutex<Vec<Option<String>>>>) {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST")).respond_with(Upstream2 { mode, seen_sessions: seen.clone() }).mount(&server).await;
    Mock::given(method("DELETE")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    (server, seen)
}

fn target(url: String, timeout: Duration) -> super::Upstream {
    super::Upstream { url, headers: HeaderMap::new(), timeout }
}

#[tokio::test]
async fn lists_every_page_of_tools_in_both_framings_and_echoes_the_session() {
    for mode in [Mode::Json, Mode::Sse] {
        let (server, seen) = upstream(mode).await;
        let tools = McpClient::new().list_tools(&target(format!("{}/mcp", server.uri()), Duration::from_secs(5))).await;
        let names: Vec<String> =
            tools.expect("tools").iter().map(|t| t["name"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(names, ["a", "b"]);
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 3, "initialized notification and two pages");
        assert!(seen.iter().all(|s| s.as_deref() == Some("sess-1")), "{seen:?}");
    }
}

#[tokio::test]
async fn calls_a_tool_and_returns_its_result() {
    let (server, _) = upstream(Mode::Sse).await;
    let result = McpClient::new()
        .call_tool(&target(format!("{}/mcp", server.uri()), Duration::from_secs(5)), "refund", &json!({"id": 1}))
        .await
        .expect("result");
    assert_eq!(result["content"][0]["text"], "called refund");
    assert_eq!(result["isError"], false);
}

#[tokio::test]
async fn failures_map_to_tags_and_statuses() {
    let cases = [
        (Mode::Garbage, "upstream_error", 502),
        (Mode::NotJsonRpc, "upstream_error", 502),
        (Mode::OldProtocol, "upstream_error", 502),
    ];
    for (mode, tag, status) in cases {
        let (server, _) = upstream(mode).await;
        let err = McpClient::new().list_tools(&target(server.uri(), Duration::from_secs(5))).await.unwrap_err();
        assert_eq!((err.tag(), err.http_status()), (tag, status), "{err}");
    }
}

#[tokio::test]
async fn a_json_rpc_error_is_reported_with_its_code() {
    let (server, _) = upstream(Mode::RpcErrorOnCall).await;
    let err =
        McpClient::new().call_tool(&target(server.uri(), Duration::from_secs(5)), "x", &json!({})).await.unwrap_err();
    assert_eq!(err, McpClientError::Rpc { code: -32602, message: "unknown tool".into() });
}

#[tokio::test]
async fn a_server_that_is_down_is_unreachable_at_once() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let started = Instant::now();
    let err = McpClient::new()
        .list_tools(&target(format!("http://127.0.0.1:{port}/mcp"), Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!((err.tag(), err.http_status()), ("unreachable", 502), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_slow_server_times_out_within_the_server_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = McpClient::new()
        .call_tool(&target(server.uri(), Duration::from_millis(300)), "x", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err, McpClientError::Timeout(Duration::from_millis(300)));
    assert_eq!((err.tag(), err.http_status()), ("timeout", 504));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn upstream_auth_statuses_pass_through() {
    for (status, tag) in [(401, "auth_required"), (403, "forbidden"), (429, "rate_limited"), (500, "upstream_error")] {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(status)).mount(&server).await;
        let err = McpClient::new().list_tools(&target(server.uri(), Duration::from_secs(5))).await.unwrap_err();
        assert_eq!(err.tag(), tag);
        assert_eq!(err.http_status(), if status == 500 { 502 } else { status });
    }
}

#[test]
fn sse_events_survive_any_chunking() {
    let stream = "event: message\r\ndata: {\"a\":\"é\"}\r\n\r\n: comment\n\ndata: {\"b\":\ndata: 1}\n\n";
    let bytes = stream.as_bytes();
    for split in 1..bytes.len() {
        let mut events = SseEvents::default();
        let mut out = events.feed(&bytes[..split]);
        out.extend(events.feed(&bytes[split..]));
        out.extend(events.finish());
        assert_eq!(out, ["{\"a\":\"é\"}", "{\"b\":\n1}"], "split at {split}");
    }
}

#[test]
fn server_timeouts_fall_back_to_the_default() {
    use crate::mcp::model::fixtures::server;
    let with = |t: Option<f64>| timeout_of(&McpServer { timeout: t, ..server("s") });
    assert_eq!(with(Some(2.0)), Duration::from_secs(2));
    assert_eq!(with(Some(0.5)), Duration::from_millis(500));
    assert_eq!(with(None), DEFAULT_TIMEOUT);
    assert_eq!(with(Some(0.0)), DEFAULT_TIMEOUT);
    assert_eq!(with(Some(f64::NAN)), DEFAULT_TIMEOUT);
}

#[test]
fn auth_types_become_headers() {
    use crate::mcp::model::fixtures::server;
    let with = |auth: &str| {
        let s =
            McpServer { auth_type: Some(auth.into()), credentials: Some(json!({"auth_value": "tok"})), ..server("s") };
        auth_headers(&s)
    };
    assert_eq!(with("bearer_token")["authorization"], "Bearer tok");
    assert_eq!(with("api_key")["x-api-key"], "tok");
    assert_eq!(with("basic")["authorization"], "Basic dG9r");
    assert_eq!(with("authorization")["authorization"], "tok");
    let s = McpServer { static_headers: Some(json!({"x-team": "blue"})), ..server("s") };
    assert_eq!(auth_headers(&s)["x-team"], "blue");
}
