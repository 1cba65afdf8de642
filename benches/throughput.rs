//! Requests per second and median latency of the reference proxy for `/chat/completions` through a
//! mock LLM upstream, against `/key/info` (auth and one cached read) as the yardstick: the model
//! decision and the spend write run on every proxied call, so the two should stay of one order.
//! `cargo bench --bench throughput`; `THROUGHPUT_SECONDS` (default 10) and `THROUGHPUT_CONNECTIONS`
//! (default 8) set the load, which runs in this process on the same cores as the proxy (as `wrk -t2
//! -c8 -d10s` on the same machine would).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gateproof::mocks::{MockHost, RunningMocks};
use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::{self, MIGRATOR, ProxyConfig};
use gateproof::scenario::mock::{LlmMock, MockKind, MockSpec};
use serde_json::{Value, json};

const MASTER: &str = "sk-throughput-master";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `connections` loops sending `request` for `seconds`; every answer must be a 200.
async fn load(
    client: &reqwest::Client,
    request: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
    connections: u64,
    seconds: u64,
) -> (f64, Duration) {
    let request = Arc::new(request);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, request, stop) = (client.clone(), Arc::clone(&request), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let response = request(&client).send().await.expect("the proxy answers");
                let status = response.status();
                let body = response.bytes().await.expect("a body");
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a load task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (latencies.len() as f64 / elapsed.as_secs_f64(), latencies[latencies.len() / 2])
}

fn main() {
    let seconds = env_number("THROUGHPUT_SECONDS", 10);
    let connections = env_number("THROUGHPUT_CONNECTIONS", 8);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let pg = PgServer::start(&PostgresOptions { choice: PostgresChoice::Auto, image: None })
            .await
            .expect("Postgres starts");
        let db = pg.scenario_database(&MIGRATOR).await.expect("a database");
        let proxy =
            reference::start(ProxyConfig::new(MASTER, db.url.clone())).await.expect("the reference proxy starts");
        let spec = MockSpec {
            name: "llm".into(),
            location: Default::default(),
            kind: MockKind::Llm(LlmMock::default()),
        };
        let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.expect("the mock upstream starts");
        let mut vars = gateproof::scenario::Variables::new();
        mocks.add_variables(&mut vars);
        let upstream = vars["mocks.llm.url"].as_str().expect("a URL").to_string();
        let client = reqwest::Client::new();
        let base = proxy.base_url.clone();
        let admin = |path: &str, body: Value| {
            client.post(format!("{base}{path}")).bearer_auth(MASTER).json(&body).send()
        };
        let model = json!({"model_name": "bench-model", "litellm_params": {"model": "openai/gpt-mock", "api_base": upstream, "api_key": "sk-upstream"}});
        assert_eq!(admin("/model/new", model).await.expect("model").status(), 200);
        let team: Value = admin("/team/new", json!({"models": ["bench-model"]})).await.expect("team").json().await.expect("json");
        let key: Value = admin("/key/generate", json!({"team_id": team["team_id"], "models": ["bench-model"]}))
            .await
            .expect("key")
            .json()
            .await
            .expect("json");
        let key = key["key"].as_str().expect("a key").to_string();

        let (info_url, info_key) = (format!("{base}/key/info"), key.clone());
        let (info_rate, info_p50) =
            load(&client, move |c| c.get(&info_url).bearer_auth(&info_key), connections, seconds).await;
        let (chat_url, chat_key) = (format!("{base}/chat/completions"), key.clone());
        let body = json!({"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]});
        let (chat_rate, chat_p50) =
            load(&client, move |c| c.post(&chat_url).bearer_auth(&chat_key).json(&body), connections, seconds).await;
        println!("{connections} connections, {seconds} s each, on this machine's cores shared with the load:");
        println!("  /key/info          {info_rate:>8.0} requests/s, p50 {:.2} ms", info_p50.as_secs_f64() * 1000.0);
        println!("  /chat/completions  {chat_rate:>8.0} requests/s, p50 {:.2} ms", chat_p50.as_secs_f64() * 1000.0);
        println!("  ratio {:.2}", chat_rate / info_rate);
        proxy.shutdown().await;
        let _ = pg.drop_database(&db).await;
    });
}
