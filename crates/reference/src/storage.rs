//! Every query the reference proxy runs, parameterized. Objects are read whole and written whole:
//! handlers change the loaded struct and save it, so partial-update logic lives in Rust, not SQL.

use sqlx::PgPool;
use sqlx::types::Json;

use super::domain::{Key, ObjectPermission, OrgMembership, Organization, Team, User};

pub(crate) async fn user(db: &PgPool, user_id: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as("SELECT * FROM users WHERE user_id = $1").bind(user_id).fetch_optional(db).await
}

pub(crate) async fn user_by_email(db: &PgPool, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as("SELECT * FROM users WHERE user_email = $1").bind(email).fetch_optional(db).await
}

pub(crate) async fn save_user(db: &PgPool, u: &User) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (user_id, user_alias, user_email, user_role, teams, organization_id, object_permission_id,
                            max_budget, spend, models, metadata, budget_duration, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,now())
         ON CONFLICT (user_id) DO UPDATE SET user_alias=$2, user_email=$3, user_role=$4, teams=$5, organization_id=$6,
             object_permission_id=$7, max_budget=$8, spend=$9, models=$10, metadata=$11, budget_duration=$12, updated_at=now()",
    )
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
    .execute(db)
    .await
    .map(drop)
}

pub(crate) async fn team(db: &PgPool, team_id: &str) -> sqlx::Result<Option<Team>> {
    sqlx::query_as("SELECT * FROM teams WHERE team_id = $1").bind(team_id).fetch_optional(db).await
}

pub(crate) async fn teams_of_user(db: &PgPool, user_id: &str) -> sqlx::Result<Vec<Team>> {
    sqlx::query_as(
        "SELECT * FROM teams WHERE members_with_roles @> jsonb_build_array(jsonb_build_object('user_id', $1::text))
         ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

pub(crate) async fn teams_of_organization(db: &PgPool, organization_id: &str) -> sqlx::Result<Vec<Team>> {
    sqlx::query_as("SELECT * FROM teams WHERE organization_id = $1 ORDER BY created_at")
        .bind(organization_id)
        .fetch_all(db)
        .await
}

pub(crate) async fn all_teams(db: &PgPool) -> sqlx::Result<Vec<Team>> {
    sqlx::query_as("SELECT * FROM teams ORDER BY created_at").fetch_all(db).await
}

pub(crate) async fn save_team(db: &PgPool, t: &Team) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO teams (team_id, team_alias, organization_id, object_permission_id, members_with_roles,
                            team_member_permissions, access_group_ids, metadata, max_budget, spend, models, blocked,
                            tpm_limit, rpm_limit, budget_duration, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,now())
         ON CONFLICT (team_id) DO UPDATE SET team_alias=$2, organization_id=$3, object_permission_id=$4,
             members_with_roles=$5, team_member_permissions=$6, access_group_ids=$7, metadata=$8, max_budget=$9,
             spend=$10, models=$11, blocked=$12, tpm_limit=$13, rpm_limit=$14, budget_duration=$15, updated_at=now()",
    )
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
    .execute(db)
    .await
    .map(drop)
}

/// Deletes the teams and their keys; returns the hashes of the deleted keys.
pub(crate) async fn delete_teams(db: &PgPool, team_ids: &[String]) -> sqlx::Result<Vec<String>> {
    let mut tx = db.begin().await?;
    let tokens: Vec<(String,)> =
        sqlx::query_as("DELETE FROM verification_tokens WHERE team_id = ANY($1) RETURNING token")
            .bind(team_ids)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM teams WHERE team_id = ANY($1)").bind(team_ids).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(tokens.into_iter().map(|(t,)| t).collect())
}

