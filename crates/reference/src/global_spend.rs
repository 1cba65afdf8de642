//! The proxy-wide spend reports of `/global/spend/*`, aggregated from the logged requests (the
//! tag, end-user and Enterprise report routes are not among them). Who may
//! read them is the route gate's (proxy admins, admin viewers, keys granted `get_spend_routes`);
//! which rows a report covers is `authz::global_spend_rows`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::domain::Key;
use crate::spend::SpendLog;

/// `/global/spend`: the total, `null` before any request was logged, as LiteLLM answers it.
pub(crate) fn total(logs: &[SpendLog]) -> Value {
    let spend = if logs.is_empty() { Value::Null } else { json!(logs.iter().map(|l| l.spend).sum::<f64>()) };
    json!({"spend": spend, "max_budget": 0.0})
}

/// Sums `spend` per `group`, largest first (ties by name, so the order is stable).
fn ranked<'a>(logs: &'a [SpendLog], group: impl Fn(&'a SpendLog) -> &'a str) -> Vec<(&'a str, f64)> {
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    for log in logs {
        *sums.entry(group(log)).or_default() += log.spend;
    }
    let mut rows: Vec<_> = sums.into_iter().collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    rows
}

/// `/global/spend/keys`: the keys by spend, with their alias and name where the key still exists.
pub(crate) fn by_key(logs: &[SpendLog], keys: &[Key], limit: Option<usize>) -> Value {
    let rows = ranked(logs, |l| l.api_key.as_str());
    let rows = rows.into_iter().take(limit.unwrap_or(usize::MAX)).map(|(token, spend)| {
        let key = keys.iter().find(|k| k.token == token);
        json!({
            "api_key": token,
            "key_alias": key.and_then(|k| k.key_alias.clone()),
            "key_name": key.and_then(|k| k.key_name.clone()),
            "total_spend": spend,
        })
    });
    Value::Array(rows.collect())
}

/// `/global/spend/models`: the deployments' own models (`openai/gpt-4o`, not the group a client
/// names) by spend, as LiteLLM reports them.
pub(crate) fn by_model(logs: &[SpendLog], limit: usize) -> Value {
    let rows = ranked(logs, |l| l.deployment_model.as_deref().unwrap_or(&l.model)).into_iter().take(limit);
    Value::Array(rows.map(|(model, spend)| json!({"model": model, "total_spend": spend})).collect())
}

/// `/global/spend/logs`: the spend per day over the last 30 days before `today` (UTC), oldest first.
pub(crate) fn by_day(logs: &[SpendLog], today: chrono::NaiveDate) -> Value {
    let since = today - chrono::Days::new(30);
    let mut days: BTreeMap<chrono::NaiveDate, f64> = BTreeMap::new();
    for log in logs.iter().filter(|l| l.start_time.date_naive() >= since) {
        *days.entry(log.start_time.date_naive()).or_default() += log.spend;
    }
    let rows = days.into_iter().map(|(day, spend)| json!({"date": day.format("%Y-%m-%d").to_string(), "spend": spend}));
    Value::Array(rows.collect())
}

