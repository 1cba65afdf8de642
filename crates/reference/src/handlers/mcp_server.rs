//! The MCP server registry under `/v1/mcp`: create, list (filtered for the
//! caller), info (with a live health check), update, delete; the MCP access-group tags; toolsets.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::mcp_scope::scope_of;
use crate::AppState;
use crate::domain::{Caller, PROXY_ADMIN_VIEWER};
use crate::error::{ProxyError, ValidationItem};
use crate::mcp::client::{Upstream, timeout_of};
use crate::mcp::model::{McpServer, RESERVED_SERVER_IDS};
use crate::mcp::storage as mcp_storage;
use crate::request::Authed;

/// LiteLLM's `LITELLM_MCP_HEALTH_CHECK_TIMEOUT`.
const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(10);
const TRANSPORTS: [&str; 3] = ["sse", "http", "stdio"];

#[derive(Debug, Deserialize)]
pub(crate) struct NewServerRequest {
    server_id: Option<String>,
    server_name: Option<String>,
    alias: Option<String>,
    description: Option<String>,
    url: Option<String>,
    transport: Option<String>,
    auth_type: Option<String>,
    credentials: Option<Value>,
    mcp_access_groups: Option<Vec<String>>,
    allowed_tools: Option<Vec<String>>,
    extra_headers: Option<Vec<String>>,
    static_headers: Option<Value>,
    allow_all_keys: Option<bool>,
    timeout: Option<f64>,
}

fn detail_error(status: u16, message: impl Into<String>) -> ProxyError {
    ProxyError::detail_error(status, message)
}

/// Server names and aliases become tool prefixes joined with `-`, so they may not hold one.
fn check_name(name: Option<&str>) -> Result<(), ProxyError> {
    match name {
        Some(n) if n.contains('-') => Err(detail_error(
            400,
            format!("Server name cannot contain '-'. Use an alternative character instead Found: {n}"),
        )),
        _ => Ok(()),
    }
}

fn validation(msg: &str, loc: Vec<Value>) -> ProxyError {
    ProxyError::Validation(vec![ValidationItem { kind: "value_error", loc, msg: format!("Value error, {msg}") }])
}

fn check_transport_and_url(transport: &str, url: Option<&str>) -> Result<(), ProxyError> {
    if !TRANSPORTS.contains(&transport) {
        return Err(ProxyError::Validation(vec![ValidationItem {
            kind: "literal_error",
            loc: vec![json!("body"), json!("transport")],
            msg: "Input should be 'sse', 'http' or 'stdio'".into(),
        }]));
    }
    if transport != "stdio" && url.is_none_or(str::is_empty) {
        return Err(validation("url or spec_path is required for HTTP/SSE transport", vec![json!("body")]));
    }
    Ok(())
}

/// A name or alias another server already uses (case-insensitive): the field, value and owner.
fn identifier_conflict<'a>(
    registry: &'a [McpServer],
    candidate: &McpServer,
) -> Option<(&'static str, String, &'a str)> {
    let names = [("server_name", &candidate.server_name), ("alias", &candidate.alias)];
    for (field, value) in names {
        let Some(value) = value else { continue };
        if let Some(other) = registry.iter().find(|s| s.server_id != candidate.server_id && s.is_named(value)) {
            return Some((field, value.clone(), &other.server_id));
        }
    }
    None
}

fn conflict_error((field, value, id): (&str, String, &str)) -> ProxyError {
    detail_error(
        400,
        format!(
            "An MCP server with {field} '{value}' already exists (server_id={id}). MCP server names and aliases must be unique, case-insensitive."
        ),
    )
}

