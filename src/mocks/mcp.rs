//! A fake MCP server on the streamable HTTP transport: JSON-RPC 2.0 over `POST`, answered as JSON or
//! as one server-sent event, with `initialize`, notifications (202), `tools/list` and `tools/call`
//! (after the tool's own `delay`, when it has one).
//!
//! Enough of the protocol for a proxy's MCP client (LiteLLM uses the official SDK, which opens a
//! session per operation), and the failure modes a scenario needs to check that errors stay bounded.

use std::net::TcpListener;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::scenario::{McpAnswer, McpFailure, McpMock};

/// Versions a client may propose; any other gets the newest (the client then decides).
const PROTOCOL_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
pub(super) const NEWEST_VERSION: &str = "2025-06-18";

/// JSON-RPC error codes.
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const PARSE_ERROR: i64 = -32700;

/// Starts the server (a `down` mock has none: see `reserve_port`).
pub(super) async fn start(listener: TcpListener, name: &str, spec: &McpMock) -> MockServer {
    let server = MockServer::builder().listener(listener).disable_request_recording().start().await;
    let responder = Protocol { name: name.to_string(), spec: spec.clone() };
    Mock::given(method("POST")).and(path("/mcp")).respond_with(responder).mount(&server).await;
    // Closing a session: accepted, nothing to clean up.
    Mock::given(method("DELETE")).and(path("/mcp")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    // No server-initiated stream: the transport lets a server refuse the GET.
    Mock::given(method("GET")).and(path("/mcp")).respond_with(ResponseTemplate::new(405)).mount(&server).await;
    server
}

struct Protocol {
    name: String,
    spec: McpMock,
}

impl Respond for Protocol {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match self.spec.failure {
            Some(McpFailure::Garbage) => {
                return ResponseTemplate::new(200)
                    .set_body_raw("<html>this is not JSON-RPC</html>", "application/json");
            }
            Some(McpFailure::Slow(delay)) => return self.answer(request).set_delay(delay),
            Some(McpFailure::Down) | None => {}
        }
        self.answer(request)
    }
}

impl Protocol {
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let Ok(message) = serde_json::from_slice::<Value>(&request.body) else {
            return self.frame(rpc_error(&Value::Null, PARSE_ERROR, "request body is not JSON"), None);
        };
        let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
        let Some(id) = message.get("id") else {
            // A notification (e.g. `notifications/initialized`) expects no answer.
            return ResponseTemplate::new(202);
        };
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        match method {
            "initialize" => {
                let proposed = params.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
                let version = PROTOCOL_VERSIONS.iter().find(|v| **v == proposed).copied().unwrap_or(NEWEST_VERSION);
                let result = json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": self.name, "version": "gateproof-mock"},
                });
                let session = format!("gp-{}", uuid::Uuid::new_v4().simple());
                self.frame(rpc_result(id, result), Some(session))
            }
            "ping" => self.frame(rpc_result(id, json!({})), None),
            "tools/list" => {
                let tools: Vec<Value> = self
                    .spec
                    .tools
                    .iter()
                    .map(|t| {
                        let mut tool = json!({"name": t.name, "inputSchema": t.input_schema});
                        if let Some(description) = &t.description {
                            tool["description"] = json!(description);
                        }
                        tool
                    })
                    .collect();
                self.frame(rpc_result(id, json!({"tools": tools})), None)
            }
            "tools/call" => {
                let tool_name = params.get("name").and_then(Value::as_str).unwrap_or_default();
                match self.spec.tools.iter().find(|t| t.name == tool_name) {
                    Some(tool) => {
                        let result = tool.result.clone().unwrap_or_else(|| {
                            json!({
                                "content": [{"type": "text", "text": format!("{}.{} ok", self.name, tool.name)}],
                                "isError": false,
                            })
                        });
                        super::delayed(self.frame(rpc_result(id, result), None), tool.delay)
                    }
                    None => self.frame(rpc_error(id, INVALID_PARAMS, &format!("Unknown tool: {tool_name}")), None),
                }
            }
            other => self.frame(rpc_error(id, METHOD_NOT_FOUND, &format!("Method not found: {other}")), None),
        }
    }

    /// One JSON-RPC message as the transport carries it: a JSON body or a single SSE event.
    fn frame(&self, message: Value, session: Option<String>) -> ResponseTemplate {
        let template = match self.spec.answer {
            McpAnswer::Json => ResponseTemplate::new(200).set_body_raw(message.to_string(), "application/json"),
            McpAnswer::Sse => ResponseTemplate::new(200)
                .set_body_raw(format!("event: message\ndata: {message}\n\n"), "text/event-stream"),
        };
        match session {
            Some(id) => template.insert_header("mcp-session-id", id.as_str()),
            None => template,
        }
    }
}

fn rpc_result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}
