//! The mocks over real HTTP, as a proxy would call them.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::scenario::{LlmMock, Location, McpAnswer, McpFailure, McpMock, McpTool};

fn mcp(name: &str, answer: McpAnswer, failure: Option<McpFailure>) -> MockSpec {
    MockSpec {
        name: name.to_string(),
        location: Location::default(),
        kind: MockKind::Mcp(McpMock {
            tools: vec![
                McpTool {
                    name: "refund".into(),
                    description: Some("Refunds".into()),
                    input_schema: json!({"type": "object"}),
                    result: Some(json!({"content": [{"type": "text", "text": "refunded"}]})),
                    delay: Duration::ZERO,
                },
                McpTool {
                    name: "charge".into(),
                    description: None,
                    input_schema: json!({"type": "object"}),
                    result: None,
                    delay: Duration::ZERO,
                },
            ],
            answer,
            failure,
        }),
    }
}

async fn url_of(mocks: &RunningMocks, name: &str) -> String {
    let mut vars = Variables::new();
    mocks.add_variables(&mut vars);
    vars[&format!("mocks.{name}.url")].as_str().unwrap().to_string()
}

async fn rpc(url: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The JSON-RPC message in a JSON body or in the one `data:` line of an SSE body.
fn message(text: &str) -> Value {
    let json = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or(text);
    serde_json::from_str(json).unwrap()
}

#[tokio::test]
async fn llm_mock_answers_a_completion_with_the_declared_usage() {
    let spec = MockSpec {
        name: "openai".into(),
        location: Location::default(),
        kind: MockKind::Llm(LlmMock {
            reply: "hi there".into(),
            prompt_tokens: 7,
            completion_tokens: 3,
            delay: Duration::ZERO,
        }),
    };
    let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "openai").await;
    assert!(url.ends_with("/v1"), "{url}");
    let response = reqwest::Client::new()
        .post(format!("{url}/chat/completions"))
        .json(&json!({"model": "gpt-x", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["model"], "gpt-x");
    assert_eq!(body["choices"][0]["message"]["content"], "hi there");
    assert_eq!(body["usage"], json!({"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}));
}

#[tokio::test]
async fn llm_mock_answers_a_text_completion_apart_from_a_chat_completion() {
    let spec = MockSpec {
        name: "openai".into(),
        location: Location::default(),
        kind: MockKind::Llm(LlmMock {
            reply: "hi there".into(),
            prompt_tokens: 7,
            completion_tokens: 3,
            ..LlmMock::default()
        }),
    };
    let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "openai").await;
    let post = |path: &str, body: Value| reqwest::Client::new().post(format!("{url}{path}")).json(&body).send();
    let text: Value =
        post("/completions", json!({"model": "gpt-x", "prompt": "hello"})).await.unwrap().json().await.unwrap();
    assert_eq!(text["object"], "text_completion");
    assert_eq!(text["choices"][0]["text"], "hi there");
    assert_eq!(text["usage"]["total_tokens"], 10);
    let chat: Value =
        post("/chat/completions", json!({"model": "gpt-x", "messages": []})).await.unwrap().json().await.unwrap();
    assert_eq!(chat["object"], "chat.completion");
}

#[tokio::test]
async fn llm_mock_answers_one_embedding_per_input_with_the_prompt_tokens() {
    let spec = MockSpec {
        name: "openai".into(),
        location: Location::default(),
        kind: MockKind::Llm(LlmMock {
            reply: "unused".into(),
            prompt_tokens: 4,
            completion_tokens: 3,
            ..LlmMock::default()
        }),
    };
    let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "openai").await;
    let embed = |input: Value| {
        reqwest::Client::new().post(format!("{url}/embeddings")).json(&json!({"model": "emb-x", "input": input})).send()
    };
    let body: Value = embed(json!(["a", "b"])).await.unwrap().json().await.unwrap();
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["data"][1]["index"], 1);
    assert_eq!(body["model"], "emb-x");
    assert_eq!(body["usage"], json!({"prompt_tokens": 4, "total_tokens": 4}));
    assert_eq!(embed(Value::Null).await.unwrap().status(), 400);
}

#[tokio::test]
async fn llm_mock_refuses_a_completion_without_model() {
    let spec =
        MockSpec { name: "openai".into(), location: Location::default(), kind: MockKind::Llm(LlmMock::default()) };
    let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "openai").await;
    let response =
        reqwest::Client::new().post(format!("{url}/chat/completions")).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn mcp_mock_speaks_initialize_list_and_call_in_both_framings() {
    for answer in [McpAnswer::Json, McpAnswer::Sse] {
        let mocks = RunningMocks::start(&[mcp("stripe", answer, None)], &MockHost::default()).await.unwrap();
        let url = url_of(&mocks, "stripe").await;

        let init = rpc(&url, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})).await;
        assert_eq!(init.status(), 200);
        let expected_type = if answer == McpAnswer::Sse { "text/event-stream" } else { "application/json" };
        assert_eq!(init.headers()["content-type"], expected_type);
        assert!(init.headers().contains_key("mcp-session-id"));
        let init = message(&init.text().await.unwrap());
        assert_eq!(init["result"]["protocolVersion"], "2025-03-26", "{answer:?}");
        assert_eq!(init["id"], 1);

        let note = rpc(&url, json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        assert_eq!(note.status(), 202);

        let list =
            message(&rpc(&url, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await.text().await.unwrap());
        let names: Vec<&str> =
            list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["refund", "charge"]);
        assert_eq!(list["result"]["tools"][0]["description"], "Refunds");

        let call = message(&rpc(&url, json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "refund", "arguments": {}}})).await.text().await.unwrap());
        assert_eq!(call["result"]["content"][0]["text"], "refunded");
        let default = message(
            &rpc(&url, json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "charge"}}))
                .await
                .text()
                .await
                .unwrap(),
        );
        assert_eq!(default["result"]["content"][0]["text"], "stripe.charge ok");
        let unknown = message(
            &rpc(&url, json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "nope"}}))
                .await
                .text()
                .await
                .unwrap(),
        );
        assert_eq!(unknown["error"]["code"], -32602);
    }
}

