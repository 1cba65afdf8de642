//! /organization/new, /organization/info, /organization/update, /organization/member_add,
//! /organization/member_update, /organization/member_delete.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{OneOrMany, member_identity_error, new_id, raw, to_value};
use crate::authz;
use crate::domain::{ORG_ADMIN, Organization};
use crate::error::{ProxyError, ValidationItem};
use crate::handlers::team::find_or_create_user;
use crate::request::Authed;
use crate::{AppState, storage};

#[derive(Debug, Deserialize)]
pub(crate) struct NewOrganizationRequest {
    organization_alias: String,
    organization_id: Option<String>,
    #[serde(default)]
    models: Vec<String>,
    max_budget: Option<f64>,
    metadata: Option<Value>,
    /// The organization's grants; its MCP servers are a ceiling for its keys.
    object_permission: Option<super::ObjectPermissionRequest>,
}

async fn organization_view(state: &AppState, org: &Organization) -> Result<Value, ProxyError> {
    let mut body = to_value(org);
    let budget = match &org.budget_id {
        Some(id) => storage::budget(state.store.uncached_tables(), id).await?,
        None => None,
    };
    if let Value::Object(map) = &mut body {
        map.insert("litellm_budget_table".into(), budget.unwrap_or(Value::Null));
        let permission = match &org.object_permission_id {
            Some(id) => to_value(&state.store.permission_uncached(id).await?),
            None => Value::Null,
        };
        map.insert("object_permission".into(), permission);
        map.insert("users".into(), Value::Null);
        map.insert("model_spend".into(), json!({}));
    }
    Ok(body)
}

