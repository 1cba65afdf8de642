//! The route gate: which callers may reach which routes, before any handler runs.
//!
//! Corrected behaviour: routes whose handler does its own per-team check
//! (/team/update, /team/delete, /team/block, /team/unblock, /team/member_*) pass the gate for any
//! authenticated caller, and the handler decides. With the quirk `org_admin_gate_needs_org_id_in_body`
//! (BerriAI/litellm#27294) /team/update, /team/delete, /team/block and /team/unblock are admin-only
//! management routes again, as in LiteLLM 1.83: an org admin passes only with `organization_id` in the
//! request.

use super::Denial;
use crate::domain::{Caller, INTERNAL_USER, INTERNAL_USER_VIEWER, ORG_ADMIN, PROXY_ADMIN_VIEWER};
use crate::{Quirk, Quirks};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteClass {
    Public,
    LlmApi,
    Info,
    KeyManagement,
    /// Spend listings whose handler scopes the rows to the caller: internal users pass.
    SpendTracking,
    /// `/global/spend/*`, every tenant's spend: admins, admin viewers and keys granted
    /// `get_spend_routes`.
    GlobalSpend,
    /// Admin-only management routes (org admins pass with an `organization_id` they administer).
    Management,
    /// Routes whose handler checks the caller against the object.
    SelfManaged,
    OrgAdminOnly,
    OrganizationNew,
    Mcp,
    Unknown,
}

pub(crate) fn classify(route: &str, quirks: Quirks) -> RouteClass {
    match route {
        // The one place where the corrected gate and LiteLLM 1.83's part: the quirk's routes go back
        // to the admin-only list.
        "/team/update" | "/team/delete" | "/team/block" | "/team/unblock"
            if quirks.contains(Quirk::OrgAdminGateNeedsOrgIdInBody) =>
        {
            RouteClass::Management
        }
        "/health/liveliness" | "/health/liveness" | "/" => RouteClass::Public,
        "/chat/completions"
        | "/v1/chat/completions"
        | "/completions"
        | "/v1/completions"
        | "/embeddings"
        | "/v1/embeddings" => RouteClass::LlmApi,
        "/key/info" | "/key/health" | "/key/list" | "/team/info" | "/team/list" | "/v2/team/list"
        | "/team/available" | "/user/info" | "/v2/user/info" | "/organization/list" | "/model/info" | "/models"
        | "/v1/models" | "/v1/model/info" | "/v2/model/info" | "/model_group/info" => RouteClass::Info,
        "/key/generate"
        | "/key/update"
        | "/key/delete"
        | "/key/regenerate"
        | "/key/bulk_update"
        | "/key/block"
        | "/key/unblock"
        | "/key/service-account/generate" => RouteClass::KeyManagement,
        r if r.starts_with("/key/") && r.ends_with("/regenerate") => RouteClass::KeyManagement,
        "/spend/keys" | "/spend/users" | "/spend/logs" => RouteClass::SpendTracking,
        "/global/spend" => RouteClass::GlobalSpend,
        r if r.starts_with("/global/spend/") => RouteClass::GlobalSpend,
        "/user/new" | "/user/update" | "/user/delete" | "/team/new" | "/organization/update" => RouteClass::Management,
        "/team/update"
        | "/team/delete"
        | "/team/block"
        | "/team/unblock"
        | "/team/member_add"
        | "/team/member_update"
        | "/team/member_delete"
        | "/team/permissions_list"
        | "/team/permissions_update"
        // The handler refuses non-admins with its own 403.
        | "/model/new" => RouteClass::SelfManaged,
        "/organization/info"
        | "/organization/delete"
        | "/organization/member_add"
        | "/organization/member_update"
        | "/organization/member_delete" => RouteClass::OrgAdminOnly,
        "/organization/new" => RouteClass::OrganizationNew,
        // Unified access groups are admin routes: a non-admin user gets the gate's 401.
        r if r.starts_with("/v1/access_group") || r.starts_with("/v1/unified_access_group") => RouteClass::Management,
        r if r.starts_with("/v1/mcp/") || r.starts_with("/mcp-rest/") => RouteClass::Mcp,
        _ => RouteClass::Unknown,
    }
}

