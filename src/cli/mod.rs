//! Command-line edge: parses arguments, runs the command, maps errors to exit codes.
//!
//! One concept per file: `args` (the command line as data), `exit` (the exit-code table and the
//! verdict), `run` (the `run` command: invocation, Postgres lifetime, the run, leftovers, baseline,
//! reports), `list` (`list` and `quirks`), `serve`, `stop` (SIGINT and SIGTERM).

mod args;
mod exit;
mod list;
mod merge;
mod run;
mod serve;
mod stop;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use exit::{Exit, Verdict, exit, exit_code, markdown_table};

use crate::postgres::PostgresError;
use crate::reference::StartError;
use crate::report::BrokenFile;
use crate::report::baseline::BaselineError;
use crate::report::merge::MergeError;
use crate::scenario::{self, Scenario};
use args::{Cli, Command};
use stop::StopSignal;

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
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("target unreachable: {url} does not answer ({reason})")]
    #[diagnostic(help("check the URL and that the proxy is up: nothing ran, and nothing was created"))]
    TargetUnreachable { url: String, reason: String },
    #[error("failed to start the async runtime")]
    Runtime(#[source] io::Error),
    #[error("failed to finish the run: {0}")]
    Internal(String),
    #[error("stopped by a signal ({0:?})")]
    Interrupted(StopSignal),
}

pub fn main() -> ExitCode {
    // jemalloc returns freed pages on a timer only with its background thread; without it an idle
    // `serve` would keep them until its next allocation. Failing to start it costs memory, not
    // correctness.
    let _ = tikv_jemalloc_ctl::background_thread::write(true);
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
        // sqlx warns of every statement over a second; on a loaded machine that is `CREATE DATABASE`,
        // which says nothing about the verdicts, so it stays out of a run's output unless asked for.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx::query=error"));
    let colour = use_colour(io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).with_ansi(colour).try_init();
}

/// Colour codes only on a terminal, and not there either when `NO_COLOR` is set to anything non-empty:
/// a log written to a file or a pipe (a CI job's) must read as plain text.
fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

fn execute(cli: Cli) -> Result<Verdict, CliError> {
    match cli.command {
        Command::Schema(args) => {
            let schema =
                if args.fragment { scenario::schema::fragment_json_schema() } else { scenario::schema::json_schema() };
            println!("{schema}");
            Ok(Verdict::default())
        }
        Command::Quirks => {
            let mut out = io::stdout().lock();
            // A closed stdout (`| head`) is not an error of this command.
            let _ = out.write_all(list::quirks_table().as_bytes());
            Ok(Verdict::default())
        }
        Command::List(args) => list::list(&args),
        Command::Merge(args) => merge::merge(&args),
        Command::Run(args) => runtime()?.block_on(run::run(*args)),
        Command::Serve(args) => runtime()?.block_on(serve::serve(args)),
        Command::Explore(args) => runtime()?.block_on(crate::explore::cli::run(*args)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(CliError::Runtime)
}

/// Every scenario under `paths`, and the files that could not be loaded (each reported on stderr, as
/// is every dangling symlink passed over).
pub(super) fn load_scenarios(paths: &[PathBuf]) -> Result<(Vec<Scenario>, Vec<BrokenFile>), CliError> {
    let loaded = scenario::load_all(paths).map_err(CliError::Discover)?;
    for skipped in &loaded.skipped {
        eprintln!("warning: {}: a dangling symlink, passed over (not a scenario file name)", skipped.display());
    }
    let broken = loaded
        .broken
        .into_iter()
        .map(|error| {
            let file = BrokenFile::of(&error);
            eprintln!("{:?}", miette::Report::new(error));
            file
        })
        .collect();
    Ok((loaded.scenarios, broken))
}

#[cfg(test)]
mod tests;
