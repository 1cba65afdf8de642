//! /key/regenerate, /key/{key}/regenerate and /key/bulk_update.
//!
//! Both accept a key's hash where a client would send the `sk-` key; the cache entry they evict is
//! the one the client named, which is where `double_hash_token_on_update` acts (`store`).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::key::{
    check_budget, generated_view, info_view, key_name, key_team, new_raw_key, requested_permission, team_mcp_ceiling,
    updated_expiry,
};
use super::{ObjectPermissionRequest, access_group, save_permission, wrapped, wrapped_dict};
use crate::AppState;
use crate::authz;
use crate::domain::Key;
use crate::error::ProxyError;
use crate::request::Authed;
use crate::store::PermissionOwner;
use crate::token::{hash_if_needed, hash_token};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegenerateKeyRequest {
    key: Option<String>,
    new_key: Option<String>,
    /// Accepted; the reference proxy does not keep old keys valid for a grace period.
    #[expect(dead_code, reason = "accepted for LiteLLM compatibility, not implemented")]
    grace_period: Option<String>,
    key_alias: Option<String>,
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    metadata: Option<Value>,
    #[serde(default, deserialize_with = "super::double_option")]
    duration: Option<Option<String>>,
    tpm_limit: Option<i64>,
    rpm_limit: Option<i64>,
    access_group_ids: Option<Vec<String>>,
    object_permission: Option<ObjectPermissionRequest>,
}

/// `/key/regenerate` treats a value without the substring `sk` as a hash (its own rule, unlike the
/// prefix rule elsewhere).
fn regenerate_token(sent: &str) -> String {
    if sent.contains("sk") { hash_token(sent) } else { sent.to_string() }
}

pub(crate) async fn regenerate(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    regenerate_key(&state, &authed, None).await
}

pub(crate) async fn regenerate_path(
    State(state): State<AppState>,
    Path(key): Path<String>,
    authed: Authed,
) -> Result<Json<Value>, ProxyError> {
    regenerate_key(&state, &authed, Some(key)).await
}

