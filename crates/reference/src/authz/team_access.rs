//! Handler-level team checks: who may change, administer or read a team.

use super::Denial;
use crate::domain::{Caller, PROXY_ADMIN_VIEWER, Team};

fn is_team_admin(caller: &Caller, team: &Team) -> bool {
    caller.user_id.as_deref().and_then(|u| team.role_of(u)) == Some("admin")
}

fn is_org_admin_of_team(caller: &Caller, team: &Team) -> bool {
    team.organization_id.as_deref().is_some_and(|org| caller.is_org_admin_of(org))
}

/// /team/delete, /team/block, /team/unblock: proxy admin, team admin, or org admin of the team's
/// organization.
pub(crate) fn check_team_admin_access(caller: &Caller, team: &Team) -> Result<(), Denial> {
    if caller.is_proxy_admin() || is_team_admin(caller, team) || is_org_admin_of_team(caller, team) {
        Ok(())
    } else {
        Err(Denial::NoTeamAccess)
    }
}

/// /team/update: as `check_team_admin_access`, except that a team admin who is not an org admin may
/// edit only `team_admin_editable_team_fields`, which is empty by default on LiteLLM 1.109.
pub(crate) fn check_team_update_access(caller: &Caller, team: &Team) -> Result<(), Denial> {
    if caller.is_proxy_admin() || is_org_admin_of_team(caller, team) {
        Ok(())
    } else if is_team_admin(caller, team) {
        Err(Denial::TeamAdminCannotEdit)
    } else {
        Err(Denial::NoTeamAccess)
    }
}

/// /team/member_add, /team/member_update, /team/member_delete.
pub(crate) fn check_team_member_admin(caller: &Caller, team: &Team, route: &str) -> Result<(), Denial> {
    if caller.is_proxy_admin() || is_team_admin(caller, team) || is_org_admin_of_team(caller, team) {
        Ok(())
    } else {
        Err(Denial::NotTeamOrOrgAdmin { route: route.to_string(), team_id: team.team_id.clone() })
    }
}

/// /model/new: the proxy admin's (LiteLLM also lets a team admin add a model to its team through
/// `model_info.team_id`, which the reference does not model). A caller without a role is named as
/// an internal user, as LiteLLM does.
pub(crate) fn check_model_new(caller: &Caller) -> Result<(), Denial> {
    if caller.is_proxy_admin() {
        Ok(())
    } else {
        Err(Denial::ModelNewNotProxyAdmin { role: caller.handler_role().to_string() })
    }
}

/// Which of the two team-member-permission routes is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TeamPermissionsRoute {
    /// `GET /team/permissions_list`.
    List,
    /// `POST /team/permissions_update`.
    Update,
}

/// /team/permissions_list and /team/permissions_update: proxy admin, team admin, or
/// org admin of the team's organization; reading is also open to admin viewers (LiteLLM 1.109's
/// read-parity rule). LiteLLM's list handler names `/team/member_add` in its denial (a copy-paste it
/// ships), so the message does too.
pub(crate) fn check_team_permissions_access(
    caller: &Caller,
    team: &Team,
    route: TeamPermissionsRoute,
) -> Result<(), Denial> {
    let viewer_reads = route == TeamPermissionsRoute::List && caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER);
    if caller.is_proxy_admin() || viewer_reads || is_team_admin(caller, team) || is_org_admin_of_team(caller, team) {
        return Ok(());
    }
    let named = match route {
        TeamPermissionsRoute::List => "/team/member_add",
        TeamPermissionsRoute::Update => "/team/permissions_update",
    };
    Err(Denial::NotTeamOrOrgAdmin { route: named.to_string(), team_id: team.team_id.clone() })
}

