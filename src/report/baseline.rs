//! Comparing a run with an earlier JSON report (`--baseline PREVIOUS.json`): the upgrade gate an
//! operator can adopt with today's known bugs accepted.
//!
//! Pure: the baseline is read into plain data, and the comparison is a function of it and the outcomes.
//! Only `failed` is a verdict to compare: an errored scenario is infrastructure trouble in any run, and
//! the baseline never excuses it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::json::{JsonReport, JsonScenarioStatus};
use crate::runner::{ScenarioOutcome, ScenarioStatus};

/// An earlier run's verdict per scenario id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Baseline {
    /// The file it was read from, as given.
    pub file: PathBuf,
    /// The version the earlier run was taken on, as its report says.
    pub target_version: Option<String>,
    statuses: BTreeMap<String, JsonScenarioStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("failed to read the baseline {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read the baseline {} as a gateproof JSON report", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the baseline {} has format_version {found}; this gateproof reads 1 to {newest}", path.display())]
    Version { path: PathBuf, found: u32, newest: u32 },
}

impl Baseline {
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| BaselineError::Read { path: path.to_path_buf(), source })?;
        let report: JsonReport =
            serde_json::from_str(&text).map_err(|source| BaselineError::Parse { path: path.to_path_buf(), source })?;
        if !super::json::READABLE_VERSIONS.contains(&report.format_version) {
            return Err(BaselineError::Version {
                path: path.to_path_buf(),
                found: report.format_version,
                newest: super::json::FORMAT_VERSION,
            });
        }
        Ok(Baseline::from_report(path, &report))
    }

    pub fn from_report(path: &Path, report: &JsonReport) -> Baseline {
        Baseline {
            file: path.to_path_buf(),
            target_version: report.target_version.clone(),
            statuses: report.scenarios.iter().map(|s| (s.id.clone(), s.status)).collect(),
        }
    }

    /// The earlier verdict of scenario `id`; `None` when the earlier run did not have it.
    pub fn status(&self, id: &str) -> Option<JsonScenarioStatus> {
        self.statuses.get(id).copied()
    }
}

/// One scenario whose verdict the comparison names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    pub file: String,
    /// Its status in the baseline: `passed`, `failed`, `skipped`, `errored`, or `absent`.
    pub before: &'static str,
}

/// How a run compares with its baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// The baseline file, as given.
    pub file: String,
    pub baseline_version: Option<String>,
    /// Failing now, and not failing in the baseline (passed, skipped, errored or absent there): these
    /// decide the exit code.
    pub new_failures: Vec<Change>,
    /// Failing in the baseline, passing now.
    pub fixed: Vec<Change>,
    /// Failing in both: accepted by the baseline.
    pub known_failures: Vec<Change>,
}

/// Compares the outcomes with the baseline, in the outcomes' order.
pub fn compare(baseline: &Baseline, outcomes: &[ScenarioOutcome]) -> Comparison {
    let mut comparison = Comparison {
        file: baseline.file.display().to_string(),
        baseline_version: baseline.target_version.clone(),
        ..Comparison::default()
    };
    for outcome in outcomes {
        let before = baseline.status(&outcome.id);
        let change = || Change {
            id: outcome.id.clone(),
            file: outcome.file.display().to_string(),
            before: before.map_or("absent", status_name),
        };
        let failed_before = before == Some(JsonScenarioStatus::Failed);
        match (&outcome.status, failed_before) {
            (ScenarioStatus::Failed, true) => comparison.known_failures.push(change()),
            (ScenarioStatus::Failed, false) => comparison.new_failures.push(change()),
            (ScenarioStatus::Passed, true) => comparison.fixed.push(change()),
            _ => {}
        }
    }
    comparison
}

fn status_name(status: JsonScenarioStatus) -> &'static str {
    match status {
        JsonScenarioStatus::Passed => "passed",
        JsonScenarioStatus::Failed => "failed",
        JsonScenarioStatus::Skipped => "skipped",
        JsonScenarioStatus::Errored => "errored",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;
    use crate::report::json::JsonReport;

    fn with_status(outcomes: &mut [ScenarioOutcome], id: &str, status: ScenarioStatus) {
        outcomes.iter_mut().find(|o| o.id == id).expect("fixture id").status = status;
    }

    #[test]
    fn failures_are_new_known_or_fixed_by_what_the_baseline_said() {
        let before = fixtures::outcomes();
        let ids: Vec<String> = before.iter().map(|o| o.id.clone()).collect();
        let statuses: Vec<&str> = before.iter().map(|o| o.status.name()).collect();
        assert_eq!(statuses, ["passed", "failed", "skipped", "errored"], "the fixture's shape: {ids:?}");
        let baseline =
            Baseline::from_report(Path::new("before.json"), &JsonReport::new(&before, &fixtures::run_info()));

        // Now: the passing one fails, the failing one passes, the skipped one fails, the errored one fails.
        let mut now = fixtures::outcomes();
        with_status(&mut now, &ids[0], ScenarioStatus::Failed);
        with_status(&mut now, &ids[1], ScenarioStatus::Passed);
        with_status(&mut now, &ids[2], ScenarioStatus::Failed);
        with_status(&mut now, &ids[3], ScenarioStatus::Failed);
        let comparison = compare(&baseline, &now);
        let named = |changes: &[Change]| changes.iter().map(|c| (c.id.clone(), c.before)).collect::<Vec<_>>();
        assert_eq!(
            named(&comparison.new_failures),
            [(ids[0].clone(), "passed"), (ids[2].clone(), "skipped"), (ids[3].clone(), "errored")]
        );
        assert_eq!(named(&comparison.fixed), [(ids[1].clone(), "failed")]);
        assert!(comparison.known_failures.is_empty());

        // The same run again: its failure is known, nothing is new.
        let again = compare(&baseline, &before);
        assert_eq!(named(&again.known_failures), [(ids[1].clone(), "failed")]);
        assert!(again.new_failures.is_empty() && again.fixed.is_empty());
        assert_eq!(again.baseline_version.as_deref(), Some("gateproof reference 0.1.0"));
    }

    #[test]
    fn a_scenario_the_baseline_lacks_fails_as_new() {
        let baseline = Baseline::from_report(Path::new("empty.json"), &JsonReport::new(&[], &fixtures::run_info()));
        let comparison = compare(&baseline, &fixtures::outcomes());
        assert_eq!(comparison.new_failures.iter().map(|c| c.before).collect::<Vec<_>>(), ["absent"]);
    }
}
