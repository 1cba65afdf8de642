//! Steps: their ids, what a step must do, `capture`, `sleep` and `retry` durations, and `on`.

use std::time::Duration;

use rstest::rstest;

use super::support::*;

#[rstest]
#[case::empty_list("id: s\ntitle: T\nsteps: []\n".into(), 3, 8, "no steps")]
#[case::duplicate_id(
    with_steps("- {id: a, sleep: 1s}\n- {id: b, sleep: 1s}\n- {id: a, sleep: 1s}"),
    6,
    8,
    "duplicate step id `a`"
)]
fn steps_must_exist_and_have_unique_ids(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn a_duplicate_step_id_points_at_the_first() {
    let err = parse_err(&with_steps("- {id: a, sleep: 1s}\n- {id: a, sleep: 1s}"));
    assert_eq!(err.help_text(), Some("the first step `a` is at line 4"));
}

#[test]
fn a_step_with_neither_request_nor_sleep_is_refused() {
    assert_rejected(&with_steps("- id: a"), 4, 3, "step `a` does nothing");
}

#[rstest]
#[case::sleep_only(with_steps("- {id: a, sleep: 1s}"))]
#[case::request_only(with_steps(&format!("- id: a\n  {GET}")))]
#[case::both(with_steps(&format!("- id: a\n  sleep: 10ms\n  {GET}")))]
fn a_step_with_a_request_or_a_sleep_loads(#[case] yaml: String) {
    assert_accepted(&yaml);
}

#[rstest]
#[case::expect(with_steps("- id: a\n  sleep: 1s\n  expect: {status: 200}"), 6, 3, "`expect` without `request`")]
#[case::capture(with_steps("- id: a\n  sleep: 1s\n  capture: {x: $.x}"), 6, 3, "`capture` without `request`")]
#[case::retry(
    with_steps("- id: a\n  sleep: 1s\n  retry: {until: {status: 200}, timeout: 1s}"),
    6,
    3,
    "`retry` without `request`"
)]
#[case::actor(with_steps("- id: a\n  sleep: 1s\n  actor: none"), 6, 3, "`actor` without `request`")]
fn expect_capture_retry_and_actor_need_a_request(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

/// A request step with the given `capture:` map.
fn capture(map: &str) -> String {
    with_steps(&format!("- id: a\n  {GET}\n  capture: {map}"))
}

#[rstest]
#[case::built_in(capture("{run_id: $.id}"), 6, 13, "cannot capture into `run_id`")]
#[case::bad_name(capture("{'team id': $.id}"), 6, 13, "invalid variable name `team id`")]
fn captures_need_a_valid_new_name(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn captures_keep_file_order() {
    let scenario = parse_ok(&capture("{b: $.b, a: $.a, c.d: '$.c'}"));
    let names: Vec<&str> = scenario.steps[0].capture.iter().map(|c| c.variable.as_str()).collect();
    assert_eq!(names, ["b", "a", "c.d"], "captures keep file order");
}

#[rstest]
#[case::sleep(with_steps("- {id: a, sleep: soon}"), 4, 18, "invalid duration `soon`")]
#[case::no_unit(with_steps("- {id: a, sleep: 5}"), 4, 18, "invalid duration `5`")]
#[case::retry_timeout(
    with_steps(&format!("- id: a\n  {GET}\n  retry: {{until: {{status: 200}}, timeout: 2 parsecs}}")),
    6,
    42,
    "invalid duration `2 parsecs`"
)]
fn durations_must_parse(#[case] yaml: String, #[case] line: usize, #[case] column: usize, #[case] message: &str) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::milliseconds("500ms", 500)]
#[case::seconds("2s", 2_000)]
#[case::minutes("1m", 60_000)]
#[case::two_units("1s 500ms", 1_500)]
fn durations_parse_as_humantime(#[case] text: &str, #[case] expected: u64) {
    let scenario = parse_ok(&with_steps(&format!("- {{id: a, sleep: {text}}}")));
    assert_eq!(scenario.steps[0].sleep, Some(Duration::from_millis(expected)), "{text}");
}

/// A request step retried until 200 with the given retry settings.
fn retry(settings: &str) -> String {
    with_steps(&format!("- id: a\n  {GET}\n  retry: {{until: {{status: 200}}, {settings}}}"))
}

#[rstest]
#[case::equal(retry("timeout: 1s, interval: 1s"), 6, 56, "retry interval 1s is not less than the timeout 1s")]
#[case::default_interval(retry("timeout: 100ms"), 6, 42, "retry interval 250ms is not less than the timeout 100ms")]
#[case::zero_interval(retry("timeout: 1s, interval: 0s"), 6, 56, "zero retry interval")]
fn retry_interval_must_be_below_the_timeout(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn retry_interval_defaults_to_250ms_and_may_be_set() {
    let scenario = parse_ok(&retry("timeout: 10s"));
    let r = scenario.steps[0].retry.as_ref().expect("a retry");
    assert_eq!((r.timeout, r.interval), (Duration::from_secs(10), Duration::from_millis(250)));
    assert_eq!(r.until.status, Some(vec![200]));
    let scenario = parse_ok(&retry("timeout: 2s, interval: 1s"));
    assert_eq!(scenario.steps[0].retry.as_ref().map(|r| r.interval), Some(Duration::from_secs(1)));
}

/// A scenario with the given `reference:` line (or none) and one request step `on` a replica.
fn on_replica(replicas: &str, on: &str) -> String {
    format!("id: s\ntitle: T\n{replicas}steps:\n  - {{id: a, on: {on}, {GET}}}\n")
}

#[test]
fn on_picks_a_replica_below_the_declared_count() {
    let scenario = parse_ok(&on_replica("reference: {replicas: 2}\n", "1"));
    assert_eq!(scenario.reference.replicas, 2);
    assert_eq!(scenario.steps[0].on, Some(1));
    assert_eq!(parse_ok(&with_steps(&format!("- {{id: a, {GET}}}"))).steps[0].on, None);
}

#[rstest]
#[case::on_without_replicas(on_replica("", "1"), 4, 17, "`on: 1` names no proxy: the scenario runs 1")]
#[case::on_past_replicas(on_replica("reference: {replicas: 2}\n", "2"), 5, 17, "`on: 2` names no proxy")]
#[case::zero_replicas(on_replica("reference: {replicas: 0}\n", "0"), 3, 23, "0 replicas: expected 1 to 8")]
#[case::too_many_replicas(on_replica("reference: {replicas: 9}\n", "0"), 3, 23, "9 replicas: expected 1 to 8")]
#[case::on_without_request(
    "id: s\ntitle: T\nsteps:\n  - {id: a, on: 0, sleep: 1s}\n".into(),
    4,
    13,
    "`on` without `request`"
)]
fn on_past_the_replicas_and_replicas_out_of_range_are_refused(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}
