//! The scenario file format: its model, parser and JSON Schema. IO-free apart from reading the file.
//!
//! `file.rs` is a private serde mirror of the YAML (exact spans, `deny_unknown_fields`); `load.rs`
//! validates it into the plain data of `model.rs`.

mod file;
mod load;
pub mod mock;
pub mod model;
pub mod schema;
pub mod template;

pub use load::{discover, load_file, parse_str, ScenarioError, ScenarioErrorKind};
pub use mock::{LlmMock, McpAnswer, McpFailure, McpMock, McpTool, MockKind, MockSpec};
pub use model::*;
pub use template::{Template, TemplateError};
