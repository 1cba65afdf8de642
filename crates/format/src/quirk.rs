//! Quirks: named switches that each turn on one upstream LiteLLM bug in the reference proxy.
//!
//! The registry is the one table in `registry!` below. Every entry names its upstream issue and says in one line what it
//! changes; the decision points that consult a quirk take a [`Quirks`] value as data, so the corrected
//! behaviour stays the default and no handler is copied per quirk.

use std::fmt;
use std::str::FromStr;

/// The registry: one row per quirk, from which the enum, [`Quirk::ALL`] and every name come.
macro_rules! registry {
    ($($variant:ident => $name:literal, $upstream:literal, $description:literal;)*) => {
        /// One upstream bug the reference proxy can reproduce.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Quirk {
            $($variant,)*
        }

        impl Quirk {
            /// Every quirk, in registry order.
            pub const ALL: &'static [Quirk] = &[$(Quirk::$variant,)*];

            fn entry(self) -> Entry {
                match self {
                    $(Quirk::$variant => Entry { name: $name, upstream: $upstream, description: $description },)*
                }
            }
        }
    };
}

registry! {
    StaleTeamCache => "stale_team_cache", "BerriAI/litellm#25286",
        "/team/update does not evict the team's cached object permission, and /key/generate reads it through the cache";
    DoubleHashTokenOnUpdate => "double_hash_token_on_update", "BerriAI/litellm#24969, BerriAI/litellm#25552",
        "key update, bulk update and regenerate hash an already-hashed token before evicting it";
    StaleKeyWriteBack => "stale_key_write_back", "BerriAI/litellm#25552, BerriAI/litellm#25553",
        "after each successful LLM request the pre-request key (and team) object is written back with a fresh TTL, and that write lands after the next eviction of it";
    NoCrossReplicaInvalidation => "no_cross_replica_invalidation", "BerriAI/litellm#9820",
        "writes evict cached objects only in the replica that served them";
    TeamAccessGroupNotInObjectPermission => "team_access_group_not_in_object_permission", "BerriAI/litellm#25378",
        "allowed-MCP-servers resolution skips the team's access_group_ids";
    KeyAccessGroupsCappedByTeam => "key_access_groups_capped_by_team", "BerriAI/litellm#28890, BerriAI/litellm#29313",
        "a key's access-group servers are intersected with the team ceiling instead of added to it";
    NoAccessGroupAssignmentGate => "no_access_group_assignment_gate", "BerriAI/litellm#29313",
        "/key/generate, /key/update and /key/regenerate let any member attach access groups";
    OrgAdminGateNeedsOrgIdInBody => "org_admin_gate_needs_org_id_in_body", "BerriAI/litellm#27294",
        "the route gate treats /team/update, /team/delete, /team/block and /team/unblock as admin-only, so an org admin passes only with organization_id in the request";
    TeamBlockKeepsCachedTeam => "team_block_keeps_cached_team", "BerriAI/litellm#35565",
        "/team/block and /team/unblock write the flag without evicting the cached team, so its keys keep the old state until the TTL passes";
    ArrayBodyCrashesAuth => "array_body_crashes_auth", "not filed upstream (seen on LiteLLM 1.83.14)",
        "a JSON body that is an array fails inside authentication with 500 instead of a validation error";
    AccessGroupAcceptsUnknownTeams => "access_group_accepts_unknown_teams", "BerriAI/litellm#39218",
        "/v1/access_group create and update store team ids that name no team instead of answering 400";
    McpServerViewIgnoresTeamGrant => "mcp_server_view_ignores_team_grant", "not filed upstream (seen on LiteLLM 1.83.14)",
        "GET /v1/mcp/server/{id} shows a virtual key only the servers of its own object permission, so a server its team grants answers 403";
    McpListingFailureAsEmptyList => "mcp_listing_failure_as_empty_list", "not filed upstream (seen on LiteLLM 1.83.14)",
        "/mcp-rest/tools/list for one server answers 200 `Successfully retrieved tools` with no tools when the upstream fails";
    McpCallTimeoutAsToolNotFound => "mcp_call_timeout_as_tool_not_found", "not filed upstream (seen on LiteLLM 1.109.1)",
        "/mcp-rest/tools/call on an upstream whose tool listing times out answers 500 `Tool <name> not found` instead of 504 `timeout`";
    McpGroupsMatchingNothingWiden => "mcp_groups_matching_nothing_widen", "not filed upstream (seen on LiteLLM 1.83.14; found by explore)",
        "an object permission whose MCP access groups match no server counts as no restriction, so a team key limited to such a group reaches every server of its team";
    SpendListsUnscoped => "spend_lists_unscoped", "BerriAI/litellm#28864",
        "/spend/keys and /spend/users answer every key and every user of the proxy to any caller the route gate lets through";
    ListingIgnoresMemberAllowedModels => "listing_ignores_member_allowed_models", "BerriAI/litellm#41595",
        "/v1/models, /models and /model_group/info list the team's models without the member's allowed_models, which calls still enforce";
    ListingIgnoresUserModels => "listing_ignores_user_models", "BerriAI/litellm#26421",
        "model listings for a personal key ignore its user's models, which calls still enforce";
    ListingKeyModelsReplaceTeamModels => "listing_key_models_replace_team_models", "BerriAI/litellm#38629",
        "model listings show a team key's own models instead of the part of them its team allows, so models the team refuses are listed";
    ListingIgnoresAccessGroups => "listing_ignores_access_groups", "BerriAI/litellm#31438",
        "model listings leave out models granted through the key's or the team's unified access groups, which calls allow";
    KeyModelsNotCappedByTeam => "key_models_not_capped_by_team", "BerriAI/litellm#38629",
        "/key/generate and /key/update accept key models outside the team's models, so the key is refused at every call";
    ListingDropsWildcardMatches => "listing_drops_wildcard_matches", "BerriAI/litellm#13752",
        "model listings never show the models a wildcard entry of a key's or team's list grants, which calls allow";
    KeyAccessGroupsCannotWidenTeamModels => "key_access_groups_cannot_widen_team_models", "BerriAI/litellm#26275",
        "a team key's own access groups never override its team's model list, even when the group is assigned to the key or the team";
    V2ModelInfoListsEveryModel => "v2_model_info_lists_every_model", "BerriAI/litellm#31700",
        "/v2/model/info shows a virtual key every deployment, also those it may not call";
    KeyUpdateGatesOnlyBudget => "key_update_gates_only_budget", "not filed upstream (seen on LiteLLM 1.83.14)",
        "/key/update lets the owner of a personal key someone else created change every field but the budget, so it unblocks the key, lifts its rate limits or widens its models";
    KeyOrgAssignmentUnchecked => "key_org_assignment_unchecked", "not filed upstream (seen on LiteLLM 1.83.14; BerriAI/litellm#29009 describes the later check)",
        "/key/generate and /key/update let any caller point a key at any organization, member of it or not";
    InFlightKeyWriteBack => "in_flight_key_write_back", "BerriAI/litellm#25553, BerriAI/litellm#32247",
        "a chat completion writes the key object it was authorized with back into the cache when it finishes, so a /key/update made while it was in flight is undone until the TTL passes";
    UserUpdateSelfBudgetUnchecked => "user_update_self_budget_unchecked", "not filed upstream (seen on LiteLLM 1.83.14)",
        "/user/update lets a non-admin past the route gate (an org admin naming its organization) raise its own max_budget or lift its own object-permission ceiling";
    AdminOnlyKeyFieldsUnchecked => "admin_only_key_fields_unchecked", "BerriAI/litellm#27803 (the gates 1.109 has; BerriAI/litellm#31998 for /user/*)",
        "/key/generate and /key/update let a non-admin set a key's `permissions` or opt it out of default-on guardrails (`disable_global_guardrails`)";
    KeyAliasCheckedBeforeResolution => "key_alias_checked_before_resolution", "BerriAI/litellm#15228",
        "model lists decide on the name a client sent before the key's aliases apply, so an alias of an allowed model is refused and an allowed name its owner aliased to another model serves that model";
    TeamAliasBypassesModelLists => "team_alias_bypasses_model_lists", "BerriAI/litellm#40957",
        "a name in the team's model_aliases passes the key's and the team's model lists unchecked, so every team key reaches the alias's target";
    ListingDropsAliases => "listing_drops_aliases", "BerriAI/litellm#37034",
        "model listings leave out the team's and the key's alias names, which calls serve";
    ListingIgnoresKeyAliases => "listing_ignores_key_aliases", "not filed upstream (seen on LiteLLM 1.109.1)",
        "model listings also show a name the model lists allow as sent, though the key's aliases send it to a model they refuse, so a listed name answers 403";
    RouterSettingsAliasIgnored => "router_settings_alias_ignored", "BerriAI/litellm#35486",
        "a key's or team's router_settings.model_group_alias is stored and shown but never applied, so the call is served by the model group named";
    KeyListSubstringFilters => "key_list_substring_filters", "BerriAI/litellm#30593",
        "/key/list matches a proxy admin's user_id and key_alias filters as case-insensitive substrings, so asking for one user's keys also answers the keys of every user whose id contains it";
    KeyListPermissionIgnored => "key_list_permission_ignored", "BerriAI/litellm#17841",
        "/key/list with include_team_keys shows a member holding the team's `/key/list` member permission only its own keys and the team's service-account keys, not its teammates' keys";
    DiscoveryRefusesOverBudget => "discovery_refuses_over_budget", "BerriAI/litellm#27923",
        "/v1/models, /models and /mcp-rest/tools/list refuse a key whose max_budget is spent with the budget error, though listing costs nothing";
    TeamBudgetsOnEveryRoute => "team_budgets_on_every_route", "BerriAI/litellm#27923",
        "a key whose team is over its max_budget, or whose user has spent its max_budget_in_team, is refused with the budget error on every route, its own /key/info, the model and MCP listings and key management included, not only on the calls that cost";
    AdminTeamlessKeyMcpRefused => "admin_teamless_key_mcp_refused", "BerriAI/litellm#25866",
        "/key/generate and /key/update refuse the proxy admin MCP servers (other than those open to every key) and MCP access groups on a key in no team, as they refuse a user";
    OwnerDeletesLeaveKeysCached => "owner_deletes_leave_keys_cached", "BerriAI/litellm#34217",
        "/team/delete, /team/member_delete and /user/delete delete the keys they take with them without evicting them, so a cached key keeps authenticating until the TTL passes";
    MetadataUpdateDropsMemberBudget => "metadata_update_drops_member_budget", "BerriAI/litellm#31447",
        "a /team/update that sends `metadata` without a team_member_* field stores that metadata as sent, dropping the team's team_member_budget_id, so the team loses its default member budget and members added later get none";
}

