//! `matrix:`: a role × route table expanded into ordinary steps at load time.
//!
//! Every row is sent once by every actor, in actor order, after the file's `steps`. The cell of row
//! `R` and actor `A` becomes step `matrix-R-A`, which expects the cell's status (and the row's
//! `denied` error assertion when every status of the cell is 400 or above). A row with `setup` gets
//! steps `matrix-R-A-setup-1`, `-2`, … before each cell, sent with the master key and expected to
//! answer 200, so a cell that changes or deletes its object never sees what another cell did to it. The runner,
//! reports and targets see only steps; nothing downstream knows about matrices.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::{is_scenario_id, Checker, Scope, RUN_ID};
use crate::scenario::file::{MatrixFile, MatrixRowFile, SpannedMap, StatusSpec};
use crate::scenario::load::{ScenarioError, ScenarioErrorKind};
use crate::scenario::model::{Expect, Step};

/// Every status of a denied cell is at least this.
const FIRST_DENIAL_STATUS: u16 = 400;

/// The actors of a matrix, in file order.
type Actors = SpannedMap<Spanned<String>>;

impl Checker<'_> {
    /// The steps of `matrix:`, validated against the steps that run before them.
    pub(super) fn matrix(
        &self,
        matrix: &Spanned<MatrixFile>,
        steps: &[Step],
    ) -> Result<Vec<Step>, ScenarioError> {
        let MatrixFile { actors, rows } = &matrix.value;
        if actors.value.0.is_empty() {
            return self.fail(
                self.src.span_of(actors),
                ScenarioErrorKind::EmptyMatrix { what: "actors" },
            );
        }
        let mut seen = BTreeSet::new();
        for (name, _) in &actors.value.0 {
            if !is_scenario_id(&name.value) {
                return self.fail_help(
                    self.src.span_of(name),
                    ScenarioErrorKind::InvalidMatrixName {
                        what: "actor",
                        name: name.value.clone(),
                    },
                    "actor names become part of step ids, e.g. `org-admin`",
                );
            }
            if !seen.insert(name.value.as_str()) {
                return self.fail(
                    self.src.span_of(name),
                    ScenarioErrorKind::DuplicateMatrixKey {
                        what: "actor",
                        name: name.value.clone(),
                    },
                );
            }
        }
        if rows.value.is_empty() {
            return self.fail(
                self.src.span_of(rows),
                ScenarioErrorKind::EmptyMatrix { what: "rows" },
            );
        }
        let mut known = BTreeSet::from([RUN_ID.to_string()]);
        known.extend(
            steps
                .iter()
                .flat_map(|s| s.capture.iter().map(|c| c.variable.clone())),
        );
        let mut ids: BTreeSet<String> = steps.iter().map(|s| s.id.clone()).collect();
        let mut out = Vec::new();
        for row in &rows.value {
            out.extend(self.matrix_row(row, &actors.value, &known, &mut ids)?);
        }
        Ok(out)
    }

    fn matrix_row(
        &self,
        row: &Spanned<MatrixRowFile>,
        actors: &Actors,
        known: &BTreeSet<String>,
        ids: &mut BTreeSet<String>,
    ) -> Result<Vec<Step>, ScenarioError> {
        let r = &row.value;
        let at = self.src.span_of(row);
        let name = match &r.name {
            Some(name) if !is_scenario_id(&name.value) => {
                return self.fail(
                    self.src.span_of(name),
                    ScenarioErrorKind::InvalidMatrixName {
                        what: "row",
                        name: name.value.clone(),
                    },
                );
            }
            Some(name) => name.value.clone(),
            None => path_slug(&r.request.value.path.value),
        };
        let cells = self.matrix_cells(&r.expect, actors, &name)?;

        let mut scope = Scope {
            known: known.clone(),
            all_captures: BTreeMap::new(),
        };
        let mut setup = Vec::with_capacity(r.setup.len());
        for item in &r.setup {
            let request =
                self.request(&item.value.request.value, None, self.src.span_of(item), &scope)?;
            let capture = self.captures(&item.value.capture)?;
            scope
                .known
                .extend(capture.iter().map(|c| c.variable.clone()));
            setup.push((request, capture, self.src.model_location(item)));
        }
        let denied = r
            .denied
            .as_ref()
            .map(|e| self.error_assertion(e, &scope))
            .transpose()?;

        let mut out = Vec::new();
        for ((actor, key), (cell, status)) in actors.0.iter().zip(cells) {
            let id = format!("matrix-{name}-{}", actor.value);
            let id_at = r
                .name
                .as_ref()
                .map_or_else(|| self.src.span_of(&r.request.value.path), |n| self.src.span_of(n));
            let setup_ids = (1..=setup.len()).map(|n| format!("{id}-setup-{n}"));
            for step_id in setup_ids.clone().chain([id.clone()]) {
                if !ids.insert(step_id.clone()) {
                    return self.fail_help(
                        id_at,
                        ScenarioErrorKind::DuplicateStepId { id: step_id },
                        "give this row a `name:` of its own",
                    );
                }
            }
            for (step_id, (request, capture, location)) in setup_ids.zip(&setup) {
                out.push(Step {
                    id: step_id,
                    location: *location,
                    sleep: None,
                    request: Some(request.clone()),
                    expect: Expect {
                        status: Some(vec![200]),
                        ..Expect::default()
                    },
                    capture: capture.clone(),
                    retry: None,
                });
            }
            let statuses = self.status(status)?;
            let error = statuses
                .iter()
                .all(|s| *s >= FIRST_DENIAL_STATUS)
                .then(|| denied.clone())
                .flatten();
            out.push(Step {
                id,
                location: self.src.model_location(cell),
                sleep: None,
                request: Some(self.request(&r.request.value, Some(key), at, &scope)?),
                expect: Expect {
                    status: Some(statuses),
                    error,
                    ..Expect::default()
                },
                capture: Vec::new(),
                retry: None,
            });
        }
        Ok(out)
    }

    /// The row's cells in actor order: each key must name an actor, once, and every actor needs one.
    fn matrix_cells<'m>(
        &self,
        expect: &'m Spanned<SpannedMap<Spanned<StatusSpec>>>,
        actors: &Actors,
        row: &str,
    ) -> Result<Vec<(&'m Spanned<String>, &'m Spanned<StatusSpec>)>, ScenarioError> {
        let names: Vec<String> = actors.0.iter().map(|(a, _)| a.value.clone()).collect();
        let mut seen = BTreeSet::new();
        for (key, _) in &expect.value.0 {
            if !names.contains(&key.value) {
                return self.fail_help(
                    self.src.span_of(key),
                    ScenarioErrorKind::UnknownMatrixActor {
                        name: key.value.clone(),
                        known: names.clone(),
                    },
                    "add the actor under `matrix.actors`, or fix the name",
                );
            }
            if !seen.insert(key.value.as_str()) {
                return self.fail(
                    self.src.span_of(key),
                    ScenarioErrorKind::DuplicateMatrixKey {
                        what: "cell",
                        name: key.value.clone(),
                    },
                );
            }
        }
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !seen.contains(n.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return self.fail_help(
                self.src.span_of(expect),
                ScenarioErrorKind::MissingMatrixCell {
                    row: row.to_string(),
                    actors: missing,
                },
                "every cell is asserted: write the status each actor gets, denials too",
            );
        }
        Ok(names
            .iter()
            .filter_map(|n| expect.value.0.iter().find(|(k, _)| &k.value == n))
            .map(|(k, v)| (k, v))
            .collect())
    }
}

/// `/team/member_add` → `team-member_add`: the path's segments joined by `-`, placeholders dropped.
fn path_slug(path: &str) -> String {
    let mut slug = String::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            rest = after.split_once("}}").map_or("", |(_, tail)| tail);
            continue;
        }
        let mut chars = rest.chars();
        let c = chars.next().unwrap_or('-');
        rest = chars.as_str();
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::path_slug;

    #[test]
    fn path_slugs_join_segments_and_drop_placeholders() {
        for (path, slug) in [
            ("/team/update", "team-update"),
            ("/team/member_add", "team-member_add"),
            ("/key/{{key}}/regenerate", "key-regenerate"),
            ("/v1/mcp/server", "v1-mcp-server"),
            ("/", ""),
        ] {
            assert_eq!(path_slug(path), slug, "{path}");
        }
    }
}
