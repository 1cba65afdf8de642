//! The checks an LLM route runs before calling the upstream, in LiteLLM's order: key model access,
//! key budget, team, member and user model access (`model_access`), team budget, user budget.
//! Limits come from the (possibly cached) objects, spend from the counters.

use super::model_access::{Asked, ModelGrants, ModelListOwner, check_beyond_key, check_key_level};
use super::model_alias::AliasRules;
use crate::domain::Key;
use crate::error::py_float;
use crate::{Quirk, Quirks};

/// What the checks need to know about the request; plain values the handler loaded.
#[derive(Clone, Debug, Default)]
pub(crate) struct LlmRequest<'a> {
    /// The name the client sent; the lists decide on the model it is served by (`model_alias`).
    pub model: &'a str,
    /// The config access groups of the deployments that serve the call.
    pub model_groups: &'a [String],
    pub alias_rules: AliasRules,
    /// Every model list that decides access.
    pub grants: ModelGrants<'a>,
    /// Both costs explicitly 0: LiteLLM skips every budget check.
    pub free_model: bool,
    pub key: KeyFacts<'a>,
    pub team: Option<TeamFacts<'a>>,
    /// Only for a personal key (no team).
    pub user: Option<UserFacts<'a>>,
    /// The key's user in the key's team, when both are set.
    pub member: Option<MemberFacts<'a>>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct KeyFacts<'a> {
    /// The key's hash, which LiteLLM names in a per-model budget refusal.
    pub token: &'a str,
    pub max_budget: Option<f64>,
    pub spend: f64,
    pub key_alias: Option<&'a str>,
    pub key_name: Option<&'a str>,
    /// The key's budget for the model that serves the call (`model_max_budget`), when it has one.
    pub model_budget: Option<ModelBudgetFacts<'a>>,
}

impl<'a> KeyFacts<'a> {
    /// The key's own limit and labels, with what it has spent; no per-model budget.
    pub(crate) fn of(key: &'a Key, spend: f64) -> KeyFacts<'a> {
        KeyFacts {
            token: &key.token,
            max_budget: key.max_budget,
            spend,
            key_alias: key.key_alias.as_deref(),
            key_name: key.key_name.as_deref(),
            model_budget: None,
        }
    }
}

/// A per-model budget and what the key spent on that model within its period.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModelBudgetFacts<'a> {
    pub model: &'a str,
    pub limit: f64,
    pub spend: f64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct TeamFacts<'a> {
    pub team_id: &'a str,
    pub max_budget: Option<f64>,
    pub spend: f64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct UserFacts<'a> {
    pub user_id: &'a str,
    pub max_budget: Option<f64>,
    pub spend: f64,
}

/// What one member may spend through its team's keys (`max_budget_in_team`), and has.
#[derive(Clone, Debug, Default)]
pub(crate) struct MemberFacts<'a> {
    pub user_id: &'a str,
    pub team_id: &'a str,
    pub max_budget: Option<f64>,
    pub spend: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LlmDenial {
    ModelNotAllowed { owner: ModelListOwner, model: String },
    BudgetExceeded { message: String },
}

impl LlmDenial {
    /// LiteLLM 1.109's status: 403 for a model, 422 (`budget_exceeded_status_code`) for a budget.
    pub fn status(&self) -> u16 {
        match self {
            LlmDenial::ModelNotAllowed { .. } => 403,
            LlmDenial::BudgetExceeded { .. } => 422,
        }
    }

    pub fn error_type(&self) -> &'static str {
        match self {
            LlmDenial::ModelNotAllowed { owner, .. } => owner.error_type(),
            LlmDenial::BudgetExceeded { .. } => "budget_exceeded",
        }
    }

    pub fn param(&self) -> Option<&'static str> {
        match self {
            LlmDenial::ModelNotAllowed { .. } => Some("model"),
            LlmDenial::BudgetExceeded { .. } => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            LlmDenial::ModelNotAllowed { model, .. } => format!(
                "The requested model '{model}' is not available for this API key, or the model name is invalid. Check the models available to you and try again."
            ),
            LlmDenial::BudgetExceeded { message } => message.clone(),
        }
    }
}

/// LiteLLM 1.109's `Key=` label: the alias or `key`, then ` (sk-...abcd)` when the stored name is one.
fn key_label(key: &KeyFacts<'_>) -> String {
    let name = key.key_name.filter(|n| {
        n.strip_prefix("sk-...").is_some_and(|tail| tail.chars().count() <= 4 && tail.chars().all(|c| !c.is_control()))
    });
    let alias = key.key_alias.unwrap_or("key");
    match name {
        Some(n) => format!("{alias} ({n})"),
        None => alias.to_string(),
    }
}

