//! Hostile input to the reference proxy's handlers, over real HTTP on a real Postgres: durations that
//! used to panic the handler, NUL characters and over-long ids that used to surface as a 500
//! labelled `no_db_connection`, and concurrent creates with one client-chosen id, of which exactly one
//! may succeed.

use std::sync::Arc;

use gateproof::postgres::ScenarioDatabase;
use gateproof::reference::{self, MIGRATOR, ProxyConfig, RunningProxy};
use serde_json::{Value, json};
use tokio::sync::Barrier;

#[path = "support/shared_postgres.rs"]
mod shared_postgres;
use shared_postgres::server;

const MASTER: &str = "sk-hostile-test-master";

/// A proxy on a fresh database of its own.
struct Proxy {
    db: ScenarioDatabase,
    proxy: RunningProxy,
    client: reqwest::Client,
}

impl Proxy {
    async fn start() -> Proxy {
        let db = server().await.scenario_database(&MIGRATOR).await.expect("a scenario database");
        let proxy =
            reference::start(ProxyConfig::new(MASTER, db.url.clone())).await.expect("the reference proxy starts");
        Proxy { db, proxy, client: reqwest::Client::new() }
    }

    async fn stop(self) {
        self.proxy.shutdown().await;
        let _ = server().await.drop_database(&self.db).await;
    }

    /// The status and JSON body; a dropped connection fails the test here.
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.proxy.base_url)).bearer_auth(MASTER);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(&body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
}

fn message(body: &Value) -> String {
    body["error"]["message"].as_str().or_else(|| body["detail"]["error"].as_str()).unwrap_or_default().to_string()
}

