//! `matrix:`: a role × route table expanded into ordinary steps at load time.
//!
//! Every row is sent once by every actor, in actor order, after the file's `steps`. The cell of row
//! `R` and actor `A` becomes step `matrix-R-A`, which expects the cell's status (and the row's
//! `denied` error assertion when every status of the cell is 400 or above). A row with `setup` gets
//! steps `matrix-R-A-setup-1`, `-2`, … before each cell, sent with the master key and expected to
//! answer 200, so a cell that changes or deletes its object never sees what another cell did to it. The runner,
//! reports and targets see only steps; nothing downstream knows about matrices. Generated steps have
//! no `on:`, so they go round-robin over the endpoints like any step without one.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::scenario::is_scenario_id;
use super::step::known_at;
use super::{Checker, Scope};
use crate::file::{MatrixFile, MatrixRowFile, SpannedMap, StatusSpec};
use crate::load::{ScenarioError, ScenarioErrorKind};
use crate::model::{Expect, Step};

/// Every status of a denied cell is at least this.
const FIRST_DENIAL_STATUS: u16 = 400;

/// The actors of a matrix, in file order.
type Actors = SpannedMap<Spanned<String>>;

/// One cell of a row: the actor's name as written, and the statuses it expects.
type Cell<'m> = (&'m Spanned<String>, &'m Spanned<StatusSpec>);

