//! The template database and its per-scenario copies on one server.
//!
//! Holds no connection pool: every admin operation opens a short-lived connection, so a server can be
//! shared by many tokio runtimes (each test has its own) and no connection ever sits on the template
//! while it is copied.
//!
//! Copies are made ahead of demand: each request for a copy takes a ready one when there is one and
//! starts making replacements in the background, so a scenario rarely waits for `CREATE DATABASE`.
//! A ready copy is an untouched `CREATE DATABASE … TEMPLATE` of the migrated template, handed out once,
//! so isolation is the same as a copy made on demand. Background work runs on the runtime of the
//! request that started it; if that runtime ends first, the work is abandoned and the copy (recorded
//! before it is created) is dropped with the rest.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::OnceCell;

use super::{PostgresError, ScenarioDatabase, url};

/// How long one admin connection may take to open; a server that does not answer by then is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Ready copies kept per template unless `set_ready_copies` says otherwise: enough for a few
/// scenarios starting at once, few enough that the unused ones at the end of a run cost little.
pub const DEFAULT_READY_COPIES: usize = 4;

/// One template and the copies of it made ahead of demand.
#[derive(Default)]
struct Template {
    /// The template's name, once migrated.
    name: OnceCell<String>,
    /// Copies made ahead and not handed out yet.
    ready: Mutex<Vec<String>>,
    /// Copies being made ahead right now.
    making: AtomicUsize,
}

/// Counts one copy being made ahead, for as long as the work lives (also when it is abandoned).
struct Making(Arc<Template>);

impl Drop for Making {
    fn drop(&mut self) {
        self.0.making.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Bookkeeping of the databases this run made on the server at `admin_url`.
pub(crate) struct Databases {
    /// A URL to a database the run may connect to for CREATE and DROP (never a template or copy).
    admin_url: String,
    /// Makes names unique across runs that share one server (the `url` rung).
    run: String,
    next: AtomicU64,
    /// One template per migrator, keyed by the migrator's address, each migrated once.
    templates: Mutex<Vec<(usize, Arc<Template>)>>,
    /// Every copy made or being made, handed out or not, until it is dropped.
    copies: Mutex<BTreeSet<String>>,
    /// How many copies of each template to keep ready.
    ready_target: AtomicUsize,
    /// Set by `drop_all`: no more copies are made ahead.
    closed: AtomicBool,
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
            ready_target: AtomicUsize::new(DEFAULT_READY_COPIES),
            closed: AtomicBool::new(false),
        }
    }

    /// Keeps `n` copies of each template ready (0: make every copy on demand).
    pub(crate) fn set_ready_copies(&self, n: usize) {
        self.ready_target.store(n, Ordering::Relaxed);
    }

    pub(crate) fn admin_url(&self) -> &str {
        &self.admin_url
    }

    fn fresh_name(&self, kind: &str) -> String {
        format!("gp_{}_{kind}{}", self.run, self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh copy of the template migrated by `migrator`, which is made on first use: a ready one
    /// when there is one, else one made now. Either way, replacements start in the background.
    pub(crate) async fn copy(self: &Arc<Self>, migrator: &'static Migrator) -> Result<ScenarioDatabase, PostgresError> {
        let template = self.template(migrator);
        let template_name = template.name.get_or_try_init(|| self.make_template(migrator)).await?.clone();
        let ready = template.ready.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let name = match ready {
            Some(name) => name,
            None => self.create_copy(&template_name).await?,
        };
        self.make_ahead(&template, &template_name);
        tracing::debug!(database = %name, template = %template_name, "handed out scenario database");
        Ok(ScenarioDatabase { url: url::with_database(&self.admin_url, &name), name })
    }

    /// Starts making copies until ready and in-progress ones reach the target.
    fn make_ahead(self: &Arc<Self>, template: &Arc<Template>, template_name: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let target = self.ready_target.load(Ordering::Relaxed);
        loop {
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            let ready = template.ready.lock().unwrap_or_else(PoisonError::into_inner).len();
            let making = template.making.load(Ordering::Acquire);
            if ready + making >= target {
                return;
            }
            // Claim one slot; another caller may have claimed it first.
            if template.making.compare_exchange(making, making + 1, Ordering::AcqRel, Ordering::Acquire).is_err() {
                continue;
            }
            let guard = Making(Arc::clone(template));
            let databases = Arc::clone(self);
            let template_name = template_name.to_string();
            runtime.spawn(async move {
                match databases.create_copy(&template_name).await {
                    Ok(name) if databases.closed.load(Ordering::Acquire) => {
                        let _ = databases.drop_copy(&name).await;
                    }
                    Ok(name) => guard.0.ready.lock().unwrap_or_else(PoisonError::into_inner).push(name),
                    // The next request makes its copy itself and reports the failure.
                    Err(e) => tracing::debug!("failed to make a database ahead: {e}"),
                }
                drop(guard);
            });
        }
    }

    /// Creates one copy of `template_name`, recorded before it exists so that `drop_all` removes it
    /// even when this work is abandoned half way.
    async fn create_copy(&self, template_name: &str) -> Result<String, PostgresError> {
        let name = self.fresh_name("db");
        self.copies.lock().unwrap_or_else(PoisonError::into_inner).insert(name.clone());
        let sql = format!("CREATE DATABASE {} TEMPLATE {}", quote(&name), quote(template_name));
        // Postgres refuses to copy a template another session is connected to (after waiting 5 s for it
        // to leave); nobody should be, but a slow backend exit must not fail the scenario.
        let mut attempts = 0;
        loop {
            match self.execute(&sql).await {
                Ok(()) => return Ok(name),
                Err(AdminError::Query(e)) if is_object_in_use(&e) && attempts < 3 => attempts += 1,
                Err(e) => {
                    self.copies.lock().unwrap_or_else(PoisonError::into_inner).remove(&name);
                    return Err(e.into_create(&name));
                }
            }
        }
    }

    fn template(&self, migrator: &'static Migrator) -> Arc<Template> {
        let key = std::ptr::from_ref(migrator) as usize;
        let mut templates = self.templates.lock().unwrap_or_else(PoisonError::into_inner);
        match templates.iter().find(|(k, _)| *k == key) {
            Some((_, template)) => Arc::clone(template),
            None => {
                // A failed migration leaves the name unset, so a later call tries again.
                let template = Arc::new(Template::default());
                templates.push((key, Arc::clone(&template)));
                template
            }
        }
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

    pub(crate) async fn drop_copy(&self, name: &str) -> Result<(), PostgresError> {
        self.drop_named(name).await?;
        self.copies.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
        Ok(())
    }

    /// Stops making copies ahead, waits (briefly) for those in progress, then drops every copy still
    /// there and the templates; reports the first failure after trying all.
    pub(crate) async fn drop_all(&self) -> Result<(), PostgresError> {
        self.closed.store(true, Ordering::Release);
        let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
        while self.making() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let copies: Vec<String> =
            std::mem::take(&mut *self.copies.lock().unwrap_or_else(PoisonError::into_inner)).into_iter().collect();
        let templates: Vec<String> =
            std::mem::take(&mut *self.templates.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .filter_map(|(_, template)| template.name.get().cloned())
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

    /// Copies being made ahead, over every template.
    fn making(&self) -> usize {
        let templates = self.templates.lock().unwrap_or_else(PoisonError::into_inner);
        templates.iter().map(|(_, t)| t.making.load(Ordering::Acquire)).sum()
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
