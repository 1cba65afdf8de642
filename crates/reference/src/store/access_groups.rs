//! The team and key side of unified access groups. A group's `assigned_team_ids` and
//! `assigned_key_ids` mirror `teams.access_group_ids` and `verification_tokens.access_group_ids`;
//! the store writes both sides in one transaction and then evicts every team and key it touched.

use sqlx::PgConnection;

use super::Store;
use crate::mcp::model::AccessGroup;
use crate::mcp::storage::{self as mcp_storage, Assignments};

impl Store {
    /// The ids among `team_ids` that name no team, sorted.
    pub async fn unknown_team_ids(&self, team_ids: &[String]) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT DISTINCT id FROM unnest($1::text[]) AS id WHERE NOT EXISTS (SELECT 1 FROM teams WHERE team_id = id) ORDER BY id",
        )
        .bind(team_ids)
        .fetch_all(&self.db)
        .await
    }

    /// The ids of the teams that carry `group_id` in their `access_group_ids`.
    async fn teams_carrying(&self, group_id: &str) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar("SELECT team_id FROM teams WHERE $1 = ANY(access_group_ids) ORDER BY created_at, team_id")
            .bind(group_id)
            .fetch_all(&self.db)
            .await
    }

    /// (team_id, team_alias) of the teams among `ids`.
    pub async fn team_aliases(&self, ids: &[String]) -> sqlx::Result<Vec<(String, Option<String>)>> {
        sqlx::query_as("SELECT team_id, team_alias FROM teams WHERE team_id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.db)
            .await
    }

    /// (token, key_alias or key_name) of the keys among `tokens`.
    pub async fn key_labels(&self, tokens: &[String]) -> sqlx::Result<Vec<(String, Option<String>)>> {
        sqlx::query_as("SELECT token, COALESCE(key_alias, key_name) FROM verification_tokens WHERE token = ANY($1)")
            .bind(tokens)
            .fetch_all(&self.db)
            .await
    }

    /// The teams really attached to `group`: the stored ids that still exist, plus teams that carry
    /// the group.
    pub async fn attached_teams(&self, group: &AccessGroup) -> sqlx::Result<Vec<String>> {
        let unknown = self.unknown_team_ids(&group.assigned_team_ids).await?;
        let mut teams: Vec<String> = group.assigned_team_ids.iter().filter(|t| !unknown.contains(t)).cloned().collect();
        for t in self.teams_carrying(&group.access_group_id).await? {
            if !teams.contains(&t) {
                teams.push(t);
            }
        }
        Ok(teams)
    }

    /// Inserts or updates a group and moves its id onto or off the teams and keys whose assignment
    /// changed, in one transaction; then evicts those teams and keys.
    pub async fn save_access_group(&self, group: &AccessGroup, delta: &Assignments) -> sqlx::Result<()> {
        let mut tx = self.db.begin().await?;
        mcp_storage::upsert_access_group(&mut tx, group).await?;
        mirror(&mut tx, &group.access_group_id, delta).await?;
        tx.commit().await?;
        let teams: Vec<String> = delta.teams().cloned().collect();
        let keys: Vec<String> = delta.keys().cloned().collect();
        self.evict_mirrored(&teams, &keys).await
    }

    /// Deletes a group, takes its id off every team and key, and evicts the teams attached and the
    /// keys assigned; false when there was none.
    pub async fn delete_access_group(&self, group: &AccessGroup) -> sqlx::Result<bool> {
        let teams = self.attached_teams(group).await?;
        let id = &group.access_group_id;
        let mut tx = self.db.begin().await?;
        let done =
            sqlx::query("DELETE FROM access_groups WHERE access_group_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE teams SET access_group_ids = array_remove(access_group_ids, $1) WHERE $1 = ANY(access_group_ids)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE verification_tokens SET access_group_ids = array_remove(access_group_ids, $1) WHERE $1 = ANY(access_group_ids)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.evict_mirrored(&teams, &group.assigned_key_ids).await?;
        Ok(true)
    }
}

async fn mirror(conn: &mut PgConnection, group_id: &str, d: &Assignments) -> sqlx::Result<()> {
    let add = |table: &str, column: &str| {
        format!(
            "UPDATE {table} SET access_group_ids = array_append(access_group_ids, $1)
             WHERE {column} = ANY($2) AND NOT ($1 = ANY(access_group_ids))"
        )
    };
    let remove = |table: &str, column: &str| {
        format!("UPDATE {table} SET access_group_ids = array_remove(access_group_ids, $1) WHERE {column} = ANY($2)")
    };
    let statements = [
        (add("teams", "team_id"), &d.add_teams),
        (remove("teams", "team_id"), &d.remove_teams),
        (add("verification_tokens", "token"), &d.add_keys),
        (remove("verification_tokens", "token"), &d.remove_keys),
    ];
    for (sql, ids) in statements {
        if !ids.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(group_id).bind(ids).execute(&mut *conn).await?;
        }
    }
    Ok(())
}
