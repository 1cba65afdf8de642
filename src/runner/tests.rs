//! The runner against real HTTP servers (wiremock on 127.0.0.1), with hand-built scenarios.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use serde_json_path::JsonPath;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::scenario::{
    Actor, Body, BodyAssertion, Capture, Expect, Location, PathQuery, Predicate, ReferenceSettings, Request, Retry,
    Step, Template,
};

const MASTER_KEY: &str = "sk-master-test";

fn scenario(id: &str, steps: Vec<Step>) -> Scenario {
    Scenario {
        source: PathBuf::from(format!("scenarios/{id}.yaml")),
        id: id.into(),
        title: format!("Scenario {id}"),
        description: None,
        upstream: None,
        tags: vec![],
        requires: vec![],
        probed: vec![],
        reference: ReferenceSettings::default(),
        mocks: vec![],
        steps,
        reproduces: None,
    }
}

fn step(id: &str, line: usize, request: Request, expect: Expect) -> Step {
    Step {
        id: id.into(),
        location: Location { line, column: 5 },
        sleep: None,
        on: None,
        request: Some(request),
        expect,
        capture: vec![],
        retry: None,
        background: false,
        awaits: vec![],
        origin: None,
    }
}

fn request(method: &str, path: &str) -> Request {
    Request {
        actor: Actor::Admin,
        method: method.into(),
        path: Template::parse(path).expect("valid template"),
        query: vec![],
        headers: vec![],
        body: None,
    }
}

fn status(code: u16) -> Expect {
    Expect { status: Some(vec![code]), ..Expect::default() }
}

fn jsonpath(p: &str) -> JsonPath {
    JsonPath::parse(p).expect("valid JSONPath")
}

fn capture(variable: &str, p: &str) -> Capture {
    Capture { variable: variable.into(), path_text: p.into(), path: jsonpath(p) }
}

fn external(server: &MockServer) -> Target {
    Target::external(server.uri(), MASTER_KEY)
}

fn options() -> RunOptions {
    RunOptions { request_timeout: Duration::from_secs(5), jobs: 2, ..RunOptions::default() }
}

fn step_statuses(outcome: &ScenarioOutcome) -> Vec<&'static str> {
    outcome.steps.iter().map(|s| s.status.name()).collect()
}

