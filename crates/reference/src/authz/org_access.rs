//! Handler-level organization checks (LiteLLM 1.109's `verify_org_access`): who may
//! read an organization and who may change its memberships.

use super::Denial;
use crate::domain::{Caller, PROXY_ADMIN, PROXY_ADMIN_VIEWER};

/// /organization/member_add, /organization/member_update, /organization/member_delete: a proxy admin
/// or an org admin of this organization.
pub(crate) fn check_org_admin_access(caller: &Caller, organization_id: &str) -> Result<(), Denial> {
    if caller.is_proxy_admin() || caller.is_org_admin_of(organization_id) {
        Ok(())
    } else {
        Err(Denial::NoOrganizationAccess)
    }
}

/// GET /organization/info: as `check_org_admin_access`, plus the proxy admin viewer.
pub(crate) fn check_org_info_access(caller: &Caller, organization_id: &str) -> Result<(), Denial> {
    if caller.user_role.as_deref() == Some(PROXY_ADMIN_VIEWER) {
        return Ok(());
    }
    check_org_admin_access(caller, organization_id)
}

/// /organization/member_update: only a proxy admin may change the organization role of a user whose
/// global role is proxy admin, so an org admin cannot reshape an admin's scope.
pub(crate) fn check_org_role_change(caller: &Caller, target_global_role: Option<&str>) -> Result<(), Denial> {
    if target_global_role == Some(PROXY_ADMIN) && !caller.is_proxy_admin() {
        Err(Denial::OrgRoleOfProxyAdmin)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::fixtures::*;
    use crate::domain::{INTERNAL_USER, ORG_ADMIN};

    fn code(r: Result<(), Denial>) -> u16 {
        r.map_or_else(|d| d.status(), |()| 200)
    }

    /// Every kind of caller against the checks of organization `org1`, allowed and denied alike.
    #[test]
    fn org_check_matrix() {
        let member = Caller { org_roles: vec![("org1".into(), INTERNAL_USER.into())], ..internal("m1") };
        let callers: Vec<(&str, Caller, (u16, u16))> = vec![
            ("master", Caller::master(), (200, 200)),
            ("proxy admin user", admin_user(), (200, 200)),
            ("proxy admin viewer", user("v1", PROXY_ADMIN_VIEWER), (403, 200)),
            ("org admin of org1", org_admin("oa1", "org1"), (200, 200)),
            ("org admin elsewhere", org_admin("oa2", "org2"), (403, 403)),
            ("plain member of org1", member, (403, 403)),
            ("global org_admin role without membership", user("g1", ORG_ADMIN), (403, 403)),
            ("internal user", internal("u1"), (403, 403)),
            ("key without user", userless_key(None), (403, 403)),
        ];
        for (name, caller, want) in callers {
            let got = (code(check_org_admin_access(&caller, "org1")), code(check_org_info_access(&caller, "org1")));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn only_a_proxy_admin_changes_the_org_role_of_a_proxy_admin() {
        let cases: [(&str, Caller, Option<&str>, u16); 5] = [
            ("org admin on a proxy admin", org_admin("oa1", "org1"), Some(PROXY_ADMIN), 403),
            ("org admin on an internal user", org_admin("oa1", "org1"), Some(INTERNAL_USER), 200),
            ("org admin on a user without role", org_admin("oa1", "org1"), None, 200),
            ("master on a proxy admin", Caller::master(), Some(PROXY_ADMIN), 200),
            ("admin user on a proxy admin", admin_user(), Some(PROXY_ADMIN), 200),
        ];
        for (name, caller, target, want) in cases {
            assert_eq!(code(check_org_role_change(&caller, target)), want, "{name}");
        }
    }

    #[test]
    fn denials_carry_litellms_messages() {
        assert_eq!(Denial::NoOrganizationAccess.message(), "You do not have access to this organization");
        assert_eq!(
            Denial::OrgRoleOfProxyAdmin.message(),
            "Only PROXY_ADMIN may modify the organization role of a user who is a global PROXY_ADMIN."
        );
    }
}
