//! The reference proxy: LiteLLM's management API with the corrected behaviour, in-process, on Postgres.
//!
//! Contract: `start(ProxyConfig)` binds, migrates nothing (the database comes migrated from
//! `postgres::PgServer::scenario_database(&MIGRATOR)`), and serves until `RunningProxy::shutdown`.

use std::net::SocketAddr;
use std::time::Duration;

/// Migrations of the reference proxy's schema, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/reference/migrations");

#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub master_key: String,
    pub database_url: String,
    /// `DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL`; 60 s by default.
    pub cache_ttl: Duration,
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
}

impl ProxyConfig {
    pub fn new(master_key: impl Into<String>, database_url: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            master_key: master_key.into(),
            database_url: database_url.into(),
            cache_ttl: Duration::from_secs(60),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("failed to start the reference proxy: {0}")]
pub struct StartError(pub String);

pub struct RunningProxy {
    pub base_url: String,
}

pub async fn start(config: ProxyConfig) -> Result<RunningProxy, StartError> {
    let _ = config;
    todo!("reference proxy")
}

impl RunningProxy {
    pub async fn shutdown(self) {
        todo!("reference proxy")
    }
}
