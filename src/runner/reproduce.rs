//! Regression scenarios run twice: without their quirk (the corrected behaviour must pass) and with it
//! (the scenario must fail exactly at its declared step, with a response matching `observed`), so a
//! scenario that cannot catch its bug is itself a failure.

use super::RunOptions;
use super::assert;
use super::event::{EventSink, NoEvents};
use super::http::Client;
use super::outcome::{ReproductionResult, ReproductionVerdict, ScenarioOutcome, ScenarioStatus, StepStatus};
use super::scenario;
use super::target::Target;
use crate::scenario::{Reproduction, Scenario, Variables};

/// Runs `scenario` with the run's quirks; with `options.reproduce` and a declared reproduction, also
/// runs it with its quirk added and puts the verdict in the outcome. Only the first run emits events.
pub(crate) async fn execute(
    scenario: &Scenario,
    target: &Target,
    options: &RunOptions,
    client: &Client,
    index: usize,
    sink: &dyn EventSink,
) -> ScenarioOutcome {
    let RunOptions { quirks, reproduce, cancel, .. } = options;
    let kit = scenario::Kit { client, mocks: None };
    let (mut outcome, _) = scenario::execute(scenario, target, *quirks, options, kit, index, sink).await;
    let Some(reproduction) = scenario.reproduces.as_ref().filter(|_| *reproduce) else {
        return outcome;
    };
    let not_run = |reason: String| {
        Some(Box::new(ReproductionVerdict {
            quirk: reproduction.quirk,
            fails_at: reproduction.fails_at.clone(),
            result: ReproductionResult::NotRun { reason },
            quirk_step: None,
            observed: Vec::new(),
        }))
    };
    if !target.is_reference() {
        outcome.reproduction =
            not_run("quirks switch bugs on in the reference proxy only; the target is external".into());
        return outcome;
    }
    match &outcome.status {
        ScenarioStatus::Skipped { reason } => {
            outcome.reproduction = not_run(format!("the scenario was skipped: {reason}"));
            return outcome;
        }
        ScenarioStatus::Errored { .. } => {
            outcome.reproduction = not_run("the run without the quirk errored".into());
            return outcome;
        }
        ScenarioStatus::Passed | ScenarioStatus::Failed => {}
    }
    if cancel.is_cancelled() {
        outcome.reproduction = not_run(scenario::INTERRUPTED.into());
        return outcome;
    }
    let with_quirk = quirks.with(reproduction.quirk);
    let (quirked, vars) = scenario::execute(scenario, target, with_quirk, options, kit, index, &NoEvents).await;
    let verdict = judge(reproduction, &quirked, &vars);
    outcome.duration += quirked.duration;
    outcome.status = combine(&outcome.status, &quirked.status, &verdict);
    outcome.reproduction = Some(Box::new(verdict));
    outcome
}

/// Whether the run with the quirk failed as the scenario declares.
pub(crate) fn judge(reproduction: &Reproduction, quirked: &ScenarioOutcome, vars: &Variables) -> ReproductionVerdict {
    let quirk = reproduction.quirk;
    let fails_at = reproduction.fails_at.as_str();
    let quirk_step = quirked.failed_step().cloned();
    let mut observed = Vec::new();
    let result = match (&quirked.status, &quirk_step) {
        (ScenarioStatus::Skipped { reason }, _) => {
            ReproductionResult::NotRun { reason: format!("the run with the quirk was skipped: {reason}") }
        }
        (ScenarioStatus::Errored { message }, _) => {
            ReproductionResult::NotRun { reason: format!("the run with the quirk errored: {message}") }
        }
        (ScenarioStatus::Passed, _) | (ScenarioStatus::Failed, None) => ReproductionResult::NotReproduced {
            reason: format!("with `{quirk}` on, every step passed: the scenario does not catch the bug"),
        },
        (ScenarioStatus::Failed, Some(step)) if step.id != fails_at => ReproductionResult::NotReproduced {
            reason: format!("with `{quirk}` on, step `{}` failed, not `{fails_at}`", step.id),
        },
        (ScenarioStatus::Failed, Some(step)) => match (&step.status, &step.response) {
            (StepStatus::Failed { .. }, Some(response)) => {
                observed = assert::check(&reproduction.observed, response, vars, "observed ");
                let failed = observed.iter().filter(|a| !a.passed).count();
                if failed == 0 {
                    ReproductionResult::Reproduced
                } else {
                    ReproductionResult::NotReproduced {
                        reason: format!(
                            "with `{quirk}` on, step `{fails_at}` failed, but {failed} of {} `observed` checks did not hold",
                            observed.len()
                        ),
                    }
                }
            }
            _ => ReproductionResult::NotReproduced {
                reason: format!("with `{quirk}` on, step `{fails_at}` failed before it got a response"),
            },
        },
    };
    ReproductionVerdict { quirk, fails_at: fails_at.to_string(), result, quirk_step, observed }
}

