//! Discovery and use by a key: `GET /mcp-rest/tools/list` and `POST /mcp-rest/tools/call`,
//! answered in LiteLLM 1.109's forms. Both ask `mcp_scope` which servers the key may
//! reach, so a server listed is a server callable, and the reverse.
//!
//! Upstream failures are bounded by the server's timeout and answered as a 5xx naming the server:
//! 504 `timeout`, 502 `unreachable` / `upstream_error`, or the upstream's own 401/403/429.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::mcp_scope::scope_of;
use crate::error::{ProxyError, py_float};
use crate::mcp::client::{McpClientError, Upstream};
use crate::mcp::model::McpServer;
use crate::request::Authed;
use crate::{AppState, Quirk};

/// Shape B with `{"error": tag, "message": …}` as detail, as the MCP REST routes raise them.
fn mcp_error(status: u16, tag: &str, message: impl Into<String>) -> ProxyError {
    ProxyError::Detail { status, detail: json!({"error": tag, "message": message.into()}) }
}

fn access_denied(ident: &str) -> ProxyError {
    mcp_error(403, "access_denied", format!("The key is not allowed to access server {ident}"))
}

/// A failed upstream listing, naming the server.
fn listing_failed(server: &McpServer, e: &McpClientError) -> ProxyError {
    mcp_error(e.http_status(), e.tag(), format!("Failed to list tools from server {}: {e}", server.prefix()))
}

/// A tool as `/mcp-rest/tools/list` shows it: the upstream's fields under LiteLLM's keys, bare name,
/// and the server's `mcp_info`.
fn tool_view(tool: &Value, server: &McpServer) -> Value {
    let field = |name: &str| tool.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "name": field("name"),
        "title": field("title"),
        "description": field("description"),
        "inputSchema": field("inputSchema"),
        "outputSchema": field("outputSchema"),
        "icons": field("icons"),
        "annotations": field("annotations"),
        "_meta": field("_meta"),
        "execution": field("execution"),
        "mcp_info": {
            "server_name": server.server_name.clone().unwrap_or_else(|| server.server_id.clone()),
            "description": server.description,
            "server_id": server.server_id,
            "alias": server.alias,
        },
    })
}

fn tool_name(tool: &Value) -> &str {
    tool.get("name").and_then(Value::as_str).unwrap_or_default()
}

/// The upstream's tools that the server's `allowed_tools` lets through.
async fn offered_tools(state: &AppState, server: &McpServer) -> Result<Vec<Value>, McpClientError> {
    let tools = state.mcp.list_tools(&Upstream::for_server(server)).await?;
    Ok(tools.into_iter().filter(|t| server.allows_tool(tool_name(t))).collect())
}

