//! Calling a deployment's OpenAI-compatible upstream, and LiteLLM's errors when that fails.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::deployment::Upstream;
use super::error::ProxyError;

/// How long an upstream may take to answer a chat request.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

fn client() -> Result<&'static reqwest::Client, ProxyError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(UPSTREAM_TIMEOUT)
                .connect_timeout(Duration::from_secs(5))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ProxyError::internal(format!("failed to build the upstream HTTP client: {e}")))
}

/// What the upstream answered: its OpenAI response body.
/// What a client asked the proxy for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Chat,
    TextCompletion,
    Embedding,
}

impl Endpoint {
    /// The route LiteLLM names in this endpoint's errors, whichever of its paths was called.
    pub fn route(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::TextCompletion => "/completions",
            Endpoint::Embedding => "/embeddings",
        }
    }

    /// The provider's path this endpoint is sent to.
    fn upstream_path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::TextCompletion => "/completions",
            Endpoint::Embedding => "/embeddings",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Completion {
    pub body: Value,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// Sends `request` (the client's body) to the upstream's path for `endpoint`, with the upstream's
/// model name.
pub(crate) async fn call(upstream: &Upstream, endpoint: Endpoint, request: &Value) -> Result<Completion, ProxyError> {
    let mut body = request.clone();
    if let Value::Object(map) = &mut body {
        map.insert("model".into(), Value::String(upstream.model.clone()));
        // The reference proxy answers in one piece.
        map.remove("stream");
    }
    let url = format!("{}{}", upstream.base, endpoint.upstream_path());
    let mut call = client()?.post(&url).json(&body);
    if let Some(key) = &upstream.api_key {
        call = call.bearer_auth(key);
    }
    let response = call.send().await.map_err(|e| transport_error(&e))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| transport_error(&e))?;
    if !status.is_success() {
        return Err(status_error(status.as_u16(), &text));
    }
    let body: Value = serde_json::from_str(&text).map_err(|e| {
        ProxyError::internal(format!("litellm.APIError: OpenAIException - failed to parse the upstream response: {e}"))
    })?;
    let usage = |name: &str| body.get("usage").and_then(|u| u.get(name)).and_then(Value::as_i64).unwrap_or(0);
    Ok(Completion { prompt_tokens: usage("prompt_tokens"), completion_tokens: usage("completion_tokens"), body })
}

/// A failure to reach the upstream: LiteLLM's `Timeout` (408) or `APIConnectionError` (500).
fn transport_error(e: &reqwest::Error) -> ProxyError {
    if e.is_timeout() {
        ProxyError::typed(
            408,
            "timeout",
            None,
            format!(
                "litellm.Timeout: Connection timed out after {} seconds. OpenAIException - {e}",
                UPSTREAM_TIMEOUT.as_secs()
            ),
        )
    } else {
        ProxyError::internal(format!("litellm.APIConnectionError: OpenAIException - failed to reach the upstream: {e}"))
    }
}

/// An upstream error status, passed on with LiteLLM's exception name.
fn status_error(status: u16, text: &str) -> ProxyError {
    let name = match status {
        400 => "BadRequestError",
        401 => "AuthenticationError",
        403 => "PermissionDeniedError",
        404 => "NotFoundError",
        408 => "Timeout",
        422 => "UnprocessableEntityError",
        429 => "RateLimitError",
        503 => "ServiceUnavailableError",
        500..=599 => "InternalServerError",
        _ => "APIError",
    };
    let status = if (400..=599).contains(&status) { status } else { 500 };
    ProxyError::handler(status, format!("litellm.{name}: OpenAIException - {text}"))
}

/// The OpenAI body LiteLLM sends back: re-serialized, with the public model name.
/// The answer the client gets: the upstream's, in the shape of the endpoint it called, under the
/// model name it asked for.
pub(crate) fn client_response(completion: &Completion, endpoint: Endpoint, public_model: &str) -> Value {
    match endpoint {
        Endpoint::Chat => chat_response(completion, public_model),
        Endpoint::TextCompletion => text_response(completion, public_model),
        Endpoint::Embedding => embedding_response(completion, public_model),
    }
}

fn usage(completion: &Completion) -> Value {
    serde_json::json!({
        "completion_tokens": completion.completion_tokens,
        "prompt_tokens": completion.prompt_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
    })
}

fn created(upstream: &Value) -> Value {
    upstream.get("created").cloned().unwrap_or_else(|| serde_json::json!(chrono::Utc::now().timestamp()))
}

fn choices(upstream: &Value) -> impl Iterator<Item = (usize, &Value)> {
    upstream.get("choices").and_then(Value::as_array).into_iter().flatten().enumerate()
}

