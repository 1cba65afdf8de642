//! The command line as data: clap's argument structs and the parsers of their values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::CliError;
use crate::mocks::MockHost;
use crate::postgres::{PostgresChoice, PostgresOptions};
use crate::reference::Quirk;
use crate::runner::{Partition, TagFilter};

#[derive(Debug, Parser)]
#[command(
    name = "gateproof",
    version,
    about = "Runs YAML scenarios against an LLM gateway speaking LiteLLM's HTTP API"
)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run scenarios against the reference proxy or a proxy by URL.
    Run(Box<RunArgs>),
    /// List scenarios: id, tags, title, file.
    List(ListArgs),
    /// Serve the reference proxy on 127.0.0.1 until Ctrl-C.
    Serve(ServeArgs),
    /// Print the JSON Schema of the scenario format (of fragment files with `--fragment`).
    Schema(SchemaArgs),
    /// List the reference proxy's quirks: name, upstream issue, description.
    Quirks,
    /// Join the JSON reports of a split run (`run --partition`) into one report and one verdict.
    Merge(MergeArgs),
    /// Send the same random operation sequences to two targets; shrink and write where they diverge.
    Explore(Box<crate::explore::cli::ExploreArgs>),
}

#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Scenario files, or directories to search for *.yaml / *.yml.
    #[arg(default_value = "scenarios")]
    pub(super) paths: Vec<PathBuf>,
    /// `reference` (the in-process proxy) or the base URL of a running proxy. Repeat it (or separate
    /// URLs with commas) for replicas of one proxy on one database: in a scenario with
    /// `reference: {replicas: N}` a step's `on: N` picks the Nth; every other scenario uses the first.
    #[arg(
        long,
        env = "GATEPROOF_TARGET",
        default_value = "reference",
        value_parser = parse_target,
        value_delimiter = ','
    )]
    pub(super) target: Vec<TargetArg>,
    /// Master key of a URL target (required for one).
    #[arg(long, env = "GATEPROOF_MASTER_KEY", hide_env_values = true)]
    pub(super) master_key: Option<String>,
    /// Leave what scenarios create on a URL target in place (no teardown, no leftover check).
    #[arg(long)]
    pub(super) keep: bool,
    /// Address the scenarios' mock upstreams listen on (default 127.0.0.1); use 0.0.0.0 when the
    /// target runs in a container or on another host.
    #[arg(long, env = "GATEPROOF_MOCK_HOST", value_name = "ADDR")]
    pub(super) mock_host: Option<std::net::IpAddr>,
    /// Host name or address the target uses to reach the mocks, written into `{{mocks.NAME.url}}`
    /// (default: the --mock-host address, or 127.0.0.1 when that is unspecified).
    #[arg(long, env = "GATEPROOF_MOCK_URL_HOST", value_name = "HOST")]
    pub(super) mock_url_host: Option<String>,
    /// Longest wait for one response (humantime, e.g. `30s`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(super) request_timeout: std::time::Duration,
    /// Longest run of one scenario (humantime, e.g. `5m`).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub(super) scenario_timeout: std::time::Duration,
    #[command(flatten)]
    pub(super) filter: FilterArgs,
    /// Scenarios run at once (default: 4 per CPU, at most 16).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) jobs: Option<u32>,
    #[command(flatten)]
    pub(super) report_files: ReportArgs,
    /// Show virtual keys and the master key in full in the output and reports (they are masked to
    /// `sk-…abcd` by default, so reports can be published); for local debugging.
    #[arg(long)]
    pub(super) show_secrets: bool,
    /// Compare with an earlier JSON report: only scenarios that fail now and did not fail there fail
    /// the run; the fixes are listed too.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub(super) baseline: Option<PathBuf>,
    /// Switch this upstream bug on in the reference proxy for every scenario (repeatable; see
    /// `gateproof quirks`).
    #[arg(long = "quirk", value_name = "QUIRK", value_parser = parse_quirk, conflicts_with = "reproduce")]
    pub(super) quirks: Vec<Quirk>,
    /// Also run every scenario that declares `reproduces:` with its quirk on, and check that it fails
    /// exactly as declared.
    #[arg(long)]
    pub(super) reproduce: bool,
    #[command(flatten)]
    pub(super) postgres: PostgresArgs,
}

/// The report files `run` and `merge` write.
#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub(super) junit: Option<PathBuf>,
    /// Write the JSON report (format_version 2) here.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
    /// Write a self-contained HTML page here: the summary, what changed since --baseline, then each
    /// failing scenario's steps as a timeline (passing ones collapsed after).
    #[arg(long, value_name = "FILE")]
    pub(super) html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct SchemaArgs {
    /// The schema of fragment files (a top-level `fragment:` key), which scenario steps `include:`.
    #[arg(long)]
    pub(super) fragment: bool,
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// Scenario files, or directories to search for *.yaml / *.yml.
    #[arg(default_value = "scenarios")]
    pub(super) paths: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) filter: FilterArgs,
}

