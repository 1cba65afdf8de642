//! Merging the JSON reports of a split run (`gateproof merge`): the shards of one `--partition`
//! matrix, or any reports of one target with no scenario in two of them, back into one report.
//!
//! Pure but for [`Shard::read`]. The merged report is what the unsplit run would have written, apart
//! from timings and run ids: scenarios in file order (by file path, then id: the order a run loads
//! them in), the summary counted again from them, broken files and leftovers the union of the
//! shards' (every shard loads every file, so each names the same broken ones). Its `started_at` is
//! the earliest shard's and its `duration_ms` the longest shard's: the shards of a matrix run side by
//! side, so the split run took as long as its slowest shard; a sum would count runner time, not the
//! wait for the verdict.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::json::{FORMAT_VERSION, JsonBaseline, JsonReport, JsonReproductionResult, JsonScenarioStatus, JsonSummary};
use crate::runner::Partition;

/// One report to merge, and the file it came from (for the errors).
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    pub file: PathBuf,
    pub report: JsonReport,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("failed to read the report {}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read {} as a gateproof JSON report", file.display())]
    Parse {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the report {} has format_version {found}; this gateproof reads 1 to {FORMAT_VERSION}", file.display())]
    Version { file: PathBuf, found: u32 },
    #[error("{} does not read back", file.display())]
    ReadBack {
        file: PathBuf,
        #[source]
        source: super::read_back::ReadBackError,
    },
    #[error("{} is a run against {found}, {} one against {expected}: merge the reports of one target", file.display(), first.display())]
    Target { file: PathBuf, found: String, first: PathBuf, expected: String },
    #[error("{} is a run on version {found}, {} one on {expected}: merge the reports of one target version", file.display(), first.display())]
    TargetVersion { file: PathBuf, found: String, first: PathBuf, expected: String },
    #[error("scenario `{id}` is in both {} and {}: a scenario belongs to one shard", first.display(), file.display())]
    DuplicateScenario { id: String, first: PathBuf, file: PathBuf },
    #[error("{}: {message}", file.display())]
    Partition { file: PathBuf, message: String },
    #[error("shards missing: {missing} (of {total}); their reports are not among the ones to merge")]
    MissingShards { missing: String, total: u64 },
    #[error("{} compares with the baseline {found}, {} with {expected}: merge reports of one baseline, or pass --baseline to merge", file.display(), first.display())]
    Baseline { file: PathBuf, found: String, first: PathBuf, expected: String },
}

impl MergeError {
    /// The report the error is about, when it is one report's.
    pub fn file(&self) -> Option<&Path> {
        match self {
            MergeError::Read { file, .. }
            | MergeError::Parse { file, .. }
            | MergeError::Version { file, .. }
            | MergeError::ReadBack { file, .. }
            | MergeError::Target { file, .. }
            | MergeError::TargetVersion { file, .. }
            | MergeError::DuplicateScenario { file, .. }
            | MergeError::Partition { file, .. }
            | MergeError::Baseline { file, .. } => Some(file),
            MergeError::MissingShards { .. } => None,
        }
    }
}

impl Shard {
    pub fn read(file: &Path) -> Result<Shard, MergeError> {
        let text = std::fs::read_to_string(file).map_err(|source| MergeError::Read { file: file.into(), source })?;
        let report: JsonReport =
            serde_json::from_str(&text).map_err(|source| MergeError::Parse { file: file.into(), source })?;
        if !super::json::READABLE_VERSIONS.contains(&report.format_version) {
            return Err(MergeError::Version { file: file.into(), found: report.format_version });
        }
        // What merge reads back later (a quirk, a partition) must be known to this gateproof.
        let reads_back = super::read_back::outcomes(&report).and_then(|_| super::read_back::run_info(&report));
        reads_back.map_err(|source| MergeError::ReadBack { file: file.into(), source })?;
        Ok(Shard { file: file.into(), report })
    }
}

/// The one report of the shards. `shards` must not be empty (the command line takes at least one).
pub fn merge(shards: &[Shard]) -> Result<JsonReport, MergeError> {
    let Some(first) = shards.first() else {
        return Err(MergeError::MissingShards { missing: "all".into(), total: 0 });
    };
    check_same_target(first, shards)?;
    check_partitions(shards)?;

    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for shard in shards {
        for scenario in &shard.report.scenarios {
            if let Some(earlier) = seen.insert(&scenario.id, &shard.file) {
                return Err(MergeError::DuplicateScenario {
                    id: scenario.id.clone(),
                    first: earlier.into(),
                    file: shard.file.clone(),
                });
            }
        }
    }
    let mut scenarios: Vec<_> = shards.iter().flat_map(|s| s.report.scenarios.iter().cloned()).collect();
    scenarios.sort_by(|a, b| file_order((&a.file, &a.id), (&b.file, &b.id)));

    // Every shard loads every file, so each lists the same broken ones in the loader's order.
    let mut broken_files = Vec::new();
    for broken in shards.iter().flat_map(|s| &s.report.broken_files) {
        if !broken_files.contains(broken) {
            broken_files.push(broken.clone());
        }
    }

    let leftovers = shards.iter().any(|s| s.report.leftovers.is_some()).then(|| {
        let mut all: Vec<_> = shards.iter().flat_map(|s| s.report.leftovers.iter().flatten().cloned()).collect();
        let position = |id: &str| scenarios.iter().position(|s| s.id == id);
        all.sort_by_key(|l| position(&l.scenario));
        all
    });
    let baseline = merged_baseline(shards, &scenarios)?;

    let mut summary = JsonSummary {
        total: scenarios.len() + broken_files.len(),
        passed: 0,
        failed: 0,
        skipped: 0,
        errored: 0,
        broken_files: broken_files.len(),
        reproduced: 0,
        not_reproduced: 0,
    };
    for scenario in &scenarios {
        match scenario.status {
            JsonScenarioStatus::Passed => summary.passed += 1,
            JsonScenarioStatus::Failed => summary.failed += 1,
            JsonScenarioStatus::Skipped => summary.skipped += 1,
            JsonScenarioStatus::Errored => summary.errored += 1,
        }
        match scenario.reproduction.as_ref().map(|r| r.result) {
            Some(JsonReproductionResult::Reproduced) => summary.reproduced += 1,
            Some(JsonReproductionResult::NotReproduced) => summary.not_reproduced += 1,
            Some(JsonReproductionResult::NotRun) | None => {}
        }
    }

    Ok(JsonReport {
        format_version: FORMAT_VERSION,
        target: first.report.target.clone(),
        target_version: first.report.target_version.clone(),
        partition: None,
        started_at: shards.iter().map(|s| s.report.started_at).min().unwrap_or(first.report.started_at),
        duration_ms: shards.iter().map(|s| s.report.duration_ms).max().unwrap_or_default(),
        summary,
        scenarios,
        broken_files,
        leftovers,
        baseline,
    })
}

