//! Private serde mirror of a scenario file (format v1).
//!
//! These types say what the YAML may hold and nothing more: every struct denies unknown fields, and
//! values that validation must point at are wrapped in [`Spanned`] so `load.rs` can name their line
//! and column. No `flatten` or `untagged`: serde's messages for them do not say what was expected.
//! Fields whose value may take two shapes (a status or a list of statuses, a string or a number) use
//! small hand-written visitors instead, with an `expecting` message written for scenario authors.
//!
//! The same types derive [`JsonSchema`], so the published schema accepts exactly what the parser
//! does; doc comments on fields become the schema's descriptions.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::model::Capability;
use crate::quirk::Quirk;

/// A gateproof scenario: requests sent to an LLM gateway proxy and what their responses must show.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gateproof scenario (format v1)")]
pub(crate) struct ScenarioFile {
    /// Scenario id: lower-case letters, digits, `_` and `-`, starting with a letter or digit.
    #[schemars(with = "String", pattern(r"^[a-z0-9][a-z0-9_-]*$"))]
    pub id: Spanned<String>,
    /// One-line title shown in reports.
    #[schemars(with = "String", length(min = 1))]
    pub title: Spanned<String>,
    /// Free text: what the scenario checks and why.
    pub description: Option<String>,
    /// Upstream report the scenario guards against, e.g. `BerriAI/litellm#27294`.
    pub upstream: Option<String>,
    /// Free-form tags for selecting scenarios.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Capabilities the target must have; a target without one skips the scenario. Each is a built-in
    /// name, or a capability of your own with the probe that tells whether the target has it.
    #[serde(default)]
    #[schemars(with = "Vec<RequirementFile>")]
    pub requires: Vec<Spanned<RequirementFile>>,
    /// Settings of the in-process reference proxy only; an external target cannot honour them.
    pub reference: Option<ReferenceFile>,
    /// The upstream bug this scenario catches: with the quirk on, the reference proxy must fail the
    /// scenario at `fails_at`, with a response matching `observed`.
    #[schemars(with = "Option<ReproductionFile>")]
    pub reproduces: Option<Spanned<ReproductionFile>>,
    /// Fake upstreams (LLM providers, MCP servers) started for this scenario, by name. Each one's URL
    /// is the variable `{{mocks.NAME.url}}`; steps register them with the proxy through its API.
    #[serde(default)]
    #[schemars(with = "SpannedMap<MockFile>")]
    pub mocks: SpannedMap<Spanned<MockFile>>,
    /// The steps, run in order; at least one.
    #[schemars(with = "Vec<StepFile>", length(min = 1))]
    pub steps: Spanned<Vec<Spanned<StepFile>>>,
    /// A table of who may call what, run after `steps`: one generated step per row and actor.
    #[schemars(with = "Option<MatrixFile>")]
    pub matrix: Option<Spanned<MatrixFile>>,
}

/// A role × route table: every row is sent once by every actor, and every cell states the status
/// that actor gets. Expanded at load time into ordinary steps named `matrix-<row>-<actor>`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatrixFile {
    /// The callers, by name (`[a-z0-9][a-z0-9_-]*`): `admin`, `none`, or a key template such as
    /// `"{{oa_key}}"`, as a step's `actor`.
    #[schemars(with = "SpannedMap<String>")]
    pub actors: Spanned<SpannedMap<Spanned<String>>>,
    /// The routes; each row names a status for every actor.
    #[schemars(with = "Vec<MatrixRowFile>", length(min = 1))]
    pub rows: Spanned<Vec<Spanned<MatrixRowFile>>>,
}

