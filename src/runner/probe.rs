//! What an external proxy can do, asked once per run: its version, and which capabilities that
//! scenarios may `require` it lacks (licence-gated features, features of newer versions).
//!
//! Each question is one small admin request whose answer is read the way LiteLLM gives it; what the
//! probe creates to ask (a key, a team, a user) it deletes again. A capability a scenario probes
//! itself (`requires: [{capability, probe}]`) is asked the scenario's way, by [`probed`].

use std::collections::BTreeMap;

use rand::Rng;
use serde_json::{Value, json};

use super::http::{self, Client, Endpoint};
use super::outcome::ReceivedResponse;
use super::resources::route_missing;
use super::{assert, capture, error_view};
use crate::scenario::{Capability, ProbedCapability, Request, Variables};

/// The answers of the probe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetProfile {
    /// The version the target says it runs, when it says (see [`VERSION_SOURCES`]).
    pub version: Option<String>,
    /// Capabilities the target lacks, each with why (the target's own words where it gave some).
    pub missing: BTreeMap<Capability, String>,
}

impl TargetProfile {
    /// Why `required` cannot run here, naming the first missing capability.
    pub fn lacks(&self, required: &[Capability]) -> Option<String> {
        required.iter().find_map(|c| self.missing.get(c).map(|why| format!("the target lacks `{}`: {why}", c.name())))
    }
}

/// Asks the target. Never fails: an unanswered question counts the capability as missing, with the
/// reason, so scenarios needing it are skipped rather than failed (the scenarios that need nothing
/// will show an unreachable target as errors of their own).
pub(crate) async fn probe(client: &Client, endpoint: &Endpoint) -> TargetProfile {
    let mut profile = TargetProfile { version: version(client, endpoint).await, ..TargetProfile::default() };
    let tag = format!("gateproof-probe-{}", rand::rng().random_range(100_000..1_000_000));
    let checks = [
        (Capability::Organizations, organizations(client, endpoint, &tag).await),
        (Capability::Mcp, listing(client, endpoint, "/v1/mcp/server").await),
        (Capability::AccessGroups, listing(client, endpoint, "/v1/access_group").await),
        (Capability::KeyRegenerate, key_regenerate(client, endpoint, &tag).await),
        (Capability::TeamAdminViaMemberAdd, team_admin_via_member_add(client, endpoint, &tag).await),
        (Capability::KeyAccessGroupAssignment, key_access_group_assignment(client, endpoint, &tag).await),
    ];
    for (capability, result) in checks {
        if let Err(why) = result {
            profile.missing.insert(capability, why);
        }
    }
    // MCP access groups live in object permissions wherever the MCP registry exists.
    if let Some(why) = profile.missing.get(&Capability::Mcp).cloned() {
        profile.missing.insert(Capability::McpAccessGroups, why);
    }
    profile
}

/// Where a LiteLLM proxy says its version, cheapest first: route, and the JSON pointer of the version
/// in its answer. 1.83 says it in the public readiness route; 1.109 only in the authenticated
/// `/health/readiness/details`. Every version says it in its OpenAPI document, which 1.109 takes
/// about 12 s to build on its first request, so that comes last.
const VERSION_SOURCES: [(&str, &str); 3] = [
    ("/health/readiness", "/litellm_version"),
    ("/health/readiness/details", "/litellm_version"),
    ("/openapi.json", "/info/version"),
];

/// The target's version from the first source that names one; `None` when none does.
pub(crate) async fn version(client: &Client, endpoint: &Endpoint) -> Option<String> {
    for (path, pointer) in VERSION_SOURCES {
        let Ok(response) = http::admin(client, endpoint, "GET", path, None).await else { continue };
        if let Some(version) = version_in(&response, pointer) {
            return Some(version);
        }
    }
    None
}

fn version_in(response: &ReceivedResponse, pointer: &str) -> Option<String> {
    if response.status != 200 {
        return None;
    }
    let version = response.json.as_ref()?.pointer(pointer)?.as_str()?.trim();
    (!version.is_empty()).then(|| version.to_string())
}

fn refused(what: &str, response: &ReceivedResponse) -> String {
    if route_missing(response) {
        return format!("{what}: the route does not exist here");
    }
    let message =
        response.json.as_ref().and_then(error_view::normalize).map_or_else(|| response.body.clone(), |e| e.message);
    format!("{what} answered {}: {}", response.status, super::query::truncate(&message, 300))
}

async fn listing(client: &Client, endpoint: &Endpoint, path: &str) -> Result<(), String> {
    let response = http::admin(client, endpoint, "GET", path, None).await?;
    if response.status == 200 { Ok(()) } else { Err(refused(&format!("GET {path}"), &response)) }
}

/// Unlicensed LiteLLM ≥ 1.109 refuses every `/organization/*` route with 403; a licensed or older one
/// answers an unknown organization with a not-found error.
async fn organizations(client: &Client, endpoint: &Endpoint, tag: &str) -> Result<(), String> {
    let path = format!("/organization/info?organization_id={tag}");
    let response = http::admin(client, endpoint, "GET", &path, None).await?;
    if route_missing(&response) || matches!(response.status, 401 | 403) {
        return Err(refused("GET /organization/info", &response));
    }
    Ok(())
}

