//! Assertions: `expect:` (status, body, headers, LiteLLM's error) and one predicate each.

use serde_saphyr::Spanned;

use super::{BODY_PREDICATES, Checker, HEADER_PREDICATES, ScenarioError, ScenarioErrorKind, Scope, Span};
use crate::file::{BodyAssertionFile, ErrorFile, ExpectFile, HeaderAssertionFile, StatusItem, StatusSpec};
use crate::model::{BodyAssertion, ErrorAssertion, Expect, HeaderAssertion, HeaderPredicate, MessageMatch, Predicate};

impl Checker<'_> {
    pub(super) fn expect(&self, e: &Spanned<ExpectFile>, scope: &Scope) -> Result<Expect, ScenarioError> {
        let ExpectFile { status, body, headers, error, any_of } = &e.value;
        if let Some(any_of) = any_of {
            return self.any_of(e, any_of, scope);
        }
        let status = status.as_ref().map(|s| self.status(s)).transpose()?;
        let body = body.iter().map(|a| self.body_assertion(a, scope)).collect::<Result<_, _>>()?;
        let headers = headers.iter().map(|a| self.header_assertion(a, scope)).collect::<Result<_, _>>()?;
        let error = error.as_ref().map(|a| self.error_assertion(a, scope)).transpose()?;
        Ok(Expect { status, body, headers, error, any_of: Vec::new() })
    }

    pub(super) fn status(&self, status: &Spanned<StatusSpec>) -> Result<Vec<u16>, ScenarioError> {
        let items: Vec<(StatusItem, Option<Span>)> = match &status.value {
            StatusSpec::One(item) => vec![(*item, self.src.span_of(status))],
            StatusSpec::Any(items) => items.iter().map(|c| (c.value, self.src.span_of(c))).collect(),
        };
        if items.is_empty() {
            return self.fail(self.src.span_of(status), ScenarioErrorKind::EmptyStatusList);
        }
        let mut codes = Vec::new();
        for (item, at) in items {
            codes.extend(self.status_item(item, at)?);
        }
        Ok(codes)
    }

    pub(super) fn body_assertion(
        &self,
        item: &Spanned<BodyAssertionFile>,
        scope: &Scope,
    ) -> Result<BodyAssertion, ScenarioError> {
        let a = &item.value;
        let at = self.src.span_of(item);
        let present: Vec<(&'static str, serde_saphyr::Location)> = [
            ("equals", a.equals.as_ref().map(|v| v.referenced)),
            ("contains", a.contains.as_ref().map(|v| v.referenced)),
            ("exists", a.exists.as_ref().map(|v| v.referenced)),
            ("absent", a.absent.as_ref().map(|v| v.referenced)),
            ("length", a.length.as_ref().map(|v| v.referenced)),
            ("matches", a.matches.as_ref().map(|v| v.referenced)),
        ]
        .into_iter()
        .filter_map(|(name, loc)| Some((name, loc?)))
        .collect();
        self.one_predicate(&present, at, "body", BODY_PREDICATES)?;
        let path = self.path_query(&a.path, scope)?;
        let predicate = if let Some(value) = &a.equals {
            Predicate::Equals(self.json(value, scope)?)
        } else if let Some(value) = &a.contains {
            Predicate::Contains(self.json(value, scope)?)
        } else if let Some(exists) = &a.exists {
            if exists.value { Predicate::Exists } else { Predicate::Absent }
        } else if let Some(absent) = &a.absent {
            self.absent(absent)?;
            Predicate::Absent
        } else if let Some(length) = &a.length {
            // A length beyond `usize` can never match, so saturating keeps the assertion honest.
            Predicate::Length(usize::try_from(length.value.0).unwrap_or(usize::MAX))
        } else if let Some(pattern) = &a.matches {
            Predicate::Matches(self.pattern(pattern, scope)?)
        } else {
            // `one_predicate` has ensured one of the above is present.
            return self.fail(
                at,
                ScenarioErrorKind::PredicateCount { what: "body", found: Vec::new(), allowed: BODY_PREDICATES },
            );
        };
        Ok(BodyAssertion { location: self.src.model_location(item), path_text: a.path.value.clone(), path, predicate })
    }

    pub(super) fn header_assertion(
        &self,
        item: &Spanned<HeaderAssertionFile>,
        scope: &Scope,
    ) -> Result<HeaderAssertion, ScenarioError> {
        let a = &item.value;
        let at = self.src.span_of(item);
        let present: Vec<(&'static str, serde_saphyr::Location)> = [
            ("equals", a.equals.as_ref().map(|v| v.referenced)),
            ("contains", a.contains.as_ref().map(|v| v.referenced)),
            ("matches", a.matches.as_ref().map(|v| v.referenced)),
            ("exists", a.exists.as_ref().map(|v| v.referenced)),
            ("absent", a.absent.as_ref().map(|v| v.referenced)),
        ]
        .into_iter()
        .filter_map(|(name, loc)| Some((name, loc?)))
        .collect();
        self.one_predicate(&present, at, "header", HEADER_PREDICATES)?;
        let predicate = if let Some(text) = &a.equals {
            HeaderPredicate::Equals(self.template(text, scope)?)
        } else if let Some(text) = &a.contains {
            HeaderPredicate::Contains(self.template(text, scope)?)
        } else if let Some(pattern) = &a.matches {
            HeaderPredicate::Matches(self.pattern(pattern, scope)?)
        } else if let Some(exists) = &a.exists {
            if exists.value { HeaderPredicate::Exists } else { HeaderPredicate::Absent }
        } else if let Some(absent) = &a.absent {
            self.absent(absent)?;
            HeaderPredicate::Absent
        } else {
            return self.fail(
                at,
                ScenarioErrorKind::PredicateCount { what: "header", found: Vec::new(), allowed: HEADER_PREDICATES },
            );
        };
        Ok(HeaderAssertion {
            location: self.src.model_location(item),
            name: a.name.value.to_ascii_lowercase(),
            predicate,
        })
    }

    /// Exactly one predicate: none points at the assertion, two or more at the second one.
    pub(super) fn one_predicate(
        &self,
        present: &[(&'static str, serde_saphyr::Location)],
        at: Option<Span>,
        what: &'static str,
        allowed: &'static str,
    ) -> Result<(), ScenarioError> {
        let found: Vec<&'static str> = present.iter().map(|(name, _)| *name).collect();
        match present {
            [_] => Ok(()),
            [] => self.fail_help(
                at,
                ScenarioErrorKind::PredicateCount { what, found, allowed },
                format!("add one of {allowed}"),
            ),
            [_, (second, loc), ..] => self.fail_help(
                self.src.key_span(at, self.src.span(loc), second),
                ScenarioErrorKind::PredicateCount { what, found, allowed },
                "write one assertion per predicate",
            ),
        }
    }

    pub(super) fn absent(&self, absent: &Spanned<bool>) -> Result<(), ScenarioError> {
        if absent.value {
            return Ok(());
        }
        self.fail_help(
            self.src.span_of(absent),
            ScenarioErrorKind::AbsentFalse,
            "use `exists: true` to require the node",
        )
    }

    pub(super) fn error_assertion(
        &self,
        item: &Spanned<ErrorFile>,
        scope: &Scope,
    ) -> Result<ErrorAssertion, ScenarioError> {
        let ErrorFile { message_contains, message_contains_any, message_matches, error_type, code } = &item.value;
        if message_contains.is_none()
            && message_contains_any.is_none()
            && message_matches.is_none()
            && error_type.is_none()
            && code.is_none()
        {
            return self.fail(self.src.span_of(item), ScenarioErrorKind::EmptyErrorAssertion);
        }
        let mut message = Vec::new();
        if let Some(text) = message_contains {
            message.push(MessageMatch::Contains(self.template(text, scope)?));
        }
        if let Some(any) = message_contains_any {
            if any.value.is_empty() {
                return self.fail(self.src.span_of(any), ScenarioErrorKind::EmptyMessageList);
            }
            let texts = any.value.iter().map(|t| self.template(t, scope)).collect::<Result<_, _>>()?;
            message.push(MessageMatch::ContainsAny(texts));
        }
        if let Some(pattern) = message_matches {
            message.push(MessageMatch::Matches(self.pattern(pattern, scope)?));
        }
        Ok(ErrorAssertion {
            location: self.src.model_location(item),
            message,
            error_type: error_type.clone(),
            code: code.as_ref().map(|c| c.0.clone()),
        })
    }
}