/// One route of the matrix.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatrixRowFile {
    /// The row's part of the generated step ids; by default the path, e.g. `team-update`.
    #[schemars(with = "Option<String>", pattern(r"^[a-z0-9][a-z0-9_-]*$"))]
    pub name: Option<Spanned<String>>,
    /// Requests sent with the master key, in order, before every cell of this row, so each cell acts
    /// on objects of its own (for routes that change or delete them); each must answer 200.
    #[serde(default)]
    #[schemars(with = "Vec<MatrixSetupFile>")]
    pub setup: Vec<Spanned<MatrixSetupFile>>,
    /// The request every actor sends.
    #[schemars(with = "RequestFile")]
    pub request: Spanned<RequestFile>,
    /// Checked on every denied cell (all of whose statuses are 400 or above).
    #[schemars(with = "Option<ErrorFile>")]
    pub denied: Option<Spanned<ErrorFile>>,
    /// Actor name -> the status (or list of statuses) that actor gets; every actor needs a cell.
    #[schemars(with = "SpannedMap<StatusSpec>")]
    pub expect: Spanned<SpannedMap<Spanned<StatusSpec>>>,
}

/// One entry of `requires:`: a built-in capability's name, or a capability of the file's own.
#[derive(Debug)]
pub(crate) enum RequirementFile {
    Builtin(String),
    // Boxed: a probe holds whole requests and expectations, and most entries are names.
    Probed(Box<ProbedFile>),
}

impl<'de> Deserialize<'de> for RequirementFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequirementVisitor;

        impl<'de> Visitor<'de> for RequirementVisitor {
            type Value = RequirementFile;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a built-in capability's name, or `{capability: NAME, probe: {request, lacks_when}}`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequirementFile, E> {
                Ok(RequirementFile::Builtin(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RequirementFile, A::Error> {
                ProbedFile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|probed| RequirementFile::Probed(Box::new(probed)))
            }
        }

        deserializer.deserialize_any(RequirementVisitor)
    }
}

impl JsonSchema for RequirementFile {
    fn schema_name() -> Cow<'static, str> {
        "Requirement".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A built-in capability (probed by gateproof), or a capability of your own with its probe.",
            "oneOf": [generator.subschema_for::<Capability>(), generator.subschema_for::<ProbedFile>()]
        })
    }
}

/// A capability of the scenario's own: a name and the probe that tells whether an external target
/// has it. The probe runs once per target and run, for every scenario naming the capability.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbedFile {
    /// The capability's name (`[a-z0-9][a-z0-9_-]*`, not a built-in one); every file naming it must
    /// give the same probe.
    #[schemars(with = "String", pattern(r"^[a-z0-9][a-z0-9_-]*$"))]
    pub capability: Spanned<String>,
    /// How to ask the target.
    #[schemars(with = "ProbeFile")]
    pub probe: Spanned<ProbeFile>,
}

/// Requests sent with the master key: `setup` in order, then `request`, whose answer is held to
/// `lacks_when`, then `cleanup`, whatever happened. Templates see `run_id` (one per probe) and the
/// captures of `setup`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbeFile {
    /// Objects the probe needs (a team to attach something to); each must answer 200, or the target
    /// counts as lacking the capability.
    #[serde(default)]
    #[schemars(with = "Vec<MatrixSetupFile>")]
    pub setup: Vec<Spanned<MatrixSetupFile>>,
    /// The request that uses the capability.
    #[schemars(with = "RequestFile")]
    pub request: Spanned<RequestFile>,
    /// The answers that mean the target lacks it (same shape as `expect`); any other answer means it
    /// has it.
    #[schemars(with = "ExpectFile")]
    pub lacks_when: Spanned<ExpectFile>,
    /// Requests that delete what `setup` (or `request`) created; their answers are not checked.
    #[serde(default)]
    #[schemars(with = "Vec<RequestFile>")]
    pub cleanup: Vec<Spanned<RequestFile>>,
}

/// A request sent with the master key before another (a matrix cell, a capability probe's request).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatrixSetupFile {
    /// The HTTP request, sent with the master key.
    #[schemars(with = "RequestFile")]
    pub request: Spanned<RequestFile>,
    /// Variables to set from its response, for later setup requests and the request it prepares.
    #[serde(default)]
    #[schemars(with = "SpannedMap<String>")]
    pub capture: SpannedMap<Spanned<String>>,
}

