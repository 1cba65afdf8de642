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
        origin: step.origin.clone(),
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
            match http::send_classified(client, prepared.request).await {
                Ok(response) => response,
                Err(unanswered) => return unanswered_status(unanswered, client, endpoint).await,
            }
        }
        Some(retry) => match send_until(retry, client, endpoint, &prepared.request, vars, cancel, outcome).await {
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

/// A request without an answer. A target that cannot be reached is infrastructure trouble. One that
/// lets this request run past the timeout while it still answers its liveness route has hung on this
/// request (LiteLLM 1.83 does on an MCP upstream that never answers): that is the proxy's behaviour, a
/// failed step, and the run's verdict must not blame the infrastructure for it.
async fn unanswered_status(unanswered: http::Unanswered, client: &Client, endpoint: &http::Endpoint) -> StepStatus {
    match unanswered {
        http::Unanswered::TimedOut(message) if http::answers_liveness(client, endpoint).await => StepStatus::Failed {
            message: format!(
                "{message}; the target still answers /health/liveliness, so it hung on this request (raise \
                 --request-timeout if the proxy is only slow)"
            ),
        },
        other => StepStatus::Errored { message: other.into_message() },
    }
}

/// Sends the request until `retry.until` holds. On timeout the step fails with the last response and
/// the `until` results that did not hold.
async fn send_until(
    retry: &Retry,
    client: &Client,
    endpoint: &http::Endpoint,
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
        let response = match http::send_classified(client, attempt).await {
            Ok(response) => response,
            Err(unanswered) => return Err(unanswered_status(unanswered, client, endpoint).await),
        };
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
                return Err(StepStatus::Errored { message: super::cancel::INTERRUPTED.to_string() });
            }
        }
    }
}
