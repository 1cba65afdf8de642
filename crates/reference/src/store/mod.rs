//! Storage behind the management-object cache: the only way to the tables it covers (keys, teams,
//! users, object permissions), so every read of them goes through the cache or says it does not, and
//! every write evicts what it changed. The other tables are reached through `uncached_tables`.
//!
//! Cache keys are LiteLLM's: the bare key hash, `team_id:<id>`, the bare user id, and
//! `object_permission_id:<id>`, so quirks that reproduce LiteLLM's invalidation bugs act on the
//! same keys LiteLLM used. The quirks of the stale-cache family act here: `stale_team_cache`
//! (BerriAI/litellm#25286) at the eviction after a team's permission row is written and where a team's
//! MCP ceiling is read,
//! `double_hash_token_on_update` (BerriAI/litellm#24969, #25552) where a key sent by the client is turned
//! into the cache key to evict, `stale_key_write_back` (BerriAI/litellm#25553) and
//! `in_flight_key_write_back` (#25553, #32247) after a successful LLM request, and
//! `no_cross_replica_invalidation` where an eviction is published to the other replicas.
//!
//! Every eviction completes before the write's handler returns: locally at once, and on the other
//! replicas through `invalidation` (Postgres LISTEN/NOTIFY, acknowledged before the response).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;

mod access_groups;
mod spend_writer;
mod sql;

pub(crate) use sql::Cursor;

use super::cache::TtlCache;
use super::domain::{Key, ObjectPermission, Team, User};
use super::invalidation;
use super::spend::{Entity, SpendCounters, SpendLog};
use super::spend_logs::{LoggedRequest, SpendLogQuery};
use super::token::{hash_if_needed, hash_token};
use crate::{Quirk, Quirks};

#[derive(Clone, Debug)]
enum Cached {
    Key(Key),
    Team(Team),
    User(User),
    Permission(ObjectPermission),
}

pub(crate) struct Store {
    db: PgPool,
    cache: Arc<TtlCache<Cached>>,
    quirks: Quirks,
    /// With `stale_key_write_back`: the pre-request objects of the last successful request per cache
    /// key, whose background write-back lands right after the next eviction of that key.
    pending_write_back: Mutex<HashMap<String, Cached>>,
    /// What budgets read spend from.
    pub spend: SpendCounters,
    spend_writer: spend_writer::SpendWriter,
}

/// Whose object-permission row a write changes: LiteLLM's `/team/update` forgot to evict the team's
/// row, while every other writer evicted its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PermissionOwner {
    Team,
    Key,
    Organization,
}

/// False for text Postgres cannot store (it has a NUL character), so no row can have it: a lookup
/// by it finds nothing without asking the database, which would reject it.
pub(crate) fn storable(text: &str) -> bool {
    !text.contains('\0')
}

fn team_key(team_id: &str) -> String {
    format!("team_id:{team_id}")
}

fn permission_key(id: &str) -> String {
    format!("object_permission_id:{id}")
}

impl Store {
    pub fn new(db: PgPool, ttl: Duration, quirks: Quirks) -> Store {
        Store {
            spend_writer: spend_writer::SpendWriter::start(db.clone()),
            db,
            cache: Arc::new(TtlCache::new(ttl)),
            quirks,
            pending_write_back: Mutex::new(HashMap::new()),
            spend: SpendCounters::default(),
        }
    }

    /// Drops everything this proxy holds in memory (cached objects, pending write-backs, spend
    /// counters), as a proxy started afresh would have it.
    pub fn forget(&self) {
        self.cache.clear();
        self.pending_write_back.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.spend.clear();
    }

    /// True when this proxy takes part in cross-replica invalidation.
    pub fn invalidates_across_replicas(&self) -> bool {
        !self.quirks.contains(Quirk::NoCrossReplicaInvalidation)
    }

    /// Starts applying other replicas' invalidations to this proxy's cache (see `invalidation`).
    pub async fn listen_for_invalidations(&self) -> sqlx::Result<tokio::task::JoinHandle<()>> {
        let cache = Arc::clone(&self.cache);
        let evict = Arc::new(move |keys: &[String]| {
            for key in keys {
                cache.delete(key);
            }
        });
        let cache = Arc::clone(&self.cache);
        let clear = Arc::new(move || cache.clear());
        invalidation::listen(self.db.clone(), evict, clear).await
    }

