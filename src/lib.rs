//! gateproof: a conformance and regression harness for LLM gateway proxies that speak LiteLLM's HTTP API.
//!
//! The scenario model (`scenario`) is IO-free; the runner (`runner`) executes scenarios against a target
//! and yields outcomes as data; reporters (`report`) only consume those outcomes. The reference proxy
//! (`reference`) is an in-process axum server on Postgres (`postgres`).

pub mod cli;
pub mod mocks;
pub mod postgres;
pub mod reference;
pub mod report;
pub mod runner;
pub mod scenario;
