//! `gateproof run`, in the order it happens: check the invocation, start Postgres when the reference
//! proxy is the target, run with the human reporter, check for leftovers, compare with the baseline,
//! write the reports, and reach the verdict.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::args::{ReportArgs, RunArgs, mock_host, target_urls};
use super::stop::{Signals, StopSignal};
use super::{CliError, Verdict, load_scenarios};
use crate::postgres::PgServer;
use crate::reference::Quirks;
use crate::report::baseline::{self, Baseline, Comparison};
use crate::report::human::{self, HumanReporter};
use crate::report::json::JsonReport;
use crate::report::redact::Redactor;
use crate::report::{RunInfo, Summary, UNKNOWN_VERSION, html, junit};
use crate::runner::{self, CancelToken, Leftover, Partition, RunOptions, ScenarioOutcome, Target};
use crate::scenario::Scenario;

pub(super) async fn run(args: RunArgs) -> Result<Verdict, CliError> {
    let invocation = Invocation::check(&args)?;
    let (scenarios, broken_files) = load_scenarios(&args.paths)?;
    let loaded = scenarios.len();
    let filter = args.filter.to_filter();
    let selected: Vec<Scenario> = scenarios.into_iter().filter(|s| filter.selects(&s.tags)).collect();
    // A shard that got none of a non-empty selection ran its share: only an empty selection is
    // "nothing ran".
    let nothing_ran = selected.is_empty();
    let selected = shard_of(selected, args.filter.partition);

    let cancel = CancelToken::new();
    let signals = Signals::watch(cancel.clone());
    let started_at = Utc::now();
    let clock = Instant::now();
    let options = run_options(&args, invocation.quirks, cancel.clone());

    let finished = if nothing_ran {
        eprintln!("{}", nothing_to_run(&args.paths, loaded, broken_files.len()));
        Finished::nothing()
    } else {
        match &invocation.urls {
            Some(urls) => {
                let target = Target::external_replicas(urls.clone(), invocation.master_key.clone().unwrap_or_default());
                run_with_reporter(selected, target, options, invocation.baseline.as_ref(), args.show_secrets).await?
            }
            None => on_reference(selected, &args, options, invocation.baseline.as_ref(), &cancel, &signals).await?,
        }
    };

    let run = RunInfo {
        target: invocation.target_name(),
        target_version: finished.version.clone(),
        partition: args.filter.partition,
        started_at,
        duration: clock.elapsed(),
        leftovers: finished.leftovers.clone(),
        baseline: finished.comparison.clone(),
        broken_files,
    };
    write_reports(&args.report_files, &finished.outcomes, &run, || JsonReport::new(&finished.outcomes, &run))?;
    Ok(verdict(&finished, run.broken_files.len(), nothing_ran, signals.stopped_by()))
}

/// The scenarios of this shard (all of them without `--partition`), saying how many of how many on
/// stdout.
pub(super) fn shard_of(selected: Vec<Scenario>, partition: Option<Partition>) -> Vec<Scenario> {
    let Some(partition) = partition else { return selected };
    let of = selected.len();
    let shard = partition.select(selected, |s| s.id.as_str());
    println!("{}", shard_line(partition, shard.len(), of));
    shard
}

/// `partition hash:2/4: 3 of the 10 selected scenarios`.
pub(super) fn shard_line(partition: Partition, taken: usize, of: usize) -> String {
    let noun = if of == 1 { "scenario" } else { "scenarios" };
    format!("partition {partition}: {taken} of the {of} selected {noun}")
}

/// Why a run ran nothing: a run that ran nothing is not a pass.
fn nothing_to_run(paths: &[std::path::PathBuf], loaded: usize, broken: usize) -> String {
    let noun = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if loaded > 0 {
        format!("nothing ran: the tag filter selects none of the {}", noun(loaded, "scenario", "scenarios"))
    } else if broken > 0 {
        format!("nothing ran: no scenario file loaded ({} broken)", noun(broken, "file", "files"))
    } else {
        let paths = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        format!("nothing ran: no scenario files under {paths}")
    }
}

/// The arguments checked against each other, before any file or server is touched.
struct Invocation {
    /// `None` for the reference proxy.
    urls: Option<Vec<String>>,
    master_key: Option<String>,
    quirks: Quirks,
    baseline: Option<Baseline>,
}

impl Invocation {
    fn check(args: &RunArgs) -> Result<Invocation, CliError> {
        let urls = target_urls(&args.target)?;
        if urls.is_some() && args.master_key.is_none() {
            return Err(CliError::Usage(
                "a URL target needs its master key: pass --master-key or set GATEPROOF_MASTER_KEY".into(),
            ));
        }
        let quirks: Quirks = args.quirks.iter().copied().collect();
        if urls.is_some() && !quirks.is_empty() {
            return Err(CliError::Usage(
                "--quirk switches bugs on in the reference proxy only: drop it or use --target reference".into(),
            ));
        }
        // Read before the run, so an unreadable baseline costs nothing.
        let baseline = args.baseline.as_deref().map(Baseline::read).transpose()?;
        Ok(Invocation { urls, master_key: args.master_key.clone(), quirks, baseline })
    }

    fn target_name(&self) -> String {
        self.urls.as_ref().map_or_else(|| "reference".to_string(), |urls| urls.join(", "))
    }
}

fn run_options(args: &RunArgs, quirks: Quirks, cancel: CancelToken) -> RunOptions {
    let mut options = RunOptions {
        cancel,
        quirks,
        reproduce: args.reproduce,
        keep: args.keep,
        mock_host: mock_host(args.mock_host, args.mock_url_host.clone()),
        request_timeout: args.request_timeout,
        scenario_timeout: args.scenario_timeout,
        ..RunOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = jobs as usize;
    }
    options
}

