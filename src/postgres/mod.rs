//! One Postgres server per run, one fresh database per scenario (to be written).
//!
//! Contract (the rest of the crate relies on this):
//! - `PostgresChoice` parses `auto|docker|local|postgres://…`.
//! - `PgServer::start(&PostgresOptions)` gives a running server or a `PostgresError` that maps to exit 3.
//! - `PgServer::scenario_database(&MIGRATOR)` migrates a template once per server, then returns a
//!   `CREATE DATABASE … TEMPLATE` copy; `drop_database` removes it.
//! - A `PgServer` holds no connection pool, so it can be shared by many tokio runtimes (tests).

use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostgresChoice {
    Auto,
    Docker,
    Local,
    Url(String),
}

impl FromStr for PostgresChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(PostgresChoice::Auto),
            "docker" => Ok(PostgresChoice::Docker),
            "local" => Ok(PostgresChoice::Local),
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(PostgresChoice::Url(url.to_string()))
            }
            other => Err(format!("expected auto, docker, local or a postgres:// URL, got `{other}`")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct PostgresOptions {
    pub choice: PostgresChoice,
    /// Image for the container rung; `None` = the official `postgres` image.
    pub image: Option<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PostgresError {
    #[error("failed to find a Postgres server")]
    #[diagnostic(help("set DATABASE_URL (or --postgres postgres://…), start a Docker-compatible engine, or install the PostgreSQL server binaries (initdb, postgres)"))]
    NoneAvailable,
    #[error("failed to {0}")]
    Other(String),
}

/// A database a scenario owns.
#[derive(Clone, Debug)]
pub struct ScenarioDatabase {
    pub name: String,
    pub url: String,
}

pub struct PgServer {}

impl PgServer {
    pub async fn start(options: &PostgresOptions) -> Result<PgServer, PostgresError> {
        let _ = options;
        todo!("postgres helper")
    }

    /// `url`, `docker` or `local`.
    pub fn kind(&self) -> &'static str {
        todo!("postgres helper")
    }

    pub async fn scenario_database(
        &self,
        migrator: &'static sqlx::migrate::Migrator,
    ) -> Result<ScenarioDatabase, PostgresError> {
        let _ = migrator;
        todo!("postgres helper")
    }

    pub async fn drop_database(&self, db: &ScenarioDatabase) -> Result<(), PostgresError> {
        let _ = db;
        todo!("postgres helper")
    }

    /// Drops what is left, stops the server and removes its files (a no-op for `url`).
    pub async fn shutdown(self) {
        todo!("postgres helper")
    }
}
