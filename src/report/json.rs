//! The JSON report: a documented, versioned contract for tools (`--json FILE`).
//!
//! These types are the contract, kept apart from the runner's internals and converted from outcomes, so
//! the runner can change without breaking readers. Rules: `format_version` is 2; adding a field keeps
//! the version, while removing, renaming or changing the meaning of one bumps it. Every field is always
//! present (`null` when it does not apply). Durations are whole milliseconds. Fields added within
//! version 1 (marked "since 1, added" below) read as their default from an older document.
//!
//! Version 2 counts the scenario files that could not be loaded: each is an entry of `broken_files`,
//! and `summary.total` counts them with the scenarios (`summary.broken_files` on its own), so a run with
//! a broken file never reads as all green. Nothing else changed: a version 1 document reads as one
//! without broken files (a `--baseline` may be either).
//!
//! ```json
//! {
//!   "format_version": 2,
//!   "target": "reference",
//!   "target_version": "1.83.14" | "gateproof reference 0.1.0" | "unknown",
//!   "partition": null | "hash:2/4",
//!   "started_at": "2026-11-03T09:30:00Z",
//!   "duration_ms": 2930,
//!   "summary": {"total": 5, "passed": 1, "failed": 1, "skipped": 1, "errored": 1, "broken_files": 1,
//!               "reproduced": 0, "not_reproduced": 0},
//!   "broken_files": [{"file": "scenarios/y.yaml", "line": 3, "column": 7 | null,
//!                     "message": "unknown field `colour`, expected …"}],
//!   "scenarios": [{
//!     "id": "…", "title": "…", "file": "scenarios/x.yaml", "tags": [], "run_id": "r…",
//!     "status": "passed|failed|skipped|errored", "reason": "skip reason or error message, else null",
//!     "duration_ms": 420,
//!     "steps": [{
//!       "id": "…", "line": 6, "column": 5, "file": "scenarios/fragments/f.yaml" | null,
//!       "included_from": [{"file": "scenarios/x.yaml", "line": 12, "column": 5}],
//!       "status": "passed|failed|errored|not_run",
//!       "message": "why it failed, else null", "attempts": 1, "duration_ms": 40,
//!       "request": {"method": "POST", "url": "…", "credentials": "admin|none|key sk-…1234",
//!                   "headers": [{"name": "…", "value": "…"}], "body": {"json": {}} | {"raw": "…"} | null},
//!       "response": {"status": 200, "headers": [{"name": "…", "value": "…"}], "body": "text",
//!                    "json": {} | null},
//!       "assertions": [{"check": "status", "passed": true, "expected": "200", "actual": "200",
//!                       "message": null, "line": null, "column": null}]
//!     }],
//!     "reproduction": null | {"quirk": "stale_team_cache", "fails_at": "step id",
//!                             "result": "reproduced|not_reproduced|not_run", "reason": "… or null",
//!                             "step": {…a step as above…} | null, "observed": [{…an assertion…}]},
//!     "created": [{"object": "team t-1", "step": "…",
//!                  "cleanup": "deleted|already_gone|kept|failed|unsupported|pending",
//!                  "reason": "… or null"}]
//!   }],
//!   "leftovers": null | [{"scenario": "…", "object": "team t-1", "reason": "still exists; …",
//!                         "unreachable": false}],
//!   "baseline": null | {"file": "before.json", "target_version": "1.83.14" | null,
//!                       "new_failures": [{"id": "…", "file": "…", "before": "passed|skipped|errored|absent"}],
//!                       "fixed": [{…, "before": "failed"}], "known_failures": [{…, "before": "failed"}]}
//! }
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{RunInfo, Summary};
use crate::runner::{
    AssertionResult, Cleanup, Created, ReceivedResponse, ReproductionResult, ReproductionVerdict, ScenarioOutcome,
    ScenarioStatus, SentBody, SentRequest, StepOutcome, StepStatus,
};

/// The version of this format; see the module documentation for when it changes.
pub const FORMAT_VERSION: u32 = 2;

