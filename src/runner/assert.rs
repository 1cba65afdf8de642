//! Checks of an `expect` (or `retry.until`) block against a response: status, body predicates,
//! headers and LiteLLM's error.
//!
//! Every assertion is evaluated, even after one fails, so a report shows all that is wrong at once.

use std::borrow::Cow;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::error_view::{self, ErrorView};
use super::outcome::{AssertionResult, ReceivedResponse};
use super::query::{self, describe_nodes, json_eq, show, type_name};
use crate::scenario::template::render_json;
use crate::scenario::{
    BodyAssertion, ErrorAssertion, Expect, HeaderAssertion, HeaderPredicate, Location, MessageMatch, PathQuery,
    Predicate, TextPattern, Variables,
};

/// Results of every assertion in `expect`, in the order written (status, body, headers, error).
/// `label` prefixes each check's name (`until ` for a retry condition).
pub(crate) fn check(
    expect: &Expect,
    response: &ReceivedResponse,
    vars: &Variables,
    label: &str,
) -> Vec<AssertionResult> {
    if !expect.any_of.is_empty() {
        return check_any_of(&expect.any_of, response, vars, label);
    }
    let mut results = Vec::new();
    if let Some(statuses) = &expect.status {
        results.push(check_status(statuses, response.status, label));
    }
    for assertion in &expect.body {
        results.push(check_body(assertion, response, vars, label));
    }
    for assertion in &expect.headers {
        results.push(check_header(assertion, response, vars, label));
    }
    if let Some(assertion) = &expect.error {
        check_error(assertion, response, vars, label, &mut results);
    }
    results
}

fn result(
    location: Option<Location>,
    check: String,
    outcome: Result<String, Failure>,
    expected: String,
) -> AssertionResult {
    match outcome {
        Ok(actual) => AssertionResult { location, check, passed: true, expected, actual, message: None },
        Err(failure) => AssertionResult {
            location,
            check,
            passed: false,
            expected,
            actual: failure.actual,
            message: failure.message,
        },
    }
}

/// Why an assertion failed: what was there, and a sentence when that alone does not say it.
struct Failure {
    actual: String,
    message: Option<String>,
}

impl Failure {
    fn actual(actual: impl Into<String>) -> Failure {
        Failure { actual: actual.into(), message: None }
    }

    fn because(actual: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure { actual: actual.into(), message: Some(message.into()) }
    }
}

/// Alternatives: the first that holds passes the whole, and its checks are the ones shown. When none
/// holds, every alternative's checks are shown (named `any_of[N] …`), so the report says why each
/// one failed, after a line saying none held.
fn check_any_of(
    alternatives: &[Expect],
    response: &ReceivedResponse,
    vars: &Variables,
    label: &str,
) -> Vec<AssertionResult> {
    let expected = format!("one of {} alternatives", alternatives.len());
    let mut all = Vec::new();
    for (index, alternative) in alternatives.iter().enumerate() {
        let results = check(alternative, response, vars, &format!("{label}any_of[{}] ", index + 1));
        if results.iter().all(|r| r.passed) {
            let held = result(None, format!("{label}any_of"), Ok(format!("alternative {} held", index + 1)), expected);
            return std::iter::once(held).chain(results).collect();
        }
        all.extend(results);
    }
    let failing: Vec<String> = (1..=alternatives.len())
        .map(|n| {
            let prefix = format!("{label}any_of[{n}] ");
            let failed: Vec<&str> = all
                .iter()
                .filter(|r| !r.passed && r.check.starts_with(&prefix))
                .map(|r| &r.check[prefix.len()..])
                .collect();
            format!("{n}: {}", failed.join(", "))
        })
        .collect();
    let none = result(
        None,
        format!("{label}any_of"),
        Err(Failure::because(
            "none held",
            format!("every alternative failed; the checks that failed in each: {}", failing.join("; ")),
        )),
        expected,
    );
    std::iter::once(none).chain(all).collect()
}

