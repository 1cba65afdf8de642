//! The report for people: one line per scenario as it finishes, Hurl-style detail for a failure, and a
//! summary in file order.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Summary, truncate};
use crate::runner::Leftover;
use crate::runner::{
    AssertionResult, Event, ReproductionResult, ScenarioOutcome, ScenarioStatus, SentBody, StepOutcome, StepStatus,
};

/// Largest response or request body shown in a failure, in bytes.
const BODY_LIMIT: usize = 2048;

/// `PASS id (file) 0.42s`, `FAIL …`, `SKIP id (file) reason` or `ERROR id (file) 0.42s: message`.
pub fn scenario_line(outcome: &ScenarioOutcome) -> String {
    let head = |word: &str| format!("{word} {} ({})", outcome.id, outcome.file.display());
    match &outcome.status {
        ScenarioStatus::Passed => format!("{} {}", head("PASS"), seconds(outcome.duration)),
        ScenarioStatus::Failed => format!("{} {}", head("FAIL"), seconds(outcome.duration)),
        ScenarioStatus::Skipped { reason } => format!("{} {reason}", head("SKIP")),
        ScenarioStatus::Errored { message } => {
            format!("{} {}: {message}", head("ERROR"), seconds(outcome.duration))
        }
    }
}

/// `Running 2 scenarios against URL (1.83.14)`, or `… (version unknown)` when the target does not say.
pub fn running_line(scenarios: usize, target: &str, version: Option<&str>) -> String {
    let noun = if scenarios == 1 { "scenario" } else { "scenarios" };
    let version = version.map_or_else(|| format!("version {}", super::UNKNOWN_VERSION), str::to_string);
    format!("Running {scenarios} {noun} against {target} ({version})")
}

fn seconds(duration: Duration) -> String {
    format!("{:.2}s", duration.as_secs_f64())
}

/// `N passed, N failed`, then `, N skipped` and `, N errored` when there are any.
pub fn summary_line(summary: &Summary) -> String {
    let mut line = format!("{} passed, {} failed", summary.passed, summary.failed);
    if summary.skipped > 0 {
        let _ = write!(line, ", {} skipped", summary.skipped);
    }
    if summary.errored > 0 {
        let _ = write!(line, ", {} errored", summary.errored);
    }
    if summary.reproduced > 0 {
        let _ = write!(line, ", {} reproduced", summary.reproduced);
    }
    if summary.not_reproduced > 0 {
        let _ = write!(line, ", {} NOT reproduced", summary.not_reproduced);
    }
    line
}

/// For a scenario run with its reproduction: `reproduced: …`, `NOT reproduced: …` or
/// `reproduction not run: …`.
pub fn reproduction_line(outcome: &ScenarioOutcome) -> Option<String> {
    let verdict = outcome.reproduction.as_ref()?;
    Some(match &verdict.result {
        ReproductionResult::Reproduced => {
            format!("reproduced: with `{}` on, step `{}` fails as declared", verdict.quirk, verdict.fails_at)
        }
        ReproductionResult::NotReproduced { reason } => format!("NOT reproduced: {reason}"),
        ReproductionResult::NotRun { reason } => format!("reproduction not run: {reason}"),
    })
}

/// What went wrong in a failed or errored scenario: where (file:line:column of the step), the step,
/// the request, each failed assertion with expected and actual, and the response. `None` for a
/// scenario that passed or was skipped.
///
/// A regression scenario whose bug did not reproduce also shows where the run with the quirk stopped.
pub fn failure_detail(outcome: &ScenarioOutcome) -> Option<String> {
    if !matches!(outcome.status, ScenarioStatus::Failed | ScenarioStatus::Errored { .. }) {
        return None;
    }
    let mut out = String::new();
    let file = outcome.file.display().to_string();
    if let Some(step) = outcome.failed_step() {
        write_step(&mut out, step, &step.assertions, &file);
        let not_run: Vec<&str> =
            outcome.steps.iter().filter(|s| s.status == StepStatus::NotRun).map(|s| s.id.as_str()).collect();
        if !not_run.is_empty() {
            let _ = writeln!(out, "  not run: {}", not_run.join(", "));
        }
    }
    if let Some(verdict) = &outcome.reproduction
        && let (ReproductionResult::NotReproduced { .. }, Some(step)) = (&verdict.result, &verdict.quirk_step)
    {
        let _ = writeln!(out, "  with `{}` on, the run stopped at:", verdict.quirk);
        // At the declared step the checks that matter are `observed`; elsewhere, the step's own.
        let checks = if step.id == verdict.fails_at { &verdict.observed } else { &step.assertions };
        write_step(&mut out, step, checks, &file);
    }
    (!out.is_empty()).then_some(out)
}

