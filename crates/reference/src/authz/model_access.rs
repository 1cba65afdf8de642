//! Which models a caller may call, from every source in LiteLLM 1.109's order, and which ones
//! discovery shows it: one decision, so listing a model and calling it can never disagree.
//!
//! The sources, as the handler loads them:
//! - the key's `models` (`all-team-models` skips the key level; the team level then decides), and
//!   the models of the unified access groups in the key's `access_group_ids` as a fallback;
//! - the team's `models`, widened by its own `access_group_ids`, and a team refusal is overridden
//!   by a key access group assigned to the key or to its team;
//! - the team member's `allowed_models` (from `/team/member_add`), when not empty;
//! - the user's `models`, for a personal key only (`no-default-models` refuses everything).
//!
//! Within each list a model is allowed when the list is empty, holds `*` or `all-proxy-models`,
//! names the model, names a config access group of one of its deployments
//! (`model_info.access_groups`), or holds a wildcard pattern that matches it. The model is the one
//! that will serve the call, after the team's and the key's aliases (`model_alias`).

use gateproof_format::{Quirk, Quirks};

use super::model_alias::{AliasRules, Aliases};

const ALL_PROXY_MODELS: &str = "all-proxy-models";
const ALL_TEAM_MODELS: &str = "all-team-models";
const NO_DEFAULT_MODELS: &str = "no-default-models";

/// Whose model list refused the request; picks LiteLLM's error type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ModelListOwner {
    Key,
    Team,
    User,
}

impl ModelListOwner {
    pub fn error_type(self) -> &'static str {
        match self {
            ModelListOwner::Key => "key_model_access_denied",
            ModelListOwner::Team => "team_model_access_denied",
            ModelListOwner::User => "user_model_access_denied",
        }
    }
}

/// The team's lists, as its (possibly cached) object holds them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TeamGrant<'a> {
    pub models: &'a [String],
    /// `access_model_names` of the unified access groups in the team's `access_group_ids`.
    pub group_models: &'a [String],
    /// The member's `allowed_models` in this team; empty means the team's list applies alone.
    pub member_allowed: &'a [String],
}

/// Every list that takes part in deciding one caller's model access.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ModelGrants<'a> {
    pub key: &'a [String],
    /// `access_model_names` of every unified access group in the key's `access_group_ids`.
    pub key_group_models: &'a [String],
    /// The part of `key_group_models` from groups assigned to the key or to its team: these may
    /// widen what the team allows.
    pub key_assigned_group_models: &'a [String],
    pub team: Option<TeamGrant<'a>>,
    /// The owner's `models`, for a personal key (no team) only.
    pub user: Option<&'a [String]>,
    /// The team's and the key's model aliases.
    pub aliases: Aliases<'a>,
}

/// What a discovery route leaves out of the decision: nothing on the corrected proxy; a listing
/// quirk drops the one source LiteLLM's listing forgot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    ignore_member_allowed: bool,
    ignore_user: bool,
    key_list_replaces_team: bool,
    ignore_access_groups: bool,
    ignore_wildcards: bool,
    drop_aliases: bool,
    names_pass_unresolved: bool,
}

impl Listing {
    pub fn for_quirks(quirks: Quirks) -> Listing {
        Listing {
            ignore_member_allowed: quirks.contains(Quirk::ListingIgnoresMemberAllowedModels),
            ignore_user: quirks.contains(Quirk::ListingIgnoresUserModels),
            key_list_replaces_team: quirks.contains(Quirk::ListingKeyModelsReplaceTeamModels),
            ignore_access_groups: quirks.contains(Quirk::ListingIgnoresAccessGroups),
            ignore_wildcards: quirks.contains(Quirk::ListingDropsWildcardMatches),
            drop_aliases: quirks.contains(Quirk::ListingDropsAliases),
            names_pass_unresolved: quirks.contains(Quirk::ListingIgnoresKeyAliases),
        }
    }
}

