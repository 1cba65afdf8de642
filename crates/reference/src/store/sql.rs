//! The queries of the tables the management-object cache covers (keys, teams, users, object
//! permissions), parameterized. Only the store calls them, so no write can skip its eviction.

use sqlx::PgPool;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::types::Json;

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

use crate::domain::{Key, ObjectPermission, Team, User};
use crate::spend_logs::{LoggedRequest, SpendLogQuery};

pub(super) async fn user(db: &PgPool, user_id: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as("SELECT * FROM users WHERE user_id = $1").bind(user_id).fetch_optional(db).await
}

pub(super) async fn user_by_email(db: &PgPool, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as("SELECT * FROM users WHERE user_email = $1").bind(email).fetch_optional(db).await
}

macro_rules! user_insert {
    () => {
        "INSERT INTO users (user_id, user_alias, user_email, user_role, teams, organization_id, object_permission_id,
                            max_budget, spend, models, metadata, budget_duration, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,now())"
    };
}

fn bind_user<'q>(query: PgQuery<'q>, u: &'q User) -> PgQuery<'q> {
    query
        .bind(&u.user_id)
        .bind(&u.user_alias)
        .bind(&u.user_email)
        .bind(&u.user_role)
        .bind(&u.teams)
        .bind(&u.organization_id)
        .bind(&u.object_permission_id)
        .bind(u.max_budget)
        .bind(u.spend)
        .bind(&u.models)
        .bind(&u.metadata)
        .bind(&u.budget_duration)
        .bind(u.created_at)
}

pub(super) async fn save_user(db: &PgPool, u: &User) -> sqlx::Result<()> {
    let sql = concat!(
        user_insert!(),
        " ON CONFLICT (user_id) DO UPDATE SET user_alias=$2, user_email=$3, user_role=$4, teams=$5, organization_id=$6,
             object_permission_id=$7, max_budget=$8, spend=$9, models=$10, metadata=$11, budget_duration=$12, updated_at=now()"
    );
    bind_user(sqlx::query(sql), u).execute(db).await.map(drop)
}

/// Creates the user; a taken `user_id` or `user_email` fails with a unique violation, so of
/// concurrent creates exactly one succeeds.
pub(super) async fn insert_user(db: &PgPool, u: &User) -> sqlx::Result<()> {
    bind_user(sqlx::query(user_insert!()), u).execute(db).await.map(drop)
}

pub(super) async fn team(db: &PgPool, team_id: &str) -> sqlx::Result<Option<Team>> {
    sqlx::query_as("SELECT * FROM teams WHERE team_id = $1").bind(team_id).fetch_optional(db).await
}

