//! Captures: variables set from a response body, for later steps.

use super::outcome::ReceivedResponse;
use super::query;
use crate::scenario::{Capture, Variables};

/// Sets every capture's variable from the response, in file order. A capture must select exactly one
/// node; otherwise nothing more is captured and the message says which capture failed and why.
pub(crate) fn apply(captures: &[Capture], response: &ReceivedResponse, vars: &mut Variables) -> Result<(), String> {
    if captures.is_empty() {
        return Ok(());
    }
    let Some(body) = &response.json else {
        return Err(format!("failed to capture `{}`: the response body is not JSON", captures[0].variable));
    };
    for capture in captures {
        let node = query::single(&capture.path, body)
            .map_err(|what| format!("failed to capture `{}` from {}: {what}", capture.variable, capture.path_text))?;
        vars.insert(capture.variable.clone(), node.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use serde_json_path::JsonPath;

    fn capture(variable: &str, path: &str) -> Capture {
        Capture { variable: variable.into(), path_text: path.into(), path: JsonPath::parse(path).expect("valid path") }
    }

    fn response(body: Value) -> ReceivedResponse {
        ReceivedResponse { status: 200, headers: vec![], body: body.to_string(), json: Some(body) }
    }

    #[test]
    fn a_capture_keeps_the_node_with_its_json_type() {
        let mut vars = Variables::new();
        let resp = response(json!({"team_id": "t-1", "ids": [1, 2]}));
        apply(&[capture("team_id", "$.team_id"), capture("ids", "$.ids")], &resp, &mut vars)
            .expect("both captures select one node");
        assert_eq!(vars.get("team_id"), Some(&json!("t-1")));
        assert_eq!(vars.get("ids"), Some(&json!([1, 2])));
    }

    #[test]
    fn a_capture_of_zero_or_several_nodes_fails() {
        let resp = response(json!({"keys": [{"k": "a"}, {"k": "b"}]}));
        let cases = [
            ("$.missing", "failed to capture `v` from $.missing: no node matches"),
            ("$.keys[*].k", r#"failed to capture `v` from $.keys[*].k: 2 nodes match: ["a","b"]"#),
        ];
        for (path, message) in cases {
            let mut vars = Variables::new();
            assert_eq!(apply(&[capture("v", path)], &resp, &mut vars), Err(message.to_string()));
            assert!(vars.is_empty());
        }
    }
}
