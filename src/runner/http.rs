//! HTTP: the client, building a request from a step (rendering its templates), sending it.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use super::outcome::{ReceivedResponse, SentBody, SentRequest};
use crate::scenario::template::render_json;
use crate::scenario::{Actor, Body, Request, Variables};

/// Where requests go and the key `actor: admin` uses.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub base_url: String,
    pub master_key: String,
}

#[derive(Debug, thiserror::Error)]
#[error("failed to build the HTTP client: {0}")]
pub struct ClientError(#[from] reqwest::Error);

/// The runner's HTTP client: `pooled` keeps connections alive between requests; `fresh` opens a new
/// connection for every request, for the one retry of a request whose reused connection failed.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pooled: reqwest::Client,
    fresh: reqwest::Client,
    request_timeout: Duration,
}

/// A client that never follows redirects (scenarios check the proxy's own answer) and ignores proxy
/// environment variables (targets are usually on 127.0.0.1).
pub(crate) fn client(request_timeout: Duration) -> Result<Client, ClientError> {
    let builder =
        || reqwest::Client::builder().timeout(request_timeout).redirect(reqwest::redirect::Policy::none()).no_proxy();
    Ok(Client { pooled: builder().build()?, fresh: builder().pool_max_idle_per_host(0).build()?, request_timeout })
}

/// Headers whose values are secrets: recorded with the value masked.
const CREDENTIAL_HEADERS: [&str; 5] =
    ["authorization", "proxy-authorization", "x-litellm-api-key", "api-key", "x-api-key"];

/// A request ready to send, and how it reads in reports.
pub(crate) struct Prepared {
    pub request: reqwest::Request,
    pub sent: SentRequest,
}

/// Renders the step's request. A template or URL problem is a step failure, described by the message.
pub(crate) fn prepare(
    client: &Client,
    endpoint: &Endpoint,
    request: &Request,
    vars: &Variables,
) -> Result<Prepared, String> {
    let render_failure = |e: crate::scenario::TemplateError| format!("failed to render the request: {e}");
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("failed to use `{}` as an HTTP method", request.method))?;
    let path = request.path.render(vars).map_err(render_failure)?;
    let joined = format!("{}{}", endpoint.base_url.trim_end_matches('/'), path);
    let mut url = Url::parse(&joined).map_err(|e| format!("failed to build a URL from `{joined}`: {e}"))?;
    if !request.query.is_empty() {
        let mut pairs = Vec::with_capacity(request.query.len());
        for (name, value) in &request.query {
            pairs.push((name.as_str(), value.render(vars).map_err(render_failure)?));
        }
        url.query_pairs_mut().extend_pairs(pairs);
    }

    let mut headers = HeaderMap::new();
    let credentials = match &request.actor {
        Actor::Admin => {
            insert(&mut headers, AUTHORIZATION, &format!("Bearer {}", endpoint.master_key))?;
            "admin".to_string()
        }
        Actor::Anonymous => "none".to_string(),
        Actor::Key(template) => {
            let key = template.render(vars).map_err(render_failure)?;
            insert(&mut headers, AUTHORIZATION, &format!("Bearer {key}"))?;
            format!("key {}", mask(&key))
        }
    };

    let body = match &request.body {
        None => None,
        Some(Body::Json(value)) => Some(SentBody::Json(render_json(value, vars).map_err(render_failure)?)),
        Some(Body::Raw(template)) => Some(SentBody::Raw(template.render(vars).map_err(render_failure)?)),
    };
    if body.is_some() {
        insert(&mut headers, CONTENT_TYPE, "application/json")?;
    }

    // The step's own headers come last so they override the actor's and the content type.
    let mut shown_headers = Vec::with_capacity(request.headers.len());
    for (name, template) in &request.headers {
        let value = template.render(vars).map_err(render_failure)?;
        let header =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("failed to use `{name}` as a header name"))?;
        insert(&mut headers, header, &value)?;
        let shown = if CREDENTIAL_HEADERS.contains(&name.as_str()) { mask(&value) } else { value };
        shown_headers.push((name.clone(), shown));
    }

    let mut builder = client.pooled.request(method, url.clone()).headers(headers);
    builder = match &body {
        None => builder,
        Some(SentBody::Json(value)) => builder.body(value.to_string()),
        Some(SentBody::Raw(text)) => builder.body(text.clone()),
    };
    let built = builder.build().map_err(|e| format!("failed to build the request: {}", chain(&e)))?;
    Ok(Prepared {
        request: built,
        sent: SentRequest {
            method: request.method.clone(),
            url: url.to_string(),
            credentials,
            headers: shown_headers,
            body,
        },
    })
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) -> Result<(), String> {
    let value = HeaderValue::from_str(value)
        .map_err(|_| format!("failed to use the value of header `{name}`: it holds characters HTTP forbids"))?;
    headers.insert(name, value);
    Ok(())
}

