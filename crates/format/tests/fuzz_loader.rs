//! The loader's fuzz harness, bounded: `GATEPROOF_FUZZ_CASES` inputs (default 256) through the
//! properties of `fuzz/properties.rs`, and each input that once broke the loader or its errors. The
//! long run is `cargo run --release -p gateproof-format --example fuzz_loader -- CASES`.

#[path = "fuzz/properties.rs"]
mod properties;

use std::path::Path;

use gateproof_format::{discover, load_all, parse_bytes};
use rstest::rstest;

#[test]
fn generated_inputs_keep_the_properties() {
    let cases = std::env::var("GATEPROOF_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    if let Err(failure) = properties::run(cases) {
        panic!("{failure}");
    }
}

fn file(lines: &str) -> Vec<u8> {
    format!("id: s\ntitle: T\nsteps:\n{lines}").into_bytes()
}

/// Every input of issue 16 that broke the loader, or that it accepted and should not have.
#[rstest]
#[case::a_70_000_character_title(
    format!("id: s\ntitle: {}\nsteps:\n  - {{id: a, sleep: 1s}}\n", "t".repeat(70_000)).into(),
    true
)]
#[case::a_70_000_character_tag(
    format!("id: s\ntitle: T\ntags: [{}]\nsteps:\n  - {{id: a, sleep: 1s}}\n", "t".repeat(70_000)).into(),
    true
)]
#[case::latin_1_text(b"id: s\ntitle: caf\xe9\nsteps:\n  - {id: a, sleep: 1s}\n".to_vec(), false)]
#[case::a_10_mb_single_line_key(file(&format!("  - id: a\n    {}: 1\n", "k".repeat(10_000_000))), false)]
#[case::a_binary_tag(file("  - {id: a, request: {method: GET, path: !!binary L2g=}}\n"), false)]
#[case::a_custom_tag(file("  - {id: a, request: {method: GET, path: !custom /h}}\n"), false)]
#[case::a_header_name_with_a_space(
    file("  - {id: a, request: {method: GET, path: /h, headers: {\"a b\": c}}}\n"),
    false
)]
#[case::a_header_value_with_cr_lf(
    file("  - {id: a, request: {method: GET, path: /h, headers: {a: \"b\\r\\nc: d\"}}}\n"),
    false
)]
fn the_inputs_that_once_broke_the_loader_keep_the_properties(#[case] bytes: Vec<u8>, #[case] loads: bool) {
    if let Err(failure) = properties::check(&bytes) {
        panic!("{failure}");
    }
    assert_eq!(parse_bytes(&bytes, Path::new("case.yaml")).is_ok(), loads);
}

/// The folder-level inputs: a dangling symlink among good files, the same id twice, an empty folder.
#[test]
fn the_folders_that_once_broke_the_loader_load_what_they_can() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let good = file("  - {id: a, sleep: 1s}\n");
    std::fs::write(dir.path().join("a.yaml"), &good).expect("write");
    std::fs::write(dir.path().join("b.yaml"), &good).expect("write");
    std::os::unix::fs::symlink("user@host.1:2", dir.path().join(".#a.yaml")).expect("symlink");
    let loaded = load_all(&[dir.path().to_path_buf()]).expect("a readable folder");
    assert_eq!(loaded.scenarios.len(), 1);
    assert_eq!(loaded.broken.len(), 2, "the dangling link and the second `s`: {:?}", loaded.broken);
    for error in &loaded.broken {
        let report = properties::render(error);
        assert!(report.len() <= properties::MAX_REPORT, "{report}");
    }
    let empty = tempfile::tempdir().expect("a temp dir");
    assert!(discover(&[empty.path().to_path_buf()]).expect("readable").files.is_empty());
}
