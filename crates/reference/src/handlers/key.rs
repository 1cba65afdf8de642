//! /key/generate, /key/info, /key/update, /key/delete.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::access_group;
use super::{
    ObjectPermissionRequest, double_option, raw, save_permission, to_value, with_field, wrapped, wrapped_dict,
};
use crate::AppState;
use crate::authz::{self, KeyGenerateRequest, KeyUpdateChanges};
use crate::domain::{Caller, Key, ObjectPermission, Team};
use crate::error::{ProxyError, py_float};
use crate::request::Authed;
use crate::store::PermissionOwner;
use crate::token::{hash_if_needed, hash_token, last_chars};

#[derive(Debug, Deserialize)]
pub(crate) struct GenerateKeyRequest {
    key: Option<String>,
    key_alias: Option<String>,
    user_id: Option<String>,
    team_id: Option<String>,
    organization_id: Option<String>,
    #[serde(default)]
    models: Vec<String>,
    max_budget: Option<f64>,
    duration: Option<String>,
    budget_duration: Option<String>,
    auto_rotate: Option<bool>,
    rotation_interval: Option<String>,
    metadata: Option<Value>,
    key_type: Option<String>,
    allowed_routes: Option<Vec<String>>,
    tpm_limit: Option<i64>,
    rpm_limit: Option<i64>,
    #[serde(default)]
    access_group_ids: Vec<String>,
    object_permission: Option<ObjectPermissionRequest>,
    #[serde(default)]
    blocked: bool,
    aliases: Option<Map<String, Value>>,
    model_max_budget: Option<Map<String, Value>>,
    router_settings: Option<Map<String, Value>>,
    permissions: Option<Map<String, Value>>,
}