    /// Evicts `keys` here and, unless `no_cross_replica_invalidation` is on, in every other replica
    /// before returning.
    async fn evict(&self, keys: Vec<String>) -> sqlx::Result<()> {
        for key in &keys {
            self.cache.delete(key);
        }
        if self.invalidates_across_replicas() {
            invalidation::publish(&self.db, &keys).await?;
        }
        // After every replica evicted, so the resurrected object is not evicted again.
        for key in &keys {
            self.land_pending_write_back(key);
        }
        Ok(())
    }

    /// `stale_key_write_back`: LiteLLM 1.83 wrote the request's key (and team) object back from a
    /// background task after the response, so under traffic the write could land after a concurrent
    /// eviction and resurrect the pre-update object with a fresh TTL (BerriAI/litellm#25553). The
    /// reference makes that race deterministic: the last request's write-back lands right after the
    /// next eviction of the same cache key.
    fn land_pending_write_back(&self, key: &str) {
        let pending = self.pending_write_back.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        if let Some(stale) = pending {
            self.cache.set_fresh(key, stale);
        }
    }

    /// The spend budgets compare against: the counter, seeded from the database on first touch.
    pub async fn current_spend(&self, entity: &Entity) -> sqlx::Result<f64> {
        if let Some(spend) = self.spend.get(entity) {
            return Ok(spend);
        }
        let stored = sql::stored_spend(&self.db, entity).await?;
        Ok(self.spend.seed(entity, stored))
    }

    /// After a successful LLM request: with `stale_key_write_back`, writes the objects the request
    /// started with back with a fresh TTL (and keeps them for the next eviction, above); the
    /// corrected proxy never writes a key object back after a request.
    pub fn after_request(&self, key: &Key, team: Option<&Team>) {
        if self.quirks.contains(Quirk::InFlightKeyWriteBack) {
            self.write_back_in_flight_key(key);
        }
        if !self.quirks.contains(Quirk::StaleKeyWriteBack) {
            return;
        }
        let mut objects = vec![(key.token.clone(), Cached::Key(key.clone()))];
        if let Some(team) = team {
            objects.push((team_key(&team.team_id), Cached::Team(team.clone())));
        }
        let mut pending = self.pending_write_back.lock().unwrap_or_else(|p| p.into_inner());
        for (cache_key, object) in objects {
            self.cache.set_fresh(&cache_key, object.clone());
            pending.insert(cache_key, object);
        }
    }

    /// `in_flight_key_write_back`: the spend tracking of LiteLLM's #25553 and #32247 wrote the key
    /// object the request was authorized with back into the cache once the call finished. When nothing
    /// changed the key during the call, that object is the row as it stands and the write changes
    /// nothing anyone can see; only a write that evicted the key while the call was in flight is
    /// undone, so only concurrent traffic shows the bug, and with a slow upstream it shows every time.
    fn write_back_in_flight_key(&self, key: &Key) {
        self.cache.set_fresh(&key.token, Cached::Key(key.clone()));
    }

    /// The upstream bugs this proxy reproduces.
    pub fn quirks(&self) -> Quirks {
        self.quirks
    }

    pub async fn key(&self, token: &str) -> sqlx::Result<Option<Key>> {
        if !storable(token) {
            return Ok(None);
        }
        if let Some(Cached::Key(k)) = self.cache.get(token) {
            return Ok(Some(k));
        }
        let seen = self.cache.evictions();
        let found = sql::key(&self.db, token).await?;
        if let Some(k) = &found {
            self.cache.fill(token, Cached::Key(k.clone()), seen);
        }
        Ok(found)
    }

    pub async fn team(&self, team_id: &str) -> sqlx::Result<Option<Team>> {
        if !storable(team_id) {
            return Ok(None);
        }
        if let Some(Cached::Team(t)) = self.cache.get(&team_key(team_id)) {
            return Ok(Some(t));
        }
        self.team_from_db(team_id).await
    }

