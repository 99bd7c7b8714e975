//! [`MemoryOutbox`] and [`MemoryLimiter`]: the outbox ports in one process. The
//! outbox is the reference the stores' contract tests compare with, and the
//! fallback a bot queues into while its store is down; the limiter is the
//! limiter of a bot on the file store.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::{OutboxEntry, OutboxStats, QueueStats};
use crate::domain::{ChatRef, Platform, Timestamp};
use crate::ports::{Clock, OutboxStore, Pace, SendLimiter, StoreError};

type Key = (Platform, String);

#[derive(Debug, Default)]
struct Inner {
    /// Pending entries and when each is due.
    entries: HashMap<Key, (OutboxEntry, Timestamp)>,
    /// (platform, priority rank, due, id) of every pending entry.
    due: BTreeSet<(Platform, u8, Timestamp, String)>,
    /// Ids pushed, until when they are remembered.
    seen: HashMap<Key, Timestamp>,
    pushes: u64,
}

impl Inner {
    fn set_due(&mut self, key: &Key, due: Timestamp) {
        if let Some((entry, old)) = self.entries.get_mut(key) {
            let rank = entry.priority.rank();
            self.due.remove(&(key.0, rank, *old, key.1.clone()));
            *old = due;
            self.due.insert((key.0, rank, due, key.1.clone()));
        }
    }

    fn remove(&mut self, key: &Key) -> bool {
        match self.entries.remove(key) {
            Some((entry, due)) => {
                self.due
                    .remove(&(key.0, entry.priority.rank(), due, key.1.clone()));
                true
            }
            None => false,
        }
    }
}

/// The outbox in memory (lost with the process). Never fails.
#[derive(Debug, Default, Clone)]
pub struct MemoryOutbox {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryOutbox {
    /// An empty outbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many entries are pending on every platform.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl OutboxStore for MemoryOutbox {
    async fn push(
        &self,
        entries: &[OutboxEntry],
        now: Timestamp,
        remember: Duration,
    ) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        inner.pushes += 1;
        if inner.pushes.is_multiple_of(1024) {
            inner.seen.retain(|_, until| *until > now);
        }
        let until = Timestamp(now.0.saturating_add(duration_ms(remember)));
        let mut added = 0;
        for entry in entries {
            let key = (entry.platform(), entry.id.clone());
            // A pending id is never added again, even once its remember window has
            // passed (the entry would be replaced and its old due time left behind).
            if inner.entries.contains_key(&key) || inner.seen.get(&key).is_some_and(|t| *t > now) {
                continue;
            }
            inner.seen.insert(key.clone(), until);
            inner.due.insert((
                key.0,
                entry.priority.rank(),
                entry.not_before,
                key.1.clone(),
            ));
            inner.entries.insert(key, (entry.clone(), entry.not_before));
            added += 1;
        }
        Ok(added)
    }

    async fn claim(
        &self,
        platform: Platform,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut inner = self.lock();
        let mut keys: Vec<Key> = Vec::new();
        for rank in 0..3u8 {
            let lo = (platform, rank, Timestamp(0), String::new());
            keys.extend(
                inner
                    .due
                    .range(lo..)
                    .take_while(|(p, r, due, _)| *p == platform && *r == rank && *due <= now)
                    .take(max - keys.len())
                    .map(|(_, _, _, id)| (platform, id.clone())),
            );
            if keys.len() >= max {
                break;
            }
        }
        let again = Timestamp(now.0.saturating_add(duration_ms(ttl)));
        let mut claimed: Vec<OutboxEntry> = Vec::with_capacity(keys.len());
        for key in &keys {
            claimed.push(inner.entries[key].0.clone());
            inner.set_due(key, again);
        }
        Ok(claimed)
    }