/// Statuses as written: a whole class as `4xx`, other codes one by one.
pub(crate) fn describe_statuses(statuses: &[u16]) -> String {
    let mut parts = Vec::new();
    let mut shown_classes = Vec::new();
    for &code in statuses {
        let class = code / 100;
        let whole_class = (class * 100..class * 100 + 100).all(|c| statuses.contains(&c));
        if whole_class {
            if !shown_classes.contains(&class) {
                shown_classes.push(class);
                parts.push(format!("{class}xx"));
            }
        } else {
            parts.push(code.to_string());
        }
    }
    parts.join(", ")
}

fn check_status(statuses: &[u16], actual: u16, label: &str) -> AssertionResult {
    let described = describe_statuses(statuses);
    let expected = if described.contains(", ") { format!("any of {described}") } else { described };
    let outcome =
        if statuses.contains(&actual) { Ok(actual.to_string()) } else { Err(Failure::actual(actual.to_string())) };
    result(None, format!("{label}status"), outcome, expected)
}

fn check_body(
    assertion: &BodyAssertion,
    response: &ReceivedResponse,
    vars: &Variables,
    label: &str,
) -> AssertionResult {
    let (name, expected) = match &assertion.predicate {
        Predicate::Equals(v) => ("equals", rendered_json_text(v, vars)),
        Predicate::Contains(v) => ("contains", rendered_json_text(v, vars)),
        Predicate::Exists => ("exists", "at least one node".to_string()),
        Predicate::Absent => ("absent", "no node, or null".to_string()),
        Predicate::Length(n) => ("length", n.to_string()),
        Predicate::Matches(p) => ("matches", pattern_text(p, vars)),
    };
    let check = format!("{label}body {} {name}", assertion.path_text);
    let outcome = match (&response.json, resolve_path(&assertion.path, vars)) {
        (_, Err(failure)) => Err(failure),
        (None, _) => Err(Failure::because("not JSON", "the response body is not JSON")),
        (Some(body), Ok(path)) => evaluate_body(&assertion.predicate, &path, body, vars),
    };
    result(Some(assertion.location), check, outcome, expected)
}

/// The assertion's JSONPath, rendered and compiled when it holds placeholders.
fn resolve_path<'p>(path: &'p PathQuery, vars: &Variables) -> Result<Cow<'p, JsonPath>, Failure> {
    match path {
        PathQuery::Compiled(compiled) => Ok(Cow::Borrowed(compiled)),
        PathQuery::Templated(template) => {
            let text = template
                .render(vars)
                .map_err(|e| Failure::because("not rendered", format!("failed to render the JSONPath: {e}")))?;
            JsonPath::parse(&text).map(Cow::Owned).map_err(|e| {
                Failure::because("invalid JSONPath", format!("the rendered JSONPath `{text}` is invalid: {e}"))
            })
        }
    }
}

fn rendered_json_text(value: &Value, vars: &Variables) -> String {
    render_json(value, vars).map(|v| show(&v)).unwrap_or_else(|_| show(value))
}

fn pattern_text(pattern: &TextPattern, vars: &Variables) -> String {
    match pattern {
        TextPattern::Compiled(regex) => regex.as_str().to_string(),
        TextPattern::Templated(template) => template.render(vars).unwrap_or_else(|_| template.as_str().to_string()),
    }
}

