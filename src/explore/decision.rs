//! What a target decided, read from its response: allowed or denied (and the denial's kind), plus the
//! facts that say what was granted. Explore compares these, never bytes.
//!
//! [`NORMALIZATION`] is the one table of harmless differences between LiteLLM versions: it maps a
//! response to a decision so that envelopes and statuses that moved between releases read the same.
//! Everything else here only extracts granted fields and normalizes their values (`run_id` and captured
//! ids back to their placeholders), so two targets that agree produce equal decisions.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::runner::ReceivedResponse;
use crate::runner::error_view;

/// Why a request was refused, in LiteLLM's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DenialKind {
    Auth,
    NotFound,
    Validation,
    Budget,
    Server,
    /// 504: an upstream that did not answer in time, which is not the proxy failing by itself.
    Timeout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Allowed,
    Denied(DenialKind),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Allowed => f.write_str("allowed"),
            Verdict::Denied(kind) => write!(f, "denied ({})", kind.name()),
        }
    }
}

impl DenialKind {
    pub fn name(self) -> &'static str {
        match self {
            DenialKind::Auth => "auth",
            DenialKind::NotFound => "not found",
            DenialKind::Validation => "validation",
            DenialKind::Budget => "budget",
            DenialKind::Server => "server",
            DenialKind::Timeout => "timeout",
        }
    }
}

/// One thing a response says was granted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fact {
    /// The JSONPath selects something (a server in a discovery list, a tool of a server).
    Present(String),
    /// The JSONPath's single node has this value (normalized, as JSON text).
    Equals(String, String),
}

impl Fact {
    pub fn path(&self) -> &str {
        match self {
            Fact::Present(path) | Fact::Equals(path, _) => path,
        }
    }
}

/// A target's decision on one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub status: u16,
    pub facts: BTreeSet<Fact>,
    /// The error message, for reports (not compared).
    pub message: Option<String>,
}

