//! Hostile load against `gateproof serve`, in a process of its own so its memory is measured alone.
//!
//! `cargo run --release --example hostile_load -- memory` creates 40 teams of about 0.9 MB each, fires
//! 32 parallel admin `GET /user/info` (no `user_id`: every key and team), and prints the server's
//! resident memory before, at its peak (VmHWM) and when idle again.
//!
//! `cargo run --release --example hostile_load -- malformed N` sends N random malformed requests (the
//! generator of `tests/hostile.rs`) and issue 16's fixed cases, 32 at a time, and counts 5xx answers,
//! dropped connections, answers outside LiteLLM's error shape, and panics in the server's log.
//!
//! The server is this same binary re-run as `gateproof serve` (the CLI's own `main`).

#[path = "../tests/support/hostile_requests.rs"]
mod hostile_requests;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hostile_requests::{Outcome, judge, regressions, send};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRng, TestRunner};
use serde_json::json;

const SERVE_CHILD: &str = "GATEPROOF_HOSTILE_LOAD_SERVE";
const MASTER: &str = "sk-hostile-load-master";
const PARALLEL: usize = 32;

struct Server {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Server {
    fn start() -> Server {
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

    /// VmRSS and VmHWM of the server process, in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn panics_logged(&self) -> usize {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| l.contains("panicked at")).count()
    }

    fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("a pid"));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

async fn memory(server: &Server) {
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let (rss, _) = server.memory();
    println!("server RSS at start: {rss:.1} MiB");
    let blob = "x".repeat(900_000);
    for i in 0..40 {
        let team = json!({"team_alias": format!("large-{i}"), "metadata": {"blob": blob}});
        let r = client.post(format!("{base}/team/new")).bearer_auth(MASTER).json(&team).send().await.expect("answer");
        assert_eq!(r.status(), 200, "team {i}");
    }
    let (rss, hwm) = server.memory();
    println!("after creating 40 teams of 0.9 MB: RSS {rss:.1} MiB, peak so far {hwm:.1} MiB");
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
    let (rss, hwm) = server.memory();
    println!(
        "{PARALLEL} parallel admin GET /user/info: {:.1} MB each, {:.1} s; RSS {rss:.1} MiB, peak (VmHWM) {hwm:.1} MiB",
        sizes[0] as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let mut idle = 0;
    for seconds in [1, 5, 10, 30] {
        tokio::time::sleep(Duration::from_secs(seconds - idle)).await;
        idle = seconds;
        let (rss, _) = server.memory();
        println!("idle {seconds} s later: RSS {rss:.1} MiB");
    }
}

async fn malformed(server: &Server, count: usize) {
    let addr = server.addr;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let strategy = hostile_requests::request(MASTER.to_string());
    let mut requests: Vec<Vec<u8>> = regressions(MASTER).into_iter().map(|(_, r)| r.bytes()).collect();
    while requests.len() < count {
        requests.push(strategy.new_tree(&mut runner).expect("a request").current().bytes());
    }
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let (requests, next) = (requests.clone(), next.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(i) else { return tally };
                    let outcome = send(addr, request).await;
                    tally.add(request, &outcome);
                }
            })
        })
        .collect();
    let mut total = Tally::default();
    for worker in workers {
        total.merge(worker.await.expect("a worker"));
    }
    let (rss, hwm) = server.memory();
    println!(
        "{} requests in {:.1} s, {PARALLEL} at a time: 2xx {}, 4xx {}, 5xx {}, dropped connections {}, \
         4xx outside LiteLLM's error shape {}, panics in the server log {}; server RSS {rss:.1} MiB, peak {hwm:.1} MiB",
        requests.len(),
        started.elapsed().as_secs_f64(),
        total.ok,
        total.client_errors,
        total.server_errors,
        total.dropped,
        total.unshaped,
        server.panics_logged(),
    );
    for example in &total.examples {
        println!("  {example}");
    }
}

#[derive(Default)]
struct Tally {
    ok: usize,
    client_errors: usize,
    server_errors: usize,
    dropped: usize,
    unshaped: usize,
    examples: Vec<String>,
}

impl Tally {
    fn add(&mut self, request: &[u8], outcome: &Outcome) {
        match outcome {
            Outcome::Dropped(_) => self.dropped += 1,
            Outcome::Answered { status, .. } if *status >= 500 => self.server_errors += 1,
            Outcome::Answered { status, .. } if *status >= 400 => {
                self.client_errors += 1;
                if judge(request, outcome).is_err() {
                    self.unshaped += 1;
                }
            }
            Outcome::Answered { .. } => self.ok += 1,
        }
        if let Err(why) = judge(request, outcome)
            && self.examples.len() < 3
        {
            let start = String::from_utf8_lossy(&request[..request.len().min(160)]).to_string();
            self.examples.push(format!("{why} <- {start:?}"));
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.dropped += other.dropped;
        self.unshaped += other.unshaped;
        self.examples.extend(other.examples.into_iter().take(3usize.saturating_sub(self.examples.len())));
    }
}

fn main() -> ExitCode {
    if std::env::var_os(SERVE_CHILD).is_some() {
        return gateproof::cli::main();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("all", String::as_str);
    let count = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let server = Server::start();
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    match mode {
        "memory" => rt.block_on(memory(&server)),
        "malformed" => rt.block_on(malformed(&server, count)),
        _ => rt.block_on(async {
            malformed(&server, count).await;
            memory(&server).await;
        }),
    }
    server.stop();
    ExitCode::SUCCESS
}