fn evaluate_body(predicate: &Predicate, path: &JsonPath, body: &Value, vars: &Variables) -> Result<String, Failure> {
    match predicate {
        Predicate::Exists => {
            let nodes = query::select(path, body);
            let actual = describe_nodes(&nodes);
            if nodes.is_empty() { Err(Failure::actual(actual)) } else { Ok(actual) }
        }
        Predicate::Absent => {
            let nodes = query::select(path, body);
            let actual = describe_nodes(&nodes);
            match nodes.as_slice() {
                [] | [Value::Null] => Ok(actual),
                _ => Err(Failure::actual(actual)),
            }
        }
        Predicate::Equals(expected) => {
            let expected = render_json(expected, vars).map_err(template_failure)?;
            let node = query::single(path, body).map_err(Failure::actual)?;
            if json_eq(node, &expected) { Ok(show(node)) } else { Err(Failure::actual(show(node))) }
        }
        Predicate::Contains(expected) => {
            let expected = render_json(expected, vars).map_err(template_failure)?;
            let node = query::single(path, body).map_err(Failure::actual)?;
            let holds = match (node, &expected) {
                (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                (Value::Array(items), _) => items.iter().any(|item| json_eq(item, &expected)),
                (Value::String(_), _) => {
                    return Err(Failure::because(show(node), "a string can only contain a string"));
                }
                _ => {
                    return Err(Failure::because(
                        show(node),
                        format!("expected a string or an array, got {}", type_name(node)),
                    ));
                }
            };
            if holds { Ok(show(node)) } else { Err(Failure::actual(show(node))) }
        }
        Predicate::Length(expected) => {
            let node = query::single(path, body).map_err(Failure::actual)?;
            let length = match node {
                Value::Array(items) => items.len(),
                Value::String(text) => text.chars().count(),
                Value::Object(fields) => fields.len(),
                other => {
                    return Err(Failure::because(
                        show(other),
                        format!("expected an array, string or object, got {}", type_name(other)),
                    ));
                }
            };
            if length == *expected {
                Ok(length.to_string())
            } else {
                Err(Failure::because(length.to_string(), format!("the node is {}", show(node))))
            }
        }
        Predicate::Matches(pattern) => {
            let regex = compile(pattern, vars)?;
            let node = query::single(path, body).map_err(Failure::actual)?;
            match node {
                Value::String(text) if regex.is_match(text) => Ok(show(node)),
                Value::String(_) => Err(Failure::actual(show(node))),
                other => Err(Failure::because(show(other), format!("expected a string, got {}", type_name(other)))),
            }
        }
    }
}

fn template_failure(error: crate::scenario::TemplateError) -> Failure {
    Failure::because("-", format!("failed to render the expected value: {error}"))
}

fn compile(pattern: &TextPattern, vars: &Variables) -> Result<Regex, Failure> {
    match pattern {
        TextPattern::Compiled(regex) => Ok(regex.clone()),
        TextPattern::Templated(template) => {
            let source = template.render(vars).map_err(template_failure)?;
            Regex::new(&source)
                .map_err(|e| Failure::because("-", format!("failed to compile the rendered pattern `{source}`: {e}")))
        }
    }
}

fn check_header(
    assertion: &HeaderAssertion,
    response: &ReceivedResponse,
    vars: &Variables,
    label: &str,
) -> AssertionResult {
    let values: Vec<&str> = response.header_values(&assertion.name).collect();
    let actual = if values.is_empty() { "no such header".to_string() } else { values.join(", ") };
    let render = |t: &crate::scenario::Template| t.render(vars).map_err(template_failure);
    let (name, expected, outcome) = match &assertion.predicate {
        HeaderPredicate::Exists => ("exists", "present".to_string(), !values.is_empty()),
        HeaderPredicate::Absent => ("absent", "no such header".to_string(), values.is_empty()),
        HeaderPredicate::Equals(t) => match render(t) {
            Ok(want) => ("equals", want.clone(), values.iter().any(|v| *v == want)),
            Err(f) => return failed_header(assertion, label, "equals", t.as_str(), f),
        },
        HeaderPredicate::Contains(t) => match render(t) {
            Ok(want) => ("contains", want.clone(), values.iter().any(|v| v.contains(want.as_str()))),
            Err(f) => return failed_header(assertion, label, "contains", t.as_str(), f),
        },
        HeaderPredicate::Matches(p) => match compile(p, vars) {
            Ok(regex) => ("matches", regex.as_str().to_string(), values.iter().any(|v| regex.is_match(v))),
            Err(f) => return failed_header(assertion, label, "matches", &pattern_text(p, vars), f),
        },
    };
    let check = format!("{label}header {} {name}", assertion.name);
    let outcome = if outcome { Ok(actual) } else { Err(Failure::actual(actual)) };
    result(Some(assertion.location), check, outcome, expected)
}

fn failed_header(
    assertion: &HeaderAssertion,
    label: &str,
    name: &str,
    expected: &str,
    failure: Failure,
) -> AssertionResult {
    let check = format!("{label}header {} {name}", assertion.name);
    result(Some(assertion.location), check, Err(failure), expected.to_string())
}

fn check_error(
    assertion: &ErrorAssertion,
    response: &ReceivedResponse,
    vars: &Variables,
    label: &str,
    results: &mut Vec<AssertionResult>,
) {
    let location = Some(assertion.location);
    let Some(view) = response.json.as_ref().and_then(error_view::normalize) else {
        results.push(result(
            location,
            format!("{label}error"),
            Err(Failure::because("no error envelope", "the response has no error body")),
            "an error body".to_string(),
        ));
        return;
    };
    for matcher in &assertion.message {
        results.push(check_message(matcher, &view, vars, label, location));
    }
    if let Some(expected) = &assertion.error_type {
        results.push(compare_field(location, format!("{label}error type"), expected, view.error_type.as_deref()));
    }
    if let Some(expected) = &assertion.code {
        results.push(compare_field(location, format!("{label}error code"), expected, view.code.as_deref()));
    }
}

fn check_message(
    matcher: &MessageMatch,
    view: &ErrorView,
    vars: &Variables,
    label: &str,
    location: Option<Location>,
) -> AssertionResult {
    let actual = query::truncate(&view.message, 500);
    let verdict = |holds: bool| if holds { Ok(actual.clone()) } else { Err(Failure::actual(actual.clone())) };
    match matcher {
        MessageMatch::Contains(t) => {
            let check = format!("{label}error message contains");
            match t.render(vars) {
                Ok(part) => {
                    let holds = view.message.contains(part.as_str());
                    result(location, check, verdict(holds), part)
                }
                Err(e) => result(location, check, Err(template_failure(e)), t.as_str().to_string()),
            }
        }
        MessageMatch::ContainsAny(templates) => {
            let check = format!("{label}error message contains any of");
            match templates.iter().map(|t| t.render(vars)).collect::<Result<Vec<_>, _>>() {
                Ok(parts) => {
                    let holds = parts.iter().any(|p| view.message.contains(p.as_str()));
                    let expected = parts.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(" or ");
                    result(location, check, verdict(holds), expected)
                }
                Err(e) => {
                    let expected = templates.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" or ");
                    result(location, check, Err(template_failure(e)), expected)
                }
            }
        }
        MessageMatch::Matches(pattern) => {
            let check = format!("{label}error message matches");
            let expected = pattern_text(pattern, vars);
            match compile(pattern, vars) {
                Ok(regex) => result(location, check, verdict(regex.is_match(&view.message)), expected),
                Err(f) => result(location, check, Err(f), expected),
            }
        }
    }
}