/// What marks a response beyond its status.
#[derive(Clone, Copy, Debug)]
enum Marker {
    Any,
    /// The error's `type` (in whichever envelope).
    ErrorType(&'static str),
    /// The error message contains this.
    Message(&'static str),
    /// A 2xx body with a top-level `error` field.
    ErrorField,
    /// The body's node at this JSON pointer is this string.
    FieldIs(&'static str, &'static str),
}

/// One row: on `route` (any when `None`), a status in `statuses` (any when empty) with `marker`
/// means `verdict`.
struct Rule {
    route: Option<&'static str>,
    statuses: &'static [u16],
    marker: Marker,
    verdict: Verdict,
    /// The version difference the row absorbs.
    why: &'static str,
}

/// The normalization table, first match wins. Rows before the generic ones absorb what moved between
/// LiteLLM 1.83 and 1.109: the budget status (400 / 422, 429 configurable), the model-denied status
/// (401 / 403), the expired-key status (400 / 401), `tools/list` on a forbidden server (200 with an
/// `error` field / 403). The generic rows read every 401 and 403 as auth (both versions use both for
/// the route gate and handler checks), 400 and 422 as validation (invalid JSON is 400 on one and 422 on
/// the other), and envelopes not at all.
const NORMALIZATION: &[Rule] = &[
    Rule {
        route: None,
        statuses: &[],
        marker: Marker::ErrorType("budget_exceeded"),
        verdict: Verdict::Denied(DenialKind::Budget),
        why: "budget exceeded is 400 on 1.83 and 422 (or 429) on 1.109",
    },
    Rule {
        route: None,
        statuses: &[400, 422, 429],
        marker: Marker::Message("Budget has been exceeded"),
        verdict: Verdict::Denied(DenialKind::Budget),
        why: "the budget message without its type, in either envelope",
    },
    Rule {
        route: None,
        statuses: &[400, 401],
        marker: Marker::ErrorType("expired_key"),
        verdict: Verdict::Denied(DenialKind::Auth),
        why: "an expired key is 400 on 1.83 and 401 on 1.109",
    },
    Rule {
        route: Some("/mcp-rest/tools/list"),
        statuses: &[200],
        marker: Marker::ErrorField,
        verdict: Verdict::Denied(DenialKind::Auth),
        why: "a forbidden server's tools/list is 200 with `error` on 1.83 and 403 on 1.109",
    },
    Rule {
        route: Some("/key/info"),
        statuses: &[200],
        marker: Marker::FieldIs("/info/status", "deleted"),
        verdict: Verdict::Denied(DenialKind::NotFound),
        why: "a deleted key's /key/info is 404 on 1.83 and 200 with its audit record (`status: deleted`) on 1.109",
    },
    Rule {
        route: Some("/key/info"),
        statuses: &[403],
        marker: Marker::Message("not allowed to access this key's info"),
        verdict: Verdict::Denied(DenialKind::NotFound),
        why: "another user's deleted key is 404 on 1.83 and 403 on 1.109, which checks access before existence; \
              both deny, so on /key/info not allowed and not found read as one denial",
    },
    Rule {
        route: None,
        statuses: &[401, 403],
        marker: Marker::Any,
        verdict: Verdict::Denied(DenialKind::Auth),
        why: "route gate, handler checks and model access use 401 and 403 differently across versions",
    },
    Rule {
        route: None,
        statuses: &[404],
        marker: Marker::Any,
        verdict: Verdict::Denied(DenialKind::NotFound),
        why: "not found, in either envelope",
    },
    Rule {
        route: None,
        statuses: &[400, 422],
        marker: Marker::Any,
        verdict: Verdict::Denied(DenialKind::Validation),
        why: "invalid requests are 400 or 422 (FastAPI's list) depending on where they are caught",
    },
];

/// Every row's reason, for documentation and the README.
pub fn normalization_rows() -> Vec<String> {
    NORMALIZATION
        .iter()
        .map(|rule| {
            let statuses = if rule.statuses.is_empty() {
                "any".to_string()
            } else {
                rule.statuses.iter().map(u16::to_string).collect::<Vec<_>>().join("/")
            };
            let marker = match rule.marker {
                Marker::Any => String::new(),
                Marker::ErrorType(t) => format!(" type {t}"),
                Marker::Message(m) => format!(" message \"{m}\""),
                Marker::ErrorField => " body.error".to_string(),
                Marker::FieldIs(pointer, value) => format!(" body{pointer} = \"{value}\""),
            };
            format!("{} {statuses}{marker} → {}: {}", rule.route.unwrap_or("*"), rule.verdict, rule.why)
        })
        .collect()
}

fn verdict_of(route: &str, response: &ReceivedResponse) -> Verdict {
    let error = response.json.as_ref().and_then(error_view::normalize);
    for rule in NORMALIZATION {
        if rule.route.is_some_and(|r| r != route)
            || !(rule.statuses.is_empty() || rule.statuses.contains(&response.status))
        {
            continue;
        }
        let matches = match rule.marker {
            Marker::Any => true,
            Marker::ErrorType(t) => error.as_ref().and_then(|e| e.error_type.as_deref()) == Some(t),
            Marker::Message(m) => error.as_ref().is_some_and(|e| e.message.contains(m)),
            Marker::ErrorField => response.json.as_ref().and_then(|j| j.get("error")).is_some_and(|e| !e.is_null()),
            Marker::FieldIs(pointer, value) => {
                response.json.as_ref().and_then(|j| j.pointer(pointer)).and_then(Value::as_str) == Some(value)
            }
        };
        if matches {
            return rule.verdict;
        }
    }
    match response.status {
        200..=299 => Verdict::Allowed,
        504 => Verdict::Denied(DenialKind::Timeout),
        500..=599 => Verdict::Denied(DenialKind::Server),
        _ => Verdict::Denied(DenialKind::Validation),
    }
}

/// Replaces what differs between two runs of one sequence (the `run_id`, captured ids and keys) by
/// the placeholders a scenario writes.
pub struct Normalizer {
    pub run_id: String,
    /// Captured values and their variables, longest value first.
    pub captured: Vec<(String, String)>,
}

impl Normalizer {
    pub fn text(&self, text: &str) -> String {
        if let Some((_, var)) = self.captured.iter().find(|(value, _)| value == text) {
            return format!("{{{{{var}}}}}");
        }
        if self.run_id.is_empty() { text.to_string() } else { text.replace(&self.run_id, "{{run_id}}") }
    }

    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), self.value(v))).collect()),
            other => other.clone(),
        }
    }
}

