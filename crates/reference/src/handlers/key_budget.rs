//! The budgets of a virtual key and of its owners on the routes outside inference that check them
//! (`authz::budget_checked_on`): LiteLLM checks them while authenticating, before the handler looks
//! at the request, so these handlers ask first.

use super::model_scope;
use crate::AppState;
use crate::authz::{self, BudgetsChecked};
use crate::budget_scope;
use crate::domain::Caller;
use crate::error::ProxyError;

pub(crate) async fn check(state: &AppState, caller: &Caller, route: &str) -> Result<(), ProxyError> {
    let checked = authz::budget_checked_on(route, state.store.quirks());
    if checked == BudgetsChecked::None {
        return Ok(());
    }
    let Some(hash) = &caller.key_hash else { return Ok(()) };
    let Some(key) = state.store.key(hash).await? else { return Ok(()) };
    let (team, user) = model_scope::key_owners(state, &key).await?;
    let membership = model_scope::membership(state, &key, team.as_ref()).await?;
    let b = budget_scope::load(&state.store, &key, team.as_ref(), user.as_ref(), &membership).await?;
    let spent = match checked {
        BudgetsChecked::Key => authz::key_budget_spent(&b.key),
        _ => authz::budget_spent(&b.key, b.team.as_ref(), b.member.as_ref(), b.user.as_ref()),
    };
    match spent {
        Some(d) => Err(d.into()),
        None => Ok(()),
    }
}
