//! Which MCP servers a key may reach: LiteLLM 1.109's `get_allowed_mcp_servers`, as
//! one pure function. Discovery (`GET /v1/mcp/server`, `/mcp-rest/tools/list`) and enforcement
//! (`/mcp-rest/tools/call`) both call it, so they can never disagree.
//!
//! Two quirks act here, each at the one step where the corrected and the buggy resolution part:
//! `team_access_group_not_in_object_permission` (seed 001) skips the team's unified access groups, and
//! `key_access_groups_capped_by_team` (seed 002) intersects the key's own groups with the team ceiling
//! instead of adding them on top of it.

use std::collections::BTreeSet;

use crate::domain::{Caller, ObjectPermission, PROXY_ADMIN, PROXY_ADMIN_VIEWER};
use crate::mcp::model::{AccessGroup, McpServer};
use crate::{Quirk, Quirks};

/// The explicit opt-out a key's `mcp_servers` may hold (1.109 only).
pub(crate) const NO_MCP_SERVERS: &str = "no-mcp-servers";
/// The grant that gives a team every registered server (1.109 only).
pub(crate) const ALL_PROXY_SERVERS: &str = "all-proxy-mcpservers";
/// The team LiteLLM's UI sessions run under; an admin credential there is not team-scoped.
const DASHBOARD_TEAM: &str = "litellm-dashboard";

/// The caller's team as resolution reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TeamGrants<'a> {
    pub blocked: bool,
    pub permission: Option<&'a ObjectPermission>,
    /// The team's unified access groups that exist (missing ids are skipped).
    pub groups: &'a [AccessGroup],
}

/// Everything resolution needs about one key, already loaded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct McpAccessInput<'a> {
    pub caller: &'a Caller,
    /// Every registered server.
    pub registry: &'a [McpServer],
    pub key_permission: Option<&'a ObjectPermission>,
    pub team: Option<TeamGrants<'a>>,
    /// The key's own unified access groups that exist.
    pub key_groups: &'a [AccessGroup],
    /// The grants of the key's user row, a ceiling when they name any server.
    pub user_permission: Option<&'a ObjectPermission>,
    /// The grants of the key's organization, a ceiling (or the default) when they name any server.
    pub org_permission: Option<&'a ObjectPermission>,
}

/// One level's contribution: `None` when the level does not restrict, else the servers it names.
/// A restricting level may name nothing (a named MCP access group that matches no server).
type Scope = Option<BTreeSet<String>>;