impl Quirk {
    /// The name used on the command line and in `reproduces.quirk`.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// The upstream issue or pull request the bug comes from.
    pub fn upstream(self) -> &'static str {
        self.entry().upstream
    }

    /// What the quirk changes, in one line.
    pub fn description(self) -> &'static str {
        self.entry().description
    }

    /// Every quirk's name, comma-separated, for messages.
    pub fn names() -> String {
        Quirk::ALL.iter().map(|q| q.name()).collect::<Vec<_>>().join(", ")
    }
}

/// One row of the registry.
struct Entry {
    name: &'static str,
    upstream: &'static str,
    description: &'static str,
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not in the registry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown quirk `{name}`: expected one of {}", Quirk::names())]
pub struct UnknownQuirk {
    pub name: String,
}

impl FromStr for Quirk {
    type Err = UnknownQuirk;

    fn from_str(name: &str) -> Result<Quirk, UnknownQuirk> {
        Quirk::ALL.iter().copied().find(|q| q.name() == name).ok_or_else(|| UnknownQuirk { name: name.to_string() })
    }
}

/// A set of quirks; empty (the corrected behaviour everywhere) by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quirks {
    bits: u128,
}

// A registry that outgrows the set would otherwise lose quirks silently.
const _: () = assert!(Quirk::ALL.len() <= u128::BITS as usize, "Quirks holds at most 128 quirks: widen its bitset");

