//! `mocks:`: their defaults, names, kinds, settings and delays, and the URL variables they offer.

use std::time::Duration;

use rstest::rstest;
use serde_json::json;

use super::support::*;
use crate::{LlmMock, McpAnswer, McpFailure, MockKind};

/// A scenario with the given `mocks:` block (indented under the key) and one request step.
fn with_mocks(mocks: &str) -> String {
    format!("id: s\ntitle: T\nmocks:\n{mocks}steps:\n  - {{id: a, {GET}}}\n")
}

#[test]
fn mocks_load_with_defaults_and_offer_their_url_variables() {
    let scenario = parse_ok(&dedent(&format!(
        r#"
        id: s
        title: T
        mocks:
          openai:
            llm: {{reply: hi, prompt_tokens: 3}}
          stripe:
            mcp:
              answer: sse
              tools:
                - {{name: refund, result: {{content: []}}}}
                - name: charge
          broken:
            mcp: {{failure: slow}}
        steps:
          - id: a
            request: {{method: POST, path: /v1/mcp/server, json: {{url: "{{{{mocks.stripe.url}}}}"}}}}
          - {{id: b, {GET}}}
        "#
    )));
    let names: Vec<&str> = scenario.mocks.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["openai", "stripe", "broken"]);
    assert_eq!(
        scenario.mocks[0].kind,
        MockKind::Llm(LlmMock { reply: "hi".into(), prompt_tokens: 3, completion_tokens: 20, delay: Duration::ZERO })
    );
    let MockKind::Mcp(stripe) = &scenario.mocks[1].kind else { panic!("stripe is an MCP mock") };
    assert_eq!(stripe.answer, McpAnswer::Sse);
    assert_eq!(stripe.failure, None);
    assert_eq!(stripe.tools[0].result, Some(json!({"content": []})));
    assert_eq!(stripe.tools[1].input_schema, json!({"type": "object"}));
    let MockKind::Mcp(broken) = &scenario.mocks[2].kind else { panic!("broken is an MCP mock") };
    assert_eq!(broken.failure, Some(McpFailure::Slow(McpFailure::SLOW_DELAY)));
    assert_eq!(broken.answer, McpAnswer::Json);
}

#[rstest]
#[case::name_with_a_dash(with_mocks("  my-mock: {llm: {}}\n"), 4, 3, "invalid mock name `my-mock`")]
#[case::no_kind(with_mocks("  m: {}\n"), 4, 6, "no kind in mock `m`: expected exactly one of llm, mcp")]
#[case::two_kinds(with_mocks("  m: {llm: {}, mcp: {}}\n"), 4, 6, "2 kinds (llm, mcp) in mock `m`")]
#[case::unknown_answer(with_mocks("  m: {mcp: {answer: xml}}\n"), 4, 21, "unknown MCP answer framing `xml`")]
#[case::unknown_failure(with_mocks("  m: {mcp: {failure: flaky}}\n"), 4, 22, "unknown MCP failure `flaky`")]
#[case::duplicate_tool(
    with_mocks("  m:\n    mcp:\n      tools: [{name: t}, {name: t}]\n"),
    6,
    33,
    "duplicate tool `t`"
)]
#[case::unknown_mock_field(with_mocks("  m: {llm: {model: x}}\n"), 4, 13, "unknown field `model`")]
fn bad_mocks_are_reported_where_they_are_written(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}

#[test]
fn a_mock_url_used_without_its_mock_is_an_unknown_variable() {
    let error = parse_err(&with_steps(
        r#"
        - id: a
          request: {method: GET, path: "/x/{{mocks.nope.url}}"}
        "#,
    ));
    assert!(error.to_string().contains("unknown variable `mocks.nope.url`"), "{error}");
}

#[test]
fn mock_delays_parse_as_durations() {
    let scenario = parse_ok(&format!(
        "id: s\ntitle: T\nmocks:\n  openai: {{llm: {{delay: 3s}}}}\n  tools:\n    mcp:\n      tools: [{{name: slow, delay: 1500ms}}, {{name: quick}}]\nsteps:\n  - {{id: a, {GET}}}\n"
    ));
    let MockKind::Llm(llm) = &scenario.mocks[0].kind else { panic!("openai is an LLM mock") };
    assert_eq!(llm.delay, Duration::from_secs(3));
    let MockKind::Mcp(mcp) = &scenario.mocks[1].kind else { panic!("tools is an MCP mock") };
    let delays: Vec<Duration> = mcp.tools.iter().map(|t| t.delay).collect();
    assert_eq!(delays, [Duration::from_millis(1500), Duration::ZERO]);
}

#[rstest]
#[case::llm_delay(with_mocks("  m: {llm: {delay: soon}}\n"), 4, 20, "invalid duration `soon`")]
#[case::tool_delay(
    with_mocks("  m:\n    mcp:\n      tools: [{name: t, delay: 3 parsecs}]\n"),
    6,
    32,
    "invalid duration `3 parsecs`"
)]
#[case::llm_delay_as_a_number(with_mocks("  m: {llm: {delay: 3}}\n"), 4, 20, "invalid duration `3`")]
fn bad_mock_delays_are_reported_where_they_are_written(
    #[case] yaml: String,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
) {
    assert_rejected(&yaml, line, column, message);
}
