//! `requires:`: built-in capabilities by name, and capabilities with probes of their own, checked
//! in one file and across the files loaded together.

use rstest::rstest;

use super::support::*;
use crate::load::load_all;
use crate::model::{Actor, Capability, Location};

/// A scenario whose `requires:` is the flow list `requires`, written at line 3, column 11.
fn requires(requires: &str) -> String {
    format!("id: s\ntitle: T\nrequires: {requires}\nsteps:\n  - {{id: a, sleep: 1s}}\n")
}

/// A scenario whose `requires:` (written as a block list at column 1) is `entries`.
fn requiring(entries: &str) -> String {
    format!("id: s\ntitle: T\nrequires:\n{}steps:\n  - {{id: a, sleep: 1s}}\n", dedent(entries))
}

#[test]
fn an_unknown_capability_is_refused_with_the_known_ones() {
    assert_rejected(
        &requires("[organizations, sso]"),
        3,
        27,
        "unknown capability `sso`: expected one of organizations, team_admin_via_member_add, key_regenerate, mcp, mcp_access_groups, access_groups, key_access_group_assignment",
    );
}

#[test]
fn requires_takes_every_built_in_capability_once() {
    let all = Capability::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    assert_eq!(parse_ok(&requires(&format!("[{all}]"))).requires, Capability::ALL.to_vec());
    assert_eq!(parse_ok(&requires("[mcp, mcp]")).requires, [Capability::Mcp], "duplicates are dropped");
}

