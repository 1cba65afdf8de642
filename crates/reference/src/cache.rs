//! The in-memory management-object cache, with LiteLLM's `InMemoryCache` semantics:
//! a set on a live entry replaces the value but keeps its expiry ("first writer's TTL wins"); a
//! delete clears both, so the next set starts a fresh TTL; a read past the expiry is a miss.
//!
//! Read-through fills are guarded by an eviction count: a reader notes [`TtlCache::evictions`] before
//! it reads the database and fills with [`TtlCache::fill`], which refuses when any eviction happened
//! in between. Without the guard a reader that fetched a row just before a write committed could put
//! the old row back after the writer evicted it, and serve it until the TTL passes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Entry<V> {
    value: V,
    expires_at: Instant,
}

pub(crate) struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry<V>>>,
    evictions: AtomicU64,
}

/// The eviction count a reader saw before reading the database (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Evictions(u64);

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration) -> TtlCache<V> {
        TtlCache { ttl, entries: Mutex::new(HashMap::new()), evictions: AtomicU64::new(0) }
    }

    /// How many evictions happened so far; pass it to [`TtlCache::fill`] after the database read.
    pub fn evictions(&self) -> Evictions {
        Evictions(self.evictions.load(Ordering::SeqCst))
    }

    /// Sets `value` unless an eviction happened since `seen` (then the value may be older than the
    /// database, and the next read goes to the database again).
    pub fn fill(&self, key: &str, value: V, seen: Evictions) {
        let mut entries = self.lock();
        // Evictions count up under the same lock, so no eviction can slip between check and insert.
        if self.evictions.load(Ordering::SeqCst) == seen.0 {
            Self::insert(&mut entries, key, value, Instant::now(), self.ttl);
        }
    }

    /// Replaces the entry and gives it a fresh TTL, as a delete followed by a set does in LiteLLM.
    pub fn set_fresh(&self, key: &str, value: V) {
        let mut entries = self.lock();
        entries.insert(key.to_string(), Entry { value, expires_at: Instant::now() + self.ttl });
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    #[cfg(test)]
    pub fn set(&self, key: &str, value: V) {
        self.set_at(key, value, Instant::now());
    }

    pub fn delete(&self, key: &str) {
        let mut entries = self.lock();
        self.evictions.fetch_add(1, Ordering::SeqCst);
        entries.remove(key);
    }

    /// Drops every entry (after missed invalidations nothing cached can be trusted).
    pub fn clear(&self) {
        let mut entries = self.lock();
        self.evictions.fetch_add(1, Ordering::SeqCst);
        entries.clear();
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

    #[cfg(test)]
    fn set_at(&self, key: &str, value: V, now: Instant) {
        Self::insert(&mut self.lock(), key, value, now, self.ttl);
    }

    fn insert(entries: &mut HashMap<String, Entry<V>>, key: &str, value: V, now: Instant, ttl: Duration) {
        let expires_at = match entries.get(key) {
            Some(e) if now < e.expires_at => e.expires_at,
            _ => now + ttl,
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
    fn a_fill_after_an_eviction_is_refused() {
        let c = TtlCache::new(Duration::from_secs(60));
        let seen = c.evictions();
        // A writer evicts while the reader is still reading the old row from the database.
        c.delete("team_id:t1");
        c.fill("team_id:t1", "old row", seen);
        assert_eq!(c.get("team_id:t1"), None);
        let seen = c.evictions();
        c.fill("team_id:t1", "new row", seen);
        assert_eq!(c.get("team_id:t1"), Some("new row"));
    }

    #[test]
    fn set_fresh_restarts_the_ttl_of_a_live_entry() {
        let c = TtlCache::new(Duration::from_millis(200));
        c.set("k", 1);
        std::thread::sleep(Duration::from_millis(120));
        c.set_fresh("k", 2);
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(c.get("k"), Some(2), "a plain set would have kept the first expiry");
    }

    #[test]
    fn ttl_zero_caches_nothing() {
        let c = TtlCache::new(Duration::ZERO);
        c.set("k", 1);
        assert_eq!(c.get("k"), None);
    }
}
