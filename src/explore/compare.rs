//! One sequence on both sides, and the first step where their decisions part.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::decision::{self, Decision, Fact, Normalizer, Verdict};
use super::side::Side;
use crate::runner::{ScenarioOutcome, ScenarioStatus, StepOutcome, StepStatus};
use crate::scenario::{Scenario, Step};

/// Where two targets decided one request differently.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// Index of the step in the sequence.
    pub step: usize,
    pub step_id: String,
    pub method: String,
    /// The path as templated, e.g. `/key/generate`.
    pub route: String,
    pub target: Decision,
    pub against: Decision,
    /// Whether each side's captures held (a capture that fails on one side only is a divergence in
    /// what the response holds).
    pub target_captured: bool,
    pub against_captured: bool,
}

/// What groups divergences: the route and the two decisions, not one line per sequence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature {
    pub method: String,
    pub route: String,
    pub target: Verdict,
    pub against: Verdict,
    /// JSONPaths of the granted fields that differ.
    pub fields: Vec<String>,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: target {}, against {}", self.method, self.route, self.target, self.against)?;
        if !self.fields.is_empty() {
            write!(f, "; differing {}", self.fields.join(", "))?;
        }
        Ok(())
    }
}

impl Divergence {
    pub fn signature(&self) -> Signature {
        // Granted fields tell apart divergences whose verdicts agree; a denial has none to compare.
        let same_verdict = self.target.verdict == self.against.verdict;
        let mut fields: Vec<String> = if same_verdict {
            decision::differing_facts(&self.target, &self.against).iter().map(|f| f.path().to_string()).collect()
        } else {
            Vec::new()
        };
        if same_verdict && self.target_captured != self.against_captured {
            fields.push("captures".to_string());
        }
        fields.dedup();
        Signature {
            method: self.method.clone(),
            route: self.route.clone(),
            target: self.target.verdict,
            against: self.against.verdict,
            fields,
        }
    }

    /// Facts the target has that the against side lacks, and the reverse.
    pub fn fact_split(&self) -> (Vec<Fact>, Vec<Fact>) {
        let only_target = self.target.facts.difference(&self.against.facts).cloned().collect();
        let only_against = self.against.facts.difference(&self.target.facts).cloned().collect();
        (only_target, only_against)
    }
}

/// How one sequence went on both sides.
pub enum PairResult {
    Agree,
    Diverge(Box<Divergence>),
    /// Infrastructure trouble on a side (errored, skipped): no verdict.
    Unusable(String),
}

pub struct PairRun {
    pub result: PairResult,
    pub target: ScenarioOutcome,
    pub against: ScenarioOutcome,
}

pub async fn run_pair(scenario: &Scenario, target: &Side, against: &Side) -> PairRun {
    let (a, b) = tokio::join!(target.run(scenario), against.run(scenario));
    for (step, done) in scenario.steps.iter().zip(&a.steps) {
        tracing::trace!(step = %step.id, took = ?done.duration, status = ?done.response.as_ref().map(|r| r.status), "explore step");
    }
    let result = compare(scenario, &a, &b);
    PairRun { result, target: a, against: b }
}

fn unusable(side: &str, outcome: &ScenarioOutcome) -> Option<String> {
    match &outcome.status {
        ScenarioStatus::Errored { message } => Some(format!("{side}: {message}")),
        ScenarioStatus::Skipped { reason } => Some(format!("{side} skipped it: {reason}")),
        ScenarioStatus::Passed | ScenarioStatus::Failed => None,
    }
}

/// The captured values of a run, by variable, for normalizing.
fn normalizer(scenario: &Scenario, outcome: &ScenarioOutcome) -> Normalizer {
    let mut captured = Vec::new();
    for (step, done) in scenario.steps.iter().zip(&outcome.steps) {
        let Some(json) = done.response.as_ref().and_then(|r| r.json.as_ref()) else { continue };
        for capture in &step.capture {
            if let Ok(Value::String(value)) = capture.path.query(json).exactly_one().cloned() {
                captured.push((value, capture.variable.clone()));
            }
        }
    }
    captured.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    Normalizer { run_id: outcome.run_id.clone(), captured }
}

/// The reference's answer when its database is out of reach (a pool that timed out, a server out
/// of connections): trouble on that side, not a decision.
fn database_unavailable(response: &crate::runner::ReceivedResponse) -> bool {
    response.status >= 500
        && response.json.as_ref().and_then(|j| j.pointer("/error/type")).and_then(Value::as_str)
            == Some("no_db_connection")
}

fn route_of(step: &Step) -> (String, String) {
    match &step.request {
        Some(request) => (request.method.clone(), request.path.as_str().to_string()),
        None => (String::new(), String::new()),
    }
}

fn captured(step: &StepOutcome) -> bool {
    matches!(step.status, StepStatus::Passed)
}

