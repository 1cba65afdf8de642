//! Shrinking a divergent sequence: fewer operations (dropping an operation drops those that use what
//! it captured), one replica instead of two, simpler arguments; a candidate is kept only when it still
//! diverges with the same signature. Every candidate is a full run on both sides, so the number of
//! runs is bounded.

use std::collections::BTreeSet;

use serde_json::Value;

use super::compare::{PairResult, PairRun, Signature, run_pair};
use super::side::Side;
use crate::scenario::template::json_templates;
use crate::scenario::{Actor, Body, Scenario, Step};

/// Variables a step's request reads.
pub(crate) fn uses(step: &Step) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    let Some(request) = &step.request else { return vars };
    let mut add = |t: &crate::scenario::Template| vars.extend(t.variables().map(str::to_string));
    if let Actor::Key(key) = &request.actor {
        add(key);
    }
    add(&request.path);
    for (_, value) in request.query.iter().chain(&request.headers) {
        add(value);
    }
    match &request.body {
        Some(Body::Json(json)) => {
            for template in json_templates(json).unwrap_or_default() {
                add(&template);
            }
        }
        Some(Body::Raw(raw)) => add(raw),
        None => {}
    }
    vars
}

/// `steps` without those at `drop`, and without every step that then reads a variable no kept step
/// captures; a kept step no longer awaits a background step that is gone.
pub(crate) fn without(steps: &[Step], drop: &BTreeSet<usize>) -> Vec<Step> {
    let all_defined: BTreeSet<String> =
        steps.iter().flat_map(|s| s.capture.iter().map(|c| c.variable.clone())).collect();
    let mut defined = BTreeSet::new();
    let mut kept = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        if drop.contains(&index) {
            continue;
        }
        let needs_missing = uses(step).iter().any(|v| all_defined.contains(v) && !defined.contains(v));
        if needs_missing {
            continue;
        }
        defined.extend(step.capture.iter().map(|c| c.variable.clone()));
        let mut step = step.clone();
        step.awaits.retain(|id| kept.iter().any(|k: &Step| k.background && &k.id == id));
        kept.push(step);
    }
    kept
}

/// The shrunk sequence and its last run (whose first divergence is at its last step).
pub struct Shrunk {
    pub scenario: Scenario,
    pub run: PairRun,
    /// Candidate runs tried.
    pub attempts: usize,
}

/// What runs a candidate on both sides: the two targets in explore; a pure rule in the shrinker's own
/// tests, which pin what it does with candidates that diverge elsewhere than the original.
pub trait RunsPairs {
    fn run_pair(&self, scenario: &Scenario) -> impl std::future::Future<Output = PairRun> + Send;
}

/// Explore's two targets.
pub struct Sides<'a> {
    pub target: &'a Side,
    pub against: &'a Side,
}

impl RunsPairs for Sides<'_> {
    fn run_pair(&self, scenario: &Scenario) -> impl std::future::Future<Output = PairRun> + Send {
        run_pair(scenario, self.target, self.against)
    }
}

struct Shrinker<'a, P> {
    pair: &'a P,
    signature: Signature,
    attempts: usize,
    max_attempts: usize,
}

impl<P: RunsPairs> Shrinker<'_, P> {
    /// Runs `candidate`; on the same divergence, returns it cut after the divergent step.
    async fn try_candidate(&mut self, mut candidate: Scenario) -> Option<(Scenario, PairRun)> {
        if self.attempts >= self.max_attempts || candidate.steps.is_empty() {
            return None;
        }
        self.attempts += 1;
        let run = self.pair.run_pair(&candidate).await;
        match &run.result {
            PairResult::Diverge(divergence) if divergence.signature() == self.signature => {
                candidate.steps.truncate(divergence.step + 1);
                Some((candidate, run))
            }
            _ => None,
        }
    }
}

