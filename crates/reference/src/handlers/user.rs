//! /user/new, /user/info, /user/update, /user/delete.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{double_option, new_id, to_value, with_field};
use crate::authz::{self, Denial, PROTECTED_USER_FIELDS, UserUpdateAsk};
use crate::domain::{INTERNAL_USER, INTERNAL_USER_VIEWER, PROXY_ADMIN, PROXY_ADMIN_VIEWER, User};
use crate::error::ProxyError;
use crate::request::Authed;
use crate::{AppState, storage};

#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum NewUserRole {
    ProxyAdmin,
    ProxyAdminViewer,
    InternalUser,
    InternalUserViewer,
}

impl NewUserRole {
    fn as_str(self) -> &'static str {
        match self {
            NewUserRole::ProxyAdmin => PROXY_ADMIN,
            NewUserRole::ProxyAdminViewer => PROXY_ADMIN_VIEWER,
            NewUserRole::InternalUser => INTERNAL_USER,
            NewUserRole::InternalUserViewer => INTERNAL_USER_VIEWER,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewUserRequest {
    user_id: Option<String>,
    user_email: Option<String>,
    user_alias: Option<String>,
    user_role: Option<NewUserRole>,
    teams: Option<Vec<Value>>,
    organizations: Option<Vec<String>>,
    auto_create_key: Option<bool>,
    max_budget: Option<f64>,
    #[serde(default)]
    models: Vec<String>,
    metadata: Option<Value>,
    budget_duration: Option<String>,
    key_alias: Option<String>,
    duration: Option<String>,
}

pub(crate) async fn new(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: NewUserRequest = authed.parse()?;
    let caller = &authed.caller;
    let role = req.user_role.unwrap_or(NewUserRole::InternalUser);
    if matches!(role, NewUserRole::ProxyAdmin | NewUserRole::ProxyAdminViewer) && !caller.is_proxy_admin() {
        return Err(ProxyError::handler(
            403,
            format!(
                "Only proxy admins can create administrative users (proxy_admin, proxy_admin_viewer). Attempted to create user with role: {}. Your role: {}",
                role.as_str(),
                caller.handler_role()
            ),
        ));
    }
    super::key::check_budget_duration(req.budget_duration.as_deref())?;
    // Before anything is written, so a bad duration or a taken alias leaves no user without its key
    // (the key's insert still decides between concurrent creates).
    let creates_key = req.auto_create_key.unwrap_or(true);
    if creates_key {
        super::key::expiry(req.duration.as_deref())?;
        super::key::check_alias_free(&state, req.key_alias.as_deref(), None).await?;
    }
    let user_id = req.user_id.clone().unwrap_or_else(new_id);
    let id_taken = || ProxyError::handler_dict(409, &format!("User with id {user_id} already exists"));
    let email_taken = |email: &str| ProxyError::handler_dict(409, &format!("User with email {email} already exists"));
    if state.store.user_uncached(&user_id).await?.is_some() {
        return Err(id_taken());
    }
    if let Some(email) = &req.user_email
        && state.store.user_by_email(email).await?.is_some()
    {
        return Err(email_taken(email));
    }
    let team_ids: Vec<String> = req
        .teams
        .iter()
        .flatten()
        .filter_map(|t| {
            t.as_str().map(str::to_string).or_else(|| t.get("team_id").and_then(Value::as_str).map(str::to_string))
        })
        .collect();
    for team_id in &team_ids {
        if state.store.team_uncached(team_id).await?.is_none() {
            return Err(ProxyError::handler_dict(400, &format!("Team not found, passed team_id={team_id}")));
        }
    }
    let now = Utc::now();
    let user = User {
        user_id: user_id.clone(),
        user_alias: req.user_alias.clone(),
        user_email: req.user_email.clone(),
        user_role: Some(role.as_str().into()),
        teams: vec![],
        organization_id: None,
        object_permission_id: None,
        max_budget: req.max_budget,
        spend: 0.0,
        models: req.models.clone(),
        metadata: req.metadata.clone().unwrap_or_else(|| json!({})),
        budget_duration: req.budget_duration.clone(),
        created_at: now,
        updated_at: now,
    };
    // The checks above answer the common case; the insert decides between concurrent creates.
    state.store.insert_user(&user).await.map_err(|e| {
        ProxyError::from_db_or(e, |c| match c {
            "users_pkey" => Some(id_taken()),
            "users_email_unique" => req.user_email.as_deref().map(email_taken),
            _ => None,
        })
    })?;
    for team_id in &team_ids {
        let mut team = state.store.team_from_db(team_id).await?.ok_or_else(|| ProxyError::internal("team vanished"))?;
        team.members_with_roles.0.push(crate::domain::Member {
            user_id: Some(user_id.clone()),
            user_email: req.user_email.clone(),
            role: "user".into(),
        });
        state.store.save_team(&team).await?;
        let mut joined = state.store.user_uncached(&user_id).await?.unwrap_or_else(|| user.clone());
        joined.teams.push(team_id.clone());
        state.store.save_user(&joined).await?;
        storage::add_team_membership(state.store.uncached_tables(), &user_id, team_id).await?;
    }
    for org in req.organizations.iter().flatten() {
        if storage::organization(state.store.uncached_tables(), org).await?.is_none() {
            return Err(ProxyError::handler(400, format!("Organization not found for organization_id={org}")));
        }
        storage::upsert_org_membership(state.store.uncached_tables(), &user_id, org, INTERNAL_USER).await?;
    }
    let (key, key_name, expires) = if creates_key {
        let created =
            super::key::create_personal_key(&state, &user_id, req.key_alias.clone(), req.duration.as_deref(), caller)
                .await?;
        (json!(created.0), json!(created.1), json!(created.2))
    } else {
        (json!(""), Value::Null, Value::Null)
    };
    Ok(Json(json!({
        "key": key,
        "user_id": user_id,
        "user_email": user.user_email,
        "user_role": user.user_role,
        "user_alias": user.user_alias,
        "teams": req.teams.as_ref().map(|_| &team_ids),
        "max_budget": user.max_budget,
        "models": user.models,
        "metadata": user.metadata,
        "expires": expires,
        "key_name": key_name,
        "token": null,
        "token_id": null,
        "key_type": null,
        "created_at": user.created_at,
    })))
}

pub(crate) async fn info(State(state): State<AppState>, authed: Authed) -> Result<Response, ProxyError> {
    let caller = &authed.caller;
    let requested = authed.query("user_id").map(str::to_string);
    let is_admin = caller.is_proxy_admin() || caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER);
    if requested.is_none() && is_admin {
        let own = caller.user_id.clone().unwrap_or_default();
        let user_info = match state.store.user_uncached(&own).await? {
            Some(u) => user_view(&state, &u).await?,
            None => Value::Null,
        };
        return Ok(super::admin_dump::response(state, &own, &user_info).await);
    }
    let Some(user_id) = requested.or_else(|| caller.user_id.clone()) else {
        return Err(ProxyError::handler(404, "User None not found"));
    };
    let Some(user) = state.store.user_uncached(&user_id).await? else {
        return Err(ProxyError::handler(404, format!("User {user_id} not found")));
    };
    Ok(Json(json!({
        "user_id": user_id,
        "user_info": user_view(&state, &user).await?,
        "keys": state.store.keys_of_user(&user_id).await?,
        "teams": state.store.teams_of_user(&user_id).await?,
        "admin_mcp_permissions": null,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateUserRequest {
    user_id: Option<String>,
    user_email: Option<String>,
    user_alias: Option<String>,
    user_role: Option<NewUserRole>,
    #[serde(default, deserialize_with = "double_option")]
    max_budget: Option<Option<f64>>,
    models: Option<Vec<String>>,
    metadata: Option<Value>,
    budget_duration: Option<String>,
}

/// A /user/update denial in LiteLLM's envelope: its role refusal is a plain message, the others a
/// dict detail.
fn user_update_error(d: Denial) -> ProxyError {
    match d {
        Denial::UserRoleNotProxyAdmin => ProxyError::handler(d.status(), d.message()),
        d => ProxyError::handler_dict(d.status(), &d.message()),
    }
}

/// Changes a user's row. The row is the one `user_id` names, else the one with `user_email`, else
/// the caller's own (a proxy admin viewer changing its email sends only that). A proxy admin
/// naming a user that does not exist creates it, as LiteLLM's upsert does.
pub(crate) async fn update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: UpdateUserRequest = authed.parse()?;
    let caller = &authed.caller;
    if req.user_id.is_none() && req.user_email.is_none() {
        return Err(ProxyError::handler(400, "Either user_id or user_email must be provided"));
    }
    let existing = match (&req.user_id, &req.user_email) {
        (Some(id), _) => state.store.user_uncached(id).await?,
        (None, Some(email)) => match state.store.user_by_email(email).await? {
            Some(u) => Some(u),
            None => match &caller.user_id {
                Some(own) => state.store.user_uncached(own).await?,
                None => None,
            },
        },
        (None, None) => None,
    };
    let ask = UserUpdateAsk {
        target: existing.as_ref().map(|u| u.user_id.as_str()),
        sets_role: req.user_role.is_some(),
        sets_permissions: authed.sends("permissions"),
        protected: PROTECTED_USER_FIELDS.iter().copied().filter(|f| authed.sends(f)).collect(),
    };
    authz::check_user_update(caller, &ask, state.store.quirks()).map_err(user_update_error)?;
    super::key::check_budget_duration(req.budget_duration.as_deref())?;
    let mut user = match existing {
        Some(u) => u,
        None => super::team::find_or_create_user(&state, req.user_id.as_deref(), req.user_email.as_deref()).await?,
    };
    if req.user_email.is_some() {
        user.user_email.clone_from(&req.user_email);
    }
    if req.user_alias.is_some() {
        user.user_alias.clone_from(&req.user_alias);
    }
    if let Some(role) = req.user_role {
        user.user_role = Some(role.as_str().into());
    }
    if let Some(max_budget) = req.max_budget {
        user.max_budget = max_budget;
    }
    if let Some(models) = &req.models {
        user.models.clone_from(models);
    }
    if let Some(metadata) = &req.metadata {
        user.metadata = metadata.clone();
    }
    if req.budget_duration.is_some() {
        user.budget_duration.clone_from(&req.budget_duration);
    }
    user.updated_at = Utc::now();
    state.store.save_user(&user).await.map_err(|e| {
        ProxyError::from_db_or(e, |c| {
            (c == "users_email_unique").then(|| {
                ProxyError::handler_dict(
                    409,
                    &format!("User with email {} already exists", user.user_email.as_deref().unwrap_or_default()),
                )
            })
        })
    })?;
    Ok(Json(json!({"user_id": user.user_id, "data": user_view(&state, &user).await?})))
}

async fn user_view(state: &AppState, user: &User) -> Result<Value, ProxyError> {
    let memberships = storage::org_memberships_of_user(state.store.uncached_tables(), &user.user_id).await?;
    Ok(with_field(to_value(user), "organization_memberships", to_value(&memberships)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteUsersRequest {
    user_ids: Vec<String>,
}

/// Proxy admins only (the route gate lets nobody else through without an organization in the body, and
/// the reference does not let org admins delete users).
pub(crate) async fn delete(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    if !authed.caller.is_proxy_admin() {
        return Err(ProxyError::handler(403, "Only proxy admins can delete users."));
    }
    let req: DeleteUsersRequest = authed.parse()?;
    let deleted = state.store.delete_users(&req.user_ids).await?;
    if deleted.is_empty() && !req.user_ids.is_empty() {
        return Err(ProxyError::handler(404, format!("Users {:?} not found", req.user_ids)));
    }
    Ok(Json(json!({ "deleted_users": deleted })))
}