pub fn compare(scenario: &Scenario, a: &ScenarioOutcome, b: &ScenarioOutcome) -> PairResult {
    if let Some(reason) = unusable("target", a).or_else(|| unusable("against", b)) {
        return PairResult::Unusable(reason);
    }
    let (na, nb) = (normalizer(scenario, a), normalizer(scenario, b));
    for (index, step) in scenario.steps.iter().enumerate() {
        let (Some(sa), Some(sb)) = (a.steps.get(index), b.steps.get(index)) else { break };
        let (Some(ra), Some(rb)) = (&sa.response, &sb.response) else { break };
        for (side, response) in [("target", ra), ("against", rb)] {
            if database_unavailable(response) {
                return PairResult::Unusable(format!("{side}: its database was unavailable at step {}", step.id));
            }
        }
        // A step in the background overlaps the steps after it, so its own verdict depends on how the
        // two runs were timed; what it did shows in the steps that await it.
        if step.background {
            continue;
        }
        let (method, route) = route_of(step);
        let da = decision::decide(&method, &route, ra, &na);
        let db = decision::decide(&method, &route, rb, &nb);
        let (ca, cb) = (captured(sa), captured(sb));
        if !decision::agree(&da, &db) || ca != cb {
            return PairResult::Diverge(Box::new(Divergence {
                step: index,
                step_id: step.id.clone(),
                method,
                route,
                target: da,
                against: db,
                target_captured: ca,
                against_captured: cb,
            }));
        }
        if !ca {
            break;
        }
    }
    PairResult::Agree
}

/// The statuses each step got on both sides, for writing `expect` (steps that ran on both).
pub fn statuses(a: &ScenarioOutcome, b: &ScenarioOutcome) -> Vec<BTreeSet<u16>> {
    a.steps
        .iter()
        .zip(&b.steps)
        .map(|(sa, sb)| sa.response.iter().chain(sb.response.iter()).map(|r| r.status).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::explore::build::StepBuilder;
    use crate::explore::generate::{GeneratorOptions, sequence};
    use crate::runner::{ReceivedResponse, never_started};
    use crate::scenario::Actor;

    /// A two-step scenario (`GET /key/info` twice, the first in the background when asked) and
    /// the outcome of a run whose steps got `answers`.
    fn run(background: bool, answers: [(u16, Value); 2]) -> (Scenario, ScenarioOutcome) {
        let mut scenario = sequence(1, 0, &GeneratorOptions::default());
        scenario.steps =
            (0..2).map(|n| StepBuilder::new(format!("op{n}"), Actor::Admin, "GET", "/key/info").build()).collect();
        scenario.steps[0].background = background;
        let mut outcome = never_started(&scenario, ScenarioStatus::Passed);
        outcome.steps = scenario
            .steps
            .iter()
            .zip(answers)
            .map(|(step, (status, json))| StepOutcome {
                id: step.id.clone(),
                location: step.location,
                status: StepStatus::Passed,
                request: None,
                response: Some(ReceivedResponse {
                    status,
                    headers: Vec::new(),
                    body: json.to_string(),
                    json: Some(json),
                }),
                assertions: Vec::new(),
                duration: Default::default(),
                attempts: 1,
                origin: None,
            })
            .collect();
        (scenario, outcome)
    }

    fn denied() -> (u16, Value) {
        (401, json!({"error": {"message": "blocked", "type": "auth_error", "param": null, "code": "401"}}))
    }

    fn allowed() -> (u16, Value) {
        (200, json!({"key": "x", "info": {}}))
    }

    #[test]
    fn a_differing_verdict_is_a_divergence_at_its_step() {
        let (scenario, a) = run(false, [allowed(), allowed()]);
        let (_, b) = run(false, [denied(), allowed()]);
        let PairResult::Diverge(divergence) = compare(&scenario, &a, &b) else { panic!("the first step differs") };
        assert_eq!(divergence.step, 0);
    }

    #[test]
    fn a_background_step_is_judged_by_what_awaits_it_not_by_its_own_timing() {
        let (scenario, a) = run(true, [allowed(), allowed()]);
        let (_, b) = run(true, [denied(), allowed()]);
        assert!(matches!(compare(&scenario, &a, &b), PairResult::Agree));
        let (_, c) = run(true, [allowed(), denied()]);
        let PairResult::Diverge(divergence) = compare(&scenario, &a, &c) else { panic!("the second step differs") };
        assert_eq!(divergence.step, 1);
    }

    #[test]
    fn a_reference_out_of_database_connections_gives_no_verdict() {
        let unavailable = (
            500,
            json!({"error": {"message": "failed to query the database: pool timed out", "type": "no_db_connection", "param": null, "code": "500"}}),
        );
        let (scenario, a) = run(false, [allowed(), allowed()]);
        let (_, b) = run(false, [allowed(), unavailable]);
        let PairResult::Unusable(reason) = compare(&scenario, &a, &b) else { panic!("no verdict without a database") };
        assert!(reason.starts_with("against:"), "{reason}");
        let (_, c) = run(false, [allowed(), (500, json!({"error": {"type": "internal_server_error"}}))]);
        assert!(matches!(compare(&scenario, &a, &c), PairResult::Diverge(_)), "any other 500 is a decision");
    }
}
