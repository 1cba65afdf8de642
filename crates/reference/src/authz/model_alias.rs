//! Model aliases: the name a client sends, and the model group that serves it. The
//! `model_group_alias` of the key's `router_settings` (else of its team's) applies first, then the
//! team's `model_aliases`, then the key's `aliases` on what those gave, as LiteLLM 1.109 rewrites
//! the request before routing it.
//!
//! An alias renames; it never grants. Every model list decides on the model that will serve the
//! call, so neither a key's owner (who may set the key's aliases) nor a team alias reaches a model
//! that the key, team, member or user lists refuse. Two LiteLLM bugs are reproduced by quirks: 1.83
//! checks the lists before the key's aliases apply (`key_alias_checked_before_resolution`), and both
//! versions let a team alias pass the key and team lists on its own
//! (`team_alias_bypasses_model_lists`).

use gateproof_format::{Quirk, Quirks};
use serde_json::Value;

/// One owner's aliases, as stored: a JSON object from name to model group. Entries whose target is
/// not a non-empty string rename nothing (LiteLLM ignores them too).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct AliasMap(Vec<(String, String)>);

impl AliasMap {
    pub fn from_json(value: &Value) -> AliasMap {
        let pairs = value
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, target)| match target.as_str() {
                Some(t) if !t.is_empty() => Some((name.clone(), t.to_string())),
                _ => None,
            })
            .collect();
        AliasMap(pairs)
    }

    /// The `model_group_alias` of a `router_settings` object, whose entries are a target or
    /// `{"model": target, "hidden": bool}`.
    pub fn from_router_settings(settings: &Value) -> AliasMap {
        let entries = settings.get("model_group_alias").and_then(Value::as_object).into_iter().flatten();
        let pairs = entries
            .filter_map(|(name, entry)| {
                let target = entry.get("model").unwrap_or(entry).as_str().filter(|t| !t.is_empty())?;
                Some((name.clone(), target.to_string()))
            })
            .collect();
        AliasMap(pairs)
    }

    #[cfg(test)]
    pub fn of(pairs: &[(&str, &str)]) -> AliasMap {
        AliasMap(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    fn target(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

/// The aliases in force for one key: the router settings' (the key's, else its team's), its
/// team's and its own.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Aliases<'a> {
    pub router: Option<&'a AliasMap>,
    pub team: Option<&'a AliasMap>,
    pub key: Option<&'a AliasMap>,
}

/// What the alias quirks change, read once from the proxy's quirks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AliasRules {
    check_before_key_alias: bool,
    team_alias_passes_lists: bool,
    router_alias_ignored: bool,
}

impl AliasRules {
    pub fn for_quirks(quirks: Quirks) -> AliasRules {
        AliasRules {
            check_before_key_alias: quirks.contains(Quirk::KeyAliasCheckedBeforeResolution),
            team_alias_passes_lists: quirks.contains(Quirk::TeamAliasBypassesModelLists),
            router_alias_ignored: quirks.contains(Quirk::RouterSettingsAliasIgnored),
        }
    }
}

/// A requested name, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved<'a> {
    /// The model group the call is routed to.
    pub served: &'a str,
    /// The name the model lists decide on: `served`, unless a quirk checks an earlier one.
    pub checked: &'a str,
    /// A quirk lets this team alias pass the key's and the team's lists without a check.
    pub passes_key_and_team_lists: bool,
}

