//! The container rung against a real Docker-compatible engine, and every rung of `--postgres auto`
//! through the `gateproof` binary.
//!
//! Tests that need the engine take it from `DOCKER_HOST` (or the default socket), as testcontainers
//! does. Where none answers they are reported as ignored, with the reason, so `cargo test` passes on
//! a machine with only PostgreSQL's binaries; `GATEPROOF_REQUIRE_CONTAINER_TESTS=1` (set by `.ci/run`)
//! makes a missing engine a failure, and `GATEPROOF_SKIP_CONTAINER_TESTS=1` ignores them without asking. The image is `GATEPROOF_POSTGRES_IMAGE`
//! when set (CI builds one, having no registry), else the harness's default, the official image.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::MIGRATOR;
use libtest_mimic::{Arguments, Trial};

#[path = "support/trial.rs"]
mod trial;
use sqlx::Connection;
use trial::catch;

const SKIP_VAR: &str = "GATEPROOF_SKIP_CONTAINER_TESTS";
const REQUIRE_VAR: &str = "GATEPROOF_REQUIRE_CONTAINER_TESTS";
const ONE_SCENARIO: &str = "scenarios/conformance/health-liveliness.yaml";
/// The watchdog removes a container twice, two seconds apart; a busy engine adds its own delay.
const REAPED_WITHIN: Duration = Duration::from_secs(20);

/// The engine's API, spoken directly: typed clients reject states they do not know (podman reports
/// `stopping`, which bollard cannot parse).
#[derive(Clone, Debug)]
enum Engine {
    Unix(String),
    Http(String),
}

impl Engine {
    fn from_env() -> Engine {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
        match host.strip_prefix("unix://") {
            Some(path) => Engine::Unix(path.to_string()),
            None => Engine::Http(host.replacen("tcp://", "http://", 1)),
        }
    }

    /// The body of `GET path`, or why there is none.
    fn get(&self, path: &str) -> Result<String, String> {
        match self {
            Engine::Unix(socket) => {
                use std::io::{Read, Write};
                let mut stream =
                    std::os::unix::net::UnixStream::connect(socket).map_err(|e| format!("{socket}: {e}"))?;
                stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
                // HTTP/1.0: the engine closes the connection after one unchunked body.
                write!(stream, "GET {path} HTTP/1.0\r\nHost: engine\r\n\r\n").map_err(|e| e.to_string())?;
                let mut response = String::new();
                stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
                let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP response")?;
                if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
                    return Err(head.lines().next().unwrap_or_default().to_string());
                }
                Ok(body.to_string())
            }
            Engine::Http(base) => {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let response = reqwest::get(format!("{base}{path}")).await.map_err(|e| e.to_string())?;
                    let response = response.error_for_status().map_err(|e| e.to_string())?;
                    response.text().await.map_err(|e| e.to_string())
                })
            }
        }
    }
}

/// Whether the engine tests can run here, and why not.
enum Availability {
    Ready(Engine),
    Missing(String),
}

/// The engine these tests run containers on. Without one they are ignored, saying why, unless
/// `REQUIRE_VAR` demands it: then a missing engine fails the run (CI set one up, and a container
/// test that silently does not run proves nothing).
fn availability() -> Result<Availability, String> {
    let on = |var: &str| std::env::var(var).is_ok_and(|v| v == "1");
    if on(SKIP_VAR) && !on(REQUIRE_VAR) {
        return Ok(Availability::Missing(format!("{SKIP_VAR}=1")));
    }
    let engine = Engine::from_env();
    match engine.get("/_ping") {
        Ok(_) => Ok(Availability::Ready(engine)),
        Err(e) => {
            let why = format!(
                "no Docker-compatible engine answers at {engine:?} ({e}). Start one and set DOCKER_HOST \
                 (with podman: `export DOCKER_HOST=$(.ci/container-engine)`, see the README)"
            );
            if on(REQUIRE_VAR) { Err(format!("{REQUIRE_VAR}=1, but {why}")) } else { Ok(Availability::Missing(why)) }
        }
    }
}

fn image() -> Option<String> {
    std::env::var("GATEPROOF_POSTGRES_IMAGE").ok().filter(|i| !i.is_empty())
}

