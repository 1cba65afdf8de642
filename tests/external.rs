//! The third way gateproof is used: the same corpus against a proxy in another process, by URL. The
//! proxy here is `gateproof serve` (the reference proxy on its own Postgres), so every scenario that
//! needs no reference-only setting must pass there as it does in-process (`tests/scenarios.rs`), and
//! the run must leave nothing behind.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

const MASTER_KEY: &str = "sk-gp-external0test0master0key";

/// `gateproof serve` on a free port; stopped (as by Ctrl-C) when dropped.
struct Served {
    child: Child,
    base_url: String,
}

impl Served {
    fn start() -> Served {
        Served::spawn(Command::new(env!("CARGO_BIN_EXE_gateproof")).args(["serve", "--port", "0"]))
    }

    /// On a local Postgres whose data lives under `tmp`, so a test can see that it is removed.
    fn start_in(tmp: &Path) -> Served {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gateproof"));
        command.args(["serve", "--port", "0", "--postgres", "local"]).env("TMPDIR", tmp);
        Served::spawn(&mut command)
    }

    fn spawn(command: &mut Command) -> Served {
        let mut child = command
            .args(["--master-key", MASTER_KEY])
            .env_remove("GATEPROOF_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gateproof serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base_url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("base_url: ") {
                        break url.to_string();
                    }
                }
                _ => panic!("gateproof serve ended before printing its base_url"),
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Served { child, base_url }
    }

    /// Stops the server the way an operator's Ctrl-C does, and waits for it.
    fn stop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
        if self.wait(Duration::from_secs(20)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Its exit status, once it has ended within `limit`.
    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run_against(target: &str, paths: &[&str], extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateproof"));
    for name in ["GATEPROOF_TARGET", "GATEPROOF_MASTER_KEY"] {
        command.env_remove(name);
    }
    command
        .arg("run")
        .args(paths)
        .args(["--target", target, "--master-key", MASTER_KEY])
        .args(extra)
        .output()
        .expect("gateproof run runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Skips that only say the scenario needs the in-process reference proxy.
fn reference_only(reason: &str) -> bool {
    reason.starts_with("needs reference-only settings") || reason.contains("replicas of the proxy")
}

#[test]
fn the_corpus_passes_on_a_separate_proxy_process_and_leaves_nothing_behind() {
    let served = Served::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let report_file = dir.path().join("external.json");
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let output = run_against(
        &served.base_url,
        &[scenarios.to_str().expect("UTF-8 path")],
        &["--json", report_file.to_str().expect("UTF-8 path")],
    );
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{}", text(&output.stderr));

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_file).expect("report")).expect("JSON");
    assert_eq!(report["target_version"], Value::String(format!("gateproof reference {}", env!("CARGO_PKG_VERSION"))));
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    assert!(scenarios.len() >= 30, "the whole corpus ran: {}", scenarios.len());
    let mut ran = 0;
    for scenario in scenarios {
        let (id, status, reason) = (&scenario["id"], scenario["status"].as_str(), scenario["reason"].as_str());
        match status {
            Some("passed") => ran += 1,
            Some("skipped") => {
                let reason = reason.unwrap_or_default();
                assert!(
                    reference_only(reason),
                    "{id} skipped on the external target for a reason the reference does not have: {reason}"
                );
            }
            other => panic!("{id} is {other:?} on the external target, but passes in-process"),
        }
        for created in scenario["created"].as_array().expect("created") {
            // An organization's budget has no route of its own on the reference proxy.
            let side_budget = created["object"].as_str().is_some_and(|o| o.starts_with("budget "))
                && created["cleanup"] == "unsupported";
            assert!(
                side_budget || matches!(created["cleanup"].as_str(), Some("deleted" | "already_gone")),
                "{id}: {created} was not cleaned up"
            );
        }
    }
    assert!(ran >= 25, "most scenarios ran on the external target: {ran}");
    assert_eq!(report["leftovers"], Value::Array(vec![]), "{stdout}");
    assert!(stdout.contains("leftover check: nothing left behind"), "{stdout}");
}

const SLOW_SCENARIO: &str = r#"id: outlived-by-its-target
title: Creates a team, then waits while the target goes away
steps:
  - id: team
    request: {method: POST, path: /team/new, json: {team_alias: "t-{{run_id}}"}}
    expect: {status: 200}
  - id: wait
    sleep: 4s
  - id: after
    request: {method: GET, path: /health/liveliness}
    expect: {status: 200}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_dies_mid_run_is_infrastructure_trouble_and_what_it_left_is_listed() {
    let mut served = Served::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let run = start_slow_run(dir.path(), &served.base_url);

    // The team exists once the first step is through; then the target goes away during the pause.
    wait_for_a_team(&served.base_url).await;
    served.stop();

    let output =
        tokio::task::spawn_blocking(move || run.wait_with_output()).await.expect("joined").expect("gateproof run ends");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "stdout:\n{stdout}\nstderr:\n{}", text(&output.stderr));
    assert!(stdout.contains("ERROR outlived-by-its-target"), "{stdout}");
    assert!(stdout.contains("LEFTOVER 1 objects"), "{stdout}");
    assert!(stdout.contains("(created by outlived-by-its-target): could not check"), "{stdout}");
}

