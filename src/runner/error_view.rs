//! LiteLLM's error, normalized from whichever envelope the target used.
//!
//! LiteLLM answers errors in two shapes: the OpenAI-style `{"error": {"message", "type", "param",
//! "code"}}` from its exception handlers, and FastAPI's `{"detail": …}` from `HTTPException` and
//! request validation. Scenarios assert on the normalized view so they hold for both.

use serde_json::Value;

/// The parts of an error response that `expect.error` can check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorView {
    pub message: String,
    pub error_type: Option<String>,
    pub param: Option<String>,
    /// `code` as a string, whether the target sent a number or a string.
    pub code: Option<String>,
}

/// The error carried by a response body, or `None` when the body has no error envelope.
pub fn normalize(body: &Value) -> Option<ErrorView> {
    let object = body.as_object()?;
    if let Some(error) = object.get("error") {
        return from_error_envelope(error);
    }
    object.get("detail").map(from_detail)
}

fn from_error_envelope(error: &Value) -> Option<ErrorView> {
    match error {
        Value::Object(fields) => Some(ErrorView {
            message: fields.get("message").map(text_of).unwrap_or_default(),
            error_type: fields.get("type").and_then(scalar_text),
            param: fields.get("param").and_then(scalar_text),
            code: fields.get("code").and_then(scalar_text),
        }),
        // Some handlers put the message itself under `error`.
        Value::String(message) => Some(ErrorView { message: message.clone(), ..ErrorView::default() }),
        _ => None,
    }
}

fn from_detail(detail: &Value) -> ErrorView {
    match detail {
        Value::String(text) => ErrorView { message: text.clone(), ..ErrorView::default() },
        Value::Object(fields) => {
            let message = match (fields.get("error"), fields.get("message")) {
                (Some(Value::String(error)), _) => error.clone(),
                (_, Some(Value::String(message))) => message.clone(),
                _ => detail.to_string(),
            };
            ErrorView { message, ..ErrorView::default() }
        }
        // FastAPI's 422: a list of validation problems, each with `msg` and `type`.
        Value::Array(items) => ErrorView {
            message: items.iter().filter_map(|item| item.get("msg").map(text_of)).collect::<Vec<_>>().join("; "),
            error_type: items.first().and_then(|item| item.get("type")).and_then(scalar_text),
            ..ErrorView::default()
        },
        other => ErrorView { message: other.to_string(), ..ErrorView::default() },
    }
}

/// A string as is, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A string or number as text; `null` (LiteLLM's usual `param`) as nothing.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        other => Some(text_of(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(message: &str, error_type: Option<&str>, param: Option<&str>, code: Option<&str>) -> ErrorView {
        ErrorView {
            message: message.into(),
            error_type: error_type.map(Into::into),
            param: param.map(Into::into),
            code: code.map(Into::into),
        }
    }

    #[test]
    fn every_envelope_normalizes_to_message_type_and_code() {
        let cases = [
            (
                json!({"error": {"message": "Authentication Error, bad key", "type": "auth_error", "param": "None", "code": "401"}}),
                view("Authentication Error, bad key", Some("auth_error"), Some("None"), Some("401")),
            ),
            (
                json!({"error": {"message": "no access", "type": "auth_error", "param": null, "code": 403}}),
                view("no access", Some("auth_error"), None, Some("403")),
            ),
            (json!({"error": "plain text"}), view("plain text", None, None, None)),
            (json!({"detail": "Team not found"}), view("Team not found", None, None, None)),
            (
                json!({"detail": {"error": "You do not have access to this team"}}),
                view("You do not have access to this team", None, None, None),
            ),
            (json!({"detail": {"error": {"x": 1}, "message": "fallback"}}), view("fallback", None, None, None)),
            (json!({"detail": {"other": 1}}), view(r#"{"other":1}"#, None, None, None)),
            (
                json!({"detail": [
                    {"type": "missing", "loc": ["body", "team_id"], "msg": "Field required"},
                    {"type": "string_type", "loc": ["body", "x"], "msg": "Input should be a valid string"}
                ]}),
                view("Field required; Input should be a valid string", Some("missing"), None, None),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(normalize(&body), Some(expected), "body: {body}");
        }
    }

    #[test]
    fn bodies_without_an_error_envelope_have_no_error() {
        for body in [json!({"team_id": "t"}), json!([1, 2]), json!("text"), json!({"error": 3})] {
            assert_eq!(normalize(&body), None, "body: {body}");
        }
    }
}
