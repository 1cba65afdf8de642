//! Malformed requests to the reference proxy, and the judgement of its answers, shared by the fuzz
//! test (`tests/hostile.rs`, a bounded run) and the long runs (`examples/hostile_load.rs`).
//!
//! Requests are raw bytes on a fresh loopback connection (`connection: close`), so anything can be
//! sent, header bytes and framing included, and a dropped connection is seen as such. The verdict on
//! an answer: never a dropped connection, never a 5xx, and a 4xx body in one of LiteLLM's error
//! shapes (`{"error": {message, type, param, code}}`, or FastAPI's `{"detail": …}` where LiteLLM itself
//! answers that way: routing 404/405 and 422 validation).

#![allow(dead_code, reason = "the test and the example each use part of it")]

use std::net::SocketAddr;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug)]
pub enum Outcome {
    Answered {
        status: u16,
        head: String,
        body: Vec<u8>,
    },
    /// The connection closed, or failed, before a whole response arrived.
    Dropped(String),
}

/// Sends `request` on a new connection and reads the answer to the end.
pub async fn send(addr: SocketAddr, request: &[u8]) -> Outcome {
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return Outcome::Dropped(format!("connect: {e}")),
    };
    // The server may answer and close before it has read a long request: the answer still counts.
    let _ = stream.write_all(request).await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut buf)).await;
    match read {
        Err(_) => return Outcome::Dropped("no answer within 60 s".into()),
        Ok(Err(e)) if buf.is_empty() || !(complete(&buf) || request.starts_with(b"HEAD ")) => {
            return Outcome::Dropped(format!("read: {e}"));
        }
        Ok(_) => {}
    }
    // A HEAD answer has its GET's content-length and no body.
    if request.starts_with(b"HEAD ") {
        return parse(&buf).map_or_else(|_| head_only(&buf), Ok).unwrap_or_else(|why| Outcome::Dropped(why.into()));
    }
    parse(&buf).unwrap_or_else(|why| {
        Outcome::Dropped(format!("{why}: {:?}", String::from_utf8_lossy(&buf[..buf.len().min(300)])))
    })
}

fn head_only(buf: &[u8]) -> Result<Outcome, &'static str> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).ok_or("no status")?;
    Ok(Outcome::Answered { status, head, body: Vec::new() })
}

fn complete(buf: &[u8]) -> bool {
    matches!(parse(buf), Ok(Outcome::Answered { .. }))
}

fn parse(buf: &[u8]) -> Result<Outcome, &'static str> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).ok_or("no status")?;
    let rest = &buf[end + 4..];
    let lower = head.to_ascii_lowercase();
    let body = if lower.contains("transfer-encoding: chunked") {
        dechunk(rest).ok_or("a chunked body cut short")?
    } else {
        let length = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest.get(..length).ok_or("a body cut short")?.to_vec()
    };
    Ok(Outcome::Answered { status, head, body })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// Why `outcome`, the answer to `request`, breaks the rules, if it does.
pub fn judge(request: &[u8], outcome: &Outcome) -> Result<(), String> {
    let (status, body) = match outcome {
        Outcome::Dropped(why) => return Err(format!("dropped connection ({why})")),
        Outcome::Answered { status, body, .. } => (*status, body),
    };
    if status >= 500 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(500)])));
    }
    if status >= 400 && !request.starts_with(b"HEAD ") {
        let v: Value = serde_json::from_slice(body).map_err(|_| {
            format!("{status} without a JSON body: {:?}", String::from_utf8_lossy(&body[..body.len().min(300)]))
        })?;
        if !litellm_error_shape(&v) {
            return Err(format!("{status} not in LiteLLM's error shape: {v}"));
        }
    }
    Ok(())
}

pub fn litellm_error_shape(v: &Value) -> bool {
    let e = &v["error"];
    let shape_a =
        e["message"].is_string() && e["type"].is_string() && e["code"].is_string() && e.get("param").is_some();
    let shape_b = v.get("detail").is_some();
    shape_a || shape_b
}