/// Shrinks `scenario`, whose first divergence is `run`'s, within `max_attempts` candidate runs.
pub async fn shrink<P: RunsPairs>(scenario: Scenario, run: PairRun, pair: &P, max_attempts: usize) -> Shrunk {
    let PairResult::Diverge(divergence) = &run.result else {
        return Shrunk { scenario, run, attempts: 0 };
    };
    let mut best = scenario;
    best.steps.truncate(divergence.step + 1);
    let mut best_run = run_cut(run);
    let mut shrinker = Shrinker { pair, signature: divergence_signature(&best_run), attempts: 0, max_attempts };

    // One replica, when the divergence does not need two.
    if best.reference.replicas > 1 {
        let mut candidate = best.clone();
        candidate.reference.replicas = 1;
        candidate.steps.iter_mut().for_each(|s| s.on = None);
        if let Some((c, r)) = shrinker.try_candidate(candidate).await {
            (best, best_run) = (c, r);
        }
    }

    loop {
        let mut changed = false;
        // Drop chunks of operations, halving the chunk until single ones; never the divergent step.
        let mut size = (best.steps.len() / 2).max(1);
        loop {
            let mut start = 0;
            while start + 1 < best.steps.len() {
                let last = best.steps.len() - 1;
                let drop: BTreeSet<usize> = (start..(start + size).min(last)).collect();
                let mut candidate = best.clone();
                candidate.steps = without(&best.steps, &drop);
                let keeps_last = candidate.steps.last().map(|s| &s.id) == best.steps.last().map(|s| &s.id);
                if keeps_last && let Some((c, r)) = shrinker.try_candidate(candidate).await {
                    (best, best_run) = (c, r);
                    changed = true;
                } else {
                    start += size;
                }
                if shrinker.attempts >= shrinker.max_attempts {
                    break;
                }
            }
            if size == 1 || shrinker.attempts >= shrinker.max_attempts {
                break;
            }
            size = (size / 2).max(1);
        }
        // Simpler arguments: drop optional body fields and list items one at a time.
        // A kept candidate may diverge earlier and so be cut shorter: the bound is read every time.
        let mut index = 0;
        while index < best.steps.len() {
            for candidate_step in simpler(&best.steps[index]) {
                let mut candidate = best.clone();
                candidate.steps[index] = candidate_step;
                if let Some((c, r)) = shrinker.try_candidate(candidate).await {
                    (best, best_run) = (c, r);
                    changed = true;
                    break;
                }
            }
            index += 1;
        }
        if !changed || shrinker.attempts >= shrinker.max_attempts {
            break;
        }
    }
    best.mocks.retain(|mock| {
        let var = mock.url_variable();
        best.steps.iter().any(|s| uses(s).contains(&var))
    });
    Shrunk { scenario: best, run: best_run, attempts: shrinker.attempts }
}

fn divergence_signature(run: &PairRun) -> Signature {
    match &run.result {
        PairResult::Diverge(d) => d.signature(),
        _ => unreachable!("shrink starts from a divergent run"),
    }
}

/// The run cut to the divergent step (later steps are not part of the shrunk sequence).
fn run_cut(mut run: PairRun) -> PairRun {
    if let PairResult::Diverge(d) = &run.result {
        run.target.steps.truncate(d.step + 1);
        run.against.steps.truncate(d.step + 1);
    }
    run
}

