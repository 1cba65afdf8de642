//! One scenario: open the target, run the steps in order until one does not pass, close the target.

use std::time::Instant;

use serde_json::Value;

use super::RunOptions;
use super::cancel::CancelToken;
use super::event::{Event, EventSink};
use super::http::{Client, Endpoint};
use super::outcome::{Cleanup, Created, ScenarioOutcome, ScenarioStatus, StepOutcome, StepStatus};
use super::step;
use super::target::{Target, Unavailable, random_alphanumeric};
use super::{resources, teardown};
use crate::mocks::RunningMocks;
use crate::reference::Quirks;
use crate::scenario::{Scenario, Variables};

pub(crate) use super::cancel::INTERRUPTED;

/// Runs `scenario` on `target` (the reference proxy with `quirks` on), emitting `ScenarioStarted` and
/// `StepFinished` (not `ScenarioFinished`: the caller owns the final outcome). Also returns the
/// variables as they stood when the run stopped, so a reproduction can check `observed` with them.
pub(crate) async fn execute(
    scenario: &Scenario,
    target: &Target,
    quirks: Quirks,
    options: &RunOptions,
    client: &Client,
    index: usize,
    sink: &dyn EventSink,
) -> (ScenarioOutcome, Variables) {
    let started = Instant::now();
    let run_id = format!("r{}", random_alphanumeric(9));
    sink.emit(Event::ScenarioStarted { index, id: scenario.id.clone(), file: scenario.source.clone() });
    let mut progress = Progress {
        steps: Vec::with_capacity(scenario.steps.len()),
        vars: Variables::from([("run_id".to_string(), Value::String(run_id.clone()))]),
        created: Vec::new(),
        // The reference proxy's database goes away with the scenario; only a shared proxy needs teardown.
        track: !target.is_reference(),
        run_id: run_id.clone(),
    };
    let status = match target.open(scenario, quirks, client).await {
        Err(Unavailable::Skip(reason)) => ScenarioStatus::Skipped { reason },
        Err(Unavailable::Error(message)) => ScenarioStatus::Errored { message },
        Ok(session) => {
            let status = match RunningMocks::start(&scenario.mocks, &options.mock_host).await {
                Err(e) => ScenarioStatus::Errored { message: e.to_string() },
                Ok(mocks) => {
                    mocks.add_variables(&mut progress.vars);
                    let endpoints = &session.endpoints;
                    let run = run_steps(scenario, client, endpoints, &options.cancel, index, sink, &mut progress);
                    // Ctrl-C is seen between steps and during pauses (`run_steps`), never in the middle
                    // of a request, so what a request created is always known to teardown.
                    tokio::select! {
                        status = run => status,
                        () = tokio::time::sleep(options.scenario_timeout) => ScenarioStatus::Errored {
                            message: format!(
                                "the scenario did not finish within {}",
                                humantime::format_duration(options.scenario_timeout)
                            ),
                        },
                    }
                }
            };
            // Teardown runs whatever happened: failure, timeout or Ctrl-C (a second Ctrl-C exits at once).
            if options.keep {
                progress.created.iter_mut().for_each(|c| c.cleanup = Cleanup::Kept);
            } else if let Some(endpoint) = session.endpoints.first() {
                teardown::delete_all(&mut progress.created, client, endpoint).await;
            }
            session.close().await;
            status
        }
    };
    let Progress { mut steps, vars, created, .. } = progress;
    if !matches!(status, ScenarioStatus::Skipped { .. }) {
        for step in &scenario.steps[steps.len().min(scenario.steps.len())..] {
            steps.push(not_run(step));
        }
    }
    let outcome = ScenarioOutcome {
        id: scenario.id.clone(),
        title: scenario.title.clone(),
        file: scenario.source.clone(),
        tags: scenario.tags.clone(),
        run_id,
        status,
        steps,
        duration: started.elapsed(),
        reproduction: None,
        created,
    };
    (outcome, vars)
}

async fn run_steps(
    scenario: &Scenario,
    client: &Client,
    endpoints: &[Endpoint],
    cancel: &CancelToken,
    index: usize,
    sink: &dyn EventSink,
    progress: &mut Progress,
) -> ScenarioStatus {
    let mut turn = 0;
    for step in &scenario.steps {
        let endpoint = match step.on {
            // The loader keeps `on` below the replica count, and the target opens that many.
            Some(on) => &endpoints[on.min(endpoints.len() - 1)],
            None if step.request.is_some() => {
                turn += 1;
                &endpoints[(turn - 1) % endpoints.len()]
            }
            None => &endpoints[0],
        };
        if cancel.is_cancelled() {
            return ScenarioStatus::Errored { message: INTERRUPTED.to_string() };
        }
        let Some(outcome) = step::run(step, client, endpoint, &mut progress.vars, cancel).await else {
            return ScenarioStatus::Errored { message: INTERRUPTED.to_string() };
        };
        let status = match &outcome.status {
            StepStatus::Passed | StepStatus::NotRun => None,
            StepStatus::Failed { .. } => Some(ScenarioStatus::Failed),
            StepStatus::Errored { message } => {
                Some(ScenarioStatus::Errored { message: format!("step `{}`: {message}", step.id) })
            }
        };
        sink.emit(Event::StepFinished { index, scenario_id: scenario.id.clone(), step: outcome.clone() });
        progress.record(outcome);
        if let Some(status) = status {
            return status;
        }
    }
    ScenarioStatus::Passed
}

/// What a scenario has done so far; kept outside the step loop so a cancelled or timed-out run still
/// knows what it created.
struct Progress {
    steps: Vec<StepOutcome>,
    /// `run_id`, mock URLs and every capture so far.
    vars: Variables,
    created: Vec<Created>,
    track: bool,
    run_id: String,
}

impl Progress {
    fn record(&mut self, step: StepOutcome) {
        if self.track
            && let (Some(request), Some(response)) = (&step.request, &step.response)
        {
            for resource in resources::created_by(request, response, &self.run_id) {
                if !self.created.iter().any(|c| c.resource == resource) {
                    self.created.push(Created {
                        resource,
                        step: step.id.clone(),
                        cleanup: Cleanup::Pending,
                        deleted_at: None,
                    });
                }
            }
        }
        self.steps.push(step);
    }
}

fn not_run(step: &crate::scenario::Step) -> StepOutcome {
    StepOutcome {
        id: step.id.clone(),
        location: step.location,
        status: StepStatus::NotRun,
        request: None,
        response: None,
        assertions: Vec::new(),
        duration: Default::default(),
        attempts: 0,
        origin: step.origin.clone(),
    }
}

/// The outcome of a scenario that never started (the run was interrupted first).
pub(crate) fn never_started(scenario: &Scenario, status: ScenarioStatus) -> ScenarioOutcome {
    ScenarioOutcome {
        id: scenario.id.clone(),
        title: scenario.title.clone(),
        file: scenario.source.clone(),
        tags: scenario.tags.clone(),
        run_id: String::new(),
        status,
        steps: Vec::new(),
        duration: Default::default(),
        reproduction: None,
        created: Vec::new(),
    }
}
