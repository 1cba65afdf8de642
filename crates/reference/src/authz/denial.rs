//! Why a request was refused, with LiteLLM's status and exact message for each reason.

use super::route_gate::mask_user_id;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Denial {
    /// The route gate's catch-all for non-admins.
    OnlyProxyAdmin {
        route: String,
        role: Option<String>,
        user_id: Option<String>,
    },
    UserInfoOfOtherUser {
        requested: String,
        own: Option<String>,
    },
    ViewerWrite {
        route: String,
    },
    OrgCreateNotProxyAdmin {
        role: String,
    },
    NotInAnyOrganization {
        route: String,
    },
    NoOrganizationId,
    NoRoleInOrganization {
        organization_id: String,
    },
    WrongRoleInOrganization {
        route: String,
        organization_id: String,
        role: String,
    },
    TeamNewNeedsOrganization {
        organizations: Vec<String>,
    },
    TeamNewNotOrgAdmin {
        organization_id: String,
        role: String,
    },
    /// The team check of /team/update, /team/delete, /team/block, /team/unblock.
    NoTeamAccess,
    TeamAdminCannotEdit,
    /// /organization/member_* and /organization/info without proxy or org admin rights.
    NoOrganizationAccess,
    /// /organization/member_update by a non-proxy-admin on a global proxy admin.
    OrgRoleOfProxyAdmin,
    /// /team/member_* without proxy, team or org admin rights.
    NotTeamOrOrgAdmin {
        route: String,
        team_id: String,
    },
    TeamInfoUser {
        user_id: String,
        team_id: String,
    },
    TeamInfoTeamKey {
        key_team_id: String,
        team_id: String,
    },
    TeamInfoBareKey {
        team_id: String,
    },
    KeyForOtherUser {
        requested: String,
        own: String,
    },
    UserNotInTeam {
        user_id: String,
        team_id: String,
    },
    TeamMemberLacksPermission {
        route: String,
        team_id: String,
        allowed: Vec<String>,
    },
    OnlyAdminsSetAllowedRoutes,
    /// `disable_global_guardrails` on a key or team, asked by a non-admin.
    OnlyAdminsDisableGuardrails {
        entity: &'static str,
    },
    KeyInfoNotAllowed {
        role: String,
    },
    KeyDeleteNotAllowed,
    KeyUpdateBudgetNotAllowed {
        role: String,
        user_id: String,
    },
    KeyRebind {
        old: String,
        new: String,
    },
    KeyUnbind,
    NotTeamMemberForKey {
        user_id: String,
        team_id: String,
    },
    KeyMcpAccessGroupsNotAllowed {
        team_id: String,
        requested: Vec<String>,
        team_allows: Vec<String>,
    },
    KeyMcpServersNotAllowed {
        team_id: String,
        requested: Vec<String>,
        team_allows: Vec<String>,
        open_to_all: Vec<String>,
    },
    /// A non-admin attaching access groups to a personal key.
    AccessGroupsOnPersonalKey {
        groups: Vec<String>,
    },
    /// A team key asking for models its team does not allow.
    KeyModelsOutsideTeam {
        team_id: String,
        team_models: Vec<String>,
        outside: Vec<String>,
    },
    /// A team member attaching access groups without `/key/access_group_assignment`.
    AccessGroupAssignmentNotPermitted {
        team_id: String,
    },
    /// /spend/users for another user's row, by a non-admin.
    SpendOfOtherUser,
    /// /key/list by a key with no user behind it (or a user id with no row).
    KeyListNoUser,
    /// /key/list filtered by another user, by a non-admin.
    KeyListOtherUser,
    /// /key/list filtered by a team the caller is not in.
    KeyListOtherTeam,
    /// /key/list filtered by an organization the caller is not in.
    KeyListOtherOrganization,
    /// /key/list filtered by a key hash that names no key.
    KeyListHashNotFound,
    /// /key/block or /key/unblock by someone who is not an admin of the key.
    KeyAdminOnly {
        route: &'static str,
        role: String,
        user_id: String,
    },
    /// /key/update on a personal key the caller did not create, without rights over it.
    KeyUpdateNeedsKeyAdmin {
        role: String,
        user_id: String,
    },
    /// A key moved into a team its owner is not a member of.
    KeyOwnerNotInTargetTeam {
        user_id: String,
        team_id: String,
    },
    /// A key moved into a team by someone who is neither its admin nor a member it lets /key/update.
    KeyMoveNotTeamAdmin {
        user_id: String,
        team_id: String,
    },
    /// A team admin changing another member's key (LiteLLM 1.109's default: no member key edits).
    TeamAdminMemberKeyEdit,
    /// A key pointed at an organization the caller does not belong to.
    KeyOrgNotMember {
        organization_id: String,
    },
    /// MCP servers not open to every key, asked for a key in no team by a non-admin.
    PersonalKeyMcpServers {
        open_to_all: Vec<String>,
        disallowed: Vec<String>,
    },
    /// A proxy admin viewer's /user/update sending a field other than `user_email`.
    ViewerUserUpdateParam {
        param: String,
    },
    /// /model/new asked by a non-admin.
    ModelNewNotProxyAdmin {
        role: String,
    },
    /// /user/update setting `user_role`, asked by a non-admin.
    UserRoleNotProxyAdmin,
    /// /user/update (or a key write) setting `permissions`, asked by a non-admin.
    PermissionsNotProxyAdmin,
    /// /user/update of another user's row, asked by a non-admin.
    UserUpdateOtherUser,
    /// /user/update of a user that does not exist, asked by a non-admin (which would create it).
    UserUpdateCreates,
    /// /user/update of the caller's own row raising a budget or lifting its object-permission ceiling.
    UserUpdateOwnProtectedField {
        field: &'static str,
    },
    /// MCP access groups asked for a key in no team by a non-admin: no team names any group it may hold.
    PersonalKeyMcpAccessGroups {
        disallowed: Vec<String>,
    },
}

