//! gateproof: a conformance and regression harness for LLM gateway proxies that speak LiteLLM's HTTP API.
//!
//! The layers run one way, and the crates keep them: the scenario format (`gateproof-format`,
//! re-exported as `scenario`) is IO-free and knows nothing of the proxy; the reference proxy
//! (`gateproof-reference`, re-exported as `reference`) depends on the format for quirk names only.
//! This crate holds the rest: the runner (`runner`) executes scenarios against a target and yields
//! outcomes as data, reporters (`report`) only consume those outcomes, `mocks` are the fake
//! upstreams, `postgres` gives one server per run, and `cli` is the edge.

pub use gateproof_format as scenario;
pub use gateproof_reference as reference;

/// Every program built on this crate (the binary, the examples, the tests) allocates with jemalloc.
/// glibc's malloc keeps the memory of large freed answers (its mmap threshold grows with them): a
/// `serve` that had answered 32 parallel 36 MB admin dumps stayed at 99 MiB when idle.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod cli;
pub mod explore;
pub mod mocks;
pub mod postgres;
pub mod report;
pub mod runner;
