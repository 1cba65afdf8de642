//! The HTML report (`run --html FILE`) of a real run on the reference proxy, loaded in headless
//! Chromium: it renders, the first failing step is in the first 1280x800 viewport though twenty
//! passing scenarios come before it in the files, and a response body carrying `<script>` is text.
//!
//! Chromium is driven by its own command line (`--headless --dump-dom`), not over the DevTools
//! protocol: that needs no crate and no port, and the DOM it prints after the page loaded is what the
//! assertions read. The measurement (where the failing step is laid out) is a script the test appends
//! to a copy of the page, with the page's content security policy taken out so it may run; the page
//! itself carries no script. That copy also shows the escaping holds on its own: with the policy gone
//! a `<script>` that got through would run, and it would mark the document.
//!
//! Without Chromium (`chromium` on the PATH, or `GATEPROOF_CHROMIUM`) the test is reported as ignored,
//! with the reason; `GATEPROOF_REQUIRE_BROWSER_TESTS=1` (set by `.ci/run`) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Arguments, Trial};

#[path = "support/trial.rs"]
mod trial;
use trial::catch;

const REQUIRE_VAR: &str = "GATEPROOF_REQUIRE_BROWSER_TESTS";
const CHROMIUM_VAR: &str = "GATEPROOF_CHROMIUM";
const PASSING: usize = 20;
/// What the hostile body would do if it ran: mark the document (no quotes, so the proxy's error
/// message carries it unchanged).
const HOSTILE: &str = "<script>document.documentElement.dataset.injected=1</script>";

