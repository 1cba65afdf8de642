//! Loads what `authz::mcp_access::allowed_servers` needs for the calling key, and answers "which
//! servers may this caller reach" for every MCP route, discovery and enforcement alike.

use crate::authz::mcp_access::{McpAccessInput, TeamGrants, allowed_servers};
use crate::domain::{Caller, ObjectPermission};
use crate::error::ProxyError;
use crate::mcp::model::McpServer;
use crate::mcp::storage as mcp_storage;
use crate::{AppState, storage};

/// The registry and the part of it the caller may reach.
pub(crate) struct McpScope {
    pub registry: Vec<McpServer>,
    allowed: Vec<String>,
}

impl McpScope {
    pub fn is_allowed(&self, server_id: &str) -> bool {
        self.allowed.iter().any(|id| id == server_id)
    }

    /// The reachable servers, in registry order.
    pub fn allowed_servers(&self) -> impl Iterator<Item = &McpServer> {
        self.registry.iter().filter(|s| self.is_allowed(&s.server_id))
    }

    /// A registered server by id, server_name or alias (an id match wins).
    pub fn find(&self, ident: &str) -> Option<&McpServer> {
        self.registry.iter().find(|s| s.server_id == ident).or_else(|| self.registry.iter().find(|s| s.is_named(ident)))
    }

    /// A reachable server by id, server_name or alias.
    pub fn find_allowed(&self, ident: &str) -> Option<&McpServer> {
        self.allowed_servers()
            .find(|s| s.server_id == ident)
            .or_else(|| self.allowed_servers().find(|s| s.is_named(ident)))
    }
}

async fn permission(state: &AppState, id: Option<&str>) -> Result<Option<ObjectPermission>, ProxyError> {
    match id {
        Some(id) => Ok(state.store.object_permission(id).await?),
        None => Ok(None),
    }
}

/// The caller's scope: the master key reaches everything; a virtual key what its grants resolve to.
pub(crate) async fn scope_of(state: &AppState, caller: &Caller) -> Result<McpScope, ProxyError> {
    let registry = mcp_storage::servers(state.store.uncached_tables()).await?;
    let key = match &caller.key_hash {
        Some(hash) => state.store.key(hash).await?,
        None => None,
    };
    let key_permission = permission(state, key.as_ref().and_then(|k| k.object_permission_id.as_deref())).await?;
    let team = match key.as_ref().and_then(|k| k.team_id.as_deref()) {
        Some(id) => state.store.team(id).await?,
        None => None,
    };
    let team_permission = permission(state, team.as_ref().and_then(|t| t.object_permission_id.as_deref())).await?;
    let team_groups = match &team {
        Some(t) => mcp_storage::access_groups_by_ids(state.store.uncached_tables(), &t.access_group_ids).await?,
        None => Vec::new(),
    };
    let key_groups = match &key {
        Some(k) => mcp_storage::access_groups_by_ids(state.store.uncached_tables(), &k.access_group_ids).await?,
        None => Vec::new(),
    };
    let user = match key.as_ref().and_then(|k| k.user_id.as_deref()) {
        Some(id) => state.store.user(id).await?,
        None => None,
    };
    let user_permission = permission(state, user.as_ref().and_then(|u| u.object_permission_id.as_deref())).await?;
    let org_id = key
        .as_ref()
        .and_then(|k| k.organization_id.clone())
        .or_else(|| team.as_ref().and_then(|t| t.organization_id.clone()));
    let org = match &org_id {
        Some(id) => storage::organization(state.store.uncached_tables(), id).await?,
        None => None,
    };
    let org_permission = permission(state, org.as_ref().and_then(|o| o.object_permission_id.as_deref())).await?;
    let input = McpAccessInput {
        caller,
        registry: &registry,
        key_permission: key_permission.as_ref(),
        team: team.as_ref().map(|t| TeamGrants {
            blocked: t.blocked,
            permission: team_permission.as_ref(),
            groups: &team_groups,
        }),
        key_groups: &key_groups,
        user_permission: user_permission.as_ref(),
        org_permission: org_permission.as_ref(),
    };
    let allowed = allowed_servers(&input, state.store.quirks());
    Ok(McpScope { registry, allowed })
}