#[derive(Debug, Args)]
pub(super) struct MergeArgs {
    /// The shards' JSON reports (`run --json`): one target, no scenario in two of them, and of a
    /// `--partition` split every shard.
    #[arg(required = true, value_name = "REPORT.json")]
    pub(super) reports: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) report_files: ReportArgs,
    /// Compare the merged outcomes with an earlier JSON report, as `run --baseline` does (this replaces
    /// any comparison the shards made).
    #[arg(long, value_name = "PREVIOUS.json")]
    pub(super) baseline: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 4000)]
    pub(super) port: u16,
    /// Master key (default: a new random `sk-gp-…`).
    #[arg(long, env = "GATEPROOF_MASTER_KEY", hide_env_values = true)]
    pub(super) master_key: Option<String>,
    /// Switch this upstream bug on (repeatable; see `gateproof quirks`).
    #[arg(long = "quirk", value_name = "QUIRK", value_parser = parse_quirk)]
    pub(super) quirks: Vec<Quirk>,
    #[command(flatten)]
    pub(super) postgres: PostgresArgs,
}

#[derive(Debug, Args)]
pub(super) struct FilterArgs {
    /// Run only scenarios with any of these tags.
    #[arg(long = "tag", value_name = "TAG")]
    pub(super) tags: Vec<String>,
    /// Leave out scenarios with any of these tags.
    #[arg(long = "skip-tag", value_name = "TAG")]
    pub(super) skip_tags: Vec<String>,
    /// Only shard K of N of the scenarios the tags select, for a CI matrix: `count:K/N` takes every
    /// Nth in file order, `hash:K/N` those whose id hashes to K (a scenario keeps its shard as others
    /// are added). `gateproof merge` joins the shards' JSON reports.
    #[arg(long, value_name = "count:K/N|hash:K/N", value_parser = parse_partition)]
    pub(super) partition: Option<Partition>,
}

impl FilterArgs {
    pub(super) fn to_filter(&self) -> TagFilter {
        TagFilter { tags: self.tags.clone(), skip_tags: self.skip_tags.clone() }
    }
}

#[derive(Debug, Args)]
pub(super) struct PostgresArgs {
    /// Where Postgres comes from: auto, docker, local or a postgres:// URL.
    #[arg(long, env = "GATEPROOF_POSTGRES", default_value = "auto", value_parser = parse_postgres)]
    pub(super) postgres: PostgresChoice,
    /// Image for the container rung, NAME:TAG (default: the official postgres:17).
    #[arg(long, env = "GATEPROOF_POSTGRES_IMAGE", value_name = "NAME:TAG")]
    pub(super) postgres_image: Option<String>,
}

impl PostgresArgs {
    pub(super) fn options(&self) -> PostgresOptions {
        PostgresOptions { choice: self.postgres.clone(), image: self.postgres_image.clone() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TargetArg {
    Reference,
    Url(String),
}

pub(super) fn parse_target(text: &str) -> Result<TargetArg, String> {
    if text == "reference" {
        return Ok(TargetArg::Reference);
    }
    match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(TargetArg::Url(text.trim_end_matches('/').to_string()))
        }
        _ => Err(format!("expected `reference` or an http(s):// URL, got `{text}`")),
    }
}

pub(super) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("expected a duration above zero".into()),
        Err(e) => Err(format!("expected a duration such as `30s`: {e}")),
    }
}

/// Where mocks listen and the host their URLs name.
pub(super) fn mock_host(bind: Option<std::net::IpAddr>, url_host: Option<String>) -> MockHost {
    let bind = bind.unwrap_or(MockHost::default().bind);
    let advertise = url_host
        .unwrap_or_else(|| if bind.is_unspecified() { MockHost::default().advertise } else { bind.to_string() });
    MockHost { bind, advertise }
}

/// `reference` alone, or one or more URLs.
pub(super) fn target_urls(targets: &[TargetArg]) -> Result<Option<Vec<String>>, CliError> {
    let urls: Vec<String> = targets
        .iter()
        .filter_map(|t| match t {
            TargetArg::Url(url) => Some(url.clone()),
            TargetArg::Reference => None,
        })
        .collect();
    match (urls.len(), targets.len()) {
        (0, 1) => Ok(None),
        (n, total) if n == total => Ok(Some(urls)),
        _ => Err(CliError::Usage("--target takes `reference` alone, or one or more URLs".into())),
    }
}

pub(super) fn parse_postgres(text: &str) -> Result<PostgresChoice, String> {
    text.parse()
}

pub(super) fn parse_partition(text: &str) -> Result<Partition, String> {
    text.parse().map_err(|e: crate::runner::PartitionError| e.to_string())
}

pub(super) fn parse_quirk(text: &str) -> Result<Quirk, String> {
    text.parse().map_err(|e: crate::scenario::UnknownQuirk| e.to_string())
}
