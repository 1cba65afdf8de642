//! One scenario: open the target, run the steps in order until one does not pass, close the target.

use std::time::Instant;

use serde_json::Value;
use tokio::task::JoinHandle;

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
    kit: Kit<'_>,
    index: usize,
    sink: &dyn EventSink,
) -> (ScenarioOutcome, Variables) {
    let client = kit.client;
    let started = Instant::now();
    let run_id = format!("r{}", random_alphanumeric(9));
    sink.emit(Event::ScenarioStarted { index, id: scenario.id.clone(), file: scenario.source.clone() });
    let mut progress = Progress {
        steps: vec![None; scenario.steps.len()],
        pending: Vec::new(),
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
            let mocks = match kit.mocks {
                Some(lent) => Ok(Mocks::Lent(lent)),
                None => RunningMocks::start(&scenario.mocks, &options.mock_host).await.map(Mocks::Own),
            };
            let status = match mocks {
                Err(e) => ScenarioStatus::Errored { message: e.to_string() },
                Ok(mocks) => {
                    mocks.add_variables(&mut progress.vars);
                    let endpoints = &session.endpoints;
                    // Background steps stop with the scenario, and with the run.
                    let stop = options.cancel.child();
                    let cancels = Cancels { run: &options.cancel, background: &stop };
                    let run = run_steps(scenario, client, endpoints, cancels, index, sink, &mut progress);
                    // Ctrl-C is seen between steps and during pauses (`run_steps`), never in the middle
                    // of a request, so what a request created is always known to teardown.
                    let status = tokio::select! {
                        status = run => status,
                        () = tokio::time::sleep(options.scenario_timeout) => ScenarioStatus::Errored {
                            message: format!(
                                "the scenario did not finish within {}",
                                humantime::format_duration(options.scenario_timeout)
                            ),
                        },
                    };
                    // Background requests still in flight are let finish (each is bounded by the request
                    // timeout), so teardown knows what they created; `stop` keeps them from sending
                    // anything new.
                    stop.cancel();
                    progress.abandon_pending().await;
                    drop(mocks);
                    status
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
    let Progress { steps: slots, vars, created, .. } = progress;
    let steps = if matches!(status, ScenarioStatus::Skipped { .. }) {
        Vec::new()
    } else {
        slots.into_iter().zip(&scenario.steps).map(|(slot, step)| slot.unwrap_or_else(|| not_run(step))).collect()
    };
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

/// What a scenario run uses besides the target: the HTTP client, and the scenario's mocks when the
/// caller keeps them running across scenarios (see `Rig`); without them the scenario starts its own.
#[derive(Clone, Copy)]
pub(crate) struct Kit<'a> {
    pub client: &'a Client,
    pub mocks: Option<&'a RunningMocks>,
}

/// The scenario's mocks: its own, stopped when it ends, or lent for its run.
enum Mocks<'a> {
    Own(RunningMocks),
    Lent(&'a RunningMocks),
}

impl std::ops::Deref for Mocks<'_> {
    type Target = RunningMocks;
    fn deref(&self) -> &RunningMocks {
        match self {
            Mocks::Own(mocks) => mocks,
            Mocks::Lent(mocks) => mocks,
        }
    }
}

/// The run's Ctrl-C, and the signal that stops this scenario's background steps (fired with it, or
/// when the scenario ends).
#[derive(Clone, Copy)]
struct Cancels<'c> {
    run: &'c CancelToken,
    background: &'c CancelToken,
}

async fn run_steps(
    scenario: &Scenario,
    client: &Client,
    endpoints: &[Endpoint],
    cancels: Cancels<'_>,
    index: usize,
    sink: &dyn EventSink,
    progress: &mut Progress,
) -> ScenarioStatus {
    let cancel = cancels.run;
    let mut turn = 0;
    for (position, step) in scenario.steps.iter().enumerate() {
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
        for awaited in &step.awaits {
            if let Some(status) = progress.finish_background(scenario, awaited, index, sink).await {
                return status;
            }
        }
        if step.background {
            progress.start_background(position, step, client, endpoint, cancels.background);
            continue;
        }
        let Some(outcome) = step::run(step, client, endpoint, &mut progress.vars, cancel).await else {
            return ScenarioStatus::Errored { message: INTERRUPTED.to_string() };
        };
        let status = verdict(step, &outcome.status);
        sink.emit(Event::StepFinished { index, scenario_id: scenario.id.clone(), step: outcome.clone() });
        progress.record(position, outcome);
        if let Some(status) = status {
            return status;
        }
    }
    // A background step no step awaited is awaited here, in file order, so its result is not lost.
    while let Some(id) = progress.pending.first().map(|b| scenario.steps[b.position].id.clone()) {
        if let Some(status) = progress.finish_background(scenario, &id, index, sink).await {
            return status;
        }
    }
    ScenarioStatus::Passed
}

/// What a finished step means for the scenario: `None` to go on.
fn verdict(step: &crate::scenario::Step, status: &StepStatus) -> Option<ScenarioStatus> {
    match status {
        StepStatus::Passed | StepStatus::NotRun => None,
        StepStatus::Failed { .. } => Some(ScenarioStatus::Failed),
        StepStatus::Errored { message } => {
            Some(ScenarioStatus::Errored { message: format!("step `{}`: {message}", step.id) })
        }
    }
}

/// What a scenario has done so far; kept outside the step loop so a cancelled or timed-out run still
/// knows what it created.
struct Progress {
    /// One slot per step of the scenario, in file order, filled as each step's result is known.
    steps: Vec<Option<StepOutcome>>,
    /// Background steps started and not awaited yet, in file order.
    pending: Vec<Background>,
    /// `run_id`, mock URLs and every capture so far.
    vars: Variables,
    created: Vec<Created>,
    track: bool,
    run_id: String,
}

/// A background step's task: its outcome, and the variables as its captures left them (`None` when
/// it was stopped before it sent anything).
type BackgroundResult = Option<(StepOutcome, Variables)>;

/// A background step in flight. Dropping it aborts the task, so no request outlives the scenario
/// even when the scenario's own future is dropped.
struct Background {
    position: usize,
    handle: JoinHandle<BackgroundResult>,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl Background {
    /// Waits for the task; a panic in it becomes an errored step rather than a lost one.
    async fn join(&mut self, step: &crate::scenario::Step) -> BackgroundResult {
        match (&mut self.handle).await {
            Ok(result) => result,
            Err(error) => {
                let mut outcome = not_run(step);
                outcome.status = StepStatus::Errored { message: format!("the background step stopped: {error}") };
                Some((outcome, Variables::new()))
            }
        }
    }
}

impl Progress {
    /// Starts `step` on its own task, with the variables as they are now: its request is rendered
    /// from them, and its `expect` uses only what the loader let it use.
    fn start_background(
        &mut self,
        position: usize,
        step: &crate::scenario::Step,
        client: &Client,
        endpoint: &Endpoint,
        stop: &CancelToken,
    ) {
        let (step, client, endpoint, stop) = (step.clone(), client.clone(), endpoint.clone(), stop.clone());
        let mut vars = self.vars.clone();
        let handle = tokio::spawn(async move {
            let outcome = step::run(&step, &client, &endpoint, &mut vars, &stop).await?;
            Some((outcome, vars))
        });
        self.pending.push(Background { position, handle });
    }

    /// Waits for the background step `id` and reports it at its own position: its captures join the
    /// variables when it passed, and a failure stops the scenario here.
    async fn finish_background(
        &mut self,
        scenario: &Scenario,
        id: &str,
        index: usize,
        sink: &dyn EventSink,
    ) -> Option<ScenarioStatus> {
        // The loader lets a step await only a background step above it, once.
        let at = self.pending.iter().position(|b| scenario.steps[b.position].id == id)?;
        let mut background = self.pending.remove(at);
        let step = &scenario.steps[background.position];
        let Some((outcome, vars)) = background.join(step).await else {
            return Some(ScenarioStatus::Errored { message: INTERRUPTED.to_string() });
        };
        if outcome.status == StepStatus::Passed {
            for capture in &step.capture {
                if let Some(value) = vars.get(&capture.variable) {
                    self.vars.insert(capture.variable.clone(), value.clone());
                }
            }
        }
        let status = verdict(step, &outcome.status);
        sink.emit(Event::StepFinished { index, scenario_id: scenario.id.clone(), step: outcome.clone() });
        self.record(background.position, outcome);
        status
    }

    /// After the scenario stopped before awaiting them: waits for the background steps still in
    /// flight and keeps what they sent and got (for the report and for teardown), without judging
    /// them, since no step reached their `await`.
    async fn abandon_pending(&mut self) {
        for mut background in std::mem::take(&mut self.pending) {
            let position = background.position;
            let joined = (&mut background.handle).await.unwrap_or_default();
            if let Some((mut outcome, _)) = joined {
                outcome.status = StepStatus::NotRun;
                outcome.assertions.clear();
                self.record(position, outcome);
            }
        }
    }

    fn record(&mut self, position: usize, step: StepOutcome) {
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
        if let Some(slot) = self.steps.get_mut(position) {
            *slot = Some(step);
        }
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