/// True when the list `allowed` lets its owner call `model`, whose deployments belong to the config
/// access groups `model_groups`.
pub(crate) fn list_allows(allowed: &[String], model: &str, model_groups: &[String]) -> bool {
    allows(allowed, model, model_groups, Listing::default())
}

/// `list_allows`, with what a listing quirk leaves out.
fn allows(allowed: &[String], model: &str, model_groups: &[String], listing: Listing) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|entry| {
            entry == "*"
                || entry == ALL_PROXY_MODELS
                || entry == model
                || model_groups.contains(entry)
                || (!listing.ignore_wildcards && entry.contains('*') && wildcard_matches(entry, model))
        })
}

/// A fallback list grants only when it holds something: an empty one is "no group", not "no limit".
fn fallback_allows(allowed: &[String], model: &str, model_groups: &[String], listing: Listing) -> bool {
    !allowed.is_empty() && allows(allowed, model, model_groups, listing)
}

/// LiteLLM's wildcard rule (an anchored regex where `*` became `.*` and dots stayed regex dots),
/// matched without compiling a regex on the request path: `*` is any run of characters, `.` any one
/// character, everything else itself.
fn wildcard_matches(pattern: &str, model: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let m: Vec<char> = model.chars().collect();
    let (mut pi, mut mi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while mi < m.len() {
        if pi < p.len() && (p[pi] == '.' || (p[pi] != '*' && p[pi] == m[mi])) {
            pi += 1;
            mi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, mi));
            pi += 1;
        } else if let Some((sp, sm)) = star {
            pi = sp + 1;
            mi = sm + 1;
            star = Some((sp, sm + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// One call's model, as the lists see it: the name they decide on (after aliases) and whether a
/// quirk lets it pass the key's and the team's lists unchecked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Asked<'a> {
    pub name: &'a str,
    pub passes_key_and_team_lists: bool,
}

impl<'a> Asked<'a> {
    /// `requested` through the caller's aliases.
    pub fn resolve(grants: &ModelGrants<'a>, requested: &'a str, rules: AliasRules) -> Asked<'a> {
        let r = grants.aliases.resolve(requested, rules);
        Asked { name: r.checked, passes_key_and_team_lists: r.passes_key_and_team_lists }
    }

    #[cfg(test)]
    pub fn plain(name: &'a str) -> Asked<'a> {
        Asked { name, passes_key_and_team_lists: false }
    }
}

/// The key level, checked before the key's budget.
pub(crate) fn check_key_level(
    grants: &ModelGrants<'_>,
    asked: Asked<'_>,
    model_groups: &[String],
) -> Result<(), ModelListOwner> {
    key_level(grants, asked, model_groups, Listing::default())
}

fn key_level(
    grants: &ModelGrants<'_>,
    asked: Asked<'_>,
    groups: &[String],
    listing: Listing,
) -> Result<(), ModelListOwner> {
    let model = asked.name;
    if asked.passes_key_and_team_lists || grants.key.iter().any(|m| m == ALL_TEAM_MODELS) {
        return Ok(());
    }
    let key_groups = if listing.ignore_access_groups { &[][..] } else { grants.key_group_models };
    if allows(grants.key, model, groups, listing) || fallback_allows(key_groups, model, groups, listing) {
        Ok(())
    } else {
        Err(ModelListOwner::Key)
    }
}

/// The team, member and user levels, checked after the key's budget.
pub(crate) fn check_beyond_key(
    grants: &ModelGrants<'_>,
    asked: Asked<'_>,
    model_groups: &[String],
) -> Result<(), ModelListOwner> {
    beyond_key(grants, asked, model_groups, Listing::default())
}

fn beyond_key(
    grants: &ModelGrants<'_>,
    asked: Asked<'_>,
    groups: &[String],
    listing: Listing,
) -> Result<(), ModelListOwner> {
    let model = asked.name;
    if let Some(team) = &grants.team {
        let (team_groups, key_assigned) = if listing.ignore_access_groups {
            (&[][..], &[][..])
        } else {
            (team.group_models, grants.key_assigned_group_models)
        };
        let key_decides = listing.key_list_replaces_team
            && !grants.key.is_empty()
            && !grants.key.iter().any(|m| m == ALL_TEAM_MODELS);
        let team_allows = asked.passes_key_and_team_lists
            || allows(team.models, model, groups, listing)
            || fallback_allows(team_groups, model, groups, listing)
            || fallback_allows(key_assigned, model, groups, listing);
        if !team_allows && !key_decides {
            return Err(ModelListOwner::Team);
        }
        if !listing.ignore_member_allowed && !allows(team.member_allowed, model, groups, listing) {
            return Err(ModelListOwner::Team);
        }
    } else if let Some(user) = grants.user.filter(|_| !listing.ignore_user) {
        // LiteLLM labels this refusal a key one.
        if user.iter().any(|m| m == NO_DEFAULT_MODELS) {
            return Err(ModelListOwner::Key);
        }
        if !allows(user, model, groups, listing) {
            return Err(ModelListOwner::User);
        }
    }
    Ok(())
}

/// Every level, as a call would check them (budgets aside), for a name no alias renames.
#[cfg(test)]
pub(crate) fn check_model(
    grants: &ModelGrants<'_>,
    model: &str,
    model_groups: &[String],
) -> Result<(), ModelListOwner> {
    check_key_level(grants, Asked::plain(model), model_groups)?;
    check_beyond_key(grants, Asked::plain(model), model_groups)
}

/// The names the caller sees listed: exactly those it may call, unless `listing` reproduces a
/// listing bug. The candidates are the names of `catalog` (public name, config access groups) in
/// their first order, then the team's and the key's alias names; a name is listed when the model
/// it is served by is in the catalog and every list allows that call.
pub(crate) fn visible_models<'c>(
    grants: &ModelGrants<'c>,
    catalog: &'c [(String, Vec<String>)],
    listing: Listing,
    rules: AliasRules,
) -> Vec<&'c str> {
    let mut candidates: Vec<&'c str> = Vec::new();
    let alias_names = if listing.drop_aliases { Vec::new() } else { grants.aliases.names() };
    for name in catalog.iter().map(|(n, _)| n.as_str()).chain(alias_names) {
        if !candidates.contains(&name) {
            candidates.push(name);
        }
    }
    candidates
        .into_iter()
        .filter(|name| {
            let served = grants.aliases.resolve(name, rules).served;
            let Some((_, groups)) = catalog.iter().find(|(n, _)| n == served) else {
                return false;
            };
            let passes = |asked: Asked<'_>| {
                key_level(grants, asked, groups, listing)
                    .and_then(|()| beyond_key(grants, asked, groups, listing))
                    .is_ok()
            };
            let unresolved = Asked { name, passes_key_and_team_lists: false };
            passes(Asked::resolve(grants, name, rules)) || (listing.names_pass_unresolved && passes(unresolved))
        })
        .collect()
}

