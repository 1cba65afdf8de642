//! `any_of:` (alternatives over whole expectations) and status classes (`4xx`): for corrected
//! behaviours with more than one acceptable shape, and statuses whose exact code does not matter.

use serde_saphyr::Spanned;

use super::source::Span;
use super::{Checker, Scope};
use crate::file::{ExpectFile, StatusItem};
use crate::load::{ScenarioError, ScenarioErrorKind};
use crate::model::Expect;

impl Checker<'_> {
    /// An `expect` (or `until`, `observed`) that is `any_of` alone, with two alternatives or more.
    pub(super) fn any_of(
        &self,
        e: &Spanned<ExpectFile>,
        any_of: &Spanned<Vec<Spanned<ExpectFile>>>,
        scope: &Scope,
    ) -> Result<Expect, ScenarioError> {
        let ExpectFile { status, body, headers, error, .. } = &e.value;
        let others: Vec<&'static str> = [
            ("status", status.is_some()),
            ("body", !body.is_empty()),
            ("headers", !headers.is_empty()),
            ("error", error.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, present)| present.then_some(key))
        .collect();
        let at = self.src.key_span(self.src.span_of(e), self.src.span_of(any_of), "any_of");
        if !others.is_empty() {
            return self.fail_help(
                at,
                ScenarioErrorKind::AnyOfWithOtherKeys { keys: others },
                "move the other keys into each alternative that needs them",
            );
        }
        if any_of.value.len() < 2 {
            return self.fail_help(
                at,
                ScenarioErrorKind::AnyOfTooFew { found: any_of.value.len() },
                "with one alternative, write it as the `expect` itself",
            );
        }
        let any_of = any_of.value.iter().map(|branch| self.expect(branch, scope)).collect::<Result<_, _>>()?;
        Ok(Expect { any_of, ..Expect::default() })
    }

    /// The codes one `status:` item stands for: itself, or the hundred codes of its class.
    pub(super) fn status_item(&self, item: StatusItem, at: Option<Span>) -> Result<Vec<u16>, ScenarioError> {
        match item {
            StatusItem::Class(digit) => Ok((digit * 100..digit * 100 + 100).collect()),
            StatusItem::Code(code) => match u16::try_from(code) {
                Ok(code) if (100..=599).contains(&code) => Ok(vec![code]),
                _ => self.fail(at, ScenarioErrorKind::StatusOutOfRange { status: code }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rstest::rstest;

    use crate::load::parse_str;
    use crate::model::Scenario;

    fn load(expect: &str) -> Result<Scenario, String> {
        let text = format!(
            "id: s\ntitle: T\nsteps:\n  - id: a\n    request: {{method: GET, path: /x}}\n    expect: {expect}\n"
        );
        parse_str(&text, Path::new("s.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn any_of_loads_each_alternative_whole() {
        let scenario =
            load("{any_of: [{status: 403}, {status: 200, body: [{path: $.rows, length: 0}]}]}").expect("loads");
        let expect = &scenario.steps[0].expect;
        assert!(expect.status.is_none() && expect.body.is_empty());
        assert_eq!(expect.any_of.len(), 2);
        assert_eq!(expect.any_of[0].status, Some(vec![403]));
        assert_eq!((expect.any_of[1].status.clone(), expect.any_of[1].body.len()), (Some(vec![200]), 1));
    }

    #[test]
    fn status_classes_stand_for_their_hundred_codes() {
        let scenario = load("{status: 4xx}").expect("loads");
        assert_eq!(scenario.steps[0].expect.status, Some((400..500).collect()));
        let scenario = load("{status: [200, 5xx]}").expect("loads");
        let mut expected = vec![200];
        expected.extend(500..600);
        assert_eq!(scenario.steps[0].expect.status, Some(expected));
    }

    #[rstest]
    #[case::one_alternative(
        "{any_of: [{status: 403}]}",
        "s.yaml:6:14: `any_of` has 1 alternative(s): expected at least two"
    )]
    #[case::no_alternatives("{any_of: []}", "s.yaml:6:14: `any_of` has 0 alternative(s)")]
    #[case::beside_a_status(
        "{status: 200, any_of: [{status: 403}, {status: 401}]}",
        "s.yaml:6:27: `any_of` beside status"
    )]
    #[case::a_bad_status_in_a_nested_any_of(
        "{any_of: [{status: 403}, {any_of: [{status: 1}, {status: 2}]}]}",
        "status 1 is out of range"
    )]
    #[case::an_unknown_class("{status: 6xx}", "s.yaml:6:22: invalid value: string \"6xx\"")]
    #[case::an_upper_case_class("{status: [200, 4XX]}", "invalid value: string \"4XX\"")]
    #[case::an_unknown_field_in_an_alternative("{any_of: [{status: 403}, {colour: red}]}", "unknown field `colour`")]
    fn bad_alternatives_and_classes_are_named_with_their_place(#[case] expect: &str, #[case] wanted: &str) {
        let error = load(expect).expect_err(expect);
        assert!(error.contains(wanted), "{expect}: {error}");
    }
}
