//! The request pipeline every management route shares, in LiteLLM's precedence:
//! malformed JSON (422) → authentication (401) → route gate → body validation (422) → handler.

use std::collections::HashMap;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, Query, Request};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::authz::{Denial, RouteRequest, check_route};
use super::domain::Caller;
use super::error::{ProxyError, ValidationItem};
use super::{AppState, Quirk, Quirks};

const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An authenticated request that passed the route gate, with its body not yet typed.
pub(crate) struct Authed {
    pub caller: Caller,
    pub body: Value,
    pub query: HashMap<String, String>,
}

impl FromRequest<AppState> for Authed {
    type Rejection = ProxyError;

    async fn from_request(req: Request<Body>, state: &AppState) -> Result<Authed, ProxyError> {
        let (parts, body) = req.into_parts();
        let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(body_error)?;
        let body = parse_json(&bytes)?;
        let query: HashMap<String, String> = Query::try_from_uri(&parts.uri).map(|Query(q)| q).unwrap_or_default();
        let caller = super::auth::authenticate(&state.store, &state.master_key, &parts.headers).await?;
        if crashes_in_auth(&body, state.store.quirks()) {
            return Err(ProxyError::internal("Internal Server Error"));
        }
        let route = RouteRequest {
            route: parts.uri.path(),
            method: parts.method.as_str(),
            organization_ids: organization_ids(&body, &query),
            query_user_id: query.get("user_id").cloned(),
            body_fields: body.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default(),
        };
        check_route(&caller, &route, state.store.quirks()).map_err(gate_error)?;
        Ok(Authed { caller, body, query })
    }
}

/// A body over the limit is a 413; any other failure to read it (a malformed chunked encoding, a
/// connection closed early) is the client's malformed request, a 400, with the reason.
fn body_error(err: axum::Error) -> ProxyError {
    let err = err.into_inner();
    if err.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
        return ProxyError::handler(413, format!("Request body larger than {MAX_BODY_BYTES} bytes"));
    }
    let mut reason = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    ProxyError::handler(400, format!("Invalid HTTP request received: the request body could not be read: {reason}"))
}

/// True when LiteLLM 1.83's authentication, reading fields of the body as of a dictionary, would
/// fail with an unhandled exception: a JSON array body with `array_body_crashes_auth` on.
fn crashes_in_auth(body: &Value, quirks: Quirks) -> bool {
    body.is_array() && quirks.contains(Quirk::ArrayBodyCrashesAuth)
}

/// Route-gate denials are always LiteLLM's OpenAI-style envelope with type `auth_error`.
fn gate_error(d: Denial) -> ProxyError {
    ProxyError::OpenAi {
        status: d.status(),
        error_type: d.error_type().unwrap_or("auth_error"),
        param: d.param(),
        message: d.message(),
    }
}

/// `organization_id` and `organizations` from the body merged with the query (the body wins).
fn organization_ids(body: &Value, query: &HashMap<String, String>) -> Vec<String> {
    let mut ids = Vec::new();
    match body.get("organization_id").and_then(Value::as_str) {
        Some(id) => ids.push(id.to_string()),
        None => ids.extend(query.get("organization_id").cloned()),
    }
    if let Some(list) = body.get("organizations").and_then(Value::as_array) {
        ids.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
    }
    ids
}

pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, ProxyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let offset = char_offset(bytes, e.line(), e.column());
        ProxyError::Validation(vec![ValidationItem {
            kind: "json_invalid",
            loc: vec![json!("body"), json!(offset)],
            msg: "JSON decode error".into(),
        }])
    })
}

fn char_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let before: usize = text.split('\n').take(line.saturating_sub(1)).map(|l| l.chars().count() + 1).sum();
    before + column.saturating_sub(1)
}

impl Authed {
    /// Whether the body carries `field` at all, whatever its value (`null` included): LiteLLM gates
    /// some fields on their presence (pydantic's `model_fields_set`), not their value.
    pub fn sends(&self, field: &str) -> bool {
        self.body.as_object().is_some_and(|m| m.contains_key(field))
    }

    /// Validates the body into the route's request model, with FastAPI's 422 items on failure.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ProxyError> {
        parse_body(&self.body)
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

pub(crate) fn parse_body<T: DeserializeOwned>(body: &Value) -> Result<T, ProxyError> {
    let item = |kind: &'static str, loc: Vec<Value>, msg: &str| {
        ProxyError::Validation(vec![ValidationItem { kind, loc, msg: msg.to_string() }])
    };
    match body {
        Value::Null => return Err(item("missing", vec![json!("body")], "Field required")),
        Value::Object(_) => {}
        _ => {
            return Err(item(
                "model_attributes_type",
                vec![json!("body")],
                "Input should be a valid dictionary or object to extract fields from",
            ));
        }
    }
    serde_path_to_error::deserialize(body).map_err(|err| {
        let mut loc = vec![json!("body")];
        loc.extend(err.path().iter().filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(json!(key)),
            serde_path_to_error::Segment::Seq { index } => Some(json!(index)),
            _ => None,
        }));
        let (kind, msg) = pydantic_error(&err.inner().to_string(), &mut loc);
        ProxyError::Validation(vec![ValidationItem { kind, loc, msg }])
    })
}

