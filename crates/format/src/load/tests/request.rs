//! A step's `request:`: method, path, body, headers and actor.

use rstest::rstest;

use super::support::*;
use crate::model::{Actor, Body};
use crate::template::Template;

#[test]
fn an_unknown_method_is_refused() {
    assert_rejected(
        &with_steps("- id: a\n  request: {method: FETCH, path: /}"),
        5,
        21,
        "unknown HTTP method `FETCH`: expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
    );
}

#[rstest]
#[case::get("get")]
#[case::post("Post")]
#[case::put("PUT")]
#[case::patch("patch")]
#[case::delete("delete")]
#[case::head("head")]
#[case::options("options")]
fn methods_are_stored_upper_case(#[case] method: &str) {
    let scenario = parse_ok(&with_steps(&format!("- id: a\n  request: {{method: {method}, path: /}}")));
    let request = scenario.steps[0].request.as_ref().expect("a request");
    assert_eq!(request.method, method.to_ascii_uppercase());
}

#[test]
fn a_relative_request_path_is_refused() {
    assert_rejected(
        &with_steps("- id: a\n  request: {method: GET, path: team/new}"),
        5,
        32,
        "request path `team/new` does not start with `/`",
    );
}

#[test]
fn a_templated_request_path_starting_with_a_slash_loads() {
    assert_accepted(&with_steps("- id: a\n  request: {method: GET, path: \"/team/{{run_id}}\"}"));
}

#[test]
fn json_and_body_together_are_refused() {
    assert_rejected(
        &with_steps("- id: a\n  request:\n    method: POST\n    path: /x\n    json: {a: 1}\n    body: '{'"),
        9,
        5,
        "both `json` and `body`",
    );
}

#[test]
fn a_raw_body_is_kept_as_written() {
    let scenario = parse_ok(&with_steps("- id: a\n  request: {method: POST, path: /x, body: '{\"a\": '}"));
    match &scenario.steps[0].request.as_ref().expect("a request").body {
        Some(Body::Raw(raw)) => assert_eq!(raw.as_str(), "{\"a\": "),
        other => panic!("expected a raw body, got {other:?}"),
    }
}

/// A step whose request sends `headers`, written at line 5, column 47.
fn with_headers(headers: &str) -> String {
    format!("id: s\ntitle: T\nsteps:\n  - id: a\n    request: {{method: GET, path: /h, headers: {headers}}}\n")
}

#[rstest]
#[case::space_in_a_name(with_headers("{\"x y\": v}"), 5, 48, "invalid header name `x y`")]
#[case::colon_in_a_name(with_headers("{\"x:y\": v}"), 5, 48, "invalid header name `x:y`")]
#[case::empty_name(with_headers("{\"\": v}"), 5, 48, "invalid header name ``")]
#[case::newline_in_a_value(with_headers("{x: \"a\\nb\"}"), 5, 51, "invalid value of header `x`: '\\n'")]
#[case::nul_in_a_value(with_headers("{x: \"a\\0b\"}"), 5, 51, "'\\0' is not allowed")]
#[case::del_in_a_value(with_headers("{x: \"a\\x7fb\"}"), 5, 51, "'\\u{7f}' is not allowed")]
fn headers_http_forbids_are_rejected_at_load_time(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::token_punctuation(with_headers("{\"x-a!#$%&'*+.^_`|~1\": v}"))]
#[case::tab_spaces_non_ascii_and_placeholders(with_headers("{x: \"a\\tb c é {{run_id}}\"}"))]
fn headers_http_allows_load(#[case] yaml: String) {
    assert_accepted(&yaml);
}

#[rstest]
#[case::default("", Actor::Admin)]
#[case::admin("actor: admin\n  ", Actor::Admin)]
#[case::none("actor: none\n  ", Actor::Anonymous)]
#[case::a_literal_key("actor: sk-literal\n  ", Actor::Key(Template::literal("sk-literal")))]
fn actor_defaults_to_admin_and_knows_none(#[case] line: &str, #[case] expected: Actor) {
    let scenario = parse_ok(&with_steps(&format!("- id: a\n  {line}{GET}")));
    assert_eq!(scenario.steps[0].request.as_ref().map(|r| r.actor.clone()), Some(expected));
}
