//! The Postgres module against real servers from the machine's PostgreSQL binaries.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gateproof::postgres::{
    DEFAULT_READY_COPIES, PgServer, PostgresChoice, PostgresError, PostgresOptions, ScenarioDatabase,
};
use gateproof::reference::MIGRATOR;
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

/// Set in the child process of the watchdog test.
const WATCHDOG_CHILD: &str = "GATEPROOF_PG_WATCHDOG_CHILD";

fn local() -> PostgresOptions {
    PostgresOptions { choice: PostgresChoice::Local, image: None }
}

/// One server for the tests that do not stop theirs, as the harness's own tests share one. It is never
/// dropped: the watchdog removes it when this test binary exits.
async fn shared() -> &'static PgServer {
    static SERVER: OnceCell<PgServer> = OnceCell::const_new();
    SERVER.get_or_init(|| async { PgServer::start(&local()).await.expect("the local server starts") }).await
}

async fn connect(db: &ScenarioDatabase) -> PgConnection {
    PgConnection::connect(&db.url).await.expect("connect to the scenario database")
}

async fn show(conn: &mut PgConnection, setting: &str) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}"))).fetch_one(conn).await.expect("SHOW")
}

async fn database_exists(server_db: &ScenarioDatabase, name: &str) -> bool {
    let mut conn = connect(server_db).await;
    let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("query pg_database");
    conn.close().await.expect("close");
    found
}

/// The databases whose names start with `prefix` (one run's, on the url rung).
async fn databases_named(conn: &mut PgConnection, prefix: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname")
        .bind(prefix)
        .fetch_all(conn)
        .await
        .expect("list databases")
}

/// The server's port and temp dir (its socket directory), asked of the server itself.
async fn port_and_dir(db: &ScenarioDatabase) -> (u16, PathBuf) {
    let mut conn = connect(db).await;
    let port = show(&mut conn, "port").await.parse().expect("a port number");
    let dir = PathBuf::from(show(&mut conn, "unix_socket_directories").await);
    conn.close().await.expect("close");
    (port, dir)
}

fn answers(port: u16) -> bool {
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok()
}

/// Polls until the server is gone: no answer on its port and no temp dir.
fn wait_until_gone(port: u16, dir: &Path, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !answers(port) && !dir.exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("after {within:?}: port {port} answers: {}, {} exists: {}", answers(port), dir.display(), dir.exists()))
}

#[test]
fn choice_parses_the_documented_forms() {
    let table = [
        ("auto", Ok(PostgresChoice::Auto)),
        ("docker", Ok(PostgresChoice::Docker)),
        ("local", Ok(PostgresChoice::Local)),
        ("postgres://u@h/d", Ok(PostgresChoice::Url("postgres://u@h/d".into()))),
        ("postgresql://u@h/d", Ok(PostgresChoice::Url("postgresql://u@h/d".into()))),
        ("mysql://u@h/d", Err(())),
        ("Local", Err(())),
    ];
    for (input, expected) in table {
        assert_eq!(input.parse::<PostgresChoice>().map_err(|_| ()), expected, "{input}");
    }
}

#[test]
fn none_available_names_the_three_ways_to_get_a_server() {
    let help = miette::Diagnostic::help(&PostgresError::NoneAvailable).map(|h| h.to_string()).unwrap_or_default();
    for way in ["DATABASE_URL", "Docker", "PostgreSQL server binaries"] {
        assert!(help.contains(way), "{help}");
    }
}

#[tokio::test]
async fn copies_are_migrated_and_isolated_from_each_other() {
    let server = shared().await;
    assert_eq!(server.kind(), "local");
    let a = server.scenario_database(&MIGRATOR).await.expect("copy a");
    let b = server.scenario_database(&MIGRATOR).await.expect("copy b");
    assert_ne!(a.name, b.name);

    let mut conn_a = connect(&a).await;
    let mut conn_b = connect(&b).await;
    for conn in [&mut conn_a, &mut conn_b] {
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .expect("the copy carries the migrations table");
        assert_eq!(applied, MIGRATOR.iter().count() as i64);
    }
    sqlx::raw_sql("CREATE TABLE only_in_a (x int)").execute(&mut conn_a).await.expect("create table");
    let in_b: bool = sqlx::query_scalar("SELECT to_regclass('only_in_a') IS NOT NULL")
        .fetch_one(&mut conn_b)
        .await
        .expect("query b");
    assert!(!in_b, "a table made in one copy shows in another");

    // A later copy comes from the template, untouched by what a scenario did to its copy.
    let c = server.scenario_database(&MIGRATOR).await.expect("copy c");
    let mut conn_c = connect(&c).await;
    let in_c: bool = sqlx::query_scalar("SELECT to_regclass('only_in_a') IS NOT NULL")
        .fetch_one(&mut conn_c)
        .await
        .expect("query c");
    assert!(!in_c);
    for conn in [conn_a, conn_b, conn_c] {
        conn.close().await.expect("close");
    }
    for db in [&a, &b, &c] {
        server.drop_database(db).await.expect("drop");
    }
}

