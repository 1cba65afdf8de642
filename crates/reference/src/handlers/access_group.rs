//! Unified access groups, `/v1/access_group` and its alias prefix `/v1/unified_access_group` (LiteLLM
//! 1.109). Writes keep the groups and the teams and keys they are attached to in step, and
//! evict the cached teams and keys they touched.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::double_option;
use super::mcp_server::is_admin_view;
use crate::domain::Caller;
use crate::error::ProxyError;
use crate::mcp::model::AccessGroup;
use crate::mcp::storage::{self as mcp_storage, Assignments};
use crate::request::Authed;
use crate::token::hash_if_needed;
use crate::{AppState, Quirk};

#[derive(Debug, Deserialize)]
pub(crate) struct CreateRequest {
    access_group_name: String,
    description: Option<String>,
    access_model_names: Option<Vec<String>>,
    access_mcp_server_ids: Option<Vec<String>>,
    access_agent_ids: Option<Vec<String>>,
    access_skill_names: Option<Vec<String>>,
    mcp_tool_permissions: Option<Value>,
    assigned_team_ids: Option<Vec<String>>,
    assigned_key_ids: Option<Vec<String>>,
}

/// Update fields: absent keeps, an explicit null list becomes `[]`.
#[derive(Debug, Deserialize)]
pub(crate) struct UpdateRequest {
    access_group_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    access_model_names: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    access_mcp_server_ids: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    access_agent_ids: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    access_skill_names: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    mcp_tool_permissions: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    assigned_team_ids: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    assigned_key_ids: Option<Option<Vec<String>>>,
}

fn require_admin(caller: &Caller) -> Result<(), ProxyError> {
    if caller.is_proxy_admin() { Ok(()) } else { Err(not_allowed()) }
}

fn require_admin_view(caller: &Caller) -> Result<(), ProxyError> {
    if is_admin_view(caller) { Ok(()) } else { Err(not_allowed()) }
}

fn not_allowed() -> ProxyError {
    ProxyError::detail_error(403, "Admin-only endpoint. Not allowed to access this.")
}

fn not_found(id: &str) -> ProxyError {
    ProxyError::detail(404, format!("Access group '{id}' not found"))
}

fn name_taken(name: &str) -> ProxyError {
    ProxyError::detail(409, format!("Access group '{name}' already exists"))
}

/// Keys are attached by hashed token; a raw `sk-` key is hashed first.
fn key_hashes(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = keys.iter().map(|k| hash_if_needed(k)).collect();
    out.dedup();
    out
}

async fn require_teams_exist(state: &AppState, team_ids: &[String]) -> Result<(), ProxyError> {
    // LiteLLM 1.83 stored whatever team ids it was given (fixed by BerriAI/litellm#39218).
    if state.store.quirks().contains(Quirk::AccessGroupAcceptsUnknownTeams) {
        return Ok(());
    }
    let unknown = state.store.unknown_team_ids(team_ids).await?;
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ProxyError::detail(400, format!("Unknown team ids: {}", unknown.join(", "))))
    }
}

pub(crate) async fn create(State(state): State<AppState>, authed: Authed) -> Result<Response, ProxyError> {
    let req: CreateRequest = authed.parse()?;
    require_admin(&authed.caller)?;
    if mcp_storage::access_group_name_taken(state.store.uncached_tables(), &req.access_group_name, None).await? {
        return Err(name_taken(&req.access_group_name));
    }
    let teams = req.assigned_team_ids.clone().unwrap_or_default();
    require_teams_exist(&state, &teams).await?;
    let keys = key_hashes(&req.assigned_key_ids.clone().unwrap_or_default());
    let now = Utc::now();
    let group = AccessGroup {
        access_group_id: super::new_id(),
        access_group_name: req.access_group_name.clone(),
        description: req.description.clone(),
        access_model_names: req.access_model_names.clone().unwrap_or_default(),
        access_mcp_server_ids: req.access_mcp_server_ids.clone().unwrap_or_default(),
        assigned_team_ids: teams.clone(),
        assigned_key_ids: keys.clone(),
        created_at: now,
        updated_at: now,
        access_agent_ids: req.access_agent_ids.clone().unwrap_or_default(),
        access_skill_names: req.access_skill_names.clone().unwrap_or_default(),
        mcp_tool_permissions: req.mcp_tool_permissions.clone(),
        created_by: authed.caller.user_id.clone(),
        updated_by: authed.caller.user_id.clone(),
    };
    let delta = Assignments { add_teams: teams, add_keys: keys, ..Assignments::default() };
    state.store.save_access_group(&group, &delta).await.map_err(|e| {
        ProxyError::from_db_or(e, |c| {
            (c == "access_groups_access_group_name_key").then(|| name_taken(&group.access_group_name))
        })
    })?;
    Ok((StatusCode::CREATED, Json(view(&state, &group).await?)).into_response())
}

pub(crate) async fn list(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    require_admin_view(&authed.caller)?;
    let mut out = Vec::new();
    for group in mcp_storage::access_groups(state.store.uncached_tables()).await? {
        out.push(view(&state, &group).await?);
    }
    Ok(Json(Value::Array(out)))
}