/// `sk-` + URL-safe base64 of 16 random bytes, as LiteLLM generates them.
pub(crate) fn new_raw_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("sk-{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A new key row for `raw` with every optional field unset.
fn new_key_row(raw: &str, user_id: Option<String>, caller: &Caller) -> Key {
    Key::unset(hash_token(raw), Some(key_name(raw)), user_id, caller.user_id.clone())
}

pub(crate) fn key_name(raw: &str) -> String {
    format!("sk-...{}", last_chars(raw, 4))
}

/// When a key given `duration` now expires. A duration LiteLLM cannot read, or one ending past what
/// it can represent, is a 400 with LiteLLM's words for it (1.109 answers them 400 on /key/update and
/// 500 on /key/generate and /user/new).
pub(crate) fn expiry(duration: Option<&str>) -> Result<Option<DateTime<Utc>>, ProxyError> {
    match duration {
        None => Ok(None),
        Some(d) => crate::duration::end(d, Utc::now()).map(Some).map_err(|e| {
            let message = match e {
                crate::duration::DurationError::NoCount => "Invalid duration format".to_string(),
                crate::duration::DurationError::NoUnit => format!("Unsupported duration unit, passed duration: {d}"),
                crate::duration::DurationError::TooLarge => "date value out of range".to_string(),
            };
            ProxyError::handler(400, message)
        }),
    }
}

/// A `rotation_interval` sent with `auto_rotate`: read as a key's duration. The reference does not
/// rotate keys, but a value LiteLLM cannot read (it answers 500) is still the client's error.
pub(crate) fn check_rotation_interval(auto_rotate: Option<bool>, interval: Option<&str>) -> Result<(), ProxyError> {
    match (auto_rotate, interval) {
        (Some(true), Some(d)) => expiry(Some(d)).map(drop),
        _ => Ok(()),
    }
}

/// The expiry after `/key/update` or `/key/regenerate` sent `duration`: absent or `""` keeps it,
/// `null` or `"-1"` makes the key never expire, anything else is read as for a new key.
pub(crate) fn updated_expiry(
    current: Option<DateTime<Utc>>,
    duration: Option<Option<&str>>,
) -> Result<Option<DateTime<Utc>>, ProxyError> {
    match duration {
        None | Some(Some("")) => Ok(current),
        Some(None | Some("-1")) => Ok(None),
        Some(d) => expiry(d),
    }
}

pub(crate) fn check_budget(max_budget: Option<f64>) -> Result<(), ProxyError> {
    match max_budget {
        Some(b) if !b.is_finite() || b < 0.0 => Err(ProxyError::handler_dict(
            400,
            &format!("max_budget must be a non-negative finite number. Received: {}", py_float(b)),
        )),
        _ => Ok(()),
    }
}

/// LiteLLM 1.109's check of a `budget_duration` (1.83 stored any text and fell back to a daily
/// reset, or answered 500 when the reset overflowed): it must read as a duration longer than zero
/// that ends within what LiteLLM can represent.
pub(crate) fn check_budget_duration(budget_duration: Option<&str>) -> Result<(), ProxyError> {
    let Some(d) = budget_duration else {
        return Ok(());
    };
    let usable = crate::duration::parse(d).is_ok_and(|span| span.is_positive() && span.end_from(Utc::now()).is_ok());
    if usable {
        Ok(())
    } else {
        Err(ProxyError::handler_dict(
            400,
            &format!("Invalid budget_duration '{d}'. Use a format like '1h', '24h', '7d', or '30d'."),
        ))
    }
}

pub(crate) fn requested_permission(req: Option<&ObjectPermissionRequest>) -> ObjectPermission {
    let list = |v: Option<&Vec<String>>| v.cloned().unwrap_or_default();
    ObjectPermission {
        mcp_servers: list(req.and_then(|r| r.mcp_servers.as_ref())),
        mcp_access_groups: list(req.and_then(|r| r.mcp_access_groups.as_ref())),
        ..ObjectPermission::default()
    }
}

/// The team's MCP grants: its permission row (read as `Store::team_ceiling_permission` says) and the
/// servers of its access groups.
pub(crate) async fn team_mcp_ceiling(state: &AppState, team: &Team) -> Result<authz::TeamMcpCeiling, ProxyError> {
    let permission = match &team.object_permission_id {
        Some(id) => state.store.team_ceiling_permission(id).await?,
        None => None,
    };
    let groups =
        crate::mcp::storage::access_groups_by_ids(state.store.uncached_tables(), &team.access_group_ids).await?;
    let access_group_servers = groups.into_iter().flat_map(|g| g.access_mcp_server_ids).collect();
    let open_to_all = open_to_all_servers(state).await?;
    Ok(authz::TeamMcpCeiling { permission, access_group_servers, open_to_all })
}

/// The servers any key may be given (`allow_all_keys`).
async fn open_to_all_servers(state: &AppState) -> Result<Vec<String>, ProxyError> {
    Ok(crate::mcp::storage::servers(state.store.uncached_tables())
        .await?
        .into_iter()
        .filter(|s| s.allow_all_keys)
        .map(|s| s.server_id)
        .collect())
}

/// MCP servers and access groups asked for a key in no team: a non-admin gets only the servers open
/// to every key, and no access group.
async fn check_personal_key_mcp(
    state: &AppState,
    caller: &Caller,
    requested: &ObjectPermission,
) -> Result<(), ProxyError> {
    let quirks = state.store.quirks();
    if authz::admin_grants_teamless_mcp(caller, quirks) {
        return Ok(());
    }
    if !requested.mcp_servers.is_empty() {
        let open_to_all = open_to_all_servers(state).await?;
        authz::check_personal_key_mcp_servers(caller, &requested.mcp_servers, &open_to_all, quirks)
            .map_err(wrapped_dict)?;
    }
    authz::check_personal_key_mcp_access_groups(caller, &requested.mcp_access_groups, quirks).map_err(wrapped_dict)
}

fn alias_taken(alias: &str) -> ProxyError {
    ProxyError::typed(
        400,
        "bad_request_error",
        Some("key_alias"),
        format!("Key with alias '{alias}' already exists. Unique key aliases across all keys are required."),
    )
}

/// LiteLLM 1.109's rule for a new or changed `key_alias`: no control character (C0, DEL, C1, or a
/// Unicode line or paragraph separator) and no `..` path segment. 1.83 had no rule and answered a
/// NUL with a database 500.
pub(crate) fn check_alias_format(alias: &str) -> Result<(), ProxyError> {
    let control = |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}');
    if alias.contains(control) || alias.split('/').any(|segment| segment == "..") {
        return Err(ProxyError::typed(
            400,
            "bad_request_error",
            Some("key_alias"),
            "Invalid key_alias: must not contain control characters (such as tab or newline) or a \"..\" path segment",
        ));
    }
    Ok(())
}

pub(crate) async fn check_alias_free(
    state: &AppState,
    alias: Option<&str>,
    except: Option<&str>,
) -> Result<(), ProxyError> {
    if let Some(alias) = alias
        && state.store.key_alias_taken(alias, except).await?
    {
        return Err(alias_taken(alias));
    }
    Ok(())
}

/// The duplicate answer for a key write the database refused: the alias check above ran before the
/// write, so a concurrent write with the same alias or key is caught here.
fn key_write_error(err: sqlx::Error, key: &Key, creating: bool) -> ProxyError {
    ProxyError::from_db_or(err, |constraint| match constraint {
        "verification_tokens_key_alias_unique" => key.key_alias.as_deref().map(alias_taken),
        "verification_tokens_pkey" if creating => {
            Some(ProxyError::handler_dict(400, "Unable to create key: a key with this value already exists."))
        }
        _ => None,
    })
}

