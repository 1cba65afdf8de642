//! A JSON report read back into outcomes and run facts, so a merged report's JUnit, human summary and
//! baseline comparison come from the same writers a run uses (one JUnit writer, not two).
//!
//! What the report carries comes back as it was, with one exception: `created` (what a scenario
//! created on an external target) comes back empty, since a report names a key only by its masked
//! label. Nothing that reads outcomes after a run's leftover check (JUnit, the human summary, the
//! baseline comparison) looks at it; the merged JSON report keeps it, being merged from the JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::baseline::{Change, Comparison};
use super::json::{
    JsonAssertion, JsonBaseline, JsonBody, JsonChange, JsonReport, JsonReproduction, JsonReproductionResult,
    JsonScenario, JsonScenarioStatus, JsonStep, JsonStepStatus,
};
use super::{BrokenFile, RunInfo};
use crate::runner::{
    AssertionResult, Leftover, Partition, ReceivedResponse, ReproductionResult, ReproductionVerdict, ScenarioOutcome,
    ScenarioStatus, SentBody, SentRequest, StepOutcome, StepStatus,
};
use crate::scenario::{IncludeSite, Location, Origin, Quirk};

/// Why a report does not read back: it names something this gateproof does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadBackError {
    #[error("scenario `{scenario}` names the quirk `{quirk}`, which this gateproof does not know")]
    UnknownQuirk { scenario: String, quirk: String },
    #[error("the partition `{0}` is not `count:K/N` or `hash:K/N`")]
    Partition(String),
    #[error("the baseline comparison names the status `{0}`, which this gateproof does not know")]
    BaselineStatus(String),
}

/// The report's scenarios as outcomes, in its order.
pub fn outcomes(report: &JsonReport) -> Result<Vec<ScenarioOutcome>, ReadBackError> {
    report.scenarios.iter().map(scenario).collect()
}

/// The report's facts about its run.
pub fn run_info(report: &JsonReport) -> Result<RunInfo, ReadBackError> {
    let partition = report
        .partition
        .as_deref()
        .map(|text| text.parse::<Partition>().map_err(|_| ReadBackError::Partition(text.to_string())))
        .transpose()?;
    Ok(RunInfo {
        target: report.target.clone(),
        target_version: report.target_version.clone().unwrap_or_else(|| super::UNKNOWN_VERSION.to_string()),
        partition,
        started_at: report.started_at,
        duration: Duration::from_millis(report.duration_ms),
        leftovers: report.leftovers.as_ref().map(|found| {
            found
                .iter()
                .map(|l| Leftover {
                    scenario: l.scenario.clone(),
                    label: l.object.clone(),
                    reason: l.reason.clone(),
                    unreachable: l.unreachable,
                })
                .collect()
        }),
        baseline: report.baseline.as_ref().map(comparison).transpose()?,
        broken_files: report
            .broken_files
            .iter()
            .map(|b| BrokenFile {
                file: b.file.clone().into(),
                line: b.line,
                column: b.column,
                message: b.message.clone(),
            })
            .collect(),
    })
}

fn comparison(baseline: &JsonBaseline) -> Result<Comparison, ReadBackError> {
    let changes = |list: &[JsonChange]| -> Result<Vec<Change>, ReadBackError> {
        list.iter().map(|c| Ok(Change { id: c.id.clone(), file: c.file.clone(), before: before(&c.before)? })).collect()
    };
    Ok(Comparison {
        file: baseline.file.clone(),
        baseline_version: baseline.target_version.clone(),
        new_failures: changes(&baseline.new_failures)?,
        fixed: changes(&baseline.fixed)?,
        known_failures: changes(&baseline.known_failures)?,
    })
}

/// The names `Change::before` takes.
fn before(name: &str) -> Result<&'static str, ReadBackError> {
    ["passed", "failed", "skipped", "errored", "absent"]
        .into_iter()
        .find(|known| *known == name)
        .ok_or_else(|| ReadBackError::BaselineStatus(name.to_string()))
}

fn scenario(json: &JsonScenario) -> Result<ScenarioOutcome, ReadBackError> {
    let reason = || json.reason.clone().unwrap_or_default();
    let status = match json.status {
        JsonScenarioStatus::Passed => ScenarioStatus::Passed,
        JsonScenarioStatus::Failed => ScenarioStatus::Failed,
        JsonScenarioStatus::Skipped => ScenarioStatus::Skipped { reason: reason() },
        JsonScenarioStatus::Errored => ScenarioStatus::Errored { message: reason() },
    };
    let reproduction = json.reproduction.as_ref().map(|r| reproduction(&json.id, r)).transpose()?;
    Ok(ScenarioOutcome {
        id: json.id.clone(),
        title: json.title.clone(),
        file: json.file.clone().into(),
        tags: json.tags.clone(),
        run_id: json.run_id.clone(),
        status,
        steps: json.steps.iter().map(step).collect(),
        duration: Duration::from_millis(json.duration_ms),
        reproduction: reproduction.map(Box::new),
        created: Vec::new(),
    })
}

