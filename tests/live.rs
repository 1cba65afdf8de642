//! The corpus against running LiteLLM proxies, held to what `verdicts/litellm-<version>.yaml` says
//! each scenario does on that version.
//!
//! `GATEPROOF_LIVE_TARGETS` names the proxies: `VERSION=URL`, comma-separated, with `+` joining the
//! URLs of replicas of one deployment (`1.83.14=http://127.0.0.1:4014+http://127.0.0.1:4015`). Each
//! entry is one test: it runs the built binary over `scenarios/` with `--json` and fails naming every
//! scenario whose outcome differs from its verdict (expected against actual), every scenario the
//! verdicts do not list, and every object the run left behind. `GATEPROOF_LIVE_MASTER_KEY` is the
//! master key (default `sk-master`). Without the variable the live test is reported as ignored, with
//! the reason; the verdict parsing and comparison tests always run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use gateproof::report::json::{JsonReport, JsonScenario, JsonScenarioStatus, JsonStep, JsonStepStatus};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;

const TARGETS_VAR: &str = "GATEPROOF_LIVE_TARGETS";
const MASTER_KEY_VAR: &str = "GATEPROOF_LIVE_MASTER_KEY";
/// LiteLLM 1.83 answers a failing MCP upstream only after 30 s, the default request timeout; with
/// more room that answer is a failed step, as the verdicts record it, rather than an errored one.
const REQUEST_TIMEOUT: &str = "60s";
/// Scenarios at once against one live target set (the run's default is 4 per CPU). Two runs share the
/// cores with four LiteLLM replicas; at the default, 1.109.1's `/team/new` member transaction outlasts
/// its 5 s timeout and answers 500, which is load, not a decision.
const LIVE_JOBS: &str = "3";

/// What a scenario does on one version.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Pass,
    /// Fails, first at `step`.
    Fail {
        step: String,
    },
    /// Skipped for a missing capability, `replicas` or `reference_settings`.
    Skip {
        because: String,
    },
    /// Did not run to a verdict (infrastructure trouble); never expected.
    Error {
        reason: String,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pass => f.write_str("pass"),
            Outcome::Fail { step } => write!(f, "fail at `{step}`"),
            Outcome::Skip { because } => write!(f, "skip ({because})"),
            Outcome::Error { reason } => write!(f, "error ({reason})"),
        }
    }
}

/// One scenario's entry in a verdicts file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Verdict {
    outcome: Outcome,
    /// Targets the scenario needs; with fewer it is skipped for `replicas`.
    replicas: usize,
}