/// Descriptions of the servers a sequence may register (fixed in the generator).
fn server_descriptions() -> impl Iterator<Item = String> {
    (1..=super::generate::MAX_SERVERS).map(|n| format!("explored-s{n}"))
}

/// The model discovery routes, with the field of each `data` item that names a model.
const MODEL_LISTINGS: &[(&str, &str)] = &[
    ("/v1/models", "id"),
    ("/models", "id"),
    ("/model/info", "model_name"),
    ("/v1/model/info", "model_name"),
    ("/v2/model/info", "model_name"),
    ("/model_group/info", "model_group"),
];

/// The names a model listing shows, one fact each, so the facts are the listed set (order and
/// repeats aside). Only names of this run count: a real proxy also lists its configured models and
/// what earlier runs left, which differ between two proxies and say nothing about the sequence.
fn listed_models(json: &Value, field: &str, normalizer: &Normalizer, facts: &mut BTreeSet<Fact>) {
    let items = json.get("data").and_then(Value::as_array).into_iter().flatten();
    for name in items.filter_map(|item| item.get(field).and_then(Value::as_str)) {
        let name = normalizer.text(name);
        if name.contains("{{run_id}}") && !name.contains('\'') {
            facts.insert(Fact::Present(format!("$.data[?@.{field} == '{name}']")));
        }
    }
}

/// The users of this run whose rows a spend listing shows (a key row names its owner), one fact each.
fn listed_users(rows: &Value, at: &str, normalizer: &Normalizer, facts: &mut BTreeSet<Fact>) {
    let rows = rows.as_array().into_iter().flatten();
    for user in rows.filter_map(|row| row.get("user_id").and_then(Value::as_str)) {
        let user = normalizer.text(user);
        if user.contains("{{run_id}}") && !user.contains('\'') {
            facts.insert(Fact::Present(format!("{at}[?@.user_id == '{user}']")));
        }
    }
}

/// The granted fields of a successful response on `route`.
fn facts_of(method: &str, route: &str, json: &Value, normalizer: &Normalizer) -> BTreeSet<Fact> {
    let mut facts = BTreeSet::new();
    let mut equals = |path: &str, node: Option<&Value>| {
        if let Some(node) = node {
            facts.insert(Fact::Equals(path.to_string(), normalizer.value(node).to_string()));
        }
    };
    match (method, route) {
        ("POST", "/key/generate" | "/key/update" | "/key/regenerate") => {
            equals("$.models", json.get("models"));
        }
        ("GET", "/key/info") => {
            let info = json.get("info");
            equals("$.info.models", info.and_then(|i| i.get("models")));
            // LiteLLM leaves `blocked` null until a key is first blocked or unblocked; null and false
            // both let the key through, so both read as false.
            let blocked =
                info.and_then(|i| i.get("blocked")).map(|b| if b.is_null() { &Value::Bool(false) } else { b });
            equals("$.info.blocked", blocked);
        }
        ("POST", "/mcp-rest/tools/call") => equals("$.isError", json.get("isError")),
        ("GET", "/v1/mcp/server") => {
            for description in server_descriptions() {
                let listed = json.as_array().is_some_and(|servers| {
                    servers.iter().any(|s| s.get("description").and_then(Value::as_str) == Some(&description))
                });
                if listed {
                    facts.insert(Fact::Present(format!("$[?@.description == '{description}']")));
                }
            }
        }
        ("GET", "/mcp-rest/tools/list") => {
            for description in server_descriptions() {
                let listed = json.get("tools").and_then(Value::as_array).is_some_and(|tools| {
                    tools.iter().any(|t| {
                        t.pointer("/mcp_info/description").and_then(Value::as_str) == Some(description.as_str())
                    })
                });
                if listed {
                    facts.insert(Fact::Present(format!("$.tools[?@.mcp_info.description == '{description}']")));
                }
            }
        }
        ("GET", "/spend/keys" | "/spend/users") => listed_users(json, "$", normalizer, &mut facts),
        ("GET", "/key/list") => {
            listed_users(json.get("keys").unwrap_or(&Value::Null), "$.keys", normalizer, &mut facts)
        }
        ("GET", route) => {
            if let Some((_, field)) = MODEL_LISTINGS.iter().find(|(r, _)| *r == route) {
                listed_models(json, field, normalizer, &mut facts);
            }
        }
        _ => {}
    }
    facts
}

