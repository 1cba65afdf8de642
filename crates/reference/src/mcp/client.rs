//! A client for upstream MCP servers over the streamable HTTP transport (JSON-RPC 2.0), as LiteLLM's
//! proxy uses it: a fresh session per operation (`initialize`, the `initialized`
//! notification, the operation, then a best-effort `DELETE`), answers framed as plain JSON or as
//! server-sent events, and `mcp-session-id` echoed once the server set it.
//!
//! Every operation runs under the server's own timeout, so a slow upstream costs the caller at most
//! that long; each failure is one [`McpClientError`] the handlers map to a status and a tag.

use std::time::Duration;

use base64::Engine;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::model::McpServer;

/// The timeout of a server that sets none. LiteLLM's default is 60 s; the reference uses less, so a
/// stuck upstream shows as a 504 well inside a scenario runner's request timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The protocol version the client asks for.
const PROTOCOL_VERSION: &str = "2025-06-18";
/// Versions an upstream may answer with (LiteLLM 1.109's list).
const SUPPORTED_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// Upper bounds that keep a misbehaving upstream from holding the proxy: answer size and listing pages.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
const MAX_PAGES: usize = 50;
const SESSION_HEADER: &str = "mcp-session-id";

/// Where and how to reach one upstream.
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    pub url: String,
    pub headers: HeaderMap,
    pub timeout: Duration,
}

impl Upstream {
    /// The upstream of a registered server: its URL, auth and static headers, and timeout.
    pub fn for_server(server: &McpServer) -> Upstream {
        Upstream {
            url: server.url.clone().unwrap_or_default(),
            headers: auth_headers(server),
            timeout: timeout_of(server),
        }
    }
}

/// The server's `timeout` in seconds, or the default when unset or not a positive number.
pub(crate) fn timeout_of(server: &McpServer) -> Duration {
    server
        .timeout
        .filter(|t| t.is_finite() && *t > 0.0)
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Headers from `auth_type` + `credentials.auth_value`, and `static_headers`.
fn auth_headers(server: &McpServer) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &str, value: String| {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            headers.insert(n, v);
        }
    };
    let secret = server.credentials.as_ref().and_then(|c| c.get("auth_value")).and_then(Value::as_str);
    if let Some(secret) = secret {
        match server.auth_type.as_deref() {
            Some("bearer_token") => put("authorization", format!("Bearer {secret}")),
            Some("api_key") => put("x-api-key", secret.to_string()),
            Some("basic") => {
                put("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(secret)))
            }
            Some("authorization") => put("authorization", secret.to_string()),
            _ => {}
        }
    }
    if let Some(Value::Object(map)) = &server.static_headers {
        for (name, value) in map {
            if let Some(v) = value.as_str() {
                put(name, v.to_string());
            }
        }
    }
    headers
}

/// Why an upstream operation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub(crate) enum McpClientError {
    #[error("failed to get an answer within {:.1}s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("failed to connect: {0}")]
    Unreachable(String),
    #[error("failed with HTTP status {0}")]
    Status(u16),
    #[error("failed to read a JSON-RPC answer: {0}")]
    Malformed(String),
    #[error("failed with JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String },
    #[error("failed to agree on a protocol version: the upstream selected {0:?}")]
    UnsupportedProtocol(String),
}

impl McpClientError {
    /// The tag LiteLLM 1.109 puts in `error` and in `server_outcomes`.
    pub fn tag(&self) -> &'static str {
        match self {
            McpClientError::Timeout(_) => "timeout",
            McpClientError::Unreachable(_) => "unreachable",
            McpClientError::Status(401) => "auth_required",
            McpClientError::Status(403) => "forbidden",
            McpClientError::Status(429) => "rate_limited",
            McpClientError::Status(_)
            | McpClientError::Malformed(_)
            | McpClientError::Rpc { .. }
            | McpClientError::UnsupportedProtocol(_) => "upstream_error",
        }
    }

    /// The status the proxy answers with: 504 on timeout, the upstream's 401/403/429, else 502.
    pub fn http_status(&self) -> u16 {
        match self {
            McpClientError::Timeout(_) => 504,
            McpClientError::Status(s @ (401 | 403 | 429)) => *s,
            _ => 502,
        }
    }
}

/// A client for upstream MCP servers; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct McpClient {
    http: reqwest::Client,
}

impl Default for McpClient {
    fn default() -> McpClient {
        McpClient::new()
    }
}