#[tokio::test]
async fn captures_feed_later_steps_and_admin_sends_the_master_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .and(header("authorization", "Bearer sk-master-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"team_id": "t-42", "n": 7})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/team/info"))
        .and(query_param("team_id", "t-42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"team_id": "t-42", "members": [7]})))
        .mount(&server)
        .await;

    let mut create = step("create", 4, request("POST", "/team/new"), status(200));
    create.capture = vec![capture("team_id", "$.team_id"), capture("n", "$.n")];
    let mut info_request = request("GET", "/team/info");
    info_request.query = vec![("team_id".into(), Template::parse("{{team_id}}").unwrap())];
    let info_expect = Expect {
        status: Some(vec![200]),
        body: vec![
            BodyAssertion {
                location: Location { line: 12, column: 9 },
                path_text: "$.team_id".into(),
                path: PathQuery::Compiled(jsonpath("$.team_id")),
                predicate: Predicate::Equals(json!("{{team_id}}")),
            },
            BodyAssertion {
                location: Location { line: 13, column: 9 },
                path_text: "$.members".into(),
                path: PathQuery::Compiled(jsonpath("$.members")),
                predicate: Predicate::Contains(json!("{{n}}")),
            },
        ],
        ..Expect::default()
    };
    let info = step("info", 9, info_request, info_expect);

    let outcome = run_scenario(&scenario("teams", vec![create, info]), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");
    assert_eq!(step_statuses(&outcome), ["passed", "passed"]);
    let sent = outcome.steps[1].request.as_ref().expect("the request was sent");
    assert_eq!(sent.url, format!("{}/team/info?team_id=t-42", server.uri()));
    assert_eq!(sent.credentials, "admin");
    assert_eq!(outcome.steps[1].attempts, 1);
    assert_eq!(outcome.steps[1].assertions.iter().filter(|a| a.passed).count(), 3);
}

#[tokio::test]
async fn run_id_is_fresh_per_execution_and_rendered_into_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let mut req = request("POST", "/team/new");
    req.body = Some(Body::Json(json!({"team_alias": "t-{{run_id}}"})));
    let s = scenario("run-id", vec![step("create", 3, req, status(200))]);

    let first = run_scenario(&s, &external(&server), &options()).await;
    let second = run_scenario(&s, &external(&server), &options()).await;
    assert_ne!(first.run_id, second.run_id);
    for outcome in [&first, &second] {
        assert_eq!(outcome.run_id.len(), 10);
        assert!(outcome.run_id.starts_with('r'));
        assert!(outcome.run_id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect();
    assert_eq!(
        bodies,
        [json!({"team_alias": format!("t-{}", first.run_id)}), json!({"team_alias": format!("t-{}", second.run_id)})]
    );
}

#[tokio::test]
async fn the_first_failing_step_ends_the_scenario() {
    let server = MockServer::start().await;
    Mock::given(path("/ok")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    Mock::given(path("/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Team not found"})))
        .mount(&server)
        .await;
    let s = scenario(
        "fails",
        vec![
            step("one", 3, request("GET", "/ok"), status(200)),
            step("two", 7, request("GET", "/missing"), status(200)),
            step("three", 11, request("GET", "/ok"), status(200)),
        ],
    );
    let outcome = run_scenario(&s, &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed);
    assert_eq!(step_statuses(&outcome), ["passed", "failed", "not_run"]);
    let failed = outcome.failed_step().expect("a failed step");
    assert_eq!((failed.id.as_str(), failed.location.line), ("two", 7));
    assert_eq!(failed.status, StepStatus::Failed { message: "1 of 1 assertions failed".into() });
    let response = failed.response.as_ref().expect("a response");
    assert_eq!((response.status, response.json.clone()), (404, Some(json!({"detail": "Team not found"}))));
    assert_eq!(server.received_requests().await.unwrap_or_default().len(), 2);
}

#[tokio::test]
async fn actors_and_step_headers_decide_the_credentials_sent() {
    let server = MockServer::start().await;
    Mock::given(path("/key/generate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"key": "sk-virtual-1"})))
        .mount(&server)
        .await;
    Mock::given(path("/as-key"))
        .and(header("authorization", "Bearer sk-virtual-1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/as-header"))
        .and(header("x-litellm-api-key", "sk-virtual-1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/anonymous")).respond_with(ResponseTemplate::new(401)).mount(&server).await;

    let mut generate = step("generate", 3, request("POST", "/key/generate"), status(200));
    generate.capture = vec![capture("k", "$.key")];
    let mut as_key = request("GET", "/as-key");
    as_key.actor = Actor::Key(Template::parse("{{k}}").unwrap());
    let mut as_header = request("GET", "/as-header");
    as_header.actor = Actor::Anonymous;
    as_header.headers = vec![("x-litellm-api-key".into(), Template::parse("{{k}}").unwrap())];
    let mut anonymous = request("GET", "/anonymous");
    anonymous.actor = Actor::Anonymous;
    let s = scenario(
        "actors",
        vec![
            generate,
            step("as-key", 8, as_key, status(200)),
            step("as-header", 12, as_header, status(200)),
            step("anonymous", 16, anonymous, status(401)),
        ],
    );
    let outcome = run_scenario(&s, &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");
    let requests = server.received_requests().await.unwrap_or_default();
    // The fifth request is the teardown of the generated key.
    assert_eq!(requests.len(), 5, "{requests:?}");
    assert!(requests[3].headers.get("authorization").is_none(), "actor none sends no credentials");
    assert_eq!(requests[4].url.path(), "/key/delete");
    assert!(requests[2].headers.get("authorization").is_none());
}

#[tokio::test]
async fn retry_resends_until_the_condition_holds_then_checks_expect() {
    let server = MockServer::start().await;
    Mock::given(path("/eventually"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/eventually"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ready": true})))
        .mount(&server)
        .await;
    let mut s = step("wait", 3, request("GET", "/eventually"), status(200));
    s.retry = Some(Retry { until: status(200), timeout: Duration::from_secs(5), interval: Duration::from_millis(10) });
    let outcome = run_scenario(&scenario("retry", vec![s]), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");
    assert_eq!(outcome.steps[0].attempts, 3);
    assert_eq!(outcome.steps[0].assertions.len(), 1);
    assert_eq!(outcome.steps[0].assertions[0].check, "status");
}

#[tokio::test]
async fn retry_that_never_holds_fails_with_the_attempts_and_the_last_response() {
    let server = MockServer::start().await;
    Mock::given(path("/never"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "not yet"})))
        .mount(&server)
        .await;
    let mut s = step("wait", 3, request("GET", "/never"), status(200));
    s.retry =
        Some(Retry { until: status(200), timeout: Duration::from_millis(300), interval: Duration::from_millis(50) });
    let outcome = run_scenario(&scenario("retry-timeout", vec![s]), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed);
    let step = &outcome.steps[0];
    let StepStatus::Failed { message } = &step.status else { panic!("expected a failure: {step:#?}") };
    let expected = format!("timed out after 300ms and {} attempts: `retry.until` never held", step.attempts);
    assert_eq!(message, &expected);
    assert!(step.attempts >= 2, "{}", step.attempts);
    assert_eq!(step.response.as_ref().map(|r| r.status), Some(404));
    assert_eq!(step.assertions[0].check, "until status");
    assert!(!step.assertions[0].passed);
}

#[tokio::test]
async fn a_capture_of_no_node_fails_the_step() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"a": 1})))
        .mount(&server)
        .await;
    let mut s = step("cap", 3, request("GET", "/x"), status(200));
    s.capture = vec![capture("b", "$.b")];
    let outcome = run_scenario(&scenario("capture", vec![s]), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed);
    assert_eq!(
        outcome.steps[0].status,
        StepStatus::Failed { message: "failed to capture `b` from $.b: no node matches".into() }
    );
}

