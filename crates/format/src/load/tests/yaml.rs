//! What the YAML parser and the serde mirror refuse: missing and unknown fields, syntax, types and
//! tags, each at its line and column.

use rstest::rstest;

use super::support::*;

#[rstest]
#[case::missing_id("title: T\nsteps:\n  - {id: a, sleep: 1s}\n".into(), 2, 1, "missing field `id`")]
#[case::missing_title("id: s\nsteps:\n  - {id: a, sleep: 1s}\n".into(), 2, 1, "missing field `title`")]
#[case::missing_steps("id: s\ntitle: T\n".into(), 2, 1, "missing field `steps`")]
#[case::step_without_id(with_steps("- sleep: 1s"), 4, 3, "missing field `id`")]
#[case::request_without_path(with_steps("- id: a\n  request: {method: GET}"), 5, 13, "missing field `path`")]
#[case::retry_without_timeout(
    with_steps(&format!("- id: a\n  {GET}\n  retry: {{until: {{status: 200}}}}")),
    6,
    11,
    "missing field `timeout`"
)]
#[case::body_assertion_without_path(
    with_steps(&format!("- id: a\n  {GET}\n  expect:\n    body:\n      - {{exists: true}}")),
    8,
    10,
    "missing field `path`"
)]
#[case::empty_title("id: s\ntitle: ''\nsteps:\n  - {id: a, sleep: 1s}\n".into(), 2, 8, "empty title")]
fn required_fields_are_reported_with_line_and_column(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::top_level(
    "id: s\ntitle: T\nowner: me\nsteps:\n  - {id: a, sleep: 1s}\n".into(),
    3,
    1,
    "unknown field `owner`, expected one of id, title"
)]
#[case::step(with_steps("- id: a\n  sleep: 1s\n  wait: 2s"), 6, 3, "unknown field `wait`")]
#[case::request(with_steps("- id: a\n  request: {method: GET, path: /, params: {}}"), 5, 35, "unknown field `params`")]
#[case::expect(with_steps(&format!("- id: a\n  {GET}\n  expect: {{code: 200}}")), 6, 12, "unknown field `code`")]
#[case::error_assertion(
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{error: {{message: x}}}}")),
    6,
    20,
    "unknown field `message`"
)]
fn unknown_fields_are_reported_with_line_and_column(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::bad_indentation("id: s\n  title: T\n".into(), 2, 8, "mapping values are not allowed")]
#[case::unclosed_quote("id: s\ntitle: \"T\nsteps: []\n".into(), 2, 8, "unclosed quote")]
#[case::status_is_a_word(
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{status: abc}}")),
    6,
    20,
    "invalid type: string \"abc\", expected an HTTP status"
)]
#[case::negative_length(
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{body: [{{path: $.a, length: -1}}]}}")),
    6,
    39,
    "invalid value: integer `-1`, expected a length (an integer >= 0)"
)]
#[case::duplicate_header(
    with_steps("- id: a\n  request: {method: GET, path: /, headers: {a: x, a: y}}"),
    5,
    51,
    "duplicate mapping key `a`"
)]
#[case::steps_is_a_string("id: s\ntitle: T\nsteps: many\n".into(), 3, 8, "invalid type: expected a list")]
fn yaml_syntax_and_type_errors_carry_line_and_column(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

/// A step whose request path is `value`, written at line 5, column 34.
fn path_value(value: &str) -> String {
    format!("id: s\ntitle: T\nsteps:\n  - id: a\n    request: {{method: GET, path: {value}}}\n")
}

#[rstest]
#[case::binary(path_value("!!binary L2hlYWx0aA=="), 5, 34, "YAML tag `!!binary`")]
#[case::custom(path_value("!custom /health"), 5, 34, "YAML tag `!custom`")]
#[case::standard(path_value("!!str /health"), 5, 34, "YAML tag `!!str`")]
#[case::on_a_mapping("id: s\ntitle: T\nsteps: !list\n  - {id: a, sleep: 1s}\n".into(), 3, 8, "YAML tag `!list`")]
#[case::on_a_key("id: s\n!k title: T\nsteps:\n  - {id: a, sleep: 1s}\n".into(), 2, 1, "YAML tag `!k`")]
fn yaml_tags_are_rejected_where_they_are_written(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn a_quoted_bang_is_not_a_yaml_tag() {
    assert_accepted(&path_value("\"/health?q=!!binary\""));
}
