//! `GET /team/permissions_list` and `POST /team/permissions_update`: the routes that
//! read and replace a team's `team_member_permissions`, the list `/key/access_group_assignment` is
//! granted through.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::to_value;
use crate::AppState;
use crate::authz::{self, KEY_ACCESS_GROUP_ASSIGNMENT, TeamPermissionsRoute};
use crate::domain::Team;
use crate::error::ProxyError;
use crate::request::Authed;

/// LiteLLM 1.109's `KeyManagementRoutes` as `key_management_routes` lists them: every value a team
/// may grant its members, in LiteLLM's order.
pub(crate) const ALL_AVAILABLE_PERMISSIONS: [&str; 24] = [
    "/key/generate",
    "/key/update",
    "/key/delete",
    "/key/info",
    "/key/regenerate",
    "/key/service-account/generate",
    "/key/{key_id}/regenerate",
    "/key/list",
    "/key/block",
    "/key/unblock",
    "/key/bulk_update",
    "/team/key/bulk_update",
    "/team/daily/activity",
    "/team/daily/activity/aggregated",
    "/team/daily/activity/aggregated/keys",
    "/team/daily/activity/aggregated/search",
    "/team/daily/activity/aggregated/model_top_keys",
    "/team/daily/activity/export",
    "/spend/logs",
    "/spend/logs/v2",
    "/key/{key_id}/reset_spend",
    "/key/aliases",
    KEY_ACCESS_GROUP_ASSIGNMENT,
    "/auto_router/manage",
];

/// What a team with no stored list shows (LiteLLM's baseline).
const DEFAULT_PERMISSIONS: [&str; 2] = ["/key/info", "/key/health"];

/// The team read from the database (LiteLLM's `check_db_only`), or its 404 in FastAPI's shape.
async fn team_or_404(state: &AppState, team_id: &str) -> Result<Team, ProxyError> {
    state.store.team_from_db(team_id).await?.ok_or_else(|| {
        ProxyError::detail_error(
            404,
            format!("Team doesn't exist in db. Team={team_id}. Create team via `/team/new` call."),
        )
    })
}

fn denied(d: authz::Denial) -> ProxyError {
    ProxyError::detail_error(d.status(), d.message())
}

pub(crate) async fn list(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    // LiteLLM's query parameter defaults to None, which then names no team.
    let team_id = authed.query.get("team_id").cloned().unwrap_or_else(|| "None".into());
    let team = team_or_404(&state, &team_id).await?;
    authz::check_team_permissions_access(&authed.caller, &team, TeamPermissionsRoute::List).map_err(denied)?;
    let current = team
        .team_member_permissions
        .clone()
        .unwrap_or_else(|| DEFAULT_PERMISSIONS.iter().map(|p| p.to_string()).collect());
    Ok(Json(json!({
        "team_id": team.team_id,
        "team_member_permissions": current,
        "all_available_permissions": ALL_AVAILABLE_PERMISSIONS,
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdatePermissionsRequest {
    team_id: String,
    team_member_permissions: Vec<String>,
}

/// Replaces the list (LiteLLM stores the values as sent) and answers with the team row.
pub(crate) async fn update(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: UpdatePermissionsRequest = authed.parse()?;
    let mut team = team_or_404(&state, &req.team_id).await?;
    authz::check_team_permissions_access(&authed.caller, &team, TeamPermissionsRoute::Update).map_err(denied)?;
    team.team_member_permissions = Some(req.team_member_permissions);
    team.updated_at = chrono::Utc::now();
    state.store.save_team(&team).await?;
    let mut body = to_value(&team);
    if let Value::Object(map) = &mut body {
        map.insert("object_permission".into(), Value::Null);
    }
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_permissions_offer_access_group_assignment_once() {
        assert_eq!(ALL_AVAILABLE_PERMISSIONS.iter().filter(|p| **p == KEY_ACCESS_GROUP_ASSIGNMENT).count(), 1);
        let mut sorted = ALL_AVAILABLE_PERMISSIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL_AVAILABLE_PERMISSIONS.len(), "no value twice");
    }
}
