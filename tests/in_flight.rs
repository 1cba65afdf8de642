//! Traffic in flight: the regression whose bug only shows while a call is in flight across a change
//! gives the same verdict run after run on the reference proxy, and its steps run one after another
//! cannot show the bug at all.

use std::path::Path;
use std::sync::Arc;

use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::{Quirk, Quirks};
use gateproof::runner::{ReproductionResult, RunOptions, ScenarioStatus, Target, run_scenario};
use gateproof::scenario::Scenario;

const REGRESSION: &str = "scenarios/regressions/key-update-during-in-flight-calls.yaml";

/// How many times the regression runs in a row.
const RUNS: usize = 5;

fn regression() -> Scenario {
    gateproof::scenario::load_file(Path::new(REGRESSION)).expect("the regression loads")
}

async fn postgres() -> Arc<PgServer> {
    let options = PostgresOptions { choice: PostgresChoice::Auto, image: None };
    Arc::new(PgServer::start(&options).await.expect("a Postgres server starts"))
}

/// The bug needs a call in flight across `/key/update`: the scenario's own timing (a 3 s upstream, the
/// update 1 s in) decides the order of events, not the scheduler, so every run passes without the
/// quirk and fails at the declared step with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_regression_gives_the_same_verdict_every_run() {
    let scenario = regression();
    assert!(scenario.steps.iter().any(|s| s.background), "the regression keeps calls in flight");
    let target = Target::reference(postgres().await);
    let options = RunOptions { reproduce: true, ..RunOptions::default() };
    let mut verdicts = Vec::new();
    for _ in 0..RUNS {
        let outcome = run_scenario(&scenario, &target, &options).await;
        let reproduction = outcome.reproduction.as_ref().map(|r| r.result.clone());
        verdicts.push((outcome.status.clone(), reproduction));
    }
    let expected = (ScenarioStatus::Passed, Some(ReproductionResult::Reproduced));
    assert!(verdicts.iter().all(|v| *v == expected), "{verdicts:#?}");
}

/// The same steps, each waiting for the one before: with the quirk on, every call has finished before
/// the update, so nothing writes the old key back and the scenario passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_steps_run_one_after_another_cannot_show_the_bug() {
    let mut scenario = regression();
    for step in &mut scenario.steps {
        step.background = false;
        step.awaits.clear();
    }
    let quirks = Quirks::NONE.with(Quirk::InFlightKeyWriteBack);
    let options = RunOptions { quirks, ..RunOptions::default() };
    let outcome = run_scenario(&scenario, &Target::reference(postgres().await), &options).await;
    assert_eq!(outcome.status, ScenarioStatus::Passed, "{:#?}", outcome.failed_step());
}

/// Concurrent completions through one key, its team and its user: the proxy writes the spend of the
/// calls waiting at the same time in one statement, and each call's cost must still land exactly once
/// on every row and in the spend log. Costs are whole numbers, so the sums compare exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_completions_each_record_their_cost_once() {
    use gateproof::mocks::{MockHost, RunningMocks};
    use gateproof::reference::{self, MIGRATOR, ProxyConfig};
    use gateproof::scenario::mock::{LlmMock, MockKind, MockSpec};
    use serde_json::{Value, json};

    const MASTER: &str = "sk-in-flight-master";
    const CALLS: usize = 48;
    // 10 prompt and 20 completion tokens from the mock: 10 × 0.5 + 20 × 0.25.
    const COST: f64 = 10.0;
    let pg = postgres().await;
    let db = pg.scenario_database(&MIGRATOR).await.expect("a database");
    let proxy = reference::start(ProxyConfig::new(MASTER, db.url.clone())).await.expect("the proxy starts");
    let spec = MockSpec { name: "llm".into(), location: Default::default(), kind: MockKind::Llm(LlmMock::default()) };
    let mocks = RunningMocks::start(&[spec], &MockHost::default()).await.expect("the mock upstream starts");
    let mut vars = gateproof::scenario::Variables::new();
    mocks.add_variables(&mut vars);
    let upstream = vars["mocks.llm.url"].as_str().expect("a URL").to_string();
    let client = reqwest::Client::new();
    let base = proxy.base_url.clone();
    let admin = |path: &str, body: Value| {
        let request = client.post(format!("{base}{path}")).bearer_auth(MASTER).json(&body);
        async move {
            let response = request.send().await.expect("the proxy answers");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("JSON")
        }
    };
    admin(
        "/model/new",
        json!({"model_name": "priced", "litellm_params": {"model": "openai/gpt-mock", "api_base": upstream,
               "api_key": "sk-upstream", "input_cost_per_token": 0.5, "output_cost_per_token": 0.25}}),
    )
    .await;
    admin("/user/new", json!({"user_id": "spender"})).await;
    let team = admin("/team/new", json!({"members_with_roles": [{"user_id": "spender", "role": "user"}]})).await;
    let team_id = team["team_id"].as_str().expect("a team id").to_string();
    let key = admin("/key/generate", json!({"team_id": team_id, "user_id": "spender"})).await;
    let (key, token) =
        (key["key"].as_str().expect("a key").to_string(), key["token"].as_str().expect("a hash").to_string());

    let calls: Vec<_> = (0..CALLS)
        .map(|n| {
            let request = client
                .post(format!("{base}/chat/completions"))
                .bearer_auth(&key)
                .json(&json!({"model": "priced", "messages": [{"role": "user", "content": format!("call {n}")}]}));
            tokio::spawn(async move { request.send().await.expect("the proxy answers").status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("a call task"), 200);
    }

    let rows = sqlx::PgPool::connect(&db.url).await.expect("the scenario database");
    let spend = |sql: &'static str| {
        let rows = rows.clone();
        async move { sqlx::query_scalar::<_, f64>(sql).fetch_one(&rows).await.expect("a spend") }
    };
    let total = COST * CALLS as f64;
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM spend_logs WHERE api_key = $1")
        .bind(&token)
        .fetch_one(&rows)
        .await
        .expect("a count");
    assert_eq!(logged, CALLS as i64);
    assert_eq!(spend("SELECT COALESCE(SUM(spend), 0)::float8 FROM spend_logs").await, total);
    let key_spend: f64 = sqlx::query_scalar("SELECT spend FROM verification_tokens WHERE token = $1")
        .bind(&token)
        .fetch_one(&rows)
        .await
        .expect("the key's spend");
    assert_eq!(key_spend, total);
    assert_eq!(spend("SELECT spend FROM teams").await, total);
    assert_eq!(spend("SELECT spend FROM users WHERE user_id = 'spender'").await, total);
    assert_eq!(spend("SELECT spend FROM team_memberships").await, total);
    rows.close().await;
    proxy.shutdown().await;
    let _ = pg.drop_database(&db).await;
}