/// The budget error of a key whose own `max_budget` is spent (a key trips at its budget).
pub(crate) fn key_budget_spent(key: &KeyFacts<'_>) -> Option<LlmDenial> {
    let max = key.max_budget.filter(|m| key.spend >= *m)?;
    Some(LlmDenial::BudgetExceeded {
        message: format!(
            "Budget has been exceeded! Key={} Current cost: {}, Max budget: {}",
            key_label(key),
            py_float(key.spend),
            py_float(max)
        ),
    })
}

/// Which budgets a route outside inference checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BudgetsChecked {
    None,
    /// The key's own `max_budget` only.
    Key,
    /// The key's and its owners' (`budget_spent`).
    KeyAndOwners,
}

/// The budgets checked on `route`, a route outside inference. Both LiteLLM versions check every
/// budget on a tool call, which may cost; LiteLLM 1.109 exempts the model and tool listings, which
/// cost nothing. With `discovery_refuses_over_budget` `/v1/models`, `/models` and
/// `/mcp-rest/tools/list` refuse a key whose own budget is spent, as LiteLLM 1.83 does
/// (BerriAI/litellm#27923; 1.83 checks the team's budgets on every route, `team_budgets_on_every_route`).
pub(crate) fn budget_checked_on(route: &str, quirks: Quirks) -> BudgetsChecked {
    match route {
        "/mcp-rest/tools/call" => BudgetsChecked::KeyAndOwners,
        "/v1/models" | "/models" | "/mcp-rest/tools/list" if quirks.contains(Quirk::DiscoveryRefusesOverBudget) => {
            BudgetsChecked::Key
        }
        _ => BudgetsChecked::None,
    }
}

pub(crate) fn check_llm_request(req: &LlmRequest<'_>) -> Result<(), LlmDenial> {
    let denied = |owner| LlmDenial::ModelNotAllowed { owner, model: req.model.to_string() };
    let asked = Asked::resolve(&req.grants, req.model, req.alias_rules);
    check_key_level(&req.grants, asked, req.model_groups).map_err(denied)?;
    let budgets = !req.free_model;
    if let Some(spent) = key_budget_spent(&req.key).filter(|_| budgets) {
        return Err(spent);
    }
    if let Some(mb) = req.key.model_budget.as_ref().filter(|mb| budgets && mb.spend >= mb.limit) {
        return Err(LlmDenial::BudgetExceeded {
            message: format!(
                "LiteLLM Virtual Key: {}, key_alias: {}, exceeded budget for model={}",
                req.key.token,
                req.key.key_alias.unwrap_or("None"),
                mb.model
            ),
        });
    }
    check_beyond_key(&req.grants, asked, req.model_groups).map_err(denied)?;
    match owner_budget_spent(req.team.as_ref(), req.member.as_ref(), req.user.as_ref()).filter(|_| budgets) {
        Some(spent) => Err(spent),
        None => Ok(()),
    }
}

/// Every budget a route outside inference checks (`budget_checked_on`), in LiteLLM's order: the
/// key's own, then its owners' (`owner_budget_spent`). No model serves such a call, so no per-model
/// budget applies.
pub(crate) fn budget_spent(
    key: &KeyFacts<'_>,
    team: Option<&TeamFacts<'_>>,
    member: Option<&MemberFacts<'_>>,
    user: Option<&UserFacts<'_>>,
) -> Option<LlmDenial> {
    key_budget_spent(key).or_else(|| owner_budget_spent(team, member, user))
}

/// The budgets of a key's owners: its team's, the key's user within that team, and for a personal
/// key its user's. A team trips only above its budget, a member or user at it (LiteLLM's
/// comparisons).
pub(crate) fn owner_budget_spent(
    team: Option<&TeamFacts<'_>>,
    member: Option<&MemberFacts<'_>>,
    user: Option<&UserFacts<'_>>,
) -> Option<LlmDenial> {
    team.and_then(team_budget_spent)
        .or_else(|| member.and_then(member_budget_spent))
        .or_else(|| user.and_then(user_budget_spent))
}

fn team_budget_spent(team: &TeamFacts<'_>) -> Option<LlmDenial> {
    let max = team.max_budget.filter(|m| team.spend > *m)?;
    Some(LlmDenial::BudgetExceeded {
        message: format!(
            "Budget has been exceeded! Team={} Current cost: {}, Max budget: {}",
            team.team_id,
            py_float(team.spend),
            py_float(max)
        ),
    })
}

