//! /key/block and /key/unblock: an admin of a key switches it off or on again.
//!
//! The key may be named by its `sk-` form or by its hash. Only the key's admins may do it (see
//! `authz::check_key_block`), and the cached copy is evicted by hash, so the next call through the
//! key sees the change on this replica at once.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;

use super::to_value;
use crate::AppState;
use crate::authz;
use crate::error::ProxyError;
use crate::request::Authed;
use crate::token::hash_if_needed;

#[derive(Debug, Deserialize)]
pub(crate) struct BlockKeyRequest {
    key: String,
}

pub(crate) async fn block(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    set_blocked(&state, &authed, "/key/block", true).await
}

pub(crate) async fn unblock(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    set_blocked(&state, &authed, "/key/unblock", false).await
}

async fn set_blocked(
    state: &AppState,
    authed: &Authed,
    route: &'static str,
    blocked: bool,
) -> Result<Json<Value>, ProxyError> {
    let req: BlockKeyRequest = authed.parse()?;
    if !is_valid_key_format(&req.key) {
        return Err(ProxyError::typed(400, "bad_request_error", Some("key"), "Invalid key format."));
    }
    let token = hash_if_needed(&req.key);
    let found = state.store.key_uncached(&token).await?;
    // A caller who is not a proxy admin learns of a missing key from the admin check, which looks the
    // key up first and words its 404 differently from the one an admin gets.
    if !authed.caller.is_proxy_admin() {
        let Some(key) = &found else {
            return Err(ProxyError::detail_error(404, format!("Key not found: {token}")));
        };
        // The admin check reads the key's team from the database, not from the cache.
        let team = match &key.team_id {
            Some(id) => state.store.team_uncached(id).await?,
            None => None,
        };
        authz::check_key_block(&authed.caller, team.as_ref(), route)
            .map_err(|d| ProxyError::detail_error(d.status(), d.message()))?;
    }
    let Some(mut key) = found else {
        return Err(ProxyError::typed(404, "not_found_error", Some("key"), "Key not found."));
    };
    key.blocked = blocked;
    state.store.save_key_blocked(&key).await?;
    Ok(Json(to_value(&key)))
}

/// LiteLLM's accepted forms: an `sk-` key of URL-safe characters, or a 64-digit hex hash, 3 to 100
/// characters long either way.
fn is_valid_key_format(key: &str) -> bool {
    let url_safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let sk = key.strip_prefix("sk-").is_some_and(|rest| !rest.is_empty() && rest.chars().all(url_safe));
    let hash = key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit());
    (3..=100).contains(&key.len()) && (sk || hash)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::is_valid_key_format;

    #[rstest]
    #[case::sk_key("sk-Fn8Ej39NxjAXrvpUGKghGw", true)]
    #[case::sk_with_dash_and_underscore("sk-a_b-c", true)]
    #[case::hash(&"ab".repeat(32), true)]
    #[case::bare_prefix("sk-", false)]
    #[case::no_prefix("nope", false)]
    #[case::short_hash(&"ab".repeat(31), false)]
    #[case::not_hex(&"zz".repeat(32), false)]
    #[case::dot_inside("sk-a.b", false)]
    #[case::too_long(&format!("sk-{}", "a".repeat(98)), false)]
    #[case::longest(&format!("sk-{}", "a".repeat(97)), true)]
    fn key_formats(#[case] key: &str, #[case] valid: bool) {
        assert_eq!(is_valid_key_format(key), valid);
    }
}
