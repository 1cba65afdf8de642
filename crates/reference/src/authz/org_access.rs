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
    use rstest::rstest;

    use super::*;
    use crate::authz::fixtures::*;
    use crate::domain::{INTERNAL_USER, ORG_ADMIN};

    fn code(r: Result<(), Denial>) -> u16 {
        r.map_or_else(|d| d.status(), |()| 200)
    }

    fn org_member(id: &str) -> Caller {
        Caller { org_roles: vec![("org1".into(), INTERNAL_USER.into())], ..internal(id) }
    }

    /// Every kind of caller against the checks of organization `org1`, allowed and denied alike:
    /// (admin routes, info).
    #[rstest]
    #[case::master(Caller::master(), (200, 200))]
    #[case::proxy_admin_user(admin_user(), (200, 200))]
    #[case::proxy_admin_viewer(user("v1", PROXY_ADMIN_VIEWER), (403, 200))]
    #[case::org_admin_of_org1(org_admin("oa1", "org1"), (200, 200))]
    #[case::org_admin_elsewhere(org_admin("oa2", "org2"), (403, 403))]
    #[case::plain_member_of_org1(org_member("m1"), (403, 403))]
    #[case::global_org_admin_role_without_membership(user("g1", ORG_ADMIN), (403, 403))]
    #[case::internal_user(internal("u1"), (403, 403))]
    #[case::key_without_user(userless_key(None), (403, 403))]
    fn org_checks(#[case] caller: Caller, #[case] expected: (u16, u16)) {
        let got = (code(check_org_admin_access(&caller, "org1")), code(check_org_info_access(&caller, "org1")));
        assert_eq!(got, expected);
    }

    /// Only a proxy admin changes the org role of a proxy admin.
    #[rstest]
    #[case::org_admin_on_a_proxy_admin(org_admin("oa1", "org1"), Some(PROXY_ADMIN), 403)]
    #[case::org_admin_on_an_internal_user(org_admin("oa1", "org1"), Some(INTERNAL_USER), 200)]
    #[case::org_admin_on_a_user_without_role(org_admin("oa1", "org1"), None, 200)]
    #[case::master_on_a_proxy_admin(Caller::master(), Some(PROXY_ADMIN), 200)]
    #[case::admin_user_on_a_proxy_admin(admin_user(), Some(PROXY_ADMIN), 200)]
    fn org_role_change(#[case] caller: Caller, #[case] target: Option<&str>, #[case] expected: u16) {
        assert_eq!(code(check_org_role_change(&caller, target)), expected);
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
