//! What running a scenario produced: plain data for reporters.
//!
//! Nothing here refers to the runner's internals or to HTTP client types, so a reporter can be written
//! (and tested) from these values alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub use super::resources::{Resource, ResourceKind};
use crate::scenario::Quirk;
use crate::scenario::{IncludeSite, Location, Origin};

/// The result of one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioOutcome {
    pub id: String,
    pub title: String,
    /// The scenario file, as it was given.
    pub file: PathBuf,
    pub tags: Vec<String>,
    /// The `run_id` variable of this execution (empty when the scenario never started).
    pub run_id: String,
    pub status: ScenarioStatus,
    /// One entry per step of the scenario, in file order (steps after a failure are `NotRun`).
    pub steps: Vec<StepOutcome>,
    pub duration: Duration,
    /// For a regression scenario run with `--reproduce` (or by the scenario tests): how the run with
    /// its quirk on went. `None` when no reproduction was asked for. Boxed: it holds a whole step, and
    /// most outcomes have none.
    pub reproduction: Option<Box<ReproductionVerdict>>,
    /// What the scenario created on an external target, in order, with how its teardown went (empty on
    /// the reference proxy, whose database goes away with the scenario).
    pub created: Vec<Created>,
}

/// One object a scenario created, and what teardown did with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub resource: Resource,
    /// The step whose request created it.
    pub step: String,
    pub cleanup: Cleanup,
    /// When teardown's delete was answered, so the leftover check can wait for LiteLLM's spend writer
    /// where it may write the object again ([`ResourceKind::recreated_by_spend_writer`]).
    pub deleted_at: Option<std::time::Instant>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// Not deleted yet.
    Pending,
    Deleted,
    /// The scenario deleted it itself.
    AlreadyGone,
    /// Left in place on purpose (`--keep`).
    Kept,
    /// The delete request failed; the leftover check tells whether it is still there.
    Failed(String),
    /// The target has no route to delete it (the reference proxy keeps an organization's budget but
    /// has no `/budget/*` routes); the leftover check tells whether it can still be seen.
    Unsupported(String),
}

/// How a regression scenario's bug reproduced on the reference proxy with its quirk on.
#[derive(Clone, Debug, PartialEq)]
pub struct ReproductionVerdict {
    pub quirk: Quirk,
    /// The step the scenario declares to fail with the quirk on.
    pub fails_at: String,
    pub result: ReproductionResult,
    /// The first step that did not pass in the run with the quirk, when there was one.
    pub quirk_step: Option<StepOutcome>,
    /// The checks of `observed` on the declared step's response (empty when another step stopped the
    /// run, or none did).
    pub observed: Vec<AssertionResult>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReproductionResult {
    /// The run with the quirk failed exactly at the declared step, with a response matching `observed`.
    Reproduced,
    /// The scenario cannot catch its bug; `reason` says how the run with the quirk went instead.
    NotReproduced { reason: String },
    /// Not attempted: the target is external, or the run without the quirk was skipped or errored.
    NotRun { reason: String },
}

impl ReproductionResult {
    /// `reproduced`, `not_reproduced` or `not_run`.
    pub fn name(&self) -> &'static str {
        match self {
            ReproductionResult::Reproduced => "reproduced",
            ReproductionResult::NotReproduced { .. } => "not_reproduced",
            ReproductionResult::NotRun { .. } => "not_run",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioStatus {
    Passed,
    /// A step failed; the step says why.
    Failed,
    Skipped {
        reason: String,
    },
    /// Infrastructure trouble (target unreachable, database or proxy setup failed): not a verdict on
    /// the target's behaviour.
    Errored {
        message: String,
    },
}

impl ScenarioStatus {
    /// A short lower-case name: `passed`, `failed`, `skipped` or `errored`.
    pub fn name(&self) -> &'static str {
        match self {
            ScenarioStatus::Passed => "passed",
            ScenarioStatus::Failed => "failed",
            ScenarioStatus::Skipped { .. } => "skipped",
            ScenarioStatus::Errored { .. } => "errored",
        }
    }
}

impl ScenarioOutcome {
    /// The first step that did not pass, if any.
    pub fn failed_step(&self) -> Option<&StepOutcome> {
        self.steps.iter().find(|s| matches!(s.status, StepStatus::Failed { .. } | StepStatus::Errored { .. }))
    }
}

/// The result of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutcome {
    pub id: String,
    pub location: Location,
    pub status: StepStatus,
    /// The last request sent, when the step got that far.
    pub request: Option<SentRequest>,
    /// The last response received.
    pub response: Option<ReceivedResponse>,
    /// Results of the checks on the last response: `retry.until` when it never held, else `expect`.
    pub assertions: Vec<AssertionResult>,
    pub duration: Duration,
    /// How many times the request was sent (0 without a request).
    pub attempts: u32,
    /// The fragment the step is written in, when it is an included one: `location` (and the locations
    /// of its assertions) are in that file, not the scenario's.
    pub origin: Option<Arc<Origin>>,
}

impl StepOutcome {
    /// The file the step is written in: its fragment, or the scenario file `scenario_file`.
    pub fn file<'a>(&'a self, scenario_file: &'a Path) -> &'a Path {
        self.origin.as_ref().map_or(scenario_file, |origin| origin.file.as_path())
    }

    /// The include steps that brought the step in, innermost first; empty for a step of the scenario.
    pub fn included_from(&self) -> &[IncludeSite] {
        self.origin.as_ref().map_or(&[], |origin| origin.included_from.as_slice())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Passed,
    /// The step ran and the target's behaviour did not match; `message` says how.
    Failed {
        message: String,
    },
    /// The target could not be reached (or timed out): infrastructure trouble.
    Errored {
        message: String,
    },
    /// An earlier step did not pass.
    NotRun,
}

impl StepStatus {
    /// A short lower-case name: `passed`, `failed`, `errored` or `not_run`.
    pub fn name(&self) -> &'static str {
        match self {
            StepStatus::Passed => "passed",
            StepStatus::Failed { .. } => "failed",
            StepStatus::Errored { .. } => "errored",
            StepStatus::NotRun => "not_run",
        }
    }
}

/// A request as it was sent, without credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    /// Who sent it: `admin`, `none` or `key sk-…1234` (never the whole key).
    pub credentials: String,
    /// Headers the step set, minus credential headers (lower-case names).
    pub headers: Vec<(String, String)>,
    pub body: Option<SentBody>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SentBody {
    Json(Value),
    Raw(String),
}

/// A response as it was received.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedResponse {
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl ReceivedResponse {
    /// Every value of a header (`name` in lower case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One check on a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssertionResult {
    /// Where the assertion is written, when it has its own place in the file.
    pub location: Option<Location>,
    /// What was checked, e.g. `status`, `body $.team_id equals`, `error message contains`.
    pub check: String,
    pub passed: bool,
    pub expected: String,
    pub actual: String,
    /// Why it failed, when expected and actual alone do not say (e.g. the body is not JSON).
    pub message: Option<String>,
}
