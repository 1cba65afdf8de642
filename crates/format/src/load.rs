//! Parse and validate a scenario file.
//!
//! The YAML is read into the serde mirror of `file.rs` first, so syntax and type errors come from
//! serde-saphyr with their line and column; the mirror is then validated here into the model of
//! `model.rs`. Validation stops at the first problem and reports it as a [`ScenarioError`] that
//! points into the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use miette::SourceSpan;
use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use super::file::{
    BodyAssertionFile, ErrorFile, ExpectFile, HeaderAssertionFile, ReferenceFile, ReproductionFile, RequestFile,
    RetryFile, ScenarioFile, SpannedMap, StatusItem, StatusSpec, StepFile,
};
use super::mock::MockSpec;
use super::model::{
    Actor, Body, BodyAssertion, Capability, Capture, ErrorAssertion, Expect, HeaderAssertion, HeaderPredicate,
    MessageMatch, PathQuery, Predicate, ReferenceSettings, Reproduction, Request, Retry, Scenario, Step, TextPattern,
    Variables,
};
use super::template::Template;
use crate::quirk::Quirk;

mod error;
mod expect_any;
mod matrix;
mod mocks;
mod source;

pub use error::{ScenarioError, ScenarioErrorKind};
use source::{Source, Span};

/// The built-in variable every template may use.
const RUN_ID: &str = "run_id";

/// Methods a request may use, upper-case.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The only setting `reference.env` knows.
const CACHE_TTL: &str = crate::model::CACHE_TTL_ENV;

const BODY_PREDICATES: &str = "equals, contains, exists, absent, length, matches";
const HEADER_PREDICATES: &str = "equals, contains, matches, exists, absent";
const ERROR_KEYS: &str = "message_contains, message_contains_any, message_matches, type, code";

/// Most proxies a scenario may ask the reference to run on one database.
const MAX_REPLICAS: u64 = 8;

/// Time between retries when `interval` is not given.
const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_millis(250);

/// Reads and validates one scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let source = std::fs::read_to_string(path).map_err(|error| ScenarioError::unreadable(path, error))?;
    parse_str(&source, path)
}

/// Parses and validates scenario text; `path` names it in errors.
pub fn parse_str(source: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let checker = Checker { src: Source { text: source }, path };
    let file: ScenarioFile = serde_saphyr::from_str(source).map_err(|error| checker.yaml_error(&error))?;
    checker.scenario(&file)
}

/// The scenario files under `paths` (files as given, directories walked for `*.yaml`/`*.yml`), sorted.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| naming(path, e))?;
        if meta.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| naming(dir, e))? {
        let path = entry.map_err(|e| naming(dir, e))?.path();
        // `metadata` follows symlinks, so a linked directory of scenarios is walked too.
        let meta = std::fs::metadata(&path).map_err(|e| naming(&path, e))?;
        if meta.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
            found.push(path);
        }
    }
    Ok(())
}

/// An IO error that says which path it is about (std's own messages do not).
fn naming(path: &Path, error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("failed to read {}: {error}", path.display()))
}

/// Variables a template may use at one point of the file.
struct Scope {
    known: BTreeSet<String>,
    /// Every capture in the file with its step id and line, to explain a use before the capture.
    all_captures: BTreeMap<String, (String, usize)>,
}

/// Validates the serde mirror against one source text; knows how to point into it.
struct Checker<'s> {
    src: Source<'s>,
    path: &'s Path,
}