    /// Reads the team from the database and refreshes the cache (LiteLLM's `check_db_only`).
    pub async fn team_from_db(&self, team_id: &str) -> sqlx::Result<Option<Team>> {
        if !storable(team_id) {
            return Ok(None);
        }
        let seen = self.cache.evictions();
        let found = sql::team(&self.db, team_id).await?;
        if let Some(t) = &found {
            self.cache.fill(&team_key(team_id), Cached::Team(t.clone()), seen);
        }
        Ok(found)
    }

    pub async fn user(&self, user_id: &str) -> sqlx::Result<Option<User>> {
        if !storable(user_id) {
            return Ok(None);
        }
        if let Some(Cached::User(u)) = self.cache.get(user_id) {
            return Ok(Some(u));
        }
        let seen = self.cache.evictions();
        let found = sql::user(&self.db, user_id).await?;
        if let Some(u) = &found {
            self.cache.fill(user_id, Cached::User(u.clone()), seen);
        }
        Ok(found)
    }

    pub async fn object_permission(&self, id: &str) -> sqlx::Result<Option<ObjectPermission>> {
        if !storable(id) {
            return Ok(None);
        }
        if let Some(Cached::Permission(p)) = self.cache.get(&permission_key(id)) {
            return Ok(Some(p));
        }
        let seen = self.cache.evictions();
        let found = sql::object_permission(&self.db, id).await?;
        if let Some(p) = &found {
            self.cache.fill(&permission_key(id), Cached::Permission(p.clone()), seen);
        }
        Ok(found)
    }

    /// The pool for the tables the cache does not cover (organizations, memberships, budgets,
    /// deployments, the MCP registry); the covered tables' queries are private to the store.
    pub fn uncached_tables(&self) -> &PgPool {
        &self.db
    }

    /// The key row as stored, past the cache: management routes read the database.
    pub async fn key_uncached(&self, token: &str) -> sqlx::Result<Option<Key>> {
        if !storable(token) {
            return Ok(None);
        }
        sql::key(&self.db, token).await
    }

    /// The team row as stored, past the cache and without refreshing it (unlike `team_from_db`).
    pub async fn team_uncached(&self, team_id: &str) -> sqlx::Result<Option<Team>> {
        if !storable(team_id) {
            return Ok(None);
        }
        sql::team(&self.db, team_id).await
    }

    /// The user row as stored, past the cache.
    pub async fn user_uncached(&self, user_id: &str) -> sqlx::Result<Option<User>> {
        if !storable(user_id) {
            return Ok(None);
        }
        sql::user(&self.db, user_id).await
    }

    /// The permission row as stored, past the cache.
    pub async fn permission_uncached(&self, id: &str) -> sqlx::Result<Option<ObjectPermission>> {
        if !storable(id) {
            return Ok(None);
        }
        sql::object_permission(&self.db, id).await
    }

    /// The permission row a team's MCP ceiling is built from: read from the database (LiteLLM 1.109's
    /// `check_db_only` path), so a `/team/update` just before is always seen. With `stale_team_cache`
    /// it is read through the cache, as LiteLLM 1.83 did (BerriAI/litellm#25286).
    pub async fn team_ceiling_permission(&self, id: &str) -> sqlx::Result<Option<ObjectPermission>> {
        if self.quirks.contains(Quirk::StaleTeamCache) {
            self.object_permission(id).await
        } else {
            self.permission_uncached(id).await
        }
    }

    pub async fn user_by_email(&self, email: &str) -> sqlx::Result<Option<User>> {
        if !storable(email) {
            return Ok(None);
        }
        sql::user_by_email(&self.db, email).await
    }

    pub async fn teams_of_user(&self, user_id: &str) -> sqlx::Result<Vec<Team>> {
        sql::teams_of_user(&self.db, user_id).await
    }

    pub async fn teams_of_organization(&self, organization_id: &str) -> sqlx::Result<Vec<Team>> {
        sql::teams_of_organization(&self.db, organization_id).await
    }

