//! Assertions: `expect:` statuses, body and header predicates, and LiteLLM's error.

use rstest::rstest;

use super::support::*;
use crate::model::{HeaderPredicate, Predicate};

/// A request step expecting `status`.
fn expecting_status(status: &str) -> String {
    with_steps(&format!("- id: a\n  {GET}\n  expect: {{status: {status}}}"))
}

#[rstest]
#[case::too_low(expecting_status("99"), 6, 20, "status 99 is out of range: expected 100..=599")]
#[case::too_high(expecting_status("600"), 6, 20, "status 600 is out of range")]
#[case::one_of_a_list(expecting_status("[200, 700]"), 6, 26, "status 700 is out of range")]
#[case::empty_list(expecting_status("[]"), 6, 20, "empty status list")]
fn statuses_must_be_in_range(#[case] yaml: String, #[case] line: usize, #[case] column: usize, #[case] message: &str) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::lowest("100", &[100])]
#[case::highest("599", &[599])]
#[case::a_list("[401, 403]", &[401, 403])]
fn statuses_in_range_load(#[case] text: &str, #[case] expected: &[u16]) {
    let scenario = parse_ok(&expecting_status(text));
    assert_eq!(scenario.steps[0].expect.status, Some(expected.to_vec()));
}

/// A request step with one body assertion, `item`, at line 8, column 9.
fn body(item: &str) -> String {
    with_steps(&format!("- id: a\n  {GET}\n  expect:\n    body:\n      - {item}"))
}

#[rstest]
#[case::none(
    body("{path: $.a}"),
    8,
    9,
    "no predicate in a body assertion: expected exactly one of equals, contains, exists, absent, length, matches"
)]
#[case::two(body("{path: $.a, equals: 1, contains: 2}"), 8, 32, "2 predicates (equals, contains) in a body assertion")]
#[case::absent_false(body("{path: $.a, absent: false}"), 8, 29, "`absent: false` is not allowed")]
fn a_body_assertion_has_exactly_one_predicate(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::equals_a_mapping("{path: $.a, equals: {x: [1]}}", "Equals")]
#[case::equals_null("{path: $.a, equals: null}", "Equals")]
#[case::contains("{path: $.a, contains: gpt-4}", "Contains")]
#[case::exists("{path: $.a, exists: true}", "Exists")]
#[case::exists_false("{path: $.a, exists: false}", "Absent")]
#[case::absent("{path: $.a, absent: true}", "Absent")]
#[case::length("{path: $.a, length: 2}", "Length")]
#[case::matches("{path: $.a, matches: '^sk-'}", "Matches")]
fn each_body_predicate_becomes_its_own(#[case] item: &str, #[case] expected: &str) {
    let scenario = parse_ok(&body(item));
    let predicate = &scenario.steps[0].expect.body[0].predicate;
    let name = format!("{predicate:?}");
    assert!(name.starts_with(expected), "{item}: got {name}");
}

#[test]
fn equals_null_compares_with_null() {
    let scenario = parse_ok(&body("{path: $.a, equals: null}"));
    assert!(matches!(&scenario.steps[0].expect.body[0].predicate, Predicate::Equals(v) if v.is_null()));
}

/// A request step with one header assertion, `item`, at line 8, column 9.
fn header(item: &str) -> String {
    with_steps(&format!("- id: a\n  {GET}\n  expect:\n    headers:\n      - {item}"))
}

#[rstest]
#[case::none(header("{name: x-a}"), 8, 9, "no predicate in a header assertion")]
#[case::two(header("{name: x-a, exists: true, absent: true}"), 8, 35, "2 predicates (exists, absent)")]
#[case::absent_false(header("{name: x-a, absent: false}"), 8, 29, "`absent: false` is not allowed")]
fn a_header_assertion_has_exactly_one_predicate(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn a_header_assertion_names_its_header_lower_case() {
    let scenario = parse_ok(&header("{name: Content-Type, contains: json}"));
    let assertion = &scenario.steps[0].expect.headers[0];
    assert_eq!(assertion.name, "content-type");
    assert!(matches!(&assertion.predicate, HeaderPredicate::Contains(t) if t.as_str() == "json"));
}

#[rstest]
#[case::equals("{name: a, equals: x}", "Equals")]
#[case::matches("{name: a, matches: '^x'}", "Matches")]
#[case::exists("{name: a, exists: true}", "Exists")]
#[case::exists_false("{name: a, exists: false}", "Absent")]
#[case::absent("{name: a, absent: true}", "Absent")]
fn each_header_predicate_becomes_its_own(#[case] item: &str, #[case] expected: &str) {
    let scenario = parse_ok(&header(item));
    let name = format!("{:?}", scenario.steps[0].expect.headers[0].predicate);
    assert!(name.starts_with(expected), "{item}: got {name}");
}

/// A request step with the error assertion `body`, at line 7, column 12.
fn error(body: &str) -> String {
    with_steps(&format!("- id: a\n  {GET}\n  expect:\n    error: {body}"))
}

#[rstest]
#[case::empty(error("{}"), 7, 12, "empty `error` assertion: expected at least one of message_contains")]
#[case::empty_any(error("{message_contains_any: []}"), 7, 35, "empty `message_contains_any`")]
fn an_error_assertion_needs_at_least_one_key(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::message_contains("{message_contains: x}")]
#[case::message_contains_any("{message_contains_any: [x]}")]
#[case::message_matches("{message_matches: '^x'}")]
#[case::error_type("{type: auth_error}")]
#[case::code("{code: 401}")]
fn an_error_assertion_with_one_key_loads(#[case] body: &str) {
    parse_ok(&error(body));
}

#[test]
fn an_error_code_is_text_whether_written_as_a_number_or_a_string() {
    let scenario = parse_ok(&error("{code: 401, type: auth_error}"));
    let assertion = scenario.steps[0].expect.error.as_ref().expect("an error assertion");
    assert_eq!(assertion.code.as_deref(), Some("401"));
    assert_eq!(assertion.error_type.as_deref(), Some("auth_error"));
    let scenario = parse_ok(&error("{code: '401'}"));
    assert_eq!(scenario.steps[0].expect.error.as_ref().and_then(|e| e.code.as_deref()), Some("401"));
}