impl Checker<'_> {
    fn error(&self, at: Option<Span>, kind: ScenarioErrorKind, help: Option<String>) -> ScenarioError {
        let at = at.map(|s| (self.src.location_of(s.offset), SourceSpan::new(s.offset.into(), s.len)));
        ScenarioError::in_source(self.path, self.src.text, at, kind, help)
    }

    fn fail<T>(&self, at: Option<Span>, kind: ScenarioErrorKind) -> Result<T, ScenarioError> {
        Err(self.error(at, kind, None))
    }

    fn fail_help<T>(
        &self,
        at: Option<Span>,
        kind: ScenarioErrorKind,
        help: impl Into<String>,
    ) -> Result<T, ScenarioError> {
        Err(self.error(at, kind, Some(help.into())))
    }

    fn yaml_error(&self, error: &serde_saphyr::Error) -> ScenarioError {
        let raw = UserMessageFormatter.format_message(error);
        let message = plain_yaml_message(&raw);
        let mut at = error.location().and_then(|loc| self.src.span(&loc));
        // serde-saphyr locates a value rejected by a visitor at its key; the value is what is wrong.
        if message.starts_with("invalid type") || message.starts_with("invalid value") {
            at = at.map(|key| self.src.value_after_key(key).unwrap_or(key));
        }
        let help = message.starts_with("missing field").then(|| "add the field to this mapping".to_string());
        self.error(at, ScenarioErrorKind::Yaml { message }, help)
    }

    fn scenario(&self, file: &ScenarioFile) -> Result<Scenario, ScenarioError> {
        let id = &file.id.value;
        if !is_scenario_id(id) {
            return self.fail_help(
                self.src.span_of(&file.id),
                ScenarioErrorKind::InvalidId { id: id.clone() },
                "for example `org-admin-updates-team`",
            );
        }
        if file.title.value.trim().is_empty() {
            return self.fail(self.src.span_of(&file.title), ScenarioErrorKind::Empty { what: "title" });
        }
        let mut requires = Vec::new();
        for name in &file.requires {
            let Some(capability) = Capability::ALL.iter().find(|c| c.name() == name.value) else {
                return self
                    .fail(self.src.span_of(name), ScenarioErrorKind::UnknownCapability { name: name.value.clone() });
            };
            if !requires.contains(capability) {
                requires.push(*capability);
            }
        }
        let reference = match &file.reference {
            Some(reference) => self.reference(reference)?,
            None => ReferenceSettings::default(),
        };
        let mocks = self.mocks(&file.mocks)?;
        let builtins = builtin_variables(&mocks);
        let mut steps = self.steps(&file.steps, &builtins, reference.replicas)?;
        if let Some(matrix) = &file.matrix {
            steps.extend(self.matrix(matrix, &steps, &builtins)?);
        }
        let reproduces =
            file.reproduces.as_ref().map(|r| self.reproduction(r, &file.steps, &steps, &builtins)).transpose()?;
        Ok(Scenario {
            source: self.path.to_path_buf(),
            id: id.clone(),
            title: file.title.value.clone(),
            description: file.description.clone(),
            upstream: file.upstream.clone(),
            tags: file.tags.clone(),
            requires,
            reference,
            mocks,
            steps,
            reproduces,
        })
    }

    /// `reproduces:`, checked against the validated steps: a known quirk, a step of this file that
    /// sends a request, and `observed` using only the variables known at that step.
    fn reproduction(
        &self,
        r: &Spanned<ReproductionFile>,
        file_steps: &Spanned<Vec<Spanned<StepFile>>>,
        steps: &[Step],
        builtins: &BTreeSet<String>,
    ) -> Result<Reproduction, ScenarioError> {
        let ReproductionFile { quirk, fails_at, observed } = &r.value;
        let Ok(parsed) = quirk.value.parse::<Quirk>() else {
            return self.fail_help(
                self.src.span_of(quirk),
                ScenarioErrorKind::UnknownQuirk { name: quirk.value.clone() },
                "`gateproof quirks` lists the quirks with their upstream issues",
            );
        };
        let Some(index) = steps.iter().position(|s| s.id == fails_at.value) else {
            return self.fail_help(
                self.src.span_of(fails_at),
                ScenarioErrorKind::UnknownFailsAtStep { id: fails_at.value.clone() },
                format!("steps of this file: {}", steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")),
            );
        };
        if steps[index].request.is_none() {
            return self.fail(
                self.src.span_of(fails_at),
                ScenarioErrorKind::FailsAtWithoutRequest { id: fails_at.value.clone() },
            );
        }
        let mut known = builtins.clone();
        known.extend(steps[..index].iter().flat_map(|s| s.capture.iter().map(|c| c.variable.clone())));
        let scope = Scope { known, all_captures: all_captures(file_steps) };
        Ok(Reproduction {
            location: self.src.model_location(r),
            quirk: parsed,
            fails_at: fails_at.value.clone(),
            observed: self.expect(observed, &scope)?,
        })
    }

    fn reference(&self, reference: &ReferenceFile) -> Result<ReferenceSettings, ScenarioError> {
        let mut settings = ReferenceSettings::default();
        if let Some(replicas) = &reference.replicas {
            let n = replicas.value.0;
            if !(1..=MAX_REPLICAS).contains(&n) {
                return self.fail(
                    self.src.span_of(replicas),
                    ScenarioErrorKind::ReplicasOutOfRange { replicas: n, max: MAX_REPLICAS },
                );
            }
            settings.replicas = usize::try_from(n).unwrap_or(1);
        }
        for (name, value) in &reference.env.0 {
            if name.value != CACHE_TTL {
                return self.fail_help(
                    self.src.span_of(name),
                    ScenarioErrorKind::UnknownReferenceSetting { name: name.value.clone() },
                    "`reference.env` sets the in-process reference proxy only, and knows one name",
                );
            }
            let text = value.value.0.trim();
            let seconds = text.parse::<u64>().ok().filter(|_| text.chars().all(|c| c.is_ascii_digit()));
            let Some(seconds) = seconds else {
                return self.fail_help(
                    self.src.span_of(value),
                    ScenarioErrorKind::InvalidCacheTtl { value: value.value.0.clone() },
                    "write whole seconds, e.g. `0` to turn the cache off",
                );
            };
            settings.cache_ttl = Some(Duration::from_secs(seconds));
        }
        Ok(settings)
    }

    fn steps(
        &self,
        steps: &Spanned<Vec<Spanned<StepFile>>>,
        builtins: &BTreeSet<String>,
        replicas: usize,
    ) -> Result<Vec<Step>, ScenarioError> {
        if steps.value.is_empty() {
            return self.fail(self.src.span_of(steps), ScenarioErrorKind::NoSteps);
        }
        let mut scope = Scope { known: builtins.clone(), all_captures: all_captures(steps) };
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut out = Vec::with_capacity(steps.value.len());
        for step in &steps.value {
            let id = &step.value.id;
            if let Some(first_line) = ids.get(id.value.as_str()) {
                return self.fail_help(
                    self.src.span_of(id),
                    ScenarioErrorKind::DuplicateStepId { id: id.value.clone() },
                    format!("the first step `{}` is at line {first_line}", id.value),
                );
            }
            ids.insert(&id.value, usize::try_from(id.referenced.line()).unwrap_or(0));
            let checked = self.step(step, &scope, replicas)?;
            scope.known.extend(checked.capture.iter().map(|c| c.variable.clone()));
            out.push(checked);
        }
        Ok(out)
    }

    fn step(&self, step: &Spanned<StepFile>, scope: &Scope, replicas: usize) -> Result<Step, ScenarioError> {
        let s = &step.value;
        let at = self.src.span_of(step);
        if s.id.value.trim().is_empty() {
            return self.fail(self.src.span_of(&s.id), ScenarioErrorKind::Empty { what: "step id" });
        }
        if s.request.is_none() {
            if s.sleep.is_none() {
                return self.fail_help(
                    at,
                    ScenarioErrorKind::EmptyStep { id: s.id.value.clone() },
                    "add a `request:` to send, or a `sleep:` to wait",
                );
            }
            let needs_request = [
                ("actor", s.actor.as_ref().map(|n| n.referenced)),
                ("on", s.on.as_ref().map(|n| n.referenced)),
                ("expect", s.expect.as_ref().map(|n| n.referenced)),
                ("capture", s.capture.as_ref().map(|n| n.referenced)),
                ("retry", s.retry.as_ref().map(|n| n.referenced)),
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
        })
    }

    fn request(
        &self,
        r: &RequestFile,
        actor: Option<&Spanned<String>>,
        step: Option<Span>,
        scope: &Scope,
    ) -> Result<Request, ScenarioError> {
        let actor = match actor {
            None => Actor::Admin,
            Some(a) if a.value == "admin" => Actor::Admin,
            Some(a) if a.value == "none" => Actor::Anonymous,
            Some(a) => Actor::Key(self.template(a, scope)?),
        };
        let method = r.method.value.trim().to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return self.fail(
                self.src.span_of(&r.method),
                ScenarioErrorKind::UnknownMethod { method: r.method.value.clone() },
            );
        }
        if !r.path.value.starts_with('/') {
            return self.fail_help(
                self.src.span_of(&r.path),
                ScenarioErrorKind::RelativePath { path: r.path.value.clone() },
                format!("write `/{}`", r.path.value),
            );
        }
        let path = self.template(&r.path, scope)?;
        let mut query = Vec::with_capacity(r.query.0.len());
        for (name, value) in &r.query.0 {
            let text = Spanned::new(value.value.0.clone(), value.referenced, value.defined);
            query.push((name.value.clone(), self.template(&text, scope)?));
        }
        let mut headers = Vec::with_capacity(r.headers.0.len());
        for (name, value) in &r.headers.0 {
            headers.push((name.value.to_ascii_lowercase(), self.template(value, scope)?));
        }
        let body = match (&r.json, &r.body) {
            (Some(_), Some(raw)) => {
                return self.fail_help(
                    self.src.key_span(step, self.src.span_of(raw), "body"),
                    ScenarioErrorKind::JsonAndBody,
                    "keep `json` for a JSON value, or `body` for raw text",
                );
            }
            (Some(json), None) => Some(Body::Json(self.json(json, scope)?)),
            (None, Some(raw)) => Some(Body::Raw(self.template(raw, scope)?)),
            (None, None) => None,
        };
        Ok(Request { actor, method, path, query, headers, body })
    }

    fn expect(&self, e: &Spanned<ExpectFile>, scope: &Scope) -> Result<Expect, ScenarioError> {
        let ExpectFile { status, body, headers, error, any_of } = &e.value;
        if let Some(any_of) = any_of {
            return self.any_of(e, any_of, scope);
        }
        let status = status.as_ref().map(|s| self.status(s)).transpose()?;
        let body = body.iter().map(|a| self.body_assertion(a, scope)).collect::<Result<_, _>>()?;
        let headers = headers.iter().map(|a| self.header_assertion(a, scope)).collect::<Result<_, _>>()?;
        let error = error.as_ref().map(|a| self.error_assertion(a, scope)).transpose()?;
        Ok(Expect { status, body, headers, error, any_of: Vec::new() })
    }

    fn status(&self, status: &Spanned<StatusSpec>) -> Result<Vec<u16>, ScenarioError> {
        let items: Vec<(StatusItem, Option<Span>)> = match &status.value {
            StatusSpec::One(item) => vec![(*item, self.src.span_of(status))],
            StatusSpec::Any(items) => items.iter().map(|c| (c.value, self.src.span_of(c))).collect(),
        };
        if items.is_empty() {
            return self.fail(self.src.span_of(status), ScenarioErrorKind::EmptyStatusList);
        }
        let mut codes = Vec::new();
        for (item, at) in items {
            codes.extend(self.status_item(item, at)?);
        }
        Ok(codes)
    }

    fn body_assertion(&self, item: &Spanned<BodyAssertionFile>, scope: &Scope) -> Result<BodyAssertion, ScenarioError> {
        let a = &item.value;
        let at = self.src.span_of(item);
        let present: Vec<(&'static str, serde_saphyr::Location)> = [
            ("equals", a.equals.as_ref().map(|v| v.referenced)),
            ("contains", a.contains.as_ref().map(|v| v.referenced)),
            ("exists", a.exists.as_ref().map(|v| v.referenced)),
            ("absent", a.absent.as_ref().map(|v| v.referenced)),
            ("length", a.length.as_ref().map(|v| v.referenced)),
            ("matches", a.matches.as_ref().map(|v| v.referenced)),
        ]
        .into_iter()
        .filter_map(|(name, loc)| Some((name, loc?)))
        .collect();
        self.one_predicate(&present, at, "body", BODY_PREDICATES)?;
        let path = self.path_query(&a.path, scope)?;
        let predicate = if let Some(value) = &a.equals {
            Predicate::Equals(self.json(value, scope)?)
        } else if let Some(value) = &a.contains {
            Predicate::Contains(self.json(value, scope)?)
        } else if let Some(exists) = &a.exists {
            if exists.value { Predicate::Exists } else { Predicate::Absent }
        } else if let Some(absent) = &a.absent {
            self.absent(absent)?;
            Predicate::Absent
        } else if let Some(length) = &a.length {
            // A length beyond `usize` can never match, so saturating keeps the assertion honest.
            Predicate::Length(usize::try_from(length.value.0).unwrap_or(usize::MAX))
        } else if let Some(pattern) = &a.matches {
            Predicate::Matches(self.pattern(pattern, scope)?)
        } else {
            // `one_predicate` has ensured one of the above is present.
            return self.fail(
                at,
                ScenarioErrorKind::PredicateCount { what: "body", found: Vec::new(), allowed: BODY_PREDICATES },
            );
        };
        Ok(BodyAssertion { location: self.src.model_location(item), path_text: a.path.value.clone(), path, predicate })
    }

    fn header_assertion(
        &self,
        item: &Spanned<HeaderAssertionFile>,
        scope: &Scope,
    ) -> Result<HeaderAssertion, ScenarioError> {
        let a = &item.value;
        let at = self.src.span_of(item);
        let present: Vec<(&'static str, serde_saphyr::Location)> = [
            ("equals", a.equals.as_ref().map(|v| v.referenced)),
            ("contains", a.contains.as_ref().map(|v| v.referenced)),
            ("matches", a.matches.as_ref().map(|v| v.referenced)),
            ("exists", a.exists.as_ref().map(|v| v.referenced)),
            ("absent", a.absent.as_ref().map(|v| v.referenced)),
        ]
        .into_iter()
        .filter_map(|(name, loc)| Some((name, loc?)))
        .collect();
        self.one_predicate(&present, at, "header", HEADER_PREDICATES)?;
        let predicate = if let Some(text) = &a.equals {
            HeaderPredicate::Equals(self.template(text, scope)?)
        } else if let Some(text) = &a.contains {
            HeaderPredicate::Contains(self.template(text, scope)?)
        } else if let Some(pattern) = &a.matches {
            HeaderPredicate::Matches(self.pattern(pattern, scope)?)
        } else if let Some(exists) = &a.exists {
            if exists.value { HeaderPredicate::Exists } else { HeaderPredicate::Absent }
        } else if let Some(absent) = &a.absent {
            self.absent(absent)?;
            HeaderPredicate::Absent
        } else {
            return self.fail(
                at,
                ScenarioErrorKind::PredicateCount { what: "header", found: Vec::new(), allowed: HEADER_PREDICATES },
            );
        };
        Ok(HeaderAssertion {
            location: self.src.model_location(item),
            name: a.name.value.to_ascii_lowercase(),
            predicate,
        })
    }

    /// Exactly one predicate: none points at the assertion, two or more at the second one.
    fn one_predicate(
        &self,
        present: &[(&'static str, serde_saphyr::Location)],
        at: Option<Span>,
        what: &'static str,
        allowed: &'static str,
    ) -> Result<(), ScenarioError> {
        let found: Vec<&'static str> = present.iter().map(|(name, _)| *name).collect();
        match present {
            [_] => Ok(()),
            [] => self.fail_help(
                at,
                ScenarioErrorKind::PredicateCount { what, found, allowed },
                format!("add one of {allowed}"),
            ),
            [_, (second, loc), ..] => self.fail_help(
                self.src.key_span(at, self.src.span(loc), second),
                ScenarioErrorKind::PredicateCount { what, found, allowed },
                "write one assertion per predicate",
            ),
        }
    }

    fn absent(&self, absent: &Spanned<bool>) -> Result<(), ScenarioError> {
        if absent.value {
            return Ok(());
        }
        self.fail_help(
            self.src.span_of(absent),
            ScenarioErrorKind::AbsentFalse,
            "use `exists: true` to require the node",
        )
    }

    fn error_assertion(&self, item: &Spanned<ErrorFile>, scope: &Scope) -> Result<ErrorAssertion, ScenarioError> {
        let ErrorFile { message_contains, message_contains_any, message_matches, error_type, code } = &item.value;
        if message_contains.is_none()
            && message_contains_any.is_none()
            && message_matches.is_none()
            && error_type.is_none()
            && code.is_none()
        {
            return self.fail(self.src.span_of(item), ScenarioErrorKind::EmptyErrorAssertion);
        }
        let mut message = Vec::new();
        if let Some(text) = message_contains {
            message.push(MessageMatch::Contains(self.template(text, scope)?));
        }
        if let Some(any) = message_contains_any {
            if any.value.is_empty() {
                return self.fail(self.src.span_of(any), ScenarioErrorKind::EmptyMessageList);
            }
            let texts = any.value.iter().map(|t| self.template(t, scope)).collect::<Result<_, _>>()?;
            message.push(MessageMatch::ContainsAny(texts));
        }
        if let Some(pattern) = message_matches {
            message.push(MessageMatch::Matches(self.pattern(pattern, scope)?));
        }
        Ok(ErrorAssertion {
            location: self.src.model_location(item),
            message,
            error_type: error_type.clone(),
            code: code.as_ref().map(|c| c.0.clone()),
        })
    }

    fn captures(&self, map: &SpannedMap<Spanned<String>>) -> Result<Vec<Capture>, ScenarioError> {
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

    fn retry(&self, r: &RetryFile, scope: &Scope) -> Result<Retry, ScenarioError> {
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

    fn duration(&self, text: &Spanned<String>) -> Result<Duration, ScenarioError> {
        humantime::parse_duration(text.value.trim()).or_else(|e| {
            self.fail_help(
                self.src.span_of(text),
                ScenarioErrorKind::InvalidDuration { text: text.value.clone(), reason: e.to_string() },
                "write a duration such as `500ms`, `2s` or `1m`",
            )
        })
    }

    fn json_path(&self, text: &Spanned<String>) -> Result<JsonPath, ScenarioError> {
        JsonPath::parse(&text.value).or_else(|e| {
            self.fail_help(
                self.src.span_of(text),
                ScenarioErrorKind::InvalidJsonPath { path: text.value.clone(), reason: e.to_string() },
                "JSONPath follows RFC 9535, e.g. `$.team_id` or `$.keys[0].token`",
            )
        })
    }

    /// A body assertion's JSONPath: compiled now unless it holds placeholders; then its variables must
    /// be known here, and it must parse with every placeholder standing for a plain word.
    fn path_query(&self, text: &Spanned<String>, scope: &Scope) -> Result<PathQuery, ScenarioError> {
        let template = self.template(text, scope)?;
        if !template.has_placeholders() {
            return self.json_path(text).map(PathQuery::Compiled);
        }
        let stand_ins: Variables =
            template.variables().map(|name| (name.to_string(), Value::String("x".into()))).collect();
        let sample = template.render(&stand_ins).unwrap_or_default();
        match JsonPath::parse(&sample) {
            Ok(_) => Ok(PathQuery::Templated(template)),
            Err(e) => self.fail_help(
                self.src.span_of(text),
                ScenarioErrorKind::InvalidJsonPath { path: text.value.clone(), reason: e.to_string() },
                "JSONPath follows RFC 9535; a placeholder inside a filter goes in quotes: \
                 `$[?@.team_id == '{{team_id}}']`",
            ),
        }
    }

    /// A regular expression: compiled now unless it holds placeholders.
    fn pattern(&self, text: &Spanned<String>, scope: &Scope) -> Result<TextPattern, ScenarioError> {
        let template = self.template(text, scope)?;
        if template.has_placeholders() {
            return Ok(TextPattern::Templated(template));
        }
        Regex::new(&text.value).map(TextPattern::Compiled).or_else(|e| {
            self.fail(
                self.src.span_of(text),
                ScenarioErrorKind::InvalidRegex { pattern: text.value.clone(), reason: regex_reason(&e) },
            )
        })
    }

    fn template(&self, text: &Spanned<String>, scope: &Scope) -> Result<Template, ScenarioError> {
        let at = self.src.span_of(text);
        let template = Template::parse(&text.value).or_else(|error| {
            self.fail_help(
                at,
                ScenarioErrorKind::InvalidTemplate { text: text.value.clone(), error },
                "a placeholder is `{{name}}`; names use letters, digits, `_`, `-` and `.`",
            )
        })?;
        self.variables(&template, at, true, scope)?;
        Ok(template)
    }

    /// A JSON value whose strings (keys included) are templates.
    fn json(&self, value: &Spanned<Value>, scope: &Scope) -> Result<Value, ScenarioError> {
        let at = self.src.span_of(value);
        // Strings nested in a mapping or list are not located one by one, so search for them from
        // the value's start.
        let nested = value.value.is_object() || value.value.is_array();
        let mut strings = Vec::new();
        json_strings(&value.value, &mut strings);
        for text in strings {
            let template = Template::parse(text).or_else(|error| {
                let text_at = if nested { self.src.find_after(at, text) } else { at };
                self.fail_help(
                    text_at,
                    ScenarioErrorKind::InvalidTemplate { text: text.to_string(), error },
                    "a placeholder is `{{name}}`; names use letters, digits, `_`, `-` and `.`",
                )
            })?;
            self.variables(&template, at, !nested, scope)?;
        }
        Ok(value.value.clone())
    }

    fn variables(
        &self,
        template: &Template,
        at: Option<Span>,
        bounded: bool,
        scope: &Scope,
    ) -> Result<(), ScenarioError> {
        let Some(name) = template.variables().find(|v| !scope.known.contains(*v)) else {
            return Ok(());
        };
        let help = match scope.all_captures.get(name) {
            Some((step, line)) => format!(
                "`{name}` is captured by step `{step}` (line {line}), which does not run before this \
                 template; capture it in an earlier step"
            ),
            None => format!(
                "variables known here: {}",
                scope.known.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
            ),
        };
        self.fail_help(
            self.src.placeholder_span(at, name, bounded),
            ScenarioErrorKind::UnknownVariable { name: name.to_string(), known: scope.known.iter().cloned().collect() },
            help,
        )
    }
}

/// Variables every template may use from the start: `run_id` and each mock's URL.
fn builtin_variables(mocks: &[MockSpec]) -> BTreeSet<String> {
    let mut names = BTreeSet::from([RUN_ID.to_string()]);
    names.extend(mocks.iter().map(MockSpec::url_variable));
    names
}

/// Every capture in the file with its step id and line (the first step, when two capture one name).
fn all_captures(steps: &Spanned<Vec<Spanned<StepFile>>>) -> BTreeMap<String, (String, usize)> {
    let mut all = BTreeMap::new();
    for step in &steps.value {
        for (name, _) in step.value.capture.iter().flat_map(|c| &c.value.0) {
            let line = usize::try_from(name.referenced.line()).unwrap_or(0);
            all.entry(name.value.clone()).or_insert((step.value.id.value.clone(), line));
        }
    }
    all
}

/// serde-saphyr's message, with its terse "expected … start" wording said the way an author thinks.
fn plain_yaml_message(message: &str) -> String {
    const WORDS: [(&str, &str); 3] = [
        ("expected sequence start", "invalid type: expected a list"),
        ("expected mapping start", "invalid type: expected a mapping"),
        ("expected string scalar", "invalid type: expected a string"),
    ];
    WORDS
        .iter()
        .find(|(terse, _)| message == *terse)
        .map_or_else(|| message.to_string(), |(_, plain)| plain.to_string())
}

fn is_scenario_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The same names the template parser accepts inside `{{ }}`.
fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Every string in a JSON value, keys included.
fn json_strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|item| json_strings(item, out)),
        Value::Object(map) => {
            for (key, item) in map {
                out.push(key);
                json_strings(item, out);
            }
        }
        _ => {}
    }
}

/// The one line of a regex error that says what is wrong (its `Display` repeats the pattern with a
/// caret over several lines).
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(|| text.lines().collect::<Vec<_>>().join(" "), str::to_string)
}

#[cfg(test)]
mod tests;