/// Regenerating a virtual key is licence-gated on real LiteLLM: try it on a throwaway key.
async fn key_regenerate(client: &Client, endpoint: &Endpoint, tag: &str) -> Result<(), String> {
    let made = http::admin(client, endpoint, "POST", "/key/generate", Some(&json!({"key_alias": tag}))).await?;
    let Some(key) = made.json.as_ref().and_then(|j| j.get("key")).and_then(Value::as_str).map(str::to_string) else {
        return Err(refused("POST /key/generate", &made));
    };
    let regenerated = http::admin(client, endpoint, "POST", "/key/regenerate", Some(&json!({"key": key}))).await;
    let mut keys = vec![key];
    if let Ok(r) = &regenerated
        && let Some(new_key) = r.json.as_ref().and_then(|j| j.get("key")).and_then(Value::as_str)
    {
        keys.push(new_key.to_string());
    }
    let _ = http::admin(client, endpoint, "POST", "/key/delete", Some(&json!({"keys": keys}))).await;
    let regenerated = regenerated?;
    if regenerated.status == 200 { Ok(()) } else { Err(refused("POST /key/regenerate", &regenerated)) }
}

/// Adding a team admin through `/team/member_add` is licence-gated on real LiteLLM.
async fn team_admin_via_member_add(client: &Client, endpoint: &Endpoint, tag: &str) -> Result<(), String> {
    let team = create_team(client, endpoint, tag).await?;
    let user_id = format!("{tag}-admin");
    let body = json!({"team_id": team, "member": {"user_id": user_id, "role": "admin"}});
    let added = http::admin(client, endpoint, "POST", "/team/member_add", Some(&body)).await;
    let _ = http::admin(client, endpoint, "POST", "/team/delete", Some(&json!({"team_ids": [team]}))).await;
    let _ = http::admin(client, endpoint, "POST", "/user/delete", Some(&json!({"user_ids": [user_id]}))).await;
    let added = added?;
    if added.status == 200 { Ok(()) } else { Err(refused("POST /team/member_add with role admin", &added)) }
}

/// Newer LiteLLM lists `/key/access_group_assignment` among the permissions a team may grant members.
async fn key_access_group_assignment(client: &Client, endpoint: &Endpoint, tag: &str) -> Result<(), String> {
    let team = create_team(client, endpoint, &format!("{tag}-perm")).await?;
    let path = format!("/team/permissions_list?team_id={team}");
    let listed = http::admin(client, endpoint, "GET", &path, None).await;
    let _ = http::admin(client, endpoint, "POST", "/team/delete", Some(&json!({"team_ids": [team]}))).await;
    let listed = listed?;
    let known = listed
        .json
        .as_ref()
        .and_then(|j| j.get("all_available_permissions"))
        .and_then(Value::as_array)
        .is_some_and(|all| all.iter().any(|p| p == "/key/access_group_assignment"));
    if known {
        Ok(())
    } else if listed.status == 200 {
        Err("`/key/access_group_assignment` is not among the team member permissions it knows".into())
    } else {
        Err(refused("GET /team/permissions_list", &listed))
    }
}

async fn create_team(client: &Client, endpoint: &Endpoint, alias: &str) -> Result<String, String> {
    let made = http::admin(client, endpoint, "POST", "/team/new", Some(&json!({"team_alias": alias}))).await?;
    made.json
        .as_ref()
        .and_then(|j| j.get("team_id"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| refused("POST /team/new", &made))
}

/// Whether the target lacks a capability a scenario probes itself: `None` when it has it, else what
/// the probe saw. `setup` runs first (each must answer 200), `cleanup` last, whatever happened.
pub(crate) async fn probed(client: &Client, endpoint: &Endpoint, capability: &ProbedCapability) -> Option<String> {
    let mut vars = Variables::new();
    let tag = format!("gateproof-probe-{}", rand::rng().random_range(100_000..1_000_000));
    vars.insert("run_id".into(), Value::String(tag));
    let lacks = probe_once(client, endpoint, capability, &mut vars).await;
    for request in &capability.cleanup {
        // A cleanup request whose variables setup never captured is not sent.
        if let Ok(prepared) = http::prepare(client, endpoint, request, &vars) {
            let _ = http::send_classified(client, prepared.request).await;
        }
    }
    lacks
}

async fn probe_once(
    client: &Client,
    endpoint: &Endpoint,
    capability: &ProbedCapability,
    vars: &mut Variables,
) -> Option<String> {
    for (request, captures) in &capability.setup {
        let what = format!("the probe's setup {} {}", request.method, request.path.as_str());
        let response = match send(client, endpoint, request, vars).await {
            Ok(response) => response,
            Err(why) => return Some(format!("{what}: {why}")),
        };
        if response.status != 200 {
            return Some(refused(&what, &response));
        }
        if let Err(why) = capture::apply(captures, &response, vars) {
            return Some(format!("{what}: {why}"));
        }
    }
    let request = &capability.request;
    let what = format!("{} {}", request.method, request.path.as_str());
    let response = match send(client, endpoint, request, vars).await {
        Ok(response) => response,
        Err(why) => return Some(format!("{what}: {why}")),
    };
    let lacks = assert::check(&capability.lacks_when, &response, vars, "").iter().all(|r| r.passed);
    lacks.then(|| refused(&what, &response))
}

async fn send(
    client: &Client,
    endpoint: &Endpoint,
    request: &Request,
    vars: &Variables,
) -> Result<ReceivedResponse, String> {
    let prepared = http::prepare(client, endpoint, request, vars)?;
    http::send_classified(client, prepared.request).await.map_err(http::Unanswered::into_message)
}