pub(super) async fn teams_of_user(db: &PgPool, user_id: &str) -> sqlx::Result<Vec<Team>> {
    sqlx::query_as(
        "SELECT * FROM teams WHERE members_with_roles @> jsonb_build_array(jsonb_build_object('user_id', $1::text))
         ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

pub(super) async fn teams_of_organization(db: &PgPool, organization_id: &str) -> sqlx::Result<Vec<Team>> {
    sqlx::query_as("SELECT * FROM teams WHERE organization_id = $1 ORDER BY created_at")
        .bind(organization_id)
        .fetch_all(db)
        .await
}

macro_rules! team_insert {
    () => {
        "INSERT INTO teams (team_id, team_alias, organization_id, object_permission_id, members_with_roles,
                            team_member_permissions, access_group_ids, metadata, max_budget, spend, models, blocked,
                            tpm_limit, rpm_limit, budget_duration, created_at, model_aliases, router_settings, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,now())"
    };
}

fn bind_team<'q>(query: PgQuery<'q>, t: &'q Team) -> PgQuery<'q> {
    query
        .bind(&t.team_id)
        .bind(&t.team_alias)
        .bind(&t.organization_id)
        .bind(&t.object_permission_id)
        .bind(Json(&t.members_with_roles.0))
        .bind(&t.team_member_permissions)
        .bind(&t.access_group_ids)
        .bind(&t.metadata)
        .bind(t.max_budget)
        .bind(t.spend)
        .bind(&t.models)
        .bind(t.blocked)
        .bind(t.tpm_limit)
        .bind(t.rpm_limit)
        .bind(&t.budget_duration)
        .bind(t.created_at)
        .bind(&t.model_aliases)
        .bind(&t.router_settings)
}

pub(super) async fn save_team(db: &PgPool, t: &Team) -> sqlx::Result<()> {
    let sql = concat!(
        team_insert!(),
        " ON CONFLICT (team_id) DO UPDATE SET team_alias=$2, organization_id=$3, object_permission_id=$4,
             members_with_roles=$5, team_member_permissions=$6, access_group_ids=$7, metadata=$8, max_budget=$9,
             spend=$10, models=$11, blocked=$12, tpm_limit=$13, rpm_limit=$14, budget_duration=$15, model_aliases=$17,
             router_settings=$18, updated_at=now()"
    );
    bind_team(sqlx::query(sql), t).execute(db).await.map(drop)
}

/// Creates the team; a taken `team_id` fails with a unique violation.
pub(super) async fn insert_team(db: &PgPool, t: &Team) -> sqlx::Result<()> {
    bind_team(sqlx::query(team_insert!()), t).execute(db).await.map(drop)
}

/// Deletes the teams, moving their keys into the archive of deleted keys; returns the hashes of
/// those keys.
pub(super) async fn delete_teams(
    db: &PgPool,
    team_ids: &[String],
    deleted_by: Option<&str>,
) -> sqlx::Result<Vec<String>> {
    let mut tx = db.begin().await?;
    let tokens: Vec<String> = sqlx::query_scalar("SELECT token FROM verification_tokens WHERE team_id = ANY($1)")
        .bind(team_ids)
        .fetch_all(&mut *tx)
        .await?;
    let archived = archive_keys(&mut *tx, &tokens, deleted_by).await?;
    sqlx::query("DELETE FROM teams WHERE team_id = ANY($1)").bind(team_ids).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(archived)
}

/// Moves the keys the users hold in the team into the archive of deleted keys (`/team/member_delete`);
/// returns their hashes.
pub(super) async fn delete_member_keys(
    db: &PgPool,
    team_id: &str,
    user_ids: &[String],
    deleted_by: Option<&str>,
) -> sqlx::Result<Vec<String>> {
    let mut tx = db.begin().await?;
    let tokens: Vec<String> =
        sqlx::query_scalar("SELECT token FROM verification_tokens WHERE team_id = $1 AND user_id = ANY($2)")
            .bind(team_id)
            .bind(user_ids)
            .fetch_all(&mut *tx)
            .await?;
    let archived = archive_keys(&mut *tx, &tokens, deleted_by).await?;
    tx.commit().await?;
    Ok(archived)
}

/// Deletes the users with their keys and memberships; returns the deleted user ids and key hashes.
pub(super) async fn delete_users(db: &PgPool, user_ids: &[String]) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    let mut tx = db.begin().await?;
    let tokens: Vec<(String,)> =
        sqlx::query_as("DELETE FROM verification_tokens WHERE user_id = ANY($1) RETURNING token")
            .bind(user_ids)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM team_memberships WHERE user_id = ANY($1)").bind(user_ids).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM organization_memberships WHERE user_id = ANY($1)")
        .bind(user_ids)
        .execute(&mut *tx)
        .await?;
    let users: Vec<(String,)> = sqlx::query_as("DELETE FROM users WHERE user_id = ANY($1) RETURNING user_id")
        .bind(user_ids)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((users.into_iter().map(|(u,)| u).collect(), tokens.into_iter().map(|(t,)| t).collect()))
}

pub(super) async fn key(db: &PgPool, token: &str) -> sqlx::Result<Option<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE token = $1").bind(token).fetch_optional(db).await
}

pub(super) async fn keys_of_user(db: &PgPool, user_id: &str) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE user_id = $1 ORDER BY created_at")
        .bind(user_id)
        .fetch_all(db)
        .await
}

pub(super) async fn keys_created_by(db: &PgPool, user_id: &str) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE created_by = $1 ORDER BY created_at")
        .bind(user_id)
        .fetch_all(db)
        .await
}

pub(super) async fn keys_of_team(db: &PgPool, team_id: &str) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE team_id = $1 ORDER BY created_at")
        .bind(team_id)
        .fetch_all(db)
        .await
}

pub(super) async fn keys_with_aliases(db: &PgPool, aliases: &[String]) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE key_alias = ANY($1) ORDER BY created_at")
        .bind(aliases)
        .fetch_all(db)
        .await
}

pub(super) async fn key_alias_taken(db: &PgPool, alias: &str, except_token: Option<&str>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM verification_tokens WHERE key_alias = $1 AND token IS DISTINCT FROM $2)",
    )
    .bind(alias)
    .bind(except_token)
    .fetch_one(db)
    .await
}

macro_rules! key_insert {
    () => {
        "INSERT INTO verification_tokens (token, key_name, key_alias, user_id, team_id, organization_id, object_permission_id,
             access_group_ids, models, max_budget, spend, budget_duration, expires, blocked, metadata, allowed_routes,
             key_type, tpm_limit, rpm_limit, created_by, updated_by, created_at, aliases, model_max_budget,
             router_settings, permissions, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,now())"
    };
}

