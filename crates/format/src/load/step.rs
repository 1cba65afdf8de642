//! Steps: unique ids, `sleep`, `on`, `capture` and `retry`, in the order they run.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::text::is_variable_name;
use super::{Checker, DEFAULT_RETRY_INTERVAL, RUN_ID, ScenarioError, ScenarioErrorKind, Scope, Span};
use crate::file::{AwaitSpec, RetryFile, SpannedMap, StepFile};
use crate::model::{Capture, Expect, Retry, Step};

impl Checker<'_> {
    pub(super) fn steps(
        &self,
        steps: &Spanned<Vec<Spanned<StepFile>>>,
        builtins: &BTreeSet<String>,
        replicas: usize,
    ) -> Result<Vec<Step>, ScenarioError> {
        if steps.value.is_empty() {
            return self.fail(self.src.span_of(steps), ScenarioErrorKind::NoSteps);
        }
        let mut scope =
            Scope { known: builtins.clone(), all_captures: all_captures(steps), not_awaited: BTreeMap::new() };
        // Every step id so far, included ones too, with the line of the step that wrote it.
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        // Background steps so far, by id, with the line of the `await` naming them once one does.
        let mut background: BTreeMap<String, Option<usize>> = BTreeMap::new();
        let mut out: Vec<Step> = Vec::with_capacity(steps.value.len());
        for step in &steps.value {
            let id = &step.value.id;
            let line = usize::try_from(id.referenced.line()).unwrap_or(0);
            let checked = match &step.value.include {
                Some(include) => {
                    self.file_step_id(id, &ids)?;
                    self.include(step, include, &scope, replicas)?
                }
                None => {
                    self.file_step_id(id, &ids)?;
                    let awaits = self.awaits(step, &out, &mut background, steps)?;
                    // The awaited steps' captures are set before this step's own request is rendered.
                    for awaited in &awaits {
                        for capture in out.iter().filter(|s| &s.id == awaited).flat_map(|s| &s.capture) {
                            scope.not_awaited.remove(&capture.variable);
                            scope.known.insert(capture.variable.clone());
                        }
                    }
                    let mut checked = self.step(step, &scope, replicas)?;
                    checked.awaits = awaits;
                    vec![checked]
                }
            };
            for step_id in std::iter::once(&id.value).chain(checked.iter().map(|s| &s.id)) {
                self.file_step_id(&Spanned::new(step_id.clone(), id.referenced, id.defined), &ids)?;
            }
            // The captures of background steps a fragment both starts and awaits are known after it.
            let awaited_inside: BTreeSet<&String> = checked.iter().flat_map(|s| &s.awaits).collect();
            for s in &checked {
                if s.background && !awaited_inside.contains(&s.id) {
                    background.insert(s.id.clone(), None);
                    for capture in &s.capture {
                        scope.not_awaited.insert(capture.variable.clone(), s.id.clone());
                    }
                } else {
                    scope.known.extend(s.capture.iter().map(|c| c.variable.clone()));
                }
            }
            ids.extend(checked.iter().map(|s| (s.id.clone(), line)));
            ids.insert(id.value.clone(), line);
            out.extend(checked);
        }
        Ok(out)
    }

    /// A step's `await`: earlier background steps of this file, each awaited once in the file.
    fn awaits(
        &self,
        step: &Spanned<StepFile>,
        earlier: &[Step],
        background: &mut BTreeMap<String, Option<usize>>,
        file_steps: &Spanned<Vec<Spanned<StepFile>>>,
    ) -> Result<Vec<String>, ScenarioError> {
        let Some(spec) = &step.value.awaits else { return Ok(Vec::new()) };
        if step.value.background.as_ref().is_some_and(|b| b.value) {
            let at = self.src.key_span(self.src.span_of(step), self.src.span_of(spec), "await");
            return self.fail_help(
                at,
                ScenarioErrorKind::AwaitInBackground,
                "move the `await` to a step of its own before this one",
            );
        }
        let named: Vec<(&str, Option<Span>)> = match &spec.value {
            AwaitSpec::One(id) => vec![(id.as_str(), self.src.span_of(spec))],
            AwaitSpec::Many(ids) => ids.iter().map(|id| (id.value.as_str(), self.src.span_of(id))).collect(),
        };
        if named.is_empty() {
            return self.fail(self.src.span_of(spec), ScenarioErrorKind::EmptyAwait);
        }
        let mut out = Vec::with_capacity(named.len());
        for (id, at) in named {
            if !earlier.iter().any(|s| s.id == id) {
                let later = file_steps.value.iter().any(|s| s.value.id.value == id);
                let kind = if later {
                    ScenarioErrorKind::AwaitNotEarlier { id: id.to_string() }
                } else {
                    ScenarioErrorKind::UnknownAwaitedStep { id: id.to_string() }
                };
                let names: Vec<&str> = background.keys().map(String::as_str).collect();
                let help = if names.is_empty() {
                    "no step above this one has `background: true`".to_string()
                } else {
                    format!("background steps above this one: {}", names.join(", "))
                };
                return self.fail_help(at, kind, help);
            }
            let line = at.map_or(0, |at| self.src.location_of(at.offset).line);
            match background.get_mut(id) {
                None => {
                    return self.fail_help(
                        at,
                        ScenarioErrorKind::AwaitNotBackground { id: id.to_string() },
                        format!("add `background: true` to step `{id}`, or drop it from `await`: it has finished"),
                    );
                }
                Some(Some(first)) => {
                    return self.fail_help(
                        at,
                        ScenarioErrorKind::AwaitedTwice { id: id.to_string() },
                        format!("step `{id}` is awaited at line {first}"),
                    );
                }
                Some(first) => *first = Some(line),
            }
            out.push(id.to_string());
        }
        Ok(out)
    }

    /// A step id no earlier step has; `id` is located at the step that writes it.
    fn file_step_id(&self, id: &Spanned<String>, ids: &BTreeMap<String, usize>) -> Result<(), ScenarioError> {
        match ids.get(&id.value) {
            Some(first_line) => self.fail_help(
                self.src.span_of(id),
                ScenarioErrorKind::DuplicateStepId { id: id.value.clone() },
                format!("the first step `{}` is at line {first_line}", id.value),
            ),
            None => Ok(()),
        }
    }

    pub(super) fn step(&self, step: &Spanned<StepFile>, scope: &Scope, replicas: usize) -> Result<Step, ScenarioError> {
        let s = &step.value;
        let at = self.src.span_of(step);
        if s.id.value.trim().is_empty() {
            return self.fail(self.src.span_of(&s.id), ScenarioErrorKind::Empty { what: "step id" });
        }
        if let Some(with) = &s.with {
            return self.fail_help(
                self.src.key_span(at, self.src.span_of(with), "with"),
                ScenarioErrorKind::WithoutInclude,
                "add `include: PATH` (a fragment file) to this step, or remove `with`",
            );
        }
        if s.request.is_none() {
            if s.sleep.is_none() && s.awaits.is_none() {
                return self.fail_help(
                    at,
                    ScenarioErrorKind::EmptyStep { id: s.id.value.clone() },
                    "add a `request:` to send, a `sleep:` to wait, or an `await:` for a background step",
                );
            }
            let needs_request = [
                ("actor", s.actor.as_ref().map(|n| n.referenced)),
                ("on", s.on.as_ref().map(|n| n.referenced)),
                ("expect", s.expect.as_ref().map(|n| n.referenced)),
                ("capture", s.capture.as_ref().map(|n| n.referenced)),
                ("retry", s.retry.as_ref().map(|n| n.referenced)),
                ("background", s.background.as_ref().filter(|b| b.value).map(|n| n.referenced)),
            ];
            if let Some((field, loc)) = needs_request.into_iter().find_map(|(f, l)| Some((f, l?))) {
                return self.fail_help(
                    self.src.key_span(at, self.src.span(&loc), field),
                    ScenarioErrorKind::NeedsRequest { field },
                    format!("add a `request:` to this step, or move `{field}` to the step that sends it"),
                );
            }
        }
        let sleep = s.sleep.as_ref().map(|d| self.duration(d)).transpose()?;
        let on = match &s.on {
            Some(on) => {
                let index = usize::try_from(on.value.0).unwrap_or(usize::MAX);
                if index >= replicas {
                    return self.fail_help(
                        self.src.span_of(on),
                        ScenarioErrorKind::OnOutOfRange { on: on.value.0, replicas },
                        "declare `reference: {replicas: N}` with N above every `on`",
                    );
                }
                Some(index)
            }
            None => None,
        };
        let request = match &s.request {
            Some(request) => Some(self.request(&request.value, s.actor.as_ref(), at, scope)?),
            None => None,
        };
        let expect = match &s.expect {
            Some(expect) => self.expect(expect, scope)?,
            None => Expect::default(),
        };
        let capture = match &s.capture {
            Some(capture) => self.captures(&capture.value)?,
            None => Vec::new(),
        };
        let retry = s.retry.as_ref().map(|r| self.retry(&r.value, scope)).transpose()?;
        Ok(Step {
            id: s.id.value.clone(),
            location: self.src.model_location(step),
            sleep,
            on,
            request,
            expect,
            capture,
            retry,
            background: s.background.as_ref().is_some_and(|b| b.value),
            awaits: Vec::new(),
            origin: None,
        })
    }

    pub(super) fn captures(&self, map: &SpannedMap<Spanned<String>>) -> Result<Vec<Capture>, ScenarioError> {
        let mut out = Vec::with_capacity(map.0.len());
        for (name, path) in &map.0 {
            if !is_variable_name(&name.value) {
                return self
                    .fail(self.src.span_of(name), ScenarioErrorKind::InvalidVariableName { name: name.value.clone() });
            }
            if name.value == RUN_ID {
                return self.fail(self.src.span_of(name), ScenarioErrorKind::CaptureIntoBuiltin);
            }
            out.push(Capture {
                variable: name.value.clone(),
                path_text: path.value.clone(),
                path: self.json_path(path)?,
            });
        }
        Ok(out)
    }

    pub(super) fn retry(&self, r: &RetryFile, scope: &Scope) -> Result<Retry, ScenarioError> {
        let until = self.expect(&r.until, scope)?;
        let timeout = self.duration(&r.timeout)?;
        let (interval, interval_at) = match &r.interval {
            Some(text) => (self.duration(text)?, self.src.span_of(text)),
            None => (DEFAULT_RETRY_INTERVAL, self.src.span_of(&r.timeout)),
        };
        if interval.is_zero() {
            return self.fail(interval_at, ScenarioErrorKind::ZeroInterval);
        }
        if interval >= timeout {
            return self.fail_help(
                interval_at,
                ScenarioErrorKind::IntervalNotBelowTimeout {
                    interval: humantime::format_duration(interval).to_string(),
                    timeout: humantime::format_duration(timeout).to_string(),
                },
                "shorten `interval` (default 250ms) or lengthen `timeout`",
            );
        }
        Ok(Retry { until, timeout, interval })
    }

    pub(super) fn duration(&self, text: &Spanned<String>) -> Result<Duration, ScenarioError> {
        humantime::parse_duration(text.value.trim()).or_else(|e| {
            self.fail_help(
                self.src.span_of(text),
                ScenarioErrorKind::InvalidDuration { text: text.value.clone(), reason: e.to_string() },
                "write a duration such as `500ms`, `2s` or `1m`",
            )
        })
    }
}

