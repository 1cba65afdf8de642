//! LiteLLM's three error bodies, and the one type every handler fails with.
//!
//! Which body a failure gets depends on where LiteLLM raises it, not on its status,
//! so the handler picks the shape when it builds the error.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::authz::LlmDenial;

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

/// Why a database call failed, as far as the client is concerned: its own input (a duplicate of a
/// unique value, or a value Postgres cannot store) or the database itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DbFailure {
    /// A unique constraint: another row already has this id, name or alias.
    Duplicate,
    /// A value the database cannot take: NUL in text, a value too long for its index, a dangling
    /// reference.
    BadInput,
    /// The connection or the server is gone or refusing work.
    Unavailable,
    /// Anything else, such as a query the reference got wrong.
    Internal,
}

impl DbFailure {
    /// The failure an SQLSTATE code stands for.
    pub fn of_sqlstate(code: &str) -> DbFailure {
        match code {
            "23505" => DbFailure::Duplicate,
            // Class 22 is data exceptions (22021: NUL in text, 22P05: NUL in JSON text, 22001: too
            // long), class 23 integrity violations; 54000 is "index row requires N bytes".
            c if c.starts_with("22") || c.starts_with("23") || c == "54000" => DbFailure::BadInput,
            // Class 08 is connection exceptions; 53300 too many connections; 57P01..57P03 shutdown
            // and start-up.
            c if c.starts_with("08") || matches!(c, "53300" | "57P01" | "57P02" | "57P03") => DbFailure::Unavailable,
            _ => DbFailure::Internal,
        }
    }

    pub fn of(err: &sqlx::Error) -> DbFailure {
        match err {
            sqlx::Error::Database(e) => e.code().map_or(DbFailure::Internal, |c| DbFailure::of_sqlstate(&c)),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => DbFailure::Unavailable,
            _ => DbFailure::Internal,
        }
    }
}

/// The name of the unique constraint `err` violated, when that is why the write failed. Handlers that
/// create rows with client-chosen ids turn it into LiteLLM's duplicate answer.
pub(crate) fn violated_unique(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(e) if DbFailure::of(err) == DbFailure::Duplicate => {
            Some(e.constraint().unwrap_or_default().to_string())
        }
        _ => None,
    }
}

impl ProxyError {
    /// `err`, or what `duplicate` answers for the unique constraint it violated.
    pub fn from_db_or(err: sqlx::Error, duplicate: impl FnOnce(&str) -> Option<ProxyError>) -> ProxyError {
        violated_unique(&err).and_then(|c| duplicate(&c)).unwrap_or_else(|| ProxyError::from(err))
    }
}

/// A model or budget refusal of a virtual key's call, in LiteLLM's shape.
impl From<LlmDenial> for ProxyError {
    fn from(d: LlmDenial) -> ProxyError {
        ProxyError::typed(d.status(), d.error_type(), d.param(), d.message())
    }
}

impl From<sqlx::Error> for ProxyError {
    fn from(err: sqlx::Error) -> ProxyError {
        let db_message = match &err {
            sqlx::Error::Database(e) => e.message().to_string(),
            other => other.to_string(),
        };
        match DbFailure::of(&err) {
            DbFailure::Duplicate => {
                tracing::info!(error = %err, "write rejected: duplicate");
                ProxyError::handler(409, format!("Conflict: {db_message}"))
            }
            DbFailure::BadInput => {
                tracing::info!(error = %err, "write rejected: bad input");
                let code = err.as_database_error().and_then(|e| e.code()).unwrap_or_default();
                let message = match code.as_ref() {
                    "22021" | "22P05" => "Invalid request: text cannot contain the NUL character (\\u0000)".to_string(),
                    "54000" => format!("Invalid request: a value is too long to store ({db_message})"),
                    _ => format!("Invalid request: {db_message}"),
                };
                ProxyError::handler(400, message)
            }
            DbFailure::Unavailable => {
                tracing::error!(error = %err, "database unavailable");
                ProxyError::typed(500, "no_db_connection", None, format!("failed to query the database: {err}"))
            }
            DbFailure::Internal => {
                tracing::error!(error = %err, "database error");
                ProxyError::internal(format!("database error: {err}"))
            }
        }
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
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
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
    fn sqlstates_tell_bad_input_from_lost_connections() {
        let cases = [
            ("23505", DbFailure::Duplicate),
            ("22021", DbFailure::BadInput),
            ("22P05", DbFailure::BadInput),
            ("22001", DbFailure::BadInput),
            ("23503", DbFailure::BadInput),
            ("54000", DbFailure::BadInput),
            ("08006", DbFailure::Unavailable),
            ("08001", DbFailure::Unavailable),
            ("53300", DbFailure::Unavailable),
            ("57P01", DbFailure::Unavailable),
            ("42P01", DbFailure::Internal),
            ("40001", DbFailure::Internal),
        ];
        for (code, failure) in cases {
            assert_eq!(DbFailure::of_sqlstate(code), failure, "{code}");
        }
    }

    #[test]
    fn only_connection_loss_is_labelled_no_db_connection() {
        for (err, status, error_type) in [
            (sqlx::Error::PoolTimedOut, 500, "no_db_connection"),
            (sqlx::Error::PoolClosed, 500, "no_db_connection"),
            (sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)), 500, "no_db_connection"),
            (sqlx::Error::RowNotFound, 500, "internal_server_error"),
            (sqlx::Error::ColumnNotFound("x".into()), 500, "internal_server_error"),
        ] {
            let shown = format!("{err}");
            let e = ProxyError::from(err);
            assert_eq!((e.status(), e.body()["error"]["type"].clone()), (status, json!(error_type)), "{shown}");
        }
    }

    #[test]
    fn control_characters_print_like_python() {
        assert_eq!(py_str("a\u{0}b"), "'a\\x00b'");
        assert_eq!(py_str("a\tb\r\u{7f}"), "'a\\tb\\r\\x7f'");
    }

    #[test]
    fn lists_print_like_python() {
        assert_eq!(py_list(&["G1".into(), "G2".into()]), "['G1', 'G2']");
        assert_eq!(py_list(&[]), "[]");
    }
}