impl Checker<'_> {
    /// The steps of `matrix:`, validated against the steps that run before them.
    pub(super) fn matrix(
        &self,
        matrix: &Spanned<MatrixFile>,
        steps: &[Step],
        builtins: &BTreeSet<String>,
    ) -> Result<Vec<Step>, ScenarioError> {
        let MatrixFile { actors, rows } = &matrix.value;
        if actors.value.0.is_empty() {
            return self.fail(self.src.span_of(actors), ScenarioErrorKind::EmptyMatrix { what: "actors" });
        }
        // Duplicate keys are already refused by the YAML parser.
        for (name, _) in &actors.value.0 {
            if !is_scenario_id(&name.value) {
                return self.fail_help(
                    self.src.span_of(name),
                    ScenarioErrorKind::InvalidMatrixName { what: "actor", name: name.value.clone() },
                    "actor names become part of step ids, e.g. `org-admin`",
                );
            }
        }
        if rows.value.is_empty() {
            return self.fail(self.src.span_of(rows), ScenarioErrorKind::EmptyMatrix { what: "rows" });
        }
        let known = known_at(steps, steps.len(), builtins);
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
                    ScenarioErrorKind::InvalidMatrixName { what: "row", name: name.value.clone() },
                );
            }
            Some(name) => name.value.clone(),
            None => path_slug(&r.request.value.path.value),
        };
        let cells = self.matrix_cells(&r.expect, actors, &name)?;

        let mut scope = Scope { known: known.clone(), all_captures: BTreeMap::new(), not_awaited: BTreeMap::new() };
        let mut setup = Vec::with_capacity(r.setup.len());
        for item in &r.setup {
            let request = self.request(&item.value.request.value, None, self.src.span_of(item), &scope)?;
            let capture = self.captures(&item.value.capture)?;
            scope.known.extend(capture.iter().map(|c| c.variable.clone()));
            setup.push((request, capture, self.src.model_location(item)));
        }
        let denied = r.denied.as_ref().map(|e| self.error_assertion(e, &scope)).transpose()?;

        let mut out = Vec::new();
        for ((actor, key), (cell, status)) in actors.0.iter().zip(cells) {
            let id = format!("matrix-{name}-{}", actor.value);
            let id_at =
                r.name.as_ref().map_or_else(|| self.src.span_of(&r.request.value.path), |n| self.src.span_of(n));
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
                    on: None,
                    request: Some(request.clone()),
                    expect: Expect { status: Some(vec![200]), ..Expect::default() },
                    capture: capture.clone(),
                    retry: None,
                    background: false,
                    awaits: Vec::new(),
                    origin: None,
                });
            }
            let statuses = self.status(status)?;
            let error = statuses.iter().all(|s| *s >= FIRST_DENIAL_STATUS).then(|| denied.clone()).flatten();
            out.push(Step {
                id,
                location: self.src.model_location(cell),
                sleep: None,
                on: None,
                request: Some(self.request(&r.request.value, Some(key), at, &scope)?),
                expect: Expect { status: Some(statuses), error, ..Expect::default() },
                capture: Vec::new(),
                retry: None,
                background: false,
                awaits: Vec::new(),
                origin: None,
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
    ) -> Result<Vec<Cell<'m>>, ScenarioError> {
        let names: Vec<String> = actors.0.iter().map(|(a, _)| a.value.clone()).collect();
        let mut seen = BTreeSet::new();
        for (key, _) in &expect.value.0 {
            if !names.contains(&key.value) {
                return self.fail_help(
                    self.src.span_of(key),
                    ScenarioErrorKind::UnknownMatrixActor { name: key.value.clone(), known: names.clone() },
                    "add the actor under `matrix.actors`, or fix the name",
                );
            }
            seen.insert(key.value.as_str());
        }
        let missing: Vec<String> = names.iter().filter(|n| !seen.contains(n.as_str())).cloned().collect();
        if !missing.is_empty() {
            return self.fail_help(
                self.src.span_of(expect),
                ScenarioErrorKind::MissingMatrixCell { row: row.to_string(), actors: missing },
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
    use std::path::Path;

    use rstest::rstest;

    use super::path_slug;
    use crate::load::{ScenarioErrorKind, parse_str};
    use crate::model::{Actor, Step};

    const MATRIX: &str = r#"
id: m
title: matrix
steps:
  - id: team
    request: {method: POST, path: /team/new}
    capture: {team_id: $.team_id}
matrix:
  actors:
    boss: admin
    anon: none
    user: "{{team_id}}"
  rows:
    - request: {method: GET, path: /team/info, query: {team_id: "{{team_id}}"}}
      denied: {message_contains: "not authorized"}
      expect: {user: [401, 403], anon: 401, boss: 200}
    - name: drop
      setup:
        - request: {method: POST, path: /team/new}
          capture: {fresh: $.team_id}
        - request: {method: POST, path: /team/block, json: {team_id: "{{fresh}}"}}
      request: {method: POST, path: /team/delete, json: {team_ids: ["{{fresh}}"]}}
      expect: {boss: 200, anon: 401, user: [200, 403]}
"#;

    fn ids(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn every_cell_becomes_a_step_in_actor_order_after_the_steps() {
        let scenario = parse_str(MATRIX, Path::new("m.yaml")).expect("valid matrix");
        assert_eq!(
            ids(&scenario.steps),
            [
                "team",
                "matrix-team-info-boss",
                "matrix-team-info-anon",
                "matrix-team-info-user",
                "matrix-drop-boss-setup-1",
                "matrix-drop-boss-setup-2",
                "matrix-drop-boss",
                "matrix-drop-anon-setup-1",
                "matrix-drop-anon-setup-2",
                "matrix-drop-anon",
                "matrix-drop-user-setup-1",
                "matrix-drop-user-setup-2",
                "matrix-drop-user",
            ]
        );
        let statuses: Vec<Option<Vec<u16>>> = scenario.steps[1..4].iter().map(|s| s.expect.status.clone()).collect();
        assert_eq!(statuses, [Some(vec![200]), Some(vec![401]), Some(vec![401, 403])]);
        let actors: Vec<Actor> =
            scenario.steps[1..4].iter().filter_map(|s| s.request.as_ref().map(|r| r.actor.clone())).collect();
        assert_eq!(actors[0], Actor::Admin);
        assert_eq!(actors[1], Actor::Anonymous);
        assert!(matches!(&actors[2], Actor::Key(_)));
    }

    #[test]
    fn the_denied_assertion_applies_only_to_cells_whose_statuses_all_deny() {
        let scenario = parse_str(MATRIX, Path::new("m.yaml")).expect("valid matrix");
        let has_error: Vec<(&str, bool)> =
            scenario.steps.iter().map(|s| (s.id.as_str(), s.expect.error.is_some())).collect();
        assert!(has_error.contains(&("matrix-team-info-boss", false)));
        assert!(has_error.contains(&("matrix-team-info-anon", true)));
        assert!(has_error.contains(&("matrix-team-info-user", true)));
        // A row without `denied` asserts statuses only.
        assert!(has_error.contains(&("matrix-drop-anon", false)));
    }

    #[test]
    fn setup_steps_use_the_master_key_expect_200_and_capture() {
        let scenario = parse_str(MATRIX, Path::new("m.yaml")).expect("valid matrix");
        let setup = scenario.steps.iter().find(|s| s.id == "matrix-drop-user-setup-1").expect("setup step");
        assert_eq!(setup.request.as_ref().map(|r| r.actor.clone()), Some(Actor::Admin));
        assert_eq!(setup.expect.status, Some(vec![200]));
        assert_eq!(setup.capture.iter().map(|c| c.variable.as_str()).collect::<Vec<_>>(), ["fresh"]);
    }

    #[rstest]
    #[case::an_actor_name_in_upper_case(
        "boss: admin",
        "Boss: admin",
        |k: &ScenarioErrorKind| matches!(k, ScenarioErrorKind::InvalidMatrixName { what: "actor", .. }),
        10
    )]
    #[case::a_row_name_in_upper_case(
        "- name: drop",
        "- name: Drop",
        |k: &ScenarioErrorKind| matches!(k, ScenarioErrorKind::InvalidMatrixName { what: "row", .. }),
        17
    )]
    #[case::no_actors(
        "actors:\n    boss: admin\n    anon: none\n    user: \"{{team_id}}\"",
        "actors: {}",
        |k: &ScenarioErrorKind| matches!(k, ScenarioErrorKind::EmptyMatrix { what: "actors" }),
        9
    )]
    // The YAML parser refuses a duplicate key before the matrix is expanded.
    #[case::a_duplicate_actor(
        "boss: admin",
        "boss: admin\n    boss: none",
        |k: &ScenarioErrorKind| matches!(k, ScenarioErrorKind::Yaml { .. }),
        11
    )]
    #[case::an_actor_key_captured_only_by_a_rows_setup(
        "user: \"{{team_id}}\"",
        "user: \"{{fresh}}\"",
        |k: &ScenarioErrorKind| matches!(k, ScenarioErrorKind::UnknownVariable { .. }),
        12
    )]
    fn malformed_matrices_are_load_errors_at_the_offending_node(
        #[case] from: &str,
        #[case] to: &str,
        #[case] is_kind: fn(&ScenarioErrorKind) -> bool,
        #[case] line: usize,
    ) {
        assert!(MATRIX.contains(from), "{from}");
        let text = MATRIX.replacen(from, to, 1);
        let error = parse_str(&text, Path::new("m.yaml")).expect_err(to);
        assert!(is_kind(error.kind()), "{to}: {error}");
        assert_eq!(error.line(), Some(line), "{to}: {error}");
    }

    #[rstest]
    #[case::two_segments("/team/update", "team-update")]
    #[case::an_underscore("/team/member_add", "team-member_add")]
    #[case::a_placeholder("/key/{{key}}/regenerate", "key-regenerate")]
    #[case::three_segments("/v1/mcp/server", "v1-mcp-server")]
    #[case::the_root("/", "")]
    fn path_slugs_join_segments_and_drop_placeholders(#[case] path: &str, #[case] slug: &str) {
        assert_eq!(path_slug(path), slug, "{path}");
    }
}
