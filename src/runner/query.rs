//! JSONPath queries on a response body (RFC 9535, via serde_json_path), and how their results read in
//! messages.

use serde_json::Value;
use serde_json_path::JsonPath;

/// The nodes `path` selects in `body`.
pub(crate) fn select<'v>(path: &JsonPath, body: &'v Value) -> Vec<&'v Value> {
    path.query(body).all()
}

/// The single node `path` selects, or a description of what it selected instead.
pub(crate) fn single<'v>(path: &JsonPath, body: &'v Value) -> Result<&'v Value, String> {
    match select(path, body).as_slice() {
        [node] => Ok(node),
        nodes => Err(describe_nodes(nodes)),
    }
}

/// `no node matches`, one node as compact JSON, or `N nodes match: [...]`.
pub(crate) fn describe_nodes(nodes: &[&Value]) -> String {
    match nodes {
        [] => "no node matches".to_string(),
        [node] => show(node),
        many => {
            let values = Value::Array(many.iter().map(|v| (*v).clone()).collect());
            format!("{} nodes match: {}", many.len(), show(&values))
        }
    }
}

/// Compact JSON, shortened so one value cannot flood a report.
pub(crate) fn show(value: &Value) -> String {
    truncate(&value.to_string(), 300)
}

/// The longest prefix of `text` of at most `max` bytes that ends at a character boundary.
pub(crate) fn char_prefix(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// At most `max` bytes of `text` (cut at a character boundary), marked with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    format!("{}…", char_prefix(text, max))
}

/// JSON equality where numbers compare by value, so `1` equals `1.0`.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// `string`, `number`, … for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single_describes_zero_and_several_nodes() {
        let body = json!({"a": 1, "list": [{"id": "x"}, {"id": "y"}]});
        let path = |p: &str| JsonPath::parse(p).expect("valid path");
        assert_eq!(single(&path("$.a"), &body), Ok(&json!(1)));
        assert_eq!(single(&path("$.b"), &body), Err("no node matches".to_string()));
        assert_eq!(single(&path("$.list[*].id"), &body), Err(r#"2 nodes match: ["x","y"]"#.to_string()));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!({"n": [1]}), &json!({"n": [1.0]})));
        assert!(!json_eq(&json!(1), &json!("1")));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
