//! Splitting a run (`run --partition`) and joining the shards (`merge`), end to end with the binary:
//! the merged report of a 3-way split of real corpus scenarios on the reference proxy (real Postgres)
//! has the unsplit run's outcomes and verdict; bad partitions and reports that cannot be joined are
//! bad invocations that say why.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/binary.rs"]
mod binary;
use binary::gateproof;

/// Corpus scenarios spread over every `hash:K/3` shard, two regressions (run with `--reproduce`)
/// among them.
const CORPUS: [&str; 10] = [
    "conformance/health-liveliness.yaml",
    "conformance/auth-rejects-missing-and-wrong-keys.yaml",
    "conformance/key-lifecycle.yaml",
    "conformance/team-lifecycle.yaml",
    "conformance/user-lifecycle.yaml",
    "conformance/organization-lifecycle.yaml",
    "conformance/team-member-add.yaml",
    "conformance/internal-user-on-admin-routes.yaml",
    "regressions/array-body-is-a-bad-request.yaml",
    "regressions/org-admin-team-update-without-org-id.yaml",
];

/// The fragments those scenarios include: copied beside them, never run as scenarios of their own.
const FRAGMENTS: [&str; 1] = ["fragments/org-with-admin.yaml"];

/// A scenario that fails on every target: the verdict of the split must be a failure too.
const FAILING: &str = r#"id: health-expects-a-teapot
title: A scenario that fails, so the verdicts have something to agree on
steps:
  - id: health
    request:
      method: GET
      path: /health/liveliness
    expect:
      status: 418
"#;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn explain(output: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(output), String::from_utf8_lossy(&output.stderr))
}

/// stderr as plain words: miette's wrapping and frame characters removed.
fn stderr_words(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    text.split_whitespace().filter(|w| !matches!(*w, "│" | "×")).collect::<Vec<_>>().join(" ")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

fn read_json(file: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).expect("report written")).expect("valid JSON")
}

/// The corpus files in `dir/corpus`, in two folders as in `scenarios/`.
fn corpus(dir: &Path) -> PathBuf {
    let root = dir.join("corpus");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for file in CORPUS.iter().chain(&FRAGMENTS) {
        let to = root.join(file);
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("corpus folder");
        std::fs::copy(repo.join(file), &to).expect("copy a corpus scenario");
    }
    std::fs::write(root.join("conformance/zz-failing.yaml"), FAILING).expect("write the failing scenario");
    root
}

/// `run` on the reference proxy, writing the JSON report to `json`.
fn run(corpus: &Path, partition: Option<&str>, json: &Path) -> Output {
    let mut args = vec!["run", path_str(corpus), "--postgres", "local", "--reproduce", "--json", path_str(json)];
    if let Some(partition) = partition {
        args.extend(["--partition", partition]);
    }
    gateproof(&args)
}

/// What must agree between the unsplit and the merged report: per scenario its id, file, status and
/// step statuses and its reproduction's result, in order, and the summary (not timings or run ids).
fn outcomes(report: &Value) -> Value {
    let scenarios: Vec<Value> = report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            let steps: Vec<Value> =
                s["steps"].as_array().expect("steps").iter().map(|t| json!([t["id"], t["status"]])).collect();
            json!({"id": s["id"], "file": s["file"], "status": s["status"], "steps": steps,
                   "reproduction": s["reproduction"]["result"]})
        })
        .collect();
    json!({"scenarios": scenarios, "summary": report["summary"], "target": report["target"],
           "target_version": report["target_version"], "broken_files": report["broken_files"]})
}

fn ids(report: &Value) -> Vec<String> {
    report["scenarios"].as_array().expect("scenarios").iter().map(|s| s["id"].as_str().expect("id").into()).collect()
}