impl Denial {
    pub fn status(&self) -> u16 {
        use Denial::*;
        match self {
            OnlyProxyAdmin { .. }
            | OrgCreateNotProxyAdmin { .. }
            | NotInAnyOrganization { .. }
            | NoOrganizationId
            | NoRoleInOrganization { .. }
            | WrongRoleInOrganization { .. }
            | TeamNewNeedsOrganization { .. }
            | TeamNewNotOrgAdmin { .. }
            | TeamMemberLacksPermission { .. }
            | NotTeamMemberForKey { .. } => 401,
            UserNotInTeam { .. } => 400,
            UserUpdateCreates => 404,
            _ => 403,
        }
    }

    /// LiteLLM's `type` where it is a specific one; `None` means "derived from the status".
    pub fn error_type(&self) -> Option<&'static str> {
        match self {
            Denial::TeamMemberLacksPermission { .. } | Denial::NotTeamMemberForKey { .. } => {
                Some("team_member_permission_error")
            }
            Denial::KeyModelsOutsideTeam { .. } => Some("team_model_access_denied"),
            Denial::KeyListNoUser
            | Denial::KeyListOtherUser
            | Denial::KeyListOtherTeam
            | Denial::KeyListOtherOrganization
            | Denial::KeyListHashNotFound => Some("bad_request_error"),
            _ => None,
        }
    }

    pub fn param(&self) -> Option<String> {
        use Denial::*;
        match self {
            OrgCreateNotProxyAdmin { .. } | WrongRoleInOrganization { .. } | TeamNewNotOrgAdmin { .. } => {
                Some("user_role".into())
            }
            NotInAnyOrganization { .. }
            | NoOrganizationId
            | NoRoleInOrganization { .. }
            | TeamNewNeedsOrganization { .. } => Some("organization_id".into()),
            TeamMemberLacksPermission { route, .. } => Some(route.clone()),
            KeyModelsOutsideTeam { .. } => Some("models".into()),
            KeyListNoUser | KeyListOtherUser => Some("user_id".into()),
            KeyListOtherTeam => Some("team_id".into()),
            KeyListOtherOrganization => Some("organization_id".into()),
            KeyListHashNotFound => Some("key_hash".into()),
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        use Denial::*;
        match self {
            ViewerUserUpdateParam { param } => format!(
                "user not allowed to access this route, role= proxy_admin_viewer. Trying to access: /user/update and updating invalid param: {param}. only user_email can be updated"
            ),
            ModelNewNotProxyAdmin { role } => format!(
                "User does not have permission to make this model call. Your role={role}. You can only make model calls if you are a PROXY_ADMIN or if you are a team admin, by specifying a team_id in the model_info."
            ),
            UserRoleNotProxyAdmin => "Only proxy admins can modify user roles.".into(),
            PermissionsNotProxyAdmin => "Only proxy admins can set `permissions`.".into(),
            UserUpdateOtherUser => {
                "User does not have permission to update this user. Only PROXY_ADMIN can update other users.".into()
            }
            UserUpdateCreates => {
                "User not found. Only PROXY_ADMIN can create users via /user/update; use /user/new instead.".into()
            }
            UserUpdateOwnProtectedField { field } => {
                format!("Non-admin users cannot modify '{field}' on their own record. Contact your proxy admin.")
            }
            OnlyProxyAdmin { route, role, user_id } => format!(
                "Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route={route}. Your role={}. Your user_id={}",
                role.as_deref().unwrap_or("unknown"),
                mask_user_id(user_id.as_deref().unwrap_or("unknown"))
            ),
            UserInfoOfOtherUser { requested, own } => format!(
                "key not allowed to access this user's info. user_id={requested}, key's user_id={}",
                own.as_deref().unwrap_or("None")
            ),
            ViewerWrite { route } => {
                format!("user not allowed to access this route, role= proxy_admin_viewer. Trying to access: {route}")
            }
            OrgCreateNotProxyAdmin { role } => format!("Only proxy admins can create new organizations. You are {role}"),
            NotInAnyOrganization { route } => format!(
                "Tried to access route={route} but you are not a member of any organization. Please contact the proxy admin to request access."
            ),
            NoOrganizationId => "Passed organization_id is None, please pass an organization_id in your request".into(),
            NoRoleInOrganization { organization_id } => format!(
                "You do not have a role within the selected organization. Passed organization_id: {organization_id}. Please contact the organization admin to request access."
            ),
            WrongRoleInOrganization { route, organization_id, role } => format!(
                "You do not have the required role to perform {route} in Organization {organization_id}. Your role is {role} in Organization {organization_id}"
            ),
            TeamNewNeedsOrganization { organizations } => format!(
                "Passed organization_id is None, please specify the organization_id in your request. You are part of multiple organizations: {}",
                crate::error::py_list(organizations)
            ),
            TeamNewNotOrgAdmin { organization_id, role } => format!(
                "You do not have the required role to call /team/new. Your role is {role} in Organization {organization_id}"
            ),
            NoTeamAccess => "You do not have access to this team".into(),
            NoOrganizationAccess => "You do not have access to this organization".into(),
            OrgRoleOfProxyAdmin => {
                "Only PROXY_ADMIN may modify the organization role of a user who is a global PROXY_ADMIN.".into()
            }
            TeamAdminCannotEdit => "Team admins on this proxy cannot edit team settings. Ask a proxy admin to enable fields under Settings > UI > Team admin editable fields.".into(),
            NotTeamOrOrgAdmin { route, team_id } => {
                format!("Call not allowed. User not proxy admin OR team admin. route={route}, team_id={team_id}")
            }
            TeamInfoUser { user_id, team_id } => format!("User={user_id} not authorized to access this team={team_id}"),
            TeamInfoTeamKey { key_team_id, team_id } => {
                format!("Team key for team={key_team_id} not authorized to access this team={team_id}")
            }
            TeamInfoBareKey { team_id } => format!(
                "API key not authorized to access this team={team_id}. No user_id or team_id associated with this key."
            ),
            KeyForOtherUser { requested, own } => {
                format!("User can only create keys for themselves. Got user_id={requested}, Your ID={own}")
            }
            UserNotInTeam { user_id, team_id } => format!("User={user_id} not assigned to team={team_id}"),
            TeamMemberLacksPermission { route, team_id, allowed } => format!(
                "Team member does not have permissions for endpoint: {route}. You only have access to the following endpoints: {} for team {team_id}. To create keys for this team, please ask your proxy admin to check the team member permission settings and update the settings to allow team member users to create keys.",
                crate::error::py_list(allowed)
            ),
            OnlyAdminsSetAllowedRoutes => {
                "Only proxy admins can set `allowed_routes` on a key. Use `key_type` to pick a preset route bucket instead.".into()
            }
            OnlyAdminsDisableGuardrails { entity } => {
                format!("Only proxy admins can set `disable_global_guardrails` on a {entity}.")
            }
            KeyInfoNotAllowed { role } => format!("You are not allowed to access this key's info. Your role={role}"),
            KeyDeleteNotAllowed => "You are not authorized to delete this key".into(),
            KeyUpdateBudgetNotAllowed { role, user_id } => format!(
                "Only proxy admins, team admins, or org admins can call /key/update (max_budget/spend). user_role={role}, user_id={user_id}"
            ),
            KeyRebind { old, new } => format!("Non-admin caller is not allowed to rebind the key from user={old} to user={new}"),
            KeyUnbind => "Non-admin users cannot remove the user_id from a key.".into(),
            SpendOfOtherUser => "Not authorized to view spend for another user.".into(),
            KeyListNoUser => {
                "You are not authorized to access this endpoint. No 'user_id' is associated with your API key.".into()
            }
            KeyListOtherUser => "You are not authorized to check another user's keys".into(),
            KeyListOtherTeam => "You are not authorized to check this team's keys".into(),
            KeyListOtherOrganization => "You are not authorized to check this organization's keys".into(),
            KeyListHashNotFound => "Key Hash not found.".into(),
            KeyAdminOnly { route, role, user_id } => format!(
                "Only proxy admins, team admins, or org admins can call {route}. user_role={role}, user_id={user_id}"
            ),
            KeyUpdateNeedsKeyAdmin { role, user_id } => format!(
                "Only proxy admins, team admins, or org admins can call /key/update. user_role={role}, user_id={user_id}"
            ),
            KeyOwnerNotInTargetTeam { user_id, team_id } => format!(
                "User={user_id} is not a member of the team={team_id}. Check team members via `/team/info`."
            ),
            KeyMoveNotTeamAdmin { user_id, team_id } => format!(
                "User={user_id} is not a Proxy Admin or Team Admin for team={team_id}. Please ask your Proxy Admin to allow this action under 'Member Permissions' for this team."
            ),
            TeamAdminMemberKeyEdit => "Team admins on this proxy cannot update budgets on other members' keys. Ask a proxy admin to enable 'member_key_budgets' under Settings > UI > Team admin editable fields.".into(),
            PersonalKeyMcpServers { open_to_all, disallowed } => format!(
                "Key is not in a team. Only globally available (allow_all_keys) MCP servers can be assigned: {}. Disallowed servers: {}.",
                crate::error::py_list(open_to_all),
                crate::error::py_list(disallowed)
            ),
            PersonalKeyMcpAccessGroups { disallowed } => format!(
                "Key is not in a team. MCP access groups cannot be assigned to keys outside of a team. Disallowed groups: {}.",
                crate::error::py_list(disallowed)
            ),
            KeyOrgNotMember { organization_id } => {
                format!("Caller is not a member of organization_id={organization_id}")
            }
            KeyMcpAccessGroupsNotAllowed { team_id, requested, team_allows } => format!(
                "Key requests MCP access groups not allowed by team '{team_id}': {}. Team allows: {}.",
                crate::error::py_list(requested),
                crate::error::py_list(team_allows)
            ),
            KeyMcpServersNotAllowed { team_id, requested, team_allows, open_to_all } => format!(
                "Key requests MCP servers not allowed by team '{team_id}': {}. Team allows: {}. Global (allow_all_keys) servers: {}.",
                crate::error::py_list(requested),
                crate::error::py_list(team_allows),
                crate::error::py_list(open_to_all)
            ),
            AccessGroupsOnPersonalKey { groups } => format!(
                "Key is not in a team. Access groups cannot be assigned to personal keys by non-admin callers. Disallowed access groups: {}.",
                crate::error::py_list(groups)
            ),
            AccessGroupAssignmentNotPermitted { team_id } => format!(
                "Team members cannot assign access groups to keys for team {team_id}. Ask a team or proxy admin to enable the '/key/access_group_assignment' team member permission to allow this."
            ),
            // LiteLLM's own wording for the same decision when a key moves to another team.
            KeyModelsOutsideTeam { team_models, outside, .. } => format!(
                "team not allowed to access model. This team can only access models={}. Tried to access {}",
                crate::error::py_list(team_models),
                outside.join(", ")
            ),
            NotTeamMemberForKey { user_id, team_id } => format!(
                "User {user_id} does not belong to team {team_id}. Team-scoped key management endpoints can only be used for keys in your own team."
            ),
        }
    }
}
