//! Secrets out of everything a report shows: reports go up as CI artifacts, and a scenario's virtual
//! keys (or the master key) in them would be usable by anyone who reads them.
//!
//! Applied at the report edge only: the runner keeps full values, because later steps send them. A
//! secret is shown as the other labels show keys, its first three characters, `…` and its last four
//! (`sk-…abcd`); one of eight characters or fewer is shown as `sk-…` (or `…`), so it is not given
//! away whole.

use serde_json::{Map, Value};

use crate::runner::{
    AssertionResult, Cleanup, Created, Event, Leftover, ReceivedResponse, ReproductionResult, ReproductionVerdict,
    Resource, ResourceKind, ScenarioOutcome, ScenarioStatus, SentBody, SentRequest, StepOutcome, StepStatus,
};

/// What to hide, or nothing at all (`--show-secrets`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redactor {
    /// Literal secrets hidden wherever they appear, longest first (so one that contains another is
    /// hidden whole); `None` when redaction is off.
    secrets: Option<Vec<String>>,
}

impl Redactor {
    /// Hides `sk-` tokens, Bearer credentials, and `master_key` even when it does not start with `sk-`.
    pub fn new(master_key: &str) -> Redactor {
        Redactor { secrets: Some(Vec::new()) }.with_secret(master_key)
    }

    /// Shows everything as it was (`--show-secrets`, for local debugging).
    pub fn off() -> Redactor {
        Redactor { secrets: None }
    }

