//! /key/list: one page of the keys the caller may see (`authz::key_list_scope` decides which).
//!
//! Keys are listed newest first. By default the page holds key hashes; `return_full_object=true`
//! gives the rows. `status` picks the archive of deleted keys or a state of the live ones
//! (`authz::KeyStatus`), and `expires` keeps the keys by their expiry alone (`authz::KeyExpiry`). Filters other than the ones `KeyListQuery` names are accepted and ignored.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{raw, to_value, wrapped};
use crate::AppState;
use crate::authz::{self, Denial, HashedKey, KeyExpiry, KeyListQuery, KeyStatus};
use crate::domain::Key;
use crate::error::{ProxyError, ValidationItem};
use crate::request::Authed;

pub(crate) async fn list(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let page = bounded(&authed, "page", 1, None)?;
    let size = bounded(&authed, "size", 10, Some(100))?;
    let full = flag(&authed, "return_full_object")?;
    let status = match authed.query("status") {
        None => None,
        Some(text) => Some(KeyStatus::parse(text).ok_or_else(|| ProxyError::detail_error(400, authz::INVALID_STATUS))?),
    };
    let expiry = match authed.query("expires") {
        None => None,
        Some(text) => {
            Some(KeyExpiry::parse(text).ok_or_else(|| ProxyError::detail_error(400, authz::INVALID_EXPIRES))?)
        }
    };
    let text = |name: &str| authed.query(name).map(str::to_string);
    let query = KeyListQuery {
        user_id: text("user_id"),
        team_id: text("team_id"),
        organization_id: text("organization_id"),
        key_alias: text("key_alias"),
        key_hash: text("key_hash"),
        include_team_keys: flag(&authed, "include_team_keys")?,
        include_created_by_keys: flag(&authed, "include_created_by_keys")?,
        substring_matching: flag(&authed, "substring_matching")?,
    };
    let caller = &authed.caller;
    let user = match &caller.user_id {
        Some(id) => state.store.user_uncached(id).await?,
        None => None,
    };
    let user_teams = user.as_ref().map(|u| u.teams.clone());
    let mut teams = Vec::new();
    for id in user_teams.iter().flatten() {
        teams.extend(state.store.team_uncached(id).await?);
    }
    let hashed = match (&query.key_hash, caller.is_proxy_admin()) {
        (Some(hash), false) => Some(match state.store.key_uncached(hash).await? {
            None => HashedKey::Missing,
            Some(key) => {
                let team = super::key::key_team(&state, &key).await?;
                HashedKey::Found { readable: authz::check_key_info(caller, &key, team.as_ref()).is_ok() }
            }
        }),
        _ => None,
    };
    let scope = authz::key_list_scope(caller, user_teams.as_deref(), &teams, query, hashed, state.store.quirks())
        .map_err(|d| match d {
            Denial::KeyInfoNotAllowed { .. } => raw(d),
            _ => wrapped(d),
        })?;
    let mut candidates = match scope.owner_to_load() {
        // The archive is small next to the live keys, and `scope` decides which of it shows.
        _ if status == Some(KeyStatus::Deleted) => state.store.deleted_keys().await?,
        None => state.store.all_keys().await?,
        Some(own) => {
            let mut keys = state.store.keys_of_user(own).await?;
            for team_id in scope.teams_to_load() {
                keys.extend(state.store.keys_of_team(&team_id).await?);
            }
            if let Some(creator) = scope.creator_to_load() {
                keys.extend(state.store.keys_created_by(creator).await?);
            }
            keys
        }
    };
    candidates.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.token.cmp(&b.token)));
    candidates.dedup_by(|a, b| a.token == b.token);
    let now = chrono::Utc::now();
    let visible: Vec<Key> = candidates
        .into_iter()
        .filter(|k| {
            scope.shows(k) && status.is_none_or(|s| s.admits(k, now)) && expiry.is_none_or(|e| e.admits(k, now))
        })
        .collect();
    let total = visible.len();
    let shown = visible.iter().skip((page - 1).saturating_mul(size)).take(size);
    let keys: Vec<Value> = if full { shown.map(to_value).collect() } else { shown.map(|k| json!(k.token)).collect() };
    Ok(Json(json!({
        "keys": keys,
        "total_count": total,
        "current_page": page,
        "total_pages": total.div_ceil(size),
    })))
}

/// A whole-number query parameter with FastAPI's bounds and 422 answers.
fn bounded(authed: &Authed, name: &str, default: usize, max: Option<usize>) -> Result<usize, ProxyError> {
    let Some(raw) = authed.query(name) else {
        return Ok(default);
    };
    let invalid = |kind: &'static str, msg: String| {
        ProxyError::Validation(vec![ValidationItem { kind, loc: vec![json!("query"), json!(name)], msg }])
    };
    let n: i64 = raw.trim().parse().map_err(|_| {
        invalid("int_parsing", "Input should be a valid integer, unable to parse string as an integer".into())
    })?;
    if n < 1 {
        return Err(invalid("greater_than_equal", "Input should be greater than or equal to 1".into()));
    }
    match max {
        Some(max) if n > max as i64 => {
            Err(invalid("less_than_equal", format!("Input should be less than or equal to {max}")))
        }
        _ => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// A boolean query parameter as pydantic reads one.
pub(super) fn flag(authed: &Authed, name: &str) -> Result<bool, ProxyError> {
    match authed.query(name).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "yes" | "on" | "t" | "y") => Ok(true),
        Some("false" | "0" | "no" | "off" | "f" | "n") => Ok(false),
        Some(_) => Err(ProxyError::Validation(vec![ValidationItem {
            kind: "bool_parsing",
            loc: vec![json!("query"), json!(name)],
            msg: "Input should be a valid boolean, unable to interpret input".into(),
        }])),
    }
}
