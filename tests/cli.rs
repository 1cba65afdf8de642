//! The `gateproof` binary end to end: arguments, exit codes, output and report files, against wiremock
//! standing in for a proxy on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MASTER_KEY: &str = "sk-cli-test-master";

/// The binary with no GATEPROOF_* settings inherited from the environment.
fn gateproof(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateproof"));
    for name in ["GATEPROOF_TARGET", "GATEPROOF_MASTER_KEY", "GATEPROOF_POSTGRES", "GATEPROOF_POSTGRES_IMAGE"] {
        command.env_remove(name);
    }
    command.args(args).output().expect("the binary runs")
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
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
    // Whichever quirk is still unwired: branches wire them one by one.
    if let Some(unwired) = gateproof::reference::Quirk::ALL.into_iter().find(|q| !q.wired()) {
        let output = gateproof(&["run", "--quirk", unwired.name()]);
        assert_eq!(code(&output), Some(2), "{}", stderr(&output));
        assert!(words(&stderr(&output)).contains("not wired into the reference proxy yet"), "{}", stderr(&output));
    }
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
    assert_eq!(text.lines().count(), 8, "{text}");
    let gate = text.lines().find(|l| l.starts_with("org_admin_gate_needs_org_id_in_body ")).expect("listed");
    assert!(gate.contains("BerriAI/litellm#27294"), "{gate}");
    for quirk in gateproof::reference::Quirk::ALL {
        let line = text.lines().find(|l| l.starts_with(&format!("{} ", quirk.name()))).expect("listed");
        assert_eq!(line.contains("(not wired yet)"), !quirk.wired(), "{line}");
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
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written"))
        .expect("valid JSON");
    let reproduction = &report["scenarios"][0]["reproduction"];
    assert_eq!(reproduction["quirk"], json!("stale_team_cache"));
    assert_eq!(reproduction["result"], json!("not_run"));
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1), "one run only");
}

#[tokio::test]
async fn a_passing_run_exits_0_and_writes_both_reports() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "health.yaml", &health_scenario("health-passes", &["smoke"]));
    let (junit, json_file) = (dir.path().join("junit.xml"), dir.path().join("report.json"));
    let output = gateproof(&[
        "run",
        path_str(dir.path()),
        "--target",
        &server.uri(),
        "--master-key",
        MASTER_KEY,
        "--junit",
        path_str(&junit),
        "--json",
        path_str(&json_file),
    ]);
    assert_eq!(code(&output), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("PASS health-passes ("), "{}", stdout(&output));
    assert_eq!(last_line(&output), "1 passed, 0 failed");

    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains(r#"<testcase name="health-passes""#), "{xml}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written"))
        .expect("valid JSON");
    assert_eq!(report["format_version"], json!(1));
    assert_eq!(report["target"], json!(server.uri()));
    assert_eq!(
        report["summary"],
        json!({"total": 1, "passed": 1, "failed": 0, "skipped": 0, "errored": 0, "reproduced": 0, "not_reproduced": 0})
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
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).expect("JSON written"))
        .expect("valid JSON");
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
    assert!(stdout(&output).contains("ERROR health-down ("), "{}", stdout(&output));
    assert_eq!(last_line(&output), "0 passed, 0 failed, 1 errored");
}

#[tokio::test]
async fn a_broken_file_exits_2_while_the_others_still_run() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a-good.yaml", &health_scenario("good", &[]));
    let broken = write(dir.path(), "b-broken.yaml", "id: broken\ntitle: x\nsteps: []\nunknown_field: 1\n");
    let output =
        gateproof(&["run", path_str(dir.path()), "--target", &server.uri(), "--master-key", MASTER_KEY]);
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains(path_str(&broken)), "the broken file is named: {}", stderr(&output));
    assert_eq!(last_line(&output), "1 passed, 0 failed");
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
    assert_eq!(server.received_requests().await.unwrap_or_default().len(), 1);
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
    let broken = write(dir.path(), "broken.yaml", "id: broken\ntitle: x\nsteps:\n  - id: a\n    sleep: 1s\n    colour: red\n");
    let output = gateproof(&["list", path_str(dir.path())]);
    assert_eq!(code(&output), Some(2), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    let expected = format!("{}:6:5", path_str(&broken));
    assert!(stderr(&output).contains(&expected), "expected {expected} in:\n{}", stderr(&output));
}