/// A request: method, target, headers and body, framed as `framing` says.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub framing: Framing,
}

#[derive(Clone, Copy, Debug)]
pub enum Framing {
    Length,
    Chunked,
    /// `transfer-encoding: chunked` with a chunk-size line that is not hex.
    BadChunked,
}

impl Request {
    pub fn new(method: &str, target: impl Into<Vec<u8>>, bearer: Option<&str>, body: impl Into<Vec<u8>>) -> Request {
        let headers =
            bearer.map(|b| ("authorization".to_string(), format!("Bearer {b}").into_bytes())).into_iter().collect();
        Request { method: method.into(), target: target.into(), headers, body: body.into(), framing: Framing::Length }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = format!("{} ", self.method).into_bytes();
        out.extend(&self.target);
        out.extend(b" HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\n");
        for (name, value) in &self.headers {
            out.extend(name.as_bytes());
            out.extend(b": ");
            out.extend(value);
            out.extend(b"\r\n");
        }
        match self.framing {
            Framing::Length => {
                out.extend(format!("content-length: {}\r\n\r\n", self.body.len()).into_bytes());
                out.extend(&self.body);
            }
            Framing::Chunked => {
                out.extend(b"transfer-encoding: chunked\r\n\r\n");
                if !self.body.is_empty() {
                    out.extend(format!("{:x}\r\n", self.body.len()).into_bytes());
                    out.extend(&self.body);
                    out.extend(b"\r\n");
                }
                out.extend(b"0\r\n\r\n");
            }
            Framing::BadChunked => {
                out.extend(b"transfer-encoding: chunked\r\n\r\nzz\r\n");
                out.extend(&self.body);
                out.extend(b"\r\n0\r\n\r\n");
            }
        }
        out
    }
}

/// The routes of the reference proxy's router, `{}` where a path segment is an id.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health/liveliness"),
    ("GET", "/health/readiness"),
    ("POST", "/user/new"),
    ("GET", "/user/info"),
    ("POST", "/user/delete"),
    ("POST", "/team/new"),
    ("GET", "/team/info"),
    ("POST", "/team/update"),
    ("POST", "/team/delete"),
    ("POST", "/team/block"),
    ("POST", "/team/unblock"),
    ("POST", "/team/member_add"),
    ("GET", "/team/permissions_list"),
    ("POST", "/team/permissions_update"),
    ("POST", "/key/generate"),
    ("GET", "/key/info"),
    ("POST", "/key/update"),
    ("POST", "/key/delete"),
    ("POST", "/key/regenerate"),
    ("POST", "/key/{}/regenerate"),
    ("POST", "/key/bulk_update"),
    ("POST", "/model/new"),
    ("GET", "/model/info"),
    ("GET", "/v2/model/info"),
    ("GET", "/model_group/info"),
    ("GET", "/models"),
    ("POST", "/model/delete"),
    ("POST", "/chat/completions"),
    ("POST", "/engines/{}/chat/completions"),
    ("POST", "/openai/deployments/{}/chat/completions"),
    ("POST", "/organization/new"),
    ("GET", "/organization/info"),
    ("POST", "/organization/member_add"),
    ("DELETE", "/organization/delete"),
    ("PATCH", "/organization/member_update"),
    ("DELETE", "/organization/member_delete"),
    ("POST", "/v1/mcp/server"),
    ("GET", "/v1/mcp/server"),
    ("PUT", "/v1/mcp/server"),
    ("GET", "/v1/mcp/server/{}"),
    ("DELETE", "/v1/mcp/server/{}"),
    ("GET", "/v1/mcp/access_groups"),
    ("GET", "/v1/mcp/toolset"),
    ("GET", "/mcp-rest/tools/list"),
    ("POST", "/mcp-rest/tools/call"),
    ("POST", "/v1/access_group"),
    ("GET", "/v1/access_group"),
    ("GET", "/v1/access_group/{}"),
    ("PUT", "/v1/access_group/{}"),
    ("DELETE", "/v1/access_group/{}"),
    ("GET", "/nowhere"),
];

