//! Queries of the MCP registry and of unified access groups, parameterized.
//!
//! An access group and the teams and keys it is attached to mirror each other (`assigned_team_ids`
//! ↔ `teams.access_group_ids`, `assigned_key_ids` ↔ `verification_tokens.access_group_ids`), as in
//! LiteLLM 1.109. The team and key side is written by the store (`store::access_groups`), in the
//! same transaction as the group, so it evicts what it changed.

use sqlx::{PgConnection, PgPool};

use super::model::{AccessGroup, McpServer};

/// Serializes registry writes until the transaction ends: a create or update checks that no other
/// server has its name or alias and then writes, and without the lock two concurrent writes could
/// both pass the check.
pub(crate) async fn lock_registry(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('gateproof.mcp_servers'))").execute(conn).await.map(drop)
}

pub(crate) async fn servers(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<McpServer>> {
    sqlx::query_as("SELECT * FROM mcp_servers ORDER BY created_at, server_id").fetch_all(db).await
}

pub(crate) async fn server(db: &PgPool, server_id: &str) -> sqlx::Result<Option<McpServer>> {
    if !crate::store::storable(server_id) {
        return Ok(None);
    }
    sqlx::query_as("SELECT * FROM mcp_servers WHERE server_id = $1").bind(server_id).fetch_optional(db).await
}

macro_rules! server_insert {
    () => {
        "INSERT INTO mcp_servers (server_id, server_name, alias, description, url, transport, auth_type, credentials,
             mcp_access_groups, allowed_tools, extra_headers, static_headers, allow_all_keys, status, timeout,
             created_by, updated_by, last_health_check, health_check_error, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,now())"
    };
}

fn bind_server<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    s: &'q McpServer,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(&s.server_id)
        .bind(&s.server_name)
        .bind(&s.alias)
        .bind(&s.description)
        .bind(&s.url)
        .bind(&s.transport)
        .bind(&s.auth_type)
        .bind(&s.credentials)
        .bind(&s.mcp_access_groups)
        .bind(&s.allowed_tools)
        .bind(&s.extra_headers)
        .bind(&s.static_headers)
        .bind(s.allow_all_keys)
        .bind(&s.status)
        .bind(s.timeout)
        .bind(&s.created_by)
        .bind(&s.updated_by)
        .bind(s.last_health_check)
        .bind(&s.health_check_error)
        .bind(s.created_at)
}

pub(crate) async fn save_server(db: impl sqlx::PgExecutor<'_>, s: &McpServer) -> sqlx::Result<()> {
    let sql = concat!(
        server_insert!(),
        " ON CONFLICT (server_id) DO UPDATE SET server_name=$2, alias=$3, description=$4, url=$5, transport=$6,
             auth_type=$7, credentials=$8, mcp_access_groups=$9, allowed_tools=$10, extra_headers=$11,
             static_headers=$12, allow_all_keys=$13, status=$14, timeout=$15, updated_by=$17,
             last_health_check=$18, health_check_error=$19, updated_at=now()"
    );
    bind_server(sqlx::query(sql), s).execute(db).await.map(drop)
}

/// Registers a new server; a taken `server_id` fails with a unique violation.
pub(crate) async fn insert_server(db: impl sqlx::PgExecutor<'_>, s: &McpServer) -> sqlx::Result<()> {
    bind_server(sqlx::query(server_insert!()), s).execute(db).await.map(drop)
}

/// Records the outcome of a live health check.
pub(crate) async fn set_server_health(
    db: &PgPool,
    server_id: &str,
    status: &str,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE mcp_servers SET status = $2, health_check_error = $3, last_health_check = now() WHERE server_id = $1",
    )
    .bind(server_id)
    .bind(status)
    .bind(error)
    .execute(db)
    .await
    .map(drop)
}

/// Deletes a server; false when there was none. Keys and teams that name it keep the name, as in LiteLLM.
pub(crate) async fn delete_server(db: &PgPool, server_id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM mcp_servers WHERE server_id = $1").bind(server_id).execute(db).await?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn access_groups(db: &PgPool) -> sqlx::Result<Vec<AccessGroup>> {
    sqlx::query_as("SELECT * FROM access_groups ORDER BY created_at DESC, access_group_id").fetch_all(db).await
}

/// The groups among `ids` that exist; a missing id is skipped, as LiteLLM's resolution does.
pub(crate) async fn access_groups_by_ids(db: &PgPool, ids: &[String]) -> sqlx::Result<Vec<AccessGroup>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as("SELECT * FROM access_groups WHERE access_group_id = ANY($1) ORDER BY access_group_id")
        .bind(ids)
        .fetch_all(db)
        .await
}

