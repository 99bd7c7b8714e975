//! [`MemoryCache`]: a bounded, in-process [`StatusCache`] with a time to live per
//! entry, measured by a [`Clock`] (so tests drive it with core's `ManualClock`).
//!
//! Bounds: at most [`MemoryCache::max_entries`] entries and about
//! [`MemoryCache::max_bytes`] bytes of values (an estimate: icon bytes plus the text
//! of every string field plus a fixed overhead per entry). A status can carry a
//! favicon of several megabytes chosen by a stranger's server, so counting entries
//! alone would not bound memory.
//!
//! Eviction when a bound is reached: first the entry that expires soonest if it has
//! already expired, else the least recently used one (a `get` that hits counts as a
//! use). Expired entries are also dropped when a `get` finds them. A value larger
//! than the byte budget on its own is not stored. Every operation is `O(log n)`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::ports::{CachedValue, Clock, StatusCache, StoreError};
use mcstat_core::{PlayerList, StatusOutcome, StatusReport, Timestamp};

/// A bounded in-memory cache with per-entry TTL. See the [module docs](self).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mcstat_adapters::MemoryCache;
/// use mcstat_core::ports::{CachedValue, ManualClock, StatusCache};
/// use mcstat_core::Timestamp;
///
/// # tokio_test_block_on(async {
/// let clock = Arc::new(ManualClock::new(Timestamp(0)));
/// let cache = MemoryCache::new(100, clock.clone());
/// let value = CachedValue::NoPlayerList { taken_at: Timestamp(0) };
/// cache.put("k", &value, Duration::from_secs(10)).await.unwrap();
/// assert_eq!(cache.get("k").await.unwrap(), Some(value));
/// clock.advance(Duration::from_secs(10));
/// assert_eq!(cache.get("k").await.unwrap(), None);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct MemoryCache {
    inner: Mutex<Lru>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryCache")
            .field("len", &inner.map.len())
            .field("bytes", &inner.bytes)
            .field("max_entries", &inner.max_entries)
            .field("max_bytes", &inner.max_bytes)
            .finish_non_exhaustive()
    }
}

impl MemoryCache {
    /// Default bound on entries.
    pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
    /// Default bound on the estimated size of all values: 64 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

    /// A cache holding at most `max_entries` entries (at least 1) and
    /// [`Self::DEFAULT_MAX_BYTES`], with TTLs measured by `clock`.
    #[must_use]
    pub fn new(max_entries: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Lru::new(max_entries.max(1), Self::DEFAULT_MAX_BYTES)),
            clock,
        }
    }

    /// The same cache with another bound on the estimated size of all values.
    #[must_use]
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        let mut inner = self
            .inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        inner.max_bytes = max_bytes;
        inner.shrink();
        Self {
            inner: Mutex::new(inner),
            clock: self.clock,
        }
    }

    /// The bound on entries.
    #[must_use]
    pub fn max_entries(&self) -> usize {
        self.lock().max_entries
    }

    /// The bound on the estimated size of all values.
    #[must_use]
    pub fn max_bytes(&self) -> usize {
        self.lock().max_bytes
    }

    /// Entries held now, expired ones not yet dropped included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether no entry is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The estimated size of all values held now.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Drops every expired entry now; returns how many were dropped.
    pub fn purge_expired(&self) -> usize {
        let now = self.clock.now();
        self.lock().purge_expired(now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // The map is consistent after every statement that can panic (none should),
        // so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl StatusCache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<CachedValue>, StoreError> {
        let now = self.clock.now();
        Ok(self.lock().get(key, now))
    }

    async fn put(&self, key: &str, value: &CachedValue, ttl: Duration) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.lock().put(key, value, now.plus(ttl), now);
        Ok(())
    }
}

/// One entry.
#[derive(Debug)]
struct Slot {
    value: CachedValue,
    expires: Timestamp,
    /// Position in `Lru::recency`.
    used: u64,
    /// Unique per insertion: the tie-breaker in `Lru::expiry`.
    id: u64,
    size: usize,
}