pub(crate) async fn create(State(state): State<AppState>, authed: Authed) -> Result<Response, ProxyError> {
    let req: NewServerRequest = authed.parse()?;
    check_name(req.server_name.as_deref())?;
    check_name(req.alias.as_deref())?;
    let transport = req.transport.clone().unwrap_or_else(|| "sse".into());
    check_transport_and_url(&transport, req.url.as_deref())?;
    if !authed.caller.is_proxy_admin() {
        return Err(detail_error(
            403,
            "User does not have permission to create mcp servers. You can only create mcp servers if you are a PROXY_ADMIN.",
        ));
    }
    let server_id = req.server_id.clone().unwrap_or_else(super::new_id);
    if RESERVED_SERVER_IDS.contains(&server_id.as_str()) {
        return Err(detail_error(400, format!("MCP Server with id {server_id} is special and cannot be used.")));
    }
    let server_exists =
        |id: &str| detail_error(400, format!("MCP Server with id {id} already exists. Cannot create another."));
    if mcp_storage::server(state.store.uncached_tables(), &server_id).await?.is_some() {
        return Err(server_exists(&server_id));
    }
    let now = Utc::now();
    let alias = req.alias.clone().or_else(|| req.server_name.as_ref().map(|n| n.replace(' ', "_")));
    let server = McpServer {
        server_id,
        server_name: req.server_name.clone(),
        alias: alias.map(|a| a.replace(' ', "_")),
        description: req.description.clone(),
        url: req.url.clone(),
        transport,
        auth_type: req.auth_type.clone(),
        credentials: req.credentials.clone(),
        mcp_access_groups: req.mcp_access_groups.clone().unwrap_or_default(),
        allowed_tools: req.allowed_tools.clone().unwrap_or_default(),
        extra_headers: req.extra_headers.clone().unwrap_or_default(),
        static_headers: req.static_headers.clone(),
        allow_all_keys: req.allow_all_keys.unwrap_or(false),
        status: Some("unknown".into()),
        timeout: req.timeout,
        created_at: now,
        updated_at: now,
        created_by: authed.caller.user_id.clone(),
        updated_by: authed.caller.user_id.clone(),
        last_health_check: None,
        health_check_error: None,
    };
    // Under the registry lock, so of concurrent creates with one name or alias one wins; the id
    // check above answers the common case and the insert decides between concurrent creates.
    let mut tx = state.store.uncached_tables().begin().await?;
    mcp_storage::lock_registry(&mut tx).await?;
    let registry = mcp_storage::servers(&mut *tx).await?;
    if let Some(conflict) = identifier_conflict(&registry, &server) {
        return Err(conflict_error(conflict));
    }
    mcp_storage::insert_server(&mut *tx, &server).await.map_err(|e| {
        ProxyError::from_db_or(e, |c| (c == "mcp_servers_pkey").then(|| server_exists(&server.server_id)))
    })?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(record(&server, View::of(&authed.caller)))).into_response())
}

/// How much of a record the caller may see (output redaction).
#[derive(Clone, Copy, Debug, PartialEq)]
enum View {
    Admin,
    Other,
    /// A key with `allowed_routes`: also loses tags, tools and audit fields.
    Restricted,
}

impl View {
    fn of(caller: &Caller) -> View {
        if caller.is_proxy_admin() {
            View::Admin
        } else if !caller.key_allowed_routes.is_empty() {
            View::Restricted
        } else {
            View::Other
        }
    }
}

/// A server as the `/v1/mcp/server*` routes return it.
fn record(s: &McpServer, view: View) -> Value {
    let admin = view == View::Admin;
    let restricted = view == View::Restricted;
    let mcp_info = if restricted {
        json!({"is_public": true, "is_public_explicit": false})
    } else {
        json!({"server_name": s.server_name.clone().unwrap_or_else(|| s.server_id.clone()), "description": s.description, "is_public": true, "is_public_explicit": false})
    };
    let hide = |v: Value| if restricted { Value::Null } else { v };
    json!({
        "server_id": s.server_id,
        "server_name": s.server_name,
        "alias": s.alias,
        "description": s.description,
        "url": if admin { json!(s.url) } else { Value::Null },
        "spec_path": null,
        "transport": s.transport,
        "auth_type": s.auth_type,
        "credentials": null,
        "mcp_access_groups": if restricted { json!([]) } else { json!(s.mcp_access_groups) },
        "allowed_tools": if restricted { json!([]) } else { json!(s.allowed_tools) },
        "extra_headers": if admin { json!(s.extra_headers) } else { json!([]) },
        "static_headers": if admin { json!(s.static_headers) } else { Value::Null },
        "env": {},
        "args": [],
        "command": null,
        "mcp_info": mcp_info,
        "allow_all_keys": s.allow_all_keys,
        "available_on_public_internet": true,
        "status": s.status,
        "last_health_check": s.last_health_check,
        "health_check_error": s.health_check_error,
        "teams": [],
        "created_at": hide(json!(s.created_at)),
        "created_by": hide(json!(s.created_by)),
        "updated_at": hide(json!(s.updated_at)),
        "updated_by": hide(json!(s.updated_by)),
        "approval_status": "active",
        "is_config": false,
        "timeout": s.timeout,
    })
}

