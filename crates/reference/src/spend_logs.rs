//! `/spend/logs`: which logged requests a query selects, and how they are answered (rows, or with a
//! date range and `summarize`, one entry per day).

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use crate::spend::SpendLog;

/// One row of `spend_logs` as `/spend/logs` reads it: the logged request and when it was written.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub(crate) struct LoggedRequest {
    #[sqlx(flatten)]
    pub log: SpendLog,
    #[sqlx(rename = "endTime")]
    pub end_time: DateTime<Utc>,
}

/// What selects the rows; every field that is set must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SpendLogQuery {
    /// The hash of the key (a raw `sk-` key is hashed before it gets here).
    pub api_key: Option<String>,
    pub request_id: Option<String>,
    pub user: Option<String>,
    /// Both dates of a range, from the first's midnight to the second's (UTC), both included: a
    /// request made during the end date is outside, as in LiteLLM.
    pub range: Option<(NaiveDate, NaiveDate)>,
}

impl SpendLogQuery {
    pub fn range_bounds(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.range.map(|(start, end)| (midnight(start), midnight(end)))
    }
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// A `start_date` or `end_date` as LiteLLM parses it (`%Y-%m-%d`).
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// A row as LiteLLM answers it: a missing user, team or organization is `""`. The model column
/// holds the name the caller asked for, which LiteLLM calls `model_group`.
pub(crate) fn row_json(logged: &LoggedRequest) -> Value {
    let row = &logged.log;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    json!({
        "request_id": row.request_id,
        "api_key": row.api_key,
        "spend": row.spend,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "total_tokens": row.prompt_tokens + row.completion_tokens,
        "model_group": row.model,
        "user": text(&row.user),
        "team_id": text(&row.team_id),
        "organization_id": text(&row.organization_id),
        "startTime": row.start_time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "endTime": logged.end_time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

/// The summarized answer: per day that has requests, the day's spend in total, per key hash (as a
/// field named by the hash), per user and per model; then a zero entry for every day after the last
/// one up to `end`. Nothing logged gives an empty list.
pub(crate) fn summarize_by_day(rows: &[LoggedRequest], end: NaiveDate) -> Vec<Value> {
    let mut days: BTreeMap<NaiveDate, Map<String, Value>> = BTreeMap::new();
    for row in rows.iter().map(|r| &r.log) {
        let day = days.entry(row.start_time.date_naive()).or_insert_with(|| {
            let mut m = Map::new();
            m.insert("users".into(), json!({}));
            m.insert("models".into(), json!({}));
            m
        });
        add(day, &row.api_key, row.spend);
        add(day, "spend", row.spend);
        if let Some(users) = day.get_mut("users").and_then(Value::as_object_mut) {
            add(users, row.user.as_deref().unwrap_or_default(), row.spend);
        }
        if let Some(models) = day.get_mut("models").and_then(Value::as_object_mut) {
            add(models, &row.model, row.spend);
        }
    }
    let last = days.keys().next_back().copied();
    let mut answer: Vec<Value> = days
        .into_iter()
        .map(|(date, mut fields)| {
            fields.insert("startTime".into(), json!(date.to_string()));
            Value::Object(fields)
        })
        .collect();
    let mut next = last.and_then(|d| d.checked_add_days(Days::new(1)));
    while let Some(date) = next.filter(|d| *d <= end) {
        answer.push(json!({"startTime": date.to_string(), "spend": 0, "users": {}, "models": {}}));
        next = date.checked_add_days(Days::new(1));
    }
    answer
}

fn add(fields: &mut Map<String, Value>, name: &str, amount: f64) {
    let sum = fields.get(name).and_then(Value::as_f64).unwrap_or(0.0) + amount;
    fields.insert(name.to_string(), json!(sum));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str, hour: u32, user: &str, key: &str, spend: f64) -> LoggedRequest {
        let start = parse_date(day).unwrap().and_hms_opt(hour, 0, 0).unwrap().and_utc();
        LoggedRequest {
            log: SpendLog {
                request_id: format!("{day}-{hour}-{key}"),
                api_key: key.into(),
                spend,
                prompt_tokens: 10,
                completion_tokens: 20,
                model: "m".into(),
                team_id: None,
                organization_id: None,
                user: if user.is_empty() { None } else { Some(user.into()) },
                start_time: start,
                deployment_model: None,
            },
            end_time: start,
        }
    }

    #[test]
    fn a_row_reads_missing_owners_as_empty_text_and_totals_its_tokens() {
        let row = row_json(&at("2026-12-01", 9, "", "h1", 0.5));
        assert_eq!(row["user"], "");
        assert_eq!(row["team_id"], "");
        assert_eq!(row["total_tokens"], 30);
        assert_eq!(row["startTime"], "2026-12-01T09:00:00.000000Z");
    }

    #[test]
    fn days_sum_per_key_user_and_model_and_trailing_days_are_zero() {
        let rows = [
            at("2026-12-01", 9, "u1", "h1", 0.5),
            at("2026-12-01", 10, "u2", "h1", 0.25),
            at("2026-12-02", 1, "u1", "h2", 1.0),
        ];
        let days = summarize_by_day(&rows, parse_date("2026-12-04").unwrap());
        assert_eq!(days.len(), 4);
        assert_eq!(days[0]["startTime"], "2026-12-01");
        assert_eq!(days[0]["spend"], 0.75);
        assert_eq!(days[0]["h1"], 0.75);
        assert_eq!(days[0]["users"], json!({"u1": 0.5, "u2": 0.25}));
        assert_eq!(days[0]["models"], json!({"m": 0.75}));
        assert_eq!(days[1]["h2"], 1.0);
        assert_eq!(days[3], json!({"startTime": "2026-12-04", "spend": 0, "users": {}, "models": {}}));
    }

    #[test]
    fn nothing_logged_summarizes_to_nothing() {
        assert!(summarize_by_day(&[], parse_date("2026-12-04").unwrap()).is_empty());
    }

    #[test]
    fn a_range_ends_at_the_end_dates_midnight() {
        let query = SpendLogQuery {
            range: Some((parse_date("2026-12-01").unwrap(), parse_date("2026-12-03").unwrap())),
            ..Default::default()
        };
        let (from, to) = query.range_bounds().unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-03T00:00:00+00:00");
        assert_eq!(parse_date("12/01/2026"), None);
    }
}
