//! The error of a scenario file that cannot be used, and what it shows people.

use std::fmt;
use std::path::{Path, PathBuf};

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents,
};

use super::{CACHE_TTL, ERROR_KEYS, METHODS, RUN_ID};
use crate::model::{Capability, IncludeSite, Location};
use crate::quirk::Quirk;
use crate::template::TemplateError;

/// A scenario file that cannot be used: names the file, line and column and what was expected.
///
/// `Display` is one line, `PATH:LINE:COLUMN: message` (or `PATH: message` when there is no
/// position, as for a file that cannot be read), so plain logs name the place; as a
/// [`miette::Diagnostic`] it carries the file's text with a labelled span and, where one helps, a
/// hint.
///
/// Whatever the file holds, what it shows is bounded: the message, label and hint are cut to a few
/// hundred characters and the quoted source lines to a window around the error (with `…` where text
/// was left out), so a 10 MB line prints a few lines, not 10 MB.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}{}", self.place(), bounded(&self.inner.kind.to_string(), MAX_MESSAGE), self.included_note())]
pub struct ScenarioError {
    // Boxed so the `Result`s that carry it through every validation function stay small.
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    location: Option<Location>,
    kind: ScenarioErrorKind,
    source_code: Option<Shown>,
    span: Option<SourceSpan>,
    label: String,
    help: Option<String>,
    /// When the file is a fragment: the include steps that brought it in, innermost first.
    included_from: Vec<IncludeSite>,
}

/// Most characters of a message, label or hint shown.
const MAX_MESSAGE: usize = 2_000;

/// Most characters of one word (a run without spaces: a quoted value, a key) in a message shown.
const MAX_WORD: usize = 100;

/// Most characters of a quoted source line shown.
const MAX_LINE: usize = 160;

impl ScenarioError {
    /// A file that could not be read: no position, no source text.
    pub(super) fn unreadable(path: &Path, error: std::io::Error) -> ScenarioError {
        ScenarioError::without_source(path, ScenarioErrorKind::Io { error })
    }

    /// A problem with an entry (a dangling symlink, an unreadable directory) that has no text to show.
    pub(super) fn without_source(path: &Path, kind: ScenarioErrorKind) -> ScenarioError {
        ScenarioError {
            inner: Box::new(Inner {
                path: path.to_path_buf(),
                location: None,
                kind,
                source_code: None,
                span: None,
                label: String::new(),
                help: None,
                included_from: Vec::new(),
            }),
        }
    }

    /// A problem at `at` (its line and column, and the byte span to label) in `source`.
    pub(super) fn in_source(
        path: &Path,
        source: &str,
        at: Option<(Location, SourceSpan)>,
        kind: ScenarioErrorKind,
        help: Option<String>,
    ) -> ScenarioError {
        let (shown, span) = shown_source(source, at.map(|(_, span)| span));
        ScenarioError {
            inner: Box::new(Inner {
                path: path.to_path_buf(),
                location: at.map(|(location, _)| location),
                label: bounded(&kind.label(), MAX_MESSAGE),
                kind,
                source_code: Some(Shown {
                    text: NamedSource::new(path.display().to_string(), shown),
                    span,
                    column: at.map_or(0, |(location, _)| location.column.saturating_sub(1)),
                }),
                span,
                help: help.map(|h| bounded(&h, MAX_MESSAGE)),
                included_from: Vec::new(),
            }),
        }
    }

    /// The scenario file, as given.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// 1-based line of the problem; `None` when the file could not be read.
    pub fn line(&self) -> Option<usize> {
        self.inner.location.map(|l| l.line)
    }

    /// 1-based column (in characters) of the problem; `None` when the file could not be read.
    pub fn column(&self) -> Option<usize> {
        self.inner.location.map(|l| l.column)
    }

    /// What is wrong.
    pub fn kind(&self) -> &ScenarioErrorKind {
        &self.inner.kind
    }