/// Deletes the users with their keys and memberships; returns the deleted user ids and key hashes.
pub(crate) async fn delete_users(db: &PgPool, user_ids: &[String]) -> sqlx::Result<(Vec<String>, Vec<String>)> {
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

pub(crate) async fn add_team_membership(db: &PgPool, user_id: &str, team_id: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO team_memberships (user_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(user_id)
        .bind(team_id)
        .execute(db)
        .await
        .map(drop)
}

/// Sets the member's own model scope (`allowed_models`).
pub(crate) async fn set_member_allowed_models(
    db: &PgPool,
    user_id: &str,
    team_id: &str,
    models: &[String],
) -> sqlx::Result<()> {
    sqlx::query("UPDATE team_memberships SET allowed_models = $3 WHERE user_id = $1 AND team_id = $2")
        .bind(user_id)
        .bind(team_id)
        .bind(models)
        .execute(db)
        .await
        .map(drop)
}

/// The member's own model scope; empty when the user is no member or has none.
pub(crate) async fn member_allowed_models(db: &PgPool, user_id: &str, team_id: &str) -> sqlx::Result<Vec<String>> {
    let row: Option<(Vec<String>,)> =
        sqlx::query_as("SELECT allowed_models FROM team_memberships WHERE user_id = $1 AND team_id = $2")
            .bind(user_id)
            .bind(team_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(m,)| m).unwrap_or_default())
}

pub(crate) async fn team_memberships(db: &PgPool, team_id: &str) -> sqlx::Result<Vec<serde_json::Value>> {
    // LiteLLM shows the member's scope on its budget row.
    let rows: Vec<(Json<serde_json::Value>,)> = sqlx::query_as(
        "SELECT jsonb_build_object('user_id', user_id, 'team_id', team_id, 'spend', spend, 'budget_id', budget_id,
                                   'litellm_budget_table', CASE WHEN cardinality(allowed_models) = 0 THEN NULL
                                       ELSE jsonb_build_object('allowed_models', to_jsonb(allowed_models)) END)
         FROM team_memberships WHERE team_id = $1 ORDER BY user_id",
    )
    .bind(team_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(Json(v),)| v).collect())
}

pub(crate) async fn key(db: &PgPool, token: &str) -> sqlx::Result<Option<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE token = $1").bind(token).fetch_optional(db).await
}

pub(crate) async fn keys_of_user(db: &PgPool, user_id: &str) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE user_id = $1 ORDER BY created_at")
        .bind(user_id)
        .fetch_all(db)
        .await
}

pub(crate) async fn keys_of_team(db: &PgPool, team_id: &str) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE team_id = $1 ORDER BY created_at")
        .bind(team_id)
        .fetch_all(db)
        .await
}

pub(crate) async fn all_keys(db: &PgPool) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens ORDER BY created_at").fetch_all(db).await
}

pub(crate) async fn keys_with_aliases(db: &PgPool, aliases: &[String]) -> sqlx::Result<Vec<Key>> {
    sqlx::query_as("SELECT * FROM verification_tokens WHERE key_alias = ANY($1) ORDER BY created_at")
        .bind(aliases)
        .fetch_all(db)
        .await
}

pub(crate) async fn key_alias_taken(db: &PgPool, alias: &str, except_token: Option<&str>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM verification_tokens WHERE key_alias = $1 AND token IS DISTINCT FROM $2)",
    )
    .bind(alias)
    .bind(except_token)
    .fetch_one(db)
    .await
}

pub(crate) async fn save_key(db: &PgPool, k: &Key) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO verification_tokens (token, key_name, key_alias, user_id, team_id, organization_id, object_permission_id,
             access_group_ids, models, max_budget, spend, budget_duration, expires, blocked, metadata, allowed_routes,
             key_type, tpm_limit, rpm_limit, created_by, updated_by, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,now())
         ON CONFLICT (token) DO UPDATE SET key_name=$2, key_alias=$3, user_id=$4, team_id=$5, organization_id=$6,
             object_permission_id=$7, access_group_ids=$8, models=$9, max_budget=$10, spend=$11, budget_duration=$12,
             expires=$13, blocked=$14, metadata=$15, allowed_routes=$16, key_type=$17, tpm_limit=$18, rpm_limit=$19,
             updated_by=$21, updated_at=now()",
    )
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
    .execute(db)
    .await
    .map(drop)
}

pub(crate) async fn delete_keys(db: &PgPool, tokens: &[String]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("DELETE FROM verification_tokens WHERE token = ANY($1) RETURNING token")
        .bind(tokens)
        .fetch_all(db)
        .await
}

pub(crate) async fn object_permission(db: &PgPool, id: &str) -> sqlx::Result<Option<ObjectPermission>> {
    sqlx::query_as("SELECT * FROM object_permissions WHERE object_permission_id = $1").bind(id).fetch_optional(db).await
}

