//! Issue 16's memory goal as a benchmark with a verdict: the hostile load of
//! `benches/support/hostile_memory.rs` against `gateproof serve` in a process of its own, then the
//! server's peak and idle resident memory against the goals (a peak under 300 MB, under 100 MB 10 s
//! later). `cargo bench --bench hostile_memory` exits non-zero, with the figures, when a goal is
//! missed. It takes about 20 s; RSS is no assertion of `cargo test`, whose other tests share the
//! machine.

#[path = "support/hostile_memory.rs"]
mod hostile_memory;

use std::process::ExitCode;

use hostile_memory::{SERVE_CHILD, Server, memory};

fn main() -> ExitCode {
    if std::env::var_os(SERVE_CHILD).is_some() {
        return gateproof::cli::main();
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and gets no load (as criterion's
    // benches run once, quickly, there): RSS is no assertion of a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("hostile_memory: a benchmark; `cargo bench --bench hostile_memory` runs it");
        return ExitCode::SUCCESS;
    }
    let server = Server::start();
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let figures = rt.block_on(memory(&server));
    println!("panics in the server log: {}", server.panics_logged());
    server.stop();
    println!("{}", figures.verdict());
    figures.exit_code()
}
