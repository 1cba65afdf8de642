//! /user/update: who may change a user's row, and with which fields.
//!
//! The route gate lets only proxy admins, org admins naming an organization they administer, and
//! proxy admin viewers sending nothing but `user_email` reach the handler; this decides the rest, as
//! LiteLLM 1.109 does: roles and `permissions` are the proxy admin's, a non-admin changes only its
//! own row, and never its own budget or object-permission ceiling on it (LiteLLM 1.83 lacks that
//! last rule: the quirk `user_update_self_budget_unchecked`).

use super::Denial;
use crate::domain::Caller;
use crate::{Quirk, Quirks};

/// The fields of a user's row that bound what the user may spend or reach, which its owner may not
/// change on itself.
pub(crate) const PROTECTED_USER_FIELDS: [&str; 5] =
    ["max_budget", "model_max_budget", "soft_budget", "spend", "object_permission"];

/// What a /user/update request asks, as the decision reads it.
#[derive(Clone, Debug, Default)]
pub(crate) struct UserUpdateAsk<'a> {
    /// The row the request names (by `user_id`, else by `user_email`), when it exists.
    pub target: Option<&'a str>,
    pub sets_role: bool,
    pub sets_permissions: bool,
    /// Which of `PROTECTED_USER_FIELDS` the request sends, in that order.
    pub protected: Vec<&'static str>,
}

pub(crate) fn check_user_update(caller: &Caller, ask: &UserUpdateAsk<'_>, quirks: Quirks) -> Result<(), Denial> {
    if caller.is_proxy_admin() {
        return Ok(());
    }
    if ask.sets_permissions {
        return Err(Denial::PermissionsNotProxyAdmin);
    }
    if ask.sets_role {
        return Err(Denial::UserRoleNotProxyAdmin);
    }
    let Some(target) = ask.target else {
        return Err(Denial::UserUpdateCreates);
    };
    if caller.user_id.as_deref() != Some(target) {
        return Err(Denial::UserUpdateOtherUser);
    }
    match ask.protected.first() {
        Some(_) if quirks.contains(Quirk::UserUpdateSelfBudgetUnchecked) => Ok(()),
        Some(field) => Err(Denial::UserUpdateOwnProtectedField { field }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::*;
    use crate::domain::PROXY_ADMIN_VIEWER;

    /// LiteLLM 1.83: an org admin raises its own budget; roles and other users' rows stay refused.
    #[test]
    fn quirk_lets_a_non_admin_raise_its_own_budget() {
        let quirk = Quirks::NONE.with(Quirk::UserUpdateSelfBudgetUnchecked);
        let oa = org_admin("oa1", "org1");
        assert!(check_user_update(&oa, &ask(Some("oa1"), false, false, &["max_budget"]), Quirks::NONE).is_err());
        assert_eq!(check_user_update(&oa, &ask(Some("oa1"), false, false, &["max_budget"]), quirk), Ok(()));
        assert!(check_user_update(&oa, &ask(Some("oa1"), true, false, &[]), quirk).is_err(), "roles stay gated");
        assert!(check_user_update(&oa, &ask(Some("u1"), false, false, &[]), quirk).is_err(), "other users too");
    }

    fn ask(target: Option<&str>, role: bool, permissions: bool, protected: &[&'static str]) -> UserUpdateAsk<'static> {
        UserUpdateAsk {
            target: target.map(|t| &*t.to_string().leak()),
            sets_role: role,
            sets_permissions: permissions,
            protected: protected.to_vec(),
        }
    }

    /// Who may send what to /user/update about `u1` (or a user that does not exist): 200 for allowed,
    /// else the status and the start of LiteLLM's message.
    #[rstest]
    #[case::proxy_admin_sets_a_role(Caller::master(), ask(Some("u1"), true, false, &[]), Ok(()))]
    #[case::proxy_admin_sets_a_budget(admin_user(), ask(Some("u1"), false, false, &["max_budget"]), Ok(()))]
    #[case::proxy_admin_creates(Caller::master(), ask(None, false, false, &[]), Ok(()))]
    #[case::own_alias(internal("u1"), ask(Some("u1"), false, false, &[]), Ok(()))]
    #[case::own_role(internal("u1"), ask(Some("u1"), true, false, &[]), Err((403, "Only proxy admins can modify user roles.")))]
    #[case::own_permissions(internal("u1"), ask(Some("u1"), true, true, &[]), Err((403, "Only proxy admins can set `permissions`.")))]
    #[case::own_budget(internal("u1"), ask(Some("u1"), false, false, &["max_budget"]), Err((403, "Non-admin users cannot modify 'max_budget' on their own record.")))]
    #[case::own_ceiling(org_admin("u1", "org1"), ask(Some("u1"), false, false, &["object_permission"]), Err((403, "Non-admin users cannot modify 'object_permission'")))]
    #[case::other_user(org_admin("oa1", "org1"), ask(Some("u1"), false, false, &[]), Err((403, "User does not have permission to update this user.")))]
    #[case::viewer_other_user(user("v1", PROXY_ADMIN_VIEWER), ask(Some("u1"), false, false, &[]), Err((403, "User does not have permission to update this user.")))]
    #[case::viewer_own_email(user("v1", PROXY_ADMIN_VIEWER), ask(Some("v1"), false, false, &[]), Ok(()))]
    #[case::creates_user(internal("u1"), ask(None, false, false, &[]), Err((404, "User not found. Only PROXY_ADMIN can create users via /user/update")))]
    #[case::team_key_without_user(userless_key(Some("t1")), ask(Some("u1"), false, false, &[]), Err((403, "User does not have permission")))]
    fn user_update_table(
        #[case] caller: Caller,
        #[case] ask: UserUpdateAsk<'static>,
        #[case] expected: Result<(), (u16, &str)>,
    ) {
        match (check_user_update(&caller, &ask, Quirks::NONE), expected) {
            (Ok(()), Ok(())) => {}
            (Err(d), Err((status, prefix))) => {
                assert_eq!(d.status(), status);
                assert!(d.message().starts_with(prefix), "{}", d.message());
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }
}