fn routes_for_key_type(key_type: Option<&str>, caller: &Caller) -> Result<Vec<String>, ProxyError> {
    let routes = match key_type {
        None | Some("default") => vec![],
        Some("llm_api") => vec!["llm_api_routes".to_string()],
        Some("read_only") => vec!["info_routes".to_string()],
        Some("management") if caller.is_proxy_admin() => vec!["management_routes".to_string()],
        // A management key is admin routes by another name: LiteLLM refuses it as it refuses
        // allowed_routes.
        Some("management") => return Err(wrapped_dict(authz::Denial::OnlyAdminsSetAllowedRoutes)),
        Some(other) => return Err(ProxyError::handler_dict(400, &format!("Invalid key_type: {other}"))),
    };
    Ok(routes)
}

/// What a new key is: one of the caller's or a user's (`/key/generate`), or a team's service-account
/// key, which belongs to no user (`/key/service-account/generate`).
#[derive(Clone, Copy)]
enum NewKey {
    Ordinary,
    ServiceAccount,
}

pub(crate) async fn generate(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    create(&state, &authed, NewKey::Ordinary).await
}

pub(crate) async fn generate_service_account(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Value>, ProxyError> {
    create(&state, &authed, NewKey::ServiceAccount).await
}

/// A service-account key's team, which must be named and exist, whoever asks.
async fn service_account_team(state: &AppState, team_id: Option<&str>) -> Result<Team, ProxyError> {
    let Some(id) = team_id else {
        return Err(ProxyError::detail(
            400,
            "team_id is required for service account keys. Please specify `team_id` in the request body.",
        ));
    };
    state.store.team_from_db(id).await?.ok_or_else(|| {
        ProxyError::detail(
            400,
            "team_id does not exist in the database. Please specify a valid `team_id` in the request body.",
        )
    })
}

async fn create(state: &AppState, authed: &Authed, kind: NewKey) -> Result<Json<Value>, ProxyError> {
    let mut req: GenerateKeyRequest = authed.parse()?;
    let caller = &authed.caller;
    if let Some(raw) = req.key.as_deref().filter(|k| !k.starts_with("sk-")) {
        let masked: String = raw.chars().take(4).collect();
        return Err(ProxyError::handler_dict(
            400,
            &format!("Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: {masked}****"),
        ));
    }
    check_budget(req.max_budget)?;
    check_budget_duration(req.budget_duration.as_deref())?;
    check_rotation_interval(req.auto_rotate, req.rotation_interval.as_deref())?;
    let sets_allowed_routes = req.allowed_routes.as_ref().is_some_and(|r| !r.is_empty());
    let (team, owner) = match kind {
        NewKey::ServiceAccount => (Some(service_account(state, caller, &mut req, sets_allowed_routes).await?), None),
        NewKey::Ordinary => ordinary_owner(state, caller, &req, sets_allowed_routes).await?,
    };
    finish_create(state, authed, req, team, owner).await
}

/// A service-account key's team, once the caller may make one for it; the request then names no
/// user, and its metadata carries the `service_account_id` LiteLLM 1.109 stamps (the alias, or a new
/// id).
async fn service_account(
    state: &AppState,
    caller: &Caller,
    req: &mut GenerateKeyRequest,
    sets_allowed_routes: bool,
) -> Result<Team, ProxyError> {
    let team = service_account_team(state, req.team_id.as_deref()).await?;
    authz::check_service_account_generate(caller, &team, sets_allowed_routes).map_err(|d| match d {
        authz::Denial::UserNotInTeam { .. } => raw(d),
        authz::Denial::OnlyAdminsSetAllowedRoutes => wrapped_dict(d),
        other => wrapped(other),
    })?;
    req.user_id = None;
    let metadata = req.metadata.get_or_insert_with(|| json!({}));
    if let Value::Object(map) = metadata
        && map.get("service_account_id").is_none_or(Value::is_null)
    {
        let id = req.key_alias.clone().unwrap_or_else(super::new_id);
        map.insert("service_account_id".into(), json!(id));
    }
    Ok(team)
}

/// An ordinary key's team (when named) and the user it will belong to.
async fn ordinary_owner(
    state: &AppState,
    caller: &Caller,
    req: &GenerateKeyRequest,
    sets_allowed_routes: bool,
) -> Result<(Option<Team>, Option<String>), ProxyError> {
    let team = match &req.team_id {
        Some(id) => match state.store.team_from_db(id).await? {
            Some(t) => Some(t),
            None if caller.is_proxy_admin() => None,
            None => {
                return Err(ProxyError::handler_dict(
                    400,
                    &format!(
                        "Team not found for team_id={id}. Non-admin users cannot create keys for non-existent teams."
                    ),
                ));
            }
        },
        None => None,
    };
    let owner = authz::check_key_generate(
        caller,
        &KeyGenerateRequest { user_id: req.user_id.as_deref(), team: team.as_ref(), sets_allowed_routes },
    )
    .map_err(|d| match d {
        authz::Denial::OnlyAdminsSetAllowedRoutes => wrapped_dict(d),
        other => wrapped(other),
    })?;
    Ok((team, owner))
}

/// The checks every new key passes once its team and owner are decided, then the write.
async fn finish_create(
    state: &AppState,
    authed: &Authed,
    req: GenerateKeyRequest,
    team: Option<Team>,
    owner: Option<String>,
) -> Result<Json<Value>, ProxyError> {
    let caller = &authed.caller;
    let quirks = state.store.quirks();
    authz::check_key_permissions_field(caller, authed.sends("permissions"), quirks).map_err(wrapped_dict)?;
    authz::check_key_guardrail_opt_out(caller, asks_guardrail_opt_out(&authed.body), false, quirks)
        .map_err(wrapped_dict)?;
    if let Some(org) = &req.organization_id {
        authz::check_key_org_change(caller, None, org, state.store.quirks()).map_err(wrapped)?;
    }
    authz::check_access_group_assignment(caller, team.as_ref(), &req.access_group_ids, state.store.quirks())
        .map_err(wrapped)?;
    let requested = requested_permission(req.object_permission.as_ref());
    if let Some(team) = &team {
        let ceiling = team_mcp_ceiling(state, team).await?;
        authz::check_key_mcp_within_team(team, &ceiling, &requested, state.store.quirks()).map_err(wrapped_dict)?;
    } else {
        check_personal_key_mcp(state, caller, &requested).await?;
    }
    if let Some(team) = &team {
        check_models_within_team(state, team, &req.models).await?;
    }
    if let Some(alias) = &req.key_alias {
        check_alias_format(alias)?;
    }
    check_alias_free(state, req.key_alias.as_deref(), None).await?;
    let mut allowed_routes = routes_for_key_type(req.key_type.as_deref(), caller)?;
    if let Some(routes) = &req.allowed_routes {
        allowed_routes.clone_from(routes);
    }
    let object_permission_id = match &req.object_permission {
        Some(p) => Some(save_permission(&state.store, PermissionOwner::Key, None, p).await?),
        None => None,
    };
    let raw = req.key.clone().unwrap_or_else(new_raw_key);
    let key = Key {
        key_alias: req.key_alias.clone(),
        team_id: req.team_id.clone(),
        organization_id: req.organization_id.clone().or_else(|| team.as_ref().and_then(|t| t.organization_id.clone())),
        object_permission_id,
        access_group_ids: req.access_group_ids.clone(),
        models: req.models.clone(),
        max_budget: req.max_budget,
        budget_duration: req.budget_duration.clone(),
        expires: expiry(req.duration.as_deref())?,
        blocked: req.blocked,
        metadata: req.metadata.clone().unwrap_or_else(|| json!({})),
        allowed_routes,
        key_type: Some(req.key_type.clone().unwrap_or_else(|| "default".into())),
        tpm_limit: req.tpm_limit,
        rpm_limit: req.rpm_limit,
        aliases: Value::Object(req.aliases.clone().unwrap_or_default()),
        model_max_budget: checked_model_max_budget(req.model_max_budget.clone())?.unwrap_or_else(|| json!({})),
        router_settings: Value::Object(req.router_settings.clone().unwrap_or_default()),
        permissions: Value::Object(req.permissions.clone().unwrap_or_default()),
        ..new_key_row(&raw, owner, caller)
    };
    if state.store.key_uncached(&key.token).await?.is_some() {
        return Err(ProxyError::handler_dict(400, "Unable to create key: a key with this value already exists."));
    }
    if let Err(e) = state.store.insert_key(&key).await {
        super::discard_new_permission(&state.store, key.object_permission_id.as_deref()).await;
        return Err(key_write_error(e, &key, true));
    }
    access_group::reconcile_key(state, &key.token, &[], &key.access_group_ids).await?;
    let mut body = generated_view(&key, &raw);
    if let Value::Object(map) = &mut body {
        map.insert("duration".into(), json!(req.duration));
    }
    Ok(Json(body))
}

/// A sent `model_max_budget`, once every entry reads as a budget.
fn checked_model_max_budget(budgets: Option<Map<String, Value>>) -> Result<Option<Value>, ProxyError> {
    let Some(budgets) = budgets else { return Ok(None) };
    let value = Value::Object(budgets);
    authz::parse_model_max_budget(&value)
        .map_err(|e| ProxyError::handler_dict(400, &format!("Invalid model_max_budget: {e}")))?;
    Ok(Some(value))
}

/// A key row as `/key/generate` and `/key/regenerate` answer it: with the raw key (shown this once)
/// and its hash as `token_id`.
pub(crate) fn generated_view(key: &Key, raw: &str) -> Value {
    let mut body = to_value(key);
    if let Value::Object(map) = &mut body {
        map.insert("key".into(), json!(raw));
        map.insert("token_id".into(), json!(key.token));
        map.insert("object_permission".into(), Value::Null);
        map.remove("object_permission_id");
    }
    body
}

/// A key row as `/key/info` shows it: without its hash, with its status.
pub(crate) fn info_view(key: &Key) -> Value {
    let status = if key.blocked {
        "revoked"
    } else if key.expires.is_some_and(|e| e < Utc::now()) {
        "expired"
    } else {
        "active"
    };
    let mut row = to_value(key);
    if let Value::Object(map) = &mut row {
        map.remove("token");
        map.insert("status".into(), json!(status));
    }
    row
}

fn key_not_found(message: &str) -> ProxyError {
    ProxyError::typed(404, "not_found_error", Some("key"), message)
}

pub(crate) async fn key_team(state: &AppState, key: &Key) -> Result<Option<Team>, ProxyError> {
    match &key.team_id {
        Some(id) => Ok(state.store.team(id).await?),
        None => Ok(None),
    }
}

pub(crate) async fn info(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let caller = &authed.caller;
    let (shown, token) = match authed.query("key") {
        Some(k) => (k.to_string(), hash_if_needed(k)),
        None => match &caller.key_hash {
            Some(h) => (h.clone(), h.clone()),
            None => return Err(key_not_found("Key not found in database")),
        },
    };
    let key = state.store.key_uncached(&token).await?.ok_or_else(|| key_not_found("Key not found in database"))?;
    let team = key_team(&state, &key).await?;
    authz::check_key_info(caller, &key, team.as_ref()).map_err(wrapped)?;
    Ok(Json(json!({"key": shown, "info": info_view(&key)})))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateKeyRequest {
    key: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    key_alias: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    user_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    team_id: Option<Option<String>>,
    models: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    max_budget: Option<Option<f64>>,
    spend: Option<f64>,
    #[serde(default, deserialize_with = "double_option")]
    duration: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    budget_duration: Option<Option<String>>,
    auto_rotate: Option<bool>,
    rotation_interval: Option<String>,
    metadata: Option<Value>,
    blocked: Option<bool>,
    tpm_limit: Option<i64>,
    rpm_limit: Option<i64>,
    access_group_ids: Option<Vec<String>>,
    object_permission: Option<ObjectPermissionRequest>,
    allowed_routes: Option<Vec<String>>,
    organization_id: Option<String>,
    aliases: Option<Map<String, Value>>,
    model_max_budget: Option<Map<String, Value>>,
    router_settings: Option<Map<String, Value>>,
    permissions: Option<Map<String, Value>>,
}

/// The key-within-team model ceiling, with the team's access-group models and every deployment's
/// config access groups.
async fn check_models_within_team(state: &AppState, team: &Team, models: &[String]) -> Result<(), ProxyError> {
    if models.is_empty() || team.models.is_empty() {
        return Ok(());
    }
    let groups =
        crate::mcp::storage::access_groups_by_ids(state.store.uncached_tables(), &team.access_group_ids).await?;
    let group_models: Vec<String> = groups.into_iter().flat_map(|g| g.access_model_names).collect();
    let catalog: Vec<(String, Vec<String>)> = crate::storage::all_deployments(state.store.uncached_tables())
        .await?
        .iter()
        .map(|d| (d.model_name.clone(), d.access_groups()))
        .collect();
    authz::check_key_models_within_team(
        &team.team_id,
        models,
        &team.models,
        &group_models,
        &catalog,
        state.store.quirks(),
    )
    .map_err(wrapped)
}

async fn find_by_alias(state: &AppState, alias: &str) -> Result<Key, ProxyError> {
    let matches = state.store.keys_with_aliases(&[alias.to_string()]).await?;
    match matches.len() {
        0 => Err(key_not_found(&format!("Key not found. No key with key_alias='{alias}'."))),
        1 => Ok(matches.into_iter().next().expect("one match")),
        _ => Err(ProxyError::handler(
            400,
            format!("Multiple keys share key_alias='{alias}', so it cannot be used as an identifier."),
        )),
    }
}

pub(crate) async fn update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: UpdateKeyRequest = authed.parse()?;
    let caller = &authed.caller;
    let quirks = state.store.quirks();
    // Refused before the key is read, as LiteLLM 1.109 does.
    authz::check_key_permissions_field(caller, authed.sends("permissions"), quirks).map_err(wrapped_dict)?;
    let mut key = key_to_update(&state, &req).await?;
    let stored_opt_out = key.metadata.get(GUARDRAIL_OPT_OUT) == Some(&Value::Bool(true));
    authz::check_key_guardrail_opt_out(caller, asks_guardrail_opt_out(&authed.body), stored_opt_out, quirks)
        .map_err(wrapped_dict)?;
    check_update(&state, caller, &key, &req).await?;
    let old_groups = key.access_group_ids.clone();
    apply_update(&mut key, &req)?;
    if let Some(p) = &req.object_permission {
        key.object_permission_id =
            Some(save_permission(&state.store, PermissionOwner::Key, key.object_permission_id.as_deref(), p).await?);
    }
    key.updated_by = caller.user_id.clone();
    // The cache entry to evict is the one the client named (its key or hash), as in LiteLLM.
    let sent = req.key.clone().unwrap_or_else(|| key.token.clone());
    state.store.save_key_sent_as(&key, &sent).await.map_err(|e| key_write_error(e, &key, false))?;
    access_group::reconcile_key(&state, &key.token, &old_groups, &key.access_group_ids).await?;
    if let Some(spend) = req.spend {
        state.store.spend.set(&crate::spend::Entity::Key(key.token.clone()), spend);
    }
    Ok(Json(updated_view(&state, &key, req.key.as_deref()).await?))
}

/// The flag that opts a key out of the proxy's default-on guardrails, top level or in `metadata`.
const GUARDRAIL_OPT_OUT: &str = "disable_global_guardrails";

/// Whether the request asks to opt its key out of default-on guardrails: a truthy flag (in Python's
/// sense, as LiteLLM reads it) at the top level or in `metadata`.
fn asks_guardrail_opt_out(body: &Value) -> bool {
    let truthy = |v: Option<&Value>| match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    };
    truthy(body.get(GUARDRAIL_OPT_OUT)) || truthy(body.get("metadata").and_then(|m| m.get(GUARDRAIL_OPT_OUT)))
}

