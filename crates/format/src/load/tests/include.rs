//! Tests of `include:` and fragment files: the steps an include expands to, and every error with the
//! file, line and column it names.

use std::path::{Path, PathBuf};

use rstest::rstest;
use serde_json::json;

use crate::load::{ScenarioError, ScenarioErrorKind, load_all, load_file};
use crate::model::{Actor, Body, IncludeSite, Location, Predicate, Scenario};

/// The fragment most tests include: two parameters (one with a default), two steps, two captures.
const ORG: &str = "\
fragment: an organization with an org admin
params:
  alias: {description: the organization's alias}
  budget: {default: 10}
steps:
  - id: org
    request: {method: POST, path: /organization/new, json: {organization_alias: \"{{alias}}\", max_budget: \"{{budget}}\"}}
    expect:
      status: 200
      body:
        - {path: $.organization_alias, equals: \"{{alias}}\"}
    capture: {org_id: $.organization_id}
  - id: admin
    request: {method: POST, path: /user/new, json: {user_id: \"oa-{{alias}}\", note: \"budget {{budget}}\"}}
    capture: {admin_key: $.key}
  - id: whoami
    actor: \"{{admin_key}}\"
    request: {method: GET, path: /organization/info, query: {organization_id: \"{{org_id}}\"}}
";

/// A folder holding `files` (path, text); scenario files go under `scenarios/`, fragments under
/// `fragments/`.
struct Corpus {
    dir: tempfile::TempDir,
}

impl Corpus {
    fn new(files: &[(&str, &str)]) -> Corpus {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
            std::fs::write(path, text).expect("written");
        }
        Corpus { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn load(&self, relative: &str) -> Result<Scenario, ScenarioError> {
        load_file(&self.path(relative))
    }

    fn load_ok(&self, relative: &str) -> Scenario {
        self.load(relative).unwrap_or_else(|e| panic!("expected {relative} to load, got: {e}"))
    }

    fn load_err(&self, relative: &str) -> ScenarioError {
        match self.load(relative) {
            Ok(_) => panic!("expected {relative} to be refused"),
            Err(e) => e,
        }
    }
}

fn scenario(steps: &str) -> String {
    format!("id: s\ntitle: T\nsteps:\n{steps}")
}

/// The error names `file` (relative to the corpus) at `line`:`column`, and its one-line message
/// says `message`.
fn assert_at(corpus: &Corpus, error: &ScenarioError, file: &str, line: usize, column: usize, message: &str) {
    let place = format!("{}:{line}:{column}: ", corpus.path(file).display());
    let text = error.to_string();
    assert!(text.starts_with(&place) && text.contains(message), "got `{text}`, expected `{place}…{message}…`");
}

#[test]
fn an_include_expands_to_the_fragments_steps_with_prefixed_ids_and_bound_parameters() {
    let corpus = Corpus::new(&[
        ("fragments/org.yaml", ORG),
        (
            "scenarios/s.yaml",
            &scenario(
                "  - id: setup\n    include: ../fragments/org.yaml\n    with: {alias: \"acme-{{run_id}}\", budget: 25}\n  \
                 - id: after\n    request: {method: GET, path: \"/organization/info\", query: {id: \"{{setup.org_id}}\"}}\n",
            ),
        ),
    ]);
    let s = corpus.load_ok("scenarios/s.yaml");
    let ids: Vec<&str> = s.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["setup.org", "setup.admin", "setup.whoami", "after"]);

    let org = &s.steps[0];
    let Some(Body::Json(body)) = org.request.as_ref().and_then(|r| r.body.clone()) else { panic!("a JSON body") };
    // A string parameter is spliced as a template; a number written alone keeps its type.
    assert_eq!(body, json!({"organization_alias": "acme-{{run_id}}", "max_budget": 25}));
    let Predicate::Equals(expected) = &org.expect.body[0].predicate else { panic!("equals") };
    assert_eq!(expected, &json!("acme-{{run_id}}"));
    assert_eq!(org.capture[0].variable, "setup.org_id");

    let admin = &s.steps[1];
    let Some(Body::Json(body)) = admin.request.as_ref().and_then(|r| r.body.clone()) else { panic!("a JSON body") };
    // Inside a longer string the number is written as text.
    assert_eq!(body, json!({"user_id": "oa-acme-{{run_id}}", "note": "budget 25"}));

    let whoami = s.steps[2].request.as_ref().expect("a request");
    let Actor::Key(key) = &whoami.actor else { panic!("a key actor") };
    assert_eq!(key.as_str(), "{{setup.admin_key}}");
    assert_eq!(whoami.query[0].1.as_str(), "{{setup.org_id}}");

    // Each included step says where it is written and which step brought it in.
    let origin = org.origin.as_ref().expect("an included step has an origin");
    assert_eq!(origin.file, corpus.path("fragments/org.yaml"));
    assert_eq!(
        origin.included_from,
        [IncludeSite { file: corpus.path("scenarios/s.yaml"), location: Location { line: 4, column: 5 } }]
    );
    assert_eq!(org.location, Location { line: 6, column: 5 });
    assert_eq!(org.expect.body[0].location, Location { line: 11, column: 11 });
    assert!(s.steps[3].origin.is_none());
}

#[test]
fn a_fragment_included_twice_sets_up_two_independent_sets_with_defaults_filled_in() {
    let corpus = Corpus::new(&[
        ("fragments/org.yaml", ORG),
        (
            "scenarios/s.yaml",
            &scenario(
                "  - {id: a, include: ../fragments/org.yaml, with: {alias: one}}\n  \
                 - {id: b, include: ../fragments/org.yaml, with: {alias: two}}\n",
            ),
        ),
    ]);
    let s = corpus.load_ok("scenarios/s.yaml");
    let ids: Vec<&str> = s.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a.org", "a.admin", "a.whoami", "b.org", "b.admin", "b.whoami"]);
    let Some(Body::Json(body)) = s.steps[3].request.as_ref().and_then(|r| r.body.clone()) else { panic!("JSON") };
    assert_eq!(body, json!({"organization_alias": "two", "max_budget": 10}));
    assert_eq!(s.steps[5].request.as_ref().map(|r| r.query[0].1.as_str().to_string()), Some("{{b.org_id}}".into()));
}

#[test]
fn a_nested_include_names_every_include_step_innermost_first() {
    let outer = "\
fragment: an org and a team in it
params:
  name: {}
steps:
  - id: base
    include: org.yaml
    with: {alias: \"{{name}}\"}
  - id: team
    request: {method: POST, path: /team/new, json: {organization_id: \"{{base.org_id}}\"}}
    capture: {team_id: $.team_id}
";
    let corpus = Corpus::new(&[
        ("fragments/org.yaml", ORG),
        ("fragments/team.yaml", outer),
        ("scenarios/s.yaml", &scenario("  - id: t\n    include: ../fragments/team.yaml\n    with: {name: x}\n")),
    ]);
    let s = corpus.load_ok("scenarios/s.yaml");
    let ids: Vec<&str> = s.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["t.base.org", "t.base.admin", "t.base.whoami", "t.team"]);
    let origin = s.steps[0].origin.as_ref().expect("an origin");
    assert_eq!(origin.file, corpus.path("fragments/org.yaml"));
    let sites: Vec<(PathBuf, Location)> = origin.included_from.iter().map(|s| (s.file.clone(), s.location)).collect();
    assert_eq!(
        sites,
        [
            (corpus.path("fragments/team.yaml"), Location { line: 5, column: 5 }),
            (corpus.path("scenarios/s.yaml"), Location { line: 4, column: 5 }),
        ]
    );
    let Some(Body::Json(body)) = s.steps[3].request.as_ref().and_then(|r| r.body.clone()) else { panic!("JSON") };
    assert_eq!(body, json!({"organization_id": "{{t.base.org_id}}"}));
    assert_eq!(s.steps[3].capture[0].variable, "t.team_id");
}

/// A fragment with one required parameter, `alias`.
const REQUIRED_ALIAS: &str = "fragment: f\nparams:\n  alias: {}\nsteps:\n  - {id: a, sleep: 1ms}\n";

#[rstest]
#[case::missing_fragment_file(
    scenario("  - id: setup\n    include: ../fragments/nope.yaml\n"),
    5,
    14,
    "failed to read the fragment"
)]
#[case::a_scenario_is_not_a_fragment(
    scenario("  - id: setup\n    include: other.yaml\n"),
    5,
    14,
    "is not a fragment: expected a file with a top-level `fragment:` key"
)]
#[case::missing_required_parameter(
    scenario("  - id: setup\n    include: ../fragments/req.yaml\n"),
    5,
    14,
    "missing parameter `alias` of the fragment"
)]
#[case::unknown_parameter(
    scenario("  - id: setup\n    include: ../fragments/req.yaml\n    with: {alias: a, colour: red}\n"),
    6,
    22,
    "unknown parameter `colour` of the fragment"
)]
#[case::a_parameter_value_using_an_unknown_variable(
    scenario("  - id: setup\n    include: ../fragments/req.yaml\n    with: {alias: \"{{nope}}\"}\n"),
    6,
    20,
    "unknown variable `nope`"
)]
#[case::include_beside_a_request(
    scenario("  - id: setup\n    include: ../fragments/req.yaml\n    request: {method: GET, path: /}\n"),
    6,
    5,
    "`request` in an include step: expected only `id`, `include` and `with`"
)]
#[case::include_in_the_background(
    scenario("  - id: setup\n    include: ../fragments/req.yaml\n    with: {alias: a}\n    background: true\n"),
    7,
    5,
    "`background` in an include step: expected only `id`, `include` and `with`"
)]
#[case::with_without_include(
    scenario("  - id: a\n    request: {method: GET, path: /}\n    with: {alias: a}\n"),
    6,
    5,
    "`with` without `include`"
)]
#[case::a_later_step_with_an_included_steps_id(
    scenario("  - {id: setup, include: ../fragments/req.yaml, with: {alias: a}}\n  - {id: setup.a, sleep: 1ms}\n"),
    5,
    10,
    "duplicate step id `setup.a`"
)]
fn errors_at_the_include_step_name_the_scenario_file_line_and_column(
    #[case] text: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    let corpus = Corpus::new(&[
        ("fragments/req.yaml", REQUIRED_ALIAS),
        ("scenarios/other.yaml", &scenario("  - {id: a, sleep: 1ms}\n")),
        ("scenarios/s.yaml", &text),
    ]);
    let error = corpus.load_err("scenarios/s.yaml");
    assert!(error.included_from().is_empty(), "{error}");
    assert_at(&corpus, &error, "scenarios/s.yaml", line, column, message);
}

