//! What scenarios run against: the in-process reference proxy (one fresh database and proxy per
//! scenario) or an external proxy by URL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rand::Rng;

use tokio::sync::OnceCell;

use super::http::{Client, Endpoint};
use super::probe::{self, TargetProfile};
use crate::postgres::{PgServer, ScenarioDatabase};
use crate::reference::{self, ProxyConfig, Quirks, RunningProxy};
use crate::scenario::{ReferenceSettings, Scenario};

pub enum Target {
    /// The reference proxy, started per scenario on its own database of `pg`.
    Reference {
        pg: Arc<PgServer>,
        master_key: String,
        /// From `CACHE_TTL_ENV`, read once when the target is made; a scenario's own TTL wins.
        cache_ttl: std::time::Duration,
    },
    /// A proxy someone else runs: one base URL per replica, all on one database.
    External {
        base_urls: Vec<String>,
        master_key: String,
        /// Asked once, by the first scenario that opens the target.
        profile: OnceCell<TargetProfile>,
        /// Capabilities scenarios probe themselves, by name: each asked once, by the first scenario
        /// that needs it; `Some` says what the target answered when it lacks it.
        probed: Mutex<BTreeMap<String, Arc<OnceCell<Option<String>>>>>,
    },
}

impl Target {
    /// The reference target, with a master key made up for this run.
    pub fn reference(pg: Arc<PgServer>) -> Target {
        Target::Reference { pg, master_key: generate_master_key(), cache_ttl: reference::cache_ttl_from_env() }
    }

    pub fn external(base_url: impl Into<String>, master_key: impl Into<String>) -> Target {
        Target::external_replicas(vec![base_url.into()], master_key)
    }

    /// Several replicas of one external proxy (at least one URL).
    pub fn external_replicas(base_urls: Vec<String>, master_key: impl Into<String>) -> Target {
        Target::External {
            base_urls,
            master_key: master_key.into(),
            profile: OnceCell::new(),
            probed: Mutex::new(BTreeMap::new()),
        }
    }

    /// The target's version, as its health route gives it; `None` when it does not say.
    pub(crate) async fn version(&self, client: &Client) -> Option<String> {
        match self {
            Target::Reference { .. } => Some(format!("gateproof reference {}", env!("CARGO_PKG_VERSION"))),
            Target::External { profile, .. } => match profile.get() {
                Some(profile) => profile.version.clone(),
                None => probe::version(client, &self.admin_endpoint()?).await,
            },
        }
    }

    /// The capabilities an external target lacks (probed once, as for a scenario that `requires`
    /// them); none for the reference.
    pub(crate) async fn missing_capabilities(&self, client: &Client) -> Vec<crate::scenario::Capability> {
        match self {
            Target::Reference { .. } => Vec::new(),
            Target::External { profile, .. } => {
                let Some(endpoint) = self.admin_endpoint() else { return Vec::new() };
                profile.get_or_init(|| probe::probe(client, &endpoint)).await.missing.keys().copied().collect()
            }
        }
    }

    /// The endpoint the harness's own requests (teardown, leftover check) go to.
    pub(crate) fn admin_endpoint(&self) -> Option<Endpoint> {
        match self {
            Target::Reference { .. } => None,
            Target::External { base_urls, master_key, .. } => {
                base_urls.first().map(|url| Endpoint { base_url: url.clone(), master_key: master_key.clone() })
            }
        }
    }

    /// What makes every further scenario on this target fail, if that is gone: the reference proxy's
    /// Postgres. Asked after a scenario errored. An external target that stops answering is the
    /// scenarios' own verdict (each step says so), so it is never "gone" here.
    pub(crate) async fn gone(&self) -> Option<String> {
        match self {
            Target::Reference { pg, .. } => pg.gone().await.map(|reason| format!("Postgres went away: {reason}")),
            Target::External { .. } => None,
        }
    }

    /// The master key the harness sends as admin (made up for the run on the reference proxy).
    pub fn master_key(&self) -> &str {
        match self {
            Target::Reference { master_key, .. } | Target::External { master_key, .. } => master_key,
        }
    }

    /// The external target's base URLs; none for the reference proxy.
    pub fn base_urls(&self) -> &[String] {
        match self {
            Target::Reference { .. } => &[],
            Target::External { base_urls, .. } => base_urls,
        }
    }

    /// `reference`, or the external base URLs.
    pub fn describe(&self) -> String {
        match self {
            Target::Reference { .. } => "reference".to_string(),
            Target::External { base_urls, .. } => base_urls.join(", "),
        }
    }

    /// True for the in-process reference proxy, the only target with quirks.
    pub fn is_reference(&self) -> bool {
        matches!(self, Target::Reference { .. })
    }

