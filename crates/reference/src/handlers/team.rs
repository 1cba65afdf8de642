//! /team/new, /team/info, /team/update, /team/delete, /team/block, /team/unblock, /team/member_add,
//! /team/member_update, /team/member_delete.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlx::types::Json as DbJson;

use super::{
    ObjectPermissionRequest, OneOrMany, double_option, member_identity_error, new_id, raw, save_permission, to_value,
    with_field, wrapped, wrapped_dict,
};
use crate::authz;
use crate::domain::{INTERNAL_USER, Member, Team, User};
use crate::error::{ProxyError, py_str};
use crate::request::Authed;
use crate::store::PermissionOwner;
use crate::team_member_budget::{self, MemberLimits};
use crate::{AppState, Quirks, storage};

#[derive(Debug, Deserialize)]
pub(crate) struct NewTeamRequest {
    team_id: Option<String>,
    team_alias: Option<String>,
    organization_id: Option<String>,
    #[serde(default)]
    members_with_roles: Vec<MemberRequest>,
    team_member_permissions: Option<Vec<String>>,
    #[serde(default)]
    models: Vec<String>,
    max_budget: Option<f64>,
    tpm_limit: Option<i64>,
    rpm_limit: Option<i64>,
    metadata: Option<Value>,
    #[serde(default)]
    blocked: bool,
    budget_duration: Option<String>,
    object_permission: Option<ObjectPermissionRequest>,
    #[serde(default)]
    access_group_ids: Vec<String>,
    model_aliases: Option<Map<String, Value>>,
    router_settings: Option<Map<String, Value>>,
    #[serde(flatten)]
    member_limits: MemberLimitsRequest,
}

/// The team's default budget for its members (`team_member_budget::MemberLimits`).
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub(crate) struct MemberLimitsRequest {
    team_member_budget: Option<f64>,
    team_member_tpm_limit: Option<i64>,
    team_member_rpm_limit: Option<i64>,
}

impl MemberLimitsRequest {
    fn limits(self) -> MemberLimits {
        MemberLimits {
            max_budget: self.team_member_budget,
            tpm_limit: self.team_member_tpm_limit,
            rpm_limit: self.team_member_rpm_limit,
        }
    }
}

