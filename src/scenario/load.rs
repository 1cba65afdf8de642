//! Parse and validate a scenario file (to be written).

use std::path::{Path, PathBuf};

use super::model::Scenario;

/// A scenario file that cannot be used: names the file, line and column and what was expected.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("failed to load scenario {path}")]
pub struct ScenarioError {
    pub path: PathBuf,
}

/// Reads and validates one scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let _ = path;
    todo!("scenario helper")
}

/// Parses and validates scenario text; `path` names it in errors.
pub fn parse_str(source: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let _ = (source, path);
    todo!("scenario helper")
}

/// The scenario files under `paths` (files as given, directories walked for `*.yaml`/`*.yml`), sorted.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let _ = paths;
    todo!("scenario helper")
}