pub(crate) async fn list_tools(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    super::key_budget::check(&state, &authed.caller, "/mcp-rest/tools/list").await?;
    let scope = scope_of(&state, &authed.caller).await?;
    let asked = authed.query("server_id").or_else(|| authed.query("mcp_server_name")).map(str::to_string);
    if let Some(ident) = asked {
        let server = scope.find_allowed(&ident).ok_or_else(|| access_denied(&ident))?;
        let tools = match offered_tools(&state, server).await {
            Ok(tools) => tools,
            // LiteLLM 1.83 logged the failure and answered as if the server had no tools.
            Err(_) if state.store.quirks().contains(Quirk::McpListingFailureAsEmptyList) => Vec::new(),
            Err(e) => return Err(listing_failed(server, &e)),
        };
        let tools: Vec<Value> = tools.iter().map(|t| tool_view(t, server)).collect();
        return Ok(Json(json!({"tools": tools, "error": null, "message": "Successfully retrieved tools"})));
    }
    let servers: Vec<McpServer> = scope.allowed_servers().cloned().collect();
    if servers.is_empty() {
        return Ok(Json(json!({
            "tools": [],
            "error": "unexpected_error",
            "message": "An unexpected error occurred: {'error': 'access_denied', 'message': 'The key is not allowed to access any MCP servers.'}",
        })));
    }
    // Every server at once: the slowest one bounds the answer, not their sum.
    let mut pending = JoinSet::new();
    for (index, server) in servers.iter().enumerate() {
        let state = state.clone();
        let server = server.clone();
        pending.spawn(async move { (index, offered_tools(&state, &server).await) });
    }
    let mut outcomes: Vec<Option<Result<Vec<Value>, McpClientError>>> = vec![None; servers.len()];
    while let Some(done) = pending.join_next().await {
        match done {
            Ok((index, outcome)) => outcomes[index] = Some(outcome),
            Err(e) => tracing::error!(error = %e, "MCP listing task failed"),
        }
    }
    let mut tools = Vec::new();
    let mut report = serde_json::Map::new();
    let mut failures = Vec::new();
    for (server, outcome) in servers.iter().zip(outcomes) {
        let outcome =
            outcome.unwrap_or_else(|| Err(McpClientError::Unreachable("the listing task ended abnormally".into())));
        match outcome {
            Ok(listed) => {
                report.insert(server.prefix().to_string(), json!({"status": "ok", "tool_count": listed.len()}));
                tools.extend(listed.iter().map(|t| tool_view(t, server)));
            }
            Err(e) => {
                report.insert(server.prefix().to_string(), json!({"status": e.tag(), "http_status": e.http_status()}));
                failures.push(format!("{}: {}", server.prefix(), e.tag()));
            }
        }
    }
    let (error, message) = if tools.is_empty() && failures.len() == servers.len() {
        (json!("partial_failure"), format!("Failed to get tools from servers: {}", failures.join("; ")))
    } else {
        (Value::Null, "Successfully retrieved tools".to_string())
    };
    Ok(Json(json!({"tools": tools, "error": error, "message": message, "server_outcomes": report})))
}

pub(crate) async fn call_tool(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    super::key_budget::check(&state, &authed.caller, "/mcp-rest/tools/call").await?;
    let body = &authed.body;
    let text = |field: &str| body.get(field).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let missing = |field: &str| mcp_error(400, "missing_parameter", format!("{field} is required in request body"));
    let ident = text("server_id").ok_or_else(|| missing("server_id"))?;
    let name = text("name").ok_or_else(|| missing("name"))?;
    let arguments = body.get("arguments").cloned().filter(|a| !a.is_null()).unwrap_or_else(|| json!({}));

    let scope = scope_of(&state, &authed.caller).await?;
    let server = match scope.find_allowed(&ident) {
        Some(s) => s,
        None if scope.find(&ident).is_some() => return Err(access_denied(&ident)),
        None => return Err(mcp_error(404, "server_not_found", format!("MCP server '{ident}' was not found"))),
    };
    let tool = bare_tool_name(&name, server, &scope.registry)?;
    if !server.allows_tool(&tool) {
        return Err(ProxyError::detail_error(
            403,
            format!(
                "Tool {tool} is not allowed for server {}. Contact proxy admin to allow this tool.",
                server.prefix()
            ),
        ));
    }
    let upstream = Upstream::for_server(server);
    let timed_out = |e: &McpClientError| {
        matches!(e, McpClientError::Timeout(_)).then(|| {
            mcp_error(
                504,
                "timeout",
                format!("MCP tool call timed out after {}s", py_float(upstream.timeout.as_secs_f64())),
            )
        })
    };
    // As LiteLLM 1.109 does, the proxy routes a call only for a tool the server lists.
    let listed = match offered_tools(&state, server).await {
        // LiteLLM 1.109 lost the timeout and looked the tool up in an empty listing.
        Err(McpClientError::Timeout(_)) if state.store.quirks().contains(Quirk::McpCallTimeoutAsToolNotFound) => {
            Ok(Vec::new())
        }
        other => other,
    };
    let listed = listed.map_err(|e| {
        timed_out(&e).unwrap_or_else(|| {
            mcp_error(
                e.http_status(),
                e.tag(),
                format!("Failed to call tool {tool} on server {}: listing its tools {e}", server.prefix()),
            )
        })
    })?;
    if !listed.iter().any(|t| tool_name(t) == tool) {
        return Err(mcp_error(
            500,
            "internal_server_error",
            format!("An unexpected error occurred: Tool {tool} not found"),
        ));
    }
    match state.mcp.call_tool(&upstream, &tool, &arguments).await {
        Ok(result) => Ok(Json(call_result(result))),
        // An upstream that answers with a JSON-RPC error raised inside the tool: LiteLLM reports it
        // as an error result, not as a failed request.
        Err(McpClientError::Rpc { code, message }) => Ok(Json(json!({
            "_meta": null,
            "content": [{"type": "text", "text": format!("McpError: {message} (code {code})"), "annotations": null, "_meta": null}],
            "structuredContent": null,
            "isError": true,
            "resultType": "complete",
        }))),
        Err(e) => Err(timed_out(&e).unwrap_or_else(|| {
            mcp_error(
                e.http_status(),
                e.tag(),
                format!("Failed to call tool {tool} on server {}: {e}", server.prefix()),
            )
        })),
    }
}