fn bind_key<'q>(query: PgQuery<'q>, k: &'q Key) -> PgQuery<'q> {
    query
        .bind(&k.token)
        .bind(&k.key_name)
        .bind(&k.key_alias)
        .bind(&k.user_id)
        .bind(&k.team_id)
        .bind(&k.organization_id)
        .bind(&k.object_permission_id)
        .bind(&k.access_group_ids)
        .bind(&k.models)
        .bind(k.max_budget)
        .bind(k.spend)
        .bind(&k.budget_duration)
        .bind(k.expires)
        .bind(k.blocked)
        .bind(&k.metadata)
        .bind(&k.allowed_routes)
        .bind(&k.key_type)
        .bind(k.tpm_limit)
        .bind(k.rpm_limit)
        .bind(&k.created_by)
        .bind(&k.updated_by)
        .bind(k.created_at)
        .bind(&k.aliases)
        .bind(&k.model_max_budget)
        .bind(&k.router_settings)
        .bind(&k.permissions)
}

pub(super) async fn save_key(db: &PgPool, k: &Key) -> sqlx::Result<()> {
    let sql = concat!(
        key_insert!(),
        " ON CONFLICT (token) DO UPDATE SET key_name=$2, key_alias=$3, user_id=$4, team_id=$5, organization_id=$6,
             object_permission_id=$7, access_group_ids=$8, models=$9, max_budget=$10, spend=$11, budget_duration=$12,
             expires=$13, blocked=$14, metadata=$15, allowed_routes=$16, key_type=$17, tpm_limit=$18, rpm_limit=$19,
             updated_by=$21, aliases=$23, model_max_budget=$24, router_settings=$25,
             permissions=$26, updated_at=now()"
    );
    bind_key(sqlx::query(sql), k).execute(db).await.map(drop)
}

/// Creates the key; a taken hash or `key_alias` fails with a unique violation.
pub(super) async fn insert_key(db: &PgPool, k: &Key) -> sqlx::Result<()> {
    bind_key(sqlx::query(key_insert!()), k).execute(db).await.map(drop)
}

/// Deletes the keys into the archive of deleted keys; returns the hashes of those that existed.
pub(super) async fn delete_keys(db: &PgPool, tokens: &[String], deleted_by: Option<&str>) -> sqlx::Result<Vec<String>> {
    archive_keys(db, tokens, deleted_by).await
}

/// Moves the keys into the archive, each kept whole with who deleted it; a key archived before (a
/// hash reused by a rotation) is replaced.
async fn archive_keys<'e>(
    db: impl sqlx::PgExecutor<'e>,
    tokens: &[String],
    deleted_by: Option<&str>,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "WITH gone AS (DELETE FROM verification_tokens WHERE token = ANY($1) RETURNING *)
         INSERT INTO deleted_keys (token, row, deleted_by) SELECT token, to_jsonb(gone), $2 FROM gone
         ON CONFLICT (token) DO UPDATE SET row = EXCLUDED.row, deleted_at = now(), deleted_by = EXCLUDED.deleted_by
         RETURNING token",
    )
    .bind(tokens)
    .bind(deleted_by)
    .fetch_all(db)
    .await
}

/// Every archived key, as the row it was when deleted.
pub(super) async fn deleted_keys(db: &PgPool) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT (jsonb_populate_record(NULL::verification_tokens, row)).* FROM deleted_keys")
        .fetch_all(db)
        .await
}

pub(super) async fn object_permission(db: &PgPool, id: &str) -> sqlx::Result<Option<ObjectPermission>> {
    sqlx::query_as("SELECT * FROM object_permissions WHERE object_permission_id = $1").bind(id).fetch_optional(db).await
}

pub(super) async fn save_object_permission(db: &PgPool, p: &ObjectPermission) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO object_permissions (object_permission_id, mcp_servers, mcp_access_groups, mcp_tool_permissions,
             mcp_toolsets, models, vector_stores, agents)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
         ON CONFLICT (object_permission_id) DO UPDATE SET mcp_servers=$2, mcp_access_groups=$3,
             mcp_tool_permissions=$4, mcp_toolsets=$5, models=$6, vector_stores=$7, agents=$8",
    )
    .bind(&p.object_permission_id)
    .bind(&p.mcp_servers)
    .bind(&p.mcp_access_groups)
    .bind(&p.mcp_tool_permissions)
    .bind(&p.mcp_toolsets)
    .bind(&p.models)
    .bind(&p.vector_stores)
    .bind(&p.agents)
    .execute(db)
    .await
    .map(drop)
}