#[tokio::test]
async fn concurrent_copies_all_succeed() {
    let server = shared().await;
    let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(server.scenario_database(&MIGRATOR))).collect();
    let mut names = Vec::new();
    for task in tasks {
        names.push(task.await.expect("join").expect("a concurrent copy"));
    }
    let unique: std::collections::BTreeSet<_> = names.iter().map(|db| db.name.clone()).collect();
    assert_eq!(unique.len(), names.len());
    for db in &names {
        server.drop_database(db).await.expect("drop");
    }
}

#[tokio::test]
async fn drop_database_removes_it_even_with_a_session_left_open() {
    let server = shared().await;
    let witness = server.scenario_database(&MIGRATOR).await.expect("witness copy");
    let db = server.scenario_database(&MIGRATOR).await.expect("copy");
    let left_open = connect(&db).await;
    server.drop_database(&db).await.expect("drop");
    assert!(!database_exists(&witness, &db.name).await);
    drop(left_open);
    server.drop_database(&witness).await.expect("drop witness");
}

#[tokio::test]
async fn url_rung_makes_its_own_template_and_shutdown_drops_its_databases() {
    let host = shared().await;
    let witness = host.scenario_database(&MIGRATOR).await.expect("witness copy");
    // Any database on the server serves the url rung as its admin database.
    let admin = host.scenario_database(&MIGRATOR).await.expect("admin copy");
    let options = PostgresOptions { choice: PostgresChoice::Url(admin.url.clone()), image: None };
    let server = PgServer::start(&options).await.expect("the url rung connects");
    assert_eq!(server.kind(), "url");

    let kept = server.scenario_database(&MIGRATOR).await.expect("copy on the url rung");
    let dropped = server.scenario_database(&MIGRATOR).await.expect("second copy");
    assert!(kept.url.contains(&kept.name), "{}", kept.url);
    server.drop_database(&dropped).await.expect("drop");
    let mut conn = connect(&witness).await;
    let prefix = kept.name.rsplit_once('_').map_or("", |(prefix, _)| prefix).to_string();
    let made = databases_named(&mut conn, &prefix).await;
    assert!(made.contains(&kept.name), "the copy still there: {made:?}");
    assert!(!made.contains(&dropped.name), "the dropped copy is gone: {made:?}");
    assert!(made.iter().any(|n| n.contains("template")), "this run's own template: {made:?}");

    server.shutdown().await;
    // Copies made ahead (and any still being made at shutdown) go too.
    let left = databases_named(&mut conn, &prefix).await;
    assert!(left.is_empty(), "survived shutdown: {left:?}");
    assert!(database_exists(&witness, &admin.name).await, "the url rung's own database is left alone");
    conn.close().await.expect("close");
    host.drop_database(&admin).await.expect("drop admin");
    host.drop_database(&witness).await.expect("drop witness");
}

/// After the first request, copies are made ahead up to the target, and the next request is given one
/// of them; with a target of 0 nothing is made ahead.
#[tokio::test]
async fn copies_are_made_ahead_and_handed_out() {
    let host = shared().await;
    let witness = host.scenario_database(&MIGRATOR).await.expect("witness copy");
    let admin = host.scenario_database(&MIGRATOR).await.expect("admin copy");
    let options = PostgresOptions { choice: PostgresChoice::Url(admin.url.clone()), image: None };
    let server = PgServer::start(&options).await.expect("the url rung connects");
    let mut conn = connect(&witness).await;

    let first = server.scenario_database(&MIGRATOR).await.expect("first copy");
    let prefix = first.name.rsplit_once('_').map_or("", |(prefix, _)| prefix).to_string();
    // The first copy, the template, and DEFAULT_READY_COPIES made ahead.
    let expected = 2 + DEFAULT_READY_COPIES;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut made = databases_named(&mut conn, &prefix).await;
    while made.len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        made = databases_named(&mut conn, &prefix).await;
    }
    assert_eq!(made.len(), expected, "{made:?}");
    let second = server.scenario_database(&MIGRATOR).await.expect("second copy");
    assert!(made.contains(&second.name), "{} was not made ahead: {made:?}", second.name);
    assert_ne!(second.name, first.name);
    server.shutdown().await;

    let server = PgServer::start(&options).await.expect("the url rung connects again");
    server.set_ready_copies(0);
    let only = server.scenario_database(&MIGRATOR).await.expect("a copy made on demand");
    let prefix = only.name.rsplit_once('_').map_or("", |(prefix, _)| prefix).to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let made = databases_named(&mut conn, &prefix).await;
    assert_eq!(made.len(), 2, "the copy and the template only: {made:?}");
    server.shutdown().await;

    conn.close().await.expect("close");
    host.drop_database(&admin).await.expect("drop admin");
    host.drop_database(&witness).await.expect("drop witness");
}