    /// Up to `limit` teams after `after`, oldest first: the admin dump reads the table a page at a time.
    pub async fn teams_page(&self, after: Option<&Cursor>, limit: i64) -> sqlx::Result<Vec<Team>> {
        sql::teams_page(&self.db, after, limit).await
    }

    pub async fn keys_of_user(&self, user_id: &str) -> sqlx::Result<Vec<Key>> {
        sql::keys_of_user(&self.db, user_id).await
    }

    pub async fn keys_created_by(&self, user_id: &str) -> sqlx::Result<Vec<Key>> {
        sql::keys_created_by(&self.db, user_id).await
    }

    pub async fn keys_of_team(&self, team_id: &str) -> sqlx::Result<Vec<Key>> {
        sql::keys_of_team(&self.db, team_id).await
    }

    /// Up to `limit` keys after `after`, oldest first.
    pub async fn keys_page(&self, after: Option<&Cursor>, limit: i64) -> sqlx::Result<Vec<Key>> {
        sql::keys_page(&self.db, after, limit).await
    }

    /// Every key, oldest first (`/key/list` and `/spend/keys` for admins answer them all in one body).
    pub async fn all_keys(&self) -> sqlx::Result<Vec<Key>> {
        sql::all_keys(&self.db).await
    }

    /// Every user, oldest first.
    pub async fn all_users(&self) -> sqlx::Result<Vec<User>> {
        sql::all_users(&self.db).await
    }

    pub async fn keys_with_aliases(&self, aliases: &[String]) -> sqlx::Result<Vec<Key>> {
        sql::keys_with_aliases(&self.db, aliases).await
    }

    pub async fn key_alias_taken(&self, alias: &str, except_token: Option<&str>) -> sqlx::Result<bool> {
        sql::key_alias_taken(&self.db, alias, except_token).await
    }

    /// Records one request's cost on the key, team, user and membership rows and in the spend log,
    /// with the other calls waiting at the same time (`spend_writer.rs`). Nothing is evicted: budgets
    /// read spend from the counters.
    pub async fn record_spend(&self, log: &SpendLog) -> sqlx::Result<()> {
        self.spend_writer.write(log.clone()).await
    }

    /// The logged requests a `/spend/logs` query selects, newest first.
    pub async fn spend_logs(&self, query: &SpendLogQuery) -> sqlx::Result<Vec<LoggedRequest>> {
        sql::spend_logs(&self.db, query).await
    }

