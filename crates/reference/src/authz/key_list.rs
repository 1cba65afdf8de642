//! Which keys `/key/list` shows a caller, and which of its filters a caller may ask for.
//!
//! A proxy admin (or admin viewer) sees every key. Anyone else sees their own keys; with
//! `include_team_keys`, also every key of a team they administer or whose member permissions grant
//! them `/key/list`, and the service-account keys (no owner) of a team they belong to, never another
//! member's key otherwise. With `key_list_permission_ignored` the permission widens nothing, as in
//! LiteLLM 1.83 (BerriAI/litellm#17841). Filters narrow what is visible; a
//! non-admin asking to filter by another user, a team they are not in or an organization they are
//! not in is refused rather than shown an empty page, as LiteLLM does.
//!
//! `include_created_by_keys` adds the keys the caller created (for an admin: the keys the user of its
//! `user_id` filter created), but only those in no team or in a team the caller still belongs to, so a
//! former member no longer sees the service-account keys it made there, as on both LiteLLM versions.
//!
//! `user_id` and `key_alias` match exactly unless the request asks for `substring_matching`
//! (case-insensitive; `user_id` so only for admins). With `key_list_substring_filters` an admin's
//! filters are always substrings, as in LiteLLM 1.83 (BerriAI/litellm#30593).

use super::Denial;
use crate::domain::{Caller, Key, PROXY_ADMIN_VIEWER, Team};
use crate::{Quirk, Quirks};

/// The member permission that lets a team member list the team's keys.
const KEY_LIST: &str = "/key/list";

/// The filters of one `/key/list` request.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct KeyListQuery {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub organization_id: Option<String>,
    pub key_alias: Option<String>,
    pub key_hash: Option<String>,
    pub include_team_keys: bool,
    pub include_created_by_keys: bool,
    pub substring_matching: bool,
}

/// What the handler found for a `key_hash` filter a non-admin sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum HashedKey {
    Missing,
    Found { readable: bool },
}

/// The keys one caller may see, with the request's filters applied: a pure predicate over key rows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KeyListScope {
    /// `None` for admins: every key is visible.
    visible: Option<Visible>,
    query: KeyListQuery,
    /// How `user_id` and `key_alias` filters match.
    user_match: Match,
    alias_match: Match,
    /// With `include_created_by_keys`: whose created keys are added, and in which teams.
    creator: Option<Creator>,
}

/// The keys `user_id` created that a listing adds: those in no team or in one of `teams`.
#[derive(Clone, Debug, PartialEq)]
struct Creator {
    user_id: String,
    teams: Vec<String>,
}

