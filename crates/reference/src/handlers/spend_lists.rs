//! /spend/keys and /spend/users: key and user rows with their spend, scoped to the caller by
//! `authz::spend_keys_rows` and `authz::spend_users_rows`.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::to_value;
use crate::AppState;
use crate::authz::{self, SpendRows};
use crate::error::ProxyError;
use crate::request::Authed;

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