/// The key `/key/update` names: by `key` (raw or hash), else by `key_alias`.
async fn key_to_update(state: &AppState, req: &UpdateKeyRequest) -> Result<Key, ProxyError> {
    match (&req.key, &req.key_alias) {
        (Some(k), _) => {
            state.store.key_uncached(&hash_if_needed(k)).await?.ok_or_else(|| key_not_found("Key not found."))
        }
        (None, Some(Some(alias))) => find_by_alias(state, alias).await,
        _ => Err(ProxyError::Validation(vec![crate::error::ValidationItem {
            kind: "value_error",
            loc: vec![json!("body")],
            msg: "Value error, either key or key_alias must be provided".into(),
        }])),
    }
}

/// Whether `caller` may make the update: the key's owner rules, the budget, the team it ends up in
/// (which must exist), the access groups and MCP servers asked for, and a free alias.
async fn check_update(state: &AppState, caller: &Caller, key: &Key, req: &UpdateKeyRequest) -> Result<(), ProxyError> {
    // As on /key/generate, and before the key is looked at: allowed_routes can open admin routes.
    if req.allowed_routes.is_some() && !caller.is_proxy_admin() {
        return Err(wrapped_dict(authz::Denial::OnlyAdminsSetAllowedRoutes));
    }
    let team = key_team(state, key).await?;
    let changes =
        KeyUpdateChanges { user_id: req.user_id.clone(), budget: req.max_budget.is_some() || req.spend.is_some() };
    let quirks = state.store.quirks();
    authz::check_key_update(caller, key, team.as_ref(), &changes, quirks).map_err(|d| match d {
        authz::Denial::KeyUpdateBudgetNotAllowed { .. } | authz::Denial::KeyUpdateNeedsKeyAdmin { .. } => {
            wrapped_dict(d)
        }
        other => wrapped(other),
    })?;
    if let Some(Some(b)) = req.max_budget {
        check_budget(Some(b))?;
    }
    let target_team = match &req.team_id {
        Some(Some(id)) => {
            let found = state.store.team_from_db(id).await?;
            if found.is_none() && key.team_id.as_deref() != Some(id.as_str()) {
                return Err(ProxyError::handler_dict(400, &format!("Team not found for team_id={id}")));
            }
            found
        }
        Some(None) => None,
        None => team,
    };
    let groups_asked = req.access_group_ids.as_deref().unwrap_or_default();
    authz::check_access_group_assignment(caller, target_team.as_ref(), groups_asked, quirks).map_err(wrapped)?;
    if let Some(org) = &req.organization_id {
        authz::check_key_org_change(caller, key.organization_id.as_deref(), org, quirks).map_err(wrapped)?;
    }
    if let Some(t) = target_team.as_ref().filter(|t| key.team_id.as_deref() != Some(t.team_id.as_str())) {
        authz::check_key_team_change(caller, key, t).map_err(wrapped)?;
    }
    match (&target_team, &req.object_permission) {
        (Some(t), Some(p)) => {
            let ceiling = team_mcp_ceiling(state, t).await?;
            authz::check_key_mcp_within_team(t, &ceiling, &requested_permission(Some(p)), quirks)
                .map_err(wrapped_dict)?;
        }
        (None, Some(p)) => check_personal_key_mcp(state, caller, &requested_permission(Some(p))).await?,
        _ => {}
    }
    if let Some(t) = target_team.as_ref().filter(|_| req.models.is_some() || matches!(req.team_id, Some(Some(_)))) {
        // The list the key will have after the update, not the one it had (BerriAI/litellm#38629).
        check_models_within_team(state, t, req.models.as_ref().unwrap_or(&key.models)).await?;
    }
    if let Some(Some(alias)) = &req.key_alias {
        if key.key_alias.as_deref() != Some(alias.as_str()) {
            check_alias_format(alias)?;
        }
        check_alias_free(state, Some(alias), Some(&key.token)).await?;
    }
    Ok(())
}

