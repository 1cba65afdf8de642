//! Finding scenario files and loading them as one set: sorting, broken entries, ids seen twice,
//! and the repository's own scenarios and fixtures.

use std::path::Path;

use crate::load::{ScenarioError, discover, load_all, load_file};

#[test]
fn every_scenario_in_the_repository_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let loaded = load_all(&[dir]).expect("scenarios/ exists");
    assert!(
        loaded.scenarios.iter().any(|s| s.source.to_string_lossy().contains("regressions")),
        "expected regression scenarios, found {:?}",
        loaded.scenarios.iter().map(|s| &s.source).collect::<Vec<_>>()
    );
    assert!(!loaded.fragments.is_empty(), "expected the corpus's fragments");
    let failures: Vec<String> = loaded.broken.iter().map(ScenarioError::to_string).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Some scenarios of the corpus include a fragment.
    assert!(loaded.scenarios.iter().any(|s| s.steps.iter().any(|step| step.origin.is_some())));
}

#[test]
fn the_valid_fixtures_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/valid");
    let files = discover(&[dir]).expect("fixtures/valid exists").files;
    assert!(files.len() >= 2, "expected at least two valid fixtures, found {files:?}");
    for file in files {
        if let Err(e) = load_file(&file) {
            panic!("{e}");
        }
    }
}

#[test]
fn discover_walks_directories_for_yaml_files_sorted() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path();
    for file in ["b.yaml", "a.yml", "notes.txt", "nested/deeper/c.yaml", "nested/d.YAML.bak"] {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
        std::fs::write(&path, "id: x\n").expect("write");
    }
    let explicit = root.join("notes.txt");
    let found = discover(&[root.to_path_buf(), explicit.clone()]).expect("discover").files;
    let expected = vec![root.join("a.yml"), root.join("b.yaml"), root.join("nested/deeper/c.yaml"), explicit];
    assert_eq!(found, expected, "files given explicitly are kept whatever their extension");
}

#[test]
fn discover_names_a_missing_path() {
    let err = discover(&[std::path::PathBuf::from("/nonexistent/gateproof-scenarios")]).expect_err("missing");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/gateproof-scenarios"), "{err}");
}

#[test]
fn broken_directory_entries_are_broken_files_and_the_rest_is_found() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path();
    std::fs::write(root.join("a.yaml"), "id: x\n").expect("write");
    std::os::unix::fs::symlink("user@host.1:2", root.join(".#a.yaml")).expect("symlink");
    std::os::unix::fs::symlink(root.join("gone"), root.join("more-scenarios")).expect("symlink");
    let found = discover(&[root.to_path_buf()]).expect("discover");
    assert_eq!(found.files, [root.join("a.yaml")]);
    assert_eq!(found.skipped, [root.join("more-scenarios")]);
    let [broken] = found.broken.as_slice() else { panic!("{:?}", found.broken) };
    assert_eq!(broken.path(), root.join(".#a.yaml"));
    assert_eq!(
        broken.to_string(),
        format!("{}: dangling symlink to `user@host.1:2`: expected a scenario file", broken.path().display())
    );
}

#[test]
fn a_second_file_with_an_id_already_seen_is_broken_at_its_id() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let text = |title: &str| format!("id: same\ntitle: {title}\nsteps:\n  - {{id: a, sleep: 1s}}\n");
    std::fs::write(dir.path().join("a.yaml"), text("first")).expect("write");
    std::fs::write(dir.path().join("b.yaml"), text("second")).expect("write");
    std::fs::write(dir.path().join("c.yaml"), "id: other\ntitle: T\nsteps:\n  - {id: a, sleep: 1s}\n").expect("write");
    let loaded = load_all(&[dir.path().to_path_buf()]).expect("load");
    let titles: Vec<_> = loaded.scenarios.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["first", "T"]);
    let [error] = loaded.broken.as_slice() else { panic!("{:?}", loaded.broken) };
    let (first, second) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    assert_eq!(
        error.to_string(),
        format!("{}:1:5: duplicate scenario id `same`: the file {} has it too", second.display(), first.display())
    );
}
