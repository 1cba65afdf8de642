//! The `gateproof` binary end to end: arguments, exit codes, output and report files, against wiremock
//! standing in for a proxy on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MASTER_KEY: &str = "sk-cli-test-master";

#[path = "support/binary.rs"]
mod binary;
use binary::gateproof;

/// `run` on every file in `dir` against `target`, writing both reports into `dir`: the output and
/// the reports' paths.
fn run_with_reports(dir: &Path, target: &str) -> (Output, PathBuf, PathBuf) {
    let (junit, json) = (dir.join("junit.xml"), dir.join("report.json"));
    let args = ["run", path_str(dir), "--target", target, "--master-key", MASTER_KEY];
    let output = gateproof(&[&args[..], &["--junit", path_str(&junit), "--json", path_str(&json)]].concat());
    (output, junit, json)
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

/// Requests the scenarios sent, leaving out the harness's own questions (does it answer, its version).
async fn scenario_requests(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    let harness_asks =
        |path: &str| path.starts_with("/health/readiness") || path == "/openapi.json" || path == "/health/liveliness";
    requests.iter().filter(|r| !harness_asks(r.url.path())).count()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn last_line(output: &Output) -> String {
    stdout(output).lines().last().unwrap_or_default().to_string()
}

/// A scenario asking `/health` for `{"status": "healthy"}` as admin.
fn health_scenario(id: &str, tags: &[&str]) -> String {
    format!(
        r#"id: {id}
title: The health endpoint answers
tags: [{tags}]
steps:
  - id: health
    request:
      method: GET
      path: /health
    expect:
      status: 200
      body:
        - {{path: $.status, equals: healthy}}
"#,
        tags = tags.join(", ")
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write the scenario");
    file
}

async fn healthy_proxy() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .and(header("authorization", format!("Bearer {MASTER_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "healthy"})))
        .mount(&server)
        .await;
    server
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

#[test]
fn schema_prints_a_json_schema() {
    let output = gateproof(&["schema"]);
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let schema: Value = serde_json::from_str(&stdout(&output)).expect("valid JSON");
    assert!(schema.get("properties").is_some() || schema.get("$defs").is_some(), "{schema}");
    let output = gateproof(&["schema", "--fragment"]);
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let schema: Value = serde_json::from_str(&stdout(&output)).expect("valid JSON");
    assert_eq!(schema["title"], "gateproof fragment (format v1)", "{schema}");
}

#[test]
fn bad_invocations_exit_2() {
    let cases: [&[&str]; 8] = [
        &["run", "--no-such-flag"],
        &["frobnicate"],
        &["run", "--jobs", "0"],
        &["run", "--target", "not a url"],
        &["run", "--target", "http://127.0.0.1:9"],
        &["run", "--quirk", "no_such_quirk"],
        &["run", "--reproduce", "--quirk", "stale_team_cache"],
        &["run", "--target", "http://127.0.0.1:9", "--master-key", "sk-x", "--quirk", "stale_team_cache"],
    ];
    for args in cases {
        let output = gateproof(args);
        assert_eq!(code(&output), Some(2), "{args:?}: {}", stderr(&output));
        assert!(!stderr(&output).is_empty(), "{args:?} explains itself");
    }
    let output = gateproof(&["run", "--target", "http://127.0.0.1:9"]);
    assert!(stderr(&output).contains("--master-key"), "{}", stderr(&output));
    let output =
        gateproof(&["run", "--target", "http://127.0.0.1:9", "--master-key", "sk-x", "--quirk", "stale_team_cache"]);
    assert!(words(&stderr(&output)).contains("reference proxy only"), "{}", stderr(&output));
}

/// miette's report as plain words: its wrapping and frame characters removed.
fn words(report: &str) -> String {
    report.split_whitespace().filter(|w| !matches!(*w, "│" | "×")).collect::<Vec<_>>().join(" ")
}

#[test]
fn quirks_lists_every_quirk_with_its_upstream_issue() {
    let output = gateproof(&["quirks"]);
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), gateproof::reference::Quirk::ALL.len(), "{text}");
    let gate = text.lines().find(|l| l.starts_with("org_admin_gate_needs_org_id_in_body ")).expect("listed");
    assert!(gate.contains("BerriAI/litellm#27294"), "{gate}");
    for quirk in gateproof::reference::Quirk::ALL {
        let line = text.lines().find(|l| l.starts_with(&format!("{} ", quirk.name()))).expect("listed");
        assert!(line.ends_with(quirk.description()), "{line}");
    }
}

/// On a URL target a regression scenario runs only its fixed half, and says the reproduction did not run.
#[tokio::test]
async fn reproduce_on_an_external_target_runs_only_the_fixed_half() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = health_scenario("health-regression", &["regression"]).replace(
        "steps:\n",
        "reproduces:\n  quirk: stale_team_cache\n  fails_at: health\n  observed: {status: 403}\nsteps:\n",
    );
    write(dir.path(), "regression.yaml", &scenario);
    let json_file = dir.path().join("report.json");
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--target",
        &server.uri(),
        "--master-key",
        MASTER_KEY,
        "--reproduce",
        "--json",
        path_str(&json_file),
    ]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("PASS health-regression ("), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("  reproduction not run: quirks switch bugs on in the reference proxy only"), "{text}");
    assert_eq!(last_line(&output), "1 passed, 0 failed");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written")).expect("valid JSON");
    let reproduction = &report["scenarios"][0]["reproduction"];
    assert_eq!(reproduction["quirk"], json!("stale_team_cache"));
    assert_eq!(reproduction["result"], json!("not_run"));
    assert_eq!(scenario_requests(&server).await, 1, "one run only");
}

#[tokio::test]
async fn a_passing_run_exits_0_and_writes_both_reports() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "health.yaml", &health_scenario("health-passes", &["smoke"]));
    let (output, junit, json_file) = run_with_reports(dir.path(), &server.uri());
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("PASS health-passes ("), "{}", stdout(&output));
    assert_eq!(last_line(&output), "1 passed, 0 failed");

    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains(r#"<testcase name="health-passes""#), "{xml}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written")).expect("valid JSON");
    assert_eq!(report["format_version"], json!(2));
    assert_eq!(report["target"], json!(server.uri()));
    assert_eq!(
        report["summary"],
        json!({"total": 1, "passed": 1, "failed": 0, "skipped": 0, "errored": 0, "broken_files": 0,
               "reproduced": 0, "not_reproduced": 0})
    );
    assert_eq!(report["scenarios"][0]["reproduction"], Value::Null);
    assert_eq!(report["scenarios"][0]["steps"][0]["response"]["json"], json!({"status": "healthy"}));
}