    /// Also hides `secret` wherever it appears.
    pub fn with_secret(mut self, secret: &str) -> Redactor {
        if let Some(secrets) = &mut self.secrets
            && !secret.is_empty()
            && !secrets.iter().any(|s| s == secret)
        {
            secrets.push(secret.to_string());
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        self
    }

    /// `text` with every secret in it masked.
    pub fn text(&self, text: &str) -> String {
        let Some(secrets) = &self.secrets else {
            return text.to_string();
        };
        let mut text = text.to_string();
        for secret in secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), &mask(secret));
            }
        }
        mask_tokens(&text)
    }

    /// `value` with every string in it (object keys included) masked.
    pub fn json(&self, value: &Value) -> Value {
        if self.secrets.is_none() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (self.text(k), self.json(v))).collect::<Map<String, Value>>())
            }
            other => other.clone(),
        }
    }

    /// The outcome as reports may show it. The keys it created are hidden too, whatever their shape.
    pub fn outcome(&self, outcome: &ScenarioOutcome) -> ScenarioOutcome {
        if self.secrets.is_none() {
            return outcome.clone();
        }
        let this = outcome
            .created
            .iter()
            .filter(|c| c.resource.kind == ResourceKind::Key)
            .fold(self.clone(), |r, c| r.with_secret(&c.resource.id));
        let ScenarioOutcome { id, title, file, tags, run_id, status, steps, duration, reproduction, created } =
            outcome.clone();
        ScenarioOutcome {
            id,
            title,
            file,
            tags,
            run_id,
            status: this.scenario_status(status),
            steps: steps.iter().map(|s| this.step(s)).collect(),
            duration,
            reproduction: reproduction.map(|r| Box::new(this.reproduction(*r))),
            created: created.into_iter().map(|c| this.created(c)).collect(),
        }
    }

    /// The event as the human reporter may show it.
    pub fn event(&self, event: &Event) -> Event {
        match event {
            Event::ScenarioStarted { .. } => event.clone(),
            Event::StepFinished { index, scenario_id, step } => {
                Event::StepFinished { index: *index, scenario_id: scenario_id.clone(), step: self.step(step) }
            }
            Event::ScenarioFinished { index, outcome } => {
                Event::ScenarioFinished { index: *index, outcome: self.outcome(outcome) }
            }
            Event::RunHalted { reason } => Event::RunHalted { reason: self.text(reason) },
        }
    }

    pub fn leftover(&self, leftover: &Leftover) -> Leftover {
        Leftover {
            scenario: leftover.scenario.clone(),
            label: self.text(&leftover.label),
            reason: self.text(&leftover.reason),
            unreachable: leftover.unreachable,
        }
    }

    fn scenario_status(&self, status: ScenarioStatus) -> ScenarioStatus {
        match status {
            ScenarioStatus::Skipped { reason } => ScenarioStatus::Skipped { reason: self.text(&reason) },
            ScenarioStatus::Errored { message } => ScenarioStatus::Errored { message: self.text(&message) },
            other => other,
        }
    }

    fn step(&self, step: &StepOutcome) -> StepOutcome {
        let StepOutcome { id, location, status, request, response, assertions, duration, attempts, origin } =
            step.clone();
        StepOutcome {
            id,
            location,
            status: match status {
                StepStatus::Failed { message } => StepStatus::Failed { message: self.text(&message) },
                StepStatus::Errored { message } => StepStatus::Errored { message: self.text(&message) },
                other => other,
            },
            request: request.map(|r| self.request(r)),
            response: response.map(|r| self.response(r)),
            assertions: assertions.iter().map(|a| self.assertion(a)).collect(),
            duration,
            attempts,
            origin,
        }
    }

    fn request(&self, request: SentRequest) -> SentRequest {
        let SentRequest { method, url, credentials, headers, body } = request;
        SentRequest {
            method,
            url: self.text(&url),
            credentials: self.text(&credentials),
            headers: self.headers(headers),
            body: body.map(|b| match b {
                SentBody::Json(v) => SentBody::Json(self.json(&v)),
                SentBody::Raw(s) => SentBody::Raw(self.text(&s)),
            }),
        }
    }

    fn response(&self, response: ReceivedResponse) -> ReceivedResponse {
        let ReceivedResponse { status, headers, body, json } = response;
        ReceivedResponse {
            status,
            headers: self.headers(headers),
            body: self.text(&body),
            json: json.map(|v| self.json(&v)),
        }
    }

    fn headers(&self, headers: Vec<(String, String)>) -> Vec<(String, String)> {
        headers.into_iter().map(|(name, value)| (name, self.text(&value))).collect()
    }

    fn assertion(&self, assertion: &AssertionResult) -> AssertionResult {
        let AssertionResult { location, check, passed, expected, actual, message } = assertion.clone();
        AssertionResult {
            location,
            check: self.text(&check),
            passed,
            expected: self.text(&expected),
            actual: self.text(&actual),
            message: message.map(|m| self.text(&m)),
        }
    }

    fn reproduction(&self, verdict: ReproductionVerdict) -> ReproductionVerdict {
        let ReproductionVerdict { quirk, fails_at, result, quirk_step, observed } = verdict;
        ReproductionVerdict {
            quirk,
            fails_at,
            result: match result {
                ReproductionResult::NotReproduced { reason } => {
                    ReproductionResult::NotReproduced { reason: self.text(&reason) }
                }
                ReproductionResult::NotRun { reason } => ReproductionResult::NotRun { reason: self.text(&reason) },
                ReproductionResult::Reproduced => ReproductionResult::Reproduced,
            },
            quirk_step: quirk_step.map(|s| self.step(&s)),
            observed: observed.iter().map(|a| self.assertion(a)).collect(),
        }
    }

    fn created(&self, created: Created) -> Created {
        let Created { resource, step, cleanup, deleted_at } = created;
        // Reports show a resource only by its label, which shows a key by its last four characters:
        // masking the key here as well would leave nothing of it to recognise.
        let id = if resource.kind == ResourceKind::Key { resource.id } else { self.text(&resource.id) };
        Created {
            resource: Resource { kind: resource.kind, id },
            step,
            cleanup: match cleanup {
                Cleanup::Failed(m) => Cleanup::Failed(self.text(&m)),
                Cleanup::Unsupported(m) => Cleanup::Unsupported(self.text(&m)),
                other => other,
            },
            deleted_at,
        }
    }
}

/// A secret as reports show it: `sk-…abcd`, or no more than its `sk-` prefix when it is short.
fn mask(secret: &str) -> String {
    if secret.chars().count() <= 8 {
        return if secret.starts_with("sk-") { "sk-…".to_string() } else { "…".to_string() };
    }
    crate::runner::mask(secret)
}

