//! The local rung: a throwaway PostgreSQL server from the machine's binaries, in a temp dir, on a free
//! loopback port, guarded by a watchdog so it dies with the harness however the harness ends.
//!
//! The watchdog is a small `sh` wrapper in its own process group (so a terminal Ctrl-C reaches only the
//! harness) whose stdin is a pipe from the harness. It starts postgres in the background and waits for
//! the pipe to close, which happens when `stop` drops our end, when the `LocalServer` is dropped, and when
//! the harness exits or is killed (even by SIGKILL, and even for a server in a `static` that is never
//! dropped). It then stops postgres (SIGINT, a fast shutdown) and removes the temp dir.

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

use super::PostgresError;
use super::choice::LocalSetup;

/// A busy machine can take seconds to start a server; a healthy one takes well under one.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// Fast shutdown takes 0.1–0.2 s; past this the wrapper is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(15);
/// How many times a start is retried when another process took the port between probe and bind.
const PORT_ATTEMPTS: usize = 3;
/// Log lines quoted in a start error.
const LOG_TAIL_LINES: usize = 15;

/// `$1` is the temp dir, `$2` the bin dir, the rest are postgres's arguments. The watchdog is in place
/// before anything else runs: it runs `initdb` itself, so a harness killed during `initdb` (which takes
/// about a second) leaves neither the dir nor an orphaned `initdb` behind. The watcher signals
/// whichever process `$dir/pid` names when the pipe closes, and leaves `$dir/stop`, which keeps postgres
/// from starting after an `initdb` that was stopped. fd 3 keeps the harness's pipe for the watcher
/// alone; the children get neither it nor stdin. `initdb.exited` and `postgres.exited` tell the harness
/// that a child ended by itself while the pipe is still open; cleanup waits for the pipe either way, so
/// the harness can read the logs before the dir goes.
const WATCHDOG: &str = r#"
dir=$1; bin=$2; shift 2
exec 3<&0 0</dev/null
{ read -r line <&3; : >"$dir/stop"; kill -INT "$(cat "$dir/pid" 2>/dev/null)" 2>/dev/null; } &
exec 3<&-
"$bin/initdb" --no-sync -A trust --locale=C -E UTF8 -U postgres -D "$dir/data" >"$dir/initdb.log" 2>&1 &
echo $! >"$dir/pid"
wait $!
status=$?
if [ $status -ne 0 ] || [ -e "$dir/stop" ]; then
  echo "$status" >"$dir/initdb.exited"
else
  "$bin/postgres" -D "$dir/data" "$@" >>"$dir/server.log" 2>&1 &
  pg=$!
  echo $pg >"$dir/pid"
  [ -e "$dir/stop" ] && kill -INT "$pg" 2>/dev/null
  wait "$pg"
  echo "$?" >"$dir/postgres.exited"
fi
wait
rm -rf "$dir"
"#;

pub(crate) struct LocalServer {
    dir: PathBuf,
    port: u16,
    /// The harness's end of the watchdog pipe; dropping it stops the server.
    pipe: Option<ChildStdin>,
    wrapper: Option<Child>,
}

/// Why one start attempt failed.
enum StartFailure {
    PortClash(PostgresError),
    Other(PostgresError),
}

impl LocalServer {
    pub(crate) async fn start(setup: &LocalSetup) -> Result<LocalServer, PostgresError> {
        let mut attempt = 1;
        loop {
            match start_once(setup).await {
                Ok(server) => return Ok(server),
                Err(StartFailure::PortClash(e)) if attempt < PORT_ATTEMPTS => {
                    tracing::debug!("retrying on another port: {e}");
                    attempt += 1;
                }
                Err(StartFailure::PortClash(e) | StartFailure::Other(e)) => return Err(e),
            }
        }
    }

