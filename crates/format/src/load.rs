//! Parse and validate a scenario file.
//!
//! The YAML is read into the serde mirror of `file.rs` first, so syntax and type errors come from
//! serde-saphyr with their line and column; the mirror is then validated here into the model of
//! `model.rs`. Validation stops at the first problem and reports it as a [`ScenarioError`] that
//! points into the file.
//!
//! One `Checker` validates, its methods in a file per part of the format: `scenario` (the file as a
//! whole), `step`, `request`, `expect`, `text` (templates, JSONPaths, patterns), `matrix`, `mocks`;
//! `discover` finds and loads a set of files, `tags` finds YAML tags, `source` points into the text,
//! `error` is what a broken file shows; `include` expands the steps of fragment files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use miette::SourceSpan;
use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use super::file::ScenarioFile;
use super::model::{IncludeSite, Scenario};

mod discover;
mod error;
mod expect;
mod expect_any;
mod include;
mod matrix;
mod mocks;
mod request;
mod scenario;
mod source;
mod step;
mod tags;
mod text;

pub use discover::{Discovered, Loaded, discover, load_all};
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
    parse_str(&read_source(path)?, path)
}

/// Decodes and validates a scenario file's bytes; `path` names it in errors.
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Scenario, ScenarioError> {
    parse_str(&decode(bytes.to_vec(), path)?, path)
}

/// Parses and validates scenario text; `path` names it in errors.
pub fn parse_str(source: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    parse_located(source, path).map(|(scenario, _)| scenario)
}

/// The scenario, and where its `id` is written.
fn parse_located(source: &str, path: &Path) -> Result<(Scenario, Option<Span>), ScenarioError> {
    let checker = Checker::new(source, path);
    if let Some(offset) = include::fragment_key(source) {
        return checker.fail_help(
            Some(Span { offset, len: "fragment".len() }),
            ScenarioErrorKind::FragmentNotScenario,
            "include it from a step of a scenario: `- {id: setup, include: PATH, with: {…}}`",
        );
    }
    let file: ScenarioFile = checker.deserialize()?;
    Ok((checker.scenario(&file)?, checker.src.span_of(&file.id)))
}

/// The file's text; a file that is not UTF-8 is an error at its first bad byte.
fn read_source(path: &Path) -> Result<String, ScenarioError> {
    decode(std::fs::read(path).map_err(|error| ScenarioError::unreadable(path, error))?, path)
}

fn decode(bytes: Vec<u8>, path: &Path) -> Result<String, ScenarioError> {
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let byte = error.as_bytes().get(offset).copied().unwrap_or_default();
        // The lossy text is the file up to `offset`, then U+FFFD: the error points at that.
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        Checker::new(&text, path).error(
            Some(Span { offset, len: char::REPLACEMENT_CHARACTER.len_utf8() }),
            ScenarioErrorKind::NotUtf8 { offset, byte },
            Some("save the file as UTF-8".into()),
        )
    })
}

/// Variables a template may use at one point of the file.
struct Scope {
    known: BTreeSet<String>,
    /// Every capture in the file with its step id and line, to explain a use before the capture.
    all_captures: BTreeMap<String, (String, usize)>,
    /// Variables captured by a background step not awaited yet, with that step's id.
    not_awaited: BTreeMap<String, String>,
}

/// Validates the serde mirror against one source text; knows how to point into it.
struct Checker<'s> {
    src: Source<'s>,
    path: &'s Path,
    /// When the text is a fragment: the include steps that brought it in, innermost first.
    included_from: Vec<IncludeSite>,
    /// The files being included, outermost first and this one last, to refuse an include cycle.
    stack: Vec<include::StackEntry>,
}

impl<'s> Checker<'s> {
    fn new(text: &'s str, path: &'s Path) -> Checker<'s> {
        Checker { src: Source { text }, path, included_from: Vec::new(), stack: vec![include::StackEntry::of(path)] }
    }

    fn error(&self, at: Option<Span>, kind: ScenarioErrorKind, help: Option<String>) -> ScenarioError {
        let at = at.map(|s| (self.src.location_of(s.offset), SourceSpan::new(s.offset.into(), s.len)));
        ScenarioError::in_source(self.path, self.src.text, at, kind, help).with_includes(&self.included_from)
    }

    /// The text read into a serde mirror; a YAML tag is refused first.
    fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, ScenarioError> {
        if let Some((offset, tag)) = tags::first_tag(self.src.text) {
            return self.fail_help(
                Some(Span { offset, len: tag.len() }),
                ScenarioErrorKind::YamlTag { tag: tag.to_string() },
                "remove the tag; quote the value to make it a string",
            );
        }
        serde_saphyr::from_str(self.src.text).map_err(|error| self.yaml_error(&error))
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

#[cfg(test)]
mod tests;
