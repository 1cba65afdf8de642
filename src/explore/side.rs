//! The two targets explore compares: the reference proxy with a set of quirks, or a proxy by URL.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::fresh::{StationPlan, Stations};
use super::generate;
use crate::postgres::PgServer;
use crate::reference::{self, Quirk, Quirks};
use crate::runner::{RunOptions, ScenarioOutcome, ScenarioStatus, Target, generate_master_key, run_scenario};
use crate::scenario::Scenario;

/// A target as written on the command line: `reference`, `reference+QUIRK[+QUIRK…]`, or a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideSpec {
    Reference(Quirks),
    Url(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SideError {
    #[error("`{0}` is neither `reference`, `reference+QUIRK` nor an http(s) URL")]
    Unknown(String),
    #[error(transparent)]
    Quirk(#[from] crate::scenario::UnknownQuirk),
}

impl FromStr for SideSpec {
    type Err = SideError;

    fn from_str(text: &str) -> Result<SideSpec, SideError> {
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(SideSpec::Url(text.trim_end_matches('/').to_string()));
        }
        let mut parts = text.split('+');
        if parts.next() != Some("reference") {
            return Err(SideError::Unknown(text.to_string()));
        }
        let quirks = parts.map(str::parse::<Quirk>).collect::<Result<Quirks, _>>()?;
        Ok(SideSpec::Reference(quirks))
    }
}

impl fmt::Display for SideSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SideSpec::Reference(quirks) => {
                f.write_str("reference")?;
                for quirk in quirks.iter() {
                    write!(f, "+{quirk}")?;
                }
                Ok(())
            }
            SideSpec::Url(url) => f.write_str(url),
        }
    }
}

impl SideSpec {
    pub fn is_reference(&self) -> bool {
        matches!(self, SideSpec::Reference(_))
    }

    /// The quirk of `reference+Q` with exactly one quirk.
    pub fn single_quirk(&self) -> Option<Quirk> {
        match self {
            SideSpec::Reference(quirks) => {
                let mut all = quirks.iter();
                match (all.next(), all.next()) {
                    (Some(quirk), None) => Some(quirk),
                    _ => None,
                }
            }
            SideSpec::Url(_) => None,
        }
    }
}

/// A side ready to run sequences.
pub struct Side {
    pub spec: SideSpec,
    /// The ordinary target, for verifying written scenarios (a reference side copies a database per
    /// scenario there).
    pub target: Target,
    pub options: RunOptions,
    engine: Engine,
}

enum Engine {
    /// Sequences run on stations: proxies, mocks and a client this side starts once, on databases
    /// emptied between sequences.
    Reference(Box<Stations>),
    Url,
}

impl Side {
    /// `pg` is needed for a reference side only; `replicas` is the most a sequence asks for.
    pub fn open(
        spec: SideSpec,
        master_key: &str,
        pg: Option<&Arc<PgServer>>,
        request_timeout: Duration,
        replicas: usize,
    ) -> Side {
        let mut options = RunOptions { request_timeout, jobs: 1, ..RunOptions::default() };
        let (target, engine) = match (&spec, pg) {
            (SideSpec::Reference(quirks), Some(pg)) => {
                options.quirks = *quirks;
                let plan = StationPlan {
                    quirks: *quirks,
                    master_key: generate_master_key(),
                    cache_ttl: reference::cache_ttl_from_env(),
                    replicas,
                    mocks: generate::mocks(),
                    // The station's proxies are this side's own: no teardown (the database is emptied
                    // next) and no quirks asked of the runner (they are on in the proxies).
                    options: RunOptions { keep: true, quirks: Quirks::NONE, ..options.clone() },
                };
                (Target::reference(Arc::clone(pg)), Engine::Reference(Box::new(Stations::new(Arc::clone(pg), plan))))
            }
            (SideSpec::Url(url), _) => (Target::external(url.clone(), master_key), Engine::Url),
            (SideSpec::Reference(_), None) => unreachable!("a reference side is opened with a Postgres server"),
        };
        Side { spec, target, options, engine }
    }

    /// Runs one generated sequence (no expectations, so nothing fails but captures).
    pub async fn run(&self, scenario: &Scenario) -> ScenarioOutcome {
        let Engine::Reference(stations) = &self.engine else {
            return run_scenario(scenario, &self.target, &self.options).await;
        };
        if scenario.mocks != stations.plan().mocks || scenario.reference.cache_ttl.is_some() {
            // Not a sequence of the generator's: the ordinary way, on a copy of its own.
            return run_scenario(scenario, &self.target, &self.options).await;
        }
        let station = match stations.take().await {
            Ok(station) => station,
            Err(message) => return errored(scenario, message),
        };
        let outcome = station.rig.run(scenario, &station.target, &stations.plan().options).await;
        stations.give_back(station).await;
        outcome
    }

    /// Takes down the stations this side keeps.
    pub async fn close(&self) {
        if let Engine::Reference(stations) = &self.engine {
            stations.close().await;
        }
    }
}

fn errored(scenario: &Scenario, message: String) -> ScenarioOutcome {
    crate::runner::never_started(scenario, ScenarioStatus::Errored { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_parse_and_print_back() {
        for text in
            ["reference", "reference+stale_team_cache", "reference+stale_team_cache+double_hash_token_on_update"]
        {
            assert_eq!(text.parse::<SideSpec>().expect("parses").to_string(), text);
        }
        assert_eq!(
            "http://127.0.0.1:4014/".parse::<SideSpec>(),
            Ok(SideSpec::Url("http://127.0.0.1:4014".to_string()))
        );
        assert!(matches!("reference+nope".parse::<SideSpec>(), Err(SideError::Quirk(_))));
        assert!(matches!("ref".parse::<SideSpec>(), Err(SideError::Unknown(_))));
        let one = "reference+stale_team_cache".parse::<SideSpec>().expect("parses");
        assert_eq!(one.single_quirk(), Some(Quirk::StaleTeamCache));
        assert_eq!("reference".parse::<SideSpec>().expect("parses").single_quirk(), None);
    }
}
