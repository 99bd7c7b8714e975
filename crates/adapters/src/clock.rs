//! [`SystemClock`]: wall-clock time from the operating system, sleeping on tokio's
//! timer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use mcstat_core::Timestamp;
use mcstat_core::ports::Clock;

/// The real clock: [`SystemTime`] for [`Clock::now`], [`tokio::time::sleep`] for
/// [`Clock::sleep`] (so it needs a tokio runtime with the timer enabled).
///
/// A system clock set before 1970 reads as the epoch rather than failing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn now_is_after_2020_and_moves_with_sleep() {
        let clock = SystemClock::new();
        let before = clock.now();
        // 2020-01-01T00:00:00Z
        assert!(before.as_millis() > 1_577_836_800_000, "{before:?}");
        clock.sleep(Duration::from_millis(20)).await;
        let after = clock.now();
        assert!(
            after >= before.plus(Duration::from_millis(20)),
            "{before:?} → {after:?}"
        );
    }
}
