//! Handler-level key checks: who may generate, read, update and delete which keys.

use super::Denial;
use super::team_access::check_team_admin_access;
use crate::domain::{Caller, Key, ObjectPermission, PROXY_ADMIN_VIEWER, Team};
use crate::{Quirk, Quirks};

/// What a team member may do when `team_member_permissions` is unset.
const BASELINE_MEMBER_ROUTES: [&str; 2] = ["/key/info", "/key/health"];

/// The routes a team member with role `user` may call on the team's keys.
pub(super) fn member_routes(team: &Team) -> Vec<String> {
    match &team.team_member_permissions {
        Some(listed) => listed.clone(),
        None => BASELINE_MEMBER_ROUTES.iter().map(|r| r.to_string()).collect(),
    }
}

/// A non-admin's rights on a team's keys: admins pass, members need `route` in the permissions.
fn check_team_member_route(caller: &Caller, team: &Team, route: &str, not_member: Denial) -> Result<(), Denial> {
    let role = caller.user_id.as_deref().and_then(|u| team.role_of(u));
    match role {
        None => Err(not_member),
        Some("admin") => Ok(()),
        Some(_) => {
            let allowed = member_routes(team);
            if allowed.iter().any(|r| r == route) {
                Ok(())
            } else {
                Err(Denial::TeamMemberLacksPermission {
                    route: route.to_string(),
                    team_id: team.team_id.clone(),
                    allowed,
                })
            }
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct KeyGenerateRequest<'a> {
    pub user_id: Option<&'a str>,
    /// The team named in the request, already loaded (the handler answers 400 when it does not exist).
    pub team: Option<&'a Team>,
    pub sets_allowed_routes: bool,
}

/// /key/generate for the caller; returns the user the key will belong to.
pub(crate) fn check_key_generate(caller: &Caller, req: &KeyGenerateRequest<'_>) -> Result<Option<String>, Denial> {
    if caller.is_proxy_admin() {
        return Ok(req.user_id.map(str::to_string));
    }
    let own = caller.user_id.clone().unwrap_or_else(|| "None".into());
    let owner = req.user_id.map(str::to_string).or_else(|| caller.user_id.clone());
    if let Some(team) = req.team {
        let owner_id = owner.clone().unwrap_or_else(|| "None".into());
        if team.role_of(&owner_id).is_none() {
            return Err(Denial::UserNotInTeam { user_id: owner_id, team_id: team.team_id.clone() });
        }
        check_team_member_route(
            caller,
            team,
            "/key/generate",
            Denial::UserNotInTeam { user_id: own.clone(), team_id: team.team_id.clone() },
        )?;
    }
    if owner.as_deref() != caller.user_id.as_deref() {
        return Err(Denial::KeyForOtherUser { requested: owner.unwrap_or_else(|| "None".into()), own });
    }
    if req.sets_allowed_routes {
        return Err(Denial::OnlyAdminsSetAllowedRoutes);
    }
    Ok(owner)
}

/// The route a team's member permissions must grant for a member's service-account key.
pub(crate) const SERVICE_ACCOUNT_GENERATE: &str = "/key/service-account/generate";

/// /key/service-account/generate: a key of `team` that belongs to no user. A proxy admin may make one
/// for any team; anyone else must be in the team, as its admin or as a member the team's member
/// permissions grant this route (granting `/key/generate` is not enough), and may not set
/// `allowed_routes`, which LiteLLM checks first.
pub(crate) fn check_service_account_generate(
    caller: &Caller,
    team: &Team,
    sets_allowed_routes: bool,
) -> Result<(), Denial> {
    if caller.is_proxy_admin() {
        return Ok(());
    }
    if sets_allowed_routes {
        return Err(Denial::OnlyAdminsSetAllowedRoutes);
    }
    let own = caller.user_id.clone().unwrap_or_else(|| "None".into());
    check_team_member_route(
        caller,
        team,
        SERVICE_ACCOUNT_GENERATE,
        Denial::UserNotInTeam { user_id: own, team_id: team.team_id.clone() },
    )
}

/// GET /key/info.
pub(crate) fn check_key_info(caller: &Caller, key: &Key, key_team: Option<&Team>) -> Result<(), Denial> {
    let is_self = caller.key_hash.as_deref() == Some(key.token.as_str());
    let is_owner = key.user_id == caller.user_id;
    let team_member = key_team.is_some_and(|t| caller.user_id.as_deref().is_some_and(|u| t.role_of(u).is_some()));
    if caller.is_proxy_admin()
        || caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER)
        || is_self
        || is_owner
        || team_member
    {
        Ok(())
    } else {
        Err(Denial::KeyInfoNotAllowed { role: caller.handler_role().to_string() })
    }
}

fn is_team_admin_of_key(caller: &Caller, key_team: Option<&Team>) -> bool {
    key_team.is_some_and(|t| caller.user_id.as_deref().and_then(|u| t.role_of(u)) == Some("admin"))
}

fn is_org_admin_of_key(caller: &Caller, key: &Key, key_team: Option<&Team>) -> bool {
    let org = key.organization_id.as_deref().or(key_team.and_then(|t| t.organization_id.as_deref()));
    org.is_some_and(|o| caller.is_org_admin_of(o))
}

/// /key/block and /key/unblock: only the key's admins, that is a proxy admin, or an admin of the key's
/// team or of that team's organization. Its owner may not, so a blocked key stays blocked until an
/// admin lifts it, and a personal key has no admin but the proxy's.
pub(crate) fn check_key_block(caller: &Caller, key_team: Option<&Team>, route: &'static str) -> Result<(), Denial> {
    if caller.is_proxy_admin() || key_team.is_some_and(|t| check_team_admin_access(caller, t).is_ok()) {
        return Ok(());
    }
    Err(Denial::KeyAdminOnly {
        route,
        role: caller.handler_role().to_string(),
        user_id: caller.user_id.clone().unwrap_or_else(|| "None".into()),
    })
}

/// /key/delete and /key/regenerate: proxy admin, team admin of the key's team, or the key's owner.
pub(crate) fn check_key_owner_or_team_admin(caller: &Caller, key: &Key, key_team: Option<&Team>) -> Result<(), Denial> {
    let is_owner = key.user_id.is_some() && key.user_id == caller.user_id;
    if caller.is_proxy_admin() || is_owner || is_team_admin_of_key(caller, key_team) {
        Ok(())
    } else {
        Err(Denial::KeyDeleteNotAllowed)
    }
}

/// /key/regenerate and /key/{key}/regenerate by a non-admin: on a team key the caller must be a team
/// member holding `/key/regenerate` (team admins bypass), as LiteLLM 1.109 checks before ownership;
/// then the key must be the caller's own or the caller its team's admin.
pub(crate) fn check_key_regenerate(caller: &Caller, key: &Key, key_team: Option<&Team>) -> Result<(), Denial> {
    if caller.is_proxy_admin() {
        return Ok(());
    }
    if let Some(team) = key_team {
        let own = caller.user_id.clone().unwrap_or_else(|| "None".into());
        check_team_member_route(
            caller,
            team,
            "/key/regenerate",
            Denial::NotTeamMemberForKey { user_id: own, team_id: team.team_id.clone() },
        )?;
    }
    check_key_owner_or_team_admin(caller, key, key_team)
}

/// What a /key/update request changes that the checks care about.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyUpdateChanges {
    /// `None`: not sent; `Some(None)`: cleared; `Some(Some(u))`: set to `u`.
    pub user_id: Option<Option<String>>,
    /// `max_budget` or `spend` is being changed.
    pub budget: bool,
}