/// Where the step is, how it ended, its request, the checks that failed and its response.
fn write_step(out: &mut String, step: &StepOutcome, checks: &[AssertionResult], scenario_file: &str) {
    // An included step is written in its fragment: its place, and its assertions', are there.
    let file = step.origin.as_ref().map_or_else(|| scenario_file.to_string(), |o| o.file.display().to_string());
    let file = file.as_str();
    let _ = writeln!(out, "  --> {file}:{}:{} (step `{}`)", step.location.line, step.location.column, step.id);
    for site in step.included_from() {
        let _ = writeln!(
            out,
            "      included from {}:{}:{}",
            site.file.display(),
            site.location.line,
            site.location.column
        );
    }
    match &step.status {
        StepStatus::Failed { message } => {
            let _ = writeln!(out, "  step failed: {message}");
        }
        StepStatus::Errored { message } => {
            let _ = writeln!(out, "  step errored: {message}");
        }
        StepStatus::Passed | StepStatus::NotRun => {}
    }
    write_request(out, step);
    write_assertions(out, step, checks, file);
    write_response(out, step);
}

fn write_request(out: &mut String, step: &StepOutcome) {
    let Some(request) = &step.request else { return };
    let _ = writeln!(out, "  request:");
    let _ = writeln!(out, "    {} {} (credentials: {})", request.method, request.url, request.credentials);
    for (name, value) in &request.headers {
        let _ = writeln!(out, "    {name}: {value}");
    }
    match &request.body {
        None => {}
        Some(SentBody::Json(value)) => write_block(out, &pretty(value)),
        Some(SentBody::Raw(text)) => write_block(out, text),
    }
}

fn write_assertions(out: &mut String, step: &StepOutcome, checks: &[AssertionResult], file: &str) {
    let failed: Vec<_> = checks.iter().filter(|a| !a.passed).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "  assertions:");
    for assertion in failed {
        let location = assertion.location.unwrap_or(step.location);
        let _ = writeln!(out, "    ✗ {} ({file}:{}:{})", assertion.check, location.line, location.column);
        write_field(out, "expected:", &assertion.expected);
        write_field(out, "actual:  ", &assertion.actual);
        if let Some(message) = &assertion.message {
            write_field(out, "because: ", message);
        }
    }
}

/// `label value`, with the value's further lines indented under its first.
fn write_field(out: &mut String, label: &str, value: &str) {
    let mut lines = value.lines();
    let _ = writeln!(out, "        {label} {}", lines.next().unwrap_or_default());
    for line in lines {
        let _ = writeln!(out, "        {:width$} {line}", "", width = label.len());
    }
}

fn write_response(out: &mut String, step: &StepOutcome) {
    let Some(response) = &step.response else { return };
    let _ = writeln!(out, "  response: {} (after {} attempt{})", response.status, step.attempts, plural(step.attempts));
    let body = match &response.json {
        Some(value) => pretty(value),
        None if response.body.is_empty() => "(empty body)".to_string(),
        None => response.body.clone(),
    };
    write_block(out, &body);
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn write_block(out: &mut String, text: &str) {
    for line in truncate(text, BODY_LIMIT).lines() {
        let _ = writeln!(out, "    {line}");
    }
}

/// The scenario line, the reproduction line when there is one, and, for a failure, its detail: what a
/// test harness shows for one scenario.
pub fn render_outcome(outcome: &ScenarioOutcome) -> String {
    let mut text = scenario_line(outcome);
    text.push('\n');
    if let Some(line) = reproduction_line(outcome) {
        let _ = writeln!(text, "  {line}");
    }
    if let Some(detail) = failure_detail(outcome) {
        text.push_str(&detail);
    }
    text
}

/// The summary printed after all scenarios: the scenarios that did not pass, in file order, then the
/// counts line (always last).
/// The comparison with `--baseline`: a headline, then each new failure and each fix.
pub fn render_baseline(comparison: &super::baseline::Comparison) -> String {
    let version = comparison.baseline_version.as_deref().map(|v| format!(", {v}")).unwrap_or_default();
    let mut text = format!(
        "baseline ({}{version}): {} new failure{}, {} fixed, {} failure{} it already had\n",
        comparison.file,
        comparison.new_failures.len(),
        if comparison.new_failures.len() == 1 { "" } else { "s" },
        comparison.fixed.len(),
        comparison.known_failures.len(),
        if comparison.known_failures.len() == 1 { "" } else { "s" },
    );
    for change in &comparison.new_failures {
        let _ = writeln!(text, "  NEW FAILURE {} ({}): {} in the baseline", change.id, change.file, change.before);
    }
    for change in &comparison.fixed {
        let _ = writeln!(text, "  FIXED {} ({}): failed in the baseline", change.id, change.file);
    }
    text
}

/// The leftover check's result: one line when clean, else every object left behind.
pub fn render_leftovers(leftovers: &[Leftover]) -> String {
    if leftovers.is_empty() {
        return "leftover check: nothing left behind\n".to_string();
    }
    let mut text = format!("LEFTOVER {} objects the run created are still on the target:\n", leftovers.len());
    for leftover in leftovers {
        text.push_str(&format!("  {}\n", super::leftover_line(leftover)));
    }
    text
}

pub fn render_summary(outcomes: &[ScenarioOutcome]) -> String {
    let mut text = String::new();
    let troubled: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o.status, ScenarioStatus::Failed | ScenarioStatus::Errored { .. }))
        .collect();
    if !troubled.is_empty() {
        text.push_str("\nnot passed:\n");
        for outcome in troubled {
            let word = if outcome.status == ScenarioStatus::Failed { "FAIL" } else { "ERROR" };
            let _ = writeln!(text, "  {word} {} ({})", outcome.id, outcome.file.display());
        }
    }
    text.push_str(&summary_line(&Summary::of(outcomes)));
    text.push('\n');
    text
}

