//! Traffic in flight: the regression whose bug only shows while a call is in flight across a change
//! gives the same verdict run after run on the reference proxy, and its steps run one after another
//! cannot show the bug at all.

use std::path::Path;
use std::sync::Arc;

use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::{Quirk, Quirks};
use gateproof::runner::{ReproductionResult, RunOptions, ScenarioStatus, Target, run_scenario};
use gateproof::scenario::Scenario;

const REGRESSION: &str = "scenarios/regressions/key-update-during-in-flight-calls.yaml";

/// How many times the regression runs in a row.
const RUNS: usize = 5;

fn regression() -> Scenario {
    gateproof::scenario::load_file(Path::new(REGRESSION)).expect("the regression loads")
}

async fn postgres() -> Arc<PgServer> {
    let options = PostgresOptions { choice: PostgresChoice::Auto, image: None };
    Arc::new(PgServer::start(&options).await.expect("a Postgres server starts"))
}

/// The bug needs a call in flight across `/key/update`: the scenario's own timing (a 3 s upstream, the
/// update 1 s in) decides the order of events, not the scheduler, so every run passes without the
/// quirk and fails at the declared step with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_regression_gives_the_same_verdict_every_run() {
    let scenario = regression();
    assert!(scenario.steps.iter().any(|s| s.background), "the regression keeps calls in flight");
    let target = Target::reference(postgres().await);
    let options = RunOptions { reproduce: true, ..RunOptions::default() };
    let mut verdicts = Vec::new();
    for _ in 0..RUNS {
        let outcome = run_scenario(&scenario, &target, &options).await;
        let reproduction = outcome.reproduction.as_ref().map(|r| r.result.clone());
        verdicts.push((outcome.status.clone(), reproduction));
    }
    let expected = (ScenarioStatus::Passed, Some(ReproductionResult::Reproduced));
    assert!(verdicts.iter().all(|v| *v == expected), "{verdicts:#?}");
}

/// The same steps, each waiting for the one before: with the quirk on, every call has finished before
/// the update, so nothing writes the old key back and the scenario passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_steps_run_one_after_another_cannot_show_the_bug() {
    let mut scenario = regression();
    for step in &mut scenario.steps {
        step.background = false;
        step.awaits.clear();
    }
    let quirks = Quirks::NONE.with(Quirk::InFlightKeyWriteBack);
    let options = RunOptions { quirks, ..RunOptions::default() };
    let outcome = run_scenario(&scenario, &Target::reference(postgres().await), &options).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{:#?}", outcome.failed_step());
}