#[tokio::test]
async fn a_template_error_at_run_time_fails_the_step_without_sending() {
    let server = MockServer::start().await;
    let s = step("bad", 3, request("GET", "/team/{{nope}}"), status(200));
    let outcome = run_scenario(&scenario("template", vec![s]), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed);
    let StepStatus::Failed { message } = &outcome.steps[0].status else { panic!("{outcome:#?}") };
    assert!(message.starts_with("failed to render the request: unknown variable `nope`"), "{message}");
    assert_eq!(outcome.steps[0].attempts, 0);
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn an_unreachable_target_is_an_infrastructure_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let target = Target::external(format!("http://127.0.0.1:{port}"), MASTER_KEY);
    let s = scenario(
        "down",
        vec![step("one", 3, request("GET", "/health"), status(200)), step("two", 5, request("GET", "/x"), status(200))],
    );
    let outcome = run_scenario(&s, &target, &options()).await;
    let ScenarioStatus::Errored { message } = &outcome.status else { panic!("{outcome:#?}") };
    assert!(
        message.starts_with(&format!("step `one`: failed to send GET http://127.0.0.1:{port}/health")),
        "{message}"
    );
    assert_eq!(step_statuses(&outcome), ["errored", "not_run"]);
}

#[tokio::test]
async fn a_target_slower_than_the_request_timeout_everywhere_is_an_infrastructure_error() {
    let server = MockServer::start().await;
    // Every route is slow, the liveness route too: the target as a whole does not answer.
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let options = RunOptions { request_timeout: Duration::from_millis(200), ..options() };
    let s = scenario("slow", vec![step("slow", 3, request("GET", "/slow"), status(200))]);
    let outcome = run_scenario(&s, &external(&server), &options).await;
    let ScenarioStatus::Errored { message } = &outcome.status else { panic!("{outcome:#?}") };
    assert!(message.contains("failed to get an answer to GET"), "{message}");
}

#[tokio::test]
async fn a_request_the_target_hangs_on_while_it_answers_liveness_is_a_failed_step() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    Mock::given(path("/health/liveliness")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let options = RunOptions { request_timeout: Duration::from_millis(300), ..options() };
    let s = scenario("hang", vec![step("slow", 3, request("GET", "/slow"), status(200))]);
    let outcome = run_scenario(&s, &external(&server), &options).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed, "{outcome:#?}");
    let StepStatus::Failed { message } = &outcome.steps[0].status else { panic!("{outcome:#?}") };
    assert!(
        message.contains("failed to get an answer to GET") && message.contains("hung on this request"),
        "{message}"
    );
}

