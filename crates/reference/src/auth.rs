//! Authentication: which credential a request carries, and who it belongs to; and whether the key
//! may be used at all (expired, blocked, its team blocked).

use axum::http::HeaderMap;
use chrono::Utc;

use super::Quirk;
use super::authz;
use super::budget_scope;
use super::domain::{Caller, Key, Team};
use super::error::ProxyError;
use super::storage::Membership;
use super::store::Store;
use super::token::{hash_token, last_chars};

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    None,
    Malformed,
    Key(String),
}

fn strip_scheme(value: &str) -> Option<&str> {
    ["Bearer ", "bearer ", "Basic "].iter().find_map(|p| value.strip_prefix(p))
}

/// The first credential header that matches, in LiteLLM's order.
pub(crate) fn extract_credential(headers: &HeaderMap) -> Credential {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = header("x-litellm-api-key") {
        return Credential::Key(strip_scheme(v).unwrap_or(v).to_string());
    }
    if let Some(v) = header("authorization").filter(|v| !v.is_empty()) {
        return match strip_scheme(v) {
            Some(k) => Credential::Key(k.trim().to_string()),
            None => Credential::Malformed,
        };
    }
    for name in ["api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"] {
        if let Some(v) = header(name) {
            return Credential::Key(v.to_string());
        }
    }
    Credential::None
}

fn auth_error(message: impl Into<String>) -> ProxyError {
    ProxyError::typed(401, "auth_error", None, message)
}

fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        "****".to_string()
    } else {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    }
}

/// Resolves the request's credential to a caller, or LiteLLM's 401.
pub(crate) async fn authenticate(store: &Store, master_key: &str, headers: &HeaderMap) -> Result<Caller, ProxyError> {
    authenticate_with_key(store, master_key, headers).await.map(|(caller, _)| caller)
}

/// As `authenticate`, also returning the key object the request authenticated with, as read
/// through the cache (`None` for the master key): LLM routes take their limits from it.
pub(crate) async fn authenticate_with_key(
    store: &Store,
    master_key: &str,
    headers: &HeaderMap,
) -> Result<(Caller, Option<Key>), ProxyError> {
    let raw = match extract_credential(headers) {
        Credential::None => return Err(auth_error("Authentication Error, No api key passed in.")),
        Credential::Malformed => {
            return Err(auth_error(
                "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.",
            ));
        }
        Credential::Key(k) if k.is_empty() => return Err(auth_error("Authentication Error, No api key passed in.")),
        Credential::Key(k) => k,
    };
    if constant_time_eq(raw.as_bytes(), master_key.as_bytes()) {
        return Ok((Caller::master(), None));
    }
    if !raw.starts_with("sk-") {
        return Err(auth_error(format!(
            "LiteLLM Virtual Key expected. Received={}, expected to start with 'sk-'.",
            masked(&raw)
        )));
    }
    let token = hash_token(&raw);
    let Some(key) = store.key(&token).await? else {
        return Err(ProxyError::typed(
            401,
            "token_not_found_in_db",
            Some("key"),
            "Authentication Error, Invalid API key provided.",
        ));
    };
    check_key_usable(store, &key, &raw).await?;
    let caller = caller_for_key(store, key.clone()).await?;
    Ok((caller, Some(key)))
}

async fn check_key_usable(store: &Store, key: &Key, raw: &str) -> Result<(), ProxyError> {
    let now = Utc::now();
    if let Some(expires) = key.expires.filter(|e| *e < now) {
        let last4 = last_chars(raw, 4);
        return Err(ProxyError::typed(
            401,
            "expired_key",
            Some(&format!("sk-...{last4}")),
            format!(
                "Authentication Error - Expired Key. Key Expiry time {} and current time {}",
                expires.format("%Y-%m-%d %H:%M:%S%.f+00:00"),
                now.format("%Y-%m-%d %H:%M:%S%.f+00:00")
            ),
        ));
    }
    if key.blocked {
        return Err(auth_error("Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin."));
    }
    let Some(team) = (match &key.team_id {
        Some(id) => store.team(id).await?,
        None => None,
    }) else {
        return Ok(());
    };
    if team.blocked {
        return Err(auth_error(format!(
            "Authentication Error, Team={} is blocked. Update via `/team/unblock` if you're an admin.",
            team.team_id
        )));
    }
    if store.quirks().contains(Quirk::TeamBudgetsOnEveryRoute) {
        team_budgets_spent(store, key, &team).await?;
    }
    Ok(())
}

/// LiteLLM 1.83's check, while authenticating any route, of the team's budget and of the key's
/// user's budget within the team (`team_budgets_on_every_route`).
async fn team_budgets_spent(store: &Store, key: &Key, team: &Team) -> Result<(), ProxyError> {
    let membership = match &key.user_id {
        Some(user_id) => super::storage::membership(store.uncached_tables(), user_id, &team.team_id).await?,
        None => Membership::default(),
    };
    let budgets = budget_scope::load(store, key, Some(team), None, &membership).await?;
    match authz::owner_budget_spent(budgets.team.as_ref(), budgets.member.as_ref(), None) {
        Some(denial) => Err(denial.into()),
        None => Ok(()),
    }
}

async fn caller_for_key(store: &Store, key: Key) -> Result<Caller, ProxyError> {
    let user = match &key.user_id {
        Some(id) => store.user(id).await?,
        None => None,
    };
    let org_roles = match &user {
        Some(u) => super::storage::org_memberships_of_user(store.uncached_tables(), &u.user_id)
            .await?
            .into_iter()
            .map(|m| (m.organization_id, m.user_role))
            .collect(),
        None => Vec::new(),
    };
    Ok(Caller {
        is_master_key: false,
        user_id: key.user_id.clone(),
        user_role: user.and_then(|u| u.user_role),
        key_hash: Some(key.token.clone()),
        key_team_id: key.team_id.clone(),
        key_allowed_routes: key.allowed_routes.clone(),
        key_spend_routes: key.permissions.get("get_spend_routes").is_some(),
        org_roles,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn credential_extraction_follows_litellm_order() {
        let cases: Vec<(Vec<(&'static str, &'static str)>, Credential)> = vec![
            (vec![], Credential::None),
            (vec![("authorization", "Bearer sk-a")], Credential::Key("sk-a".into())),
            (vec![("authorization", "bearer sk-a")], Credential::Key("sk-a".into())),
            (vec![("authorization", "Token sk-a")], Credential::Malformed),
            (vec![("x-litellm-api-key", "sk-b"), ("authorization", "Bearer sk-a")], Credential::Key("sk-b".into())),
            (vec![("x-litellm-api-key", "Bearer sk-b")], Credential::Key("sk-b".into())),
            (vec![("x-api-key", "sk-c")], Credential::Key("sk-c".into())),
            (vec![("api-key", "sk-d"), ("x-api-key", "sk-c")], Credential::Key("sk-d".into())),
        ];
        for (pairs, expected) in cases {
            assert_eq!(extract_credential(&headers(&pairs)), expected, "{pairs:?}");
        }
    }

    #[test]
    fn non_sk_keys_are_masked_in_messages() {
        assert_eq!(masked("abcdefghij"), "abcd****ghij");
        assert_eq!(masked("short"), "****");
    }
}
