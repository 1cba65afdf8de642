//! Runs scenarios against a target and yields what happened as data.
//!
//! The runner never prints: it emits [`Event`]s while it works and returns [`ScenarioOutcome`]s; the
//! reporters in `crate::report` turn those into text. One file per concept: `http` (building and
//! sending requests), `assert`, `query` (JSONPath), `capture`, `error_view` (LiteLLM's error
//! envelopes), `step`, `scenario`, `pool` (many scenarios at once), `target`, `filter`, `partition`, `cancel`,
//! `event` and `outcome`.

mod assert;
mod cancel;
mod capture;
pub mod error_view;
mod event;
mod filter;
mod http;
mod outcome;
mod partition;
mod pool;
mod probe;
mod query;
pub(crate) use query::char_prefix;
mod reproduce;
mod resources;
mod rig;
mod scenario;
pub(crate) use scenario::never_started;
mod step;
mod target;
mod teardown;

use std::time::Duration;

pub use cancel::CancelToken;
pub use event::{Event, EventSink, NoEvents};
pub use filter::TagFilter;
pub use http::ClientError;
pub(crate) use http::mask;
pub use outcome::{
    AssertionResult, Cleanup, Created, ReceivedResponse, ReproductionResult, ReproductionVerdict, Resource,
    ResourceKind, ScenarioOutcome, ScenarioStatus, SentBody, SentRequest, StepOutcome, StepStatus,
};
pub use partition::{Partition, PartitionError, PartitionKind};
pub use pool::run_scenarios;
pub use probe::TargetProfile;
pub use rig::Rig;
pub use target::{Target, generate_master_key};
pub use teardown::Leftover;

use crate::mocks::MockHost;
use crate::reference::Quirks;
use crate::scenario::Scenario;

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Longest wait for one response; longer is infrastructure trouble. 30 s by default.
    pub request_timeout: Duration,
    /// Scenarios running at once (at least 1); `default_jobs()` by default.
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
    /// Longest run of one scenario's steps; longer is infrastructure trouble. 5 min by default.
    pub scenario_timeout: Duration,
    /// Leave what scenarios created on an external target in place (`--keep`), for debugging.
    pub keep: bool,
}

/// Scenarios wait on HTTP and Postgres far more than on CPU, so one per CPU leaves the machine idle:
/// four per CPU, capped so that the proxies' connections stay well inside the throwaway server's 200.
pub fn default_jobs() -> usize {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (4 * cpus).min(16)
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            request_timeout: Duration::from_secs(30),
            jobs: default_jobs(),
            cancel: CancelToken::new(),
            quirks: Quirks::NONE,
            reproduce: false,
            mock_host: MockHost::default(),
            scenario_timeout: Duration::from_secs(300),
            keep: false,
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

/// The target's version for reports (`None` when it does not say).
pub async fn target_version(target: &Target, options: &RunOptions) -> Option<String> {
    let client = http::client(options.request_timeout).ok()?;
    target.version(&client).await
}

/// What an external target lacks of the capabilities scenarios may require (empty for the
/// reference, and when no client can be made: the sequences then show the trouble themselves).
pub(crate) async fn missing_capabilities(target: &Target, options: &RunOptions) -> Vec<crate::scenario::Capability> {
    match http::client(options.request_timeout) {
        Ok(client) => target.missing_capabilities(&client).await,
        Err(_) => Vec::new(),
    }
}

/// The first external target URL that does not answer at all, and why. Asked once before a run, so a
/// proxy that is down is one headline (and exit 3) rather than a skip or an error per scenario.
pub async fn unreachable_target(target: &Target, options: &RunOptions) -> Option<(String, String)> {
    let client = match http::client(options.request_timeout) {
        Ok(client) => client,
        Err(e) => return Some((target.describe(), e.to_string())),
    };
    for url in target.base_urls() {
        if let Some(reason) = http::no_answer(&client, url).await {
            return Some((url.clone(), reason));
        }
    }
    None
}

/// After a run on an external target: everything its scenarios created that still exists (nothing to
/// check on the reference proxy).
pub async fn check_leftovers(target: &Target, outcomes: &[ScenarioOutcome], options: &RunOptions) -> Vec<Leftover> {
    let Some(endpoint) = target.admin_endpoint() else { return Vec::new() };
    match http::client(options.request_timeout) {
        Ok(client) => teardown::leftovers(outcomes, &client, &endpoint).await,
        Err(e) => vec![Leftover {
            scenario: String::new(),
            label: "every created object".into(),
            reason: format!("could not check: {e}"),
            unreachable: true,
        }],
    }
}

#[cfg(test)]
mod tests;
