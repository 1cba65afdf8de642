//! Many scenarios at once: at most `jobs` running, outcomes reported as each finishes and returned in
//! the order given.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::cancel::CancelToken;
use super::event::{Event, EventSink};
use super::outcome::{ScenarioOutcome, ScenarioStatus};
use super::reproduce::execute;
use super::scenario::{INTERRUPTED, never_started};
use super::target::Target;
use super::{RunOptions, http};
use crate::scenario::Scenario;

/// What a scenario's task ended with.
enum Finished {
    Ran(ScenarioOutcome),
    /// Cancelled before it started: kept for the summary, not announced as finished.
    NotStarted(ScenarioOutcome),
}

/// Runs every scenario on `target`, emitting events to `sink`; outcomes come back in input order.
pub async fn run_scenarios(
    scenarios: Vec<Scenario>,
    target: Arc<Target>,
    options: RunOptions,
    sink: Arc<dyn EventSink>,
) -> Vec<ScenarioOutcome> {
    let client = match http::client(options.request_timeout) {
        Ok(client) => client,
        Err(e) => {
            let status = ScenarioStatus::Errored { message: e.to_string() };
            return scenarios.iter().map(|s| never_started(s, status.clone())).collect();
        }
    };
    let slots = Arc::new(Semaphore::new(options.jobs.max(1)));
    // Set once the infrastructure under the run is gone (the reference's Postgres): what has not
    // started does not start, so the run ends with one headline instead of an error per scenario.
    let halt = Halt::default();
    let mut tasks = JoinSet::new();
    let mut index_of = HashMap::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let scenario = scenario.clone();
        let (target, client, slots, sink, cancel, halt) = (
            Arc::clone(&target),
            client.clone(),
            Arc::clone(&slots),
            Arc::clone(&sink),
            options.cancel.clone(),
            halt.clone(),
        );
        let options = options.clone();
        let handle = tasks.spawn(async move {
            let interrupted = || {
                let status = ScenarioStatus::Skipped { reason: INTERRUPTED.to_string() };
                Finished::NotStarted(never_started(&scenario, status))
            };
            let permit = tokio::select! {
                permit = slots.acquire_owned() => permit,
                () = cancel.cancelled() => return interrupted(),
                () = halt.token.cancelled() => return Finished::NotStarted(halt.not_run(&scenario)),
            };
            if permit.is_err() || cancel.is_cancelled() {
                return interrupted();
            }
            if halt.token.is_cancelled() {
                return Finished::NotStarted(halt.not_run(&scenario));
            }
            Finished::Ran(execute(&scenario, &target, &options, &client, index, sink.as_ref()).await)
        });
        index_of.insert(handle.id(), index);
    }

    let mut outcomes: Vec<Option<ScenarioOutcome>> = vec![None; scenarios.len()];
    while let Some(joined) = tasks.join_next_with_id().await {
        let (index, finished) = match joined {
            Ok((id, finished)) => (index_of[&id], finished),
            Err(error) => {
                let index = index_of[&error.id()];
                // A panic in a scenario (a bug in gateproof, or in the reference proxy) must not take
                // the other scenarios or the cleanup down with it.
                let message = format!("the scenario run panicked: {}", panic_text(error));
                (index, Finished::Ran(never_started(&scenarios[index], ScenarioStatus::Errored { message })))
            }
        };
        let outcome = match finished {
            Finished::Ran(outcome) => {
                sink.emit(Event::ScenarioFinished { index, outcome: outcome.clone() });
                outcome
            }
            Finished::NotStarted(outcome) => outcome,
        };
        if matches!(outcome.status, ScenarioStatus::Errored { .. })
            && !halt.token.is_cancelled()
            && let Some(reason) = target.gone().await
        {
            sink.emit(Event::RunHalted { reason: reason.clone() });
            halt.set(reason);
        }
        outcomes[index] = Some(outcome);
    }
    outcomes.into_iter().flatten().collect()
}

/// The run stopped starting scenarios, and why.
#[derive(Clone, Default)]
struct Halt {
    token: CancelToken,
    reason: Arc<OnceLock<String>>,
}

impl Halt {
    fn set(&self, reason: String) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    fn not_run(&self, scenario: &Scenario) -> ScenarioOutcome {
        let reason = self.reason.get().map_or("the run stopped", String::as_str);
        never_started(scenario, ScenarioStatus::Errored { message: format!("not run: {reason}") })
    }
}

fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}