pub(crate) async fn save_object_permission(db: &PgPool, p: &ObjectPermission) -> sqlx::Result<()> {
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

pub(crate) async fn organization(db: &PgPool, id: &str) -> sqlx::Result<Option<Organization>> {
    sqlx::query_as("SELECT * FROM organizations WHERE organization_id = $1").bind(id).fetch_optional(db).await
}

/// Deletes the organizations (their memberships go with them); returns the deleted rows.
pub(crate) async fn delete_organizations(db: &PgPool, ids: &[String]) -> sqlx::Result<Vec<Organization>> {
    sqlx::query_as("DELETE FROM organizations WHERE organization_id = ANY($1) RETURNING *")
        .bind(ids)
        .fetch_all(db)
        .await
}

/// Creates an organization with its (always created, as in LiteLLM) budget row.
pub(crate) async fn insert_organization(db: &PgPool, o: &Organization, max_budget: Option<f64>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO budgets (budget_id, max_budget) VALUES ($1, $2)")
        .bind(&o.budget_id)
        .bind(max_budget)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO organizations (organization_id, organization_alias, budget_id, metadata, models, created_by, updated_by,
                                    object_permission_id)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(&o.organization_id)
    .bind(&o.organization_alias)
    .bind(&o.budget_id)
    .bind(&o.metadata)
    .bind(&o.models)
    .bind(&o.created_by)
    .bind(&o.updated_by)
    .bind(&o.object_permission_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub(crate) async fn budget(db: &PgPool, budget_id: &str) -> sqlx::Result<Option<serde_json::Value>> {
    let row: Option<(Json<serde_json::Value>,)> =
        sqlx::query_as("SELECT to_jsonb(b) FROM budgets b WHERE budget_id = $1")
            .bind(budget_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(Json(v),)| v))
}

pub(crate) async fn org_memberships_of_user(db: &PgPool, user_id: &str) -> sqlx::Result<Vec<OrgMembership>> {
    sqlx::query_as("SELECT * FROM organization_memberships WHERE user_id = $1 ORDER BY created_at")
        .bind(user_id)
        .fetch_all(db)
        .await
}

pub(crate) async fn org_memberships_of_org(db: &PgPool, organization_id: &str) -> sqlx::Result<Vec<OrgMembership>> {
    sqlx::query_as("SELECT * FROM organization_memberships WHERE organization_id = $1 ORDER BY created_at")
        .bind(organization_id)
        .fetch_all(db)
        .await
}

pub(crate) async fn upsert_org_membership(
    db: &PgPool,
    user_id: &str,
    organization_id: &str,
    role: &str,
) -> sqlx::Result<OrgMembership> {
    sqlx::query_as(
        "INSERT INTO organization_memberships (user_id, organization_id, user_role) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, organization_id) DO UPDATE SET user_role = $3, updated_at = now()
         RETURNING *",
    )
    .bind(user_id)
    .bind(organization_id)
    .bind(role)
    .fetch_one(db)
    .await
}

pub(crate) async fn org_membership(
    db: &PgPool,
    user_id: &str,
    organization_id: &str,
) -> sqlx::Result<Option<OrgMembership>> {
    sqlx::query_as("SELECT * FROM organization_memberships WHERE user_id = $1 AND organization_id = $2")
        .bind(user_id)
        .bind(organization_id)
        .fetch_optional(db)
        .await
}

pub(crate) async fn set_org_membership_role(
    db: &PgPool,
    user_id: &str,
    organization_id: &str,
    role: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE organization_memberships SET user_role = $3, updated_at = now() WHERE user_id = $1 AND organization_id = $2")
        .bind(user_id)
        .bind(organization_id)
        .bind(role)
        .execute(db)
        .await
        .map(drop)
}

/// Sets the membership's `max_budget`, creating its budget row when it has none (as LiteLLM does).
pub(crate) async fn set_org_membership_budget(
    db: &PgPool,
    m: &OrgMembership,
    max_budget: f64,
    new_budget_id: &str,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    match &m.budget_id {
        Some(id) => {
            sqlx::query("UPDATE budgets SET max_budget = $2, updated_at = now() WHERE budget_id = $1")
                .bind(id)
                .bind(max_budget)
                .execute(&mut *tx)
                .await?;
        }
        None => {
            sqlx::query("INSERT INTO budgets (budget_id, max_budget) VALUES ($1, $2)")
                .bind(new_budget_id)
                .bind(max_budget)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE organization_memberships SET budget_id = $3, updated_at = now() WHERE user_id = $1 AND organization_id = $2")
                .bind(&m.user_id)
                .bind(&m.organization_id)
                .bind(new_budget_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await
}

pub(crate) async fn delete_org_membership(
    db: &PgPool,
    user_id: &str,
    organization_id: &str,
) -> sqlx::Result<Option<OrgMembership>> {
    sqlx::query_as("DELETE FROM organization_memberships WHERE user_id = $1 AND organization_id = $2 RETURNING *")
        .bind(user_id)
        .bind(organization_id)
        .fetch_optional(db)
        .await
}

/// Gives the key row `old_token` the new hash and name of `key` (`/key/regenerate`); spend, budgets
/// and every other column stay.
pub(crate) async fn rotate_key(db: &PgPool, old_token: &str, key: &Key) -> sqlx::Result<()> {
    sqlx::query("UPDATE verification_tokens SET token = $2, key_name = $3, updated_by = $4, updated_at = now() WHERE token = $1")
        .bind(old_token)
        .bind(&key.token)
        .bind(&key.key_name)
        .bind(&key.updated_by)
        .execute(db)
        .await
        .map(drop)
}

pub(crate) async fn insert_deployment(db: &PgPool, d: &super::deployment::Deployment) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO proxy_models (model_id, model_name, litellm_params, model_info, created_by, updated_by)
         VALUES ($1,$2,$3,$4,$5,$6)",
    )
    .bind(&d.model_id)
    .bind(&d.model_name)
    .bind(&d.litellm_params)
    .bind(&d.model_info)
    .bind(&d.created_by)
    .bind(&d.updated_by)
    .execute(db)
    .await
    .map(drop)
}

pub(crate) async fn deployment(db: &PgPool, model_id: &str) -> sqlx::Result<Option<super::deployment::Deployment>> {
    sqlx::query_as("SELECT * FROM proxy_models WHERE model_id = $1").bind(model_id).fetch_optional(db).await
}

pub(crate) async fn deployments_named(
    db: &PgPool,
    model_name: &str,
) -> sqlx::Result<Vec<super::deployment::Deployment>> {
    sqlx::query_as("SELECT * FROM proxy_models WHERE model_name = $1 ORDER BY created_at")
        .bind(model_name)
        .fetch_all(db)
        .await
}

pub(crate) async fn all_deployments(db: &PgPool) -> sqlx::Result<Vec<super::deployment::Deployment>> {
    sqlx::query_as("SELECT * FROM proxy_models ORDER BY created_at").fetch_all(db).await
}

pub(crate) async fn delete_deployment(db: &PgPool, model_id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM proxy_models WHERE model_id = $1").bind(model_id).execute(db).await?;
    Ok(done.rows_affected() > 0)
}

/// The spend stored on a key, team or user row (what LiteLLM reseeds a spend counter from).
pub(crate) async fn stored_spend(db: &PgPool, entity: &super::spend::Entity) -> sqlx::Result<f64> {
    use super::spend::Entity;
    let (sql, id) = match entity {
        Entity::Key(token) => ("SELECT spend FROM verification_tokens WHERE token = $1", token),
        Entity::Team(id) => ("SELECT spend FROM teams WHERE team_id = $1", id),
        Entity::User(id) => ("SELECT spend FROM users WHERE user_id = $1", id),
    };
    let spend: Option<f64> = sqlx::query_scalar(sql).bind(id).fetch_optional(db).await?;
    Ok(spend.unwrap_or(0.0))
}

/// Records one request's cost: the key's, its team's and its user's spend and a spend-log row, in
/// one transaction. Cached objects are not evicted: budgets read spend from the counters.
pub(crate) async fn record_spend(db: &PgPool, log: &super::spend::SpendLog) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE verification_tokens SET spend = spend + $2 WHERE token = $1")
        .bind(&log.api_key)
        .bind(log.spend)
        .execute(&mut *tx)
        .await?;
    if let Some(team_id) = &log.team_id {
        sqlx::query("UPDATE teams SET spend = spend + $2 WHERE team_id = $1")
            .bind(team_id)
            .bind(log.spend)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(user_id) = &log.user {
        sqlx::query("UPDATE users SET spend = spend + $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(log.spend)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO spend_logs (request_id, api_key, spend, prompt_tokens, completion_tokens, model, team_id,
                                 organization_id, \"user\", \"startTime\", \"endTime\")
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,now())",
    )
    .bind(&log.request_id)
    .bind(&log.api_key)
    .bind(log.spend)
    .bind(log.prompt_tokens)
    .bind(log.completion_tokens)
    .bind(&log.model)
    .bind(&log.team_id)
    .bind(&log.organization_id)
    .bind(&log.user)
    .bind(log.start_time)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
