//! `/key/list?status=`: which keys a page lists by their state. Both LiteLLM versions list the
//! archive of deleted keys for `deleted`, under the same visibility as live keys; LiteLLM 1.109 also
//! splits the live keys into `active`, `expired` and `revoked` (blocked), where 1.83 refuses any
//! value but `deleted`. The reference takes 1.109's four, and 1.109's `expires=` beside them, which
//! splits the keys by expiry alone, blocked or not (1.83 has no such filter and ignores it).

use chrono::{DateTime, Utc};

use crate::domain::Key;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyStatus {
    /// Not blocked and not past its expiry.
    Active,
    /// Not blocked, past its expiry.
    Expired,
    /// Blocked.
    Revoked,
    /// Deleted: the archive, not the live keys.
    Deleted,
}

/// LiteLLM 1.109's refusal of any other value (400).
pub(crate) const INVALID_STATUS: &str = "Invalid status value. Supported: 'active', 'expired', 'revoked', 'deleted'.";

impl KeyStatus {
    pub(crate) fn parse(text: &str) -> Option<KeyStatus> {
        match text {
            "active" => Some(KeyStatus::Active),
            "expired" => Some(KeyStatus::Expired),
            "revoked" => Some(KeyStatus::Revoked),
            "deleted" => Some(KeyStatus::Deleted),
            _ => None,
        }
    }

    /// Whether a key of the list this status reads (the archive for `Deleted`, else the live keys)
    /// is on the page at `now`.
    pub(crate) fn admits(self, key: &Key, now: DateTime<Utc>) -> bool {
        let expired = key.expires.is_some_and(|e| e < now);
        match self {
            KeyStatus::Active => !key.blocked && !expired,
            KeyStatus::Expired => !key.blocked && expired,
            KeyStatus::Revoked => key.blocked,
            KeyStatus::Deleted => true,
        }
    }
}

/// `/key/list?expires=`: the keys by their expiry alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyExpiry {
    /// Never expires, or not yet.
    Active,
    /// Past its expiry.
    Expired,
}

/// LiteLLM 1.109's refusal of any other `expires` value (400).
pub(crate) const INVALID_EXPIRES: &str = "Invalid expires value. Supported: 'active', 'expired'.";

impl KeyExpiry {
    pub(crate) fn parse(text: &str) -> Option<KeyExpiry> {
        match text {
            "active" => Some(KeyExpiry::Active),
            "expired" => Some(KeyExpiry::Expired),
            _ => None,
        }
    }

    /// Whether a key is on the page at `now`. An expiry at `now` is still active, as LiteLLM's
    /// `expires >= now` has it.
    pub(crate) fn admits(self, key: &Key, now: DateTime<Utc>) -> bool {
        let expired = key.expires.is_some_and(|e| e < now);
        match self {
            KeyExpiry::Active => !expired,
            KeyExpiry::Expired => expired,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use rstest::rstest;

    use super::*;

    fn key(blocked: bool, expires_in_hours: Option<i64>) -> Key {
        let mut key = Key::unset("t".into(), None, None, None);
        key.blocked = blocked;
        key.expires = expires_in_hours.map(|h| Utc::now() + Duration::hours(h));
        key
    }

    #[rstest]
    #[case::active_never_expires(KeyStatus::Active, key(false, None), true)]
    #[case::active_expires_later(KeyStatus::Active, key(false, Some(1)), true)]
    #[case::active_not_when_expired(KeyStatus::Active, key(false, Some(-1)), false)]
    #[case::active_not_when_blocked(KeyStatus::Active, key(true, None), false)]
    #[case::expired(KeyStatus::Expired, key(false, Some(-1)), true)]
    #[case::expired_not_when_blocked(KeyStatus::Expired, key(true, Some(-1)), false)]
    #[case::expired_not_when_live(KeyStatus::Expired, key(false, Some(1)), false)]
    #[case::revoked_is_blocked(KeyStatus::Revoked, key(true, Some(-1)), true)]
    #[case::revoked_not_when_unblocked(KeyStatus::Revoked, key(false, None), false)]
    #[case::deleted_takes_the_whole_archive(KeyStatus::Deleted, key(true, Some(-1)), true)]
    fn statuses_partition_the_keys(#[case] status: KeyStatus, #[case] key: Key, #[case] listed: bool) {
        assert_eq!(status.admits(&key, Utc::now()), listed);
    }

    #[rstest]
    #[case::active_never_expires(KeyExpiry::Active, key(false, None), true)]
    #[case::active_expires_later(KeyExpiry::Active, key(false, Some(1)), true)]
    #[case::active_blocked_too(KeyExpiry::Active, key(true, Some(1)), true)]
    #[case::active_not_when_expired(KeyExpiry::Active, key(false, Some(-1)), false)]
    #[case::expired(KeyExpiry::Expired, key(false, Some(-1)), true)]
    #[case::expired_blocked_too(KeyExpiry::Expired, key(true, Some(-1)), true)]
    #[case::expired_not_when_never_expiring(KeyExpiry::Expired, key(false, None), false)]
    #[case::expired_not_when_later(KeyExpiry::Expired, key(true, Some(1)), false)]
    fn expiry_splits_the_keys_blocked_or_not(#[case] expiry: KeyExpiry, #[case] key: Key, #[case] listed: bool) {
        assert_eq!(expiry.admits(&key, Utc::now()), listed);
    }

    #[test]
    fn an_expiry_at_this_instant_is_still_active() {
        let now = Utc::now();
        let mut at_now = key(false, None);
        at_now.expires = Some(now);
        assert!(KeyExpiry::Active.admits(&at_now, now));
        assert!(!KeyExpiry::Expired.admits(&at_now, now));
    }

    #[test]
    fn only_the_two_expiry_values_parse() {
        assert_eq!(KeyExpiry::parse("expired"), Some(KeyExpiry::Expired));
        assert_eq!(KeyExpiry::parse("active"), Some(KeyExpiry::Active));
        assert_eq!(KeyExpiry::parse("revoked"), None);
        assert_eq!(KeyExpiry::parse("Active"), None);
    }

    #[test]
    fn only_the_four_values_parse() {
        assert_eq!(KeyStatus::parse("deleted"), Some(KeyStatus::Deleted));
        assert_eq!(KeyStatus::parse("revoked"), Some(KeyStatus::Revoked));
        assert_eq!(KeyStatus::parse("Deleted"), None);
        assert_eq!(KeyStatus::parse(""), None);
    }
}
