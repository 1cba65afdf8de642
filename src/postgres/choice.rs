//! Which rung gives the run its server: a pure plan over a probe of the environment.
//!
//! `Environment::probe` is the only part that looks at the machine; `plan` decides from the probe alone,
//! so every rung (and "none available") is tested without touching the machine. The container rung cannot
//! be decided without trying, so a plan is an ordered list of attempts.

use std::path::{Path, PathBuf};

use super::{PostgresChoice, PostgresError};

/// Where the Debian and Ubuntu packages put the server binaries, one directory per major version.
const DEBIAN_PREFIX: &str = "/usr/lib/postgresql";

/// Names the one directory to take `initdb` and `postgres` from, instead of PATH and the Debian layout.
pub(crate) const BIN_DIR_VAR: &str = "GATEPROOF_POSTGRES_BIN_DIR";

/// A user the local server runs as when the harness runs as root (initdb refuses root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunAs {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// What the machine offers, as plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Environment {
    /// `DATABASE_URL`, when set and not empty.
    pub(crate) database_url: Option<String>,
    /// Where a Docker-compatible engine may answer (the `DOCKER_HOST` value, a testcontainers properties
    /// file, or a socket that exists); `None` when testcontainers would find nothing to talk to.
    pub(crate) engine_hint: Option<String>,
    /// A directory holding both `initdb` and `postgres`.
    pub(crate) local_bin_dir: Option<PathBuf>,
    /// The effective user is root.
    pub(crate) is_root: bool,
    /// The unprivileged user to run the server as when `is_root`.
    pub(crate) unprivileged_user: Option<RunAs>,
}

/// How to run the local server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalSetup {
    pub(crate) bin_dir: PathBuf,
    /// `Some` when the harness is root and must drop to this user.
    pub(crate) run_as: Option<RunAs>,
}

/// One way to get a server, tried in plan order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    Url(String),
    Container,
    Local(LocalSetup),
}

impl Attempt {
    /// The `PgServer::kind` this attempt yields.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Attempt::Url(_) => "url",
            Attempt::Container => "docker",
            Attempt::Local(_) => "local",
        }
    }
}

/// The ordered attempts for `choice`, or why there is nothing to try.
pub(crate) fn plan(choice: &PostgresChoice, env: &Environment) -> Result<Vec<Attempt>, PostgresError> {
    match choice {
        PostgresChoice::Url(url) => Ok(vec![Attempt::Url(url.clone())]),
        // An explicit `docker` is always tried, so the engine's own error reaches the user.
        PostgresChoice::Docker => Ok(vec![Attempt::Container]),
        PostgresChoice::Local => local_setup(env).map(|setup| vec![Attempt::Local(setup)]),
        PostgresChoice::Auto => {
            // A set DATABASE_URL is the user's explicit wish: no silent fallback if it fails.
            if let Some(url) = &env.database_url {
                return Ok(vec![Attempt::Url(url.clone())]);
            }
            let mut attempts = Vec::new();
            if env.engine_hint.is_some() {
                attempts.push(Attempt::Container);
            }
            if let Ok(setup) = local_setup(env) {
                attempts.push(Attempt::Local(setup));
            }
            if attempts.is_empty() { Err(PostgresError::NoneAvailable) } else { Ok(attempts) }
        }
    }
}

fn local_setup(env: &Environment) -> Result<LocalSetup, PostgresError> {
    let bin_dir = env.local_bin_dir.clone().ok_or(PostgresError::LocalBinariesMissing)?;
    let run_as =
        if env.is_root { Some(env.unprivileged_user.clone().ok_or(PostgresError::NoUnprivilegedUser)?) } else { None };
    Ok(LocalSetup { bin_dir, run_as })
}

impl Environment {
    /// Looks at the process environment and the file system (cheap: no process is started).
    pub(crate) fn probe() -> Environment {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let is_root = nix::unistd::geteuid().is_root();
        Environment {
            database_url: var("DATABASE_URL"),
            engine_hint: engine_hint(var("DOCKER_HOST"), var("HOME"), var("XDG_RUNTIME_DIR")),
            local_bin_dir: match var(BIN_DIR_VAR) {
                Some(dir) => server_bin_dir(Path::new(&dir)),
                None => local_bin_dir(var("PATH").as_deref(), Path::new(DEBIAN_PREFIX)),
            },
            is_root,
            unprivileged_user: if is_root { unprivileged_user() } else { None },
        }
    }
}

