//! What a scenario created on the target, read from its own requests and responses, and how to delete
//! it and check that it is gone.
//!
//! Pure: a table of creating routes and of their delete and info routes. On a shared proxy the runner
//! deletes what a scenario created, in reverse order, and checks after the run that nothing is left.

use serde_json::{Value, json};

use super::outcome::{ReceivedResponse, SentBody, SentRequest};

/// Kinds of objects a scenario can create through LiteLLM's management API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Organization,
    User,
    Team,
    Key,
    McpServer,
    AccessGroup,
    Model,
    /// An end user (`/customer/new`, `/end_user/new`, or a completion naming a `user`).
    Customer,
    Budget,
    Tag,
    /// A stored provider credential (`/credentials`), by its name.
    Credential,
    Guardrail,
    VectorStore,
    /// A model access group (`/access_group/new`): a name LiteLLM writes into its models' `model_info`.
    ModelAccessGroup,
}

impl ResourceKind {
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Organization => "organization",
            ResourceKind::User => "user",
            ResourceKind::Team => "team",
            ResourceKind::Key => "key",
            ResourceKind::McpServer => "mcp_server",
            ResourceKind::AccessGroup => "access_group",
            ResourceKind::Model => "model",
            ResourceKind::Customer => "customer",
            ResourceKind::Budget => "budget",
            ResourceKind::Tag => "tag",
            ResourceKind::Credential => "credential",
            ResourceKind::Guardrail => "guardrail",
            ResourceKind::VectorStore => "vector_store",
            ResourceKind::ModelAccessGroup => "model_access_group",
        }
    }

    /// Whether LiteLLM's batched spend writer may write the object again after it was deleted: 1.83
    /// upserts the end user of every request with a `user` when it flushes, about every 10 s
    /// (`PROXY_BATCH_WRITE_AT`), so a customer deleted right after its requests comes back.
    pub fn recreated_by_spend_writer(self) -> bool {
        self == ResourceKind::Customer
    }

    /// Whether a successful delete may take a while to show: a LiteLLM proxy without Redis serves
    /// models from its router, which it rebuilds from the database on its next poll, so a deleted
    /// model can still be listed for some seconds after the delete answered (seen on 1.83.14).
    pub fn disappears_eventually(self) -> bool {
        self == ResourceKind::Model
    }
}

/// One object on the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceKind,
    /// The id the API takes (for a key, the raw `sk-` key: the only handle every version accepts).
    pub id: String,
}

impl Resource {
    /// How reports show it: a key by its last four characters only.
    pub fn label(&self) -> String {
        match self.kind {
            ResourceKind::Key => format!("key {}", super::http::mask(&self.id)),
            kind => format!("{} {}", kind.name(), self.id),
        }
    }

    /// The admin request that deletes it: method, path, JSON body.
    pub fn delete_request(&self) -> (&'static str, String, Option<Value>) {
        let id = &self.id;
        match self.kind {
            ResourceKind::Organization => {
                ("DELETE", "/organization/delete".into(), Some(json!({"organization_ids": [id]})))
            }
            ResourceKind::User => ("POST", "/user/delete".into(), Some(json!({"user_ids": [id]}))),
            ResourceKind::Team => ("POST", "/team/delete".into(), Some(json!({"team_ids": [id]}))),
            ResourceKind::Key => ("POST", "/key/delete".into(), Some(json!({"keys": [id]}))),
            ResourceKind::McpServer => ("DELETE", format!("/v1/mcp/server/{}", encode(id)), None),
            ResourceKind::AccessGroup => ("DELETE", format!("/v1/access_group/{}", encode(id)), None),
            ResourceKind::Model => ("POST", "/model/delete".into(), Some(json!({"id": id}))),
            ResourceKind::Customer => ("POST", "/customer/delete".into(), Some(json!({"user_ids": [id]}))),
            ResourceKind::Budget => ("POST", "/budget/delete".into(), Some(json!({"id": id}))),
            ResourceKind::Tag => ("POST", "/tag/delete".into(), Some(json!({"name": id}))),
            ResourceKind::Credential => ("DELETE", format!("/credentials/{}", encode(id)), None),
            ResourceKind::Guardrail => ("DELETE", format!("/guardrails/{}", encode(id)), None),
            ResourceKind::VectorStore => ("POST", "/vector_store/delete".into(), Some(json!({"vector_store_id": id}))),
            ResourceKind::ModelAccessGroup => ("DELETE", format!("/access_group/{}/delete", encode(id)), None),
        }
    }

