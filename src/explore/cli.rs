//! `gateproof explore` on the command line: its arguments, and the run that prints the report.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::side::SideSpec;
use super::{Budget, ExploreConfig, Verification, explore};
use crate::cli::{CliError, Verdict};
use crate::postgres::{PgServer, PostgresChoice, PostgresOptions};

#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The side that behaves correctly: `reference`, `reference+QUIRK[+QUIRK…]`, or a proxy's URL.
    #[arg(long, default_value = "reference", value_parser = parse_side)]
    target: SideSpec,
    /// The side compared with it (same forms).
    #[arg(long, value_parser = parse_side)]
    against: SideSpec,
    /// Master key of a URL target.
    #[arg(long, env = "GATEPROOF_MASTER_KEY", hide_env_values = true, default_value = "")]
    master_key: String,
    /// Master key of a URL against side (default: --master-key).
    #[arg(long)]
    against_master_key: Option<String>,
    /// Seed of the random sequences (default: random; always printed).
    #[arg(long)]
    seed: Option<u64>,
    /// How long to explore: a duration (`5m`) or an operation count (`10000ops`).
    #[arg(long, default_value = "1m", value_parser = parse_budget)]
    budget: Budget,
    /// Directory the shrunk scenarios are written to.
    #[arg(long, default_value = "explored")]
    out: PathBuf,
    /// Stop after this many distinct divergences.
    #[arg(long)]
    stop_after: Option<usize>,
    /// Sequences in flight at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Where Postgres comes from for a reference side: auto, docker, local or a postgres:// URL.
    #[arg(long, env = "GATEPROOF_POSTGRES", default_value = "auto")]
    postgres: PostgresChoice,
}

fn parse_side(text: &str) -> Result<SideSpec, String> {
    text.parse().map_err(|e: super::side::SideError| e.to_string())
}

fn parse_budget(text: &str) -> Result<Budget, String> {
    text.parse()
}

/// Runs explore and prints the report; divergences are failures (exit 1), sequences that no side
/// could run are infrastructure trouble (exit 3).
pub async fn run(args: ExploreArgs) -> Result<Verdict, CliError> {
    for (side, key) in [(&args.target, &args.master_key), (&args.against, &args.master_key)] {
        if matches!(side, SideSpec::Url(_)) && key.is_empty() {
            return Err(CliError::Usage(format!("{side} needs --master-key")));
        }
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut config = ExploreConfig::new(args.target.clone(), args.against.clone(), seed, args.budget);
    config.master_key = args.master_key.clone();
    config.against_master_key = args.against_master_key.clone().unwrap_or_else(|| args.master_key.clone());
    config.out = Some(args.out.clone());
    config.stop_after = args.stop_after;
    config.jobs = args.jobs.max(1);
    let needs_pg = args.target.is_reference() || args.against.is_reference();
    let pg = if needs_pg {
        Some(Arc::new(PgServer::start(&PostgresOptions { choice: args.postgres.clone(), image: None }).await?))
    } else {
        None
    };
    let report =
        explore(&config, pg, &|line| println!("{line}")).await.map_err(|e| CliError::Internal(e.to_string()))?;
    print!("{report}");
    let broken = report.found.iter().filter(|f| matches!(f.verification, Verification::Broken(_))).count();
    let all_unusable = report.sequences > 0 && report.unusable == report.sequences;
    Ok(Verdict { failed: report.found.len() + broken, errored: usize::from(all_unusable), ..Verdict::default() })
}
