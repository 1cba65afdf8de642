//! Loads every model list that decides what a virtual key may call (`authz::ModelGrants`): the
//! key's, its unified access groups', its team's and the team's groups', the member's scope, and
//! the owner's for a personal key. LLM routes and discovery routes share it, so they cannot
//! disagree about a caller.

use crate::Quirk;
use crate::authz::{AliasMap, Aliases, ModelGrants, TeamGrant};
use crate::domain::{Key, Team, User};
use crate::error::ProxyError;
use crate::storage::Membership;
use crate::{AppState, storage};

/// The lists, owned, for one request.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallerModels {
    key: Vec<String>,
    key_group_models: Vec<String>,
    key_assigned_group_models: Vec<String>,
    team: Option<(Vec<String>, Vec<String>, Vec<String>)>,
    user: Option<Vec<String>>,
    key_aliases: AliasMap,
    team_aliases: Option<AliasMap>,
    router_aliases: AliasMap,
}

impl CallerModels {
    pub fn grants(&self) -> ModelGrants<'_> {
        ModelGrants {
            key: &self.key,
            key_group_models: &self.key_group_models,
            key_assigned_group_models: &self.key_assigned_group_models,
            team: self.team.as_ref().map(|(models, group_models, member_allowed)| TeamGrant {
                models,
                group_models,
                member_allowed,
            }),
            user: self.user.as_deref(),
            aliases: Aliases {
                router: Some(&self.router_aliases),
                team: self.team_aliases.as_ref(),
                key: Some(&self.key_aliases),
            },
        }
    }
}

/// The objects a key's model access also depends on: its team, and its user for a personal key
/// (a team key's user models play no part).
pub(crate) async fn key_owners(state: &AppState, key: &Key) -> Result<(Option<Team>, Option<User>), ProxyError> {
    let team = match &key.team_id {
        Some(id) => state.store.team(id).await?,
        None => None,
    };
    let user = match (&key.team_id, &key.user_id) {
        (None, Some(id)) => state.store.user(id).await?,
        _ => None,
    };
    Ok((team, user))
}

/// The key's router settings decide when it has any, else its team's (LiteLLM reads the whole
/// object by that precedence, not alias by alias).
fn router_aliases(key: &Key, team: Option<&Team>) -> AliasMap {
    let has_settings = |v: &serde_json::Value| v.as_object().is_some_and(|m| !m.is_empty());
    match team {
        Some(t) if !has_settings(&key.router_settings) => AliasMap::from_router_settings(&t.router_settings),
        _ => AliasMap::from_router_settings(&key.router_settings),
    }
}

/// The membership of a team key's user in that team; the default for a key without either.
pub(crate) async fn membership(state: &AppState, key: &Key, team: Option<&Team>) -> Result<Membership, ProxyError> {
    match (&key.user_id, team) {
        (Some(user_id), Some(team)) => {
            Ok(storage::membership(state.store.uncached_tables(), user_id, &team.team_id).await?)
        }
        _ => Ok(Membership::default()),
    }
}

/// Reads what `key` (with its already loaded team and membership, and its user for a personal key)
/// may use. The database is asked only for what the objects point at: access groups when some are
/// named.
pub(crate) async fn load(
    state: &AppState,
    key: &Key,
    team: Option<&Team>,
    user: Option<&User>,
    membership: &Membership,
) -> Result<CallerModels, ProxyError> {
    let team_groups = team.map_or(&[][..], |t| t.access_group_ids.as_slice());
    let mut ids: Vec<String> = key.access_group_ids.iter().chain(team_groups).cloned().collect();
    ids.sort();
    ids.dedup();
    let groups = crate::mcp::storage::access_groups_by_ids(state.store.uncached_tables(), &ids).await?;
    let mut models = CallerModels {
        key: key.models.clone(),
        key_aliases: AliasMap::from_json(&key.aliases),
        team_aliases: team.map(|t| AliasMap::from_json(&t.model_aliases)),
        router_aliases: router_aliases(key, team),
        ..CallerModels::default()
    };
    let mut team_group_models = Vec::new();
    for group in &groups {
        if key.access_group_ids.contains(&group.access_group_id) {
            models.key_group_models.extend(group.access_model_names.iter().cloned());
            // LiteLLM 1.83 never let a key's groups override its team (`key_access_groups_cannot_widen_team_models`).
            let assigned = !state.store.quirks().contains(Quirk::KeyAccessGroupsCannotWidenTeamModels)
                && (group.assigned_key_ids.contains(&key.token)
                    || key.team_id.as_ref().is_some_and(|t| group.assigned_team_ids.contains(t)));
            if assigned {
                models.key_assigned_group_models.extend(group.access_model_names.iter().cloned());
            }
        }
        if team_groups.contains(&group.access_group_id) {
            team_group_models.extend(group.access_model_names.iter().cloned());
        }
    }
    if let Some(team) = team {
        models.team = Some((team.models.clone(), team_group_models, membership.allowed_models.clone()));
    } else {
        models.user = user.map(|u| u.models.clone());
    }
    Ok(models)
}