    /// Gets the target ready for one scenario; the reference proxy starts with `quirks` on.
    pub(crate) async fn open(
        &self,
        scenario: &Scenario,
        quirks: Quirks,
        client: &Client,
    ) -> Result<Session, Unavailable> {
        match self {
            Target::External { base_urls, master_key, profile, probed } => {
                if !quirks.is_empty() {
                    return Err(Unavailable::Skip(format!(
                        "quirks ({quirks}) switch bugs on in the reference proxy only"
                    )));
                }
                if scenario.reference.cache_ttl.is_some() {
                    return Err(Unavailable::Skip(format!(
                        "needs reference-only settings: {}",
                        describe_settings(&scenario.reference)
                    )));
                }
                if scenario.reference.replicas > base_urls.len() {
                    return Err(Unavailable::Skip(format!(
                        "needs {} replicas of the proxy: pass as many --target URLs (got {})",
                        scenario.reference.replicas,
                        base_urls.len()
                    )));
                }
                // A scenario that does not ask for replicas talks to the first target only: spreading
                // its steps over replicas without a shared cache would test cross-replica staleness
                // (BerriAI/litellm#9820) in every scenario. The first, not a round-robin pick, so a run
                // with several targets judges those scenarios exactly as a run on the first alone.
                let endpoints: Vec<Endpoint> = base_urls
                    .iter()
                    .take(scenario.reference.replicas.max(1))
                    .map(|url| Endpoint { base_url: url.clone(), master_key: master_key.clone() })
                    .collect();
                if !scenario.requires.is_empty() {
                    let profile = profile.get_or_init(|| probe::probe(client, &endpoints[0])).await;
                    if let Some(reason) = profile.lacks(&scenario.requires) {
                        return Err(Unavailable::Skip(reason));
                    }
                }
                for capability in &scenario.probed {
                    // Cached by name: the loader has made sure every scenario naming it probes alike.
                    let cell = {
                        let mut cells = probed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        Arc::clone(cells.entry(capability.name.clone()).or_default())
                    };
                    let lacks = cell.get_or_init(|| probe::probed(client, &endpoints[0], capability)).await;
                    if let Some(why) = lacks {
                        return Err(Unavailable::Skip(format!("the target lacks `{}`: {why}", capability.name)));
                    }
                }
                Ok(Session { endpoints, reference: None })
            }
            Target::Reference { pg, master_key, cache_ttl } => {
                let db = pg
                    .scenario_database(&reference::MIGRATOR)
                    .await
                    .map_err(|e| Unavailable::Error(format!("failed to create the scenario database: {e}")))?;
                let config = ProxyConfig {
                    cache_ttl: scenario.reference.cache_ttl.unwrap_or(*cache_ttl),
                    quirks,
                    ..ProxyConfig::new(master_key.clone(), db.url.clone())
                };
                let mut proxies = Vec::with_capacity(scenario.reference.replicas);
                for _ in 0..scenario.reference.replicas {
                    match reference::start(config.clone()).await {
                        Ok(proxy) => proxies.push(proxy),
                        Err(e) => {
                            for proxy in proxies {
                                proxy.shutdown().await;
                            }
                            drop_database(pg, &db).await;
                            return Err(Unavailable::Error(e.to_string()));
                        }
                    }
                }
                let endpoints = proxies
                    .iter()
                    .map(|proxy| Endpoint { base_url: proxy.base_url.clone(), master_key: master_key.clone() })
                    .collect();
                Ok(Session { endpoints, reference: Some((Arc::clone(pg), db, proxies)) })
            }
        }
    }
}

/// Why a scenario cannot run on this target.
pub(crate) enum Unavailable {
    Skip(String),
    Error(String),
}

/// A target ready for one scenario; `close` it when done, whatever the outcome.
pub(crate) struct Session {
    /// One per replica the scenario asks for, in `on:` order; never empty.
    pub endpoints: Vec<Endpoint>,
    reference: Option<(Arc<PgServer>, ScenarioDatabase, Vec<RunningProxy>)>,
}

impl Session {
    pub(crate) async fn close(self) {
        if let Some((pg, db, proxies)) = self.reference {
            for proxy in proxies {
                proxy.shutdown().await;
            }
            drop_database(&pg, &db).await;
        }
    }
}

async fn drop_database(pg: &PgServer, db: &ScenarioDatabase) {
    // A database left behind is removed with the server at the end of the run; it does not change the
    // scenario's verdict.
    if let Err(e) = pg.drop_database(db).await {
        tracing::warn!(database = %db.name, "failed to drop the scenario database: {e}");
    }
}

fn describe_settings(settings: &ReferenceSettings) -> String {
    let mut parts = Vec::new();
    if let Some(ttl) = settings.cache_ttl {
        parts.push(format!("{}={}", reference::CACHE_TTL_ENV, ttl.as_secs()));
    }
    parts.join(", ")
}

/// `sk-gp-` and 24 random lower-case letters and digits.
pub fn generate_master_key() -> String {
    format!("sk-gp-{}", random_alphanumeric(24))
}

/// `n` random lower-case letters and digits.
pub(crate) fn random_alphanumeric(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = generate_master_key();
        assert!(key.starts_with("sk-gp-"), "{key}");
        assert_eq!(key.len(), 30);
        assert!(key[6..].chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(generate_master_key(), key);
    }

    #[test]
    fn settings_are_named_as_in_the_file() {
        let settings = ReferenceSettings { cache_ttl: Some(Duration::from_secs(0)), ..ReferenceSettings::default() };
        assert_eq!(describe_settings(&settings), "DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL=0");
    }
}
