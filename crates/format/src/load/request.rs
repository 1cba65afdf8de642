//! A step's `request:`: the actor, method, path, query, headers and body.

use serde_saphyr::Spanned;

use super::{Checker, METHODS, ScenarioError, ScenarioErrorKind, Scope, Span};
use crate::file::RequestFile;
use crate::model::{Actor, Body, Request};

impl Checker<'_> {
    pub(super) fn request(
        &self,
        r: &RequestFile,
        actor: Option<&Spanned<String>>,
        step: Option<Span>,
        scope: &Scope,
    ) -> Result<Request, ScenarioError> {
        let actor = match actor {
            None => Actor::Admin,
            Some(a) if a.value == "admin" => Actor::Admin,
            Some(a) if a.value == "none" => Actor::Anonymous,
            Some(a) => Actor::Key(self.template(a, scope)?),
        };
        let method = r.method.value.trim().to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return self.fail(
                self.src.span_of(&r.method),
                ScenarioErrorKind::UnknownMethod { method: r.method.value.clone() },
            );
        }
        if !r.path.value.starts_with('/') {
            return self.fail_help(
                self.src.span_of(&r.path),
                ScenarioErrorKind::RelativePath { path: r.path.value.clone() },
                format!("write `/{}`", r.path.value),
            );
        }
        let path = self.template(&r.path, scope)?;
        let mut query = Vec::with_capacity(r.query.0.len());
        for (name, value) in &r.query.0 {
            let text = Spanned::new(value.value.0.clone(), value.referenced, value.defined);
            query.push((name.value.clone(), self.template(&text, scope)?));
        }
        let mut headers = Vec::with_capacity(r.headers.0.len());
        for (name, value) in &r.headers.0 {
            self.header(name, value)?;
            headers.push((name.value.to_ascii_lowercase(), self.template(value, scope)?));
        }
        let body = match (&r.json, &r.body) {
            (Some(_), Some(raw)) => {
                return self.fail_help(
                    self.src.key_span(step, self.src.span_of(raw), "body"),
                    ScenarioErrorKind::JsonAndBody,
                    "keep `json` for a JSON value, or `body` for raw text",
                );
            }
            (Some(json), None) => Some(Body::Json(self.json(json, scope)?)),
            (None, Some(raw)) => Some(Body::Raw(self.template(raw, scope)?)),
            (None, None) => None,
        };
        Ok(Request { actor, method, path, query, headers, body })
    }

    /// A header HTTP allows: the name a token (RFC 9110), the value free of control characters
    /// (tab aside), as the HTTP client checks when it sends it.
    pub(super) fn header(&self, name: &Spanned<String>, value: &Spanned<String>) -> Result<(), ScenarioError> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.value.is_empty() || !name.value.chars().all(token) {
            return self.fail_help(
                self.src.span_of(name),
                ScenarioErrorKind::InvalidHeaderName { name: name.value.clone() },
                "a header name has no spaces, colons or quotes, e.g. `x-request-id`",
            );
        }
        if let Some(bad) = value.value.chars().find(|c| c.is_ascii_control() && *c != '\t') {
            return self.fail_help(
                self.src.span_of(value),
                ScenarioErrorKind::InvalidHeaderValue { name: name.value.clone(), character: format!("{bad:?}") },
                "a header value is one line of text",
            );
        }
        Ok(())
    }
}
