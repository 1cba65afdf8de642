//! Management objects as the reference proxy stores and serves them (LiteLLM's column names).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

pub(crate) const PROXY_ADMIN: &str = "proxy_admin";
pub(crate) const PROXY_ADMIN_VIEWER: &str = "proxy_admin_viewer";
pub(crate) const INTERNAL_USER: &str = "internal_user";
pub(crate) const INTERNAL_USER_VIEWER: &str = "internal_user_viewer";
pub(crate) const ORG_ADMIN: &str = "org_admin";

/// The user id LiteLLM gives the master key.
pub(crate) const MASTER_USER_ID: &str = "default_user_id";

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(crate) struct User {
    pub user_id: String,
    pub user_alias: Option<String>,
    pub user_email: Option<String>,
    pub user_role: Option<String>,
    pub teams: Vec<String>,
    pub organization_id: Option<String>,
    pub object_permission_id: Option<String>,
    pub max_budget: Option<f64>,
    pub spend: f64,
    pub models: Vec<String>,
    pub metadata: Value,
    pub budget_duration: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a team's `members_with_roles`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Member {
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_email: Option<String>,
    pub role: String,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(crate) struct Team {
    pub team_id: String,
    pub team_alias: Option<String>,
    pub organization_id: Option<String>,
    pub object_permission_id: Option<String>,
    pub members_with_roles: Json<Vec<Member>>,
    pub team_member_permissions: Option<Vec<String>>,
    pub access_group_ids: Vec<String>,
    pub metadata: Value,
    pub max_budget: Option<f64>,
    pub spend: f64,
    pub models: Vec<String>,
    pub blocked: bool,
    pub tpm_limit: Option<i64>,
    pub rpm_limit: Option<i64>,
    pub budget_duration: Option<String>,
    /// `model_aliases`: the name a team key sends, to the model group it is served by. LiteLLM shows
    /// it in a model table row, not in the team's own row.
    #[serde(skip)]
    pub model_aliases: Value,
    /// `router_settings`; its `model_group_alias` renames what the team's keys ask for.
    #[serde(skip)]
    pub router_settings: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Team {
    pub fn role_of(&self, user_id: &str) -> Option<&str> {
        self.members_with_roles.iter().find(|m| m.user_id.as_deref() == Some(user_id)).map(|m| m.role.as_str())
    }
}

/// A virtual key row; `token` is the SHA-256 hex of the raw key, which is never stored.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(crate) struct Key {
    pub token: String,
    pub key_name: Option<String>,
    pub key_alias: Option<String>,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub organization_id: Option<String>,
    pub object_permission_id: Option<String>,
    pub access_group_ids: Vec<String>,
    pub models: Vec<String>,
    pub max_budget: Option<f64>,
    pub spend: f64,
    pub budget_duration: Option<String>,
    pub expires: Option<DateTime<Utc>>,
    pub blocked: bool,
    pub metadata: Value,
    pub allowed_routes: Vec<String>,
    pub key_type: Option<String>,
    pub tpm_limit: Option<i64>,
    pub rpm_limit: Option<i64>,
    /// `aliases`: the name a client sends with this key, to the model group it is served by.
    pub aliases: Value,
    /// `model_max_budget`: per-model spend limits, `{model: {budget_limit, time_period}}`.
    pub model_max_budget: Value,
    /// `router_settings`; its `model_group_alias` renames what this key asks for.
    pub router_settings: Value,
    /// `permissions`: capabilities only a proxy admin grants; `get_spend_routes` is read.
    pub permissions: Value,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Key {
    /// A key row with every optional field unset.
    pub fn unset(token: String, key_name: Option<String>, user_id: Option<String>, created_by: Option<String>) -> Key {
        let now = Utc::now();
        Key {
            token,
            key_name,
            key_alias: None,
            user_id,
            team_id: None,
            organization_id: None,
            object_permission_id: None,
            access_group_ids: vec![],
            models: vec![],
            max_budget: None,
            spend: 0.0,
            budget_duration: None,
            expires: None,
            blocked: false,
            metadata: Value::Object(Default::default()),
            allowed_routes: vec![],
            key_type: Some("default".into()),
            tpm_limit: None,
            rpm_limit: None,
            aliases: Value::Object(Default::default()),
            model_max_budget: Value::Object(Default::default()),
            router_settings: Value::Object(Default::default()),
            permissions: Value::Object(Default::default()),
            updated_by: created_by.clone(),
            created_by,
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(crate) struct Organization {
    pub organization_id: String,
    pub organization_alias: String,
    pub budget_id: Option<String>,
    pub metadata: Value,
    pub models: Vec<String>,
    pub spend: f64,
    pub object_permission_id: Option<String>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub(crate) struct OrgMembership {
    pub user_id: String,
    pub organization_id: String,
    pub user_role: String,
    pub spend: f64,
    pub budget_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub(crate) struct ObjectPermission {
    #[serde(default)]
    pub object_permission_id: String,
    #[serde(default)]
    pub mcp_servers: Vec<String>,
    #[serde(default)]
    pub mcp_access_groups: Vec<String>,
    #[serde(default)]
    pub mcp_tool_permissions: Option<Value>,
    #[serde(default)]
    pub mcp_toolsets: Vec<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub vector_stores: Vec<String>,
    #[serde(default)]
    pub agents: Vec<String>,
}

/// Who is calling, as authentication established it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Caller {
    pub is_master_key: bool,
    pub user_id: Option<String>,
    /// The role stored on the caller's user row; `None` when the key has no user or the row is missing.
    pub user_role: Option<String>,
    /// SHA-256 of the caller's key (`None` for the master key).
    pub key_hash: Option<String>,
    pub key_team_id: Option<String>,
    pub key_allowed_routes: Vec<String>,
    /// The key holds the `get_spend_routes` permission (whatever its value, as LiteLLM reads it).
    pub key_spend_routes: bool,
    /// The caller's organization memberships: (organization_id, role).
    pub org_roles: Vec<(String, String)>,
}

impl Caller {
    pub fn master() -> Caller {
        Caller {
            is_master_key: true,
            user_id: Some(MASTER_USER_ID.to_string()),
            user_role: Some(PROXY_ADMIN.to_string()),
            ..Caller::default()
        }
    }

    pub fn is_proxy_admin(&self) -> bool {
        self.is_master_key || self.user_role.as_deref() == Some(PROXY_ADMIN)
    }

    pub fn is_org_admin_of(&self, organization_id: &str) -> bool {
        self.org_roles.iter().any(|(org, role)| org == organization_id && role == ORG_ADMIN)
    }

    /// The role handlers see: a key without a user acts as an internal user.
    pub fn handler_role(&self) -> &str {
        self.user_role.as_deref().unwrap_or(INTERNAL_USER)
    }
}
