//! The queries of the tables the management-object cache does not cover (memberships,
//! organizations, budgets, deployments), parameterized; the covered tables' queries are the store's.
//! Objects are read whole and written whole: handlers change the loaded struct and save it, so
//! partial-update logic lives in Rust, not SQL.

use sqlx::PgPool;
use sqlx::types::Json;

use super::domain::{OrgMembership, Organization};
use crate::team_member_budget::MemberLimits;

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

/// Sets the member's own budget and limits in the team (`max_budget_in_team`, `tpm_limit`,
/// `rpm_limit`) on its membership's budget row, made when it has none; fields not given are kept.
pub(crate) async fn set_member_budget(
    db: &PgPool,
    user_id: &str,
    team_id: &str,
    limits: (Option<f64>, Option<i64>, Option<i64>),
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO team_memberships (user_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(user_id)
        .bind(team_id)
        .execute(&mut *tx)
        .await?;
    let (existing,): (Option<String>,) =
        sqlx::query_as("SELECT budget_id FROM team_memberships WHERE user_id = $1 AND team_id = $2 FOR UPDATE")
            .bind(user_id)
            .bind(team_id)
            .fetch_one(&mut *tx)
            .await?;
    let budget_id = existing.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    sqlx::query(
        "INSERT INTO budgets (budget_id, max_budget, tpm_limit, rpm_limit) VALUES ($1, $2, $3, $4)
         ON CONFLICT (budget_id) DO UPDATE SET max_budget = COALESCE(EXCLUDED.max_budget, budgets.max_budget),
             tpm_limit = COALESCE(EXCLUDED.tpm_limit, budgets.tpm_limit),
             rpm_limit = COALESCE(EXCLUDED.rpm_limit, budgets.rpm_limit), updated_at = now()",
    )
    .bind(&budget_id)
    .bind(limits.0)
    .bind(limits.1)
    .bind(limits.2)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE team_memberships SET budget_id = $3 WHERE user_id = $1 AND team_id = $2")
        .bind(user_id)
        .bind(team_id)
        .bind(&budget_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Writes a team's default member budget: the row `id` names, updated with the limits given (the
/// others kept), or a new row when `id` is `None`; returns the row's id.
pub(crate) async fn upsert_team_member_budget(
    db: &PgPool,
    id: Option<&str>,
    limits: MemberLimits,
) -> sqlx::Result<String> {
    let budget_id = id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    sqlx::query(
        "INSERT INTO budgets (budget_id, max_budget, tpm_limit, rpm_limit) VALUES ($1, $2, $3, $4)
         ON CONFLICT (budget_id) DO UPDATE SET max_budget = COALESCE(EXCLUDED.max_budget, budgets.max_budget),
             tpm_limit = COALESCE(EXCLUDED.tpm_limit, budgets.tpm_limit),
             rpm_limit = COALESCE(EXCLUDED.rpm_limit, budgets.rpm_limit), updated_at = now()",
    )
    .bind(&budget_id)
    .bind(limits.max_budget)
    .bind(limits.tpm_limit)
    .bind(limits.rpm_limit)
    .execute(db)
    .await?;
    Ok(budget_id)
}

/// Gives the member a budget row of its own copied from the team's default member budget, as
/// LiteLLM 1.109 does, so a later change to the member's budget leaves the default alone. Nothing
/// happens when the default row is gone.
pub(crate) async fn copy_team_member_budget(
    db: &PgPool,
    user_id: &str,
    team_id: &str,
    default_id: &str,
) -> sqlx::Result<()> {
    let own = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin().await?;
    let copied = sqlx::query(
        "INSERT INTO budgets (budget_id, max_budget, tpm_limit, rpm_limit)
         SELECT $2, max_budget, tpm_limit, rpm_limit FROM budgets WHERE budget_id = $1",
    )
    .bind(default_id)
    .bind(&own)
    .execute(&mut *tx)
    .await?;
    if copied.rows_affected() > 0 {
        sqlx::query(
            "INSERT INTO team_memberships (user_id, team_id, budget_id) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, team_id) DO UPDATE SET budget_id = EXCLUDED.budget_id",
        )
        .bind(user_id)
        .bind(team_id)
        .bind(&own)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The team's default member budget as `/team/info` shows it, `null` when the row is gone.
pub(crate) async fn team_member_budget_table(db: &PgPool, id: &str) -> sqlx::Result<serde_json::Value> {
    let row: Option<(Json<serde_json::Value>,)> = sqlx::query_as(
        "SELECT jsonb_build_object('budget_id', budget_id, 'max_budget', max_budget, 'tpm_limit', tpm_limit,
                                   'rpm_limit', rpm_limit, 'budget_duration', budget_duration)
         FROM budgets WHERE budget_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map_or(serde_json::Value::Null, |(Json(v),)| v))
}

pub(crate) async fn remove_team_membership(db: &PgPool, user_id: &str, team_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM team_memberships WHERE user_id = $1 AND team_id = $2")
        .bind(user_id)
        .bind(team_id)
        .execute(db)
        .await
        .map(drop)
}

/// What a key's user may do within the key's team, on its own: its model scope (`allowed_models`,
/// empty for none) and its budget (`max_budget_in_team`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Membership {
    pub allowed_models: Vec<String>,
    pub max_budget: Option<f64>,
}

/// The user's membership in the team; the default when it is no member.
pub(crate) async fn membership(db: &PgPool, user_id: &str, team_id: &str) -> sqlx::Result<Membership> {
    let row: Option<(Vec<String>, Option<f64>)> = sqlx::query_as(
        "SELECT m.allowed_models, b.max_budget FROM team_memberships m LEFT JOIN budgets b ON b.budget_id = m.budget_id
         WHERE m.user_id = $1 AND m.team_id = $2",
    )
    .bind(user_id)
    .bind(team_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(allowed_models, max_budget)| Membership { allowed_models, max_budget }).unwrap_or_default())
}

pub(crate) async fn team_memberships(db: &PgPool, team_id: &str) -> sqlx::Result<Vec<serde_json::Value>> {
    // LiteLLM shows the member's scope and limits on its budget row.
    let rows: Vec<(Json<serde_json::Value>,)> = sqlx::query_as(
        "SELECT jsonb_build_object('user_id', m.user_id, 'team_id', m.team_id, 'spend', m.spend, 'budget_id', m.budget_id,
                                   'litellm_budget_table',
                                   CASE WHEN b.budget_id IS NULL AND cardinality(m.allowed_models) = 0 THEN NULL
                                       ELSE jsonb_build_object('allowed_models', to_jsonb(m.allowed_models),
                                           'max_budget', b.max_budget, 'tpm_limit', b.tpm_limit, 'rpm_limit', b.rpm_limit) END)
         FROM team_memberships m LEFT JOIN budgets b ON b.budget_id = m.budget_id
         WHERE m.team_id = $1 ORDER BY m.user_id",
    )
    .bind(team_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(Json(v),)| v).collect())
}

