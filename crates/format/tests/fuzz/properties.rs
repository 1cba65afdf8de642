//! The loader's fuzz properties, shared by the bounded run in `cargo test` (`tests/fuzz_loader.rs`)
//! and the long run (`examples/fuzz_loader.rs`).
//!
//! Inputs: arbitrary bytes, and the repository's scenario files (corpus and fixtures) mutated by
//! byte flips, deletions, duplications and insertions of hostile pieces (tags, anchors, bad UTF-8,
//! control characters, 70,000-character runs). Properties: loading never panics; every error of a
//! file with text has a line and column inside that text; its one-line form and its rendered report
//! never panic and stay bounded.

use std::path::{Path, PathBuf};

use gateproof_format::{ScenarioError, ScenarioErrorKind, parse_bytes};
use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Most bytes a rendered report may have, whatever the input.
pub const MAX_REPORT: usize = 16_000;

/// Pieces a mutation inserts: each once broke or could break the loader or its errors.
const HOSTILE: &[&[u8]] = &[
    b"!!binary aGVsbG8=",
    b"!custom ",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"\xff\xfe",
    b"\xe9",
    b"\r\n",
    b"\t",
    b"\0",
    b"\"\\r\\n\"",
    b"{{",
    b"}}",
    b"{{run_id}}",
    b": ",
    b"\n- ",
    b"[",
    b"{",
    b"#",
    b"---\n",
    b"...\n",
    b"\xef\xbb\xbf",
    b"\xf0\x9f\x98\x80",
    b"headers: {\"x y\": \"a\\nb\"}",
];

/// The scenario files of the repository, the seeds of the mutations.
pub fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["scenarios/conformance", "scenarios/regressions", "fixtures/valid", "fixtures/broken"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        files.extend(paths.into_iter().filter_map(|p| std::fs::read(p).ok()));
    }
    assert!(files.len() > 20, "expected the corpus and fixtures, found {} files", files.len());
    files
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        at: usize,
        byte: u8,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Duplicate {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        piece: usize,
    },
    /// A run of one character long enough to break fixed-width formatting (65,536 and more).
    LongRun {
        at: usize,
        len: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 1..256usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), 0..HOSTILE.len()).prop_map(|(at, piece)| Mutation::Insert { at, piece }),
        (any::<usize>(), prop_oneof![Just(1_000usize), Just(70_000usize)])
            .prop_map(|(at, len)| Mutation::LongRun { at, len }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let place = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
        match *m {
            Mutation::Flip { at, byte } if !bytes.is_empty() => {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
            Mutation::Flip { .. } => {}
            Mutation::Delete { at, len } => {
                let start = place(at, bytes.len());
                let end = (start + len).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Duplicate { at, len } => {
                let start = place(at, bytes.len());
                let end = (start + len).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Mutation::Insert { at, piece } => {
                let i = place(at, bytes.len());
                bytes.splice(i..i, HOSTILE[piece].iter().copied());
            }
            Mutation::LongRun { at, len } => {
                let i = place(at, bytes.len());
                bytes.splice(i..i, std::iter::repeat_n(b'k', len));
            }
        }
    }
    bytes
}

/// Inputs: a seed file mutated 1 to 8 times, or (one case in four) arbitrary bytes.
pub fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds.len();
    prop_oneof![
        3 => (0..count, prop::collection::vec(mutation(), 1..8))
            .prop_map(move |(seed, mutations)| apply(seeds[seed].clone(), &mutations)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// The error as the command line shows it.
pub fn render(error: &ScenarioError) -> String {
    let mut report = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut report, error)
        .map(|()| report)
        .unwrap_or_else(|e| format!("rendering failed: {e}"))
}

/// The properties, for one input.
pub fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = Path::new("fuzz/case.yaml");
    let Err(error) = parse_bytes(bytes, path) else { return Ok(()) };
    let one_line = error.to_string();
    prop_assert!(one_line.len() <= 8_000, "a one-line error of {} bytes", one_line.len());
    let report = render(&error);
    prop_assert!(!report.starts_with("rendering failed"), "{report}");
    prop_assert!(report.len() <= MAX_REPORT, "a report of {} bytes:\n{}", report.len(), cut(&report));
    if matches!(error.kind(), ScenarioErrorKind::Io { .. }) {
        return Ok(());
    }
    let (Some(line), Some(column)) = (error.line(), error.column()) else {
        return Err(TestCaseError::fail(format!("no position: {}", cut(&one_line))));
    };
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!(line >= 1 && line <= lines.len(), "line {line} of {}: {}", lines.len(), cut(&one_line));
    let width = lines[line - 1].chars().count();
    prop_assert!(column >= 1 && column <= width + 1, "column {column} of {width}: {}", cut(&one_line));
    Ok(())
}

fn cut(text: &str) -> String {
    text.chars().take(600).collect()
}

/// Runs the properties over `cases` generated inputs (each from a deterministic seed, so a failure
/// repeats); returns the shrunk failing input, if any.
pub fn run(cases: u32) -> Result<(), String> {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(
        config,
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    runner.run(&input(seeds()), |bytes| check(&bytes)).map_err(|e| e.to_string())
}
