//! What the loader's tests share: a path to name, readable YAML, and the checks a loaded or
//! refused file must pass.

use std::path::Path;

use crate::load::{ScenarioError, parse_str};
use crate::model::Scenario;

/// The path every parsed text is named by in its errors.
pub(super) const PATH: &str = "scenarios/t.yaml";

/// A request step's body, for steps whose request does not matter.
pub(super) const GET: &str = "request: {method: GET, path: /health}";

/// Strips the indentation common to all non-blank lines, and a leading newline, so tests can
/// hold readable YAML.
pub(super) fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    text.lines().map(|l| l.get(indent..).unwrap_or("").to_string() + "\n").collect()
}

/// A scenario with the given steps (written as a YAML list at column 1).
pub(super) fn with_steps(steps: &str) -> String {
    format!("id: s\ntitle: T\nsteps:\n{}", dedent(steps))
}

pub(super) fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    parse_str(text, Path::new(PATH))
}

pub(super) fn parse_ok(text: &str) -> Scenario {
    match parse(text) {
        Ok(scenario) => scenario,
        Err(e) => panic!("expected the scenario to load, got: {e}\n{text}"),
    }
}

pub(super) fn parse_err(text: &str) -> ScenarioError {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

/// The text is refused with an error at `line`:`column` whose one-line message says `message`.
pub(super) fn assert_rejected(yaml: &str, line: usize, column: usize, message: &str) {
    let text = match parse(yaml) {
        Ok(_) => panic!("loaded, expected an error:\n{yaml}"),
        Err(e) => e.to_string(),
    };
    let place = format!("{PATH}:{line}:{column}: ");
    assert!(text.starts_with(&place) && text.contains(message), "got `{text}`, expected `{place}…{message}…`");
}

/// The text loads.
pub(super) fn assert_accepted(yaml: &str) {
    if let Err(e) = parse(yaml) {
        panic!("{e}\n{yaml}");
    }
}