#[tokio::test]
async fn an_external_target_skips_scenarios_with_reference_settings() {
    let server = MockServer::start().await;
    let mut s = scenario("cache", vec![step("one", 3, request("GET", "/x"), status(200))]);
    s.reference.cache_ttl = Some(Duration::from_secs(0));
    let outcome = run_scenario(&s, &external(&server), &options()).await;
    assert_eq!(
        outcome.status,
        ScenarioStatus::Skipped {
            reason: "needs reference-only settings: DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL=0".into()
        }
    );
    assert!(outcome.steps.is_empty());
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn a_step_without_request_only_sleeps() {
    let server = MockServer::start().await;
    let pause = Step {
        id: "pause".into(),
        location: Location { line: 3, column: 5 },
        sleep: Some(Duration::from_millis(120)),
        on: None,
        request: None,
        expect: Expect::default(),
        capture: vec![],
        retry: None,
        background: false,
        awaits: vec![],
        origin: None,
    };
    let outcome = run_scenario(&scenario("sleep", vec![pause]), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed);
    assert!(outcome.steps[0].duration >= Duration::from_millis(120));
    assert_eq!(outcome.steps[0].attempts, 0);
}

#[tokio::test]
async fn a_raw_body_is_sent_as_is_with_a_json_content_type() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(422))
        .mount(&server)
        .await;
    let mut req = request("POST", "/team/new");
    req.body = Some(Body::Raw(Template::parse(r#"{"team_id": "{{run_id}}"#).unwrap()));
    let outcome =
        run_scenario(&scenario("raw", vec![step("raw", 3, req, status(422))]), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");
    let received = server.received_requests().await.unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(&received[0].body), format!(r#"{{"team_id": "{}"#, outcome.run_id));
}

#[tokio::test]
async fn many_scenarios_report_as_they_finish_and_return_in_input_order() {
    let server = MockServer::start().await;
    for (p, delay) in [("/slow", 400), ("/fast", 0)] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(delay)))
            .mount(&server)
            .await;
    }
    let scenarios = vec![
        scenario("a-slow", vec![step("s", 3, request("GET", "/slow"), status(200))]),
        scenario("b-fast", vec![step("s", 3, request("GET", "/fast"), status(200))]),
        scenario("c-fails", vec![step("s", 3, request("GET", "/fast"), status(201))]),
    ];
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let outcomes =
        run_scenarios(scenarios, Arc::new(external(&server)), RunOptions { jobs: 3, ..options() }, Arc::new(sender))
            .await;
    assert_eq!(outcomes.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["a-slow", "b-fast", "c-fails"]);
    assert_eq!(outcomes.iter().map(|o| o.status.name()).collect::<Vec<_>>(), ["passed", "passed", "failed"]);

    let mut finished = Vec::new();
    let mut started = Vec::new();
    let mut steps = 0;
    while let Ok(event) = receiver.try_recv() {
        match event {
            Event::ScenarioStarted { index, .. } => started.push(index),
            Event::StepFinished { .. } => steps += 1,
            Event::ScenarioFinished { index, .. } => {
                assert!(started.contains(&index), "scenario {index} finished before it started");
                finished.push(index);
            }
            Event::RunHalted { reason } => panic!("the run halted: {reason}"),
        }
    }
    assert_eq!(steps, 3);
    assert_eq!(finished.len(), 3);
    assert_eq!(finished.last(), Some(&0), "the slow scenario finishes last: {finished:?}");
}

#[tokio::test]
async fn a_cancelled_run_starts_no_scenario() {
    let server = MockServer::start().await;
    let options = options();
    options.cancel.cancel();
    let scenarios = vec![scenario("a", vec![step("s", 3, request("GET", "/x"), status(200))])];
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run_scenarios(scenarios, Arc::new(external(&server)), options, Arc::new(sender)).await;
    assert_eq!(outcomes[0].status, ScenarioStatus::Skipped { reason: "the run was interrupted".into() });
    assert!(receiver.try_recv().is_err(), "no events for scenarios that never started");
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
}

/// A scenario with one `/health` step that declares a reproduction of `stale_team_cache` there.
fn regression() -> Scenario {
    let mut scenario = scenario("regression", vec![step("health", 4, request("GET", "/health"), status(200))]);
    scenario.reproduces = Some(crate::scenario::Reproduction {
        location: Location { line: 3, column: 3 },
        quirk: crate::reference::Quirk::StaleTeamCache,
        fails_at: "health".into(),
        observed: status(403),
    });
    scenario
}

async fn healthy() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn reproduce_on_an_external_target_runs_the_fixed_half_only() {
    let server = healthy().await;
    let options = RunOptions { reproduce: true, ..options() };
    let outcome = run_scenario(&regression(), &external(&server), &options).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");
    let verdict = outcome.reproduction.expect("a verdict");
    assert!(
        matches!(&verdict.result, ReproductionResult::NotRun { reason } if reason.contains("external")),
        "{verdict:?}"
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));
}

#[tokio::test]
async fn without_reproduce_a_regression_scenario_runs_once_with_no_verdict() {
    let server = healthy().await;
    let outcome = run_scenario(&regression(), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");
    assert_eq!(outcome.reproduction, None);
}

#[tokio::test]
async fn quirks_on_an_external_target_skip_the_scenario_without_a_request() {
    let server = healthy().await;
    let options = RunOptions {
        quirks: crate::reference::Quirks::NONE.with(crate::reference::Quirk::StaleTeamCache),
        ..options()
    };
    let outcome = run_scenario(&regression(), &external(&server), &options).await;
    assert!(
        matches!(&outcome.status, ScenarioStatus::Skipped { reason } if reason.contains("stale_team_cache")),
        "{:?}",
        outcome.status
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));
}