/// `/global/spend/teams`: the teams' spend in total and per day, each team named by its alias (in
/// LiteLLM's `total_spend_per_team` too, under `team_id`), or by its id when it has none.
pub(crate) fn by_team(logs: &[SpendLog], alias_of: impl Fn(&str) -> Option<String>) -> Value {
    let in_team: Vec<SpendLog> = logs.iter().filter(|l| l.team_id.is_some()).cloned().collect();
    let name = |log: &SpendLog| {
        let id = log.team_id.as_deref().unwrap_or_default();
        alias_of(id).unwrap_or_else(|| id.to_string())
    };
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    let mut daily: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for log in &in_team {
        *totals.entry(name(log)).or_default() += log.spend;
        let day = log.start_time.format("%Y-%m-%d").to_string();
        *daily.entry(day).or_default().entry(name(log)).or_default() += log.spend;
    }
    let mut ranked: Vec<_> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let daily_spend = daily.into_iter().map(|(date, teams)| {
        let mut row = serde_json::Map::new();
        row.insert("date".into(), json!(date));
        row.extend(teams.into_iter().map(|(team, spend)| (team, json!(spend))));
        Value::Object(row)
    });
    json!({
        "daily_spend": daily_spend.collect::<Vec<_>>(),
        "teams": ranked.iter().map(|(team, _)| team.clone()).collect::<Vec<_>>(),
        "total_spend_per_team": ranked.iter().map(|(team, spend)| json!({"team_id": team, "total_spend": spend})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn log(key: &str, model: &str, team: Option<&str>, spend: f64, day: u32) -> SpendLog {
        SpendLog {
            request_id: format!("{key}-{model}-{day}-{spend}"),
            api_key: key.into(),
            spend,
            prompt_tokens: 1,
            completion_tokens: 1,
            model: model.into(),
            team_id: team.map(str::to_string),
            organization_id: None,
            user: None,
            start_time: Utc.with_ymd_and_hms(2026, 12, day, 10, 0, 0).unwrap(),
            deployment_model: None,
        }
    }

    #[test]
    fn the_total_is_null_before_any_request() {
        assert_eq!(total(&[]), json!({"spend": null, "max_budget": 0.0}));
        assert_eq!(total(&[log("k", "m", None, 0.5, 1), log("k", "m", None, 0.25, 2)])["spend"], json!(0.75));
    }

    #[test]
    fn keys_and_models_rank_by_spend_within_the_limit() {
        let mut logs = [log("k1", "a", None, 0.1, 1), log("k2", "b", None, 0.5, 1), log("k1", "b", None, 0.1, 2)];
        logs[0].deployment_model = Some("openai/a".into());
        let mut named = Key::unset("k2".into(), Some("sk-...k2".into()), None, None);
        named.key_alias = Some("two".into());
        let keys = by_key(&logs, &[named], Some(1));
        assert_eq!(keys, json!([{"api_key": "k2", "key_alias": "two", "key_name": "sk-...k2", "total_spend": 0.5}]));
        assert_eq!(by_key(&logs, &[], None)[1]["key_alias"], Value::Null);
        assert_eq!(
            by_model(&logs, 10),
            json!([{"model": "b", "total_spend": 0.6}, {"model": "openai/a", "total_spend": 0.1}])
        );
        assert_eq!(by_model(&logs, 1).as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn days_sum_the_last_thirty_oldest_first() {
        let logs = [log("k1", "a", None, 0.5, 20), log("k2", "b", None, 0.25, 1), log("k1", "b", None, 0.25, 20)];
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 21).unwrap();
        let days = json!([{"date": "2026-12-01", "spend": 0.25}, {"date": "2026-12-20", "spend": 0.75}]);
        assert_eq!(by_day(&logs, today), days);
        let later = chrono::NaiveDate::from_ymd_opt(2027, 1, 10).unwrap();
        assert_eq!(by_day(&logs, later), json!([{"date": "2026-12-20", "spend": 0.75}]));
    }

    #[test]
    fn teams_are_named_by_alias_per_day_and_in_total() {
        let logs =
            [log("k1", "a", Some("t1"), 0.5, 1), log("k2", "a", Some("t2"), 0.25, 2), log("k3", "a", None, 9.0, 2)];
        let alias = |id: &str| (id == "t1").then(|| "one".to_string());
        let teams = by_team(&logs, alias);
        assert_eq!(teams["teams"], json!(["one", "t2"]));
        assert_eq!(teams["total_spend_per_team"][0], json!({"team_id": "one", "total_spend": 0.5}));
        assert_eq!(
            teams["daily_spend"],
            json!([{"date": "2026-12-01", "one": 0.5}, {"date": "2026-12-02", "t2": 0.25}])
        );
    }
}