/// Prints outcomes as scenarios finish, with a progress bar on stderr when it is a terminal.
pub struct HumanReporter<W: Write> {
    out: W,
    progress: Option<ProgressBar>,
}

impl<W: Write> HumanReporter<W> {
    /// `total` is the number of scenarios that will run (for the progress bar).
    pub fn new(out: W, total: usize) -> HumanReporter<W> {
        let progress = io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        HumanReporter { out, progress }
    }

    /// A reporter that never draws a progress bar (tests, non-terminal output).
    pub fn plain(out: W) -> HumanReporter<W> {
        HumanReporter { out, progress: None }
    }

    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::ScenarioStarted { id, .. } => {
                if let Some(bar) = &self.progress {
                    bar.set_message(id.clone());
                }
                Ok(())
            }
            Event::StepFinished { .. } => Ok(()),
            Event::RunHalted { reason } => {
                self.write(&format!("HALTED {reason}: the scenarios not yet started do not run\n"))
            }
            Event::ScenarioFinished { outcome, .. } => {
                let text = render_outcome(outcome);
                if let Some(bar) = &self.progress {
                    bar.inc(1);
                }
                self.write(&text)
            }
        }
    }

    /// Prints the summary (after every outcome has been reported).
    pub fn finish(&mut self, outcomes: &[ScenarioOutcome]) -> io::Result<()> {
        self.finish_with_leftovers(outcomes, None)
    }

    /// Prints what the leftover check found, when it ran, then the summary.
    pub fn finish_with_leftovers(
        &mut self,
        outcomes: &[ScenarioOutcome],
        leftovers: Option<&[Leftover]>,
    ) -> io::Result<()> {
        self.finish_run(outcomes, leftovers, None)
    }

    /// Prints what the leftover check found, when it ran, the comparison with the baseline, when there
    /// is one, then the summary (always last).
    pub fn finish_run(
        &mut self,
        outcomes: &[ScenarioOutcome],
        leftovers: Option<&[Leftover]>,
        baseline: Option<&super::baseline::Comparison>,
    ) -> io::Result<()> {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        let mut text = String::new();
        if let Some(leftovers) = leftovers {
            text.push_str(&render_leftovers(leftovers));
        }
        if let Some(comparison) = baseline {
            text.push_str(&render_baseline(comparison));
        }
        text.push_str(&render_summary(outcomes));
        self.write(&text)
    }

    fn write(&mut self, text: &str) -> io::Result<()> {
        let out = &mut self.out;
        let mut write = || {
            out.write_all(text.as_bytes())?;
            out.flush()
        };
        match &self.progress {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn summary_line_keeps_passed_and_failed_first_and_adds_the_rest_only_when_present() {
        let cases = [
            (Summary { passed: 3, ..Summary::default() }, "3 passed, 0 failed"),
            (Summary { passed: 1, failed: 2, skipped: 1, ..Summary::default() }, "1 passed, 2 failed, 1 skipped"),
            (Summary { errored: 2, ..Summary::default() }, "0 passed, 0 failed, 2 errored"),
            (
                Summary { passed: 1, failed: 1, skipped: 1, errored: 1, ..Summary::default() },
                "1 passed, 1 failed, 1 skipped, 1 errored",
            ),
            (
                Summary { passed: 2, failed: 1, reproduced: 2, not_reproduced: 1, ..Summary::default() },
                "2 passed, 1 failed, 2 reproduced, 1 NOT reproduced",
            ),
        ];
        for (summary, line) in cases {
            assert_eq!(summary_line(&summary), line);
        }
    }

    #[test]
    fn passed_and_skipped_scenarios_have_no_detail() {
        let outcomes = fixtures::outcomes();
        let lines: Vec<_> = outcomes.iter().map(|o| (scenario_line(o), failure_detail(o).is_some())).collect();
        assert_eq!(
            lines,
            [
                ("PASS team-create (scenarios/team-create.yaml) 0.42s".to_string(), false),
                ("FAIL org-admin-updates-team (scenarios/org/admin.yaml) 1.50s".to_string(), true),
                (
                    "SKIP cache-ttl (scenarios/cache.yaml) needs reference-only settings: DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL=0"
                        .to_string(),
                    false
                ),
                (
                    "ERROR unreachable (scenarios/down.yaml) 0.01s: step `health`: failed to send GET http://127.0.0.1:9/health: connection refused"
                        .to_string(),
                    true
                ),
            ]
        );
    }

    #[test]
    fn each_reproduction_verdict_has_its_line_and_only_a_miss_has_detail() {
        let outcomes = fixtures::reproduction_outcomes();
        let lines: Vec<_> =
            outcomes.iter().map(|o| (reproduction_line(o).unwrap_or_default(), failure_detail(o).is_some())).collect();
        assert_eq!(
            lines,
            [
                ("reproduced: with `stale_team_cache` on, step `key-for-g2` fails as declared".to_string(), false),
                (
                    "NOT reproduced: with `org_admin_gate_needs_org_id_in_body` on, step `update-as-stranger` failed, not `update-as-org-admin`"
                        .to_string(),
                    true
                ),
                (
                    "reproduction not run: quirks switch bugs on in the reference proxy only; the target is external"
                        .to_string(),
                    false
                ),
            ]
        );
        assert_eq!(reproduction_line(&fixtures::outcomes()[0]), None);
    }

    #[test]
    fn reproduction_rendering() {
        let outcomes = fixtures::reproduction_outcomes();
        let text: String = outcomes.iter().map(render_outcome).collect::<String>() + &render_summary(&outcomes);
        assert!(text.ends_with("2 passed, 1 failed, 1 reproduced, 1 NOT reproduced\n"), "{text}");
        insta::assert_snapshot!("reproduction_rendering", text);
    }

    #[test]
    fn failure_rendering() {
        let outcomes = fixtures::outcomes();
        insta::assert_snapshot!("failure_rendering", render_outcome(&outcomes[1]));
    }

    #[test]
    fn run_rendering() {
        let outcomes = fixtures::outcomes();
        let mut out = Vec::new();
        let mut reporter = HumanReporter::plain(&mut out);
        for (index, outcome) in outcomes.iter().enumerate() {
            reporter.event(&Event::ScenarioFinished { index, outcome: outcome.clone() }).expect("write to memory");
        }
        reporter.finish(&outcomes).expect("write to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.ends_with("1 passed, 1 failed, 1 skipped, 1 errored\n"), "{text}");
        insta::assert_snapshot!("run_rendering", text);
    }

    #[test]
    fn multi_line_values_stay_indented_under_their_label() {
        let mut outcome = fixtures::outcomes().swap_remove(1);
        let step = outcome.steps.iter_mut().find(|s| !s.assertions.is_empty()).expect("assertions");
        step.assertions[0].actual = "line one\nline two".into();
        let detail = failure_detail(&outcome).expect("a failure");
        assert!(detail.contains("        actual:   line one\n                  line two\n"), "{detail}");
    }

    #[test]
    fn an_included_step_is_placed_in_its_fragment_with_every_include_step() {
        let outcome = fixtures::included_failure();
        let detail = failure_detail(&outcome).expect("a failure");
        let step = outcome.failed_step().expect("a failed step");
        let (line, column) = (step.location.line, step.location.column);
        let expected = format!(
            "  --> scenarios/fragments/team.yaml:{line}:{column} (step `{}`)\n      included from \
             scenarios/fragments/org.yaml:9:5\n      included from scenarios/org/admin.yaml:4:5\n",
            step.id
        );
        assert!(detail.contains(&expected), "{detail}");
        // Its assertions are in the fragment too.
        assert!(!detail.contains("(scenarios/org/admin.yaml:"), "{detail}");
        assert!(detail.contains("(scenarios/fragments/team.yaml:"), "{detail}");
    }

    #[test]
    fn long_bodies_are_truncated() {
        let mut outcome = fixtures::outcomes().swap_remove(1);
        let step = outcome.steps.iter_mut().find(|s| s.response.is_some()).expect("a response");
        let response = step.response.as_mut().expect("a response");
        response.json = None;
        response.body = "x".repeat(5000);
        let detail = failure_detail(&outcome).expect("a failure");
        assert!(detail.contains("… (2952 more bytes)"), "{detail}");
        assert!(detail.len() < 3000);
    }
}