/// Settings of the in-process reference proxy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReferenceFile {
    /// Environment settings of the reference proxy, by name.
    #[serde(default)]
    #[schemars(with = "ReferenceEnvSchema")]
    pub env: SpannedMap<Spanned<ScalarText>>,
    /// Proxies sharing the scenario's database, each with its own cache (default 1, at most 8). A
    /// step's `on` picks one; against external proxies the run needs as many `--target`s.
    #[schemars(with = "Option<u64>", range(min = 1, max = 8))]
    pub replicas: Option<Spanned<Count>>,
}

/// One fake upstream: exactly one of `llm` or `mcp`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub(crate) struct MockFile {
    /// An OpenAI-compatible LLM provider answering `POST {url}/chat/completions`.
    #[schemars(with = "Option<LlmMockFile>")]
    pub llm: Option<Spanned<LlmMockFile>>,
    /// An MCP server speaking streamable HTTP (JSON-RPC 2.0) at `{url}`.
    #[schemars(with = "Option<McpMockFile>")]
    pub mcp: Option<Spanned<McpMockFile>>,
}

/// What the fake LLM provider answers to every chat completion.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LlmMockFile {
    /// The assistant's message content (default `ok`).
    pub reply: Option<String>,
    /// `usage.prompt_tokens` reported (default 10).
    #[schemars(with = "Option<u64>")]
    pub prompt_tokens: Option<Count>,
    /// `usage.completion_tokens` reported (default 20).
    #[schemars(with = "Option<u64>")]
    pub completion_tokens: Option<Count>,
    /// Answer every completion only after this long (humantime duration, e.g. `3s`), so a request
    /// through the proxy stays in flight while other steps run.
    #[schemars(with = "Option<String>")]
    pub delay: Option<Spanned<String>>,
}

/// A fake MCP server.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct McpMockFile {
    /// How answers are framed: `json` (default) or `sse` (one `message` event).
    #[schemars(with = "Option<McpAnswerName>")]
    pub answer: Option<Spanned<String>>,
    /// Make the server misbehave: `down` (nothing listens), `slow` (answers after 60 s) or `garbage`
    /// (200 with a body that is not JSON-RPC).
    #[schemars(with = "Option<McpFailureName>")]
    pub failure: Option<Spanned<String>>,
    /// The tools it lists and answers.
    #[serde(default)]
    #[schemars(with = "Vec<McpToolFile>")]
    pub tools: Vec<Spanned<McpToolFile>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct McpToolFile {
    /// Tool name, unique within the mock.
    #[schemars(with = "String", length(min = 1))]
    pub name: Spanned<String>,
    pub description: Option<String>,
    /// The tool's `inputSchema` (default `{"type": "object"}`).
    pub input_schema: Option<Value>,
    /// The `tools/call` result (default: one text content naming mock and tool).
    pub result: Option<Value>,
    /// Answer `tools/call` of this tool only after this long (humantime duration, e.g. `2s`); the
    /// other methods answer at once.
    #[schemars(with = "Option<String>")]
    pub delay: Option<Spanned<String>>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[expect(dead_code, reason = "only describes the accepted names in the schema")]
enum McpAnswerName {
    Json,
    Sse,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[expect(dead_code, reason = "only describes the accepted names in the schema")]
enum McpFailureName {
    Down,
    Slow,
    Garbage,
}

/// The schema of `reference.env`: the parser checks the names itself (to list the known ones in its
/// error), so this type only describes them.
struct ReferenceEnvSchema;

impl JsonSchema for ReferenceEnvSchema {
    fn schema_name() -> Cow<'static, str> {
        "ReferenceEnv".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Environment settings of the reference proxy, by name.",
            "type": "object",
            "properties": {
                (crate::model::CACHE_TTL_ENV): {
                    "description": "Seconds the reference proxy caches management objects (teams, keys, users) in memory; 0 turns the cache off. An integer >= 0, as a number or a numeric string.",
                    "oneOf": [
                        {"type": "integer", "minimum": 0},
                        {"type": "string", "pattern": "^[0-9]+$"}
                    ]
                }
            },
            "additionalProperties": false
        })
    }
}

