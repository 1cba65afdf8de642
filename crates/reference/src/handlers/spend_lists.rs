//! /spend/keys, /spend/users and /spend/logs: key and user rows with their spend, and the logged
//! requests, scoped to the caller by `authz::spend_keys_rows`, `spend_users_rows` and
//! `spend_logs_rows`.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::to_value;
use crate::AppState;
use crate::authz::{self, SpendRows};
use crate::error::ProxyError;
use crate::request::Authed;
use crate::spend_logs::{self, SpendLogQuery};

pub(crate) async fn keys(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let keys = match authz::spend_keys_rows(&authed.caller, state.store.quirks()) {
        SpendRows::Everyone => state.store.all_keys().await?,
        SpendRows::OneUser(user_id) => state.store.keys_of_user(&user_id).await?,
        SpendRows::Nobody => Vec::new(),
    };
    Ok(Json(Value::Array(keys.iter().map(to_value).collect())))
}

pub(crate) async fn users(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let rows = authz::spend_users_rows(&authed.caller, authed.query("user_id"), state.store.quirks())
        .map_err(|d| ProxyError::detail_error(d.status(), d.message()))?;
    let users = match rows {
        SpendRows::Everyone => state.store.all_users().await?.iter().map(to_value).collect(),
        // LiteLLM answers a user it does not know as a list holding `null`.
        SpendRows::OneUser(user_id) => {
            vec![state.store.user_uncached(&user_id).await?.as_ref().map_or(Value::Null, to_value)]
        }
        SpendRows::Nobody => Vec::new(),
    };
    Ok(Json(Value::Array(users)))
}

/// A bad date is a 400 here, where LiteLLM's unparsed date escapes as a 500.
pub(crate) async fn logs(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let text = |name: &str| authed.query(name).filter(|v| !v.is_empty()).map(str::to_string);
    let user = match authz::spend_logs_rows(&authed.caller, authed.query("user_id")) {
        SpendRows::Nobody => return Ok(Json(Value::Array(Vec::new()))),
        SpendRows::Everyone => None,
        SpendRows::OneUser(user_id) => Some(user_id),
    };
    let range = match (text("start_date"), text("end_date")) {
        (Some(start), Some(end)) => Some((date(&start)?, date(&end)?)),
        _ => None,
    };
    let query = SpendLogQuery {
        api_key: text("api_key").map(|k| crate::token::hash_if_needed(&k)),
        request_id: text("request_id"),
        user,
        range,
    };
    let rows = state.store.spend_logs(&query).await?;
    let summarize = authed.query("summarize").is_none() || super::key_list::flag(&authed, "summarize")?;
    let answer = match query.range {
        Some((_, end)) if summarize => spend_logs::summarize_by_day(&rows, end),
        _ => rows.iter().map(spend_logs::row_json).collect(),
    };
    Ok(Json(Value::Array(answer)))
}

fn date(text: &str) -> Result<chrono::NaiveDate, ProxyError> {
    spend_logs::parse_date(text).ok_or_else(|| {
        ProxyError::handler(400, format!("/spend/logs Error: time data '{text}' does not match format '%Y-%m-%d'"))
    })
}