#[cfg(test)]
mod tests_support {
    pub(super) use super::tests::{Who, catalog};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::model_alias::AliasMap;
    use rstest::rstest;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[rstest]
    #[case::empty_is_unrestricted(&[], "gpt-a", &[], true)]
    #[case::star(&["*"], "gpt-a", &[], true)]
    #[case::all_proxy_models(&["all-proxy-models"], "gpt-a", &[], true)]
    #[case::named(&["gpt-a"], "gpt-a", &[], true)]
    #[case::other_name(&["gpt-a"], "gpt-b", &[], false)]
    #[case::no_prefix_match(&["gpt-a"], "gpt-a-mini", &[], false)]
    #[case::config_access_group(&["grp1"], "gpt-b", &["grp1"], true)]
    #[case::other_config_access_group(&["grp1"], "gpt-b", &["grp2"], false)]
    #[case::provider_wildcard(&["openai/*"], "openai/gpt-4o", &[], true)]
    #[case::provider_wildcard_other_provider(&["openai/*"], "anthropic/claude", &[], false)]
    #[case::name_wildcard(&["gpt-*"], "gpt-4o", &[], true)]
    #[case::name_wildcard_miss(&["gpt-*"], "claude", &[], false)]
    #[case::wildcard_is_anchored(&["gpt-*"], "my-gpt-4o", &[], false)]
    #[case::wildcard_dot_is_any_character(&["gpt.4*"], "gpt-4o", &[], true)]
    #[case::dot_without_star_is_literal(&["gpt.4"], "gpt-4", &[], false)]
    #[case::no_default_models_is_just_a_name(&["no-default-models"], "gpt-a", &[], false)]
    fn one_list(#[case] allowed: &[&str], #[case] model: &str, #[case] groups: &[&str], #[case] expected: bool) {
        assert_eq!(list_allows(&list(allowed), model, &list(groups)), expected);
    }