/// How the scenario reproduces its upstream bug on the reference proxy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReproductionFile {
    /// The quirk of the reference proxy that switches the bug on (see `gateproof quirks`).
    #[schemars(with = "QuirkName")]
    pub quirk: Spanned<String>,
    /// The id of the step that must fail with the quirk on.
    #[schemars(with = "String", length(min = 1))]
    pub fails_at: Spanned<String>,
    /// What that step's response shows with the quirk on; same shape as `expect`.
    #[schemars(with = "ExpectFile")]
    pub observed: Spanned<ExpectFile>,
}

/// The schema of `reproduces.quirk`: the names of the quirk registry.
struct QuirkName;

impl JsonSchema for QuirkName {
    fn schema_name() -> Cow<'static, str> {
        "Quirk".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Quirk::ALL.iter().map(|q| q.name()).collect();
        json_schema!({
            "description": "A quirk of the reference proxy: one upstream bug, named as in the registry.",
            "type": "string",
            "enum": names
        })
    }
}

/// One step: an optional pause, then an optional request and what its response must show.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepFile {
    /// Step id, unique within the file.
    #[schemars(with = "String", length(min = 1))]
    pub id: Spanned<String>,
    /// Who sends the request: `admin` (the master key, the default), `none` (no credentials), or a
    /// key as a template, e.g. `"{{u1_key}}"` or `"sk-literal"`. Needs `request`.
    #[schemars(with = "Option<String>")]
    pub actor: Option<Spanned<String>>,
    /// Wait this long before the request, as a humantime duration (`500ms`, `2s`, `1m`).
    #[schemars(with = "Option<String>")]
    pub sleep: Option<Spanned<String>>,
    /// Which proxy gets the request: a replica index below `reference.replicas` (the Nth `--target`
    /// of an external run). Without it, requests take the proxies in turn. Needs `request`.
    #[schemars(with = "Option<u64>")]
    pub on: Option<Spanned<Count>>,
    /// The HTTP request to send.
    #[schemars(with = "Option<RequestFile>")]
    pub request: Option<Spanned<RequestFile>>,
    /// What the response must show. Needs `request`.
    #[schemars(with = "Option<ExpectFile>")]
    pub expect: Option<Spanned<ExpectFile>>,
    /// Variables to set from the response body: variable name -> JSONPath of a single node. Needs
    /// `request`.
    #[schemars(with = "Option<SpannedMap<String>>")]
    pub capture: Option<Spanned<SpannedMap<Spanned<String>>>>,
    /// Send the request again until `until` holds or `timeout` passes; `expect` is then checked on
    /// the last response. Needs `request`.
    #[schemars(with = "Option<RetryFile>")]
    pub retry: Option<Spanned<RetryFile>>,
    /// `true`: start the step and go on with the next one at once, leaving its request in flight.
    /// Its `expect` and `capture` apply where a later step names it in `await` (a step nobody awaits
    /// is awaited after the last step). Needs `request`.
    #[schemars(with = "Option<bool>")]
    pub background: Option<Spanned<bool>>,
    /// Wait for these earlier background steps (an id, or a list of ids) before this step's own
    /// pause and request; their results are checked here, and their captures are known from here on.
    #[serde(rename = "await")]
    #[schemars(with = "Option<AwaitSpec>")]
    pub awaits: Option<Spanned<AwaitSpec>>,
    /// Run a fragment's steps here: the path of a fragment file, relative to this file. Its steps get
    /// ids `ID.STEP` and its captures are the variables `ID.NAME`, `ID` being this step's id. Takes no
    /// other field than `id` and `with`.
    #[schemars(with = "Option<String>", length(min = 1))]
    pub include: Option<Spanned<String>>,
    /// The fragment's parameters: name -> value. A string is a template of this file's variables; any
    /// other JSON value keeps its type where the fragment writes the parameter alone, as `"{{name}}"`,
    /// in a JSON value. Needs `include`.
    #[schemars(with = "Option<SpannedMap<Value>>")]
    pub with: Option<Spanned<SpannedMap<Spanned<Value>>>>,
}

