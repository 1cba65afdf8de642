//! Writing a shrunk sequence as an ordinary scenario file.
//!
//! The scenario model is plain data without serde, so this writes the YAML itself: block style for
//! the structure, JSON (which YAML reads as flow style) for every value, so quoting is never in doubt.
//! `expect:` comes from the side that behaves correctly; every step before the divergent one accepts
//! the statuses both sides gave, so the file fails on the other side exactly at the divergent step.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::compare::{Divergence, PairRun};
use super::decision::Fact;
use super::shrink::uses;
use crate::scenario::mock::{McpAnswer, McpFailure, MockKind};
use crate::scenario::{Actor, Body, Capability, Quirk, Scenario};

/// Where a written scenario came from, for its header and title.
pub struct Provenance {
    pub seed: u64,
    pub sequence: u64,
    pub original_ops: usize,
    pub target: String,
    pub against: String,
    /// The quirk to declare in `reproduces:` (the against side is `reference+Q`).
    pub quirk: Option<Quirk>,
}

fn q(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// The capabilities a real proxy needs for these steps.
fn requires(scenario: &Scenario) -> Vec<Capability> {
    let mut needs = BTreeSet::new();
    for step in &scenario.steps {
        let Some(request) = &step.request else { continue };
        let path = request.path.as_str();
        let body = match &request.body {
            Some(Body::Json(json)) => json.to_string(),
            _ => String::new(),
        };
        if path.starts_with("/organization") {
            needs.insert(Capability::Organizations);
        }
        if path.starts_with("/v1/mcp") || path.starts_with("/mcp-rest") {
            needs.insert(Capability::Mcp);
        }
        if path.starts_with("/v1/access_group") || body.contains("access_group_ids") {
            needs.insert(Capability::AccessGroups);
        }
        if path.starts_with("/key/regenerate") {
            needs.insert(Capability::KeyRegenerate);
        }
        if body.contains("mcp_access_groups") {
            needs.insert(Capability::McpAccessGroups);
        }
        if body.contains("/key/access_group_assignment") {
            needs.insert(Capability::KeyAccessGroupAssignment);
        }
        if path == "/team/member_add" && body.contains(r#""role":"admin""#) {
            needs.insert(Capability::TeamAdminViaMemberAdd);
        }
    }
    needs.into_iter().collect()
}

/// A body assertion saying what the correct side shows and the other does not (or the reverse).
fn fact_assertion(fact: &Fact, present: bool) -> String {
    match (fact, present) {
        (Fact::Present(path), true) => format!("{{path: {}, exists: true}}", q(path)),
        (Fact::Equals(path, value), true) => format!("{{path: {}, equals: {value}}}", q(path)),
        (fact, false) => format!("{{path: {}, absent: true}}", q(fact.path())),
    }
}

/// Assertions on `mine` (what one side shows that the other lacks) for the divergent step, skipping a
/// field whose value the other side also has but differently (its `equals` says enough).
fn assertions(mine: &[Fact], theirs: &[Fact]) -> Vec<String> {
    let mut lines: Vec<String> = mine.iter().map(|f| fact_assertion(f, true)).collect();
    for fact in theirs {
        if !mine.iter().any(|m| m.path() == fact.path()) {
            lines.push(fact_assertion(fact, false));
        }
    }
    lines
}

fn status_text(statuses: &BTreeSet<u16>) -> String {
    let list: Vec<String> = statuses.iter().map(u16::to_string).collect();
    if list.len() == 1 { list[0].clone() } else { format!("[{}]", list.join(", ")) }
}

/// The file name (without directory) for a written scenario.
pub fn file_name(provenance: &Provenance, divergence: &Divergence) -> String {
    let slug = match provenance.quirk {
        Some(quirk) => quirk.name().replace('_', "-"),
        None => divergence.route.trim_start_matches('/').replace(['/', '{', '}'], "-"),
    };
    format!("explored-{slug}-s{}-n{}.yaml", provenance.seed, provenance.sequence)
}

/// When both sides gave the divergent step one status yet decided differently (a 2xx carrying a
/// top-level, non-null `error` is a denial on some routes), the status cannot tell them apart: the `error`
/// field does. The target's assertion first, then the other side's.
fn error_field_assertions(run: &PairRun, last: usize, divergence: &Divergence) -> (Vec<String>, Vec<String>) {
    if divergence.target.status != divergence.against.status || divergence.target.verdict == divergence.against.verdict
    {
        return (Vec::new(), Vec::new());
    }
    let has_error = |outcome: &crate::runner::ScenarioOutcome| {
        outcome
            .steps
            .get(last)
            .and_then(|s| s.response.as_ref())
            .and_then(|r| r.json.as_ref())
            .is_some_and(|json| json.get("error").is_some_and(|e| !e.is_null()))
    };
    let line = |present: bool| format!("{{path: $.error, {}: true}}", if present { "exists" } else { "absent" });
    match (has_error(&run.target), has_error(&run.against)) {
        (t, a) if t != a => (vec![line(t)], vec![line(a)]),
        _ => (Vec::new(), Vec::new()),
    }
}

/// The scenario file for `scenario` (shrunk; its last step diverges as `run` shows).
pub fn scenario_yaml(scenario: &Scenario, run: &PairRun, divergence: &Divergence, provenance: &Provenance) -> String {
    let mut out = String::new();
    let last = scenario.steps.len() - 1;
    let statuses = super::compare::statuses(&run.target, &run.against);
    // Facts only matter when both sides decided alike; otherwise the status says it.
    let (only_target, only_against) = if divergence.target.verdict == divergence.against.verdict {
        divergence.fact_split()
    } else {
        (Vec::new(), Vec::new())
    };
    let (target_error, against_error) = error_field_assertions(run, last, divergence);
    let id = file_name(provenance, divergence).trim_end_matches(".yaml").to_string();
    let _ = writeln!(
        out,
        "# Written by `gateproof explore --target {} --against {} --seed {}`: sequence {}, shrunk from {} to {} operations.",
        provenance.target,
        provenance.against,
        provenance.seed,
        provenance.sequence,
        provenance.original_ops,
        scenario.steps.len()
    );
    let _ = writeln!(out, "id: {id}");
    let _ = writeln!(
        out,
        "title: {}",
        q(&format!(
            "Explored (seed {}, sequence {}): {} {} is {} here, {} on {}",
            provenance.seed,
            provenance.sequence,
            divergence.method,
            divergence.route,
            divergence.target.verdict,
            divergence.against.verdict,
            provenance.against
        ))
    );
    if let Some(quirk) = provenance.quirk {
        let _ = writeln!(out, "upstream: {}", q(quirk.upstream()));
    }
    let _ = writeln!(out, "description: |");
    let _ = writeln!(
        out,
        "  Found by explore: {} answered step `{}` with {} ({}), {} with {} ({}).",
        provenance.target,
        divergence.step_id,
        divergence.target.status,
        divergence.target.verdict,
        provenance.against,
        divergence.against.status,
        divergence.against.verdict
    );
    if let Some(message) = &divergence.against.message {
        let _ = writeln!(out, "  The other side said: {}", message.replace('\n', " "));
    }
    let _ = writeln!(out, "tags: [regression, explored]");
    let needs = requires(scenario);
    if !needs.is_empty() {
        let names: Vec<&str> = needs.iter().map(|c| c.name()).collect();
        let _ = writeln!(out, "requires: [{}]", names.join(", "));
    }
    if scenario.reference.replicas > 1 {
        let _ = writeln!(out, "reference: {{replicas: {}}}", scenario.reference.replicas);
    }
    if let Some(quirk) = provenance.quirk {
        let _ = writeln!(out, "reproduces:");
        let _ = writeln!(out, "  quirk: {}", quirk.name());
        let _ = writeln!(out, "  fails_at: {}", divergence.step_id);
        let _ = writeln!(out, "  observed:");
        let _ = writeln!(out, "    status: {}", divergence.against.status);
        let mut body = assertions(&only_against, &only_target);
        body.extend(against_error);
        if !body.is_empty() {
            let _ = writeln!(out, "    body:");
            for line in body {
                let _ = writeln!(out, "      - {line}");
            }
        }
    }
    if !scenario.mocks.is_empty() {
        let _ = writeln!(out, "\nmocks:");
        for mock in &scenario.mocks {
            let _ = writeln!(out, "  {}:", mock.name);
            match &mock.kind {
                MockKind::Llm(llm) => {
                    let delay = if llm.delay.is_zero() {
                        String::new()
                    } else {
                        format!(", delay: {}ms", llm.delay.as_millis())
                    };
                    let _ = writeln!(
                        out,
                        "    llm: {{reply: {}, prompt_tokens: {}, completion_tokens: {}{delay}}}",
                        q(&llm.reply),
                        llm.prompt_tokens,
                        llm.completion_tokens
                    );
                }
                MockKind::Mcp(mcp) => {
                    let _ = writeln!(out, "    mcp:");
                    if mcp.answer == McpAnswer::Sse {
                        let _ = writeln!(out, "      answer: sse");
                    }
                    // The loader knows one delay for `slow`, the one the generator uses.
                    let failure = match mcp.failure {
                        Some(McpFailure::Down) => Some("down"),
                        Some(McpFailure::Slow(_)) => Some("slow"),
                        Some(McpFailure::Garbage) => Some("garbage"),
                        None => None,
                    };
                    if let Some(failure) = failure {
                        let _ = writeln!(out, "      failure: {failure}");
                    }
                    let _ = writeln!(out, "      tools:");
                    for tool in &mcp.tools {
                        let _ = writeln!(out, "        - {{name: {}}}", q(&tool.name));
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "\nsteps:");
    for (index, step) in scenario.steps.iter().enumerate() {
        let Some(request) = &step.request else { continue };
        let _ = writeln!(out, "  - id: {}", step.id);
        if let Some(on) = step.on {
            let _ = writeln!(out, "    on: {on}");
        }
        if step.background {
            let _ = writeln!(out, "    background: true");
        }
        if !step.awaits.is_empty() {
            let _ = writeln!(out, "    await: [{}]", step.awaits.join(", "));
        }
        if let Some(sleep) = step.sleep {
            let _ = writeln!(out, "    sleep: {}ms", sleep.as_millis());
        }
        match &request.actor {
            Actor::Admin => {}
            Actor::Anonymous => {
                let _ = writeln!(out, "    actor: none");
            }
            Actor::Key(key) => {
                let _ = writeln!(out, "    actor: {}", q(key.as_str()));
            }
        }
        let mut parts = vec![format!("method: {}", request.method), format!("path: {}", q(request.path.as_str()))];
        if !request.query.is_empty() {
            let query: serde_json::Map<String, Value> =
                request.query.iter().map(|(k, v)| (k.clone(), json!(v.as_str()))).collect();
            parts.push(format!("query: {}", Value::Object(query)));
        }
        match &request.body {
            Some(Body::Json(body)) => parts.push(format!("json: {body}")),
            Some(Body::Raw(raw)) => parts.push(format!("body: {}", q(raw.as_str()))),
            None => {}
        }
        let _ = writeln!(out, "    request: {{{}}}", parts.join(", "));
        if index < last {
            let seen = statuses.get(index).cloned().unwrap_or_default();
            let _ = writeln!(out, "    expect: {{status: {}}}", status_text(&seen));
            if !step.capture.is_empty() {
                let captures: Vec<String> =
                    step.capture.iter().map(|c| format!("{}: {}", c.variable, q(&c.path_text))).collect();
                let _ = writeln!(out, "    capture: {{{}}}", captures.join(", "));
            }
        } else {
            let _ = writeln!(out, "    expect:");
            let _ = writeln!(out, "      status: {}", divergence.target.status);
            let mut body = assertions(&only_target, &only_against);
            body.extend(target_error.clone());
            if !body.is_empty() {
                let _ = writeln!(out, "      body:");
                for line in body {
                    let _ = writeln!(out, "        - {line}");
                }
            }
            // A capture that holds here and fails on the other side is the divergence itself.
            if divergence.target_captured && !divergence.against_captured && !step.capture.is_empty() {
                let captures: Vec<String> =
                    step.capture.iter().map(|c| format!("{}: {}", c.variable, q(&c.path_text))).collect();
                let _ = writeln!(out, "    capture: {{{}}}", captures.join(", "));
            }
        }
    }
    debug_assert!(scenario.steps.iter().all(|s| uses(s).iter().all(|v| !v.is_empty())));
    out
}