/// /team/info (`validate_membership`).
pub(crate) fn check_team_info_access(caller: &Caller, team: &Team) -> Result<(), Denial> {
    let member = caller.user_id.as_deref().is_some_and(|u| team.role_of(u).is_some());
    if caller.is_proxy_admin()
        || caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER)
        || caller.key_team_id.as_deref() == Some(team.team_id.as_str())
        || member
        || is_org_admin_of_team(caller, team)
    {
        return Ok(());
    }
    let team_id = team.team_id.clone();
    Err(match (&caller.user_id, &caller.key_team_id) {
        (Some(user_id), _) => Denial::TeamInfoUser { user_id: user_id.clone(), team_id },
        (None, Some(key_team_id)) => Denial::TeamInfoTeamKey { key_team_id: key_team_id.clone(), team_id },
        (None, None) => Denial::TeamInfoBareKey { team_id },
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::*;

    #[rstest]
    #[case::master(Caller::master(), None)]
    #[case::proxy_admin_user(admin_user(), None)]
    #[case::internal_user(internal("u1"), Some("internal_user"))]
    #[case::team_admin(internal("tadmin"), Some("internal_user"))]
    #[case::org_admin(org_admin("oa1", "org1"), Some("internal_user"))]
    #[case::key_without_user(userless_key(Some("t1")), Some("internal_user"))]
    fn model_new_is_the_proxy_admins(#[case] caller: Caller, #[case] denied_role: Option<&str>) {
        match (check_model_new(&caller), denied_role) {
            (Ok(()), None) => {}
            (Err(d), Some(role)) => {
                assert_eq!(d.status(), 403);
                assert_eq!(
                    d.message(),
                    format!(
                        "User does not have permission to make this model call. Your role={role}. You can only make model calls if you are a PROXY_ADMIN or if you are a team admin, by specifying a team_id in the model_info."
                    )
                );
            }
            (got, want) => panic!("got {got:?}, want denial for {want:?}"),
        }
    }

    fn code(r: Result<(), Denial>) -> u16 {
        r.map_or_else(|d| d.status(), |()| 200)
    }

    /// Every caller against every team check, allowed and denied cells alike: (admin routes, update,
    /// member routes, info).
    #[rstest]
    #[case::master(Caller::master(), (200, 200, 200, 200))]
    #[case::proxy_admin_user(admin_user(), (200, 200, 200, 200))]
    #[case::org_admin_of_team_org(org_admin("oa1", "org1"), (200, 200, 200, 200))]
    #[case::org_admin_elsewhere(org_admin("oa2", "org2"), (403, 403, 403, 403))]
    #[case::team_admin(internal("tadmin"), (200, 403, 200, 200))]
    #[case::team_member(internal("tmember"), (403, 403, 403, 200))]
    #[case::stranger(internal("nobody"), (403, 403, 403, 403))]
    #[case::team_key_without_user(userless_key(Some("t1")), (403, 403, 403, 200))]
    #[case::bare_key(userless_key(None), (403, 403, 403, 403))]
    fn team_checks(#[case] caller: Caller, #[case] expected: (u16, u16, u16, u16)) {
        let t = team("t1", Some("org1"), &[("tadmin", "admin"), ("tmember", "user")]);
        let got = (
            code(check_team_admin_access(&caller, &t)),
            code(check_team_update_access(&caller, &t)),
            code(check_team_member_admin(&caller, &t, "/team/member_add")),
            code(check_team_info_access(&caller, &t)),
        );
        assert_eq!(got, expected);
    }

    /// Every caller against both permission routes: (list, update).
    #[rstest]
    #[case::master(Caller::master(), (200, 200))]
    #[case::proxy_admin_user(admin_user(), (200, 200))]
    #[case::admin_viewer(user("v", PROXY_ADMIN_VIEWER), (200, 403))]
    #[case::org_admin_of_team_org(org_admin("oa1", "org1"), (200, 200))]
    #[case::org_admin_elsewhere(org_admin("oa2", "org2"), (403, 403))]
    #[case::team_admin(internal("tadmin"), (200, 200))]
    #[case::team_member(internal("tmember"), (403, 403))]
    #[case::stranger(internal("nobody"), (403, 403))]
    #[case::team_key_without_user(userless_key(Some("t1")), (403, 403))]
    fn team_permissions(#[case] caller: Caller, #[case] expected: (u16, u16)) {
        use TeamPermissionsRoute::{List, Update};
        let t = team("t1", Some("org1"), &[("tadmin", "admin"), ("tmember", "user")]);
        let got = (
            code(check_team_permissions_access(&caller, &t, List)),
            code(check_team_permissions_access(&caller, &t, Update)),
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn team_permissions_denials_name_litellms_routes() {
        let t = team("t1", None, &[("tmember", "user")]);
        let list = check_team_permissions_access(&internal("tmember"), &t, TeamPermissionsRoute::List).unwrap_err();
        assert_eq!(
            list.message(),
            "Call not allowed. User not proxy admin OR team admin. route=/team/member_add, team_id=t1"
        );
        let update = check_team_permissions_access(&internal("tmember"), &t, TeamPermissionsRoute::Update).unwrap_err();
        assert_eq!(
            update.message(),
            "Call not allowed. User not proxy admin OR team admin. route=/team/permissions_update, team_id=t1"
        );
        assert_eq!(update.status(), 403);
    }

    #[test]
    fn a_team_without_organization_gives_org_admins_nothing() {
        let t = team("t1", None, &[]);
        assert_eq!(check_team_admin_access(&org_admin("oa1", "org1"), &t), Err(Denial::NoTeamAccess));
    }

    #[test]
    fn team_info_denials_name_the_caller_kind() {
        let t = team("t1", None, &[]);
        assert_eq!(
            check_team_info_access(&internal("u9"), &t).unwrap_err().message(),
            "User=u9 not authorized to access this team=t1"
        );
        assert_eq!(
            check_team_info_access(&userless_key(Some("t2")), &t).unwrap_err().message(),
            "Team key for team=t2 not authorized to access this team=t1"
        );
        assert!(
            check_team_info_access(&userless_key(None), &t)
                .unwrap_err()
                .message()
                .starts_with("API key not authorized")
        );
    }

    #[test]
    fn team_admin_update_denial_explains_the_setting() {
        let t = team("t1", None, &[("tadmin", "admin")]);
        assert!(
            check_team_update_access(&internal("tadmin"), &t)
                .unwrap_err()
                .message()
                .starts_with("Team admins on this proxy cannot edit")
        );
    }
}
