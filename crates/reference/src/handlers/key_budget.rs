//! A virtual key's own budget on the routes outside inference that check it
//! (`authz::budget_checked_on`): LiteLLM checks it while authenticating, before the handler looks at
//! the request, so these handlers ask first.

use crate::AppState;
use crate::authz::{self, KeyFacts};
use crate::domain::Caller;
use crate::error::ProxyError;
use crate::spend::Entity;

pub(crate) async fn check(state: &AppState, caller: &Caller, route: &str) -> Result<(), ProxyError> {
    if !authz::budget_checked_on(route, state.store.quirks()) {
        return Ok(());
    }
    let Some(hash) = &caller.key_hash else { return Ok(()) };
    let Some(key) = state.store.key(hash).await? else { return Ok(()) };
    if key.max_budget.is_none() {
        return Ok(());
    }
    let spend = state.store.current_spend(&Entity::Key(key.token.clone())).await?;
    match authz::key_budget_spent(&KeyFacts::of(&key, spend)) {
        Some(d) => Err(super::inference::denial_error(&d)),
        None => Ok(()),
    }
}
