//! One Postgres server per run, one fresh database per scenario.
//!
//! Contract (the rest of the crate relies on this):
//! - `PostgresChoice` parses `auto|docker|local|postgres://…`.
//! - `PgServer::start(&PostgresOptions)` gives a running server or a `PostgresError` that maps to exit 3.
//! - `PgServer::scenario_database(&MIGRATOR)` migrates a template once per server, then returns a
//!   `CREATE DATABASE … TEMPLATE` copy, made ahead of demand when it can be; `drop_database` removes
//!   it; `shutdown` removes the rest.
//! - A `PgServer` holds no connection pool, so it can be shared by many tokio runtimes (tests).
//!
//! Which rung runs is decided by `choice::plan` over a probe of the environment; `local` and `container`
//! run a server, `template` manages the databases on it, whichever rung gave it.

mod choice;
mod container;
mod engine;
mod local;
mod reaper;
mod template;
mod url;

use std::str::FromStr;
use std::sync::Arc;

use choice::{Attempt, Environment};
use container::ContainerServer;
use local::LocalServer;
pub use template::DEFAULT_READY_COPIES;
use template::Databases;

/// Settings of every throwaway server gateproof starts, local or in a container: durability is not
/// worth its cost for a database that lives one run, and scenarios run in parallel, each with a proxy
/// pool, so the default of 100 connections runs out.
pub(crate) const SERVER_SETTINGS: [&str; 8] =
    ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"];

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
    /// Image for the container rung (`NAME:TAG`); `None` = the official `postgres` image, tag 17.
    pub image: Option<String>,
}

/// Everything that can go wrong getting or using the server; the CLI maps all of it to exit 3.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PostgresError {
    #[error("failed to find a Postgres server")]
    #[diagnostic(help(
        "set DATABASE_URL (or --postgres postgres://…), start a Docker-compatible engine, or install the PostgreSQL server binaries (initdb, postgres)"
    ))]
    NoneAvailable,
    #[error(
        "failed to find the PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin"
    )]
    #[diagnostic(help("install the PostgreSQL server package, or use --postgres docker or --postgres postgres://…"))]
    LocalBinariesMissing,
    #[error(
        "failed to find an unprivileged user (postgres or nobody) to run PostgreSQL as: initdb refuses to run as root"
    )]
    #[diagnostic(help(
        "create a `postgres` user, run gateproof as a non-root user, or use --postgres docker or --postgres postgres://…"
    ))]
    NoUnprivilegedUser,
    #[error("failed to start the local PostgreSQL server: {reason} (log: {log})")]
    LocalStart { reason: String, log: String },
    #[error("failed to start a PostgreSQL container from image {image}: {reason}")]
    #[diagnostic(help(
        "check that a Docker-compatible engine answers (DOCKER_HOST) and that the image can be pulled, or pass --postgres-image with an image the engine already has (see the README's Postgres section)"
    ))]
    Container { image: String, reason: String },
    #[error("failed to connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("failed to create database {database}: {reason}")]
    CreateDatabase { database: String, reason: String },
    #[error("failed to migrate template database {database}: {reason}")]
    Migrate { database: String, reason: String },
    #[error("failed to drop database {database}: {reason}")]
    DropDatabase { database: String, reason: String },
    /// Any other failure, worded as the operation that failed.
    #[error("failed to {0}")]
    Other(String),
}

/// A database a scenario owns.
#[derive(Clone, Debug)]
pub struct ScenarioDatabase {
    pub name: String,
    pub url: String,
}

/// What runs the server; dropping it stops a server we started.
enum Backend {
    Url,
    Container(Box<ContainerServer>),
    Local(LocalServer),
}

/// The run's one server and the databases the run made on it. Holds no connection pool or
/// runtime-bound state, so tests can share one in a `static` across their tokio runtimes.
/// How long [`PgServer::gone`] waits for a connection.
const GONE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct PgServer {
    kind: &'static str,
    databases: Arc<Databases>,
    backend: Backend,
}

