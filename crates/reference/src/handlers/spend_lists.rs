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
use crate::store::Cursor;

/// Rows read per round when an admin lists every row.
const PAGE_READ: i64 = 500;

pub(crate) async fn keys(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let keys = match authz::spend_keys_rows(&authed.caller, state.store.quirks()) {
        SpendRows::Everyone => {
            let mut all = Vec::new();
            let mut after: Option<Cursor> = None;
            loop {
                let page = state.store.keys_page(after.as_ref(), PAGE_READ).await?;
                after = page.last().map(|k| (k.created_at, k.token.clone()));
                let done = page.len() < PAGE_READ as usize;
                all.extend(page);
                if done {
                    break all;
                }
            }
        }
        SpendRows::OneUser(user_id) => state.store.keys_of_user(&user_id).await?,
        SpendRows::Nobody => Vec::new(),
    };
    Ok(Json(Value::Array(keys.iter().map(to_value).collect())))
}

pub(crate) async fn users(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let rows = authz::spend_users_rows(&authed.caller, authed.query("user_id"), state.store.quirks())
        .map_err(|d| ProxyError::detail_error(d.status(), d.message()))?;
    let users = match rows {
        SpendRows::Everyone => {
            let mut all = Vec::new();
            let mut after: Option<Cursor> = None;
            loop {
                let page = state.store.users_page(after.as_ref(), PAGE_READ).await?;
                after = page.last().map(|u| (u.created_at, u.user_id.clone()));
                let done = page.len() < PAGE_READ as usize;
                all.extend(page.iter().map(to_value));
                if done {
                    break all;
                }
            }
        }
        // LiteLLM answers a user it does not know as a list holding `null`.
        SpendRows::OneUser(user_id) => {
            vec![state.store.user_uncached(&user_id).await?.as_ref().map_or(Value::Null, to_value)]
        }
        SpendRows::Nobody => Vec::new(),
    };
    Ok(Json(Value::Array(users)))
}