/// `await:` as written: one step id or a list of them.
#[derive(Debug)]
pub(crate) enum AwaitSpec {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for AwaitSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AwaitVisitor;

        impl<'de> Visitor<'de> for AwaitVisitor {
            type Value = AwaitSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the id of a background step, or a list of them, e.g. `slow-call` or [a, b]")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<AwaitSpec, E> {
                Ok(AwaitSpec::One(v.to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AwaitSpec, A::Error> {
                let mut ids = Vec::new();
                while let Some(id) = seq.next_element::<Spanned<String>>()? {
                    ids.push(id);
                }
                Ok(AwaitSpec::Many(ids))
            }
        }

        deserializer.deserialize_any(AwaitVisitor)
    }
}

impl JsonSchema for AwaitSpec {
    fn schema_name() -> Cow<'static, str> {
        "Await".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The id of an earlier background step, or a list of them (each awaited once in the file).",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "uniqueItems": true}
            ]
        })
    }
}

/// A fragment: steps with parameters that scenarios include (`include:` in a step). A file with a
/// top-level `fragment:` key is one; it never runs as a scenario of its own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gateproof fragment (format v1)")]
pub(crate) struct FragmentFile {
    /// One line: what the fragment sets up, e.g. `an organization with an org admin`.
    #[schemars(with = "String", length(min = 1))]
    pub fragment: Spanned<String>,
    /// Free text: how to use it.
    #[expect(dead_code, reason = "documentation for people; the schema describes it")]
    pub description: Option<String>,
    /// The parameters its steps use as `{{name}}`: name (letters, digits, `_` and `-`) -> `{}` for a
    /// required one, or `{default: VALUE}`.
    #[serde(default)]
    #[schemars(with = "SpannedMap<ParamFile>")]
    pub params: SpannedMap<Spanned<ParamFile>>,
    /// The steps, as in a scenario; at least one. They see `run_id`, the parameters and their own
    /// captures, nothing of the including file.
    #[schemars(with = "Vec<StepFile>", length(min = 1))]
    pub steps: Spanned<Vec<Spanned<StepFile>>>,
}

/// One parameter of a fragment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParamFile {
    /// What the parameter is for.
    #[expect(dead_code, reason = "documentation for people; the schema describes it")]
    pub description: Option<String>,
    /// The value when the include step gives none (a template of `run_id` where it is a string);
    /// without it the parameter is required.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Value>")]
    pub default: Option<Spanned<Value>>,
}

/// An HTTP request; every string in it is a template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestFile {
    /// HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (any case).
    #[schemars(with = "String")]
    pub method: Spanned<String>,
    /// Path starting with `/`, e.g. `/team/new`; a template.
    #[schemars(with = "String", pattern(r"^/"))]
    pub path: Spanned<String>,
    /// Query parameters: name -> string, number or boolean (rendered as a string template).
    #[serde(default)]
    #[schemars(with = "SpannedMap<ScalarText>")]
    pub query: SpannedMap<Spanned<ScalarText>>,
    /// Request headers: name -> string template.
    #[serde(default)]
    #[schemars(with = "SpannedMap<String>")]
    pub headers: SpannedMap<Spanned<String>>,
    /// JSON body: any JSON value; every string in it (keys included) is a template. Exclusive with
    /// `body`.
    #[schemars(with = "Option<Value>")]
    pub json: Option<Spanned<Value>>,
    /// Raw body text (a template), sent with `content-type: application/json`. Exclusive with `json`.
    #[schemars(with = "Option<String>")]
    pub body: Option<Spanned<String>>,
}