    /// The maintenance database, reached over TCP with trust authentication.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server and waits until its temp dir is gone.
    pub(crate) async fn stop(mut self) {
        self.pipe = None;
        let wrapper = self.wrapper.take();
        let dir = self.dir.clone();
        let stopped = tokio::task::spawn_blocking(move || {
            if let Some(wrapper) = wrapper {
                wait_or_kill(wrapper, STOP_DEADLINE);
            }
            // The wrapper removes the dir; this covers a wrapper that was killed before it could.
            if dir.exists()
                && let Err(e) = std::fs::remove_dir_all(&dir)
            {
                tracing::warn!("failed to remove {}: {e}", dir.display());
            }
        })
        .await;
        if let Err(e) = stopped {
            tracing::warn!("failed to stop the local PostgreSQL server: {e}");
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        // Closing the pipe is the whole shutdown; reap the wrapper off-thread so a drop never blocks.
        self.pipe = None;
        if let Some(mut wrapper) = self.wrapper.take() {
            let _ = std::thread::Builder::new().name("gateproof-pg-reaper".into()).spawn(move || wrapper.wait());
        }
    }
}

/// Where the throwaway cluster's data directory goes: `TMPDIR` when it is set, else a memory file
/// system when the machine has one, else the system's temp dir. Every scenario's database is a
/// `CREATE DATABASE` copy of a few hundred files, dropped when the scenario ends; on a disk file
/// system creating and deleting them was most of a corpus run's CPU (Postgres took 83% of it, mostly
/// in the kernel's file system code), and nothing here needs to outlive the run.
fn data_parent() -> std::path::PathBuf {
    if std::env::var_os("TMPDIR").is_some_and(|v| !v.is_empty()) {
        return std::env::temp_dir();
    }
    let shm = std::path::Path::new("/dev/shm");
    let writable = std::fs::metadata(shm).is_ok_and(|m| m.is_dir() && !m.permissions().readonly());
    if writable { shm.to_path_buf() } else { std::env::temp_dir() }
}

async fn start_once(setup: &LocalSetup) -> Result<LocalServer, StartFailure> {
    let fail = |reason: String, log: String| StartFailure::Other(PostgresError::LocalStart { reason, log });
    let temp = tempfile::Builder::new()
        .prefix("gateproof-pg-")
        .tempdir_in(data_parent())
        .map_err(|e| fail(format!("failed to create a temp dir: {e}"), String::new()))?;
    if let Some(user) = &setup.run_as {
        std::os::unix::fs::chown(temp.path(), Some(user.uid), Some(user.gid)).map_err(|e| {
            fail(format!("failed to hand {} to user {}: {e}", temp.path().display(), user.name), String::new())
        })?;
    }

    let port = free_port().map_err(|e| fail(format!("failed to find a free port: {e}"), String::new()))?;
    let mut cmd = command(setup, temp.path(), "/bin/sh".into());
    cmd.arg("-c")
        .arg(WATCHDOG)
        .arg("gateproof-pg-watchdog")
        .arg(temp.path())
        .arg(&setup.bin_dir)
        .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
        .args(super::SERVER_SETTINGS)
        .arg("-k")
        .arg(temp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut wrapper =
        cmd.spawn().map_err(|e| fail(format!("failed to start the watchdog shell: {e}"), String::new()))?;
    // From here on the watchdog owns the dir and removes it.
    let mut server = LocalServer { dir: temp.keep(), port, pipe: wrapper.stdin.take(), wrapper: Some(wrapper) };

    match wait_ready(&mut server, &setup.bin_dir).await {
        Ok(()) => {
            tracing::debug!(port, dir = %server.dir.display(), "local PostgreSQL server is ready");
            Ok(server)
        }
        Err(reason) => {
            let log = read_log(&server.dir);
            let clash = log.contains("could not bind") || log.contains("Address already in use");
            server.stop().await;
            let error = PostgresError::LocalStart { reason, log: tail(&log) };
            Err(if clash { StartFailure::PortClash(error) } else { StartFailure::Other(error) })
        }
    }
}

/// A command in `dir`, as the unprivileged user when the harness is root.
fn command(setup: &LocalSetup, dir: &Path, program: PathBuf) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).env_remove("PGDATA");
    if let Some(user) = &setup.run_as {
        cmd.uid(user.uid).gid(user.gid);
    }
    cmd
}

/// Connects until the server answers, postgres exits, or the deadline passes; a real connection is the
/// only proof of readiness.
async fn wait_ready(server: &mut LocalServer, bin_dir: &Path) -> Result<(), String> {
    let url = server.url();
    let deadline = Instant::now() + READY_DEADLINE;
    let mut last_error = String::from("no attempt made");
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(2), sqlx::PgConnection::connect(&url)).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                return Ok(());
            }
            Ok(Err(e)) => last_error = e.to_string(),
            Err(_) => last_error = "connection attempt timed out".into(),
        }
        if let Ok(status) = std::fs::read_to_string(server.dir.join("initdb.exited")) {
            let log = std::fs::read_to_string(server.dir.join("initdb.log")).unwrap_or_default();
            return Err(format!(
                "failed to run initdb from {}: exit status {} ({})",
                bin_dir.display(),
                status.trim(),
                tail(&log)
            ));
        }
        if server.dir.join("postgres.exited").exists() {
            return Err("postgres exited during start".into());
        }
        if let Some(wrapper) = server.wrapper.as_mut()
            && let Ok(Some(status)) = wrapper.try_wait()
        {
            return Err(format!("the watchdog shell exited during start ({status})"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("no connection within {} s (last error: {last_error})", READY_DEADLINE.as_secs()))
}

/// A port that was free a moment ago; a clash with another process is caught by the start retry.
fn free_port() -> std::io::Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr().map(|a| a.port())
}

fn wait_or_kill(mut wrapper: Child, deadline: Duration) {
    let end = Instant::now() + deadline;
    loop {
        match wrapper.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() >= end => break,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    // The wrapper leads its own process group, which postgres and its backends share.
    if let Ok(pid) = i32::try_from(wrapper.id()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let _ = wrapper.wait();
}

fn read_log(dir: &Path) -> String {
    let mut log = String::new();
    if let Ok(mut file) = std::fs::File::open(dir.join("server.log")) {
        let _ = file.read_to_string(&mut log);
    }
    log
}

/// The last lines of a log, joined for a one-line error message.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    if lines.is_empty() { "empty".into() } else { lines[start..].join(" | ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_non_empty_lines() {
        let log: String = (1..=20).map(|i| format!("line {i}\n\n")).collect();
        let got = tail(&log);
        assert!(got.starts_with("line 6 | "), "{got}");
        assert!(got.ends_with("line 20"), "{got}");
        assert_eq!(tail(""), "empty");
    }
}
