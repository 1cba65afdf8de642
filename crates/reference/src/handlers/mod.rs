//! Route handlers: load what the decision needs, call the pure check, write, render.

pub(crate) mod access_group;
pub(crate) mod admin_dump;
pub(crate) mod discovery;
pub(crate) mod global_spend;
pub(crate) mod health;
pub(crate) mod inference;
pub(crate) mod key;
pub(crate) mod key_block;
pub(crate) mod key_budget;
pub(crate) mod key_list;
pub(crate) mod key_rotation;
pub(crate) mod mcp_rest;
pub(crate) mod mcp_scope;
pub(crate) mod mcp_server;
pub(crate) mod model;
pub(crate) mod model_scope;
pub(crate) mod organization;
pub(crate) mod spend_lists;
pub(crate) mod team;
pub(crate) mod team_permissions;
pub(crate) mod user;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::authz::Denial;
use super::error::ProxyError;

/// The MCP registry, unified access groups (both prefixes), and the MCP REST routes.
pub(crate) fn mcp_router() -> axum::Router<super::AppState> {
    use axum::routing::{get, post};
    let groups = |prefix: &str, router: axum::Router<super::AppState>| {
        router.route(prefix, post(access_group::create).get(access_group::list)).route(
            &format!("{prefix}/{{id}}"),
            get(access_group::info).put(access_group::update).delete(access_group::delete),
        )
    };
    let router = axum::Router::new()
        .route("/v1/mcp/server", post(mcp_server::create).get(mcp_server::list).put(mcp_server::update))
        .route("/v1/mcp/server/{server_id}", get(mcp_server::info).delete(mcp_server::delete))
        .route("/v1/mcp/access_groups", get(mcp_server::access_group_tags))
        .route("/v1/mcp/toolset", get(mcp_server::toolsets))
        .route("/mcp-rest/tools/list", get(mcp_rest::list_tools))
        .route("/mcp-rest/tools/call", post(mcp_rest::call_tool));
    groups("/v1/unified_access_group", groups("/v1/access_group", router))
}

/// A denial inside a handler that wraps its errors (LiteLLM's `handle_exception_on_proxy`).
pub(crate) fn wrapped(d: Denial) -> ProxyError {
    match d.error_type() {
        Some(t) => ProxyError::OpenAi { status: d.status(), message: d.message(), error_type: t, param: d.param() },
        None => ProxyError::handler(d.status(), d.message()),
    }
}

/// As `wrapped`, for denials LiteLLM raises with a `{"error": …}` detail (rendered as a Python repr).
pub(crate) fn wrapped_dict(d: Denial) -> ProxyError {
    ProxyError::handler_dict(d.status(), &d.message())
}

/// A denial raised as a bare HTTPException (FastAPI's `{"detail": "…"}`).
pub(crate) fn raw(d: Denial) -> ProxyError {
    ProxyError::detail(d.status(), d.message())
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one not sent (`None`).
pub(crate) fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// LiteLLM's `member` field: one member or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(m) => vec![m],
            OneOrMany::Many(ms) => ms,
        }
    }
}

/// The 422 pydantic gives a member with neither `user_id` nor `user_email`.
pub(crate) fn member_identity_error(field: &str) -> ProxyError {
    ProxyError::Validation(vec![super::error::ValidationItem {
        kind: "value_error",
        loc: vec![serde_json::json!("body"), serde_json::json!(field)],
        msg: "Value error, Either user id or user email must be provided".into(),
    }])
}

/// Puts `value` under `name` in a serialized row.
pub(crate) fn with_field(mut row: Value, name: &str, value: Value) -> Value {
    if let Value::Object(map) = &mut row {
        map.insert(name.to_string(), value);
    }
    row
}

pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An `object_permission` in a request: only the fields sent change the stored row.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ObjectPermissionRequest {
    pub mcp_servers: Option<Vec<String>>,
    pub mcp_access_groups: Option<Vec<String>>,
    pub mcp_tool_permissions: Option<Value>,
    pub mcp_toolsets: Option<Vec<String>>,
    pub models: Option<Vec<String>>,
    pub vector_stores: Option<Vec<String>>,
    pub agents: Option<Vec<String>>,
}

/// Removes the permission row a create wrote before its own row was refused (a duplicate, or a
/// value the database rejects), so a lost race leaves nothing behind; the create's error is what the
/// client gets.
pub(crate) async fn discard_new_permission(store: &super::store::Store, id: Option<&str>) {
    if let Some(id) = id
        && let Err(e) = store.delete_object_permission(id).await
    {
        tracing::warn!(error = %e, "could not remove the permission row of a refused create");
    }
}

/// Upserts an object's permission row under its existing id (as LiteLLM does), or a new one; returns
/// the id.
pub(crate) async fn save_permission(
    store: &super::store::Store,
    owner: super::store::PermissionOwner,
    existing_id: Option<&str>,
    req: &ObjectPermissionRequest,
) -> Result<String, ProxyError> {
    let mut row = match existing_id {
        Some(id) => store.permission_uncached(id).await?.unwrap_or_default(),
        None => Default::default(),
    };
    row.object_permission_id = existing_id.map_or_else(new_id, str::to_string);
    let set = |target: &mut Vec<String>, v: &Option<Vec<String>>| {
        if let Some(v) = v {
            target.clone_from(v);
        }
    };
    set(&mut row.mcp_servers, &req.mcp_servers);
    set(&mut row.mcp_access_groups, &req.mcp_access_groups);
    set(&mut row.mcp_toolsets, &req.mcp_toolsets);
    set(&mut row.models, &req.models);
    set(&mut row.vector_stores, &req.vector_stores);
    set(&mut row.agents, &req.agents);
    if req.mcp_tool_permissions.is_some() {
        row.mcp_tool_permissions.clone_from(&req.mcp_tool_permissions);
    }
    store.save_object_permission(&row, owner).await?;
    Ok(row.object_permission_id)
}