pub(crate) async fn organization(db: &PgPool, id: &str) -> sqlx::Result<Option<Organization>> {
    if !crate::store::storable(id) {
        return Ok(None);
    }
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

/// Saves an organization's alias, models, metadata and `updated_by`, and its budget row's
/// `max_budget` when one is given; returns the saved row, `None` when it is gone.
pub(crate) async fn update_organization(
    db: &PgPool,
    o: &Organization,
    max_budget: Option<f64>,
) -> sqlx::Result<Option<Organization>> {
    let mut tx = db.begin().await?;
    let saved: Option<Organization> = sqlx::query_as(
        "UPDATE organizations SET organization_alias = $2, models = $3, metadata = $4, updated_by = $5, updated_at = now()
         WHERE organization_id = $1 RETURNING *",
    )
    .bind(&o.organization_id)
    .bind(&o.organization_alias)
    .bind(&o.models)
    .bind(&o.metadata)
    .bind(&o.updated_by)
    .fetch_optional(&mut *tx)
    .await?;
    if let (Some(max_budget), Some(budget_id)) = (max_budget, &o.budget_id) {
        sqlx::query(
            "INSERT INTO budgets (budget_id, max_budget) VALUES ($1, $2)
             ON CONFLICT (budget_id) DO UPDATE SET max_budget = EXCLUDED.max_budget",
        )
        .bind(budget_id)
        .bind(max_budget)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(saved)
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
    if !crate::store::storable(user_id) || !crate::store::storable(organization_id) {
        return Ok(None);
    }
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
    if !crate::store::storable(model_id) {
        return Ok(None);
    }
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
