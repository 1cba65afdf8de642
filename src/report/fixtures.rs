//! A small fixed set of outcomes (one of each status) for the reporters' snapshot tests. Durations and
//! run ids are fixed, so snapshots are stable.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::{BrokenFile, RunInfo};
use crate::reference::Quirk;
use crate::runner::{
    AssertionResult, ReceivedResponse, ReproductionResult, ReproductionVerdict, ScenarioOutcome, ScenarioStatus,
    SentBody, SentRequest, StepOutcome, StepStatus,
};
use crate::scenario::{IncludeSite, Location, Origin};

/// The failed scenario of [`outcomes`], its failing step written in a fragment that a fragment
/// included from the scenario includes.
pub(crate) fn included_failure() -> ScenarioOutcome {
    let mut outcome = outcomes().swap_remove(1);
    let step = outcome.steps.iter_mut().find(|s| matches!(s.status, StepStatus::Failed { .. })).expect("a failure");
    step.origin = Some(std::sync::Arc::new(Origin {
        file: "scenarios/fragments/team.yaml".into(),
        included_from: vec![
            IncludeSite { file: "scenarios/fragments/org.yaml".into(), location: Location { line: 9, column: 5 } },
            IncludeSite { file: "scenarios/org/admin.yaml".into(), location: Location { line: 4, column: 5 } },
        ],
    }));
    outcome
}

pub(crate) fn run_info() -> RunInfo {
    RunInfo {
        target: "reference".into(),
        target_version: "gateproof reference 0.1.0".into(),
        partition: None,
        started_at: Utc.with_ymd_and_hms(2026, 11, 3, 9, 30, 0).single().expect("valid date"),
        duration: Duration::from_millis(2_930),
        leftovers: None,
        baseline: None,
        broken_files: Vec::new(),
    }
}

/// The run, with two files that did not load: one at a place, one not readable at all.
pub(crate) fn run_info_with_broken_files() -> RunInfo {
    RunInfo {
        broken_files: vec![
            BrokenFile {
                file: "scenarios/broken.yaml".into(),
                line: Some(6),
                column: Some(5),
                message: "unknown field `colour`, expected one of id, sleep".into(),
            },
            BrokenFile {
                file: "scenarios/.#lock.yaml".into(),
                line: None,
                column: None,
                message: "dangling symlink to `user@host.1`: expected a scenario file".into(),
            },
        ],
        ..run_info()
    }
}

fn step(id: &str, line: usize, status: StepStatus) -> StepOutcome {
    StepOutcome {
        id: id.into(),
        location: Location { line, column: 5 },
        status,
        request: None,
        response: None,
        assertions: vec![],
        duration: Duration::ZERO,
        attempts: 0,
        origin: None,
    }
}

fn outcome(id: &str, file: &str, status: ScenarioStatus, millis: u64, steps: Vec<StepOutcome>) -> ScenarioOutcome {
    ScenarioOutcome {
        id: id.into(),
        title: format!("Title of {id}"),
        file: PathBuf::from(file),
        tags: vec!["conformance".into()],
        run_id: "rabc123xyz".into(),
        status,
        steps,
        duration: Duration::from_millis(millis),
        reproduction: None,
        created: Vec::new(),
    }
}

pub(crate) fn outcomes() -> Vec<ScenarioOutcome> {
    let passed = outcome(
        "team-create",
        "scenarios/team-create.yaml",
        ScenarioStatus::Passed,
        420,
        vec![StepOutcome {
            request: Some(SentRequest {
                method: "POST".into(),
                url: "http://127.0.0.1:40001/team/new".into(),
                credentials: "admin".into(),
                headers: vec![],
                body: Some(SentBody::Json(json!({"team_alias": "t-rabc123xyz"}))),
            }),
            response: Some(ReceivedResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: r#"{"team_id":"t-1"}"#.into(),
                json: Some(json!({"team_id": "t-1"})),
            }),
            assertions: vec![AssertionResult {
                location: None,
                check: "status".into(),
                passed: true,
                expected: "200".into(),
                actual: "200".into(),
                message: None,
            }],
            duration: Duration::from_millis(40),
            attempts: 1,
            ..step("create", 6, StepStatus::Passed)
        }],
    );

    let error_body = json!({"error": {
        "message": "Authentication Error, You do not have access to this team",
        "type": "auth_error", "param": "None", "code": "403"
    }});
    let failed = outcome(
        "org-admin-updates-team",
        "scenarios/org/admin.yaml",
        ScenarioStatus::Failed,
        1_500,
        vec![
            StepOutcome { attempts: 1, ..step("org", 8, StepStatus::Passed) },
            StepOutcome {
                request: Some(SentRequest {
                    method: "POST".into(),
                    url: "http://127.0.0.1:40001/team/update".into(),
                    credentials: "key sk-…9f2a".into(),
                    headers: vec![("x-trace".into(), "1".into())],
                    body: Some(SentBody::Json(json!({"team_id": "t-1", "team_alias": "renamed-rabc123xyz"}))),
                }),
                response: Some(ReceivedResponse {
                    status: 403,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: error_body.to_string(),
                    json: Some(error_body),
                }),
                assertions: vec![
                    AssertionResult {
                        location: None,
                        check: "status".into(),
                        passed: false,
                        expected: "200".into(),
                        actual: "403".into(),
                        message: None,
                    },
                    AssertionResult {
                        location: Some(Location { line: 24, column: 11 }),
                        check: "body $.team_alias equals".into(),
                        passed: false,
                        expected: "\"renamed-rabc123xyz\"".into(),
                        actual: "no node matches".into(),
                        message: None,
                    },
                    AssertionResult {
                        location: Some(Location { line: 25, column: 11 }),
                        check: "header content-type contains".into(),
                        passed: true,
                        expected: "application/json".into(),
                        actual: "application/json".into(),
                        message: None,
                    },
                ],
                duration: Duration::from_millis(60),
                attempts: 1,
                ..step("update", 18, StepStatus::Failed { message: "2 of 3 assertions failed".into() })
            },
            step("check", 27, StepStatus::NotRun),
        ],
    );

    let skipped = outcome(
        "cache-ttl",
        "scenarios/cache.yaml",
        ScenarioStatus::Skipped {
            reason: "needs reference-only settings: DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL=0".into(),
        },
        0,
        vec![],
    );

    let refused = "failed to send GET http://127.0.0.1:9/health: connection refused";
    let errored = outcome(
        "unreachable",
        "scenarios/down.yaml",
        ScenarioStatus::Errored { message: format!("step `health`: {refused}") },
        10,
        vec![
            StepOutcome {
                request: Some(SentRequest {
                    method: "GET".into(),
                    url: "http://127.0.0.1:9/health".into(),
                    credentials: "none".into(),
                    headers: vec![],
                    body: None,
                }),
                attempts: 1,
                ..step("health", 4, StepStatus::Errored { message: refused.into() })
            },
            step("after", 9, StepStatus::NotRun),
        ],
    );
    vec![passed, failed, skipped, errored]
}

