//! The command line's own tests: parsing, the exit-code table.

use std::io;
use std::path::PathBuf;

use super::args::{TargetArg, mock_host, target_urls};
use super::list::quirks_table;
use super::*;
use crate::mocks::MockHost;
use crate::postgres::PostgresChoice;
use crate::reference::Quirk;
use crate::runner::TagFilter;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("gateproof").chain(args.iter().copied()))
}

#[test]
fn exit_codes_follow_the_documented_precedence() {
    let verdict = |failed, errored, broken_files| Verdict { failed, errored, broken_files, ..Verdict::default() };
    let cases: Vec<(Result<Verdict, CliError>, u8)> = vec![
        (Ok(verdict(0, 0, 0)), 0),
        (Ok(verdict(2, 0, 0)), 1),
        (Ok(verdict(0, 0, 1)), 2),
        (Ok(verdict(3, 0, 1)), 2),
        (Ok(verdict(0, 1, 0)), 3),
        (Ok(verdict(1, 1, 1)), 3),
        (Ok(Verdict { interrupted: Some(StopSignal::Interrupt), ..verdict(1, 1, 1) }), 130),
        (Ok(Verdict { interrupted: Some(StopSignal::Terminate), ..verdict(1, 1, 1) }), 143),
        (Ok(Verdict { leftovers: 2, ..verdict(0, 0, 0) }), 1),
        (Ok(Verdict { leftovers: 2, ..verdict(0, 0, 1) }), 2),
        (Ok(Verdict { unchecked_leftovers: 1, ..verdict(1, 0, 0) }), 3),
        (Err(CliError::Usage("x".into())), 2),
        (Err(CliError::Discover(io::Error::other("x"))), 2),
        (Err(CliError::Postgres(PostgresError::NoneAvailable)), 3),
        (Err(CliError::Proxy(StartError("x".into()))), 3),
        (Err(CliError::Interrupted(StopSignal::Interrupt)), 130),
        (Err(CliError::Interrupted(StopSignal::Terminate)), 143),
        (parse(&["run", "--bogus"]).map(|_| Verdict::default()).map_err(CliError::from), 2),
        (parse(&["--help"]).map(|_| Verdict::default()).map_err(CliError::from), 0),
    ];
    for (result, code) in cases {
        assert_eq!(exit_code(&result), code, "{result:?}");
    }
}

#[test]
fn run_defaults_to_the_reference_target_and_the_scenarios_directory() {
    let Command::Run(args) = parse(&["run"]).expect("valid").command else { panic!("not run") };
    assert_eq!(args.paths, [PathBuf::from("scenarios")]);
    assert_eq!(args.target, [TargetArg::Reference]);
    assert_eq!(args.postgres.postgres, PostgresChoice::Auto);
    assert_eq!(args.jobs, None);
    assert!(args.quirks.is_empty());
    assert!(!args.reproduce);
}

#[test]
fn quirks_and_reproduce_parse_and_exclude_each_other() {
    let Command::Run(args) =
        parse(&["run", "--quirk", "stale_team_cache", "--quirk", "org_admin_gate_needs_org_id_in_body"])
            .expect("valid")
            .command
    else {
        panic!("not run")
    };
    assert_eq!(args.quirks, [Quirk::StaleTeamCache, Quirk::OrgAdminGateNeedsOrgIdInBody]);
    let Command::Run(args) = parse(&["run", "--reproduce"]).expect("valid").command else { panic!("not run") };
    assert!(args.reproduce);
    let err = parse(&["run", "--reproduce", "--quirk", "stale_team_cache"]).expect_err("conflict");
    assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    let err = parse(&["run", "--quirk", "stale_cache"]).expect_err("unknown");
    assert!(err.to_string().contains("unknown quirk `stale_cache`: expected one of stale_team_cache"), "{err}");
}

