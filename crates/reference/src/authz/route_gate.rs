//! The route gate: which callers may reach which routes, before any handler runs (spec Part 1 §4).
//!
//! Corrected behaviour (spec §A.1): routes whose handler does its own per-team check
//! (/team/update, /team/delete, /team/block, /team/unblock, /team/member_*) pass the gate for any
//! authenticated caller, and the handler decides. With the quirk `org_admin_gate_needs_org_id_in_body`
//! (BerriAI/litellm#27294) /team/update, /team/delete, /team/block and /team/unblock are admin-only
//! management routes again, as in LiteLLM 1.83: an org admin passes only with `organization_id` in the
//! request.

use super::Denial;
use crate::domain::{Caller, INTERNAL_USER, ORG_ADMIN, PROXY_ADMIN_VIEWER};
use crate::{Quirk, Quirks};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteClass {
    Public,
    LlmApi,
    Info,
    KeyManagement,
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
        "/user/new" | "/user/update" | "/user/delete" | "/team/new" | "/organization/update" => RouteClass::Management,
        "/team/update"
        | "/team/delete"
        | "/team/block"
        | "/team/unblock"
        | "/team/member_add"
        | "/team/member_update"
        | "/team/member_delete"
        | "/team/permissions_list"
        | "/team/permissions_update" => RouteClass::SelfManaged,
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
    let org_admin_route =
        matches!(class, RouteClass::KeyManagement | RouteClass::Management | RouteClass::OrgAdminOnly);
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
    use super::*;
    use crate::authz::fixtures::*;
    use crate::domain::INTERNAL_USER_VIEWER;

    fn req<'a>(route: &'a str, orgs: &[&str]) -> RouteRequest<'a> {
        RouteRequest {
            route,
            method: "POST",
            organization_ids: orgs.iter().map(|s| s.to_string()).collect(),
            query_user_id: None,
        }
    }

    /// (caller, route, organization ids in the request, quirks, expected status or 200 for pass).
    #[test]
    fn gate_table() {
        let viewer = user("v1", PROXY_ADMIN_VIEWER);
        let iuv = user("iuv1", INTERNAL_USER_VIEWER);
        let oa = org_admin("oa1", "org1");
        let bare = userless_key(None);
        const OFF: Quirks = Quirks::NONE;
        const GATE: Quirks = Quirks::NONE.with(Quirk::OrgAdminGateNeedsOrgIdInBody);
        const CACHE: Quirks = Quirks::NONE.with(Quirk::StaleTeamCache);
        type Row = (&'static str, Caller, &'static str, Vec<&'static str>, Quirks, u16);
        let cases: Vec<Row> = vec![
            ("admin user anywhere", admin_user(), "/user/new", vec![], OFF, 200),
            ("master key anywhere", Caller::master(), "/organization/new", vec![], OFF, 200),
            ("internal user key route", internal("u1"), "/key/generate", vec![], OFF, 200),
            ("internal user info route", internal("u1"), "/team/info", vec![], OFF, 200),
            ("internal user management route", internal("u1"), "/user/new", vec![], OFF, 401),
            ("internal user team/new", internal("u1"), "/team/new", vec![], OFF, 401),
            ("internal user team/update passes to handler", internal("u1"), "/team/update", vec![], OFF, 200),
            ("internal user team/delete passes to handler", internal("u1"), "/team/delete", vec![], OFF, 200),
            ("internal user team/block passes to handler", internal("u1"), "/team/block", vec![], OFF, 200),
            ("internal user member_add passes to handler", internal("u1"), "/team/member_add", vec![], OFF, 200),
            ("internal user org/new", internal("u1"), "/organization/new", vec![], OFF, 401),
            ("internal user org/info no memberships", internal("u1"), "/organization/info", vec!["org1"], OFF, 401),
            ("org admin org/info own org", oa.clone(), "/organization/info", vec!["org1"], OFF, 200),
            ("org admin org/info no org id", oa.clone(), "/organization/info", vec![], OFF, 401),
            ("org admin org/info other org", oa.clone(), "/organization/info", vec!["org2"], OFF, 401),
            ("org admin member_add own org", oa.clone(), "/organization/member_add", vec!["org1"], OFF, 200),
            ("org admin user/new with own org", oa.clone(), "/user/new", vec!["org1"], OFF, 200),
            ("org admin user/new without org", oa.clone(), "/user/new", vec![], OFF, 401),
            ("org admin user/new other org", oa.clone(), "/user/new", vec!["org2"], OFF, 401),
            ("org admin team/new own org", oa.clone(), "/team/new", vec!["org1"], OFF, 200),
            ("org admin team/new no org", oa.clone(), "/team/new", vec![], OFF, 401),
            ("org admin team/update without org id", oa.clone(), "/team/update", vec![], OFF, 200),
            ("org admin team/delete without org id", oa.clone(), "/team/delete", vec![], OFF, 200),
            ("org admin member_update own org", oa.clone(), "/organization/member_update", vec!["org1"], OFF, 200),
            ("org admin member_delete own org", oa.clone(), "/organization/member_delete", vec!["org1"], OFF, 200),
            ("org admin member_update other org", oa.clone(), "/organization/member_update", vec!["org2"], OFF, 401),
            ("org admin member_delete other org", oa.clone(), "/organization/member_delete", vec!["org2"], OFF, 401),
            ("org admin member_delete no org id", oa.clone(), "/organization/member_delete", vec![], OFF, 401),
            (
                "internal user member_update no memberships",
                internal("u1"),
                "/organization/member_update",
                vec!["org1"],
                OFF,
                401,
            ),
            (
                "internal user member_delete no memberships",
                internal("u1"),
                "/organization/member_delete",
                vec!["org1"],
                OFF,
                401,
            ),
            ("key without user member_update", bare.clone(), "/organization/member_update", vec!["org1"], OFF, 401),
            ("key without user org/info", bare.clone(), "/organization/info", vec!["org1"], OFF, 401),
            ("internal user team/unblock passes to handler", internal("u1"), "/team/unblock", vec![], OFF, 200),
            ("org admin team/block without org id", oa.clone(), "/team/block", vec![], OFF, 200),
            ("org admin team/unblock without org id", oa.clone(), "/team/unblock", vec![], OFF, 200),
            ("org admin team/member_add", oa.clone(), "/team/member_add", vec![], OFF, 200),
            ("key without user team/delete", bare.clone(), "/team/delete", vec![], OFF, 200),
            ("key without user team/member_add", bare.clone(), "/team/member_add", vec![], OFF, 200),
            ("key without user user/new", bare.clone(), "/user/new", vec![], OFF, 401),
            ("key without user team/new", bare.clone(), "/team/new", vec![], OFF, 401),
            (
                "member of org with user role",
                Caller { org_roles: vec![("org1".into(), INTERNAL_USER.into())], ..internal("m1") },
                "/organization/info",
                vec!["org1"],
                OFF,
                401,
            ),
            ("viewer read", Caller { ..viewer.clone() }, "/user/new", vec![], OFF, 403),
            ("internal user viewer key route", iuv, "/key/generate", vec![], OFF, 401),
            ("key without user key route", bare.clone(), "/key/generate", vec![], OFF, 401),
            ("key without user info route", bare.clone(), "/key/info", vec![], OFF, 200),
            ("key without user team/update", bare.clone(), "/team/update", vec![], OFF, 200),
            ("key without user org/new", bare.clone(), "/organization/new", vec![], OFF, 401),
            (
                "key with allowed_routes",
                Caller { key_allowed_routes: vec!["/user/new".into()], ..bare.clone() },
                "/user/new",
                vec![],
                OFF,
                200,
            ),
            (
                "allowed_routes wildcard",
                Caller { key_allowed_routes: vec!["/user/*".into()], ..bare },
                "/user/new",
                vec![],
                OFF,
                200,
            ),
            ("unknown route", internal("u1"), "/spend/whatever", vec![], OFF, 401),
            // org_admin_gate_needs_org_id_in_body: the four team routes are admin-only again.
            ("quirk: org admin team/update without org id", oa.clone(), "/team/update", vec![], GATE, 401),
            ("quirk: org admin team/delete without org id", oa.clone(), "/team/delete", vec![], GATE, 401),
            ("quirk: org admin team/block without org id", oa.clone(), "/team/block", vec![], GATE, 401),
            ("quirk: org admin team/unblock without org id", oa.clone(), "/team/unblock", vec![], GATE, 401),
            ("quirk: org admin team/update with own org", oa.clone(), "/team/update", vec!["org1"], GATE, 200),
            ("quirk: org admin team/delete with own org", oa.clone(), "/team/delete", vec!["org1"], GATE, 200),
            ("quirk: org admin team/block with own org", oa.clone(), "/team/block", vec!["org1"], GATE, 200),
            ("quirk: org admin team/unblock with own org", oa.clone(), "/team/unblock", vec!["org1"], GATE, 200),
            ("quirk: org admin team/update other org", oa.clone(), "/team/update", vec!["org2"], GATE, 401),
            ("quirk: internal user team/update", internal("u1"), "/team/update", vec![], GATE, 401),
            ("quirk: internal user team/delete", internal("u1"), "/team/delete", vec![], GATE, 401),
            ("quirk: internal user team/block", internal("u1"), "/team/block", vec![], GATE, 401),
            ("quirk: internal user team/unblock", internal("u1"), "/team/unblock", vec![], GATE, 401),
            ("quirk: key without user team/update", userless_key(None), "/team/update", vec![], GATE, 401),
            (
                "quirk: org admin member_update unaffected",
                oa.clone(),
                "/organization/member_update",
                vec!["org1"],
                GATE,
                200,
            ),
            ("quirk: master key team/update", Caller::master(), "/team/update", vec![], GATE, 200),
            ("quirk: admin user team/delete", admin_user(), "/team/delete", vec![], GATE, 200),
            ("quirk: member_add still passes to handler", internal("u1"), "/team/member_add", vec![], GATE, 200),
            ("quirk: org admin team/info unaffected", oa.clone(), "/team/info", vec![], GATE, 200),
            ("quirk: other quirk leaves the gate alone", oa.clone(), "/team/update", vec![], CACHE, 200),
        ];
        for (name, caller, route, orgs, quirks, expected) in cases {
            let got = match check_route(&caller, &req(route, &orgs), quirks) {
                Ok(()) => 200,
                Err(d) => d.status(),
            };
            assert_eq!(got, expected, "{name}");
        }
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

    #[test]
    fn masking_follows_litellm_lengths() {
        for (id, masked) in [
            ("abc", "***"),
            ("abcd", "***"),
            ("unknown", "*******"),
            ("abcdefgh", "********"),
            ("abcdefghi", "abcdef*hi"),
        ] {
            assert_eq!(mask_user_id(id), masked, "{id}");
        }
    }
}
