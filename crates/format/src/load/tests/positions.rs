//! What a broken file shows: one line naming path, line and column; a labelled diagnostic; and
//! positions that hold with CRLF, multibyte text, a byte order mark, bad UTF-8 and huge lines.

use std::path::Path;

use miette::{Diagnostic, LabeledSpan};
use rstest::rstest;

use super::support::*;
use crate::load::{ScenarioError, ScenarioErrorKind, load_file};

#[test]
fn display_is_one_line_naming_path_line_and_column() {
    let err = parse_err(&with_steps("- id: a\n  request: {method: GET, path: '/t/{{team}}'}"));
    assert_eq!(
        err.to_string(),
        "scenarios/t.yaml:5:36: unknown variable `team`: expected `run_id` or a variable captured by an earlier step"
    );
    assert_eq!((err.path(), err.line(), err.column()), (Path::new(PATH), Some(5), Some(36)));
    assert!(matches!(err.kind(), ScenarioErrorKind::UnknownVariable { name, .. } if name == "team"));
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn diagnostic_labels_the_offending_text() {
    let text = with_steps("- id: a\n  request: {method: GET, path: '/t/{{ team }}'}");
    let err = parse_err(&text);
    let labels: Vec<LabeledSpan> = err.labels().expect("a label").collect();
    assert_eq!(labels.len(), 1);
    let span = labels[0].inner();
    assert_eq!(&text[span.offset()..span.offset() + span.len()], "{{ team }}");
    assert_eq!(labels[0].label(), Some("not captured by an earlier step"));
    assert!(err.source_code().is_some());
    assert!(err.help().is_some());
}

#[test]
fn an_unreadable_file_is_a_scenario_error_without_position() {
    let path = Path::new("/nonexistent/gateproof/missing.yaml");
    let err = load_file(path).expect_err("the file does not exist");
    assert!(matches!(err.kind(), ScenarioErrorKind::Io { error } if error.kind() == std::io::ErrorKind::NotFound));
    assert_eq!((err.line(), err.column()), (None, None));
    assert!(
        err.to_string().starts_with("/nonexistent/gateproof/missing.yaml: failed to read the scenario file: "),
        "{err}"
    );
}

#[test]
fn positions_hold_with_crlf_line_ends_and_multibyte_text() {
    let text = "id: s\r\ntitle: Café ☕ tests\r\nsteps:\r\n  - {id: a, sleep: 1s}\r\n  - {id: ☕, sleep: soon}\r\n";
    let err = parse_err(text);
    assert_eq!((err.line(), err.column()), (Some(5), Some(20)), "{err}");
    assert!(err.to_string().contains("invalid duration `soon`"), "{err}");
    let labels: Vec<LabeledSpan> = err.labels().expect("a label").collect();
    let span = labels[0].inner();
    assert_eq!(&text[span.offset()..span.offset() + span.len()], "soon");
}

#[test]
fn a_byte_order_mark_does_not_break_positions() {
    let text = "\u{feff}id: s\ntitle: T\nsteps:\n  - {id: a, sleep: soon}\n";
    let err = parse_err(text);
    assert_eq!(err.line(), Some(4), "{err}");
    let labels: Vec<LabeledSpan> = err.labels().expect("a label").collect();
    let span = labels[0].inner();
    assert_eq!(&text[span.offset()..span.offset() + span.len()], "soon");
    assert_eq!(err.column(), Some(20));
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"id: s\ntitle: \"\xc3\xa9t\xe9\"\nsteps: []\n").expect("write");
    let error = load_file(&path).expect_err("not UTF-8");
    assert_eq!((error.line(), error.column()), (Some(2), Some(11)), "{error}");
    assert!(error.to_string().ends_with("invalid UTF-8 at byte 17 (0xe9): expected UTF-8 text"), "{error}");
}

/// A 10 MB single-line key once printed 10 MB: the message, label, hint and quoted lines are bounded.
#[rstest]
#[case::a_key(format!("id: s\ntitle: T\nsteps:\n  - id: a\n    {}: 1\n", "k".repeat(10_000_000)))]
#[case::a_method(format!(
    "id: s\ntitle: T\nsteps:\n  - id: a\n    request: {{method: {}, path: /h}}\n",
    "M".repeat(10_000_000)
))]
#[case::an_id(format!("id: {}\ntitle: T\nsteps: []\n", "I".repeat(10_000_000)))]
fn an_error_in_a_huge_line_renders_a_bounded_report(#[case] yaml: String) {
    let error = parse(&yaml).expect_err("broken");
    let report = render_report(&error);
    assert!(error.to_string().len() < 3_000, "{} bytes", error.to_string().len());
    assert!(report.len() < 10_000, "{} bytes: {}", report.len(), &report[..2_000]);
    assert!(report.contains('…'), "{report}");
}

/// The error's graphical report, as the command line prints it (no colours).
fn render_report(error: &ScenarioError) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, error)
        .expect("renders into a String");
    out
}
