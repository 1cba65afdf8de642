//! `include:` steps and the fragment files they name.
//!
//! A fragment's steps are validated in the fragment's own text (so an error there names the
//! fragment's line and column, and the include steps that brought it in), seeing `run_id`, the
//! fragment's parameters and their own captures. They are then copied into the including file: every
//! parameter replaced by the include step's value (or the default), step ids prefixed with the include
//! step's id (`setup.create-org`) and captures renamed the same way (`{{setup.org_id}}`), so a fragment
//! included twice sets up two independent sets of objects. Nothing downstream knows about fragments but
//! the [`Origin`] of each step, which says where it is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use serde_saphyr::Spanned;

use super::text::is_variable_name;
use super::{Checker, RUN_ID, ScenarioError, ScenarioErrorKind, Scope, Source, decode};
use crate::file::{FragmentFile, StepFile};
use crate::model::{
    Actor, Body, BodyAssertion, ErrorAssertion, Expect, HeaderAssertion, HeaderPredicate, IncludeSite, MessageMatch,
    Origin, PathQuery, Predicate, Request, Retry, Step, TextPattern,
};
use crate::template::{Splice, Template};

/// Most replicas a fragment checked on its own may name in `on:`; an include checks it against the
/// scenario's own number.
const ANY_REPLICAS: usize = super::MAX_REPLICAS as usize;

/// One file on the include stack: the key that identifies it, and its path as reached.
#[derive(Clone, Debug)]
pub(super) struct StackEntry {
    key: PathBuf,
    shown: PathBuf,
}

impl StackEntry {
    pub(super) fn of(path: &Path) -> StackEntry {
        let shown = normalize(path);
        // The canonical path, when the file exists, so two spellings of one file are one.
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| shown.clone());
        StackEntry { key, shown }
    }
}

/// The byte offset of the `fragment` key of a fragment file: a line of the file that starts with
/// `fragment:` (only a top-level key can start at column 1).
pub(super) fn fragment_key(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let key = line.strip_prefix(['"', '\'']).unwrap_or(line);
        if let Some(rest) = key.strip_prefix("fragment")
            && rest.trim_start_matches(['"', '\'']).starts_with(':')
        {
            return Some(offset + line.len() - key.len());
        }
        offset += line.len();
    }
    None
}

/// Whether the text is a fragment file rather than a scenario.
pub(super) fn is_fragment(text: &str) -> bool {
    fragment_key(text).is_some()
}

/// A fragment's parameter value, ready to splice.
enum Param {
    /// A string: a template of the including file's variables.
    Text(Template),
    /// Any other JSON value.
    Json(Value),
}

/// A fragment's validated parameters (name, default) and steps.
struct Fragment {
    params: Vec<(String, Option<Value>)>,
    steps: Vec<Step>,
}

