//! Slot maths of the scheduler: deterministic jitter and interval slots. Pure.
//!
//! Time is cut into slots of one interval, aligned on the Unix epoch, so every
//! replica agrees on them. A target's poll in each slot happens at a fixed offset
//! into it, derived from a hash of its key: polls of many targets spread over the
//! interval instead of all firing together, and the offset is the same on every
//! replica and after every restart.

use std::time::Duration;

use crate::domain::Timestamp;

/// FNV-1a, 64 bits: stable across processes, builds and platforms (unlike
/// `std`'s hasher, which promises none of that).
#[must_use]
pub fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The poll times of one target: an interval and an offset into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    interval_ms: u64,
    offset_ms: u64,
}

impl Slots {
    /// The slots of the target with key `key`, polled every `interval` (at least
    /// 1 ms), at `hash(key) mod interval` into each slot.
    #[must_use]
    pub fn for_key(key: &str, interval: Duration) -> Self {
        let interval_ms = u64::try_from(interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Self {
            interval_ms,
            offset_ms: stable_hash(key) % interval_ms,
        }
    }

    /// The interval.
    #[must_use]
    pub const fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// The offset of the poll into each slot (the jitter).
    #[must_use]
    pub const fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms)
    }

    /// The index of the newest slot whose poll time is at or before `now` (`None`
    /// before the first one).
    #[must_use]
    pub const fn current(&self, now: Timestamp) -> Option<u64> {
        match now.0.checked_sub(self.offset_ms) {
            Some(t) => Some(t / self.interval_ms),
            None => None,
        }
    }

    /// When the poll of slot `slot` is due.
    #[must_use]
    pub const fn due_at(&self, slot: u64) -> Timestamp {
        Timestamp(
            slot.saturating_mul(self.interval_ms)
                .saturating_add(self.offset_ms),
        )
    }

    /// The first poll time strictly after `now`.
    #[must_use]
    pub const fn next_after(&self, now: Timestamp) -> Timestamp {
        match self.current(now) {
            Some(slot) => self.due_at(slot.saturating_add(1)),
            None => self.due_at(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_test_vectors() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn slots_and_due_times() {
        let s = Slots::for_key("java:a.example", Duration::from_secs(60));
        let off = s.offset().as_millis() as u64;
        assert!(off < 60_000);
        let now = Timestamp(1_000 * 60_000 + off);
        assert_eq!(s.current(now), Some(1_000));
        assert_eq!(s.due_at(1_000), now);
        assert_eq!(s.current(Timestamp(now.0 - 1)), Some(999));
        assert_eq!(s.next_after(now), Timestamp(now.0 + 60_000));
        assert_eq!(s.next_after(Timestamp(now.0 - 1)), now);
    }

    #[test]
    fn before_the_first_slot() {
        let s = Slots {
            interval_ms: 1000,
            offset_ms: 500,
        };
        assert_eq!(s.current(Timestamp(499)), None);
        assert_eq!(s.next_after(Timestamp(0)), Timestamp(500));
        assert_eq!(s.current(Timestamp(500)), Some(0));
    }

    #[test]
    fn jitter_spreads_many_targets_over_the_interval() {
        let interval = Duration::from_secs(60);
        let mut per_tenth = [0usize; 10];
        for i in 0..1000 {
            let s = Slots::for_key(&format!("java:s{i}.example.net"), interval);
            let tenth = s.offset().as_millis() * 10 / interval.as_millis();
            per_tenth[usize::try_from(tenth).expect("small")] += 1;
        }
        // 100 expected per tenth; a bad hash (or none) would pile them up.
        for n in per_tenth {
            assert!((60..=140).contains(&n), "{per_tenth:?}");
        }
    }

    #[test]
    fn zero_interval_is_one_ms() {
        let s = Slots::for_key("x", Duration::ZERO);
        assert_eq!(s.interval(), Duration::from_millis(1));
        assert_eq!(s.current(Timestamp(5)), Some(5));
    }
}
