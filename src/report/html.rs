//! The HTML report (`--html FILE`): one self-contained page per run, for people.
//!
//! Rendered from the JSON report's contract type only, so a merged report renders as a run's does and
//! the page shows exactly what the JSON says (redacted the same way). What needs attention comes first:
//! the summary, the changes since the baseline, broken files and leftovers, then the failed and errored
//! scenarios open with each step as a timeline row, and the passed and skipped ones collapsed after.
//!
//! Everything from a run is escaped: response bodies are written by the target, which may be hostile.
//! The page carries no script at all, and its content security policy forbids any, so markup that got
//! through the escaping still could not run.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use super::json::{
    JsonAssertion, JsonBaseline, JsonBody, JsonChange, JsonHeader, JsonReport, JsonReproduction,
    JsonReproductionResult, JsonScenario, JsonScenarioStatus, JsonStep, JsonStepStatus,
};

/// A response body longer than this (in bytes) or than [`BODY_PREVIEW_LINES`] is shown cut, with the
/// whole text one click away.
const BODY_PREVIEW_BYTES: usize = 2048;
const BODY_PREVIEW_LINES: usize = 30;

/// Scripts and every other fetch are forbidden; only the inline style applies.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE: &str = r#"
:root { --fail: #b3261e; --pass: #1b7a3a; --skip: #6b6b6b; --err: #a35200; --line: #d8d8d8; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 12px 16px; color: #1d1d1d; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 16px 0 6px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
pre { background: #f6f6f6; border: 1px solid var(--line); padding: 6px 8px; margin: 4px 0; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; }
header.run { border-left: 6px solid var(--pass); padding: 6px 12px; background: #f3faf5; }
header.run.bad { border-left-color: var(--fail); background: #fdf3f2; }
.facts { margin: 4px 0 0; color: #444; }
.facts span { margin-right: 16px; }
.count { font-weight: 600; margin-right: 12px; }
.passed > .label, .count.passed, .badge.passed { color: var(--pass); }
.failed > .label, .count.failed, .badge.failed { color: var(--fail); }
.errored > .label, .count.errored, .badge.errored { color: var(--err); }
.count.skipped, .badge.skipped, .badge.not_run { color: var(--skip); }
.badge { font-weight: 700; font-size: 11.5px; letter-spacing: .03em; text-transform: uppercase; }
.tag { background: #eee; border-radius: 3px; padding: 0 4px; font-size: 11.5px; }
.new { background: var(--fail); color: #fff; border-radius: 3px; padding: 0 4px; font-size: 11.5px; }
.fixed { background: var(--pass); color: #fff; border-radius: 3px; padding: 0 4px; font-size: 11.5px; }
.known { background: #777; color: #fff; border-radius: 3px; padding: 0 4px; font-size: 11.5px; }
ul.attention { margin: 4px 0; padding-left: 20px; }
details.scenario { border: 1px solid var(--line); border-left: 6px solid var(--line); margin: 4px 0; }
details.scenario.failed { border-left-color: var(--fail); }
details.scenario.errored { border-left-color: var(--err); }
details.scenario.passed { border-left-color: var(--pass); }
details.scenario > summary { padding: 4px 8px; cursor: pointer; }
details.scenario[open] > summary { border-bottom: 1px solid var(--line); }
.file, .muted { color: #666; }
.reason { margin: 6px 10px; }
ol.timeline { list-style: none; margin: 0; padding: 4px 8px 4px 18px; }
li.step { border-left: 3px solid var(--line); padding: 3px 0 3px 10px; margin: 2px 0; position: relative; }
li.step::before { content: ""; position: absolute; left: -7px; top: 9px; width: 9px; height: 9px; border-radius: 50%;
                  background: var(--line); }
li.step.passed::before { background: var(--pass); }
li.step.failed { border-left-color: var(--fail); background: #fdf3f2; }
li.step.failed::before { background: var(--fail); }
li.step.errored { border-left-color: var(--err); background: #fff6ec; }
li.step.errored::before { background: var(--err); }
.step-head > * { margin-right: 6px; }
.method { font-weight: 700; }
.status { font-weight: 700; }
.replica { background: #e6eefc; border-radius: 3px; padding: 0 4px; }
table.assertions { border-collapse: collapse; margin: 4px 0; }
table.assertions td, table.assertions th { border: 1px solid var(--line); padding: 2px 6px; text-align: left;
                                          vertical-align: top; }
table.assertions tr.failed td { background: #fbe3e1; }
table.assertions td pre { margin: 0; border: 0; background: none; padding: 0; }
.message { font-weight: 600; margin: 2px 0; }
details.more > summary { cursor: pointer; color: #444; }
"#;

/// The page for `report`: every value in it escaped, nothing fetched from anywhere.
pub fn render(report: &JsonReport) -> String {
    let mut page = String::new();
    let anchors: HashMap<&str, String> =
        report.scenarios.iter().enumerate().map(|(i, s)| (s.id.as_str(), scenario_anchor(i))).collect();
    let bad = run_failed(report);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>gateproof: {} ({})</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&counts_text(report)),
        esc(&report.target)
    );
    write_header(&mut page, report, bad);
    if let Some(baseline) = &report.baseline {
        write_baseline(&mut page, baseline, &anchors);
    }
    write_broken_files(&mut page, report);
    write_leftovers(&mut page, report);

    let replicas = target_urls(&report.target);
    let mut problems: Vec<(usize, &JsonScenario)> = report
        .scenarios
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.status, JsonScenarioStatus::Failed | JsonScenarioStatus::Errored))
        .collect();
    // With a baseline, the failures it already had come after the new ones.
    let known: BTreeSet<&str> =
        report.baseline.iter().flat_map(|b| b.known_failures.iter().map(|c| c.id.as_str())).collect();
    problems.sort_by_key(|(i, s)| (known.contains(s.id.as_str()), *i));
    if !problems.is_empty() {
        let _ = writeln!(page, "<section id=\"problems\">\n<h2>Failed and errored ({})</h2>", problems.len());
        for (index, scenario) in &problems {
            let mark = baseline_mark(report.baseline.as_ref(), &scenario.id);
            write_scenario(&mut page, *index, scenario, true, mark, &replicas);
        }
        page.push_str("</section>\n");
    }
    let rest: Vec<(usize, &JsonScenario)> = report
        .scenarios
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.status, JsonScenarioStatus::Passed | JsonScenarioStatus::Skipped))
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(page, "<section id=\"others\">\n<h2>Passed and skipped ({})</h2>", rest.len());
        for (index, scenario) in &rest {
            let mark = baseline_mark(report.baseline.as_ref(), &scenario.id);
            write_scenario(&mut page, *index, scenario, false, mark, &replicas);
        }
        page.push_str("</section>\n");
    }
    if report.scenarios.is_empty() {
        page.push_str("<p class=\"muted\">No scenario ran.</p>\n");
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// `text` safe in element content and in quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn scenario_anchor(index: usize) -> String {
    format!("scenario-{index}")
}

fn step_anchor(index: usize, step: usize) -> String {
    format!("scenario-{index}-step-{step}")
}

/// Whether the run as a whole failed, as its exit code says: with a baseline only new failures count.
fn run_failed(report: &JsonReport) -> bool {
    let failed = report.baseline.as_ref().map_or(report.summary.failed, |b| b.new_failures.len());
    failed > 0
        || report.summary.errored > 0
        || report.summary.broken_files > 0
        || report.leftovers.as_ref().is_some_and(|l| !l.is_empty())
}

fn counts_text(report: &JsonReport) -> String {
    let s = &report.summary;
    let mut parts = vec![format!("{} passed", s.passed), format!("{} failed", s.failed)];
    for (n, what) in [(s.skipped, "skipped"), (s.errored, "errored"), (s.broken_files, "broken files")] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.join(", ")
}

fn duration(ms: u64) -> String {
    if ms < 1000 { format!("{ms} ms") } else { format!("{:.1} s", ms as f64 / 1000.0) }
}

fn write_header(page: &mut String, report: &JsonReport, bad: bool) {
    let s = &report.summary;
    let _ = writeln!(
        page,
        "<header class=\"run{}\">\n<h1>gateproof run: {}</h1>",
        if bad { " bad" } else { "" },
        if bad { "FAILED" } else { "passed" }
    );
    page.push_str("<p class=\"counts\">");
    let _ = write!(page, "<span class=\"count\">{} in all</span>", s.total);
    // Passed and failed always; the others when there are any.
    for (n, always, class, what) in [
        (s.passed, true, "passed", "passed"),
        (s.failed, true, "failed", "failed"),
        (s.skipped, false, "skipped", "skipped"),
        (s.errored, false, "errored", "errored"),
        (s.broken_files, false, "errored", "broken files"),
        (s.reproduced, false, "passed", "reproduced"),
        (s.not_reproduced, false, "failed", "not reproduced"),
    ] {
        if always || n > 0 {
            let _ = write!(page, "<span class=\"count {class}\">{n} {what}</span>");
        }
    }
    page.push_str("</p>\n<p class=\"facts\">");
    let _ = write!(
        page,
        "<span>target <b class=\"mono\">{}</b></span><span>version <b>{}</b></span>\
         <span>started {}</span><span>took {}</span>",
        esc(&report.target),
        esc(report.target_version.as_deref().unwrap_or(super::UNKNOWN_VERSION)),
        esc(&report.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        duration(report.duration_ms)
    );
    page.push_str("</p>\n");
    if let Some((index, scenario, step)) = first_failing_step(report) {
        let _ = writeln!(
            page,
            "<p>First failure: <a href=\"#{}\">{} · step <code>{}</code></a></p>",
            step_anchor(index, step),
            esc(&scenario.id),
            esc(&scenario.steps[step].id)
        );
    }
    page.push_str("</header>\n");
}

/// The first step that failed or errored, in the order the page shows the scenarios.
fn first_failing_step(report: &JsonReport) -> Option<(usize, &JsonScenario, usize)> {
    let known: BTreeSet<&str> =
        report.baseline.iter().flat_map(|b| b.known_failures.iter().map(|c| c.id.as_str())).collect();
    let mut candidates: Vec<(usize, &JsonScenario)> = report
        .scenarios
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.status, JsonScenarioStatus::Failed | JsonScenarioStatus::Errored))
        .collect();
    candidates.sort_by_key(|(i, s)| (known.contains(s.id.as_str()), *i));
    candidates.into_iter().find_map(|(index, scenario)| {
        let step =
            scenario.steps.iter().position(|s| matches!(s.status, JsonStepStatus::Failed | JsonStepStatus::Errored))?;
        Some((index, scenario, step))
    })
}

fn write_baseline(page: &mut String, baseline: &JsonBaseline, anchors: &HashMap<&str, String>) {
    let _ = writeln!(
        page,
        "<section id=\"baseline\">\n<h2>Since the baseline <code>{}</code> ({}): {} new failure{}, {} fixed, {} known \
         failure{}</h2>",
        esc(&baseline.file),
        esc(baseline.target_version.as_deref().unwrap_or(super::UNKNOWN_VERSION)),
        baseline.new_failures.len(),
        plural(baseline.new_failures.len()),
        baseline.fixed.len(),
        baseline.known_failures.len(),
        plural(baseline.known_failures.len())
    );
    let lists: [(&[JsonChange], &str, &str); 3] = [
        (&baseline.new_failures, "new", "new failure"),
        (&baseline.fixed, "fixed", "fixed"),
        (&baseline.known_failures, "known", "known failure"),
    ];
    if lists.iter().any(|(list, _, _)| !list.is_empty()) {
        page.push_str("<ul class=\"attention\">\n");
        for (list, class, label) in lists {
            for change in list {
                let name = match anchors.get(change.id.as_str()) {
                    Some(anchor) => format!("<a href=\"#{anchor}\">{}</a>", esc(&change.id)),
                    None => esc(&change.id),
                };
                let _ = writeln!(
                    page,
                    "<li><span class=\"{class}\">{label}</span> {name} <span class=\"file\">{}</span>: {} in the \
                     baseline</li>",
                    esc(&change.file),
                    esc(&change.before)
                );
            }
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</section>\n");
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn write_broken_files(page: &mut String, report: &JsonReport) {
    if report.broken_files.is_empty() {
        return;
    }
    let _ = writeln!(
        page,
        "<section id=\"broken-files\">\n<h2 class=\"errored\"><span class=\"label\">Broken scenario files ({})</span></h2>\n\
         <ul class=\"attention\">",
        report.broken_files.len()
    );
    for broken in &report.broken_files {
        let place = match (broken.line, broken.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", broken.file),
            (Some(l), None) => format!("{}:{l}", broken.file),
            _ => broken.file.clone(),
        };
        let _ = writeln!(page, "<li><code>{}</code>: {}</li>", esc(&place), esc(&broken.message));
    }
    page.push_str("</ul>\n</section>\n");
}

fn write_leftovers(page: &mut String, report: &JsonReport) {
    let Some(leftovers) = report.leftovers.as_ref().filter(|l| !l.is_empty()) else { return };
    let _ = writeln!(
        page,
        "<section id=\"leftovers\">\n<h2 class=\"failed\"><span class=\"label\">Left behind on the target ({})</span></h2>\n\
         <ul class=\"attention\">",
        leftovers.len()
    );
    for leftover in leftovers {
        let by = if leftover.scenario.is_empty() {
            String::new()
        } else {
            format!(" (created by {})", esc(&leftover.scenario))
        };
        let _ = writeln!(page, "<li><code>{}</code>{by}: {}</li>", esc(&leftover.object), esc(&leftover.reason));
    }
    page.push_str("</ul>\n</section>\n");
}

/// How the baseline judged this scenario, as a badge.
fn baseline_mark(baseline: Option<&JsonBaseline>, id: &str) -> Option<(&'static str, &'static str)> {
    let baseline = baseline?;
    let has = |list: &[JsonChange]| list.iter().any(|c| c.id == id);
    if has(&baseline.new_failures) {
        Some(("new", "new failure"))
    } else if has(&baseline.fixed) {
        Some(("fixed", "fixed"))
    } else if has(&baseline.known_failures) {
        Some(("known", "known failure"))
    } else {
        None
    }
}

fn scenario_status(status: JsonScenarioStatus) -> &'static str {
    match status {
        JsonScenarioStatus::Passed => "passed",
        JsonScenarioStatus::Failed => "failed",
        JsonScenarioStatus::Skipped => "skipped",
        JsonScenarioStatus::Errored => "errored",
    }
}

fn step_status(status: JsonStepStatus) -> &'static str {
    match status {
        JsonStepStatus::Passed => "passed",
        JsonStepStatus::Failed => "failed",
        JsonStepStatus::Errored => "errored",
        JsonStepStatus::NotRun => "not_run",
    }
}

fn write_scenario(
    page: &mut String,
    index: usize,
    scenario: &JsonScenario,
    open: bool,
    mark: Option<(&str, &str)>,
    replicas: &[&str],
) {
    let status = scenario_status(scenario.status);
    let _ = write!(
        page,
        "<details class=\"scenario {status}\" id=\"{}\" data-id=\"{}\"{}>\n<summary><span class=\"badge {status}\">{status}</span> \
         <b class=\"mono\">{}</b> {}",
        scenario_anchor(index),
        esc(&scenario.id),
        if open { " open" } else { "" },
        esc(&scenario.id),
        esc(&scenario.title)
    );
    if let Some((class, label)) = mark {
        let _ = write!(page, " <span class=\"{class}\">{label}</span>");
    }
    for tag in &scenario.tags {
        let _ = write!(page, " <span class=\"tag\">{}</span>", esc(tag));
    }
    let _ = write!(
        page,
        " <span class=\"file\">{}</span> <span class=\"muted\">{}</span>",
        esc(&scenario.file),
        duration(scenario.duration_ms)
    );
    // Why a scenario was skipped is what one wants of it, so it is on its collapsed line.
    if let (JsonScenarioStatus::Skipped, Some(reason)) = (scenario.status, &scenario.reason) {
        let _ = write!(page, "<br><span class=\"muted\">skipped: {}</span>", esc(reason));
    }
    page.push_str("</summary>\n");
    // The names a scenario creates carry its run id: what to search the target for.
    let _ = writeln!(page, "<p class=\"reason muted\">run id <code>{}</code></p>", esc(&scenario.run_id));
    if let (JsonScenarioStatus::Failed | JsonScenarioStatus::Errored, Some(reason)) =
        (scenario.status, &scenario.reason)
    {
        let _ = writeln!(page, "<p class=\"reason\">{}</p>", esc(reason));
    }
    let origins = step_origins(scenario.steps.iter());
    if !scenario.steps.is_empty() {
        page.push_str("<ol class=\"timeline\">\n");
        for (number, step) in scenario.steps.iter().enumerate() {
            write_step(page, Some(step_anchor(index, number)), &scenario.file, step, &origins, replicas);
        }
        page.push_str("</ol>\n");
    }
    if let Some(reproduction) = &scenario.reproduction {
        write_reproduction(page, scenario, reproduction, replicas);
    }
    if !scenario.created.is_empty() {
        page.push_str(
            "<details class=\"more reason\"><summary>Created on the target</summary>\n<table class=\"assertions\">\
             <tr><th>object</th><th>by step</th><th>cleanup</th><th>why</th></tr>\n",
        );
        for created in &scenario.created {
            let _ = writeln!(
                page,
                "<tr{}><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if created.cleanup == "failed" { " class=\"failed\"" } else { "" },
                esc(&created.object),
                esc(&created.step),
                esc(&created.cleanup),
                esc(created.reason.as_deref().unwrap_or_default())
            );
        }
        page.push_str("</table>\n</details>\n");
    }
    page.push_str("</details>\n");
}

fn write_reproduction(page: &mut String, scenario: &JsonScenario, reproduction: &JsonReproduction, replicas: &[&str]) {
    let (class, result) = match reproduction.result {
        JsonReproductionResult::Reproduced => ("passed", "reproduced"),
        JsonReproductionResult::NotReproduced => ("failed", "NOT reproduced"),
        JsonReproductionResult::NotRun => ("skipped", "not run"),
    };
    let _ = write!(
        page,
        "<div class=\"reason\"><p>With quirk <code>{}</code> on (declared to fail at <code>{}</code>): <span class=\"badge \
         {class}\">{result}</span>",
        esc(&reproduction.quirk),
        esc(&reproduction.fails_at)
    );
    if let Some(reason) = &reproduction.reason {
        let _ = write!(page, " {}", esc(reason));
    }
    page.push_str("</p>\n");
    if !reproduction.observed.is_empty() {
        write_assertions(page, &reproduction.observed);
    }
    if let Some(step) = &reproduction.step {
        let origins = step_origins(std::iter::once(step));
        page.push_str("<ol class=\"timeline\">\n");
        write_step(page, None, &scenario.file, step, &origins, replicas);
        page.push_str("</ol>\n");
    }
    page.push_str("</div>\n");
}

/// `scheme://host:port` of a URL: which proxy (replica) got the request.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The distinct proxies a scenario's steps went to.
fn step_origins<'a>(steps: impl Iterator<Item = &'a JsonStep>) -> BTreeSet<&'a str> {
    steps.filter_map(|s| s.request.as_ref()).map(|r| origin(&r.url)).collect()
}

/// The URLs of an external target (`URL1, URL2`), in `--target` order; empty for the reference.
fn target_urls(target: &str) -> Vec<&str> {
    target.split(", ").filter(|t| t.contains("://")).collect()
}

/// Which replica got the request, when a scenario's steps went to more than one: its place among the
/// targets (counted from 0, as a step's `on:` counts) when the target lists them, and its address.
fn replica_label(url: &str, origins: &BTreeSet<&str>, replicas: &[&str]) -> Option<String> {
    if origins.len() < 2 {
        return None;
    }
    let origin = origin(url);
    Some(match replicas.iter().position(|r| origin == origin_of_target(r)) {
        Some(i) => format!("replica {i} · {origin}"),
        None => format!("replica {origin}"),
    })
}

fn origin_of_target(target: &str) -> &str {
    origin(target.trim_end_matches('/'))
}

fn write_step(
    page: &mut String,
    anchor: Option<String>,
    file: &str,
    step: &JsonStep,
    origins: &BTreeSet<&str>,
    replicas: &[&str],
) {
    let status = step_status(step.status);
    let trouble = matches!(step.status, JsonStepStatus::Failed | JsonStepStatus::Errored);
    let id = anchor.map(|a| format!(" id=\"{a}\"")).unwrap_or_default();
    let _ = writeln!(page, "<li class=\"step {status}\"{id} data-status=\"{status}\">");
    // A step that went wrong names its file, as the terminal does; the others only their line, so
    // they stay one line each.
    let place =
        if trouble { format!("{}:{}:{}", esc(file), step.line, step.column) } else { format!("line {}", step.line) };
    let mut head = format!(
        "<span class=\"badge {status}\">{}</span><code>{}</code><span class=\"file\">{place}</span>",
        status.replace('_', " "),
        esc(&step.id)
    );
    if let Some(request) = &step.request {
        let _ = write!(
            head,
            "<span class=\"method mono\">{}</span><span class=\"mono\">{}</span>",
            esc(&request.method),
            esc(&request.url)
        );
        if let Some(label) = replica_label(&request.url, origins, replicas) {
            let _ = write!(head, "<span class=\"replica mono\">{}</span>", esc(&label));
        }
        let _ = write!(head, "<span class=\"muted\">as {}</span>", esc(&request.credentials));
    }
    if let Some(response) = &step.response {
        let _ = write!(head, "<span class=\"status\">→ {}</span>", response.status);
    }
    if step.status != JsonStepStatus::NotRun {
        let _ = write!(head, "<span class=\"muted\">{}</span>", duration(step.duration_ms));
    }
    if step.attempts > 1 {
        let _ = write!(head, "<span class=\"muted\">{} attempts</span>", step.attempts);
    }
    let has_detail = step.request.is_some() || step.response.is_some() || !step.assertions.is_empty();
    if trouble || !has_detail {
        let _ = writeln!(page, "<div class=\"step-head\">{head}</div>");
    } else {
        // A passing step is its one line; what it sent and got opens from it.
        let _ = writeln!(page, "<details class=\"more\"><summary class=\"step-head\">{head}</summary>");
    }
    if let Some(message) = &step.message {
        let _ = writeln!(page, "<p class=\"message\">{}</p>", esc(message));
    }
    if has_detail {
        if !step.assertions.is_empty() {
            write_assertions(page, &step.assertions);
        }
        if let Some(response) = &step.response {
            write_body(page, &response.body, response.json.as_ref());
        }
        write_exchange(page, step, "Request and response headers");
    }
    if !trouble && has_detail {
        page.push_str("</details>\n");
    }
    page.push_str("</li>\n");
}

fn write_assertions(page: &mut String, assertions: &[JsonAssertion]) {
    page.push_str("<table class=\"assertions\"><tr><th></th><th>check</th><th>expected</th><th>actual</th></tr>\n");
    for a in assertions {
        let place = match (a.line, a.column) {
            (Some(l), Some(c)) => format!(" <span class=\"file\">:{l}:{c}</span>"),
            _ => String::new(),
        };
        let message = a.message.as_deref().map(|m| format!("<br>{}", esc(m))).unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr class=\"{}\"><td class=\"badge {}\">{}</td><td><code>{}</code>{place}{message}</td><td><pre>{}</pre></td>\
             <td><pre>{}</pre></td></tr>",
            if a.passed { "passed" } else { "failed" },
            if a.passed { "passed" } else { "failed" },
            if a.passed { "ok" } else { "fail" },
            esc(&a.check),
            esc(&a.expected),
            esc(&a.actual)
        );
    }
    page.push_str("</table>\n");
}

/// The response body (pretty when it is JSON), cut to a preview when long, the whole text behind a
/// click.
fn write_body(page: &mut String, body: &str, json: Option<&serde_json::Value>) {
    let text = match json {
        Some(value) => serde_json::to_string_pretty(value).unwrap_or_else(|_| body.to_string()),
        None if body.is_empty() => {
            page.push_str("<p class=\"muted\">(empty response body)</p>\n");
            return;
        }
        None => body.to_string(),
    };
    let preview = preview(&text);
    if preview.len() == text.len() {
        let _ = writeln!(page, "<pre class=\"body\">{}</pre>", esc(&text));
    } else {
        let _ = writeln!(
            page,
            "<pre class=\"body\">{}\n…</pre>\n<details class=\"more\"><summary>Whole response body ({} bytes)</summary>\
             <pre class=\"body\">{}</pre></details>",
            esc(preview),
            text.len(),
            esc(&text)
        );
    }
}

/// The first [`BODY_PREVIEW_LINES`] lines of `text`, at most [`BODY_PREVIEW_BYTES`] bytes.
fn preview(text: &str) -> &str {
    let by_lines = text.match_indices('\n').nth(BODY_PREVIEW_LINES - 1).map_or(text.len(), |(i, _)| i);
    crate::runner::char_prefix(text, by_lines.min(BODY_PREVIEW_BYTES))
}

fn write_headers(page: &mut String, title: &str, headers: &[JsonHeader]) {
    if headers.is_empty() {
        return;
    }
    let _ = write!(page, "<p class=\"muted\">{title}</p><pre>");
    for h in headers {
        let _ = writeln!(page, "{}: {}", esc(&h.name), esc(&h.value));
    }
    page.push_str("</pre>\n");
}

/// The request's headers and body and the response's headers, collapsed.
fn write_exchange(page: &mut String, step: &JsonStep, title: &str) {
    let request_body = step.request.as_ref().and_then(|r| r.body.as_ref());
    let request_headers = step.request.as_ref().map_or(&[][..], |r| &r.headers[..]);
    let response_headers = step.response.as_ref().map_or(&[][..], |r| &r.headers[..]);
    if request_body.is_none() && request_headers.is_empty() && response_headers.is_empty() {
        return;
    }
    let _ = writeln!(page, "<details class=\"more\"><summary>{title}</summary>");
    write_headers(page, "request headers", request_headers);
    if let Some(body) = request_body {
        let text = match body {
            JsonBody::Json(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
            JsonBody::Raw(text) => text.clone(),
        };
        let _ = writeln!(page, "<p class=\"muted\">request body</p><pre>{}</pre>", esc(&text));
    }
    write_headers(page, "response headers", response_headers);
    page.push_str("</details>\n");
}

#[cfg(test)]
mod tests;
