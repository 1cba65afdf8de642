//! One step: sleep, render and send the request (again, while `retry.until` does not hold), check
//! `expect`, capture.

use std::time::Instant;

use super::cancel::CancelToken;
use super::http::Client;
use super::outcome::{AssertionResult, ReceivedResponse, StepOutcome, StepStatus};
use super::{assert, capture, http};
use crate::scenario::{Retry, Step, Variables};

/// Runs `step`, adding its captures to `vars` when it passes. `None` when `cancel` fired during the
/// pause before the request, so nothing was sent. Once sent, a request is let finish (it is bounded by
/// the request timeout): what it created must be known to be torn down.
pub(crate) async fn run(
    step: &Step,
    client: &Client,
    endpoint: &http::Endpoint,
    vars: &mut Variables,
    cancel: &CancelToken,
) -> Option<StepOutcome> {
    let started = Instant::now();
    let mut outcome = StepOutcome {
        id: step.id.clone(),
        location: step.location,
        status: StepStatus::Passed,
        request: None,
        response: None,
        assertions: Vec::new(),
        duration: Default::default(),
        attempts: 0,
    };
    if let Some(pause) = step.sleep {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = cancel.cancelled() => return None,
        }
    }
    if let Some(request) = &step.request {
        outcome.status = exchange(step, request, client, endpoint, vars, cancel, &mut outcome).await;
    }
    outcome.duration = started.elapsed();
    Some(outcome)
}

async fn exchange(
    step: &Step,
    request: &crate::scenario::Request,
    client: &Client,
    endpoint: &http::Endpoint,
    vars: &mut Variables,
    cancel: &CancelToken,
    outcome: &mut StepOutcome,
) -> StepStatus {
    let prepared = match http::prepare(client, endpoint, request, vars) {
        Ok(prepared) => prepared,
        Err(message) => return StepStatus::Failed { message },
    };
    outcome.request = Some(prepared.sent);

    let response = match &step.retry {
        None => {
            outcome.attempts = 1;
            match http::send(client, prepared.request).await {
                Ok(response) => response,
                Err(message) => return StepStatus::Errored { message },
            }
        }
        Some(retry) => match send_until(retry, client, &prepared.request, vars, cancel, outcome).await {
            Ok(response) => response,
            Err(status) => return status,
        },
    };

    let results = assert::check(&step.expect, &response, vars, "");
    let failed = results.iter().filter(|r| !r.passed).count();
    let status = if failed > 0 {
        StepStatus::Failed { message: format!("{failed} of {} assertions failed", results.len()) }
    } else {
        // Captures only run once `expect` holds, so a later step never sees a value from a wrong answer.
        match capture::apply(&step.capture, &response, vars) {
            Ok(()) => StepStatus::Passed,
            Err(message) => StepStatus::Failed { message },
        }
    };
    outcome.assertions = results;
    outcome.response = Some(response);
    status
}

/// Sends the request until `retry.until` holds. On timeout the step fails with the last response and
/// the `until` results that did not hold.
async fn send_until(
    retry: &Retry,
    client: &Client,
    request: &reqwest::Request,
    vars: &Variables,
    cancel: &CancelToken,
    outcome: &mut StepOutcome,
) -> Result<ReceivedResponse, StepStatus> {
    let deadline = Instant::now() + retry.timeout;
    loop {
        let Some(attempt) = request.try_clone() else {
            return Err(StepStatus::Failed {
                message: "failed to resend the request: its body cannot be copied".into(),
            });
        };
        outcome.attempts += 1;
        let response = http::send(client, attempt).await.map_err(|message| StepStatus::Errored { message })?;
        let until: Vec<AssertionResult> = assert::check(&retry.until, &response, vars, "until ");
        if until.iter().all(|r| r.passed) {
            return Ok(response);
        }
        if Instant::now() + retry.interval > deadline {
            outcome.assertions = until;
            outcome.response = Some(response);
            return Err(StepStatus::Failed {
                message: format!(
                    "timed out after {} and {} attempts: `retry.until` never held",
                    humantime::format_duration(retry.timeout),
                    outcome.attempts
                ),
            });
        }
        tokio::select! {
            () = tokio::time::sleep(retry.interval) => {}
            () = cancel.cancelled() => {
                outcome.response = Some(response);
                return Err(StepStatus::Errored { message: super::scenario::INTERRUPTED.to_string() });
            }
        }
    }
}