/// Body fields the handlers read, so random values reach their parsing and not only serde's.
const FIELDS: &[&str] = &[
    "team_id",
    "team_alias",
    "user_id",
    "user_email",
    "user_role",
    "key",
    "keys",
    "key_alias",
    "models",
    "max_budget",
    "budget_duration",
    "duration",
    "metadata",
    "member",
    "members",
    "role",
    "organization_id",
    "organization_alias",
    "server_id",
    "access_group_id",
    "model",
    "messages",
    "tpm_limit",
    "rpm_limit",
    "blocked",
    "teams",
    "user_ids",
    "team_ids",
    "permissions",
    "object_permission",
    "mcp_servers",
    "server_name",
    "url",
    "transport",
    "access_group_name",
    "model_name",
    "litellm_params",
    "model_info",
    "new_key",
    "key_type",
    "spend",
    "soft_budget",
    "team_member_permissions",
];

/// Strings where parsing has gone wrong before: durations, odd text, huge numbers.
fn nasty_string() -> impl Strategy<Value = String> {
    let mut choices: Vec<BoxedStrategy<String>> = vec![
        Just(String::new()).boxed(),
        Just("30d".to_string()).boxed(),
        Just("-1s".to_string()).boxed(),
        Just("1e400".to_string()).boxed(),
        "[a-z0-9]{1,12}[smhdwMy]?".boxed(),
        any::<String>().boxed(),
        Just("a\0b".to_string()).boxed(),
        Just("t".repeat(100_000)).boxed(),
    ];
    for duration in ["1é", "😀", "9223372036854775807s", "100000000d"] {
        choices.push(Just(duration.to_string()).boxed());
    }
    proptest::strategy::Union::new(choices)
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(u64::MAX)),
        nasty_string().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS).prop_map(str::to_string), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A body: an object of known fields with random values mostly, else any JSON, an array, raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let object = prop::collection::vec((prop::sample::select(FIELDS), json_value()), 0..5).prop_map(|kv| {
        Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).to_string().into_bytes()
    });
    prop_oneof![
        6 => object,
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(json_value(), 0..4).prop_map(|v| Value::Array(v).to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
    ]
}

/// A percent-encoded segment of random bytes, `%00` included.
fn encoded() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..24).prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect())
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[A-Za-z0-9_-]{1,16}", 1 => encoded(), 1 => nasty_string().prop_map(|s| percent(&s))]
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn query() -> impl Strategy<Value = String> {
    let pair = (prop_oneof![prop::sample::select(FIELDS).prop_map(str::to_string), segment()], segment());
    prop::collection::vec(pair, 0..4).prop_map(|pairs| {
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
        }
    })
}

/// Who asks: the master key mostly (its requests reach the handlers), else a made-up key, none, or
/// garbage after `Bearer`.
fn bearer(master: String) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        6 => Just(Some(format!("Bearer {master}").into_bytes())),
        1 => Just(None),
        1 => "sk-[a-z0-9]{0,20}".prop_map(|k| Some(format!("Bearer {k}").into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| Some([b"Bearer ".to_vec(), b].concat())),
    ]
}