fn member_budget_spent(member: &MemberFacts<'_>) -> Option<LlmDenial> {
    let max = member.max_budget.filter(|m| member.spend >= *m)?;
    Some(LlmDenial::BudgetExceeded {
        message: format!(
            "Budget has been exceeded! TeamMember={}:{} Current cost: {}, Max budget: {}",
            member.user_id,
            member.team_id,
            py_float(member.spend),
            py_float(max)
        ),
    })
}

fn user_budget_spent(user: &UserFacts<'_>) -> Option<LlmDenial> {
    let max = user.max_budget.filter(|m| user.spend >= *m)?;
    Some(LlmDenial::BudgetExceeded {
        message: format!(
            "ExceededBudget: User={} over budget. Spend={}, Budget={}",
            user.user_id,
            py_float(user.spend),
            py_float(max)
        ),
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::model_access::TeamGrant;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[rstest]
    #[case::at_the_budget(0.05, Some(0.05), true)]
    #[case::over_it(0.06, Some(0.05), true)]
    #[case::below_it(0.04, Some(0.05), false)]
    #[case::no_member_budget(100.0, None, false)]
    fn a_members_budget_in_its_team_trips_at_the_limit(
        #[case] spend: f64,
        #[case] max_budget: Option<f64>,
        #[case] refused: bool,
    ) {
        let member = MemberFacts { user_id: "u1", team_id: "t1", max_budget, spend };
        let got = check_llm_request(&LlmRequest { model: "gpt-a", member: Some(member), ..LlmRequest::default() });
        match got {
            Err(denial) => {
                assert!(refused, "refused below the budget: {denial:?}");
                assert_eq!(denial.status(), 422);
                assert_eq!(denial.error_type(), "budget_exceeded");
                assert_eq!(
                    denial.message(),
                    format!("Budget has been exceeded! TeamMember=u1:t1 Current cost: {spend}, Max budget: 0.05")
                );
            }
            Ok(()) => assert!(!refused, "allowed at or over the budget"),
        }
    }

    #[test]
    fn a_free_model_skips_the_member_budget() {
        let member = MemberFacts { user_id: "u1", team_id: "t1", max_budget: Some(0.0), spend: 1.0 };
        let req = LlmRequest { model: "gpt-a", free_model: true, member: Some(member), ..LlmRequest::default() };
        assert_eq!(check_llm_request(&req), Ok(()));
    }

    #[test]
    fn key_budget_trips_at_the_limit_with_litellms_message() {
        let key = KeyFacts { max_budget: Some(0.5), spend: 0.5, key_name: Some("sk-...AbCd"), ..KeyFacts::default() };
        let denial = check_llm_request(&LlmRequest { model: "gpt-a", key, ..LlmRequest::default() }).unwrap_err();
        assert_eq!(denial.status(), 422);
        assert_eq!(denial.error_type(), "budget_exceeded");
        assert_eq!(
            denial.message(),
            "Budget has been exceeded! Key=key (sk-...AbCd) Current cost: 0.5, Max budget: 0.5"
        );
        let below = KeyFacts { max_budget: Some(0.5), spend: 0.49, ..KeyFacts::default() };
        assert_eq!(check_llm_request(&LlmRequest { model: "gpt-a", key: below, ..LlmRequest::default() }), Ok(()));
    }

    /// The key label uses the alias, and a well-formed key name only.
    #[rstest]
    #[case::alias_and_name(Some("mine"), Some("sk-...AbCd"), "mine (sk-...AbCd)")]
    #[case::name_only(None, Some("sk-...AbCd"), "key (sk-...AbCd)")]
    #[case::malformed_name(None, Some("sk-...toolong"), "key")]
    #[case::alias_only(Some("mine"), None, "mine")]
    fn key_label_of(#[case] alias: Option<&str>, #[case] name: Option<&str>, #[case] expected: &str) {
        assert_eq!(key_label(&KeyFacts { key_alias: alias, key_name: name, ..KeyFacts::default() }), expected);
    }

    /// The team budget trips only above the limit.
    #[rstest]
    #[case::at_the_limit(1.0, None)]
    #[case::above_the_limit(1.01, Some("Budget has been exceeded! Team=t1 Current cost: 1.01, Max budget: 1.0"))]
    fn team_budget(#[case] spend: f64, #[case] refusal: Option<&str>) {
        let team = TeamFacts { team_id: "t1", max_budget: Some(1.0), spend };
        let result = check_llm_request(&LlmRequest { model: "gpt-a", team: Some(team), ..LlmRequest::default() });
        assert_eq!(result.err().map(|d| d.message()).as_deref(), refusal);
    }

    #[test]
    fn user_budget_applies_to_personal_keys() {
        let user = UserFacts { user_id: "u1", max_budget: Some(2.0), spend: 2.0 };
        let denial =
            check_llm_request(&LlmRequest { model: "gpt-a", user: Some(user), ..LlmRequest::default() }).unwrap_err();
        assert_eq!(denial.message(), "ExceededBudget: User=u1 over budget. Spend=2.0, Budget=2.0");
    }

    fn key_only(models: &[String]) -> ModelGrants<'_> {
        ModelGrants { key: models, ..ModelGrants::default() }
    }

    fn team_only(models: &[String]) -> ModelGrants<'_> {
        ModelGrants { team: Some(TeamGrant { models, ..TeamGrant::default() }), ..ModelGrants::default() }
    }

    #[test]
    fn a_free_model_skips_budgets_but_not_model_access() {
        let key_models = list(&["gpt-a"]);
        let key = KeyFacts { max_budget: Some(0.0), spend: 5.0, ..KeyFacts::default() };
        let request = |model| LlmRequest {
            model,
            free_model: true,
            key: key.clone(),
            grants: key_only(&key_models),
            ..LlmRequest::default()
        };
        assert_eq!(check_llm_request(&request("gpt-a")), Ok(()));
        let denial = check_llm_request(&request("gpt-b")).unwrap_err();
        assert_eq!(
            (denial.status(), denial.error_type(), denial.param()),
            (403, "key_model_access_denied", Some("model"))
        );
    }

    #[test]
    fn a_model_budget_refuses_its_model_at_the_limit_and_no_other() {
        let facts = |spend: f64, limited: bool| KeyFacts {
            token: "hash1",
            model_budget: limited.then_some(ModelBudgetFacts { model: "gpt-a", limit: 0.5, spend }),
            ..KeyFacts::default()
        };
        let request = |key| LlmRequest { model: "gpt-a", key, ..LlmRequest::default() };
        assert_eq!(check_llm_request(&request(facts(0.49, true))), Ok(()));
        let denial = check_llm_request(&request(facts(0.5, true))).unwrap_err();
        assert_eq!((denial.status(), denial.error_type()), (422, "budget_exceeded"));
        assert_eq!(denial.message(), "LiteLLM Virtual Key: hash1, key_alias: None, exceeded budget for model=gpt-a");
        // The handler passes no model budget for a model the map does not name.
        assert_eq!(check_llm_request(&request(facts(9.0, false))), Ok(()));
        // A free model skips it, as every budget.
        let free = LlmRequest { free_model: true, ..request(facts(9.0, true)) };
        assert_eq!(check_llm_request(&free), Ok(()));
    }

    #[test]
    fn the_model_budget_comes_after_the_key_budget_and_before_the_team() {
        let only_b = list(&["gpt-b"]);
        let key = KeyFacts {
            max_budget: Some(1.0),
            spend: 1.0,
            model_budget: Some(ModelBudgetFacts { model: "gpt-a", limit: 0.1, spend: 0.2 }),
            ..KeyFacts::default()
        };
        let first =
            check_llm_request(&LlmRequest { model: "gpt-a", key: key.clone(), ..LlmRequest::default() }).unwrap_err();
        assert!(first.message().starts_with("Budget has been exceeded! Key="), "{}", first.message());
        let key = KeyFacts { max_budget: None, ..key };
        let first = check_llm_request(&LlmRequest {
            model: "gpt-a",
            key,
            team: Some(TeamFacts { team_id: "t1", max_budget: None, spend: 0.0 }),
            grants: team_only(&only_b),
            ..LlmRequest::default()
        })
        .unwrap_err();
        assert!(first.message().contains("exceeded budget for model=gpt-a"), "{}", first.message());
    }

    #[test]
    fn checks_run_in_litellms_order() {
        let only_b = list(&["gpt-b"]);
        let spent = KeyFacts { max_budget: Some(0.0), spend: 1.0, ..KeyFacts::default() };
        // Key model access before the key budget.
        let first = check_llm_request(&LlmRequest {
            model: "gpt-a",
            key: spent.clone(),
            grants: key_only(&only_b),
            ..LlmRequest::default()
        })
        .unwrap_err();
        assert_eq!(first.error_type(), "key_model_access_denied");
        // The key budget before the team's model access.
        let team = TeamFacts { team_id: "t1", max_budget: None, spend: 0.0 };
        let first = check_llm_request(&LlmRequest {
            model: "gpt-a",
            key: spent,
            team: Some(team.clone()),
            grants: team_only(&only_b),
            ..LlmRequest::default()
        })
        .unwrap_err();
        assert_eq!(first.error_type(), "budget_exceeded");
        // The team's model access before the team budget.
        let team = TeamFacts { max_budget: Some(0.0), spend: 1.0, ..team };
        let first = check_llm_request(&LlmRequest {
            model: "gpt-a",
            team: Some(team),
            grants: team_only(&only_b),
            ..LlmRequest::default()
        })
        .unwrap_err();
        assert_eq!(first.error_type(), "team_model_access_denied");
    }

    #[rstest]
    #[case::tool_call_every_budget("/mcp-rest/tools/call", Quirks::NONE, BudgetsChecked::KeyAndOwners)]
    #[case::model_listing_exempt("/v1/models", Quirks::NONE, BudgetsChecked::None)]
    #[case::tool_listing_exempt("/mcp-rest/tools/list", Quirks::NONE, BudgetsChecked::None)]
    #[case::model_listing_with_the_quirk("/models", Quirks::NONE.with(Quirk::DiscoveryRefusesOverBudget), BudgetsChecked::Key)]
    #[case::tool_listing_with_the_quirk(
        "/mcp-rest/tools/list",
        Quirks::NONE.with(Quirk::DiscoveryRefusesOverBudget),
        BudgetsChecked::Key
    )]
    #[case::model_info_even_with_the_quirk("/model/info", Quirks::NONE.with(Quirk::DiscoveryRefusesOverBudget), BudgetsChecked::None)]
    fn budgets_outside_inference(#[case] route: &str, #[case] quirks: Quirks, #[case] checked: BudgetsChecked) {
        assert_eq!(budget_checked_on(route, quirks), checked);
    }

    fn over_budget_team() -> TeamFacts<'static> {
        TeamFacts { team_id: "t1", max_budget: Some(0.01), spend: 0.02 }
    }

    /// A route outside inference names the first spent budget in LiteLLM's order: the key's, the
    /// team's, the member's, the personal key's user's; none spent lets it through.
    #[rstest]
    #[case::nothing_spent(KeyFacts::default(), None, None, None, None)]
    #[case::the_key_first(
        KeyFacts { max_budget: Some(0.01), spend: 0.01, ..KeyFacts::default() },
        Some(over_budget_team()), None, None,
        Some("Budget has been exceeded! Key=key")
    )]
    #[case::the_team_above_its_budget(KeyFacts::default(), Some(over_budget_team()), None, None, Some("Team=t1"))]
    #[case::a_team_at_its_budget_still_passes(
        KeyFacts::default(),
        Some(TeamFacts { team_id: "t1", max_budget: Some(0.01), spend: 0.01 }),
        None, None, None
    )]
    #[case::the_member_in_its_team(
        KeyFacts::default(),
        Some(TeamFacts { team_id: "t1", max_budget: None, spend: 5.0 }),
        Some(MemberFacts { user_id: "u1", team_id: "t1", max_budget: Some(0.01), spend: 0.01 }),
        None,
        Some("TeamMember=u1:t1")
    )]
    #[case::a_personal_keys_user(
        KeyFacts::default(), None, None,
        Some(UserFacts { user_id: "u1", max_budget: Some(0.01), spend: 0.01 }),
        Some("ExceededBudget: User=u1 over budget")
    )]
    fn budgets_outside_inference_in_litellms_order(
        #[case] key: KeyFacts<'static>,
        #[case] team: Option<TeamFacts<'static>>,
        #[case] member: Option<MemberFacts<'static>>,
        #[case] user: Option<UserFacts<'static>>,
        #[case] refused_with: Option<&str>,
    ) {
        let got = budget_spent(&key, team.as_ref(), member.as_ref(), user.as_ref());
        match (got, refused_with) {
            (None, None) => {}
            (Some(denial), Some(words)) => {
                assert_eq!(denial.error_type(), "budget_exceeded");
                assert!(denial.message().contains(words), "{:?} lacks {words:?}", denial.message());
            }
            (got, want) => panic!("got {got:?}, want a refusal naming {want:?}"),
        }
    }

    #[test]
    fn a_key_trips_at_its_budget() {
        let facts = |spend| KeyFacts { token: "t", max_budget: Some(0.05), spend, ..KeyFacts::default() };
        assert_eq!(key_budget_spent(&facts(0.04)), None);
        let spent = key_budget_spent(&facts(0.05)).expect("spent at the budget");
        assert_eq!(spent.message(), "Budget has been exceeded! Key=key Current cost: 0.05, Max budget: 0.05");
        assert_eq!(key_budget_spent(&KeyFacts { max_budget: None, spend: 9.0, ..facts(0.0) }), None);
    }
}
