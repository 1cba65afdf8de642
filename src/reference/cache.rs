//! The in-memory management-object cache, with LiteLLM's `InMemoryCache` semantics (spec Part 3 §1.1):
//! a set on a live entry replaces the value but keeps its expiry ("first writer's TTL wins"); a
//! delete clears both, so the next set starts a fresh TTL; a read past the expiry is a miss.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Entry<V> {
    value: V,
    expires_at: Instant,
}

pub(crate) struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry<V>>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration) -> TtlCache<V> {
        TtlCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    pub fn set(&self, key: &str, value: V) {
        self.set_at(key, value, Instant::now());
    }

    pub fn delete(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<V>>> {
        // A panic while holding the lock cannot leave a half-written entry, so a poisoned map is usable.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get_at(&self, key: &str, now: Instant) -> Option<V> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some(e) if now < e.expires_at => Some(e.value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn set_at(&self, key: &str, value: V, now: Instant) {
        let mut entries = self.lock();
        let expires_at = match entries.get(key) {
            Some(e) if now < e.expires_at => e.expires_at,
            _ => now + self.ttl,
        };
        entries.insert(key.to_string(), Entry { value, expires_at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = TtlCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        c.set_at("k", 1, t0);
        assert_eq!(c.get_at("k", t0 + Duration::from_secs(59)), Some(1));
        assert_eq!(c.get_at("k", t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn a_set_on_a_live_entry_keeps_the_first_expiry() {
        let c = TtlCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        c.set_at("k", 1, t0);
        c.set_at("k", 2, t0 + Duration::from_secs(30));
        assert_eq!(c.get_at("k", t0 + Duration::from_secs(59)), Some(2));
        assert_eq!(c.get_at("k", t0 + Duration::from_secs(61)), None);
    }

    #[test]
    fn a_delete_lets_the_next_set_start_a_fresh_ttl() {
        let c = TtlCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        c.set_at("k", 1, t0);
        c.delete("k");
        assert_eq!(c.get_at("k", t0), None);
        c.set_at("k", 2, t0 + Duration::from_secs(30));
        assert_eq!(c.get_at("k", t0 + Duration::from_secs(89)), Some(2));
    }

    #[test]
    fn ttl_zero_caches_nothing() {
        let c = TtlCache::new(Duration::ZERO);
        c.set("k", 1);
        assert_eq!(c.get("k"), None);
    }
}