/// Sets the fields the request sent (a field sent as `null` is cleared where LiteLLM clears it).
fn apply_update(key: &mut Key, req: &UpdateKeyRequest) -> Result<(), ProxyError> {
    if let Some(alias) = req.key_alias.clone() {
        key.key_alias = alias;
    }
    if let Some(user_id) = req.user_id.clone() {
        key.user_id = user_id;
    }
    if let Some(team_id) = req.team_id.clone() {
        key.team_id = team_id;
    }
    if let Some(models) = req.models.clone() {
        key.models = models;
    }
    if let Some(max_budget) = req.max_budget {
        key.max_budget = max_budget;
    }
    if let Some(spend) = req.spend {
        key.spend = spend;
    }
    key.expires = updated_expiry(key.expires, req.duration.as_ref().map(Option::as_deref))?;
    check_rotation_interval(req.auto_rotate, req.rotation_interval.as_deref())?;
    // LiteLLM 1.109 checks a sent budget_duration, "" included; null clears it.
    if let Some(budget_duration) = &req.budget_duration {
        check_budget_duration(budget_duration.as_deref())?;
        key.budget_duration.clone_from(budget_duration);
    }
    if let Some(metadata) = req.metadata.clone() {
        key.metadata = metadata;
    }
    if let Some(blocked) = req.blocked {
        key.blocked = blocked;
    }
    if let Some(aliases) = req.aliases.clone() {
        key.aliases = Value::Object(aliases);
    }
    if let Some(budgets) = checked_model_max_budget(req.model_max_budget.clone())? {
        key.model_max_budget = budgets;
    }
    if let Some(settings) = req.router_settings.clone() {
        key.router_settings = Value::Object(settings);
    }
    key.tpm_limit = req.tpm_limit.or(key.tpm_limit);
    key.rpm_limit = req.rpm_limit.or(key.rpm_limit);
    if let Some(groups) = req.access_group_ids.clone() {
        key.access_group_ids = groups;
    }
    if let Some(routes) = req.allowed_routes.clone() {
        key.allowed_routes = routes;
    }
    if let Some(permissions) = req.permissions.clone() {
        key.permissions = Value::Object(permissions);
    }
    if let Some(org) = req.organization_id.clone() {
        key.organization_id = Some(org);
    }
    Ok(())
}

