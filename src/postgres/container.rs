//! The container rung: PostgreSQL in a container through testcontainers, on any Docker-compatible engine
//! (`DOCKER_HOST` is honoured by testcontainers).
//!
//! Readiness is a real connection, retried until a deadline, whatever the image: log-line conditions are
//! image-specific (and the official image logs "ready" once for its init server too).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Connection;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::bollard::models::PortBinding;
use testcontainers_modules::testcontainers::core::IntoContainerPort;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use super::PostgresError;
use super::engine;
use super::reaper::Reaper;

/// The official image with an explicit tag (the module's default, `11-alpine`, is long out of support).
pub(crate) const DEFAULT_IMAGE: &str = "postgres:17";
/// Pulling is done before this starts counting; a first start of the official image takes a few seconds.
const READY_DEADLINE: Duration = Duration::from_secs(60);
const PASSWORD: &str = "postgres";
const PG_PORT: u16 = 5432;
/// Every container the harness starts carries this label, so leftovers are easy to find
/// (`docker ps -a --filter label=org.gateproof`).
pub(crate) const LABEL: &str = "org.gateproof";

pub(crate) struct ContainerServer {
    /// Dropping the handle removes the container; `stop` removes it and waits.
    container: Option<ContainerAsync<Postgres>>,
    /// Removes the container if the harness ends without `stop` or the handle's drop.
    reaper: Option<Reaper>,
    url: String,
}

impl ContainerServer {
    pub(crate) async fn start(image: Option<&str>) -> Result<ContainerServer, PostgresError> {
        let image = image.unwrap_or(DEFAULT_IMAGE);
        let (name, tag) = split_image(image);
        let failed = |reason: String| PostgresError::Container { image: image.to_string(), reason };
        // Named before it exists, so the watchdog can remove it even if this future is dropped midway.
        let container_name = container_name();
        let reaper = Reaper::spawn(&container_name);
        let endpoint = engine::endpoint();
        let local = engine::shares_our_loopback(endpoint.as_ref());
        // Loopback when the engine is local, so a throwaway server with a known password stays off the
        // network. An explicit address also makes podman report it (with none it reports an empty
        // one, which testcontainers cannot read as IPv4).
        let bind_ip = if local { "127.0.0.1" } else { "0.0.0.0" };
        let container = Postgres::default()
            .with_password(PASSWORD)
            .with_name(name)
            .with_tag(tag)
            .with_container_name(&container_name)
            .with_label(LABEL, "postgres")
            // Both the official image's entrypoint and gateproof's own pass arguments starting with `-`
            // to postgres.
            .with_cmd(super::SERVER_SETTINGS)
            // Exposed explicitly: testcontainers sends an empty ExposedPorts list, which podman takes
            // literally (the image's EXPOSE is then ignored and nothing is published).
            .with_mapped_port(0, PG_PORT.tcp())
            .with_host_config_modifier(move |config| {
                config.port_bindings = Some(HashMap::from([(
                    format!("{PG_PORT}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some(bind_ip.to_string()),
                        // Empty: a free port the engine picks.
                        host_port: Some(String::new()),
                    }]),
                )]));
            })
            .with_ready_conditions(Vec::new())
            .start()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut server = ContainerServer { container: Some(container), reaper, url: String::new() };
        let address = match server.container.as_ref() {
            Some(container) => host_and_port(container).await,
            None => Err("the container handle is gone".to_string()),
        };
        let (host, port) = match address {
            Ok(address) => address,
            Err(reason) => {
                server.stop().await;
                return Err(failed(reason));
            }
        };
        // testcontainers' host is the bridge's gateway whenever this runs in a container, which is
        // wrong when the engine runs in the same container.
        let host = if local { "127.0.0.1".to_string() } else { host };
        let url = format!("postgres://postgres:{PASSWORD}@{host}:{port}/postgres");
        if let Err(reason) = wait_ready(&url).await {
            server.stop().await;
            return Err(failed(reason));
        }
        server.url = url;
        tracing::debug!(image, container = %container_name, url = %super::url::redact(&server.url), "PostgreSQL container is ready");
        Ok(server)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Removes the container and waits for the engine to confirm.
    pub(crate) async fn stop(mut self) {
        let Some(container) = self.container.take() else {
            return;
        };
        let id = container.id().to_string();
        match container.rm().await {
            Ok(()) => {
                if let Some(reaper) = self.reaper.take() {
                    reaper.disarm();
                }
            }
            // The reaper, dropped with `self`, tries again from its own process.
            Err(e) => tracing::warn!("failed to remove container {id}: {e}"),
        }
    }
}

async fn host_and_port(container: &ContainerAsync<Postgres>) -> Result<(String, u16), String> {
    let host = container.get_host().await.map_err(|e| e.to_string())?;
    let port = container.get_host_port_ipv4(PG_PORT).await.map_err(|e| e.to_string())?;
    Ok((host.to_string(), port))
}

/// Unique per start, and naming the harness's process so a leftover can be traced back.
fn container_name() -> String {
    format!("gateproof-pg-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

impl Drop for ContainerServer {
    fn drop(&mut self) {
        // testcontainers removes the container in its own Drop, which needs a tokio runtime.
        if let Some(container) = self.container.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                drop(container);
            } else if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                runtime.block_on(async move { drop(container) });
            } else {
                // Without any runtime the container stays; leaking is better than panicking in a drop.
                std::mem::forget(container);
            }
        }
    }
}

/// Splits `NAME[:TAG]` at the last colon after the last slash (a registry host may carry a port).
pub(crate) fn split_image(image: &str) -> (&str, &str) {
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].rfind(':') {
        Some(i) => (&image[..name_start + i], &image[name_start + i + 1..]),
        None => (image, "latest"),
    }
}

async fn wait_ready(url: &str) -> Result<(), String> {
    let deadline = Instant::now() + READY_DEADLINE;
    let mut last_error = String::from("no attempt made");
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(url)).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                return Ok(());
            }
            Ok(Err(e)) => last_error = e.to_string(),
            Err(_) => last_error = "connection attempt timed out".into(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "no connection within {} s at {} (last error: {last_error})",
        READY_DEADLINE.as_secs(),
        super::url::redact(url)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_image_handles_tags_registries_and_ports() {
        let table = [
            ("postgres:17", ("postgres", "17")),
            ("postgres", ("postgres", "latest")),
            ("docker.io/library/postgres:16-alpine", ("docker.io/library/postgres", "16-alpine")),
            ("localhost:5000/pg", ("localhost:5000/pg", "latest")),
            ("localhost:5000/pg:15", ("localhost:5000/pg", "15")),
        ];
        for (image, expected) in table {
            assert_eq!(split_image(image), expected, "{image}");
        }
    }
}
