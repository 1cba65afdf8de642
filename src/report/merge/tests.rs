//! Merging shards: the merged report is the whole run's, and every way reports cannot be merged is
//! refused, naming the report.

use std::path::PathBuf;

use chrono::Duration as Span;

use super::*;
use crate::report::baseline::{Baseline, compare};
use crate::report::{RunInfo, fixtures};
use crate::runner::{Leftover, ScenarioOutcome};

/// The fixtures' outcomes in the order a run loads them (by file).
fn whole() -> Vec<ScenarioOutcome> {
    let mut outcomes = fixtures::outcomes();
    outcomes.sort_by(|a, b| a.file.cmp(&b.file));
    outcomes
}

/// Shard `text` of `outcomes` as the run of that shard reports it, `minutes` after the fixture's start.
fn shard(text: &str, outcomes: &[ScenarioOutcome], run: &RunInfo, minutes: i64, millis: u64) -> Shard {
    let partition: Partition = text.parse().expect("valid");
    let mine = partition.select(outcomes.to_vec(), |o| o.id.as_str());
    let mut run = run.clone();
    run.partition = Some(partition);
    run.started_at += Span::minutes(minutes);
    run.duration = std::time::Duration::from_millis(millis);
    let file = PathBuf::from(format!("shard-{}.json", partition.shard()));
    Shard { file, report: JsonReport::new(&mine, &run) }
}

fn split(kind: &str, n: u64, outcomes: &[ScenarioOutcome], run: &RunInfo) -> Vec<Shard> {
    (1..=n).map(|k| shard(&format!("{kind}:{k}/{n}"), outcomes, run, k as i64, 1000 * k)).collect()
}

#[test]
fn the_merged_shards_are_the_whole_run() {
    for kind in ["count", "hash"] {
        for n in [1, 2, 3, 5] {
            let run = fixtures::run_info_with_broken_files();
            let shards = split(kind, n, &whole(), &run);
            let merged = merge(&shards).expect("merges");
            let mut expected = JsonReport::new(&whole(), &run);
            // The earliest start (shard 1 starts a minute in) and the slowest shard.
            expected.started_at = run.started_at + Span::minutes(1);
            expected.duration_ms = 1000 * n;
            assert_eq!(merged, expected, "{kind}:K/{n}");
            assert_eq!(merged.summary.broken_files, 2, "each shard names the broken files, the merge once");
        }
    }
}

#[test]
fn shards_given_in_any_order_merge_to_the_same_report() {
    let run = fixtures::run_info();
    let mut shards = split("count", 3, &whole(), &run);
    let forward = merge(&shards).expect("merges");
    shards.reverse();
    assert_eq!(merge(&shards).expect("merges"), forward);
}

/// The loader sorts paths component by component: `a/b.yaml` before `a-c.yaml`, though `-` sorts
/// before `/` as text.
#[test]
fn scenarios_are_in_the_order_a_run_loads_them() {
    let mut outcomes = fixtures::outcomes();
    outcomes.truncate(2);
    outcomes[0].file = "s/a-c.yaml".into();
    outcomes[1].file = "s/a/b.yaml".into();
    let shards = split("count", 2, &outcomes, &fixtures::run_info());
    let merged = merge(&shards).expect("merges");
    let files: Vec<&str> = merged.scenarios.iter().map(|s| s.file.as_str()).collect();
    assert_eq!(files, ["s/a/b.yaml", "s/a-c.yaml"]);
}

fn error_of(shards: &[Shard]) -> String {
    merge(shards).map(|_| ()).expect_err("refused").to_string()
}

#[test]
fn a_scenario_in_two_reports_is_refused_naming_both() {
    let run = fixtures::run_info();
    let a = Shard { file: "a.json".into(), report: JsonReport::new(&whole(), &run) };
    let b = Shard { file: "b.json".into(), report: JsonReport::new(&whole()[..1], &run) };
    let id = &whole()[0].id;
    assert_eq!(
        error_of(&[a, b]),
        format!("scenario `{id}` is in both a.json and b.json: a scenario belongs to one shard")
    );
}

#[test]
fn reports_of_other_targets_or_versions_are_refused() {
    let run = fixtures::run_info();
    let mut shards = split("hash", 2, &whole(), &run);
    shards[1].report.target = "http://127.0.0.1:4000".into();
    assert_eq!(
        error_of(&shards),
        "shard-2.json is a run against http://127.0.0.1:4000, shard-1.json one against reference: merge the \
         reports of one target"
    );
    let mut shards = split("hash", 2, &whole(), &run);
    shards[1].report.target_version = Some("1.83.14".into());
    assert!(error_of(&shards).starts_with("shard-2.json is a run on version 1.83.14, shard-1.json one on gateproof"));
}

