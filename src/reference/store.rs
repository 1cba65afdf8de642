//! Storage behind the management-object cache: the one place that reads through the cache and
//! evicts what every write changed.
//!
//! Cache keys are LiteLLM's (spec Part 3 §1.2): the bare key hash, `team_id:<id>`, the bare user id,
//! and `object_permission_id:<id>`, so quirks that reproduce LiteLLM's invalidation bugs act on the
//! same keys LiteLLM used. The quirk `stale_team_cache` (BerriAI/litellm#25286) acts here, at the
//! eviction after a team's permission row is written.

use std::time::Duration;

use sqlx::PgPool;

use super::cache::TtlCache;
use super::domain::{Key, ObjectPermission, Team, User};
use super::quirks::{Quirk, Quirks};
use super::storage;

#[derive(Clone, Debug)]
enum Cached {
    Key(Key),
    Team(Team),
    User(User),
    Permission(ObjectPermission),
}

pub(crate) struct Store {
    pub db: PgPool,
    cache: TtlCache<Cached>,
    quirks: Quirks,
}

/// Whose object-permission row a write changes: LiteLLM's `/team/update` forgot to evict the team's
/// row, while every other writer evicted its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PermissionOwner {
    Team,
    Key,
    Organization,
}

fn team_key(team_id: &str) -> String {
    format!("team_id:{team_id}")
}

fn permission_key(id: &str) -> String {
    format!("object_permission_id:{id}")
}

impl Store {
    pub fn new(db: PgPool, ttl: Duration, quirks: Quirks) -> Store {
        Store { db, cache: TtlCache::new(ttl), quirks }
    }

    /// The upstream bugs this proxy reproduces.
    pub fn quirks(&self) -> Quirks {
        self.quirks
    }

    pub async fn key(&self, token: &str) -> sqlx::Result<Option<Key>> {
        if let Some(Cached::Key(k)) = self.cache.get(token) {
            return Ok(Some(k));
        }
        let found = storage::key(&self.db, token).await?;
        if let Some(k) = &found {
            self.cache.set(token, Cached::Key(k.clone()));
        }
        Ok(found)
    }

    pub async fn team(&self, team_id: &str) -> sqlx::Result<Option<Team>> {
        if let Some(Cached::Team(t)) = self.cache.get(&team_key(team_id)) {
            return Ok(Some(t));
        }
        self.team_from_db(team_id).await
    }

    /// Reads the team from the database and refreshes the cache (LiteLLM's `check_db_only`).
    pub async fn team_from_db(&self, team_id: &str) -> sqlx::Result<Option<Team>> {
        let found = storage::team(&self.db, team_id).await?;
        if let Some(t) = &found {
            self.cache.set(&team_key(team_id), Cached::Team(t.clone()));
        }
        Ok(found)
    }

    pub async fn user(&self, user_id: &str) -> sqlx::Result<Option<User>> {
        if let Some(Cached::User(u)) = self.cache.get(user_id) {
            return Ok(Some(u));
        }
        let found = storage::user(&self.db, user_id).await?;
        if let Some(u) = &found {
            self.cache.set(user_id, Cached::User(u.clone()));
        }
        Ok(found)
    }

    pub async fn object_permission(&self, id: &str) -> sqlx::Result<Option<ObjectPermission>> {
        if let Some(Cached::Permission(p)) = self.cache.get(&permission_key(id)) {
            return Ok(Some(p));
        }
        let found = storage::object_permission(&self.db, id).await?;
        if let Some(p) = &found {
            self.cache.set(&permission_key(id), Cached::Permission(p.clone()));
        }
        Ok(found)
    }

    pub async fn save_user(&self, user: &User) -> sqlx::Result<()> {
        storage::save_user(&self.db, user).await?;
        self.cache.delete(&user.user_id);
        Ok(())
    }

    /// Deletes the users and their keys; returns the ids of the users that existed.
    pub async fn delete_users(&self, user_ids: &[String]) -> sqlx::Result<Vec<String>> {
        let (deleted, tokens) = storage::delete_users(&self.db, user_ids).await?;
        for id in user_ids {
            self.cache.delete(id);
        }
        for token in &tokens {
            self.cache.delete(token);
        }
        Ok(deleted)
    }

    pub async fn save_team(&self, team: &Team) -> sqlx::Result<()> {
        storage::save_team(&self.db, team).await?;
        self.cache.delete(&team_key(&team.team_id));
        Ok(())
    }

    pub async fn delete_teams(&self, team_ids: &[String]) -> sqlx::Result<()> {
        let tokens = storage::delete_teams(&self.db, team_ids).await?;
        for id in team_ids {
            self.cache.delete(&team_key(id));
        }
        for token in &tokens {
            self.cache.delete(token);
        }
        Ok(())
    }

    pub async fn save_key(&self, key: &Key) -> sqlx::Result<()> {
        storage::save_key(&self.db, key).await?;
        self.cache.delete(&key.token);
        Ok(())
    }

    pub async fn delete_keys(&self, tokens: &[String]) -> sqlx::Result<Vec<String>> {
        let deleted = storage::delete_keys(&self.db, tokens).await?;
        for token in tokens {
            self.cache.delete(token);
        }
        Ok(deleted)
    }

    /// Evicts teams and keys whose rows a write elsewhere changed (access-group mirrors).
    pub fn evict(&self, team_ids: &[String], tokens: &[String]) {
        for id in team_ids {
            self.cache.delete(&team_key(id));
        }
        for token in tokens {
            self.cache.delete(token);
        }
    }

    pub async fn save_object_permission(&self, permission: &ObjectPermission, owner: PermissionOwner) -> sqlx::Result<()> {
        storage::save_object_permission(&self.db, permission).await?;
        if !keeps_stale_permission(self.quirks, owner) {
            self.cache.delete(&permission_key(&permission.object_permission_id));
        }
        Ok(())
    }
}

/// True when a write of `owner`'s permission row leaves the cached copy in place: LiteLLM 1.83's
/// `/team/update` with `stale_team_cache` on.
fn keeps_stale_permission(quirks: Quirks, owner: PermissionOwner) -> bool {
    owner == PermissionOwner::Team && quirks.contains(Quirk::StaleTeamCache)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_team_write_with_the_quirk_keeps_the_stale_permission() {
        let on = Quirks::NONE.with(Quirk::StaleTeamCache);
        let other = Quirks::NONE.with(Quirk::OrgAdminGateNeedsOrgIdInBody);
        let cases = [
            (Quirks::NONE, PermissionOwner::Team, false),
            (Quirks::NONE, PermissionOwner::Key, false),
            (on, PermissionOwner::Team, true),
            (on, PermissionOwner::Key, false),
            (other, PermissionOwner::Team, false),
        ];
        for (quirks, owner, stale) in cases {
            assert_eq!(keeps_stale_permission(quirks, owner), stale, "{quirks} {owner:?}");
        }
    }
}