/// Enough of a key to tell keys apart in a report, never the whole secret.
pub(crate) fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Why a request got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unanswered {
    /// The request went out and no answer came within the request timeout.
    TimedOut(String),
    /// The target could not be reached, or the connection failed.
    Unreachable(String),
}

impl Unanswered {
    pub(crate) fn into_message(self) -> String {
        match self {
            Unanswered::TimedOut(message) | Unanswered::Unreachable(message) => message,
        }
    }
}

/// Sends the request. `Err` means the target could not be reached or did not answer in time:
/// infrastructure trouble, not a verdict. Any answer, a 5xx included, is the proxy's and comes back as
/// `Ok`.
pub(crate) async fn send(client: &Client, request: reqwest::Request) -> Result<ReceivedResponse, String> {
    send_classified(client, request).await.map_err(Unanswered::into_message)
}

/// [`send`], saying whether a missing answer was a timeout.
///
/// A request that fails after it went out on a connection and before any byte of an answer came back is
/// sent once more, on a new connection: a server may close a keep-alive connection the client is about
/// to reuse (LiteLLM 1.83 does after an unhandled exception), and that says nothing about the proxy.
pub(crate) async fn send_classified(
    client: &Client,
    request: reqwest::Request,
) -> Result<ReceivedResponse, Unanswered> {
    let described = format!("{} {}", request.method(), request.url());
    let failure = |e: reqwest::Error| {
        if e.is_timeout() {
            Unanswered::TimedOut(format!("failed to get an answer to {described} in time: {}", chain(&e)))
        } else {
            Unanswered::Unreachable(format!("failed to send {described}: {}", chain(&e)))
        }
    };
    let again = request.try_clone();
    let response = match (client.pooled.execute(request).await, again) {
        (Ok(response), _) => response,
        (Err(e), Some(again)) if lost_connection(&e) => {
            tracing::debug!("{described}: {}; sending it again on a new connection", chain(&e));
            client.fresh.execute(again).await.map_err(failure)?
        }
        (Err(e), _) => return Err(failure(e)),
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let bytes = response.bytes().await.map_err(failure)?;
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).ok();
    Ok(ReceivedResponse { status, headers, body, json })
}

/// The longest the liveness check after a timed-out request waits.
const LIVENESS_WAIT: Duration = Duration::from_secs(5);

/// Whether the target still answers `GET /health/liveliness` (any HTTP answer counts) on a new
/// connection, within the request timeout or [`LIVENESS_WAIT`], whichever is shorter.
pub(crate) async fn answers_liveness(client: &Client, endpoint: &Endpoint) -> bool {
    let url = format!("{}/health/liveliness", endpoint.base_url.trim_end_matches('/'));
    let wait = client.request_timeout.min(LIVENESS_WAIT);
    client.fresh.get(url).timeout(wait).send().await.is_ok()
}

/// Why the proxy at `base_url` does not answer `GET /health/liveliness` at all (any HTTP answer counts
/// as an answer); `None` when it answers.
pub(crate) async fn no_answer(client: &Client, base_url: &str) -> Option<String> {
    let url = format!("{}/health/liveliness", base_url.trim_end_matches('/'));
    match client.fresh.get(&url).send().await {
        Ok(_) => None,
        Err(e) => Some(error_chain(&e)),
    }
}

/// An error with its causes, as one line ("error sending request: … Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether sending failed on an open connection before an answer began: not a failure to connect, not a
/// timeout (the proxy had its time), and not an error in the answer's body (bytes of it came back).
fn lost_connection(error: &reqwest::Error) -> bool {
    error.is_request() && !error.is_connect() && !error.is_timeout() && !error.is_body() && !error.is_decode()
}

