//! Spend counters: what budget checks read.
//!
//! LiteLLM enforces budgets from in-memory counters (`spend:key:<hash>`, `spend:team:<id>`,
//! `spend:user:<id>`, `spend:team_member:<user>:<team>`), seeded from the database row's `spend` on first touch and incremented by every
//! request's cost, not from the cached objects' `spend`. The reference does the same, per proxy
//! process; it also writes each cost to the database before responding, so a counter seeded later
//! (another replica, or after a regenerate) starts from the exact total.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Whose spend a counter holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Entity {
    Key(String),
    Team(String),
    User(String),
    /// A user's spend through the keys of one team: `(user_id, team_id)`.
    TeamMember(String, String),
}

impl Entity {
    /// LiteLLM's counter name.
    pub fn counter_name(&self) -> String {
        match self {
            Entity::Key(token) => format!("spend:key:{token}"),
            Entity::Team(id) => format!("spend:team:{id}"),
            Entity::User(id) => format!("spend:user:{id}"),
            Entity::TeamMember(user, team) => format!("spend:team_member:{user}:{team}"),
        }
    }
}

#[derive(Default)]
pub(crate) struct SpendCounters {
    counters: Mutex<HashMap<String, f64>>,
}

impl SpendCounters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, f64>> {
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, entity: &Entity) -> Option<f64> {
        self.lock().get(&entity.counter_name()).copied()
    }

    /// Seeds a counter from the database unless another request seeded it first.
    pub fn seed(&self, entity: &Entity, stored: f64) -> f64 {
        *self.lock().entry(entity.counter_name()).or_insert(stored)
    }

    /// Sets a counter (`/key/update` with `spend`).
    pub fn set(&self, entity: &Entity, value: f64) {
        self.lock().insert(entity.counter_name(), value);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Adds a request's cost to the counters that exist; an absent counter is seeded from the
    /// database, which already holds the cost, on its first read.
    pub fn add(&self, entities: &[Entity], cost: f64) {
        let mut counters = self.lock();
        for entity in entities {
            if let Some(value) = counters.get_mut(&entity.counter_name()) {
                *value += cost;
            }
        }
    }
}

/// One row of `spend_logs`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub(crate) struct SpendLog {
    pub request_id: String,
    pub api_key: String,
    pub spend: f64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub model: String,
    pub team_id: Option<String>,
    pub organization_id: Option<String>,
    pub user: Option<String>,
    #[sqlx(rename = "startTime")]
    pub start_time: DateTime<Utc>,
    /// The serving deployment's own model (`litellm_params.model`); `model` is the model group.
    pub deployment_model: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_seed_once_and_add_only_to_seeded_ones() {
        let c = SpendCounters::default();
        let key = Entity::Key("h".into());
        let team = Entity::Team("t".into());
        assert_eq!(c.seed(&key, 1.5), 1.5);
        assert_eq!(c.seed(&key, 9.0), 1.5, "a second seed keeps the counter");
        c.add(&[key.clone(), team.clone()], 0.5);
        assert_eq!(c.get(&key), Some(2.0));
        assert_eq!(c.get(&team), None, "an unseeded counter reseeds from the database later");
        c.set(&key, 0.0);
        assert_eq!(c.get(&key), Some(0.0));
        assert_eq!(key.counter_name(), "spend:key:h");
    }
}
