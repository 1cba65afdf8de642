//! Scope widening through the write routes: the rules that keep a non-admin from giving a key (or
//! itself) more than it was given, and the escalation matrix they answer to.
//!
//! The matrix is data (`MATRIX` in the tests): every write route × every field that widens scope ×
//! every non-admin actor, each cell allowed or denied as the corrected behaviour decides. The table
//! test runs every cell through the same decision functions the handlers call, in the handlers'
//! order, so a cell that opens up fails the test. The `escalation-*` scenarios assert the same cells
//! over HTTP, on the reference and on real LiteLLM.

use super::Denial;
use super::key_access::member_routes;
use crate::domain::{Caller, Key, Team};
use crate::{Quirk, Quirks};

/// /key/update moving `key` into `target` (a `team_id` other than the key's). LiteLLM checks the
/// key's owner first (a key may only join a team its owner belongs to, whoever asks, proxy admins
/// included), then the caller: the team's admin, or a member whose team grants `/key/update`.
pub(crate) fn check_key_team_change(caller: &Caller, key: &Key, target: &Team) -> Result<(), Denial> {
    if let Some(owner) = &key.user_id
        && target.role_of(owner).is_none()
    {
        return Err(Denial::KeyOwnerNotInTargetTeam { user_id: owner.clone(), team_id: target.team_id.clone() });
    }
    if caller.is_proxy_admin() {
        return Ok(());
    }
    let role = caller.user_id.as_deref().and_then(|u| target.role_of(u));
    let permitted = match role {
        Some("admin") => true,
        Some(_) => member_routes(target).iter().any(|r| r == "/key/update"),
        None => false,
    };
    if permitted {
        Ok(())
    } else {
        Err(Denial::KeyMoveNotTeamAdmin {
            user_id: caller.user_id.clone().unwrap_or_else(|| "None".into()),
            team_id: target.team_id.clone(),
        })
    }
}

/// /key/generate or /key/update naming an organization for a key (whose organization is `current`):
/// only a member of that organization (or a proxy admin) may, as LiteLLM 1.109 decides. With
/// `key_org_assignment_unchecked` anyone may, as in LiteLLM 1.83.
pub(crate) fn check_key_org_change(
    caller: &Caller,
    current: Option<&str>,
    organization_id: &str,
    quirks: Quirks,
) -> Result<(), Denial> {
    if caller.is_proxy_admin() || current == Some(organization_id) || quirks.contains(Quirk::KeyOrgAssignmentUnchecked)
    {
        return Ok(());
    }
    if caller.org_roles.iter().any(|(org, _)| org == organization_id) {
        Ok(())
    } else {
        Err(Denial::KeyOrgNotMember { organization_id: organization_id.to_string() })
    }
}

/// Whether the proxy admin skips the checks on a teamless key's MCP grants: it does, unless
/// `admin_teamless_key_mcp_refused` refuses it as LiteLLM 1.83 does (BerriAI/litellm#25866).
pub(crate) fn admin_grants_teamless_mcp(caller: &Caller, quirks: Quirks) -> bool {
    caller.is_proxy_admin() && !quirks.contains(Quirk::AdminTeamlessKeyMcpRefused)
}

/// MCP servers on a key in no team, asked by a non-admin: only servers open to every key
/// (`allow_all_keys`) may be granted there, since no team ceiling bounds the key (LiteLLM 1.109).
pub(crate) fn check_personal_key_mcp_servers(
    caller: &Caller,
    requested: &[String],
    open_to_all: &[String],
    quirks: Quirks,
) -> Result<(), Denial> {
    if admin_grants_teamless_mcp(caller, quirks) {
        return Ok(());
    }
    let disallowed: Vec<String> = requested.iter().filter(|s| !open_to_all.contains(s)).cloned().collect();
    if disallowed.is_empty() {
        Ok(())
    } else {
        Err(Denial::PersonalKeyMcpServers { open_to_all: open_to_all.to_vec(), disallowed })
    }
}

/// MCP access groups on a key in no team, asked by a non-admin: refused, since only a team's object
/// permission names the groups its keys may hold (LiteLLM 1.109; 1.83 refuses the proxy admin too).
pub(crate) fn check_personal_key_mcp_access_groups(
    caller: &Caller,
    requested: &[String],
    quirks: Quirks,
) -> Result<(), Denial> {
    if admin_grants_teamless_mcp(caller, quirks) || requested.is_empty() {
        return Ok(());
    }
    let mut disallowed = requested.to_vec();
    disallowed.sort();
    disallowed.dedup();
    Err(Denial::PersonalKeyMcpAccessGroups { disallowed })
}