#[tokio::test]
async fn steps_go_to_their_replica_or_take_the_replicas_in_turn() {
    let replicas = [MockServer::start().await, MockServer::start().await];
    for (index, server) in replicas.iter().enumerate() {
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"replica": index})))
            .mount(server)
            .await;
    }
    let on = |id: &str, replica: Option<usize>, expected: usize| {
        let expect = Expect {
            body: vec![BodyAssertion {
                location: Location::default(),
                path_text: "$.replica".into(),
                path: PathQuery::Compiled(jsonpath("$.replica")),
                predicate: Predicate::Equals(json!(expected)),
            }],
            ..status(200)
        };
        Step { on: replica, ..step(id, 1, request("GET", "/health"), expect) }
    };
    let mut scenario = scenario(
        "replicas",
        vec![
            on("pinned-1", Some(1), 1),
            on("turn-a", None, 0),
            on("turn-b", None, 1),
            on("turn-c", None, 0),
            on("pinned-0", Some(0), 0),
        ],
    );
    scenario.reference.replicas = 2;
    let target = Target::external_replicas(replicas.iter().map(MockServer::uri).collect(), MASTER_KEY);
    let outcome = run_scenario(&scenario, &target, &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");

    let one_url = external(&replicas[0]);
    let outcome = run_scenario(&scenario, &one_url, &options()).await;
    let ScenarioStatus::Skipped { reason } = &outcome.status else { panic!("expected a skip: {outcome:#?}") };
    assert!(reason.contains("needs 2 replicas"), "{reason}");
}

#[tokio::test]
async fn mock_urls_are_variables_and_the_mocks_answer_there() {
    use crate::scenario::{LlmMock, MockKind, MockSpec};
    let proxy = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/model/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&proxy)
        .await;
    let mut register = request("POST", "/model/new");
    register.body = Some(Body::Json(json!({"litellm_params": {"api_base": "{{mocks.openai.url}}"}})));
    let mut scenario = scenario("mocks", vec![step("register", 3, register, status(200))]);
    scenario.mocks = vec![MockSpec {
        name: "openai".into(),
        location: Location::default(),
        kind: MockKind::Llm(LlmMock::default()),
    }];
    let outcome = run_scenario(&scenario, &external(&proxy), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");

    let received = proxy.received_requests().await.expect("recording is on");
    let body: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    let api_base = body["litellm_params"]["api_base"].as_str().unwrap();
    assert!(api_base.starts_with("http://127.0.0.1:") && api_base.ends_with("/v1"), "{api_base}");
    // The mock stopped with its scenario.
    let after =
        reqwest::Client::new().post(format!("{api_base}/chat/completions")).json(&json!({"model": "m"})).send().await;
    assert!(after.is_err(), "the mock still answers after the scenario: {after:?}");
}

#[tokio::test]
async fn a_scenario_over_its_timeout_is_an_infrastructure_error() {
    let server = MockServer::start().await;
    let pause = Step {
        sleep: Some(Duration::from_secs(5)),
        request: None,
        ..step("pause", 3, request("GET", "/x"), Expect::default())
    };
    let options = RunOptions { scenario_timeout: Duration::from_millis(200), ..options() };
    let started = std::time::Instant::now();
    let outcome = run_scenario(&scenario("slow", vec![pause]), &external(&server), &options).await;
    let ScenarioStatus::Errored { message } = &outcome.status else { panic!("expected an error: {outcome:#?}") };
    assert!(message.contains("did not finish within 200ms"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(4), "the timeout cut the pause short");
}

#[tokio::test]
async fn ctrl_c_lets_the_request_in_flight_finish_so_teardown_knows_what_it_created() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"team_id": "t-slow"}))
                .set_delay(Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/team/delete")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let s = scenario(
        "interrupted",
        vec![
            step("create", 3, request("POST", "/team/new"), status(200)),
            step("after", 6, request("GET", "/x"), status(200)),
        ],
    );
    let options = options();
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let outcome = run_scenario(&s, &external(&server), &options).await;
    assert_eq!(outcome.status, ScenarioStatus::Errored { message: scenario::INTERRUPTED.into() }, "{outcome:#?}");
    assert_eq!(step_statuses(&outcome), ["passed", "not_run"]);
    assert_eq!(outcome.created.len(), 1, "{:?}", outcome.created);
    assert_eq!(outcome.created[0].cleanup, Cleanup::Deleted);
    assert_eq!(outcome.created[0].resource.id, "t-slow");
}