/// Two regression scenarios run with `--reproduce`: one whose bug reproduced, one that missed it (the
/// run with the quirk failed at another step), and one on an external target (not run).
pub(crate) fn reproduction_outcomes() -> Vec<ScenarioOutcome> {
    let stale = json!({"error": {
        "message": "Key requests MCP access groups not allowed by team 't-1': ['G2']. Team allows: ['G1'].",
        "type": "auth_error", "param": null, "code": "403"
    }});
    let key_step = StepOutcome {
        request: Some(SentRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:40002/key/generate".into(),
            credentials: "admin".into(),
            headers: vec![],
            body: Some(SentBody::Json(json!({"team_id": "t-1", "object_permission": {"mcp_access_groups": ["G2"]}}))),
        }),
        response: Some(ReceivedResponse {
            status: 403,
            headers: vec![("content-type".into(), "application/json".into())],
            body: stale.to_string(),
            json: Some(stale),
        }),
        attempts: 1,
        ..step("key-for-g2", 30, StepStatus::Failed { message: "1 of 2 assertions failed".into() })
    };
    let mut reproduced = outcome(
        "stale-team-mcp-access-group",
        "scenarios/regressions/stale-team-mcp-access-group.yaml",
        ScenarioStatus::Passed,
        900,
        vec![step("team", 16, StepStatus::Passed), step("key-for-g2", 30, StepStatus::Passed)],
    );
    reproduced.reproduction = Some(Box::new(ReproductionVerdict {
        quirk: Quirk::StaleTeamCache,
        fails_at: "key-for-g2".into(),
        result: ReproductionResult::Reproduced,
        quirk_step: Some(key_step),
        observed: vec![AssertionResult {
            location: None,
            check: "observed status".into(),
            passed: true,
            expected: "403".into(),
            actual: "403".into(),
            message: None,
        }],
    }));

    let gate_step = StepOutcome {
        request: Some(SentRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:40003/team/update".into(),
            credentials: "key sk-…77aa".into(),
            headers: vec![],
            body: Some(SentBody::Json(json!({"team_id": "t-2", "team_alias": "stolen"}))),
        }),
        response: Some(ReceivedResponse { status: 401, headers: vec![], body: "{}".into(), json: Some(json!({})) }),
        assertions: vec![AssertionResult {
            location: Some(Location { line: 40, column: 7 }),
            check: "error message contains any".into(),
            passed: false,
            expected: "one of \"You do not have access to this team\"".into(),
            actual: "the response has no error body".into(),
            message: None,
        }],
        attempts: 1,
        ..step("update-as-stranger", 36, StepStatus::Failed { message: "1 of 2 assertions failed".into() })
    };
    let mut missed = outcome(
        "org-admin-team-update-without-org-id",
        "scenarios/regressions/org-admin-team-update-without-org-id.yaml",
        ScenarioStatus::Failed,
        1_200,
        vec![step("org", 18, StepStatus::Passed), step("update-as-org-admin", 44, StepStatus::Passed)],
    );
    missed.reproduction = Some(Box::new(ReproductionVerdict {
        quirk: Quirk::OrgAdminGateNeedsOrgIdInBody,
        fails_at: "update-as-org-admin".into(),
        result: ReproductionResult::NotReproduced {
            reason: "with `org_admin_gate_needs_org_id_in_body` on, step `update-as-stranger` failed, not `update-as-org-admin`"
                .into(),
        },
        quirk_step: Some(gate_step),
        observed: vec![],
    }));

    let mut external = outcome(
        "org-admin-team-delete-without-org-id",
        "scenarios/regressions/org-admin-team-delete-without-org-id.yaml",
        ScenarioStatus::Passed,
        700,
        vec![step("org", 18, StepStatus::Passed)],
    );
    external.reproduction = Some(Box::new(ReproductionVerdict {
        quirk: Quirk::OrgAdminGateNeedsOrgIdInBody,
        fails_at: "delete-as-org-admin".into(),
        result: ReproductionResult::NotRun {
            reason: "quirks switch bugs on in the reference proxy only; the target is external".into(),
        },
        quirk_step: None,
        observed: vec![],
    }));
    vec![reproduced, missed, external]
}