/// The Postgres lifetime of a run on the reference proxy: started for the run (Ctrl-C while it starts
/// stops everything), stopped after it whatever the run's result.
async fn on_reference(
    scenarios: Vec<Scenario>,
    args: &RunArgs,
    options: RunOptions,
    baseline: Option<&Baseline>,
    cancel: &CancelToken,
    signals: &Signals,
) -> Result<Finished, CliError> {
    let pg_options = args.postgres.options();
    let pg = tokio::select! {
        pg = PgServer::start(&pg_options) => Arc::new(pg?),
        () = cancel.cancelled() => {
            return Err(CliError::Interrupted(signals.stopped_by().unwrap_or(StopSignal::Interrupt)));
        }
    };
    let target = Target::reference(Arc::clone(&pg));
    let finished = run_with_reporter(scenarios, target, options, baseline, args.show_secrets).await;
    // Every scenario task has ended, so this is the last handle on the server.
    match Arc::try_unwrap(pg) {
        Ok(pg) => pg.shutdown().await,
        Err(_) => tracing::warn!("failed to stop Postgres: it is still in use"),
    }
    finished
}

/// What a run produced beyond the outcomes.
struct Finished {
    /// As the reports show them: with their secrets masked (unless `--show-secrets`).
    outcomes: Vec<ScenarioOutcome>,
    version: String,
    /// `None` when no leftover check ran.
    leftovers: Option<Vec<Leftover>>,
    /// `None` without `--baseline`.
    comparison: Option<Comparison>,
}

impl Finished {
    fn nothing() -> Finished {
        Finished { outcomes: Vec::new(), version: UNKNOWN_VERSION.to_string(), leftovers: None, comparison: None }
    }
}

/// Runs the scenarios, printing the target, each outcome as it finishes, what was left behind on an
/// external target, the comparison with the baseline, and the summary at the end. What it prints and
/// returns has its secrets masked unless `show_secrets` (the run itself uses them in full).
async fn run_with_reporter(
    scenarios: Vec<Scenario>,
    target: Target,
    options: RunOptions,
    baseline: Option<&Baseline>,
    show_secrets: bool,
) -> Result<Finished, CliError> {
    let redactor = if show_secrets { Redactor::off() } else { Redactor::new(target.master_key()) };
    if let Some((url, reason)) = runner::unreachable_target(&target, &options).await {
        return Err(CliError::TargetUnreachable { url, reason });
    }
    let version = runner::target_version(&target, &options).await;
    println!("{}", human::running_line(scenarios.len(), &target.describe(), version.as_deref()));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let mut reporter = HumanReporter::new(io::stdout(), scenarios.len());
    let target = Arc::new(target);
    let run = tokio::spawn(runner::run_scenarios(scenarios, Arc::clone(&target), options.clone(), Arc::new(sender)));
    while let Some(event) = receiver.recv().await {
        // A closed stdout (`| head`) must not stop the run or its cleanup.
        let _ = reporter.event(&redactor.event(&event));
    }
    let outcomes = run.await.map_err(|e| CliError::Internal(e.to_string()))?;
    let leftovers = check_leftovers(&target, &outcomes, &options).await;
    let comparison = baseline.map(|b| baseline::compare(b, &outcomes));
    let outcomes: Vec<ScenarioOutcome> = outcomes.iter().map(|o| redactor.outcome(o)).collect();
    let leftovers = leftovers.map(|l| l.iter().map(|l| redactor.leftover(l)).collect::<Vec<_>>());
    let _ = reporter.finish_run(&outcomes, leftovers.as_deref(), comparison.as_ref());
    Ok(Finished { outcomes, version: version.unwrap_or_else(|| UNKNOWN_VERSION.to_string()), leftovers, comparison })
}

/// What the run left on an external target; `None` on the reference proxy and with `--keep`.
async fn check_leftovers(target: &Target, outcomes: &[ScenarioOutcome], options: &RunOptions) -> Option<Vec<Leftover>> {
    if target.is_reference() || options.keep {
        return None;
    }
    Some(runner::check_leftovers(target, outcomes, options).await)
}

/// Writes the report files asked for. `json` builds the JSON report, only when `--json` or `--html`
/// asks: the HTML page is rendered from it, so it shows (and masks) exactly what the JSON does.
pub(super) fn write_reports(
    reports: &ReportArgs,
    outcomes: &[ScenarioOutcome],
    run: &RunInfo,
    json: impl FnOnce() -> JsonReport,
) -> Result<(), CliError> {
    if let Some(path) = &reports.junit {
        let xml = junit::to_xml(outcomes, run).map_err(|e| CliError::Internal(e.to_string()))?;
        write_report(path, &xml)?;
    }
    if reports.json.is_some() || reports.html.is_some() {
        let report = json();
        if let Some(path) = &reports.json {
            write_report(path, &report.to_json())?;
        }
        if let Some(path) = &reports.html {
            write_report(path, &html::render(&report))?;
        }
    }
    Ok(())
}

pub(super) fn write_report(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::WriteReport { path: path.to_path_buf(), source })
}

/// The verdict: with a baseline, only the new failures count as failed.
fn verdict(finished: &Finished, broken_files: usize, nothing_ran: bool, interrupted: Option<StopSignal>) -> Verdict {
    let summary = Summary::of(&finished.outcomes);
    let leftovers = finished.leftovers.as_deref().unwrap_or_default();
    Verdict {
        failed: finished.comparison.as_ref().map_or(summary.failed, |c| c.new_failures.len()),
        errored: summary.errored,
        broken_files,
        nothing_ran,
        interrupted,
        leftovers: leftovers.iter().filter(|l| !l.unreachable).count(),
        unchecked_leftovers: leftovers.iter().filter(|l| l.unreachable).count(),
    }
}
