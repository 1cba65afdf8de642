//! Fake upstreams a scenario declares under `mocks:`: plain data the runner starts as servers.
//!
//! The harness only starts them and offers each URL as `{{mocks.NAME.url}}`; steps register them with
//! the proxy through its API, as an operator would, so the same file runs against any target.

use std::time::Duration;

use serde_json::Value;

use crate::location::Location;

/// One fake upstream, by the name the scenario gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct MockSpec {
    pub name: String,
    pub location: Location,
    pub kind: MockKind,
}

impl MockSpec {
    /// The variable holding the mock's URL, e.g. `mocks.stripe.url`.
    pub fn url_variable(&self) -> String {
        url_variable(&self.name)
    }
}

/// The variable holding the URL of the mock called `name`.
pub fn url_variable(name: &str) -> String {
    format!("mocks.{name}.url")
}

#[derive(Clone, Debug, PartialEq)]
pub enum MockKind {
    /// An OpenAI-compatible LLM provider: `POST {url}/chat/completions`.
    Llm(LlmMock),
    /// An MCP server over streamable HTTP at `{url}`.
    Mcp(McpMock),
}

/// What the fake LLM provider answers to every chat completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlmMock {
    /// The assistant's message content.
    pub reply: String,
    /// The `usage` it reports, from which a proxy computes the cost.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// How long every completion takes to answer (zero: at once).
    pub delay: Duration,
}

impl Default for LlmMock {
    fn default() -> Self {
        LlmMock { reply: "ok".to_string(), prompt_tokens: 10, completion_tokens: 20, delay: Duration::ZERO }
    }
}

/// A fake MCP server: its tools, how it frames answers, and how it fails when asked to.
#[derive(Clone, Debug, PartialEq)]
pub struct McpMock {
    pub tools: Vec<McpTool>,
    pub answer: McpAnswer,
    pub failure: Option<McpFailure>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct McpTool {
    pub name: String,
    pub description: Option<String>,
    /// The tool's `inputSchema`.
    pub input_schema: Value,
    /// The `tools/call` result; `None` answers a text content naming mock and tool.
    pub result: Option<Value>,
    /// How long a `tools/call` of this tool takes to answer (zero: at once).
    pub delay: Duration,
}

/// How the fake MCP server frames its JSON-RPC answers (streamable HTTP allows both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum McpAnswer {
    /// `content-type: application/json`.
    #[default]
    Json,
    /// `content-type: text/event-stream`, one `message` event.
    Sse,
}

/// An upstream in trouble, for scenarios that check the proxy's errors stay bounded and clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum McpFailure {
    /// Nothing listens at the URL.
    Down,
    /// Every answer comes after this long.
    Slow(Duration),
    /// Answers 200 with a body that is not JSON-RPC.
    Garbage,
}

impl McpFailure {
    /// How long a `slow` mock waits: far longer than any proxy's sensible MCP timeout, shorter than a
    /// scenario should ever hang if the proxy has none.
    pub const SLOW_DELAY: Duration = Duration::from_secs(60);
}