async fn regenerate_key(
    state: &AppState,
    authed: &Authed,
    path_key: Option<String>,
) -> Result<Json<Value>, ProxyError> {
    let req: RegenerateKeyRequest =
        if authed.body.is_null() { RegenerateKeyRequest::default() } else { authed.parse()? };
    let Some(sent) = path_key.or_else(|| req.key.clone()) else {
        return Err(ProxyError::handler_dict(400, "No key passed in."));
    };
    if req.new_key.as_deref().is_some_and(|k| !k.starts_with("sk-")) {
        return Err(ProxyError::handler_dict(
            400,
            "New key must start with 'sk-'. This is to distinguish a key hash (used by litellm for logging / internal logic) from the actual key.",
        ));
    }
    let old_token = regenerate_token(&sent);
    let Some(old) = state.store.key_uncached(&old_token).await? else {
        return Err(ProxyError::handler_dict(404, &format!("Key {sent} not found.")));
    };
    let team = key_team(state, &old).await?;
    authz::check_key_regenerate(&authed.caller, &old, team.as_ref()).map_err(|d| match d {
        authz::Denial::KeyDeleteNotAllowed => {
            ProxyError::handler_dict(403, "You are not authorized to regenerate this key")
        }
        other => wrapped(other),
    })?;
    // LiteLLM 1.109 gates attaching access groups before it validates the MCP grants.
    let groups_asked = req.access_group_ids.as_deref().unwrap_or_default();
    authz::check_access_group_assignment(&authed.caller, team.as_ref(), groups_asked, state.store.quirks())
        .map_err(wrapped)?;
    if let (Some(t), Some(p)) = (&team, &req.object_permission) {
        let ceiling = team_mcp_ceiling(state, t).await?;
        authz::check_key_mcp_within_team(t, &ceiling, &requested_permission(Some(p)), state.store.quirks())
            .map_err(wrapped_dict)?;
    }
    check_budget(req.max_budget)?;
    let raw = req.new_key.clone().unwrap_or_else(new_raw_key);
    let mut key = Key { token: hash_token(&raw), key_name: Some(key_name(&raw)), ..old.clone() };
    if let Some(alias) = &req.key_alias {
        if old.key_alias.as_ref() != Some(alias) {
            super::key::check_alias_format(alias)?;
        }
        key.key_alias = Some(alias.clone());
    }
    if let Some(models) = &req.models {
        key.models.clone_from(models);
    }
    if req.max_budget.is_some() {
        key.max_budget = req.max_budget;
    }
    if let Some(metadata) = &req.metadata {
        key.metadata = metadata.clone();
    }
    // As /key/update reads it (LiteLLM regenerates through its update path).
    key.expires = updated_expiry(key.expires, req.duration.as_ref().map(Option::as_deref))?;
    key.tpm_limit = req.tpm_limit.or(key.tpm_limit);
    key.rpm_limit = req.rpm_limit.or(key.rpm_limit);
    if let Some(groups) = &req.access_group_ids {
        key.access_group_ids.clone_from(groups);
    }
    key.updated_by = authed.caller.user_id.clone();
    if state.store.key_uncached(&key.token).await?.is_some() {
        return Err(ProxyError::handler_dict(400, "Unable to regenerate key: a key with this value already exists."));
    }
    if let Some(p) = &req.object_permission {
        key.object_permission_id =
            Some(save_permission(&state.store, PermissionOwner::Key, key.object_permission_id.as_deref(), p).await?);
    }
    state.store.rotate_key(&old.token, &key, &sent).await?;
    // Groups name keys by hash: the old hash leaves every group it was in, the new one joins the key's
    // groups as they now stand (LiteLLM's `sync_key_regeneration_access_group_membership`).
    access_group::reconcile_key(state, &old.token, &old.access_group_ids, &[]).await?;
    access_group::reconcile_key(state, &key.token, &[], &key.access_group_ids).await?;
    Ok(Json(generated_view(&key, &raw)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct BulkUpdateRequest {
    keys: Vec<BulkUpdateItem>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BulkUpdateItem {
    key: String,
    /// Accepted; the reference proxy has no budget table links on keys.
    #[expect(dead_code, reason = "accepted for LiteLLM compatibility, not implemented")]
    budget_id: Option<String>,
    max_budget: Option<f64>,
    team_id: Option<String>,
    tags: Option<Vec<String>>,
}

const MAX_BULK_KEYS: usize = 500;

pub(crate) async fn bulk_update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    // LiteLLM raises these outside the handler's try, so they keep FastAPI's `{"detail": …}` shape.
    if !authed.caller.is_proxy_admin() {
        return Err(ProxyError::detail_error(403, "Only proxy admins can perform bulk key updates"));
    }
    let req: BulkUpdateRequest = authed.parse()?;
    if req.keys.is_empty() {
        return Err(ProxyError::detail_error(400, "No keys provided for update"));
    }
    if req.keys.len() > MAX_BULK_KEYS {
        return Err(ProxyError::detail_error(
            400,
            format!("Maximum {MAX_BULK_KEYS} keys can be updated at once. Found {} keys.", req.keys.len()),
        ));
    }
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for item in &req.keys {
        match update_one(&state, &authed, item).await? {
            Ok(key) => successful.push(json!({"key": item.key, "key_info": info_view(&key)})),
            Err((key, reason)) => {
                failed.push(json!({"key": item.key, "key_info": key.as_ref().map(info_view), "failed_reason": reason}));
            }
        }
    }
    Ok(Json(json!({
        "total_requested": req.keys.len(),
        "successful_updates": successful,
        "failed_updates": failed,
    })))
}

/// One item of a bulk update; items fail independently (the inner error), the database does not.
async fn update_one(
    state: &AppState,
    authed: &Authed,
    item: &BulkUpdateItem,
) -> Result<Result<Key, (Option<Key>, String)>, ProxyError> {
    let Some(mut key) = state.store.key_uncached(&hash_if_needed(&item.key)).await? else {
        return Ok(Err((None, "Key not found.".into())));
    };
    if let Err(e) = check_budget(item.max_budget) {
        return Ok(Err((Some(key), message_of(&e))));
    }
    if let Some(team_id) = &item.team_id {
        if state.store.team_from_db(team_id).await?.is_none() {
            return Ok(Err((Some(key), format!("Team not found for team_id={team_id}"))));
        }
        key.team_id = Some(team_id.clone());
    }
    if item.max_budget.is_some() {
        key.max_budget = item.max_budget;
    }
    if let Some(tags) = &item.tags
        && let Value::Object(map) = &mut key.metadata
    {
        map.insert("tags".into(), json!(tags));
    }
    key.updated_by = authed.caller.user_id.clone();
    state.store.save_key_sent_as(&key, &item.key).await?;
    Ok(Ok(key))
}

fn message_of(e: &ProxyError) -> String {
    e.body()["error"]["message"].as_str().unwrap_or("invalid update").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regenerate_treats_values_without_sk_as_hashes() {
        let hash = hash_token("sk-abc");
        assert_eq!(regenerate_token(&hash), hash);
        assert_eq!(regenerate_token("sk-abc"), hash);
    }
}
