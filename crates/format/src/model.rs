//! The validated scenario: plain data the runner executes.
//!
//! Built from the serde mirror in `file.rs` by `load.rs`; nothing here knows about YAML, HTTP or
//! Postgres. Every string that may hold `{{var}}` placeholders is a [`Template`], rendered at run time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::mock::{McpFailure, MockKind, MockSpec};
use super::template::Template;
use crate::quirk::Quirk;

/// One scenario file, validated.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it was read from, as given on the command line.
    pub source: PathBuf,
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Upstream report it guards against, e.g. `BerriAI/litellm#25286`.
    pub upstream: Option<String>,
    pub tags: Vec<String>,
    /// Capabilities the target must have; a target without one skips the scenario.
    pub requires: Vec<Capability>,
    /// Capabilities of the file's own (`requires:` entries with a probe), also required.
    pub probed: Vec<ProbedCapability>,
    /// Settings for the in-process reference proxy; they make no sense for an external target.
    pub reference: ReferenceSettings,
    /// Fake upstreams started for the scenario, in file order.
    pub mocks: Vec<MockSpec>,
    pub steps: Vec<Step>,
    /// The upstream bug the scenario catches, when it is a regression scenario.
    pub reproduces: Option<Reproduction>,
}

impl Scenario {
    /// How long the scenario says it waits: its steps' `sleep`s, and the delays of its mocks (each
    /// counted once; an upstream that is slow on purpose counts its whole delay, though a proxy's
    /// timeout usually cuts it short). A runner starts the scenarios that wait longest first, so
    /// that one slow scenario does not start last and hold the whole run up.
    pub fn declared_wait(&self) -> Duration {
        let sleeps: Duration = self.steps.iter().filter_map(|s| s.sleep).sum();
        let mocks: Duration = self
            .mocks
            .iter()
            .map(|m| match &m.kind {
                MockKind::Llm(llm) => llm.delay,
                MockKind::Mcp(mcp) => {
                    let tools = mcp.tools.iter().map(|t| t.delay).max().unwrap_or_default();
                    match mcp.failure {
                        Some(McpFailure::Slow(delay)) => delay.max(tools),
                        _ => tools,
                    }
                }
            })
            .sum();
        sleeps + mocks
    }
}

/// How a regression scenario reproduces its bug: with `quirk` on, the reference proxy fails the
/// scenario exactly at step `fails_at`, and that step's response satisfies `observed`.
#[derive(Clone, Debug)]
pub struct Reproduction {
    pub location: Location,
    pub quirk: Quirk,
    /// The id of a step of the scenario.
    pub fails_at: String,
    /// What the failing step's response shows with the quirk on; its templates may use the variables
    /// known at that step.
    pub observed: Expect,
}

/// Capabilities a real proxy may lack (licence-gated features, features of newer versions).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// `/organization/*` routes (Enterprise-only on LiteLLM ≥ 1.109 without a licence).
    Organizations,
    /// Team admins added through `/team/member_add` (licence-gated on real LiteLLM).
    TeamAdminViaMemberAdd,
    /// `/key/regenerate` on a virtual key (licence-gated on real LiteLLM).
    KeyRegenerate,
    /// The MCP server registry (`/v1/mcp/server`) and `/mcp-rest/*`.
    Mcp,
    /// MCP access groups in object permissions.
    McpAccessGroups,
    /// Unified access groups (`/v1/access_group`).
    AccessGroups,
    /// The `/key/access_group_assignment` team member permission.
    KeyAccessGroupAssignment,
}

impl Capability {
    pub const ALL: [Capability; 7] = [
        Capability::Organizations,
        Capability::TeamAdminViaMemberAdd,
        Capability::KeyRegenerate,
        Capability::Mcp,
        Capability::McpAccessGroups,
        Capability::AccessGroups,
        Capability::KeyAccessGroupAssignment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Capability::Organizations => "organizations",
            Capability::TeamAdminViaMemberAdd => "team_admin_via_member_add",
            Capability::KeyRegenerate => "key_regenerate",
            Capability::Mcp => "mcp",
            Capability::McpAccessGroups => "mcp_access_groups",
            Capability::AccessGroups => "access_groups",
            Capability::KeyAccessGroupAssignment => "key_access_group_assignment",
        }
    }
}

/// A capability a scenario names and probes itself: a licence-gated feature gateproof has no name
/// for. An external target lacks it when `request`'s answer satisfies `lacks_when`.
#[derive(Clone, Debug)]
pub struct ProbedCapability {
    pub name: String,
    /// Where its `capability:` name is written.
    pub location: Location,
    /// Sent first, with the master key; each must answer 200, and sets its captures.
    pub setup: Vec<(Request, Vec<Capture>)>,
    /// Sent with the master key.
    pub request: Request,
    pub lacks_when: Expect,
    /// Sent last, whatever happened, with the master key; answers are not checked.
    pub cleanup: Vec<Request>,
}

/// The environment variable LiteLLM reads for the management-object cache TTL, in seconds; a
/// scenario sets it under `reference.env`, and the reference proxy reads it from its environment.
pub const CACHE_TTL_ENV: &str = "DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL";

/// Settings of the in-process reference proxy for one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceSettings {
    /// `CACHE_TTL_ENV`, when the scenario sets it.
    pub cache_ttl: Option<Duration>,
    /// Proxies on one database, each with its own cache (at least 1). An external run needs as many
    /// `--target`s.
    pub replicas: usize,
}

impl Default for ReferenceSettings {
    fn default() -> Self {
        ReferenceSettings { cache_ttl: None, replicas: 1 }
    }
}

