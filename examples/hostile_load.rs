//! Hostile load against `gateproof serve`, in a process of its own so its memory is measured alone.
//!
//! `cargo run --release --example hostile_load -- memory` creates 40 teams of about 0.9 MB each, fires
//! 32 parallel admin `GET /user/info` (no `user_id`: every key and team), prints the server's
//! resident memory before, at its peak (VmHWM) and when idle again, and exits non-zero when the peak
//! is 300 MB or more or the memory 10 s later is 100 MB or more (`cargo bench --bench
//! hostile_memory` runs the same load).
//!
//! `cargo run --release --example hostile_load -- malformed N` sends N random malformed requests (the
//! generator of `tests/hostile.rs`) and issue 16's fixed cases, 32 at a time, and counts 5xx answers,
//! dropped connections, answers outside LiteLLM's error shape, and panics in the server's log.
//!
//! The server is this same binary re-run as `gateproof serve` (the CLI's own `main`).

#[path = "../benches/support/hostile_memory.rs"]
mod hostile_memory;
#[path = "../tests/support/hostile_requests.rs"]
mod hostile_requests;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hostile_memory::{MASTER, PARALLEL, SERVE_CHILD, Server, memory};
use hostile_requests::{Outcome, judge, regressions, send};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRng, TestRunner};

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
    let (rss, hwm) = (rss / (1024.0 * 1024.0), hwm / (1024.0 * 1024.0));
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
    let figures = match mode {
        "memory" => Some(rt.block_on(memory(&server))),
        "malformed" => {
            rt.block_on(malformed(&server, count));
            None
        }
        _ => Some(rt.block_on(async {
            malformed(&server, count).await;
            memory(&server).await
        })),
    };
    server.stop();
    match figures {
        Some(figures) => {
            println!("{}", figures.verdict());
            figures.exit_code()
        }
        None => ExitCode::SUCCESS,
    }
}
