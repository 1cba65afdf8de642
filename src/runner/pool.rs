//! Many scenarios at once: at most `jobs` running, outcomes reported as each finishes and returned in
//! the order given. They start longest declared wait first (`start_order`): a run takes at least as
//! long as its slowest scenario, so that one must not be the last to start.

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
    // Tasks queue on the semaphore in about the order they are spawned (it is fair); the order is a
    // matter of speed only, as every scenario runs on its own database and proxy.
    for index in start_order(&scenarios) {
        let scenario = scenarios[index].clone();
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

/// The order to start `scenarios` in: the longest declared wait (`Scenario::declared_wait`) first,
/// then the most steps (a role table's cells take time too), then as given.
fn start_order(scenarios: &[Scenario]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by_key(|&i| {
        let s = &scenarios[i];
        (std::cmp::Reverse(s.declared_wait()), std::cmp::Reverse(s.steps.len()))
    });
    order
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::start_order;
    use crate::scenario::load_file;

    fn corpus(file: &str) -> crate::scenario::Scenario {
        load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file)).expect("a corpus file loads")
    }

    #[test]
    fn the_longest_declared_wait_starts_first_then_the_most_steps() {
        let scenarios = vec![
            corpus("conformance/user-lifecycle.yaml"),
            corpus("conformance/role-route-matrix.yaml"),
            corpus("regressions/key-update-during-in-flight-calls.yaml"),
            corpus("regressions/mcp-upstream-slow.yaml"),
        ];
        // The slow upstream waits 60 s by its mock; the in-flight calls 3 s and a 1 s sleep; the role
        // table waits for nothing but has far more steps than the user lifecycle.
        assert!(scenarios[3].declared_wait() > scenarios[2].declared_wait());
        assert_eq!(scenarios[2].declared_wait(), std::time::Duration::from_secs(4));
        assert!(scenarios[1].steps.len() > scenarios[0].steps.len());
        assert_eq!(start_order(&scenarios), vec![3, 2, 1, 0]);
    }
}
