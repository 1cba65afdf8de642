//! The container rung: PostgreSQL in a container through testcontainers, on any Docker-compatible engine
//! (`DOCKER_HOST` is honoured by testcontainers).
//!
//! Readiness is a real connection, retried until a deadline, whatever the image: log-line conditions are
//! image-specific (and the official image logs "ready" once for its init server too).

use std::time::{Duration, Instant};

use sqlx::Connection;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use super::PostgresError;

/// The official image with an explicit tag (the module's default, `11-alpine`, is long out of support).
pub(crate) const DEFAULT_IMAGE: &str = "postgres:17";
/// Pulling is done before this starts counting; a first start of the official image takes a few seconds.
const READY_DEADLINE: Duration = Duration::from_secs(60);
const PASSWORD: &str = "postgres";

pub(crate) struct ContainerServer {
    /// Dropping the handle removes the container; `stop` removes it and waits.
    container: Option<ContainerAsync<Postgres>>,
    url: String,
}

impl ContainerServer {
    pub(crate) async fn start(image: Option<&str>) -> Result<ContainerServer, PostgresError> {
        let image = image.unwrap_or(DEFAULT_IMAGE);
        let (name, tag) = split_image(image);
        let failed = |reason: String| PostgresError::Container {
            image: image.to_string(),
            reason,
        };
        let container = Postgres::default()
            .with_password(PASSWORD)
            .with_name(name)
            .with_tag(tag)
            .with_ready_conditions(Vec::new())
            .start()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let host = container
            .get_host()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let port = container
            .get_host_port_ipv4(5432)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let server = ContainerServer {
            container: Some(container),
            url: format!("postgres://postgres:{PASSWORD}@{host}:{port}/postgres"),
        };
        if let Err(reason) = wait_ready(&server.url).await {
            server.stop().await;
            return Err(failed(reason));
        }
        tracing::debug!(image, %host, port, "PostgreSQL container is ready");
        Ok(server)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) async fn stop(mut self) {
        if let Some(container) = self.container.take() {
            let id = container.id().to_string();
            if let Err(e) = container.rm().await {
                tracing::warn!("failed to remove container {id}: {e}");
            }
        }
    }
}

impl Drop for ContainerServer {
    fn drop(&mut self) {
        // testcontainers removes the container in its own Drop, which needs a tokio runtime.
        if let Some(container) = self.container.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                drop(container);
            } else if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
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
        "no connection within {} s (last error: {last_error})",
        READY_DEADLINE.as_secs()
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
            (
                "docker.io/library/postgres:16-alpine",
                ("docker.io/library/postgres", "16-alpine"),
            ),
            ("localhost:5000/pg", ("localhost:5000/pg", "latest")),
            ("localhost:5000/pg:15", ("localhost:5000/pg", "15")),
        ];
        for (image, expected) in table {
            assert_eq!(split_image(image), expected, "{image}");
        }
    }
}
