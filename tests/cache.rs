//! The reference proxy's cache invalidation under concurrency and across replicas, over real HTTP on a
//! real Postgres: after a write's response, no request started later may see the old object, on the
//! replica that served the write or on any other.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gateproof::postgres::ScenarioDatabase;
use gateproof::reference::{self, MIGRATOR, ProxyConfig, Quirk, Quirks, RunningProxy};
use serde_json::{Value, json};

#[path = "support/shared_postgres.rs"]
mod shared_postgres;
use shared_postgres::server;

const MASTER: &str = "sk-cache-test-master";

async fn database() -> ScenarioDatabase {
    server().await.scenario_database(&MIGRATOR).await.expect("a scenario database")
}

/// A proxy on `db` with a long TTL, so only invalidation (never expiry) can refresh its cache.
async fn proxy(db: &ScenarioDatabase, quirks: Quirks) -> RunningProxy {
    let config =
        ProxyConfig { cache_ttl: Duration::from_secs(300), quirks, ..ProxyConfig::new(MASTER, db.url.clone()) };
    reference::start(config).await.expect("the reference proxy starts")
}

async fn post(client: &reqwest::Client, base: &str, path: &str, bearer: &str, body: Value) -> (u16, Value) {
    let response =
        client.post(format!("{base}{path}")).bearer_auth(bearer).json(&body).send().await.expect("the proxy answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(client: &reqwest::Client, base: &str, path: &str, bearer: &str) -> (u16, Value) {
    let response = client.get(format!("{base}{path}")).bearer_auth(bearer).send().await.expect("the proxy answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn new_key(client: &reqwest::Client, base: &str, body: Value) -> String {
    let (status, body) = post(client, base, "/key/generate", MASTER, body).await;
    assert_eq!(status, 200, "{body}");
    body["key"].as_str().expect("a key").to_string()
}

/// Writes on replica 0 and reads at once on replica 1, for several keys; returns how many reads saw
/// the write.
async fn blocked_keys_seen_on_the_other_replica(quirks: Quirks) -> usize {
    let db = database().await;
    let (r0, r1) = (proxy(&db, quirks).await, proxy(&db, quirks).await);
    let client = reqwest::Client::new();
    let mut seen = 0;
    for _ in 0..5 {
        let key = new_key(&client, &r0.base_url, json!({})).await;
        // Using the key on replica 1 caches it there.
        let (status, body) = get(&client, &r1.base_url, "/key/info", &key).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) =
            post(&client, &r0.base_url, "/key/update", MASTER, json!({"key": key, "blocked": true})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = get(&client, &r1.base_url, "/key/info", &key).await;
        if status == 401 {
            assert!(body["error"]["message"].as_str().unwrap_or_default().contains("Key is blocked"), "{body}");
            seen += 1;
        }
    }
    r0.shutdown().await;
    r1.shutdown().await;
    let _ = server().await.drop_database(&db).await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_blocked_on_one_replica_is_refused_at_once_on_the_other() {
    assert_eq!(blocked_keys_seen_on_the_other_replica(Quirks::NONE).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cross_replica_invalidation_the_other_replica_keeps_the_old_key() {
    let quirks = Quirks::NONE.with(Quirk::NoCrossReplicaInvalidation);
    assert_eq!(blocked_keys_seen_on_the_other_replica(quirks).await, 0);
}

/// One request's start time and whether it saw the state after the write.
struct Observation {
    started: Instant,
    sees_update: bool,
}

/// Runs `workers` loops of `request` until stopped, while `write` runs once; returns the time the
/// write's response arrived and every observation.
async fn race<R, RF, W, WF>(workers: usize, request: R, write: W) -> (Instant, Vec<Observation>)
where
    R: Fn() -> RF + Send + Sync + 'static,
    RF: std::future::Future<Output = bool> + Send,
    W: FnOnce() -> WF,
    WF: std::future::Future<Output = ()>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let request = Arc::new(request);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (stop, request) = (Arc::clone(&stop), Arc::clone(&request));
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                seen.push(Observation { started, sees_update: request().await });
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    write().await;
    let written = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("a worker finishes"));
    }
    (written, all)
}

fn assert_nothing_stale_after(written: Instant, observations: &[Observation]) {
    let later: Vec<&Observation> = observations.iter().filter(|o| o.started > written).collect();
    assert!(!later.is_empty(), "no request started after the write: the race proves nothing");
    assert!(observations.iter().any(|o| o.started < written), "no request ran before the write");
    let stale = later.iter().filter(|o| !o.sees_update).count();
    assert_eq!(stale, 0, "{stale} of {} requests started after the write saw the old object", later.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_generation_started_after_a_team_update_sees_the_old_access_groups() {
    let db = database().await;
    let p = proxy(&db, Quirks::NONE).await;
    let client = reqwest::Client::new();
    let base = p.base_url.clone();
    let (status, team) =
        post(&client, &base, "/team/new", MASTER, json!({"object_permission": {"mcp_access_groups": ["G1"]}})).await;
    assert_eq!(status, 200, "{team}");
    let team_id = team["team_id"].as_str().expect("a team id").to_string();
    let request = {
        let (client, base, team_id) = (client.clone(), base.clone(), team_id.clone());
        move || {
            let (client, base, team_id) = (client.clone(), base.clone(), team_id.clone());
            async move {
                let body = json!({"team_id": team_id, "object_permission": {"mcp_access_groups": ["G2"]}});
                let (status, _) = post(&client, &base, "/key/generate", MASTER, body).await;
                status == 200
            }
        }
    };
    let (written, observations) = race(6, request, || async {
        let body = json!({"team_id": team_id, "object_permission": {"mcp_access_groups": ["G1", "G2"]}});
        let (status, body) = post(&client, &base, "/team/update", MASTER, body).await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
    assert!(observations.iter().any(|o| !o.sees_update), "no request ran against the old grants");
    assert_nothing_stale_after(written, &observations);
    p.shutdown().await;
    let _ = server().await.drop_database(&db).await;
}

/// Many requests authenticate with a key (each reads it through the cache, refilling it on a miss)
/// while the key is blocked: a refill that read the row before the write must not outlive the
/// write's eviction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_started_after_a_key_update_authenticates_with_the_old_key() {
    let db = database().await;
    let p = proxy(&db, Quirks::NONE).await;
    let client = reqwest::Client::new();
    let base = p.base_url.clone();
    let key = new_key(&client, &base, json!({})).await;
    let request = {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        move || {
            let (client, base, key) = (client.clone(), base.clone(), key.clone());
            async move { get(&client, &base, "/key/info", &key).await.0 == 401 }
        }
    };
    let (written, observations) = race(6, request, || async {
        let (status, body) = post(&client, &base, "/key/update", MASTER, json!({"key": key, "blocked": true})).await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
    assert_nothing_stale_after(written, &observations);
    p.shutdown().await;
    let _ = server().await.drop_database(&db).await;
}

async fn proxy_with_ttl(db: &ScenarioDatabase, quirks: Quirks, ttl: Duration) -> RunningProxy {
    let config = ProxyConfig { cache_ttl: ttl, quirks, ..ProxyConfig::new(MASTER, db.url.clone()) };
    reference::start(config).await.expect("the reference proxy starts")
}

/// Creates a team granted G1, caches its permission with a key for G1, grants G2; returns the team
/// id and when the permission was cached.
async fn team_granted_g2_after_caching_g1(client: &reqwest::Client, base: &str) -> (String, Instant) {
    let (status, team) =
        post(client, base, "/team/new", MASTER, json!({"object_permission": {"mcp_access_groups": ["G1"]}})).await;
    assert_eq!(status, 200, "{team}");
    let team_id = team["team_id"].as_str().expect("a team id").to_string();
    let cached = Instant::now();
    new_key(client, base, json!({"team_id": team_id, "object_permission": {"mcp_access_groups": ["G1"]}})).await;
    let body = json!({"team_id": team_id, "object_permission": {"mcp_access_groups": ["G1", "G2"]}});
    let (status, body) = post(client, base, "/team/update", MASTER, body).await;
    assert_eq!(status, 200, "{body}");
    (team_id, cached)
}

async fn key_for_g2(client: &reqwest::Client, base: &str, team_id: &str) -> (u16, Value) {
    post(
        client,
        base,
        "/key/generate",
        MASTER,
        json!({"team_id": team_id, "object_permission": {"mcp_access_groups": ["G2"]}}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stale_team_cache_polling_succeeds_once_the_ttl_passes() {
    let ttl = Duration::from_secs(2);
    let db = database().await;
    let p = proxy_with_ttl(&db, Quirks::NONE.with(Quirk::StaleTeamCache), ttl).await;
    let client = reqwest::Client::new();
    let (team_id, cached) = team_granted_g2_after_caching_g1(&client, &p.base_url).await;
    let (status, body) = key_for_g2(&client, &p.base_url, &team_id).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("Team allows: ['G1']"), "{body}");
    let accepted = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, body) = key_for_g2(&client, &p.base_url, &team_id).await;
        if status == 200 {
            break cached.elapsed();
        }
        assert_eq!(status, 403, "{body}");
        assert!(cached.elapsed() < ttl * 3, "still refused long after the TTL: {body}");
    };
    assert!(accepted >= ttl - Duration::from_millis(200), "accepted after {accepted:?}, before the TTL passed");
    p.shutdown().await;
    let _ = server().await.drop_database(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ttl_zero_stale_team_cache_cannot_show() {
    let db = database().await;
    let p = proxy_with_ttl(&db, Quirks::NONE.with(Quirk::StaleTeamCache), Duration::ZERO).await;
    let client = reqwest::Client::new();
    let (team_id, _) = team_granted_g2_after_caching_g1(&client, &p.base_url).await;
    let (status, body) = key_for_g2(&client, &p.base_url, &team_id).await;
    assert_eq!(status, 200, "{body}");
    p.shutdown().await;
    let _ = server().await.drop_database(&db).await;
}

/// An OpenAI-compatible upstream answering every completion with 10 prompt and 20 completion tokens.
async fn llm_upstream() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-mock",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stale_key_write_back_traffic_inside_the_ttl_never_meets_the_budget() {
    let ttl = Duration::from_secs(1);
    let db = database().await;
    let p = proxy_with_ttl(&db, Quirks::NONE.with(Quirk::StaleKeyWriteBack), ttl).await;
    let upstream = llm_upstream().await;
    let client = reqwest::Client::new();
    let base = p.base_url.clone();
    let model = json!({
        "model_name": "gpt-a",
        "litellm_params": {"model": "openai/gpt-mock", "api_base": format!("{}/v1", upstream.uri()),
                           "input_cost_per_token": 0.001, "output_cost_per_token": 0.002}
    });
    let (status, body) = post(&client, &base, "/model/new", MASTER, model).await;
    assert_eq!(status, 200, "{body}");
    let key = new_key(&client, &base, json!({})).await;
    let chat = || {
        post(
            &client,
            &base,
            "/chat/completions",
            &key,
            json!({"model": "gpt-a", "messages": [{"role": "user", "content": "hi"}]}),
        )
    };
    let (status, body) = chat().await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&client, &base, "/key/update", MASTER, json!({"key": key, "max_budget": 0.01})).await;
    assert_eq!(status, 200, "{body}");
    // Requests spaced inside the TTL: each writes the stale key back with a fresh TTL.
    for _ in 0..4 {
        let (status, body) = chat().await;
        assert_eq!(status, 200, "the stale key (no budget) should still serve: {body}");
        tokio::time::sleep(ttl / 2).await;
    }
    // A pause longer than the TTL lets the stale key expire; the budget then holds.
    tokio::time::sleep(ttl + ttl / 2).await;
    let (status, body) = chat().await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap_or_default().starts_with("Budget has been exceeded! Key=key (sk-..."),
        "{body}"
    );
    p.shutdown().await;
    let _ = server().await.drop_database(&db).await;
}

/// Explore reuses a proxy across sequences on a database it empties: after `forget`, what the proxy
/// cached before must not answer for what the database now says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgetting_proxy_no_longer_serves_what_it_cached() {
    let db = database().await;
    let proxy = proxy(&db, Quirks::NONE).await;
    let client = reqwest::Client::new();
    let key = new_key(&client, &proxy.base_url, json!({})).await;
    let (status, body) = get(&client, &proxy.base_url, "/key/info", &key).await;
    assert_eq!(status, 200, "{body}");
    // Behind the proxy's back, so no eviction happens: only the cache answers now.
    let admin = sqlx::PgPool::connect(&db.url).await.expect("the database answers");
    sqlx::query("UPDATE verification_tokens SET blocked = true").execute(&admin).await.expect("the update runs");
    let (status, body) = get(&client, &proxy.base_url, "/key/info", &key).await;
    assert_eq!(status, 200, "the cached key still answers before forgetting: {body}");
    proxy.forget();
    let (status, body) = get(&client, &proxy.base_url, "/key/info", &key).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("blocked"), "{body}");
    admin.close().await;
    proxy.shutdown().await;
    let _ = server().await.drop_database(&db).await;
}
