//! The memory half of issue 16's hostile load, shared by `examples/hostile_load.rs memory` and
//! `cargo bench --bench hostile_memory`: `gateproof serve` in a process of its own (the calling
//! binary re-run as the CLI), 40 teams of about 0.9 MB, 32 parallel admin `GET /user/info` (no
//! `user_id`: every key and team), and the server's resident memory at its peak and when idle, held
//! against the goals.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// Set in the child, which then runs `gateproof::cli::main` instead of the load.
pub const SERVE_CHILD: &str = "GATEPROOF_HOSTILE_LOAD_SERVE";
pub const MASTER: &str = "sk-hostile-load-master";
pub const PARALLEL: usize = 32;

/// The goals of issue 16, in bytes: a peak under 300 MB, under 100 MB 10 s after the load.
pub const PEAK_GOAL_BYTES: f64 = 300e6;
pub const IDLE_GOAL_BYTES: f64 = 100e6;
/// How long the server is left idle before its resident memory is held against the idle goal.
pub const IDLE_AFTER: Duration = Duration::from_secs(10);

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Server {
    pub fn start() -> Server {
        let log = std::env::temp_dir().join(format!("gateproof-hostile-load-{}.log", std::process::id()));
        let stderr = std::fs::File::create(&log).expect("a log file");
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .args(["serve", "--port", "0", "--master-key", MASTER])
            .env(SERVE_CHILD, "1")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("the server prints its base_url").expect("a line");
            if let Some(url) = line.strip_prefix("base_url: http://") {
                break url.parse().expect("an address");
            }
        };
        // Keep reading its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, addr, log }
    }

    /// VmRSS and VmHWM of the server process, in bytes.
    pub fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb * 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn panics_logged(&self) -> usize {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| l.contains("panicked at")).count()
    }

    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("a pid"));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The figures the verdict is taken on, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    pub peak: f64,
    pub idle: f64,
}

impl Figures {
    /// Both goals met. A figure that could not be read (NaN) meets neither.
    pub fn meets_goals(self) -> bool {
        self.peak < PEAK_GOAL_BYTES && self.idle < IDLE_GOAL_BYTES
    }

    /// The verdict line, with the figures and the goals.
    pub fn verdict(self) -> String {
        let mb = |b: f64| b / 1e6;
        format!(
            "memory {}: peak (VmHWM) {:.1} MB (goal < {:.0} MB), idle {} s later {:.1} MB (goal < {:.0} MB)",
            if self.meets_goals() { "PASS" } else { "FAIL" },
            mb(self.peak),
            mb(PEAK_GOAL_BYTES),
            IDLE_AFTER.as_secs(),
            mb(self.idle),
            mb(IDLE_GOAL_BYTES),
        )
    }

    pub fn exit_code(self) -> ExitCode {
        if self.meets_goals() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// The load, with its figures printed as it goes.
pub async fn memory(server: &Server) -> Figures {
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let (rss, _) = server.memory();
    println!("server RSS at start: {:.1} MiB", mib(rss));
    let blob = "x".repeat(900_000);
    for i in 0..40 {
        let team = json!({"team_alias": format!("large-{i}"), "metadata": {"blob": blob}});
        let r = client.post(format!("{base}/team/new")).bearer_auth(MASTER).json(&team).send().await.expect("answer");
        assert_eq!(r.status(), 200, "team {i}");
    }
    let (rss, hwm) = server.memory();
    println!("after creating 40 teams of 0.9 MB: RSS {:.1} MiB, peak so far {:.1} MiB", mib(rss), mib(hwm));
    let started = Instant::now();
    let calls: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let r = client.get(format!("{base}/user/info")).bearer_auth(MASTER).send().await.expect("answer");
                assert_eq!(r.status(), 200);
                r.bytes().await.expect("the whole body").len()
            })
        })
        .collect();
    let mut sizes = Vec::new();
    for call in calls {
        sizes.push(call.await.expect("a call"));
    }
    let (rss, peak) = server.memory();
    println!(
        "{PARALLEL} parallel admin GET /user/info: {:.1} MB each, {:.1} s; RSS {:.1} MiB, peak (VmHWM) {:.1} MiB",
        sizes[0] as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        mib(rss),
        mib(peak),
    );
    let mut idle = 0;
    let mut rss = f64::NAN;
    for seconds in [1, 5, IDLE_AFTER.as_secs()] {
        tokio::time::sleep(Duration::from_secs(seconds - idle)).await;
        idle = seconds;
        rss = server.memory().0;
        println!("idle {seconds} s later: RSS {:.1} MiB", mib(rss));
    }
    Figures { peak, idle: rss }
}
