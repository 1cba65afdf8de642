//! Rows of the MCP server registry and of unified access groups.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// The ids LiteLLM reserves for grants, which no registered server may take.
pub(crate) const RESERVED_SERVER_IDS: [&str; 2] = ["all-team-mcpservers", "all-proxy-mcpservers"];

/// An MCP server as registered through `/v1/mcp/server`.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub(crate) struct McpServer {
    pub server_id: String,
    pub server_name: Option<String>,
    pub alias: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub transport: String,
    pub auth_type: Option<String>,
    pub credentials: Option<Value>,
    pub mcp_access_groups: Vec<String>,
    pub allowed_tools: Vec<String>,
    pub extra_headers: Vec<String>,
    pub static_headers: Option<Value>,
    pub allow_all_keys: bool,
    pub status: Option<String>,
    pub timeout: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub last_health_check: Option<DateTime<Utc>>,
    pub health_check_error: Option<String>,
}

impl McpServer {
    /// The name LiteLLM puts in messages and tool prefixes: alias, else server_name, else the id.
    pub fn prefix(&self) -> &str {
        self.alias.as_deref().or(self.server_name.as_deref()).unwrap_or(&self.server_id)
    }

    /// True when `ident` names this server by id, server_name or alias (names case-insensitively).
    pub fn is_named(&self, ident: &str) -> bool {
        let same = |name: &Option<String>| name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(ident));
        self.server_id == ident || same(&self.server_name) || same(&self.alias)
    }

    /// True when the server offers `tool` (an empty `allowed_tools` offers every tool).
    pub fn allows_tool(&self, tool: &str) -> bool {
        self.allowed_tools.is_empty() || self.allowed_tools.iter().any(|t| t == tool)
    }
}

/// A unified access group (`/v1/access_group`).
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub(crate) struct AccessGroup {
    pub access_group_id: String,
    pub access_group_name: String,
    pub description: Option<String>,
    pub access_model_names: Vec<String>,
    pub access_mcp_server_ids: Vec<String>,
    pub assigned_team_ids: Vec<String>,
    /// Hashed tokens of the keys the group is attached to.
    pub assigned_key_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub access_agent_ids: Vec<String>,
    pub access_skill_names: Vec<String>,
    pub mcp_tool_permissions: Option<Value>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Servers and groups for the MCP tables.

    use super::*;

    pub fn server(id: &str) -> McpServer {
        McpServer {
            server_id: id.to_string(),
            server_name: Some(id.to_string()),
            alias: Some(id.to_string()),
            description: None,
            url: Some(format!("http://127.0.0.1:1/{id}")),
            transport: "http".into(),
            auth_type: None,
            credentials: None,
            mcp_access_groups: vec![],
            allowed_tools: vec![],
            extra_headers: vec![],
            static_headers: None,
            allow_all_keys: false,
            status: None,
            timeout: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            created_by: None,
            updated_by: None,
            last_health_check: None,
            health_check_error: None,
        }
    }

    pub fn group(id: &str, servers: &[&str]) -> AccessGroup {
        AccessGroup {
            access_group_id: id.to_string(),
            access_group_name: id.to_string(),
            description: None,
            access_model_names: vec![],
            access_mcp_server_ids: servers.iter().map(|s| s.to_string()).collect(),
            assigned_team_ids: vec![],
            assigned_key_ids: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
            access_agent_ids: vec![],
            access_skill_names: vec![],
            mcp_tool_permissions: None,
            created_by: None,
            updated_by: None,
        }
    }
}
