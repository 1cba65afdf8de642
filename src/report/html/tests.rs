use super::*;
use crate::report::baseline::{Change, Comparison};
use crate::report::redact::Redactor;
use crate::report::{RunInfo, fixtures};
use crate::runner::{Cleanup, Created, ReceivedResponse, Resource, ResourceKind, ScenarioOutcome, StepStatus};

fn page_of(outcomes: &[ScenarioOutcome], run: &RunInfo) -> String {
    render(&JsonReport::new(outcomes, run))
}

/// Where `needle` first appears in `page`, failing the test when it does not.
fn at(page: &str, needle: &str) -> usize {
    page.find(needle).unwrap_or_else(|| panic!("`{needle}` is not on the page:\n{page}"))
}

/// The fixtures' failed scenario with `body` as its failing step's response.
fn failing_with_body(body: &str) -> Vec<ScenarioOutcome> {
    let mut outcomes = fixtures::outcomes();
    let step = &mut outcomes[1].steps[1];
    step.response = Some(ReceivedResponse { status: 403, headers: vec![], body: body.into(), json: None });
    outcomes
}

#[test]
fn what_the_target_sent_is_text_not_markup() {
    let hostile = "<script>document.title='owned'</script><img src=x onerror=alert(1)> & \"quoted\" 'single'";
    let mut outcomes = failing_with_body(hostile);
    outcomes[1].title = "<b>title</b>".into();
    outcomes[1].steps[1].assertions[0].actual = "</td></table><script>x()</script>".into();
    let page = page_of(&outcomes, &fixtures::run_info());
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<b>title</b>"), "{page}");
    assert!(page.contains("&lt;script&gt;document.title=&#39;owned&#39;&lt;/script&gt;"), "{page}");
    assert!(page.contains("&amp; &quot;quoted&quot;"), "{page}");
    assert!(page.contains("&lt;/td&gt;&lt;/table&gt;&lt;script&gt;x()&lt;/script&gt;"), "{page}");
}

/// Nothing is fetched from anywhere: no links out, no sources, and a policy that forbids scripts.
#[test]
fn the_page_is_self_contained_and_forbids_scripts() {
    let page = page_of(&fixtures::outcomes(), &fixtures::run_info_with_broken_files());
    assert!(page.contains(&format!("content=\"{CONTENT_SECURITY_POLICY}\"")), "{page}");
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
    for forbidden in ["src=", "url(", "@import", "<link", "<script"] {
        assert!(!page.contains(forbidden), "`{forbidden}` on the page:\n{page}");
    }
    for (i, _) in page.match_indices("href=\"") {
        assert!(page[i + 6..].starts_with('#'), "a link out: {}", &page[i..i + 40]);
    }
}

