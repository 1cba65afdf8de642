//! Hostile input to the reference proxy over real HTTP on a real Postgres: the inputs that broke it
//! once (issue 16) as fixed cases, and a bounded property-based run over its request decoding (JSON
//! bodies, query strings, path ids, headers, framing). The rule for every answer: no dropped
//! connection, no 5xx, and a 4xx in LiteLLM's error shape. The long run is
//! `cargo run --release --example hostile_load -- malformed N` (see the README).

#[path = "support/hostile_requests.rs"]
mod hostile_requests;

use std::net::SocketAddr;

use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::{self, MIGRATOR, ProxyConfig, RunningProxy};
use hostile_requests::{Outcome, Request, judge, regressions, send};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

const MASTER: &str = "sk-hostile-test-master";

/// Cases of the bounded fuzz run in `cargo test`; `GATEPROOF_FUZZ_CASES` changes it.
const FUZZ_CASES: u32 = 200;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime")
}

async fn start() -> (PgServer, RunningProxy) {
    let options = PostgresOptions { choice: PostgresChoice::Auto, image: None };
    let pg = PgServer::start(&options).await.expect("a Postgres server starts");
    let db = pg.scenario_database(&MIGRATOR).await.expect("a scenario database");
    let proxy = reference::start(ProxyConfig::new(MASTER, db.url.clone())).await.expect("the proxy starts");
    (pg, proxy)
}

fn addr(proxy: &RunningProxy) -> SocketAddr {
    proxy.base_url.trim_start_matches("http://").parse().expect("a socket address")
}

fn body_json(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Answered { body, .. } => serde_json::from_slice(body).unwrap_or(Value::Null),
        Outcome::Dropped(_) => Value::Null,
    }
}

fn status(outcome: &Outcome) -> Option<u16> {
    match outcome {
        Outcome::Answered { status, .. } => Some(*status),
        Outcome::Dropped(_) => None,
    }
}

#[test]
fn the_inputs_of_issue_16_get_a_4xx_in_litellms_shape() {
    let rt = runtime();
    rt.block_on(async {
        let (pg, proxy) = start().await;
        let addr = addr(&proxy);
        // The status each error before a handler must come back with, with its reason in the message.
        let expected: &[(&str, u16, &str)] = &[
            ("bad-header-byte", 400, "Invalid HTTP request received"),
            ("uri-too-long", 414, "request target"),
            ("head-too-large", 431, "request head"),
            ("body-too-large", 413, "larger than 4194304 bytes"),
            ("malformed-chunked", 400, "could not be read"),
        ];
        let mut failures = Vec::new();
        for (name, request) in regressions(MASTER) {
            let bytes = request.bytes();
            let outcome = send(addr, &bytes).await;
            let verdict = judge(&bytes, &outcome).and_then(|()| match expected.iter().find(|(n, ..)| *n == name) {
                Some((_, code, reason)) => {
                    let v = body_json(&outcome);
                    let message = v["error"]["message"].as_str().unwrap_or_default();
                    if status(&outcome) == Some(*code) && message.contains(reason) {
                        Ok(())
                    } else {
                        Err(format!("expected {code} with {reason:?}, got {:?} {v}", status(&outcome)))
                    }
                }
                // A duration LiteLLM cannot read is a 400 on every route that takes one.
                None if name.starts_with("duration-") => match status(&outcome) {
                    Some(400) => Ok(()),
                    other => Err(format!("expected 400, got {other:?} {}", body_json(&outcome))),
                },
                None if name == "fixture-key" => match status(&outcome) {
                    Some(200) => Ok(()),
                    other => Err(format!("the fixture key was not made: {other:?} {}", body_json(&outcome))),
                },
                None => Ok(()),
            });
            if let Err(why) = verdict {
                failures.push(format!("{name}: {why}"));
            }
        }
        // The proxy still serves after all of it.
        let health = send(addr, &Request::new("GET", "/health/liveliness", None, "").bytes()).await;
        assert_eq!(status(&health), Some(200), "{health:?}");
        proxy.shutdown().await;
        pg.shutdown().await;
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    });
}

#[test]
fn random_malformed_requests_never_get_a_5xx_or_a_dropped_connection() {
    let rt = runtime();
    let (pg, proxy) = rt.block_on(start());
    let addr = addr(&proxy);
    let cases = std::env::var("GATEPROOF_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(FUZZ_CASES);
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let result = TestRunner::new(config).run(&hostile_requests::request(MASTER.to_string()), |request| {
        let bytes = request.bytes();
        let outcome = rt.block_on(send(addr, &bytes));
        judge(&bytes, &outcome)
            .map_err(|why| TestCaseError::fail(format!("{why}\nrequest: {:?}", String::from_utf8_lossy(&bytes))))
    });
    rt.block_on(async {
        proxy.shutdown().await;
        pg.shutdown().await;
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The admin's `/user/info` without `user_id` is streamed a page of rows at a time; every key and
/// team comes back once, small rows and large alike.
#[test]
fn the_admin_user_info_dump_has_every_key_and_team_once() {
    let rt = runtime();
    rt.block_on(async {
        let (pg, proxy) = start().await;
        let client = reqwest::Client::new();
        let base = &proxy.base_url;
        let big = "x".repeat(300_000);
        for i in 0..30 {
            let metadata = if i % 10 == 0 { json!({"blob": big}) } else { json!({"i": i}) };
            let team = json!({"team_id": format!("team-{i}"), "metadata": metadata});
            let r =
                client.post(format!("{base}/team/new")).bearer_auth(MASTER).json(&team).send().await.expect("answer");
            assert_eq!(r.status(), 200);
            let key = json!({"key_alias": format!("key-{i}"), "metadata": metadata});
            let r = client
                .post(format!("{base}/key/generate"))
                .bearer_auth(MASTER)
                .json(&key)
                .send()
                .await
                .expect("answer");
            assert_eq!(r.status(), 200);
        }
        let r = client.get(format!("{base}/user/info")).bearer_auth(MASTER).send().await.expect("answer");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("one JSON document");
        let ids = |list: &Value, field: &str| {
            let mut ids: Vec<String> =
                list.as_array().expect("a list").iter().filter_map(|r| r[field].as_str().map(str::to_string)).collect();
            ids.sort();
            ids
        };
        let mut want_teams: Vec<String> = (0..30).map(|i| format!("team-{i}")).collect();
        want_teams.sort();
        assert_eq!(ids(&v["teams"], "team_id"), want_teams);
        let aliases = ids(&v["keys"], "key_alias");
        let mut want_keys: Vec<String> = (0..30).map(|i| format!("key-{i}")).collect();
        want_keys.sort();
        assert_eq!(aliases, want_keys);
        assert_eq!(v["teams"][0]["metadata"]["blob"].as_str().map(str::len), Some(300_000));
        assert!(v.get("user_info").is_some() && v.get("admin_mcp_permissions").is_some(), "{}", v["user_id"]);
        proxy.shutdown().await;
        pg.shutdown().await;
    });
}
