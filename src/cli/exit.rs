//! Exit codes: one table, the only place they are decided. The README quotes it (a test checks).

use super::CliError;
use super::stop::StopSignal;

/// What the process's exit code says. When several apply, the highest wins (a signal over all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Passed,
    Failed,
    Invocation,
    Infrastructure,
    Interrupted,
    Terminated,
}

impl Exit {
    /// Every exit code, in order.
    pub const ALL: [Exit; 6] =
        [Exit::Passed, Exit::Failed, Exit::Invocation, Exit::Infrastructure, Exit::Interrupted, Exit::Terminated];

    pub fn code(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::Invocation => 2,
            Exit::Infrastructure => 3,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
        }
    }

    /// What it means, as the README's table says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Passed => {
                "every scenario passed (skips included), or none failed that had not failed in the --baseline"
            }
            Exit::Failed => {
                "a scenario failed (with --baseline: one that did not fail there), or a run on a URL target left objects behind"
            }
            Exit::Invocation => {
                "bad invocation, nothing to run, a broken scenario file (the other files still run), an unreadable --baseline, or reports `merge` cannot join"
            }
            Exit::Infrastructure => {
                "infrastructure trouble: Postgres or the target unreachable, a scenario errored or over its timeout"
            }
            Exit::Interrupted => "interrupted (Ctrl-C); what was created is still torn down",
            Exit::Terminated => "terminated (SIGTERM), handled as Ctrl-C is: what was created is still torn down",
        }
    }
}

/// What a finished command found, as far as the exit code cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Failed scenarios that count: all of them, or with a baseline only the new failures.
    pub failed: usize,
    pub errored: usize,
    /// Scenario files that could not be loaded.
    pub broken_files: usize,
    /// `run` found nothing to run (no scenario file, or none the tag filter selects).
    pub nothing_ran: bool,
    /// The signal that stopped the command early.
    pub interrupted: Option<StopSignal>,
    /// Objects a run on an external target created that are still there.
    pub leftovers: usize,
    /// Objects whose existence could not be checked: the target stopped answering.
    pub unchecked_leftovers: usize,
}

/// The exit of a command's result.
pub fn exit(result: &Result<Verdict, CliError>) -> Exit {
    match result {
        Err(CliError::Clap(e)) => {
            // `--help` and `--version` are "errors" to clap, printed on stdout.
            if e.use_stderr() { Exit::Invocation } else { Exit::Passed }
        }
        Err(CliError::Interrupted(signal)) => signal.exit(),
        Err(
            CliError::Usage(_)
            | CliError::Discover(_)
            | CliError::WriteReport { .. }
            | CliError::Baseline(_)
            | CliError::Merge(_),
        ) => Exit::Invocation,
        Err(
            CliError::Postgres(_)
            | CliError::Proxy(_)
            | CliError::TargetUnreachable { .. }
            | CliError::Runtime(_)
            | CliError::Internal(_),
        ) => Exit::Infrastructure,
        Ok(Verdict { interrupted: Some(signal), .. }) => signal.exit(),
        Ok(verdict) if verdict.errored > 0 || verdict.unchecked_leftovers > 0 => Exit::Infrastructure,
        Ok(verdict) if verdict.broken_files > 0 || verdict.nothing_ran => Exit::Invocation,
        Ok(verdict) if verdict.failed > 0 || verdict.leftovers > 0 => Exit::Failed,
        Ok(_) => Exit::Passed,
    }
}

/// The exit code of a command's result.
pub fn exit_code(result: &Result<Verdict, CliError>) -> u8 {
    exit(result).code()
}

/// The table as the README writes it: `| code | meaning |` rows.
pub fn markdown_table() -> String {
    let mut table = String::from("| code | meaning |\n| --- | --- |\n");
    for exit in Exit::ALL {
        table.push_str(&format!("| `{}` | {} |\n", exit.code(), exit.meaning()));
    }
    table
}