#[tokio::test]
async fn a_failing_run_exits_1_and_shows_the_failure() {
    let server = MockServer::start().await;
    Mock::given(path("/health"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"status": "unhealthy"})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "health.yaml", &health_scenario("health-fails", &[]));
    let json_file = dir.path().join("report.json");
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--target",
        &server.uri(),
        "--master-key",
        MASTER_KEY,
        "--json",
        path_str(&json_file),
    ]);
    assert_eq!(code(&output), Some(1), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("FAIL health-fails ("), "{text}");
    assert!(text.contains("health.yaml:5:"), "the step's location: {text}");
    assert!(text.contains("expected: 200") && text.contains("actual:   503"), "{text}");
    assert!(text.contains(r#""status": "unhealthy""#), "the response body: {text}");
    assert_eq!(last_line(&output), "0 passed, 1 failed");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written")).expect("valid JSON");
    assert_eq!(report["scenarios"][0]["status"], json!("failed"));
}

#[test]
fn a_target_that_refuses_connections_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "health.yaml", &health_scenario("health-down", &[]));
    let target = format!("http://127.0.0.1:{port}");
    let output = gateproof(&["run", path_str(dir.path()), "--target", &target, "--master-key", MASTER_KEY]);
    assert_eq!(code(&output), Some(3), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    // One headline, no verdict per scenario: nothing ran.
    assert!(stderr(&output).contains(&format!("target unreachable: {target} does not answer")), "{}", stderr(&output));
    assert!(stderr(&output).contains("Connection refused"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("health-down"), "{}", stdout(&output));
}

#[tokio::test]
async fn a_broken_file_exits_2_while_the_others_still_run() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a-good.yaml", &health_scenario("good", &[]));
    let broken = write(dir.path(), "b-broken.yaml", "id: broken\ntitle: x\nsteps: []\nunknown_field: 1\n");
    let output = gateproof(&["run", path_str(dir.path()), "--target", &server.uri(), "--master-key", MASTER_KEY]);
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains(path_str(&broken)), "the broken file is named: {}", stderr(&output));
    assert_eq!(last_line(&output), "1 passed, 0 failed");
}