    /// The lists of one caller, by name, so each table row reads as a situation.
    #[derive(Default)]
    pub(super) struct Who {
        key: Vec<String>,
        key_groups: Vec<String>,
        key_assigned: Vec<String>,
        team: Option<(Vec<String>, Vec<String>, Vec<String>)>,
        user: Option<Vec<String>>,
        key_aliases: AliasMap,
        team_aliases: AliasMap,
    }

    impl Who {
        pub(super) fn key_aliases(mut self, pairs: &[(&str, &str)]) -> Who {
            self.key_aliases = AliasMap::of(pairs);
            self
        }
        pub(super) fn team_aliases(mut self, pairs: &[(&str, &str)]) -> Who {
            self.team_aliases = AliasMap::of(pairs);
            self
        }
        pub(super) fn key(models: &[&str]) -> Who {
            Who { key: list(models), ..Who::default() }
        }
        pub(super) fn key_groups(mut self, models: &[&str], assigned: bool) -> Who {
            self.key_groups = list(models);
            if assigned {
                self.key_assigned = list(models);
            }
            self
        }
        pub(super) fn team(mut self, models: &[&str], groups: &[&str], member: &[&str]) -> Who {
            self.team = Some((list(models), list(groups), list(member)));
            self
        }
        pub(super) fn user(mut self, models: &[&str]) -> Who {
            self.user = Some(list(models));
            self
        }
        pub(super) fn grants(&self) -> ModelGrants<'_> {
            ModelGrants {
                key: &self.key,
                key_group_models: &self.key_groups,
                key_assigned_group_models: &self.key_assigned,
                team: self.team.as_ref().map(|(models, group_models, member_allowed)| TeamGrant {
                    models,
                    group_models,
                    member_allowed,
                }),
                user: self.user.as_deref(),
                aliases: Aliases {
                    router: None,
                    team: self.team.as_ref().map(|_| &self.team_aliases),
                    key: Some(&self.key_aliases),
                },
            }
        }
    }

    use ModelListOwner::{Key, Team, User};

    #[rstest]
    #[case::open_key(Who::key(&[]), "a", Ok(()))]
    #[case::key_list_allows(Who::key(&["a"]), "a", Ok(()))]
    #[case::key_list_refuses(Who::key(&["a"]), "b", Err(Key))]
    #[case::key_group_is_a_fallback(Who::key(&["a"]).key_groups(&["b"], false), "b", Ok(()))]
    #[case::key_group_grants_only_its_models(Who::key(&["a"]).key_groups(&["b"], false), "c", Err(Key))]
    #[case::all_team_models_without_team_is_open(Who::key(&["all-team-models"]), "a", Ok(()))]
    #[case::all_team_models_takes_the_teams_list(Who::key(&["all-team-models"]).team(&["a"], &[], &[]), "b", Err(Team))]
    #[case::all_team_models_allows_the_teams_models(Who::key(&["all-team-models"]).team(&["a"], &[], &[]), "a", Ok(()))]
    #[case::team_refuses_what_the_key_allows(Who::key(&["a", "b"]).team(&["a"], &[], &[]), "b", Err(Team))]
    #[case::open_team(Who::key(&[]).team(&[], &[], &[]), "b", Ok(()))]
    #[case::team_group_widens_the_team(Who::key(&[]).team(&["a"], &["c"], &[]), "c", Ok(()))]
    #[case::team_group_with_an_open_team_list(Who::key(&[]).team(&[], &["c"], &[]), "b", Ok(()))]
    #[case::no_default_team_with_a_group(Who::key(&[]).team(&["no-default-models"], &["c"], &[]), "c", Ok(()))]
    #[case::no_default_team_refuses_the_rest(Who::key(&[]).team(&["no-default-models"], &["c"], &[]), "a", Err(Team))]
    #[case::assigned_key_group_widens_the_team(Who::key(&[]).key_groups(&["b"], true).team(&["a"], &[], &[]), "b", Ok(()))]
    #[case::unassigned_key_group_does_not(Who::key(&[]).key_groups(&["b"], false).team(&["a"], &[], &[]), "b", Err(Team))]
    #[case::member_narrows_the_team(Who::key(&[]).team(&["a", "b"], &[], &["a"]), "b", Err(Team))]
    #[case::member_keeps_its_models(Who::key(&[]).team(&["a", "b"], &[], &["a"]), "a", Ok(()))]
    #[case::member_cannot_widen_the_team(Who::key(&[]).team(&["a"], &[], &["a", "b"]), "b", Err(Team))]
    #[case::personal_key_user_list(Who::key(&[]).user(&["a"]), "b", Err(User))]
    #[case::personal_key_user_allows(Who::key(&[]).user(&["a"]), "a", Ok(()))]
    #[case::no_default_models_user(Who::key(&[]).user(&["no-default-models"]), "a", Err(Key))]
    #[case::key_before_user(Who::key(&["a"]).user(&["b"]), "b", Err(Key))]
    #[case::user_list_ignored_for_team_keys(Who { user: Some(list(&["a"])), ..Who::key(&[]).team(&[], &[], &[]) }, "b", Ok(()))]
    fn every_source_in_litellms_order(
        #[case] who: Who,
        #[case] model: &str,
        #[case] expected: Result<(), ModelListOwner>,
    ) {
        assert_eq!(check_model(&who.grants(), model, &[]), expected);
    }

    pub(super) fn catalog(names: &[&str]) -> Vec<(String, Vec<String>)> {
        names.iter().map(|n| (n.to_string(), vec![])).collect()
    }

    #[rstest]
    #[case::member(Who::key(&[]).team(&["a", "b"], &[], &["a"]))]
    #[case::key_beyond_team(Who::key(&["a", "b"]).team(&["a"], &[], &[]))]
    #[case::personal_key(Who::key(&[]).user(&["a"]))]
    #[case::key_group(Who::key(&["a"]).key_groups(&["b"], false))]
    #[case::team_group(Who::key(&[]).team(&["a"], &["c"], &[]))]
    #[case::assigned_key_group(Who::key(&[]).key_groups(&["b"], true).team(&["a"], &[], &[]))]
    #[case::config_group_and_wildcard(Who::key(&["grp", "c*"]))]
    fn the_corrected_listing_is_exactly_what_may_be_called(#[case] who: Who) {
        let mut models = catalog(&["a", "b", "c", "c2", "a"]);
        models[1].1 = list(&["grp"]);
        let grants = who.grants();
        let shown = visible_models(&grants, &models, Listing::default(), AliasRules::default());
        for (name, groups) in &models {
            assert_eq!(shown.contains(&name.as_str()), check_model(&grants, name, groups).is_ok(), "{name}");
        }
        assert_eq!(shown.iter().filter(|m| **m == "a").count(), shown.contains(&"a") as usize, "no duplicates");
    }

    #[rstest]
    #[case::member(Quirk::ListingIgnoresMemberAllowedModels, Who::key(&[]).team(&["a", "b"], &[], &["a"]), &["a", "b"])]
    #[case::user(Quirk::ListingIgnoresUserModels, Who::key(&[]).user(&["a"]), &["a", "b", "c"])]
    #[case::key_over_team(Quirk::ListingKeyModelsReplaceTeamModels, Who::key(&["a", "b"]).team(&["a"], &[], &[]), &["a", "b"])]
    #[case::key_groups(Quirk::ListingIgnoresAccessGroups, Who::key(&["a"]).key_groups(&["b"], false), &["a"])]
    #[case::team_groups(Quirk::ListingIgnoresAccessGroups, Who::key(&[]).team(&["a"], &["c"], &[]), &["a"])]
    #[case::key_wildcard(Quirk::ListingDropsWildcardMatches, Who::key(&["a", "b*"]), &["a"])]
    fn each_listing_quirk_drops_one_source(#[case] quirk: Quirk, #[case] who: Who, #[case] expected: &[&str]) {
        let models = catalog(&["a", "b", "c"]);
        let listing = Listing::for_quirks(Quirks::NONE.with(quirk));
        let rules = AliasRules::default();
        assert_eq!(visible_models(&who.grants(), &models, listing, rules), expected);
        assert_ne!(
            visible_models(&who.grants(), &models, Listing::default(), rules),
            expected,
            "the quirk changes the list"
        );
    }
}