impl Checker<'_> {
    /// The steps the include step `step` stands for, in order.
    pub(super) fn include(
        &self,
        step: &Spanned<StepFile>,
        include: &Spanned<String>,
        scope: &Scope,
        replicas: usize,
    ) -> Result<Vec<Step>, ScenarioError> {
        let s = &step.value;
        let at = self.src.span_of(step);
        let others = [
            ("actor", s.actor.as_ref().map(|n| n.referenced)),
            ("sleep", s.sleep.as_ref().map(|n| n.referenced)),
            ("on", s.on.as_ref().map(|n| n.referenced)),
            ("request", s.request.as_ref().map(|n| n.referenced)),
            ("expect", s.expect.as_ref().map(|n| n.referenced)),
            ("capture", s.capture.as_ref().map(|n| n.referenced)),
            ("retry", s.retry.as_ref().map(|n| n.referenced)),
            ("background", s.background.as_ref().map(|n| n.referenced)),
            ("await", s.awaits.as_ref().map(|n| n.referenced)),
        ];
        if let Some((field, loc)) = others.into_iter().find_map(|(f, l)| Some((f, l?))) {
            return self.fail_help(
                self.src.key_span(at, self.src.span(&loc), field),
                ScenarioErrorKind::IncludeWithOtherField { field },
                format!("move `{field}` to a step of its own"),
            );
        }
        let include_at = self.src.span_of(include);
        let path = normalize(&self.path.parent().unwrap_or(Path::new("")).join(&include.value));
        let site = IncludeSite { file: self.path.to_path_buf(), location: self.src.model_location(step) };
        let mut sites = vec![site.clone()];
        sites.extend(self.included_from.iter().cloned());
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                return self.fail_help(
                    include_at,
                    ScenarioErrorKind::UnreadableFragment { path, error },
                    "the path is relative to this file, e.g. `../fragments/org-with-admin.yaml`",
                );
            }
        };
        let text = decode(bytes, &path).map_err(|e| e.with_includes(&sites))?;
        if !is_fragment(&text) {
            return self.fail_help(
                include_at,
                ScenarioErrorKind::NotAFragment { path },
                "a fragment file starts with `fragment: what it sets up`, then `params` and `steps`",
            );
        }
        let entry = StackEntry::of(&path);
        if let Some(first) = self.stack.iter().position(|e| e.key == entry.key) {
            let chain = self.stack[first..].iter().chain([&entry]).map(|e| e.shown.clone()).collect();
            return self.fail(include_at, ScenarioErrorKind::IncludeCycle { chain });
        }
        let mut stack = self.stack.clone();
        stack.push(entry);
        let inner = Checker { src: Source { text: &text }, path: &path, included_from: sites, stack };
        let fragment = inner.fragment(replicas)?;
        let params = self.bind(s, include_at, &fragment, &path, scope)?;
        let captures = fragment.steps.iter().flat_map(|s| s.capture.iter().map(|c| c.variable.clone())).collect();
        let bindings = Bindings { prefix: &s.id.value, params, captures };
        Ok(fragment.steps.into_iter().map(|step| bindings.step(step, &path, &site)).collect())
    }

    /// The values of the fragment's parameters: `with:`, validated in this file's scope, then defaults.
    fn bind(
        &self,
        s: &StepFile,
        include_at: Option<super::Span>,
        fragment: &Fragment,
        path: &Path,
        scope: &Scope,
    ) -> Result<BTreeMap<String, Param>, ScenarioError> {
        let mut values = BTreeMap::new();
        for (name, value) in s.with.iter().flat_map(|w| &w.value.0) {
            if !fragment.params.iter().any(|(p, _)| *p == name.value) {
                let known: Vec<String> = fragment.params.iter().map(|(p, _)| p.clone()).collect();
                return self.fail_help(
                    self.src.span_of(name),
                    ScenarioErrorKind::UnknownParam { name: name.value.clone(), fragment: path.to_path_buf(), known },
                    "the fragment's `params:` names the parameters it takes",
                );
            }
            values.insert(name.value.clone(), param(self.json(value, scope)?));
        }
        for (name, default) in &fragment.params {
            if values.contains_key(name) {
                continue;
            }
            let Some(default) = default else {
                return self.fail_help(
                    include_at,
                    ScenarioErrorKind::MissingParam { name: name.clone(), fragment: path.to_path_buf() },
                    format!("add `with: {{{name}: …}}` to this step"),
                );
            };
            values.insert(name.clone(), param(default.clone()));
        }
        Ok(values)
    }

    /// This text as a fragment: its parameters and validated steps (which may include fragments of
    /// their own). `replicas` bounds `on:`.
    fn fragment(&self, replicas: usize) -> Result<Fragment, ScenarioError> {
        let file: FragmentFile = self.deserialize()?;
        if file.fragment.value.trim().is_empty() {
            return self.fail(self.src.span_of(&file.fragment), ScenarioErrorKind::Empty { what: "fragment title" });
        }
        let mut params = Vec::with_capacity(file.params.0.len());
        let mut known = BTreeSet::from([RUN_ID.to_string()]);
        let defaults_scope =
            Scope { known: known.clone(), all_captures: BTreeMap::new(), not_awaited: BTreeMap::new() };
        for (name, spec) in &file.params.0 {
            if !is_variable_name(&name.value) || name.value.contains('.') || name.value == RUN_ID {
                return self
                    .fail(self.src.span_of(name), ScenarioErrorKind::InvalidParamName { name: name.value.clone() });
            }
            let default = spec.value.default.as_ref().map(|d| self.json(d, &defaults_scope)).transpose()?;
            known.insert(name.value.clone());
            params.push((name.value.clone(), default));
        }
        for step in &file.steps.value {
            for (name, _) in step.value.capture.iter().flat_map(|c| &c.value.0) {
                if params.iter().any(|(p, _)| *p == name.value) {
                    return self.fail_help(
                        self.src.span_of(name),
                        ScenarioErrorKind::CaptureShadowsParam { name: name.value.clone() },
                        "a parameter and a capture of one fragment need different names",
                    );
                }
            }
        }
        let steps = self.steps(&file.steps, &known, replicas)?;
        Ok(Fragment { params, steps })
    }
}

/// Checks a fragment file on its own, as a scenario run finds it among scenario files: every step as
/// it would be included, with each parameter standing for any value.
pub(super) fn check_fragment(text: &str, path: &Path) -> Result<(), ScenarioError> {
    Checker::new(text, path).fragment(ANY_REPLICAS).map(|_| ())
}

fn param(value: Value) -> Param {
    match value {
        Value::String(text) => Param::Text(Template::parse(&text).unwrap_or_else(|_| Template::literal(&text))),
        other => Param::Json(other),
    }
}

/// `path` with `.` and `dir/..` taken out, so a fragment reached as `scenarios/x/../fragments/f.yaml`
/// is named `scenarios/fragments/f.yaml` in reports.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What one include binds: the include step's id and the fragment's parameter values and captures.
struct Bindings<'b> {
    prefix: &'b str,
    params: BTreeMap<String, Param>,
    captures: BTreeSet<String>,
}