/// The upstream name of `name`: a `<prefix>-<tool>` name loses the prefix of `server`; the prefix of
/// another registered server is a mismatch.
fn bare_tool_name(name: &str, server: &McpServer, registry: &[McpServer]) -> Result<String, ProxyError> {
    let Some((prefix, rest)) = name.split_once('-') else {
        return Ok(name.to_string());
    };
    if server.is_named(prefix) || server.prefix() == prefix {
        return Ok(rest.to_string());
    }
    match registry.iter().find(|s| s.prefix() == prefix || s.is_named(prefix)) {
        Some(other) => Err(mcp_error(
            403,
            "tool_server_mismatch",
            format!(
                "Tool '{name}' belongs to MCP server '{}' but request specified server_id for '{}'.",
                other.prefix(),
                server.prefix()
            ),
        )),
        None => Ok(name.to_string()),
    }
}

/// The upstream's `CallToolResult` in LiteLLM 1.109's serialization.
fn call_result(result: Value) -> Value {
    let content: Vec<Value> = result
        .get("content")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let mut item = item.clone();
                    if let Value::Object(map) = &mut item {
                        map.entry("annotations").or_insert(Value::Null);
                        map.entry("_meta").or_insert(Value::Null);
                    }
                    item
                })
                .collect()
        })
        .unwrap_or_default();
    let structured = result.get("structuredContent").filter(|v| v.is_object()).cloned().unwrap_or(Value::Null);
    json!({
        "_meta": result.get("_meta").cloned().unwrap_or(Value::Null),
        "content": content,
        "structuredContent": structured,
        "isError": result.get("isError").and_then(Value::as_bool).unwrap_or(false),
        "resultType": "complete",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::model::fixtures::server;

    #[test]
    fn prefixed_tool_names_are_stripped_or_refused() {
        let registry = vec![server("stripe"), server("github")];
        let stripe = &registry[0];
        assert_eq!(bare_tool_name("create_refund", stripe, &registry).ok(), Some("create_refund".into()));
        assert_eq!(bare_tool_name("stripe-create_refund", stripe, &registry).ok(), Some("create_refund".into()));
        let e = bare_tool_name("github-create_issue", stripe, &registry).unwrap_err();
        assert_eq!(e.status(), 403);
        assert_eq!(e.body()["detail"]["error"], "tool_server_mismatch");
        assert_eq!(bare_tool_name("some-tool", stripe, &registry).ok(), Some("some-tool".into()));
    }

    #[test]
    fn call_results_get_litellms_fields() {
        let out = call_result(json!({"content": [{"type": "text", "text": "ok"}], "structuredContent": [1]}));
        assert_eq!(
            out,
            json!({
                "_meta": null,
                "content": [{"type": "text", "text": "ok", "annotations": null, "_meta": null}],
                "structuredContent": null,
                "isError": false,
                "resultType": "complete",
            })
        );
        assert_eq!(call_result(json!({"content": [], "isError": true}))["isError"], true);
    }

    #[test]
    fn listed_tools_carry_the_server_info() {
        let s = server("stripe");
        let t = tool_view(&json!({"name": "refund", "inputSchema": {"type": "object"}}), &s);
        assert_eq!(t["name"], "refund");
        assert_eq!(t["mcp_info"]["server_id"], "stripe");
        assert!(t["outputSchema"].is_null());
    }
}