/// Every capture in the file with its step id and line (the first step, when two capture one name).
pub(super) fn all_captures(steps: &Spanned<Vec<Spanned<StepFile>>>) -> BTreeMap<String, (String, usize)> {
    let mut all = BTreeMap::new();
    for step in &steps.value {
        for (name, _) in step.value.capture.iter().flat_map(|c| &c.value.0) {
            let line = usize::try_from(name.referenced.line()).unwrap_or(0);
            all.entry(name.value.clone()).or_insert((step.value.id.value.clone(), line));
        }
    }
    all
}

/// The variables a template of step `index` may use: the built-ins, the captures of the foreground
/// steps before it, and the captures of the background steps awaited at or before it.
pub(super) fn known_at(steps: &[Step], index: usize, builtins: &BTreeSet<String>) -> BTreeSet<String> {
    let mut known = builtins.clone();
    for (i, step) in steps.iter().enumerate().take(index.saturating_add(1)) {
        if i < index && !step.background {
            known.extend(step.capture.iter().map(|c| c.variable.clone()));
        }
        for capture in
            step.awaits.iter().flat_map(|id| steps.iter().filter(move |s| &s.id == id)).flat_map(|s| &s.capture)
        {
            known.insert(capture.variable.clone());
        }
    }
    known
}
