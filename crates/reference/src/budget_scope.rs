//! The budgets a virtual key's request is checked against (the key's own and its owners'), with
//! what each has spent by the counters. Inference, the routes outside it that check budgets
//! (`handlers::key_budget`) and authentication under `team_budgets_on_every_route` read them the
//! same way.

use crate::authz::{KeyFacts, MemberFacts, TeamFacts, UserFacts};
use crate::domain::{Key, Team, User};
use crate::error::ProxyError;
use crate::spend::Entity;
use crate::storage::Membership;
use crate::store::Store;

pub(crate) struct Budgets<'a> {
    pub key: KeyFacts<'a>,
    pub team: Option<TeamFacts<'a>>,
    /// The key's user in the key's team, when both are set.
    pub member: Option<MemberFacts<'a>>,
    /// Only for a personal key.
    pub user: Option<UserFacts<'a>>,
}

/// The key's budgets; `user` is the key's user for a personal key only, and `membership` that
/// user's in the key's team.
pub(crate) async fn load<'a>(
    store: &Store,
    key: &'a Key,
    team: Option<&'a Team>,
    user: Option<&'a User>,
    membership: &Membership,
) -> Result<Budgets<'a>, ProxyError> {
    let spend = |entity| async move { store.current_spend(&entity).await };
    let key_facts = KeyFacts::of(key, spend(Entity::Key(key.token.clone())).await?);
    let team_facts = match team {
        Some(t) => Some(TeamFacts {
            team_id: &t.team_id,
            max_budget: t.max_budget,
            spend: spend(Entity::Team(t.team_id.clone())).await?,
        }),
        None => None,
    };
    let user_facts = match user {
        Some(u) => Some(UserFacts {
            user_id: &u.user_id,
            max_budget: u.max_budget,
            spend: spend(Entity::User(u.user_id.clone())).await?,
        }),
        None => None,
    };
    let member = match (&key.user_id, team) {
        (Some(user_id), Some(team)) => {
            let max_budget = membership.max_budget;
            let spent = match max_budget {
                Some(_) => spend(Entity::TeamMember(user_id.clone(), team.team_id.clone())).await?,
                None => 0.0,
            };
            Some(MemberFacts { user_id, team_id: &team.team_id, max_budget, spend: spent })
        }
        _ => None,
    };
    Ok(Budgets { key: key_facts, team: team_facts, member, user: user_facts })
}