/// The versions a reader of reports (`--baseline`) accepts: 1 reads as 2 without broken files.
pub const READABLE_VERSIONS: std::ops::RangeInclusive<u32> = 1..=FORMAT_VERSION;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonReport {
    pub format_version: u32,
    /// `reference`, or the external target's base URL(s).
    pub target: String,
    /// The target's version as it says, else `unknown`; always written (since 1, added; `null` in
    /// documents written before it was always known).
    #[serde(default)]
    pub target_version: Option<String>,
    /// The shard of a run with `--partition`, e.g. `hash:2/4`; `null` for a whole run, and for the
    /// report `gateproof merge` writes (since 2, added).
    #[serde(default)]
    pub partition: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub summary: JsonSummary,
    /// In file order.
    pub scenarios: Vec<JsonScenario>,
    /// The scenario files that could not be loaded, in file order (since 2).
    #[serde(default)]
    pub broken_files: Vec<JsonBrokenFile>,
    /// What the run created on an external target and left there; `null` when no check ran (the
    /// reference proxy, or `--keep`) (since 1, added).
    #[serde(default)]
    pub leftovers: Option<Vec<JsonLeftover>>,
    /// How the run compares with `--baseline`; `null` without one (since 1, added).
    #[serde(default)]
    pub baseline: Option<JsonBaseline>,
}

/// The comparison with an earlier report. With a baseline, only `new_failures` fail the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonBaseline {
    pub file: String,
    /// The version the baseline was taken on, as it says.
    pub target_version: Option<String>,
    /// Failing now and not failing in the baseline.
    pub new_failures: Vec<JsonChange>,
    /// Failing in the baseline, passing now.
    pub fixed: Vec<JsonChange>,
    /// Failing in both, accepted by the baseline.
    pub known_failures: Vec<JsonChange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonChange {
    pub id: String,
    pub file: String,
    /// The scenario's status in the baseline, or `absent`.
    pub before: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonLeftover {
    /// The scenario that created it (empty when unknown).
    pub scenario: String,
    /// e.g. `team t-1`, `key sk-…abcd`.
    pub object: String,
    pub reason: String,
    /// The target did not answer the check: infrastructure trouble, not a verdict (since 2, added).
    #[serde(default)]
    pub unreachable: bool,
}

/// One object a scenario created on an external target, and its teardown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonCreated {
    pub object: String,
    /// The step whose request created it.
    pub step: String,
    /// `deleted`, `already_gone`, `kept`, `failed`, `unsupported` (no delete route on the target) or
    /// `pending`.
    pub cleanup: String,
    /// Why the delete failed or is unsupported, else `null`.
    pub reason: Option<String>,
}