#[tokio::test]
async fn mcp_mock_proposes_its_newest_version_for_an_unknown_one() {
    let mocks = RunningMocks::start(&[mcp("s", McpAnswer::Json, None)], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "s").await;
    let init: Value = rpc(
        &url,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "1999-01-01"}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(init["result"]["protocolVersion"], mcp::NEWEST_VERSION);
}

#[tokio::test]
async fn down_mock_refuses_connections() {
    let mocks =
        RunningMocks::start(&[mcp("s", McpAnswer::Json, Some(McpFailure::Down))], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "s").await;
    let error = reqwest::Client::new().post(&url).json(&json!({})).send().await.unwrap_err();
    assert!(error.is_connect(), "{error}");
    // Nothing else may listen there while the scenario runs: a server given the port would answer
    // for the down upstream.
    let port = reqwest::Url::parse(&url).unwrap().port().unwrap();
    let taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "{taken}");
}

#[tokio::test]
async fn garbage_mock_answers_200_with_a_body_that_is_not_json() {
    let mocks = RunningMocks::start(&[mcp("s", McpAnswer::Json, Some(McpFailure::Garbage))], &MockHost::default())
        .await
        .unwrap();
    let url = url_of(&mocks, "s").await;
    let response = rpc(&url, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"})).await;
    assert_eq!(response.status(), 200);
    assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err());
}

#[tokio::test]
async fn slow_mock_answers_only_after_its_delay() {
    let delay = Duration::from_millis(400);
    let mocks = RunningMocks::start(&[mcp("s", McpAnswer::Json, Some(McpFailure::Slow(delay)))], &MockHost::default())
        .await
        .unwrap();
    let url = url_of(&mocks, "s").await;
    let started = Instant::now();
    let response = rpc(&url, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
}

#[tokio::test]
async fn advertised_host_goes_into_the_url() {
    let host = MockHost { bind: "127.0.0.1".parse().unwrap(), advertise: "mocks.internal".into() };
    let mocks = RunningMocks::start(&[mcp("s", McpAnswer::Json, None)], &host).await.unwrap();
    let url = url_of(&mocks, "s").await;
    assert!(url.starts_with("http://mocks.internal:") && url.ends_with("/mcp"), "{url}");
    assert_eq!(url_host("::1"), "[::1]");
}

async fn completion(url: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/chat/completions"))
        .json(&json!({"model": "gpt-x", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn llm_mock_with_a_delay_keeps_every_completion_in_flight_that_long() {
    let delay = Duration::from_millis(600);
    let spec = MockSpec {
        name: "slow".into(),
        location: Location::default(),
        kind: MockKind::Llm(LlmMock { delay, ..LlmMock::default() }),
    };
    let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "slow").await;
    let started = Instant::now();
    // Two at once: the delay holds each request, it does not queue them behind each other.
    let (first, second) = tokio::join!(completion(&url), completion(&url));
    let elapsed = started.elapsed();
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    assert!(elapsed >= delay, "answered after {elapsed:?}, before the {delay:?} delay");
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "ok");
}

#[tokio::test]
async fn mcp_tool_delay_holds_only_calls_of_that_tool() {
    let mut spec = mcp("s", McpAnswer::Json, None);
    let delay = Duration::from_secs(2);
    let MockKind::Mcp(server) = &mut spec.kind else { unreachable!("mcp() builds an MCP mock") };
    server.tools[0].delay = delay;
    let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.unwrap();
    let url = url_of(&mocks, "s").await;
    let call = |id: u64, tool: &'static str| {
        let url = url.clone();
        async move {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool}});
            message(&rpc(&url, body).await.text().await.unwrap())
        }
    };
    let started = Instant::now();
    let slow = tokio::spawn(call(1, "refund"));
    // The other tool and the listing answer while the delayed call is still in flight.
    let quick = call(2, "charge").await;
    assert_eq!(quick["result"]["content"][0]["text"], "s.charge ok");
    let list =
        message(&rpc(&url, json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})).await.text().await.unwrap());
    assert_eq!(list["result"]["tools"].as_array().map(Vec::len), Some(2));
    assert!(!slow.is_finished(), "the delayed call answered before the quick ones");
    let slow = slow.await.unwrap();
    assert_eq!(slow["result"]["content"][0]["text"], "refunded");
    assert!(started.elapsed() >= delay, "the delayed call answered after {:?}", started.elapsed());
}