/// Maps serde's message to the pydantic error type and text a real proxy sends.
fn pydantic_error(serde_msg: &str, loc: &mut Vec<Value>) -> (&'static str, String) {
    if let Some(field) = serde_msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        loc.push(json!(field));
        return ("missing", "Field required".into());
    }
    if let Some(custom) = serde_msg.strip_prefix("value_error: ") {
        return ("value_error", format!("Value error, {custom}"));
    }
    if serde_msg.starts_with("unknown variant") {
        return ("literal_error", serde_msg.split(", expected").next().unwrap_or(serde_msg).to_string());
    }
    let got_string = serde_msg.contains("invalid type: string");
    let expected = serde_msg.rsplit("expected ").next().unwrap_or("");
    let (kind, msg) = match expected {
        e if e.starts_with("f64") || e.starts_with("f32") => {
            if got_string {
                ("float_parsing", "Input should be a valid number, unable to parse string as a number")
            } else {
                ("float_type", "Input should be a valid number")
            }
        }
        e if e.starts_with('i') || e.starts_with('u') && !e.starts_with("unit") => {
            ("int_type", "Input should be a valid integer")
        }
        e if e.starts_with("a string") || e.starts_with("string") => ("string_type", "Input should be a valid string"),
        e if e.starts_with("a boolean") => ("bool_type", "Input should be a valid boolean"),
        e if e.starts_with("a sequence") => ("list_type", "Input should be a valid list"),
        e if e.starts_with("a map") || e.starts_with("struct") => ("dict_type", "Input should be a valid dictionary"),
        _ => ("value_error", serde_msg),
    };
    (kind, msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn only_an_array_body_with_the_quirk_crashes_in_auth() {
        let on = Quirks::NONE.with(Quirk::ArrayBodyCrashesAuth);
        let other = Quirks::NONE.with(Quirk::StaleTeamCache);
        let cases = [
            (json!([1, 2]), on, true),
            (json!([1, 2]), Quirks::NONE, false),
            (json!([1, 2]), other, false),
            (json!({"a": 1}), on, false),
            (Value::Null, on, false),
            (json!("text"), on, false),
        ];
        for (body, quirks, crashes) in cases {
            assert_eq!(crashes_in_auth(&body, quirks), crashes, "{body} {quirks}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "fields exist to be validated")]
    struct Req {
        team_id: String,
        max_budget: Option<f64>,
        models: Option<Vec<String>>,
        tpm_limit: Option<i64>,
    }

    fn detail(body: Value) -> Value {
        parse_body::<Req>(&body).unwrap_err().body()["detail"][0].clone()
    }

    #[test]
    fn validation_items_look_like_fastapi() {
        let cases = [
            (json!({}), json!({"type": "missing", "loc": ["body", "team_id"], "msg": "Field required"})),
            (
                json!({"team_id": 1}),
                json!({"type": "string_type", "loc": ["body", "team_id"], "msg": "Input should be a valid string"}),
            ),
            (
                json!({"team_id": "t", "max_budget": "abc"}),
                json!({"type": "float_parsing", "loc": ["body", "max_budget"], "msg": "Input should be a valid number, unable to parse string as a number"}),
            ),
            (
                json!({"team_id": "t", "models": "gpt"}),
                json!({"type": "list_type", "loc": ["body", "models"], "msg": "Input should be a valid list"}),
            ),
            (
                json!({"team_id": "t", "models": [1]}),
                json!({"type": "string_type", "loc": ["body", "models", 0], "msg": "Input should be a valid string"}),
            ),
            (
                json!({"team_id": "t", "tpm_limit": "x"}),
                json!({"type": "int_type", "loc": ["body", "tpm_limit"], "msg": "Input should be a valid integer"}),
            ),
            (
                json!([1]),
                json!({"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be a valid dictionary or object to extract fields from"}),
            ),
            (Value::Null, json!({"type": "missing", "loc": ["body"], "msg": "Field required"})),
        ];
        for (body, expected) in cases {
            assert_eq!(detail(body.clone()), expected, "{body}");
        }
    }

    #[test]
    fn malformed_json_is_json_invalid_with_the_offset() {
        let err = parse_json(b"{\"team_id\": ").unwrap_err();
        let body = err.body();
        assert_eq!(err.status(), 422);
        assert_eq!(body["detail"][0]["type"], "json_invalid");
        assert_eq!(body["detail"][0]["msg"], "JSON decode error");
        assert_eq!(body["detail"][0]["loc"][0], "body");
    }

    #[test]
    fn organization_ids_come_from_body_then_query() {
        let q: HashMap<String, String> = [("organization_id".to_string(), "q".to_string())].into();
        assert_eq!(organization_ids(&json!({"organization_id": "b"}), &q), ["b"]);
        assert_eq!(organization_ids(&json!({}), &q), ["q"]);
        assert_eq!(organization_ids(&json!({"organizations": ["x", "y"]}), &HashMap::new()), ["x", "y"]);
    }
}