/// /key/update by a non-admin. The order is LiteLLM 1.109's: rebinding, ownership (a team admin acts
/// for its team's keys), the team-member route, budget, then edit rights: a team admin may not
/// edit another member's key, and a personal key someone else created is only its key admins' to
/// edit (1.109 closed the gap where any field but the budget was open to the owner). With
/// `key_update_gates_only_budget` that last rule is off, as in LiteLLM 1.83.
pub(crate) fn check_key_update(
    caller: &Caller,
    key: &Key,
    key_team: Option<&Team>,
    changes: &KeyUpdateChanges,
    quirks: Quirks,
) -> Result<(), Denial> {
    if caller.is_proxy_admin() {
        return Ok(());
    }
    match &changes.user_id {
        Some(None) if key.user_id.is_some() => return Err(Denial::KeyUnbind),
        Some(Some(new)) if key.user_id.as_deref() != Some(new.as_str()) => {
            return Err(Denial::KeyRebind {
                old: key.user_id.clone().unwrap_or_else(|| "None".into()),
                new: new.clone(),
            });
        }
        _ => {}
    }
    let own = caller.user_id.clone().unwrap_or_else(|| "None".into());
    let team_admin = is_team_admin_of_key(caller, key_team);
    let owner = key.user_id == caller.user_id;
    // Only a key bound to someone else is another user's: LiteLLM's self check compares the key's
    // `user_id` with the caller's only when the key has one, so a team key without an owner is left to
    // the team-member route below.
    let foreign = key.user_id.as_ref().is_some_and(|u| Some(u) != caller.user_id.as_ref());
    if !team_admin && foreign {
        return Err(Denial::KeyForOtherUser { requested: key.user_id.clone().unwrap_or_else(|| "None".into()), own });
    }
    if let Some(team) = key_team {
        check_team_member_route(
            caller,
            team,
            "/key/update",
            Denial::NotTeamMemberForKey { user_id: own.clone(), team_id: team.team_id.clone() },
        )?;
    }
    let org_admin = is_org_admin_of_key(caller, key, key_team);
    if changes.budget && !team_admin && !org_admin {
        return Err(Denial::KeyUpdateBudgetNotAllowed { role: caller.handler_role().to_string(), user_id: own });
    }
    // Only another member's key: a team key nobody owns is the team's, and its admin edits it (both
    // LiteLLM versions answer 200; found by explore, seed 11).
    if team_admin && foreign && !org_admin {
        return Err(Denial::TeamAdminMemberKeyEdit);
    }
    let creator = caller.user_id.is_some() && key.created_by == caller.user_id && owner;
    if key_team.is_none() && !creator && !org_admin && !quirks.contains(Quirk::KeyUpdateGatesOnlyBudget) {
        return Err(Denial::KeyUpdateNeedsKeyAdmin { role: caller.handler_role().to_string(), user_id: own });
    }
    Ok(())
}

