//! The file as a whole: its id and title, `requires:`, `reference:` and `reproduces:`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::step::{all_captures, known_at};
use super::{CACHE_TTL, Checker, MAX_REPLICAS, RUN_ID, ScenarioError, ScenarioErrorKind, Scope};
use crate::file::{ProbedFile, ReferenceFile, ReproductionFile, RequirementFile, ScenarioFile, StepFile};
use crate::mock::MockSpec;
use crate::model::{Capability, Expect, ProbedCapability, ReferenceSettings, Reproduction, Scenario, Step};
use crate::quirk::Quirk;

impl Checker<'_> {
    pub(super) fn scenario(&self, file: &ScenarioFile) -> Result<Scenario, ScenarioError> {
        let id = &file.id.value;
        if !is_scenario_id(id) {
            return self.fail_help(
                self.src.span_of(&file.id),
                ScenarioErrorKind::InvalidId { id: id.clone() },
                "for example `org-admin-updates-team`",
            );
        }
        if file.title.value.trim().is_empty() {
            return self.fail(self.src.span_of(&file.title), ScenarioErrorKind::Empty { what: "title" });
        }
        let (requires, probed) = self.requires(&file.requires)?;
        let reference = match &file.reference {
            Some(reference) => self.reference(reference)?,
            None => ReferenceSettings::default(),
        };
        let mocks = self.mocks(&file.mocks)?;
        let builtins = builtin_variables(&mocks);
        let mut steps = self.steps(&file.steps, &builtins, reference.replicas)?;
        if let Some(matrix) = &file.matrix {
            steps.extend(self.matrix(matrix, &steps, &builtins)?);
        }
        let reproduces =
            file.reproduces.as_ref().map(|r| self.reproduction(r, &file.steps, &steps, &builtins)).transpose()?;
        Ok(Scenario {
            source: self.path.to_path_buf(),
            id: id.clone(),
            title: file.title.value.clone(),
            description: file.description.clone(),
            upstream: file.upstream.clone(),
            tags: file.tags.clone(),
            requires,
            probed,
            reference,
            mocks,
            steps,
            reproduces,
        })
    }

    /// `reproduces:`, checked against the validated steps: a known quirk, a step of this file that
    /// sends a request, and `observed` using only the variables known at that step.
    pub(super) fn reproduction(
        &self,
        r: &Spanned<ReproductionFile>,
        file_steps: &Spanned<Vec<Spanned<StepFile>>>,
        steps: &[Step],
        builtins: &BTreeSet<String>,
    ) -> Result<Reproduction, ScenarioError> {
        let ReproductionFile { quirk, fails_at, observed } = &r.value;
        let Ok(parsed) = quirk.value.parse::<Quirk>() else {
            return self.fail_help(
                self.src.span_of(quirk),
                ScenarioErrorKind::UnknownQuirk { name: quirk.value.clone() },
                "`gateproof quirks` lists the quirks with their upstream issues",
            );
        };
        let Some(index) = steps.iter().position(|s| s.id == fails_at.value) else {
            return self.fail_help(
                self.src.span_of(fails_at),
                ScenarioErrorKind::UnknownFailsAtStep { id: fails_at.value.clone() },
                format!("steps of this file: {}", steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")),
            );
        };
        if steps[index].request.is_none() {
            return self.fail(
                self.src.span_of(fails_at),
                ScenarioErrorKind::FailsAtWithoutRequest { id: fails_at.value.clone() },
            );
        }
        let known = known_at(steps, index, builtins);
        let scope = Scope { known, all_captures: all_captures(file_steps), not_awaited: Default::default() };
        Ok(Reproduction {
            location: self.src.model_location(r),
            quirk: parsed,
            fails_at: fails_at.value.clone(),
            observed: self.expect(observed, &scope)?,
        })
    }

    /// `requires:`: built-in names, and capabilities with probes of their own (each name once, or
    /// again with the same probe).
    pub(super) fn requires(
        &self,
        entries: &[Spanned<RequirementFile>],
    ) -> Result<(Vec<Capability>, Vec<ProbedCapability>), ScenarioError> {
        let mut requires = Vec::new();
        let mut probed: Vec<ProbedCapability> = Vec::new();
        for entry in entries {
            match &entry.value {
                RequirementFile::Builtin(name) => {
                    let Some(capability) = Capability::ALL.iter().find(|c| c.name() == name) else {
                        return self.fail_help(
                            self.src.span_of(entry),
                            ScenarioErrorKind::UnknownCapability { name: name.clone() },
                            "a capability of your own is `{capability: NAME, probe: {request: …, lacks_when: …}}`",
                        );
                    };
                    if !requires.contains(capability) {
                        requires.push(*capability);
                    }
                }
                RequirementFile::Probed(file) => {
                    let capability = self.probed(file)?;
                    match probed.iter().find(|p| p.name == capability.name) {
                        Some(first) if probe_signature(first) != probe_signature(&capability) => {
                            return self.fail(
                                self.src.span_of(&file.capability),
                                ScenarioErrorKind::ProbeMismatch {
                                    name: capability.name.clone(),
                                    first: self.path.to_path_buf(),
                                    line: first.location.line,
                                    column: first.location.column,
                                },
                            );
                        }
                        Some(_) => {}
                        None => probed.push(capability),
                    }
                }
            }
        }
        Ok((requires, probed))
    }

    fn probed(&self, file: &ProbedFile) -> Result<ProbedCapability, ScenarioError> {
        let name = &file.capability;
        if !is_scenario_id(&name.value) {
            return self
                .fail(self.src.span_of(name), ScenarioErrorKind::InvalidCapabilityName { name: name.value.clone() });
        }
        if Capability::ALL.iter().any(|c| c.name() == name.value) {
            return self.fail_help(
                self.src.span_of(name),
                ScenarioErrorKind::BuiltinCapabilityProbed { name: name.value.clone() },
                format!("write `{}` alone, or give your probe another name", name.value),
            );
        }
        let probe = &file.probe.value;
        let mut scope = Scope {
            known: BTreeSet::from([RUN_ID.to_string()]),
            all_captures: BTreeMap::new(),
            not_awaited: BTreeMap::new(),
        };
        let mut setup = Vec::with_capacity(probe.setup.len());
        for item in &probe.setup {
            let request = self.request(&item.value.request.value, None, self.src.span_of(item), &scope)?;
            let capture = self.captures(&item.value.capture)?;
            scope.known.extend(capture.iter().map(|c| c.variable.clone()));
            setup.push((request, capture));
        }
        let request = self.request(&probe.request.value, None, self.src.span_of(&probe.request), &scope)?;
        let lacks_when = self.expect(&probe.lacks_when, &scope)?;
        let cleanup = probe
            .cleanup
            .iter()
            .map(|r| self.request(&r.value, None, self.src.span_of(r), &scope))
            .collect::<Result<_, _>>()?;
        Ok(ProbedCapability {
            name: name.value.clone(),
            location: self.src.model_location(name),
            setup,
            request,
            lacks_when,
            cleanup,
        })
    }

    pub(super) fn reference(&self, reference: &ReferenceFile) -> Result<ReferenceSettings, ScenarioError> {
        let mut settings = ReferenceSettings::default();
        if let Some(replicas) = &reference.replicas {
            let n = replicas.value.0;
            if !(1..=MAX_REPLICAS).contains(&n) {
                return self.fail(
                    self.src.span_of(replicas),
                    ScenarioErrorKind::ReplicasOutOfRange { replicas: n, max: MAX_REPLICAS },
                );
            }
            settings.replicas = usize::try_from(n).unwrap_or(1);
        }
        for (name, value) in &reference.env.0 {
            if name.value != CACHE_TTL {
                return self.fail_help(
                    self.src.span_of(name),
                    ScenarioErrorKind::UnknownReferenceSetting { name: name.value.clone() },
                    "`reference.env` sets the in-process reference proxy only, and knows one name",
                );
            }
            let text = value.value.0.trim();
            let seconds = text.parse::<u64>().ok().filter(|_| text.chars().all(|c| c.is_ascii_digit()));
            let Some(seconds) = seconds else {
                return self.fail_help(
                    self.src.span_of(value),
                    ScenarioErrorKind::InvalidCacheTtl { value: value.value.0.clone() },
                    "write whole seconds, e.g. `0` to turn the cache off",
                );
            };
            settings.cache_ttl = Some(Duration::from_secs(seconds));
        }
        Ok(settings)
    }
}

/// Variables every template may use from the start: `run_id` and each mock's URL.
pub(super) fn builtin_variables(mocks: &[MockSpec]) -> BTreeSet<String> {
    let mut names = BTreeSet::from([RUN_ID.to_string()]);
    names.extend(mocks.iter().map(MockSpec::url_variable));
    names
}

pub(super) fn is_scenario_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// What a probe does, without where it is written: two files naming one capability must give probes
/// with equal signatures.
pub(super) fn probe_signature(probe: &ProbedCapability) -> String {
    format!("{:?}", (&probe.setup, &probe.request, unplaced(probe.lacks_when.clone()), &probe.cleanup))
}

/// The expectation with every location zeroed.
fn unplaced(mut e: Expect) -> Expect {
    for a in &mut e.body {
        a.location = Default::default();
    }
    for a in &mut e.headers {
        a.location = Default::default();
    }
    if let Some(a) = &mut e.error {
        a.location = Default::default();
    }
    e.any_of = e.any_of.into_iter().map(unplaced).collect();
    e
}