impl McpClient {
    pub fn new() -> McpClient {
        // Redirects are not followed: an MCP endpoint answers where it was registered.
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_default();
        McpClient { http }
    }

    /// Every tool the upstream lists (following `nextCursor`), as the upstream describes them.
    pub async fn list_tools(&self, up: &Upstream) -> Result<Vec<Value>, McpClientError> {
        self.within_deadline(up, async {
            let mut session = self.open(up).await?;
            let mut tools = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let params = cursor.as_ref().map_or_else(|| json!({}), |c| json!({"cursor": c}));
                let page = session.request("tools/list", params).await?;
                let listed = page
                    .get("tools")
                    .and_then(Value::as_array)
                    .ok_or_else(|| McpClientError::Malformed("tools/list answered without a `tools` list".into()))?;
                tools.extend(listed.iter().cloned());
                cursor = page.get("nextCursor").and_then(Value::as_str).map(str::to_string);
                if cursor.is_none() {
                    break;
                }
            }
            session.close();
            Ok(tools)
        })
        .await
    }

    /// Calls `name` with `arguments`; the upstream's `CallToolResult` (an `isError` result included).
    pub async fn call_tool(&self, up: &Upstream, name: &str, arguments: &Value) -> Result<Value, McpClientError> {
        self.within_deadline(up, async {
            let mut session = self.open(up).await?;
            let result = session.request("tools/call", json!({"name": name, "arguments": arguments})).await?;
            session.close();
            if result.is_object() {
                Ok(result)
            } else {
                Err(McpClientError::Malformed("tools/call answered a result that is not an object".into()))
            }
        })
        .await
    }

    /// A live check: the upstream completes an `initialize` handshake.
    pub async fn ping(&self, up: &Upstream) -> Result<(), McpClientError> {
        self.within_deadline(up, async {
            let session = self.open(up).await?;
            session.close();
            Ok(())
        })
        .await
    }

    async fn within_deadline<T>(
        &self,
        up: &Upstream,
        op: impl Future<Output = Result<T, McpClientError>>,
    ) -> Result<T, McpClientError> {
        tokio::time::timeout(up.timeout, op).await.unwrap_or(Err(McpClientError::Timeout(up.timeout)))
    }

    async fn open<'a>(&'a self, up: &'a Upstream) -> Result<Session<'a>, McpClientError> {
        let mut session = Session { http: &self.http, up, session_id: None, protocol: None, next_id: 0 };
        let init = session
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "gateproof-reference", "version": env!("CARGO_PKG_VERSION")}
                }),
            )
            .await?;
        let version = init.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(McpClientError::UnsupportedProtocol(version.to_string()));
        }
        session.protocol = Some(version.to_string());
        session.notify("notifications/initialized").await?;
        Ok(session)
    }
}

/// One MCP session: the session id the upstream set and the next request id.
struct Session<'a> {
    http: &'a reqwest::Client,
    up: &'a Upstream,
    session_id: Option<String>,
    protocol: Option<String>,
    next_id: u64,
}

impl Session<'_> {
    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(&self.up.url)
            .headers(self.up.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .timeout(self.up.timeout)
            .json(body);
        if let Some(id) = &self.session_id {
            req = req.header(SESSION_HEADER, id);
        }
        if let Some(v) = &self.protocol {
            req = req.header("mcp-protocol-version", v);
        }
        req
    }

    /// Sends a request and returns its `result`.
    async fn request(&mut self, method: &str, params: Value) -> Result<Value, McpClientError> {
        self.next_id += 1;
        let id = self.next_id;
        let resp = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .send()
            .await
            .map_err(|e| transport(e, self.up.timeout))?;
        let resp = check_status(resp)?;
        if let Some(sid) = resp.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
            self.session_id = Some(sid.to_string());
        }
        let message = read_answer(resp, id, self.up.timeout).await?;
        into_result(message)
    }

    async fn notify(&self, method: &str) -> Result<(), McpClientError> {
        let resp = self
            .post(&json!({"jsonrpc": "2.0", "method": method}))
            .send()
            .await
            .map_err(|e| transport(e, self.up.timeout))?;
        check_status(resp).map(drop)
    }

    /// Ends the session with a `DELETE`, in the background: the caller's answer never waits on it.
    fn close(self) {
        let Some(id) = self.session_id else { return };
        let req = self
            .http
            .delete(&self.up.url)
            .headers(self.up.headers.clone())
            .header(SESSION_HEADER, id)
            .timeout(Duration::from_secs(2));
        tokio::spawn(async move {
            let _ = req.send().await;
        });
    }
}

