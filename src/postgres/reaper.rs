//! A watchdog that removes the run's container however the harness ends.
//!
//! testcontainers removes a container when its handle is dropped, which does not happen on a second
//! Ctrl-C (`process::exit`), on SIGKILL, for a server held in a `static`, or when the start future is
//! dropped between creating and returning the container. So the container gets a name chosen before it
//! is created, and a small `sh` process in its own process group (a terminal Ctrl-C reaches only the
//! harness) holds a pipe from the harness. When the pipe closes without a `done` line, the watchdog
//! removes the container by name through the engine's API (with `curl`, or the `docker` client), twice,
//! so a create still in flight when the harness died is caught too.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};

use super::engine::{self, Endpoint};

/// `$1` is the pause between the two removals; the rest is the removal command.
const WATCHDOG: &str = r#"
pause=$1; shift
read -r line
[ "$line" = done ] && exit 0
"$@" >/dev/null 2>&1
sleep "$pause"
"$@" >/dev/null 2>&1
exit 0
"#;

/// Long enough for a create request the engine was already processing to finish.
const SECOND_REMOVAL_AFTER_SECS: &str = "2";

pub(crate) struct Reaper {
    pipe: Option<ChildStdin>,
    child: Option<Child>,
}

impl Reaper {
    /// A watchdog for the container `name`, or `None` when no tool can reach the engine (the handle's
    /// own removal then remains the only one).
    pub(crate) fn spawn(name: &str) -> Option<Reaper> {
        let remove = removal_command(name, engine::endpoint().as_ref(), tls(), &on_path)?;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("gateproof-container-watchdog")
            .arg(SECOND_REMOVAL_AFTER_SECS)
            .args(&remove)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        match cmd.spawn() {
            Ok(mut child) => Some(Reaper { pipe: child.stdin.take(), child: Some(child) }),
            Err(e) => {
                tracing::warn!("failed to start the container watchdog: {e}");
                None
            }
        }
    }

    /// The container is gone by other means: the watchdog exits without touching the engine.
    pub(crate) fn disarm(mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(b"done\n");
        }
        // Drop reaps the child off-thread.
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // Closing the pipe without `done` is the removal signal; never block a drop on it.
        self.pipe = None;
        if let Some(mut child) = self.child.take() {
            let _ = std::thread::Builder::new().name("gateproof-container-reaper".into()).spawn(move || child.wait());
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn tls() -> bool {
    var("DOCKER_TLS_VERIFY").is_some_and(|v| v != "0")
}

fn on_path(program: &str) -> bool {
    var("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The command that force-removes `name` (and its anonymous volumes): `curl` on the Docker API when the
/// endpoint is plain, else the `docker` client, which reads the same environment.
fn removal_command(
    name: &str,
    endpoint: Option<&Endpoint>,
    tls: bool,
    on_path: &dyn Fn(&str) -> bool,
) -> Option<Vec<String>> {
    let query = format!("containers/{name}?force=true&v=true");
    let curl = |extra: Vec<String>, url: String| {
        let mut args = vec!["curl".to_string(), "-fsS".into(), "--max-time".into(), "30".into()];
        args.extend(extra);
        args.extend(["-X".into(), "DELETE".into(), url]);
        args
    };
    match endpoint {
        Some(Endpoint::Unix(socket)) if on_path("curl") => {
            Some(curl(vec!["--unix-socket".into(), socket.display().to_string()], format!("http://localhost/{query}")))
        }
        Some(Endpoint::Http(base)) if !tls && on_path("curl") => Some(curl(Vec::new(), format!("{base}/{query}"))),
        _ if on_path("docker") => Some(vec!["docker".into(), "rm".into(), "-f".into(), "-v".into(), name.into()]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_uses_curl_on_plain_endpoints_and_the_docker_client_otherwise() {
        let unix = Endpoint::Unix("/s.sock".into());
        let http = Endpoint::Http("http://h:2375".into());
        let both = |_: &str| true;
        let docker_only = |p: &str| p == "docker";
        let neither = |_: &str| false;
        let docker = "docker rm -f -v gp-1";
        #[rustfmt::skip]
        type Row<'a> = (Option<&'a Endpoint>, bool, &'a dyn Fn(&str) -> bool, Option<&'static str>);
        let table: Vec<Row> = vec![
            (
                Some(&unix),
                false,
                &both,
                Some(
                    "curl -fsS --max-time 30 --unix-socket /s.sock -X DELETE http://localhost/containers/gp-1?force=true&v=true",
                ),
            ),
            (
                Some(&http),
                false,
                &both,
                Some("curl -fsS --max-time 30 -X DELETE http://h:2375/containers/gp-1?force=true&v=true"),
            ),
            (Some(&http), true, &both, Some(docker)),
            (Some(&unix), false, &docker_only, Some(docker)),
            (None, false, &both, Some(docker)),
            (Some(&unix), false, &neither, None),
        ];
        for (endpoint, tls, on_path, expected) in table {
            let got = removal_command("gp-1", endpoint, tls, on_path).map(|args| args.join(" "));
            assert_eq!(got.as_deref(), expected, "{endpoint:?} tls={tls}");
        }
    }
}