#[test]
fn the_merged_report_of_a_3_way_split_has_the_unsplit_runs_outcomes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = corpus(dir.path());
    let whole_file = dir.path().join("whole.json");
    let whole_run = run(&corpus, None, &whole_file);
    assert_eq!(whole_run.status.code(), Some(1), "one scenario fails: {}", explain(&whole_run));
    let whole = read_json(&whole_file);
    let whole_ids = ids(&whole);
    assert_eq!(whole_ids.len(), CORPUS.len() + 1);
    assert_eq!(whole["summary"]["failed"], json!(1), "{}", whole["summary"]);
    assert_eq!(whole["summary"]["reproduced"], json!(2), "{}", whole["summary"]);

    for kind in ["count", "hash"] {
        let mut shard_files = Vec::new();
        let mut shard_ids = Vec::new();
        for k in 1..=3 {
            let partition = format!("{kind}:{k}/3");
            let file = dir.path().join(format!("{kind}-{k}.json"));
            let output = run(&corpus, Some(&partition), &file);
            let report = read_json(&file);
            let mine = ids(&report);
            assert!(!mine.is_empty(), "{partition} got none of the corpus: {}", explain(&output));
            let fails = mine.iter().any(|id| id == "health-expects-a-teapot");
            assert_eq!(output.status.code(), Some(i32::from(fails)), "{partition}: {}", explain(&output));
            assert_eq!(report["partition"], json!(partition));
            assert!(
                stdout(&output)
                    .starts_with(&format!("partition {partition}: {} of the 11 selected scenarios\n", mine.len())),
                "{}",
                explain(&output)
            );
            if kind == "count" {
                // Every third scenario of the file order, starting with the kth.
                let expected: Vec<String> = whole_ids.iter().skip(k - 1).step_by(3).cloned().collect();
                assert_eq!(mine, expected, "{partition}");
            }
            shard_ids.extend(mine);
            shard_files.push(file);
        }
        // Each scenario in exactly one shard.
        let mut sorted = shard_ids.clone();
        sorted.sort();
        let mut expected = whole_ids.clone();
        expected.sort();
        assert_eq!(sorted, expected, "{kind}: every scenario once");

        let (merged_json, merged_junit) = (dir.path().join(format!("{kind}-merged.json")), dir.path().join("m.xml"));
        let merged_html = dir.path().join("m.html");
        let mut args = vec!["merge"];
        args.extend(shard_files.iter().rev().map(|f| path_str(f)));
        args.extend(["--json", path_str(&merged_json), "--junit", path_str(&merged_junit)]);
        args.extend(["--html", path_str(&merged_html)]);
        let merge = gateproof(&args);
        assert_eq!(merge.status.code(), whole_run.status.code(), "{kind}: the merge is the gate: {}", explain(&merge));
        let merged = read_json(&merged_json);
        assert_eq!(outcomes(&merged), outcomes(&whole), "{kind}");
        assert_eq!(merged["partition"], Value::Null);
        let text = stdout(&merge);
        assert!(
            text.starts_with(&format!(
                "Merged 3 reports ({kind}:3/3, {kind}:2/3, {kind}:1/3): 11 scenarios against reference"
            )),
            "{text}"
        );
        assert!(text.contains("  FAIL health-expects-a-teapot ("), "{text}");
        assert_eq!(text.lines().last(), stdout(&whole_run).lines().last(), "the same summary line");
        let xml = std::fs::read_to_string(&merged_junit).expect("JUnit written");
        assert_eq!(xml.matches("<testcase ").count(), 11, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        let page = std::fs::read_to_string(&merged_html).expect("HTML written");
        for id in &whole_ids {
            assert!(page.contains(id.as_str()), "{kind}: the merged page shows {id}");
        }
    }
}

/// `--baseline` on merge compares as `run --baseline` does: the known failure no longer fails.
#[test]
fn merge_with_a_baseline_gates_on_new_failures_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("r.json");
    let failing = dir.path().join("failing.yaml");
    std::fs::write(&failing, FAILING).expect("write");
    let output = gateproof(&["run", path_str(&failing), "--postgres", "local", "--json", path_str(&report)]);
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let merged = dir.path().join("m.json");
    let args = ["merge", path_str(&report), "--baseline", path_str(&report), "--json", path_str(&merged)];
    let merge = gateproof(&args);
    assert_eq!(merge.status.code(), Some(0), "a known failure: {}", explain(&merge));
    assert!(stdout(&merge).contains(" 0 new failures, 0 fixed, 1 failure it already had"), "{}", explain(&merge));
    let merged = read_json(&merged);
    assert_eq!(merged["baseline"]["known_failures"][0]["id"], json!("health-expects-a-teapot"));
    // Without the baseline the failure fails the merge, as it failed the run.
    assert_eq!(gateproof(&["merge", path_str(&report)]).status.code(), Some(1));
}

#[test]
fn bad_partitions_are_bad_invocations_that_say_why() {
    let cases = [
        ("count:0/3", "the shard K in `count:0/3` must be a whole number from 1 to N"),
        ("count:4/3", "the shard K in `count:4/3` must be a whole number from 1 to N"),
        ("foo:1/2", "expected `count:K/N` or `hash:K/N` (shard K of N, counting from 1), got `foo:1/2`"),
        ("hash:1/0", "the number of shards N in `hash:1/0` must be a whole number above 0"),
    ];
    for (value, message) in cases {
        for command in ["run", "list"] {
            let output = gateproof(&[command, "scenarios", "--partition", value]);
            assert_eq!(output.status.code(), Some(2), "{command} {value}: {}", explain(&output));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(message), "{command} {value}: {stderr}");
        }
    }
}

#[test]
fn list_shows_what_a_shard_runs() {
    let ids = |partition: Option<&str>| -> Vec<String> {
        let mut args = vec!["list", "scenarios"];
        args.extend(partition.map(|p| ["--partition", p]).into_iter().flatten());
        let output = gateproof(&args);
        assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
        stdout(&output).lines().map(|l| l.split_whitespace().next().unwrap_or_default().to_string()).collect()
    };
    let all = ids(None);
    let shards: Vec<Vec<String>> = (1..=4).map(|k| ids(Some(&format!("hash:{k}/4")))).collect();
    assert!(shards.iter().all(|s| !s.is_empty() && s.len() < all.len()), "{shards:?}");
    let mut joined = shards.concat();
    joined.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(joined, expected);
}

/// A proxy by URL that answers its health and version questions and `GET /health` with 200.
async fn healthy_proxy() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "healthy"})))
        .mount(&server)
        .await;
    server
}