impl Verdict {
    fn expected(&self, targets: usize) -> Outcome {
        if targets < self.replicas { Outcome::Skip { because: "replicas".into() } } else { self.outcome.clone() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Verdicts {
    litellm: String,
    scenarios: BTreeMap<String, Verdict>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictsFile {
    litellm: String,
    scenarios: BTreeMap<String, VerdictFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictFile {
    outcome: OutcomeKind,
    step: Option<String>,
    upstream: Option<String>,
    skip: Option<String>,
    replicas: Option<usize>,
    reason: Option<String>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeKind {
    Pass,
    Fail,
    Skip,
}

/// Parses and checks a verdicts file: a failure names its step, its upstream issue and why; a skip
/// its cause and why; a pass nothing else.
fn parse_verdicts(text: &str) -> Result<Verdicts, String> {
    let file: VerdictsFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let mut scenarios = BTreeMap::new();
    for (id, entry) in file.scenarios {
        let missing = |field: &str| format!("`{id}`: a `{}` verdict needs `{field}`", kind_name(entry.outcome));
        let outcome = match entry.outcome {
            OutcomeKind::Pass => {
                if entry.step.is_some() || entry.skip.is_some() || entry.upstream.is_some() {
                    return Err(format!("`{id}`: a `pass` verdict takes no `step`, `skip` or `upstream`"));
                }
                Outcome::Pass
            }
            OutcomeKind::Fail => {
                let step = entry.step.clone().ok_or_else(|| missing("step"))?;
                entry.upstream.as_ref().ok_or_else(|| missing("upstream"))?;
                entry.reason.as_ref().ok_or_else(|| missing("reason"))?;
                if entry.skip.is_some() {
                    return Err(format!("`{id}`: a `fail` verdict takes no `skip`"));
                }
                Outcome::Fail { step }
            }
            OutcomeKind::Skip => {
                let because = entry.skip.clone().ok_or_else(|| missing("skip"))?;
                entry.reason.as_ref().ok_or_else(|| missing("reason"))?;
                if entry.step.is_some() || entry.upstream.is_some() {
                    return Err(format!("`{id}`: a `skip` verdict takes no `step` or `upstream`"));
                }
                Outcome::Skip { because }
            }
        };
        scenarios.insert(id, Verdict { outcome, replicas: entry.replicas.unwrap_or(1) });
    }
    Ok(Verdicts { litellm: file.litellm, scenarios })
}

fn kind_name(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Pass => "pass",
        OutcomeKind::Fail => "fail",
        OutcomeKind::Skip => "skip",
    }
}

/// The cause of a skip, from the runner's reason: the capability the probe found missing, or
/// `replicas` / `reference_settings`.
fn skip_cause(reason: &str) -> String {
    if let Some(rest) = reason.strip_prefix("the target lacks `")
        && let Some((capability, _)) = rest.split_once('`')
    {
        return capability.to_string();
    }
    if reason.starts_with("needs ") && reason.contains(" replicas") {
        return "replicas".into();
    }
    if reason.starts_with("needs reference-only settings") {
        return "reference_settings".into();
    }
    reason.to_string()
}

fn actual(scenario: &JsonScenario) -> Outcome {
    let reason = || scenario.reason.clone().unwrap_or_default();
    match scenario.status {
        JsonScenarioStatus::Passed => Outcome::Pass,
        JsonScenarioStatus::Skipped => Outcome::Skip { because: skip_cause(&reason()) },
        JsonScenarioStatus::Errored => Outcome::Error { reason: reason() },
        JsonScenarioStatus::Failed => {
            let failed =
                scenario.steps.iter().find(|s| matches!(s.status, JsonStepStatus::Failed | JsonStepStatus::Errored));
            Outcome::Fail { step: failed.map_or_else(|| "(no step)".to_string(), |s| s.id.clone()) }
        }
    }
}

/// What the scenario's failing step received, for a difference line: a flake on a real proxy is
/// seen once, so its line carries the answer that made it (empty when the scenario did not fail).
fn received(scenario: &JsonScenario) -> String {
    let failed = scenario.steps.iter().find(|s| matches!(s.status, JsonStepStatus::Failed | JsonStepStatus::Errored));
    let Some(step) = failed else { return String::new() };
    let answer = match &step.response {
        Some(r) => {
            let body: String = r.body.chars().take(RECEIVED_CHARS).collect();
            format!("{} {body}", r.status)
        }
        None => step.message.clone().unwrap_or_else(|| "no response".into()),
    };
    format!(" (after {} attempt(s): {answer})", step.attempts)
}

/// How much of a failing step's response body a difference line shows.
const RECEIVED_CHARS: usize = 300;

/// Every way `report`, a run over `targets` URLs, differs from `verdicts`, one line each.
fn compare(verdicts: &Verdicts, report: &JsonReport, targets: usize) -> Vec<String> {
    let mut differences = Vec::new();
    for scenario in &report.scenarios {
        let got = actual(scenario);
        match verdicts.scenarios.get(&scenario.id) {
            None => differences.push(format!("{}: no verdict for it; it did {got}", scenario.id)),
            Some(verdict) => {
                let expected = verdict.expected(targets);
                if expected != got {
                    differences.push(format!("{}: expected {expected}, got {got}{}", scenario.id, received(scenario)));
                }
            }
        }
    }
    for id in verdicts.scenarios.keys() {
        if !report.scenarios.iter().any(|s| &s.id == id) {
            differences.push(format!("{id}: has a verdict but did not run"));
        }
    }
    for leftover in report.leftovers.iter().flatten() {
        differences.push(format!("left behind by {}: {} ({})", leftover.scenario, leftover.object, leftover.reason));
    }
    differences
}

/// One entry of `GATEPROOF_LIVE_TARGETS`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LiveTarget {
    version: String,
    urls: Vec<String>,
}

fn parse_targets(text: &str) -> Result<Vec<LiveTarget>, String> {
    let mut targets = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (version, urls) = entry.split_once('=').ok_or_else(|| format!("`{entry}`: expected VERSION=URL[+URL…]"))?;
        let urls: Vec<String> = urls.split('+').map(str::trim).map(str::to_string).collect();
        if version.trim().is_empty() || urls.iter().any(|u| !u.starts_with("http")) {
            return Err(format!("`{entry}`: expected VERSION=URL[+URL…] with http(s) URLs"));
        }
        targets.push(LiveTarget { version: version.trim().to_string(), urls });
    }
    if targets.is_empty() {
        return Err(format!("{TARGETS_VAR} names no target"));
    }
    Ok(targets)
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn verdicts_path(version: &str) -> PathBuf {
    root().join("verdicts").join(format!("litellm-{version}.yaml"))
}

/// Runs the corpus against `target` and compares the outcome with the version's verdicts.
fn live(target: &LiveTarget) -> Result<(), Failed> {
    let path = verdicts_path(&target.version);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("failed to read {}: {e}", path.display()))?;
    let verdicts = parse_verdicts(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let json = dir.path().join("report.json");
    let key = std::env::var(MASTER_KEY_VAR).unwrap_or_else(|_| "sk-master".into());
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateproof"));
    command.current_dir(root()).args(["run", "scenarios/", "--master-key", &key, "--request-timeout", REQUEST_TIMEOUT]);
    command.args(["--jobs", LIVE_JOBS]);
    for url in &target.urls {
        command.args(["--target", url]);
    }
    let output = command.arg("--json").arg(&json).output().map_err(|e| format!("failed to run gateproof: {e}"))?;
    let code = output.status.code();
    let report: JsonReport = match std::fs::read_to_string(&json) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("the JSON report does not parse: {e}"))?,
        Err(e) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("gateproof exited {code:?} without a JSON report ({e}):\n{stderr}").into());
        }
    };
    let mut differences = compare(&verdicts, &report, target.urls.len());
    // Exit 1 is what a run that finds bugs gives; anything above is a broken file or infrastructure.
    if !matches!(code, Some(0 | 1)) {
        differences.push(format!("gateproof exited {code:?}:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    let agreeing = report
        .scenarios
        .iter()
        .filter(|s| verdicts.scenarios.get(&s.id).is_some_and(|v| v.expected(target.urls.len()) == actual(s)))
        .count();
    eprintln!(
        "live {} ({}): {agreeing} of {} scenarios as the verdicts say, {} left behind, {} ms",
        target.version,
        target.urls.join(" + "),
        report.scenarios.len(),
        report.leftovers.as_ref().map_or(0, Vec::len),
        report.duration_ms,
    );
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} differs from {} on {} point(s):\n  {}",
            report.target,
            path.display(),
            differences.len(),
            differences.join("\n  ")
        )
        .into())
    }
}

