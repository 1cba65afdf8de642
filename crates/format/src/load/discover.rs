//! Finding the scenario files under the paths a command names, and loading them as one set.
//!
//! A broken entry in a directory (a dangling symlink such as an editor's lock file `.#x.yaml`, a
//! directory that cannot be read) is one broken file: it is reported and the other files still load.
//! Only a path named on the command line that does not exist stops the search.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::include::{check_fragment, is_fragment};
use super::scenario::probe_signature;
use super::source::Span;
use super::{ScenarioError, ScenarioErrorKind, parse_located, read_source};
use crate::model::Location;
use crate::model::Scenario;

/// What a search for scenario files found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The scenario files, sorted (fragment files too: only reading a file tells them apart).
    pub files: Vec<PathBuf>,
    /// Entries that should be scenario files or directories of them and cannot be read, each with why.
    pub broken: Vec<ScenarioError>,
    /// Dangling symlinks whose names are no scenario file's (`*.yaml`, `*.yml`): passed over, and named
    /// so a link to a missing directory of scenarios is not lost without a word.
    pub skipped: Vec<PathBuf>,
}

/// Every scenario under some paths: those that load, and those that do not with why.
#[derive(Debug, Default)]
pub struct Loaded {
    /// In file order.
    pub scenarios: Vec<Scenario>,
    /// Broken entries and files, in file order; a file whose scenario `id` an earlier file has is one.
    pub broken: Vec<ScenarioError>,
    pub skipped: Vec<PathBuf>,
    /// Fragment files (a top-level `fragment:` key) found among them: checked on their own, and a
    /// broken one is in `broken`, but they are never scenarios.
    pub fragments: Vec<PathBuf>,
}

/// The scenario files under `paths` (files as given, directories walked for `*.yaml`/`*.yml`).
pub fn discover(paths: &[PathBuf]) -> io::Result<Discovered> {
    let mut found = Discovered::default();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| naming(path, e))?;
        if meta.is_dir() {
            walk(path, &mut found);
        } else {
            found.files.push(path.clone());
        }
    }
    found.files.sort();
    found.files.dedup();
    found.broken.sort_by(|a, b| a.path().cmp(b.path()));
    found.skipped.sort();
    Ok(found)
}

/// Loads every scenario under `paths`; a second file with an `id` already seen is broken, at its `id`.
pub fn load_all(paths: &[PathBuf]) -> io::Result<Loaded> {
    let Discovered { files, mut broken, skipped } = discover(paths)?;
    let mut scenarios = Vec::with_capacity(files.len());
    let mut first_with: BTreeMap<String, PathBuf> = BTreeMap::new();
    // Each probed capability's first probe: its signature, file and place.
    let mut probes: BTreeMap<String, (String, PathBuf, Location)> = BTreeMap::new();
    let mut fragments = Vec::new();
    for file in files {
        let text = match read_source(&file) {
            Ok(text) => text,
            Err(error) => {
                broken.push(error);
                continue;
            }
        };
        if is_fragment(&text) {
            if let Err(error) = check_fragment(&text, &file) {
                broken.push(error);
            }
            fragments.push(file);
            continue;
        }
        let loaded = parse_located(&text, &file).and_then(|(scenario, id_at)| match first_with.get(&scenario.id) {
            Some(first) => Err(super::Checker::new(&text, &file).error(
                id_at,
                ScenarioErrorKind::DuplicateScenarioId { id: scenario.id.clone(), first: first.clone() },
                Some("scenario ids name results in reports and baselines: give this one another".into()),
            )),
            None => Ok(scenario),
        });
        let loaded = loaded.and_then(|scenario| {
            for probe in &scenario.probed {
                match probes.get(&probe.name) {
                    Some((signature, first, at)) if *signature != probe_signature(probe) => {
                        let checker = super::Checker::new(&text, &file);
                        let span = checker.src.offset_of(probe.location).map(|offset| Span { offset, len: probe.name.len() });
                        return Err(checker.error(
                            span,
                            ScenarioErrorKind::ProbeMismatch {
                                name: probe.name.clone(),
                                first: first.clone(),
                                line: at.line,
                                column: at.column,
                            },
                            Some("one capability is one probe, run once per target: name this one differently, or copy the first".into()),
                        ));
                    }
                    _ => {}
                }
            }
            for probe in &scenario.probed {
                probes.entry(probe.name.clone()).or_insert_with(|| (probe_signature(probe), file.clone(), probe.location));
            }
            Ok(scenario)
        });
        match loaded {
            Ok(scenario) => {
                first_with.insert(scenario.id.clone(), file);
                scenarios.push(scenario);
            }
            Err(error) => broken.push(error),
        }
    }
    broken.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(Loaded { scenarios, broken, skipped, fragments })
}

fn walk(dir: &Path, found: &mut Discovered) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => return found.broken.push(unreadable_dir(dir, error)),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => return found.broken.push(unreadable_dir(dir, error)),
        };
        let path = entry.path();
        let is_scenario = path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml");
        // `metadata` follows symlinks, so a linked directory of scenarios is walked too.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, found),
            Ok(_) if is_scenario => found.files.push(path),
            Ok(_) => {}
            Err(error) => match std::fs::read_link(&path) {
                Ok(target) if is_scenario => {
                    found.broken.push(ScenarioError::without_source(&path, ScenarioErrorKind::DanglingLink { target }))
                }
                Ok(_) => found.skipped.push(path),
                Err(_) => found.broken.push(ScenarioError::unreadable(&path, error)),
            },
        }
    }
}

fn unreadable_dir(dir: &Path, error: io::Error) -> ScenarioError {
    ScenarioError::without_source(dir, ScenarioErrorKind::UnreadableDirectory { error })
}

/// An IO error that says which path it is about (std's own messages do not).
fn naming(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("failed to read {}: {error}", path.display()))
}