    /// The admin request that reads it back: method, path with query, JSON body. [`still_exists`] reads
    /// the answer.
    pub fn info_request(&self) -> (&'static str, String, Option<Value>) {
        let id = encode(&self.id);
        let get = |path: String| ("GET", path, None);
        match self.kind {
            ResourceKind::Organization => get(format!("/organization/info?organization_id={id}")),
            ResourceKind::User => get(format!("/user/info?user_id={id}")),
            ResourceKind::Team => get(format!("/team/info?team_id={id}")),
            ResourceKind::Key => get(format!("/key/info?key={id}")),
            ResourceKind::McpServer => get(format!("/v1/mcp/server/{id}")),
            ResourceKind::AccessGroup => get(format!("/v1/access_group/{id}")),
            ResourceKind::Model => get(format!("/model/info?litellm_model_id={id}")),
            ResourceKind::Customer => get(format!("/customer/info?end_user_id={id}")),
            ResourceKind::Budget => ("POST", "/budget/info".into(), Some(json!({"budgets": [self.id]}))),
            ResourceKind::Tag => ("POST", "/tag/info".into(), Some(json!({"names": [self.id]}))),
            ResourceKind::Credential => get(format!("/credentials/by_name/{id}")),
            ResourceKind::Guardrail => get(format!("/guardrails/{id}/info")),
            ResourceKind::VectorStore => {
                ("POST", "/vector_store/info".into(), Some(json!({"vector_store_id": self.id})))
            }
            ResourceKind::ModelAccessGroup => get(format!("/access_group/{id}/info")),
        }
    }
}

/// Whether an info response says the object is still there. LiteLLM answers a missing object with 404
/// on most routes, with 400 or 500 and a "not found" / "does not exist" message on some (`/model/info`,
/// `/tag/info`), and with 200 on a few (see [`gone_although_found`]).
pub fn still_exists(response: &ReceivedResponse) -> Option<bool> {
    match response.status {
        200 => Some(!gone_although_found(response)),
        404 => Some(false),
        400..=599 if says_missing(&response.body) => Some(false),
        _ => None,
    }
}

/// The 200 answers that mean "gone": an empty `data` list (`/model/info` of an unknown id on some
/// versions), an empty list (`/budget/info`), and a key from LiteLLM 1.109's deleted-keys archive
/// (`/key/info` answers `info.status: "deleted"`).
fn gone_although_found(response: &ReceivedResponse) -> bool {
    let Some(json) = &response.json else { return false };
    let empty_list = |v: Option<&Value>| v.and_then(Value::as_array).is_some_and(Vec::is_empty);
    empty_list(json.get("data"))
        || empty_list(Some(json))
        || json.pointer("/info/status").and_then(Value::as_str) == Some("deleted")
}

/// Whether a delete answer means the object is already gone (deleted by the scenario itself). A 404
/// from a route the proxy does not have is not that.
pub fn already_gone(response: &ReceivedResponse) -> bool {
    !route_missing(response) && (response.status == 404 || (response.status >= 400 && says_missing(&response.body)))
}

/// FastAPI's (and the reference's) answer for a route that does not exist.
pub(crate) fn route_missing(response: &ReceivedResponse) -> bool {
    response.status == 404 && response.json.as_ref().is_some_and(|j| *j == json!({"detail": "Not Found"}))
}

fn says_missing(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    ["not found", "does not exist", "doesn't exist", "not exist"].iter().any(|m| lower.contains(m))
}