/// A request of the harness's own (teardown, probe), sent with the master key.
pub(crate) async fn admin(
    client: &Client,
    endpoint: &Endpoint,
    method: &str,
    path_and_query: &str,
    body: Option<&serde_json::Value>,
) -> Result<ReceivedResponse, String> {
    let url = format!("{}{}", endpoint.base_url.trim_end_matches('/'), path_and_query);
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| format!("failed to use `{method}`: {e}"))?;
    let mut builder = client.pooled.request(method, &url).bearer_auth(&endpoint.master_key);
    if let Some(body) = body {
        builder = builder.json(body);
    }
    let request = builder.build().map_err(|e| format!("failed to build a request to {url}: {e}"))?;
    send(client, request).await
}

/// An error with its causes, `outer: inner: innermost`, skipping causes the outer text repeats.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Template;
    use serde_json::json;

    fn endpoint() -> Endpoint {
        Endpoint { base_url: "http://127.0.0.1:9/".into(), master_key: "sk-master-1234567".into() }
    }

    fn request(actor: Actor) -> Request {
        Request {
            actor,
            method: "POST".into(),
            path: Template::parse("/team/{{team}}").unwrap(),
            query: vec![("team_id".into(), Template::parse("{{team}}").unwrap())],
            headers: vec![],
            body: Some(Body::Json(json!({"alias": "t-{{team}}", "n": "{{n}}"}))),
        }
    }

    fn vars() -> Variables {
        let mut v = Variables::new();
        v.insert("team".into(), json!("a b"));
        v.insert("n".into(), json!(3));
        v.insert("key".into(), json!("sk-virtual-abcd9876"));
        v
    }

    fn header<'r>(prepared: &'r Prepared, name: &str) -> Option<&'r str> {
        prepared.request.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn the_request_is_rendered_into_url_query_and_json_body() {
        let client = client(Duration::from_secs(1)).unwrap();
        let p = prepare(&client, &endpoint(), &request(Actor::Admin), &vars()).unwrap();
        assert_eq!(p.sent.url, "http://127.0.0.1:9/team/a%20b?team_id=a+b");
        assert_eq!(p.sent.body, Some(SentBody::Json(json!({"alias": "t-a b", "n": 3}))));
        assert_eq!(header(&p, "content-type"), Some("application/json"));
        let sent = p.request.body().and_then(|b| b.as_bytes()).unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(sent).unwrap(), json!({"alias": "t-a b", "n": 3}));
    }

    #[test]
    fn the_actor_decides_the_authorization_header() {
        let client = client(Duration::from_secs(1)).unwrap();
        let cases = [
            (Actor::Admin, Some("Bearer sk-master-1234567"), "admin"),
            (Actor::Anonymous, None, "none"),
            (Actor::Key(Template::parse("{{key}}").unwrap()), Some("Bearer sk-virtual-abcd9876"), "key sk-…9876"),
        ];
        for (actor, authorization, credentials) in cases {
            let p = prepare(&client, &endpoint(), &request(actor.clone()), &vars()).unwrap();
            assert_eq!(header(&p, "authorization"), authorization, "{actor:?}");
            assert_eq!(p.sent.credentials, credentials);
        }
    }

    #[test]
    fn step_headers_override_the_actor_and_hide_credentials() {
        let client = client(Duration::from_secs(1)).unwrap();
        let mut req = request(Actor::Admin);
        req.headers = vec![
            ("authorization".into(), Template::parse("Bearer {{key}}").unwrap()),
            ("x-trace".into(), Template::literal("1")),
        ];
        let p = prepare(&client, &endpoint(), &req, &vars()).unwrap();
        assert_eq!(header(&p, "authorization"), Some("Bearer sk-virtual-abcd9876"));
        assert_eq!(
            p.sent.headers,
            [("authorization".to_string(), "Bea…9876".to_string()), ("x-trace".to_string(), "1".to_string())]
        );
    }

    #[test]
    fn an_unknown_variable_is_a_render_failure() {
        let client = client(Duration::from_secs(1)).unwrap();
        let err = prepare(&client, &endpoint(), &request(Actor::Admin), &Variables::new()).err().unwrap();
        assert!(err.starts_with("failed to render the request: unknown variable `team`"), "{err}");
    }
}