#[rstest]
#[case::unknown_field_in_a_fragment_step(
    "fragment: f\nsteps:\n  - id: a\n    sleep: 1ms\n    wait: 2s\n",
    5,
    5,
    "unknown field `wait`"
)]
#[case::a_scenarios_variable_is_not_visible_in_a_fragment(
    "fragment: f\nsteps:\n  - id: a\n    request: {method: GET, path: \"/x/{{team_id}}\"}\n",
    4,
    38,
    "unknown variable `team_id`"
)]
#[case::invalid_parameter_name(
    "fragment: f\nparams:\n  run_id: {}\nsteps:\n  - {id: a, sleep: 1ms}\n",
    3,
    3,
    "invalid parameter name `run_id`"
)]
#[case::a_capture_with_a_parameters_name(
    "fragment: f\nparams:\n  org: {default: x}\nsteps:\n  - id: a\n    request: {method: GET, path: /}\n    capture: {org: $.id}\n",
    7,
    15,
    "capture `org` has the name of a parameter"
)]
#[case::no_steps("fragment: f\nsteps: []\n", 2, 8, "no steps")]
#[case::empty_title("fragment: ''\nsteps:\n  - {id: a, sleep: 1ms}\n", 1, 11, "empty fragment title")]
#[case::a_default_using_an_unknown_variable(
    "fragment: f\nparams:\n  alias: {default: \"{{who}}\"}\nsteps:\n  - {id: a, sleep: 1ms}\n",
    3,
    21,
    "unknown variable `who`"
)]
fn a_broken_fragment_is_located_in_the_fragment_and_names_the_include_step(
    #[case] fragment: &str,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    let include = scenario("  - id: setup\n    include: ../fragments/f.yaml\n");
    let corpus = Corpus::new(&[("fragments/f.yaml", fragment), ("scenarios/s.yaml", &include)]);
    let error = corpus.load_err("scenarios/s.yaml");
    assert_at(&corpus, &error, "fragments/f.yaml", line, column, message);
    let included = format!("(included from {}:4:5)", corpus.path("scenarios/s.yaml").display());
    assert!(error.to_string().ends_with(&included), "{error}");
    assert_eq!(error.included_from().len(), 1);
}