/// What the gate reads of a request.
#[derive(Clone, Debug, Default)]
pub(crate) struct RouteRequest<'a> {
    pub route: &'a str,
    pub method: &'a str,
    /// `organization_id` and `organizations` of the body merged with the query.
    pub organization_ids: Vec<String>,
    /// `?user_id=` of /user/info.
    pub query_user_id: Option<String>,
    /// The top-level fields of the JSON body, in the body's order (a proxy admin viewer may send
    /// /user/update only `user_email`).
    pub body_fields: Vec<String>,
}

/// Decides whether `caller` may reach the route at all. Proxy admins always pass.
pub(crate) fn check_route(caller: &Caller, req: &RouteRequest<'_>, quirks: Quirks) -> Result<(), Denial> {
    let class = classify(req.route, quirks);
    if caller.is_proxy_admin() || class == RouteClass::Public {
        return Ok(());
    }
    if caller.user_role.is_some() {
        check_organization_role(caller, req, class)?;
    }
    let role = caller.user_role.as_deref();
    if role == Some(PROXY_ADMIN_VIEWER) {
        match req.route {
            // A viewer changes its own email and nothing else; the handler decides whose row.
            "/user/update" => {
                return match req.body_fields.iter().find(|f| *f != "user_email") {
                    Some(param) => Err(Denial::ViewerUserUpdateParam { param: param.clone() }),
                    None => Ok(()),
                };
            }
            "/team/member_update" | "/team/member_delete" | "/model/new" => {
                return Err(Denial::ViewerWrite { route: req.route.to_string() });
            }
            _ => {}
        }
    }
    match class {
        RouteClass::LlmApi | RouteClass::Mcp | RouteClass::SelfManaged => return Ok(()),
        RouteClass::Info => {
            if req.route == "/user/info"
                && role != Some(PROXY_ADMIN_VIEWER)
                && let Some(requested) = &req.query_user_id
                && caller.user_id.as_deref() != Some(requested.as_str())
            {
                return Err(Denial::UserInfoOfOtherUser { requested: requested.clone(), own: caller.user_id.clone() });
            }
            return Ok(());
        }
        _ => {}
    }
    // LiteLLM reads the permission's presence, not its value, and before the caller's role.
    if class == RouteClass::GlobalSpend && caller.key_spend_routes {
        return Ok(());
    }
    if role == Some(PROXY_ADMIN_VIEWER) {
        return if matches!(req.method, "GET" | "HEAD" | "OPTIONS") {
            Ok(())
        } else {
            Err(Denial::ViewerWrite { route: req.route.to_string() })
        };
    }
    if role == Some(INTERNAL_USER) && class == RouteClass::KeyManagement {
        return Ok(());
    }
    if matches!(role, Some(INTERNAL_USER | INTERNAL_USER_VIEWER)) && class == RouteClass::SpendTracking {
        return Ok(());
    }
    // An org admin does not change its organization itself (its budget and models are the proxy
    // admin's): LiteLLM 1.83.14 answers /organization/update with the catch-all 401 even when the
    // body names the organization the caller administers.
    let org_admin_route =
        matches!(class, RouteClass::KeyManagement | RouteClass::Management | RouteClass::OrgAdminOnly)
            && req.route != "/organization/update";
    if org_admin_route && is_org_admin_for_request(caller, &req.organization_ids) {
        return Ok(());
    }
    if key_allows_route(&caller.key_allowed_routes, req.route) {
        return Ok(());
    }
    Err(Denial::OnlyProxyAdmin {
        route: req.route.to_string(),
        role: caller.user_role.clone(),
        user_id: caller.user_id.clone(),
    })
}