    /// The hint shown under the report, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.inner.help.as_deref()
    }

    /// The include steps that brought the broken fragment in, innermost first; empty for a scenario.
    pub fn included_from(&self) -> &[IncludeSite] {
        &self.inner.included_from
    }

    /// The error, in a fragment reached through `sites` (innermost first).
    pub(super) fn with_includes(mut self, sites: &[IncludeSite]) -> ScenarioError {
        self.inner.included_from = sites.to_vec();
        self
    }

    fn included_note(&self) -> String {
        self.inner.included_from.iter().map(|site| format!(" ({})", site_line(site))).collect()
    }

    fn place(&self) -> String {
        match self.inner.location {
            Some(l) => format!("{}:{}:{}", self.inner.path.display(), l.line, l.column),
            None => self.inner.path.display().to_string(),
        }
    }
}

/// `text` with every word longer than [`MAX_WORD`] characters cut in its middle, and then at most
/// `max` characters of it, each cut marked with `…` and how much it left out. A list of names (the
/// quirks a message offers) stays whole; a 10 MB value quoted in a message does not.
pub(super) fn bounded(text: &str, max: usize) -> String {
    let mut short = String::with_capacity(text.len().min(max + 64));
    for piece in text.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end_matches(char::is_whitespace);
        let chars = word.chars().count();
        if chars <= MAX_WORD {
            short.push_str(piece);
            continue;
        }
        let head = word.char_indices().nth(MAX_WORD / 2).map_or(word.len(), |(b, _)| b);
        let tail = word.char_indices().nth(chars - MAX_WORD / 4).map_or(word.len(), |(b, _)| b);
        let left_out = chars - MAX_WORD / 2 - MAX_WORD / 4;
        short.push_str(&format!("{}…({left_out} characters)…{}", &word[..head], &word[tail..]));
        short.push_str(&piece[word.len()..]);
        if short.len() > 4 * max {
            break;
        }
    }
    match short.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… (cut: {} characters in all)", &short[..cut], text.chars().count()),
        None => short,
    }
}

/// The text an error quotes, and its span moved into it: every line longer than [`MAX_LINE`]
/// characters is cut, the span's own line to a window around the span's start and the others to
/// their beginning, with `…` where text was left out. Line and column numbers stay those of the file:
/// only the contents of long lines change.
fn shown_source(source: &str, span: Option<SourceSpan>) -> (String, Option<SourceSpan>) {
    let at = span.map(|s| s.offset().min(source.len()));
    if source.split('\n').all(|line| line.len() <= MAX_LINE) {
        return (source.to_string(), span);
    }
    let mut shown = String::with_capacity(source.len().min(1 << 16));
    let mut moved = span;
    let mut line_start = 0;
    for line in source.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let (body, newline) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let holds_span = at.is_some_and(|at| at >= line_start && (at < line_end || line_end == source.len()));
        if body.chars().count() <= MAX_LINE {
            if holds_span && let (Some(at), Some(span)) = (at, span) {
                moved = Some(SourceSpan::new((shown.len() + at - line_start).into(), span.len()));
            }
            shown.push_str(body);
        } else {
            let column = if holds_span {
                at.map_or(0, |at| body[..(at - line_start).min(body.len())].chars().count())
            } else {
                0
            };
            let first = column.saturating_sub(MAX_LINE / 2);
            let start = body.char_indices().nth(first).map_or(body.len(), |(b, _)| b);
            let end = body[start..].char_indices().nth(MAX_LINE).map_or(body.len(), |(b, _)| start + b);
            if start > 0 {
                shown.push('…');
            }
            let window_start = shown.len();
            shown.push_str(&body[start..end]);
            if holds_span && let (Some(at), Some(span)) = (at, span) {
                let offset = window_start + (at - line_start).saturating_sub(start).min(end - start);
                let len = span.len().min(window_start + (end - start) - offset);
                moved = Some(SourceSpan::new(offset.into(), len));
            }
            if end < body.len() {
                shown.push('…');
            }
        }
        shown.push_str(newline);
        line_start = line_end;
    }
    (shown, moved)
}

/// The text an error quotes, which names the labelled span's real column: miette's header would
/// count it in the quoted text, whose long lines are cut.
#[derive(Debug)]
struct Shown {
    text: NamedSource<String>,
    span: Option<SourceSpan>,
    /// 0-based, in characters.
    column: usize,
}

impl SourceCode for Shown {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self.text.read_span(span, before, after)?;
        if before != 0 || after != 0 || Some(*span) != self.span {
            return Ok(contents);
        }
        Ok(Box::new(MietteSpanContents::new_named(
            contents.name().unwrap_or_default().to_string(),
            contents.data(),
            *contents.span(),
            contents.line(),
            self.column,
            contents.line_count(),
        )))
    }
}

