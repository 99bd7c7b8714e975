//! [`MemoryLeases`]: the [`LeasePort`] of a single process (or of tests that run
//! several schedulers in one process).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::ports::{Clock, LeasePort, StoreError};

/// How many acquisitions between sweeps of expired leases.
const SWEEP_EVERY: u64 = 256;

#[derive(Debug, Default)]
struct Inner {
    leases: HashMap<String, (String, Timestamp)>,
    grants: u64,
}

/// Leases in memory, expiring by the [`Clock`] port. Shared by cloning an `Arc` of
/// it; never fails.
pub struct MemoryLeases {
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl fmt::Debug for MemoryLeases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLeases").finish_non_exhaustive()
    }
}

impl MemoryLeases {
    /// No leases, expiring by `clock`.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            inner: Mutex::default(),
        }
    }

    /// How many leases are live now.
    #[must_use]
    pub fn live(&self) -> usize {
        let now = self.clock.now();
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.leases.values().filter(|(_, exp)| now < *exp).count()
    }

    /// Who holds `key` now, if anyone.
    #[must_use]
    pub fn holder(&self, key: &str) -> Option<String> {
        let now = self.clock.now();
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .leases
            .get(key)
            .filter(|(_, exp)| now < *exp)
            .map(|(h, _)| h.clone())
    }
}

#[async_trait]
impl LeasePort for MemoryLeases {
    async fn try_acquire(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.grants += 1;
        if inner.grants.is_multiple_of(SWEEP_EVERY) {
            inner.leases.retain(|_, (_, exp)| now < *exp);
        }
        let free = match inner.leases.get(key) {
            Some((h, exp)) => now >= *exp || h == holder,
            None => true,
        };
        if free {
            inner
                .leases
                .insert(key.to_owned(), (holder.to_owned(), now.plus(ttl)));
        }
        Ok(free)
    }

    async fn release(&self, key: &str, holder: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let held = inner
            .leases
            .get(key)
            .is_some_and(|(h, exp)| h == holder && now < *exp);
        if held {
            inner.leases.remove(key);
        }
        Ok(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ManualClock;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("memory leases never wait")
    }

    #[test]
    fn exclusive_renewable_expiring_releasable() {
        let clock = Arc::new(ManualClock::new(Timestamp(1_000)));
        let leases = MemoryLeases::new(Arc::clone(&clock) as Arc<dyn Clock>);
        let ttl = Duration::from_secs(10);
        assert!(block_on(leases.try_acquire("k", "a", ttl)).expect("ok"));
        assert!(!block_on(leases.try_acquire("k", "b", ttl)).expect("ok"));
        clock.advance(Duration::from_secs(9));
        assert!(
            block_on(leases.try_acquire("k", "a", ttl)).expect("ok"),
            "renew"
        );
        clock.advance(Duration::from_secs(9));
        assert!(
            !block_on(leases.try_acquire("k", "b", ttl)).expect("ok"),
            "renewed"
        );
        assert_eq!(leases.holder("k").as_deref(), Some("a"));
        clock.advance(Duration::from_secs(1));
        assert!(
            block_on(leases.try_acquire("k", "b", ttl)).expect("ok"),
            "expired"
        );
        assert!(!block_on(leases.release("k", "a")).expect("ok"), "not a's");
        assert!(block_on(leases.release("k", "b")).expect("ok"));
        assert_eq!(leases.live(), 0);
        assert!(block_on(leases.try_acquire("k", "a", ttl)).expect("ok"));
    }

    #[test]
    fn expired_leases_are_swept() {
        let clock = Arc::new(ManualClock::new(Timestamp(0)));
        let leases = MemoryLeases::new(Arc::clone(&clock) as Arc<dyn Clock>);
        for i in 0..SWEEP_EVERY {
            block_on(leases.try_acquire(&format!("k{i}"), "a", Duration::from_secs(1)))
                .expect("ok");
        }
        clock.advance(Duration::from_secs(2));
        for i in 0..SWEEP_EVERY {
            block_on(leases.try_acquire(&format!("n{i}"), "a", Duration::from_secs(1)))
                .expect("ok");
        }
        let stored = leases.inner.lock().expect("lock").leases.len();
        assert!(
            stored <= usize::try_from(SWEEP_EVERY).expect("small"),
            "{stored}"
        );
    }
}
