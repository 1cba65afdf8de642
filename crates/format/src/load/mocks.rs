//! Validation of `mocks:`: names usable in `{{mocks.NAME.url}}`, one kind each, known settings.

use std::collections::BTreeSet;

use serde_json::json;
use serde_saphyr::Spanned;

use super::{Checker, ScenarioError, ScenarioErrorKind};
use crate::file::{LlmMockFile, McpMockFile, MockFile, SpannedMap};
use crate::mock::{LlmMock, McpAnswer, McpFailure, McpMock, McpTool, MockKind, MockSpec};

impl Checker<'_> {
    pub(super) fn mocks(&self, mocks: &SpannedMap<Spanned<MockFile>>) -> Result<Vec<MockSpec>, ScenarioError> {
        let mut out = Vec::with_capacity(mocks.0.len());
        for (name, mock) in &mocks.0 {
            if !is_mock_name(&name.value) {
                return self.fail_help(
                    self.src.span_of(name),
                    ScenarioErrorKind::InvalidMockName { name: name.value.clone() },
                    "the name becomes part of `{{mocks.NAME.url}}`, e.g. `stripe` or `openai`",
                );
            }
            let MockFile { llm, mcp } = &mock.value;
            let kind = match (llm, mcp) {
                (Some(llm), None) => MockKind::Llm(self.llm_mock(&llm.value)?),
                (None, Some(mcp)) => MockKind::Mcp(self.mcp_mock(&mcp.value)?),
                (llm, mcp) => {
                    let found = [("llm", llm.is_some()), ("mcp", mcp.is_some())]
                        .into_iter()
                        .filter_map(|(kind, present)| present.then_some(kind))
                        .collect();
                    return self.fail(
                        self.src.span_of(mock).or(self.src.span_of(name)),
                        ScenarioErrorKind::MockKindCount { name: name.value.clone(), found },
                    );
                }
            };
            out.push(MockSpec { name: name.value.clone(), location: self.src.model_location(name), kind });
        }
        Ok(out)
    }

    fn mcp_mock(&self, mcp: &McpMockFile) -> Result<McpMock, ScenarioError> {
        let answer = match &mcp.answer {
            None => McpAnswer::default(),
            Some(text) => match text.value.as_str() {
                "json" => McpAnswer::Json,
                "sse" => McpAnswer::Sse,
                other => {
                    return self.fail(
                        self.src.span_of(text),
                        ScenarioErrorKind::UnknownMcpAnswer { value: other.to_string() },
                    );
                }
            },
        };
        let failure = match &mcp.failure {
            None => None,
            Some(text) => Some(match text.value.as_str() {
                "down" => McpFailure::Down,
                "slow" => McpFailure::Slow(McpFailure::SLOW_DELAY),
                "garbage" => McpFailure::Garbage,
                other => {
                    return self.fail(
                        self.src.span_of(text),
                        ScenarioErrorKind::UnknownMcpFailure { value: other.to_string() },
                    );
                }
            }),
        };
        let mut seen = BTreeSet::new();
        let mut tools = Vec::with_capacity(mcp.tools.len());
        for tool in &mcp.tools {
            let name = &tool.value.name;
            if name.value.trim().is_empty() {
                return self.fail(self.src.span_of(name), ScenarioErrorKind::Empty { what: "tool name" });
            }
            if !seen.insert(name.value.as_str()) {
                return self
                    .fail(self.src.span_of(name), ScenarioErrorKind::DuplicateTool { name: name.value.clone() });
            }
            tools.push(McpTool {
                name: name.value.clone(),
                description: tool.value.description.clone(),
                input_schema: tool.value.input_schema.clone().unwrap_or_else(|| json!({"type": "object"})),
                result: tool.value.result.clone(),
                delay: tool.value.delay.as_ref().map(|d| self.duration(d)).transpose()?.unwrap_or_default(),
            });
        }
        Ok(McpMock { tools, answer, failure })
    }
}

impl Checker<'_> {
    /// What the fake LLM answers, defaults filled in.
    fn llm_mock(&self, llm: &LlmMockFile) -> Result<LlmMock, ScenarioError> {
        let defaults = LlmMock::default();
        Ok(LlmMock {
            reply: llm.reply.clone().unwrap_or(defaults.reply),
            prompt_tokens: llm.prompt_tokens.map_or(defaults.prompt_tokens, |c| c.0),
            completion_tokens: llm.completion_tokens.map_or(defaults.completion_tokens, |c| c.0),
            delay: llm.delay.as_ref().map(|d| self.duration(d)).transpose()?.unwrap_or(defaults.delay),
        })
    }
}

/// A letter, then letters, digits and `_`: safe inside a variable name and a URL.
fn is_mock_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