/// Failed and errored scenarios come first and open, with the first failing step linked from the top;
/// the passed and skipped ones follow, collapsed.
#[test]
fn failures_come_first_and_open_passes_after_and_collapsed() {
    let page = page_of(&fixtures::outcomes(), &fixtures::run_info());
    let failed = at(&page, "data-id=\"org-admin-updates-team\"");
    let errored = at(&page, "data-id=\"unreachable\"");
    let passed = at(&page, "data-id=\"team-create\"");
    let skipped = at(&page, "data-id=\"cache-ttl\"");
    assert!(failed < errored && errored < passed && passed < skipped, "{page}");
    let tag_of = |pos: usize| &page[page[..pos].rfind('<').expect("a tag")..pos + page[pos..].find('>').expect("end")];
    assert!(tag_of(failed).ends_with(" open"), "{}", tag_of(failed));
    assert!(tag_of(errored).ends_with(" open"), "{}", tag_of(errored));
    assert!(!tag_of(passed).contains(" open"), "{}", tag_of(passed));
    assert!(!tag_of(skipped).contains(" open"), "{}", tag_of(skipped));
    // The failing step is `update`, the second of the file's first failing scenario (index 1).
    assert!(page.contains("First failure: <a href=\"#scenario-1-step-1\">org-admin-updates-team · step"), "{page}");
    let step = at(&page, "id=\"scenario-1-step-1\"");
    assert!(failed < step && step < errored, "{page}");
    // Its row: the request, the credentials, the status, expected against actual, the body.
    let row = &page[step..errored];
    for needle in [
        "POST",
        "http://127.0.0.1:40001/team/update",
        "as key sk-…9f2a",
        "→ 403",
        "2 of 3 assertions failed",
        "<code>body $.team_alias equals</code> <span class=\"file\">:24:11</span>",
        "<pre>&quot;renamed-rabc123xyz&quot;</pre></td><td><pre>no node matches</pre>",
        "Authentication Error, You do not have access to this team",
        "scenarios/org/admin.yaml:18:5",
    ] {
        assert!(row.contains(needle), "`{needle}` not in the failing step's row:\n{row}");
    }
    // A passing step is one line, its detail opening from it.
    assert!(
        page.contains(
            "<details class=\"more\"><summary class=\"step-head\"><span class=\"badge passed\">passed</span>\
             <code>create</code><span class=\"file\">line 6</span><span class=\"method mono\">POST</span>"
        ),
        "{page}"
    );
    assert!(
        row.contains("<div class=\"step-head\"><span class=\"badge failed\">failed</span><code>update</code>"),
        "{row}"
    );
    // The skip reason and the error are shown.
    assert!(page.contains("needs reference-only settings"), "{page}");
    assert!(page.contains("step `health`: failed to send GET http://127.0.0.1:9/health: connection refused"));
    assert!(page.contains("<h1>gateproof run: FAILED</h1>"), "{page}");
}

#[test]
fn a_passing_run_says_so() {
    let outcomes = vec![fixtures::outcomes().remove(0)];
    let page = page_of(&outcomes, &fixtures::run_info());
    assert!(page.contains("<h1>gateproof run: passed</h1>"), "{page}");
    assert!(!page.contains("First failure"), "{page}");
    assert!(!page.contains("id=\"problems\""), "{page}");
    for needle in ["target <b class=\"mono\">reference</b>", "version <b>gateproof reference 0.1.0</b>", "took 2.9 s"] {
        assert!(page.contains(needle), "`{needle}`:\n{page}");
    }
}

#[test]
fn broken_files_are_at_the_top_with_their_place() {
    let page = page_of(&fixtures::outcomes(), &fixtures::run_info_with_broken_files());
    let broken = at(&page, "id=\"broken-files\"");
    assert!(broken < at(&page, "id=\"problems\""), "{page}");
    assert!(
        page.contains(
            "<li><code>scenarios/broken.yaml:6:5</code>: unknown field `colour`, expected one of id, sleep</li>"
        ),
        "{page}"
    );
    assert!(page.contains("<code>scenarios/.#lock.yaml</code>: dangling symlink"), "{page}");
    assert!(page.contains("2 broken files"), "{page}");
}

fn change(id: &str, before: &'static str) -> Change {
    Change { id: id.into(), file: format!("scenarios/{id}.yaml"), before }
}

