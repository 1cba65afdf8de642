//! A fake OpenAI-compatible provider: `POST …/chat/completions` answers a completion with `usage`, so
//! the proxy has tokens to price; `POST …/completions` a text completion with the same reply and usage;
//! `POST …/embeddings` one embedding per input, with the prompt tokens as usage. Each answers after
//! the mock's `delay` when it has one.

use std::net::TcpListener;

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::scenario::LlmMock;

pub(super) async fn start(listener: TcpListener, spec: &LlmMock) -> MockServer {
    let server = MockServer::builder().listener(listener).disable_request_recording().start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"/chat/completions$"))
        .respond_with(Completion(spec.clone()))
        .mount(&server)
        .await;
    // Not `…/chat/completions`, which ends the same way.
    Mock::given(method("POST"))
        .and(path_regex(r"(^|/v1)/completions$"))
        .respond_with(TextCompletion(spec.clone()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"/embeddings$"))
        .respond_with(Embedding(spec.clone()))
        .mount(&server)
        .await;
    server
}

struct TextCompletion(LlmMock);

impl Respond for TextCompletion {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (_, model) = match body_and_model(request) {
            Ok(parsed) => parsed,
            Err(why) => return error(400, why),
        };
        let LlmMock { reply, prompt_tokens, completion_tokens, delay } = &self.0;
        answer_after(*delay).set_body_json(json!({
            "id": format!("cmpl-mock-{}", uuid::Uuid::new_v4().simple()),
            "object": "text_completion",
            "created": chrono::Utc::now().timestamp(),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "text": reply, "logprobs": null}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }))
    }
}

struct Embedding(LlmMock);

impl Respond for Embedding {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (body, model) = match body_and_model(request) {
            Ok(parsed) => parsed,
            Err(why) => return error(400, why),
        };
        let inputs = match body.get("input") {
            Some(Value::Array(items)) => items.len(),
            Some(Value::String(_)) => 1,
            _ => return error(400, "`input` is required"),
        };
        let data: Vec<Value> = (0..inputs)
            .map(|index| json!({"object": "embedding", "index": index, "embedding": [0.25, -0.5, 0.75]}))
            .collect();
        let tokens = self.0.prompt_tokens;
        answer_after(self.0.delay).set_body_json(json!({
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }))
    }
}

struct Completion(LlmMock);

impl Respond for Completion {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let (_, model) = match body_and_model(request) {
            Ok(parsed) => parsed,
            Err(why) => return error(400, why),
        };
        let LlmMock { reply, prompt_tokens, completion_tokens, delay } = &self.0;
        // A known delay keeps a request through the proxy in flight while the scenario's next steps run.
        answer_after(*delay).set_body_json(json!({
            "id": format!("chatcmpl-mock-{}", uuid::Uuid::new_v4().simple()),
            "object": "chat.completion",
            "created": chrono::Utc::now().timestamp(),
            "model": model,
            "choices": [{
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": reply},
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }))
    }
}

/// A 200 that waits `delay` first.
fn answer_after(delay: std::time::Duration) -> ResponseTemplate {
    super::delayed(ResponseTemplate::new(200), delay)
}

/// The request's JSON body and its `model`, or why a provider answers 400.
fn body_and_model(request: &Request) -> Result<(Value, String), &'static str> {
    let body: Value = serde_json::from_slice(&request.body).map_err(|_| "request body is not JSON")?;
    let model = body.get("model").and_then(Value::as_str).ok_or("`model` is required")?.to_string();
    Ok((body, model))
}

/// OpenAI's error envelope.
fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}
    }))
}