const HEALTH: &str = r#"id: ID
title: The health endpoint answers
steps:
  - id: health
    request:
      method: GET
      path: /health
    expect:
      status: 200
"#;

/// A shard that got none of a non-empty selection ran its share: exit 0 and an empty report, not
/// "nothing ran"; the merge of it with the other shard is the whole run.
#[tokio::test]
async fn a_shard_with_no_scenarios_passes_and_merges() {
    let server = healthy_proxy().await;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("one.yaml"), HEALTH.replace("ID", "only-one")).expect("write");
    let corpus = dir.path().to_path_buf();
    let shard = |k: u32| {
        let file = dir.path().join(format!("shard-{k}.json"));
        let partition = format!("count:{k}/2");
        let args =
            ["run", path_str(&corpus), "--target", &server.uri(), "--master-key", "sk-m", "--partition", &partition];
        let output = gateproof(&[&args[..], &["--json", path_str(&file)]].concat());
        (output, file)
    };
    let (first, first_file) = shard(1);
    let (second, second_file) = shard(2);
    assert_eq!(first.status.code(), Some(0), "{}", explain(&first));
    assert_eq!(second.status.code(), Some(0), "an empty shard passes: {}", explain(&second));
    assert!(stdout(&second).starts_with("partition count:2/2: 0 of the 1 selected scenario\n"), "{}", explain(&second));
    assert_eq!(read_json(&second_file)["scenarios"], json!([]));

    let merged = dir.path().join("m.json");
    let merge = gateproof(&["merge", path_str(&first_file), path_str(&second_file), "--json", path_str(&merged)]);
    assert_eq!(merge.status.code(), Some(0), "{}", explain(&merge));
    assert_eq!(ids(&read_json(&merged)), ["only-one"]);

    // The merge's exit code is a run's: a leftover fails it, one the target did not answer about is
    // infrastructure trouble.
    for (unreachable, exit) in [(false, 1), (true, 3)] {
        let mut report = read_json(&first_file);
        report["leftovers"] = json!([{"scenario": "only-one", "object": "team t-1", "reason": "still exists",
                                      "unreachable": unreachable}]);
        let edited = dir.path().join("edited.json");
        std::fs::write(&edited, report.to_string()).expect("write");
        let merge = gateproof(&["merge", path_str(&edited), path_str(&second_file)]);
        assert_eq!(merge.status.code(), Some(exit), "unreachable {unreachable}: {}", explain(&merge));
        assert!(stdout(&merge).contains("LEFTOVER 1 objects the run created are still on the target:"));
    }
    let mut report = read_json(&first_file);
    report["scenarios"][0]["status"] = json!("errored");
    report["scenarios"][0]["reproduction"] = json!({"quirk": "from_a_newer_gateproof", "fails_at": "health",
        "result": "not_run", "reason": "x", "step": null, "observed": []});
    let edited = dir.path().join("newer.json");
    std::fs::write(&edited, report.to_string()).expect("write");
    let merge = gateproof(&["merge", path_str(&edited), path_str(&second_file)]);
    assert_eq!(merge.status.code(), Some(2), "{}", explain(&merge));
    assert!(stderr_words(&merge).contains("newer.json does not read back"), "{}", explain(&merge));
    assert!(stderr_words(&merge).contains("names the quirk `from_a_newer_gateproof`"), "{}", explain(&merge));
    report["scenarios"][0]["reproduction"] = Value::Null;
    std::fs::write(&edited, report.to_string()).expect("write");
    let merge = gateproof(&["merge", path_str(&edited), path_str(&second_file)]);
    assert_eq!(merge.status.code(), Some(3), "an errored scenario: {}", explain(&merge));

    // Shard 2 alone is not the whole run: its other half is missing.
    let alone = gateproof(&["merge", path_str(&second_file)]);
    assert_eq!(alone.status.code(), Some(2), "{}", explain(&alone));
    assert!(stderr_words(&alone).contains("shards missing: count:1/2 (of 2)"), "{}", explain(&alone));

    // The same shard twice: one scenario in two reports, named by file.
    let twice = gateproof(&["merge", path_str(&first_file), path_str(&first_file)]);
    assert_eq!(twice.status.code(), Some(2), "{}", explain(&twice));
    let stderr = stderr_words(&twice);
    assert!(stderr.contains("shard-1.json: shard count:1/2 is also"), "{stderr}");
}

#[test]
fn merge_refuses_what_it_cannot_read_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_json = dir.path().join("notes.json");
    std::fs::write(&not_json, "not a report").expect("write");
    let output = gateproof(&["merge", path_str(&not_json)]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let stderr = stderr_words(&output);
    assert!(stderr.contains("as a gateproof JSON report"), "{stderr}");
    assert!(stderr.contains("notes.json"), "{stderr}");

    let missing = gateproof(&["merge", "/nonexistent/shard.json"]);
    assert_eq!(missing.status.code(), Some(2), "{}", explain(&missing));
    let no_reports = gateproof(&["merge"]);
    assert_eq!(no_reports.status.code(), Some(2), "{}", explain(&no_reports));
}