/// The map and its two orders. Invariant: `recency` and `expiry` hold exactly one
/// entry per key of `map`, and `bytes` is the sum of the slots' sizes.
#[derive(Debug)]
struct Lru {
    map: HashMap<String, Slot>,
    /// Use counter → key, least recently used first.
    recency: BTreeMap<u64, String>,
    /// (expiry, id) → key, soonest first.
    expiry: BTreeMap<(Timestamp, u64), String>,
    counter: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl Lru {
    fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            map: HashMap::new(),
            recency: BTreeMap::new(),
            expiry: BTreeMap::new(),
            counter: 0,
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn get(&mut self, key: &str, now: Timestamp) -> Option<CachedValue> {
        let expires = self.map.get(key)?.expires;
        if expires <= now {
            self.remove(key);
            return None;
        }
        let used = self.next();
        let slot = self.map.get_mut(key)?;
        self.recency.remove(&slot.used);
        slot.used = used;
        self.recency.insert(used, key.to_owned());
        Some(slot.value.clone())
    }

    fn put(&mut self, key: &str, value: &CachedValue, expires: Timestamp, now: Timestamp) {
        self.remove(key);
        let size = estimate(key, value);
        if expires <= now || size > self.max_bytes {
            return;
        }
        while self.map.len() >= self.max_entries || self.bytes + size > self.max_bytes {
            if !self.evict_one(now) {
                break;
            }
        }
        let used = self.next();
        let id = self.next();
        self.recency.insert(used, key.to_owned());
        self.expiry.insert((expires, id), key.to_owned());
        self.bytes += size;
        self.map.insert(
            key.to_owned(),
            Slot {
                value: value.clone(),
                expires,
                used,
                id,
                size,
            },
        );
    }

    /// Evicts an expired entry if there is one, else the least recently used;
    /// `false` when empty.
    fn evict_one(&mut self, now: Timestamp) -> bool {
        let expired = self
            .expiry
            .first_key_value()
            .filter(|((expires, _), _)| *expires <= now)
            .map(|(_, key)| key.clone());
        let victim = expired.or_else(|| self.recency.first_key_value().map(|(_, k)| k.clone()));
        match victim {
            Some(key) => {
                self.remove(&key);
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(slot) = self.map.remove(key) {
            self.recency.remove(&slot.used);
            self.expiry.remove(&(slot.expires, slot.id));
            self.bytes -= slot.size;
        }
    }

    fn purge_expired(&mut self, now: Timestamp) -> usize {
        let mut dropped = 0;
        while let Some(key) = self
            .expiry
            .first_key_value()
            .filter(|((expires, _), _)| *expires <= now)
            .map(|(_, key)| key.clone())
        {
            self.remove(&key);
            dropped += 1;
        }
        dropped
    }

    /// Restores the bounds after they were lowered.
    fn shrink(&mut self) {
        while self.map.len() > self.max_entries || self.bytes > self.max_bytes {
            match self.recency.first_key_value().map(|(_, k)| k.clone()) {
                Some(key) => self.remove(&key),
                None => break,
            }
        }
    }
}

/// Fixed cost counted per entry (map slot, index entries, struct fields).
const ENTRY_OVERHEAD: usize = 256;

/// An estimate of the memory an entry holds: its variable-sized parts plus a fixed
/// overhead.
fn estimate(key: &str, value: &CachedValue) -> usize {
    let value_size = match value {
        CachedValue::Status(StatusOutcome::Online(report)) => report_size(report),
        CachedValue::Status(StatusOutcome::Offline { target, reason, .. }) => {
            target.key().len() + reason.to_string().len()
        }
        CachedValue::Players(list) => players_size(list),
        CachedValue::NoPlayerList { .. } => 0,
    };
    ENTRY_OVERHEAD + 3 * key.len() + value_size
}

fn report_size(r: &StatusReport) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    r.target.key().len()
        + opt(&r.answered_by)
        + opt(&r.version)
        + r.sample.iter().map(|n| n.len() + 24).sum::<usize>()
        + r.motd.legacy.len()
        + r.icon_png.as_ref().map_or(0, Vec::len)
        + opt(&r.game_mode)
        + opt(&r.map)
}

fn players_size(p: &PlayerList) -> usize {
    p.target.key().len() + p.names.iter().map(|n| n.len() + 24).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcstat_core::{OfflineReason, Target};

    fn offline(host: &str) -> CachedValue {
        let target: Target = host.parse().expect("target");
        CachedValue::Status(StatusOutcome::Offline {
            target,
            reason: OfflineReason::Refused,
            taken_at: Timestamp(0),
        })
    }

    #[test]
    fn indexes_stay_consistent_through_mixed_operations() {
        let mut lru = Lru::new(5, usize::MAX);
        let mut now = Timestamp(0);
        for i in 0..200u64 {
            let key = format!("k{}", i % 9);
            match i % 4 {
                0 | 1 => lru.put(
                    &key,
                    &offline("a.example"),
                    now.plus(Duration::from_millis(i % 7 * 10)),
                    now,
                ),
                2 => {
                    let _ = lru.get(&key, now);
                }
                _ => now = now.plus(Duration::from_millis(5)),
            }
            assert!(lru.map.len() <= 5);
            assert_eq!(lru.recency.len(), lru.map.len());
            assert_eq!(lru.expiry.len(), lru.map.len());
            assert_eq!(lru.bytes, lru.map.values().map(|s| s.size).sum::<usize>());
            for (k, slot) in &lru.map {
                assert_eq!(lru.recency.get(&slot.used), Some(k));
                assert_eq!(lru.expiry.get(&(slot.expires, slot.id)), Some(k));
            }
        }
    }

    #[test]
    fn expired_entry_is_evicted_before_a_live_least_recently_used_one() {
        let mut lru = Lru::new(2, usize::MAX);
        let now = Timestamp(1_000);
        lru.put(
            "old",
            &offline("a.example"),
            now.plus(Duration::from_secs(60)),
            now,
        );
        lru.put(
            "short",
            &offline("b.example"),
            now.plus(Duration::from_secs(1)),
            now,
        );
        let later = now.plus(Duration::from_secs(2));
        lru.put(
            "new",
            &offline("c.example"),
            later.plus(Duration::from_secs(60)),
            later,
        );
        assert!(lru.map.contains_key("old"), "the live LRU entry stays");
        assert!(!lru.map.contains_key("short"));
        assert!(lru.map.contains_key("new"));
    }
}
