//! Runs scenarios against a target and yields what happened as data.
//!
//! The runner never prints: it emits [`Event`]s while it works and returns [`ScenarioOutcome`]s; the
//! reporters in `crate::report` turn those into text. One file per concept: `http` (building and
//! sending requests), `assert`, `query` (JSONPath), `capture`, `error_view` (LiteLLM's error
//! envelopes), `step`, `scenario`, `pool` (many scenarios at once), `target`, `filter`, `cancel`,
//! `event` and `outcome`.

mod assert;
mod cancel;
mod capture;
pub mod error_view;
mod event;
mod filter;
mod http;
mod outcome;
mod pool;
mod query;
pub(crate) use query::char_prefix;
mod reproduce;
mod scenario;
mod step;
mod target;

use std::time::Duration;

pub use cancel::CancelToken;
pub use event::{Event, EventSink, NoEvents};
pub use filter::TagFilter;
pub use http::ClientError;
pub use outcome::{
    AssertionResult, ReceivedResponse, ReproductionResult, ReproductionVerdict, ScenarioOutcome, ScenarioStatus,
    SentBody, SentRequest, StepOutcome, StepStatus,
};
pub use pool::run_scenarios;
pub use target::{generate_master_key, Target};

use crate::mocks::MockHost;
use crate::reference::Quirks;
use crate::scenario::Scenario;

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Longest wait for one response; longer is infrastructure trouble. 30 s by default.
    pub request_timeout: Duration,
    /// Scenarios running at once (at least 1).
    pub jobs: usize,
    /// Stops the run early (Ctrl-C).
    pub cancel: CancelToken,
    /// Upstream bugs the reference proxy reproduces for every scenario (`--quirk`); none by default.
    pub quirks: Quirks,
    /// Run every scenario that declares `reproduces:` a second time with its quirk on, and judge that
    /// it fails as declared (`--reproduce`).
    pub reproduce: bool,
    /// Where scenario mocks listen and how the proxy reaches them (`--mock-host`).
    pub mock_host: MockHost,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            request_timeout: Duration::from_secs(30),
            jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            cancel: CancelToken::new(),
            quirks: Quirks::NONE,
            reproduce: false,
            mock_host: MockHost::default(),
        }
    }
}

/// Runs one scenario on `target` (what the scenario tests use), twice when `options.reproduce` asks
/// for its reproduction.
pub async fn run_scenario(scenario: &Scenario, target: &Target, options: &RunOptions) -> ScenarioOutcome {
    match http::client(options.request_timeout) {
        Ok(client) => reproduce::execute(scenario, target, options, &client, 0, &NoEvents).await,
        Err(e) => scenario::never_started(scenario, ScenarioStatus::Errored { message: e.to_string() }),
    }
}

#[cfg(test)]
mod tests;