    /// What the key spent on `model` since `since` (its per-model budget's window).
    pub async fn key_model_spend(
        &self,
        token: &str,
        model: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> sqlx::Result<f64> {
        sql::key_model_spend(&self.db, token, model, since).await
    }

    /// Creates a user; a taken `user_id` or `user_email` is a unique violation.
    pub async fn insert_user(&self, user: &User) -> sqlx::Result<()> {
        sql::insert_user(&self.db, user).await?;
        self.evict(vec![user.user_id.clone()]).await
    }

    pub async fn save_user(&self, user: &User) -> sqlx::Result<()> {
        sql::save_user(&self.db, user).await?;
        self.evict(vec![user.user_id.clone()]).await
    }

    /// Deletes the users and their keys; returns the ids of the users that existed. The keys are not
    /// archived: both LiteLLM versions drop a deleted user's keys outright.
    pub async fn delete_users(&self, user_ids: &[String]) -> sqlx::Result<Vec<String>> {
        let (deleted, tokens) = sql::delete_users(&self.db, user_ids).await?;
        self.evict(user_ids.iter().cloned().chain(self.evicted_with_owner(tokens)).collect()).await?;
        Ok(deleted)
    }

    /// The cache entries of keys deleted with their owner (a team, a membership, a user), which
    /// `owner_deletes_leave_keys_cached` leaves in place (LiteLLM 1.83, BerriAI/litellm#34217).
    fn evicted_with_owner(&self, tokens: Vec<String>) -> Vec<String> {
        if self.quirks.contains(Quirk::OwnerDeletesLeaveKeysCached) { Vec::new() } else { tokens }
    }

    /// Creates a team; a taken `team_id` is a unique violation, so concurrent creates cannot
    /// overwrite each other.
    pub async fn insert_team(&self, team: &Team) -> sqlx::Result<()> {
        sql::insert_team(&self.db, team).await?;
        self.evict(vec![team_key(&team.team_id)]).await
    }

    pub async fn save_team(&self, team: &Team) -> sqlx::Result<()> {
        sql::save_team(&self.db, team).await?;
        self.evict(vec![team_key(&team.team_id)]).await
    }

    /// `/team/block` and `/team/unblock`: saves the team and evicts it, unless
    /// `team_block_keeps_cached_team` leaves the cached copy (LiteLLM 1.83, BerriAI/litellm#35565).
    pub async fn save_team_blocked(&self, team: &Team) -> sqlx::Result<()> {
        sql::save_team(&self.db, team).await?;
        if self.quirks.contains(Quirk::TeamBlockKeepsCachedTeam) {
            return Ok(());
        }
        self.evict(vec![team_key(&team.team_id)]).await
    }

    /// Deletes the teams, archiving their keys as `/key/delete` does.
    pub async fn delete_teams(&self, team_ids: &[String], deleted_by: Option<&str>) -> sqlx::Result<()> {
        let tokens = sql::delete_teams(&self.db, team_ids, deleted_by).await?;
        self.evict(team_ids.iter().map(|id| team_key(id)).chain(self.evicted_with_owner(tokens)).collect()).await
    }

    /// Archives the keys the users hold in the team, as `/team/member_delete` does on both LiteLLM
    /// versions: a removed member's team keys stop working.
    pub async fn delete_member_keys(
        &self,
        team_id: &str,
        user_ids: &[String],
        deleted_by: Option<&str>,
    ) -> sqlx::Result<()> {
        let tokens = sql::delete_member_keys(&self.db, team_id, user_ids, deleted_by).await?;
        self.evict(self.evicted_with_owner(tokens)).await
    }

    /// Creates a key; a taken hash or alias is a unique violation (`error::violated_unique`).
    pub async fn insert_key(&self, key: &Key) -> sqlx::Result<()> {
        sql::insert_key(&self.db, key).await?;
        self.evict(vec![key.token.clone()]).await
    }

    /// Saves a key the client named by `sent` (its `sk-` key or its hash, as `/key/update` and
    /// `/key/bulk_update` accept) and evicts the cache entry `sent` names.
    pub async fn save_key_sent_as(&self, key: &Key, sent: &str) -> sqlx::Result<()> {
        sql::save_key(&self.db, key).await?;
        self.evict(vec![eviction_token(self.quirks, sent)]).await
    }

    /// Moves the key row named by `sent` from `old_token` to `key.token` (`/key/regenerate`) and
    /// evicts the old entry.
    /// `/key/block` and `/key/unblock`: stores the flag and evicts the key by its hash, whatever the
    /// client sent, as LiteLLM does on these two routes.
    pub async fn save_key_blocked(&self, key: &Key) -> sqlx::Result<()> {
        sql::save_key(&self.db, key).await?;
        self.evict(vec![key.token.clone()]).await
    }

    pub async fn rotate_key(&self, old_token: &str, key: &Key, sent: &str) -> sqlx::Result<()> {
        sql::rotate_key(&self.db, old_token, key).await?;
        sql::save_key(&self.db, key).await?;
        self.evict(vec![eviction_token(self.quirks, sent), key.token.clone()]).await
    }

    /// Deletes the keys, keeping each in the archive of deleted keys with who deleted it.
    pub async fn delete_keys(&self, tokens: &[String], deleted_by: Option<&str>) -> sqlx::Result<Vec<String>> {
        let deleted = sql::delete_keys(&self.db, tokens, deleted_by).await?;
        self.evict(tokens.to_vec()).await?;
        Ok(deleted)
    }

    /// The archive of deleted keys (`/key/list?status=deleted`).
    pub async fn deleted_keys(&self) -> sqlx::Result<Vec<Key>> {
        sql::deleted_keys(&self.db).await
    }

    /// Evicts teams and keys whose rows a write elsewhere changed (access-group mirrors), in every
    /// replica.
    async fn evict_mirrored(&self, team_ids: &[String], tokens: &[String]) -> sqlx::Result<()> {
        let keys = team_ids.iter().map(|id| team_key(id)).chain(tokens.iter().cloned()).collect();
        self.evict(keys).await
    }

    /// Deletes a permission row nothing refers to (one a refused create wrote first).
    pub async fn delete_object_permission(&self, id: &str) -> sqlx::Result<()> {
        sql::delete_object_permission(&self.db, id).await?;
        self.evict(vec![permission_key(id)]).await
    }

    pub async fn save_object_permission(
        &self,
        permission: &ObjectPermission,
        owner: PermissionOwner,
    ) -> sqlx::Result<()> {
        sql::save_object_permission(&self.db, permission).await?;
        if !keeps_stale_permission(self.quirks, owner) {
            self.evict(vec![permission_key(&permission.object_permission_id)]).await?;
        }
        Ok(())
    }
}

/// The cache key a write evicts for the key the client sent: its hash (a value not starting with
/// `sk-` already is one). With `double_hash_token_on_update`, LiteLLM before 1.83 hashed whatever was
/// sent, so a hash was hashed again and the eviction missed (BerriAI/litellm#24969, #25552).
fn eviction_token(quirks: Quirks, sent: &str) -> String {
    if quirks.contains(Quirk::DoubleHashTokenOnUpdate) { hash_token(sent) } else { hash_if_needed(sent) }
}

/// True when a write of `owner`'s permission row leaves the cached copy in place: LiteLLM 1.83's
/// `/team/update` with `stale_team_cache` on.
fn keeps_stale_permission(quirks: Quirks, owner: PermissionOwner) -> bool {
    owner == PermissionOwner::Team && quirks.contains(Quirk::StaleTeamCache)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const RAW: &str = "sk-abcdefghijklmnop";

    #[rstest]
    #[case::raw_key(Quirks::NONE, false, true)]
    #[case::hash(Quirks::NONE, true, true)]
    #[case::raw_key_with_the_quirk(Quirks::NONE.with(Quirk::DoubleHashTokenOnUpdate), false, true)]
    #[case::hash_with_the_quirk(Quirks::NONE.with(Quirk::DoubleHashTokenOnUpdate), true, false)]
    fn only_a_hash_sent_with_the_quirk_misses_the_cache_entry(
        #[case] quirks: Quirks,
        #[case] send_hash: bool,
        #[case] hits: bool,
    ) {
        let hash = hash_token(RAW);
        let sent = if send_hash { hash.clone() } else { RAW.to_string() };
        assert_eq!(eviction_token(quirks, &sent) == hash, hits);
    }

    #[rstest]
    #[case::team_write(Quirks::NONE, PermissionOwner::Team, false)]
    #[case::key_write(Quirks::NONE, PermissionOwner::Key, false)]
    #[case::team_write_with_the_quirk(Quirks::NONE.with(Quirk::StaleTeamCache), PermissionOwner::Team, true)]
    #[case::key_write_with_the_quirk(Quirks::NONE.with(Quirk::StaleTeamCache), PermissionOwner::Key, false)]
    #[case::team_write_with_another_quirk(Quirks::NONE.with(Quirk::OrgAdminGateNeedsOrgIdInBody), PermissionOwner::Team, false)]
    fn only_a_team_write_with_the_quirk_keeps_the_stale_permission(
        #[case] quirks: Quirks,
        #[case] owner: PermissionOwner,
        #[case] stale: bool,
    ) {
        assert_eq!(keeps_stale_permission(quirks, owner), stale);
    }

    /// The store is the only way to the tables the cache covers: no SQL outside `store/` names them.
    #[test]
    fn no_module_outside_the_store_queries_the_cached_tables() {
        let sql = regex::Regex::new(
            r"(?i)\b(from|into|update|join)\s+(verification_tokens|teams|users|object_permissions)\b",
        )
        .expect("valid pattern");
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("readable source directory") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    if path != src.join("store") {
                        dirs.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("readable source file");
                    offenders.extend(sql.find_iter(&text).map(|m| format!("{}: {}", path.display(), m.as_str())));
                }
            }
        }
        assert!(offenders.is_empty(), "queries of cached tables outside the store: {offenders:#?}");
    }
}