const HOSTILE_DURATIONS: [(&str, &str); 4] = [
    ("1é", "Unsupported duration unit, passed duration: 1é"),
    ("😀", "Invalid duration format"),
    ("9223372036854775807s", "date value out of range"),
    ("100000000d", "date value out of range"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_durations_are_a_400_on_every_route_that_takes_one() {
    let p = Proxy::start().await;
    let (status, created) = p.post("/key/generate", json!({})).await;
    assert_eq!(status, 200, "{created}");
    let key = created["key"].as_str().expect("a key").to_string();
    for (d, expected) in HOSTILE_DURATIONS {
        // LiteLLM 1.109's words on /key/update, where it answers 400 too.
        let expected = expected.to_string();
        for (path, body) in [
            ("/key/generate", json!({"duration": d})),
            ("/key/update", json!({"key": key, "duration": d})),
            ("/user/new", json!({"duration": d})),
            ("/key/regenerate", json!({"key": key, "duration": d})),
            ("/key/generate", json!({"auto_rotate": true, "rotation_interval": d})),
        ] {
            let (status, body) = p.post(path, body).await;
            assert_eq!((status, message(&body)), (400, expected.clone()), "{path} {d:?}: {body}");
        }
        let budget =
            format!("{{'error': \"Invalid budget_duration '{d}'. Use a format like '1h', '24h', '7d', or '30d'.\"}}");
        for (path, body) in [
            ("/key/generate", json!({"budget_duration": d})),
            ("/key/update", json!({"key": key, "budget_duration": d})),
            ("/team/new", json!({"budget_duration": d})),
            ("/user/new", json!({"budget_duration": d, "auto_create_key": false})),
        ] {
            let (status, body) = p.post(path, body).await;
            assert_eq!((status, message(&body)), (400, budget.clone()), "{path} {d:?}: {body}");
        }
    }
    // A taken alias for the new user's key is refused before the user is written.
    let (status, body) = p.post("/key/generate", json!({"key_alias": "taken"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = p.post("/user/new", json!({"user_id": "would-be", "key_alias": "taken"})).await;
    assert_eq!((status, body["error"]["param"].clone()), (400, json!("key_alias")), "{body}");
    let (status, body) = p.get("/user/info?user_id=would-be").await;
    assert_eq!(status, 404, "{body}");
    // On an update, "" keeps the expiry and null or "-1" removes it, as in LiteLLM.
    let (status, body) = p.post("/key/update", json!({"key": key, "duration": "1h"})).await;
    assert_eq!(status, 200, "{body}");
    // To the second: the answer to a write shows nanoseconds, the stored row microseconds.
    let seconds = |v: &Value| v.as_str().map(|t| t.chars().take(19).collect::<String>());
    let expires = seconds(&body["expires"]);
    assert!(expires.is_some(), "{body}");
    let (status, body) = p.post("/key/update", json!({"key": key, "duration": ""})).await;
    assert_eq!((status, seconds(&body["expires"])), (200, expires), "{body}");
    let (status, body) = p.post("/key/update", json!({"key": key, "duration": null})).await;
    assert_eq!((status, body["expires"].clone()), (200, Value::Null), "{body}");
    // The proxy still serves: nothing above took it down.
    let (status, body) = p.post("/key/generate", json!({"duration": "1mo", "budget_duration": "30d"})).await;
    assert_eq!((status, body["budget_duration"].clone()), (200, json!("30d")), "{body}");
    assert!(body["expires"].is_string(), "{body}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_a_400_in_a_write_and_a_404_in_a_lookup() {
    let p = Proxy::start().await;
    let nul_message = "Invalid request: text cannot contain the NUL character (\\u0000)";
    // LiteLLM 1.109's own rule for key aliases answers first.
    let (status, created) = p.post("/key/generate", json!({})).await;
    assert_eq!(status, 200, "{created}");
    for (path, body) in [
        ("/key/generate", json!({"key_alias": "a\u{0}b"})),
        ("/key/update", json!({"key": created["key"], "key_alias": "a\u{0}b"})),
    ] {
        let (status, body) = p.post(path, body).await;
        assert_eq!(
            (status, body["error"]["type"].clone(), body["error"]["param"].clone(), message(&body)),
            (
                400,
                json!("bad_request_error"),
                json!("key_alias"),
                "Invalid key_alias: must not contain control characters (such as tab or newline) or a \"..\" path segment"
                    .to_string()
            ),
            "{path}: {body}"
        );
    }
    for (path, body) in [
        ("/user/new", json!({"key_alias": "a\u{0}b"})),
        ("/team/new", json!({"team_id": "a\u{0}b"})),
        ("/team/new", json!({"team_alias": "t", "metadata": {"note": "a\u{0}b"}})),
        ("/user/new", json!({"user_id": "a\u{0}b", "auto_create_key": false})),
        ("/organization/new", json!({"organization_alias": "a\u{0}b"})),
    ] {
        let (status, body) = p.post(path, body.clone()).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{path}: {body}");
        assert_eq!(message(&body), nul_message, "{path}: {body}");
    }
    let (status, body) = p.get("/team/info?team_id=%00").await;
    assert_eq!(status, 404, "{body}");
    // As Python's repr shows the NUL character.
    assert_eq!(message(&body), "{'message': 'Team not found, passed team id: \\x00.'}", "{body}");
    let (status, body) = p.post("/key/%00/regenerate", json!({})).await;
    assert_eq!((status, message(&body)), (404, "{'error': 'Key \\x00 not found.'}".to_string()), "{body}");
    let (status, body) = p.get("/key/info?key=%00").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = p.get("/user/info?user_id=%00").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = p.get("/organization/info?organization_id=%00").await;
    assert_eq!(status, 404, "{body}");
    for path in ["/v1/mcp/server/%00", "/v1/access_group/%00"] {
        let (status, body) = p.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, body) = p.get("/model/info?litellm_model_id=%00").await;
    assert_eq!((status, body), (200, json!({"data": []})));
    let (status, body) = p.post("/team/update", json!({"team_id": "\u{0}"})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = p.post("/key/delete", json!({"keys": ["\u{0}"]})).await;
    assert_eq!(status, 404, "{body}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_too_long_for_its_index_is_a_400() {
    let p = Proxy::start().await;
    // Random text, so compression cannot bring it under the index's row limit.
    let long: String =
        (0..3_200).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect::<String>()[..100_000].into();
    let (status, body) = p.post("/team/new", json!({"team_id": long})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert!(message(&body).starts_with("Invalid request: a value is too long to store"), "{body}");
    // The alias index holds a digest, so uniqueness sets no length limit of its own.
    let (status, body) = p.post("/key/generate", json!({"key_alias": long})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = p.post("/key/generate", json!({"key_alias": long})).await;
    assert_eq!((status, body["error"]["param"].clone()), (400, json!("key_alias")), "{body}");
    p.stop().await;
}

/// What a second create with the same id answers, in LiteLLM's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_create_with_the_same_id_gets_litellms_duplicate_answer() {
    let p = Proxy::start().await;
    for case in duplicate_cases("seq") {
        let (status, body) = p.post(case.path, case.body.clone()).await;
        assert!((200..300).contains(&status), "{}: {body}", case.path);
        let (status, body) = p.post(case.path, case.again.clone()).await;
        assert_eq!((status, message(&body)), (case.status, case.message.clone()), "{}: {body}", case.path);
    }
    p.stop().await;
}

struct DuplicateCase {
    path: &'static str,
    body: Value,
    /// A second request the first makes a duplicate.
    again: Value,
    status: u16,
    message: String,
}

fn duplicate_cases(tag: &str) -> Vec<DuplicateCase> {
    let same = |path, body: Value, status, message: String| DuplicateCase {
        path,
        body: body.clone(),
        again: body,
        status,
        message,
    };
    let id = format!("dup-{tag}");
    vec![
        same(
            "/team/new",
            json!({"team_id": id}),
            400,
            format!("{{'error': 'Team id = {id} already exists. Please use a different team id.'}}"),
        ),
        same(
            "/user/new",
            json!({"user_id": id, "auto_create_key": false}),
            409,
            format!("{{'error': 'User with id {id} already exists'}}"),
        ),
        DuplicateCase {
            path: "/user/new",
            body: json!({"user_id": format!("{id}-a"), "user_email": format!("{id}@example.com"), "auto_create_key": false}),
            again: json!({"user_id": format!("{id}-b"), "user_email": format!("{id}@example.com"), "auto_create_key": false}),
            status: 409,
            message: format!("{{'error': 'User with email {id}@example.com already exists'}}"),
        },
        same(
            "/key/generate",
            json!({"key_alias": id}),
            400,
            format!("Key with alias '{id}' already exists. Unique key aliases across all keys are required."),
        ),
        same(
            "/key/generate",
            json!({"key": format!("sk-{id}-0123456789abcdef")}),
            400,
            "{'error': 'Unable to create key: a key with this value already exists.'}".to_string(),
        ),
        same(
            "/organization/new",
            json!({"organization_id": id, "organization_alias": id}),
            400,
            format!("Organization id = {id} already exists."),
        ),
        same(
            "/model/new",
            json!({"model_name": id, "litellm_params": {"model": "openai/gpt-4o"}, "model_info": {"id": id}}),
            400,
            format!("{{'error': 'Model with id={id} already exists'}}"),
        ),
        same(
            "/v1/mcp/server",
            json!({"server_id": id, "url": "http://127.0.0.1:9/mcp", "transport": "http"}),
            400,
            format!("MCP Server with id {id} already exists. Cannot create another."),
        ),
    ]
}

/// `n` copies of one request at once: the statuses and bodies.
async fn at_once(p: &Arc<Proxy>, n: usize, path: &'static str, body: &Value) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (p, barrier, body) = (Arc::clone(p), Arc::clone(&barrier), body.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            p.post(path, body).await
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("a request task finishes"));
    }
    out
}

/// Eight concurrent creates with one client-chosen id, several rounds: each round exactly one
/// succeeds and every other gets the duplicate answer a sequential second create gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_creates_with_one_id_exactly_one_succeeds() {
    let p = Arc::new(Proxy::start().await);
    for round in 0..4 {
        // The email case races below, with a user_id of its own per request.
        for case in duplicate_cases(&format!("race{round}")).into_iter().filter(|c| c.body == c.again) {
            let outcomes = at_once(&p, 8, case.path, &case.body).await;
            let won: Vec<_> = outcomes.iter().filter(|(s, _)| (200..300).contains(s)).collect();
            assert_eq!(won.len(), 1, "round {round} {} {}: {outcomes:#?}", case.path, case.body);
            for (status, body) in outcomes.iter().filter(|(s, _)| !(200..300).contains(s)) {
                assert_eq!(
                    (*status, message(body)),
                    (case.status, case.message.clone()),
                    "round {round} {}: {body}",
                    case.path
                );
            }
        }
        // One email, a different user_id each: exactly one user gets it.
        let email = format!("race{round}@example.com");
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (p, barrier, email) = (Arc::clone(&p), Arc::clone(&barrier), email.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                p.post(
                    "/user/new",
                    json!({"user_id": format!("race{round}-{i}"), "user_email": email, "auto_create_key": false}),
                )
                .await
            }));
        }
        let mut won = 0;
        for task in tasks {
            let (status, body) = task.await.expect("a request task finishes");
            if status == 200 {
                won += 1;
            } else {
                assert_eq!(
                    (status, message(&body)),
                    (409, format!("{{'error': 'User with email {email} already exists'}}")),
                    "{body}"
                );
            }
        }
        assert_eq!(won, 1, "round {round}: users created with one email");
    }
    // One team_id, a different alias each: the row stored is the winner's, so no loser overwrote it.
    for round in 0..4 {
        let team_id = format!("alias-race{round}");
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (p, barrier, team_id) = (Arc::clone(&p), Arc::clone(&barrier), team_id.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let alias = format!("racer-{i}");
                (alias.clone(), p.post("/team/new", json!({"team_id": team_id, "team_alias": alias})).await)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (alias, (status, body)) = task.await.expect("a request task finishes");
            if (200..300).contains(&status) {
                assert_eq!(body["team_alias"], json!(alias), "the winner's own answer: {body}");
                winners.push(alias);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let (status, body) = p.get(&format!("/team/info?team_id={team_id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["team_info"]["team_alias"], json!(winners[0]), "round {round}: {body}");
    }
    match Arc::try_unwrap(p) {
        Ok(p) => p.stop().await,
        Err(_) => panic!("a request task still holds the proxy"),
    }
}

/// Concurrent access groups with one name: one is created, the rest get the 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_access_groups_with_one_name_exactly_one_is_created() {
    let p = Arc::new(Proxy::start().await);
    for round in 0..4 {
        let name = format!("group-{round}");
        let outcomes = at_once(&p, 8, "/v1/access_group", &json!({"access_group_name": name})).await;
        let won = outcomes.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(won, 1, "round {round}: {outcomes:#?}");
        for (status, body) in outcomes.iter().filter(|(s, _)| *s != 201) {
            assert_eq!(
                (*status, body["detail"].clone()),
                (409, json!(format!("Access group '{name}' already exists")))
            );
        }
    }
    match Arc::try_unwrap(p) {
        Ok(p) => p.stop().await,
        Err(_) => panic!("a request task still holds the proxy"),
    }
}

/// Concurrent MCP servers with one name and ids of their own: one is registered, the rest are told
/// the name is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_mcp_servers_with_one_name_exactly_one_is_registered() {
    let p = Arc::new(Proxy::start().await);
    for round in 0..4 {
        let name = format!("shared_{round}");
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (p, barrier, name) = (Arc::clone(&p), Arc::clone(&barrier), name.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let body = json!({"server_id": format!("s{round}x{i}"), "server_name": name, "url": "http://127.0.0.1:9/mcp", "transport": "http"});
                p.post("/v1/mcp/server", body).await
            }));
        }
        let mut won = 0;
        for task in tasks {
            let (status, body) = task.await.expect("a request task finishes");
            if status == 201 {
                won += 1;
            } else {
                assert_eq!(status, 400, "{body}");
                let message = body["detail"]["error"].as_str().unwrap_or_default();
                assert!(
                    message.starts_with(&format!("An MCP server with server_name '{name}' already exists")),
                    "{body}"
                );
            }
        }
        assert_eq!(won, 1, "round {round}: servers registered with one name");
    }
    match Arc::try_unwrap(p) {
        Ok(p) => p.stop().await,
        Err(_) => panic!("a request task still holds the proxy"),
    }
}

/// Concurrent updates giving eight keys one alias: one key gets it, the others are told it is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_updates_to_one_alias_exactly_one_key_gets_it() {
    let p = Arc::new(Proxy::start().await);
    for round in 0..4 {
        let mut keys = Vec::new();
        for _ in 0..8 {
            let (status, body) = p.post("/key/generate", json!({})).await;
            assert_eq!(status, 200, "{body}");
            keys.push(body["key"].as_str().expect("a key").to_string());
        }
        let alias = format!("shared-{round}");
        let barrier = Arc::new(Barrier::new(keys.len()));
        let mut tasks = Vec::new();
        for key in keys {
            let (p, barrier, alias) = (Arc::clone(&p), Arc::clone(&barrier), alias.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                p.post("/key/update", json!({"key": key, "key_alias": alias})).await
            }));
        }
        let mut won = 0;
        for task in tasks {
            let (status, body) = task.await.expect("a request task finishes");
            if status == 200 {
                won += 1;
            } else {
                assert_eq!(
                    (status, message(&body)),
                    (
                        400,
                        format!(
                            "Key with alias '{alias}' already exists. Unique key aliases across all keys are required."
                        )
                    ),
                    "{body}"
                );
            }
        }
        assert_eq!(won, 1, "round {round}: keys updated to one alias");
    }
    match Arc::try_unwrap(p) {
        Ok(p) => p.stop().await,
        Err(_) => panic!("a request task still holds the proxy"),
    }
}

/// A create refused at its insert (here: losing a race) takes back the permission row it wrote first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_leaves_no_permission_row_behind() {
    let p = Arc::new(Proxy::start().await);
    let permission = json!({"mcp_servers": ["s1"]});
    for round in 0..4 {
        let team = json!({"team_id": format!("perm-{round}"), "object_permission": permission});
        let key = json!({"key_alias": format!("perm-{round}"), "object_permission": permission});
        for (path, body) in [("/team/new", team), ("/key/generate", key)] {
            let outcomes = at_once(&p, 8, path, &body).await;
            assert_eq!(outcomes.iter().filter(|(s, _)| *s == 200).count(), 1, "{path}: {outcomes:#?}");
        }
    }
    let db = sqlx::PgPool::connect(&p.db.url).await.expect("the test database accepts a connection");
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM object_permissions").fetch_one(&db).await.expect("a count");
    db.close().await;
    // One row per team and per key that was created.
    assert_eq!(rows, 8);
    match Arc::try_unwrap(p) {
        Ok(p) => p.stop().await,
        Err(_) => panic!("a request task still holds the proxy"),
    }
}
