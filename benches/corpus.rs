//! The whole corpus five times over (about 200 scenarios) on the reference target, with the default
//! `--jobs`, as `gateproof run` would: Postgres start, then the scenarios. `cargo bench --bench corpus`
//! prints both figures; `GATEPROOF_BENCH_COPIES` changes the multiplier (1 gives the plain corpus) and
//! `GATEPROOF_BENCH_JOBS` the scenarios at once (the figures behind `default_jobs`).
//! One round only: the figure is a wall time of minutes' worth of work, not a micro-benchmark.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::runner::{NoEvents, RunOptions, ScenarioStatus, Target, run_scenarios};
use gateproof::scenario::load_all;

fn main() {
    let copies: usize = std::env::var("GATEPROOF_BENCH_COPIES").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let loaded = load_all(&[corpus]).expect("the corpus is readable");
    assert!(loaded.broken.is_empty(), "every corpus scenario loads: {:?}", loaded.broken);
    let scenarios = loaded.scenarios;
    let all: Vec<_> = (0..copies).flat_map(|_| scenarios.iter().cloned()).collect();
    let mut options = RunOptions::default();
    if let Some(jobs) = std::env::var("GATEPROOF_BENCH_JOBS").ok().and_then(|v| v.parse().ok()) {
        options.jobs = jobs;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let pg = PgServer::start(&PostgresOptions { choice: PostgresChoice::Auto, image: None })
            .await
            .expect("a Postgres server");
        let pg_started = started.elapsed();
        let pg = Arc::new(pg);
        let count = all.len();
        let outcomes =
            run_scenarios(all, Arc::new(Target::reference(Arc::clone(&pg))), options.clone(), Arc::new(NoEvents)).await;
        let total = started.elapsed();
        let passed = outcomes.iter().filter(|o| o.status == ScenarioStatus::Passed).count();
        if let Ok(pg) = Arc::try_unwrap(pg) {
            pg.shutdown().await;
        }
        println!(
            "corpus x{copies}: {count} scenarios, {passed} passed, --jobs {}: {:.2} s wall ({:.2} s Postgres start)",
            options.jobs,
            total.as_secs_f64(),
            pg_started.as_secs_f64()
        );
        assert_eq!(passed, count, "every scenario of the corpus passes on the reference");
    });
}