#[tokio::test]
async fn shutdown_stops_the_server_and_removes_its_temp_dir() {
    let server = PgServer::start(&local()).await.expect("the local server starts");
    let db = server.scenario_database(&MIGRATOR).await.expect("copy");
    let (port, dir) = port_and_dir(&db).await;
    assert!(dir.exists() && answers(port));
    server.shutdown().await;
    // shutdown waits for the watchdog, so this holds at once.
    assert!(!dir.exists(), "{} remains", dir.display());
    assert!(!answers(port), "port {port} still answers");
}

#[tokio::test]
async fn dropping_the_server_stops_it_too() {
    let server = PgServer::start(&local()).await.expect("the local server starts");
    let db = server.scenario_database(&MIGRATOR).await.expect("copy");
    let (port, dir) = port_and_dir(&db).await;
    drop(server);
    wait_until_gone(port, &dir, Duration::from_secs(10)).expect("the server goes away");
}

/// The child half of `killed_harness_leaves_no_server_behind`: a no-op unless that test started it.
#[tokio::test]
async fn watchdog_child() {
    if std::env::var_os(WATCHDOG_CHILD).is_none() {
        return;
    }
    let server = PgServer::start(&local()).await.expect("the local server starts");
    let db = server.scenario_database(&MIGRATOR).await.expect("copy");
    let (port, dir) = port_and_dir(&db).await;
    println!("GATEPROOF_READY {port} {}", dir.display());
    // Hold the server until the parent kills this process.
    tokio::time::sleep(Duration::from_secs(120)).await;
    server.shutdown().await;
}

#[test]
fn killed_harness_leaves_no_server_behind() {
    let exe = std::env::current_exe().expect("current test binary");
    let mut child = Command::new(exe)
        .args(["watchdog_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(WATCHDOG_CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child harness");
    let stdout = child.stdout.take().expect("child stdout");
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        // libtest prints the test's name on the same line, before the test's own output.
        .find_map(|line| line.split_once("GATEPROOF_READY ").map(|(_, rest)| rest.to_string()));
    let Some(ready) = ready else {
        let _ = child.kill();
        panic!("the child harness never reported a server");
    };
    let (port, dir) = ready.split_once(' ').expect("port and dir");
    let (port, dir): (u16, PathBuf) = (port.parse().expect("port"), PathBuf::from(dir));
    assert!(answers(port) && dir.exists());

    child.kill().expect("SIGKILL the child harness");
    child.wait().expect("reap the child");
    wait_until_gone(port, &dir, Duration::from_secs(10)).expect("the watchdog cleans up");
}

const INITDB_CHILD: &str = "GATEPROOF_PG_INITDB_CHILD";

/// The child half of `killed_during_initdb_leaves_nothing_behind`: a no-op unless that test started it.
#[tokio::test]
async fn initdb_child() {
    if std::env::var_os(INITDB_CHILD).is_none() {
        return;
    }
    // The parent kills this process while `initdb` runs, long before this returns.
    let server = PgServer::start(&local()).await.expect("the local server starts");
    tokio::time::sleep(Duration::from_secs(120)).await;
    server.shutdown().await;
}

/// The processes whose command line names `dir`.
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&needle))
        .collect()
}

/// A SIGKILL while `initdb` runs (the first second of a run) must not leave the server's folder or an
/// orphaned `initdb` behind: the watchdog is in place before `initdb` starts.
#[test]
fn killed_during_initdb_leaves_nothing_behind() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    // Like /tmp: the server may run as another user, which creates and removes its folder here.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let exe = std::env::current_exe().expect("current test binary");
    let mut child = Command::new(exe)
        .args(["initdb_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(INITDB_CHILD, "1")
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child harness");

    // Wait until initdb has begun writing the data folder.
    let deadline = Instant::now() + Duration::from_secs(30);
    let server_dir = loop {
        let found = std::fs::read_dir(tmp.path())
            .expect("temp dir")
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.join("data").exists());
        if let Some(dir) = found {
            break dir;
        }
        assert!(Instant::now() < deadline, "initdb never started");
        std::thread::sleep(Duration::from_millis(2));
    };
    child.kill().expect("SIGKILL the child harness");
    child.wait().expect("reap the child");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left: Vec<PathBuf> = std::fs::read_dir(tmp.path()).expect("temp dir").flatten().map(|e| e.path()).collect();
        let running = processes_naming(&server_dir);
        if left.is_empty() && running.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}; still running: {running:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
