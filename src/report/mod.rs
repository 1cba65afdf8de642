//! Reporters: turn the runner's events and outcomes into text for people (`human`), JUnit XML for CI
//! (`junit`) and a versioned JSON document for tools (`json`). They read outcomes only; the HTML page
//! (`html`) reads only the JSON document, so it can render a merged one too.

pub mod baseline;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod merge;
pub mod read_back;
pub mod redact;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::runner::{Leftover, ReproductionResult, ScenarioOutcome, ScenarioStatus};

/// The version reports give a target that does not say its own: never left out silently.
pub const UNKNOWN_VERSION: &str = "unknown";

/// Facts about a whole run that the reports carry besides the outcomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// `reference`, or the external target's base URL(s).
    pub target: String,
    /// What the target says its version is; [`UNKNOWN_VERSION`] when it does not say.
    pub target_version: String,
    /// The shard this run was (`--partition`); `None` for a whole run.
    pub partition: Option<crate::runner::Partition>,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    /// What the leftover check found after a run on an external target; `None` when it did not run
    /// (the reference proxy, or `--keep`).
    pub leftovers: Option<Vec<Leftover>>,
    /// How the run compares with `--baseline`; `None` without one.
    pub baseline: Option<baseline::Comparison>,
    /// The scenario files that could not be loaded, in file order: each is an error in the reports.
    pub broken_files: Vec<BrokenFile>,
}

/// A scenario file (or directory entry) that could not be loaded, as the reports carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenFile {
    pub file: std::path::PathBuf,
    /// Where the problem is; `None` when the file could not be read at all.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The one-line message, without the place.
    pub message: String,
}

impl BrokenFile {
    pub fn of(error: &crate::scenario::ScenarioError) -> BrokenFile {
        let line = error.to_string();
        // `Display` is `PLACE: message`; the place is carried in its own fields.
        let place_len = match (error.line(), error.column()) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}: ", error.path().display()).len(),
            _ => format!("{}: ", error.path().display()).len(),
        };
        BrokenFile {
            file: error.path().to_path_buf(),
            line: error.line(),
            column: error.column(),
            message: line.get(place_len..).unwrap_or(&line).to_string(),
        }
    }

    /// `FILE:LINE:COLUMN: message`, as the loader said it.
    pub fn place(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file.display()),
            _ => self.file.display().to_string(),
        }
    }
}

/// One line naming a leftover, for every reporter.
pub fn leftover_line(leftover: &Leftover) -> String {
    if leftover.scenario.is_empty() {
        format!("{}: {}", leftover.label, leftover.reason)
    } else {
        format!("{} (created by {}): {}", leftover.label, leftover.scenario, leftover.reason)
    }
}

/// How many scenarios ended each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errored: usize,
    /// Regression scenarios whose bug reproduced with their quirk on (`--reproduce`).
    pub reproduced: usize,
    /// Regression scenarios whose bug did not reproduce: they cannot catch it.
    pub not_reproduced: usize,
}

impl Summary {
    pub fn of(outcomes: &[ScenarioOutcome]) -> Summary {
        let mut summary = Summary::default();
        for outcome in outcomes {
            match outcome.status {
                ScenarioStatus::Passed => summary.passed += 1,
                ScenarioStatus::Failed => summary.failed += 1,
                ScenarioStatus::Skipped { .. } => summary.skipped += 1,
                ScenarioStatus::Errored { .. } => summary.errored += 1,
            }
            match outcome.reproduction.as_ref().map(|r| &r.result) {
                Some(ReproductionResult::Reproduced) => summary.reproduced += 1,
                Some(ReproductionResult::NotReproduced { .. }) => summary.not_reproduced += 1,
                Some(ReproductionResult::NotRun { .. }) | None => {}
            }
        }
        summary
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped + self.errored
    }
}

/// At most `max` bytes of `text` (cut at a character boundary), saying how much was left out.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let kept = crate::runner::char_prefix(text, max);
    format!("{kept}\n… ({} more bytes)", text.len() - kept.len())
}

#[cfg(test)]
pub(crate) mod fixtures;