/// The ids of the servers the key may reach, sorted.
pub(crate) fn allowed_servers(input: &McpAccessInput<'_>, quirks: Quirks) -> Vec<String> {
    let registry = input.registry;
    let key_perm = input.key_permission;
    if key_perm.is_some_and(|p| p.mcp_servers.iter().any(|s| s == NO_MCP_SERVERS)) {
        return Vec::new();
    }
    let everything: BTreeSet<String> = registry.iter().map(|s| s.server_id.clone()).collect();
    let allowed = if is_unscoped_admin(input, quirks) { everything.clone() } else { access(input, quirks) };
    let global = registry.iter().filter(|s| s.allow_all_keys).map(|s| s.server_id.clone());
    allowed
        .into_iter()
        .chain(global)
        .filter(|id| everything.contains(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The master key, or an admin credential bound to no team and carrying no grants of its own.
fn is_unscoped_admin(input: &McpAccessInput<'_>, quirks: Quirks) -> bool {
    let caller = input.caller;
    if caller.is_master_key {
        return true;
    }
    let admin_role = matches!(caller.user_role.as_deref(), Some(PROXY_ADMIN | PROXY_ADMIN_VIEWER));
    let teamless = caller.key_team_id.as_deref().is_none_or(|t| t == DASHBOARD_TEAM);
    let user_ceiling = input.user_permission.and_then(|p| grants(p, input.registry, quirks));
    admin_role && teamless && input.key_permission.is_none() && user_ceiling.is_none()
}

/// LiteLLM's `get_mcp_server_access`: key ∩ team (whichever restricts), the key's own groups on top,
/// then the user and organization ceilings.
fn access(input: &McpAccessInput<'_>, quirks: Quirks) -> BTreeSet<String> {
    let registry = input.registry;
    let key = input.key_permission.and_then(|p| grants(p, registry, quirks));
    let team = input.team.and_then(|t| team_scope(t, registry, quirks));
    let extra: BTreeSet<String> =
        input.key_groups.iter().flat_map(|g| expand(&g.access_mcp_server_ids, registry)).collect();

    let base: BTreeSet<String> = match (&key, &team) {
        (None, None) => BTreeSet::new(),
        (Some(k), None) => k.clone(),
        (None, Some(t)) => t.clone(),
        (Some(k), Some(t)) => k.intersection(t).cloned().collect(),
    };
    let extra = if quirks.contains(Quirk::KeyAccessGroupsCappedByTeam) {
        // LiteLLM before #29313: the key's groups could only narrow to what the team already allows.
        let ceiling = team.clone().unwrap_or_default();
        extra.intersection(&ceiling).cloned().collect()
    } else {
        extra
    };
    let mut servers: BTreeSet<String> = base.union(&extra).cloned().collect();
    let user = input.user_permission.and_then(|p| grants(p, registry, quirks));
    if let Some(ceiling) = &user {
        servers = servers.intersection(ceiling).cloned().collect();
    }
    if let Some(org) = input.org_permission.and_then(|p| grants(p, registry, quirks)).filter(|o| !o.is_empty()) {
        let restricted = key.is_some() || team.is_some() || !extra.is_empty() || user.is_some();
        servers = if restricted { servers.intersection(&org).cloned().collect() } else { org };
    }
    servers
}

/// The team level: every server for `all-proxy-mcpservers`, else its object permission and (unless
/// the quirk is on) its unified access groups.
fn team_scope(team: TeamGrants<'_>, registry: &[McpServer], quirks: Quirks) -> Scope {
    if team.blocked {
        return None;
    }
    let permission = team.permission;
    if permission.is_some_and(|p| p.mcp_servers.iter().any(|s| s == ALL_PROXY_SERVERS)) {
        return Some(registry.iter().map(|s| s.server_id.clone()).collect());
    }
    let mut servers: BTreeSet<String> = permission.map(|p| granted_servers(p, registry)).unwrap_or_default();
    // Seed 001: LiteLLM 1.83 never followed key.team_id → team.access_group_ids → the groups' servers.
    if !quirks.contains(Quirk::TeamAccessGroupNotInObjectPermission) {
        servers.extend(team.groups.iter().flat_map(|g| expand(&g.access_mcp_server_ids, registry)));
    }
    restricting(servers, permission, quirks)
}

/// A key's, user's or organization's object permission as a scope.
fn grants(permission: &ObjectPermission, registry: &[McpServer], quirks: Quirks) -> Scope {
    restricting(granted_servers(permission, registry), Some(permission), quirks)
}

/// An empty set does not restrict, unless the permission names MCP access groups (that matched
/// nothing): a key limited to a group that has no servers reaches none. LiteLLM 1.83 asked only
/// whether the set was empty (`mcp_groups_matching_nothing_widen`).
fn restricting(servers: BTreeSet<String>, permission: Option<&ObjectPermission>, quirks: Quirks) -> Scope {
    let names_groups = permission.is_some_and(|p| !p.mcp_access_groups.is_empty())
        && !quirks.contains(Quirk::McpGroupsMatchingNothingWiden);
    if servers.is_empty() && !names_groups { None } else { Some(servers) }
}

/// Servers named directly, through MCP access-group tags, and as keys of `mcp_tool_permissions`.
fn granted_servers(p: &ObjectPermission, registry: &[McpServer]) -> BTreeSet<String> {
    let direct =
        p.mcp_servers.iter().filter(|s| *s != NO_MCP_SERVERS && *s != ALL_PROXY_SERVERS).cloned().collect::<Vec<_>>();
    let tool_keys: Vec<String> = p
        .mcp_tool_permissions
        .as_ref()
        .and_then(|v| v.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let tagged = registry
        .iter()
        .filter(|s| s.mcp_access_groups.iter().any(|g| p.mcp_access_groups.contains(g)))
        .map(|s| s.server_id.clone());
    expand(&direct, registry).into_iter().chain(expand(&tool_keys, registry)).chain(tagged).collect()
}

/// Ids, names and aliases to registry ids; an unknown entry is kept as is, so it still restricts but
/// matches nothing.
fn expand(idents: &[String], registry: &[McpServer]) -> BTreeSet<String> {
    idents
        .iter()
        .map(|ident| registry.iter().find(|s| s.is_named(ident)).map_or_else(|| ident.clone(), |s| s.server_id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::{internal, user};
    use crate::mcp::model::fixtures::{group, server};

    fn perm(servers: &[&str], groups: &[&str]) -> ObjectPermission {
        ObjectPermission {
            mcp_servers: servers.iter().map(|s| s.to_string()).collect(),
            mcp_access_groups: groups.iter().map(|s| s.to_string()).collect(),
            ..ObjectPermission::default()
        }
    }

    fn registry() -> Vec<McpServer> {
        let mut tagged = server("github");
        tagged.mcp_access_groups = vec!["dev".into()];
        let mut named = server("srv-linear");
        named.server_name = Some("linear".into());
        named.alias = Some("linear".into());
        vec![server("postgres"), server("stripe"), tagged, named]
    }

    /// One row of the resolution table: who asks, with which grants, and what they must get.
    struct Case {
        caller: Caller,
        key: Option<ObjectPermission>,
        team: Option<(ObjectPermission, Vec<AccessGroup>)>,
        key_groups: Vec<AccessGroup>,
        user: Option<ObjectPermission>,
        org: Option<ObjectPermission>,
        quirks: Quirks,
        expected: &'static [&'static str],
    }

    fn case(expected: &'static [&'static str]) -> Case {
        Case {
            caller: Caller { key_team_id: Some("t".into()), ..internal("u") },
            key: None,
            team: None,
            key_groups: vec![],
            user: None,
            org: None,
            quirks: Quirks::NONE,
            expected,
        }
    }

    fn team_pg() -> Option<(ObjectPermission, Vec<AccessGroup>)> {
        Some((perm(&["postgres"], &[]), vec![]))
    }

    fn team_group() -> Option<(ObjectPermission, Vec<AccessGroup>)> {
        Some((perm(&[], &[]), vec![group("ag1", &["stripe"])]))
    }

    fn capped() -> Quirks {
        Quirks::NONE.with(Quirk::KeyAccessGroupsCappedByTeam)
    }

    fn widen() -> Quirks {
        Quirks::NONE.with(Quirk::McpGroupsMatchingNothingWiden)
    }

    fn skips_team_groups() -> Quirks {
        Quirks::NONE.with(Quirk::TeamAccessGroupNotInObjectPermission)
    }

    fn resolve(c: &Case, registry: &[McpServer]) -> Vec<String> {
        let team = c.team.as_ref().map(|(p, groups)| TeamGrants { blocked: false, permission: Some(p), groups });
        let input = McpAccessInput {
            caller: &c.caller,
            registry,
            key_permission: c.key.as_ref(),
            team,
            key_groups: &c.key_groups,
            user_permission: c.user.as_ref(),
            org_permission: c.org.as_ref(),
        };
        allowed_servers(&input, c.quirks)
    }

    /// Who asks, with which grants, and which servers they must get.
    #[rstest]
    #[case::master_key_sees_everything(
        Case { caller: Caller::master(), ..case(&["github", "postgres", "srv-linear", "stripe"]) }
    )]
    #[case::team_bound_admin_key_resolves_through_the_team(
        Case { caller: Caller { key_team_id: Some("t".into()), ..user("a", PROXY_ADMIN) }, ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::teamless_admin_key_without_grants_sees_everything(
        Case { caller: Caller { key_team_id: None, ..user("a", PROXY_ADMIN) }, ..case(&["github", "postgres", "srv-linear", "stripe"]) }
    )]
    #[case::admin_key_with_its_own_grants_is_scoped(
        Case { caller: Caller { key_team_id: None, ..user("a", PROXY_ADMIN) }, key: Some(perm(&["stripe"], &[])), ..case(&["stripe"]) }
    )]
    #[case::no_grants_anywhere_nothing(case(&[]))]
    #[case::team_object_permission(case(&["postgres"]).with_team(team_pg()))]
    #[case::team_access_group_reaches_the_key(case(&["stripe"]).with_team(team_group()))]
    #[case::quirk_team_access_group_ignored(Case { quirks: skips_team_groups(), ..case(&[]) }.with_team(team_group()))]
    #[case::quirk_keeps_the_teams_object_permission(
        Case { quirks: skips_team_groups(), ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::key_and_team(
        Case { key: Some(perm(&["postgres", "stripe"], &[])), ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::key_outside_the_team_gets_nothing(
        Case { key: Some(perm(&["stripe"], &[])), ..case(&[]) }.with_team(team_pg())
    )]
    #[case::teamless_key_keeps_its_own_grants(Case { key: Some(perm(&["stripe"], &[])), ..case(&["stripe"]) })]
    #[case::empty_key_row_inherits_the_team(
        Case { key: Some(perm(&[], &[])), ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::key_access_group_adds_on_top_of_the_team(
        Case { key_groups: vec![group("ag2", &["stripe"])], ..case(&["postgres", "stripe"]) }.with_team(team_pg())
    )]
    #[case::quirk_key_access_group_capped_by_the_team(
        Case { key_groups: vec![group("ag2", &["stripe"])], quirks: capped(), ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::quirk_keeps_a_key_groups_servers_the_team_allows(
        Case { key_groups: vec![group("ag2", &["postgres", "stripe"])], quirks: capped(), ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::teamless_keys_own_group(Case { key_groups: vec![group("ag2", &["stripe"])], ..case(&["stripe"]) })]
    #[case::key_group_adds_on_top_of_key_and_team(
        Case { key: Some(perm(&["postgres"], &[])), key_groups: vec![group("ag2", &["stripe"])], ..case(&["postgres", "stripe"]) }.with_team(team_pg())
    )]
    #[case::explicit_opt_out_beats_the_team(
        Case { key: Some(perm(&["no-mcp-servers"], &[])), ..case(&[]) }.with_team(team_pg())
    )]
    #[case::mcp_access_group_tag(Case { key: Some(perm(&[], &["dev"])), ..case(&["github"]) })]
    #[case::a_group_that_matches_nothing_denies(
        Case { key: Some(perm(&[], &["nomatch"])), ..case(&[]) }.with_team(team_pg())
    )]
    #[case::quirk_a_group_that_matches_nothing_inherits_the_team(
        Case { key: Some(perm(&[], &["nomatch"])), quirks: widen(), ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::names_and_aliases_expand_to_ids(Case { key: Some(perm(&["linear"], &[])), ..case(&["srv-linear"]) })]
    #[case::an_unknown_id_restricts_to_nothing(
        Case { key: Some(perm(&["ghost"], &[])), ..case(&[]) }.with_team(team_pg())
    )]
    #[case::all_proxy_mcpservers_on_the_team(
        case(&["github", "postgres", "srv-linear", "stripe"]).with_team(Some((perm(&["all-proxy-mcpservers"], &[]), vec![])))
    )]
    #[case::org_ceiling_removes_a_groups_server(
        Case { key_groups: vec![group("ag2", &["stripe"])], org: Some(perm(&["postgres"], &[])), ..case(&["postgres"]) }.with_team(team_pg())
    )]
    #[case::org_list_is_the_default_when_nothing_restricts(
        Case { org: Some(perm(&["github"], &[])), ..case(&["github"]) }
    )]
    #[case::empty_org_grants_do_not_cap(Case { org: Some(perm(&[], &[])), ..case(&["postgres"]) }.with_team(team_pg()))]
    #[case::user_ceiling_caps(
        Case { key_groups: vec![group("ag2", &["stripe"])], user: Some(perm(&["stripe"], &[])), ..case(&["stripe"]) }.with_team(team_pg())
    )]
    fn allowed_servers_resolve(#[case] c: Case) {
        assert_eq!(resolve(&c, &registry()), c.expected);
    }

    #[test]
    fn allow_all_keys_servers_reach_every_key_but_not_an_opted_out_one() {
        let mut registry = registry();
        registry[1].allow_all_keys = true;
        assert_eq!(resolve(&case(&[]), &registry), ["stripe"]);
        let with_team = case(&[]).with_team(Some((perm(&["postgres"], &[]), vec![])));
        assert_eq!(resolve(&with_team, &registry), ["postgres", "stripe"]);
        let opted_out = Case { key: Some(perm(&["no-mcp-servers"], &[])), ..case(&[]) };
        assert!(resolve(&opted_out, &registry).is_empty());
    }

    #[test]
    fn a_blocked_team_grants_nothing() {
        let registry = registry();
        let p = perm(&["postgres"], &[]);
        let input = McpAccessInput {
            caller: &internal("u"),
            registry: &registry,
            key_permission: None,
            team: Some(TeamGrants { blocked: true, permission: Some(&p), groups: &[] }),
            key_groups: &[],
            user_permission: None,
            org_permission: None,
        };
        assert!(allowed_servers(&input, Quirks::NONE).is_empty());
    }

    #[test]
    fn a_deleted_server_named_by_a_group_is_not_returned() {
        let registry = registry();
        let c = Case { key_groups: vec![group("ag", &["gone", "stripe"])], ..case(&["stripe"]) };
        assert_eq!(resolve(&c, &registry), c.expected);
    }

    impl Case {
        fn with_team(self, team: Option<(ObjectPermission, Vec<AccessGroup>)>) -> Case {
            Case { team, ..self }
        }
    }
}