#[test]
fn a_missing_a_doubled_or_a_foreign_shard_is_refused() {
    let run = fixtures::run_info();
    let mut shards = split("hash", 4, &whole(), &run);
    shards.remove(2);
    assert_eq!(error_of(&shards), "shards missing: hash:3/4 (of 4); their reports are not among the ones to merge");

    let mut shards = split("hash", 2, &whole(), &run);
    shards[1].report.partition = Some("hash:1/2".into());
    shards[1].report.scenarios.clear();
    assert_eq!(error_of(&shards), "shard-2.json: shard hash:1/2 is also shard-1.json");

    let mut shards = split("hash", 2, &whole(), &run);
    shards[1].report.partition = Some("count:2/2".into());
    assert_eq!(
        error_of(&shards),
        "shard-2.json: shard count:2/2 is not of the partition of shard-1.json (hash:1/2): merge the shards of one split"
    );

    let mut shards = split("hash", 2, &whole(), &run);
    shards[1].report.partition = None;
    assert!(error_of(&shards).starts_with("shard-2.json: a whole run, while the other reports are shards"));
}

/// Reports without a partition (runs of different folders, say) merge too.
#[test]
fn whole_runs_of_different_scenarios_merge() {
    let run = fixtures::run_info();
    let all = whole();
    let (first, rest) = all.split_at(1);
    let shards = [
        Shard { file: "a.json".into(), report: JsonReport::new(first, &run) },
        Shard { file: "b.json".into(), report: JsonReport::new(rest, &run) },
    ];
    assert_eq!(merge(&shards).expect("merges"), JsonReport::new(&whole(), &run));
}

/// Shards that each compared with one baseline merge into the whole run's comparison.
#[test]
fn the_shards_comparisons_with_one_baseline_join() {
    let before = whole();
    let baseline =
        Baseline::from_report(std::path::Path::new("before.json"), &JsonReport::new(&before, &fixtures::run_info()));
    // Now everything fails: the passed one newly, the failed one known.
    let mut now = whole();
    for outcome in &mut now {
        outcome.status = crate::runner::ScenarioStatus::Failed;
    }
    let shards: Vec<Shard> = (1..=3)
        .map(|k| {
            let partition: Partition = format!("count:{k}/3").parse().expect("valid");
            let mine = partition.select(now.clone(), |o| o.id.as_str());
            let mut run = fixtures::run_info();
            run.partition = Some(partition);
            run.baseline = Some(compare(&baseline, &mine));
            Shard { file: format!("shard-{k}.json").into(), report: JsonReport::new(&mine, &run) }
        })
        .collect();
    let mut run = fixtures::run_info();
    run.baseline = Some(compare(&baseline, &now));
    assert_eq!(merge(&shards).expect("merges").baseline, JsonReport::new(&now, &run).baseline);

    let mut other = shards.clone();
    other[2].report.baseline.as_mut().expect("compared").file = "older.json".into();
    assert_eq!(
        error_of(&other),
        "shard-3.json compares with the baseline older.json, shard-1.json with before.json: merge reports of one \
         baseline, or pass --baseline to merge"
    );
}

#[test]
fn leftovers_are_joined_and_none_only_when_no_shard_checked() {
    let run = fixtures::run_info();
    let mut shards = split("count", 2, &whole(), &run);
    assert_eq!(merge(&shards).expect("merges").leftovers, None);
    let leftover = |scenario: &str| Leftover {
        scenario: scenario.into(),
        label: "team t-1".into(),
        reason: "still exists".into(),
        unreachable: false,
    };
    for shard in &mut shards {
        let mut run = run.clone();
        let outcomes = crate::report::read_back::outcomes(&shard.report).expect("reads back");
        run.partition = shard.report.partition.as_deref().and_then(|p| p.parse().ok());
        run.leftovers = Some(outcomes.first().map(|o| leftover(&o.id)).into_iter().collect());
        shard.report = JsonReport::new(&outcomes, &run);
    }
    let merged = merge(&shards).expect("merges");
    let named: Vec<&str> = merged.leftovers.iter().flatten().map(|l| l.scenario.as_str()).collect();
    assert_eq!(named, [whole()[0].id.as_str(), whole()[1].id.as_str()]);
}