/// `permissions` on a key (what it may do beyond its routes: PII controls, the spend routes): only a
/// proxy admin may send the field at all, whatever its value, as LiteLLM 1.109 decides. With
/// `admin_only_key_fields_unchecked` anyone may, as in LiteLLM 1.83 (#27803).
pub(crate) fn check_key_permissions_field(caller: &Caller, sent: bool, quirks: Quirks) -> Result<(), Denial> {
    if !sent || caller.is_proxy_admin() || quirks.contains(Quirk::AdminOnlyKeyFieldsUnchecked) {
        Ok(())
    } else {
        Err(Denial::PermissionsNotProxyAdmin)
    }
}

/// Opting a key out of the proxy's default-on guardrails (`disable_global_guardrails`, top level or
/// in `metadata`): only a proxy admin may, except that sending a flag already stored is no opt-out.
/// With `admin_only_key_fields_unchecked` anyone may, as in LiteLLM 1.83 (#27803).
pub(crate) fn check_key_guardrail_opt_out(
    caller: &Caller,
    asked: bool,
    already_opted_out: bool,
    quirks: Quirks,
) -> Result<(), Denial> {
    if !asked || already_opted_out || caller.is_proxy_admin() || quirks.contains(Quirk::AdminOnlyKeyFieldsUnchecked) {
        Ok(())
    } else {
        Err(Denial::OnlyAdminsDisableGuardrails { entity: "key" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::fixtures::*;
    use crate::authz::{
        KeyGenerateRequest, KeyUpdateChanges, RouteRequest, TeamPermissionsRoute, UserUpdateAsk, check_key_block,
        check_key_generate, check_key_regenerate, check_key_update, check_model_new, check_route,
        check_team_member_admin, check_team_permissions_access, check_team_update_access, check_user_update,
    };

    /// The write routes of the matrix.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Route {
        KeyGenerate,
        KeyUpdate,
        TeamNew,
        TeamUpdate,
        TeamMemberAdd,
        TeamMemberUpdate,
        TeamMemberDelete,
        TeamPermissionsUpdate,
        UserUpdate,
        UserNew,
        ModelNew,
        OrganizationNew,
        OrganizationMemberAdd,
        OrganizationUpdate,
        AccessGroupNew,
        KeyRegenerate,
        KeyBlock,
        KeyUnblock,
    }

    impl Route {
        fn path(self) -> &'static str {
            match self {
                Route::KeyGenerate => "/key/generate",
                Route::KeyUpdate => "/key/update",
                Route::TeamNew => "/team/new",
                Route::TeamUpdate => "/team/update",
                Route::TeamMemberAdd => "/team/member_add",
                Route::TeamMemberUpdate => "/team/member_update",
                Route::TeamMemberDelete => "/team/member_delete",
                Route::UserUpdate => "/user/update",
                Route::TeamPermissionsUpdate => "/team/permissions_update",
                Route::UserNew => "/user/new",
                Route::ModelNew => "/model/new",
                Route::OrganizationNew => "/organization/new",
                Route::OrganizationMemberAdd => "/organization/member_add",
                Route::OrganizationUpdate => "/organization/update",
                Route::AccessGroupNew => "/v1/access_group",
                Route::KeyRegenerate => "/key/regenerate",
                Route::KeyBlock => "/key/block",
                Route::KeyUnblock => "/key/unblock",
            }
        }
    }

    /// What a cell's request widens, on whose key (for the key routes).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Field {
        /// A key moved into team `t1`; the key is `KeyOf`'s personal key.
        TeamId(KeyOf),
        /// A team key of `tmember` in `t1` moved into `t2`.
        TeamIdOutOfTeam,
        /// The key handed to another user.
        UserId,
        MaxBudget,
        /// A team key's budget (the member's key in `t1`).
        TeamKeyBudget,
        AllowedRoutes,
        /// Unblocking a key a proxy admin blocked.
        Unblock,
        /// tpm/rpm limits raised.
        Limits,
        /// A key pointed at an organization none of the actors belongs to (`org1`, the team's).
        OrganizationId,
        /// A team key for `t1`.
        TeamKey,
        /// A key for a user who is none of the actors.
        KeyForOther,
        /// A new team, a new user with a role, a new model, a new organization, a new access group.
        Create,
        /// A team's budget, models or limits.
        TeamScope,
        /// A member added as team admin.
        MemberRoleAdmin,
        /// `team_member_permissions` granting key routes.
        MemberPermissions,
        /// A member added to an organization as org admin.
        OrgAdminRole,
        /// A member's budget in the team raised (`max_budget_in_team`), or its role changed.
        MemberBudget,
        /// The team admin's own budget in the team raised.
        MemberOwnBudget,
        /// The team's admin removed from it.
        MemberRemoveAdmin,
        /// `user_role: proxy_admin` on `iu`'s row.
        UserRole,
        /// `max_budget` on `iu`'s row.
        UserBudget,
        /// `max_budget` on the caller's own row, naming `org2` (whose admin passes the gate).
        UserOwnBudgetViaOrg,
        /// `permissions` (PII controls) on a key of the actor's own.
        Permissions,
        /// `metadata.disable_global_guardrails` on a key of the actor's own.
        GuardrailOptOut,
        /// An organization's budget or models: `org2`, the one `OrgAdminElsewhere` administers.
        OrgScope,
        /// A key's `models` widened (to every model): `iu`'s key, made by the proxy admin.
        Models,
        /// The route applied to `tmember`'s key in `t1`, made by the proxy admin.
        MemberTeamKey,
        /// The route applied to `iu`'s personal key, made by the proxy admin.
        OutsiderKey,
    }

    /// Whose personal key a /key/update cell changes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum KeyOf {
        Outsider,
        Member,
    }

    /// The actors: every non-admin kind, and the proxy admin as the control that shows the request
    /// itself is valid.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Actor {
        ProxyAdmin,
        TeamAdmin,
        OtherTeamAdmin,
        Member,
        MemberTeamKey,
        Outsider,
        OrgAdminElsewhere,
        /// `tadmin` calling with its key of `t1`, as `MemberTeamKey` is the member's.
        TeamAdminTeamKey,
        /// `oadmin` calling with its key of `t2`.
        OtherTeamAdminTeamKey,
        /// `fa` calling with its key of `t3`, a team of org2 it is a member of.
        OrgAdminElsewhereTeamKey,
    }

    const ACTORS: [Actor; 10] = [
        Actor::ProxyAdmin,
        Actor::TeamAdmin,
        Actor::OtherTeamAdmin,
        Actor::Member,
        Actor::MemberTeamKey,
        Actor::Outsider,
        Actor::OrgAdminElsewhere,
        Actor::TeamAdminTeamKey,
        Actor::OtherTeamAdminTeamKey,
        Actor::OrgAdminElsewhereTeamKey,
    ];

    /// A cell's outcome: allowed, or denied with one of these statuses.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Cell {
        Allow,
        Deny(u16),
    }
    use Cell::{Allow, Deny};

    /// Every cell, in `ACTORS` order.
    const MATRIX: &[(Route, Field, [Cell; 10])] = &[
        // The cell: the outsider's own key into t1; no one may, as its owner is not in t1.
        (
            Route::KeyUpdate,
            Field::TeamId(KeyOf::Outsider),
            [
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
            ],
        ),
        (
            Route::KeyUpdate,
            Field::TeamId(KeyOf::Member),
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::TeamIdOutOfTeam,
            [
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(401),
                Deny(401),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
                Deny(403),
            ],
        ),
        (
            Route::KeyUpdate,
            Field::UserId,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::MaxBudget,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::TeamKeyBudget,
            [Allow, Deny(403), Deny(403), Deny(401), Deny(401), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::AllowedRoutes,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::Unblock,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::Limits,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::OrganizationId,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyGenerate,
            Field::OrganizationId,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyGenerate,
            Field::TeamKey,
            [Allow, Allow, Deny(400), Deny(401), Deny(401), Deny(400), Deny(400), Allow, Deny(400), Deny(400)],
        ),
        (
            Route::KeyGenerate,
            Field::KeyForOther,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyGenerate,
            Field::AllowedRoutes,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        // Even the organization's own admin: the budget and models are the ceiling set for it.
        (
            Route::OrganizationUpdate,
            Field::OrgScope,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
        // Metadata and fields that carry permissions: the actor's own key, so only the field decides.
        (
            Route::KeyGenerate,
            Field::Permissions,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyGenerate,
            Field::GuardrailOptOut,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::Permissions,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUpdate,
            Field::GuardrailOptOut,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::TeamNew,
            Field::Create,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
        (
            Route::TeamUpdate,
            Field::TeamScope,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::TeamMemberAdd,
            Field::MemberRoleAdmin,
            [Allow, Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403)],
        ),
        (
            Route::TeamPermissionsUpdate,
            Field::MemberPermissions,
            [Allow, Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403)],
        ),
        (
            Route::UserNew,
            Field::Create,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
        (
            Route::ModelNew,
            Field::Create,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::OrganizationNew,
            Field::Create,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
        (
            Route::OrganizationMemberAdd,
            Field::OrgAdminRole,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
        // A key's models widened: as its other limits, the key admins' (here the proxy admin's) only.
        (
            Route::KeyUpdate,
            Field::Models,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        // Blocking and unblocking are for the key's admins: a team key's team admins, a personal
        // key's proxy admin; its owner has no say.
        (
            Route::KeyBlock,
            Field::MemberTeamKey,
            [Allow, Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403)],
        ),
        (
            Route::KeyBlock,
            Field::OutsiderKey,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::KeyUnblock,
            Field::MemberTeamKey,
            [Allow, Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403)],
        ),
        (
            Route::KeyUnblock,
            Field::OutsiderKey,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        // Regenerating hands the caller the key's new secret: its owner, its team's admins, a
        // proxy admin; on a team key the owner also needs the team to grant /key/regenerate.
        (
            Route::KeyRegenerate,
            Field::MemberTeamKey,
            [Allow, Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Allow, Deny(401), Deny(401)],
        ),
        (
            Route::KeyRegenerate,
            Field::OutsiderKey,
            [Allow, Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403), Deny(403), Deny(403)],
        ),
        (
            Route::AccessGroupNew,
            Field::Create,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
    ];

    /// The member and user write routes (issue 12's rows).
    const MEMBER_AND_USER_ROWS: &[(Route, Field, [Cell; 10])] = &[
        (
            Route::TeamMemberUpdate,
            Field::MemberBudget,
            [Allow, Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403)],
        ),
        // A team admin sets its own budget in the team as it sets any member's (both LiteLLM
        // versions allow it; only resetting its own spend is refused there).
        (
            Route::TeamMemberUpdate,
            Field::MemberOwnBudget,
            [Allow, Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403)],
        ),
        (
            Route::TeamMemberDelete,
            Field::MemberRemoveAdmin,
            [Allow, Allow, Deny(403), Deny(403), Deny(403), Deny(403), Deny(403), Allow, Deny(403), Deny(403)],
        ),
        (
            Route::UserUpdate,
            Field::UserRole,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
        (
            Route::UserUpdate,
            Field::UserBudget,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(401)],
        ),
        (
            Route::UserUpdate,
            Field::UserOwnBudgetViaOrg,
            [Allow, Deny(401), Deny(401), Deny(401), Deny(401), Deny(401), Deny(403), Deny(401), Deny(401), Deny(403)],
        ),
    ];

    /// The world every cell runs in: team t1 (org1) with `tadmin` and `tmember`, team t2 with
    /// `oadmin`, `iu` in no team, `fa` the admin of org2 (so also of no team here).
    struct World {
        t1: Team,
        t2: Team,
    }

    fn world() -> World {
        World {
            t1: team("t1", Some("org1"), &[("tadmin", "admin"), ("tmember", "user")]),
            t2: team("t2", None, &[("oadmin", "admin")]),
        }
    }

    fn caller(actor: Actor) -> Caller {
        match actor {
            Actor::ProxyAdmin => Caller::master(),
            Actor::TeamAdmin => internal("tadmin"),
            Actor::OtherTeamAdmin => internal("oadmin"),
            Actor::Member => internal("tmember"),
            Actor::MemberTeamKey => Caller { key_team_id: Some("t1".into()), ..internal("tmember") },
            Actor::Outsider => internal("iu"),
            Actor::OrgAdminElsewhere => org_admin("fa", "org2"),
            Actor::TeamAdminTeamKey => Caller { key_team_id: Some("t1".into()), ..internal("tadmin") },
            Actor::OtherTeamAdminTeamKey => Caller { key_team_id: Some("t2".into()), ..internal("oadmin") },
            Actor::OrgAdminElsewhereTeamKey => Caller { key_team_id: Some("t3".into()), ..org_admin("fa", "org2") },
        }
    }

    /// A key as the scenarios' setup makes it: by the proxy admin, for `owner`.
    fn admin_made_key(owner: &str, team: Option<&str>) -> Key {
        Key {
            team_id: team.map(str::to_string),
            ..Key::unset(format!("tok-{owner}"), None, Some(owner.into()), Some("default_user_id".into()))
        }
    }

    fn status(r: Result<(), Denial>) -> Cell {
        r.map_or_else(|d| Deny(d.status()), |()| Allow)
    }

    fn gate(caller: &Caller, route: Route, organization_ids: Vec<String>) -> Result<(), Denial> {
        let req = RouteRequest { route: route.path(), method: "POST", organization_ids, ..Default::default() };
        check_route(caller, &req, Quirks::NONE)
    }

    /// /key/update in the handler's order: the gate, the key checks, then the team or
    /// organization move.
    fn key_update(
        caller: &Caller,
        w: &World,
        key: &Key,
        changes: KeyUpdateChanges,
        move_to: Option<&Team>,
    ) -> Result<(), Denial> {
        gate(caller, Route::KeyUpdate, vec![])?;
        let team = match key.team_id.as_deref() {
            Some("t1") => Some(&w.t1),
            Some(_) => Some(&w.t2),
            None => None,
        };
        check_key_update(caller, key, team, &changes, Quirks::NONE)?;
        match move_to {
            Some(t) => check_key_team_change(caller, key, t),
            None => Ok(()),
        }
    }

    fn admin_only_fields(caller: &Caller, field: Field) -> Result<(), Denial> {
        check_key_permissions_field(caller, field == Field::Permissions, Quirks::NONE)?;
        check_key_guardrail_opt_out(caller, field == Field::GuardrailOptOut, false, Quirks::NONE)
    }

    /// One cell through the decision functions, as the handler of its route calls them.
    fn decide(route: Route, field: Field, actor: Actor) -> Cell {
        let w = world();
        let c = caller(actor);
        let plain = KeyUpdateChanges::default();
        let budget = KeyUpdateChanges { budget: true, ..Default::default() };
        let r = match (route, field) {
            (Route::KeyUpdate, Field::TeamId(of)) => {
                let owner = if of == KeyOf::Outsider { "iu" } else { "tmember" };
                key_update(&c, &w, &admin_made_key(owner, None), plain, Some(&w.t1))
            }
            (Route::KeyUpdate, Field::TeamIdOutOfTeam) => {
                key_update(&c, &w, &admin_made_key("tmember", Some("t1")), plain, Some(&w.t2))
            }
            (Route::KeyUpdate, Field::UserId) => {
                let rebind = KeyUpdateChanges { user_id: Some(Some("tmember".into())), ..Default::default() };
                key_update(&c, &w, &admin_made_key("iu", None), rebind, None)
            }
            (Route::KeyUpdate, Field::MaxBudget) => key_update(&c, &w, &admin_made_key("iu", None), budget, None),
            (Route::KeyUpdate, Field::TeamKeyBudget) => {
                key_update(&c, &w, &admin_made_key("tmember", Some("t1")), budget, None)
            }
            // allowed_routes is refused to non-admins before anything else reads the key.
            (Route::KeyUpdate | Route::KeyGenerate, Field::AllowedRoutes) if !c.is_proxy_admin() => {
                gate(&c, route, vec![]).and(Err(Denial::OnlyAdminsSetAllowedRoutes))
            }
            (Route::KeyUpdate, Field::AllowedRoutes | Field::Unblock | Field::Limits | Field::Models) => {
                key_update(&c, &w, &admin_made_key("iu", None), plain, None)
            }
            (Route::KeyUpdate, Field::OrganizationId) => key_update(&c, &w, &admin_made_key("iu", None), plain, None)
                .and_then(|()| check_key_org_change(&c, None, "org1", Quirks::NONE)),
            (Route::KeyGenerate, Field::TeamKey) => gate(&c, route, vec![]).and_then(|()| {
                check_key_generate(&c, &KeyGenerateRequest { team: Some(&w.t1), ..Default::default() }).map(drop)
            }),
            (Route::KeyGenerate, Field::KeyForOther) => gate(&c, route, vec![]).and_then(|()| {
                check_key_generate(&c, &KeyGenerateRequest { user_id: Some("someone-else"), ..Default::default() })
                    .map(drop)
            }),
            (Route::KeyGenerate, Field::AllowedRoutes) => gate(&c, route, vec![]),
            (Route::KeyGenerate, Field::Permissions | Field::GuardrailOptOut) => gate(&c, route, vec![])
                .and_then(|()| check_key_generate(&c, &KeyGenerateRequest::default()).map(drop))
                .and_then(|()| admin_only_fields(&c, field)),
            // The field is refused before the key is read; the key is the actor's own.
            (Route::KeyUpdate, Field::Permissions | Field::GuardrailOptOut) => {
                gate(&c, route, vec![]).and_then(|()| admin_only_fields(&c, field)).and_then(|()| {
                    let own = c.user_id.clone().unwrap_or_else(|| "nobody".into());
                    key_update(&c, &w, &admin_made_key(&own, None), plain, None)
                })
            }
            (Route::KeyGenerate, Field::OrganizationId) => gate(&c, route, vec!["org1".into()]).and_then(|()| {
                check_key_generate(&c, &KeyGenerateRequest::default())
                    .map(drop)
                    .and_then(|()| check_key_org_change(&c, None, "org1", Quirks::NONE))
            }),
            (Route::TeamUpdate, Field::TeamScope) => {
                gate(&c, route, vec![]).and_then(|()| check_team_update_access(&c, &w.t1))
            }
            (Route::TeamMemberAdd, Field::MemberRoleAdmin) => {
                gate(&c, route, vec![]).and_then(|()| check_team_member_admin(&c, &w.t1, route.path()))
            }
            (Route::TeamPermissionsUpdate, Field::MemberPermissions) => gate(&c, route, vec![])
                .and_then(|()| check_team_permissions_access(&c, &w.t1, TeamPermissionsRoute::Update)),
            (Route::TeamMemberUpdate, Field::MemberBudget | Field::MemberOwnBudget)
            | (Route::TeamMemberDelete, Field::MemberRemoveAdmin) => {
                gate(&c, route, vec![]).and_then(|()| check_team_member_admin(&c, &w.t1, "/team/member_delete"))
            }
            (Route::UserUpdate, Field::UserRole | Field::UserBudget) => gate(&c, route, vec![]).and_then(|()| {
                let ask = UserUpdateAsk {
                    target: Some("iu"),
                    sets_role: field == Field::UserRole,
                    protected: if field == Field::UserBudget { vec!["max_budget"] } else { vec![] },
                    ..Default::default()
                };
                check_user_update(&c, &ask, Quirks::NONE)
            }),
            (Route::UserUpdate, Field::UserOwnBudgetViaOrg) => gate(&c, route, vec!["org2".into()]).and_then(|()| {
                let own = c.user_id.clone().unwrap_or_else(|| "iu".into());
                check_user_update(
                    &c,
                    &UserUpdateAsk { target: Some(&own), protected: vec!["max_budget"], ..Default::default() },
                    Quirks::NONE,
                )
            }),
            (Route::KeyBlock | Route::KeyUnblock, Field::MemberTeamKey) => {
                gate(&c, route, vec![]).and_then(|()| check_key_block(&c, Some(&w.t1), route.path()))
            }
            (Route::KeyBlock | Route::KeyUnblock, Field::OutsiderKey) => {
                gate(&c, route, vec![]).and_then(|()| check_key_block(&c, None, route.path()))
            }
            (Route::KeyRegenerate, Field::MemberTeamKey) => gate(&c, route, vec![])
                .and_then(|()| check_key_regenerate(&c, &admin_made_key("tmember", Some("t1")), Some(&w.t1))),
            (Route::KeyRegenerate, Field::OutsiderKey) => {
                gate(&c, route, vec![]).and_then(|()| check_key_regenerate(&c, &admin_made_key("iu", None), None))
            }
            (Route::ModelNew, Field::Create) => gate(&c, route, vec![]).and_then(|()| check_model_new(&c)),
            // Creations and org roles are the gate's: org1's routes, asked by nobody of org1.
            (Route::OrganizationMemberAdd, Field::OrgAdminRole) => gate(&c, route, vec!["org1".into()]),
            (Route::OrganizationUpdate, Field::OrgScope) => gate(&c, route, vec!["org2".into()]),
            (_, Field::Create) => gate(&c, route, vec![]),
            (route, field) => panic!("no decision for {route:?} × {field:?}"),
        };
        status(r)
    }

    #[rstest::rstest]
    #[case::fixed_refuses_permissions(Quirks::NONE, true, false, Err(Denial::PermissionsNotProxyAdmin))]
    #[case::fixed_refuses_the_opt_out(Quirks::NONE, false, true, Err(Denial::OnlyAdminsDisableGuardrails { entity: "key" }))]
    #[case::neither_sent(Quirks::NONE, false, false, Ok(()))]
    #[case::quirk_lets_both_through(Quirks::NONE.with(Quirk::AdminOnlyKeyFieldsUnchecked), true, true, Ok(()))]
    fn a_member_setting_admin_only_key_fields(
        #[case] quirks: Quirks,
        #[case] permissions: bool,
        #[case] opt_out: bool,
        #[case] expected: Result<(), Denial>,
    ) {
        let member = internal("tmember");
        let got = check_key_permissions_field(&member, permissions, quirks)
            .and_then(|()| check_key_guardrail_opt_out(&member, opt_out, false, quirks));
        assert_eq!(got, expected);
        assert_eq!(check_key_permissions_field(&Caller::master(), true, Quirks::NONE), Ok(()));
    }

    #[test]
    fn resending_a_stored_guardrail_opt_out_is_no_opt_out() {
        assert_eq!(check_key_guardrail_opt_out(&internal("tmember"), true, true, Quirks::NONE), Ok(()));
    }

    #[test]
    fn every_cell_of_the_escalation_matrix() {
        let mut wrong = Vec::new();
        for (route, field, cells) in MATRIX.iter().chain(MEMBER_AND_USER_ROWS) {
            for (actor, expected) in ACTORS.iter().zip(cells) {
                let got = decide(*route, *field, *actor);
                if got != *expected {
                    wrong.push(format!("{} × {field:?} × {actor:?}: expected {expected:?}, got {got:?}", route.path()));
                }
            }
        }
        assert!(wrong.is_empty(), "{} cells disagree:\n{}", wrong.len(), wrong.join("\n"));
    }

    /// The cell on its own, with the messages both real versions send.
    #[test]
    fn an_outsider_cannot_move_its_key_into_a_team() {
        let w = world();
        let iu = internal("iu");
        let own = Key { created_by: Some("iu".into()), ..admin_made_key("iu", None) };
        let d = check_key_team_change(&iu, &own, &w.t1).expect_err("outsider's key");
        assert_eq!(d.status(), 403);
        assert_eq!(d.message(), "User=iu is not a member of the team=t1. Check team members via `/team/info`.");
        let d = check_key_update(&iu, &admin_made_key("iu", None), None, &KeyUpdateChanges::default(), Quirks::NONE)
            .expect_err("a key the admin made");
        assert_eq!(
            d.message(),
            "Only proxy admins, team admins, or org admins can call /key/update. user_role=internal_user, user_id=iu"
        );
    }

    #[test]
    fn team_change_rules() {
        let w = world();
        let mut open = w.t1.clone();
        open.team_member_permissions = Some(vec!["/key/update".into()]);
        let member_key = admin_made_key("tmember", None);
        let cases: Vec<(&str, Caller, &Team, Result<(), &str>)> = vec![
            ("proxy admin, owner in team", Caller::master(), &w.t1, Ok(())),
            ("team admin", internal("tadmin"), &w.t1, Ok(())),
            (
                "member without /key/update",
                internal("tmember"),
                &w.t1,
                Err("User=tmember is not a Proxy Admin or Team Admin for team=t1"),
            ),
            ("member the team lets /key/update", internal("tmember"), &open, Ok(())),
            ("admin of another team", internal("oadmin"), &w.t1, Err("User=oadmin is not a Proxy Admin or Team Admin")),
            (
                "owner not in the target, even for the proxy admin",
                Caller::master(),
                &w.t2,
                Err("User=tmember is not a member of the team=t2"),
            ),
        ];
        for (name, c, target, expected) in cases {
            assert_decision(name, check_key_team_change(&c, &member_key, target), expected);
        }
        let userless = Key { user_id: None, ..member_key.clone() };
        assert_eq!(check_key_team_change(&internal("tadmin"), &userless, &w.t1), Ok(()));
    }

    #[test]
    fn personal_keys_get_no_mcp_access_groups_from_non_admins() {
        let asked = vec!["g2".to_string(), "g1".to_string()];
        assert_eq!(check_personal_key_mcp_access_groups(&Caller::master(), &asked, Quirks::NONE), Ok(()));
        assert_eq!(check_personal_key_mcp_access_groups(&internal("iu"), &[], Quirks::NONE), Ok(()));
        let d =
            check_personal_key_mcp_access_groups(&internal("iu"), &asked, Quirks::NONE).expect_err("no team names g1");
        assert_eq!(d.status(), 403);
        assert_eq!(
            d.message(),
            "Key is not in a team. MCP access groups cannot be assigned to keys outside of a team. Disallowed groups: ['g1', 'g2']."
        );
    }

    #[test]
    fn personal_keys_get_only_servers_open_to_all() {
        let asked = vec!["s1".to_string(), "open".to_string()];
        let open = vec!["open".to_string()];
        assert_eq!(check_personal_key_mcp_servers(&Caller::master(), &asked, &open, Quirks::NONE), Ok(()));
        assert_eq!(check_personal_key_mcp_servers(&internal("iu"), &open, &open, Quirks::NONE), Ok(()));
        let d =
            check_personal_key_mcp_servers(&internal("iu"), &asked, &open, Quirks::NONE).expect_err("s1 is not open");
        assert_eq!(d.status(), 403);
        assert_eq!(
            d.message(),
            "Key is not in a team. Only globally available (allow_all_keys) MCP servers can be assigned: ['open']. Disallowed servers: ['s1']."
        );
    }

    /// With `admin_teamless_key_mcp_refused` (LiteLLM 1.83, BerriAI/litellm#25866) the proxy admin is
    /// held to a user's rules on a teamless key's MCP grants; servers open to every key stay allowed.
    #[test]
    fn the_quirk_refuses_the_admin_teamless_mcp_grants() {
        let quirk = Quirks::NONE.with(Quirk::AdminTeamlessKeyMcpRefused);
        let (groups, servers, open) = (vec!["g1".to_string()], vec!["s1".to_string()], vec!["open".to_string()]);
        let master = Caller::master();
        assert!(check_personal_key_mcp_access_groups(&master, &groups, quirk).is_err());
        assert!(check_personal_key_mcp_servers(&master, &servers, &open, quirk).is_err());
        assert_eq!(check_personal_key_mcp_servers(&master, &open, &open, quirk), Ok(()));
        assert_eq!(check_personal_key_mcp_access_groups(&master, &[], quirk), Ok(()));
    }

    #[test]
    fn org_change_needs_membership() {
        let none = Quirks::NONE;
        assert_eq!(check_key_org_change(&Caller::master(), None, "org2", none), Ok(()));
        assert_eq!(check_key_org_change(&org_admin("fa", "org2"), None, "org2", none), Ok(()));
        assert_eq!(check_key_org_change(&internal("iu"), Some("org2"), "org2", none), Ok(()), "unchanged");
        let d = check_key_org_change(&internal("iu"), None, "org2", none).expect_err("not a member");
        assert_eq!(d.message(), "Caller is not a member of organization_id=org2");
        let unchecked = Quirks::NONE.with(Quirk::KeyOrgAssignmentUnchecked);
        assert_eq!(check_key_org_change(&internal("iu"), None, "org2", unchecked), Ok(()), "1.83");
    }

    /// The 1.83 gap: with `key_update_gates_only_budget` the owner edits a key the admin made.
    #[test]
    fn quirk_lets_the_owner_edit_an_admin_made_key() {
        let key = admin_made_key("iu", None);
        let plain = KeyUpdateChanges::default();
        let quirk = Quirks::NONE.with(Quirk::KeyUpdateGatesOnlyBudget);
        assert!(check_key_update(&internal("iu"), &key, None, &plain, Quirks::NONE).is_err());
        assert_eq!(check_key_update(&internal("iu"), &key, None, &plain, quirk), Ok(()));
        let budget = KeyUpdateChanges { budget: true, ..Default::default() };
        assert!(check_key_update(&internal("iu"), &key, None, &budget, quirk).is_err(), "budgets stay gated");
        let own = Key { created_by: Some("iu".into()), ..key };
        assert_eq!(check_key_update(&internal("iu"), &own, None, &plain, Quirks::NONE), Ok(()));
    }
}