/// With a baseline its changes stand above everything else, and new failures come before the known
/// ones; a run with only known failures passed.
#[test]
fn the_baseline_changes_stand_at_the_top() {
    let mut outcomes = fixtures::outcomes();
    // A second failure, which the baseline already had.
    let mut known = outcomes[1].clone();
    known.id = "already-broken".into();
    outcomes.insert(0, known);
    let run = RunInfo {
        baseline: Some(Comparison {
            file: "before.json".into(),
            baseline_version: Some("1.83.14".into()),
            new_failures: vec![change("org-admin-updates-team", "passed")],
            fixed: vec![change("team-create", "failed")],
            known_failures: vec![change("already-broken", "failed")],
        }),
        ..fixtures::run_info()
    };
    let page = page_of(&outcomes, &run);
    let baseline = at(&page, "id=\"baseline\"");
    assert!(baseline < at(&page, "id=\"problems\""), "{page}");
    assert!(
        page.contains(
            "Since the baseline <code>before.json</code> (1.83.14): 1 new failure, 1 fixed, 1 known failure</h2>"
        ),
        "{page}"
    );
    let new =
        at(&page, "<li><span class=\"new\">new failure</span> <a href=\"#scenario-2\">org-admin-updates-team</a>");
    let fixed = at(&page, "<li><span class=\"fixed\">fixed</span> <a href=\"#scenario-1\">team-create</a>");
    let known = at(&page, "<li><span class=\"known\">known failure</span> <a href=\"#scenario-0\">already-broken</a>");
    assert!(new < fixed && fixed < known, "{page}");
    assert!(page.contains("passed in the baseline"), "{page}");
    // The new failure is shown before the known one, though the known one comes first in the files.
    let new_scenario = at(&page, "data-id=\"org-admin-updates-team\"");
    let known_scenario = at(&page, "data-id=\"already-broken\"");
    assert!(new_scenario < known_scenario, "{page}");
    assert!(page.contains("First failure: <a href=\"#scenario-2-step-1\">"), "{page}");
    // Still failed: the errored scenario is not excused by the baseline.
    assert!(page.contains("gateproof run: FAILED"), "{page}");

    let only_known = vec![outcomes[0].clone()];
    let run = RunInfo {
        baseline: Some(Comparison {
            file: "before.json".into(),
            baseline_version: None,
            new_failures: vec![],
            fixed: vec![],
            known_failures: vec![change("already-broken", "failed")],
        }),
        ..fixtures::run_info()
    };
    let page = page_of(&only_known, &run);
    assert!(page.contains("gateproof run: passed"), "{page}");
    assert!(page.contains("<span class=\"known\">known failure</span>"), "{page}");
}

/// The page shows what the JSON report shows, so it is masked as the JSON is: a key the scenario
/// created appears nowhere, in any shape, unless masking is off.
#[test]
fn a_created_key_is_masked_on_the_page() {
    let key = "custom-key-value-9042";
    let mut outcomes = failing_with_body(&format!("{{\"key\": \"{key}\", \"other\": \"sk-abcdefghijklmnop7777\"}}"));
    outcomes[1].created.push(Created {
        resource: Resource { kind: ResourceKind::Key, id: key.into() },
        step: "update".into(),
        cleanup: Cleanup::Failed(format!("delete {key} answered 500")),
        deleted_at: None,
    });
    outcomes[1].steps[1].assertions[0].actual = key.into();
    let redactor = Redactor::new("sk-master-secret");
    let masked: Vec<ScenarioOutcome> = outcomes.iter().map(|o| redactor.outcome(o)).collect();
    let page = page_of(&masked, &fixtures::run_info());
    assert!(!page.contains(key), "{page}");
    assert!(!page.contains("sk-abcdefghijklmnop7777"), "{page}");
    assert!(page.contains("cus…9042"), "{page}");
    assert!(page.contains("sk-…7777"), "{page}");

    let shown: Vec<ScenarioOutcome> = outcomes.iter().map(|o| Redactor::off().outcome(o)).collect();
    let page = page_of(&shown, &fixtures::run_info());
    assert!(page.contains(key), "{page}");
}

#[test]
fn a_long_body_is_cut_with_the_whole_text_behind_a_click() {
    let body: String = (0..200).map(|i| format!("line {i} of the body\n")).collect();
    let page = page_of(&failing_with_body(&body), &fixtures::run_info());
    let preview = &page[at(&page, "<pre class=\"body\">line 0 of")..];
    let preview = &preview[..at(preview, "</pre>")];
    assert!(preview.contains(&format!("line {} of", BODY_PREVIEW_LINES - 1)), "{preview}");
    assert!(!preview.contains(&format!("line {} of", BODY_PREVIEW_LINES)), "{preview}");
    assert!(page.contains(&format!("Whole response body ({} bytes)", body.len())), "{page}");
    assert!(page.contains("line 199 of the body"), "{page}");

    // One very long line is cut by bytes, at a character boundary.
    let body = "é".repeat(5000);
    let page = page_of(&failing_with_body(&body), &fixtures::run_info());
    assert!(page.contains(&format!("<pre class=\"body\">{}\n…</pre>", "é".repeat(BODY_PREVIEW_BYTES / 2))), "{page}");

    // A short one is shown whole, once.
    let page = page_of(&failing_with_body("short body"), &fixtures::run_info());
    assert_eq!(page.matches("short body").count(), 1, "{page}");
    assert!(!page.contains("Whole response body"), "{page}");
}