#[cfg(test)]
mod alias_tests {
    //! Aliases rename and never grant: every list decides on the model that serves the call.

    use super::tests_support::*;
    use super::*;
    use ModelListOwner::{Key, Team, User};
    use rstest::rstest;

    #[rstest]
    #[case::key_alias_of_an_allowed_model(Who::key(&["a"]).key_aliases(&[("x", "a")]), "x", &[], Ok(()))]
    #[case::allowing_the_alias_name_is_not_enough(Who::key(&["x"]).key_aliases(&[("x", "a")]), "x", &[], Err(Key))]
    #[case::owner_aliases_an_allowed_name_away(Who::key(&["a"]).key_aliases(&[("a", "b")]), "a", &[], Err(Key))]
    #[case::key_alias_past_the_team(Who::key(&[]).key_aliases(&[("a", "b")]).team(&["a"], &[], &[]), "a", &[], Err(Team))]
    #[case::key_alias_past_the_user(Who::key(&[]).key_aliases(&[("a", "b")]).user(&["a"]), "a", &[], Err(User))]
    #[case::open_key_alias(Who::key(&[]).key_aliases(&[("x", "b")]), "x", &[], Ok(()))]
    #[case::team_alias_within_the_team(Who::key(&[]).team(&["a", "b"], &[], &[]).team_aliases(&[("x", "b")]), "x", &[], Ok(()))]
    #[case::team_alias_outside_the_team(Who::key(&[]).team(&["a"], &[], &[]).team_aliases(&[("x", "b")]), "x", &[], Err(Team))]
    #[case::team_alias_past_the_key(Who::key(&["a"]).team(&["a", "b"], &[], &[]).team_aliases(&[("x", "b")]), "x", &[], Err(Key))]
    #[case::team_alias_past_the_member(Who::key(&[]).team(&["a", "b"], &[], &["a"]).team_aliases(&[("x", "b")]), "x", &[], Err(Team))]
    #[case::quirk_refuses_an_alias_of_an_allowed_model(Who::key(&["a"]).key_aliases(&[("x", "a")]), "x", &[Quirk::KeyAliasCheckedBeforeResolution], Err(Key))]
    #[case::quirk_serves_what_the_owner_aliased(Who::key(&["a"]).key_aliases(&[("a", "b")]), "a", &[Quirk::KeyAliasCheckedBeforeResolution], Ok(()))]
    #[case::quirk_serves_past_the_user(Who::key(&[]).key_aliases(&[("a", "b")]).user(&["a"]), "a", &[Quirk::KeyAliasCheckedBeforeResolution], Ok(()))]
    #[case::quirk_team_alias_past_the_key(Who::key(&["a"]).team(&["a"], &[], &[]).team_aliases(&[("x", "b")]), "x", &[Quirk::TeamAliasBypassesModelLists], Ok(()))]
    #[case::quirk_team_alias_still_meets_the_member(Who::key(&[]).team(&["a", "b"], &[], &["a"]).team_aliases(&[("x", "b")]), "x", &[Quirk::TeamAliasBypassesModelLists], Err(Team))]
    fn aliases_rename_and_never_grant(
        #[case] who: Who,
        #[case] requested: &str,
        #[case] quirks: &[Quirk],
        #[case] expected: Result<(), ModelListOwner>,
    ) {
        let grants = who.grants();
        let asked = Asked::resolve(&grants, requested, rules(quirks));
        let got = check_key_level(&grants, asked, &[]).and_then(|()| check_beyond_key(&grants, asked, &[]));
        assert_eq!(got, expected);
    }