#[test]
fn an_include_cycle_is_refused_where_it_closes() {
    let corpus = Corpus::new(&[
        ("fragments/a.yaml", "fragment: a\nsteps:\n  - id: to-b\n    include: b.yaml\n"),
        ("fragments/b.yaml", "fragment: b\nsteps:\n  - {id: back, include: ./a.yaml}\n"),
        ("scenarios/s.yaml", &scenario("  - {id: start, include: ../fragments/a.yaml}\n")),
    ]);
    let error = corpus.load_err("scenarios/s.yaml");
    assert!(matches!(error.kind(), ScenarioErrorKind::IncludeCycle { .. }), "{error}");
    assert_at(&corpus, &error, "fragments/b.yaml", 3, 25, "include cycle: ");
    let shown = error.to_string();
    let a = corpus.path("fragments/a.yaml").display().to_string();
    let b = corpus.path("fragments/b.yaml").display().to_string();
    assert!(shown.contains(&format!("include cycle: {a} includes {b} includes {a}")), "{shown}");
    // The include steps that led there, innermost first.
    let sites: Vec<(PathBuf, usize)> =
        error.included_from().iter().map(|s| (s.file.clone(), s.location.line)).collect();
    assert_eq!(sites, [(corpus.path("fragments/a.yaml"), 3), (corpus.path("scenarios/s.yaml"), 4)]);

    // A fragment including itself is a cycle too.
    let corpus = Corpus::new(&[
        ("fragments/a.yaml", "fragment: a\nsteps:\n  - {id: me, include: a.yaml}\n"),
        ("scenarios/s.yaml", &scenario("  - {id: start, include: ../fragments/a.yaml}\n")),
    ]);
    let error = corpus.load_err("scenarios/s.yaml");
    assert_at(&corpus, &error, "fragments/a.yaml", 3, 23, "include cycle: ");
}

