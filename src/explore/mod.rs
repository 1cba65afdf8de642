//! `gateproof explore`: differential random testing of two targets.
//!
//! The same random operation sequences go to both targets; where their decisions part, the sequence is
//! shrunk and written as an ordinary regression scenario. One file per concept: `generate` (the state
//! machine and its operations; its world and its model-access operations in submodules), `build` (step constructors), `side` (what a target is), `decision`
//! (a response as a decision, and the one normalization table), `compare` (a sequence on both sides),
//! `shrink`, `write` (the YAML), and this driver (budget, order, summary).

mod build;
pub mod cli;
pub mod compare;
pub mod decision;
mod fresh;
pub mod generate;
pub mod shrink;
pub mod side;
pub mod write;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::postgres::PgServer;
use crate::runner::{ReproductionResult, RunOptions, ScenarioStatus, run_scenario};
use compare::{Divergence, PairResult, PairRun, Signature, run_pair};
pub use generate::GeneratorOptions;
use side::{Side, SideSpec};
use write::Provenance;

/// How long explore runs: wall time or generated operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Time(Duration),
    Ops(u64),
}

impl FromStr for Budget {
    type Err = String;

    fn from_str(text: &str) -> Result<Budget, String> {
        if let Some(count) = text.strip_suffix("ops") {
            return count
                .trim()
                .parse()
                .map(Budget::Ops)
                .map_err(|_| format!("`{text}`: expected a count before `ops`"));
        }
        humantime::parse_duration(text)
            .map(Budget::Time)
            .map_err(|e| format!("`{text}`: expected a duration (`5m`) or an operation count (`10000ops`): {e}"))
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Time(d) => write!(f, "{}", humantime::format_duration(*d)),
            Budget::Ops(n) => write!(f, "{n}ops"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ExploreConfig {
    pub target: SideSpec,
    pub against: SideSpec,
    pub master_key: String,
    pub against_master_key: String,
    pub seed: u64,
    pub budget: Budget,
    /// Where scenarios are written; `None` writes nothing.
    pub out: Option<PathBuf>,
    /// Sequences in flight at once.
    pub jobs: usize,
    /// Stop once this many distinct divergences are found.
    pub stop_after: Option<usize>,
    /// Candidate runs one shrink may take.
    pub shrink_attempts: usize,
    pub generator: GeneratorOptions,
    pub request_timeout: Duration,
}

impl ExploreConfig {
    pub fn new(target: SideSpec, against: SideSpec, seed: u64, budget: Budget) -> ExploreConfig {
        let urls = matches!(target, SideSpec::Url(_)) || matches!(against, SideSpec::Url(_));
        ExploreConfig {
            target,
            against,
            master_key: String::new(),
            against_master_key: String::new(),
            seed,
            budget,
            out: Some(PathBuf::from("explored")),
            jobs: 2,
            stop_after: None,
            shrink_attempts: 200,
            // Against a real proxy: one URL per side, and no licence-gated routes.
            generator: if urls {
                GeneratorOptions { organizations: false, key_regenerate: false, max_replicas: 1, ..Default::default() }
            } else {
                GeneratorOptions::default()
            },
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// How a written scenario behaved when run again as a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Passes on the correct side and fails on the other.
    Holds,
    /// As `Holds`, and `--reproduce` with its quirk reproduces it.
    Reproduced,
    Broken(String),
    NotWritten,
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verification::Holds => f.write_str("passes on the target, fails on the other side"),
            Verification::Reproduced => f.write_str("reproduces with --reproduce"),
            Verification::Broken(why) => write!(f, "DOES NOT HOLD: {why}"),
            Verification::NotWritten => f.write_str("not written"),
        }
    }
}

/// One distinct divergence.
#[derive(Clone, Debug)]
pub struct Found {
    pub signature: Signature,
    /// Sequences that showed it.
    pub count: usize,
    pub sequence: u64,
    pub ops_before: usize,
    pub ops_after: usize,
    pub shrink_runs: usize,
    pub divergence: Divergence,
    pub file: Option<PathBuf>,
    pub verification: Verification,
    /// Operations explored and wall time when it was first seen.
    pub found_after_ops: u64,
    pub found_after: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct ExploreReport {
    pub seed: u64,
    pub target: String,
    pub against: String,
    pub sequences: u64,
    /// Operations of the sequences explored (each one sent to both sides).
    pub ops: u64,
    pub elapsed: Duration,
    /// Time spent running sequences, not shrinking or verifying.
    pub exploring: Duration,
    /// Sequences without a verdict (a side errored or skipped them), with the first reason.
    pub unusable: u64,
    pub first_unusable: Option<String>,
    pub found: Vec<Found>,
}

impl ExploreReport {
    /// Operations per second of exploring, counting each operation once (it went to both sides).
    pub fn ops_per_second(&self) -> f64 {
        self.ops as f64 / self.exploring.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("a reference side needs a Postgres server")]
    NoPostgres,
    #[error("failed to write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

struct Shared {
    target: Side,
    against: Side,
    generator: GeneratorOptions,
    seed: u64,
}

/// Runs explore. `progress` gets one line per notable event (the seed first).
pub async fn explore(
    config: &ExploreConfig,
    pg: Option<Arc<PgServer>>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ExploreReport, ExploreError> {
    if (config.target.is_reference() || config.against.is_reference()) && pg.is_none() {
        return Err(ExploreError::NoPostgres);
    }
    let replicas = config.generator.max_replicas;
    let target = Side::open(config.target.clone(), &config.master_key, pg.as_ref(), config.request_timeout, replicas);
    let against =
        Side::open(config.against.clone(), &config.against_master_key, pg.as_ref(), config.request_timeout, replicas);
    // What a real proxy lacks (a licence, a newer version's route) is left out of the sequences, as a
    // scenario requiring it would be skipped there: it is no divergence in authorization.
    let mut generator = config.generator.clone();
    for side in [&target, &against] {
        for capability in crate::runner::missing_capabilities(&side.target, &side.options).await {
            generator.without(capability);
        }
    }
    let shared = Arc::new(Shared { target, against, generator, seed: config.seed });
    progress(&format!(
        "explore: seed {}, target {}, against {}, budget {}",
        config.seed, config.target, config.against, config.budget
    ));
    let started = Instant::now();
    let mut report = ExploreReport {
        seed: config.seed,
        target: config.target.to_string(),
        against: config.against.to_string(),
        ..ExploreReport::default()
    };
    let mut seen: HashMap<Signature, usize> = HashMap::new();
    let mut tasks: JoinSet<(u64, usize, crate::scenario::Scenario, PairRun, Duration)> = JoinSet::new();
    let mut done: BTreeMap<u64, (usize, crate::scenario::Scenario, PairRun, Duration)> = BTreeMap::new();
    let mut next_launch = 0u64;
    let mut next_handle = 0u64;
    let mut launched_ops = 0u64;
    let jobs = config.jobs.max(1);
    loop {
        let over_budget = match config.budget {
            Budget::Time(limit) => started.elapsed() >= limit,
            Budget::Ops(limit) => launched_ops >= limit,
        };
        let enough = config.stop_after.is_some_and(|n| report.found.len() >= n);
        if !over_budget && !enough {
            while tasks.len() < jobs {
                let index = next_launch;
                next_launch += 1;
                let scenario = generate::sequence(config.seed, index, &shared.generator);
                launched_ops += scenario.steps.len() as u64;
                let shared = Arc::clone(&shared);
                tasks.spawn(async move {
                    let began = Instant::now();
                    let ops = scenario.steps.len();
                    let run = run_pair(&scenario, &shared.target, &shared.against).await;
                    (index, ops, scenario, run, began.elapsed())
                });
                if matches!(config.budget, Budget::Ops(limit) if launched_ops >= limit) {
                    break;
                }
            }
        }
        let Some(joined) = tasks.join_next().await else { break };
        let Ok((index, ops, scenario, run, took)) = joined else { continue };
        done.insert(index, (ops, scenario, run, took));
        // Results are handled in sequence order, so the same seed finds the same divergences first.
        while let Some((ops, scenario, run, took)) = done.remove(&next_handle) {
            let index = next_handle;
            next_handle += 1;
            if config.stop_after.is_some_and(|n| report.found.len() >= n) {
                continue;
            }
            report.sequences += 1;
            report.ops += ops as u64;
            report.exploring += took / jobs as u32;
            match &run.result {
                PairResult::Agree => {}
                PairResult::Unusable(reason) => {
                    report.unusable += 1;
                    report.first_unusable.get_or_insert_with(|| reason.clone());
                }
                PairResult::Diverge(divergence) => {
                    let signature = divergence.signature();
                    if let Some(&at) = seen.get(&signature) {
                        report.found[at].count += 1;
                        continue;
                    }
                    let (found_after_ops, found_after) = (report.ops, started.elapsed());
                    progress(&format!("sequence {index}: {signature}; shrinking {ops} operations"));
                    let found = handle_divergence(
                        config,
                        &shared,
                        index,
                        scenario,
                        run,
                        signature.clone(),
                        (found_after_ops, found_after),
                    )
                    .await?;
                    progress(&describe_found(&found));
                    seen.insert(signature, report.found.len());
                    report.found.push(found);
                }
            }
        }
    }
    shared.target.close().await;
    shared.against.close().await;
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn handle_divergence(
    config: &ExploreConfig,
    shared: &Shared,
    index: u64,
    scenario: crate::scenario::Scenario,
    run: PairRun,
    signature: Signature,
    found_at: (u64, Duration),
) -> Result<Found, ExploreError> {
    let ops_before = scenario.steps.len();
    let sides = shrink::Sides { target: &shared.target, against: &shared.against };
    let shrunk = shrink::shrink(scenario, run, &sides, config.shrink_attempts).await;
    let PairResult::Diverge(divergence) = &shrunk.run.result else { unreachable!("a shrunk sequence still diverges") };
    let divergence = (**divergence).clone();
    let provenance = Provenance {
        seed: shared.seed,
        sequence: index,
        original_ops: ops_before,
        target: config.target.to_string(),
        against: config.against.to_string(),
        quirk: match &config.target {
            SideSpec::Reference(quirks) if quirks.is_empty() => config.against.single_quirk(),
            _ => None,
        },
    };
    let mut found = Found {
        signature,
        count: 1,
        sequence: index,
        ops_before,
        ops_after: shrunk.scenario.steps.len(),
        shrink_runs: shrunk.attempts,
        divergence: divergence.clone(),
        file: None,
        verification: Verification::NotWritten,
        found_after_ops: found_at.0,
        found_after: found_at.1,
    };
    let Some(out) = &config.out else { return Ok(found) };
    let yaml = write::scenario_yaml(&shrunk.scenario, &shrunk.run, &divergence, &provenance);
    std::fs::create_dir_all(out).map_err(|source| ExploreError::Write { path: out.clone(), source })?;
    let path = out.join(write::file_name(&provenance, &divergence));
    std::fs::write(&path, &yaml).map_err(|source| ExploreError::Write { path: path.clone(), source })?;
    found.verification = verify(&path, &yaml, shared, provenance.quirk.is_some()).await;
    found.file = Some(path);
    Ok(found)
}

/// Loads the written file back and runs it: it must pass on the target and fail on the other side
/// (with `--reproduce` when it declares a quirk).
async fn verify(path: &std::path::Path, yaml: &str, shared: &Shared, reproduce: bool) -> Verification {
    let scenario = match crate::scenario::parse_str(yaml, path) {
        Ok(scenario) => scenario,
        Err(e) => return Verification::Broken(format!("does not load: {e}")),
    };
    let options = RunOptions { reproduce, ..shared.target.options.clone() };
    let on_target = run_scenario(&scenario, &shared.target.target, &options).await;
    if on_target.status != ScenarioStatus::Passed {
        let step = on_target.failed_step().map(|s| s.id.clone()).unwrap_or_default();
        return Verification::Broken(format!("{} on the target (step `{step}`)", on_target.status.name()));
    }
    if reproduce {
        return match on_target.reproduction.as_deref().map(|r| &r.result) {
            Some(ReproductionResult::Reproduced) => Verification::Reproduced,
            Some(ReproductionResult::NotReproduced { reason } | ReproductionResult::NotRun { reason }) => {
                Verification::Broken(format!("not reproduced: {reason}"))
            }
            None => Verification::Broken("no reproduction was run".to_string()),
        };
    }
    let on_against = run_scenario(&scenario, &shared.against.target, &shared.against.options).await;
    match on_against.status {
        ScenarioStatus::Failed => Verification::Holds,
        other => Verification::Broken(format!("{} on the other side", other.name())),
    }
}

fn describe_found(found: &Found) -> String {
    let file =
        found.file.as_ref().map_or_else(String::new, |f| format!("\n  wrote {} ({})", f.display(), found.verification));
    format!("  shrunk {} → {} operations in {} runs{file}", found.ops_before, found.ops_after, found.shrink_runs)
}

impl fmt::Display for ExploreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "explored {} sequences, {} operations in {:.1} s ({:.0} ops/s while exploring, each op sent to both sides); seed {}",
            self.sequences,
            self.ops,
            self.elapsed.as_secs_f64(),
            self.ops_per_second(),
            self.seed
        )?;
        if self.unusable > 0 {
            writeln!(
                f,
                "{} sequences had no verdict (first: {})",
                self.unusable,
                self.first_unusable.as_deref().unwrap_or("")
            )?;
        }
        if self.found.is_empty() {
            return writeln!(f, "no divergence between {} and {}", self.target, self.against);
        }
        writeln!(
            f,
            "{} distinct divergences between {} (target) and {} (against):",
            self.found.len(),
            self.target,
            self.against
        )?;
        let mut found: Vec<&Found> = self.found.iter().collect();
        found.sort_by(|a, b| a.signature.cmp(&b.signature));
        for item in found {
            writeln!(f, "  {}  ×{} (first: sequence {})", item.signature, item.count, item.sequence)?;
            if let Some(file) = &item.file {
                writeln!(
                    f,
                    "    {}: {} → {} ops, {}",
                    file.display(),
                    item.ops_before,
                    item.ops_after,
                    item.verification
                )?;
            }
        }
        Ok(())
    }
}