/// Variants of `step` with one body field (other than ids naming what it acts on, and a server's
/// `timeout`, without which a slow upstream costs every later candidate seconds) or one list item
/// fewer.
fn simpler(step: &Step) -> Vec<Step> {
    let Some(Body::Json(Value::Object(fields))) = step.request.as_ref().and_then(|r| r.body.as_ref()) else {
        return Vec::new();
    };
    const NAMES: &[&str] =
        &["team_id", "key", "keys", "team_ids", "server_id", "name", "model", "messages", "user_id", "timeout"];
    let mut variants = Vec::new();
    let with_body = |fields: serde_json::Map<String, Value>| {
        let mut s = step.clone();
        if let Some(request) = &mut s.request {
            request.body = Some(Body::Json(Value::Object(fields)));
        }
        s
    };
    for (name, value) in fields {
        if !NAMES.contains(&name.as_str()) {
            let mut fewer = fields.clone();
            fewer.remove(name);
            variants.push(with_body(fewer));
        }
        if let Value::Array(items) = value {
            for i in 0..items.len() {
                let mut fewer = fields.clone();
                let mut list = items.clone();
                list.remove(i);
                fewer.insert(name.clone(), Value::Array(list));
                variants.push(with_body(fewer));
            }
        }
        if let Value::Object(inner) = value {
            for key in inner.keys() {
                let mut fewer = fields.clone();
                let mut smaller = inner.clone();
                smaller.remove(key);
                fewer.insert(name.clone(), Value::Object(smaller));
                variants.push(with_body(fewer));
            }
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::build::StepBuilder;
    use crate::explore::decision::{DenialKind, Verdict};
    use crate::explore::generate::{GeneratorOptions, sequence};
    use serde_json::json;

    #[test]
    fn dropping_a_step_drops_what_uses_its_captures() {
        let scenario = sequence(7, 3, &GeneratorOptions::default());
        let first_capturing = scenario.steps.iter().position(|s| !s.capture.is_empty()).expect("something is created");
        let dropped: BTreeSet<String> =
            scenario.steps[first_capturing].capture.iter().map(|c| c.variable.clone()).collect();
        let kept = without(&scenario.steps, &BTreeSet::from([first_capturing]));
        assert!(kept.len() < scenario.steps.len());
        for step in &kept {
            let reads = uses(step);
            let redefined = kept.iter().any(|s| s.capture.iter().any(|c| dropped.contains(&c.variable)));
            assert!(redefined || reads.is_disjoint(&dropped), "{} still reads {dropped:?}", step.id);
        }
    }

    /// A pair whose divergence needs all four original steps, at the first step whose body lacks
    /// `a` (else at the last): dropping `a` from the first step is kept and cuts the sequence to one
    /// step while the argument pass stands at index 0. The shrinker once went on indexing the steps
    /// of the longer sequence and panicked.
    struct DivergesAtFirstStepWithoutA;

    impl RunsPairs for DivergesAtFirstStepWithoutA {
        fn run_pair(&self, scenario: &Scenario) -> impl std::future::Future<Output = PairRun> + Send {
            let lacks_a = |step: &Step| match step.request.as_ref().and_then(|r| r.body.as_ref()) {
                Some(Body::Json(Value::Object(fields))) => !fields.contains_key("a"),
                _ => true,
            };
            let result = if scenario.steps.len() < 4 {
                PairResult::Agree
            } else {
                let step = scenario.steps.iter().position(lacks_a).unwrap_or(scenario.steps.len() - 1);
                let decision = |verdict, status| crate::explore::decision::Decision {
                    verdict,
                    status,
                    facts: BTreeSet::new(),
                    message: None,
                };
                PairResult::Diverge(Box::new(crate::explore::compare::Divergence {
                    step,
                    step_id: scenario.steps[step].id.clone(),
                    method: "POST".into(),
                    route: "/x".into(),
                    target: decision(Verdict::Allowed, 200),
                    against: decision(Verdict::Denied(DenialKind::Auth), 403),
                    target_captured: true,
                    against_captured: true,
                }))
            };
            let outcome = crate::runner::never_started(scenario, crate::runner::ScenarioStatus::Failed);
            std::future::ready(PairRun { result, target: outcome.clone(), against: outcome })
        }
    }

    #[tokio::test]
    async fn a_candidate_diverging_earlier_ends_the_argument_pass_at_its_new_length() {
        let mut scenario = sequence(1, 0, &GeneratorOptions::default());
        scenario.reference.replicas = 1;
        scenario.steps = (0..4)
            .map(|n| {
                StepBuilder::new(format!("op{n}"), Actor::Admin, "POST", "/x").json(json!({"a": 1, "b": 2})).build()
            })
            .collect();
        let pair = DivergesAtFirstStepWithoutA;
        let first = pair.run_pair(&scenario).await;
        let shrunk = shrink(scenario, first, &pair, 100).await;
        assert_eq!(shrunk.scenario.steps.len(), 1, "{:?}", shrunk.scenario.steps);
        let PairResult::Diverge(divergence) = &shrunk.run.result else { panic!("the shrunk run still diverges") };
        assert_eq!(divergence.step, 0);
    }
}
