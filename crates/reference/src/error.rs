//! LiteLLM's three error bodies, and the one type every handler fails with.
//!
//! Which body a failure gets depends on where LiteLLM raises it, not on its status,
//! so the handler picks the shape when it builds the error.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProxyError {
    /// Shape A: `{"error": {"message", "type", "param", "code"}}`.
    OpenAi { status: u16, message: String, error_type: &'static str, param: Option<String> },
    /// Shape B: FastAPI's `{"detail": …}` passed through.
    Detail { status: u16, detail: Value },
    /// Shape C: request validation, 422 `{"detail": [items]}`.
    Validation(Vec<ValidationItem>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValidationItem {
    pub kind: &'static str,
    pub loc: Vec<Value>,
    pub msg: String,
}

impl ProxyError {
    /// Shape A with the type LiteLLM 1.109 derives from the status in `handle_exception_on_proxy`.
    pub fn handler(status: u16, message: impl Into<String>) -> ProxyError {
        let error_type = match status {
            401 | 403 => "auth_error",
            400..=499 => "invalid_request_error",
            _ => "internal_server_error",
        };
        ProxyError::OpenAi { status, message: message.into(), error_type, param: None }
    }

    /// Shape A whose message is the Python repr of `{'error': message}`, as LiteLLM renders a dict
    /// detail raised inside a wrapping handler.
    pub fn handler_dict(status: u16, message: &str) -> ProxyError {
        ProxyError::handler(status, format!("{{'error': {}}}", py_str(message)))
    }

    pub fn typed(status: u16, error_type: &'static str, param: Option<&str>, message: impl Into<String>) -> ProxyError {
        ProxyError::OpenAi { status, message: message.into(), error_type, param: param.map(str::to_string) }
    }

    /// Shape B with a plain string detail.
    pub fn detail(status: u16, message: impl Into<String>) -> ProxyError {
        ProxyError::Detail { status, detail: Value::String(message.into()) }
    }

    /// Shape B with `{"error": message}` as detail.
    pub fn detail_error(status: u16, message: impl Into<String>) -> ProxyError {
        ProxyError::Detail { status, detail: json!({ "error": message.into() }) }
    }

    pub fn internal(message: impl Into<String>) -> ProxyError {
        ProxyError::handler(500, message)
    }

    pub fn status(&self) -> u16 {
        match self {
            ProxyError::OpenAi { status, .. } | ProxyError::Detail { status, .. } => *status,
            ProxyError::Validation(_) => 422,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ProxyError::OpenAi { status, message, error_type, param } => json!({
                "error": {"message": message, "type": error_type, "param": param, "code": status.to_string()}
            }),
            ProxyError::Detail { detail, .. } => json!({ "detail": detail }),
            ProxyError::Validation(items) => json!({
                "detail": items.iter().map(|i| json!({"type": i.kind, "loc": i.loc, "msg": i.msg})).collect::<Vec<_>>()
            }),
        }
    }
}

impl From<sqlx::Error> for ProxyError {
    fn from(err: sqlx::Error) -> ProxyError {
        tracing::error!(error = %err, "database error");
        ProxyError::typed(500, "no_db_connection", None, format!("failed to query the database: {err}"))
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body())).into_response()
    }
}

/// Python's `repr()` of a string: single quotes unless the text holds a single quote and no double one.
pub(crate) fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a list of strings: `['a', 'b']`.
pub(crate) fn py_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| py_str(s)).collect::<Vec<_>>().join(", "))
}

/// Python's `str(float)`: `10.0`, `0.5`, `1e-05`.
pub(crate) fn py_float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        let s = format!("{v:e}");
        // Rust prints `1e-5`; Python pads the exponent to two digits with a sign.
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_a_has_code_as_a_string_and_null_param() {
        let body = ProxyError::handler(403, "You do not have access to this team").body();
        assert_eq!(
            body,
            json!({"error": {"message": "You do not have access to this team", "type": "auth_error", "param": null, "code": "403"}})
        );
    }

    #[test]
    fn handler_types_follow_the_status() {
        let types: Vec<_> = [401, 403, 400, 404, 422, 500]
            .into_iter()
            .map(|s| match ProxyError::handler(s, "m") {
                ProxyError::OpenAi { error_type, .. } => error_type,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            types,
            [
                "auth_error",
                "auth_error",
                "invalid_request_error",
                "invalid_request_error",
                "invalid_request_error",
                "internal_server_error"
            ]
        );
    }

    #[test]
    fn dict_details_render_as_python_repr() {
        let e = ProxyError::handler_dict(404, "No keys found");
        assert_eq!(e.body()["error"]["message"], "{'error': 'No keys found'}");
        let e = ProxyError::handler_dict(403, "Key requests MCP access groups not allowed by team 't1': ['g2']");
        assert_eq!(
            e.body()["error"]["message"],
            "{'error': \"Key requests MCP access groups not allowed by team 't1': ['g2']\"}"
        );
    }

    #[test]
    fn floats_print_like_python() {
        for (v, s) in [(10.0, "10.0"), (0.5, "0.5"), (1e-5, "1e-05"), (0.0001, "0.0001"), (1e16, "1e+16"), (0.0, "0.0")]
        {
            assert_eq!(py_float(v), s, "{v}");
        }
    }

    #[test]
    fn lists_print_like_python() {
        assert_eq!(py_list(&["G1".into(), "G2".into()]), "['G1', 'G2']");
        assert_eq!(py_list(&[]), "[]");
    }
}