/// Where the first failing step is, as the page lays it out, written into the DOM as JSON.
const MEASURE: &str = r#"<script>
(function () {
  var step = document.querySelector('li.step.failed, li.step.errored');
  var head = step && step.querySelector('.step-head').getBoundingClientRect();
  var out = {
    innerWidth: innerWidth, innerHeight: innerHeight, scrollY: scrollY,
    step: step && step.id, top: head && head.top, bottom: head && head.bottom,
    injected: document.documentElement.dataset.injected || null
  };
  var pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

fn chromium() -> Result<Option<PathBuf>, String> {
    let binary = std::env::var_os(CHROMIUM_VAR).map(PathBuf::from).unwrap_or_else(|| "chromium".into());
    let found = Command::new(&binary).arg("--version").output();
    match found {
        Ok(output) if output.status.success() => Ok(Some(binary)),
        other => {
            let why = match other {
                Ok(output) => format!("`{} --version` exited {:?}", binary.display(), output.status.code()),
                Err(e) => format!("`{}` does not run ({e})", binary.display()),
            };
            let why = format!("{why}; install it (`apt-get install chromium`) or set {CHROMIUM_VAR}");
            if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
                Err(format!("{REQUIRE_VAR}=1, but {why}"))
            } else {
                eprintln!("ignoring the browser test: {why}");
                Ok(None)
            }
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).expect("write the scenario");
}

/// Twenty passing scenarios, then (last in file order) one that fails at its second step, whose
/// response echoes a `<script>`.
fn scenarios(dir: &Path) {
    for i in 0..PASSING {
        write(
            dir,
            &format!("a{i:02}-passes.yaml"),
            &format!(
                "id: passes-{i:02}\ntitle: Liveliness answers {i}\nsteps:\n  - id: alive\n    request: {{method: GET, path: \
                 /health/liveliness}}\n    expect: {{status: 200}}\n  - id: alive-again\n    request: {{method: GET, path: \
                 /health/liveliness}}\n    expect: {{status: 200}}\n"
            ),
        );
    }
    write(
        dir,
        "zz-fails.yaml",
        &format!(
            r#"id: hostile-body-fails
title: A failure whose response carries markup
steps:
  - id: alive
    request: {{method: GET, path: /health/liveliness}}
    expect: {{status: 200}}
  - id: update-missing-team
    request:
      method: POST
      path: /team/update
      json: {{team_id: "{HOSTILE}"}}
    expect: {{status: 200}}
  - id: never-reached
    request: {{method: GET, path: /health/liveliness}}
    expect: {{status: 200}}
"#
        ),
    );
}

/// Chromium's DOM of `page` after it loaded, in a 1280x800 window.
fn dump_dom(chromium: &Path, page: &Path, profile: &Path) -> String {
    let output = Command::new(chromium)
        .args(["--headless", "--disable-gpu", "--no-first-run", "--window-size=1280,800", "--dump-dom"])
        // As root (CI) Chromium refuses to start sandboxed; the page is our own local file.
        .arg("--no-sandbox")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {}", describe(&output));
    let dom = text(&output.stdout);
    assert!(dom.contains("<html"), "no DOM printed: {}", describe(&output));
    dom
}

/// The text of the element `<pre id="measured">`, as JSON.
fn measured(dom: &str) -> serde_json::Value {
    let start = dom.find("<pre id=\"measured\">").unwrap_or_else(|| panic!("the measurement did not run:\n{dom}"));
    let rest = &dom[start + "<pre id=\"measured\">".len()..];
    let json = &rest[..rest.find("</pre>").expect("the end of the measurement")];
    let json = json.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("measurement {json}: {e}"))
}

fn the_report_renders_with_the_failure_first_and_the_hostile_body_as_text(chromium: &Path) {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("scenarios");
    std::fs::create_dir(&folder).expect("dir");
    scenarios(&folder);
    let page = dir.path().join("report.html");
    let output = Command::new(env!("CARGO_BIN_EXE_gateproof"))
        .args(["run", folder.to_str().expect("UTF-8"), "--postgres", "local", "--html"])
        .arg(&page)
        .env_remove("GATEPROOF_TARGET")
        .env_remove("GATEPROOF_POSTGRES")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(1), "one scenario fails: {}", describe(&output));
    let html = std::fs::read_to_string(&page).expect("the page was written");
    let profile = dir.path().join("chromium-profile");

    // (a) It renders: every scenario is in the DOM, the failing one open and first.
    let dom = dump_dom(chromium, &page, &profile);
    let scenarios = dom.matches("<details class=\"scenario ").count();
    assert_eq!(scenarios, PASSING + 1, "{dom}");
    for i in 0..PASSING {
        assert!(dom.contains(&format!("data-id=\"passes-{i:02}\"")), "passes-{i:02} is not in the DOM:\n{dom}");
    }
    let failing = dom.find("data-id=\"hostile-body-fails\"").expect("the failing scenario");
    assert!(failing < dom.find("data-id=\"passes-00\"").expect("a passing one"), "{dom}");
    assert!(dom.contains("data-id=\"hostile-body-fails\" open=\"\""), "{dom}");
    assert!(dom.contains("<h1>gateproof run: FAILED</h1>"), "{dom}");
    // (c) The body is text: no element came of it, and it reads as written.
    assert!(!dom.contains("<script"), "a script element in the DOM:\n{dom}");
    assert!(!dom.contains("data-injected"), "{dom}");
    assert!(dom.contains("&lt;script&gt;document.documentElement.dataset.injected=1&lt;/script&gt;"), "{dom}");

    // (b) Laid out in the window, the first failing step's head is in view without scrolling; the same
    // page with a measuring script and no policy.
    let policy = html.find("<meta http-equiv=\"Content-Security-Policy\"").expect("the page has a policy");
    let policy_end = policy + html[policy..].find('>').expect("the end of the tag") + 1;
    let measuring =
        format!("{}{}", &html[..policy], &html[policy_end..]).replace("</body>", &format!("{MEASURE}</body>"));
    let measuring_page = dir.path().join("measuring.html");
    std::fs::write(&measuring_page, measuring).expect("write the measuring copy");
    let dom = dump_dom(chromium, &measuring_page, &profile);
    let m = measured(&dom);
    eprintln!("measured: {m}");
    assert_eq!(m["innerWidth"], 1280, "{m}");
    assert_eq!(m["scrollY"], 0, "{m}");
    assert!(m["step"].as_str().is_some_and(|id| id.ends_with("-step-1")), "the second step failed: {m}");
    let (top, bottom, height) = (
        m["top"].as_f64().expect("top"),
        m["bottom"].as_f64().expect("bottom"),
        m["innerHeight"].as_f64().expect("innerHeight"),
    );
    assert!(0.0 <= top && bottom <= height && height <= 800.0, "the failing step is out of view: {m}");
    // Without the policy, escaping alone kept the body from running.
    assert_eq!(m["injected"], serde_json::Value::Null, "the response's script ran: {m}");
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let chromium = match chromium() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("error: {why}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let name = "the_report_renders_with_the_failure_first_and_the_hostile_body_as_text";
    let trial = match chromium {
        Some(binary) => Trial::test(name, move || {
            catch(|| the_report_renders_with_the_failure_first_and_the_hostile_body_as_text(&binary))
        }),
        None => Trial::test(name, || Ok(())).with_ignored_flag(true),
    };
    libtest_mimic::run(&args, vec![trial]).exit_code()
}