/// A scenario whose steps went to several replicas names the replica on each step: by its place among
/// the targets when the target lists them.
#[test]
fn steps_on_different_replicas_name_the_replica() {
    let mut outcomes = fixtures::outcomes();
    let scenario = &mut outcomes[1];
    scenario.steps[0].request = scenario.steps[1].request.clone();
    if let Some(r) = scenario.steps[0].request.as_mut() {
        r.url = "http://127.0.0.1:4014/team/new".into();
    }
    if let Some(r) = scenario.steps[1].request.as_mut() {
        r.url = "http://127.0.0.1:4015/team/update".into();
    }
    let run = RunInfo { target: "http://127.0.0.1:4014, http://127.0.0.1:4015".into(), ..fixtures::run_info() };
    let page = page_of(&outcomes, &run);
    assert!(page.contains("<span class=\"replica mono\">replica 0 · http://127.0.0.1:4014</span>"), "{page}");
    assert!(page.contains("<span class=\"replica mono\">replica 1 · http://127.0.0.1:4015</span>"), "{page}");

    // On one proxy only, no replica is named.
    let page = page_of(&fixtures::outcomes(), &fixtures::run_info());
    assert!(!page.contains("class=\"replica"), "{page}");
}

#[test]
fn reproductions_show_the_quirk_run() {
    let page = page_of(&fixtures::reproduction_outcomes(), &fixtures::run_info());
    assert!(page.contains("With quirk <code>stale_team_cache</code> on"), "{page}");
    assert!(page.contains("<span class=\"badge passed\">reproduced</span>"), "{page}");
    assert!(
        page.contains(
            "<span class=\"badge failed\">NOT reproduced</span> with `org_admin_gate_needs_org_id_in_body` on"
        )
    );
    assert!(page.contains("Team allows: [&#39;G1&#39;]"), "{page}");
    assert!(page.contains("1 reproduced"), "{page}");
}

#[test]
fn a_step_that_never_ran_says_so() {
    let mut outcomes = fixtures::outcomes();
    outcomes[1].steps[2].status = StepStatus::NotRun;
    let page = page_of(&outcomes, &fixtures::run_info());
    assert!(page.contains("<span class=\"badge not_run\">not run</span><code>check</code>"), "{page}");
}

#[test]
fn a_skip_reason_is_on_the_collapsed_line() {
    let page = page_of(&fixtures::outcomes(), &fixtures::run_info());
    let skipped = &page[at(&page, "data-id=\"cache-ttl\"")..];
    let summary = &skipped[..at(skipped, "</summary>")];
    assert!(
        summary.contains("skipped: needs reference-only settings: DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL=0"),
        "{summary}"
    );
}

/// What a run left behind fails it, and is listed at the top with the scenario that made it.
#[test]
fn leftovers_are_at_the_top() {
    let outcomes = vec![fixtures::outcomes().remove(0)];
    let leftover = crate::runner::Leftover {
        scenario: "team-create".into(),
        label: "team t-1".into(),
        reason: "still exists; the delete answered <500>".into(),
        unreachable: false,
    };
    let run = RunInfo { leftovers: Some(vec![leftover]), ..fixtures::run_info() };
    let page = page_of(&outcomes, &run);
    assert!(page.contains("gateproof run: FAILED"), "{page}");
    let listed = at(
        &page,
        "<li><code>team t-1</code> (created by team-create): still exists; the delete answered &lt;500&gt;</li>",
    );
    assert!(listed < at(&page, "id=\"others\""), "{page}");

    // A check that found nothing is no section.
    let page = page_of(&outcomes, &RunInfo { leftovers: Some(vec![]), ..fixtures::run_info() });
    assert!(!page.contains("id=\"leftovers\""), "{page}");
    assert!(page.contains("gateproof run: passed"), "{page}");
}
