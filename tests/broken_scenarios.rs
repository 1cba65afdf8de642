//! Golden tests of the messages for broken scenario files: each file in `fixtures/broken/` is
//! loaded, and its error rendered both as miette's report (no colours, unicode theme, width 100)
//! and as the one-line `Display`, is compared with an accepted insta snapshot.

use std::path::Path;

use gateproof::scenario::{ScenarioError, load_all, load_file};
use miette::{GraphicalReportHandler, GraphicalTheme};

/// The error as a person sees it: the one-line form for logs, then the graphical report.
fn render(error: &ScenarioError) -> String {
    let mut report = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false)
        .without_syntax_highlighting()
        .render_report(&mut report, error)
        .expect("rendering into a String cannot fail");
    format!("{error}\n\n{report}")
}

fn broken(name: &str) -> String {
    // Relative, so the snapshots name the file as a user in the crate root would.
    let path = format!("fixtures/broken/{name}.yaml");
    match load_file(Path::new(&path)) {
        Ok(_) => panic!("{path} loaded, but it is meant to be broken"),
        Err(error) => {
            let one_line = error.to_string();
            assert!(one_line.starts_with(&format!("{path}:")), "{one_line}");
            assert!(error.line().is_some() && error.column().is_some(), "{one_line} has no position");
            render(&error)
        }
    }
}

macro_rules! broken_fixtures {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                insta::assert_snapshot!($file, broken($file));
            }
        )*

        /// A fixture added to the directory but not to this list would silently go untested.
        #[test]
        fn every_broken_fixture_has_a_test() {
            let listed = [$($file),*];
            let mut on_disk: Vec<String> = std::fs::read_dir("fixtures/broken")
                .expect("fixtures/broken exists")
                .map(|entry| entry.expect("a directory entry").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
                .filter_map(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect();
            on_disk.sort();
            assert_eq!(on_disk, listed, "fixtures/broken and the list in this file differ");
        }
    };
}

broken_fixtures! {
    absent_false => "absent-false",
    any_of_one_alternative => "any-of-one-alternative",
    any_of_with_other_keys => "any-of-with-other-keys",
    bad_duration => "bad-duration",
    bad_header_name => "bad-header-name",
    bad_header_value => "bad-header-value",
    bad_jsonpath => "bad-jsonpath",
    bad_regex => "bad-regex",
    bad_scenario_id => "bad-scenario-id",
    bad_template => "bad-template",
    duplicate_step_id => "duplicate-step-id",
    empty_error_assertion => "empty-error-assertion",
    expect_without_request => "expect-without-request",
    json_and_body => "json-and-body",
    long_line => "long-line",
    matrix_duplicate_row => "matrix-duplicate-row",
    matrix_missing_cell => "matrix-missing-cell",
    matrix_status_not_a_number => "matrix-status-not-a-number",
    matrix_status_out_of_range => "matrix-status-out-of-range",
    matrix_unknown_actor => "matrix-unknown-actor",
    matrix_unknown_field => "matrix-unknown-field",
    matrix_unknown_variable => "matrix-unknown-variable",
    missing_steps => "missing-steps",
    not_utf8 => "not-utf8",
    relative_path => "relative-path",
    retry_interval_not_below_timeout => "retry-interval-not-below-timeout",
    status_class_unknown => "status-class-unknown",
    status_not_a_number => "status-not-a-number",
    status_out_of_range => "status-out-of-range",
    two_predicates => "two-predicates",
    unknown_capability => "unknown-capability",
    unknown_fails_at_step => "unknown-fails-at-step",
    unknown_field => "unknown-field",
    unknown_method => "unknown-method",
    unknown_quirk => "unknown-quirk",
    unknown_reference_setting => "unknown-reference-setting",
    unknown_variable => "unknown-variable",
    yaml_syntax => "yaml-syntax",
    yaml_tag_binary => "yaml-tag-binary",
    yaml_tag_custom => "yaml-tag-custom",
}

/// Two files with one scenario id: the first loads, the second is broken at its `id`, and the error
/// names both files.
#[test]
fn duplicate_scenario_id() {
    let loaded = load_all(&["fixtures/duplicate-id".into()]).expect("the folder is readable");
    let ids: Vec<_> = loaded.scenarios.iter().map(|s| (s.id.as_str(), s.source.display().to_string())).collect();
    assert_eq!(ids, [("health-answers", "fixtures/duplicate-id/a-first.yaml".to_string())]);
    let [error] = loaded.broken.as_slice() else { panic!("one broken file: {:?}", loaded.broken) };
    assert_eq!((error.line(), error.column()), (Some(2), Some(5)), "{error}");
    insta::assert_snapshot!("duplicate-scenario-id", render(error));
}
