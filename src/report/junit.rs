//! JUnit XML for CI: one testsuite per run, one testcase per scenario.

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::baseline::{Change, Comparison};
use super::human::{failure_detail, reproduction_line};
use super::{BrokenFile, RunInfo, leftover_line};
use crate::runner::Leftover;
use crate::runner::{ReproductionResult, ScenarioOutcome, ScenarioStatus, StepStatus};

#[derive(Debug, thiserror::Error)]
#[error("failed to serialize the JUnit report")]
pub struct JunitError(#[from] quick_junit::SerializeError);

/// The report: testcase name = scenario id, classname = scenario file; a failure carries the failing
/// step's message and the human failure detail, a skip its reason, an infrastructure error its message.
///
/// With `--baseline`, the report agrees with the exit code: a failure the baseline accepted (it failed
/// there too) is a skip whose message says so and keeps the failure's detail, so a CI dashboard stays
/// green exactly when the gate does; a fix carries the property `baseline = fixed`.
pub fn report(outcomes: &[ScenarioOutcome], run: &RunInfo) -> Report {
    let mut suite = TestSuite::new("gateproof");
    suite.set_timestamp(run.started_at.fixed_offset());
    suite.set_time(run.duration);
    suite.add_property(Property::new("target", run.target.as_str()));
    suite.add_property(Property::new("target_version", run.target_version.as_str()));
    if let Some(partition) = run.partition {
        suite.add_property(Property::new("partition", partition.to_string()));
    }
    if let Some(baseline) = &run.baseline {
        suite.add_property(Property::new("baseline", baseline.file.as_str()));
        let version = baseline.baseline_version.as_deref().unwrap_or(super::UNKNOWN_VERSION);
        suite.add_property(Property::new("baseline_target_version", version));
    }
    suite.add_test_cases(run.broken_files.iter().map(broken_file_case));
    suite.add_test_cases(outcomes.iter().map(|outcome| test_case(outcome, run.baseline.as_ref())));
    if let Some(leftovers) = &run.leftovers {
        suite.add_test_case(leftover_case(leftovers));
    }

    let mut report = Report::new("gateproof");
    report.set_timestamp(run.started_at.fixed_offset());
    report.set_time(run.duration);
    report.add_test_suite(suite);
    report
}

/// The report as an XML document.
pub fn to_xml(outcomes: &[ScenarioOutcome], run: &RunInfo) -> Result<String, JunitError> {
    Ok(report(outcomes, run).to_string()?)
}

/// The leftover check as a test case of its own, so a CI history shows a run that left objects behind.
fn leftover_case(leftovers: &[Leftover]) -> TestCase {
    let status = if leftovers.is_empty() {
        TestCaseStatus::success()
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(format!("{} objects left behind on the target", leftovers.len()));
        status.set_description(leftovers.iter().map(leftover_line).collect::<Vec<_>>().join("\n"));
        status
    };
    let mut case = TestCase::new("leftover-check", status);
    case.set_classname("gateproof");
    case
}

/// A scenario file that could not be loaded: an error, named by its file, so CI counts it.
fn broken_file_case(broken: &BrokenFile) -> TestCase {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_message(format!("{}: {}", broken.place(), broken.message));
    status.set_type("broken scenario file");
    let file = broken.file.display().to_string();
    let mut case = TestCase::new(file.as_str(), status);
    case.set_classname(file);
    case
}

fn test_case(outcome: &ScenarioOutcome, baseline: Option<&Comparison>) -> TestCase {
    let named = |changes: &[Change]| changes.iter().any(|change| change.id == outcome.id);
    let accepted = baseline.is_some_and(|b| named(&b.known_failures));
    let status = match &outcome.status {
        ScenarioStatus::Passed => TestCaseStatus::success(),
        ScenarioStatus::Failed if accepted => {
            let mut status = TestCaseStatus::skipped();
            let file = baseline.map_or("", |b| b.file.as_str());
            status.set_message(format!("known failure, accepted by the baseline {file}: {}", failure_message(outcome)));
            if let Some(detail) = failure_detail(outcome) {
                status.set_description(detail);
            }
            status
        }
        ScenarioStatus::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(failure_message(outcome));
            if let Some(detail) = failure_detail(outcome) {
                status.set_description(detail);
            }
            status
        }
        ScenarioStatus::Skipped { reason } => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.as_str());
            status
        }
        ScenarioStatus::Errored { message } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(message.as_str());
            if let Some(detail) = failure_detail(outcome) {
                status.set_description(detail);
            }
            status
        }
    };
    let mut case = TestCase::new(outcome.id.as_str(), status);
    if baseline.is_some_and(|b| named(&b.fixed)) {
        case.add_property(Property::new("baseline", "fixed"));
    } else if accepted {
        case.add_property(Property::new("baseline", "known_failure"));
    }
    if let Some(line) = reproduction_line(outcome) {
        case.set_system_out(line);
    }
    case.set_classname(outcome.file.display().to_string());
    case.set_time(outcome.duration);
    case
}