/// The decision `response` records for a `method` request to `route` (the path as templated, without
/// its query).
pub fn decide(method: &str, route: &str, response: &ReceivedResponse, normalizer: &Normalizer) -> Decision {
    let verdict = verdict_of(route, response);
    let facts = match (&verdict, &response.json) {
        (Verdict::Allowed, Some(json)) => facts_of(method, route, json, normalizer),
        _ => BTreeSet::new(),
    };
    let message = response.json.as_ref().and_then(error_view::normalize).map(|e| e.message);
    Decision { verdict, status: response.status, facts, message }
}

/// Facts either side has that the other lacks.
pub fn differing_facts(a: &Decision, b: &Decision) -> Vec<Fact> {
    a.facts.symmetric_difference(&b.facts).cloned().collect()
}

/// Two decisions are the same when verdicts and facts are.
pub fn agree(a: &Decision, b: &Decision) -> bool {
    a.verdict == b.verdict && a.facts == b.facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: Value) -> ReceivedResponse {
        ReceivedResponse { status, headers: vec![], body: body.to_string(), json: Some(body) }
    }

    fn plain() -> Normalizer {
        Normalizer { run_id: "rabc".into(), captured: vec![("sk-123".into(), "k1".into())] }
    }

    #[test]
    fn moved_statuses_read_as_one_decision() {
        let budget_o =
            response(400, json!({"error": {"message": "Budget has been exceeded!", "type": "budget_exceeded"}}));
        let budget_n = response(422, json!({"error": {"message": "x", "type": "budget_exceeded"}}));
        let model_o = response(401, json!({"error": {"message": "key not allowed to access model"}}));
        let model_n = response(403, json!({"detail": "nope"}));
        let invalid_o = response(400, json!({"error": {"message": "bad json"}}));
        let invalid_n = response(422, json!({"detail": [{"msg": "bad", "type": "json_invalid"}]}));
        let n = plain();
        let d = |r: &ReceivedResponse| decide("POST", "/chat/completions", r, &n).verdict;
        assert_eq!(d(&budget_o), Verdict::Denied(DenialKind::Budget));
        assert_eq!(d(&budget_o), d(&budget_n));
        assert_eq!(d(&model_o), Verdict::Denied(DenialKind::Auth));
        assert_eq!(d(&model_o), d(&model_n));
        assert_eq!(d(&invalid_o), Verdict::Denied(DenialKind::Validation));
        assert_eq!(d(&invalid_o), d(&invalid_n));
        assert_eq!(d(&response(404, json!({}))), Verdict::Denied(DenialKind::NotFound));
        assert_eq!(d(&response(500, json!({}))), Verdict::Denied(DenialKind::Server));
        assert_eq!(d(&response(504, json!({}))), Verdict::Denied(DenialKind::Timeout));
        assert_eq!(d(&response(201, json!({}))), Verdict::Allowed);
    }

    #[test]
    fn a_tools_list_error_field_is_a_denial_only_there() {
        let body = json!({"tools": [], "error": "unexpected_error"});
        let n = plain();
        assert_eq!(
            decide("GET", "/mcp-rest/tools/list", &response(200, body.clone()), &n).verdict,
            Verdict::Denied(DenialKind::Auth)
        );
        assert_eq!(decide("GET", "/team/info", &response(200, body), &n).verdict, Verdict::Allowed);
    }

    #[test]
    fn granted_fields_are_normalized_to_placeholders() {
        let n = plain();
        let key = decide("POST", "/key/generate", &response(200, json!({"models": ["m1-rabc", "sk-123"]})), &n);
        assert_eq!(
            key.facts,
            BTreeSet::from([Fact::Equals("$.models".into(), r#"["m1-{{run_id}}","{{k1}}"]"#.into())])
        );
        let listed = json!([{"description": "explored-s2"}, {"description": "other"}]);
        let discovery = decide("GET", "/v1/mcp/server", &response(200, listed), &n);
        assert_eq!(discovery.facts, BTreeSet::from([Fact::Present("$[?@.description == 'explored-s2']".into())]));
        assert!(agree(&discovery, &discovery.clone()));
        let empty = decide("GET", "/v1/mcp/server", &response(200, json!([])), &n);
        assert!(!agree(&discovery, &empty));
        assert_eq!(differing_facts(&discovery, &empty).len(), 1);
    }

    #[test]
    fn a_deleted_keys_audit_record_and_an_unset_block_read_as_one_decision() {
        let n = plain();
        let deleted = response(200, json!({"key": "sk-123", "info": {"status": "deleted", "blocked": null}}));
        let gone = response(404, json!({"error": {"message": "Key not found in database", "type": "not_found_error"}}));
        assert_eq!(decide("GET", "/key/info", &deleted, &n).verdict, Verdict::Denied(DenialKind::NotFound));
        assert!(agree(&decide("GET", "/key/info", &deleted, &n), &decide("GET", "/key/info", &gone, &n)));
        let unset = decide("GET", "/key/info", &response(200, json!({"info": {"blocked": null}})), &n);
        let unblocked = decide("GET", "/key/info", &response(200, json!({"info": {"blocked": false}})), &n);
        let blocked = decide("GET", "/key/info", &response(200, json!({"info": {"blocked": true}})), &n);
        assert!(agree(&unset, &unblocked));
        assert!(!agree(&unset, &blocked));
    }

    #[test]
    fn key_info_not_allowed_and_not_found_read_as_one_denial() {
        let n = plain();
        let gone = response(404, json!({"error": {"message": "Key not found in database", "type": "not_found_error"}}));
        let forbidden = response(
            403,
            json!({"error": {"message": "You are not allowed to access this key's info. Your role=internal_user", "type": "auth_error"}}),
        );
        assert!(agree(&decide("GET", "/key/info", &gone, &n), &decide("GET", "/key/info", &forbidden, &n)));
        // Only on /key/info, and only for that refusal.
        assert!(!agree(&decide("GET", "/team/info", &gone, &n), &decide("GET", "/team/info", &forbidden, &n)));
        let other =
            response(403, json!({"error": {"message": "Only proxy admin can be used to", "type": "auth_error"}}));
        assert!(!agree(&decide("GET", "/key/info", &gone, &n), &decide("GET", "/key/info", &other, &n)));
    }

    #[test]
    fn a_model_listing_is_the_set_of_this_runs_names() {
        let n = plain();
        let listed = |body: Value, route: &str| decide("GET", route, &response(200, body), &n).facts;
        let v1 = listed(json!({"data": [{"id": "m2-rabc"}, {"id": "m1-rabc"}, {"id": "gpt-config"}]}), "/v1/models");
        assert_eq!(
            v1,
            BTreeSet::from([
                Fact::Present("$.data[?@.id == 'm1-{{run_id}}']".into()),
                Fact::Present("$.data[?@.id == 'm2-{{run_id}}']".into()),
            ])
        );
        let reordered = listed(json!({"data": [{"id": "m1-rabc"}, {"id": "m2-rabc"}, {"id": "m1-rabc"}]}), "/models");
        assert_eq!(v1, reordered);
        let info = listed(json!({"data": [{"model_name": "m1-rabc"}]}), "/v2/model/info");
        assert_eq!(info, BTreeSet::from([Fact::Present("$.data[?@.model_name == 'm1-{{run_id}}']".into())]));
        let groups = listed(json!({"data": [{"model_group": "ta1-rabc"}]}), "/model_group/info");
        assert_eq!(groups, BTreeSet::from([Fact::Present("$.data[?@.model_group == 'ta1-{{run_id}}']".into())]));
        assert!(listed(json!({"data": [{"id": "m1-rabc"}]}), "/team/info").is_empty());
    }

    #[test]
    fn every_row_says_why() {
        let rows = normalization_rows();
        assert_eq!(rows.len(), NORMALIZATION.len());
        assert!(rows.iter().all(|row| row.contains(": ") && row.contains('→')), "{rows:?}");
    }
}