fn unit(name: &str, test: fn() -> Result<(), String>) -> Trial {
    Trial::test(format!("verdicts::{name}"), move || test().map_err(Failed::from))
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let mut trials = vec![
        unit("every_verdicts_file_parses_and_lists_every_scenario_of_the_corpus", every_file_lists_the_corpus),
        unit("a_verdict_that_lacks_what_its_outcome_needs_is_refused", incomplete_verdicts_are_refused),
        unit("a_run_equal_to_its_verdicts_has_no_difference", equal_run_has_no_difference),
        unit("every_kind_of_difference_is_named_with_expected_and_actual", differences_are_named),
        unit("a_replicas_scenario_is_expected_skipped_on_one_target", replicas_on_one_target),
        unit("skip_causes_come_from_the_runner_s_reasons", skip_causes),
        unit("targets_parse_with_replicas_joined_by_plus", targets_parse),
    ];
    match std::env::var(TARGETS_VAR).ok().filter(|t| !t.trim().is_empty()) {
        None => {
            eprintln!("ignoring the live test: {TARGETS_VAR} is not set (e.g. 1.83.14=http://127.0.0.1:4014)");
            trials.push(Trial::test("live", || Ok(())).with_ignored_flag(true));
        }
        Some(text) => match parse_targets(&text) {
            Ok(targets) => {
                for target in targets {
                    let name = format!("live::{} ({})", target.version, target.urls.join("+"));
                    trials.push(Trial::test(name, move || live(&target)));
                }
            }
            Err(why) => trials.push(Trial::test("live", move || Err(Failed::from(format!("{TARGETS_VAR}: {why}"))))),
        },
    }
    libtest_mimic::run(&args, trials).exit_code()
}

// The unit tests of the parsing and the comparison.

