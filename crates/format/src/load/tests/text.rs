//! Text the run fills in or compiles: JSONPaths, regular expressions, templates and the variables
//! they may use.

use rstest::rstest;

use super::support::*;
use crate::PathQuery;
use crate::model::{Predicate, TextPattern};

#[rstest]
#[case::body_assertion(
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{body: [{{path: '$.a[', exists: true}}]}}")),
    6,
    26,
    "invalid JSONPath `$.a[`"
)]
#[case::no_root(
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{body: [{{path: team_id, exists: true}}]}}")),
    6,
    26,
    "invalid JSONPath `team_id`"
)]
#[case::capture(with_steps(&format!("- id: a\n  {GET}\n  capture: {{k: '$$'}}")), 6, 16, "invalid JSONPath `$$`")]
fn jsonpaths_must_parse(#[case] yaml: String, #[case] line: usize, #[case] column: usize, #[case] message: &str) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn rfc_9535_jsonpaths_load() {
    assert_accepted(&with_steps(&format!(
        "- id: a\n  {GET}\n  expect:\n    body:\n      - {{path: '$.keys[0].token', exists: true}}\n      - {{path: \"$.data[?@.name == 'x'].id\", exists: true}}\n      - {{path: '$..id', exists: true}}"
    )));
}

#[rstest]
#[case::body(
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{body: [{{path: $.a, matches: '(sk'}}]}}")),
    6,
    40,
    "invalid regular expression `(sk`: unclosed group"
)]
#[case::error_message(
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{error: {{message_matches: '[a-'}}}}")),
    6,
    37,
    "invalid regular expression `[a-`"
)]
fn regexes_must_compile(#[case] yaml: String, #[case] line: usize, #[case] column: usize, #[case] message: &str) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn a_templated_regex_is_compiled_only_when_filled_in() {
    let scenario = parse_ok(&with_steps(&format!(
        "- id: a\n  {GET}\n  expect: {{body: [{{path: $.a, matches: '^{{{{run_id}}}}('}}]}}"
    )));
    assert!(matches!(
        &scenario.steps[0].expect.body[0].predicate,
        Predicate::Matches(TextPattern::Templated(t)) if t.as_str() == "^{{run_id}}("
    ));
    let scenario =
        parse_ok(&with_steps(&format!("- id: a\n  {GET}\n  expect: {{body: [{{path: $.a, matches: '^sk-'}}]}}")));
    assert!(matches!(
        &scenario.steps[0].expect.body[0].predicate,
        Predicate::Matches(TextPattern::Compiled(r)) if r.is_match("sk-1")
    ));
}

#[rstest]
#[case::unclosed(
    with_steps("- id: a\n  request: {method: GET, path: '/x/{{run_id'}"),
    5,
    32,
    "invalid template `/x/{{run_id`: unclosed placeholder"
)]
#[case::bad_name(
    with_steps("- id: a\n  request: {method: GET, path: '/x/{{a b}}'}"),
    5,
    32,
    "invalid variable name `a b`"
)]
#[case::inside_json(
    with_steps("- id: a\n  request: {method: POST, path: /x, json: {a: '{{'}}"),
    5,
    48,
    "invalid template `{{`: unclosed placeholder"
)]
fn templates_must_parse(#[case] yaml: String, #[case] line: usize, #[case] column: usize, #[case] message: &str) {
    assert_rejected(&yaml, line, column, message);
}

/// Step `a` captures `tid`; step `b` is `use_site`.
fn capture_then(use_site: &str) -> String {
    with_steps(&format!("- id: a\n  {GET}\n  capture: {{tid: $.id}}\n- id: b\n  {use_site}"))
}

/// Step `a` uses `tid` in its path; the later step `b` captures it.
fn captured_later(path: &str) -> String {
    format!(
        "{}{}",
        with_steps(&format!("- id: a\n  request: {{method: GET, path: '{path}'}}")),
        dedent(&format!("- id: b\n  {GET}\n  capture: {{tid: $.id}}")),
    )
}