/// What key validation reads of the key's team: its object permission and the
/// servers its unified access groups grant, plus the servers open to every key.
#[derive(Clone, Debug, Default)]
pub(crate) struct TeamMcpCeiling {
    pub permission: Option<ObjectPermission>,
    /// `access_mcp_server_ids` of the team's access groups that exist, as stored.
    pub access_group_servers: Vec<String>,
    /// Servers with `allow_all_keys`: any key may be given them.
    pub open_to_all: Vec<String>,
}

/// LiteLLM's `validate_key_mcp_servers_against_team`: a team key may only ask for the MCP access groups
/// its team's object permission names, and for servers the team reaches, through its object
/// permission or (1.109) its unified access groups, or that are open to every key. A team with no MCP
/// configuration grants nothing, so its keys get only the open servers and no access group (both
/// versions answer 403, as explore found). With `team_access_group_not_in_object_permission` the
/// access groups do not count, as in LiteLLM 1.83.
pub(crate) fn check_key_mcp_within_team(
    team: &Team,
    ceiling: &TeamMcpCeiling,
    requested: &ObjectPermission,
    quirks: Quirks,
) -> Result<(), Denial> {
    let group_servers: &[String] =
        if quirks.contains(Quirk::TeamAccessGroupNotInObjectPermission) { &[] } else { &ceiling.access_group_servers };
    let empty = ObjectPermission::default();
    let allowed = ceiling.permission.as_ref().unwrap_or(&empty);
    let outside = |asked: &[String], granted: &[String]| -> Vec<String> {
        asked.iter().filter(|a| !granted.contains(a)).cloned().collect()
    };
    let groups = outside(&requested.mcp_access_groups, &allowed.mcp_access_groups);
    if !groups.is_empty() {
        return Err(Denial::KeyMcpAccessGroupsNotAllowed {
            team_id: team.team_id.clone(),
            requested: groups,
            team_allows: allowed.mcp_access_groups.clone(),
        });
    }
    let mut team_servers: Vec<String> = allowed.mcp_servers.iter().chain(group_servers).cloned().collect();
    team_servers.sort();
    team_servers.dedup();
    let reachable: Vec<String> = team_servers.iter().chain(&ceiling.open_to_all).cloned().collect();
    let servers = outside(&requested.mcp_servers, &reachable);
    if !servers.is_empty() {
        return Err(Denial::KeyMcpServersNotAllowed {
            team_id: team.team_id.clone(),
            requested: servers,
            team_allows: team_servers,
            open_to_all: ceiling.open_to_all.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::*;

    fn key(owner: Option<&str>, team: Option<&str>) -> Key {
        Key { team_id: team.map(str::to_string), ..Key::unset("tok".into(), None, owner.map(str::to_string), None) }
    }

    fn generate(caller: &Caller, user_id: Option<&str>, team: Option<&Team>) -> Result<Option<String>, Denial> {
        check_key_generate(caller, &KeyGenerateRequest { user_id, team, sets_allowed_routes: false })
    }

    /// Which team a generate case's key is for: none, one whose members may not generate, or one
    /// whose members may.
    #[derive(Clone, Copy)]
    enum TeamIs {
        Absent,
        Closed,
        Open,
    }

    /// Team t1 (admin `tadmin`, member `tmember`) whose member permissions are `grants`: who may
    /// make a service-account key for it.
    #[rstest]
    #[case::admin_for_any_team(Caller::master(), &[], false, Ok(()))]
    #[case::team_admin(internal("tadmin"), &[], false, Ok(()))]
    #[case::member_without_permission(internal("tmember"), &[], false, Err(401))]
    #[case::member_granted_only_key_generate(internal("tmember"), &["/key/generate"], false, Err(401))]
    #[case::member_granted_the_route(internal("tmember"), &[SERVICE_ACCOUNT_GENERATE], false, Ok(()))]
    #[case::outsider(internal("u1"), &[SERVICE_ACCOUNT_GENERATE], false, Err(400))]
    #[case::key_without_user(userless_key(Some("t1")), &[], false, Err(400))]
    #[case::team_admin_setting_allowed_routes(internal("tadmin"), &[], true, Err(403))]
    #[case::admin_setting_allowed_routes(Caller::master(), &[], true, Ok(()))]
    fn service_account_generate(
        #[case] caller: Caller,
        #[case] grants: &[&str],
        #[case] sets_allowed_routes: bool,
        #[case] expected: Result<(), u16>,
    ) {
        let mut t1 = team("t1", None, &[("tadmin", "admin"), ("tmember", "user")]);
        t1.team_member_permissions = Some(grants.iter().map(|g| g.to_string()).collect());
        let outcome = check_service_account_generate(&caller, &t1, sets_allowed_routes).map_err(|d| d.status());
        assert_eq!(outcome, expected);
    }

    #[rstest]
    #[case::admin_for_anyone(Caller::master(), Some("x"), TeamIs::Absent, 200)]
    #[case::user_for_self(internal("u1"), None, TeamIs::Absent, 200)]
    #[case::user_for_self_explicit(internal("u1"), Some("u1"), TeamIs::Absent, 200)]
    #[case::user_for_other(internal("u1"), Some("u2"), TeamIs::Absent, 403)]
    #[case::team_admin_team_key(internal("tadmin"), None, TeamIs::Closed, 200)]
    #[case::member_without_permission(internal("tmember"), None, TeamIs::Closed, 401)]
    #[case::member_with_permission(internal("tmember"), None, TeamIs::Open, 200)]
    #[case::non_member_team_key(internal("u1"), None, TeamIs::Open, 400)]
    #[case::team_admin_for_another_member(internal("tadmin"), Some("tmember"), TeamIs::Closed, 403)]
    #[case::assigned_user_outside_team(internal("tadmin"), Some("stranger"), TeamIs::Closed, 400)]
    fn key_generate(#[case] caller: Caller, #[case] user_id: Option<&str>, #[case] t: TeamIs, #[case] expected: u16) {
        let closed = team("t1", None, &[("tadmin", "admin"), ("tmember", "user")]);
        let mut open = closed.clone();
        open.team_member_permissions = Some(vec!["/key/generate".into()]);
        let t = match t {
            TeamIs::Absent => None,
            TeamIs::Closed => Some(&closed),
            TeamIs::Open => Some(&open),
        };
        let got = generate(&caller, user_id, t).map_or_else(|d| d.status(), |_| 200);
        assert_eq!(got, expected);
    }

    #[test]
    fn only_admins_set_allowed_routes() {
        let req = KeyGenerateRequest { user_id: None, team: None, sets_allowed_routes: true };
        assert_eq!(check_key_generate(&internal("u1"), &req), Err(Denial::OnlyAdminsSetAllowedRoutes));
        assert!(check_key_generate(&Caller::master(), &req).is_ok());
    }

    #[test]
    fn member_without_permission_gets_litellm_message() {
        let t = team("t1", None, &[("tmember", "user")]);
        let d = generate(&internal("tmember"), None, Some(&t)).unwrap_err();
        assert_eq!(d.error_type(), Some("team_member_permission_error"));
        assert_eq!(d.param().as_deref(), Some("/key/generate"));
        assert!(d.message().contains("['/key/info', '/key/health'] for team t1"), "{}", d.message());
    }

    #[rstest]
    #[case::admin(Caller::master(), 200)]
    #[case::owner(internal("owner"), 200)]
    #[case::team_member(internal("tmember"), 200)]
    #[case::the_key_itself(Caller { key_hash: Some("tok".into()), ..userless_key(None) }, 200)]
    #[case::viewer(user("v", PROXY_ADMIN_VIEWER), 200)]
    #[case::stranger(internal("x"), 403)]
    #[case::userless_other_key(userless_key(None), 403)]
    fn key_info(#[case] caller: Caller, #[case] expected: u16) {
        let t = team("t1", None, &[("tmember", "user")]);
        let k = key(Some("owner"), Some("t1"));
        let got = check_key_info(&caller, &k, Some(&t)).map_or_else(|d| d.status(), |()| 200);
        assert_eq!(got, expected);
    }

    /// Who may block or unblock a key of team t1 (in org1), or a personal key.
    #[rstest]
    #[case::master_team_key(Caller::master(), true, true)]
    #[case::master_personal_key(Caller::master(), false, true)]
    #[case::admin_user_personal_key(admin_user(), false, true)]
    #[case::team_admin_team_key(internal("tadmin"), true, true)]
    #[case::org_admin_of_the_teams_org(org_admin("oa1", "org1"), true, true)]
    #[case::org_admin_elsewhere(org_admin("oa2", "org2"), true, false)]
    #[case::team_admin_personal_key(internal("tadmin"), false, false)]
    #[case::owner_team_key(internal("owner"), true, false)]
    #[case::owner_personal_key(internal("owner"), false, false)]
    #[case::member(internal("tmember"), true, false)]
    #[case::viewer(user("v", PROXY_ADMIN_VIEWER), true, false)]
    fn key_block(#[case] caller: Caller, #[case] team_key: bool, #[case] allowed: bool) {
        let t = team("t1", Some("org1"), &[("tadmin", "admin"), ("tmember", "user"), ("owner", "user")]);
        let got = check_key_block(&caller, team_key.then_some(&t), "/key/block");
        assert_eq!(got.is_ok(), allowed, "{got:?}");
    }

    #[test]
    fn key_block_denial_names_route_role_and_user() {
        let d = check_key_block(&internal("u1"), None, "/key/unblock").unwrap_err();
        assert_eq!(d.status(), 403);
        assert_eq!(
            d.message(),
            "Only proxy admins, team admins, or org admins can call /key/unblock. user_role=internal_user, user_id=u1"
        );
    }

    #[test]
    fn key_delete_table() {
        let t = team("t1", None, &[("tadmin", "admin"), ("tmember", "user")]);
        let k = key(Some("owner"), Some("t1"));
        for (caller, expected) in [
            (Caller::master(), true),
            (internal("owner"), true),
            (internal("tadmin"), true),
            (internal("tmember"), false),
            (internal("x"), false),
        ] {
            assert_eq!(check_key_owner_or_team_admin(&caller, &k, Some(&t)).is_ok(), expected, "{caller:?}");
        }
        let userless = key(None, None);
        assert!(check_key_owner_or_team_admin(&userless_key(None), &userless, None).is_err());
    }

    #[test]
    fn key_regenerate_table() {
        let mut open = team("t1", None, &[("tadmin", "admin"), ("owner", "user"), ("tmember", "user")]);
        let closed = open.clone();
        open.team_member_permissions = Some(vec!["/key/regenerate".into()]);
        let team_key = key(Some("owner"), Some("t1"));
        let personal = key(Some("owner"), None);
        let cases: Vec<(&str, Caller, &Key, Option<&Team>, u16)> = vec![
            ("master key", Caller::master(), &team_key, Some(&closed), 200),
            ("team admin without permissions listed", internal("tadmin"), &team_key, Some(&closed), 200),
            ("owner holding /key/regenerate", internal("owner"), &team_key, Some(&open), 200),
            ("owner without /key/regenerate", internal("owner"), &team_key, Some(&closed), 401),
            ("other member holding it", internal("tmember"), &team_key, Some(&open), 403),
            ("non-member", internal("x"), &team_key, Some(&open), 401),
            ("owner of a personal key", internal("owner"), &personal, None, 200),
            ("stranger on a personal key", internal("x"), &personal, None, 403),
        ];
        for (name, caller, k, t, expected) in cases {
            let got = check_key_regenerate(&caller, k, t).map_or_else(|d| d.status(), |()| 200);
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn key_update_table() {
        let made_by = |owner: &str, creator: &str| Key {
            created_by: Some(creator.to_string()),
            ..Key::unset("tok".into(), None, Some(owner.to_string()), None)
        };
        let own = made_by("u1", "u1");
        let admin_made = made_by("u1", "default_user_id");
        let budget = KeyUpdateChanges { budget: true, ..Default::default() };
        let rebind = KeyUpdateChanges { user_id: Some(Some("u2".into())), ..Default::default() };
        let unbind = KeyUpdateChanges { user_id: Some(None), ..Default::default() };
        let none = KeyUpdateChanges::default();
        let cases: Vec<(&str, Caller, &Key, &KeyUpdateChanges, u16)> = vec![
            ("creator-owner plain update", internal("u1"), &own, &none, 200),
            ("owner of a key the admin made", internal("u1"), &admin_made, &none, 403),
            ("other user", internal("u2"), &own, &none, 403),
            ("owner sets budget", internal("u1"), &own, &budget, 403),
            ("owner rebinds", internal("u1"), &own, &rebind, 403),
            ("owner unbinds", internal("u1"), &own, &unbind, 403),
            ("admin sets budget", Caller::master(), &admin_made, &budget, 200),
        ];
        for (name, caller, k, changes, expected) in cases {
            let got = check_key_update(&caller, k, None, changes, Quirks::NONE).map_or_else(|d| d.status(), |()| 200);
            assert_eq!(got, expected, "{name}");
        }
        let t = team("t1", None, &[("tadmin", "admin"), ("tmember", "user")]);
        let team_key = key(Some("tmember"), Some("t1"));
        let update = |c: &Caller, k: &Key, ch: &KeyUpdateChanges| check_key_update(c, k, Some(&t), ch, Quirks::NONE);
        assert_eq!(update(&internal("x"), &team_key, &none).unwrap_err().status(), 403, "not the owner");
        assert_eq!(update(&internal("tmember"), &team_key, &none).unwrap_err().status(), 401, "no /key/update");
        assert_eq!(
            update(&internal("tadmin"), &team_key, &budget),
            Err(Denial::TeamAdminMemberKeyEdit),
            "a team admin does not edit members' keys"
        );
        let admin_key = key(Some("tadmin"), Some("t1"));
        assert!(update(&internal("tadmin"), &admin_key, &budget).is_ok(), "its own team key");
        // A team key nobody owns: a member with the team's /key/update grant may edit it (both
        // LiteLLM versions answer 200), one without the grant may not, an outsider is no member.
        let unowned = key(None, Some("t1"));
        let mut open = t.clone();
        open.team_member_permissions = Some(vec!["/key/update".into()]);
        let open_update =
            |c: &Caller, ch: &KeyUpdateChanges| check_key_update(c, &unowned, Some(&open), ch, Quirks::NONE);
        assert_eq!(open_update(&internal("tmember"), &none), Ok(()), "granted member, unowned team key");
        assert_eq!(update(&internal("tadmin"), &unowned, &none), Ok(()), "a team admin edits an unowned team key");
        assert_eq!(open_update(&internal("tmember"), &budget).unwrap_err().status(), 403, "budget stays an admin's");
        assert_eq!(open_update(&internal("x"), &none).unwrap_err().status(), 401, "not a member");
        assert_eq!(update(&internal("tmember"), &unowned, &none).unwrap_err().status(), 401, "no /key/update grant");
    }

    #[test]
    fn key_mcp_grants_must_fit_the_team() {
        let t = team("t1", None, &[]);
        let perm = |groups: &[&str], servers: &[&str]| ObjectPermission {
            mcp_access_groups: groups.iter().map(|s| s.to_string()).collect(),
            mcp_servers: servers.iter().map(|s| s.to_string()).collect(),
            ..ObjectPermission::default()
        };
        let ceiling = |p: Option<ObjectPermission>, groups: &[&str]| TeamMcpCeiling {
            permission: p,
            access_group_servers: groups.iter().map(|s| s.to_string()).collect(),
            open_to_all: Vec::new(),
        };
        let open = TeamMcpCeiling { open_to_all: vec!["s9".into()], ..ceiling(None, &[]) };
        let direct = ceiling(Some(perm(&["G1"], &["s1"])), &[]);
        let with_groups = ceiling(Some(perm(&["G1"], &["s1"])), &["s3"]);
        let groups_only = ceiling(None, &["s3"]);
        let nothing = ceiling(None, &[]);
        let no_ag = Quirks::NONE.with(Quirk::TeamAccessGroupNotInObjectPermission);
        /// (case, team ceiling, requested, quirks, outcome: Ok or the message's start).
        type Case<'a> = (&'a str, &'a TeamMcpCeiling, ObjectPermission, Quirks, Result<(), &'a str>);
        let cases: Vec<Case<'_>> = vec![
            ("inside the object permission", &direct, perm(&["G1"], &["s1"]), Quirks::NONE, Ok(())),
            (
                "a team without MCP config grants no access group",
                &nothing,
                perm(&["G9"], &[]),
                Quirks::NONE,
                Err("Key requests MCP access groups not allowed by team 't1': ['G9']. Team allows: []."),
            ),
            (
                "a team without MCP config grants no server",
                &nothing,
                perm(&[], &["s9"]),
                Quirks::NONE,
                Err(
                    "Key requests MCP servers not allowed by team 't1': ['s9']. Team allows: []. Global (allow_all_keys) servers: [].",
                ),
            ),
            ("a server open to every key", &open, perm(&[], &["s9"]), Quirks::NONE, Ok(())),
            (
                "group outside",
                &direct,
                perm(&["G1", "G2"], &[]),
                Quirks::NONE,
                Err("Key requests MCP access groups not allowed by team 't1': ['G2']. Team allows: ['G1']."),
            ),
            (
                "server outside",
                &direct,
                perm(&[], &["s2"]),
                Quirks::NONE,
                Err("Key requests MCP servers not allowed by team 't1': ['s2']. Team allows: ['s1']"),
            ),
            ("server of the team's access group", &with_groups, perm(&[], &["s1", "s3"]), Quirks::NONE, Ok(())),
            (
                "server of an access group, team has no permission row",
                &groups_only,
                perm(&[], &["s3"]),
                Quirks::NONE,
                Ok(()),
            ),
            (
                "other server, team has only access groups",
                &groups_only,
                perm(&[], &["s4"]),
                Quirks::NONE,
                Err("Key requests MCP servers not allowed by team 't1': ['s4']. Team allows: ['s3']"),
            ),
            (
                "MCP access group, team has only access groups",
                &groups_only,
                perm(&["G1"], &[]),
                Quirks::NONE,
                Err("Key requests MCP access groups not allowed by team 't1': ['G1']. Team allows: []."),
            ),
            (
                "quirk: access-group servers do not count",
                &with_groups,
                perm(&[], &["s3"]),
                no_ag,
                Err("Key requests MCP servers not allowed by team 't1': ['s3']. Team allows: ['s1']"),
            ),
            (
                "quirk: a team with only access groups grants no server",
                &groups_only,
                perm(&[], &["s3"]),
                no_ag,
                Err("Key requests MCP servers not allowed by team 't1': ['s3']. Team allows: []"),
            ),
        ];
        for (name, c, requested, quirks, expected) in cases {
            let got = check_key_mcp_within_team(&t, c, &requested, quirks);
            crate::authz::fixtures::assert_decision(name, got, expected);
        }
    }
}
