//! Rung choice and fallback through `start_in`, over injected environments.

use std::time::{Duration, Instant};

use super::choice::{Environment, RunAs};
use super::*;

/// CI names an image its engine has (no registry there); elsewhere the default is pulled.
fn options(choice: PostgresChoice) -> PostgresOptions {
    PostgresOptions { choice, image: std::env::var("GATEPROOF_POSTGRES_IMAGE").ok().filter(|i| !i.is_empty()) }
}

/// The machine's local setup, which these tests need (the project's machines have the binaries).
fn local_environment() -> Environment {
    let probed = Environment::probe();
    assert!(probed.local_bin_dir.is_some(), "these tests need the PostgreSQL server binaries");
    Environment { database_url: None, engine_hint: None, ..probed }
}

#[tokio::test]
async fn auto_with_nothing_available_is_none_available_without_trying_anything() {
    let started = Instant::now();
    let result = PgServer::start_in(&options(PostgresChoice::Auto), &Environment::default()).await;
    assert!(matches!(result, Err(PostgresError::NoneAvailable)), "{:?}", result.err());
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[tokio::test]
async fn local_as_root_without_an_unprivileged_user_is_reported() {
    let env = Environment { is_root: true, unprivileged_user: None, ..local_environment() };
    let result = PgServer::start_in(&options(PostgresChoice::Local), &env).await;
    assert!(matches!(result, Err(PostgresError::NoUnprivilegedUser)), "{:?}", result.err());
}

#[tokio::test]
async fn local_with_broken_binaries_reports_the_failed_start() {
    let empty = tempfile::tempdir().expect("temp dir");
    let env = Environment { local_bin_dir: Some(empty.path().to_path_buf()), ..local_environment() };
    let result = PgServer::start_in(&options(PostgresChoice::Local), &env).await;
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.starts_with("failed to start the local PostgreSQL server: failed to run initdb"), "{message}");
}

#[tokio::test]
async fn unreachable_url_is_reported_with_the_password_hidden() {
    let url = "postgres://u:secret@127.0.0.1:1/app".to_string();
    let env = Environment { database_url: Some(url), ..Environment::default() };
    let result = PgServer::start_in(&options(PostgresChoice::Auto), &env).await;
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.starts_with("failed to connect to postgres://u:***@127.0.0.1:1/app: "), "{message}");
}

/// Where no engine answers (this machine), the container attempt fails fast and `auto` goes on to the
/// local binaries; where one does, `auto` takes the container.
#[tokio::test]
async fn auto_falls_back_to_local_when_the_container_fails() {
    let engine = Environment::probe().engine_hint;
    let env = Environment { engine_hint: Some("unix:///nonexistent.sock".into()), ..local_environment() };
    let server = PgServer::start_in(&options(PostgresChoice::Auto), &env).await.expect("a server");
    assert_eq!(server.kind(), if engine.is_some() { "docker" } else { "local" });
    server.shutdown().await;
}

#[tokio::test]
async fn docker_without_an_engine_fails_fast_with_the_container_error() {
    if Environment::probe().engine_hint.is_some() {
        // An engine answers here: the container rung is tested against it elsewhere.
        return;
    }
    let started = Instant::now();
    let options = options(PostgresChoice::Docker);
    let image = options.image.as_deref().unwrap_or(container::DEFAULT_IMAGE);
    let result = PgServer::start_in(&options, &local_environment()).await;
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.starts_with(&format!("failed to start a PostgreSQL container from image {image}: ")), "{message}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn local_runs_as_the_unprivileged_user_when_root() {
    let env = local_environment();
    let Some(RunAs { uid, .. }) = env.unprivileged_user.clone() else {
        return; // Not root: nothing to drop.
    };
    let server = PgServer::start_in(&options(PostgresChoice::Local), &env).await.expect("a server");
    let db = server.scenario_database(&crate::reference::MIGRATOR).await.expect("a database");
    let mut conn = template::connect(&db.url).await.expect("connect");
    let dir: String = sqlx::query_scalar("SHOW data_directory").fetch_one(&mut conn).await.expect("query");
    drop(conn);
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir).expect("stat"));
    assert_eq!(owner, uid);
    server.shutdown().await;
}
