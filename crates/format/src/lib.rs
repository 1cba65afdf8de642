//! The scenario file format: its model, parser, validation, templating and JSON Schema, and the
//! names of the quirks and capabilities a scenario may mention. IO-free apart from reading files.
//!
//! `file.rs` is a private serde mirror of the YAML (exact spans, `deny_unknown_fields`); `load.rs`
//! validates it into the plain data of `model.rs`. This crate knows nothing of HTTP, Postgres or
//! the reference proxy: the proxy depends on it for quirk names, never the other way round.

mod file;
mod load;
mod location;
pub mod mock;
pub mod model;
pub mod quirk;
pub mod schema;
pub mod template;

pub use load::{
    Discovered, Loaded, ScenarioError, ScenarioErrorKind, discover, load_all, load_file, parse_bytes, parse_str,
};
pub use mock::{LlmMock, McpAnswer, McpFailure, McpMock, McpTool, MockKind, MockSpec};
pub use model::*;
pub use quirk::{Quirk, Quirks, UnknownQuirk};
pub use template::{Template, TemplateError};