/// `GET /v1/mcp/server`: the servers the caller may reach. As in LiteLLM, list
/// records come from the registry entry: no audit or health fields.
pub(crate) async fn list(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let scope = scope_of(&state, &authed.caller).await?;
    let view = View::of(&authed.caller);
    let records: Vec<Value> = scope
        .allowed_servers()
        .map(|s| {
            let mut r = record(s, view);
            for field in ["created_by", "updated_by", "status", "last_health_check", "static_headers"] {
                r[field] = Value::Null;
            }
            r
        })
        .collect();
    Ok(Json(Value::Array(records)))
}

/// `GET /v1/mcp/server/{server_id}`: one reachable server, by id, name or alias, with a live check.
pub(crate) async fn info(
    State(state): State<AppState>,
    Path(ident): Path<String>,
    authed: Authed,
) -> Result<Json<Value>, ProxyError> {
    let scope = scope_of(&state, &authed.caller).await?;
    let Some(server) = scope.find(&ident) else {
        return Err(detail_error(404, format!("MCP Server with id {ident} not found")));
    };
    let viewable = if authed.caller.is_proxy_admin() {
        scope.is_allowed(&server.server_id)
    } else {
        scope.is_viewable(&server.server_id, state.store.quirks())
    };
    if !viewable {
        return Err(detail_error(
            403,
            format!(
                "User does not have permission to view mcp server with id {ident}. You can only view mcp servers that you have access to."
            ),
        ));
    }
    let mut server = server.clone();
    let mut upstream = Upstream::for_server(&server);
    upstream.timeout = timeout_of(&server).min(HEALTH_CHECK_TIMEOUT);
    let (status, error) = match state.mcp.ping(&upstream).await {
        Ok(()) => ("healthy", None),
        Err(e) => ("unhealthy", Some(e.to_string())),
    };
    mcp_storage::set_server_health(state.store.uncached_tables(), &server.server_id, status, error.as_deref()).await?;
    server.status = Some(status.into());
    server.health_check_error = error;
    server.last_health_check = Some(Utc::now());
    Ok(Json(record(&server, View::of(&authed.caller))))
}

/// `PUT /v1/mcp/server`: a partial update; an omitted field is kept, an explicit null clears it.
pub(crate) async fn update(State(state): State<AppState>, authed: Authed) -> Result<Response, ProxyError> {
    let body: Map<String, Value> = authed.parse()?;
    let body = &body;
    check_name(body.get("server_name").and_then(Value::as_str))?;
    check_name(body.get("alias").and_then(Value::as_str))?;
    if !authed.caller.is_proxy_admin() {
        return Err(detail_error(
            403,
            "Call not allowed to update MCP server. User is not a proxy admin. route=PUT /v1/mcp/server",
        ));
    }
    let server_id = body.get("server_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let Some(mut server) = mcp_storage::server(state.store.uncached_tables(), &server_id).await? else {
        return Err(detail_error(404, format!("MCP Server not found, passed server_id={server_id}")));
    };
    apply_update(&mut server, body)
        .map_err(|field| validation(&format!("invalid value for {field}"), vec![json!("body"), json!(field)]))?;
    check_transport_and_url(&server.transport, server.url.as_deref())?;
    server.updated_by = authed.caller.user_id.clone();
    let mut tx = state.store.uncached_tables().begin().await?;
    mcp_storage::lock_registry(&mut tx).await?;
    let registry = mcp_storage::servers(&mut *tx).await?;
    if let Some(conflict) = identifier_conflict(&registry, &server) {
        return Err(conflict_error(conflict));
    }
    mcp_storage::save_server(&mut *tx, &server).await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(record(&server, View::Admin))).into_response())
}

/// Applies the fields present in `body`; the name of the first field with a value of the wrong type.
fn apply_update(s: &mut McpServer, body: &Map<String, Value>) -> Result<(), &'static str> {
    fn text(v: &Value, field: &'static str) -> Result<Option<String>, &'static str> {
        match v {
            Value::Null => Ok(None),
            Value::String(t) => Ok(Some(t.clone())),
            _ => Err(field),
        }
    }
    fn list(v: &Value, field: &'static str) -> Result<Vec<String>, &'static str> {
        match v {
            Value::Null => Ok(vec![]),
            Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string).ok_or(field)).collect(),
            _ => Err(field),
        }
    }
    for (field, v) in body {
        match field.as_str() {
            "server_name" => s.server_name = text(v, "server_name")?,
            "alias" => s.alias = text(v, "alias")?,
            "description" => s.description = text(v, "description")?,
            "url" => s.url = text(v, "url")?,
            "transport" => s.transport = text(v, "transport")?.unwrap_or_else(|| "sse".into()),
            "auth_type" => s.auth_type = text(v, "auth_type")?,
            "credentials" => s.credentials = Some(v.clone()).filter(|v| !v.is_null()),
            "static_headers" => s.static_headers = Some(v.clone()).filter(|v| !v.is_null()),
            "mcp_access_groups" => s.mcp_access_groups = list(v, "mcp_access_groups")?,
            "allowed_tools" => s.allowed_tools = list(v, "allowed_tools")?,
            "extra_headers" => s.extra_headers = list(v, "extra_headers")?,
            "allow_all_keys" => s.allow_all_keys = v.as_bool().unwrap_or(false),
            "timeout" => s.timeout = v.as_f64(),
            _ => {}
        }
    }
    Ok(())
}