pub(crate) async fn new(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: NewOrganizationRequest = authed.parse()?;
    let caller = &authed.caller;
    if !caller.is_proxy_admin() {
        return Err(ProxyError::detail_error(
            401,
            format!("Only admins can create orgs. Your role is = {}", caller.handler_role()),
        ));
    }
    let organization_id = req.organization_id.clone().unwrap_or_else(new_id);
    let org_exists = || ProxyError::detail_error(400, format!("Organization id = {organization_id} already exists."));
    if storage::organization(state.store.uncached_tables(), &organization_id).await?.is_some() {
        return Err(org_exists());
    }
    let object_permission_id = match &req.object_permission {
        Some(p) => {
            Some(super::save_permission(&state.store, crate::store::PermissionOwner::Organization, None, p).await?)
        }
        None => None,
    };
    let now = Utc::now();
    let org = Organization {
        organization_id: organization_id.clone(),
        organization_alias: req.organization_alias.clone(),
        budget_id: Some(new_id()),
        metadata: req.metadata.clone().unwrap_or_else(|| json!({})),
        models: req.models.clone(),
        spend: 0.0,
        object_permission_id,
        created_by: caller.user_id.clone(),
        updated_by: caller.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = storage::insert_organization(state.store.uncached_tables(), &org, req.max_budget).await {
        super::discard_new_permission(&state.store, org.object_permission_id.as_deref()).await;
        return Err(ProxyError::from_db_or(e, |c| (c == "organizations_pkey").then(org_exists)));
    }
    Ok(Json(organization_view(&state, &org).await?))
}

pub(crate) async fn info(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let Some(org_id) = authed.query("organization_id") else {
        return Err(ProxyError::Validation(vec![ValidationItem {
            kind: "missing",
            loc: vec![json!("query"), json!("organization_id")],
            msg: "Field required".into(),
        }]));
    };
    authz::check_org_info_access(&authed.caller, org_id).map_err(raw)?;
    let Some(org) = storage::organization(state.store.uncached_tables(), org_id).await? else {
        return Err(ProxyError::detail_error(404, "Organization not found"));
    };
    Ok(Json(organization_with_members(&state, &org).await?))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateOrganizationRequest {
    organization_id: Option<String>,
    organization_alias: Option<String>,
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    metadata: Option<serde_json::Map<String, Value>>,
}

/// `PATCH /organization/update`: the route gate lets only proxy admins this far (LiteLLM 1.83.14
/// refuses the organization's own admin too, and raising its own organization's budget would undo
/// the ceiling a proxy admin set). Metadata is merged key by key into what is stored; a budget
/// below zero is a 400; an unknown organization is a 404 (LiteLLM answers 500 from an uncaught
/// error).
pub(crate) async fn update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: UpdateOrganizationRequest = authed.parse()?;
    if let Some(b) = req.max_budget.filter(|b| !b.is_finite() || *b < 0.0) {
        return Err(ProxyError::handler_dict(
            400,
            &format!("max_budget must be a non-negative finite number. Received: {}", crate::error::py_float(b)),
        ));
    }
    let Some(org_id) = req.organization_id.as_deref() else {
        return Err(ProxyError::handler_dict(400, "organization_id is required"));
    };
    let Some(mut org) = storage::organization(state.store.uncached_tables(), org_id).await? else {
        return Err(ProxyError::detail_error(404, format!("Organization not found for organization_id={org_id}")));
    };
    if let Some(alias) = req.organization_alias {
        org.organization_alias = alias;
    }
    if let Some(models) = req.models {
        org.models = models;
    }
    if let Some(metadata) = req.metadata {
        let mut merged = org.metadata.as_object().cloned().unwrap_or_default();
        merged.extend(metadata);
        org.metadata = Value::Object(merged);
    }
    org.updated_by = authed.caller.user_id.clone();
    let Some(saved) = storage::update_organization(state.store.uncached_tables(), &org, req.max_budget).await? else {
        return Err(ProxyError::detail_error(404, format!("Organization not found for organization_id={org_id}")));
    };
    Ok(Json(organization_with_members(&state, &saved).await?))
}

/// The organization as /organization/info shows it: its row, budget, permission, members and teams.
async fn organization_with_members(state: &AppState, org: &Organization) -> Result<Value, ProxyError> {
    let org_id = org.organization_id.as_str();
    let mut body = organization_view(state, org).await?;
    let mut members = Vec::new();
    for m in storage::org_memberships_of_org(state.store.uncached_tables(), org_id).await? {
        let user = state.store.user_uncached(&m.user_id).await?;
        let mut row = to_value(&m);
        if let Value::Object(map) = &mut row {
            map.insert("user_email".into(), json!(user.as_ref().and_then(|u| u.user_email.clone())));
            map.insert("user".into(), to_value(&user));
        }
        members.push(row);
    }
    if let Value::Object(map) = &mut body {
        map.insert("members".into(), json!(members));
        map.insert("teams".into(), to_value(&state.store.teams_of_organization(org_id).await?));
    }
    Ok(body)
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OrgRole {
    OrgAdmin,
    InternalUser,
    InternalUserViewer,
}

impl OrgRole {
    fn as_str(self) -> &'static str {
        match self {
            OrgRole::OrgAdmin => ORG_ADMIN,
            OrgRole::InternalUser => "internal_user",
            OrgRole::InternalUserViewer => "internal_user_viewer",
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct OrgMemberRequest {
    user_id: Option<String>,
    user_email: Option<String>,
    role: OrgRole,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OrgMemberAddRequest {
    organization_id: String,
    member: OneOrMany<OrgMemberRequest>,
}

pub(crate) async fn member_add(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: OrgMemberAddRequest = authed.parse()?;
    let members = req.member.into_vec();
    if members.iter().any(|m| m.user_id.is_none() && m.user_email.is_none()) {
        return Err(member_identity_error("member"));
    }
    // This handler wraps its errors, so the denial comes back in the OpenAI-style envelope.
    authz::check_org_admin_access(&authed.caller, &req.organization_id)
        .map_err(|d| ProxyError::handler(d.status(), d.message()))?;
    if storage::organization(state.store.uncached_tables(), &req.organization_id).await?.is_none() {
        return Err(ProxyError::handler(
            404,
            format!("Organization not found for organization_id={}", req.organization_id),
        ));
    }
    let mut users = Vec::new();
    let mut memberships = Vec::new();
    for m in &members {
        let user = find_or_create_user(&state, m.user_id.as_deref(), m.user_email.as_deref()).await?;
        memberships.push(
            storage::upsert_org_membership(
                state.store.uncached_tables(),
                &user.user_id,
                &req.organization_id,
                m.role.as_str(),
            )
            .await?,
        );
        users.push(user);
    }
    Ok(Json(json!({
        "organization_id": req.organization_id,
        "updated_users": users,
        "updated_organization_memberships": memberships,
    })))
}

/// The body of /organization/member_update and /organization/member_delete.
#[derive(Debug, Deserialize)]
pub(crate) struct OrgMemberChangeRequest {
    organization_id: String,
    user_id: Option<String>,
    user_email: Option<String>,
    role: Option<OrgRole>,
    max_budget_in_organization: Option<f64>,
}

impl OrgMemberChangeRequest {
    /// Parses the body; pydantic's model-level check wants `user_id` or `user_email`.
    fn parse(authed: &Authed) -> Result<OrgMemberChangeRequest, ProxyError> {
        let req: OrgMemberChangeRequest = authed.parse()?;
        if req.user_id.is_none() && req.user_email.is_none() {
            return Err(ProxyError::Validation(vec![ValidationItem {
                kind: "value_error",
                loc: vec![json!("body")],
                msg: "Value error, Either user id or user email must be provided".into(),
            }]));
        }
        Ok(req)
    }

    /// The member's user id, looked up by email when only that was sent.
    async fn user_id(&self, state: &AppState) -> Result<String, ProxyError> {
        if let Some(id) = &self.user_id {
            return Ok(id.clone());
        }
        let email = self.user_email.as_deref().unwrap_or_default();
        match state.store.user_by_email(email).await? {
            Some(user) => Ok(user.user_id),
            None => Err(ProxyError::detail_error(
                400,
                format!(
                    "Unique user not found for user_email={email}. Potential duplicate OR non-existent user_email in LiteLLM_UserTable. Use 'user_id' instead."
                ),
            )),
        }
    }
}

/// A membership as the member routes return it, with its budget row.
async fn membership_view(state: &AppState, m: &crate::domain::OrgMembership) -> Result<Value, ProxyError> {
    let budget = match &m.budget_id {
        Some(id) => storage::budget(state.store.uncached_tables(), id).await?,
        None => None,
    };
    let mut body = to_value(m);
    if let Value::Object(map) = &mut body {
        map.insert("user".into(), Value::Null);
        map.insert("litellm_budget_table".into(), budget.unwrap_or(Value::Null));
    }
    Ok(body)
}

/// The reference's answer for a user who is not a member (LiteLLM's text says "company" in newer
/// releases; the status is the same).
fn member_not_found(user_id: &str) -> ProxyError {
    ProxyError::detail_error(404, format!("Member not found in organization for user_id={user_id}"))
}

/// PATCH /organization/member_update: changes a member's role and/or budget (shape B errors).
pub(crate) async fn member_update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req = OrgMemberChangeRequest::parse(&authed)?;
    let caller = &authed.caller;
    authz::check_org_admin_access(caller, &req.organization_id).map_err(raw)?;
    if storage::organization(state.store.uncached_tables(), &req.organization_id).await?.is_none() {
        return Err(ProxyError::detail_error(
            400,
            format!("Organization not found for organization_id={}", req.organization_id),
        ));
    }
    let user_id = req.user_id(&state).await?;
    let Some(membership) =
        storage::org_membership(state.store.uncached_tables(), &user_id, &req.organization_id).await?
    else {
        return Err(member_not_found(&user_id));
    };
    let target = state.store.user_uncached(&user_id).await?;
    authz::check_org_role_change(caller, target.as_ref().and_then(|u| u.user_role.as_deref()))
        .map_err(|d| ProxyError::detail_error(d.status(), d.message()))?;
    if let Some(role) = req.role {
        storage::set_org_membership_role(state.store.uncached_tables(), &user_id, &req.organization_id, role.as_str())
            .await?;
    }
    if let Some(max_budget) = req.max_budget_in_organization {
        storage::set_org_membership_budget(state.store.uncached_tables(), &membership, max_budget, &new_id()).await?;
    }
    let updated = storage::org_membership(state.store.uncached_tables(), &user_id, &req.organization_id)
        .await?
        .ok_or_else(|| member_not_found(&user_id))?;
    Ok(Json(membership_view(&state, &updated).await?))
}

/// DELETE /organization/member_delete (JSON body): removes a membership and returns it.
pub(crate) async fn member_delete(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req = OrgMemberChangeRequest::parse(&authed)?;
    authz::check_org_admin_access(&authed.caller, &req.organization_id).map_err(raw)?;
    let user_id = req.user_id(&state).await?;
    match storage::delete_org_membership(state.store.uncached_tables(), &user_id, &req.organization_id).await? {
        Some(deleted) => Ok(Json(to_value(&deleted))),
        None => Err(member_not_found(&user_id)),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteOrganizationsRequest {
    organization_ids: Vec<String>,
}

/// `DELETE /organization/delete`: proxy admins only; an organization that still has teams is refused,
/// so no team is left pointing at nothing (delete or move the teams first).
pub(crate) async fn delete(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    if !authed.caller.is_proxy_admin() {
        return Err(ProxyError::detail_error(403, "Only proxy admins can delete organizations."));
    }
    let req: DeleteOrganizationsRequest = authed.parse()?;
    for id in &req.organization_ids {
        if storage::organization(state.store.uncached_tables(), id).await?.is_none() {
            return Err(ProxyError::detail_error(404, format!("Organization not found: {id}")));
        }
        let teams = state.store.teams_of_organization(id).await?;
        if !teams.is_empty() {
            let ids: Vec<&str> = teams.iter().map(|t| t.team_id.as_str()).collect();
            return Err(ProxyError::detail_error(
                400,
                format!("Organization {id} still has teams: {}. Delete or move them first.", ids.join(", ")),
            ));
        }
    }
    let deleted = storage::delete_organizations(state.store.uncached_tables(), &req.organization_ids).await?;
    Ok(Json(to_value(&deleted)))
}