/// What a response must show; every part is optional.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectFile {
    /// The status, or a list of statuses any of which passes.
    #[schemars(with = "Option<StatusSpec>")]
    pub status: Option<Spanned<StatusSpec>>,
    /// Assertions on the JSON body.
    #[serde(default)]
    #[schemars(with = "Vec<BodyAssertionFile>")]
    pub body: Vec<Spanned<BodyAssertionFile>>,
    /// Assertions on the response headers.
    #[serde(default)]
    #[schemars(with = "Vec<HeaderAssertionFile>")]
    pub headers: Vec<Spanned<HeaderAssertionFile>>,
    /// An assertion on LiteLLM's error, in whichever envelope came back.
    #[schemars(with = "Option<ErrorFile>")]
    pub error: Option<Spanned<ErrorFile>>,
    /// Alternatives: the response passes when any one of these whole expectations (status, body,
    /// headers, error) holds. At least two, and no other key beside it.
    #[schemars(with = "Option<Vec<ExpectFile>>", extend("minItems" = 2))]
    pub any_of: Option<Spanned<Vec<Spanned<ExpectFile>>>>,
}

/// An assertion on the JSON body: `path` plus exactly one predicate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 2, "maxProperties" = 2))]
pub(crate) struct BodyAssertionFile {
    /// RFC 9535 JSONPath into the response body, e.g. `$.team_id`; a template, so a filter can name
    /// a captured value: `$.teams[?@.team_id == '{{team_id}}']`.
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    /// The single node equals this value (strings in it are templates).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Value>")]
    pub equals: Option<Spanned<Value>>,
    /// A string node contains this substring, or an array node contains an element equal to it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Value>")]
    pub contains: Option<Spanned<Value>>,
    /// `true`: at least one node matches the path; `false`: same as `absent: true`.
    #[schemars(with = "Option<bool>")]
    pub exists: Option<Spanned<bool>>,
    /// `true`: no node matches the path, or the single node is null. `false` is not allowed.
    #[schemars(with = "Option<bool>")]
    pub absent: Option<Spanned<bool>>,
    /// The single node is an array, string or object of this length.
    #[schemars(with = "Option<u64>")]
    pub length: Option<Spanned<Count>>,
    /// The single node is a string matching this regular expression (a template).
    #[schemars(with = "Option<String>")]
    pub matches: Option<Spanned<String>>,
}

/// An assertion on a response header: `name` plus exactly one predicate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 2, "maxProperties" = 2))]
pub(crate) struct HeaderAssertionFile {
    /// Header name (case-insensitive).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The header's value equals this text (a template).
    #[schemars(with = "Option<String>")]
    pub equals: Option<Spanned<String>>,
    /// The header's value contains this text (a template).
    #[schemars(with = "Option<String>")]
    pub contains: Option<Spanned<String>>,
    /// The header's value matches this regular expression (a template).
    #[schemars(with = "Option<String>")]
    pub matches: Option<Spanned<String>>,
    /// `true`: the header is present; `false`: same as `absent: true`.
    #[schemars(with = "Option<bool>")]
    pub exists: Option<Spanned<bool>>,
    /// `true`: the header is missing. `false` is not allowed.
    #[schemars(with = "Option<bool>")]
    pub absent: Option<Spanned<bool>>,
}

/// An assertion on LiteLLM's error; at least one key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub(crate) struct ErrorFile {
    /// The error message contains this text (a template).
    #[schemars(with = "Option<String>")]
    pub message_contains: Option<Spanned<String>>,
    /// The error message contains at least one of these texts (templates).
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub message_contains_any: Option<Spanned<Vec<Spanned<String>>>>,
    /// The error message matches this regular expression (a template).
    #[schemars(with = "Option<String>")]
    pub message_matches: Option<Spanned<String>>,
    /// `type` of an OpenAI-style `{"error": {...}}` envelope (or of the first item of a 422 list).
    #[serde(rename = "type")]
    pub error_type: Option<String>,
    /// `code` of the error, a number or a string, compared as a string.
    pub code: Option<ScalarText>,
}

/// Resend the request until `until` holds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetryFile {
    /// The condition to wait for; same shape as `expect`.
    #[schemars(with = "ExpectFile")]
    pub until: Spanned<ExpectFile>,
    /// Give up after this long (humantime duration, e.g. `10s`).
    #[schemars(with = "String")]
    pub timeout: Spanned<String>,
    /// Wait this long between attempts (humantime duration, default `250ms`); less than `timeout`.
    #[schemars(with = "Option<String>")]
    pub interval: Option<Spanned<String>>,
}

