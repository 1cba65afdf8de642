//! Tests of the loader: every validation rule in its accepted and rejected form, error positions,
//! and the model a full-featured file turns into.

mod awaits;
mod expect;
mod mocks;
mod probes;
mod request;
mod scenario;
mod step;
mod support;
mod text;
mod yaml;

use std::time::Duration;

use miette::{Diagnostic, LabeledSpan};
use serde_json::json;

use super::*;
use crate::model::{Actor, Body, Capability, Location, MessageMatch, Predicate, TextPattern};
use crate::template::Template;

use support::{PATH, dedent, parse, parse_err, parse_ok, with_steps};

#[test]
fn every_scenario_in_the_repository_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let loaded = load_all(&[dir]).expect("scenarios/ exists");
    assert!(
        loaded.scenarios.iter().any(|s| s.source.to_string_lossy().contains("regressions")),
        "expected regression scenarios, found {:?}",
        loaded.scenarios.iter().map(|s| &s.source).collect::<Vec<_>>()
    );
    assert!(!loaded.fragments.is_empty(), "expected the corpus's fragments");
    let failures: Vec<String> = loaded.broken.iter().map(ScenarioError::to_string).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Some scenarios of the corpus include a fragment.
    assert!(loaded.scenarios.iter().any(|s| s.steps.iter().any(|step| step.origin.is_some())));
}