const TEAM_MODELS: &str = "
    - capability: team_models
      probe:
        setup:
          - request: {method: POST, path: /team/new, json: {team_alias: \"{{run_id}}\"}}
            capture: {team_id: $.team_id}
        request: {method: POST, path: /model/new, json: {model_info: {team_id: \"{{team_id}}\"}}}
        lacks_when: {status: 403, error: {message_contains: Enterprise}}
        cleanup:
          - {method: POST, path: /team/delete, json: {team_ids: [\"{{team_id}}\"]}}
";

#[test]
fn requires_takes_capabilities_with_probes_of_their_own_beside_built_in_names() {
    let s = parse_ok(&requiring(&format!("- organizations\n{}", dedent(TEAM_MODELS))));
    assert_eq!(s.requires, [Capability::Organizations]);
    let [probed] = s.probed.as_slice() else { panic!("one probed capability: {:?}", s.probed) };
    assert_eq!(probed.name, "team_models");
    assert_eq!(probed.location, Location { line: 5, column: 15 });
    assert_eq!(probed.setup.len(), 1);
    assert_eq!(probed.setup[0].1[0].variable, "team_id");
    assert_eq!(probed.request.method, "POST");
    assert_eq!(probed.request.path.as_str(), "/model/new");
    assert_eq!(probed.request.actor, Actor::Admin);
    assert_eq!(probed.lacks_when.status, Some(vec![403]));
    assert!(probed.lacks_when.error.is_some());
    assert_eq!(probed.cleanup.len(), 1);
    // The same capability twice with the same probe is one.
    let twice = parse_ok(&requiring(&format!("{}{}", dedent(TEAM_MODELS), dedent(TEAM_MODELS))));
    assert_eq!(twice.probed.len(), 1);
}

/// A capability `gated` whose probe is `body` (YAML at column 1), starting at line 6, column 5.
fn probe(body: &str) -> String {
    requiring(&format!(
        "- capability: gated\n  probe:\n{}",
        dedent(body).lines().map(|l| format!("    {l}\n")).collect::<String>()
    ))
}

/// A probe's request line, for probes whose request does not matter.
const PROBE_GET: &str = "request: {method: GET, path: /gated}\n";

#[rstest]
#[case::a_built_in_name_with_a_probe(
    requiring("- capability: organizations\n  probe: {request: {method: GET, path: /x}, lacks_when: {status: 403}}\n"),
    4,
    15,
    "`organizations` is a built-in capability: expected its name alone"
)]
#[case::an_invalid_name(
    requiring("- capability: Gated\n  probe: {request: {method: GET, path: /x}, lacks_when: {status: 403}}\n"),
    4,
    15,
    "invalid capability name `Gated`"
)]
#[case::no_lacks_when(probe(PROBE_GET), 6, 5, "missing field `lacks_when`")]
#[case::no_request(probe("lacks_when: {status: 403}\n"), 6, 5, "missing field `request`")]
#[case::unknown_field_in_the_probe(
    probe(&format!("{PROBE_GET}lacks_when: {{status: 403}}\nretry: 3\n")),
    8,
    5,
    "unknown field `retry`, expected one of setup, request, lacks_when, cleanup"
)]
#[case::unknown_field_beside_the_name(
    requiring("- capability: gated\n  probes: {}\n"),
    5,
    3,
    "unknown field `probes`, expected one of capability, probe"
)]
#[case::a_bad_status_in_lacks_when(
    probe(&format!("{PROBE_GET}lacks_when: {{status: 700}}\n")),
    7,
    26,
    "status 700 is out of range"
)]
#[case::a_variable_no_setup_captures(
    probe("request: {method: GET, path: \"/x/{{team_id}}\"}\nlacks_when: {status: 403}\n"),
    6,
    38,
    "unknown variable `team_id`"
)]
#[case::a_scenarios_capture_is_not_a_probes(
    "id: s\ntitle: T\nrequires:\n  - capability: gated\n    probe:\n      request: {method: GET, path: \"/{{team_id}}\"}\n      lacks_when: {status: 403}\nsteps:\n  - id: team\n    request: {method: POST, path: /team/new}\n    capture: {team_id: $.team_id}\n".to_string(),
    6,
    38,
    "unknown variable `team_id`"
)]
#[case::a_list_where_a_name_or_mapping_goes(
    requiring("- [organizations]\n"),
    4,
    3,
    "expected a built-in capability's name, or `{capability: NAME, probe: {request, lacks_when}}`"
)]
#[case::one_name_two_probes_in_one_file(
    requiring(
        "- {capability: gated, probe: {request: {method: GET, path: /a}, lacks_when: {status: 403}}}\n\
         - {capability: gated, probe: {request: {method: GET, path: /b}, lacks_when: {status: 403}}}\n",
    ),
    5,
    16,
    "capability `gated` has another probe at scenarios/t.yaml:4:16: expected one probe per capability"
)]
fn malformed_probes_are_reported_with_line_and_column(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn two_files_naming_one_capability_with_different_probes_are_refused_at_the_second() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let write = |name: &str, path: &str| {
        let text = format!(
            "id: {name}\ntitle: T\nrequires:\n  - capability: gated\n    probe: {{request: {{method: GET, path: {path}}}, lacks_when: {{status: 403}}}}\nsteps:\n  - {{id: a, sleep: 1s}}\n"
        );
        std::fs::write(dir.path().join(format!("{name}.yaml")), text).expect("written");
    };
    write("a", "/gated");
    // The same probe written otherwise (block style) is the same probe.
    std::fs::write(
        dir.path().join("b.yaml"),
        "id: b\ntitle: T\nrequires:\n  - capability: gated\n    probe:\n      request:\n        method: get\n        path: /gated\n      lacks_when:\n        status: [403]\nsteps:\n  - {id: a, sleep: 1s}\n",
    )
    .expect("written");
    write("c", "/elsewhere");
    let loaded = load_all(&[dir.path().to_path_buf()]).expect("readable");
    let ids: Vec<&str> = loaded.scenarios.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    let [error] = loaded.broken.as_slice() else { panic!("one broken file: {:?}", loaded.broken) };
    let expected = format!(
        "{}:4:17: capability `gated` has another probe at {}:4:17",
        dir.path().join("c.yaml").display(),
        dir.path().join("a.yaml").display()
    );
    assert!(error.to_string().starts_with(&expected), "{error}");
}