/// A model a Redis-less LiteLLM still lists for a few seconds after its delete answered is read back
/// until it is gone, not reported as left behind at the first look.
#[tokio::test]
async fn a_deleted_model_still_listed_for_a_moment_is_not_a_leftover() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/model/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"model_info": {"id": "m-r1"}}]})))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/model/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    let model = Resource { kind: ResourceKind::Model, id: "m-r1".into() };
    let outcome = passed_after_deleting("models", model, Some(std::time::Instant::now()));
    let leftovers = check_leftovers(&external(&server), &[outcome], &options()).await;
    assert_eq!(leftovers, [], "listed twice more after its delete, then gone");
}

/// A model LiteLLM 1.83 put back into its router after its delete (its database poll read it just
/// before) is still listed long after, while a second delete answers that the database has no such
/// model. It is left behind, and the leftover says where it lives.
#[tokio::test]
async fn a_deleted_model_still_listed_from_memory_is_a_leftover_that_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/model/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"model_info": {"id": "m-r2"}}]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/model/delete"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "{'error': 'Model with id=m-r2 not found in db'}"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let model = Resource { kind: ResourceKind::Model, id: "m-r2".into() };
    // Deleted longer ago than a database poll takes, so the check does not wait here.
    let deleted_at = std::time::Instant::now().checked_sub(Duration::from_secs(120));
    let outcome = passed_after_deleting("models", model, deleted_at);
    let leftovers = check_leftovers(&external(&server), &[outcome], &options()).await;
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    assert_eq!(leftovers[0].label, "model m-r2");
    assert_eq!(leftovers[0].reason, teardown::LISTED_FROM_MEMORY);
    assert!(!leftovers[0].unreachable);
}

/// A passed scenario `id` that created `resource` and deleted it at `deleted_at`.
fn passed_after_deleting(id: &str, resource: Resource, deleted_at: Option<std::time::Instant>) -> ScenarioOutcome {
    ScenarioOutcome {
        id: id.into(),
        title: id.into(),
        file: PathBuf::from(format!("{id}.yaml")),
        tags: vec![],
        run_id: "r1".into(),
        status: ScenarioStatus::Passed,
        steps: vec![],
        duration: Duration::ZERO,
        reproduction: None,
        created: vec![Created { resource, step: "create".into(), cleanup: Cleanup::Deleted, deleted_at }],
    }
}

/// LiteLLM's spend writer writes a customer again after teardown deleted it (1.83.14 and 1.109.1 both
/// do, 9 to 14 s later). The leftover check waits for that, deletes it again, and only then judges.
#[tokio::test]
async fn a_customer_the_spend_writer_wrote_again_is_deleted_again_before_the_check_judges() {
    let server = MockServer::start().await;
    // Back once (written again by the spend writer), gone after the second delete.
    Mock::given(method("GET"))
        .and(path("/customer/info"))
        .and(query_param("end_user_id", "eu-r1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user_id": "eu-r1"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/customer/info"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"message": "End User Id=eu-r1 does not exist in db"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/customer/delete"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"deleted_customers": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let customer = Resource { kind: ResourceKind::Customer, id: "eu-r1".into() };
    // Deleted a whole flush ago, so the check does not wait here.
    let outcome =
        passed_after_deleting("spends", customer, std::time::Instant::now().checked_sub(Duration::from_secs(30)));
    let leftovers = check_leftovers(&external(&server), &[outcome], &options()).await;
    assert_eq!(leftovers, [], "written again, deleted again, then gone");
}

/// A server whose `/held` answers only once `/release` has been asked: a runner that waited for the
/// `/held` request before sending the next one would never see it answered.
async fn gate_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let released = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let released = Arc::clone(&released);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let body = if text.starts_with("GET /held") {
                    released.notified().await;
                    r#"{"id": "held-1"}"#
                } else {
                    released.notify_one();
                    r#"{"id": "released"}"#
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

fn background(mut step: Step) -> Step {
    step.background = true;
    step
}

fn awaiting(id: &str, line: usize, awaited: &[&str]) -> Step {
    Step {
        request: None,
        awaits: awaited.iter().map(|a| a.to_string()).collect(),
        ..step(id, line, request("GET", "/unused"), Expect::default())
    }
}

#[tokio::test]
async fn a_background_step_stays_in_flight_while_the_next_steps_run_and_reports_at_its_place() {
    let url = gate_server().await;
    let mut held = background(step("held", 3, request("GET", "/held"), status(200)));
    held.capture = vec![capture("held_id", "$.id")];
    let mut after = step("after", 12, request("GET", "/use/{{held_id}}"), status(200));
    after.expect = Expect { status: Some(vec![200]), ..Expect::default() };
    let s = scenario(
        "in-flight",
        vec![held, step("release", 6, request("GET", "/release"), status(200)), awaiting("wait", 9, &["held"]), after],
    );
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel();
    let outcomes =
        run_scenarios(vec![s], Arc::new(Target::external(url, MASTER_KEY)), options(), Arc::new(sender)).await;
    let outcome = &outcomes[0];
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");
    let ids: Vec<&str> = outcome.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["held", "release", "wait", "after"], "each outcome at its own position");
    assert_eq!(outcome.steps[0].response.as_ref().map(|r| r.status), Some(200));
    let after = outcome.steps[3].request.as_ref().map(|r| r.url.clone()).unwrap_or_default();
    assert!(after.ends_with("/use/held-1"), "the capture is known after the await: {after}");
    let mut finished = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::StepFinished { step, .. } = event {
            finished.push(step.id);
        }
    }
    assert_eq!(finished, ["release", "held", "wait", "after"], "the background step reports at its await");
}

#[tokio::test]
async fn a_background_step_that_fails_fails_the_scenario_at_its_await() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(403).set_delay(Duration::from_millis(300)))
        .mount(&server)
        .await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let s = scenario(
        "bg-fails",
        vec![
            background(step("slow", 3, request("GET", "/slow"), status(200))),
            step("fg", 6, request("GET", "/x"), status(200)),
            awaiting("wait", 9, &["slow"]),
            step("later", 12, request("GET", "/x"), status(200)),
        ],
    );
    let outcome = run_scenario(&s, &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed, "{outcome:#?}");
    assert_eq!(step_statuses(&outcome), ["failed", "passed", "not_run", "not_run"]);
    assert_eq!(outcome.failed_step().map(|s| s.id.as_str()), Some("slow"));
}