pub(super) async fn delete_object_permission(db: &PgPool, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM object_permissions WHERE object_permission_id = $1").bind(id).execute(db).await.map(drop)
}

/// Gives the key row `old_token` the new hash and name of `key` (`/key/regenerate`); spend, budgets
/// and every other column stay.
pub(super) async fn rotate_key(db: &PgPool, old_token: &str, key: &Key) -> sqlx::Result<()> {
    sqlx::query("UPDATE verification_tokens SET token = $2, key_name = $3, updated_by = $4, updated_at = now() WHERE token = $1")
        .bind(old_token)
        .bind(&key.token)
        .bind(&key.key_name)
        .bind(&key.updated_by)
        .execute(db)
        .await
        .map(drop)
}

/// The spend stored on a key, team or user row (what LiteLLM reseeds a spend counter from).
pub(super) async fn stored_spend(db: &PgPool, entity: &crate::spend::Entity) -> sqlx::Result<f64> {
    use crate::spend::Entity;
    let (sql, id, team) = match entity {
        Entity::Key(token) => ("SELECT spend FROM verification_tokens WHERE token = $1", token, None),
        Entity::Team(id) => ("SELECT spend FROM teams WHERE team_id = $1", id, None),
        Entity::User(id) => ("SELECT spend FROM users WHERE user_id = $1", id, None),
        Entity::TeamMember(user, team) => {
            ("SELECT spend FROM team_memberships WHERE user_id = $1 AND team_id = $2", user, Some(team))
        }
    };
    let mut query = sqlx::query_scalar(sql).bind(id);
    if let Some(team) = team {
        query = query.bind(team);
    }
    let spend: Option<f64> = query.fetch_optional(db).await?;
    Ok(spend.unwrap_or(0.0))
}

/// Where a keyset page resumes: the last row's `created_at` and primary key.
pub(crate) type Cursor = (chrono::DateTime<chrono::Utc>, String);

pub(super) async fn keys_page(db: &PgPool, after: Option<&Cursor>, limit: i64) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as(
        "SELECT * FROM verification_tokens WHERE $1::timestamptz IS NULL OR (created_at, token) > ($1, $2)
         ORDER BY created_at, token LIMIT $3",
    )
    .bind(after.map(|c| c.0))
    .bind(after.map(|c| c.1.as_str()))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Every key, oldest first: for listings that answer the whole table in one body anyway.
pub(super) async fn all_keys(db: &PgPool) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens ORDER BY created_at, token").fetch_all(db).await
}

/// Every user, oldest first.
pub(super) async fn all_users(db: &PgPool) -> sqlx::Result<Vec<User>> {
    sqlx::query_as("SELECT * FROM users ORDER BY created_at, user_id").fetch_all(db).await
}

pub(super) async fn teams_page(db: &PgPool, after: Option<&Cursor>, limit: i64) -> sqlx::Result<Vec<Team>> {
    sqlx::query_as(
        "SELECT * FROM teams WHERE $1::timestamptz IS NULL OR (created_at, team_id) > ($1, $2)
         ORDER BY created_at, team_id LIMIT $3",
    )
    .bind(after.map(|c| c.0))
    .bind(after.map(|c| c.1.as_str()))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The logged requests `query` selects, newest first.
pub(super) async fn spend_logs(db: &PgPool, query: &SpendLogQuery) -> sqlx::Result<Vec<LoggedRequest>> {
    let (from, to) = query.range_bounds().unzip();
    sqlx::query_as(
        "SELECT request_id, api_key, spend, prompt_tokens, completion_tokens, model, team_id, organization_id,
                \"user\", \"startTime\", \"endTime\", deployment_model
         FROM spend_logs
         WHERE ($1::text IS NULL OR api_key = $1) AND ($2::text IS NULL OR request_id = $2)
           AND ($3::text IS NULL OR \"user\" = $3)
           AND ($4::timestamptz IS NULL OR \"startTime\" >= $4) AND ($5::timestamptz IS NULL OR \"startTime\" <= $5)
         ORDER BY \"startTime\" DESC, request_id",
    )
    .bind(&query.api_key)
    .bind(&query.request_id)
    .bind(&query.user)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// What the key spent on `model` since `since`, from the spend logs.
pub(super) async fn key_model_spend(
    db: &PgPool,
    token: &str,
    model: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<f64> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(spend), 0)::DOUBLE PRECISION FROM spend_logs
         WHERE api_key = $1 AND model = $2 AND \"startTime\" >= $3",
    )
    .bind(token)
    .bind(model)
    .bind(since)
    .fetch_one(db)
    .await
}
