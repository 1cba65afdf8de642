//! `/global/spend`, `/global/spend/keys`, `/global/spend/models`, `/global/spend/logs` and
//! `/global/spend/teams`: the proxy-wide spend reports (`global_spend`), behind the route gate's
//! `GlobalSpend` class. The keys, models and logs reports cover an internal user's own requests only
//! (`authz::global_spend_rows`).

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::AppState;
use crate::authz::{self, SpendRows};
use crate::error::ProxyError;
use crate::global_spend;
use crate::request::Authed;
use crate::spend::SpendLog;
use crate::spend_logs::SpendLogQuery;

async fn logs(state: &AppState, rows: SpendRows) -> Result<Vec<SpendLog>, ProxyError> {
    let user = match rows {
        SpendRows::Everyone => None,
        SpendRows::OneUser(user_id) => Some(user_id),
        SpendRows::Nobody => return Ok(Vec::new()),
    };
    let query = SpendLogQuery { user, ..SpendLogQuery::default() };
    Ok(state.store.spend_logs(&query).await?.into_iter().map(|r| r.log).collect())
}

/// `?limit=` of `/global/spend/keys`: a positive whole number when sent.
fn key_limit(authed: &Authed) -> Result<Option<usize>, ProxyError> {
    match whole_limit(authed)? {
        Some(0) => Err(invalid_limit("0")),
        limit => Ok(limit),
    }
}

/// `?limit=` as a whole number; `/global/spend/models` takes 0 too, and lists nothing then, as
/// LiteLLM's `LIMIT` does.
fn whole_limit(authed: &Authed) -> Result<Option<usize>, ProxyError> {
    authed.query("limit").map(|text| text.parse::<usize>().map_err(|_| invalid_limit(text))).transpose()
}

fn invalid_limit(text: &str) -> ProxyError {
    ProxyError::handler(422, format!("Invalid limit: {text}. The limit must be a positive integer."))
}

pub(crate) async fn total(State(state): State<AppState>, _authed: Authed) -> Result<Json<Value>, ProxyError> {
    Ok(Json(global_spend::total(&logs(&state, SpendRows::Everyone).await?)))
}

pub(crate) async fn keys(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let limit = key_limit(&authed)?;
    let logs = logs(&state, authz::global_spend_rows(&authed.caller)).await?;
    let keys = state.store.all_keys().await?;
    Ok(Json(global_spend::by_key(&logs, &keys, limit)))
}

pub(crate) async fn models(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let limit = whole_limit(&authed)?.unwrap_or(10);
    let logs = logs(&state, authz::global_spend_rows(&authed.caller)).await?;
    Ok(Json(global_spend::by_model(&logs, limit)))
}

pub(crate) async fn logs_by_day(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let logs = logs(&state, authz::global_spend_rows(&authed.caller)).await?;
    Ok(Json(global_spend::by_day(&logs, chrono::Utc::now().date_naive())))
}

pub(crate) async fn teams(State(state): State<AppState>, _authed: Authed) -> Result<Json<Value>, ProxyError> {
    let logs = logs(&state, SpendRows::Everyone).await?;
    let mut ids: Vec<&str> = logs.iter().filter_map(|l| l.team_id.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut aliases = Vec::new();
    for id in ids {
        if let Some(alias) = state.store.team(id).await?.and_then(|t| t.team_alias) {
            aliases.push((id.to_string(), alias));
        }
    }
    let alias_of = |id: &str| aliases.iter().find(|(t, _)| t == id).map(|(_, a)| a.clone());
    Ok(Json(global_spend::by_team(&logs, alias_of)))
}
