//! The `KEY_ACCESS_GROUP_ASSIGNMENT` gate: who may attach unified access groups to a
//! key on `/key/generate`, `/key/update` and `/key/regenerate`.
//!
//! The quirk `no_access_group_assignment_gate` (BerriAI/litellm#29313) turns the gate off, as in
//! LiteLLM before 1.109: any caller allowed to write the key may attach any group.

use super::Denial;
use crate::domain::{Caller, Team};
use crate::{Quirk, Quirks};

/// The team member permission that opens the gate; a member of `KeyManagementRoutes`, not a route.
pub(crate) const KEY_ACCESS_GROUP_ASSIGNMENT: &str = "/key/access_group_assignment";

/// May `caller` attach `access_group_ids` to a key of `key_team` (`None`: a personal key)? Proxy
/// admins and team admins may; a member only when the team grants the permission; nobody else.
/// Called by every key route that writes `access_group_ids`, regenerate included.
pub(crate) fn check_access_group_assignment(
    caller: &Caller,
    key_team: Option<&Team>,
    access_group_ids: &[String],
    quirks: Quirks,
) -> Result<(), Denial> {
    if access_group_ids.is_empty() || caller.is_proxy_admin() || quirks.contains(Quirk::NoAccessGroupAssignmentGate) {
        return Ok(());
    }
    let Some(team) = key_team else {
        let mut groups = access_group_ids.to_vec();
        groups.sort();
        return Err(Denial::AccessGroupsOnPersonalKey { groups });
    };
    let role = caller.user_id.as_deref().and_then(|u| team.role_of(u));
    let granted = role.is_some()
        && team.team_member_permissions.as_ref().is_some_and(|p| p.iter().any(|r| r == KEY_ACCESS_GROUP_ASSIGNMENT));
    match role {
        Some("admin") => Ok(()),
        _ if granted => Ok(()),
        _ => Err(Denial::AccessGroupAssignmentNotPermitted { team_id: team.team_id.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::{admin_user, internal, team};

    /// Which team the key is for: none (a personal key), one whose members may not assign groups, one
    /// whose members may, or one whose members have other permissions only.
    #[derive(Clone, Copy)]
    enum TeamIs {
        Personal,
        Closed,
        Open,
        OtherOnly,
    }

    fn gate_off() -> Quirks {
        Quirks::NONE.with(Quirk::NoAccessGroupAssignmentGate)
    }

    /// Whether a caller may assign two access groups (none for the first case) to a key of a team:
    /// `Ok`, or the start of the denial's message.
    #[rstest]
    #[case::no_groups_asked_nothing_to_check(internal("member"), TeamIs::Closed, false, Quirks::NONE, Ok(()))]
    #[case::master_key(Caller::master(), TeamIs::Closed, true, Quirks::NONE, Ok(()))]
    #[case::proxy_admin_user(admin_user(), TeamIs::Personal, true, Quirks::NONE, Ok(()))]
    #[case::team_admin(internal("tadmin"), TeamIs::Closed, true, Quirks::NONE, Ok(()))]
    #[case::member_with_the_permission(internal("member"), TeamIs::Open, true, Quirks::NONE, Ok(()))]
    #[case::member_without_it(
        internal("member"),
        TeamIs::Closed,
        true,
        Quirks::NONE,
        Err("Team members cannot assign")
    )]
    #[case::member_with_other_permissions(
        internal("member"),
        TeamIs::OtherOnly,
        true,
        Quirks::NONE,
        Err("Team members cannot assign")
    )]
    #[case::non_member_even_with_it_open(
        internal("stranger"),
        TeamIs::Open,
        true,
        Quirks::NONE,
        Err("Team members cannot assign")
    )]
    #[case::personal_key_of_a_non_admin(
        internal("member"),
        TeamIs::Personal,
        true,
        Quirks::NONE,
        Err("Key is not in a team")
    )]
    #[case::quirk_member_without_it(internal("member"), TeamIs::Closed, true, gate_off(), Ok(()))]
    #[case::quirk_personal_key(internal("member"), TeamIs::Personal, true, gate_off(), Ok(()))]
    fn assignment_gate(
        #[case] caller: Caller,
        #[case] t: TeamIs,
        #[case] asks_groups: bool,
        #[case] quirks: Quirks,
        #[case] expected: Result<(), &str>,
    ) {
        let closed = team("t1", None, &[("tadmin", "admin"), ("member", "user")]);
        let mut open = closed.clone();
        open.team_member_permissions = Some(vec!["/key/generate".into(), KEY_ACCESS_GROUP_ASSIGNMENT.into()]);
        let mut other_only = closed.clone();
        other_only.team_member_permissions = Some(vec!["/key/generate".into()]);
        let t = match t {
            TeamIs::Personal => None,
            TeamIs::Closed => Some(&closed),
            TeamIs::Open => Some(&open),
            TeamIs::OtherOnly => Some(&other_only),
        };
        let groups = if asks_groups { vec!["g2".to_string(), "g1".to_string()] } else { vec![] };
        let got = check_access_group_assignment(&caller, t, &groups, quirks);
        crate::authz::fixtures::assert_decision("assignment", got, expected);
    }

    #[test]
    fn denials_carry_litellms_exact_messages() {
        let t = team("t1", None, &[("member", "user")]);
        let groups = vec!["g2".to_string(), "g1".to_string()];
        let d = check_access_group_assignment(&internal("member"), Some(&t), &groups, Quirks::NONE).unwrap_err();
        assert_eq!(
            d.message(),
            "Team members cannot assign access groups to keys for team t1. Ask a team or proxy admin to enable the '/key/access_group_assignment' team member permission to allow this."
        );
        let d = check_access_group_assignment(&internal("member"), None, &groups, Quirks::NONE).unwrap_err();
        assert_eq!(
            d.message(),
            "Key is not in a team. Access groups cannot be assigned to personal keys by non-admin callers. Disallowed access groups: ['g1', 'g2']."
        );
        assert_eq!(d.error_type(), None);
    }
}
