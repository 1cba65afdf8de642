//! Which models a key, its team or its user may call, as a pure function.

use regex::Regex;

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

/// True when an object whose `models` list is `allowed` may call `model`, whose deployments belong
/// to the config access groups `model_groups`.
pub(crate) fn model_allowed(allowed: &[String], model: &str, model_groups: &[String]) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|entry| {
            entry == "*"
                || entry == "all-proxy-models"
                || entry == model
                || model_groups.contains(entry)
                || (entry.contains('*') && wildcard_matches(entry, model))
        })
}

/// LiteLLM's wildcard rule: `*` becomes `.*`, the pattern is anchored, dots stay regex dots.
fn wildcard_matches(pattern: &str, model: &str) -> bool {
    Regex::new(&format!("^{}$", pattern.replace('*', ".*"))).is_ok_and(|re| re.is_match(model))
}

/// The key's effective list: `all-team-models` stands for the team's models (LiteLLM 1.109), and
/// for nothing when the key has no team.
pub(crate) fn effective_key_models(key_models: &[String], team_models: Option<&[String]>) -> Option<Vec<String>> {
    if key_models.iter().any(|m| m == "all-team-models") {
        return team_models.map(<[String]>::to_vec).filter(|m| !m.is_empty());
    }
    Some(key_models.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn model_lists_allow_and_deny_like_litellm() {
        let cases: &[(&[&str], &str, &[&str], bool)] = &[
            (&[], "gpt-a", &[], true),
            (&["*"], "gpt-a", &[], true),
            (&["all-proxy-models"], "gpt-a", &[], true),
            (&["gpt-a"], "gpt-a", &[], true),
            (&["gpt-a"], "gpt-b", &[], false),
            (&["gpt-a"], "gpt-a-mini", &[], false),
            (&["grp1"], "gpt-b", &["grp1"], true),
            (&["grp1"], "gpt-b", &["grp2"], false),
            (&["openai/*"], "openai/gpt-4o", &[], true),
            (&["gpt-*"], "gpt-4o", &[], true),
            (&["gpt-*"], "claude", &[], false),
            (&["gpt.4"], "gpt-4", &[], false),
        ];
        for (allowed, model, groups, expected) in cases {
            assert_eq!(
                model_allowed(&list(allowed), model, &list(groups)),
                *expected,
                "{allowed:?} {model} {groups:?}"
            );
        }
    }

    #[test]
    fn all_team_models_stands_for_the_teams_list() {
        let team = list(&["gpt-a"]);
        assert_eq!(effective_key_models(&list(&["all-team-models"]), Some(&team)), Some(team.clone()));
        assert_eq!(effective_key_models(&list(&["all-team-models"]), None), None);
        assert_eq!(effective_key_models(&list(&["gpt-b"]), Some(&team)), Some(list(&["gpt-b"])));
    }
}