impl Diagnostic for ScenarioError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let sites: Vec<String> = self.inner.included_from.iter().map(site_line).collect();
        match (&self.inner.help, sites.is_empty()) {
            (Some(help), true) => Some(Box::new(help)),
            (None, true) => None,
            (help, false) => {
                let text = help.iter().cloned().chain(sites).collect::<Vec<_>>().join("\n");
                Some(Box::new(text))
            }
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.inner.source_code.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.inner.span?;
        let label = LabeledSpan::new_with_span(Some(self.inner.label.clone()), span);
        Some(Box::new(std::iter::once(label)))
    }
}

/// What is wrong with a scenario file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioErrorKind {
    #[error("failed to read the scenario file: {error}")]
    Io { error: std::io::Error },
    #[error("dangling symlink to `{}`: expected a scenario file", target.display())]
    DanglingLink { target: PathBuf },
    #[error("failed to read the directory: {error}")]
    UnreadableDirectory { error: std::io::Error },
    #[error("invalid UTF-8 at byte {offset} (0x{byte:02x}): expected UTF-8 text")]
    NotUtf8 { offset: usize, byte: u8 },
    #[error("YAML tag `{tag}`: expected a plain value (scenario files use no tags)")]
    YamlTag { tag: String },
    #[error("duplicate scenario id `{id}`: the file {} has it too", first.display())]
    DuplicateScenarioId { id: String, first: PathBuf },
    #[error("invalid header name `{name}`: expected letters, digits and !#$%&'*+-.^_`|~")]
    InvalidHeaderName { name: String },
    #[error("invalid value of header `{name}`: {character} is not allowed in an HTTP header value")]
    InvalidHeaderValue { name: String, character: String },
    /// A YAML syntax error or a value of the wrong shape, as reported by the YAML parser.
    #[error("{message}")]
    Yaml { message: String },
    #[error(
        "invalid scenario id `{id}`: expected lower-case letters, digits, `_` and `-`, starting \
         with a letter or digit"
    )]
    InvalidId { id: String },
    #[error("empty {what}: expected some text")]
    Empty { what: &'static str },
    #[error("no steps: expected at least one step")]
    NoSteps,
    #[error("duplicate step id `{id}`: expected step ids to be unique within the file")]
    DuplicateStepId { id: String },
    #[error("step `{id}` does nothing: expected `request`, `sleep`, `await` or more of them")]
    EmptyStep { id: String },
    #[error("`{field}` without `request`: expected a `request` in the same step")]
    NeedsRequest { field: &'static str },
    #[error("unknown HTTP method `{method}`: expected one of {}", METHODS.join(", "))]
    UnknownMethod { method: String },
    #[error("request path `{path}` does not start with `/`: expected a path such as `/team/new`")]
    RelativePath { path: String },
    #[error("both `json` and `body`: expected at most one of them")]
    JsonAndBody,
    #[error("status {status} is out of range: expected 100..=599")]
    StatusOutOfRange { status: u64 },
    #[error("empty status list: expected at least one status")]
    EmptyStatusList,
    #[error("{} in a {what} assertion: expected exactly one of {allowed}", predicates_found(found))]
    PredicateCount { what: &'static str, found: Vec<&'static str>, allowed: &'static str },
    #[error("`absent: false` is not allowed: expected `absent: true`")]
    AbsentFalse,
    #[error("empty `error` assertion: expected at least one of {ERROR_KEYS}")]
    EmptyErrorAssertion,
    #[error("empty `message_contains_any`: expected at least one message")]
    EmptyMessageList,
    #[error("invalid JSONPath `{path}`: {reason}")]
    InvalidJsonPath { path: String, reason: String },
    #[error("invalid regular expression `{pattern}`: {reason}")]
    InvalidRegex { pattern: String, reason: String },
    #[error("invalid template `{text}`: {error}")]
    InvalidTemplate { text: String, error: TemplateError },
    #[error("unknown variable `{name}`: expected `{RUN_ID}` or a variable captured by an earlier step")]
    UnknownVariable { name: String, known: Vec<String> },
    #[error("invalid variable name `{name}`: expected letters, digits, `_`, `-` and `.`")]
    InvalidVariableName { name: String },
    #[error("cannot capture into `{RUN_ID}`: expected a name other than the built-in variable")]
    CaptureIntoBuiltin,
    #[error("invalid duration `{text}`: {reason}")]
    InvalidDuration { text: String, reason: String },
    #[error("zero retry interval: expected a duration above zero")]
    ZeroInterval,
    #[error("retry interval {interval} is not less than the timeout {timeout}")]
    IntervalNotBelowTimeout { interval: String, timeout: String },
    #[error("unknown capability `{name}`: expected one of {}", capability_names())]
    UnknownCapability { name: String },
    #[error("unknown reference setting `{name}`: expected {CACHE_TTL}")]
    UnknownReferenceSetting { name: String },
    #[error("invalid {CACHE_TTL} `{value}`: expected integer seconds >= 0")]
    InvalidCacheTtl { value: String },
    #[error("unknown quirk `{name}`: expected one of {}", Quirk::names())]
    UnknownQuirk { name: String },
    #[error("unknown step `{id}` in `fails_at`: expected the id of a step of this file")]
    UnknownFailsAtStep { id: String },
    #[error("step `{id}` sends no request: expected `fails_at` to name a step with a `request`")]
    FailsAtWithoutRequest { id: String },
    #[error("empty matrix {what}: expected at least one")]
    EmptyMatrix { what: &'static str },
    #[error(
        "invalid matrix {what} name `{name}`: expected lower-case letters, digits, `_` and `-`, \
         starting with a letter or digit"
    )]
    InvalidMatrixName { what: &'static str, name: String },
    #[error("unknown actor `{name}` in a matrix cell: expected one of {}", known.join(", "))]
    UnknownMatrixActor { name: String, known: Vec<String> },
    #[error(
        "matrix row `{row}` has no cell for {}: expected a status for every actor",
        actors.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingMatrixCell { row: String, actors: Vec<String> },
    #[error("{replicas} replicas: expected 1 to {max}")]
    ReplicasOutOfRange { replicas: u64, max: u64 },
    #[error("`on: {on}` names no proxy: the scenario runs {replicas} (indexes from 0)")]
    OnOutOfRange { on: u64, replicas: usize },
    #[error("invalid mock name `{name}`: expected letters, digits and `_`, starting with a letter")]
    InvalidMockName { name: String },
    #[error("{} in mock `{name}`: expected exactly one of llm, mcp", kinds_found(found))]
    MockKindCount { name: String, found: Vec<&'static str> },
    #[error("unknown MCP answer framing `{value}`: expected json or sse")]
    UnknownMcpAnswer { value: String },
    #[error("unknown MCP failure `{value}`: expected down, slow or garbage")]
    UnknownMcpFailure { value: String },
    #[error("duplicate tool `{name}`: expected tool names to be unique within the mock")]
    DuplicateTool { name: String },
    #[error("`any_of` has {found} alternative(s): expected at least two")]
    AnyOfTooFew { found: usize },
    #[error("`any_of` beside {}: expected `any_of` alone, each alternative a whole expectation", keys.join(", "))]
    AnyOfWithOtherKeys { keys: Vec<&'static str> },
    #[error("empty `await` list: expected at least one step id")]
    EmptyAwait,
    #[error("unknown step `{id}` in `await`: expected the id of an earlier background step")]
    UnknownAwaitedStep { id: String },
    #[error("step `{id}` in `await` comes at or after this step: expected an earlier background step")]
    AwaitNotEarlier { id: String },
    #[error("step `{id}` in `await` is not a background step: expected a step with `background: true`")]
    AwaitNotBackground { id: String },
    #[error("step `{id}` is awaited twice: expected each background step in one `await`")]
    AwaitedTwice { id: String },
    #[error("`await` in a background step: expected `await` in a step that runs in the foreground")]
    AwaitInBackground,
    #[error(
        "variable `{name}` is captured by background step `{step}`, which is not awaited before this \
         template: expected `await: {step}` in this step or an earlier one"
    )]
    CaptureBeforeAwait { name: String, step: String },
    #[error("`{field}` in an include step: expected only `id`, `include` and `with`")]
    IncludeWithOtherField { field: &'static str },
    #[error("`with` without `include`: expected an `include` in the same step")]
    WithoutInclude,
    #[error("failed to read the fragment {}: {error}", path.display())]
    UnreadableFragment { path: PathBuf, error: std::io::Error },
    #[error("{} is not a fragment: expected a file with a top-level `fragment:` key", path.display())]
    NotAFragment { path: PathBuf },
    #[error("this file is a fragment: expected a scenario (fragments run where a scenario's step includes them)")]
    FragmentNotScenario,
    #[error(
        "include cycle: {}",
        chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" includes ")
    )]
    IncludeCycle { chain: Vec<PathBuf> },
    #[error("unknown parameter `{name}` of the fragment {}: expected {}", fragment.display(), one_of(known))]
    UnknownParam { name: String, fragment: PathBuf, known: Vec<String> },
    #[error("missing parameter `{name}` of the fragment {}: expected it under `with`", fragment.display())]
    MissingParam { name: String, fragment: PathBuf },
    #[error("invalid parameter name `{name}`: expected letters, digits, `_` and `-`, other than `{RUN_ID}`")]
    InvalidParamName { name: String },
    #[error("capture `{name}` has the name of a parameter: expected another name")]
    CaptureShadowsParam { name: String },
    #[error(
        "invalid capability name `{name}`: expected lower-case letters, digits, `_` and `-`, starting \
         with a letter or digit"
    )]
    InvalidCapabilityName { name: String },
    #[error("`{name}` is a built-in capability: expected its name alone (gateproof probes it)")]
    BuiltinCapabilityProbed { name: String },
    #[error(
        "capability `{name}` has another probe at {}:{line}:{column}: expected one probe per capability",
        first.display()
    )]
    ProbeMismatch { name: String, first: PathBuf, line: usize, column: usize },
}

