//! Authorization decisions as pure functions over domain values.
//!
//! Handlers load the objects, call one of these, and render the `Denial` in the envelope LiteLLM uses
//! at that place. Nothing here touches HTTP or the database, so every rule is unit-tested in a table.

mod access_group_assignment;
mod budget;
mod denial;
mod escalation;
mod key_access;
mod key_list;
mod key_status;
pub(crate) mod mcp_access;
mod model_access;
mod model_alias;
mod model_budget;
mod model_ceiling;
mod org_access;
mod route_gate;
mod spend_lists;
mod team_access;
mod user_update;

pub(crate) use access_group_assignment::{KEY_ACCESS_GROUP_ASSIGNMENT, check_access_group_assignment};
pub(crate) use budget::{
    BudgetsChecked, KeyFacts, LlmDenial, LlmRequest, MemberFacts, ModelBudgetFacts, TeamFacts, UserFacts,
    budget_checked_on, budget_spent, check_llm_request, key_budget_spent, owner_budget_spent,
};
pub(crate) use denial::Denial;
pub(crate) use escalation::{
    admin_grants_teamless_mcp, check_key_guardrail_opt_out, check_key_org_change, check_key_permissions_field,
    check_key_team_change, check_personal_key_mcp_access_groups, check_personal_key_mcp_servers,
};
pub(crate) use key_access::{
    KeyGenerateRequest, KeyUpdateChanges, TeamMcpCeiling, check_key_block, check_key_generate, check_key_info,
    check_key_mcp_within_team, check_key_owner_or_team_admin, check_key_regenerate, check_key_update,
    check_service_account_generate,
};
pub(crate) use key_list::{HashedKey, KeyListQuery, key_list_scope};
pub(crate) use key_status::{INVALID_EXPIRES, INVALID_STATUS, KeyExpiry, KeyStatus};
pub(crate) use model_access::{Listing, ModelGrants, TeamGrant, visible_models};
pub(crate) use model_alias::{AliasMap, AliasRules, Aliases};
pub(crate) use model_budget::{budget_for, parse as parse_model_max_budget, window_start};
pub(crate) use model_ceiling::{check_key_models_within_team, team_models_outside_org};
pub(crate) use org_access::{check_org_admin_access, check_org_info_access, check_org_role_change};
pub(crate) use route_gate::{RouteRequest, check_route};
pub(crate) use spend_lists::{SpendRows, global_spend_rows, spend_keys_rows, spend_logs_rows, spend_users_rows};
pub(crate) use team_access::{
    TeamPermissionsRoute, check_model_new, check_team_admin_access, check_team_info_access, check_team_member_admin,
    check_team_permissions_access, check_team_update_access,
};
pub(crate) use user_update::{PROTECTED_USER_FIELDS, UserUpdateAsk, check_user_update};

#[cfg(test)]
pub(crate) mod fixtures {
    //! Callers and teams shared by the authorization tables.

    use crate::domain::{Caller, INTERNAL_USER, Member, ORG_ADMIN, PROXY_ADMIN, Team};
    use chrono::Utc;
    use sqlx::types::Json;

    /// Checks one row of a decision table: `Ok(())` allowed, or a 403 whose message starts with the
    /// expected prefix.
    pub fn assert_decision(name: &str, got: Result<(), super::Denial>, expected: Result<(), &str>) {
        match expected {
            Ok(()) => assert_eq!(got, Ok(()), "{name}"),
            Err(prefix) => {
                let d = got.expect_err(name);
                assert_eq!(d.status(), 403, "{name}");
                assert!(d.message().starts_with(prefix), "{name}: {}", d.message());
            }
        }
    }

    pub fn user(id: &str, role: &str) -> Caller {
        Caller {
            user_id: Some(id.to_string()),
            user_role: Some(role.to_string()),
            key_hash: Some(format!("hash-of-{id}")),
            ..Caller::default()
        }
    }

    pub fn internal(id: &str) -> Caller {
        user(id, INTERNAL_USER)
    }

    pub fn admin_user() -> Caller {
        user("boss", PROXY_ADMIN)
    }

    pub fn org_admin(id: &str, org: &str) -> Caller {
        Caller { org_roles: vec![(org.to_string(), ORG_ADMIN.to_string())], ..internal(id) }
    }

    pub fn userless_key(team: Option<&str>) -> Caller {
        Caller { key_hash: Some("hash-x".into()), key_team_id: team.map(str::to_string), ..Caller::default() }
    }

    pub fn team(id: &str, org: Option<&str>, members: &[(&str, &str)]) -> Team {
        Team {
            team_id: id.to_string(),
            team_alias: None,
            organization_id: org.map(str::to_string),
            object_permission_id: None,
            members_with_roles: Json(
                members
                    .iter()
                    .map(|(u, r)| Member { user_id: Some(u.to_string()), user_email: None, role: r.to_string() })
                    .collect(),
            ),
            team_member_permissions: None,
            access_group_ids: vec![],
            metadata: serde_json::json!({}),
            max_budget: None,
            spend: 0.0,
            models: vec![],
            blocked: false,
            tpm_limit: None,
            rpm_limit: None,
            budget_duration: None,
            model_aliases: serde_json::json!({}),
            router_settings: serde_json::json!({}),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }
}