/// The order a run loads scenarios in: by file path (component by component, as the loader sorts
/// them), then by id.
fn file_order(a: (&str, &str), b: (&str, &str)) -> Ordering {
    Path::new(a.0).cmp(Path::new(b.0)).then_with(|| a.1.cmp(b.1))
}

fn check_same_target(first: &Shard, shards: &[Shard]) -> Result<(), MergeError> {
    let version = |shard: &Shard| shard.report.target_version.clone().unwrap_or_else(|| super::UNKNOWN_VERSION.into());
    for shard in shards {
        if shard.report.target != first.report.target {
            return Err(MergeError::Target {
                file: shard.file.clone(),
                found: shard.report.target.clone(),
                first: first.file.clone(),
                expected: first.report.target.clone(),
            });
        }
        if version(shard) != version(first) {
            return Err(MergeError::TargetVersion {
                file: shard.file.clone(),
                found: version(shard),
                first: first.file.clone(),
                expected: version(first),
            });
        }
    }
    Ok(())
}

/// Shards of one partition must all be there, each once: a matrix job whose report never arrived
/// would otherwise pass its scenarios over without a word. Reports without a partition merge freely.
fn check_partitions(shards: &[Shard]) -> Result<(), MergeError> {
    let partitioned = shards.iter().filter(|s| s.report.partition.is_some()).count();
    if partitioned == 0 {
        return Ok(());
    }
    let mut first: Option<(Partition, &Path)> = None;
    let mut taken: BTreeMap<u64, &Path> = BTreeMap::new();
    for shard in shards {
        let error = |message: String| MergeError::Partition { file: shard.file.clone(), message };
        let Some(text) = &shard.report.partition else {
            return Err(error("a whole run, while the other reports are shards of one: merge the shards alone".into()));
        };
        let partition: Partition =
            text.parse().map_err(|_| error(format!("the partition `{text}` is not `count:K/N` or `hash:K/N`")))?;
        let (expected, expected_file) = *first.get_or_insert((partition, &shard.file));
        if partition.kind != expected.kind || partition.total() != expected.total() {
            return Err(error(format!(
                "shard {partition} is not of the partition of {} ({expected}): merge the shards of one split",
                expected_file.display()
            )));
        }
        if let Some(earlier) = taken.insert(partition.shard(), &shard.file) {
            return Err(error(format!("shard {partition} is also {}", earlier.display())));
        }
    }
    let Some((partition, _)) = first else { return Ok(()) };
    let missing: Vec<String> = (1..=partition.total())
        .filter(|k| !taken.contains_key(k))
        .map(|k| format!("{}:{k}/{}", partition.kind.name(), partition.total()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MergeError::MissingShards { missing: missing.join(", "), total: partition.total() })
    }
}

/// The shards' comparisons with one baseline, joined (each names only its own scenarios); `None` when
/// none compared.
fn merged_baseline(
    shards: &[Shard],
    scenarios: &[super::json::JsonScenario],
) -> Result<Option<JsonBaseline>, MergeError> {
    let Some((first, expected)) = shards.iter().find_map(|s| s.report.baseline.as_ref().map(|b| (s, b))) else {
        return Ok(None);
    };
    let name = |baseline: Option<&JsonBaseline>| baseline.map_or_else(|| "none".to_string(), |b| b.file.clone());
    let mut merged =
        JsonBaseline { new_failures: Vec::new(), fixed: Vec::new(), known_failures: Vec::new(), ..expected.clone() };
    for shard in shards {
        let baseline = shard.report.baseline.as_ref();
        match baseline {
            Some(b) if b.file == expected.file && b.target_version == expected.target_version => {
                merged.new_failures.extend(b.new_failures.iter().cloned());
                merged.fixed.extend(b.fixed.iter().cloned());
                merged.known_failures.extend(b.known_failures.iter().cloned());
            }
            _ => {
                return Err(MergeError::Baseline {
                    file: shard.file.clone(),
                    found: name(baseline),
                    first: first.file.clone(),
                    expected: expected.file.clone(),
                });
            }
        }
    }
    let position = |id: &str| scenarios.iter().position(|s| s.id == id);
    for list in [&mut merged.new_failures, &mut merged.fixed, &mut merged.known_failures] {
        list.sort_by_key(|c| position(&c.id));
    }
    Ok(Some(merged))
}

#[cfg(test)]
mod tests;