/// One good file and two broken ones: both reports count the broken files as errors, so a dashboard
/// reading either is not green.
#[tokio::test]
async fn broken_files_are_errors_in_both_reports() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a-good.yaml", &health_scenario("good", &[]));
    let unknown = write(dir.path(), "b-broken.yaml", "id: broken\ntitle: x\nsteps: []\nunknown_field: 1\n");
    write(dir.path(), "c-broken.yaml", "id: also-broken\ntitle: x\nsteps: []\n");
    let (output, junit, json_file) = run_with_reports(dir.path(), &server.uri());
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    // Three files and the leftover check of a URL target.
    assert!(xml.contains(r#"tests="4""#) && xml.contains(r#"errors="2""#), "{xml}");
    assert!(xml.contains(&format!(r#"<testcase name="{}""#, path_str(&unknown))), "{xml}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written")).expect("valid JSON");
    assert_eq!((&report["summary"]["total"], &report["summary"]["broken_files"]), (&json!(3), &json!(2)));
    let broken = report["broken_files"].as_array().expect("a list");
    assert_eq!(broken.len(), 2, "{report}");
    assert_eq!(broken[0]["file"], json!(path_str(&unknown)));
    assert!(broken[0]["line"].is_u64() && broken[0]["column"].is_u64(), "{report}");
    assert!(broken[0]["message"].as_str().is_some_and(|m| m.contains("unknown_field")), "{report}");
}

#[tokio::test]
async fn tags_select_which_scenarios_run() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a.yaml", &health_scenario("tagged", &["smoke"]));
    write(dir.path(), "b.yaml", &health_scenario("untagged", &[]));
    write(dir.path(), "c.yaml", &health_scenario("slow", &["smoke", "slow"]));
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--target",
        &server.uri(),
        "--master-key",
        MASTER_KEY,
        "--tag",
        "smoke",
        "--skip-tag",
        "slow",
    ]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("PASS tagged (") && !text.contains("untagged") && !text.contains("PASS slow"), "{text}");
    assert_eq!(last_line(&output), "1 passed, 0 failed");
    assert_eq!(scenario_requests(&server).await, 1);
}

#[test]
fn list_prints_one_line_per_selected_scenario() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a.yaml", &health_scenario("first", &["smoke"]));
    write(dir.path(), "b.yaml", &health_scenario("second", &["slow"]));
    let output = gateproof(&["list", path_str(dir.path()), "--skip-tag", "slow"]);
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    for part in ["first", "[smoke]", "The health endpoint answers", "a.yaml"] {
        assert!(lines[0].contains(part), "{part} in {lines:?}");
    }
}

/// A title or tag of 65,536 characters or more is a width `format!` cannot pad to: the listing once
/// panicked (exit 101) and listed no file.
#[test]
fn list_prints_scenarios_with_very_long_titles_and_tags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let long = "t".repeat(70_000);
    write(dir.path(), "a.yaml", &health_scenario("first", &[]).replace("The health endpoint answers", &long));
    write(dir.path(), "b.yaml", &health_scenario("second", &[&long]));
    write(dir.path(), "c.yaml", &health_scenario("third", &["smoke"]));
    let output = gateproof(&["list", path_str(dir.path())]);
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{}", stderr(&output));
    assert!(lines[0].starts_with("first ") && lines[0].contains(&long) && lines[0].ends_with("a.yaml"));
    assert!(lines[1].starts_with("second ") && lines[1].contains(&format!("[{long}]")));
    assert!(lines[2].starts_with("third ") && lines[2].ends_with("c.yaml"), "{}", lines[2]);
    // The long cells do not pad the other rows to their width.
    assert!(lines[2].len() < 400, "{} characters", lines[2].len());
}

/// A dangling symlink (an editor's lock file `.#x.yaml`, a link to a deleted file) is a broken entry:
/// named, exit 2, and every other file still runs. A dangling link whose name is no scenario file's
/// is passed over with a warning.
#[tokio::test]
async fn a_dangling_symlink_is_a_broken_entry_and_the_other_files_still_run() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a-good.yaml", &health_scenario("good", &[]));
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("dir");
    write(&sub, "b-good.yaml", &health_scenario("also-good", &[]));
    let lock = dir.path().join(".#a-good.yaml");
    std::os::unix::fs::symlink("someone@host.1234:1700000000", &lock).expect("symlink");
    std::os::unix::fs::symlink(dir.path().join("gone"), sub.join("notes.txt")).expect("symlink");
    let output = gateproof(&["run", path_str(dir.path()), "--target", &server.uri(), "--master-key", MASTER_KEY]);
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert_eq!(last_line(&output), "2 passed, 0 failed", "{}", stderr(&output));
    let errors = words(&stderr(&output));
    assert!(errors.contains(&format!("{}: dangling symlink to", path_str(&lock))), "{errors}");
    assert!(errors.contains("notes.txt"), "the skipped link is named: {errors}");

    let output = gateproof(&["list", path_str(dir.path())]);
    assert_eq!(code(&output), Some(2), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 2, "{}", stdout(&output));
}

/// Nothing ran is not a pass: an empty folder, or a filter that selects nothing, exits 2 and says so.
#[test]
fn a_run_with_nothing_to_run_says_so_and_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = gateproof(&["run", path_str(dir.path()), "--target", "http://127.0.0.1:9", "--master-key", "sk"]);
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let said = words(&stderr(&output));
    assert!(said.contains(&format!("nothing ran: no scenario files under {}", path_str(dir.path()))), "{said}");
    assert!(!stdout(&output).contains("0 passed"), "{}", stdout(&output));

    write(dir.path(), "a.yaml", &health_scenario("tagged", &["smoke"]));
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--tag",
        "slow",
        "--target",
        "http://127.0.0.1:9",
        "--master-key",
        "sk",
    ]);
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let said = words(&stderr(&output));
    assert!(said.contains("nothing ran: the tag filter selects none of the 1 scenario"), "{said}");
}

