//! The loader's fuzz harness, long: `cargo run --release -p gateproof-format --example fuzz_loader --
//! [CASES]` (default 100,000) runs the properties of `tests/fuzz/properties.rs` over that many
//! inputs, and exits 1 with the shrunk input when one breaks them.

#[path = "../tests/fuzz/properties.rs"]
mod properties;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let cases = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let started = Instant::now();
    match properties::run(cases) {
        Ok(()) => {
            println!("{cases} inputs kept the properties ({:.1}s)", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::FAILURE
        }
    }
}