#[test]
fn display_is_one_line_naming_path_line_and_column() {
    let err = parse_err(&with_steps("- id: a\n  request: {method: GET, path: '/t/{{team}}'}"));
    assert_eq!(
        err.to_string(),
        "scenarios/t.yaml:5:36: unknown variable `team`: expected `run_id` or a variable captured by an earlier step"
    );
    assert_eq!((err.path(), err.line(), err.column()), (Path::new(PATH), Some(5), Some(36)));
    assert!(matches!(err.kind(), ScenarioErrorKind::UnknownVariable { name, .. } if name == "team"));
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn diagnostic_labels_the_offending_text() {
    let text = with_steps("- id: a\n  request: {method: GET, path: '/t/{{ team }}'}");
    let err = parse_err(&text);
    let labels: Vec<LabeledSpan> = err.labels().expect("a label").collect();
    assert_eq!(labels.len(), 1);
    let span = labels[0].inner();
    assert_eq!(&text[span.offset()..span.offset() + span.len()], "{{ team }}");
    assert_eq!(labels[0].label(), Some("not captured by an earlier step"));
    assert!(err.source_code().is_some());
    assert!(err.help().is_some());
}

#[test]
fn an_unreadable_file_is_a_scenario_error_without_position() {
    let path = Path::new("/nonexistent/gateproof/missing.yaml");
    let err = load_file(path).expect_err("the file does not exist");
    assert!(matches!(err.kind(), ScenarioErrorKind::Io { error } if error.kind() == std::io::ErrorKind::NotFound));
    assert_eq!((err.line(), err.column()), (None, None));
    assert!(
        err.to_string().starts_with("/nonexistent/gateproof/missing.yaml: failed to read the scenario file: "),
        "{err}"
    );
}

#[test]
fn a_full_featured_file_becomes_the_right_model() {
    let text = dedent(
        r#"
        id: org-admin-updates-team
        title: An org admin updates a team
        description: free text
        upstream: BerriAI/litellm#27294
        tags: [org-admin, conformance]
        requires: [organizations, mcp]
        reference:
          env:
            DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: 0
        steps:
          - id: team
            request:
              method: post
              path: /team/new
              query: {dry: false, n: 2}
              headers: {X-Trace: "t-{{run_id}}"}
              json: {team_alias: "t-{{run_id}}", max_budget: 10}
            expect:
              status: 200
              body:
                - {path: $.team_id, exists: true}
                - {path: $.models, contains: gpt-4}
              headers:
                - {name: Content-Type, contains: application/json}
            capture:
              team_id: $.team_id
              key: $.key
          - id: pause
            sleep: 2s
          - id: update
            actor: "{{key}}"
            request:
              method: PATCH
              path: "/team/{{team_id}}"
              body: '{"team_id": '
            expect:
              status: [401, 403]
              error:
                message_contains: "You do not have access"
                message_contains_any: ["Only proxy admin", "{{team_id}}"]
                message_matches: "^Auth"
                type: auth_error
                code: 401
            retry:
              until: {status: [401, 403]}
              timeout: 10s
              interval: 500ms
        "#,
    );
    let s = parse_ok(&text);
    assert_eq!(s.source, Path::new(PATH));
    assert_eq!(s.id, "org-admin-updates-team");
    assert_eq!(s.title, "An org admin updates a team");
    assert_eq!(s.description.as_deref(), Some("free text"));
    assert_eq!(s.upstream.as_deref(), Some("BerriAI/litellm#27294"));
    assert_eq!(s.tags, ["org-admin", "conformance"]);
    assert_eq!(s.requires, [Capability::Organizations, Capability::Mcp]);
    assert_eq!(s.reference.cache_ttl, Some(Duration::ZERO));
    assert_eq!(s.steps.len(), 3);

    let team = &s.steps[0];
    assert_eq!((team.id.as_str(), team.location), ("team", Location { line: 11, column: 5 }));
    let request = team.request.as_ref().expect("a request");
    assert_eq!(request.actor, Actor::Admin);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path.as_str(), "/team/new");
    let query: Vec<(&str, &str)> = request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(query, [("dry", "false"), ("n", "2")]);
    let headers: Vec<(&str, &str)> = request.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(headers, [("x-trace", "t-{{run_id}}")]);
    assert!(
        matches!(&request.body, Some(Body::Json(v)) if *v == json!({"team_alias": "t-{{run_id}}", "max_budget": 10}))
    );
    assert_eq!(team.expect.status, Some(vec![200]));
    assert_eq!(team.expect.body.len(), 2);
    assert_eq!(team.expect.body[0].path_text, "$.team_id");
    assert_eq!(team.expect.body[0].location, Location { line: 21, column: 11 });
    assert!(matches!(team.expect.body[0].predicate, Predicate::Exists));
    assert!(matches!(&team.expect.body[1].predicate, Predicate::Contains(v) if *v == json!("gpt-4")));
    assert_eq!(team.expect.headers[0].name, "content-type");
    assert!(team.expect.error.is_none());
    let captures: Vec<(&str, &str)> =
        team.capture.iter().map(|c| (c.variable.as_str(), c.path_text.as_str())).collect();
    assert_eq!(captures, [("team_id", "$.team_id"), ("key", "$.key")]);
    assert!(team.sleep.is_none() && team.retry.is_none());

    let pause = &s.steps[1];
    assert_eq!(pause.sleep, Some(Duration::from_secs(2)));
    assert!(pause.request.is_none() && pause.capture.is_empty() && pause.expect.status.is_none());

    let update = &s.steps[2];
    let request = update.request.as_ref().expect("a request");
    assert_eq!(request.actor, Actor::Key(Template::parse("{{key}}").expect("a template")));
    assert_eq!(request.method, "PATCH");
    assert!(matches!(&request.body, Some(Body::Raw(t)) if t.as_str() == "{\"team_id\": "));
    assert_eq!(update.expect.status, Some(vec![401, 403]));
    let error = update.expect.error.as_ref().expect("an error assertion");
    assert_eq!(error.location.line, 39);
    assert_eq!(error.error_type.as_deref(), Some("auth_error"));
    assert_eq!(error.code.as_deref(), Some("401"));
    match error.message.as_slice() {
        [
            MessageMatch::Contains(c),
            MessageMatch::ContainsAny(any),
            MessageMatch::Matches(TextPattern::Compiled(r)),
        ] => {
            assert_eq!(c.as_str(), "You do not have access");
            let any: Vec<&str> = any.iter().map(Template::as_str).collect();
            assert_eq!(any, ["Only proxy admin", "{{team_id}}"]);
            assert_eq!(r.as_str(), "^Auth");
        }
        other => panic!("unexpected message matches {other:?}"),
    }
    let retry = update.retry.as_ref().expect("a retry");
    assert_eq!(retry.until.status, Some(vec![401, 403]));
    assert_eq!((retry.timeout, retry.interval), (Duration::from_secs(10), Duration::from_millis(500)));
}

#[test]
fn discover_walks_directories_for_yaml_files_sorted() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path();
    for file in ["b.yaml", "a.yml", "notes.txt", "nested/deeper/c.yaml", "nested/d.YAML.bak"] {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
        std::fs::write(&path, "id: x\n").expect("write");
    }
    let explicit = root.join("notes.txt");
    let found = discover(&[root.to_path_buf(), explicit.clone()]).expect("discover").files;
    let expected = vec![root.join("a.yml"), root.join("b.yaml"), root.join("nested/deeper/c.yaml"), explicit];
    assert_eq!(found, expected, "files given explicitly are kept whatever their extension");
}

#[test]
fn discover_names_a_missing_path() {
    let err = discover(&[std::path::PathBuf::from("/nonexistent/gateproof-scenarios")]).expect_err("missing");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/gateproof-scenarios"), "{err}");
}

#[test]
fn the_valid_fixtures_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/valid");
    let files = discover(&[dir]).expect("fixtures/valid exists").files;
    assert!(files.len() >= 2, "expected at least two valid fixtures, found {files:?}");
    for file in files {
        if let Err(e) = load_file(&file) {
            panic!("{e}");
        }
    }
}

