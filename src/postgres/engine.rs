//! Where the Docker-compatible engine answers, resolved as testcontainers resolves it, for the parts
//! that talk to it outside testcontainers (the watchdog) or depend on where it runs (port binding).

use std::path::PathBuf;

/// Where the engine answers, resolved as testcontainers resolves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Unix(PathBuf),
    /// `tcp://host:port` as `http://host:port`.
    Http(String),
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `DOCKER_HOST`, then `docker.host` in `~/.testcontainers.properties`, then the default socket.
pub(crate) fn endpoint() -> Option<Endpoint> {
    let from_properties = || {
        let home = var("HOME")?;
        let text = std::fs::read_to_string(PathBuf::from(home).join(".testcontainers.properties")).ok()?;
        text.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "docker.host").then(|| value.trim().to_string())
        })
    };
    let host = var("DOCKER_HOST").or_else(from_properties).unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    parse_host(&host)
}

pub(crate) fn parse_host(host: &str) -> Option<Endpoint> {
    if let Some(path) = host.strip_prefix("unix://") {
        Some(Endpoint::Unix(PathBuf::from(path)))
    } else {
        host.strip_prefix("tcp://").map(|rest| Endpoint::Http(format!("http://{}", rest.trim_end_matches('/'))))
    }
}

/// testcontainers' own test for running inside a container.
fn in_container() -> bool {
    std::path::Path::new("/.dockerenv").exists()
}

/// Whether ports the engine publishes on the host's loopback are this harness's loopback: the engine
/// is local (a unix socket) and, when this harness runs in a container, the engine runs in the same
/// network namespace (as podman does in CI) rather than on the host that mounted its socket here. The
/// test for the latter: the socket is listened on in this network namespace (`/proc/net/unix` lists
/// only those). Unsure means no: testcontainers' own host choice then applies.
pub(crate) fn shares_our_loopback(endpoint: Option<&Endpoint>) -> bool {
    let Some(Endpoint::Unix(socket)) = endpoint else {
        return false;
    };
    if !in_container() {
        return true;
    }
    let Ok(table) = std::fs::read_to_string("/proc/net/unix") else {
        return false;
    };
    // The listener may have bound a path that differs by a symlink (/var/run is /run).
    let mut paths = vec![socket.clone()];
    if let Ok(real) = std::fs::canonicalize(socket) {
        paths.push(real);
    }
    listens_on(&table, &paths)
}

/// Whether a `/proc/net/unix` table has a socket bound to one of `paths` (the path is the last column).
fn listens_on(table: &str, paths: &[PathBuf]) -> bool {
    table
        .lines()
        .skip(1)
        .any(|line| line.split_whitespace().nth(7).is_some_and(|bound| paths.iter().any(|p| p.as_os_str() == bound)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_host_reads_unix_and_tcp_hosts() {
        assert_eq!(
            parse_host("unix:///run/podman/podman.sock"),
            Some(Endpoint::Unix("/run/podman/podman.sock".into()))
        );
        assert_eq!(parse_host("tcp://10.0.0.1:2375/"), Some(Endpoint::Http("http://10.0.0.1:2375".into())));
        assert_eq!(parse_host("npipe:////./pipe/docker_engine"), None);
    }

    #[test]
    fn listens_on_finds_a_bound_path_in_the_unix_socket_table() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            00000000e8bcf99a: 00000002 00000000 00010000 0001 01 243858 /run/podman/podman.sock\n\
            00000000aaaaaaaa: 00000002 00000000 00000000 0001 03 243859\n";
        let podman = PathBuf::from("/run/podman/podman.sock");
        let docker = PathBuf::from("/var/run/docker.sock");
        assert!(listens_on(table, std::slice::from_ref(&podman)));
        assert!(listens_on(table, &[docker.clone(), podman]));
        assert!(!listens_on(table, &[docker]));
        assert!(!listens_on("", &[PathBuf::from("/x")]));
    }
}