/// `gateproof run` of `SLOW_SCENARIO` against `base_url`, in the background.
fn start_slow_run(dir: &Path, base_url: &str) -> Child {
    let file = dir.join("slow.yaml");
    std::fs::write(&file, SLOW_SCENARIO).expect("write");
    Command::new(env!("CARGO_BIN_EXE_gateproof"))
        .args(["run", file.to_str().expect("UTF-8"), "--target", base_url, "--master-key", MASTER_KEY])
        .args(["--request-timeout", "5s"])
        .env_remove("GATEPROOF_TARGET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateproof run starts")
}

/// The teams the served proxy holds (the master key's `/user/info`); none when it does not answer.
async fn teams_on(base_url: &str) -> Vec<Value> {
    let answer = reqwest::Client::new().get(format!("{base_url}/user/info")).bearer_auth(MASTER_KEY).send().await;
    match answer {
        Ok(response) => {
            response.json::<Value>().await.ok().and_then(|v| v["teams"].as_array().cloned()).unwrap_or_default()
        }
        Err(_) => Vec::new(),
    }
}

/// Waits until the served proxy holds at least one team (the slow scenario's first step is through).
async fn wait_for_a_team(base_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if !teams_on(base_url).await.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "the scenario never created its team");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ctrl-C and SIGTERM (`docker stop`, Kubernetes, a cancelled CI job) stop a run the same way; only
/// the exit code differs, as a shell's would.
#[tokio::test(flavor = "multi_thread")]
async fn a_signal_mid_scenario_still_tears_down_what_it_created() {
    for (signal, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let served = Served::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let run = start_slow_run(dir.path(), &served.base_url);
        wait_for_a_team(&served.base_url).await;
        kill(Pid::from_raw(i32::try_from(run.id()).expect("pid")), signal).expect("signal the run");

        let output = tokio::task::spawn_blocking(move || run.wait_with_output()).await.expect("joined").expect("ends");
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{signal}: stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stdout.contains("leftover check: nothing left behind"), "{signal}: {stdout}");
        assert!(stderr.contains("stopping and cleaning up"), "{signal}: {stderr}");
        assert_eq!(teams_on(&served.base_url).await, Vec::<Value>::new(), "{signal}: the team was deleted");
    }
}

/// `serve` on SIGTERM stops as on Ctrl-C (drops its database, stops its Postgres) and exits 143.
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut served = Served::start_in(tmp.path());
    kill(Pid::from_raw(i32::try_from(served.child.id()).expect("pid")), Signal::SIGTERM).expect("SIGTERM");
    let status = served.wait(Duration::from_secs(30)).expect("serve ends after SIGTERM");
    assert_eq!(status.code(), Some(143));
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("temp dir").flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "serve left its Postgres behind: {left:?}");
}

/// A scenario that stays mid-run long enough to be signalled there.
const LONG_SCENARIO: &str = r#"id: stopped-mid-run
title: Creates a team, then waits long enough to be stopped
steps:
  - id: team
    request: {method: POST, path: /team/new, json: {team_alias: "t-{{run_id}}"}}
    expect: {status: 200}
  - id: wait
    sleep: 60s
"#;

/// The processes whose command line names `dir` (a local Postgres keeps its data dir there).
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok().map(|c| (e.file_name(), c)))
        .map(|(pid, cmdline)| (pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")))
        .filter(|(_, cmdline)| cmdline.contains(&needle))
        .map(|(pid, cmdline)| format!("{}: {cmdline}", pid.to_string_lossy()))
        .collect()
}

/// `run` on the reference target (its own local Postgres), SIGTERMed mid-scenario, stops as on
/// Ctrl-C: tears down, removes its Postgres (data dir and processes), exits 143.
#[test]
fn run_on_the_reference_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenarios = tempfile::tempdir().expect("temp dir");
    let file = scenarios.path().join("long.yaml");
    std::fs::write(&file, LONG_SCENARIO).expect("write");
    let mut run = Command::new(env!("CARGO_BIN_EXE_gateproof"))
        .args(["run", file.to_str().expect("UTF-8"), "--postgres", "local"])
        .env_remove("GATEPROOF_TARGET")
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateproof run starts");
    // The headline comes once the proxy and its Postgres are up; the 60 s pause follows the first step.
    let stdout = run.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                let started = line.starts_with("Running 1 scenario");
                seen.push(line);
                if started {
                    break;
                }
            }
            _ => panic!("the run ended before its headline: {seen:?}"),
        }
    }
    let pg_dirs = || -> Vec<_> {
        std::fs::read_dir(tmp.path())
            .expect("temp dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("gateproof-pg-"))
            .collect()
    };
    assert_eq!(pg_dirs().len(), 1, "the run's Postgres lives under TMPDIR");
    assert!(!processes_naming(tmp.path()).is_empty(), "the run's Postgres is running");
    kill(Pid::from_raw(i32::try_from(run.id()).expect("pid")), Signal::SIGTERM).expect("SIGTERM");

    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = run.wait_with_output().expect("the run ends");
    let (stdout, stderr) = (rest.join("\n"), text(&output.stderr));
    assert_eq!(output.status.code(), Some(143), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("stopping and cleaning up"), "{stderr}");
    assert_eq!(pg_dirs(), Vec::<String>::new(), "the run left its Postgres data behind");
    assert_eq!(processes_naming(tmp.path()), Vec::<String>::new(), "the run left Postgres processes behind");
}