const SAMPLE: &str = r#"
litellm: 9.9.9
scenarios:
  a: {outcome: pass}
  b:
    outcome: fail
    step: second
    upstream: BerriAI/litellm#1
    reason: a bug
  c:
    outcome: skip
    skip: organizations
    reason: licence
  d:
    outcome: fail
    step: on-b
    upstream: BerriAI/litellm#9820
    replicas: 2
    reason: no Redis
"#;

fn scenario(id: &str, status: JsonScenarioStatus, failed_at: Option<&str>, reason: Option<&str>) -> JsonScenario {
    let step = |step_id: &str, status: JsonStepStatus| {
        serde_json::from_value(serde_json::json!({
            "id": step_id, "line": 1, "column": 1, "status": status, "message": null, "attempts": 1,
            "duration_ms": 0, "request": null, "response": null, "assertions": [],
        }))
        .expect("a step")
    };
    let mut steps = vec![step("first", JsonStepStatus::Passed)];
    if let Some(at) = failed_at {
        let mut failed: JsonStep = step(at, JsonStepStatus::Failed);
        failed.response = Some(
            serde_json::from_value(serde_json::json!({"status": 400, "headers": [], "body": "nope", "json": null}))
                .expect("a response"),
        );
        steps.push(failed);
        steps.push(step("after", JsonStepStatus::NotRun));
    }
    JsonScenario {
        id: id.into(),
        title: id.into(),
        file: format!("scenarios/{id}.yaml"),
        tags: vec![],
        run_id: "r1".into(),
        status,
        reason: reason.map(str::to_string),
        duration_ms: 0,
        steps,
        reproduction: None,
        created: vec![],
    }
}

fn report(scenarios: Vec<JsonScenario>, leftovers: Vec<(&str, &str)>) -> JsonReport {
    let mut report: JsonReport = serde_json::from_value(serde_json::json!({
        "format_version": 1, "target": "http://proxy", "target_version": "9.9.9",
        "started_at": "2026-12-01T00:00:00Z", "duration_ms": 1,
        "summary": {"total": 0, "passed": 0, "failed": 0, "skipped": 0, "errored": 0},
        "scenarios": [], "leftovers": [],
    }))
    .expect("a report");
    report.scenarios = scenarios;
    report.leftovers = Some(
        leftovers
            .into_iter()
            .map(|(s, o)| {
                serde_json::from_value(serde_json::json!({"scenario": s, "object": o, "reason": "still exists"}))
            })
            .collect::<Result<_, _>>()
            .expect("leftovers"),
    );
    report
}

fn run_report(run: &[JsonScenario]) -> JsonReport {
    report(run.to_vec(), vec![])
}

fn sample_run(d: JsonScenario) -> Vec<JsonScenario> {
    vec![
        scenario("a", JsonScenarioStatus::Passed, None, None),
        scenario("b", JsonScenarioStatus::Failed, Some("second"), None),
        scenario("c", JsonScenarioStatus::Skipped, None, Some("the target lacks `organizations`: GET … 403")),
        d,
    ]
}

fn every_file_lists_the_corpus() -> Result<(), String> {
    let mut ids = Vec::new();
    for dir in ["scenarios/conformance", "scenarios/regressions"] {
        for entry in std::fs::read_dir(root().join(dir)).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let scenario = gateproof::scenario::load_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            ids.push(scenario.id.clone());
        }
    }
    ids.sort();
    let files = std::fs::read_dir(root().join("verdicts")).map_err(|e| e.to_string())?;
    let mut checked = 0;
    for entry in files {
        let path = entry.map_err(|e| e.to_string())?.path();
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let verdicts = parse_verdicts(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = format!("litellm-{}.yaml", verdicts.litellm);
        if path.file_name().and_then(|n| n.to_str()) != Some(name.as_str()) {
            return Err(format!("{} says `litellm: {}`, so it must be named {name}", path.display(), verdicts.litellm));
        }
        let listed: Vec<String> = verdicts.scenarios.keys().cloned().collect();
        if listed != ids {
            let missing: Vec<&String> = ids.iter().filter(|i| !listed.contains(i)).collect();
            let extra: Vec<&String> = listed.iter().filter(|i| !ids.contains(i)).collect();
            return Err(format!("{}: no verdict for {missing:?}; verdicts for no scenario {extra:?}", path.display()));
        }
        checked += 1;
    }
    if checked < 2 {
        return Err(format!("expected the verdicts of both versions, found {checked} file(s)"));
    }
    Ok(())
}