/// `step `id` failed: message`.
fn failure_message(outcome: &ScenarioOutcome) -> String {
    match outcome.failed_step() {
        Some(step) => match &step.status {
            StepStatus::Failed { message } | StepStatus::Errored { message } => {
                format!("step `{}` failed: {message}", step.id)
            }
            StepStatus::Passed | StepStatus::NotRun => format!("step `{}` failed", step.id),
        },
        None => match outcome.reproduction.as_ref().map(|r| &r.result) {
            Some(ReproductionResult::NotReproduced { reason }) => format!("NOT reproduced: {reason}"),
            _ => "the scenario failed".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn junit_of_the_fixed_outcomes() {
        let xml = to_xml(&fixtures::outcomes(), &fixtures::run_info()).expect("serializes");
        insta::assert_snapshot!("junit", xml);
    }

    #[test]
    fn a_failed_included_step_is_placed_in_its_fragment() {
        let xml = to_xml(&[fixtures::included_failure()], &fixtures::run_info()).expect("serializes");
        assert!(xml.contains("--&gt; scenarios/fragments/team.yaml:"), "{xml}");
        assert!(xml.contains("included from scenarios/org/admin.yaml:4:5"), "{xml}");
    }

    #[test]
    fn each_status_maps_to_its_junit_element() {
        let xml = to_xml(&fixtures::outcomes(), &fixtures::run_info()).expect("serializes");
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert_eq!(xml.matches("<skipped ").count(), 1);
        assert_eq!(xml.matches("<error ").count(), 1);
        assert!(xml.contains(r#"classname="scenarios/org/admin.yaml""#), "{xml}");
    }

    /// One good run and two broken files: the two are errors, so the suite is not green.
    #[test]
    fn broken_files_are_error_test_cases() {
        let xml = to_xml(&fixtures::outcomes(), &fixtures::run_info_with_broken_files()).expect("serializes");
        assert_eq!(xml.matches("<testcase ").count(), 6, "{xml}");
        assert_eq!(xml.matches("<error ").count(), 3, "{xml}");
        assert!(xml.contains(r#"tests="6""#) && xml.contains(r#"errors="3""#), "{xml}");
        assert!(xml.contains(r#"<testcase name="scenarios/broken.yaml" classname="scenarios/broken.yaml">"#), "{xml}");
        assert!(xml.contains("message=\"scenarios/broken.yaml:6:5: unknown field `colour`"), "{xml}");
        assert!(xml.contains("message=\"scenarios/.#lock.yaml: dangling symlink"), "{xml}");
    }

    #[test]
    fn a_missed_reproduction_is_a_failure_and_every_verdict_is_in_system_out() {
        let xml = to_xml(&fixtures::reproduction_outcomes(), &fixtures::run_info()).expect("serializes");
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert!(xml.contains("message=\"NOT reproduced: with `org_admin_gate_needs_org_id_in_body` on"), "{xml}");
        assert_eq!(xml.matches("<system-out>").count(), 3, "{xml}");
        assert!(xml.contains("reproduced: with `stale_team_cache` on, step `key-for-g2` fails as declared"), "{xml}");
    }

    #[test]
    fn with_a_baseline_an_accepted_failure_is_a_skip_and_a_new_one_stays_a_failure() {
        use crate::report::baseline::{Baseline, compare};
        use crate::report::json::JsonReport;
        use crate::runner::ScenarioStatus;

        let before = fixtures::outcomes();
        let failing = before.iter().find(|o| o.status == ScenarioStatus::Failed).expect("a failing fixture").id.clone();
        let passing = before.iter().find(|o| o.status == ScenarioStatus::Passed).expect("a passing fixture").id.clone();
        let baseline = Baseline::from_report(
            std::path::Path::new("before.json"),
            &JsonReport::new(&before, &fixtures::run_info()),
        );

        // The same outcomes again: the failure is known, so nothing in the report fails.
        let mut run = fixtures::run_info();
        run.baseline = Some(compare(&baseline, &before));
        let xml = to_xml(&before, &run).expect("serializes");
        assert_eq!(xml.matches("<failure ").count(), 0, "{xml}");
        assert!(xml.contains("known failure, accepted by the baseline before.json: step `"), "{xml}");
        assert!(xml.contains(r#"<property name="baseline" value="before.json"/>"#), "{xml}");

        // Now the passing one fails and the failing one passes: one new failure, one fix.
        let mut now = fixtures::outcomes();
        for outcome in &mut now {
            if outcome.id == failing {
                outcome.status = ScenarioStatus::Passed;
            } else if outcome.id == passing {
                outcome.status = ScenarioStatus::Failed;
            }
        }
        run.baseline = Some(compare(&baseline, &now));
        let xml = to_xml(&now, &run).expect("serializes");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(!xml.contains("known failure"), "{xml}");
        assert!(xml.contains(r#"<property name="baseline" value="fixed"/>"#), "{xml}");
    }
}