/// The updated row as `/key/update` answers it: with its permission object and the `key` sent.
async fn updated_view(state: &AppState, key: &Key, sent: Option<&str>) -> Result<Value, ProxyError> {
    let permission = match &key.object_permission_id {
        Some(id) => to_value(&state.store.permission_uncached(id).await?),
        None => Value::Null,
    };
    let shown = sent.map_or(Value::Null, |k| Value::String(k.to_string()));
    let mut body = json!({"key": shown});
    if let (Value::Object(out), Value::Object(row)) =
        (&mut body, with_field(to_value(key), "object_permission", permission))
    {
        out.extend(row);
        out.insert("key".into(), shown);
    }
    Ok(body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteKeyRequest {
    keys: Option<Vec<String>>,
    key_aliases: Option<Vec<String>>,
}

pub(crate) async fn delete(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: DeleteKeyRequest = authed.parse()?;
    let keys = req.keys.clone().unwrap_or_default();
    let aliases = req.key_aliases.clone().unwrap_or_default();
    if keys.is_empty() && aliases.is_empty() {
        return Err(ProxyError::Validation(vec![crate::error::ValidationItem {
            kind: "value_error",
            loc: vec![json!("body")],
            msg: "Value error, At least one of 'keys' or 'key_aliases' must be provided.".into(),
        }]));
    }
    let mut found = Vec::new();
    for k in &keys {
        if let Some(key) = state.store.key_uncached(&hash_if_needed(k)).await? {
            found.push(key);
        }
    }
    if !aliases.is_empty() {
        found.extend(state.store.keys_with_aliases(&aliases).await?);
    }
    if found.is_empty() {
        return Err(ProxyError::handler_dict(404, "No keys found"));
    }
    for key in &found {
        let team = key_team(&state, key).await?;
        authz::check_key_owner_or_team_admin(&authed.caller, key, team.as_ref()).map_err(wrapped_dict)?;
    }
    let tokens: Vec<String> = found.iter().map(|k| k.token.clone()).collect();
    state.store.delete_keys(&tokens, authed.caller.user_id.as_deref()).await?;
    let deleted = if keys.is_empty() { aliases } else { keys };
    Ok(Json(json!({ "deleted_keys": deleted })))
}

/// The key `/user/new` creates for a new user; returns (raw key, key name, expiry).
pub(crate) async fn create_personal_key(
    state: &AppState,
    user_id: &str,
    key_alias: Option<String>,
    duration: Option<&str>,
    caller: &Caller,
) -> Result<(String, String, Option<DateTime<Utc>>), ProxyError> {
    check_alias_free(state, key_alias.as_deref(), None).await?;
    let raw = new_raw_key();
    let key = Key { key_alias, expires: expiry(duration)?, ..new_key_row(&raw, Some(user_id.to_string()), caller) };
    state.store.insert_key(&key).await.map_err(|e| key_write_error(e, &key, true))?;
    Ok((raw, key.key_name.clone().unwrap_or_default(), key.expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_look_like_litellm_keys() {
        let k = new_raw_key();
        assert!(k.starts_with("sk-"));
        assert_eq!(k.len(), 3 + 22);
        assert_ne!(k, new_raw_key());
        assert_eq!(key_name("sk-abcdef1234"), "sk-...1234");
    }

    #[test]
    fn hostile_durations_are_a_400_not_a_panic() {
        let cases = [
            ("1é", "Unsupported duration unit, passed duration: 1é"),
            ("😀", "Invalid duration format"),
            ("9223372036854775807s", "date value out of range"),
            ("100000000d", "date value out of range"),
            ("30", "Unsupported duration unit, passed duration: 30"),
            ("-1", "Invalid duration format"),
            ("", "Invalid duration format"),
        ];
        for (d, message) in cases {
            let err = expiry(Some(d)).expect_err(d);
            assert_eq!((err.status(), err.body()["error"]["message"].clone()), (400, json!(message)), "{d:?}");
            assert_eq!(err.body()["error"]["type"], "invalid_request_error", "{d:?}");
        }
    }

    #[test]
    fn a_rotation_interval_is_read_only_with_auto_rotate() {
        assert_eq!(check_rotation_interval(Some(true), Some("30d")), Ok(()));
        assert_eq!(check_rotation_interval(Some(true), None), Ok(()));
        assert_eq!(check_rotation_interval(Some(false), Some("1é")), Ok(()));
        assert_eq!(check_rotation_interval(None, Some("1é")), Ok(()));
        let err = check_rotation_interval(Some(true), Some("1é")).expect_err("unreadable");
        assert_eq!(err.status(), 400);
        assert_eq!(err.body()["error"]["message"], "Unsupported duration unit, passed duration: 1é");
    }

    #[test]
    fn an_update_keeps_clears_or_resets_the_expiry() {
        let hour_from_now = Utc::now() + chrono::TimeDelta::hours(1);
        let current = Some(hour_from_now);
        assert_eq!(updated_expiry(current, None), Ok(current));
        assert_eq!(updated_expiry(current, Some(Some(""))), Ok(current));
        assert_eq!(updated_expiry(current, Some(None)), Ok(None));
        assert_eq!(updated_expiry(current, Some(Some("-1"))), Ok(None));
        let later = updated_expiry(current, Some(Some("2d"))).expect("a valid duration").expect("an expiry");
        assert!(later > hour_from_now);
        assert_eq!(updated_expiry(current, Some(Some("1é"))).map_err(|e| e.status()), Err(400));
    }

    #[test]
    fn budget_durations_must_be_positive_and_representable() {
        for d in ["1é", "😀", "9223372036854775807s", "100000000d", "30", "30x", "0s", "0mo", ""] {
            let err = check_budget_duration(Some(d)).expect_err(d);
            assert_eq!(err.status(), 400, "{d:?}");
            assert_eq!(
                err.body()["error"]["message"],
                format!(
                    "{{'error': \"Invalid budget_duration '{d}'. Use a format like '1h', '24h', '7d', or '30d'.\"}}"
                ),
                "{d:?}"
            );
        }
        for d in ["30s", "1h", "24h", "7d", "30d", "1mo", "2w", "daily"] {
            assert_eq!(check_budget_duration(Some(d)), Ok(()), "{d:?}");
        }
        assert_eq!(check_budget_duration(None), Ok(()));
    }

    #[test]
    fn aliases_with_control_characters_or_dot_dot_segments_are_refused() {
        for alias in
            ["a\u{0}b", "tab\there", "new\nline", "del\u{7f}", "c1\u{85}", "ls\u{2028}", "..", "../x", "x/..", "a/../b"]
        {
            let err = check_alias_format(alias).expect_err(alias);
            assert_eq!(err.status(), 400, "{alias:?}");
            assert_eq!(err.body()["error"]["param"], "key_alias", "{alias:?}");
        }
        for alias in ["team-a/prod", "release-1.0..2", "x..", "..x", "émoji-😀", "a b"] {
            assert_eq!(check_alias_format(alias), Ok(()), "{alias:?}");
        }
    }

    #[test]
    fn valid_durations_expire_in_the_future() {
        let now = Utc::now();
        for d in ["30s", "1h", "7d", "2w", "1mo"] {
            let expires = expiry(Some(d)).expect(d).expect("an expiry");
            assert!(expires > now, "{d:?}");
        }
        assert_eq!(expiry(None).expect("no duration"), None);
    }
}
