//! For test binaries with their own harness (libtest-mimic): a test body's panic as a failed trial.

use libtest_mimic::Failed;

/// Runs `test`, turning a panic into a failed trial with the panic's message.
pub fn catch(test: impl FnOnce() + std::panic::UnwindSafe) -> Result<(), Failed> {
    std::panic::catch_unwind(test).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the test panicked".into());
        Failed::from(message)
    })
}