#[test]
fn the_reference_target_runs_a_scenario_on_real_postgres() {
    let output = gateproof(&["run", "scenarios/conformance/health-liveliness.yaml", "--postgres", "local"]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("PASS health-liveliness ("), "{}", stdout(&output));
    assert_eq!(last_line(&output), "1 passed, 0 failed");
}

#[test]
fn an_unreachable_postgres_is_infrastructure_trouble() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let url = format!("postgres://gateproof@127.0.0.1:{port}/nothing");
    let output = gateproof(&["run", "scenarios/conformance/health-liveliness.yaml", "--postgres", &url]);
    assert_eq!(code(&output), Some(3), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("failed to connect"), "{}", stderr(&output));
}

#[test]
fn a_broken_file_is_named_with_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken =
        write(dir.path(), "broken.yaml", "id: broken\ntitle: x\nsteps:\n  - id: a\n    sleep: 1s\n    colour: red\n");
    let output = gateproof(&["list", path_str(dir.path())]);
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let expected = format!("{}:6:5", path_str(&broken));
    assert!(stderr(&output).contains(&expected), "expected {expected} in:\n{}", stderr(&output));
}

/// A fake LiteLLM 1.109 without a licence: it says its version in `/openapi.json` only (its public
/// readiness route no longer does), refuses organizations, creates teams, and "forgets" to delete them
/// when `sticky` is set (so the leftover check has something to find).
async fn unlicensed_proxy(sticky: bool) -> MockServer {
    let server = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("GET"))
        .and(path("/health/readiness"))
        .respond_with(ok(json!({"status": "healthy", "db": "connected"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/openapi.json"))
        .respond_with(ok(json!({"openapi": "3.1.0", "info": {"title": "LiteLLM API", "version": "1.109.1"}})))
        .mount(&server)
        .await;
    Mock::given(path("/organization/info"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "message": "Organizations are only available for LiteLLM Enterprise users", "type": "auth_error",
            "param": null, "code": "403"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .respond_with(ok(json!({"team_id": "t-made"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/team/delete"))
        .respond_with(ok(json!({"deleted_teams": ["t-made"]})))
        .mount(&server)
        .await;
    let info = if sticky {
        ok(json!({"team_id": "t-made"}))
    } else {
        ResponseTemplate::new(404).set_body_json(json!({"detail": {"error": "Team not found, passed team_id=t-made"}}))
    };
    Mock::given(method("GET")).and(path("/team/info")).respond_with(info).mount(&server).await;
    server
}

const TEAM_SCENARIO: &str = r#"id: makes-a-team
title: Makes a team
steps:
  - id: team
    request: {method: POST, path: /team/new, json: {team_alias: "t-{{run_id}}"}}
    expect: {status: 200}
"#;

const ORG_SCENARIO: &str = r#"id: needs-organizations
title: Needs organizations
requires: [organizations]
steps:
  - id: org
    request: {method: POST, path: /organization/new, json: {organization_alias: "o-{{run_id}}"}}
    expect: {status: 200}
"#;

#[tokio::test]
async fn an_external_run_names_the_target_version_skips_what_it_lacks_and_leaves_nothing() {
    let server = unlicensed_proxy(false).await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "team.yaml", TEAM_SCENARIO);
    write(dir.path(), "org.yaml", ORG_SCENARIO);
    let json_file = dir.path().join("report.json");
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--target",
        &server.uri(),
        "--master-key",
        MASTER_KEY,
        "--json",
        path_str(&json_file),
    ]);
    let text = stdout(&output);
    assert_eq!(code(&output), Some(0), "stdout:\n{text}\nstderr:\n{}", stderr(&output));
    assert!(text.starts_with(&format!("Running 2 scenarios against {} (1.109.1)", server.uri())), "{text}");
    assert!(text.contains("SKIP needs-organizations"), "{text}");
    assert!(text.contains("Organizations are only available for LiteLLM Enterprise users"), "{text}");
    assert!(text.contains("leftover check: nothing left behind"), "{text}");
    assert_eq!(last_line(&output), "1 passed, 0 failed, 1 skipped");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written")).expect("JSON");
    assert_eq!(report["target_version"], json!("1.109.1"));
    assert_eq!(report["leftovers"], json!([]));
    let team = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "makes-a-team").unwrap();
    assert_eq!(
        team["created"],
        json!([{"object": "team t-made", "step": "team", "cleanup": "deleted", "reason": null}])
    );
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests.iter().all(|r| r.url.path() != "/organization/new"), "the skipped scenario sent nothing");
}

#[tokio::test]
async fn objects_still_there_after_teardown_fail_the_run_and_keep_skips_teardown() {
    let server = unlicensed_proxy(true).await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "team.yaml", TEAM_SCENARIO);
    let junit_file = dir.path().join("junit.xml");
    let args = ["run", path_str(dir.path()), "--target", &server.uri(), "--master-key", MASTER_KEY];
    let output = gateproof(&[&args[..], &["--junit", path_str(&junit_file)]].concat());
    let text = stdout(&output);
    assert_eq!(code(&output), Some(1), "stdout:\n{text}\nstderr:\n{}", stderr(&output));
    assert!(text.contains("LEFTOVER 1 objects"), "{text}");
    assert!(
        text.contains("team t-made (created by makes-a-team): still exists although its delete succeeded"),
        "{text}"
    );
    let junit = std::fs::read_to_string(&junit_file).expect("JUnit written");
    assert!(junit.contains(r#"name="leftover-check""#) && junit.contains("1 objects left behind"), "{junit}");

    let kept = unlicensed_proxy(true).await;
    let output =
        gateproof(&["run", path_str(dir.path()), "--target", &kept.uri(), "--master-key", MASTER_KEY, "--keep"]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let requests = kept.received_requests().await.unwrap_or_default();
    assert!(requests.iter().all(|r| r.url.path() != "/team/delete"), "--keep deletes nothing");
    assert!(!stdout(&output).contains("leftover check"), "--keep skips the check");
}

/// Requests that reached `server` on `path`.
async fn requests_on(server: &MockServer, wanted: &str) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| r.url.path() == wanted).count()
}

/// Without `reference: {replicas: N}` every step of a scenario goes to one target, the first: several
/// `--target`s are replicas only for the scenarios that ask for them. A replica scenario still picks
/// its target per step.
#[tokio::test]
async fn only_replica_scenarios_spread_their_steps_over_the_targets() {
    let (first, second) = (healthy_proxy().await, healthy_proxy().await);
    let dir = tempfile::tempdir().expect("temp dir");
    let three_steps = health_scenario("plain", &[]).replace(
        "  - id: health\n",
        "  - id: one\n    request: {method: GET, path: /health}\n    expect: {status: 200}\n  - id: two\n    request: {method: GET, path: /health}\n    expect: {status: 200}\n  - id: health\n",
    );
    write(dir.path(), "plain.yaml", &three_steps);
    let replicas = "id: replicated\ntitle: Two replicas\nreference: {replicas: 2}\nsteps:\n  - id: on-1\n    on: 1\n    request: {method: GET, path: /replica-check}\n    expect: {status: 404}\n";
    write(dir.path(), "replicated.yaml", replicas);
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--target",
        &format!("{},{}", first.uri(), second.uri()),
        "--master-key",
        MASTER_KEY,
    ]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert_eq!(requests_on(&first, "/health").await, 3, "every step of `plain` on the first target");
    assert_eq!(requests_on(&second, "/health").await, 0, "none of `plain` on the second target");
    assert_eq!(requests_on(&second, "/replica-check").await, 1, "`on: 1` on the second target");
    assert_eq!(requests_on(&first, "/replica-check").await, 0);
}

/// A proxy on a raw socket that behaves like LiteLLM 1.83 after an unhandled exception: `GET /boom`
/// answers 500 and keeps the connection open, and the next request on that connection gets no answer
/// (the server closes it). `POST /key/generate` makes a key, `GET /key/info` never finds one, and every
/// other request answers 200 `{"status": "healthy"}`. Returns its base URL.
fn proxy_closing_after_a_500() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut writer = stream;
                let mut doomed = false;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if std::io::Read::read_exact(&mut reader, &mut body).is_err() || doomed {
                        return;
                    }
                    let (status, text) = if request_line.starts_with("GET /boom ") {
                        doomed = true;
                        ("500 Internal Server Error", r#"{"error": {"message": "boom"}}"#)
                    } else if request_line.starts_with("POST /key/generate ") {
                        ("200 OK", r#"{"key": "sk-raw-key-0001"}"#)
                    } else if request_line.starts_with("GET /key/info") {
                        ("404 Not Found", r#"{"error": {"message": "Key not found in database"}}"#)
                    } else {
                        ("200 OK", r#"{"status": "healthy"}"#)
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    base_url
}

/// A 500 is the proxy's answer: a step that expects something else fails (exit 1). A request whose
/// reused connection the proxy closed before answering is sent again on a new one, so it is neither an
/// error of the scenario nor infrastructure trouble.
#[test]
fn a_connection_closed_after_a_500_is_retried_and_a_500_is_a_failure() {
    let base_url = proxy_closing_after_a_500();
    let dir = tempfile::tempdir().expect("temp dir");
    let survives = "id: survives\ntitle: A request after a 500 on the same connection\nsteps:\n  - id: boom\n    request: {method: GET, path: /boom}\n    expect: {status: 500}\n  - id: after\n    request: {method: GET, path: /health}\n    expect: {status: 200}\n";
    write(dir.path(), "survives.yaml", survives);
    let output = gateproof(&["run", path_str(dir.path()), "--target", &base_url, "--master-key", MASTER_KEY]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert_eq!(last_line(&output), "1 passed, 0 failed");

    let fails = survives.replace("id: survives", "id: fails").replace("expect: {status: 500}", "expect: {status: 200}");
    write(dir.path(), "fails.yaml", &fails);
    let output = gateproof(&["run", path_str(dir.path()), "--target", &base_url, "--master-key", MASTER_KEY]);
    assert_eq!(code(&output), Some(1), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("FAIL fails ("), "{}", stdout(&output));
    assert_eq!(last_line(&output), "1 passed, 1 failed");
}

/// A target that says its version nowhere is reported as `unknown` version, never without one.
#[tokio::test]
async fn a_target_without_a_version_is_reported_as_unknown_everywhere() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "health.yaml", &health_scenario("health", &[]));
    let (output, junit, json_file) = run_with_reports(dir.path(), &server.uri());
    let text = stdout(&output);
    assert_eq!(code(&output), Some(0), "stdout:\n{text}\nstderr:\n{}", stderr(&output));
    assert!(text.starts_with(&format!("Running 1 scenario against {} (version unknown)\n", server.uri())), "{text}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written")).expect("JSON");
    assert_eq!(report["target_version"], json!("unknown"));
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    assert!(xml.contains(r#"<property name="target_version" value="unknown"/>"#), "{xml}");
}

/// LiteLLM 1.109.1 answers `/key/info` of a deleted key with 200 and `info.status: "deleted"` (its
/// deleted-keys archive): gone, not a leftover.
#[tokio::test]
async fn a_key_in_the_deleted_keys_archive_is_not_a_leftover() {
    let server = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("POST"))
        .and(path("/key/generate"))
        .respond_with(ok(json!({"key": "sk-archived-0001", "token": "hash"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/key/delete"))
        .respond_with(ok(json!({"deleted_keys": ["sk-archived-0001"]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/key/info"))
        .respond_with(ok(json!({"key": "sk-archived-0001", "info": {"key_alias": "k", "status": "deleted"}})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = "id: makes-a-key\ntitle: Makes a key\nsteps:\n  - id: key\n    request: {method: POST, path: /key/generate, json: {key_alias: \"k-{{run_id}}\"}}\n    expect: {status: 200}\n";
    write(dir.path(), "key.yaml", scenario);
    let output = gateproof(&["run", path_str(dir.path()), "--target", &server.uri(), "--master-key", MASTER_KEY]);
    let text = stdout(&output);
    assert_eq!(code(&output), Some(0), "stdout:\n{text}\nstderr:\n{}", stderr(&output));
    assert!(text.contains("leftover check: nothing left behind"), "{text}");
}

/// Teardown's requests get the same one retry: a delete sent on the connection a 500 left behind still
/// deletes (LiteLLM 1.83.14 left a key behind this way).
#[test]
fn teardown_after_a_500_retries_on_a_new_connection() {
    let base_url = proxy_closing_after_a_500();
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = "id: key-then-boom\ntitle: A key, then a 500 as the last answer\nsteps:\n  - id: key\n    request: {method: POST, path: /key/generate, json: {}}\n    expect: {status: 200}\n  - id: boom\n    request: {method: GET, path: /boom}\n    expect: {status: 500}\n";
    write(dir.path(), "key.yaml", scenario);
    let json_file = dir.path().join("report.json");
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--target",
        &base_url,
        "--master-key",
        MASTER_KEY,
        "--json",
        path_str(&json_file),
    ]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written")).expect("JSON");
    assert_eq!(
        report["scenarios"][0]["created"],
        json!([{"object": "key sk-…0001", "step": "key", "cleanup": "deleted", "reason": null}])
    );
}

/// A scenario asking `/health` for `status`.
fn health_expecting(id: &str, status: u16) -> String {
    format!(
        "id: {id}\ntitle: Health answers {status}\nsteps:\n  - id: health\n    request: {{method: GET, path: /health}}\n    expect: {{status: {status}}}\n"
    )
}

/// `--baseline`: failures the earlier report already had do not fail the run; a scenario that passed
/// there and fails now does, and the fixes are listed too, in the output and in the JSON report.
#[tokio::test]
async fn a_baseline_accepts_known_failures_and_names_new_ones_and_fixes() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).expect("dir");
    write(&scenarios, "a.yaml", &health_expecting("a-stays-good", 200));
    write(&scenarios, "b.yaml", &health_expecting("b-known-bug", 404));
    let (before, after) = (dir.path().join("before.json"), dir.path().join("after.json"));
    let target = server.uri();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", path_str(&scenarios), "--target", &target, "--master-key", MASTER_KEY];
        args.extend_from_slice(extra);
        gateproof(&args)
    };
    let output = run(&["--json", path_str(&before)]);
    assert_eq!(code(&output), Some(1), "{}", stdout(&output));

    // The same failure again: accepted.
    let output = run(&["--baseline", path_str(&before)]);
    let text = stdout(&output);
    assert_eq!(code(&output), Some(0), "stdout:\n{text}\nstderr:\n{}", stderr(&output));
    assert!(
        text.contains(&format!(
            "baseline ({}, unknown): 0 new failures, 0 fixed, 1 failure it already had",
            path_str(&before)
        )),
        "{text}"
    );
    assert_eq!(last_line(&output), "1 passed, 1 failed");

    // Now the good one breaks and the known bug is fixed.
    write(&scenarios, "a.yaml", &health_expecting("a-stays-good", 404));
    write(&scenarios, "b.yaml", &health_expecting("b-known-bug", 200));
    let page = dir.path().join("after.html");
    let output = run(&["--baseline", path_str(&before), "--json", path_str(&after), "--html", path_str(&page)]);
    let text = stdout(&output);
    assert_eq!(code(&output), Some(1), "stdout:\n{text}\nstderr:\n{}", stderr(&output));
    // The page says the same, above the scenarios.
    let page = std::fs::read_to_string(&page).expect("HTML");
    let changes = page.find("1 new failure, 1 fixed, 0 known failures").expect("the baseline section");
    assert!(changes < page.find("<section id=\"problems\">").expect("the failures"), "{page}");
    assert!(page.contains("<span class=\"new\">new failure</span> <a href=\"#scenario-0\">a-stays-good</a>"), "{page}");
    assert!(page.contains("<span class=\"fixed\">fixed</span> <a href=\"#scenario-1\">b-known-bug</a>"), "{page}");
    assert!(text.contains("1 new failure, 1 fixed, 0 failures it already had"), "{text}");
    assert!(text.contains("  NEW FAILURE a-stays-good ("), "{text}");
    assert!(text.contains("): passed in the baseline"), "{text}");
    assert!(text.contains("  FIXED b-known-bug ("), "{text}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&after).expect("JSON")).expect("JSON");
    let baseline = &report["baseline"];
    assert_eq!(baseline["file"], json!(path_str(&before)));
    assert_eq!(baseline["new_failures"][0]["id"], json!("a-stays-good"));
    assert_eq!(baseline["new_failures"][0]["before"], json!("passed"));
    assert_eq!(baseline["fixed"][0]["id"], json!("b-known-bug"));
    assert_eq!(baseline["known_failures"], json!([]));

    // A baseline that is not a report is a bad invocation, and nothing runs.
    let requests = scenario_requests(&server).await;
    write(dir.path(), "not-a-report.json", "{\"hello\": 1}");
    let output = run(&["--baseline", path_str(&dir.path().join("not-a-report.json"))]);
    assert_eq!(code(&output), Some(2), "{}", stderr(&output));
    assert!(words(&stderr(&output)).contains("as a gateproof JSON report"), "{}", stderr(&output));
    assert_eq!(scenario_requests(&server).await, requests, "nothing ran");
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let output = Command::new(env!("CARGO_BIN_EXE_gateproof"))
        .args(["run", "scenarios/conformance/health-liveliness.yaml", "--postgres", "local"])
        .env("RUST_LOG", "debug")
        .env_remove("NO_COLOR")
        .output()
        .expect("gateproof runs");
    assert_eq!(code(&output), Some(0), "stderr:\n{}", stderr(&output));
    let log = stderr(&output);
    assert!(log.contains("DEBUG"), "debug logging reached stderr: {log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a piped log: {}", log.escape_debug());
}

/// The postmaster of the local Postgres whose data lives under `tmp`, once it runs.
fn postmaster_under(tmp: &Path) -> Option<i32> {
    let needle = tmp.to_string_lossy().into_owned();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
        let raw = std::fs::read(entry.path().join("cmdline")).ok()?;
        let args: Vec<String> = raw.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let is_postgres = args.first().is_some_and(|a| a.ends_with("/postgres"));
        (is_postgres && args.iter().any(|a| a.contains(&needle))).then_some(pid)
    })
}

/// A Postgres that dies mid-run is one headline, the scenarios not yet started do not run, and the run
/// is infrastructure trouble.
#[test]
fn postgres_going_away_mid_run_halts_the_run_with_a_headline() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    use std::process::Stdio;

    let tmp = tempfile::tempdir().expect("temp dir");
    // Like /tmp: the server may run as another user, which creates and removes its folder here.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let dir = tempfile::tempdir().expect("scenario dir");
    for i in 0..8 {
        let scenario = format!(
            "id: slow-{i}\ntitle: Slow {i}\nsteps:\n  - id: health\n    sleep: 1s\n    request: {{method: GET, path: /health/liveliness}}\n    expect: {{status: 200}}\n"
        );
        write(dir.path(), &format!("slow-{i}.yaml"), &scenario);
    }
    let report = dir.path().join("report.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateproof"))
        .args(["run", path_str(dir.path()), "--postgres", "local", "--jobs", "1"])
        .args(["--json", path_str(&report)])
        .env("TMPDIR", tmp.path())
        .env_remove("GATEPROOF_POSTGRES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateproof run starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stdout line");
        let passed = line.starts_with("PASS ");
        seen.push(line);
        if passed {
            break;
        }
    }
    let pid = postmaster_under(tmp.path()).unwrap_or_else(|| panic!("no postmaster under the run's TMPDIR: {seen:?}"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).expect("kill postgres");
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().expect("the run ends");
    let stdout = seen.join("\n");

    assert_eq!(status.code(), Some(3), "{stdout}");
    assert_eq!(stdout.matches("HALTED Postgres went away: ").count(), 1, "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    let not_run = report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter(|s| s["reason"].as_str().is_some_and(|m| m.starts_with("not run: Postgres went away")))
        .count();
    assert!(not_run >= 3, "most scenarios were never started: {report:#}");
}

/// Every `sk-` token in `text` with at least one key character after the prefix (masked ones have `…`).
fn full_keys(text: &str) -> Vec<String> {
    let token = regex::Regex::new(r"(^|[^A-Za-z0-9_-])(sk-[A-Za-z0-9_-]+)").expect("valid regex");
    token.captures_iter(text).map(|c| c[2].to_string()).collect()
}

/// A scenario that creates two keys (one of a value it chose) and fails at a step whose request,
/// response, assertion and failure message all carry them; writes the human, JUnit, JSON and HTML
/// output.
fn run_leaking_scenario(dir: &Path, extra: &[&str]) -> (Output, [String; 4]) {
    let scenario = r#"id: shows-keys
title: A failure that shows the keys the scenario created
steps:
  - id: user
    request: {method: POST, path: /user/new, json: {user_id: "u-{{run_id}}"}}
    expect: {status: 200}
    capture: {user_key: $.key}
  - id: chosen-key
    request: {method: POST, path: /key/generate, json: {user_id: "u-{{run_id}}", key: sk-redaction-test-chosen-0042}}
    expect: {status: 200}
    capture: {chosen: $.key}
  - id: shows-them
    request: {method: GET, path: "/key/info?key={{chosen}}", headers: {x-note: "{{user_key}}"}}
    expect:
      status: 200
      body:
        - {path: $.key, equals: "{{user_key}}"}
"#;
    let file = write(dir, "shows-keys.yaml", scenario);
    let junit = dir.join("report.xml");
    let json = dir.join("report.json");
    let html = dir.join("report.html");
    let mut args = vec!["run", path_str(&file), "--postgres", "local", "--junit", path_str(&junit)];
    args.extend_from_slice(&["--json", path_str(&json), "--html", path_str(&html)]);
    args.extend_from_slice(extra);
    let output = gateproof(&args);
    let read = |p: &Path| std::fs::read_to_string(p).expect("report written");
    let texts = [format!("{}{}", stdout(&output), stderr(&output)), read(&junit), read(&json), read(&html)];
    (output, texts)
}

#[test]
fn reports_mask_every_key_unless_asked_to_show_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (output, shown) = run_leaking_scenario(dir.path(), &["--show-secrets"]);
    assert_eq!(code(&output), Some(1), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    // With --show-secrets every output has the chosen key and the key /user/new made, in full.
    for text in &shown {
        let keys = full_keys(text);
        assert!(keys.iter().any(|k| k == "sk-redaction-test-chosen-0042"), "{text}");
        assert!(keys.iter().any(|k| k != "sk-redaction-test-chosen-0042" && k.len() > 20), "{text}");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let (output, masked) = run_leaking_scenario(dir.path(), &[]);
    assert_eq!(code(&output), Some(1), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    for text in &masked {
        // No key is left whole: not the chosen one, not the made-up ones, not the run's master key
        // (`sk-gp-…`); they are shown by their last four characters.
        assert_eq!(full_keys(text), Vec::<String>::new(), "{text}");
        assert!(!text.contains("redaction-test-chosen"), "{text}");
        assert!(text.contains("sk-…0042"), "{text}");
    }
    assert!(masked[0].contains("FAIL shows-keys ("), "{}", masked[0]);
}