/// The names (without the leading slash) of every container, running or not, whose name starts with
/// `prefix`.
fn containers(engine: &Engine, prefix: &str) -> Vec<String> {
    let body = engine.get("/containers/json?all=true").expect("the engine lists its containers");
    let list: Vec<serde_json::Value> = serde_json::from_str(&body).expect("a JSON list");
    list.iter()
        .filter_map(|c| c.get("Names")?.as_array().cloned())
        .flatten()
        .filter_map(|name| Some(name.as_str()?.trim_start_matches('/').to_string()))
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// The prefix of the containers a harness process names (see `container_name` in the crate).
fn prefix_of(pid: u32) -> String {
    format!("gateproof-pg-{pid}-")
}

fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// The binary with the Postgres settings this test gives and nothing inherited that would change the
/// rung (GATEPROOF_POSTGRES, DATABASE_URL); the image setting is kept.
fn gateproof(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateproof"));
    for name in ["GATEPROOF_TARGET", "GATEPROOF_POSTGRES", "DATABASE_URL", "NO_COLOR"] {
        command.env_remove(name);
    }
    // The rung shows in the harness's own log line, without colour codes.
    command.env("RUST_LOG", "gateproof::postgres=info").env("NO_COLOR", "1").args(args);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `kind` the run's "Postgres server ready" line names.
fn rung(output: &Output) -> Option<String> {
    let stderr = text(&output.stderr);
    let line = stderr.lines().find(|l| l.contains("Postgres server ready"))?;
    let kind = line.split("kind=").nth(1)?;
    Some(kind.split_whitespace().next()?.trim_matches('"').to_string())
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Runs the binary to the end, with its pid (container names carry it).
fn run_with_pid(mut command: Command) -> (Output, u32) {
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary runs");
    let pid = child.id();
    (child.wait_with_output().expect("the run ends"), pid)
}

/// The run passed, and on the Postgres rung `expected`.
fn assert_passed_on(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(0), "{}", describe(output));
    assert_eq!(rung(output).as_deref(), Some(expected), "{}", describe(output));
}

fn scenario_suite_passes_through_the_docker_rung_and_leaves_no_container(docker: &Engine) {
    let (output, pid) = run_with_pid(gateproof(&["run", "scenarios", "--reproduce", "--postgres", "docker"]));
    assert_passed_on(&output, "docker");
    let summary = text(&output.stdout);
    assert!(!summary.contains("not reproduced"), "{summary}");
    // Removal is part of the run, so nothing is left the moment it exits.
    assert_eq!(containers(docker, &prefix_of(pid)), Vec::<String>::new());
}

fn shutdown_and_drop_both_remove_the_container(docker: &Engine) {
    let ours = prefix_of(std::process::id());
    let options = PostgresOptions { choice: PostgresChoice::Docker, image: image() };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");

    let server = runtime.block_on(PgServer::start(&options)).expect("the container starts");
    assert_eq!(server.kind(), "docker");
    let running = containers(docker, &ours);
    assert_eq!(running.len(), 1, "{running:?}");
    runtime.block_on(async {
        let db = server.scenario_database(&MIGRATOR).await.expect("a migrated copy in the container");
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        let applied: i64 =
            sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&mut conn).await.expect("query");
        assert_eq!(applied, MIGRATOR.iter().count() as i64);
        conn.close().await.expect("close");
        server.shutdown().await;
    });
    assert_eq!(containers(docker, &ours), Vec::<String>::new(), "after shutdown");

    let server = runtime.block_on(PgServer::start(&options)).expect("the container starts again");
    assert_eq!(containers(docker, &ours).len(), 1);
    drop(server);
    assert!(
        wait_until(REAPED_WITHIN, || containers(docker, &ours).is_empty()),
        "after drop: {:?}",
        containers(docker, &ours)
    );
}

/// Starts a docker run of the whole suite, one scenario at a time so it lasts.
fn spawn_suite() -> Child {
    gateproof(&["run", "scenarios", "--postgres", "docker", "--jobs", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs")
}

/// Reads the child's stdout until its first scenario result.
fn wait_for_first_result(child: &mut Child) {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.find_map(|line| {
        let line = line.ok()?;
        ["PASS ", "FAIL ", "ERROR "].iter().any(|p| line.starts_with(p)).then_some(line)
    });
    assert!(first.is_some(), "the run printed no scenario result");
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
}

fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    nix::sys::signal::kill(pid, signal).expect("signal the harness");
}

fn ctrl_c_during_the_run_removes_the_container_before_exiting(docker: &Engine) {
    let mut child = spawn_suite();
    let ours = prefix_of(child.id());
    wait_for_first_result(&mut child);
    assert_eq!(containers(docker, &ours).len(), 1);
    signal(&child, nix::sys::signal::Signal::SIGINT);
    let status = child.wait().expect("the harness exits");
    assert_eq!(status.code(), Some(130));
    assert_eq!(containers(docker, &ours), Vec::<String>::new());
}

fn ctrl_c_while_the_container_starts_leaves_no_container(docker: &Engine) {
    let mut child = spawn_suite();
    let ours = prefix_of(child.id());
    // The container exists from its creation on; the harness is then still waiting for readiness.
    assert!(wait_until(Duration::from_secs(30), || !containers(docker, &ours).is_empty()), "no container was created");
    signal(&child, nix::sys::signal::Signal::SIGINT);
    let status = child.wait().expect("the harness exits");
    assert_eq!(status.code(), Some(130));
    assert!(
        wait_until(REAPED_WITHIN, || containers(docker, &ours).is_empty()),
        "left behind: {:?}",
        containers(docker, &ours)
    );
}

fn killed_harness_leaves_no_container_behind(docker: &Engine) {
    let mut child = spawn_suite();
    let ours = prefix_of(child.id());
    wait_for_first_result(&mut child);
    assert_eq!(containers(docker, &ours).len(), 1);
    child.kill().expect("SIGKILL the harness");
    child.wait().expect("reap the harness");
    assert!(
        wait_until(REAPED_WITHIN, || containers(docker, &ours).is_empty()),
        "left behind: {:?}",
        containers(docker, &ours)
    );
}

// The rungs of `auto`, each made to happen.

fn auto_takes_database_url_first() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let host = runtime
        .block_on(PgServer::start(&PostgresOptions { choice: PostgresChoice::Local, image: None }))
        .expect("a local server to point DATABASE_URL at");
    let db = runtime.block_on(host.scenario_database(&MIGRATOR)).expect("a database");
    let output = gateproof(&["run", ONE_SCENARIO, "--postgres", "auto"])
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("the binary runs");
    runtime.block_on(host.shutdown());
    assert_passed_on(&output, "url");
}

fn auto_takes_the_container_when_an_engine_answers(docker: &Engine) {
    let (output, pid) = run_with_pid(gateproof(&["run", ONE_SCENARIO, "--postgres", "auto"]));
    assert_passed_on(&output, "docker");
    assert_eq!(containers(docker, &prefix_of(pid)), Vec::<String>::new());
}

fn auto_falls_back_to_local_binaries_when_no_engine_answers() {
    let output = gateproof(&["run", ONE_SCENARIO, "--postgres", "auto"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("the binary runs");
    assert_passed_on(&output, "local");
}

fn auto_with_nothing_available_exits_3_naming_the_ways_to_get_a_server() {
    let empty = tempfile::tempdir().expect("an empty dir");
    let output = gateproof(&["run", ONE_SCENARIO, "--postgres", "auto"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("GATEPROOF_POSTGRES_BIN_DIR", empty.path())
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    // miette wraps the help to the terminal's width: compare with whitespace collapsed.
    let stderr = text(&output.stderr).split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in ["failed to find a Postgres server", "DATABASE_URL", "engine", "PostgreSQL server binaries"] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

/// One test that needs the engine: ignored, not passed, when there is none.
fn engine_test(name: &'static str, test: fn(&Engine)) -> Trial {
    match ENGINE.get().expect("main decides availability first") {
        Availability::Ready(engine) => Trial::test(name, move || catch(|| test(engine))),
        Availability::Missing(_) => Trial::test(name, || Ok(())).with_ignored_flag(true),
    }
}

static ENGINE: std::sync::OnceLock<Availability> = std::sync::OnceLock::new();

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    match availability() {
        Ok(found) => {
            if let Availability::Missing(why) = &found {
                eprintln!("ignoring the tests that need a container engine: {why}");
            }
            let _ = ENGINE.set(found);
        }
        Err(why) => {
            eprintln!("error: {why}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let trials = vec![
        engine_test(
            "scenario_suite_passes_through_the_docker_rung_and_leaves_no_container",
            scenario_suite_passes_through_the_docker_rung_and_leaves_no_container,
        ),
        engine_test("shutdown_and_drop_both_remove_the_container", shutdown_and_drop_both_remove_the_container),
        engine_test(
            "ctrl_c_during_the_run_removes_the_container_before_exiting",
            ctrl_c_during_the_run_removes_the_container_before_exiting,
        ),
        engine_test(
            "ctrl_c_while_the_container_starts_leaves_no_container",
            ctrl_c_while_the_container_starts_leaves_no_container,
        ),
        engine_test("killed_harness_leaves_no_container_behind", killed_harness_leaves_no_container_behind),
        engine_test("auto_takes_the_container_when_an_engine_answers", auto_takes_the_container_when_an_engine_answers),
        Trial::test("auto_takes_database_url_first", || catch(auto_takes_database_url_first)),
        Trial::test("auto_falls_back_to_local_binaries_when_no_engine_answers", || {
            catch(auto_falls_back_to_local_binaries_when_no_engine_answers)
        }),
        Trial::test("auto_with_nothing_available_exits_3_naming_the_ways_to_get_a_server", || {
            catch(auto_with_nothing_available_exits_3_naming_the_ways_to_get_a_server)
        }),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