#[tokio::test]
async fn a_background_step_nobody_awaits_is_judged_after_the_last_step() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(500).set_delay(Duration::from_millis(200)))
        .mount(&server)
        .await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let s = scenario(
        "never-awaited",
        vec![
            background(step("slow", 3, request("GET", "/slow"), status(200))),
            step("fg", 6, request("GET", "/x"), status(200)),
        ],
    );
    let outcome = run_scenario(&s, &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed, "{outcome:#?}");
    assert_eq!(step_statuses(&outcome), ["failed", "passed"]);
}

#[tokio::test]
async fn a_foreground_failure_waits_for_background_requests_and_keeps_what_they_created() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"team_id": "t-background"}))
                .set_delay(Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/team/delete")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    Mock::given(path("/x")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    let s = scenario(
        "fg-fails",
        vec![
            background(step("create", 3, request("POST", "/team/new"), status(200))),
            step("fg", 6, request("GET", "/x"), status(200)),
            awaiting("wait", 9, &["create"]),
        ],
    );
    let outcome = run_scenario(&s, &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Failed, "{outcome:#?}");
    // The background step was never awaited, so it is not judged; its exchange is kept.
    assert_eq!(step_statuses(&outcome), ["not_run", "failed", "not_run"]);
    assert_eq!(outcome.failed_step().map(|s| s.id.as_str()), Some("fg"));
    assert_eq!(outcome.steps[0].response.as_ref().map(|r| r.status), Some(200));
    assert_eq!(outcome.created.len(), 1, "{:?}", outcome.created);
    assert_eq!(outcome.created[0].resource.id, "t-background");
    assert_eq!(outcome.created[0].cleanup, Cleanup::Deleted);
}

#[tokio::test]
async fn ctrl_c_with_a_background_step_in_flight_lets_it_finish_and_tears_down_what_it_created() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"team_id": "t-bg-slow"}))
                .set_delay(Duration::from_millis(500)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/team/delete")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let pause = Step {
        sleep: Some(Duration::from_secs(30)),
        request: None,
        ..step("pause", 6, request("GET", "/x"), Expect::default())
    };
    let mut late = background(step("late", 9, request("POST", "/team/new"), status(200)));
    late.sleep = Some(Duration::from_secs(30));
    let s = scenario(
        "interrupted-bg",
        vec![background(step("create", 3, request("POST", "/team/new"), status(200))), late, pause],
    );
    let options = options();
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let outcome = run_scenario(&s, &external(&server), &options).await;
    assert_eq!(outcome.status, ScenarioStatus::Errored { message: scenario::INTERRUPTED.into() }, "{outcome:#?}");
    assert_eq!(step_statuses(&outcome), ["not_run", "not_run", "not_run"]);
    assert_eq!(outcome.steps[0].response.as_ref().map(|r| r.status), Some(200), "the request in flight finished");
    assert!(outcome.steps[1].request.is_none(), "the background step still in its pause sent nothing");
    assert_eq!(outcome.created.iter().map(|c| c.resource.id.as_str()).collect::<Vec<_>>(), ["t-bg-slow"]);
    assert_eq!(outcome.created[0].cleanup, Cleanup::Deleted);
    let posts = server.received_requests().await.unwrap_or_default();
    assert_eq!(posts.iter().filter(|r| r.url.path() == "/team/new").count(), 1, "nothing sent after Ctrl-C");
}