/// `status:` as written: one status (or class) or a list of them.
#[derive(Debug)]
pub(crate) enum StatusSpec {
    One(StatusItem),
    Any(Vec<Spanned<StatusItem>>),
}

/// What `status:` expects: a status, or a class where the exact code does not matter.
const STATUS_EXPECTED: &str =
    "an HTTP status (100..=599), a class (1xx..5xx) or a list of them, e.g. 200, 4xx or [401, 403]";

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;

        impl<'de> Visitor<'de> for StatusVisitor {
            type Value = StatusSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(STATUS_EXPECTED)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusSpec, E> {
                StatusItemVisitor(STATUS_EXPECTED).visit_u64(v).map(StatusSpec::One)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusSpec, E> {
                StatusItemVisitor(STATUS_EXPECTED).visit_i64(v).map(StatusSpec::One)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusSpec, E> {
                StatusItemVisitor(STATUS_EXPECTED).visit_str(v).map(StatusSpec::One)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSpec, A::Error> {
                let mut statuses = Vec::new();
                while let Some(status) = seq.next_element::<Spanned<StatusItem>>()? {
                    statuses.push(status);
                }
                Ok(StatusSpec::Any(statuses))
            }
        }

        deserializer.deserialize_any(StatusVisitor)
    }
}

impl JsonSchema for StatusSpec {
    fn schema_name() -> Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An HTTP status or a status class (`4xx`: any 400..=499), or a list of them any of which passes.",
            "oneOf": [
                {"type": "integer", "minimum": 100, "maximum": 599},
                {"type": "string", "pattern": "^[1-5]xx$"},
                {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {"type": "integer", "minimum": 100, "maximum": 599},
                            {"type": "string", "pattern": "^[1-5]xx$"}
                        ]
                    },
                    "minItems": 1
                }
            ]
        })
    }
}

/// One status of a `status:` list: a code (range-checked by the loader, which knows where it is), or
/// a class, `4xx` for any of 400..=499.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusItem {
    Code(u64),
    /// The class's first digit, 1..=5.
    Class(u16),
}

impl<'de> Deserialize<'de> for StatusItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StatusItemVisitor("an HTTP status (100..=599) or a class (1xx..5xx)"))
    }
}

struct StatusItemVisitor(&'static str);

impl Visitor<'_> for StatusItemVisitor {
    type Value = StatusItem;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusItem, E> {
        Ok(StatusItem::Code(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusItem, E> {
        u64::try_from(v).map(StatusItem::Code).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusItem, E> {
        match v.as_bytes() {
            [digit @ b'1'..=b'5', b'x', b'x'] => Ok(StatusItem::Class(u16::from(digit - b'0'))),
            // Shaped like a class (`6xx`, `4XX`): a wrong value; any other text is not a status at all.
            [b'0'..=b'9', b'x' | b'X', b'x' | b'X'] => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }
}

/// A length: an integer >= 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NaturalVisitor("a length (an integer >= 0)")).map(Count)
    }
}

/// Accepts an integer >= 0; the message says what the integer is for, since serde-saphyr's own
/// message for a negative `u64` is only "invalid u64".
struct NaturalVisitor(&'static str);

impl Visitor<'_> for NaturalVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
}

/// A scalar kept as text: a string as is, a number or boolean as written in JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScalarText(pub String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;

        impl Visitor<'_> for ScalarVisitor {
            type Value = ScalarText;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(Value::from(v).to_string()))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
        }

        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl JsonSchema for ScalarText {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number", "boolean"]})
    }
}

/// A mapping with string keys, kept in file order with the location of every key.
#[derive(Debug)]
pub(crate) struct SpannedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        SpannedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names to values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SpannedMap<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                Ok(SpannedMap(entries))
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for SpannedMap<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<V>(),
        })
    }
}

/// Deserializes a present field as `Some`, even when its value is `null`, so `equals: null` is a
/// predicate rather than a missing one.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}