fn reproduction(scenario: &str, json: &JsonReproduction) -> Result<ReproductionVerdict, ReadBackError> {
    let quirk: Quirk = json
        .quirk
        .parse()
        .map_err(|_| ReadBackError::UnknownQuirk { scenario: scenario.to_string(), quirk: json.quirk.clone() })?;
    let reason = || json.reason.clone().unwrap_or_default();
    let result = match json.result {
        JsonReproductionResult::Reproduced => ReproductionResult::Reproduced,
        JsonReproductionResult::NotReproduced => ReproductionResult::NotReproduced { reason: reason() },
        JsonReproductionResult::NotRun => ReproductionResult::NotRun { reason: reason() },
    };
    Ok(ReproductionVerdict {
        quirk,
        fails_at: json.fails_at.clone(),
        result,
        quirk_step: json.step.as_ref().map(step),
        observed: json.observed.iter().map(assertion).collect(),
    })
}

fn step(json: &JsonStep) -> StepOutcome {
    let message = || json.message.clone().unwrap_or_default();
    let status = match json.status {
        JsonStepStatus::Passed => StepStatus::Passed,
        JsonStepStatus::Failed => StepStatus::Failed { message: message() },
        JsonStepStatus::Errored => StepStatus::Errored { message: message() },
        JsonStepStatus::NotRun => StepStatus::NotRun,
    };
    let headers = |list: &[super::json::JsonHeader]| -> Vec<(String, String)> {
        list.iter().map(|h| (h.name.clone(), h.value.clone())).collect()
    };
    // A step written in a fragment says which, and through which include steps it was reached.
    let origin = json.file.as_ref().map(|file| {
        Arc::new(Origin {
            file: PathBuf::from(file),
            included_from: json
                .included_from
                .iter()
                .map(|site| IncludeSite {
                    file: PathBuf::from(&site.file),
                    location: Location { line: site.line, column: site.column },
                })
                .collect(),
        })
    });
    StepOutcome {
        id: json.id.clone(),
        location: Location { line: json.line, column: json.column },
        origin,
        status,
        request: json.request.as_ref().map(|r| SentRequest {
            method: r.method.clone(),
            url: r.url.clone(),
            credentials: r.credentials.clone(),
            headers: headers(&r.headers),
            body: r.body.as_ref().map(|body| match body {
                JsonBody::Json(value) => SentBody::Json(value.clone()),
                JsonBody::Raw(text) => SentBody::Raw(text.clone()),
            }),
        }),
        response: json.response.as_ref().map(|r| ReceivedResponse {
            status: r.status,
            headers: headers(&r.headers),
            body: r.body.clone(),
            json: r.json.clone(),
        }),
        assertions: json.assertions.iter().map(assertion).collect(),
        duration: Duration::from_millis(json.duration_ms),
        attempts: json.attempts,
    }
}

fn assertion(json: &JsonAssertion) -> AssertionResult {
    AssertionResult {
        location: json.line.zip(json.column).map(|(line, column)| Location { line, column }),
        check: json.check.clone(),
        passed: json.passed,
        expected: json.expected.clone(),
        actual: json.actual.clone(),
        message: json.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{fixtures, junit};

    /// Read back, a report gives the JUnit of the run it came from, byte for byte.
    #[test]
    fn a_report_read_back_gives_the_runs_junit() {
        for (outcomes, run) in [
            (fixtures::outcomes(), fixtures::run_info()),
            (fixtures::outcomes(), fixtures::run_info_with_broken_files()),
            (fixtures::reproduction_outcomes(), fixtures::run_info()),
        ] {
            let report = JsonReport::new(&outcomes, &run);
            let (back, back_run) = (outcomes_of(&report), run_info(&report).expect("reads back"));
            assert_eq!(back_run, run);
            assert_eq!(
                junit::to_xml(&back, &back_run).expect("serializes"),
                junit::to_xml(&outcomes, &run).expect("serializes")
            );
            // And the JSON of what was read back is the report again.
            assert_eq!(JsonReport::new(&back, &back_run), report);
        }
    }

    fn outcomes_of(report: &JsonReport) -> Vec<ScenarioOutcome> {
        outcomes(report).expect("reads back")
    }

    #[test]
    fn a_baseline_comparison_and_leftovers_read_back() {
        use crate::report::baseline::{Baseline, compare};
        let before = fixtures::outcomes();
        let baseline = Baseline::from_report(
            std::path::Path::new("before.json"),
            &JsonReport::new(&before, &fixtures::run_info()),
        );
        let mut run = fixtures::run_info();
        run.baseline = Some(compare(&baseline, &before));
        run.partition = "hash:2/4".parse().ok();
        run.leftovers = Some(vec![Leftover {
            scenario: "s".into(),
            label: "team t-1".into(),
            reason: "no answer".into(),
            unreachable: true,
        }]);
        let report = JsonReport::new(&before, &run);
        assert_eq!(run_info(&report).expect("reads back"), run);
    }

    #[test]
    fn an_unknown_quirk_does_not_read_back() {
        let mut report = JsonReport::new(&fixtures::reproduction_outcomes(), &fixtures::run_info());
        let first = &mut report.scenarios[0];
        let id = first.id.clone();
        first.reproduction.as_mut().expect("a reproduction").quirk = "from_the_future".into();
        assert_eq!(
            outcomes(&report).map(|_| ()),
            Err(ReadBackError::UnknownQuirk { scenario: id, quirk: "from_the_future".into() })
        );
    }
}