/// Characters a key token is made of.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Masks every `sk-` token (one that starts a word) and every Bearer credential in `text`.
fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let starts_word = previous.is_none_or(|p| !is_token_char(p));
        if starts_word && rest.starts_with("sk-") {
            let len = 3 + rest[3..].find(|c: char| !is_token_char(c)).unwrap_or(rest.len() - 3);
            if len > 3 {
                out.push_str(&mask(&rest[..len]));
                previous = rest[..len].chars().last();
                rest = &rest[len..];
                continue;
            }
        }
        if starts_word && rest.len() >= 7 && rest.is_char_boundary(7) && rest[..7].eq_ignore_ascii_case("bearer ") {
            let after = &rest[7..];
            let len = after.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',')).unwrap_or(after.len());
            let token = &after[..len];
            out.push_str(&rest[..7]);
            if token.is_empty() || token.contains('…') {
                rest = after;
                previous = Some(' ');
            } else {
                out.push_str(&mask(token));
                previous = token.chars().last();
                rest = &after[len..];
            }
            continue;
        }
        out.push(c);
        previous = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "sk-1234567890abcdefWXYZ";

    #[test]
    fn text_is_redacted() {
        let redactor = Redactor::new("master-of-keys-9876");
        let cases: &[(&str, &str)] = &[
            // A key of any length, in free text.
            (KEY, "sk-…WXYZ"),
            ("key sk-abcdefghi created", "key sk-…fghi created"),
            ("sk-a", "sk-…"),
            ("sk-abcde", "sk-…"),
            // In JSON text, in a URL path and in a query.
            (r#"{"key":"sk-1234567890abcdefWXYZ"}"#, r#"{"key":"sk-…WXYZ"}"#),
            ("/key/info?key=sk-1234567890abcdefWXYZ&x=1", "/key/info?key=sk-…WXYZ&x=1"),
            ("/keys/sk-1234567890abcdefWXYZ/x", "/keys/sk-…WXYZ/x"),
            // Several, with underscores and dashes in them.
            ("sk-gp-abc_def-123456 and sk-zzzzzzzzzz", "sk-…3456 and sk-…zzzz"),
            // Not the start of a word: left alone.
            ("task-list risk-based ask-me", "task-list risk-based ask-me"),
            ("sk-", "sk-"),
            // The master key, though it does not start with `sk-`, and inside other text.
            ("master-of-keys-9876", "mas…9876"),
            ("xmaster-of-keys-9876y", "xmas…9876y"),
            // Bearer credentials of any shape.
            ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "Bearer eyJ….sig"),
            ("authorization: bearer sk-1234567890abcdefWXYZ", "authorization: bearer sk-…WXYZ"),
            ("Bearer short", "Bearer …"),
            ("Bearer ", "Bearer "),
            // Already masked text stays as it is.
            ("key sk-…WXYZ", "key sk-…WXYZ"),
            ("Bearer sk-…WXYZ", "Bearer sk-…WXYZ"),
            // Non-ASCII text around a key.
            ("clé «sk-1234567890abcdefWXYZ»", "clé «sk-…WXYZ»"),
            ("nothing secret here", "nothing secret here"),
        ];
        for (input, expected) in cases {
            assert_eq!(redactor.text(input), *expected, "input: {input}");
        }
    }

    #[test]
    fn a_secret_inside_another_is_hidden_whole() {
        let redactor = Redactor::new("abcdefghij").with_secret("xxabcdefghijxx");
        assert_eq!(redactor.text("[xxabcdefghijxx] [abcdefghij]"), "[xxa…ijxx] [abc…ghij]");
    }

    #[test]
    fn json_strings_and_object_keys_are_redacted() {
        let redactor = Redactor::new("sk-master");
        let value = json!({"key": KEY, "list": [KEY, 1, null, true], KEY: {"token": "Bearer sk-master"}});
        assert_eq!(
            redactor.json(&value),
            json!({"key": "sk-…WXYZ", "list": ["sk-…WXYZ", 1, null, true], "sk-…WXYZ": {"token": "Bearer sk-…ster"}})
        );
    }

    #[test]
    fn off_shows_everything() {
        let redactor = Redactor::off().with_secret("master-of-keys");
        assert_eq!(redactor.text(&format!("{KEY} master-of-keys")), format!("{KEY} master-of-keys"));
        assert_eq!(redactor.json(&json!([KEY])), json!([KEY]));
    }

    #[test]
    fn created_keys_are_hidden_even_without_the_sk_prefix() {
        let mut outcome = crate::report::fixtures::outcomes().remove(0);
        outcome.created.push(Created {
            resource: Resource { kind: ResourceKind::Key, id: "custom-key-value-42".into() },
            step: "create".into(),
            cleanup: Cleanup::Failed("delete custom-key-value-42 answered 500".into()),
            deleted_at: None,
        });
        outcome.status = ScenarioStatus::Errored { message: "custom-key-value-42 and sk-1234567890abcdefWXYZ".into() };
        let shown = Redactor::new("sk-master").outcome(&outcome);
        let created = shown.created.last().expect("the key");
        assert_eq!(created.resource.label(), "key cus…e-42");
        assert_eq!(created.cleanup, Cleanup::Failed("delete cus…e-42 answered 500".into()));
        assert_eq!(shown.status, ScenarioStatus::Errored { message: "cus…e-42 and sk-…WXYZ".into() });
    }
}