pub fn request(master: String) -> impl Strategy<Value = Request> {
    let framing = prop_oneof![8 => Just(Framing::Length), 1 => Just(Framing::Chunked), 1 => Just(Framing::BadChunked)];
    let other_method =
        prop::sample::select(&["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "G\x01T"][..]);
    (
        prop::sample::select(ROUTES),
        prop::option::weighted(0.1, other_method),
        segment(),
        query(),
        bearer(master),
        body(),
        framing,
    )
        .prop_map(|((method, route), other, id, query, bearer, body, framing)| {
            let path = route.replace("{}", &id);
            let headers = bearer.map(|b| ("authorization".to_string(), b)).into_iter().collect();
            Request {
                method: other.unwrap_or(method).to_string(),
                target: format!("{path}{query}").into_bytes(),
                headers,
                body,
                framing,
            }
        })
}

/// The key `fixture-key` makes, for the /key/update cases after it.
pub const FIXED_KEY: &str = "sk-hostile-fixed-case";

/// The inputs named in issue 16, and the errors answered before any handler, as fixed cases, in
/// the order they are to be sent.
pub fn regressions(master: &str) -> Vec<(&'static str, Request)> {
    let m = Some(master);
    let json = |v: Value| v.to_string().into_bytes();
    let mut cases = vec![
        // The key the /key/update cases change: a duration is read only once the key is found.
        ("fixture-key", Request::new("POST", "/key/generate", m, json(json!({"key": FIXED_KEY})))),
        ("bad-header-byte", {
            let mut r = Request::new("GET", "/user/info", m, "");
            r.headers.push(("x-bad".into(), b"a\x01b".to_vec()));
            r
        }),
        ("uri-too-long", Request::new("GET", format!("/user/info?user_id={}", "a".repeat(70_000)), m, "")),
        ("head-too-large", {
            let mut r = Request::new("GET", "/user/info", m, "");
            r.headers.push(("x-big".into(), vec![b'a'; 1_000_000]));
            r
        }),
        ("body-too-large", Request::new("POST", "/team/new", m, json(json!({"team_alias": "a".repeat(5_000_000)})))),
        ("path-not-utf8", Request::new("POST", "/key/%ff%fe/regenerate", m, "{}")),
        ("malformed-chunked", Request { framing: Framing::BadChunked, ..Request::new("POST", "/team/new", m, "{}") }),
        ("array-body-team-new", Request::new("POST", "/team/new", m, "[1, 2]")),
        ("array-body-key-generate", Request::new("POST", "/key/generate", m, "[]")),
        ("array-body-unauthenticated", Request::new("POST", "/key/generate", None, "[{}]")),
    ];
    for (name, value) in [
        ("duration-1e", "1é"),
        ("duration-emoji", "😀"),
        ("duration-i64-max-seconds", "9223372036854775807s"),
        ("duration-100000000d", "100000000d"),
    ] {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        cases.push((
            leak(format!("{name}-key-generate")),
            Request::new("POST", "/key/generate", m, json(json!({"duration": value}))),
        ));
        cases.push((
            leak(format!("{name}-team-budget")),
            Request::new("POST", "/team/new", m, json(json!({"budget_duration": value}))),
        ));
        cases.push((
            leak(format!("{name}-key-update")),
            Request::new("POST", "/key/update", m, json(json!({"key": FIXED_KEY, "duration": value}))),
        ));
        cases.push((
            leak(format!("{name}-user-new")),
            Request::new("POST", "/user/new", m, json(json!({"duration": value}))),
        ));
        cases.push((
            leak(format!("{name}-user-budget")),
            Request::new("POST", "/user/new", m, json(json!({"budget_duration": value, "auto_create_key": false}))),
        ));
    }
    cases.extend([
        ("nul-in-body", Request::new("POST", "/team/new", m, json(json!({"team_alias": "a\u{0}b"})))),
        ("nul-in-body-id", Request::new("POST", "/team/new", m, json(json!({"team_id": "t\u{0}1"})))),
        ("nul-in-query", Request::new("GET", "/team/info?team_id=a%00b", m, "")),
        ("nul-in-path", Request::new("GET", "/v1/access_group/a%00b", m, "")),
        ("nul-in-key-path", Request::new("POST", "/key/%00/regenerate", m, "{}")),
        ("nul-in-team-metadata", Request::new("POST", "/team/new", m, json(json!({"metadata": {"note": "a\u{0}b"}})))),
        ("nul-in-key-metadata", Request::new("POST", "/key/generate", m, json(json!({"metadata": {"a\u{0}": 1}})))),
        ("long-team-id", Request::new("POST", "/team/new", m, json(json!({"team_id": "t".repeat(100_000)})))),
        ("long-team-id-info", Request::new("GET", format!("/team/info?team_id={}", "t".repeat(60_000)), m, "")),
    ]);
    cases
}