fn compare_field(location: Option<Location>, check: String, expected: &str, actual: Option<&str>) -> AssertionResult {
    let shown = actual.unwrap_or("none").to_string();
    let outcome = if actual == Some(expected) { Ok(shown) } else { Err(Failure::actual(shown)) };
    result(location, check, outcome, expected.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Template;
    use serde_json::json;
    use serde_json_path::JsonPath;

    fn response(status: u16, body: Value) -> ReceivedResponse {
        ReceivedResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            json: Some(body),
        }
    }

    fn body(path: &str, predicate: Predicate) -> Expect {
        Expect {
            body: vec![BodyAssertion {
                location: Location { line: 3, column: 7 },
                path_text: path.into(),
                path: PathQuery::Compiled(JsonPath::parse(path).expect("valid path")),
                predicate,
            }],
            ..Expect::default()
        }
    }

    fn vars() -> Variables {
        let mut v = Variables::new();
        v.insert("team_id".into(), json!("t-1"));
        v.insert("n".into(), json!(2));
        v
    }

    fn regex(p: &str) -> TextPattern {
        TextPattern::Compiled(Regex::new(p).expect("valid regex"))
    }

    #[test]
    fn body_predicates_hold_or_fail_as_documented() {
        let doc = json!({
            "team_id": "t-1", "count": 2, "models": ["gpt-4", "gpt-3.5"], "alias": "team-abc",
            "key": null, "meta": {"a": 1, "b": 2}, "list": [{"id": 1}, {"id": 2}]
        });
        let cases: Vec<(&str, Predicate, bool)> = vec![
            ("$.team_id", Predicate::Equals(json!("{{team_id}}")), true),
            ("$.team_id", Predicate::Equals(json!("t-2")), false),
            ("$.count", Predicate::Equals(json!("{{n}}")), true),
            ("$.count", Predicate::Equals(json!(2.0)), true),
            ("$.missing", Predicate::Equals(json!(null)), false),
            ("$.list[*].id", Predicate::Equals(json!(1)), false),
            ("$.models", Predicate::Contains(json!("gpt-4")), true),
            ("$.models", Predicate::Contains(json!("gpt")), false),
            ("$.alias", Predicate::Contains(json!("abc")), true),
            ("$.alias", Predicate::Contains(json!("xyz")), false),
            ("$.count", Predicate::Contains(json!(2)), false),
            ("$.team_id", Predicate::Exists, true),
            ("$.key", Predicate::Exists, true),
            ("$.missing", Predicate::Exists, false),
            ("$.missing", Predicate::Absent, true),
            ("$.key", Predicate::Absent, true),
            ("$.team_id", Predicate::Absent, false),
            ("$.list[*].id", Predicate::Absent, false),
            ("$.models", Predicate::Length(2), true),
            ("$.alias", Predicate::Length(8), true),
            ("$.meta", Predicate::Length(2), true),
            ("$.models", Predicate::Length(3), false),
            ("$.count", Predicate::Length(2), false),
            ("$.alias", Predicate::Matches(regex("^team-")), true),
            ("$.alias", Predicate::Matches(regex("^sk-")), false),
            ("$.count", Predicate::Matches(regex(".*")), false),
            ("$.team_id", Predicate::Matches(TextPattern::Templated(Template::parse("^{{team_id}}$").unwrap())), true),
        ];
        for (path, predicate, holds) in cases {
            let label = format!("{path} {predicate:?}");
            let results = check(&body(path, predicate), &response(200, doc.clone()), &vars(), "");
            assert_eq!(results.len(), 1);
            assert_eq!(results[0].passed, holds, "{label}: {:?}", results[0]);
        }
    }

    #[test]
    fn a_failed_equals_shows_expected_and_actual() {
        let results = check(
            &body("$.team_id", Predicate::Equals(json!("{{team_id}}"))),
            &response(200, json!({"team_id": "other"})),
            &vars(),
            "",
        );
        let r = &results[0];
        assert_eq!(
            (r.check.as_str(), r.expected.as_str(), r.actual.as_str(), r.location),
            ("body $.team_id equals", "\"t-1\"", "\"other\"", Some(Location { line: 3, column: 7 }))
        );
    }

    #[test]
    fn a_body_that_is_not_json_fails_body_assertions_with_a_reason() {
        let mut resp = response(500, json!(null));
        resp.json = None;
        resp.body = "Internal Server Error".into();
        let results = check(&body("$.a", Predicate::Exists), &resp, &vars(), "");
        assert!(!results[0].passed);
        assert_eq!(results[0].message.as_deref(), Some("the response body is not JSON"));
        assert_eq!(results[0].actual, "not JSON");
    }

    #[test]
    fn an_unknown_variable_in_an_expected_value_fails_the_assertion() {
        let results =
            check(&body("$.a", Predicate::Equals(json!("{{nope}}"))), &response(200, json!({"a": 1})), &vars(), "");
        assert!(!results[0].passed);
        let message = results[0].message.as_deref().unwrap_or_default();
        assert!(message.starts_with("failed to render the expected value: unknown variable `nope`"), "{message}");
    }

    #[test]
    fn whole_status_classes_are_shown_as_classes() {
        let four: Vec<u16> = (400..500).collect();
        let mut mixed = vec![200];
        mixed.extend(500..600);
        let cases: &[(&[u16], &str)] =
            &[(&[403], "403"), (&[401, 403], "401, 403"), (&four, "4xx"), (&mixed, "200, 5xx")];
        for (statuses, expected) in cases {
            assert_eq!(describe_statuses(statuses), *expected);
        }
        // A class missing one code is shown code by code, never as the class.
        assert!(describe_statuses(&four[..99]).starts_with("400, 401, "));
        let class = Expect { status: Some(four.clone()), ..Expect::default() };
        let r = check(&class, &response(429, json!({})), &vars(), "");
        assert!(r[0].passed);
        let r = check(&class, &response(500, json!({})), &vars(), "");
        assert!(!r[0].passed);
        assert_eq!((r[0].expected.as_str(), r[0].actual.as_str()), ("4xx", "500"));
    }

    fn denied_or_own_rows() -> Expect {
        let only_own = Expect { status: Some(vec![200]), ..body("$.rows[*].owner", Predicate::Equals(json!("me"))) };
        Expect { any_of: vec![Expect { status: Some(vec![403]), ..Expect::default() }, only_own], ..Expect::default() }
    }

    #[test]
    fn any_of_passes_on_the_first_alternative_that_holds_and_shows_its_checks() {
        let r = check(&denied_or_own_rows(), &response(200, json!({"rows": [{"owner": "me"}]})), &vars(), "");
        let shown: Vec<(&str, bool, &str)> =
            r.iter().map(|r| (r.check.as_str(), r.passed, r.actual.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("any_of", true, "alternative 2 held"),
                ("any_of[2] status", true, "200"),
                ("any_of[2] body $.rows[*].owner equals", true, "\"me\""),
            ]
        );
        let r = check(&denied_or_own_rows(), &response(403, json!({})), &vars(), "until ");
        assert_eq!((r[0].check.as_str(), r[0].actual.as_str()), ("until any_of", "alternative 1 held"));
        assert!(r.iter().all(|r| r.passed), "{r:#?}");
    }

    #[test]
    fn any_of_that_fails_shows_why_each_alternative_failed() {
        let r = check(&denied_or_own_rows(), &response(200, json!({"rows": [{"owner": "someone else"}]})), &vars(), "");
        assert_eq!((r[0].check.as_str(), r[0].passed, r[0].actual.as_str()), ("any_of", false, "none held"));
        assert_eq!(r[0].expected, "one of 2 alternatives");
        assert_eq!(
            r[0].message.as_deref(),
            Some("every alternative failed; the checks that failed in each: 1: status; 2: body $.rows[*].owner equals")
        );
        let failed: Vec<(&str, &str, &str)> = r[1..]
            .iter()
            .filter(|r| !r.passed)
            .map(|r| (r.check.as_str(), r.expected.as_str(), r.actual.as_str()))
            .collect();
        assert_eq!(
            failed,
            [
                ("any_of[1] status", "403", "200"),
                ("any_of[2] body $.rows[*].owner equals", "\"me\"", "\"someone else\""),
            ]
        );
    }

    #[test]
    fn status_accepts_any_listed_code() {
        let expect = |s: Vec<u16>| Expect { status: Some(s), ..Expect::default() };
        let r = check(&expect(vec![401, 403]), &response(403, json!({})), &vars(), "");
        assert!(r[0].passed);
        assert_eq!(r[0].expected, "any of 401, 403");
        let r = check(&expect(vec![200]), &response(404, json!({})), &vars(), "until ");
        assert!(!r[0].passed);
        assert_eq!((r[0].check.as_str(), r[0].actual.as_str()), ("until status", "404"));
    }

    #[test]
    fn header_predicates_hold_or_fail_as_documented() {
        let resp = response(200, json!({}));
        let cases = [
            (HeaderPredicate::Equals(Template::literal("application/json")), true),
            (HeaderPredicate::Equals(Template::literal("text/plain")), false),
            (HeaderPredicate::Contains(Template::literal("json")), true),
            (HeaderPredicate::Matches(regex("^application/")), true),
            (HeaderPredicate::Matches(regex("^text/")), false),
            (HeaderPredicate::Exists, true),
            (HeaderPredicate::Absent, false),
        ];
        for (predicate, holds) in cases {
            let expect = Expect {
                headers: vec![HeaderAssertion {
                    location: Location::default(),
                    name: "content-type".into(),
                    predicate: predicate.clone(),
                }],
                ..Expect::default()
            };
            let r = check(&expect, &resp, &vars(), "");
            assert_eq!(r[0].passed, holds, "{predicate:?}");
        }
        let absent = Expect {
            headers: vec![HeaderAssertion {
                location: Location::default(),
                name: "x-missing".into(),
                predicate: HeaderPredicate::Absent,
            }],
            ..Expect::default()
        };
        assert!(check(&absent, &resp, &vars(), "")[0].passed);
    }

    fn error_expect(message: Vec<MessageMatch>, error_type: Option<&str>, code: Option<&str>) -> Expect {
        Expect {
            error: Some(ErrorAssertion {
                location: Location { line: 9, column: 7 },
                message,
                error_type: error_type.map(Into::into),
                code: code.map(Into::into),
            }),
            ..Expect::default()
        }
    }

    #[test]
    fn error_assertions_read_the_normalized_error() {
        let openai = response(
            401,
            json!({"error": {"message": "Authentication Error, invalid key", "type": "auth_error", "param": null, "code": 401}}),
        );
        let detail = response(403, json!({"detail": {"error": "You do not have access to this team"}}));
        let cases = [
            (&openai, MessageMatch::Contains(Template::literal("invalid key")), true),
            (&openai, MessageMatch::Matches(regex("^Authentication Error")), true),
            (&detail, MessageMatch::Contains(Template::literal("do not have access")), true),
            (&detail, MessageMatch::Contains(Template::literal("Only proxy admin")), false),
            (
                &detail,
                MessageMatch::ContainsAny(vec![
                    Template::literal("Only proxy admin can be used to"),
                    Template::literal("You do not have access"),
                ]),
                true,
            ),
        ];
        for (resp, matcher, holds) in cases {
            let r = check(&error_expect(vec![matcher.clone()], None, None), resp, &vars(), "");
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].passed, holds, "{matcher:?} on {}", resp.body);
        }
        let r = check(&error_expect(vec![], Some("auth_error"), Some("401")), &openai, &vars(), "");
        assert_eq!(r.iter().map(|a| a.passed).collect::<Vec<_>>(), [true, true]);
        let r = check(&error_expect(vec![], None, Some("401")), &detail, &vars(), "");
        assert_eq!((r[0].passed, r[0].actual.as_str()), (false, "none"));
    }

    #[test]
    fn an_error_assertion_on_a_body_without_error_fails() {
        let r = check(
            &error_expect(vec![MessageMatch::Contains(Template::literal("x"))], None, None),
            &response(200, json!({"team_id": "t"})),
            &vars(),
            "",
        );
        assert_eq!(r.len(), 1);
        assert!(!r[0].passed);
        assert_eq!(r[0].message.as_deref(), Some("the response has no error body"));
    }

    #[test]
    fn a_templated_path_is_rendered_before_it_is_evaluated() {
        let doc = json!({"teams": [{"team_id": "t-1", "alias": "mine"}, {"team_id": "t-2", "alias": "theirs"}]});
        let templated = |path: &str, predicate: Predicate| Expect {
            body: vec![BodyAssertion {
                location: Location { line: 3, column: 7 },
                path_text: path.into(),
                path: PathQuery::Templated(crate::scenario::Template::parse(path).expect("template")),
                predicate,
            }],
            ..Expect::default()
        };
        let passed = |expect: &Expect| check(expect, &response(200, doc.clone()), &vars(), "").iter().all(|r| r.passed);
        let mine = "$.teams[?@.team_id == '{{team_id}}'].alias";
        assert!(passed(&templated(mine, Predicate::Equals(json!("mine")))));
        assert!(!passed(&templated(mine, Predicate::Absent)), "the rendered filter finds the team");
        let unknown = templated("$.teams[?@.team_id == '{{nope}}']", Predicate::Absent);
        let results = check(&unknown, &response(200, doc.clone()), &vars(), "");
        assert!(!results[0].passed, "an unknown variable never passes, not even `absent`");
        assert!(
            results[0].message.as_deref().unwrap_or_default().contains("failed to render the JSONPath"),
            "{results:?}"
        );
    }
}