/// A transport failure: reqwest's own timeout (the same deadline) or anything that broke the exchange.
fn transport(err: reqwest::Error, timeout: Duration) -> McpClientError {
    if err.is_timeout() { McpClientError::Timeout(timeout) } else { McpClientError::Unreachable(root_cause(&err)) }
}

/// The innermost error's text ("Connection refused (os error 111)"), without reqwest's URL framing.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

fn check_status(resp: reqwest::Response) -> Result<reqwest::Response, McpClientError> {
    if resp.status().is_success() { Ok(resp) } else { Err(McpClientError::Status(resp.status().as_u16())) }
}

/// The JSON-RPC message that answers request `id`, from a JSON body or an event stream.
async fn read_answer(mut resp: reqwest::Response, id: u64, timeout: Duration) -> Result<Value, McpClientError> {
    let is_sse = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/event-stream"));
    let mut buffer: Vec<u8> = Vec::new();
    let mut events = SseEvents::default();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(e, timeout))? {
        buffer.extend_from_slice(&chunk);
        if buffer.len() > MAX_ANSWER_BYTES {
            return Err(McpClientError::Malformed(format!("the answer exceeds {MAX_ANSWER_BYTES} bytes")));
        }
        if is_sse {
            // A stream may stay open after the answer: stop reading as soon as it arrived.
            for data in events.feed(&chunk) {
                if let Some(found) = answer_in(&data, id)? {
                    return Ok(found);
                }
            }
        }
    }
    if is_sse {
        for data in events.finish() {
            if let Some(found) = answer_in(&data, id)? {
                return Ok(found);
            }
        }
        return Err(McpClientError::Malformed("the event stream ended without an answer".into()));
    }
    let text = String::from_utf8_lossy(&buffer);
    answer_in(&text, id)?.ok_or_else(|| McpClientError::Malformed(format!("no answer to request {id} in the body")))
}

/// The answer to `id` in one JSON text (a message or a batch); `None` when the text holds only other
/// messages (notifications, requests from the server).
fn answer_in(text: &str, id: u64) -> Result<Option<Value>, McpClientError> {
    let value: Value =
        serde_json::from_str(text.trim()).map_err(|e| McpClientError::Malformed(format!("not JSON ({e})")))?;
    let messages = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    for message in messages {
        if !message.is_object() || message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(McpClientError::Malformed("not a JSON-RPC 2.0 message".into()));
        }
        if message.get("id").and_then(Value::as_u64) == Some(id) {
            return Ok(Some(message));
        }
        if message.get("method").is_none() {
            let got = message.get("id").map_or_else(|| "none".into(), Value::to_string);
            return Err(McpClientError::Malformed(format!("an answer to request {got}, not to {id}")));
        }
    }
    Ok(None)
}

fn into_result(message: Value) -> Result<Value, McpClientError> {
    if let Some(error) = message.get("error") {
        return Err(McpClientError::Rpc {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
        });
    }
    message
        .get("result")
        .cloned()
        .ok_or_else(|| McpClientError::Malformed("a message with neither result nor error".into()))
}

/// Incremental server-sent-events parsing: the `data` of each complete event. Bytes are kept until an
/// event is complete, so a character split across chunks is never mangled.
#[derive(Default)]
struct SseEvents {
    pending: Vec<u8>,
}

impl SseEvents {
    fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        // A CR only ever ends a line in SSE (JSON escapes it inside strings), so dropping it turns
        // CRLF framing into LF framing.
        self.pending.extend(chunk.iter().filter(|b| **b != b'\r'));
        let mut out = Vec::new();
        while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.pending.drain(..end + 2).collect();
            out.extend(event_data(&String::from_utf8_lossy(&event)));
        }
        out
    }

    fn finish(&mut self) -> Vec<String> {
        let rest = std::mem::take(&mut self.pending);
        event_data(&String::from_utf8_lossy(&rest)).into_iter().collect()
    }
}

/// The joined `data:` lines of one event; `None` for an event without data (comments, ids).
fn event_data(event: &str) -> Option<String> {
    let lines: Vec<&str> =
        event.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| d.strip_prefix(' ').unwrap_or(d)).collect();
    if lines.is_empty() { None } else { Some(lines.join("\n")) }
}

#[cfg(test)]
mod tests;
