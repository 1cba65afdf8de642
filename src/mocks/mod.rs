//! The fake upstreams a scenario declares under `mocks:`, running as wiremock servers for the length of
//! one scenario.
//!
//! Each speaks its real protocol (`llm`: OpenAI chat completions; `mcp`: MCP over streamable HTTP), so
//! the proxy under test talks to them as it would to a provider. The harness registers nothing with the
//! proxy: it only offers each URL as `{{mocks.NAME.url}}`.

mod llm;
mod mcp;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use serde_json::Value;
use wiremock::MockServer;

use crate::scenario::{MockKind, MockSpec, Variables};

/// Where mock servers listen, and the host a proxy uses to reach them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockHost {
    pub bind: IpAddr,
    /// The host written into `{{mocks.NAME.url}}`: a name or address the proxy can reach.
    pub advertise: String,
}

impl Default for MockHost {
    /// Loopback: right for the in-process reference and for a proxy on the same machine.
    fn default() -> Self {
        MockHost { bind: IpAddr::V4(Ipv4Addr::LOCALHOST), advertise: Ipv4Addr::LOCALHOST.to_string() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("failed to start mock `{name}` on {bind}: {source}")]
    Bind { name: String, bind: IpAddr, source: std::io::Error },
}

/// The mocks of one scenario; they stop when this is dropped.
pub struct RunningMocks {
    urls: Vec<(String, String)>,
    _servers: Vec<MockServer>,
}

impl RunningMocks {
    /// Starts every mock of `specs`.
    pub async fn start(specs: &[MockSpec], host: &MockHost) -> Result<RunningMocks, MockError> {
        let mut urls = Vec::with_capacity(specs.len());
        let mut servers = Vec::with_capacity(specs.len());
        for spec in specs {
            let bind_error = |source| MockError::Bind { name: spec.name.clone(), bind: host.bind, source };
            let listener = TcpListener::bind(SocketAddr::new(host.bind, 0)).map_err(bind_error)?;
            let port = listener.local_addr().map_err(bind_error)?.port();
            let base = format!("http://{}:{port}", url_host(&host.advertise));
            let url = match &spec.kind {
                MockKind::Llm(llm) => {
                    servers.push(llm::start(listener, llm).await);
                    format!("{base}/v1")
                }
                MockKind::Mcp(mcp) => {
                    // A `down` mock has no server: its port was taken and released, so nothing answers.
                    if let Some(server) = mcp::start(listener, &spec.name, mcp).await {
                        servers.push(server);
                    }
                    format!("{base}/mcp")
                }
            };
            urls.push((spec.url_variable(), url));
        }
        Ok(RunningMocks { urls, _servers: servers })
    }

    /// Adds `mocks.NAME.url` for every mock.
    pub fn add_variables(&self, vars: &mut Variables) {
        for (name, url) in &self.urls {
            vars.insert(name.clone(), Value::String(url.clone()));
        }
    }
}

/// An IPv6 address goes in brackets inside a URL.
fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() }
}

/// `template`, answered after `delay`. No delay sets none: wiremock's zero-length sleep still goes
/// through the timer, which rounds it up to the next millisecond tick.
fn delayed(template: wiremock::ResponseTemplate, delay: std::time::Duration) -> wiremock::ResponseTemplate {
    if delay.is_zero() { template } else { template.set_delay(delay) }
}

#[cfg(test)]
mod tests;
