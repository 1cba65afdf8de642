//! Fresh reference proxies for sequences, at the rate explore needs them.
//!
//! A `CREATE DATABASE … TEMPLATE` copy costs 150–350 ms on a quiet machine and over a second on a busy
//! one, and starting proxies, mock servers and an HTTP client per sequence costs more than most
//! sequences take. A sequence needs a proxy that knows nothing, not a new one. So each station here is
//! one ordinary scenario copy with its proxies, mocks and client, all started once. Between two
//! sequences the station's rows are deleted (all but the proxies' own registrations,
//! `reference::PROXY_STATE_TABLES`) and each proxy forgets what it holds in memory, so the next
//! sequence meets what a freshly started proxy on an empty database would show. Written scenarios are
//! still verified the ordinary way, on a copy of their own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::postgres::{PgServer, ScenarioDatabase};
use crate::reference::{self, MIGRATOR, ProxyConfig, Quirks, RunningProxy};
use crate::runner::{Rig, RunOptions, Target};
use crate::scenario::MockSpec;

/// A station's proxy runs one sequence at a time, whose steps wait for each other but for one
/// completion in the background and the spend writer. Every station of both sides shares one Postgres
/// server, whose connections would otherwise run out at a few jobs (2 sides × jobs × replicas × pool).
const STATION_POOL_SIZE: u32 = 3;

/// How every station of one side is made.
#[derive(Clone)]
pub struct StationPlan {
    pub quirks: Quirks,
    pub master_key: String,
    pub cache_ttl: Duration,
    /// Proxies per station: the most replicas a sequence may ask for.
    pub replicas: usize,
    /// The mocks every sequence declares.
    pub mocks: Vec<MockSpec>,
    pub options: RunOptions,
}

/// A database with its proxies, mocks and client, lent to one sequence at a time.
pub struct Station {
    db: ScenarioDatabase,
    admin: PgPool,
    /// Deletes every row the sequence wrote, children before parents.
    empty: Arc<String>,
    proxies: Vec<RunningProxy>,
    /// The station's proxies as an external target (one URL per replica), so a sequence runs on
    /// them exactly as on a proxy someone else runs.
    pub target: Target,
    pub rig: Rig,
}

/// Stations that are empty and free.
pub struct Stations {
    pg: Arc<PgServer>,
    plan: StationPlan,
    free: Mutex<Vec<Station>>,
}

impl Stations {
    pub fn new(pg: Arc<PgServer>, plan: StationPlan) -> Stations {
        Stations { pg, plan, free: Mutex::new(Vec::new()) }
    }

    pub fn plan(&self) -> &StationPlan {
        &self.plan
    }

    /// A free station, or a new one when none is free.
    pub async fn take(&self) -> Result<Station, String> {
        if let Some(station) = self.free.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(station);
        }
        let db = self.pg.scenario_database(&MIGRATOR).await.map_err(|e| format!("failed to create a database: {e}"))?;
        match self.equip(&db).await {
            Ok((admin, empty, proxies, rig)) => {
                let urls = proxies.iter().map(|p| p.base_url.clone()).collect();
                let target = Target::external_replicas(urls, self.plan.master_key.clone());
                Ok(Station { db, admin, empty, proxies, target, rig })
            }
            Err(message) => {
                let _ = self.pg.drop_database(&db).await;
                Err(message)
            }
        }
    }

    async fn equip(&self, db: &ScenarioDatabase) -> Result<(PgPool, Arc<String>, Vec<RunningProxy>, Rig), String> {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&db.url)
            .await
            .map_err(|e| format!("failed to connect to {}: {e}", db.name))?;
        let empty = match emptying_statement(&admin).await {
            Ok(statement) => Arc::new(statement),
            Err(e) => {
                admin.close().await;
                return Err(format!("failed to read the tables of {}: {e}", db.name));
            }
        };
        let config = ProxyConfig {
            cache_ttl: self.plan.cache_ttl,
            quirks: self.plan.quirks,
            max_connections: STATION_POOL_SIZE,
            ..ProxyConfig::new(self.plan.master_key.clone(), db.url.clone())
        };
        let mut proxies = Vec::new();
        let mut failure = None;
        for _ in 0..self.plan.replicas.max(1) {
            match reference::start(config.clone()).await {
                Ok(proxy) => proxies.push(proxy),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        let rig = match failure {
            None => Rig::start(&self.plan.mocks, &self.plan.options).await,
            Some(message) => Err(message),
        };
        match rig {
            Ok(rig) => Ok((admin, empty, proxies, rig)),
            Err(message) => {
                for proxy in proxies {
                    proxy.shutdown().await;
                }
                admin.close().await;
                Err(message)
            }
        }
    }

    /// Empties the station (no request of its sequence is in flight by now) and frees it; a station
    /// that cannot be emptied is taken down with its database.
    pub async fn give_back(&self, station: Station) {
        // The statement names only tables read from the catalogue, each quoted by `format('%I')`.
        match sqlx::raw_sql(sqlx::AssertSqlSafe(station.empty.as_str())).execute(&station.admin).await {
            Ok(_) => {
                for proxy in &station.proxies {
                    proxy.forget();
                }
                self.free.lock().unwrap_or_else(PoisonError::into_inner).push(station);
            }
            Err(e) => {
                tracing::warn!(database = %station.db.name, "failed to empty an explore database: {e}");
                self.take_down(station).await;
            }
        }
    }

    async fn take_down(&self, station: Station) {
        for proxy in station.proxies {
            proxy.shutdown().await;
        }
        station.admin.close().await;
        let _ = self.pg.drop_database(&station.db).await;
    }

    /// Takes down every free station.
    pub async fn close(&self) {
        let stations: Vec<Station> = std::mem::take(&mut *self.free.lock().unwrap_or_else(PoisonError::into_inner));
        for station in stations {
            self.take_down(station).await;
        }
    }
}

