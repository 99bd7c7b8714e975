//! Uptime maths over history samples: pure functions, no store, no clock.
//!
//! **Time weighting.** Each sample stands for the time until the next one, capped at
//! twice the poll interval (and at `now`): a gap longer than that (the bot was not
//! running, the store lost samples) counts as neither up nor down, so it cannot make
//! a server look better or worse than it was seen. The ratio is up time over known
//! time.
//!
//! **Outages** are runs of at least `down_after` consecutive failed samples (the same
//! debounce as the notifications): from the first failed sample to the first
//! answering one after it, or ongoing.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::domain::{HistorySample, Timestamp};

/// A day.
pub const DAY: Duration = Duration::from_secs(24 * 3600);
/// A week.
pub const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
/// Thirty days.
pub const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);
/// Ninety days.
pub const QUARTER: Duration = Duration::from_secs(90 * 24 * 3600);
/// A year (365 days).
pub const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// Up and down time within one window ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UptimeWindow {
    /// The window's length (24 h, 7 d, 30 d, 90 d, 1 y).
    pub span: Duration,
    /// Time the server was seen answering.
    pub up: Duration,
    /// Time the server was seen not answering.
    pub down: Duration,
}

impl UptimeWindow {
    /// A window of `span` with nothing known.
    #[must_use]
    pub const fn empty(span: Duration) -> Self {
        Self {
            span,
            up: Duration::ZERO,
            down: Duration::ZERO,
        }
    }

    /// Up time over known time, `None` when nothing is known in the window.
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        let known = self.up + self.down;
        (!known.is_zero()).then(|| self.up.as_secs_f64() / known.as_secs_f64())
    }

    /// Known time over the window's length (0.0 to 1.0): how much of the window the
    /// samples cover.
    #[must_use]
    pub fn coverage(&self) -> f64 {
        if self.span.is_zero() {
            return 0.0;
        }
        ((self.up + self.down).as_secs_f64() / self.span.as_secs_f64()).min(1.0)
    }
}

/// One outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// The first failed sample.
    pub start: Timestamp,
    /// The first answering sample after it; `None` while it lasts.
    pub end: Option<Timestamp>,
    /// `end - start`, or `now - start` while it lasts.
    pub duration: Duration,
    /// Why the first failed poll failed.
    pub cause: crate::history::DownCause,
}

/// Uptime over 24 h, 7 d, 30 d, 90 d and a year and the last outages of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UptimeReport {
    /// The last 24 hours.
    pub day: UptimeWindow,
    /// The last 7 days.
    pub week: UptimeWindow,
    /// The last 30 days.
    pub month: UptimeWindow,
    /// The last 90 days.
    pub quarter: UptimeWindow,
    /// The last 365 days.
    pub year: UptimeWindow,
    /// The last outages, newest first.
    pub outages: Vec<Outage>,
    /// The newest sample: when, and whether the server answered.
    pub last_sample: Option<(Timestamp, bool)>,
    /// How many samples the report is made from (the year's).
    pub samples: usize,
}

/// The time-weighted uptime of `samples` (oldest first) in the window
/// `[now - span, now]`, each sample counting until the next one, at most
/// `2 × interval`.
#[must_use]
pub fn window_uptime(
    samples: &[HistorySample],
    now: Timestamp,
    span: Duration,
    interval: Duration,
) -> UptimeWindow {
    let from = now.minus(span);
    let cap = interval.saturating_mul(2);
    let mut up = Duration::ZERO;
    let mut down = Duration::ZERO;
    for (i, sample) in samples.iter().enumerate() {
        let mut end = sample.at.plus(cap).min(now);
        if let Some(next) = samples.get(i + 1) {
            end = end.min(next.at);
        }
        let start = sample.at.max(from);
        let counted = end.since(start);
        if sample.online {
            up += counted;
        } else {
            down += counted;
        }
    }
    UptimeWindow { span, up, down }
}

/// The outages in `samples` (oldest first): runs of at least `down_after` failed
/// samples, newest first, at most `limit`.
#[must_use]
pub fn outages(
    samples: &[HistorySample],
    now: Timestamp,
    down_after: NonZeroU32,
    limit: usize,
) -> Vec<Outage> {
    let mut found = Vec::new();
    let mut run: Option<(Timestamp, u32)> = None;
    let mut cause = crate::history::DownCause::Unknown;
    for sample in samples {
        match (sample.online, &mut run) {
            (false, Some((_, n))) => *n = n.saturating_add(1),
            (false, None) => {
                run = Some((sample.at, 1));
                cause = sample.cause.unwrap_or_default();
            }
            (true, Some((start, n))) => {
                if *n >= down_after.get() {
                    found.push(Outage {
                        start: *start,
                        end: Some(sample.at),
                        duration: sample.at.since(*start),
                        cause,
                    });
                }
                run = None;
            }
            (true, None) => {}
        }
    }
    if let Some((start, n)) = run
        && n >= down_after.get()
    {
        found.push(Outage {
            start,
            end: None,
            duration: now.since(start),
            cause,
        });
    }
    found.reverse();
    found.truncate(limit);
    found
}

