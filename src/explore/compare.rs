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
