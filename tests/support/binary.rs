//! The `gateproof` binary as a test runs it.

use std::process::{Command, Output};

/// The binary with no GATEPROOF_* settings inherited from the environment.
pub fn gateproof(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateproof"));
    for name in ["GATEPROOF_TARGET", "GATEPROOF_MASTER_KEY", "GATEPROOF_POSTGRES", "GATEPROOF_POSTGRES_IMAGE"] {
        command.env_remove(name);
    }
    command.args(args).output().expect("the binary runs")
}