impl Creator {
    fn made(&self, key: &Key) -> bool {
        key.created_by.as_deref() == Some(self.user_id.as_str())
            && key.team_id.as_ref().is_none_or(|t| self.teams.contains(t))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Match {
    Exact,
    /// Case-insensitive substring.
    Contains,
}

impl Match {
    fn holds(self, filter: &Option<String>, value: &Option<String>) -> bool {
        match (self, filter) {
            (_, None) => true,
            (Match::Exact, Some(f)) => value.as_ref() == Some(f),
            (Match::Contains, Some(f)) => value.as_ref().is_some_and(|v| v.to_lowercase().contains(&f.to_lowercase())),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Visible {
    own: Option<String>,
    admin_teams: Vec<String>,
    member_teams: Vec<String>,
}

/// Decides what `caller` may list. `user_teams` are the team ids of the caller's user row (`None`
/// when there is no row: a non-admin without one is refused), `teams` those teams' rows, and `hashed`
/// what a non-admin's `key_hash` filter found.
pub(crate) fn key_list_scope(
    caller: &Caller,
    user_teams: Option<&[String]>,
    teams: &[Team],
    query: KeyListQuery,
    hashed: Option<HashedKey>,
    quirks: Quirks,
) -> Result<KeyListScope, Denial> {
    let admin_view = caller.is_proxy_admin() || caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER);
    let asked = if query.substring_matching { Match::Contains } else { Match::Exact };
    let member_of = |user_id: &str| -> Vec<String> {
        teams.iter().filter(|t| t.role_of(user_id).is_some()).map(|t| t.team_id.clone()).collect()
    };
    let admin_teams = |user_id: Option<&str>| -> Vec<String> {
        teams
            .iter()
            .filter(|t| user_id.is_some_and(|u| t.role_of(u) == Some("admin")))
            .map(|t| t.team_id.clone())
            .collect()
    };
    if admin_view {
        // An admin's own user id is not a filter; its administered teams are one only when asked,
        // which narrows rather than widens, as in LiteLLM.
        let teams = if query.include_team_keys { admin_teams(caller.user_id.as_deref()) } else { vec![] };
        let visible = (query.user_id.is_none() && !teams.is_empty()).then(|| Visible {
            own: None,
            admin_teams: teams,
            member_teams: vec![],
        });
        let admin_match = if quirks.contains(Quirk::KeyListSubstringFilters) { Match::Contains } else { asked };
        // The caller's own teams scope the filtered user's created keys, as LiteLLM computes them.
        let creator = match (&query.user_id, query.include_created_by_keys) {
            (Some(user_id), true) => Some(Creator {
                user_id: user_id.clone(),
                teams: caller.user_id.as_deref().map(member_of).unwrap_or_default(),
            }),
            _ => None,
        };
        return Ok(KeyListScope { visible, query, user_match: admin_match, alias_match: admin_match, creator });
    }
    let (Some(own), Some(user_teams)) = (caller.user_id.clone(), user_teams) else {
        return Err(Denial::KeyListNoUser);
    };
    if query.user_id.as_deref().is_some_and(|u| u != own) {
        return Err(Denial::KeyListOtherUser);
    }
    if query.team_id.as_deref().is_some_and(|t| !user_teams.iter().any(|m| m == t)) {
        return Err(Denial::KeyListOtherTeam);
    }
    if query.organization_id.as_deref().is_some_and(|o| !caller.org_roles.iter().any(|(org, _)| org == o)) {
        return Err(Denial::KeyListOtherOrganization);
    }
    match hashed {
        Some(HashedKey::Missing) => return Err(Denial::KeyListHashNotFound),
        Some(HashedKey::Found { readable: false }) => {
            return Err(Denial::KeyInfoNotAllowed { role: caller.handler_role().to_string() });
        }
        _ => {}
    }
    let creator = query.include_created_by_keys.then(|| Creator { user_id: own.clone(), teams: member_of(&own) });
    let (admin_teams, member_teams) = if query.include_team_keys {
        let member = member_of(&own);
        let mut full = admin_teams(Some(&own));
        if !quirks.contains(Quirk::KeyListPermissionIgnored) {
            let granted = teams.iter().filter(|t| {
                t.role_of(&own) == Some("user") && super::key_access::member_routes(t).iter().any(|r| r == KEY_LIST)
            });
            full.extend(granted.map(|t| t.team_id.clone()));
        }
        (full, member)
    } else {
        (vec![], vec![])
    };
    Ok(KeyListScope {
        visible: Some(Visible { own: Some(own), admin_teams, member_teams }),
        query,
        user_match: Match::Exact,
        alias_match: asked,
        creator,
    })
}

impl KeyListScope {
    pub(crate) fn shows(&self, key: &Key) -> bool {
        let q = &self.query;
        let filters = eq(&q.team_id, &key.team_id)
            && self.alias_match.holds(&q.key_alias, &key.key_alias)
            && q.key_hash.as_ref().is_none_or(|h| *h == key.token);
        // An admin's user and organization filters narrow every key; a non-admin's organization
        // filter narrows its own keys only, as LiteLLM folds it into the own-keys condition.
        let created = self.creator.as_ref().is_some_and(|c| c.made(key));
        let visible = match &self.visible {
            None => {
                (self.user_match.holds(&q.user_id, &key.user_id) && eq(&q.organization_id, &key.organization_id))
                    || created
            }
            Some(v) => self.within(v, key) || created,
        };
        filters && visible
    }

    fn within(&self, v: &Visible, key: &Key) -> bool {
        let own = v
            .own
            .as_ref()
            .is_some_and(|u| key.user_id.as_ref() == Some(u) && eq(&self.query.organization_id, &key.organization_id));
        let in_team = |teams: &[String]| key.team_id.as_ref().is_some_and(|t| teams.contains(t));
        let member_only: Vec<String> = v.member_teams.iter().filter(|t| !v.admin_teams.contains(t)).cloned().collect();
        own || in_team(&v.admin_teams) || (key.user_id.is_none() && in_team(&member_only))
    }

    /// The teams whose keys a non-admin may see beyond their own; the handler loads those.
    pub(crate) fn teams_to_load(&self) -> Vec<String> {
        self.visible.as_ref().map(|v| [v.admin_teams.clone(), v.member_teams.clone()].concat()).unwrap_or_default()
    }

    /// The user whose created keys the handler loads besides (`include_created_by_keys`).
    pub(crate) fn creator_to_load(&self) -> Option<&str> {
        self.creator.as_ref().map(|c| c.user_id.as_str())
    }

    /// The user whose keys the handler loads, or `None` for every key (admins).
    pub(crate) fn owner_to_load(&self) -> Option<&str> {
        self.visible.as_ref().and_then(|v| v.own.as_deref())
    }
}

fn eq(filter: &Option<String>, value: &Option<String>) -> bool {
    filter.as_ref().is_none_or(|f| value.as_ref() == Some(f))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::*;
    use crate::domain::INTERNAL_USER;

    fn key(token: &str, owner: Option<&str>, team: Option<&str>) -> Key {
        Key {
            team_id: team.map(str::to_string),
            key_alias: Some(format!("alias-{token}")),
            ..Key::unset(token.into(), None, owner.map(str::to_string), None)
        }
    }

    /// Team t1: admin `tadmin`, members `m1`, `m2`. Keys: m1's and m2's team keys, tadmin's team key,
    /// a service-account key of t1, m1's personal key, and a key of another team t2.
    fn keys() -> Vec<Key> {
        vec![
            key("m1-t1", Some("m1"), Some("t1")),
            key("m2-t1", Some("m2"), Some("t1")),
            key("tadmin-t1", Some("tadmin"), Some("t1")),
            key("svc-t1", None, Some("t1")),
            key("m1-own", Some("m1"), None),
            key("x-t2", Some("x"), Some("t2")),
        ]
    }

    fn in_t1() -> Vec<String> {
        vec!["t1".to_string()]
    }

    fn t1() -> Team {
        team("t1", None, &[("tadmin", "admin"), ("m1", "user"), ("m2", "user")])
    }

    fn listed(caller: &Caller, user_teams: Option<&[String]>, query: KeyListQuery) -> Result<Vec<String>, Denial> {
        let scope = key_list_scope(caller, user_teams, &[t1()], query, None, Quirks::NONE)?;
        Ok(keys().into_iter().filter(|k| scope.shows(k)).map(|k| k.token).collect())
    }

    fn q(team: Option<&str>, include_team_keys: bool) -> KeyListQuery {
        KeyListQuery { team_id: team.map(str::to_string), include_team_keys, ..KeyListQuery::default() }
    }

    #[rstest]
    #[case::member_sees_own_keys("m1", q(None, false), &["m1-t1", "m1-own"])]
    #[case::member_team_filter_keeps_own_only("m1", q(Some("t1"), false), &["m1-t1"])]
    #[case::member_with_team_keys_adds_service_accounts("m1", q(Some("t1"), true), &["m1-t1", "svc-t1"])]
    #[case::member_never_sees_another_members_key("m1", q(None, true), &["m1-t1", "svc-t1", "m1-own"])]
    #[case::team_admin_own_only_by_default("tadmin", q(Some("t1"), false), &["tadmin-t1"])]
    #[case::team_admin_with_team_keys_sees_the_team("tadmin", q(Some("t1"), true), &["m1-t1", "m2-t1", "tadmin-t1", "svc-t1"])]
    fn non_admin_listing(#[case] who: &str, #[case] query: KeyListQuery, #[case] expected: &[&str]) {
        assert_eq!(listed(&internal(who), Some(&in_t1()), query), Ok(expected.iter().map(|s| s.to_string()).collect()));
    }

    /// t1 with `/key/list` in its member permissions: m1 lists its teammates' keys with
    /// `include_team_keys`, and only with it; the quirk takes that away.
    #[rstest]
    #[case::granted_member_sees_the_team(q(Some("t1"), true), Quirks::NONE, &["m1-t1", "m2-t1", "tadmin-t1", "svc-t1"])]
    #[case::granted_member_without_team_keys(q(Some("t1"), false), Quirks::NONE, &["m1-t1"])]
    #[case::quirk_ignores_the_permission(q(Some("t1"), true), Quirks::NONE.with(Quirk::KeyListPermissionIgnored), &["m1-t1", "svc-t1"])]
    fn the_key_list_member_permission_shows_the_team(
        #[case] query: KeyListQuery,
        #[case] quirks: Quirks,
        #[case] expected: &[&str],
    ) {
        let mut open = t1();
        open.team_member_permissions = Some(vec![KEY_LIST.into()]);
        let scope = key_list_scope(&internal("m1"), Some(&in_t1()), &[open], query, None, quirks).unwrap();
        let shown: Vec<String> = keys().into_iter().filter(|k| scope.shows(k)).map(|k| k.token).collect();
        assert_eq!(shown, expected);
    }

    #[rstest]
    #[case::master(Caller::master(), q(None, false), 6)]
    #[case::master_team_filter(Caller::master(), q(Some("t1"), false), 4)]
    #[case::viewer(user("v", PROXY_ADMIN_VIEWER), q(None, false), 6)]
    #[case::admin_user_filter(Caller::master(), KeyListQuery { user_id: Some("m1".into()), ..KeyListQuery::default() }, 2)]
    fn admin_listing(#[case] caller: Caller, #[case] query: KeyListQuery, #[case] count: usize) {
        assert_eq!(listed(&caller, None, query).map(|k| k.len()), Ok(count));
    }

    /// Users `m1` and `M1x` (whose id contains "m1" but for the case), each with one key aliased
    /// `alias-<owner>`: which tokens an admin's `user_id` or `key_alias` filter answers.
    #[rstest]
    #[case::user_exact_by_default(Some("m1"), None, false, Quirks::NONE, &["m1"])]
    #[case::user_substring_when_asked(Some("m1"), None, true, Quirks::NONE, &["m1", "M1x"])]
    #[case::user_substring_with_the_quirk(Some("m1"), None, false, substrings(), &["m1", "M1x"])]
    #[case::alias_exact_by_default(None, Some("alias-m1"), false, Quirks::NONE, &["m1"])]
    #[case::alias_substring_with_the_quirk(None, Some("ALIAS-m1"), false, substrings(), &["m1", "M1x"])]
    fn admin_filters_match_exactly_unless_asked(
        #[case] user_id: Option<&str>,
        #[case] key_alias: Option<&str>,
        #[case] substring_matching: bool,
        #[case] quirks: Quirks,
        #[case] expected: &[&str],
    ) {
        let query = KeyListQuery {
            user_id: user_id.map(str::to_string),
            key_alias: key_alias.map(str::to_string),
            substring_matching,
            ..KeyListQuery::default()
        };
        let scope = key_list_scope(&Caller::master(), None, &[], query, None, quirks).unwrap();
        let owned = |owner: &str| Key { key_alias: Some(format!("alias-{owner}")), ..key(owner, Some(owner), None) };
        let shown: Vec<String> =
            [owned("m1"), owned("M1x")].into_iter().filter(|k| scope.shows(k)).map(|k| k.token).collect();
        assert_eq!(shown, expected);
    }

    /// Keys m1 created: a service-account key of t1 (m1's team), one of t2 (not m1's), and a key in
    /// no team for another user. Which of them a listing with or without `include_created_by_keys`
    /// adds, for m1 itself and for an admin filtering by m1.
    #[rstest]
    #[case::member_without_the_flag(internal("m1"), None, false, &[])]
    #[case::member_with_the_flag(internal("m1"), None, true, &["svc-t1-by-m1", "other-by-m1"])]
    #[case::admin_filtering_by_the_creator(Caller::master(), Some("m1"), true, &["other-by-m1"])]
    #[case::admin_without_a_user_filter(Caller::master(), None, true, &["svc-t1-by-m1", "svc-t2-by-m1", "other-by-m1"])]
    #[case::admin_filtering_without_the_flag(Caller::master(), Some("m1"), false, &[])]
    fn created_by_keys_are_scoped_to_the_callers_teams(
        #[case] caller: Caller,
        #[case] user_id: Option<&str>,
        #[case] include_created_by_keys: bool,
        #[case] expected: &[&str],
    ) {
        let made = |token: &str, owner: Option<&str>, team: Option<&str>| Key {
            created_by: Some("m1".into()),
            ..key(token, owner, team)
        };
        let keys = [
            made("svc-t1-by-m1", None, Some("t1")),
            made("svc-t2-by-m1", None, Some("t2")),
            made("other-by-m1", Some("x"), None),
        ];
        let query =
            KeyListQuery { user_id: user_id.map(str::to_string), include_created_by_keys, ..KeyListQuery::default() };
        let user_teams = in_t1();
        let scope = key_list_scope(&caller, Some(&user_teams), &[t1()], query, None, Quirks::NONE).unwrap();
        let shown: Vec<String> = keys.into_iter().filter(|k| scope.shows(k)).map(|k| k.token).collect();
        assert_eq!(shown, expected);
    }

    fn substrings() -> Quirks {
        Quirks::NONE.with(Quirk::KeyListSubstringFilters)
    }

    #[test]
    fn a_non_admin_matches_its_aliases_by_substring_only_when_asked_and_never_the_quirk() {
        let teams = in_t1();
        let alias = |substring_matching| KeyListQuery {
            key_alias: Some("ALIAS-m1".into()),
            substring_matching,
            ..KeyListQuery::default()
        };
        let shown = |query, quirks| {
            let scope = key_list_scope(&internal("m1"), Some(&teams), &[t1()], query, None, quirks).unwrap();
            keys().into_iter().filter(|k| scope.shows(k)).map(|k| k.token).collect::<Vec<_>>()
        };
        assert_eq!(shown(alias(false), substrings()), Vec::<String>::new());
        assert_eq!(shown(alias(true), Quirks::NONE), ["m1-t1", "m1-own"]);
    }

    #[rstest]
    #[case::other_user(KeyListQuery { user_id: Some("m2".into()), ..KeyListQuery::default() }, Denial::KeyListOtherUser)]
    #[case::team_not_joined(q(Some("t2"), false), Denial::KeyListOtherTeam)]
    #[case::organization_not_joined(KeyListQuery { organization_id: Some("o1".into()), ..KeyListQuery::default() }, Denial::KeyListOtherOrganization)]
    fn non_admin_filters_refused(#[case] query: KeyListQuery, #[case] denial: Denial) {
        assert_eq!(listed(&internal("m1"), Some(&in_t1()), query), Err(denial));
    }

    #[test]
    fn a_key_without_a_user_may_not_list() {
        assert_eq!(listed(&userless_key(Some("t1")), None, q(None, false)), Err(Denial::KeyListNoUser));
        assert_eq!(listed(&internal("ghost"), None, q(None, false)), Err(Denial::KeyListNoUser));
    }

    #[test]
    fn a_hash_filter_needs_a_key_the_caller_may_read() {
        let teams = in_t1();
        let query = KeyListQuery { key_hash: Some("m2-t1".into()), ..KeyListQuery::default() };
        let scope =
            |hashed| key_list_scope(&internal("m1"), Some(&teams), &[t1()], query.clone(), Some(hashed), Quirks::NONE);
        assert_eq!(scope(HashedKey::Missing), Err(Denial::KeyListHashNotFound));
        assert_eq!(
            scope(HashedKey::Found { readable: false }),
            Err(Denial::KeyInfoNotAllowed { role: INTERNAL_USER.into() })
        );
        let shown = scope(HashedKey::Found { readable: true }).unwrap();
        assert!(keys().iter().all(|k| !shown.shows(k)), "another member's key stays hidden even by hash");
    }

    #[test]
    fn denials_carry_litellms_messages() {
        assert_eq!(Denial::KeyListOtherUser.message(), "You are not authorized to check another user's keys");
        assert_eq!(Denial::KeyListOtherTeam.status(), 403);
        assert_eq!(Denial::KeyListOtherTeam.param().as_deref(), Some("team_id"));
        assert_eq!(Denial::KeyListNoUser.error_type(), Some("bad_request_error"));
    }
}