impl Bindings<'_> {
    fn step(&self, step: Step, file: &Path, site: &IncludeSite) -> Step {
        let origin = match step.origin {
            None => Origin { file: file.to_path_buf(), included_from: vec![site.clone()] },
            Some(origin) => {
                let mut origin = Arc::unwrap_or_clone(origin);
                origin.included_from.push(site.clone());
                origin
            }
        };
        Step {
            id: format!("{}.{}", self.prefix, step.id),
            request: step.request.map(|r| self.request(r)),
            expect: self.expect(step.expect),
            capture: step
                .capture
                .into_iter()
                .map(|mut c| {
                    c.variable = self.renamed(&c.variable);
                    c
                })
                .collect(),
            retry: step.retry.map(|r| Retry { until: self.expect(r.until), ..r }),
            origin: Some(Arc::new(origin)),
            ..step
        }
    }

    fn renamed(&self, variable: &str) -> String {
        format!("{}.{variable}", self.prefix)
    }

    fn template(&self, template: &Template) -> Template {
        template.splice(&|name| match self.params.get(name) {
            Some(Param::Text(value)) => Splice::Template(value.clone()),
            Some(Param::Json(value)) => Splice::Text(value.to_string()),
            None if self.captures.contains(name) => Splice::Rename(self.renamed(name)),
            None => Splice::Keep,
        })
    }

    /// A JSON value whose strings are templates; a string that is one parameter alone becomes the
    /// parameter's value, with its JSON type.
    fn json(&self, value: Value) -> Value {
        match value {
            Value::String(text) => {
                let Ok(template) = Template::parse(&text) else { return Value::String(text) };
                if let Some(Param::Json(value)) = template.lone_variable().and_then(|name| self.params.get(name)) {
                    return value.clone();
                }
                Value::String(self.template(&template).as_str().to_string())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, v)| {
                        let key = match Template::parse(&key) {
                            Ok(template) => self.template(&template).as_str().to_string(),
                            Err(_) => key,
                        };
                        (key, self.json(v))
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn request(&self, r: Request) -> Request {
        Request {
            actor: match r.actor {
                Actor::Key(key) => Actor::Key(self.template(&key)),
                other => other,
            },
            path: self.template(&r.path),
            query: r.query.into_iter().map(|(name, value)| (name, self.template(&value))).collect(),
            headers: r.headers.into_iter().map(|(name, value)| (name, self.template(&value))).collect(),
            body: r.body.map(|body| match body {
                Body::Json(value) => Body::Json(self.json(value)),
                Body::Raw(text) => Body::Raw(self.template(&text)),
            }),
            ..r
        }
    }

    fn expect(&self, e: Expect) -> Expect {
        Expect {
            status: e.status,
            body: e.body.into_iter().map(|a| self.body_assertion(a)).collect(),
            headers: e.headers.into_iter().map(|a| self.header_assertion(a)).collect(),
            error: e.error.map(|a| self.error_assertion(a)),
            any_of: e.any_of.into_iter().map(|alternative| self.expect(alternative)).collect(),
        }
    }

    fn body_assertion(&self, a: BodyAssertion) -> BodyAssertion {
        let path = match a.path {
            PathQuery::Templated(template) => PathQuery::Templated(self.template(&template)),
            compiled => compiled,
        };
        let predicate = match a.predicate {
            Predicate::Equals(value) => Predicate::Equals(self.json(value)),
            Predicate::Contains(value) => Predicate::Contains(self.json(value)),
            Predicate::Matches(pattern) => Predicate::Matches(self.pattern(pattern)),
            other => other,
        };
        BodyAssertion { path, predicate, ..a }
    }

    fn header_assertion(&self, a: HeaderAssertion) -> HeaderAssertion {
        let predicate = match a.predicate {
            HeaderPredicate::Equals(text) => HeaderPredicate::Equals(self.template(&text)),
            HeaderPredicate::Contains(text) => HeaderPredicate::Contains(self.template(&text)),
            HeaderPredicate::Matches(pattern) => HeaderPredicate::Matches(self.pattern(pattern)),
            other => other,
        };
        HeaderAssertion { predicate, ..a }
    }

    fn error_assertion(&self, a: ErrorAssertion) -> ErrorAssertion {
        let message = a
            .message
            .into_iter()
            .map(|m| match m {
                MessageMatch::Contains(text) => MessageMatch::Contains(self.template(&text)),
                MessageMatch::ContainsAny(texts) => {
                    MessageMatch::ContainsAny(texts.iter().map(|t| self.template(t)).collect())
                }
                MessageMatch::Matches(pattern) => MessageMatch::Matches(self.pattern(pattern)),
            })
            .collect();
        ErrorAssertion { message, ..a }
    }

    /// A pattern with placeholders stays one: the runner compiles it once rendered, as it does any.
    fn pattern(&self, pattern: TextPattern) -> TextPattern {
        match pattern {
            TextPattern::Templated(template) => TextPattern::Templated(self.template(&template)),
            compiled => compiled,
        }
    }
}
