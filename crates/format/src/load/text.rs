//! Text the run fills in or compiles: templates and their variables, JSONPaths, regular
//! expressions, JSON values.

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;
use serde_saphyr::Spanned;

use super::{Checker, ScenarioError, ScenarioErrorKind, Scope, Span};
use crate::model::{PathQuery, TextPattern, Variables};
use crate::template::Template;

impl Checker<'_> {
    pub(super) fn json_path(&self, text: &Spanned<String>) -> Result<JsonPath, ScenarioError> {
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
    pub(super) fn path_query(&self, text: &Spanned<String>, scope: &Scope) -> Result<PathQuery, ScenarioError> {
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
    pub(super) fn pattern(&self, text: &Spanned<String>, scope: &Scope) -> Result<TextPattern, ScenarioError> {
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

    pub(super) fn template(&self, text: &Spanned<String>, scope: &Scope) -> Result<Template, ScenarioError> {
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
    pub(super) fn json(&self, value: &Spanned<Value>, scope: &Scope) -> Result<Value, ScenarioError> {
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

    pub(super) fn variables(
        &self,
        template: &Template,
        at: Option<Span>,
        bounded: bool,
        scope: &Scope,
    ) -> Result<(), ScenarioError> {
        let Some(name) = template.variables().find(|v| !scope.known.contains(*v)) else {
            return Ok(());
        };
        if let Some(step) = scope.not_awaited.get(name) {
            return self.fail_help(
                self.src.placeholder_span(at, name, bounded),
                ScenarioErrorKind::CaptureBeforeAwait { name: name.to_string(), step: step.clone() },
                "a background step's captures are set only once a step awaits it",
            );
        }
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

/// The same names the template parser accepts inside `{{ }}`.
pub(super) fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Every string in a JSON value, keys included.
pub(super) fn json_strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
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
pub(super) fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(|| text.lines().collect::<Vec<_>>().join(" "), str::to_string)
}