/// Mirrors where testcontainers looks for an engine (its `docker_host` resolution), so `auto` skips the
/// container rung when nothing could answer.
fn engine_hint(docker_host: Option<String>, home: Option<String>, runtime_dir: Option<String>) -> Option<String> {
    if docker_host.is_some() {
        return docker_host;
    }
    let home = home.map(PathBuf::from);
    // The properties file can name a host, which this probe does not parse: treat it as a maybe.
    if let Some(props) = home.as_ref().map(|h| h.join(".testcontainers.properties"))
        && props.exists()
    {
        return Some(props.display().to_string());
    }
    let mut sockets = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(dir) = runtime_dir {
        sockets.push(Path::new(&dir).join(".docker/run/docker.sock"));
    }
    if let Some(home) = &home {
        sockets.push(home.join(".docker/run/docker.sock"));
        sockets.push(home.join(".docker/desktop/docker.sock"));
    }
    sockets.into_iter().find(|s| s.exists()).map(|s| format!("unix://{}", s.display()))
}

/// `dir` when it holds both `initdb` and `postgres`.
fn server_bin_dir(dir: &Path) -> Option<PathBuf> {
    has_server(dir).then(|| dir.to_path_buf())
}

fn has_server(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

/// The first PATH directory holding both `initdb` and `postgres`, else the newest `<prefix>/<major>/bin`.
pub(crate) fn local_bin_dir(path: Option<&str>, debian_prefix: &Path) -> Option<PathBuf> {
    if let Some(path) = path
        && let Some(dir) = std::env::split_paths(path).find(|d| has_server(d))
    {
        return Some(dir);
    }
    let mut versioned: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(debian_prefix)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version =
                entry.file_name().to_str()?.split('.').map(|p| p.parse().ok()).collect::<Option<Vec<u64>>>()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versioned.sort();
    versioned.pop().map(|(_, bin)| bin)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn unprivileged_user() -> Option<RunAs> {
    ["postgres", "nobody"].into_iter().find_map(|name| {
        let user = nix::unistd::User::from_name(name).ok()??;
        (!user.uid.is_root()).then(|| RunAs { name: user.name, uid: user.uid.as_raw(), gid: user.gid.as_raw() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres_user() -> RunAs {
        RunAs { name: "postgres".into(), uid: 101, gid: 104 }
    }

    fn env(url: bool, engine: bool, bins: bool, root: bool, user: bool) -> Environment {
        Environment {
            database_url: url.then(|| "postgres://u@db:5432/app".into()),
            engine_hint: engine.then(|| "unix:///var/run/docker.sock".into()),
            local_bin_dir: bins.then(|| PathBuf::from("/usr/lib/postgresql/15/bin")),
            is_root: root,
            unprivileged_user: user.then(postgres_user),
        }
    }

    /// Renders a plan compactly so the table reads like the acceptance text.
    fn render(result: Result<Vec<Attempt>, PostgresError>) -> String {
        match result {
            Ok(attempts) => attempts
                .iter()
                .map(|a| match a {
                    Attempt::Url(url) => format!("url {url}"),
                    Attempt::Container => "docker".to_string(),
                    Attempt::Local(LocalSetup { run_as: Some(user), .. }) => format!("local as {}", user.name),
                    Attempt::Local(LocalSetup { run_as: None, .. }) => "local".to_string(),
                })
                .collect::<Vec<_>>()
                .join(" > "),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn plan_picks_rungs_in_the_documented_order() {
        let url = PostgresChoice::Url("postgres://x@h/d".into());
        let none_available = "error: failed to find a Postgres server";
        let no_bins = "error: failed to find the PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin";
        let no_user = "error: failed to find an unprivileged user (postgres or nobody) to run PostgreSQL as: initdb refuses to run as root";
        #[rustfmt::skip]
        let table: Vec<(PostgresChoice, Environment, &str)> = vec![
            // (choice, env(url, engine, bins, root, user), expected)
            (PostgresChoice::Auto, env(true, true, true, false, false), "url postgres://u@db:5432/app"),
            (PostgresChoice::Auto, env(false, true, true, false, false), "docker > local"),
            (PostgresChoice::Auto, env(false, true, true, true, true), "docker > local as postgres"),
            (PostgresChoice::Auto, env(false, false, true, false, false), "local"),
            (PostgresChoice::Auto, env(false, true, false, false, false), "docker"),
            (PostgresChoice::Auto, env(false, true, true, true, false), "docker"),
            (PostgresChoice::Auto, env(false, false, false, false, false), none_available),
            (PostgresChoice::Auto, env(false, false, true, true, false), none_available),
            (PostgresChoice::Docker, env(true, false, true, false, false), "docker"),
            (PostgresChoice::Docker, env(false, false, false, false, false), "docker"),
            (PostgresChoice::Local, env(true, true, true, false, false), "local"),
            (PostgresChoice::Local, env(false, false, true, true, true), "local as postgres"),
            (PostgresChoice::Local, env(false, true, false, false, false), no_bins),
            (PostgresChoice::Local, env(false, false, true, true, false), no_user),
            (url.clone(), env(true, true, true, true, true), "url postgres://x@h/d"),
            (url, env(false, false, false, false, false), "url postgres://x@h/d"),
        ];
        for (choice, environment, expected) in table {
            let got = render(plan(&choice, &environment));
            assert_eq!(got, expected, "choice {choice:?}, environment {environment:?}");
        }
    }

    #[test]
    fn engine_hint_prefers_docker_host_and_ignores_missing_sockets() {
        let missing = tempfile::tempdir().expect("temp dir");
        let home = missing.path().display().to_string();
        assert_eq!(
            engine_hint(Some("tcp://10.0.0.1:2375".into()), Some(home.clone()), None),
            Some("tcp://10.0.0.1:2375".into())
        );
        // Nothing under this HOME; /var/run/docker.sock decides the rest, so compare against it.
        let system = Path::new("/var/run/docker.sock").exists();
        assert_eq!(engine_hint(None, Some(home.clone()), Some(home.clone())).is_some(), system);
        std::fs::create_dir_all(missing.path().join(".docker/run")).expect("mkdir");
        let socket = missing.path().join(".docker/run/docker.sock");
        std::fs::write(&socket, "").expect("touch");
        assert!(engine_hint(None, Some(home), None).is_some());
    }

    #[test]
    fn local_bin_dir_takes_path_first_then_the_newest_versioned_directory() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temp dir");
        let make = |dir: &Path, names: &[&str]| {
            std::fs::create_dir_all(dir).expect("mkdir");
            for name in names {
                let file = dir.join(name);
                std::fs::write(&file, "#!/bin/sh\n").expect("write");
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            }
        };
        let prefix = root.path().join("lib");
        make(&prefix.join("9.6/bin"), &["initdb", "postgres"]);
        make(&prefix.join("15/bin"), &["initdb", "postgres"]);
        make(&prefix.join("17/bin"), &["initdb"]); // Incomplete: no server binary.
        let only_initdb = root.path().join("path-a");
        make(&only_initdb, &["initdb"]);
        let full = root.path().join("path-b");
        make(&full, &["initdb", "postgres"]);

        let path = std::env::join_paths([&only_initdb, &full]).expect("join").into_string().expect("utf8");
        assert_eq!(local_bin_dir(Some(&path), &prefix), Some(full.clone()));
        let partial = only_initdb.display().to_string();
        assert_eq!(local_bin_dir(Some(&partial), &prefix), Some(prefix.join("15/bin")));
        assert_eq!(local_bin_dir(None, &root.path().join("absent")), None);
        // GATEPROOF_POSTGRES_BIN_DIR names one directory, taken only when complete.
        assert_eq!(server_bin_dir(&full), Some(full.clone()));
        assert_eq!(server_bin_dir(&only_initdb), None);
    }
}