    async fn claim_chat(
        &self,
        chat: &ChatRef,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut inner = self.lock();
        let platform = chat.platform();
        let mut due: Vec<(u8, Timestamp, String)> = inner
            .entries
            .iter()
            .filter(|((p, _), (e, due))| *p == platform && e.chat == *chat && *due <= now)
            .map(|((_, id), (e, due))| (e.priority.rank(), *due, id.clone()))
            .collect();
        due.sort();
        due.truncate(max);
        let again = Timestamp(now.0.saturating_add(duration_ms(ttl)));
        let mut claimed = Vec::with_capacity(due.len());
        for (_, _, id) in due {
            let key = (platform, id);
            claimed.push(inner.entries[&key].0.clone());
            inner.set_due(&key, again);
        }
        Ok(claimed)
    }

    async fn complete(&self, platform: Platform, ids: &[String]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for id in ids {
            inner.remove(&(platform, id.clone()));
        }
        Ok(())
    }

    async fn reschedule(&self, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for entry in entries {
            let key = (entry.platform(), entry.id.clone());
            if let Some((stored, _)) = inner.entries.get_mut(&key) {
                stored.attempts = entry.attempts;
                stored.not_before = entry.not_before;
                inner.set_due(&key, entry.not_before);
            }
        }
        Ok(())
    }

    async fn drop_chat(&self, chat: &ChatRef) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let keys: Vec<Key> = inner
            .entries
            .iter()
            .filter(|(_, (e, _))| e.chat == *chat)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &keys {
            inner.remove(key);
        }
        Ok(keys.len())
    }

    async fn stats(&self, platform: Platform) -> Result<OutboxStats, StoreError> {
        let inner = self.lock();
        let mut stats = OutboxStats::default();
        for (entry, _) in inner.entries.values() {
            if entry.platform() != platform {
                continue;
            }
            let q: &mut QueueStats = &mut stats.queues[entry.priority.rank() as usize];
            q.pending += 1;
            q.oldest = Some(q.oldest.map_or(entry.created, |t| t.min(entry.created)));
        }
        Ok(stats)
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A [`SendLimiter`] in memory (GCRA per key, on the [`Clock`] port). Never fails.
pub struct MemoryLimiter {
    clock: Arc<dyn Clock>,
    /// The theoretical arrival time per key, in µs since the epoch.
    tat: Mutex<HashMap<String, u64>>,
}

impl fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLimiter").finish_non_exhaustive()
    }
}

impl MemoryLimiter {
    /// A limiter on `clock`.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            tat: Mutex::default(),
        }
    }

    fn now_us(&self) -> u64 {
        self.clock.now().0.saturating_mul(1000)
    }
}

/// GCRA: the wait before one more send under a key whose theoretical arrival time
/// is `tat` (µs), and the new `tat` when granted (`wait == 0`).
#[must_use]
pub(crate) fn gcra(tat: u64, now: u64, pace: Pace) -> (u64, u64) {
    let interval = duration_us(pace.interval);
    let tolerance = interval.saturating_mul(u64::from(pace.burst.max(1)));
    let new_tat = tat.max(now).saturating_add(interval);
    let allowed_at = new_tat.saturating_sub(tolerance);
    if allowed_at > now {
        (allowed_at - now, tat)
    } else {
        (0, new_tat)
    }
}

#[async_trait]
impl SendLimiter for MemoryLimiter {
    async fn acquire(&self, key: &str, pace: Pace) -> Result<Duration, StoreError> {
        let now = self.now_us();
        let mut map = self.tat.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().unwrap_or(0);
        let (wait, new_tat) = gcra(tat, now, pace);
        if wait == 0 {
            map.insert(key.to_owned(), new_tat);
        }
        Ok(Duration::from_micros(wait))
    }

    async fn block(&self, key: &str, pace: Pace, d: Duration) -> Result<(), StoreError> {
        let now = self.now_us();
        let mut map = self.tat.lock().unwrap_or_else(PoisonError::into_inner);
        let tolerance = duration_us(pace.interval).saturating_mul(u64::from(pace.burst.max(1)));
        // Granted again once now ≥ blocked-until: new_tat − tolerance ≤ now.
        let blocked = now
            .saturating_add(duration_us(d))
            .saturating_add(tolerance)
            .saturating_sub(duration_us(pace.interval));
        let tat = map.entry(key.to_owned()).or_insert(0);
        *tat = (*tat).max(blocked);
        Ok(())
    }
}