impl<'a> Aliases<'a> {
    /// Every alias name, the team's first, each once.
    pub fn names(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        for map in [self.router, self.team, self.key].into_iter().flatten() {
            for name in map.names() {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    pub fn resolve(&self, requested: &'a str, rules: AliasRules) -> Resolved<'a> {
        let router = self.router.filter(|_| !rules.router_alias_ignored);
        let requested = router.and_then(|m| m.target(requested)).unwrap_or(requested);
        let team_target = self.team.and_then(|m| m.target(requested));
        let after_team = team_target.unwrap_or(requested);
        let served = self.key.and_then(|m| m.target(after_team)).unwrap_or(after_team);
        Resolved {
            served,
            checked: if rules.check_before_key_alias { after_team } else { served },
            passes_key_and_team_lists: rules.team_alias_passes_lists && team_target.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn quirky(quirks: &[Quirk]) -> AliasRules {
        AliasRules::for_quirks(quirks.iter().fold(Quirks::NONE, |q, k| q.with(*k)))
    }

    /// (requested, served, checked, passes the key and team lists).
    #[rstest]
    #[case::no_alias("z", &[], "z", "z", false)]
    #[case::key_alias("x", &[], "b", "b", false)]
    #[case::team_alias("t", &[], "c", "c", false)]
    #[case::team_then_key_alias("tk", &[], "b", "b", false)]
    #[case::key_alias_shadows_a_model("a", &[], "b", "b", false)]
    #[case::checked_before_the_key_alias("x", &[Quirk::KeyAliasCheckedBeforeResolution], "b", "x", false)]
    #[case::team_alias_still_applies_first("tk", &[Quirk::KeyAliasCheckedBeforeResolution], "b", "x", false)]
    #[case::team_alias_passes("t", &[Quirk::TeamAliasBypassesModelLists], "c", "c", true)]
    #[case::key_alias_never_passes("x", &[Quirk::TeamAliasBypassesModelLists], "b", "b", false)]
    #[case::router_alias_first("r", &[], "c", "c", false)]
    #[case::router_alias_alone("rr", &[], "z", "z", false)]
    #[case::router_alias_ignored("rr", &[Quirk::RouterSettingsAliasIgnored], "rr", "rr", false)]
    fn resolution(
        #[case] requested: &str,
        #[case] quirks: &[Quirk],
        #[case] served: &str,
        #[case] checked: &str,
        #[case] passes: bool,
    ) {
        let team = AliasMap::of(&[("t", "c"), ("tk", "x")]);
        let key = AliasMap::of(&[("x", "b"), ("a", "b")]);
        let router = AliasMap::of(&[("r", "t"), ("rr", "z")]);
        let aliases = Aliases { router: Some(&router), team: Some(&team), key: Some(&key) };
        let got = aliases.resolve(requested, quirky(quirks));
        assert_eq!(got, Resolved { served, checked, passes_key_and_team_lists: passes });
    }

    #[test]
    fn only_string_targets_rename() {
        let map = AliasMap::from_json(&serde_json::json!({"x": "b", "y": 3, "z": "", "w": {"model": "b"}}));
        assert_eq!(map, AliasMap::of(&[("x", "b")]));
        let aliases = Aliases { key: Some(&map), ..Aliases::default() };
        assert_eq!(aliases.resolve("y", AliasRules::default()).served, "y");
        assert_eq!(aliases.resolve("x", AliasRules::default()).served, "b");
    }

    #[test]
    fn names_are_the_teams_first_each_once() {
        let team = AliasMap::of(&[("t", "c"), ("x", "a")]);
        let key = AliasMap::of(&[("x", "b"), ("k", "b")]);
        let router = AliasMap::of(&[("r", "a"), ("t", "b")]);
        let aliases = Aliases { router: Some(&router), team: Some(&team), key: Some(&key) };
        assert_eq!(aliases.names(), ["r", "t", "x", "k"]);
    }

    #[test]
    fn router_settings_take_both_entry_shapes() {
        let settings = serde_json::json!({"model_group_alias": {"a": "b", "c": {"model": "d", "hidden": true}, "e": 1}, "num_retries": 2});
        assert_eq!(AliasMap::from_router_settings(&settings), AliasMap::of(&[("a", "b"), ("c", "d")]));
        assert_eq!(AliasMap::from_router_settings(&serde_json::json!({})), AliasMap::default());
    }
}