fn incomplete_verdicts_are_refused() -> Result<(), String> {
    let cases = [
        ("a: {outcome: fail, upstream: x, reason: y}", "needs `step`"),
        ("a: {outcome: fail, step: s, reason: y}", "needs `upstream`"),
        ("a: {outcome: fail, step: s, upstream: x}", "needs `reason`"),
        ("a: {outcome: skip, reason: y}", "needs `skip`"),
        ("a: {outcome: pass, step: s}", "takes no"),
        ("a: {outcome: skip, skip: mcp, step: s, reason: y}", "takes no"),
        ("a: {outcome: maybe}", "maybe"),
        ("a: {outcome: pass, note: x}", "note"),
    ];
    for (entry, expected) in cases {
        let text = format!("litellm: 1\nscenarios:\n  {entry}\n");
        match parse_verdicts(&text) {
            Ok(_) => return Err(format!("`{entry}` parsed")),
            Err(e) if !e.contains(expected) => return Err(format!("`{entry}`: {e} (expected `{expected}`)")),
            Err(_) => {}
        }
    }
    Ok(())
}

fn equal_run_has_no_difference() -> Result<(), String> {
    let verdicts = parse_verdicts(SAMPLE)?;
    let run = sample_run(scenario("d", JsonScenarioStatus::Failed, Some("on-b"), None));
    let differences = compare(&verdicts, &run_report(&run), 2);
    if differences.is_empty() { Ok(()) } else { Err(format!("{differences:?}")) }
}

fn differences_are_named() -> Result<(), String> {
    let verdicts = parse_verdicts(SAMPLE)?;
    let run = vec![
        scenario("a", JsonScenarioStatus::Failed, Some("x"), None),
        scenario("b", JsonScenarioStatus::Failed, Some("third"), None),
        scenario("c", JsonScenarioStatus::Passed, None, None),
        scenario("e", JsonScenarioStatus::Errored, None, Some("the target stopped answering")),
    ];
    let differences = compare(&verdicts, &report(run, vec![("a", "key sk-…abcd")]), 2);
    let expected = [
        "a: expected pass, got fail at `x` (after 1 attempt(s): 400 nope)",
        "b: expected fail at `second`, got fail at `third` (after 1 attempt(s): 400 nope)",
        "c: expected skip (organizations), got pass",
        "e: no verdict for it; it did error (the target stopped answering)",
        "d: has a verdict but did not run",
        "left behind by a: key sk-…abcd (still exists)",
    ];
    if differences == expected { Ok(()) } else { Err(format!("{differences:#?}")) }
}

fn replicas_on_one_target() -> Result<(), String> {
    let verdicts = parse_verdicts(SAMPLE)?;
    let skipped = scenario("d", JsonScenarioStatus::Skipped, None, Some("needs 2 replicas of the proxy: pass …"));
    let one = compare(&verdicts, &run_report(&sample_run(skipped.clone())), 1);
    if !one.is_empty() {
        return Err(format!("one target: {one:?}"));
    }
    let two = compare(&verdicts, &run_report(&sample_run(skipped)), 2);
    if two != ["d: expected fail at `on-b`, got skip (replicas)"] {
        return Err(format!("two targets: {two:?}"));
    }
    Ok(())
}

fn skip_causes() -> Result<(), String> {
    let cases = [
        ("the target lacks `key_regenerate`: POST /key/regenerate answered 500: …", "key_regenerate"),
        ("needs 2 replicas of the proxy: pass as many --target URLs (got 1)", "replicas"),
        ("needs reference-only settings: DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL=2", "reference_settings"),
        ("something new", "something new"),
    ];
    for (reason, cause) in cases {
        if skip_cause(reason) != cause {
            return Err(format!("{reason} → {}", skip_cause(reason)));
        }
    }
    Ok(())
}

fn targets_parse() -> Result<(), String> {
    let targets = parse_targets("1.83.14=http://a:1+http://b:2, 1.109.1=http://c:3")?;
    let expected = vec![
        LiveTarget { version: "1.83.14".into(), urls: vec!["http://a:1".into(), "http://b:2".into()] },
        LiveTarget { version: "1.109.1".into(), urls: vec!["http://c:3".into()] },
    ];
    if targets != expected {
        return Err(format!("{targets:?}"));
    }
    for bad in ["", "1.83.14", "1.83.14=ftp://x", "=http://x"] {
        if parse_targets(bad).is_ok() {
            return Err(format!("`{bad}` parsed"));
        }
    }
    Ok(())
}