pub(crate) async fn access_group(db: &PgPool, id: &str) -> sqlx::Result<Option<AccessGroup>> {
    if !crate::store::storable(id) {
        return Ok(None);
    }
    sqlx::query_as("SELECT * FROM access_groups WHERE access_group_id = $1").bind(id).fetch_optional(db).await
}

pub(crate) async fn access_group_name_taken(db: &PgPool, name: &str, except_id: Option<&str>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM access_groups WHERE access_group_name = $1 AND access_group_id IS DISTINCT FROM $2)",
    )
    .bind(name)
    .bind(except_id)
    .fetch_one(db)
    .await
}

/// Inserts or updates a group's own row, inside the store's transaction that also writes its
/// mirrors on the teams and keys.
pub(crate) async fn upsert_access_group(conn: &mut PgConnection, g: &AccessGroup) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO access_groups (access_group_id, access_group_name, description, access_model_names,
             access_mcp_server_ids, assigned_team_ids, assigned_key_ids, access_agent_ids, access_skill_names,
             mcp_tool_permissions, created_by, updated_by, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,now())
         ON CONFLICT (access_group_id) DO UPDATE SET access_group_name=$2, description=$3, access_model_names=$4,
             access_mcp_server_ids=$5, assigned_team_ids=$6, assigned_key_ids=$7, access_agent_ids=$8,
             access_skill_names=$9, mcp_tool_permissions=$10, updated_by=$12, updated_at=now()",
    )
    .bind(&g.access_group_id)
    .bind(&g.access_group_name)
    .bind(&g.description)
    .bind(&g.access_model_names)
    .bind(&g.access_mcp_server_ids)
    .bind(&g.assigned_team_ids)
    .bind(&g.assigned_key_ids)
    .bind(&g.access_agent_ids)
    .bind(&g.access_skill_names)
    .bind(&g.mcp_tool_permissions)
    .bind(&g.created_by)
    .bind(&g.updated_by)
    .bind(g.created_at)
    .execute(conn)
    .await
    .map(drop)
}

/// Teams and keys that gain or lose a group.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Assignments {
    pub add_teams: Vec<String>,
    pub remove_teams: Vec<String>,
    pub add_keys: Vec<String>,
    pub remove_keys: Vec<String>,
}

impl Assignments {
    /// What changes when an assignment list goes from `old` to `new`, for teams or keys.
    pub fn diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
        let added = new.iter().filter(|x| !old.contains(x)).cloned().collect();
        let removed = old.iter().filter(|x| !new.contains(x)).cloned().collect();
        (added, removed)
    }

    /// Every team and key touched, for cache eviction.
    pub fn teams(&self) -> impl Iterator<Item = &String> {
        self.add_teams.iter().chain(&self.remove_teams)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.add_keys.iter().chain(&self.remove_keys)
    }
}

/// The other direction of the mirror: a team or key whose `access_group_ids` went from `old` to `new`
/// is added to or removed from each group's `assigned_team_ids` / `assigned_key_ids`.
pub(crate) async fn reconcile_holder(
    db: &PgPool,
    holder: Holder<'_>,
    old: &[String],
    new: &[String],
) -> sqlx::Result<()> {
    let (added, removed) = Assignments::diff(old, new);
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let (column, id) = match holder {
        Holder::Team(id) => ("assigned_team_ids", id),
        Holder::Key(token) => ("assigned_key_ids", token),
    };
    let mut tx = db.begin().await?;
    let add = format!(
        "UPDATE access_groups SET {column} = array_append({column}, $1), updated_at = now()
         WHERE access_group_id = ANY($2) AND NOT ($1 = ANY({column}))"
    );
    let remove = format!(
        "UPDATE access_groups SET {column} = array_remove({column}, $1), updated_at = now() WHERE access_group_id = ANY($2)"
    );
    for (sql, ids) in [(add, &added), (remove, &removed)] {
        if !ids.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(ids).execute(&mut *tx).await?;
        }
    }
    tx.commit().await
}

/// Who carries a list of access group ids.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Holder<'a> {
    Team(&'a str),
    /// A key, by its hashed token.
    Key(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_what_was_added_and_removed() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases = [
            (s(&[]), s(&["a"]), s(&["a"]), s(&[])),
            (s(&["a", "b"]), s(&["b", "c"]), s(&["c"]), s(&["a"])),
            (s(&["a"]), s(&["a"]), s(&[]), s(&[])),
            (s(&["a"]), s(&[]), s(&[]), s(&["a"])),
        ];
        for (old, new, added, removed) in cases {
            assert_eq!(Assignments::diff(&old, &new), (added, removed), "{old:?} -> {new:?}");
        }
    }
}