#[test]
fn run_arguments_parse_into_their_types() {
    let cli = parse(&[
        "run",
        "a.yaml",
        "dir",
        "--target",
        "http://127.0.0.1:4000/",
        "--master-key",
        "sk-1",
        "--tag",
        "x",
        "--tag",
        "y",
        "--skip-tag",
        "slow",
        "--jobs",
        "3",
        "--postgres",
        "postgres://u@h/db",
    ])
    .expect("valid");
    let Command::Run(args) = cli.command else { panic!("not run") };
    assert_eq!(args.paths, [PathBuf::from("a.yaml"), PathBuf::from("dir")]);
    assert_eq!(args.target, [TargetArg::Url("http://127.0.0.1:4000".into())]);
    assert_eq!(
        args.filter.to_filter(),
        TagFilter { tags: vec!["x".into(), "y".into()], skip_tags: vec!["slow".into()] }
    );
    assert_eq!(args.jobs, Some(3));
    assert_eq!(args.postgres.postgres, PostgresChoice::Url("postgres://u@h/db".into()));
}

#[test]
fn several_targets_are_replicas_and_reference_stays_alone() {
    let cli = parse(&["run", "--target", "http://a:1,http://b:2", "--target", "http://c:3", "--keep"]).expect("valid");
    let Command::Run(args) = cli.command else { panic!("not run") };
    assert!(args.keep);
    let urls = target_urls(&args.target).expect("urls");
    assert_eq!(urls, Some(vec!["http://a:1".to_string(), "http://b:2".into(), "http://c:3".into()]));
    assert_eq!(target_urls(&[TargetArg::Reference]).expect("reference"), None);
    let mixed = target_urls(&[TargetArg::Reference, TargetArg::Url("http://a:1".into())]);
    assert!(matches!(mixed, Err(CliError::Usage(_))));
}

#[test]
fn mock_urls_name_the_bind_address_unless_told_otherwise() {
    let any: std::net::IpAddr = "0.0.0.0".parse().unwrap();
    assert_eq!(mock_host(None, None), MockHost::default());
    assert_eq!(mock_host(Some(any), None).advertise, "127.0.0.1");
    assert_eq!(mock_host(Some(any), Some("host.containers.internal".into())).advertise, "host.containers.internal");
    assert_eq!(mock_host(Some("10.0.0.5".parse().unwrap()), None).advertise, "10.0.0.5");
    assert!(parse(&["run", "--request-timeout", "0s"]).is_err());
    assert!(parse(&["run", "--scenario-timeout", "2m"]).is_ok());
}

#[test]
fn the_quirks_table_has_a_line_per_quirk_with_name_upstream_and_description() {
    let table = quirks_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), Quirk::ALL.len());
    for (line, quirk) in lines.iter().zip(Quirk::ALL) {
        assert!(line.starts_with(quirk.name()), "{line}");
        assert!(line.contains(quirk.upstream()), "{line}");
        assert!(line.ends_with(&quirk.description()), "{line}");
    }
    assert!(parse(&["quirks"]).is_ok());
}

#[test]
fn bad_values_are_rejected_by_the_parser() {
    for args in [
        &["run", "--target", "localhost:4000"][..],
        &["run", "--target", "ftp://x"],
        &["run", "--jobs", "0"],
        &["run", "--postgres", "mysql"],
        &["serve", "--port", "70000"],
        &["frobnicate"],
    ] {
        let err = parse(args).expect_err("rejected");
        assert!(err.use_stderr(), "{args:?}");
    }
}

#[test]
fn the_readme_quotes_the_exit_code_table() {
    let readme = include_str!("../../README.md");
    let table = markdown_table();
    assert!(readme.contains(&table), "README.md must hold this table verbatim:\n{table}");
    let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(codes, [0, 1, 2, 3, 130, 143]);
}

#[test]
fn an_unreadable_baseline_is_a_bad_invocation() {
    let missing = crate::report::baseline::Baseline::read(std::path::Path::new("/nonexistent/before.json"));
    let error = CliError::from(missing.expect_err("no such file"));
    assert_eq!(exit(&Err(error)), Exit::Invocation);
}

#[test]
fn logs_are_coloured_only_on_a_terminal_without_no_color() {
    use std::ffi::OsStr;
    let cases = [
        (true, None, true),
        (false, None, false),
        (true, Some(OsStr::new("1")), false),
        (true, Some(OsStr::new("")), true),
        (false, Some(OsStr::new("1")), false),
    ];
    for (terminal, no_color, expected) in cases {
        assert_eq!(use_colour(terminal, no_color), expected, "terminal {terminal}, NO_COLOR {no_color:?}");
    }
}
