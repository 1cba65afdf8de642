//! The reference proxy: LiteLLM's management API with the corrected behaviour, in-process, on Postgres.
//!
//! `start(ProxyConfig)` connects to an already migrated database (see
//! `postgres::PgServer::scenario_database(&MIGRATOR)`), binds, and serves until
//! `RunningProxy::shutdown`. Handlers load data, call the pure checks in `authz`, and render errors in
//! the envelope LiteLLM uses at that place (`error`).

mod auth;
mod authz;
mod budget_scope;
mod cache;
mod deployment;
mod domain;
mod duration;
mod edge;
mod error;
mod global_spend;
mod handlers;
mod invalidation;
mod mcp;
mod request;
mod spend;
mod spend_logs;
mod storage;
mod store;
mod team_member_budget;
mod token;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use gateproof_format::{Quirk, Quirks};
use handlers::{discovery, health, inference, key, key_rotation, model, organization, team, user};
use store::Store;

/// Migrations of the reference proxy's schema, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/migrations");

pub use gateproof_format::CACHE_TTL_ENV;

/// LiteLLM's management-object cache TTL when `CACHE_TTL_ENV` is not set.
pub const LITELLM_CACHE_TTL: Duration = Duration::from_secs(60);

/// The cache TTL from `CACHE_TTL_ENV` in the environment, else LiteLLM's default of 60 s. Read it
/// once per run (a scenario that sets its own TTL overrides it).
pub fn cache_ttl_from_env() -> Duration {
    cache_ttl_from(std::env::var(CACHE_TTL_ENV).ok().as_deref())
}

fn cache_ttl_from(value: Option<&str>) -> Duration {
    match value.map(str::trim).and_then(|v| v.parse::<u64>().ok()) {
        Some(seconds) => Duration::from_secs(seconds),
        None => {
            if let Some(v) = value {
                tracing::warn!("ignoring {CACHE_TTL_ENV}={v:?}: not a whole number of seconds");
            }
            LITELLM_CACHE_TTL
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub master_key: String,
    pub database_url: String,
    /// `CACHE_TTL_ENV`; LiteLLM's 60 s by default (`ProxyConfig::new` does not read the environment:
    /// see `cache_ttl_from_env`).
    pub cache_ttl: Duration,
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Upstream bugs to reproduce; none by default (the corrected behaviour).
    pub quirks: Quirks,
    /// The most connections its pool opens to Postgres ([`DEFAULT_POOL_SIZE`] by default). A
    /// replica that listens for cache invalidations holds one more.
    pub max_connections: u32,
}

/// Enough for the proxied call's queries to overlap under a load test on 2 cores.
pub const DEFAULT_POOL_SIZE: u32 = 8;

impl ProxyConfig {
    pub fn new(master_key: impl Into<String>, database_url: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            master_key: master_key.into(),
            database_url: database_url.into(),
            cache_ttl: LITELLM_CACHE_TTL,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            quirks: Quirks::NONE,
            max_connections: DEFAULT_POOL_SIZE,
        }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("failed to start the reference proxy: {0}")]
pub struct StartError(pub String);

pub(crate) struct Inner {
    store: Store,
    master_key: String,
    /// Talks to upstream MCP servers; one connection pool per proxy.
    mcp: mcp::client::McpClient,
}

#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

pub struct RunningProxy {
    pub base_url: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    /// Applies other replicas' cache invalidations; `None` with `no_cross_replica_invalidation`.
    listener: Option<JoinHandle<()>>,
    db: sqlx::PgPool,
    state: AppState,
}

/// Tables that hold the running proxies' own registrations, not what requests wrote: a database
/// emptied for reuse under running proxies keeps their rows (`cache_listeners` is how writers know
/// whom to wait for).
pub const PROXY_STATE_TABLES: &[&str] = &["_sqlx_migrations", "cache_listeners"];

fn router(state: AppState) -> Router {
    Router::new()
        .route("/health/liveliness", get(health::liveliness))
        .route("/health/liveness", get(health::liveliness))
        .route("/health/readiness", get(health::readiness))
        .route("/user/new", post(user::new))
        .route("/user/info", get(user::info))
        .route("/user/update", post(user::update))
        .route("/user/delete", post(user::delete))
        .route("/team/new", post(team::new))
        .route("/team/info", get(team::info))
        .route("/team/update", post(team::update))
        .route("/team/delete", post(team::delete))
        .route("/team/block", post(team::block))
        .route("/team/unblock", post(team::block))
        .route("/team/member_add", post(team::member_add))
        .route("/team/member_update", post(team::member_update))
        .route("/team/member_delete", post(team::member_delete))
        .route("/team/permissions_list", get(handlers::team_permissions::list))
        .route("/team/permissions_update", post(handlers::team_permissions::update))
        .route("/key/generate", post(key::generate))
        .route("/key/service-account/generate", post(key::generate_service_account))
        .route("/key/info", get(key::info))
        .route("/key/list", get(handlers::key_list::list))
        .route("/spend/keys", get(handlers::spend_lists::keys))
        .route("/spend/users", get(handlers::spend_lists::users))
        .route("/spend/logs", get(handlers::spend_lists::logs))
        .route("/global/spend", get(handlers::global_spend::total))
        .route("/global/spend/keys", get(handlers::global_spend::keys))
        .route("/global/spend/models", get(handlers::global_spend::models))
        .route("/global/spend/teams", get(handlers::global_spend::teams))
        .route("/global/spend/logs", get(handlers::global_spend::logs_by_day))
        .route("/key/update", post(key::update))
        .route("/key/delete", post(key::delete))
        .route("/key/block", post(handlers::key_block::block))
        .route("/key/unblock", post(handlers::key_block::unblock))
        .route("/key/regenerate", post(key_rotation::regenerate))
        .route("/key/{key}/regenerate", post(key_rotation::regenerate_path))
        .route("/key/bulk_update", post(key_rotation::bulk_update))
        .route("/model/new", post(model::new))
        .route("/model/info", get(discovery::info))
        .route("/v1/model/info", get(discovery::info))
        .route("/v2/model/info", get(discovery::info_v2))
        .route("/model_group/info", get(discovery::group_info))
        .route("/models", get(discovery::list))
        .route("/v1/models", get(discovery::list))
        .route("/model/delete", post(model::delete))
        .route("/chat/completions", post(inference::chat))
        .route("/v1/chat/completions", post(inference::chat))
        .route("/engines/{model}/chat/completions", post(inference::chat_for))
        .route("/openai/deployments/{model}/chat/completions", post(inference::chat_for))
        .route("/completions", post(inference::text))
        .route("/v1/completions", post(inference::text))
        .route("/engines/{model}/completions", post(inference::text_for))
        .route("/openai/deployments/{model}/completions", post(inference::text_for))
        .route("/embeddings", post(inference::embeddings))
        .route("/v1/embeddings", post(inference::embeddings))
        .route("/engines/{model}/embeddings", post(inference::embeddings_for))
        .route("/openai/deployments/{model}/embeddings", post(inference::embeddings_for))
        .route("/organization/new", post(organization::new))
        .route("/organization/info", get(organization::info))
        .route("/organization/update", patch(organization::update))
        .route("/organization/member_add", post(organization::member_add))
        .route("/organization/delete", delete(organization::delete))
        .route("/organization/member_update", patch(organization::member_update))
        .route("/organization/member_delete", delete(organization::member_delete))
        .merge(handlers::mcp_router())
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))) })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, Json(json!({"detail": "Method Not Allowed"})))
        })
        .with_state(state)
}

