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

use crate::scenario::{McpFailure, McpMock, MockKind, MockSpec, Variables};

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
    /// The ports of `down` mocks, bound and never listened on, so a connection is refused and no
    /// other server (another scenario's mock, say) can be given the port while the scenario runs.
    _reserved: Vec<socket2::Socket>,
}

impl RunningMocks {
    /// Starts every mock of `specs`.
    pub async fn start(specs: &[MockSpec], host: &MockHost) -> Result<RunningMocks, MockError> {
        let mut urls = Vec::with_capacity(specs.len());
        let mut servers = Vec::with_capacity(specs.len());
        let mut reserved = Vec::new();
        for spec in specs {
            let bind_error = |source| MockError::Bind { name: spec.name.clone(), bind: host.bind, source };
            if let MockKind::Mcp(McpMock { failure: Some(McpFailure::Down), .. }) = &spec.kind {
                let socket = reserve_port(host.bind).map_err(bind_error)?;
                let port = socket.local_addr().ok().and_then(|a| a.as_socket()).map_or(0, |a| a.port());
                urls.push((spec.url_variable(), format!("http://{}:{port}/mcp", url_host(&host.advertise))));
                reserved.push(socket);
                continue;
            }
            let listener = TcpListener::bind(SocketAddr::new(host.bind, 0)).map_err(bind_error)?;
            let port = listener.local_addr().map_err(bind_error)?.port();
            let base = format!("http://{}:{port}", url_host(&host.advertise));
            let url = match &spec.kind {
                MockKind::Llm(llm) => {
                    servers.push(llm::start(listener, llm).await);
                    format!("{base}/v1")
                }
                MockKind::Mcp(mcp) => {
                    servers.push(mcp::start(listener, &spec.name, mcp).await);
                    format!("{base}/mcp")
                }
            };
            urls.push((spec.url_variable(), url));
        }
        Ok(RunningMocks { urls, _servers: servers, _reserved: reserved })
    }

    /// Adds `mocks.NAME.url` for every mock.
    pub fn add_variables(&self, vars: &mut Variables) {
        for (name, url) in &self.urls {
            vars.insert(name.clone(), Value::String(url.clone()));
        }
    }
}

/// A port bound on `bind` without `SO_REUSEADDR` and not listening: the kernel refuses connections
/// to it and gives it to no other socket, where a port taken and released could be handed to the
/// next server that binds port 0.
fn reserve_port(bind: IpAddr) -> std::io::Result<socket2::Socket> {
    let address = SocketAddr::new(bind, 0);
    let socket = socket2::Socket::new(socket2::Domain::for_address(address), socket2::Type::STREAM, None)?;
    socket.bind(&address.into())?;
    Ok(socket)
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