impl PgServer {
    pub async fn start(options: &PostgresOptions) -> Result<PgServer, PostgresError> {
        PgServer::start_in(options, &Environment::probe()).await
    }

    /// `start` over a given environment, so rung choice and fallback are testable.
    async fn start_in(options: &PostgresOptions, env: &Environment) -> Result<PgServer, PostgresError> {
        let attempts = choice::plan(&options.choice, env)?;
        let last = attempts.len().saturating_sub(1);
        for (index, attempt) in attempts.iter().enumerate() {
            match PgServer::try_attempt(attempt, options).await {
                Ok(server) => return Ok(server),
                // `auto` falls back on any error; an explicit choice reports its own.
                Err(e) if options.choice == PostgresChoice::Auto && index < last => {
                    tracing::info!("{e}; trying the next way to get a Postgres server");
                }
                Err(e @ PostgresError::Container { .. }) if options.choice == PostgresChoice::Auto => {
                    tracing::warn!("{e}");
                    return Err(PostgresError::NoneAvailable);
                }
                Err(e) => return Err(e),
            }
        }
        Err(PostgresError::NoneAvailable)
    }

    async fn try_attempt(attempt: &Attempt, options: &PostgresOptions) -> Result<PgServer, PostgresError> {
        let (admin_url, backend) = match attempt {
            Attempt::Url(url) => {
                // Fail here, with the URL in the message, rather than at the first scenario.
                let conn = template::connect(url).await?;
                let _ = sqlx::Connection::close(conn).await;
                (url.clone(), Backend::Url)
            }
            Attempt::Container => {
                let server = ContainerServer::start(options.image.as_deref()).await?;
                (server.url().to_string(), Backend::Container(Box::new(server)))
            }
            Attempt::Local(setup) => {
                let server = LocalServer::start(setup).await?;
                (server.url(), Backend::Local(server))
            }
        };
        tracing::info!(kind = attempt.kind(), url = %url::redact(&admin_url), "Postgres server ready");
        Ok(PgServer { kind: attempt.kind(), databases: Arc::new(Databases::new(admin_url)), backend })
    }

    /// `url`, `docker` or `local`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// A fresh database migrated by `migrator`, copied from a template that is migrated once per server.
    /// Copies are independent, so scenarios can run in parallel; replacements are made in the
    /// background, on the caller's runtime.
    pub async fn scenario_database(
        &self,
        migrator: &'static sqlx::migrate::Migrator,
    ) -> Result<ScenarioDatabase, PostgresError> {
        self.databases.copy(migrator).await
    }

    /// Keeps `n` copies of each template made ahead of demand (`DEFAULT_READY_COPIES` unless set;
    /// 0 makes every copy when asked).
    pub fn set_ready_copies(&self, n: usize) {
        self.databases.set_ready_copies(n);
    }

    /// Why the server no longer answers, if it does not: one connection to its maintenance database,
    /// bounded by [`GONE_WAIT`].
    pub async fn gone(&self) -> Option<String> {
        match tokio::time::timeout(GONE_WAIT, template::connect(self.databases.admin_url())).await {
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
                None
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {} s", GONE_WAIT.as_secs())),
        }
    }

    /// Drops a scenario's database, ending any session still connected to it.
    pub async fn drop_database(&self, db: &ScenarioDatabase) -> Result<(), PostgresError> {
        self.databases.drop_copy(&db.name).await
    }

    /// Stops the server and removes its files; for `url`, whose server is shared, drops instead the
    /// template and every copy this run made.
    pub async fn shutdown(self) {
        let PgServer { kind, databases, backend } = self;
        match backend {
            // A shared server outlives the run: leave it as it was found.
            Backend::Url => {
                if let Err(e) = databases.drop_all().await {
                    tracing::warn!("failed to clean up after the run on {}: {e}", url::redact(databases.admin_url()));
                }
            }
            // A server of our own goes whole, databases and all.
            Backend::Container(server) => server.stop().await,
            Backend::Local(server) => server.stop().await,
        }
        tracing::debug!(kind, "Postgres server shut down");
    }
}

#[cfg(test)]
mod tests;
