//! The template database and its per-scenario copies on one server.
//!
//! Holds no pool: every admin operation opens a short-lived connection, so a server can be shared by many
//! tokio runtimes (each test has its own) and no connection ever sits on the template while it is copied.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::OnceCell;

use super::{PostgresError, ScenarioDatabase, url};

/// How long one admin connection may take to open; a server that does not answer by then is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Bookkeeping of the databases this run made on the server at `admin_url`.
pub(crate) struct Databases {
    /// A URL to a database the run may connect to for CREATE and DROP (never a template or copy).
    admin_url: String,
    /// Makes names unique across runs that share one server (the `url` rung).
    run: String,
    next: AtomicU64,
    /// One template per migrator, keyed by the migrator's address, each migrated once.
    templates: Mutex<Vec<(usize, Arc<OnceCell<String>>)>>,
    copies: Mutex<BTreeSet<String>>,
}

impl Databases {
    pub(crate) fn new(admin_url: String) -> Databases {
        let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
        Databases {
            admin_url,
            run,
            next: AtomicU64::new(0),
            templates: Mutex::new(Vec::new()),
            copies: Mutex::new(BTreeSet::new()),
        }
    }

    pub(crate) fn admin_url(&self) -> &str {
        &self.admin_url
    }

    fn fresh_name(&self, kind: &str) -> String {
        format!("gp_{}_{kind}{}", self.run, self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh copy of the template migrated by `migrator`, which is made on first use.
    pub(crate) async fn copy(&self, migrator: &'static Migrator) -> Result<ScenarioDatabase, PostgresError> {
        let template = self.template(migrator).await?;
        let name = self.fresh_name("db");
        let sql = format!("CREATE DATABASE {} TEMPLATE {}", quote(&name), quote(&template));
        // Postgres refuses to copy a template another session is connected to (after waiting 5 s for it
        // to leave); nobody should be, but a slow backend exit must not fail the scenario.
        let mut attempts = 0;
        loop {
            match self.execute(&sql).await {
                Ok(()) => break,
                Err(AdminError::Query(e)) if is_object_in_use(&e) && attempts < 3 => attempts += 1,
                Err(e) => return Err(e.into_create(&name)),
            }
        }
        self.copies.lock().unwrap_or_else(PoisonError::into_inner).insert(name.clone());
        tracing::debug!(database = %name, template = %template, "created scenario database");
        Ok(ScenarioDatabase { url: url::with_database(&self.admin_url, &name), name })
    }

    async fn template(&self, migrator: &'static Migrator) -> Result<String, PostgresError> {
        let key = std::ptr::from_ref(migrator) as usize;
        let cell = {
            let mut templates = self.templates.lock().unwrap_or_else(PoisonError::into_inner);
            match templates.iter().find(|(k, _)| *k == key) {
                Some((_, cell)) => Arc::clone(cell),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    templates.push((key, Arc::clone(&cell)));
                    cell
                }
            }
        };
        // A failed migration leaves the cell empty, so a later call tries again.
        cell.get_or_try_init(|| self.make_template(migrator)).await.cloned()
    }

    async fn make_template(&self, migrator: &'static Migrator) -> Result<String, PostgresError> {
        let name = self.fresh_name("template");
        self.execute(&format!("CREATE DATABASE {}", quote(&name))).await.map_err(|e| e.into_create(&name))?;
        let migrated = async {
            let target = url::with_database(&self.admin_url, &name);
            // A one-connection pool, not a bare connection: `Migrator::run(&mut PgConnection)` makes every
            // caller's future fail to be `Send` ("`Acquire` is not general enough"), and callers spawn.
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect(&target)
                .await
                .map_err(|e| {
                    PostgresError::Connect { target: url::redact(&target), reason: e.to_string() }.to_string()
                })?;
            let run = migrator.run(&pool).await.map_err(|e| e.to_string());
            // Close before copying: Postgres refuses a template with open connections.
            pool.close().await;
            run
        }
        .await;
        if let Err(reason) = migrated {
            let _ = self.drop_named(&name).await;
            return Err(PostgresError::Migrate { database: name, reason });
        }
        tracing::debug!(template = %name, "migrated template database");
        Ok(name)
    }

    pub(crate) async fn drop(&self, name: &str) -> Result<(), PostgresError> {
        self.drop_named(name).await?;
        self.copies.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
        Ok(())
    }

    /// Drops every copy still there, then the templates; reports the first failure after trying all.
    pub(crate) async fn drop_all(&self) -> Result<(), PostgresError> {
        let copies: Vec<String> =
            std::mem::take(&mut *self.copies.lock().unwrap_or_else(PoisonError::into_inner)).into_iter().collect();
        let templates: Vec<String> =
            std::mem::take(&mut *self.templates.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .filter_map(|(_, cell)| cell.get().cloned())
                .collect();
        let mut first_error = None;
        for name in copies.iter().chain(&templates) {
            if let Err(e) = self.drop_named(name).await {
                tracing::warn!("{e}");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn drop_named(&self, name: &str) -> Result<(), PostgresError> {
        // FORCE ends sessions a scenario left open (a proxy's pool), which would otherwise block the drop.
        self.execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(name))).await.map_err(|e| match e {
            AdminError::Connect(e) => e,
            AdminError::Query(e) => PostgresError::DropDatabase { database: name.to_string(), reason: e.to_string() },
        })
    }

    async fn execute(&self, sql: &str) -> Result<(), AdminError> {
        let mut conn = connect(&self.admin_url).await.map_err(AdminError::Connect)?;
        let result = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut conn).await;
        let _ = conn.close().await;
        result.map(|_| ()).map_err(AdminError::Query)
    }
}

/// Why an admin statement failed: the server could not be reached, or it refused the statement.
enum AdminError {
    Connect(PostgresError),
    Query(sqlx::Error),
}

impl AdminError {
    fn into_create(self, database: &str) -> PostgresError {
        match self {
            AdminError::Connect(e) => e,
            AdminError::Query(e) => {
                PostgresError::CreateDatabase { database: database.to_string(), reason: e.to_string() }
            }
        }
    }
}

/// Opens one connection, bounded by `CONNECT_TIMEOUT`.
pub(crate) async fn connect(url: &str) -> Result<PgConnection, PostgresError> {
    let failed = |reason: String| PostgresError::Connect { target: url::redact(url), reason };
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(_) => Err(failed(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
    }
}

fn is_object_in_use(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|code| code == "55006")
}

/// Quotes an identifier for SQL; our names are plain, but a quote must never end the identifier early.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_doubles_embedded_quotes() {
        assert_eq!(quote("gp_1"), "\"gp_1\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn names_are_unique_within_a_run_and_carry_the_run_id() {
        let databases = Databases::new("postgres://h/postgres".into());
        let a = databases.fresh_name("db");
        let b = databases.fresh_name("db");
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("gp_{}_", databases.run)), "{a}");
        let other = Databases::new("postgres://h/postgres".into());
        assert_ne!(other.run, databases.run);
    }
}