    #[rstest]
    #[case::alias_of_an_allowed_model(Who::key(&["a"]).key_aliases(&[("x", "a")]), &[], &["a", "x"])]
    #[case::alias_name_in_the_key_list(Who::key(&["x"]).key_aliases(&[("x", "a")]), &[], &[])]
    #[case::shadowed_model(Who::key(&["a"]).key_aliases(&[("a", "b")]), &[], &[])]
    #[case::open_key(Who::key(&[]).key_aliases(&[("x", "b"), ("gone", "nowhere")]), &[], &["a", "b", "c", "x"])]
    #[case::team_alias(Who::key(&[]).team(&["a", "b"], &[], &[]).team_aliases(&[("x", "b"), ("y", "c")]), &[], &["a", "b", "x"])]
    #[case::listing_drops_aliases(Who::key(&[]).team(&["a", "b"], &[], &[]).team_aliases(&[("x", "b")]), &[Quirk::ListingDropsAliases], &["a", "b"])]
    #[case::unresolved_alias_name_in_the_key_list(Who::key(&["x"]).key_aliases(&[("x", "a")]), &[Quirk::ListingIgnoresKeyAliases], &["x"])]
    #[case::unresolved_shadowed_model(Who::key(&[]).key_aliases(&[("a", "b")]).team(&["a"], &[], &[]), &[Quirk::ListingIgnoresKeyAliases], &["a"])]
    #[case::corrected_shadowed_model(Who::key(&[]).key_aliases(&[("a", "b")]).team(&["a"], &[], &[]), &[], &[])]
    #[case::quirk_lists_the_shadowed_model(Who::key(&["a"]).key_aliases(&[("a", "b")]), &[Quirk::KeyAliasCheckedBeforeResolution], &["a"])]
    fn the_listing_is_what_answers(#[case] who: Who, #[case] quirks: &[Quirk], #[case] expected: &[&str]) {
        let models = catalog(&["a", "b", "c"]);
        let quirks_set = quirks.iter().fold(Quirks::NONE, |q, k| q.with(*k));
        let grants = who.grants();
        let shown = visible_models(&grants, &models, Listing::for_quirks(quirks_set), rules(quirks));
        assert_eq!(shown, expected);
    }

    fn rules(quirks: &[Quirk]) -> AliasRules {
        AliasRules::for_quirks(quirks.iter().fold(Quirks::NONE, |q, k| q.with(*k)))
    }
}