/// One step: an optional pause, then an optional request and what its response must show.
#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    pub location: Location,
    /// Wait this long before the request (or, in a step without a request, just wait).
    pub sleep: Option<Duration>,
    /// The endpoint the request goes to (a replica index); `None` takes the next one in turn.
    pub on: Option<usize>,
    pub request: Option<Request>,
    pub expect: Expect,
    /// Variables to set from the response body, in file order.
    pub capture: Vec<Capture>,
    /// Send the request again until `until` holds or the time runs out; `expect` is checked on the
    /// last response.
    pub retry: Option<Retry>,
    /// Started without waiting: the next steps run while its request is in flight, and its `expect`
    /// and `capture` apply when a step awaits it (or after the last step, when none does).
    pub background: bool,
    /// Background steps (earlier ones, by id, in the order written) this step waits for before its
    /// own pause and request.
    pub awaits: Vec<String>,
    /// Where the step is written when that is a fragment, not the scenario file; `location` and the
    /// locations of its assertions are in that file.
    pub origin: Option<Arc<Origin>>,
}

/// The fragment file a step comes from, and the include steps that brought it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The fragment file, as reached from the scenario's path.
    pub file: PathBuf,
    /// The include steps, innermost first: the step of the file that includes this fragment, then the
    /// step that includes that file, up to the scenario's own.
    pub included_from: Vec<IncludeSite>,
}

/// An include step: its file and where it is written there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludeSite {
    pub file: PathBuf,
    pub location: Location,
}

/// Who sends the request.
#[derive(Clone, Debug, PartialEq)]
pub enum Actor {
    /// The master key of the target.
    Admin,
    /// No credentials at all.
    Anonymous,
    /// A key given literally or from a captured variable (`"{{u1_key}}"`).
    Key(Template),
}

#[derive(Clone, Debug)]
pub struct Request {
    pub actor: Actor,
    /// Upper-case HTTP method.
    pub method: String,
    pub path: Template,
    pub query: Vec<(String, Template)>,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Body>,
}

#[derive(Clone, Debug)]
pub enum Body {
    /// A JSON value; templates inside its strings are rendered, and a string that is exactly one
    /// placeholder is replaced by the variable's JSON value (so captured numbers and lists keep their
    /// type).
    Json(Value),
    /// Sent as is, with `content-type: application/json` (for malformed-JSON tests).
    Raw(Template),
}

/// What a response must show. Every part is optional; an empty `Expect` accepts anything.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// Any of these statuses passes.
    pub status: Option<Vec<u16>>,
    pub body: Vec<BodyAssertion>,
    pub headers: Vec<HeaderAssertion>,
    pub error: Option<ErrorAssertion>,
    /// Alternatives (`any_of`): when not empty, the expectation holds when any one of these holds,
    /// and the other fields are empty.
    pub any_of: Vec<Expect>,
}

#[derive(Clone, Debug)]
pub struct BodyAssertion {
    pub location: Location,
    /// The JSONPath as written, for messages.
    pub path_text: String,
    pub path: PathQuery,
    pub predicate: Predicate,
}

/// A JSONPath, compiled at load time when it holds no placeholder (a filter naming a captured id,
/// `$[?@.team_id == '{{team_id}}']`, is compiled once rendered).
#[derive(Clone, Debug)]
pub enum PathQuery {
    Compiled(JsonPath),
    Templated(Template),
}

#[derive(Clone, Debug)]
pub enum Predicate {
    /// The single node equals the value (after rendering its templates).
    Equals(Value),
    /// A string node contains the substring, or an array node contains an element equal to the value.
    Contains(Value),
    /// At least one node matches the path.
    Exists,
    /// No node matches the path, or the single node is `null`.
    Absent,
    /// The single node is an array, string or object of this length.
    Length(usize),
    /// The single node is a string matching the regular expression.
    Matches(TextPattern),
}

/// A regular expression, compiled at load time when it holds no placeholder.
#[derive(Clone, Debug)]
pub enum TextPattern {
    Compiled(Regex),
    Templated(Template),
}

#[derive(Clone, Debug)]
pub struct HeaderAssertion {
    pub location: Location,
    /// Lower-case header name.
    pub name: String,
    pub predicate: HeaderPredicate,
}

#[derive(Clone, Debug)]
pub enum HeaderPredicate {
    Equals(Template),
    Contains(Template),
    Matches(TextPattern),
    Exists,
    Absent,
}

/// An assertion on LiteLLM's error, in whichever envelope the target used:
/// `{"error": {"message", "type", "param", "code"}}` or FastAPI's `{"detail": …}`.
#[derive(Clone, Debug, Default)]
pub struct ErrorAssertion {
    pub location: Location,
    pub message: Vec<MessageMatch>,
    /// `type` in the OpenAI-style envelope (or of the first item of a 422 list).
    pub error_type: Option<String>,
    /// `code` in the OpenAI-style envelope, compared as a string.
    pub code: Option<String>,
}

#[derive(Clone, Debug)]
pub enum MessageMatch {
    Contains(Template),
    ContainsAny(Vec<Template>),
    Matches(TextPattern),
}

#[derive(Clone, Debug)]
pub struct Capture {
    pub variable: String,
    pub path_text: String,
    pub path: JsonPath,
}

#[derive(Clone, Debug)]
pub struct Retry {
    pub until: Expect,
    pub timeout: Duration,
    pub interval: Duration,
}

pub use crate::location::Location;
pub use crate::template::Variables;