/// The router behind the proxy's layers, as served.
fn app(state: AppState) -> Router {
    edge::with_layers(router(state))
}

pub async fn start(config: ProxyConfig) -> Result<RunningProxy, StartError> {
    // No ping before each acquire: on the proxied call's path it doubled the round trips to
    // Postgres, and a connection that broke fails its query with the same error the ping would give.
    let db = PgPoolOptions::new()
        .max_connections(config.max_connections.max(1))
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&config.database_url)
        .await
        .map_err(|e| StartError(format!("failed to connect to its database: {e}")))?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| StartError(format!("failed to listen on {}: {e}", config.bind)))?;
    let addr = listener.local_addr().map_err(|e| StartError(e.to_string()))?;
    let store = Store::new(db.clone(), config.cache_ttl, config.quirks);
    // Listening starts before the proxy serves, so no write can miss this replica.
    let invalidations = if store.invalidates_across_replicas() {
        Some(
            store
                .listen_for_invalidations()
                .await
                .map_err(|e| StartError(format!("failed to listen for cache invalidations: {e}")))?,
        )
    } else {
        None
    };
    let state = AppState(Arc::new(Inner { store, master_key: config.master_key, mcp: mcp::client::McpClient::new() }));
    let kept = state.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        edge::serve(listener, app(state), async {
            let _ = stopped.await;
        })
        .await
    });
    Ok(RunningProxy { base_url: format!("http://{addr}"), stop, server, listener: invalidations, db, state: kept })
}

impl RunningProxy {
    /// Forgets what this proxy holds in memory, so that on a database emptied of what requests wrote
    /// (all but [`PROXY_STATE_TABLES`]) it answers as a freshly started proxy would. Call it with no
    /// request in flight.
    pub fn forget(&self) {
        self.state.store.forget();
    }

    /// Stops accepting requests, lets in-flight ones finish, and closes the database pool.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.server.await {
            tracing::warn!(error = %e, "reference proxy task ended abnormally");
        }
        if let Some(listener) = self.listener {
            // Dropping the listener returns its connection to the pool, which then closes it.
            listener.abort();
            let _ = listener.await;
        }
        self.db.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_ttl_comes_from_litellms_variable() {
        assert_eq!(cache_ttl_from(None), Duration::from_secs(60));
        assert_eq!(cache_ttl_from(Some("0")), Duration::ZERO);
        assert_eq!(cache_ttl_from(Some(" 5 ")), Duration::from_secs(5));
        assert_eq!(cache_ttl_from(Some("soon")), Duration::from_secs(60));
    }
}
