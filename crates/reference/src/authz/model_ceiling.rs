//! Ceilings at creation: which models a key may ask for within its team's, and a team within its
//! organization's. The table in the tests (`CEILINGS`) records what each LiteLLM version does and
//! what the reference does, and checks these functions against every row; a quirk brings back
//! LiteLLM's behaviour where the reference corrects it.

use gateproof_format::{Quirk, Quirks};

use super::denial::Denial;
use super::model_access::list_allows;

const ALL_TEAM_MODELS: &str = "all-team-models";
const ALL_PROXY_MODELS: &str = "all-proxy-models";

/// What a key asked for that its team does not allow, in request order; `catalog` gives the config
/// access groups of each model name (`model_info.access_groups` of its deployments).
pub(crate) fn key_models_outside_team(
    requested: &[String],
    team_models: &[String],
    team_group_models: &[String],
    catalog: &[(String, Vec<String>)],
) -> Vec<String> {
    requested
        .iter()
        .filter(|m| m.as_str() != ALL_TEAM_MODELS)
        .filter(|m| {
            let groups: Vec<String> =
                catalog.iter().filter(|(name, _)| name == *m).flat_map(|(_, g)| g.iter().cloned()).collect();
            let within = list_allows(team_models, m, &groups)
                || (!team_group_models.is_empty() && list_allows(team_group_models, m, &groups));
            !within
        })
        .cloned()
        .collect()
}

/// The `/key/generate` and `/key/update` ceiling: a team key may not ask for a model its team
/// refuses. With `key_models_not_capped_by_team`, LiteLLM's missing check.
pub(crate) fn check_key_models_within_team(
    team_id: &str,
    requested: &[String],
    team_models: &[String],
    team_group_models: &[String],
    catalog: &[(String, Vec<String>)],
    quirks: Quirks,
) -> Result<(), Denial> {
    if quirks.contains(Quirk::KeyModelsNotCappedByTeam) {
        return Ok(());
    }
    let outside = key_models_outside_team(requested, team_models, team_group_models, catalog);
    if outside.is_empty() {
        return Ok(());
    }
    let mut allowed = team_models.to_vec();
    allowed.extend(team_group_models.iter().cloned());
    Err(Denial::KeyModelsOutsideTeam { team_id: team_id.to_string(), team_models: allowed, outside })
}

/// The `/team/new` ceiling, as both versions have it: names the organization's list lacks.
pub(crate) fn team_models_outside_org(requested: &[String], org_models: &[String]) -> Vec<String> {
    if org_models.is_empty() || org_models.iter().any(|m| m == ALL_PROXY_MODELS) {
        return Vec::new();
    }
    requested.iter().filter(|m| !org_models.contains(m)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[rstest]
    #[case::inherit(&[], &["a"], &[], &[])]
    #[case::within(&["a"], &["a", "b"], &[], &[])]
    #[case::outside(&["a", "c"], &["a", "b"], &[], &["c"])]
    #[case::open_team(&["z"], &[], &[], &[])]
    #[case::all_team_models(&["all-team-models"], &["a"], &[], &[])]
    #[case::team_group(&["c"], &["a"], &["c"], &[])]
    #[case::config_group_of_the_team(&["g1"], &["grp"], &[], &["g1"])]
    #[case::model_in_the_teams_config_group(&["g1"], &["grpx"], &[], &[])]
    #[case::team_wildcard(&["openai/gpt-4o"], &["openai/*"], &[], &[])]
    #[case::key_wildcard_wider_than_team(&["openai/*"], &["openai/gpt-4o"], &[], &["openai/*"])]
    #[case::all_proxy_models_team(&["z"], &["all-proxy-models"], &[], &[])]
    fn a_key_asks_within_its_team(
        #[case] requested: &[&str],
        #[case] team: &[&str],
        #[case] groups: &[&str],
        #[case] outside: &[&str],
    ) {
        let catalog = vec![("g1".to_string(), list(&["grpx"]))];
        assert_eq!(key_models_outside_team(&list(requested), &list(team), &list(groups), &catalog), list(outside));
    }

    #[test]
    fn the_quirk_lets_any_model_through_with_litellms_message_otherwise() {
        let (requested, team) = (list(&["a", "c"]), list(&["a"]));
        let denial = check_key_models_within_team("t1", &requested, &team, &[], &[], Quirks::NONE).unwrap_err();
        assert_eq!(denial.status(), 403);
        assert_eq!(denial.error_type(), Some("team_model_access_denied"));
        assert_eq!(
            denial.message(),
            "team not allowed to access model. This team can only access models=['a']. Tried to access c"
        );
        let on = Quirks::NONE.with(Quirk::KeyModelsNotCappedByTeam);
        assert_eq!(check_key_models_within_team("t1", &requested, &team, &[], &[], on), Ok(()));
    }

    #[rstest]
    #[case::open_org(&["a"], &[], &[])]
    #[case::all_proxy_models(&["a"], &["all-proxy-models"], &[])]
    #[case::verbatim(&["a", "b"], &["a"], &["b"])]
    #[case::empty_team_list(&[], &["a"], &[])]
    fn a_team_asks_within_its_org(#[case] requested: &[&str], #[case] org: &[&str], #[case] outside: &[&str]) {
        assert_eq!(team_models_outside_org(&list(requested), &list(org)), list(outside));
    }

    /// One ceiling, as each version enforces it, on one request that crosses it.
    struct CeilingRow {
        ceiling: &'static str,
        /// Whether the crossing request is accepted on 1.83.14, on 1.109.1, and by the reference.
        accepted: [bool; 3],
        /// The quirk that restores LiteLLM's answer where the reference differs.
        quirk: Option<Quirk>,
        /// Whether this implementation accepts the request with the given quirks.
        decide: fn(Quirks) -> bool,
    }

    const CEILINGS: &[CeilingRow] = &[
        CeilingRow {
            ceiling: "key models within the team's, /key/generate and /key/update (BerriAI/litellm#38629)",
            accepted: [true, true, false],
            quirk: Some(Quirk::KeyModelsNotCappedByTeam),
            decide: |q| check_key_models_within_team("t", &list(&["a", "b"]), &list(&["a"]), &[], &[], q).is_ok(),
        },
        CeilingRow {
            ceiling: "team models within the org's, /team/new: verbatim names unless the org has all-proxy-models",
            accepted: [false, false, false],
            quirk: None,
            decide: |_| team_models_outside_org(&list(&["a", "b"]), &list(&["a"])).is_empty(),
        },
    ];

    #[test]
    fn every_ceiling_decides_as_its_row_says_for_each_version() {
        for row in CEILINGS {
            let [old, new, corrected] = row.accepted;
            assert_eq!((row.decide)(Quirks::NONE), corrected, "{}", row.ceiling);
            let litellm = row.quirk.map_or(Quirks::NONE, |q| Quirks::NONE.with(q));
            assert_eq!((row.decide)(litellm), old, "{}", row.ceiling);
            assert_eq!(old, new, "{}: the versions agree, so one quirk reproduces both", row.ceiling);
        }
    }
}
