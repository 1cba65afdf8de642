//! `gateproof merge`: the JSON reports of a split run (`--partition`) read, checked and joined into
//! one report, written as JSON, JUnit and HTML, with the summary and the exit code a run with those
//! outcomes has, so the merge job of a CI matrix can be the gate.

use std::io;

use super::args::MergeArgs;
use super::run::write_reports;
use super::{CliError, Verdict};
use crate::report::baseline::{self, Baseline};
use crate::report::human::HumanReporter;
use crate::report::json::{self, JsonReport};
use crate::report::merge::{self, Shard};
use crate::report::{Summary, read_back};

pub(super) fn merge(args: &MergeArgs) -> Result<Verdict, CliError> {
    // Read before anything is merged, so an unreadable baseline costs nothing.
    let baseline = args.baseline.as_deref().map(Baseline::read).transpose()?;
    let shards = args.reports.iter().map(|file| Shard::read(file)).collect::<Result<Vec<_>, _>>()?;
    let mut merged = merge::merge(&shards)?;
    let internal = |e: read_back::ReadBackError| CliError::Internal(e.to_string());
    let outcomes = read_back::outcomes(&merged).map_err(internal)?;
    let mut run = read_back::run_info(&merged).map_err(internal)?;
    if let Some(baseline) = &baseline {
        // The merge's own baseline replaces whatever the shards compared with.
        let comparison = baseline::compare(baseline, &outcomes);
        merged.baseline = Some(json::baseline(&comparison));
        run.baseline = Some(comparison);
    }

    println!("{}", merged_line(&shards, &merged));
    let _ = HumanReporter::plain(io::stdout()).finish_run(&outcomes, run.leftovers.as_deref(), run.baseline.as_ref());

    // The merged report, not one rebuilt from the outcomes: read-back outcomes lack what reports
    // never held in full (the objects created, with their masked keys).
    write_reports(&args.report_files, &outcomes, &run, || merged.clone())?;

    let summary = Summary::of(&outcomes);
    let leftovers = run.leftovers.as_deref().unwrap_or_default();
    Ok(Verdict {
        failed: run.baseline.as_ref().map_or(summary.failed, |c| c.new_failures.len()),
        errored: summary.errored,
        broken_files: run.broken_files.len(),
        // As in a run: a merge of shards that between them ran nothing is not a pass.
        nothing_ran: outcomes.is_empty(),
        interrupted: None,
        leftovers: leftovers.iter().filter(|l| !l.unreachable).count(),
        unchecked_leftovers: leftovers.iter().filter(|l| l.unreachable).count(),
    })
}

/// `Merged 3 reports (hash:1/3, hash:2/3, hash:3/3): 12 scenarios against reference (gateproof …)`.
fn merged_line(shards: &[Shard], merged: &JsonReport) -> String {
    let partitions: Vec<&str> = shards.iter().filter_map(|s| s.report.partition.as_deref()).collect();
    let partitions = if partitions.is_empty() { String::new() } else { format!(" ({})", partitions.join(", ")) };
    let reports = if shards.len() == 1 { "report" } else { "reports" };
    let scenarios = if merged.scenarios.len() == 1 { "scenario" } else { "scenarios" };
    let version = merged.target_version.as_deref().unwrap_or(crate::report::UNKNOWN_VERSION);
    format!(
        "Merged {} {reports}{partitions}: {} {scenarios} against {} ({version})",
        shards.len(),
        merged.scenarios.len(),
        merged.target
    )
}
