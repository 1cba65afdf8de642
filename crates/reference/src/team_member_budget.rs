//! A team's default budget for its members: `team_member_budget` (and `team_member_tpm_limit`,
//! `team_member_rpm_limit`) on `/team/new` and `/team/update` keep one budget row, which the team
//! points at from `metadata.team_member_budget_id`; `/team/member_add` gives each new member without
//! a `max_budget_in_team` of its own a copy of it. The pointer is the server's: both LiteLLM versions
//! drop a caller's value, so nobody points a team at another budget row.

use serde_json::{Map, Value};

use crate::{Quirk, Quirks};

/// The metadata key that points at the team's default member budget.
pub(crate) const POINTER: &str = "team_member_budget_id";

/// The limits a request sets on the team's default member budget.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct MemberLimits {
    pub max_budget: Option<f64>,
    pub tpm_limit: Option<i64>,
    pub rpm_limit: Option<i64>,
}

impl MemberLimits {
    /// Whether the request sets any of them (only then is a budget row written).
    pub(crate) fn any(&self) -> bool {
        self.max_budget.is_some() || self.tpm_limit.is_some() || self.rpm_limit.is_some()
    }
}

/// The team's default member budget, if it has one.
pub(crate) fn pointer(metadata: &Value) -> Option<&str> {
    metadata.get(POINTER).and_then(Value::as_str)
}

/// The metadata a team write stores, given what is stored and what the caller sent (`None`: the
/// request has no `metadata`). The caller's pointer is dropped; the stored one is kept, except under
/// `metadata_update_drops_member_budget` (LiteLLM 1.83, BerriAI/litellm#31447), which stores the
/// caller's metadata as sent. A write that sets member limits points the result at their row after.
pub(crate) fn metadata_to_store(stored: &Value, sent: Option<&Value>, quirks: Quirks) -> Value {
    let Some(sent) = sent else { return stored.clone() };
    let mut kept: Map<String, Value> = match sent {
        Value::Object(map) => map.clone(),
        // Not an object: stored as sent, as LiteLLM's JSON column takes it.
        other => return other.clone(),
    };
    kept.remove(POINTER);
    if let Some(id) = pointer(stored)
        && !quirks.contains(Quirk::MetadataUpdateDropsMemberBudget)
    {
        kept.insert(POINTER.into(), Value::String(id.to_string()));
    }
    Value::Object(kept)
}

/// `metadata` pointing at the budget row `id`.
pub(crate) fn pointing_at(metadata: Value, id: &str) -> Value {
    let mut map = match metadata {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    map.insert(POINTER.into(), Value::String(id.to_string()));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    const DROPS: Quirks = Quirks::NONE.with(Quirk::MetadataUpdateDropsMemberBudget);

    #[rstest]
    #[case::no_metadata_sent_keeps_all(json!({"a": 1, POINTER: "b1"}), None, Quirks::NONE, json!({"a": 1, POINTER: "b1"}))]
    #[case::sent_metadata_keeps_the_pointer(json!({"a": 1, POINTER: "b1"}), Some(json!({"x": 2})), Quirks::NONE, json!({"x": 2, POINTER: "b1"}))]
    #[case::a_forged_pointer_is_dropped(json!({POINTER: "b1"}), Some(json!({POINTER: "other"})), Quirks::NONE, json!({POINTER: "b1"}))]
    #[case::a_forged_pointer_on_a_team_without_one(json!({}), Some(json!({POINTER: "other", "x": 1})), Quirks::NONE, json!({"x": 1}))]
    #[case::quirk_drops_the_stored_pointer(json!({POINTER: "b1"}), Some(json!({"x": 2})), DROPS, json!({"x": 2}))]
    #[case::quirk_still_drops_a_forged_one(json!({}), Some(json!({POINTER: "other"})), DROPS, json!({}))]
    #[case::quirk_keeps_it_when_no_metadata_is_sent(json!({POINTER: "b1"}), None, DROPS, json!({POINTER: "b1"}))]
    fn metadata_writes_keep_the_servers_pointer(
        #[case] stored: Value,
        #[case] sent: Option<Value>,
        #[case] quirks: Quirks,
        #[case] expected: Value,
    ) {
        assert_eq!(metadata_to_store(&stored, sent.as_ref(), quirks), expected);
    }

    #[test]
    fn pointing_at_replaces_a_pointer_and_keeps_the_rest() {
        assert_eq!(pointing_at(json!({"a": 1, POINTER: "old"}), "new"), json!({"a": 1, POINTER: "new"}));
        assert_eq!(pointing_at(Value::Null, "new"), json!({POINTER: "new"}));
        assert_eq!(pointer(&json!({POINTER: "b1"})), Some("b1"));
        assert_eq!(pointer(&json!({POINTER: 7})), None);
    }

    #[test]
    fn limits_count_when_any_is_set() {
        assert!(!MemberLimits::default().any());
        assert!(MemberLimits { rpm_limit: Some(1), ..MemberLimits::default() }.any());
    }
}