impl Quirks {
    /// No quirk: the corrected behaviour.
    pub const NONE: Quirks = Quirks { bits: 0 };

    const fn bit(quirk: Quirk) -> u128 {
        1 << (quirk as u32)
    }

    pub const fn contains(self, quirk: Quirk) -> bool {
        self.bits & Quirks::bit(quirk) != 0
    }

    /// This set plus `quirk`.
    #[must_use]
    pub const fn with(self, quirk: Quirk) -> Quirks {
        Quirks { bits: self.bits | Quirks::bit(quirk) }
    }

    pub const fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The quirks in the set, in registry order.
    pub fn iter(self) -> impl Iterator<Item = Quirk> {
        Quirk::ALL.iter().copied().filter(move |q| self.contains(*q))
    }
}

impl FromIterator<Quirk> for Quirks {
    fn from_iter<I: IntoIterator<Item = Quirk>>(iter: I) -> Quirks {
        iter.into_iter().fold(Quirks::NONE, Quirks::with)
    }
}

impl fmt::Display for Quirks {
    /// The names, comma-separated; `none` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.iter().map(Quirk::name).collect();
        f.write_str(&names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_quirk() {
        for &quirk in Quirk::ALL {
            assert_eq!(quirk.name().parse::<Quirk>(), Ok(quirk));
        }
    }

    #[test]
    fn the_registry_starts_with_the_eight_names_of_the_spec_and_repeats_none() {
        let names: Vec<&str> = Quirk::ALL.iter().map(|q| q.name()).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(
            names[..14],
            [
                "stale_team_cache",
                "double_hash_token_on_update",
                "stale_key_write_back",
                "no_cross_replica_invalidation",
                "team_access_group_not_in_object_permission",
                "key_access_groups_capped_by_team",
                "no_access_group_assignment_gate",
                "org_admin_gate_needs_org_id_in_body",
                "team_block_keeps_cached_team",
                "array_body_crashes_auth",
                "access_group_accepts_unknown_teams",
                "mcp_server_view_ignores_team_grant",
                "mcp_listing_failure_as_empty_list",
                "mcp_call_timeout_as_tool_not_found",
            ]
        );
    }

    #[test]
    fn every_quirk_names_its_upstream_issue_and_says_what_it_changes() {
        for &quirk in Quirk::ALL {
            // A bug first seen by gateproof on a real version says so, and on which one.
            let upstream = quirk.upstream();
            let named = upstream.contains('#') || upstream.starts_with("not filed upstream (seen on LiteLLM ");
            assert!(named, "{quirk} names no upstream issue");
            assert!(!quirk.description().is_empty(), "{quirk} says nothing");
        }
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = "stale_cache".parse::<Quirk>().unwrap_err();
        assert_eq!(error.name, "stale_cache");
        assert!(error.to_string().contains("stale_team_cache, double_hash_token_on_update"), "{error}");
    }

    #[test]
    fn a_set_holds_exactly_what_was_put_in() {
        let set: Quirks = [Quirk::OrgAdminGateNeedsOrgIdInBody, Quirk::StaleTeamCache].into_iter().collect();
        for &quirk in Quirk::ALL {
            let expected = matches!(quirk, Quirk::StaleTeamCache | Quirk::OrgAdminGateNeedsOrgIdInBody);
            assert_eq!(set.contains(quirk), expected, "{quirk}");
        }
        assert_eq!(set.to_string(), "stale_team_cache, org_admin_gate_needs_org_id_in_body");
        assert_eq!(Quirks::default(), Quirks::NONE);
        assert!(Quirks::NONE.is_empty());
        assert_eq!(Quirks::NONE.to_string(), "none");
    }
}