/// LiteLLM's `organization_role_based_access_check`, which runs for every caller with a user row.
fn check_organization_role(caller: &Caller, req: &RouteRequest<'_>, class: RouteClass) -> Result<(), Denial> {
    let role_in = |org: &str| caller.org_roles.iter().find(|(o, _)| o == org).map(|(_, r)| r.clone());
    match class {
        RouteClass::OrganizationNew => Err(Denial::OrgCreateNotProxyAdmin { role: caller.handler_role().to_string() }),
        RouteClass::OrgAdminOnly => {
            if caller.org_roles.is_empty() {
                return Err(Denial::NotInAnyOrganization { route: req.route.to_string() });
            }
            let Some(org) = req.organization_ids.first() else {
                return Err(Denial::NoOrganizationId);
            };
            match role_in(org) {
                None => Err(Denial::NoRoleInOrganization { organization_id: org.clone() }),
                Some(role) if role != ORG_ADMIN => Err(Denial::WrongRoleInOrganization {
                    route: req.route.to_string(),
                    organization_id: org.clone(),
                    role,
                }),
                Some(_) => Ok(()),
            }
        }
        _ if req.route == "/team/new" => match req.organization_ids.first() {
            None if !caller.org_roles.is_empty() => Err(Denial::TeamNewNeedsOrganization {
                organizations: caller.org_roles.iter().map(|(o, _)| o.clone()).collect(),
            }),
            Some(org) => match role_in(org) {
                Some(role) if role == ORG_ADMIN => Ok(()),
                role => Err(Denial::TeamNewNotOrgAdmin {
                    organization_id: org.clone(),
                    role: role.unwrap_or_else(|| "None".into()),
                }),
            },
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// LiteLLM's `_user_is_org_admin`: true only when the request names organizations and the caller
/// administers every one of them.
fn is_org_admin_for_request(caller: &Caller, organization_ids: &[String]) -> bool {
    !organization_ids.is_empty() && organization_ids.iter().all(|org| caller.is_org_admin_of(org))
}

fn key_allows_route(allowed: &[String], route: &str) -> bool {
    allowed.iter().any(|a| {
        a == route
            || route.starts_with(&format!("{a}/"))
            || a.strip_suffix('*').is_some_and(|prefix| route.starts_with(prefix))
    })
}

/// Masks a user id in the gate's 401 message as LiteLLM 1.109 does.
pub(crate) fn mask_user_id(user_id: &str) -> String {
    let chars: Vec<char> = user_id.chars().collect();
    match chars.len() {
        0..=4 => "***".to_string(),
        5..=8 => "*".repeat(chars.len()),
        n => {
            let head: String = chars[..6].iter().collect();
            let tail: String = chars[n - 2..].iter().collect();
            format!("{head}{}{tail}", "*".repeat(n - 8))
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::*;
    use crate::domain::INTERNAL_USER_VIEWER;

    fn req<'a>(route: &'a str, orgs: &[&str]) -> RouteRequest<'a> {
        RouteRequest {
            route,
            method: "POST",
            organization_ids: orgs.iter().map(|s| s.to_string()).collect(),
            query_user_id: None,
            body_fields: vec![],
        }
    }

    fn viewer() -> Caller {
        user("v1", PROXY_ADMIN_VIEWER)
    }

    fn iuv() -> Caller {
        user("iuv1", INTERNAL_USER_VIEWER)
    }

    fn oa() -> Caller {
        org_admin("oa1", "org1")
    }

    fn bare() -> Caller {
        userless_key(None)
    }

    const OFF: Quirks = Quirks::NONE;
    const GATE: Quirks = Quirks::NONE.with(Quirk::OrgAdminGateNeedsOrgIdInBody);
    const CACHE: Quirks = Quirks::NONE.with(Quirk::StaleTeamCache);

    /// Which status the gate gives a caller on a route, with the organization ids the request
    /// names, under quirks (200 for pass).
    #[rstest]
    #[case::admin_user_anywhere(admin_user(), "/user/new", &[], OFF, 200)]
    #[case::master_key_anywhere(Caller::master(), "/organization/new", &[], OFF, 200)]
    #[case::internal_user_key_route(internal("u1"), "/key/generate", &[], OFF, 200)]
    #[case::internal_user_key_block_passes_to_handler(internal("u1"), "/key/block", &[], OFF, 200)]
    #[case::viewer_key_block(viewer(), "/key/block", &[], OFF, 403)]
    #[case::internal_user_spend_keys(internal("u1"), "/spend/keys", &[], OFF, 200)]
    #[case::internal_user_viewer_spend_users(iuv(), "/spend/users", &[], OFF, 200)]
    #[case::key_without_user_spend_keys(bare(), "/spend/keys", &[], OFF, 401)]
    #[case::viewer_key_unblock(viewer(), "/key/unblock", &[], OFF, 403)]
    #[case::key_without_user_key_block(bare(), "/key/block", &[], OFF, 401)]
    #[case::internal_user_info_route(internal("u1"), "/team/info", &[], OFF, 200)]
    #[case::internal_user_management_route(internal("u1"), "/user/new", &[], OFF, 401)]
    #[case::internal_user_team_new(internal("u1"), "/team/new", &[], OFF, 401)]
    #[case::internal_user_team_update_passes_to_handler(internal("u1"), "/team/update", &[], OFF, 200)]
    #[case::internal_user_team_delete_passes_to_handler(internal("u1"), "/team/delete", &[], OFF, 200)]
    #[case::internal_user_team_block_passes_to_handler(internal("u1"), "/team/block", &[], OFF, 200)]
    #[case::internal_user_member_add_passes_to_handler(internal("u1"), "/team/member_add", &[], OFF, 200)]
    #[case::internal_user_model_new_passes_to_handler(internal("u1"), "/model/new", &[], OFF, 200)]
    #[case::key_without_user_model_new_passes_to_handler(bare(), "/model/new", &[], OFF, 200)]
    #[case::internal_user_org_new(internal("u1"), "/organization/new", &[], OFF, 401)]
    #[case::internal_user_org_info_no_memberships(internal("u1"), "/organization/info", &["org1"], OFF, 401)]
    #[case::org_admin_org_info_own_org(oa(), "/organization/info", &["org1"], OFF, 200)]
    #[case::org_admin_org_info_no_org_id(oa(), "/organization/info", &[], OFF, 401)]
    #[case::org_admin_org_info_other_org(oa(), "/organization/info", &["org2"], OFF, 401)]
    #[case::org_admin_member_add_own_org(oa(), "/organization/member_add", &["org1"], OFF, 200)]
    #[case::org_admin_user_new_with_own_org(oa(), "/user/new", &["org1"], OFF, 200)]
    #[case::org_admin_org_update_own_org(oa(), "/organization/update", &["org1"], OFF, 401)]
    #[case::org_admin_user_new_without_org(oa(), "/user/new", &[], OFF, 401)]
    #[case::org_admin_user_new_other_org(oa(), "/user/new", &["org2"], OFF, 401)]
    #[case::org_admin_team_new_own_org(oa(), "/team/new", &["org1"], OFF, 200)]
    #[case::org_admin_team_new_no_org(oa(), "/team/new", &[], OFF, 401)]
    #[case::org_admin_team_update_without_org_id(oa(), "/team/update", &[], OFF, 200)]
    #[case::org_admin_team_delete_without_org_id(oa(), "/team/delete", &[], OFF, 200)]
    #[case::org_admin_member_update_own_org(oa(), "/organization/member_update", &["org1"], OFF, 200)]
    #[case::org_admin_member_delete_own_org(oa(), "/organization/member_delete", &["org1"], OFF, 200)]
    #[case::org_admin_member_update_other_org(oa(), "/organization/member_update", &["org2"], OFF, 401)]
    #[case::org_admin_member_delete_other_org(oa(), "/organization/member_delete", &["org2"], OFF, 401)]
    #[case::org_admin_member_delete_no_org_id(oa(), "/organization/member_delete", &[], OFF, 401)]
    #[case::internal_user_member_update_no_memberships(
        internal("u1"), "/organization/member_update", &["org1"], OFF, 401
    )]
    #[case::internal_user_member_delete_no_memberships(
        internal("u1"), "/organization/member_delete", &["org1"], OFF, 401
    )]
    #[case::key_without_user_member_update(bare(), "/organization/member_update", &["org1"], OFF, 401)]
    #[case::key_without_user_org_info(bare(), "/organization/info", &["org1"], OFF, 401)]
    #[case::internal_user_team_unblock_passes_to_handler(internal("u1"), "/team/unblock", &[], OFF, 200)]
    #[case::org_admin_team_block_without_org_id(oa(), "/team/block", &[], OFF, 200)]
    #[case::org_admin_team_unblock_without_org_id(oa(), "/team/unblock", &[], OFF, 200)]
    #[case::org_admin_team_member_add(oa(), "/team/member_add", &[], OFF, 200)]
    #[case::key_without_user_team_delete(bare(), "/team/delete", &[], OFF, 200)]
    #[case::key_without_user_team_member_add(bare(), "/team/member_add", &[], OFF, 200)]
    #[case::key_without_user_user_new(bare(), "/user/new", &[], OFF, 401)]
    #[case::key_without_user_team_new(bare(), "/team/new", &[], OFF, 401)]
    #[case::member_of_org_with_user_role(
        Caller { org_roles: vec![("org1".into(), INTERNAL_USER.into())], ..internal("m1") }, "/organization/info", &["org1"], OFF, 401
    )]
    #[case::viewer_read(viewer(), "/user/new", &[], OFF, 403)]
    #[case::internal_user_viewer_key_route(iuv(), "/key/generate", &[], OFF, 401)]
    #[case::key_without_user_key_route(bare(), "/key/generate", &[], OFF, 401)]
    #[case::key_without_user_info_route(bare(), "/key/info", &[], OFF, 200)]
    #[case::key_without_user_team_update(bare(), "/team/update", &[], OFF, 200)]
    #[case::key_without_user_org_new(bare(), "/organization/new", &[], OFF, 401)]
    #[case::key_with_allowed_routes(
        Caller { key_allowed_routes: vec!["/user/new".into()], ..bare() }, "/user/new", &[], OFF, 200
    )]
    #[case::allowed_routes_wildcard(
        Caller { key_allowed_routes: vec!["/user/*".into()], ..bare() }, "/user/new", &[], OFF, 200
    )]
    #[case::unknown_route(internal("u1"), "/spend/whatever", &[], OFF, 401)]
    // Every tenant's spend: admins, and keys the admin granted `get_spend_routes`.
    #[case::internal_user_global_spend(internal("u1"), "/global/spend/teams", &[], OFF, 401)]
    #[case::org_admin_global_spend(oa(), "/global/spend", &["org1"], OFF, 401)]
    #[case::key_without_user_global_spend(bare(), "/global/spend/keys", &[], OFF, 401)]
    #[case::granted_key_global_spend(
        Caller { key_spend_routes: true, ..internal("u1") }, "/global/spend/models", &[], OFF, 200
    )]
    #[case::granted_userless_key_global_spend(Caller { key_spend_routes: true, ..bare() }, "/global/spend", &[], OFF, 200)]
    #[case::granted_key_only_spend_routes(Caller { key_spend_routes: true, ..internal("u1") }, "/user/new", &[], OFF, 401)]
    // org_admin_gate_needs_org_id_in_body: the four team routes are admin-only again.
    #[case::quirk_org_admin_team_update_without_org_id(oa(), "/team/update", &[], GATE, 401)]
    #[case::quirk_org_admin_team_delete_without_org_id(oa(), "/team/delete", &[], GATE, 401)]
    #[case::quirk_org_admin_team_block_without_org_id(oa(), "/team/block", &[], GATE, 401)]
    #[case::quirk_org_admin_team_unblock_without_org_id(oa(), "/team/unblock", &[], GATE, 401)]
    #[case::quirk_org_admin_team_update_with_own_org(oa(), "/team/update", &["org1"], GATE, 200)]
    #[case::quirk_org_admin_team_delete_with_own_org(oa(), "/team/delete", &["org1"], GATE, 200)]
    #[case::quirk_org_admin_team_block_with_own_org(oa(), "/team/block", &["org1"], GATE, 200)]
    #[case::quirk_org_admin_team_unblock_with_own_org(oa(), "/team/unblock", &["org1"], GATE, 200)]
    #[case::quirk_org_admin_team_update_other_org(oa(), "/team/update", &["org2"], GATE, 401)]
    #[case::quirk_internal_user_team_update(internal("u1"), "/team/update", &[], GATE, 401)]
    #[case::quirk_internal_user_team_delete(internal("u1"), "/team/delete", &[], GATE, 401)]
    #[case::quirk_internal_user_team_block(internal("u1"), "/team/block", &[], GATE, 401)]
    #[case::quirk_internal_user_team_unblock(internal("u1"), "/team/unblock", &[], GATE, 401)]
    #[case::quirk_key_without_user_team_update(userless_key(None), "/team/update", &[], GATE, 401)]
    #[case::quirk_org_admin_member_update_unaffected(oa(), "/organization/member_update", &["org1"], GATE, 200)]
    #[case::quirk_master_key_team_update(Caller::master(), "/team/update", &[], GATE, 200)]
    #[case::quirk_admin_user_team_delete(admin_user(), "/team/delete", &[], GATE, 200)]
    #[case::quirk_member_add_still_passes_to_handler(internal("u1"), "/team/member_add", &[], GATE, 200)]
    #[case::quirk_org_admin_team_info_unaffected(oa(), "/team/info", &[], GATE, 200)]
    #[case::quirk_other_quirk_leaves_the_gate_alone(oa(), "/team/update", &[], CACHE, 200)]
    fn gate(
        #[case] caller: Caller,
        #[case] route: &str,
        #[case] orgs: &[&str],
        #[case] quirks: Quirks,
        #[case] expected: u16,
    ) {
        let got = match check_route(&caller, &req(route, orgs), quirks) {
            Ok(()) => 200,
            Err(d) => d.status(),
        };
        assert_eq!(got, expected);
    }

    #[test]
    fn viewer_may_read_but_not_write() {
        let viewer = user("v1", PROXY_ADMIN_VIEWER);
        let get = RouteRequest { method: "GET", ..req("/spend/logs", &[]) };
        assert_eq!(check_route(&viewer, &get, Quirks::NONE), Ok(()));
        assert_eq!(
            check_route(&viewer, &req("/key/generate", &[]), Quirks::NONE).unwrap_err().message(),
            "user not allowed to access this route, role= proxy_admin_viewer. Trying to access: /key/generate"
        );
    }

    /// A proxy admin viewer's writes to the member and user routes: refused at the gate, except a
    /// /user/update that sends only `user_email` (200 for pass).
    #[rstest]
    #[case::member_update("/team/member_update", &[], 403)]
    #[case::member_delete("/team/member_delete", &[], 403)]
    #[case::model_new("/model/new", &[], 403)]
    #[case::user_update_email_only("/user/update", &["user_email"], 200)]
    #[case::user_update_with_user_id("/user/update", &["user_email", "user_id"], 403)]
    #[case::user_update_role("/user/update", &["user_role"], 403)]
    fn viewer_member_and_user_writes(#[case] route: &str, #[case] fields: &[&str], #[case] expected: u16) {
        let r = RouteRequest { body_fields: fields.iter().map(|f| f.to_string()).collect(), ..req(route, &[]) };
        let got = check_route(&viewer(), &r, OFF);
        assert_eq!(got.as_ref().map_or_else(Denial::status, |()| 200), expected, "{got:?}");
        if route == "/user/update"
            && let Err(d) = got
        {
            let param = fields.iter().find(|f| **f != "user_email").expect("a refused field");
            assert_eq!(
                d.message(),
                format!(
                    "user not allowed to access this route, role= proxy_admin_viewer. Trying to access: /user/update and updating invalid param: {param}. only user_email can be updated"
                )
            );
        }
    }

    #[test]
    fn user_info_of_another_user_is_403() {
        let caller = internal("u1");
        let mut r = req("/user/info", &[]);
        r.query_user_id = Some("u2".into());
        let d = check_route(&caller, &r, Quirks::NONE).unwrap_err();
        assert_eq!(d.status(), 403);
        assert_eq!(d.message(), "key not allowed to access this user's info. user_id=u2, key's user_id=u1");
        r.query_user_id = Some("u1".into());
        assert_eq!(check_route(&caller, &r, Quirks::NONE), Ok(()));
    }

    #[test]
    fn the_catch_all_401_names_route_role_and_masked_user() {
        let d = check_route(&internal("internal-user-1"), &req("/user/new", &[]), Quirks::NONE).unwrap_err();
        assert_eq!(
            d.message(),
            "Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=/user/new. Your role=internal_user. Your user_id=intern*******-1"
        );
        let d = check_route(&userless_key(None), &req("/user/new", &[]), Quirks::NONE).unwrap_err();
        assert!(d.message().ends_with("Your role=unknown. Your user_id=*******"), "{}", d.message());
    }

    #[test]
    fn organization_check_messages() {
        let d = check_route(&internal("u1"), &req("/organization/new", &[]), Quirks::NONE).unwrap_err();
        assert_eq!(d.message(), "Only proxy admins can create new organizations. You are internal_user");
        assert_eq!(d.param().as_deref(), Some("user_role"));
        let d = check_route(&org_admin("oa1", "org1"), &req("/organization/info", &[]), Quirks::NONE).unwrap_err();
        assert_eq!(d, Denial::NoOrganizationId);
        let d = check_route(&org_admin("oa1", "org1"), &req("/team/new", &[]), Quirks::NONE).unwrap_err();
        assert!(d.message().ends_with("You are part of multiple organizations: ['org1']"), "{}", d.message());
    }

    /// Masking follows LiteLLM's lengths.
    #[rstest]
    #[case::three("abc", "***")]
    #[case::four("abcd", "***")]
    #[case::seven("unknown", "*******")]
    #[case::eight("abcdefgh", "********")]
    #[case::nine("abcdefghi", "abcdef*hi")]
    fn masking(#[case] id: &str, #[case] masked: &str) {
        assert_eq!(mask_user_id(id), masked);
    }
}