fn text_response(completion: &Completion, public_model: &str) -> Value {
    let upstream = &completion.body;
    let choices: Vec<Value> = choices(upstream)
        .map(|(i, c)| {
            serde_json::json!({
                "finish_reason": c.get("finish_reason").cloned().unwrap_or(Value::Null),
                "index": c.get("index").cloned().unwrap_or(serde_json::json!(i)),
                "logprobs": null,
                "text": c.get("text").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    serde_json::json!({
        "id": upstream.get("id").cloned().unwrap_or(Value::Null),
        "created": created(upstream),
        "model": public_model,
        "object": "text_completion",
        "choices": choices,
        "usage": usage(completion),
    })
}

fn embedding_response(completion: &Completion, public_model: &str) -> Value {
    let data = completion.body.get("data").cloned().unwrap_or_else(|| serde_json::json!([]));
    serde_json::json!({
        "object": "list",
        "data": data,
        "model": public_model,
        "usage": {"prompt_tokens": completion.prompt_tokens, "total_tokens": completion.prompt_tokens},
    })
}

fn chat_response(completion: &Completion, public_model: &str) -> Value {
    let upstream = &completion.body;
    let choices: Vec<Value> = choices(upstream)
        .map(|(i, c)| {
            let message = c.get("message").cloned().unwrap_or(Value::Null);
            serde_json::json!({
                "finish_reason": c.get("finish_reason").cloned().unwrap_or(Value::Null),
                "index": c.get("index").cloned().unwrap_or(serde_json::json!(i)),
                "message": {
                    "content": message.get("content").cloned().unwrap_or(Value::Null),
                    "role": message.get("role").cloned().unwrap_or(serde_json::json!("assistant")),
                },
                "provider_specific_fields": {},
            })
        })
        .collect();
    serde_json::json!({
        "id": upstream.get("id").cloned().unwrap_or(Value::Null),
        "created": created(upstream),
        "model": public_model,
        "object": "chat.completion",
        "choices": choices,
        "usage": usage(completion),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{bearer_token, body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn upstream(server: &MockServer) -> Upstream {
        Upstream { base: format!("{}/v1", server.uri()), api_key: Some("sk-up".into()), model: "gpt-x".into() }
    }

    fn openai_reply() -> Value {
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hello"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
        })
    }

    #[tokio::test]
    async fn forwards_with_the_upstream_model_and_key_and_reads_usage() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(bearer_token("sk-up"))
            .and(body_partial_json(json!({"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]})))
            .respond_with(ResponseTemplate::new(200).set_body_json(openai_reply()))
            .expect(1)
            .mount(&server)
            .await;
        let request = json!({"model": "gpt-a", "messages": [{"role": "user", "content": "hi"}]});
        let completion = call(&upstream(&server), Endpoint::Chat, &request).await.expect("the mock answers");
        assert_eq!((completion.prompt_tokens, completion.completion_tokens), (10, 20));
        let shown = client_response(&completion, Endpoint::Chat, "gpt-a");
        assert_eq!(shown["model"], "gpt-a");
        assert_eq!(shown["choices"][0]["message"], json!({"content": "hello", "role": "assistant"}));
        assert_eq!(shown["choices"][0]["provider_specific_fields"], json!({}));
        assert_eq!(shown["usage"]["total_tokens"], 30);
    }

    #[tokio::test]
    async fn a_text_completion_goes_to_the_completions_path() {
        let server = MockServer::start().await;
        let reply = json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "finish_reason": "stop", "text": "hello", "logprobs": null}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
        });
        Mock::given(method("POST"))
            .and(path("/v1/completions"))
            .and(body_partial_json(json!({"model": "gpt-x", "prompt": ["say ", "hi"]})))
            .respond_with(ResponseTemplate::new(200).set_body_json(reply))
            .expect(1)
            .mount(&server)
            .await;
        let request = json!({"model": "gpt-a", "prompt": ["say ", "hi"]});
        let completion = call(&upstream(&server), Endpoint::TextCompletion, &request).await.expect("the mock answers");
        let shown = client_response(&completion, Endpoint::TextCompletion, "gpt-a");
        assert_eq!(shown["object"], "text_completion");
        assert_eq!(shown["choices"][0]["text"], "hello");
        assert_eq!(shown["usage"]["total_tokens"], 30);
    }

    #[tokio::test]
    async fn an_embedding_goes_to_the_embeddings_path() {
        let server = MockServer::start().await;
        let reply = json!({
            "object": "list", "model": "gpt-x",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3}
        });
        Mock::given(method("POST"))
            .and(path("/v1/embeddings"))
            .and(body_partial_json(json!({"model": "gpt-x", "input": "hi"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(reply))
            .expect(1)
            .mount(&server)
            .await;
        let request = json!({"model": "emb-a", "input": "hi"});
        let completion = call(&upstream(&server), Endpoint::Embedding, &request).await.expect("the mock answers");
        assert_eq!((completion.prompt_tokens, completion.completion_tokens), (3, 0));
        let shown = client_response(&completion, Endpoint::Embedding, "emb-a");
        assert_eq!(shown["data"][0]["embedding"], json!([0.5, 0.25]));
        assert_eq!(shown["model"], "emb-a");
        assert_eq!(shown["usage"], json!({"prompt_tokens": 3, "total_tokens": 3}));
    }

    #[tokio::test]
    async fn an_upstream_error_status_is_passed_on_with_litellms_name() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
            .mount(&server)
            .await;
        let err = call(&upstream(&server), Endpoint::Chat, &json!({"model": "gpt-a"})).await.unwrap_err();
        assert_eq!(err.status(), 503);
        assert_eq!(err.body()["error"]["message"], "litellm.ServiceUnavailableError: OpenAIException - overloaded");
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_a_500_connection_error() {
        // A port that was free a moment ago: nothing listens there.
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(9);
        let gone = Upstream { base: format!("http://127.0.0.1:{port}/v1"), api_key: None, model: "gpt-x".into() };
        let err = call(&gone, Endpoint::Chat, &json!({"model": "gpt-a"})).await.unwrap_err();
        assert_eq!(err.status(), 500);
        let message = err.body()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.starts_with("litellm.APIConnectionError: OpenAIException - "), "{message}");
    }
}