/// Writes the team's default member budget when the request sets any of its limits, and points
/// `metadata` at it; otherwise returns `metadata` unchanged.
async fn with_member_budget(state: &AppState, metadata: Value, limits: MemberLimits) -> Result<Value, ProxyError> {
    if !limits.any() {
        return Ok(metadata);
    }
    let id = storage::upsert_team_member_budget(
        state.store.uncached_tables(),
        team_member_budget::pointer(&metadata),
        limits,
    )
    .await?;
    Ok(team_member_budget::pointing_at(metadata, &id))
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct MemberRequest {
    user_id: Option<String>,
    user_email: Option<String>,
    role: TeamRole,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum TeamRole {
    Admin,
    User,
}

impl TeamRole {
    fn as_str(self) -> &'static str {
        match self {
            TeamRole::Admin => "admin",
            TeamRole::User => "user",
        }
    }
}

fn team_not_found_detail(team_id: &str) -> ProxyError {
    ProxyError::detail_error(404, format!("Team not found, passed team_id={team_id}"))
}

/// A team row as the API shows it, with its object permission.
async fn team_view(state: &AppState, team: &Team) -> Result<Value, ProxyError> {
    let permission = match &team.object_permission_id {
        Some(id) => to_value(&state.store.object_permission(id).await?),
        None => Value::Null,
    };
    Ok(with_field(to_value(team), "object_permission", permission))
}

/// Adds `team_id` to the user's `teams` and records the membership.
async fn join_team(state: &AppState, user: &mut User, team_id: &str) -> Result<(), ProxyError> {
    if !user.teams.iter().any(|t| t == team_id) {
        user.teams.push(team_id.to_string());
        state.store.save_user(user).await?;
    }
    storage::add_team_membership(state.store.uncached_tables(), &user.user_id, team_id).await?;
    Ok(())
}

pub(crate) async fn new(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: NewTeamRequest = authed.parse()?;
    let caller = &authed.caller;
    if req.members_with_roles.iter().any(|m| m.user_id.is_none() && m.user_email.is_none()) {
        return Err(member_identity_error("members_with_roles"));
    }
    super::key::check_budget_duration(req.budget_duration.as_deref())?;
    let team_id = req.team_id.clone().unwrap_or_else(new_id);
    if team_id == "litellm-dashboard" {
        return Err(ProxyError::handler_dict(
            400,
            "team_id 'litellm-dashboard' is reserved. Please use a different team id.",
        ));
    }
    let team_exists = || {
        ProxyError::handler_dict(400, &format!("Team id = {team_id} already exists. Please use a different team id."))
    };
    if state.store.team_uncached(&team_id).await?.is_some() {
        return Err(team_exists());
    }
    if let Some(org) = &req.organization_id {
        let Some(organization) = storage::organization(state.store.uncached_tables(), org).await? else {
            return Err(ProxyError::handler(400, format!("Organization not found for organization_id={org}")));
        };
        if let Some(m) = authz::team_models_outside_org(&req.models, &organization.models).first() {
            return Err(ProxyError::handler_dict(
                400,
                &format!(
                    "Model '{m}' not in organization's allowed models. Organization allowed models={}. Organization: {org}",
                    crate::error::py_list(&organization.models)
                ),
            ));
        }
    }
    let mut members: Vec<Member> = req
        .members_with_roles
        .iter()
        .map(|m| Member { user_id: m.user_id.clone(), user_email: m.user_email.clone(), role: m.role.as_str().into() })
        .collect();
    if let Some(creator) = &caller.user_id
        && !members.iter().any(|m| m.user_id.as_ref() == Some(creator))
    {
        members.push(Member { user_id: Some(creator.clone()), user_email: None, role: "admin".into() });
    }
    let object_permission_id = match &req.object_permission {
        Some(p) => Some(save_permission(&state.store, PermissionOwner::Team, None, p).await?),
        None => None,
    };
    let now = Utc::now();
    let team = Team {
        team_id: team_id.clone(),
        team_alias: req.team_alias.clone(),
        organization_id: req.organization_id.clone(),
        object_permission_id,
        members_with_roles: DbJson(members.clone()),
        team_member_permissions: req.team_member_permissions.clone(),
        access_group_ids: req.access_group_ids.clone(),
        metadata: with_member_budget(
            &state,
            team_member_budget::metadata_to_store(&json!({}), req.metadata.as_ref(), Quirks::NONE),
            req.member_limits.limits(),
        )
        .await?,
        max_budget: req.max_budget,
        spend: 0.0,
        models: req.models.clone(),
        blocked: req.blocked,
        tpm_limit: req.tpm_limit,
        rpm_limit: req.rpm_limit,
        budget_duration: req.budget_duration.clone(),
        model_aliases: Value::Object(req.model_aliases.clone().unwrap_or_default()),
        router_settings: Value::Object(req.router_settings.clone().unwrap_or_default()),
        created_at: now,
        updated_at: now,
    };
    // The check above answers the common case; the insert decides between concurrent creates.
    if let Err(e) = state.store.insert_team(&team).await {
        super::discard_new_permission(&state.store, team.object_permission_id.as_deref()).await;
        return Err(ProxyError::from_db_or(e, |c| (c == "teams_pkey").then(team_exists)));
    }
    super::access_group::reconcile_team(&state, &team.team_id, &[], &team.access_group_ids).await?;
    for member in &members {
        if let Some(uid) = &member.user_id
            && let Some(mut user) = state.store.user_uncached(uid).await?
        {
            join_team(&state, &mut user, &team_id).await?;
        }
    }
    let mut body = to_value(&team);
    if let Value::Object(map) = &mut body {
        map.insert("object_permission".into(), Value::Null);
    }
    Ok(Json(body))
}

pub(crate) async fn info(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let Some(team_id) = authed.query("team_id") else {
        return Err(ProxyError::handler(
            422,
            format!("{{'message': {}}}", py_str("Malformed request. No team id passed in.")),
        ));
    };
    // The row as stored, as LiteLLM's /team/info reads it: the cached object's spend lags behind
    // the database's, which every completion updates.
    let Some(team) = state.store.team_uncached(team_id).await? else {
        return Err(ProxyError::handler(
            404,
            format!("{{'message': {}}}", py_str(&format!("Team not found, passed team id: {team_id}."))),
        ));
    };
    authz::check_team_info_access(&authed.caller, &team).map_err(wrapped_dict)?;
    let keys = state.store.keys_of_team(team_id).await?;
    let member_budget = match team_member_budget::pointer(&team.metadata) {
        Some(id) => storage::team_member_budget_table(state.store.uncached_tables(), id).await?,
        None => Value::Null,
    };
    Ok(Json(json!({
        "team_id": team_id,
        "team_info": with_field(team_view(&state, &team).await?, "team_member_budget_table", member_budget),
        "keys": keys,
        "team_memberships": storage::team_memberships(state.store.uncached_tables(), team_id).await?,
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateTeamRequest {
    team_id: String,
    team_alias: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    organization_id: Option<Option<String>>,
    metadata: Option<Value>,
    #[serde(default, deserialize_with = "double_option")]
    max_budget: Option<Option<f64>>,
    models: Option<Vec<String>>,
    blocked: Option<bool>,
    tpm_limit: Option<i64>,
    rpm_limit: Option<i64>,
    budget_duration: Option<String>,
    object_permission: Option<ObjectPermissionRequest>,
    access_group_ids: Option<Vec<String>>,
    model_aliases: Option<Map<String, Value>>,
    router_settings: Option<Map<String, Value>>,
    #[serde(flatten)]
    member_limits: MemberLimitsRequest,
}

pub(crate) async fn update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: UpdateTeamRequest = authed.parse()?;
    let caller = &authed.caller;
    let Some(mut team) = state.store.team_from_db(&req.team_id).await? else {
        // LiteLLM 1.109 hides whether a team exists from non-admins.
        return Err(if caller.is_proxy_admin() {
            ProxyError::handler_dict(404, &format!("Team not found, passed team_id={}", req.team_id))
        } else {
            wrapped(authz::Denial::NoTeamAccess)
        });
    };
    authz::check_team_update_access(caller, &team).map_err(wrapped)?;
    super::key::check_budget_duration(req.budget_duration.as_deref())?;
    if let Some(Some(new_org)) = &req.organization_id {
        let moving = team.organization_id.as_deref() != Some(new_org.as_str());
        if moving && !caller.is_proxy_admin() && !caller.is_org_admin_of(new_org) {
            return Err(ProxyError::handler_dict(
                403,
                "Relocating a team to a different organization requires PROXY_ADMIN or org-admin of the destination org.",
            ));
        }
        if moving && storage::organization(state.store.uncached_tables(), new_org).await?.is_none() {
            return Err(ProxyError::handler(400, format!("Organization not found for organization_id={new_org}")));
        }
    }
    if let Some(alias) = &req.team_alias {
        team.team_alias = Some(alias.clone());
    }
    if let Some(org) = &req.organization_id {
        team.organization_id.clone_from(org);
    }
    let metadata = team_member_budget::metadata_to_store(&team.metadata, req.metadata.as_ref(), state.store.quirks());
    team.metadata = with_member_budget(&state, metadata, req.member_limits.limits()).await?;
    if let Some(max_budget) = req.max_budget {
        team.max_budget = max_budget;
    }
    if let Some(models) = &req.models {
        team.models.clone_from(models);
    }
    if let Some(blocked) = req.blocked {
        team.blocked = blocked;
    }
    if let Some(aliases) = &req.model_aliases {
        team.model_aliases = Value::Object(aliases.clone());
    }
    if let Some(settings) = &req.router_settings {
        team.router_settings = Value::Object(settings.clone());
    }
    team.tpm_limit = req.tpm_limit.or(team.tpm_limit);
    team.rpm_limit = req.rpm_limit.or(team.rpm_limit);
    if req.budget_duration.is_some() {
        team.budget_duration.clone_from(&req.budget_duration);
    }
    let old_groups = team.access_group_ids.clone();
    if let Some(groups) = &req.access_group_ids {
        team.access_group_ids.clone_from(groups);
    }
    if let Some(p) = &req.object_permission {
        team.object_permission_id =
            Some(save_permission(&state.store, PermissionOwner::Team, team.object_permission_id.as_deref(), p).await?);
    }
    state.store.save_team(&team).await?;
    super::access_group::reconcile_team(&state, &team.team_id, &old_groups, &team.access_group_ids).await?;
    Ok(Json(json!({"team_id": team.team_id, "data": team_view(&state, &team).await?})))
}

/// Loads a team for a shape-B route (/team/delete, /team/block, /team/unblock) and checks access.
async fn team_for_admin_route(state: &AppState, authed: &Authed, team_id: &str) -> Result<Team, ProxyError> {
    let team = state.store.team_from_db(team_id).await?.ok_or_else(|| team_not_found_detail(team_id))?;
    authz::check_team_admin_access(&authed.caller, &team).map_err(raw)?;
    Ok(team)
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteTeamRequest {
    team_ids: Vec<String>,
}

pub(crate) async fn delete(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: DeleteTeamRequest = authed.parse()?;
    let mut ids: Vec<String> = Vec::new();
    for id in req.team_ids {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut teams = Vec::new();
    for id in &ids {
        teams.push(team_for_admin_route(&state, &authed, id).await?);
    }
    state.store.delete_teams(&ids, authed.caller.user_id.as_deref()).await?;
    for team in &teams {
        for member in team.members_with_roles.iter() {
            if let Some(mut user) = match &member.user_id {
                Some(uid) => state.store.user_uncached(uid).await?,
                None => None,
            } {
                user.teams.retain(|t| t != &team.team_id);
                state.store.save_user(&user).await?;
            }
        }
    }
    Ok(Json(json!({ "deleted_teams": ids })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct BlockTeamRequest {
    team_id: String,
}

pub(crate) async fn block(State(state): State<AppState>, uri: Uri, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: BlockTeamRequest = authed.parse()?;
    let mut team = team_for_admin_route(&state, &authed, &req.team_id).await?;
    team.blocked = uri.path() == "/team/block";
    state.store.save_team_blocked(&team).await?;
    let mut body = to_value(&team);
    if let Value::Object(map) = &mut body {
        for field in ["litellm_organization_table", "litellm_model_table", "object_permission", "projects"] {
            map.insert(field.into(), Value::Null);
        }
    }
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
pub(crate) struct MemberAddRequest {
    team_id: String,
    member: OneOrMany<MemberRequest>,
    /// The members' own model scope within the team.
    #[serde(default)]
    allowed_models: Option<Vec<String>>,
    /// What each new member may spend through the team's keys.
    max_budget_in_team: Option<f64>,
}

pub(crate) async fn member_add(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: MemberAddRequest = authed.parse()?;
    let caller = &authed.caller;
    let new_members = req.member.into_vec();
    if new_members.iter().any(|m| m.user_id.is_none() && m.user_email.is_none()) {
        return Err(member_identity_error("member"));
    }
    let Some(mut team) = state.store.team_from_db(&req.team_id).await? else {
        return Err(ProxyError::detail_error(
            404,
            format!("Team doesn't exist in db. Team={}. Create team via `/team/new` call.", req.team_id),
        ));
    };
    let is_present = |m: &MemberRequest| {
        team.members_with_roles.iter().any(|existing| {
            (m.user_id.is_some() && existing.user_id == m.user_id)
                || (m.user_email.is_some() && existing.user_email == m.user_email)
        })
    };
    let existing = || to_value(&team.members_with_roles.0).to_string();
    if new_members.iter().all(is_present) {
        let m = &new_members[0];
        let message = if new_members.len() == 1 {
            format!(
                "User already in team. Member: user_id={}, user_email={}. Existing members={}",
                m.user_id.as_deref().unwrap_or("None"),
                m.user_email.as_deref().unwrap_or("None"),
                existing()
            )
        } else {
            format!("All users are already in team. Existing members={}", existing())
        };
        return Err(ProxyError::typed(400, "team_member_already_in_team", Some("member"), message));
    }
    authz::check_team_member_admin(caller, &team, "/team/member_add")
        .map_err(|d| ProxyError::detail_error(d.status(), d.message()))?;
    let mut unknown = Vec::new();
    for m in &new_members {
        if let Some(uid) = &m.user_id
            && state.store.user_uncached(uid).await?.is_none()
        {
            unknown.push(uid.clone());
        }
    }
    if !unknown.is_empty() && !caller.is_proxy_admin() {
        return Err(ProxyError::detail_error(
            403,
            format!(
                "Only proxy admins can add a user_id that does not exist yet: {}. Add the member by user_email to invite a new user, or ask a proxy admin to create the user first.",
                crate::error::py_list(&unknown)
            ),
        ));
    }
    let to_add: Vec<&MemberRequest> = new_members.iter().filter(|m| !is_present(m)).collect();
    let mut updated_users = Vec::new();
    for m in to_add {
        let mut user = find_or_create_user(&state, m.user_id.as_deref(), m.user_email.as_deref()).await?;
        join_team(&state, &mut user, &team.team_id).await?;
        if let Some(models) = &req.allowed_models {
            storage::set_member_allowed_models(state.store.uncached_tables(), &user.user_id, &team.team_id, models)
                .await?;
        }
        if req.max_budget_in_team.is_some() {
            let budget = (req.max_budget_in_team, None, None);
            storage::set_member_budget(state.store.uncached_tables(), &user.user_id, &team.team_id, budget).await?;
        } else if let Some(default) = team_member_budget::pointer(&team.metadata) {
            storage::copy_team_member_budget(state.store.uncached_tables(), &user.user_id, &team.team_id, default)
                .await?;
        }
        team.members_with_roles.0.push(Member {
            user_id: Some(user.user_id.clone()),
            user_email: user.user_email.clone(),
            role: m.role.as_str().into(),
        });
        updated_users.push(user);
    }
    state.store.save_team(&team).await?;
    let memberships = storage::team_memberships(state.store.uncached_tables(), &team.team_id).await?;
    let mut body = to_value(&team);
    if let Value::Object(map) = &mut body {
        map.insert("updated_users".into(), to_value(&updated_users));
        map.insert("updated_team_memberships".into(), json!(memberships));
    }
    Ok(Json(body))
}

/// The team of a /team/member_update or /team/member_delete, checked for the caller: the team's
/// admin, an org admin of its organization, or a proxy admin. LiteLLM names /team/member_delete in
/// the denial of both routes, so the message does too.
async fn team_for_member_route(state: &AppState, authed: &Authed, team_id: &str) -> Result<Team, ProxyError> {
    let Some(team) = state.store.team_from_db(team_id).await? else {
        return Err(ProxyError::detail_error(400, format!("Team id={team_id} does not exist in db")));
    };
    authz::check_team_member_admin(&authed.caller, &team, "/team/member_delete")
        .map_err(|d| ProxyError::detail_error(d.status(), d.message()))?;
    Ok(team)
}

fn member_identity_missing() -> ProxyError {
    ProxyError::detail_error(400, "Either user_id or user_email needs to be passed in")
}

#[derive(Debug, Deserialize)]
pub(crate) struct MemberUpdateRequest {
    team_id: String,
    user_id: Option<String>,
    user_email: Option<String>,
    role: Option<TeamRole>,
    max_budget_in_team: Option<f64>,
    tpm_limit: Option<i64>,
    rpm_limit: Option<i64>,
    allowed_models: Option<Vec<String>>,
}

/// A member's role, budget, limits and model scope within the team.
pub(crate) async fn member_update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: MemberUpdateRequest = authed.parse()?;
    if req.user_id.is_none() && req.user_email.is_none() {
        return Err(member_identity_missing());
    }
    let mut team = team_for_member_route(&state, &authed, &req.team_id).await?;
    let user_id = match &req.user_id {
        Some(id) => Some(id.clone()),
        None => team
            .members_with_roles
            .iter()
            .find(|m| m.user_email.is_some() && m.user_email == req.user_email)
            .and_then(|m| m.user_id.clone()),
    };
    let Some(user_id) = user_id.filter(|u| team.role_of(u).is_some()) else {
        return Err(ProxyError::detail_error(400, "User id doesn't exist in team table."));
    };
    if let Some(role) = req.role {
        for m in team.members_with_roles.0.iter_mut().filter(|m| m.user_id.as_deref() == Some(user_id.as_str())) {
            m.role = role.as_str().into();
        }
        state.store.save_team(&team).await?;
    }
    let db = state.store.uncached_tables();
    if req.max_budget_in_team.is_some() || req.tpm_limit.is_some() || req.rpm_limit.is_some() {
        storage::set_member_budget(db, &user_id, &team.team_id, (req.max_budget_in_team, req.tpm_limit, req.rpm_limit))
            .await?;
    }
    if let Some(models) = &req.allowed_models {
        storage::set_member_allowed_models(db, &user_id, &team.team_id, models).await?;
    }
    Ok(Json(json!({
        "team_id": team.team_id,
        "user_id": user_id,
        "user_email": req.user_email,
        "max_budget_in_team": req.max_budget_in_team,
        "tpm_limit": req.tpm_limit,
        "rpm_limit": req.rpm_limit,
        "allowed_models": req.allowed_models,
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct MemberDeleteRequest {
    team_id: String,
    user_id: Option<String>,
    user_email: Option<String>,
}

/// Removes a member (by id or email) from the team, its user's `teams` and its membership row.
pub(crate) async fn member_delete(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: MemberDeleteRequest = authed.parse()?;
    if req.user_id.is_none() && req.user_email.is_none() {
        return Err(member_identity_missing());
    }
    let mut team = team_for_member_route(&state, &authed, &req.team_id).await?;
    let removed = |m: &Member| {
        (req.user_id.is_some() && m.user_id == req.user_id)
            || (req.user_email.is_some() && m.user_email == req.user_email)
    };
    let gone: Vec<String> =
        team.members_with_roles.iter().filter(|m| removed(m)).filter_map(|m| m.user_id.clone()).collect();
    team.members_with_roles.0.retain(|m| !removed(m));
    state.store.save_team(&team).await?;
    for uid in &gone {
        if let Some(mut user) = state.store.user_uncached(uid).await? {
            user.teams.retain(|t| t != &team.team_id);
            state.store.save_user(&user).await?;
        }
        storage::remove_team_membership(state.store.uncached_tables(), uid, &team.team_id).await?;
    }
    state.store.delete_member_keys(&team.team_id, &gone, authed.caller.user_id.as_deref()).await?;
    Ok(Json(to_value(&team)))
}

/// The user with this id or email, created as an internal user when unknown (LiteLLM's invite path).
pub(crate) async fn find_or_create_user(
    state: &AppState,
    user_id: Option<&str>,
    email: Option<&str>,
) -> Result<User, ProxyError> {
    let found = match (user_id, email) {
        (Some(id), _) => state.store.user_uncached(id).await?,
        (None, Some(e)) => state.store.user_by_email(e).await?,
        (None, None) => None,
    };
    if let Some(user) = found {
        return Ok(user);
    }
    let now = Utc::now();
    let user = User {
        user_id: user_id.map_or_else(new_id, str::to_string),
        user_alias: None,
        user_email: email.map(str::to_string),
        user_role: Some(INTERNAL_USER.into()),
        teams: vec![],
        organization_id: None,
        object_permission_id: None,
        max_budget: None,
        spend: 0.0,
        models: vec![],
        metadata: json!({}),
        budget_duration: None,
        created_at: now,
        updated_at: now,
    };
    state.store.save_user(&user).await?;
    Ok(user)
}