/// The scenario's status over both runs: infrastructure trouble first, then the fixed run's failure,
/// then a bug the scenario does not catch.
fn combine(fixed: &ScenarioStatus, quirked: &ScenarioStatus, verdict: &ReproductionVerdict) -> ScenarioStatus {
    match (fixed, quirked) {
        (ScenarioStatus::Errored { .. } | ScenarioStatus::Skipped { .. }, _) => fixed.clone(),
        (_, ScenarioStatus::Errored { message }) => {
            ScenarioStatus::Errored { message: format!("with quirk `{}`: {message}", verdict.quirk) }
        }
        (ScenarioStatus::Failed, _) => ScenarioStatus::Failed,
        _ => match verdict.result {
            ReproductionResult::Reproduced => ScenarioStatus::Passed,
            ReproductionResult::NotReproduced { .. } | ReproductionResult::NotRun { .. } => ScenarioStatus::Failed,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;
    use crate::reference::Quirk;
    use crate::runner::{ReceivedResponse, StepOutcome};

    fn reproduction() -> Reproduction {
        let text = r#"
id: s
title: T
reproduces:
  quirk: stale_team_cache
  fails_at: key
  observed:
    status: 403
    error: {message_contains: "Team allows: ['{{group}}']"}
steps:
  - id: team
    request: {method: POST, path: /team/new}
    capture: {group: $.group}
  - id: key
    request: {method: POST, path: /key/generate}
    expect: {status: 200}
  - id: after
    request: {method: GET, path: /key/info}
"#;
        let scenario = crate::scenario::parse_str(text, Path::new("s.yaml")).expect("valid");
        scenario.reproduces.expect("a reproduction")
    }

    fn step(id: &str, status: StepStatus, response: Option<(u16, Value)>) -> StepOutcome {
        StepOutcome {
            id: id.into(),
            location: Default::default(),
            status,
            request: None,
            response: response.map(|(status, json)| ReceivedResponse {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: json.to_string(),
                json: Some(json),
            }),
            assertions: vec![],
            duration: Default::default(),
            attempts: 1,
            origin: None,
        }
    }

    fn failed(message: &str) -> StepStatus {
        StepStatus::Failed { message: message.into() }
    }

    fn outcome(status: ScenarioStatus, steps: Vec<StepOutcome>) -> ScenarioOutcome {
        ScenarioOutcome {
            id: "s".into(),
            title: "T".into(),
            file: "s.yaml".into(),
            tags: vec![],
            run_id: "r1".into(),
            status,
            steps,
            duration: Default::default(),
            reproduction: None,
            created: Vec::new(),
        }
    }

    fn vars() -> Variables {
        Variables::from([("group".to_string(), json!("G1"))])
    }

    fn stale_403() -> Option<(u16, Value)> {
        Some((403, json!({"error": {"message": "Team allows: ['G1'].", "type": "auth_error", "code": "403"}})))
    }

    /// (case, how the run with the quirk went, expected result name, text the reason must contain).
    #[test]
    fn the_quirk_run_must_fail_at_the_declared_step_as_observed() {
        let passed = || step("team", StepStatus::Passed, Some((200, json!({}))));
        let cases: Vec<(&str, ScenarioOutcome, &str, &str)> = vec![
            (
                "fails at the step with the observed response",
                outcome(ScenarioStatus::Failed, vec![passed(), step("key", failed("1 of 1"), stale_403())]),
                "reproduced",
                "",
            ),
            (
                "passes",
                outcome(ScenarioStatus::Passed, vec![passed(), step("key", StepStatus::Passed, None)]),
                "not_reproduced",
                "every step passed",
            ),
            (
                "fails at another step",
                outcome(ScenarioStatus::Failed, vec![step("team", failed("1 of 1"), stale_403())]),
                "not_reproduced",
                "step `team` failed, not `key`",
            ),
            (
                "fails at the step with another status",
                outcome(ScenarioStatus::Failed, vec![passed(), step("key", failed("1 of 1"), Some((500, json!({}))))]),
                "not_reproduced",
                "2 of 2 `observed` checks did not hold",
            ),
            (
                "fails at the step with another message",
                outcome(
                    ScenarioStatus::Failed,
                    vec![
                        passed(),
                        step("key", failed("1 of 1"), Some((403, json!({"detail": "Team allows: ['G2']"})))),
                    ],
                ),
                "not_reproduced",
                "1 of 2 `observed` checks did not hold",
            ),
            (
                "fails at the step without a response",
                outcome(ScenarioStatus::Failed, vec![passed(), step("key", failed("bad template"), None)]),
                "not_reproduced",
                "before it got a response",
            ),
            (
                "errors",
                outcome(ScenarioStatus::Errored { message: "proxy down".into() }, vec![]),
                "not_run",
                "errored: proxy down",
            ),
        ];
        for (name, quirked, expected, reason) in cases {
            let verdict = judge(&reproduction(), &quirked, &vars());
            assert_eq!(verdict.quirk, Quirk::StaleTeamCache, "{name}");
            assert_eq!(verdict.result.name(), expected, "{name}: {:?}", verdict.result);
            if let ReproductionResult::NotReproduced { reason: got } | ReproductionResult::NotRun { reason: got } =
                &verdict.result
            {
                assert!(got.contains(reason), "{name}: {got}");
            }
        }
    }

    #[test]
    fn a_reproduced_verdict_keeps_the_failing_step_and_the_observed_checks() {
        let quirked = outcome(ScenarioStatus::Failed, vec![step("key", failed("1 of 1"), stale_403())]);
        let verdict = judge(&reproduction(), &quirked, &vars());
        assert_eq!(verdict.quirk_step.map(|s| s.id), Some("key".to_string()));
        let checks: Vec<(&str, bool)> = verdict.observed.iter().map(|a| (a.check.as_str(), a.passed)).collect();
        assert_eq!(checks.len(), 2, "{checks:?}");
        assert!(checks.iter().all(|(check, passed)| check.starts_with("observed ") && *passed), "{checks:?}");
    }

    /// (fixed run, quirk run, verdict, combined status name).
    #[test]
    fn both_runs_decide_the_scenario_status() {
        let verdict = |result| ReproductionVerdict {
            quirk: Quirk::StaleTeamCache,
            fails_at: "key".into(),
            result,
            quirk_step: None,
            observed: vec![],
        };
        let reproduced = verdict(ReproductionResult::Reproduced);
        let missed = verdict(ReproductionResult::NotReproduced { reason: "x".into() });
        let errored = ScenarioStatus::Errored { message: "down".into() };
        let cases = [
            (ScenarioStatus::Passed, ScenarioStatus::Failed, &reproduced, "passed"),
            (ScenarioStatus::Passed, ScenarioStatus::Passed, &missed, "failed"),
            (ScenarioStatus::Failed, ScenarioStatus::Failed, &reproduced, "failed"),
            (ScenarioStatus::Passed, errored.clone(), &reproduced, "errored"),
            (errored.clone(), ScenarioStatus::Failed, &reproduced, "errored"),
        ];
        for (fixed, quirked, verdict, expected) in cases {
            assert_eq!(combine(&fixed, &quirked, verdict).name(), expected, "{fixed:?} {quirked:?}");
        }
    }
}
