//! The file as a whole: its id, `reference:` and `reproduces:`.

use std::time::Duration;

use rstest::rstest;

use super::support::*;
use crate::model::{Location, MessageMatch, ReferenceSettings};
use crate::quirk::Quirk;

/// A scenario with the given id and one step.
fn with_id(id: &str) -> String {
    format!("id: {id}\ntitle: T\nsteps:\n  - {{id: a, sleep: 1s}}\n")
}

#[rstest]
#[case::upper_case(with_id("Team"), 1, 5, "invalid scenario id `Team`")]
#[case::leading_dash(with_id("-team"), 1, 5, "invalid scenario id")]
#[case::space(with_id("a b"), 1, 5, "invalid scenario id")]
#[case::empty(with_id("''"), 1, 5, "invalid scenario id")]
fn a_scenario_id_outside_the_id_charset_is_refused(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::one_letter("a")]
#[case::leading_digit("9lives")]
#[case::dashes_underscores_and_digits("org-admin_updates-team-2")]
fn a_scenario_id_in_the_id_charset_loads(#[case] id: &str) {
    assert_accepted(&with_id(id));
}

/// A scenario whose `reference.env` is `env`, written at line 4, column 8.
fn with_env(env: &str) -> String {
    format!("id: s\ntitle: T\nreference:\n  env: {env}\nsteps:\n  - {{id: a, sleep: 1s}}\n")
}

#[rstest]
#[case::unknown_name(with_env("{LITELLM_LOG: DEBUG}"), 4, 9, "unknown reference setting `LITELLM_LOG`")]
#[case::negative(
    with_env("{DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: -1}"),
    4,
    56,
    "invalid DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL `-1`: expected integer seconds >= 0"
)]
#[case::fraction(with_env("{DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: 1.5}"), 4, 56, "expected integer seconds")]
#[case::word(with_env("{DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: soon}"), 4, 56, "expected integer seconds")]
#[case::unknown_reference_field(
    "id: s\ntitle: T\nreference: {envs: {}}\nsteps:\n  - {id: a, sleep: 1s}\n".into(),
    3,
    13,
    "unknown field `envs`"
)]
fn reference_env_refuses_all_but_the_cache_ttl_in_whole_seconds(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[rstest]
#[case::zero("0", 0)]
#[case::a_minute("60", 60)]
#[case::quoted("'30'", 30)]
fn reference_env_takes_the_cache_ttl_in_whole_seconds(#[case] value: &str, #[case] seconds: u64) {
    let scenario = parse_ok(&with_env(&format!("{{DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: {value}}}")));
    assert_eq!(scenario.reference.cache_ttl, Some(Duration::from_secs(seconds)), "{value}");
    assert_ne!(scenario.reference, ReferenceSettings::default());
}

#[test]
fn a_scenario_without_reference_has_the_default_settings() {
    let scenario = parse_ok(&with_steps("- {id: a, sleep: 1s}"));
    assert_eq!(scenario.reference, ReferenceSettings::default());
}

/// A scenario with two steps (`team` captures `team_id`; `update` uses it) and the given
/// `reproduces:` block (YAML at column 1, indented under the key by this function).
fn reproducing(block: &str) -> String {
    let block: String = dedent(block).lines().map(|l| format!("  {l}\n")).collect();
    format!(
        "id: s\ntitle: T\nreproduces:\n{block}steps:\n  - id: team\n    {GET}\n    capture: {{team_id: $.team_id}}\n  - id: update\n    {GET}\n  - id: pause\n    sleep: 1s\n"
    )
}

#[test]
fn reproduces_names_a_quirk_a_step_and_what_it_observes() {
    let scenario = parse_ok(&reproducing(
        r#"
        quirk: org_admin_gate_needs_org_id_in_body
        fails_at: update
        observed:
          status: 401
          error: {message_contains: "Only proxy admin can be used to {{team_id}}"}
        "#,
    ));
    let reproduction = scenario.reproduces.expect("a reproduction");
    assert_eq!(reproduction.quirk, Quirk::OrgAdminGateNeedsOrgIdInBody);
    assert_eq!(reproduction.fails_at, "update");
    assert_eq!(reproduction.observed.status, Some(vec![401]));
    assert_eq!(reproduction.location, Location { line: 4, column: 3 });
    let error = reproduction.observed.error.expect("an error assertion");
    assert!(matches!(&error.message[..], [MessageMatch::Contains(t)] if t.has_placeholders()), "{error:?}");
    assert!(parse_ok(&with_steps("- {id: a, sleep: 1s}")).reproduces.is_none());
}

#[rstest]
#[case::unknown_quirk(
    reproducing("quirk: stale_cache\nfails_at: update\nobserved: {status: 403}"),
    4,
    10,
    "unknown quirk `stale_cache`: expected one of stale_team_cache, double_hash_token_on_update,"
)]
#[case::unknown_step(
    reproducing("quirk: stale_team_cache\nfails_at: key-for-g2\nobserved: {status: 403}"),
    5,
    13,
    "unknown step `key-for-g2` in `fails_at`: expected the id of a step of this file"
)]
#[case::step_without_a_request(
    reproducing("quirk: stale_team_cache\nfails_at: pause\nobserved: {status: 403}"),
    5,
    13,
    "step `pause` sends no request"
)]
#[case::variable_captured_at_the_failing_step(
    reproducing("quirk: stale_team_cache\nfails_at: team\nobserved: {error: {message_contains: \"{{team_id}}\"}}"),
    6,
    41,
    "unknown variable `team_id`"
)]
#[case::observed_is_required(
    reproducing("quirk: stale_team_cache\nfails_at: update"),
    5,
    3,
    "missing field `observed`"
)]
#[case::unknown_field(
    reproducing("quirk: stale_team_cache\nfails_at: update\nobserved: {status: 403}\nexpect: {status: 200}"),
    7,
    3,
    "unknown field `expect`"
)]
fn reproduces_is_checked_against_the_registry_and_the_steps(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

/// The registry grows with every quirk, so this walks it rather than naming each in a case.
#[test]
fn reproduces_takes_every_quirk_of_the_registry() {
    let failures: Vec<String> = Quirk::ALL
        .iter()
        .filter_map(|q| {
            let yaml = reproducing(&format!("quirk: {}\nfails_at: update\nobserved: {{status: 403}}", q.name()));
            parse(&yaml).err().map(|e| format!("{}: {e}", q.name()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
