//! `background:` steps and the `await:` that joins them, and when their captures become known.

use rstest::rstest;

use super::support::*;

#[test]
fn background_steps_and_awaits_become_the_model() {
    let scenario = parse_ok(&with_steps(
        r#"
        - id: slow-a
          background: true
          request: {method: GET, path: /a}
          capture: {a: $.id}
        - id: slow-b
          background: true
          request: {method: GET, path: /b}
        - id: change
          request: {method: POST, path: /key/update}
        - id: wait-a
          await: slow-a
        - id: use-a
          await: [slow-b]
          request: {method: GET, path: "/x/{{a}}"}
        - id: stray
          background: false
          request: {method: GET, path: /c}
        "#,
    ));
    let shape: Vec<(&str, bool, Vec<&str>)> = scenario
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.background, s.awaits.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        shape,
        [
            ("slow-a", true, vec![]),
            ("slow-b", true, vec![]),
            ("change", false, vec![]),
            ("wait-a", false, vec!["slow-a"]),
            ("use-a", false, vec!["slow-b"]),
            ("stray", false, vec![]),
        ]
    );
    assert!(scenario.steps[3].request.is_none(), "a step may only await");
}

/// A background step `slow` (lines 4 to 6), then the given steps.
fn after_slow(steps: &str) -> String {
    with_steps(&format!("- id: slow\n  background: true\n  request: {{method: GET, path: /slow}}\n{steps}"))
}

#[rstest]
#[case::unknown_id(
    after_slow("- id: w\n  await: nope\n"),
    8,
    10,
    "unknown step `nope` in `await`: expected the id of an earlier background step"
)]
#[case::unknown_id_in_a_list(after_slow("- id: w\n  await: [slow, nope]\n"), 8, 17, "unknown step `nope` in `await`")]
#[case::a_later_step(
    with_steps("- id: w\n  await: slow\n- id: slow\n  background: true\n  request: {method: GET, path: /slow}\n"),
    5,
    10,
    "step `slow` in `await` comes at or after this step"
)]
#[case::itself(
    with_steps("- id: w\n  await: w\n  request: {method: GET, path: /}\n"),
    5,
    10,
    "step `w` in `await` comes at or after this step"
)]
#[case::a_foreground_step(
    with_steps(&format!("- id: fg\n  {GET}\n- id: w\n  await: fg\n")),
    7,
    10,
    "step `fg` in `await` is not a background step: expected a step with `background: true`"
)]
#[case::twice_in_two_steps(
    after_slow("- id: w1\n  await: slow\n- id: w2\n  await: slow\n"),
    10,
    10,
    "step `slow` is awaited twice"
)]
#[case::twice_in_one_list(after_slow("- id: w\n  await: [slow, slow]\n"), 8, 17, "step `slow` is awaited twice")]
#[case::empty_list(after_slow("- id: w\n  await: []\n"), 8, 10, "empty `await` list")]
#[case::not_an_id(
    after_slow("- id: w\n  await: {step: slow}\n"),
    8,
    10,
    "the id of a background step, or a list of them"
)]
#[case::await_in_a_background_step(
    after_slow(&format!("- id: w\n  background: true\n  await: slow\n  {GET}\n")),
    9,
    3,
    "`await` in a background step"
)]
#[case::background_without_request(
    with_steps("- id: w\n  sleep: 1s\n  background: true\n"),
    6,
    3,
    "`background` without `request`"
)]
#[case::background_not_a_boolean(
    with_steps("- id: w\n  background: soon\n  request: {method: GET, path: /}\n"),
    5,
    15,
    "invalid boolean"
)]
fn await_names_earlier_background_steps_once(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

/// A background step `slow` capturing `late` (lines 4 to 7), then the given steps.
fn after_slow_capture(steps: &str) -> String {
    with_steps(&format!(
        "- id: slow\n  background: true\n  request: {{method: GET, path: /slow}}\n  capture: {{late: $.id}}\n{steps}"
    ))
}

#[rstest]
#[case::used_before_the_await(
    after_slow_capture("- id: early\n  request: {method: GET, path: \"/x/{{late}}\"}\n"),
    9,
    36,
    "variable `late` is captured by background step `slow`, which is not awaited before this template: \
     expected `await: slow` in this step or an earlier one"
)]
#[case::used_in_an_expect_before_the_await(
    after_slow_capture(&format!(
        "- id: early\n  {GET}\n  expect:\n    body: [{{path: $.id, equals: \"{{{{late}}}}\"}}]\n"
    )),
    11,
    34,
    "variable `late` is captured by background step `slow`"
)]
fn a_background_steps_captures_are_unknown_before_its_await(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::used_in_the_awaiting_step(after_slow_capture(
    "- id: w\n  await: slow\n  request: {method: GET, path: \"/x/{{late}}\"}\n"
))]
#[case::used_after_the_await(after_slow_capture(
    "- id: w\n  await: slow\n- id: after\n  request: {method: GET, path: \"/x/{{late}}\"}\n"
))]
fn a_background_steps_captures_are_known_from_its_await(#[case] yaml: String) {
    assert_accepted(&yaml);
}

#[test]
fn a_never_awaited_capture_is_unknown_to_the_matrix_and_to_observed() {
    let text = |extra: &str| {
        format!(
            "id: s\ntitle: T\n{extra}steps:\n  - id: slow\n    background: true\n    request: {{method: GET, path: /slow}}\n    capture: {{late: $.id}}\n  - id: after\n    {GET}\n"
        )
    };
    let reproduces = "reproduces:\n  quirk: stale_team_cache\n  fails_at: after\n  observed: {body: [{path: $.id, equals: \"{{late}}\"}]}\n";
    let error = parse_err(&text(reproduces));
    assert!(error.to_string().contains("unknown variable `late`"), "{error}");
    let awaited = text(reproduces).replace("  - id: after\n", "  - id: after\n    await: slow\n");
    parse_ok(&awaited);
}