#[rstest]
#[case::never_captured(
    with_steps("- id: a\n  request: {method: GET, path: '/t/{{team}}'}"),
    5,
    36,
    "unknown variable `team`: expected `run_id` or a variable captured by an earlier step"
)]
#[case::captured_by_the_same_step(
    with_steps(&format!(
        "- id: a\n  {GET}\n  capture: {{tid: $.id}}\n  expect: {{body: [{{path: $.id, equals: '{{{{tid}}}}'}}]}}"
    )),
    7,
    41,
    "unknown variable `tid`"
)]
#[case::captured_by_a_later_step(captured_later("/t/{{ tid }}"), 5, 36, "unknown variable `tid`")]
#[case::nested_in_json(
    with_steps(
        "- id: a\n  request:\n    method: POST\n    path: /x\n    json:\n      outer:\n        list: [1, 'k-{{nope}}']",
    ),
    10,
    22,
    "unknown variable `nope`"
)]
#[case::in_a_json_key(
    with_steps("- id: a\n  request: {method: POST, path: /x, json: {'{{nope}}': 1}}"),
    5,
    45,
    "unknown variable `nope`"
)]
#[case::in_retry_until(
    with_steps(&format!(
        "- id: a\n  {GET}\n  retry: {{until: {{body: [{{path: $.a, equals: '{{{{x}}}}'}}]}}, timeout: 1s}}"
    )),
    6,
    47,
    "unknown variable `x`"
)]
#[case::in_actor(with_steps(&format!("- id: a\n  actor: '{{{{k}}}}'\n  {GET}")), 5, 11, "unknown variable `k`")]
fn variables_must_be_run_id_or_captured_by_an_earlier_step(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn an_unknown_variable_says_where_it_is_captured_or_what_is_known() {
    let err = parse_err(&captured_later("/t/{{tid}}"));
    assert_eq!(
        err.help_text(),
        Some(
            "`tid` is captured by step `b` (line 8), which does not run before this template; capture it in an earlier step"
        )
    );
    let err = parse_err(&with_steps("- id: a\n  request: {method: GET, path: '/t/{{team}}'}"));
    assert_eq!(err.help_text(), Some("variables known here: run_id"));
}

#[rstest]
#[case::path(capture_then("request: {method: GET, path: '/t/{{tid}}'}"))]
#[case::query(capture_then("request: {method: GET, path: /t, query: {id: '{{tid}}', n: 3, b: true}}"))]
#[case::headers(capture_then("request: {method: GET, path: /t, headers: {x-id: '{{tid}}'}}"))]
#[case::json(capture_then("request: {method: POST, path: /t, json: {ids: ['{{tid}}'], '{{tid}}': 1}}"))]
#[case::body(capture_then("request: {method: POST, path: /t, body: '{\"id\": \"{{tid}}\"}'}"))]
#[case::actor(capture_then("actor: '{{tid}}'\n  request: {method: GET, path: /t}"))]
#[case::run_id(with_steps("- id: a\n  request: {method: GET, path: '/t/{{ run_id }}'}"))]
fn run_id_and_earlier_captures_may_be_used_anywhere_in_a_request(#[case] yaml: String) {
    assert_accepted(&yaml);
}

#[test]
fn a_body_path_may_hold_placeholders_of_known_variables() {
    let scenario = parse_ok(&with_steps(
        r#"
        - id: a
          request: {method: GET, path: /team/list}
          expect:
            body:
              - {path: "$[?@.team_alias == 't-{{run_id}}']", exists: true}
              - {path: $.count, equals: 1}
        "#,
    ));
    assert!(matches!(scenario.steps[0].expect.body[0].path, PathQuery::Templated(_)));
    assert!(matches!(scenario.steps[0].expect.body[1].path, PathQuery::Compiled(_)));
    let file = |path: &str| {
        with_steps(&format!(
            "- id: a\n  request: {{method: GET, path: /x}}\n  expect: {{body: [{{path: \"{path}\", exists: true}}]}}"
        ))
    };
    let error = parse_err(&file("$[?@.id == '{{later}}']"));
    assert!(error.to_string().contains("unknown variable `later`"), "{error}");
    let error = parse_err(&file("$[?@.id == {{run_id}}"));
    assert!(error.to_string().contains("invalid JSONPath"), "{error}");
}