#[test]
fn positions_hold_with_crlf_line_ends_and_multibyte_text() {
    let text = "id: s\r\ntitle: Café ☕ tests\r\nsteps:\r\n  - {id: a, sleep: 1s}\r\n  - {id: ☕, sleep: soon}\r\n";
    let err = parse_err(text);
    assert_eq!((err.line(), err.column()), (Some(5), Some(20)), "{err}");
    assert!(err.to_string().contains("invalid duration `soon`"), "{err}");
    let labels: Vec<LabeledSpan> = err.labels().expect("a label").collect();
    let span = labels[0].inner();
    assert_eq!(&text[span.offset()..span.offset() + span.len()], "soon");
}

#[test]
fn a_byte_order_mark_does_not_break_positions() {
    let text = "\u{feff}id: s\ntitle: T\nsteps:\n  - {id: a, sleep: soon}\n";
    let err = parse_err(text);
    assert_eq!(err.line(), Some(4), "{err}");
    let labels: Vec<LabeledSpan> = err.labels().expect("a label").collect();
    let span = labels[0].inner();
    assert_eq!(&text[span.offset()..span.offset() + span.len()], "soon");
    assert_eq!(err.column(), Some(20));
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"id: s\ntitle: \"\xc3\xa9t\xe9\"\nsteps: []\n").expect("write");
    let error = load_file(&path).expect_err("not UTF-8");
    assert_eq!((error.line(), error.column()), (Some(2), Some(11)), "{error}");
    assert!(error.to_string().ends_with("invalid UTF-8 at byte 17 (0xe9): expected UTF-8 text"), "{error}");
}

/// A 10 MB single-line key once printed 10 MB: the message, label, hint and quoted lines are bounded.
#[test]
fn an_error_in_a_huge_line_renders_a_bounded_report() {
    for yaml in [
        format!("id: s\ntitle: T\nsteps:\n  - id: a\n    {}: 1\n", "k".repeat(10_000_000)),
        format!("id: s\ntitle: T\nsteps:\n  - id: a\n    request: {{method: {}, path: /h}}\n", "M".repeat(10_000_000)),
        format!("id: {}\ntitle: T\nsteps: []\n", "I".repeat(10_000_000)),
    ] {
        let error = parse(&yaml).expect_err("broken");
        let report = render_report(&error);
        assert!(error.to_string().len() < 3_000, "{} bytes", error.to_string().len());
        assert!(report.len() < 10_000, "{} bytes: {}", report.len(), &report[..2_000]);
        assert!(report.contains('…'), "{report}");
    }
}

/// The error's graphical report, as the command line prints it (no colours).
fn render_report(error: &ScenarioError) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, error)
        .expect("renders into a String");
    out
}

#[test]
fn broken_directory_entries_are_broken_files_and_the_rest_is_found() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path();
    std::fs::write(root.join("a.yaml"), "id: x\n").expect("write");
    std::os::unix::fs::symlink("user@host.1:2", root.join(".#a.yaml")).expect("symlink");
    std::os::unix::fs::symlink(root.join("gone"), root.join("more-scenarios")).expect("symlink");
    let found = discover(&[root.to_path_buf()]).expect("discover");
    assert_eq!(found.files, [root.join("a.yaml")]);
    assert_eq!(found.skipped, [root.join("more-scenarios")]);
    let [broken] = found.broken.as_slice() else { panic!("{:?}", found.broken) };
    assert_eq!(broken.path(), root.join(".#a.yaml"));
    assert_eq!(
        broken.to_string(),
        format!("{}: dangling symlink to `user@host.1:2`: expected a scenario file", broken.path().display())
    );
}

#[test]
fn a_second_file_with_an_id_already_seen_is_broken_at_its_id() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let text = |title: &str| format!("id: same\ntitle: {title}\nsteps:\n  - {{id: a, sleep: 1s}}\n");
    std::fs::write(dir.path().join("a.yaml"), text("first")).expect("write");
    std::fs::write(dir.path().join("b.yaml"), text("second")).expect("write");
    std::fs::write(dir.path().join("c.yaml"), "id: other\ntitle: T\nsteps:\n  - {id: a, sleep: 1s}\n").expect("write");
    let loaded = load_all(&[dir.path().to_path_buf()]).expect("load");
    let titles: Vec<_> = loaded.scenarios.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["first", "T"]);
    let [error] = loaded.broken.as_slice() else { panic!("{:?}", loaded.broken) };
    let (first, second) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    assert_eq!(
        error.to_string(),
        format!("{}:1:5: duplicate scenario id `same`: the file {} has it too", second.display(), first.display())
    );
}