#[test]
fn a_fragment_is_not_a_scenario_and_a_folder_run_passes_over_it() {
    let corpus = Corpus::new(&[
        ("scenarios/fragments/org.yaml", ORG),
        ("scenarios/fragments/broken.yaml", "fragment: b\nsteps:\n  - id: a\n    sleap: 1s\n"),
        ("scenarios/s.yaml", &scenario("  - id: setup\n    include: fragments/org.yaml\n    with: {alias: a}\n")),
    ]);
    let error = corpus.load_err("scenarios/fragments/org.yaml");
    assert_at(&corpus, &error, "scenarios/fragments/org.yaml", 1, 1, "this file is a fragment: expected a scenario");

    let loaded = load_all(&[corpus.path("scenarios")]).expect("readable");
    let ids: Vec<&str> = loaded.scenarios.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s"]);
    let fragments: Vec<&Path> = loaded.fragments.iter().map(PathBuf::as_path).collect();
    assert_eq!(
        fragments,
        [
            corpus.path("scenarios/fragments/broken.yaml").as_path(),
            corpus.path("scenarios/fragments/org.yaml").as_path()
        ]
    );
    // A broken fragment is reported even when no scenario includes it, at its own line and column.
    assert_eq!(loaded.broken.len(), 1, "{:?}", loaded.broken);
    assert_at(&corpus, &loaded.broken[0], "scenarios/fragments/broken.yaml", 4, 5, "unknown field `sleap`");
}

#[test]
fn fragment_paths_are_named_without_dot_dot() {
    let corpus = Corpus::new(&[
        ("fragments/org.yaml", ORG),
        (
            "scenarios/deep/s.yaml",
            &scenario("  - {id: setup, include: ./../../fragments/org.yaml, with: {alias: a}}\n"),
        ),
    ]);
    let s = corpus.load_ok("scenarios/deep/s.yaml");
    let origin = s.steps[0].origin.as_ref().expect("an origin");
    assert_eq!(origin.file, corpus.path("fragments/org.yaml"));
}
