//! Command-line edge: parses arguments, runs the command, maps errors to exit codes.
//!
//! Exit codes (one function, [`exit_code`], decides them): 0 all passed (skips are fine), 1 some
//! scenario failed, 2 bad invocation or a broken scenario file, 3 infrastructure trouble (Postgres or
//! the target unreachable, any errored scenario), 130 interrupted. When several apply, 3 beats 2 beats 1.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::mocks::MockHost;
use crate::postgres::{PgServer, PostgresChoice, PostgresError, PostgresOptions};
use crate::reference::{self, ProxyConfig, Quirk, Quirks, StartError};
use crate::report::human::HumanReporter;
use crate::report::json::JsonReport;
use crate::report::{RunInfo, Summary, UNKNOWN_VERSION, junit};
use crate::runner::{self, CancelToken, Leftover, RunOptions, ScenarioOutcome, TagFilter, Target, generate_master_key};
use crate::scenario::{self, Scenario};

#[derive(Debug, Parser)]
#[command(
    name = "gateproof",
    version,
    about = "Runs YAML scenarios against an LLM gateway speaking LiteLLM's HTTP API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios against the reference proxy or a proxy by URL.
    Run(Box<RunArgs>),
    /// List scenarios: id, tags, title, file.
    List(ListArgs),
    /// Serve the reference proxy on 127.0.0.1 until Ctrl-C.
    Serve(ServeArgs),
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// List the reference proxy's quirks: name, upstream issue, description.
    Quirks,
    /// Send the same random operation sequences to two targets; shrink and write where they diverge.
    Explore(Box<crate::explore::cli::ExploreArgs>),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenario files, or directories to search for *.yaml / *.yml.
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
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
    target: Vec<TargetArg>,
    /// Master key of a URL target (required for one).
    #[arg(long, env = "GATEPROOF_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// Leave what scenarios create on a URL target in place (no teardown, no leftover check).
    #[arg(long)]
    keep: bool,
    /// Address the scenarios' mock upstreams listen on (default 127.0.0.1); use 0.0.0.0 when the
    /// target runs in a container or on another host.
    #[arg(long, env = "GATEPROOF_MOCK_HOST", value_name = "ADDR")]
    mock_host: Option<std::net::IpAddr>,
    /// Host name or address the target uses to reach the mocks, written into `{{mocks.NAME.url}}`
    /// (default: the --mock-host address, or 127.0.0.1 when that is unspecified).
    #[arg(long, env = "GATEPROOF_MOCK_URL_HOST", value_name = "HOST")]
    mock_url_host: Option<String>,
    /// Longest wait for one response (humantime, e.g. `30s`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    request_timeout: std::time::Duration,
    /// Longest run of one scenario (humantime, e.g. `5m`).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    scenario_timeout: std::time::Duration,
    #[command(flatten)]
    filter: FilterArgs,
    /// Scenarios run at once (default: the number of CPUs).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the JSON report (format_version 1) here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Switch this upstream bug on in the reference proxy for every scenario (repeatable; see
    /// `gateproof quirks`).
    #[arg(long = "quirk", value_name = "QUIRK", value_parser = parse_quirk, conflicts_with = "reproduce")]
    quirks: Vec<Quirk>,
    /// Also run every scenario that declares `reproduces:` with its quirk on, and check that it fails
    /// exactly as declared.
    #[arg(long)]
    reproduce: bool,
    #[command(flatten)]
    postgres: PostgresArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Scenario files, or directories to search for *.yaml / *.yml.
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    filter: FilterArgs,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 4000)]
    port: u16,
    /// Master key (default: a new random `sk-gp-…`).
    #[arg(long, env = "GATEPROOF_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// Switch this upstream bug on (repeatable; see `gateproof quirks`).
    #[arg(long = "quirk", value_name = "QUIRK", value_parser = parse_quirk)]
    quirks: Vec<Quirk>,
    #[command(flatten)]
    postgres: PostgresArgs,
}

#[derive(Debug, Args)]
struct FilterArgs {
    /// Run only scenarios with any of these tags.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Leave out scenarios with any of these tags.
    #[arg(long = "skip-tag", value_name = "TAG")]
    skip_tags: Vec<String>,
}