/// `DELETE /v1/mcp/server/{server_id}`: 202 with an empty body.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(server_id): Path<String>,
    authed: Authed,
) -> Result<Response, ProxyError> {
    if !authed.caller.is_proxy_admin() {
        return Err(detail_error(
            403,
            "Call not allowed to delete MCP server. User is not a proxy admin. route=DELETE /v1/mcp/server",
        ));
    }
    if !mcp_storage::delete_server(state.store.uncached_tables(), &server_id).await? {
        return Err(detail_error(404, format!("MCP Server not found, passed server_id={server_id}")));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /v1/mcp/access_groups`: every MCP access-group tag on a registered server, sorted.
pub(crate) async fn access_group_tags(
    State(state): State<AppState>,
    _authed: Authed,
) -> Result<Json<Value>, ProxyError> {
    let mut tags: Vec<String> = mcp_storage::servers(state.store.uncached_tables())
        .await?
        .into_iter()
        .flat_map(|s| s.mcp_access_groups)
        .collect();
    tags.sort();
    tags.dedup();
    Ok(Json(json!({ "access_groups": tags })))
}

/// `GET /v1/mcp/toolset`: the reference stores no toolsets, and unified access groups never grant one.
pub(crate) async fn toolsets(_authed: Authed) -> Json<Value> {
    Json(json!([]))
}

/// True for the roles that may read admin views.
pub(crate) fn is_admin_view(caller: &Caller) -> bool {
    caller.is_proxy_admin() || caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::model::fixtures::server;

    #[test]
    fn non_admins_never_see_the_url_or_headers() {
        let s = McpServer {
            static_headers: Some(json!({"x": "secret"})),
            extra_headers: vec!["x-a".into()],
            ..server("s1")
        };
        let admin = record(&s, View::Admin);
        assert_eq!(admin["url"], json!(s.url));
        assert_eq!(admin["static_headers"]["x"], "secret");
        for view in [View::Other, View::Restricted] {
            let r = record(&s, view);
            assert!(r["url"].is_null() && r["static_headers"].is_null() && r["credentials"].is_null(), "{view:?}");
            assert_eq!(r["extra_headers"], json!([]));
        }
        assert!(record(&s, View::Restricted)["created_at"].is_null());
    }

    #[test]
    fn names_with_a_dash_are_refused_with_litellms_message() {
        let e = check_name(Some("my-server")).unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(
            e.body()["detail"]["error"],
            "Server name cannot contain '-'. Use an alternative character instead Found: my-server"
        );
        assert!(check_name(Some("my_server")).is_ok());
    }

    #[test]
    fn names_and_aliases_must_be_unique_case_insensitively() {
        let registry = vec![server("a")];
        let clash = McpServer { server_name: Some("A".into()), alias: Some("other".into()), ..server("b") };
        assert_eq!(
            identifier_conflict(&registry, &clash).map(|(f, v, id)| (f, v, id.to_string())),
            Some(("server_name", "A".into(), "a".into()))
        );
        let fine = McpServer { server_name: Some("c".into()), alias: Some("c".into()), ..server("c") };
        assert!(identifier_conflict(&registry, &fine).is_none());
    }

    #[test]
    fn partial_update_keeps_omitted_fields_and_clears_nulls() {
        let mut s = McpServer { description: Some("d".into()), ..server("a") };
        let body = json!({"server_id": "a", "description": null, "allowed_tools": ["t1"]});
        apply_update(&mut s, body.as_object().expect("object")).expect("valid");
        assert_eq!(s.description, None);
        assert_eq!(s.allowed_tools, ["t1"]);
        assert_eq!(s.alias.as_deref(), Some("a"));
        let bad = json!({"allowed_tools": "t1"});
        assert_eq!(apply_update(&mut s, bad.as_object().expect("object")), Err("allowed_tools"));
    }
}