/// A scenario file that could not be loaded: an error of the run, with the loader's message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonBrokenFile {
    pub file: String,
    /// Where the problem is; `null` when the file could not be read at all.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonSummary {
    /// Scenarios and broken files (since 2; scenarios alone in version 1).
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errored: usize,
    /// Scenario files that could not be loaded (since 2).
    #[serde(default)]
    pub broken_files: usize,
    /// Regression scenarios whose bug reproduced with their quirk on (since 1, added).
    #[serde(default)]
    pub reproduced: usize,
    /// Regression scenarios whose bug did not reproduce (since 1, added).
    #[serde(default)]
    pub not_reproduced: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonScenarioStatus {
    Passed,
    Failed,
    Skipped,
    Errored,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonScenario {
    pub id: String,
    pub title: String,
    pub file: String,
    pub tags: Vec<String>,
    pub run_id: String,
    pub status: JsonScenarioStatus,
    /// The skip reason or the infrastructure error; `null` otherwise.
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub steps: Vec<JsonStep>,
    /// The run with the scenario's quirk on, when `--reproduce` asked for it (since 1, added).
    #[serde(default)]
    pub reproduction: Option<JsonReproduction>,
    /// What it created on an external target, in order (empty on the reference) (since 1, added).
    #[serde(default)]
    pub created: Vec<JsonCreated>,
}

/// How a regression scenario's bug reproduced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonReproduction {
    /// The quirk's name, as `gateproof quirks` lists it.
    pub quirk: String,
    /// The step declared to fail with the quirk on.
    pub fails_at: String,
    pub result: JsonReproductionResult,
    /// Why it did not reproduce or did not run; `null` when it reproduced.
    pub reason: Option<String>,
    /// The first step that did not pass with the quirk on.
    pub step: Option<JsonStep>,
    /// The `observed` checks on the declared step's response.
    pub observed: Vec<JsonAssertion>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonReproductionResult {
    Reproduced,
    NotReproduced,
    NotRun,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonStepStatus {
    Passed,
    Failed,
    Errored,
    NotRun,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonStep {
    pub id: String,
    pub line: usize,
    pub column: usize,
    /// The fragment file the step is written in, when a step of the scenario included it (`line`,
    /// `column` and its assertions' are in that file); `null` for a step of the scenario file itself
    /// (since 2, added).
    #[serde(default)]
    pub file: Option<String>,
    /// The include steps that brought an included step in, innermost first, up to the scenario's own;
    /// empty for a step of the scenario file (since 2, added).
    #[serde(default)]
    pub included_from: Vec<JsonPlace>,
    pub status: JsonStepStatus,
    pub message: Option<String>,
    pub attempts: u32,
    pub duration_ms: u64,
    pub request: Option<JsonRequest>,
    pub response: Option<JsonResponse>,
    pub assertions: Vec<JsonAssertion>,
}

/// A place in a file: an include step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonPlace {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonHeader {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonRequest {
    pub method: String,
    pub url: String,
    /// `admin`, `none` or `key sk-…1234`; credentials themselves are never written.
    pub credentials: String,
    pub headers: Vec<JsonHeader>,
    pub body: Option<JsonBody>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonBody {
    Json(Value),
    Raw(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonResponse {
    pub status: u16,
    pub headers: Vec<JsonHeader>,
    pub body: String,
    /// The body parsed, when it is JSON.
    pub json: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonAssertion {
    pub check: String,
    pub passed: bool,
    pub expected: String,
    pub actual: String,
    pub message: Option<String>,
    /// Where the assertion is written, when it has its own place in the file.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl JsonReport {
    pub fn new(outcomes: &[ScenarioOutcome], run: &RunInfo) -> JsonReport {
        let summary = Summary::of(outcomes);
        JsonReport {
            format_version: FORMAT_VERSION,
            target: run.target.clone(),
            target_version: Some(run.target_version.clone()),
            partition: run.partition.map(|p| p.to_string()),
            started_at: run.started_at,
            duration_ms: millis(run.duration),
            summary: JsonSummary {
                total: summary.total() + run.broken_files.len(),
                passed: summary.passed,
                failed: summary.failed,
                skipped: summary.skipped,
                errored: summary.errored,
                broken_files: run.broken_files.len(),
                reproduced: summary.reproduced,
                not_reproduced: summary.not_reproduced,
            },
            scenarios: outcomes.iter().map(scenario).collect(),
            broken_files: run
                .broken_files
                .iter()
                .map(|b| JsonBrokenFile {
                    file: b.file.display().to_string(),
                    line: b.line,
                    column: b.column,
                    message: b.message.clone(),
                })
                .collect(),
            baseline: run.baseline.as_ref().map(baseline),
            leftovers: run.leftovers.as_ref().map(|found| {
                found
                    .iter()
                    .map(|l| JsonLeftover {
                        scenario: l.scenario.clone(),
                        object: l.label.clone(),
                        reason: l.reason.clone(),
                        unreachable: l.unreachable,
                    })
                    .collect()
            }),
        }
    }

    pub fn to_json(&self) -> String {
        // Plain data with string keys: serializing it cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The comparison with a baseline as the report writes it.
pub fn baseline(comparison: &super::baseline::Comparison) -> JsonBaseline {
    let changes = |list: &[super::baseline::Change]| {
        list.iter()
            .map(|c| JsonChange { id: c.id.clone(), file: c.file.clone(), before: c.before.to_string() })
            .collect()
    };
    JsonBaseline {
        file: comparison.file.clone(),
        target_version: comparison.baseline_version.clone(),
        new_failures: changes(&comparison.new_failures),
        fixed: changes(&comparison.fixed),
        known_failures: changes(&comparison.known_failures),
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn scenario(outcome: &ScenarioOutcome) -> JsonScenario {
    let (status, reason) = match &outcome.status {
        ScenarioStatus::Passed => (JsonScenarioStatus::Passed, None),
        ScenarioStatus::Failed => (JsonScenarioStatus::Failed, None),
        ScenarioStatus::Skipped { reason } => (JsonScenarioStatus::Skipped, Some(reason.clone())),
        ScenarioStatus::Errored { message } => (JsonScenarioStatus::Errored, Some(message.clone())),
    };
    JsonScenario {
        id: outcome.id.clone(),
        title: outcome.title.clone(),
        file: outcome.file.display().to_string(),
        tags: outcome.tags.clone(),
        run_id: outcome.run_id.clone(),
        status,
        reason,
        duration_ms: millis(outcome.duration),
        steps: outcome.steps.iter().map(step).collect(),
        reproduction: outcome.reproduction.as_deref().map(reproduction),
        created: outcome.created.iter().map(created).collect(),
    }
}

fn created(item: &Created) -> JsonCreated {
    let (cleanup, reason) = match &item.cleanup {
        Cleanup::Pending => ("pending", None),
        Cleanup::Deleted => ("deleted", None),
        Cleanup::AlreadyGone => ("already_gone", None),
        Cleanup::Kept => ("kept", None),
        Cleanup::Failed(why) => ("failed", Some(why.clone())),
        Cleanup::Unsupported(why) => ("unsupported", Some(why.clone())),
    };
    JsonCreated { object: item.resource.label(), step: item.step.clone(), cleanup: cleanup.into(), reason }
}

fn reproduction(verdict: &ReproductionVerdict) -> JsonReproduction {
    let (result, reason) = match &verdict.result {
        ReproductionResult::Reproduced => (JsonReproductionResult::Reproduced, None),
        ReproductionResult::NotReproduced { reason } => (JsonReproductionResult::NotReproduced, Some(reason.clone())),
        ReproductionResult::NotRun { reason } => (JsonReproductionResult::NotRun, Some(reason.clone())),
    };
    JsonReproduction {
        quirk: verdict.quirk.name().to_string(),
        fails_at: verdict.fails_at.clone(),
        result,
        reason,
        step: verdict.quirk_step.as_ref().map(step),
        observed: verdict.observed.iter().map(assertion).collect(),
    }
}

fn step(outcome: &StepOutcome) -> JsonStep {
    let (status, message) = match &outcome.status {
        StepStatus::Passed => (JsonStepStatus::Passed, None),
        StepStatus::Failed { message } => (JsonStepStatus::Failed, Some(message.clone())),
        StepStatus::Errored { message } => (JsonStepStatus::Errored, Some(message.clone())),
        StepStatus::NotRun => (JsonStepStatus::NotRun, None),
    };
    JsonStep {
        id: outcome.id.clone(),
        line: outcome.location.line,
        column: outcome.location.column,
        file: outcome.origin.as_ref().map(|o| o.file.display().to_string()),
        included_from: outcome
            .included_from()
            .iter()
            .map(|site| JsonPlace {
                file: site.file.display().to_string(),
                line: site.location.line,
                column: site.location.column,
            })
            .collect(),
        status,
        message,
        attempts: outcome.attempts,
        duration_ms: millis(outcome.duration),
        request: outcome.request.as_ref().map(request),
        response: outcome.response.as_ref().map(response),
        assertions: outcome.assertions.iter().map(assertion).collect(),
    }
}

fn headers(list: &[(String, String)]) -> Vec<JsonHeader> {
    list.iter().map(|(name, value)| JsonHeader { name: name.clone(), value: value.clone() }).collect()
}

fn request(sent: &SentRequest) -> JsonRequest {
    JsonRequest {
        method: sent.method.clone(),
        url: sent.url.clone(),
        credentials: sent.credentials.clone(),
        headers: headers(&sent.headers),
        body: sent.body.as_ref().map(|body| match body {
            SentBody::Json(value) => JsonBody::Json(value.clone()),
            SentBody::Raw(text) => JsonBody::Raw(text.clone()),
        }),
    }
}

fn response(received: &ReceivedResponse) -> JsonResponse {
    JsonResponse {
        status: received.status,
        headers: headers(&received.headers),
        body: received.body.clone(),
        json: received.json.clone(),
    }
}

fn assertion(result: &AssertionResult) -> JsonAssertion {
    JsonAssertion {
        check: result.check.clone(),
        passed: result.passed,
        expected: result.expected.clone(),
        actual: result.actual.clone(),
        message: result.message.clone(),
        line: result.location.map(|l| l.line),
        column: result.location.map(|l| l.column),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn json_of_the_fixed_outcomes() {
        let report = JsonReport::new(&fixtures::outcomes(), &fixtures::run_info());
        insta::assert_snapshot!("json", report.to_json());
    }

    #[test]
    fn an_included_step_names_its_fragment_and_the_include_steps() {
        let report = JsonReport::new(&[fixtures::included_failure()], &fixtures::run_info());
        let value: Value = serde_json::from_str(&report.to_json()).expect("JSON");
        let steps = value["scenarios"][0]["steps"].as_array().expect("steps");
        let failed = steps.iter().find(|s| s["status"] == "failed").expect("the failed step");
        assert_eq!(failed["file"], "scenarios/fragments/team.yaml");
        assert_eq!(
            failed["included_from"],
            serde_json::json!([
                {"file": "scenarios/fragments/org.yaml", "line": 9, "column": 5},
                {"file": "scenarios/org/admin.yaml", "line": 4, "column": 5}
            ])
        );
        let own = steps.iter().find(|s| s["status"] == "passed").expect("a step of the scenario");
        assert_eq!(own["file"], Value::Null);
        assert_eq!(own["included_from"], serde_json::json!([]));
        // A report written before these fields reads them as a step of the scenario.
        let mut older = value.clone();
        for step in older["scenarios"][0]["steps"].as_array_mut().expect("steps") {
            let step = step.as_object_mut().expect("a step");
            step.remove("file");
            step.remove("included_from");
        }
        let read: JsonReport = serde_json::from_value(older).expect("an older report reads");
        assert!(read.scenarios[0].steps.iter().all(|s| s.file.is_none() && s.included_from.is_empty()));
    }

    #[test]
    fn the_report_reads_back_into_the_same_value() {
        let report = JsonReport::new(&fixtures::outcomes(), &fixtures::run_info());
        let read: JsonReport = serde_json::from_str(&report.to_json()).expect("valid report");
        assert_eq!(read, report);
        assert_eq!(
            read.summary,
            JsonSummary {
                total: 4,
                passed: 1,
                failed: 1,
                skipped: 1,
                errored: 1,
                broken_files: 0,
                reproduced: 0,
                not_reproduced: 0
            }
        );
    }

    #[test]
    fn json_of_reproductions() {
        let report = JsonReport::new(&fixtures::reproduction_outcomes(), &fixtures::run_info());
        let read: JsonReport = serde_json::from_str(&report.to_json()).expect("valid report");
        assert_eq!(read, report);
        assert_eq!((read.summary.reproduced, read.summary.not_reproduced), (1, 1));
        let results: Vec<_> =
            read.scenarios.iter().map(|s| s.reproduction.as_ref().map(|r| (r.quirk.as_str(), r.result))).collect();
        assert_eq!(
            results,
            [
                Some(("stale_team_cache", JsonReproductionResult::Reproduced)),
                Some(("org_admin_gate_needs_org_id_in_body", JsonReproductionResult::NotReproduced)),
                Some(("org_admin_gate_needs_org_id_in_body", JsonReproductionResult::NotRun)),
            ]
        );
        insta::assert_snapshot!("json_reproductions", report.to_json());
    }

    /// A broken file is an error of the run: listed with its place and counted in the total.
    #[test]
    fn broken_files_are_listed_and_counted() {
        let report = JsonReport::new(&fixtures::outcomes(), &fixtures::run_info_with_broken_files());
        let read: JsonReport = serde_json::from_str(&report.to_json()).expect("valid report");
        assert_eq!(read, report);
        assert_eq!((read.summary.total, read.summary.broken_files), (6, 2));
        assert_eq!(
            read.broken_files,
            [
                JsonBrokenFile {
                    file: "scenarios/broken.yaml".into(),
                    line: Some(6),
                    column: Some(5),
                    message: "unknown field `colour`, expected one of id, sleep".into()
                },
                JsonBrokenFile {
                    file: "scenarios/.#lock.yaml".into(),
                    line: None,
                    column: None,
                    message: "dangling symlink to `user@host.1`: expected a scenario file".into()
                },
            ]
        );
    }

    /// A version 1 document (no broken files) still reads, as a baseline does.
    #[test]
    fn a_version_1_report_reads_without_broken_files() {
        let mut value = serde_json::to_value(JsonReport::new(&fixtures::outcomes(), &fixtures::run_info()))
            .expect("a report is JSON");
        value["format_version"] = 1.into();
        value["summary"].as_object_mut().expect("summary").remove("broken_files");
        value.as_object_mut().expect("report").remove("broken_files");
        let read: JsonReport = serde_json::from_value(value).expect("a version 1 report reads");
        assert!(READABLE_VERSIONS.contains(&read.format_version));
        assert_eq!((read.summary.broken_files, read.broken_files.len()), (0, 0));
    }

    /// A format_version 1 document written before reproductions existed still reads.
    #[test]
    fn a_report_without_the_added_fields_still_reads() {
        let mut value = serde_json::to_value(JsonReport::new(&fixtures::outcomes(), &fixtures::run_info()))
            .expect("a report is JSON");
        let summary = value["summary"].as_object_mut().expect("summary");
        summary.remove("reproduced");
        summary.remove("not_reproduced");
        for scenario in value["scenarios"].as_array_mut().expect("scenarios") {
            scenario.as_object_mut().expect("scenario").remove("reproduction");
        }
        let read: JsonReport = serde_json::from_value(value).expect("an older report reads");
        assert_eq!(read, JsonReport::new(&fixtures::outcomes(), &fixtures::run_info()));
    }
}