impl FilterArgs {
    fn to_filter(&self) -> TagFilter {
        TagFilter { tags: self.tags.clone(), skip_tags: self.skip_tags.clone() }
    }
}

#[derive(Debug, Args)]
struct PostgresArgs {
    /// Where Postgres comes from: auto, docker, local or a postgres:// URL.
    #[arg(long, env = "GATEPROOF_POSTGRES", default_value = "auto", value_parser = parse_postgres)]
    postgres: PostgresChoice,
    /// Image for the container rung, NAME:TAG (default: the official postgres:17).
    #[arg(long, env = "GATEPROOF_POSTGRES_IMAGE", value_name = "NAME:TAG")]
    postgres_image: Option<String>,
}

impl PostgresArgs {
    fn options(&self) -> PostgresOptions {
        PostgresOptions { choice: self.postgres.clone(), image: self.postgres_image.clone() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum TargetArg {
    Reference,
    Url(String),
}

fn parse_target(text: &str) -> Result<TargetArg, String> {
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

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("expected a duration above zero".into()),
        Err(e) => Err(format!("expected a duration such as `30s`: {e}")),
    }
}

/// Where mocks listen and the host their URLs name.
fn mock_host(bind: Option<std::net::IpAddr>, url_host: Option<String>) -> MockHost {
    let bind = bind.unwrap_or(MockHost::default().bind);
    let advertise = url_host
        .unwrap_or_else(|| if bind.is_unspecified() { MockHost::default().advertise } else { bind.to_string() });
    MockHost { bind, advertise }
}

/// `reference` alone, or one or more URLs.
fn target_urls(targets: &[TargetArg]) -> Result<Option<Vec<String>>, CliError> {
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

fn parse_postgres(text: &str) -> Result<PostgresChoice, String> {
    text.parse()
}

fn parse_quirk(text: &str) -> Result<Quirk, String> {
    text.parse().map_err(|e: crate::scenario::UnknownQuirk| e.to_string())
}

/// Why a command could not do its job. Rendered by miette here, and only here.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CliError {
    /// Bad arguments (clap prints these itself).
    #[error("{0}")]
    Clap(#[from] clap::Error),
    #[error("{0}")]
    Usage(String),
    #[error("failed to find scenario files")]
    Discover(#[source] io::Error),
    #[error("failed to write {}", path.display())]
    WriteReport {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Postgres(#[from] PostgresError),
    #[error(transparent)]
    Proxy(#[from] StartError),
    #[error("failed to start the async runtime")]
    Runtime(#[source] io::Error),
    #[error("failed to finish the run: {0}")]
    Internal(String),
    #[error("interrupted")]
    Interrupted,
}

/// What a finished command found, as far as the exit code cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub failed: usize,
    pub errored: usize,
    /// Scenario files that could not be loaded.
    pub broken_files: usize,
    pub interrupted: bool,
    /// Objects a run on an external target created that are still there.
    pub leftovers: usize,
    /// Objects whose existence could not be checked: the target stopped answering.
    pub unchecked_leftovers: usize,
}

/// The exit code of a command's result: the only place exit codes are decided.
pub fn exit_code(result: &Result<Verdict, CliError>) -> u8 {
    match result {
        Err(CliError::Clap(e)) => {
            // `--help` and `--version` are "errors" to clap, printed on stdout.
            if e.use_stderr() { 2 } else { 0 }
        }
        Err(CliError::Interrupted) => 130,
        Err(CliError::Usage(_) | CliError::Discover(_) | CliError::WriteReport { .. }) => 2,
        Err(CliError::Postgres(_) | CliError::Proxy(_) | CliError::Runtime(_) | CliError::Internal(_)) => 3,
        Ok(verdict) if verdict.interrupted => 130,
        Ok(verdict) if verdict.errored > 0 || verdict.unchecked_leftovers > 0 => 3,
        Ok(verdict) if verdict.broken_files > 0 => 2,
        Ok(verdict) if verdict.failed > 0 || verdict.leftovers > 0 => 1,
        Ok(_) => 0,
    }
}

pub fn main() -> ExitCode {
    init_tracing();
    let result = Cli::try_parse().map_err(CliError::from).and_then(execute);
    let code = exit_code(&result);
    match result {
        Ok(_) => {}
        Err(CliError::Clap(e)) => {
            let _ = e.print();
        }
        Err(other) => eprintln!("{:?}", miette::Report::new(other)),
    }
    ExitCode::from(code)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).try_init();
}

fn execute(cli: Cli) -> Result<Verdict, CliError> {
    match cli.command {
        Command::Schema => {
            println!("{}", scenario::schema::json_schema());
            Ok(Verdict::default())
        }
        Command::Quirks => {
            let mut out = io::stdout().lock();
            // A closed stdout (`| head`) is not an error of this command.
            let _ = out.write_all(quirks_table().as_bytes());
            Ok(Verdict::default())
        }
        Command::List(args) => list(&args),
        Command::Run(args) => runtime()?.block_on(run(*args)),
        Command::Serve(args) => runtime()?.block_on(serve(args)),
        Command::Explore(args) => runtime()?.block_on(crate::explore::cli::run(*args)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(CliError::Runtime)
}

/// Every scenario under `paths`, and how many files could not be loaded (each reported on stderr).
fn load_scenarios(paths: &[PathBuf]) -> Result<(Vec<Scenario>, usize), CliError> {
    let files = scenario::discover(paths).map_err(CliError::Discover)?;
    let mut scenarios = Vec::with_capacity(files.len());
    let mut broken = 0;
    for file in files {
        match scenario::load_file(&file) {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => {
                broken += 1;
                eprintln!("{:?}", miette::Report::new(error));
            }
        }
    }
    Ok((scenarios, broken))
}

/// One line per quirk: name, upstream issue and description, in aligned columns.
fn quirks_table() -> String {
    let name_width = Quirk::ALL.iter().map(|q| q.name().len()).max().unwrap_or(0);
    let upstream_width = Quirk::ALL.iter().map(|q| q.upstream().len()).max().unwrap_or(0);
    Quirk::ALL
        .iter()
        .map(|q| format!("{:<name_width$}  {:<upstream_width$}  {}\n", q.name(), q.upstream(), q.description()))
        .collect()
}

fn list(args: &ListArgs) -> Result<Verdict, CliError> {
    let (scenarios, broken_files) = load_scenarios(&args.paths)?;
    let filter = args.filter.to_filter();
    let selected: Vec<&Scenario> = scenarios.iter().filter(|s| filter.selects(&s.tags)).collect();
    let rows: Vec<[String; 4]> = selected
        .iter()
        .map(|s| [s.id.clone(), format!("[{}]", s.tags.join(", ")), s.title.clone(), s.source.display().to_string()])
        .collect();
    let width = |column: usize| rows.iter().map(|r| r[column].chars().count()).max().unwrap_or(0);
    let (id_width, tags_width, title_width) = (width(0), width(1), width(2));
    let mut out = io::stdout().lock();
    for [id, tags, title, file] in rows {
        let _ = writeln!(out, "{id:<id_width$}  {tags:<tags_width$}  {title:<title_width$}  {file}");
    }
    Ok(Verdict { broken_files, ..Verdict::default() })
}

async fn run(args: RunArgs) -> Result<Verdict, CliError> {
    // Check the invocation before touching any file or server.
    let urls = target_urls(&args.target)?;
    let master_key = match (&urls, &args.master_key) {
        (Some(_), None) => {
            return Err(CliError::Usage(
                "a URL target needs its master key: pass --master-key or set GATEPROOF_MASTER_KEY".into(),
            ));
        }
        (_, key) => key.clone(),
    };
    let quirks: Quirks = args.quirks.iter().copied().collect();
    if urls.is_some() && !quirks.is_empty() {
        return Err(CliError::Usage(
            "--quirk switches bugs on in the reference proxy only: drop it or use --target reference".into(),
        ));
    }
    let (scenarios, broken_files) = load_scenarios(&args.paths)?;
    let filter = args.filter.to_filter();
    let selected: Vec<Scenario> = scenarios.into_iter().filter(|s| filter.selects(&s.tags)).collect();

    let cancel = CancelToken::new();
    tokio::spawn(watch_ctrl_c(cancel.clone()));

    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let target_name = urls.as_ref().map_or_else(|| "reference".to_string(), |urls| urls.join(", "));
    let mut options = RunOptions {
        cancel: cancel.clone(),
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

    let mut report = Finished { version: UNKNOWN_VERSION.to_string(), ..Finished::default() };
    if selected.is_empty() {
        println!("{}", crate::report::human::summary_line(&Summary::default()));
    } else {
        match urls {
            Some(urls) => {
                let target = Target::external_replicas(urls, master_key.unwrap_or_default());
                report = run_with_reporter(selected, target, options).await?;
            }
            None => {
                let pg_options = args.postgres.options();
                let pg = tokio::select! {
                    pg = PgServer::start(&pg_options) => Arc::new(pg?),
                    () = cancel.cancelled() => return Err(CliError::Interrupted),
                };
                let finished = run_with_reporter(selected, Target::reference(Arc::clone(&pg)), options).await;
                // Every scenario task has ended, so this is the last handle on the server.
                match Arc::try_unwrap(pg) {
                    Ok(pg) => pg.shutdown().await,
                    Err(_) => tracing::warn!("failed to stop Postgres: it is still in use"),
                }
                report = finished?;
            }
        }
    }
    let Finished { outcomes, version, leftovers } = report;

    let run = RunInfo {
        target: target_name,
        target_version: version,
        started_at,
        duration: clock.elapsed(),
        leftovers: leftovers.clone(),
    };
    if let Some(path) = &args.junit {
        let xml = junit::to_xml(&outcomes, &run).map_err(|e| CliError::Internal(e.to_string()))?;
        write_report(path, &xml)?;
    }
    if let Some(path) = &args.json {
        write_report(path, &JsonReport::new(&outcomes, &run).to_json())?;
    }
    let summary = Summary::of(&outcomes);
    let leftovers = leftovers.unwrap_or_default();
    Ok(Verdict {
        failed: summary.failed,
        errored: summary.errored,
        broken_files,
        interrupted: cancel.is_cancelled(),
        leftovers: leftovers.iter().filter(|l| !l.unreachable).count(),
        unchecked_leftovers: leftovers.iter().filter(|l| l.unreachable).count(),
    })
}

/// What a run produced beyond the outcomes.
#[derive(Default)]
struct Finished {
    outcomes: Vec<ScenarioOutcome>,
    version: String,
    /// `None` when no leftover check ran.
    leftovers: Option<Vec<Leftover>>,
}

/// Runs the scenarios, printing the target, each outcome as it finishes, what was left behind on an
/// external target, and the summary at the end.
async fn run_with_reporter(
    scenarios: Vec<Scenario>,
    target: Target,
    options: RunOptions,
) -> Result<Finished, CliError> {
    let version = runner::target_version(&target, &options).await;
    println!("{}", crate::report::human::running_line(scenarios.len(), &target.describe(), version.as_deref()));
    let version = version.unwrap_or_else(|| UNKNOWN_VERSION.to_string());
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let mut reporter = HumanReporter::new(io::stdout(), scenarios.len());
    let target = Arc::new(target);
    let run = tokio::spawn(runner::run_scenarios(scenarios, Arc::clone(&target), options.clone(), Arc::new(sender)));
    while let Some(event) = receiver.recv().await {
        // A closed stdout (`| head`) must not stop the run or its cleanup.
        let _ = reporter.event(&event);
    }
    let outcomes = run.await.map_err(|e| CliError::Internal(e.to_string()))?;
    let leftovers = if target.is_reference() || options.keep {
        None
    } else {
        Some(runner::check_leftovers(&target, &outcomes, &options).await)
    };
    let _ = reporter.finish_with_leftovers(&outcomes, leftovers.as_deref());
    Ok(Finished { outcomes, version, leftovers })
}

fn write_report(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::WriteReport { path: path.to_path_buf(), source })
}

/// The first Ctrl-C stops the run and lets it clean up; a second one exits at once.
async fn watch_ctrl_c(cancel: CancelToken) {
    loop {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        if cancel.is_cancelled() {
            eprintln!("interrupted again: exiting without cleaning up");
            std::process::exit(130);
        }
        eprintln!("interrupted: stopping and cleaning up (Ctrl-C again to exit at once)");
        cancel.cancel();
    }
}

async fn serve(args: ServeArgs) -> Result<Verdict, CliError> {
    let quirks: Quirks = args.quirks.iter().copied().collect();
    let master_key = args.master_key.clone().unwrap_or_else(generate_master_key);
    let pg = PgServer::start(&args.postgres.options()).await?;
    let served = serve_on(&pg, &args, master_key, quirks).await;
    pg.shutdown().await;
    served
}

async fn serve_on(pg: &PgServer, args: &ServeArgs, master_key: String, quirks: Quirks) -> Result<Verdict, CliError> {
    let db = pg.scenario_database(&reference::MIGRATOR).await?;
    let config = ProxyConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.port)),
        quirks,
        ..ProxyConfig::new(master_key.clone(), db.url.clone())
    };
    let proxy = match reference::start(config).await {
        Ok(proxy) => proxy,
        Err(e) => {
            let _ = pg.drop_database(&db).await;
            return Err(e.into());
        }
    };
    println!("base_url: {}", proxy.base_url);
    println!("master_key: {master_key}");
    println!("quirks: {quirks}");
    println!("Serving until Ctrl-C.");
    let _ = io::stdout().flush();
    // An error here means signals cannot be watched; stopping at once is the only safe answer.
    let _ = tokio::signal::ctrl_c().await;
    proxy.shutdown().await;
    if let Err(e) = pg.drop_database(&db).await {
        tracing::warn!("failed to drop the database: {e}");
    }
    Ok(Verdict::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("gateproof").chain(args.iter().copied()))
    }

    #[test]
    fn exit_codes_follow_the_documented_precedence() {
        let verdict = |failed, errored, broken_files| Verdict { failed, errored, broken_files, ..Verdict::default() };
        let cases: Vec<(Result<Verdict, CliError>, u8)> = vec![
            (Ok(verdict(0, 0, 0)), 0),
            (Ok(verdict(2, 0, 0)), 1),
            (Ok(verdict(0, 0, 1)), 2),
            (Ok(verdict(3, 0, 1)), 2),
            (Ok(verdict(0, 1, 0)), 3),
            (Ok(verdict(1, 1, 1)), 3),
            (Ok(Verdict { interrupted: true, ..verdict(1, 1, 1) }), 130),
            (Ok(Verdict { leftovers: 2, ..verdict(0, 0, 0) }), 1),
            (Ok(Verdict { leftovers: 2, ..verdict(0, 0, 1) }), 2),
            (Ok(Verdict { unchecked_leftovers: 1, ..verdict(1, 0, 0) }), 3),
            (Err(CliError::Usage("x".into())), 2),
            (Err(CliError::Discover(io::Error::other("x"))), 2),
            (Err(CliError::Postgres(PostgresError::NoneAvailable)), 3),
            (Err(CliError::Proxy(StartError("x".into()))), 3),
            (Err(CliError::Interrupted), 130),
            (parse(&["run", "--bogus"]).map(|_| Verdict::default()).map_err(CliError::from), 2),
            (parse(&["--help"]).map(|_| Verdict::default()).map_err(CliError::from), 0),
        ];
        for (result, code) in cases {
            assert_eq!(exit_code(&result), code, "{result:?}");
        }
    }

    #[test]
    fn run_defaults_to_the_reference_target_and_the_scenarios_directory() {
        let Command::Run(args) = parse(&["run"]).expect("valid").command else { panic!("not run") };
        assert_eq!(args.paths, [PathBuf::from("scenarios")]);
        assert_eq!(args.target, [TargetArg::Reference]);
        assert_eq!(args.postgres.postgres, PostgresChoice::Auto);
        assert_eq!(args.jobs, None);
        assert!(args.quirks.is_empty());
        assert!(!args.reproduce);
    }

    #[test]
    fn quirks_and_reproduce_parse_and_exclude_each_other() {
        let Command::Run(args) =
            parse(&["run", "--quirk", "stale_team_cache", "--quirk", "org_admin_gate_needs_org_id_in_body"])
                .expect("valid")
                .command
        else {
            panic!("not run")
        };
        assert_eq!(args.quirks, [Quirk::StaleTeamCache, Quirk::OrgAdminGateNeedsOrgIdInBody]);
        let Command::Run(args) = parse(&["run", "--reproduce"]).expect("valid").command else { panic!("not run") };
        assert!(args.reproduce);
        let err = parse(&["run", "--reproduce", "--quirk", "stale_team_cache"]).expect_err("conflict");
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let err = parse(&["run", "--quirk", "stale_cache"]).expect_err("unknown");
        assert!(err.to_string().contains("unknown quirk `stale_cache`: expected one of stale_team_cache"), "{err}");
    }

    #[test]
    fn run_arguments_parse_into_their_types() {
        let cli = parse(&[
            "run",
            "a.yaml",
            "dir",
            "--target",
            "http://127.0.0.1:4000/",
            "--master-key",
            "sk-1",
            "--tag",
            "x",
            "--tag",
            "y",
            "--skip-tag",
            "slow",
            "--jobs",
            "3",
            "--postgres",
            "postgres://u@h/db",
        ])
        .expect("valid");
        let Command::Run(args) = cli.command else { panic!("not run") };
        assert_eq!(args.paths, [PathBuf::from("a.yaml"), PathBuf::from("dir")]);
        assert_eq!(args.target, [TargetArg::Url("http://127.0.0.1:4000".into())]);
        assert_eq!(
            args.filter.to_filter(),
            TagFilter { tags: vec!["x".into(), "y".into()], skip_tags: vec!["slow".into()] }
        );
        assert_eq!(args.jobs, Some(3));
        assert_eq!(args.postgres.postgres, PostgresChoice::Url("postgres://u@h/db".into()));
    }

    #[test]
    fn several_targets_are_replicas_and_reference_stays_alone() {
        let cli =
            parse(&["run", "--target", "http://a:1,http://b:2", "--target", "http://c:3", "--keep"]).expect("valid");
        let Command::Run(args) = cli.command else { panic!("not run") };
        assert!(args.keep);
        let urls = target_urls(&args.target).expect("urls");
        assert_eq!(urls, Some(vec!["http://a:1".to_string(), "http://b:2".into(), "http://c:3".into()]));
        assert_eq!(target_urls(&[TargetArg::Reference]).expect("reference"), None);
        let mixed = target_urls(&[TargetArg::Reference, TargetArg::Url("http://a:1".into())]);
        assert!(matches!(mixed, Err(CliError::Usage(_))));
    }

    #[test]
    fn mock_urls_name_the_bind_address_unless_told_otherwise() {
        let any: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        assert_eq!(mock_host(None, None), MockHost::default());
        assert_eq!(mock_host(Some(any), None).advertise, "127.0.0.1");
        assert_eq!(mock_host(Some(any), Some("host.containers.internal".into())).advertise, "host.containers.internal");
        assert_eq!(mock_host(Some("10.0.0.5".parse().unwrap()), None).advertise, "10.0.0.5");
        assert!(parse(&["run", "--request-timeout", "0s"]).is_err());
        assert!(parse(&["run", "--scenario-timeout", "2m"]).is_ok());
    }

    #[test]
    fn the_quirks_table_has_a_line_per_quirk_with_name_upstream_and_description() {
        let table = quirks_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), Quirk::ALL.len());
        for (line, quirk) in lines.iter().zip(Quirk::ALL) {
            assert!(line.starts_with(quirk.name()), "{line}");
            assert!(line.contains(quirk.upstream()), "{line}");
            assert!(line.ends_with(&quirk.description()), "{line}");
        }
        assert!(parse(&["quirks"]).is_ok());
    }

    #[test]
    fn bad_values_are_rejected_by_the_parser() {
        for args in [
            &["run", "--target", "localhost:4000"][..],
            &["run", "--target", "ftp://x"],
            &["run", "--jobs", "0"],
            &["run", "--postgres", "mysql"],
            &["serve", "--port", "70000"],
            &["frobnicate"],
        ] {
            let err = parse(args).expect_err("rejected");
            assert!(err.use_stderr(), "{args:?}");
        }
    }
}
