//! One test per scenario file under `scenarios/`: each runs against the reference proxy, on one
//! Postgres server shared by the whole test binary (fragments, under `scenarios/fragments/`, run where
//! scenarios include them). A regression scenario (`reproduces:`) runs twice:
//! without its quirk it must pass, and with it it must fail exactly at the declared step with the
//! declared response, so a scenario that cannot catch its bug fails the build.
//!
//! `GATEPROOF_POSTGRES` chooses the server (`auto` by default), `GATEPROOF_POSTGRES_IMAGE` the image of
//! the container rung. Test names are the file paths, so a
//! single scenario runs with `cargo test --test scenarios -- <path>`.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::report::human::render_outcome;
use gateproof::runner::{ReproductionResult, RunOptions, ScenarioStatus, Target, run_scenario};

/// A failure shown as written (datatest-stable prints errors with `{:?}`, which would escape newlines).
struct Failure(String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

static POSTGRES: OnceLock<Result<Arc<PgServer>, String>> = OnceLock::new();

fn postgres() -> Result<Arc<PgServer>, Failure> {
    POSTGRES.get_or_init(start_postgres).clone().map_err(Failure)
}

/// Starts the server on a thread of its own, whose runtime lives as long as the test binary: each test
/// has its own runtime, and the server must outlive them all.
fn start_postgres() -> Result<Arc<PgServer>, String> {
    let choice = match std::env::var("GATEPROOF_POSTGRES") {
        Ok(text) => text.parse::<PostgresChoice>().map_err(|e| format!("GATEPROOF_POSTGRES: {e}"))?,
        Err(_) => PostgresChoice::Auto,
    };
    let image = std::env::var("GATEPROOF_POSTGRES_IMAGE").ok().filter(|i| !i.is_empty());
    let options = PostgresOptions { choice, image };
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("postgres".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = sender.send(Err(format!("failed to start a runtime for Postgres: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let started =
                    PgServer::start(&options).await.map(Arc::new).map_err(|e| format!("{:?}", miette::Report::new(e)));
                let _ = sender.send(started);
                std::future::pending::<()>().await;
            });
        })
        .map_err(|e| format!("failed to spawn the Postgres thread: {e}"))?;
    receiver.recv().map_err(|_| "the Postgres thread ended without an answer".to_string())?
}

fn run_file(path: &Path) -> datatest_stable::Result<()> {
    let scenario =
        gateproof::scenario::load_file(path).map_err(|e| Failure(format!("{:?}", miette::Report::new(e))))?;
    let pg = postgres()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let options = RunOptions { reproduce: true, ..RunOptions::default() };
    let outcome = runtime.block_on(async { run_scenario(&scenario, &Target::reference(pg), &options).await });
    let reproduced = match (&scenario.reproduces, &outcome.reproduction) {
        (None, _) => true,
        (Some(_), Some(verdict)) => verdict.result == ReproductionResult::Reproduced,
        (Some(_), None) => false,
    };
    if outcome.status == ScenarioStatus::Passed && reproduced {
        Ok(())
    } else {
        Err(Box::new(Failure(render_outcome(&outcome))))
    }
}

datatest_stable::harness! {
    { test = run_file, root = "scenarios", pattern = r"^(?!fragments/).*\.ya?ml$" },
}