#[tokio::test]
async fn a_scenario_timeout_with_a_background_step_pending_ends_without_waiting_for_its_pause() {
    let server = MockServer::start().await;
    let mut late = background(step("late", 3, request("GET", "/x"), status(200)));
    late.sleep = Some(Duration::from_secs(60));
    let pause = Step {
        sleep: Some(Duration::from_secs(60)),
        request: None,
        ..step("pause", 6, request("GET", "/x"), Expect::default())
    };
    let options = RunOptions { scenario_timeout: Duration::from_millis(200), ..options() };
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        run_scenario(&scenario("timeout-bg", vec![late, pause]), &external(&server), &options),
    )
    .await
    .expect("the pending background step is stopped, not waited out");
    let ScenarioStatus::Errored { message } = &outcome.status else { panic!("expected an error: {outcome:#?}") };
    assert!(message.contains("did not finish within 200ms"), "{message}");
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
}

/// A scenario requiring `gated`, which its probe asks with a setup, a request and a cleanup.
fn probing(id: &str) -> Scenario {
    let text = format!(
        "id: {id}\ntitle: T\nrequires:\n  - capability: gated\n    probe:\n      setup:\n        - request: \
         {{method: POST, path: /team/new}}\n          capture: {{team_id: $.team_id}}\n      request: {{method: \
         POST, path: /gated, json: {{team: \"{{{{team_id}}}}\"}}}}\n      lacks_when: {{status: 403, error: \
         {{message_contains: Enterprise}}}}\n      cleanup:\n        - {{method: POST, path: /team/delete, json: \
         {{team_ids: [\"{{{{team_id}}}}\"]}}}}\nsteps:\n  - id: health\n    request: {{method: GET, path: /health}}\n"
    );
    crate::scenario::parse_str(&text, std::path::Path::new("probing.yaml")).expect("a valid scenario")
}

#[tokio::test]
async fn a_probed_capability_is_asked_once_per_target_and_skips_with_what_the_probe_saw() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"team_id": "t-probe"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/gated"))
        .and(wiremock::matchers::body_json(json!({"team": "t-probe"})))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "message": "You must be a LiteLLM Enterprise user to use this feature", "type": "auth_error",
            "param": null, "code": "403"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/team/delete"))
        .and(wiremock::matchers::body_json(json!({"team_ids": ["t-probe"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let target = external(&server);
    for id in ["first", "second"] {
        let outcome = run_scenario(&probing(id), &target, &options()).await;
        let ScenarioStatus::Skipped { reason } = &outcome.status else { panic!("expected a skip: {outcome:#?}") };
        assert_eq!(
            reason,
            "the target lacks `gated`: POST /gated answered 403: You must be a LiteLLM Enterprise user to use this \
             feature"
        );
    }
    // The `expect(1)`s are checked when the server drops: one probe for both scenarios.
}

#[tokio::test]
async fn a_probe_answer_outside_lacks_when_means_the_target_has_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"team_id": "t-probe"})))
        .mount(&server)
        .await;
    // A licensed proxy refuses the probe's made-up request for another reason.
    Mock::given(method("POST"))
        .and(path("/gated"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "no such model"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/team/delete")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    Mock::given(method("GET")).and(path("/health")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let outcome = run_scenario(&probing("licensed"), &external(&server), &options()).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{outcome:#?}");

    // A setup that fails counts the capability as missing, naming the setup request.
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/team/new")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let outcome = run_scenario(&probing("broken-setup"), &external(&server), &options()).await;
    let ScenarioStatus::Skipped { reason } = &outcome.status else { panic!("expected a skip: {outcome:#?}") };
    assert!(reason.starts_with("the target lacks `gated`: the probe's setup POST /team/new answered 500"), "{reason}");
}