/// One transaction deleting the rows of every table of the schema but `PROXY_STATE_TABLES`, each
/// table after every table that references it. Deleting is cheaper here than `TRUNCATE`, which gives
/// every table and index a new file.
async fn emptying_statement(admin: &PgPool) -> sqlx::Result<String> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT tablename, format('%I', tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .fetch_all(admin)
    .await?;
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
         JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = 'public'",
    )
    .fetch_all(admin)
    .await?;
    let kept: BTreeSet<&str> = reference::PROXY_STATE_TABLES.iter().copied().collect();
    let quoted: BTreeMap<String, String> =
        tables.into_iter().filter(|(name, _)| !kept.contains(name.as_str())).collect();
    let names: Vec<String> = quoted.keys().cloned().collect();
    let order = children_first(&names, &references);
    let mut statement = String::from("BEGIN;");
    for name in order {
        statement.push_str(&format!(" DELETE FROM {};", quoted[&name]));
    }
    statement.push_str(" COMMIT;");
    Ok(statement)
}

/// `tables` ordered so that every table comes before the tables it references (`(child, parent)`
/// pairs); a table referencing itself does not hold itself back.
fn children_first(tables: &[String], references: &[(String, String)]) -> Vec<String> {
    let mut left: Vec<String> = tables.to_vec();
    let mut order = Vec::with_capacity(tables.len());
    while !left.is_empty() {
        // A table is ready when no table still to be emptied references it.
        let ready: Vec<String> = left
            .iter()
            .filter(|t| !references.iter().any(|(child, parent)| parent == *t && child != *t && left.contains(child)))
            .cloned()
            .collect();
        // A cycle of references cannot be ordered; its tables go last and the transaction says so.
        let ready = if ready.is_empty() { left.clone() } else { ready };
        left.retain(|t| !ready.contains(t));
        order.extend(ready);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::{PostgresChoice, PostgresOptions};
    use serde_json::{Value, json};

    async fn call(request: reqwest::RequestBuilder, bearer: &str) -> (u16, Value) {
        let response = request.bearer_auth(bearer).send().await.expect("the proxy answers");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn count(station: &Station, table: &str) -> i64 {
        let query = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(&station.admin).await.expect("the count runs")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_emptied_station_keeps_its_proxies_registered_for_invalidation() {
        let options = PostgresOptions { choice: PostgresChoice::Auto, image: None };
        let pg = Arc::new(PgServer::start(&options).await.expect("a Postgres server starts"));
        let master = "sk-station-master".to_string();
        let plan = StationPlan {
            quirks: Quirks::NONE,
            master_key: master.clone(),
            cache_ttl: Duration::from_secs(300),
            replicas: 2,
            mocks: Vec::new(),
            options: RunOptions::default(),
        };
        let stations = Stations::new(Arc::clone(&pg), plan);
        let client = reqwest::Client::new();
        let station = stations.take().await.expect("a station");
        let urls: Vec<String> = station.proxies.iter().map(|p| p.base_url.clone()).collect();
        let (status, body) = call(client.post(format!("{}/key/generate", urls[0])).json(&json!({})), &master).await;
        assert_eq!(status, 200, "{body}");
        let first = body["key"].as_str().expect("a key").to_string();
        let (status, body) = call(client.get(format!("{}/key/info", urls[1])), &first).await;
        assert_eq!(status, 200, "{body}");
        let name = station.db.name.clone();
        stations.give_back(station).await;

        let station = stations.take().await.expect("the station comes back");
        assert_eq!(station.db.name, name, "the freed station is lent again");
        assert_eq!(count(&station, "verification_tokens").await, 0, "the sequence's rows are gone");
        assert_eq!(count(&station, "cache_listeners").await, 2, "both proxies stay registered");
        let (status, body) = call(client.get(format!("{}/key/info", urls[1])), &first).await;
        assert_eq!(status, 401, "the replica forgot the key it cached: {body}");

        let (status, body) = call(client.post(format!("{}/key/generate", urls[0])).json(&json!({})), &master).await;
        assert_eq!(status, 200, "{body}");
        let second = body["key"].as_str().expect("a key").to_string();
        let (status, body) = call(client.get(format!("{}/key/info", urls[1])), &second).await;
        assert_eq!(status, 200, "{body}");
        let blocked = json!({"key": second, "blocked": true});
        let (status, body) = call(client.post(format!("{}/key/update", urls[0])).json(&blocked), &master).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = call(client.get(format!("{}/key/info", urls[1])), &second).await;
        assert_eq!(status, 401, "the other replica evicted the blocked key at once: {body}");
        stations.give_back(station).await;
        stations.close().await;
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn children_are_emptied_before_their_parents() {
        let tables = names(&["budgets", "memberships", "organizations", "teams"]);
        let references: Vec<(String, String)> = [
            ("organizations", "budgets"),
            ("teams", "organizations"),
            ("memberships", "teams"),
            ("memberships", "budgets"),
            ("teams", "teams"),
        ]
        .iter()
        .map(|(c, p)| (c.to_string(), p.to_string()))
        .collect();
        let order = children_first(&tables, &references);
        let at = |t: &str| order.iter().position(|o| o == t).expect("every table is ordered");
        assert_eq!(order.len(), 4);
        assert!(at("memberships") < at("teams"));
        assert!(at("teams") < at("organizations"));
        assert!(at("organizations") < at("budgets"));
    }
}
