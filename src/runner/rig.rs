//! What a caller running thousands of short scenarios keeps from one to the next: one HTTP client
//! and one set of running mocks. Explore's sequences all declare the same mocks, and starting a
//! client (its TLS roots) and a handful of mock servers per sequence cost more than most sequences.

use super::RunOptions;
use super::event::NoEvents;
use super::http::{self, Client};
use super::outcome::{ScenarioOutcome, ScenarioStatus};
use super::scenario::{self, Kit};
use super::target::Target;
use crate::mocks::RunningMocks;
use crate::scenario::{MockSpec, Scenario};

pub struct Rig {
    client: Client,
    specs: Vec<MockSpec>,
    mocks: RunningMocks,
}

impl Rig {
    /// Starts the mocks of `specs` (where `options.mock_host` says) and a client with the options'
    /// request timeout.
    pub async fn start(specs: &[MockSpec], options: &RunOptions) -> Result<Rig, String> {
        let client = http::client(options.request_timeout).map_err(|e| e.to_string())?;
        let mocks = RunningMocks::start(specs, &options.mock_host).await.map_err(|e| e.to_string())?;
        Ok(Rig { client, specs: specs.to_vec(), mocks })
    }

    /// Runs `scenario` as `run_scenario` would (without its reproduction), on the rig's mocks. A
    /// scenario that declares other mocks than the rig's is not run: it errors, saying so.
    pub async fn run(&self, scenario: &Scenario, target: &Target, options: &RunOptions) -> ScenarioOutcome {
        if scenario.mocks != self.specs {
            let message = "the scenario declares other mocks than the rig runs".to_string();
            return scenario::never_started(scenario, ScenarioStatus::Errored { message });
        }
        let kit = Kit { client: &self.client, mocks: Some(&self.mocks) };
        let (outcome, _) = scenario::execute(scenario, target, options.quirks, options, kit, 0, &NoEvents).await;
        outcome
    }
}