impl ScenarioErrorKind {
    /// The short text under the span: what was expected there.
    fn label(&self) -> String {
        use ScenarioErrorKind as K;
        match self {
            K::Io { .. } | K::DanglingLink { .. } | K::UnreadableDirectory { .. } => "here".into(),
            K::NotUtf8 { .. } => "not UTF-8".into(),
            K::YamlTag { .. } => "expected no tag".into(),
            K::DuplicateScenarioId { .. } => "expected an id no other file has".into(),
            K::InvalidHeaderName { .. } => "expected an HTTP token".into(),
            K::InvalidHeaderValue { .. } => "expected no control characters".into(),
            K::Yaml { message } => {
                let expected = message
                    .split_once(", expected ")
                    .map(|(_, e)| e)
                    .or_else(|| message.split_once("expected ").map(|(_, e)| e));
                expected.map_or_else(|| message.clone(), |e| format!("expected {e}"))
            }
            K::InvalidId { .. } => "expected [a-z0-9][a-z0-9_-]*".into(),
            K::Empty { .. } => "expected some text".into(),
            K::NoSteps => "expected at least one step".into(),
            K::DuplicateStepId { .. } => "expected a new step id".into(),
            K::EmptyStep { .. } => "expected `request`, `sleep` or `await` in this step".into(),
            K::NeedsRequest { .. } => "expected a `request` in this step".into(),
            K::UnknownMethod { .. } => "expected an HTTP method".into(),
            K::RelativePath { .. } => "expected a leading `/`".into(),
            K::JsonAndBody => "expected either `json` or `body`".into(),
            K::StatusOutOfRange { .. } => "expected 100..=599".into(),
            K::EmptyStatusList => "expected at least one status".into(),
            K::PredicateCount { found, .. } if found.is_empty() => "expected a predicate".into(),
            K::PredicateCount { .. } => "expected no second predicate".into(),
            K::AbsentFalse => "expected `true`".into(),
            K::EmptyErrorAssertion => "expected at least one key".into(),
            K::EmptyMessageList => "expected at least one message".into(),
            K::InvalidJsonPath { .. } => "expected an RFC 9535 JSONPath".into(),
            K::InvalidRegex { .. } => "expected a regular expression".into(),
            K::InvalidTemplate { .. } => "expected `{{name}}` placeholders".into(),
            K::UnknownVariable { .. } => "not captured by an earlier step".into(),
            K::InvalidVariableName { .. } => "expected letters, digits, `_`, `-` and `.`".into(),
            K::CaptureIntoBuiltin => "expected another name".into(),
            K::InvalidDuration { .. } => "expected a duration such as `2s`".into(),
            K::ZeroInterval => "expected a duration above zero".into(),
            K::IntervalNotBelowTimeout { .. } => "expected less than the timeout".into(),
            K::UnknownCapability { .. } => "expected a known capability".into(),
            K::UnknownReferenceSetting { .. } => format!("expected {CACHE_TTL}"),
            K::InvalidCacheTtl { .. } => "expected integer seconds >= 0".into(),
            K::UnknownQuirk { .. } => "expected a known quirk".into(),
            K::UnknownFailsAtStep { .. } => "expected a step id of this file".into(),
            K::FailsAtWithoutRequest { .. } => "expected a step that sends a request".into(),
            K::EmptyMatrix { .. } => "expected at least one entry".into(),
            K::InvalidMatrixName { .. } => "expected [a-z0-9][a-z0-9_-]*".into(),
            K::UnknownMatrixActor { .. } => "expected an actor of `matrix.actors`".into(),
            K::MissingMatrixCell { .. } => "expected a cell for every actor".into(),
            K::ReplicasOutOfRange { max, .. } => format!("expected 1 to {max}"),
            K::OnOutOfRange { replicas, .. } => format!("expected 0 to {}", replicas.saturating_sub(1)),
            K::InvalidMockName { .. } => "expected [A-Za-z][A-Za-z0-9_]*".into(),
            K::MockKindCount { found, .. } if found.is_empty() => "expected `llm` or `mcp`".into(),
            K::MockKindCount { .. } => "expected only one kind".into(),
            K::UnknownMcpAnswer { .. } => "expected json or sse".into(),
            K::UnknownMcpFailure { .. } => "expected down, slow or garbage".into(),
            K::DuplicateTool { .. } => "expected a new tool name".into(),
            K::AnyOfTooFew { .. } => "expected two alternatives or more".into(),
            K::AnyOfWithOtherKeys { .. } => "expected no other key in this `expect`".into(),
            K::EmptyAwait => "expected at least one step id".into(),
            K::UnknownAwaitedStep { .. } => "expected a step id of this file".into(),
            K::AwaitNotEarlier { .. } => "expected a step above this one".into(),
            K::AwaitNotBackground { .. } => "expected a step with `background: true`".into(),
            K::AwaitedTwice { .. } => "expected a step not awaited yet".into(),
            K::AwaitInBackground => "expected no `await` here".into(),
            K::CaptureBeforeAwait { step, .. } => format!("not known before `await: {step}`"),
            K::IncludeWithOtherField { .. } => "expected no other field in an include step".into(),
            K::WithoutInclude => "expected an `include` in this step".into(),
            K::UnreadableFragment { .. } => "expected a readable fragment file".into(),
            K::NotAFragment { .. } => "expected a fragment file".into(),
            K::FragmentNotScenario => "a fragment".into(),
            K::IncludeCycle { .. } => "includes a file that includes this one".into(),
            K::UnknownParam { .. } => "expected a parameter of the fragment".into(),
            K::MissingParam { .. } => "expected a value for every required parameter".into(),
            K::InvalidParamName { .. } => "expected [A-Za-z0-9_-]+".into(),
            K::CaptureShadowsParam { .. } => "a parameter's name".into(),
            K::InvalidCapabilityName { .. } => "expected [a-z0-9][a-z0-9_-]*".into(),
            K::BuiltinCapabilityProbed { .. } => "a built-in capability".into(),
            K::ProbeMismatch { .. } => "expected the same probe as the first".into(),
        }
    }
}

fn predicates_found(found: &[&str]) -> String {
    match found {
        [] => "no predicate".into(),
        _ => format!("{} predicates ({})", found.len(), found.join(", ")),
    }
}

fn kinds_found(found: &[&str]) -> String {
    match found {
        [] => "no kind".into(),
        _ => format!("{} kinds ({})", found.len(), found.join(", ")),
    }
}

fn capability_names() -> String {
    Capability::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

fn one_of(names: &[String]) -> String {
    match names {
        [] => "none: the fragment has no parameters".into(),
        _ => format!("one of {}", names.join(", ")),
    }
}

/// `included from FILE:LINE:COLUMN`.
fn site_line(site: &IncludeSite) -> String {
    format!("included from {}:{}:{}", site.file.display(), site.location.line, site.location.column)
}
