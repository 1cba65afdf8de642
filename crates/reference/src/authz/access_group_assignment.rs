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
    use super::*;
    use crate::authz::fixtures::{admin_user, internal, team};

    #[test]
    fn assignment_gate_table() {
        let closed = team("t1", None, &[("tadmin", "admin"), ("member", "user")]);
        let mut open = closed.clone();
        open.team_member_permissions = Some(vec!["/key/generate".into(), KEY_ACCESS_GROUP_ASSIGNMENT.into()]);
        let mut other_only = closed.clone();
        other_only.team_member_permissions = Some(vec!["/key/generate".into()]);
        let groups = vec!["g2".to_string(), "g1".to_string()];
        let gate_off = Quirks::NONE.with(Quirk::NoAccessGroupAssignmentGate);
        /// (case, caller, key's team, groups asked, quirks, outcome: Ok or the message's start).
        type Case<'a> = (&'a str, Caller, Option<&'a Team>, &'a [String], Quirks, Result<(), &'a str>);
        let cases: Vec<Case<'_>> = vec![
            ("no groups asked: nothing to check", internal("member"), Some(&closed), &[], Quirks::NONE, Ok(())),
            ("master key", Caller::master(), Some(&closed), &groups, Quirks::NONE, Ok(())),
            ("proxy admin user", admin_user(), None, &groups, Quirks::NONE, Ok(())),
            ("team admin", internal("tadmin"), Some(&closed), &groups, Quirks::NONE, Ok(())),
            ("member with the permission", internal("member"), Some(&open), &groups, Quirks::NONE, Ok(())),
            (
                "member without it",
                internal("member"),
                Some(&closed),
                &groups,
                Quirks::NONE,
                Err("Team members cannot assign"),
            ),
            (
                "member with other permissions",
                internal("member"),
                Some(&other_only),
                &groups,
                Quirks::NONE,
                Err("Team members cannot assign"),
            ),
            (
                "non-member even with it open",
                internal("stranger"),
                Some(&open),
                &groups,
                Quirks::NONE,
                Err("Team members cannot assign"),
            ),
            (
                "personal key of a non-admin",
                internal("member"),
                None,
                &groups,
                Quirks::NONE,
                Err("Key is not in a team"),
            ),
            ("quirk: member without it", internal("member"), Some(&closed), &groups, gate_off, Ok(())),
            ("quirk: personal key", internal("member"), None, &groups, gate_off, Ok(())),
        ];
        for (name, caller, t, asked, quirks, expected) in cases {
            let got = check_access_group_assignment(&caller, t, asked, quirks);
            crate::authz::fixtures::assert_decision(name, got, expected);
        }
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
