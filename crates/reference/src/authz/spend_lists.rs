//! Whose rows `/spend/keys`, `/spend/users` and `/spend/logs` show a caller.
//!
//! Corrected behaviour (LiteLLM 1.109): admins (proxy admin, admin viewer) see every key and every
//! user, or the one user they ask for; anyone else sees only their own keys and their own user row,
//! and asking for another user's row is a 403. A key with no user behind it sees nothing. With
//! `spend_lists_unscoped` every caller is answered as an admin, as in LiteLLM 1.83
//! (BerriAI/litellm#28864). `/spend/logs` is scoped the same way on both versions, except that a
//! non-admin's `?user_id=` is overridden by its own id rather than refused.

use super::Denial;
use crate::domain::{Caller, INTERNAL_USER, INTERNAL_USER_VIEWER, PROXY_ADMIN_VIEWER};
use crate::{Quirk, Quirks};

/// Which rows a spend listing holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SpendRows {
    Everyone,
    OneUser(String),
    Nobody,
}

fn answered_as_admin(caller: &Caller, quirks: Quirks) -> bool {
    caller.is_proxy_admin()
        || caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER)
        || quirks.contains(Quirk::SpendListsUnscoped)
}

/// `/spend/keys`: every key, or the keys of one owner.
pub(crate) fn spend_keys_rows(caller: &Caller, quirks: Quirks) -> SpendRows {
    if answered_as_admin(caller, quirks) {
        return SpendRows::Everyone;
    }
    caller.user_id.clone().map_or(SpendRows::Nobody, SpendRows::OneUser)
}

/// `/global/spend/keys`, `/global/spend/models` and `/global/spend/logs`: an internal user (or internal viewer) that passed
/// the gate, with a key granted `get_spend_routes`, sees its own requests; every other caller that
/// passed sees the whole proxy's, as in LiteLLM.
pub(crate) fn global_spend_rows(caller: &Caller) -> SpendRows {
    match caller.user_role.as_deref() {
        Some(INTERNAL_USER | INTERNAL_USER_VIEWER) if !caller.is_proxy_admin() => {
            caller.user_id.clone().map_or(SpendRows::Nobody, SpendRows::OneUser)
        }
        _ => SpendRows::Everyone,
    }
}

/// `/spend/users`, with its `?user_id=`.
pub(crate) fn spend_users_rows(caller: &Caller, requested: Option<&str>, quirks: Quirks) -> Result<SpendRows, Denial> {
    if answered_as_admin(caller, quirks) {
        return Ok(requested.map_or(SpendRows::Everyone, |u| SpendRows::OneUser(u.to_string())));
    }
    let Some(own) = &caller.user_id else {
        return Ok(SpendRows::Nobody);
    };
    match requested {
        Some(other) if other != own => Err(Denial::SpendOfOtherUser),
        _ => Ok(SpendRows::OneUser(own.clone())),
    }
}

/// `/spend/logs`, with its `?user_id=`: whose requests the logs are filtered to.
pub(crate) fn spend_logs_rows(caller: &Caller, requested: Option<&str>) -> SpendRows {
    if answered_as_admin(caller, Quirks::NONE) {
        return requested.map_or(SpendRows::Everyone, |u| SpendRows::OneUser(u.to_string()));
    }
    caller.user_id.clone().map_or(SpendRows::Nobody, SpendRows::OneUser)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::*;

    fn unscoped() -> Quirks {
        Quirks::NONE.with(Quirk::SpendListsUnscoped)
    }

    fn one(user: &str) -> SpendRows {
        SpendRows::OneUser(user.to_string())
    }

    #[rstest]
    #[case::master(Caller::master(), SpendRows::Everyone)]
    #[case::viewer(user("v1", PROXY_ADMIN_VIEWER), SpendRows::Everyone)]
    #[case::internal_user_own(internal("u1"), one("u1"))]
    #[case::internal_viewer_own(user("v2", INTERNAL_USER_VIEWER), one("v2"))]
    #[case::key_without_user(userless_key(None), SpendRows::Everyone)]
    fn global_spend_keys_and_models(#[case] caller: Caller, #[case] expected: SpendRows) {
        assert_eq!(global_spend_rows(&caller), expected);
    }

    #[rstest]
    #[case::master(Caller::master(), Quirks::NONE, SpendRows::Everyone)]
    #[case::admin_viewer(user("v", PROXY_ADMIN_VIEWER), Quirks::NONE, SpendRows::Everyone)]
    #[case::internal_user(internal("u1"), Quirks::NONE, one("u1"))]
    #[case::key_without_user(userless_key(Some("t1")), Quirks::NONE, SpendRows::Nobody)]
    #[case::quirk_internal_user(internal("u1"), unscoped(), SpendRows::Everyone)]
    fn spend_keys(#[case] caller: Caller, #[case] quirks: Quirks, #[case] expected: SpendRows) {
        assert_eq!(spend_keys_rows(&caller, quirks), expected);
    }

    #[rstest]
    #[case::master_everyone(Caller::master(), None, Quirks::NONE, Ok(SpendRows::Everyone))]
    #[case::master_one(Caller::master(), Some("u2"), Quirks::NONE, Ok(one("u2")))]
    #[case::internal_user_self(internal("u1"), None, Quirks::NONE, Ok(one("u1")))]
    #[case::internal_user_self_by_name(internal("u1"), Some("u1"), Quirks::NONE, Ok(one("u1")))]
    #[case::internal_user_other(internal("u1"), Some("u2"), Quirks::NONE, Err(Denial::SpendOfOtherUser))]
    #[case::key_without_user(userless_key(None), Some("u2"), Quirks::NONE, Ok(SpendRows::Nobody))]
    #[case::quirk_everyone(internal("u1"), None, unscoped(), Ok(SpendRows::Everyone))]
    #[case::quirk_other(internal("u1"), Some("u2"), unscoped(), Ok(one("u2")))]
    fn spend_users(
        #[case] caller: Caller,
        #[case] requested: Option<&str>,
        #[case] quirks: Quirks,
        #[case] expected: Result<SpendRows, Denial>,
    ) {
        assert_eq!(spend_users_rows(&caller, requested, quirks), expected);
    }

    #[rstest]
    #[case::master_everyone(Caller::master(), None, SpendRows::Everyone)]
    #[case::master_one(Caller::master(), Some("u2"), one("u2"))]
    #[case::admin_viewer_one(user("v", PROXY_ADMIN_VIEWER), Some("u2"), one("u2"))]
    #[case::internal_user_self(internal("u1"), None, one("u1"))]
    #[case::internal_user_other_gets_its_own(internal("u1"), Some("u2"), one("u1"))]
    #[case::key_without_user(userless_key(Some("t1")), Some("u2"), SpendRows::Nobody)]
    fn spend_logs(#[case] caller: Caller, #[case] requested: Option<&str>, #[case] expected: SpendRows) {
        assert_eq!(spend_logs_rows(&caller, requested), expected);
    }

    #[test]
    fn the_denial_is_litellms() {
        assert_eq!(Denial::SpendOfOtherUser.status(), 403);
        assert_eq!(Denial::SpendOfOtherUser.message(), "Not authorized to view spend for another user.");
    }
}