/// The full report from raw samples: [`window_uptime`] over every window and the newest
/// `max_outages` [`outages`].
#[must_use]
pub fn report(
    samples: &[HistorySample],
    now: Timestamp,
    interval: Duration,
    down_after: NonZeroU32,
    max_outages: usize,
) -> UptimeReport {
    UptimeReport {
        day: window_uptime(samples, now, DAY, interval),
        week: window_uptime(samples, now, WEEK, interval),
        month: window_uptime(samples, now, MONTH, interval),
        quarter: window_uptime(samples, now, QUARTER, interval),
        year: window_uptime(samples, now, YEAR, interval),
        outages: outages(samples, now, down_after, max_outages),
        last_sample: samples.last().map(|s| (s.at, s.online)),
        samples: samples.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Target;

    const NOW: Timestamp = Timestamp(1_767_225_600_000);
    const MIN: Duration = Duration::from_secs(60);

    fn sample(ago: Duration, online: bool) -> HistorySample {
        HistorySample {
            target: "a.example".parse::<Target>().expect("valid"),
            at: NOW.minus(ago),
            online,
            players: None,
            latency_ms: None,
            cause: None,
        }
    }

    /// One sample a minute over `span` before now, offline where `down(i)`.
    fn every_minute(span: Duration, down: impl Fn(u64) -> bool) -> Vec<HistorySample> {
        let n = span.as_secs() / 60;
        (0..n)
            .map(|i| sample(MIN * u32::try_from(n - i).expect("small"), !down(i)))
            .collect()
    }

    #[test]
    fn a_steady_server_is_up_100_percent() {
        let samples = every_minute(DAY, |_| false);
        let w = window_uptime(&samples, NOW, DAY, MIN);
        assert_eq!(w.up, DAY);
        assert_eq!(w.down, Duration::ZERO);
        assert_eq!(w.ratio(), Some(1.0));
        assert!((w.coverage() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn an_hour_down_in_a_day() {
        // 1440 samples; the 60 from the 600th on are failures.
        let samples = every_minute(DAY, |i| (600..660).contains(&i));
        let w = window_uptime(&samples, NOW, DAY, MIN);
        assert_eq!(w.down, Duration::from_secs(3600));
        assert_eq!(w.up, DAY - Duration::from_secs(3600));
        let ratio = w.ratio().expect("known");
        assert!((ratio - 23.0 / 24.0).abs() < 1e-9, "{ratio}");
    }

    #[test]
    fn gaps_count_at_most_two_intervals() {
        // Up at -10 h, then nothing until a failure at -1 h, then nothing.
        let samples = vec![
            sample(Duration::from_secs(10 * 3600), true),
            sample(Duration::from_secs(3600), false),
        ];
        let w = window_uptime(&samples, NOW, DAY, MIN);
        assert_eq!(w.up, 2 * MIN);
        assert_eq!(w.down, 2 * MIN);
        assert_eq!(w.ratio(), Some(0.5));
        assert!(w.coverage() < 0.01);
    }

    #[test]
    fn window_clips_samples_that_straddle_its_start_and_now() {
        let samples = vec![
            sample(DAY + Duration::from_secs(30), false), // counts 30 s before, 90 s inside
            sample(Duration::from_secs(30), true),        // counts 30 s (until now)
        ];
        let w = window_uptime(&samples, NOW, DAY, MIN);
        assert_eq!(w.down, Duration::from_secs(90));
        assert_eq!(w.up, Duration::from_secs(30));
    }

    #[test]
    fn empty_history_has_no_ratio() {
        let w = window_uptime(&[], NOW, DAY, MIN);
        assert_eq!(w.ratio(), None);
        assert!(w.coverage().abs() < 1e-12);
    }

    #[test]
    fn windows_differ_by_span() {
        // Down for a day 3 days ago; up otherwise, over 30 days.
        let samples = every_minute(MONTH, |i| {
            let day = i / 1440;
            day == 26
        });
        let r = report(&samples, NOW, MIN, NonZeroU32::MIN.saturating_add(1), 5);
        assert_eq!(r.day.ratio(), Some(1.0));
        let week = r.week.ratio().expect("known");
        assert!((week - 6.0 / 7.0).abs() < 1e-9, "{week}");
        let month = r.month.ratio().expect("known");
        assert!((month - 29.0 / 30.0).abs() < 1e-9, "{month}");
        assert_eq!(r.outages.len(), 1);
        assert_eq!(r.outages[0].duration, DAY);
        assert_eq!(r.samples, samples.len());
        assert_eq!(r.last_sample, Some((NOW.minus(MIN), true)));
    }

    #[test]
    fn outages_are_debounced_newest_first_and_limited() {
        let two = NonZeroU32::new(2).expect("non-zero");
        let pattern = [
            true, false, true, // one lost sample: not an outage
            false, false, true, // outage A: 2 failures
            true, false, false, false, true, // outage B: 3 failures
            false, false, // outage C: ongoing
        ];
        let n = pattern.len();
        let samples: Vec<_> = pattern
            .iter()
            .enumerate()
            .map(|(i, up)| sample(MIN * u32::try_from(n - i).expect("small"), *up))
            .collect();
        let found = outages(&samples, NOW, two, 10);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].end, None);
        assert_eq!(found[0].start, samples[11].at);
        assert_eq!(found[0].duration, 2 * MIN);
        assert_eq!(found[1].start, samples[7].at);
        assert_eq!(found[1].end, Some(samples[10].at));
        assert_eq!(found[1].duration, 3 * MIN);
        assert_eq!(found[2].start, samples[3].at);
        assert_eq!(found[2].duration, 2 * MIN);
        assert_eq!(outages(&samples, NOW, two, 1).len(), 1);
        assert_eq!(outages(&samples, NOW, NonZeroU32::MIN, 10).len(), 4);
    }
}