/// What one exchange created, read from a successful response to a creating route. Users a route may
/// create on the side (a member added, or a key's owner, by an id the proxy did not know) are counted
/// only when their id carries the scenario's `run_id`: an existing user named by a scenario must never
/// be deleted by its teardown.
pub fn created_by(request: &SentRequest, response: &ReceivedResponse, run_id: &str) -> Vec<Resource> {
    if !(200..300).contains(&response.status) || request.method != "POST" {
        return Vec::new();
    }
    let Some(body) = &response.json else { return Vec::new() };
    let path = path_of(&request.url);
    let from =
        |kind, field: &str| body.get(field).and_then(Value::as_str).map(|id| Resource { kind, id: id.to_string() });
    let mut created = Vec::new();
    match path.as_str() {
        "/organization/new" => {
            // LiteLLM makes each organization a budget of its own and leaves it behind when the
            // organization is deleted. Listed first, so teardown deletes it after the organization.
            created.extend(side_budget(request, body));
            created.extend(from(ResourceKind::Organization, "organization_id"));
        }
        "/customer/new" | "/end_user/new" => {
            created.extend(side_budget(request, body));
            created.extend(from(ResourceKind::Customer, "user_id"));
        }
        "/budget/new" => created.extend(from(ResourceKind::Budget, "budget_id")),
        "/tag/new" => created.extend(
            body.pointer("/tag/name")
                .and_then(Value::as_str)
                .map(|name| Resource { kind: ResourceKind::Tag, id: name.to_string() }),
        ),
        p if COMPLETION_ROUTES.contains(&p) => created.extend(end_user(request, run_id)),
        "/user/new" => {
            created.extend(from(ResourceKind::User, "user_id"));
            created.extend(from(ResourceKind::Key, "key"));
        }
        "/team/new" => created.extend(from(ResourceKind::Team, "team_id")),
        "/key/generate" => {
            created.extend(side_users(request, "user_id", run_id));
            created.extend(from(ResourceKind::Key, "key"));
        }
        "/key/regenerate" => created.extend(from(ResourceKind::Key, "key")),
        p if p.starts_with("/key/") && p.ends_with("/regenerate") => created.extend(from(ResourceKind::Key, "key")),
        "/v1/mcp/server" => created.extend(from(ResourceKind::McpServer, "server_id")),
        "/v1/access_group" | "/v1/unified_access_group" => {
            created.extend(from(ResourceKind::AccessGroup, "access_group_id"));
        }
        "/model/new" => created.extend(from(ResourceKind::Model, "model_id").or_else(|| {
            body.pointer("/model_info/id")
                .and_then(Value::as_str)
                .map(|id| Resource { kind: ResourceKind::Model, id: id.into() })
        })),
        "/team/member_add" | "/organization/member_add" => created.extend(side_users(request, "member", run_id)),
        // The answer does not name the credential; the request does.
        "/credentials" => created
            .extend(sent_field(request, "credential_name").map(|id| Resource { kind: ResourceKind::Credential, id })),
        "/guardrails" => created.extend(from(ResourceKind::Guardrail, "guardrail_id")),
        "/vector_store/new" => created.extend(
            body.pointer("/vector_store/vector_store_id")
                .and_then(Value::as_str)
                .map(|id| Resource { kind: ResourceKind::VectorStore, id: id.into() }),
        ),
        "/access_group/new" => created.extend(from(ResourceKind::ModelAccessGroup, "access_group")),
        _ => {}
    }
    created
}

/// Routes whose `user` field names an end user that LiteLLM's spend writer creates when it does not
/// exist yet.
const COMPLETION_ROUTES: [&str; 8] = [
    "/chat/completions",
    "/v1/chat/completions",
    "/completions",
    "/v1/completions",
    "/embeddings",
    "/v1/embeddings",
    "/responses",
    "/v1/responses",
];

/// The end user a completion names in `user`, when it carries `run_id` (an existing customer named by a
/// scenario must never be deleted by its teardown).
fn end_user(request: &SentRequest, run_id: &str) -> Option<Resource> {
    let Some(SentBody::Json(body)) = &request.body else { return None };
    let user = body.get("user").and_then(Value::as_str)?;
    (!run_id.is_empty() && user.contains(run_id)).then(|| Resource { kind: ResourceKind::Customer, id: user.into() })
}

/// A string field of the request's JSON body.
fn sent_field(request: &SentRequest, field: &str) -> Option<String> {
    let Some(SentBody::Json(body)) = &request.body else { return None };
    body.get(field).and_then(Value::as_str).map(str::to_string)
}

/// The budget a creating route made on the side: the answer's `budget_id` when the request did not name
/// one (a budget the request names exists already, and is not this object's to delete).
fn side_budget(request: &SentRequest, body: &Value) -> Option<Resource> {
    let named =
        matches!(&request.body, Some(SentBody::Json(sent)) if sent.get("budget_id").is_some_and(|b| !b.is_null()));
    if named {
        return None;
    }
    let id = body.get("budget_id").and_then(Value::as_str)?;
    Some(Resource { kind: ResourceKind::Budget, id: id.to_string() })
}