pub(crate) async fn info(
    State(state): State<AppState>,
    Path(id): Path<String>,
    authed: Authed,
) -> Result<Json<Value>, ProxyError> {
    require_admin_view(&authed.caller)?;
    let group = mcp_storage::access_group(state.store.uncached_tables(), &id).await?.ok_or_else(|| not_found(&id))?;
    Ok(Json(view(&state, &group).await?))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    authed: Authed,
) -> Result<Json<Value>, ProxyError> {
    let req: UpdateRequest = authed.parse()?;
    require_admin(&authed.caller)?;
    let mut group =
        mcp_storage::access_group(state.store.uncached_tables(), &id).await?.ok_or_else(|| not_found(&id))?;
    if let Some(name) = &req.access_group_name {
        if mcp_storage::access_group_name_taken(state.store.uncached_tables(), name, Some(&id)).await? {
            return Err(name_taken(name));
        }
        group.access_group_name.clone_from(name);
    }
    let old_teams = state.store.attached_teams(&group).await?;
    let new_teams = match &req.assigned_team_ids {
        Some(teams) => {
            let teams = teams.clone().unwrap_or_default();
            require_teams_exist(&state, &teams).await?;
            teams
        }
        None => old_teams.clone(),
    };
    let new_keys = match &req.assigned_key_ids {
        Some(keys) => key_hashes(&keys.clone().unwrap_or_default()),
        None => group.assigned_key_ids.clone(),
    };
    let (add_teams, remove_teams) = Assignments::diff(&old_teams, &new_teams);
    let (add_keys, remove_keys) = Assignments::diff(&group.assigned_key_ids, &new_keys);
    let delta = Assignments { add_teams, remove_teams, add_keys, remove_keys };
    let list = |field: &Option<Option<Vec<String>>>, target: &mut Vec<String>| {
        if let Some(v) = field {
            *target = v.clone().unwrap_or_default();
        }
    };
    list(&req.access_model_names, &mut group.access_model_names);
    list(&req.access_mcp_server_ids, &mut group.access_mcp_server_ids);
    list(&req.access_agent_ids, &mut group.access_agent_ids);
    list(&req.access_skill_names, &mut group.access_skill_names);
    if let Some(d) = &req.description {
        group.description.clone_from(d);
    }
    if let Some(p) = &req.mcp_tool_permissions {
        group.mcp_tool_permissions.clone_from(p);
    }
    group.assigned_team_ids = new_teams;
    group.assigned_key_ids = new_keys;
    group.updated_by = authed.caller.user_id.clone();
    state.store.save_access_group(&group, &delta).await.map_err(|e| {
        ProxyError::from_db_or(e, |c| {
            (c == "access_groups_access_group_name_key").then(|| name_taken(&group.access_group_name))
        })
    })?;
    Ok(Json(view(&state, &group).await?))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    authed: Authed,
) -> Result<Response, ProxyError> {
    require_admin(&authed.caller)?;
    let Some(group) = mcp_storage::access_group(state.store.uncached_tables(), &id).await? else {
        return Err(not_found(&id));
    };
    if !state.store.delete_access_group(&group).await? {
        return Err(not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A group as LiteLLM 1.109 returns it: the row plus `{id, name}` labels of what it names.
async fn view(state: &AppState, group: &AccessGroup) -> Result<Value, ProxyError> {
    let teams = state.store.attached_teams(group).await?;
    let team_names = state.store.team_aliases(&teams).await?;
    let key_names = state.store.key_labels(&group.assigned_key_ids).await?;
    let servers = mcp_storage::servers(state.store.uncached_tables()).await?;
    let label = |id: &String, name: Option<String>| json!({"id": id, "name": name});
    let name_in = |pairs: &[(String, Option<String>)], id: &String| {
        pairs.iter().find(|(i, _)| i == id).and_then(|(_, n)| n.clone())
    };
    let access_mcp_servers: Vec<Value> = group
        .access_mcp_server_ids
        .iter()
        .map(|id| label(id, servers.iter().find(|s| s.is_named(id)).map(|s| s.prefix().to_string())))
        .collect();
    let assigned_teams: Vec<Value> = teams.iter().map(|id| label(id, name_in(&team_names, id))).collect();
    let assigned_keys: Vec<Value> =
        group.assigned_key_ids.iter().map(|id| label(id, name_in(&key_names, id))).collect();
    let mut row = super::to_value(group);
    if let Value::Object(map) = &mut row {
        map.insert("assigned_team_ids".into(), json!(teams));
        map.insert("access_mcp_servers".into(), json!(access_mcp_servers));
        map.insert("access_agents".into(), json!([]));
        map.insert("assigned_teams".into(), json!(assigned_teams));
        map.insert("assigned_keys".into(), json!(assigned_keys));
    }
    Ok(row)
}

/// Keeps `assigned_team_ids` in step when a team's `access_group_ids` change on `/team/new` or
/// `/team/update`.
pub(crate) async fn reconcile_team(
    state: &AppState,
    team_id: &str,
    old: &[String],
    new: &[String],
) -> Result<(), ProxyError> {
    Ok(mcp_storage::reconcile_holder(state.store.uncached_tables(), mcp_storage::Holder::Team(team_id), old, new)
        .await?)
}

/// Keeps `assigned_key_ids` in step when a key's `access_group_ids` change on `/key/generate`,
/// `/key/update` or `/key/regenerate` (`token` is the key's hash).
pub(crate) async fn reconcile_key(
    state: &AppState,
    token: &str,
    old: &[String],
    new: &[String],
) -> Result<(), ProxyError> {
    Ok(mcp_storage::reconcile_holder(state.store.uncached_tables(), mcp_storage::Holder::Key(token), old, new).await?)
}