/// User ids named in the request body's `field` (a `user_id` string, or members with `user_id`) that
/// carry `run_id`.
fn side_users(request: &SentRequest, field: &str, run_id: &str) -> Vec<Resource> {
    let Some(SentBody::Json(body)) = &request.body else { return Vec::new() };
    let named: Vec<&Value> = match body.get(field) {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    named
        .into_iter()
        .filter_map(|v| v.as_str().or_else(|| v.get("user_id").and_then(Value::as_str)))
        .filter(|id| !run_id.is_empty() && id.contains(run_id))
        .map(|id| Resource { kind: ResourceKind::User, id: id.to_string() })
        .collect()
}

/// The path of a URL the runner sent to (without query), relative to the target's base URL path.
fn path_of(url: &str) -> String {
    reqwest::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_default()
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(method: &str, path: &str, body: Option<Value>) -> SentRequest {
        SentRequest {
            method: method.into(),
            url: format!("http://127.0.0.1:4000{path}"),
            credentials: "admin".into(),
            headers: vec![],
            body: body.map(SentBody::Json),
        }
    }

    fn answered(status: u16, body: Value) -> ReceivedResponse {
        ReceivedResponse { status, headers: vec![], body: body.to_string(), json: Some(body) }
    }

    fn ids(created: Vec<Resource>) -> Vec<(ResourceKind, String)> {
        created.into_iter().map(|r| (r.kind, r.id)).collect()
    }

    #[test]
    fn creating_routes_yield_what_they_created() {
        use ResourceKind::*;
        // Route, request body, response body, what it created.
        type Case = (&'static str, Option<Value>, Value, Vec<(ResourceKind, &'static str)>);
        let cases: Vec<Case> = vec![
            ("/team/new", None, json!({"team_id": "t1"}), vec![(Team, "t1")]),
            ("/user/new", None, json!({"user_id": "u1", "key": "sk-u1"}), vec![(User, "u1"), (Key, "sk-u1")]),
            ("/key/generate", None, json!({"key": "sk-k1", "token": "abc"}), vec![(Key, "sk-k1")]),
            ("/key/regenerate", None, json!({"key": "sk-k2"}), vec![(Key, "sk-k2")]),
            ("/key/sk-k1/regenerate", None, json!({"key": "sk-k3"}), vec![(Key, "sk-k3")]),
            ("/organization/new", None, json!({"organization_id": "o1"}), vec![(Organization, "o1")]),
            ("/v1/mcp/server", None, json!({"server_id": "m1"}), vec![(McpServer, "m1")]),
            ("/v1/access_group", None, json!({"access_group_id": "g1"}), vec![(AccessGroup, "g1")]),
            ("/model/new", None, json!({"model_id": "md1"}), vec![(Model, "md1")]),
            ("/model/new", None, json!({"model_info": {"id": "md2"}}), vec![(Model, "md2")]),
            (
                "/team/member_add",
                Some(
                    json!({"team_id": "t1", "member": [{"user_id": "a-r1"}, {"user_email": "x@y"}, {"user_id": "operator"}]}),
                ),
                json!({}),
                vec![(User, "a-r1")],
            ),
            ("/organization/member_add", Some(json!({"member": {"user_id": "c-r1"}})), json!({}), vec![(User, "c-r1")]),
            (
                "/key/generate",
                Some(json!({"user_id": "u-r1"})),
                json!({"key": "sk-k4"}),
                vec![(User, "u-r1"), (Key, "sk-k4")],
            ),
            ("/key/generate", Some(json!({"user_id": "operator"})), json!({"key": "sk-k5"}), vec![(Key, "sk-k5")]),
            (
                "/organization/new",
                None,
                json!({"organization_id": "o2", "budget_id": "b-o2"}),
                vec![(Budget, "b-o2"), (Organization, "o2")],
            ),
            ("/customer/new", None, json!({"user_id": "c1", "budget_id": null}), vec![(Customer, "c1")]),
            (
                "/end_user/new",
                None,
                json!({"user_id": "c2", "budget_id": "b-c2"}),
                vec![(Budget, "b-c2"), (Customer, "c2")],
            ),
            (
                "/customer/new",
                Some(json!({"user_id": "c3", "budget_id": "shared"})),
                json!({"user_id": "c3", "budget_id": "shared"}),
                vec![(Customer, "c3")],
            ),
            ("/budget/new", None, json!({"budget_id": "b1", "max_budget": 1.0}), vec![(Budget, "b1")]),
            (
                "/tag/new",
                None,
                json!({"message": "Tag t created successfully", "tag": {"name": "t"}}),
                vec![(Tag, "t")],
            ),
            (
                "/v1/chat/completions",
                Some(json!({"model": "m", "user": "eu-r1"})),
                json!({}),
                vec![(Customer, "eu-r1")],
            ),
            ("/chat/completions", Some(json!({"model": "m", "user": "operator"})), json!({}), vec![]),
            (
                "/credentials",
                Some(json!({"credential_name": "cr1", "credential_values": {}})),
                json!({"success": true, "message": "Credential created successfully"}),
                vec![(Credential, "cr1")],
            ),
            ("/guardrails", None, json!({"guardrail_id": "gr1", "guardrail_name": "g"}), vec![(Guardrail, "gr1")]),
            (
                "/vector_store/new",
                None,
                json!({"status": "success", "vector_store": {"vector_store_id": "vs1"}}),
                vec![(VectorStore, "vs1")],
            ),
            (
                "/access_group/new",
                None,
                json!({"access_group": "mag1", "model_names": ["m"], "models_updated": 1}),
                vec![(ModelAccessGroup, "mag1")],
            ),
            ("/team/update", None, json!({"team_id": "t1"}), vec![]),
            ("/team/new", None, json!({"detail": "no id here"}), vec![]),
        ];
        for (path, body, response, expected) in cases {
            let got = ids(created_by(&sent("POST", path, body), &answered(200, response), "r1"));
            let expected: Vec<(ResourceKind, String)> =
                expected.into_iter().map(|(k, id)| (k, id.to_string())).collect();
            assert_eq!(got, expected, "{path}");
        }
    }

    #[test]
    fn failed_or_reading_requests_create_nothing() {
        assert!(
            created_by(&sent("POST", "/team/new", None), &answered(403, json!({"team_id": "t1"})), "r1").is_empty()
        );
        assert!(created_by(&sent("GET", "/team/new", None), &answered(200, json!({"team_id": "t1"})), "r1").is_empty());
    }

    #[test]
    fn info_answers_say_whether_the_object_is_still_there() {
        let text = |status, body: &str| ReceivedResponse {
            status,
            headers: vec![],
            body: body.into(),
            json: serde_json::from_str(body).ok(),
        };
        assert_eq!(still_exists(&text(200, r#"{"team_id": "t"}"#)), Some(true));
        assert_eq!(still_exists(&text(200, r#"{"data": []}"#)), Some(false));
        assert_eq!(still_exists(&text(404, "{}")), Some(false));
        assert_eq!(still_exists(&text(400, r#"{"error": {"message": "Team t not found"}}"#)), Some(false));
        assert_eq!(still_exists(&text(500, r#"{"error": {"message": "boom"}}"#)), None);
        // LiteLLM 1.109's `/key/info` of a deleted key reads it from the deleted-keys archive.
        assert_eq!(still_exists(&text(200, r#"{"key": "sk-1", "info": {"status": "deleted"}}"#)), Some(false));
        assert_eq!(still_exists(&text(200, r#"{"key": "sk-1", "info": {"status": "active"}}"#)), Some(true));
        assert_eq!(still_exists(&text(200, "[]")), Some(false), "`/budget/info` of a deleted budget");
        assert_eq!(still_exists(&text(200, r#"[{"budget_id": "b"}]"#)), Some(true));
        assert_eq!(still_exists(&text(500, r#"{"detail": "404: Tags not found: ['t']"}"#)), Some(false));
        assert_eq!(
            still_exists(&text(500, r#"{"detail": "404: Vector store with ID vs1 not found"}"#)),
            Some(false),
            "`/vector_store/info` of a deleted store"
        );
        assert_eq!(still_exists(&text(404, r#"{"detail": {"error": "Access group 'g' not found"}}"#)), Some(false));
        assert!(already_gone(&text(404, "{}")));
        assert!(!already_gone(&text(404, r#"{"detail": "Not Found"}"#)), "a missing route is no proof");
        assert!(already_gone(&text(400, "Key doesn't exist")));
        assert!(!already_gone(&text(401, "Authentication Error")));
    }

    #[test]
    fn keys_show_only_their_last_characters() {
        let key = Resource { kind: ResourceKind::Key, id: "sk-secret-1234".into() };
        assert_eq!(key.label(), "key sk-…1234");
        assert_eq!(Resource { kind: ResourceKind::Team, id: "t1".into() }.label(), "team t1");
        assert_eq!(
            Resource { kind: ResourceKind::McpServer, id: "a/b c".into() }.delete_request().1,
            "/v1/mcp/server/a%2Fb%20c"
        );
    }
}
