//! Chart data: history samples bucketed into a fixed number of points (pure), so a
//! chart of 30 days draws a few hundred points, not 43 200 samples.

use std::time::Duration;

use crate::domain::{HistorySample, Timestamp};

/// One bucket of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The bucket's start.
    pub at: Timestamp,
    /// Mean players online over the answering samples, `None` without any.
    pub players: Option<f64>,
    /// The most players seen in the bucket.
    pub players_max: Option<u32>,
    /// Mean latency over the answering samples, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Answering samples over all samples, `None` for an empty bucket (a gap: draw
    /// nothing rather than zero).
    pub online: Option<f64>,
    /// How many samples fell in the bucket.
    pub samples: usize,
}

/// The most points [`series`] returns.
pub const MAX_POINTS: usize = 10_000;

/// `samples` (any order) in `[from, to)` bucketed into `buckets` points (1 to
/// [`MAX_POINTS`]) of equal length (at least 1 ms each). Samples outside the range
/// are ignored.
#[must_use]
pub fn series(
    samples: &[HistorySample],
    from: Timestamp,
    to: Timestamp,
    buckets: usize,
) -> Vec<Point> {
    let buckets = buckets.clamp(1, MAX_POINTS);
    let span = to.since(from);
    let n = u32::try_from(buckets).unwrap_or(u32::MAX);
    let width = (span / n).max(Duration::from_millis(1));
    let width_ms = u64::try_from(width.as_millis()).unwrap_or(u64::MAX);
    #[derive(Default, Clone, Copy)]
    struct Acc {
        samples: usize,
        online: usize,
        players_sum: u64,
        players_n: usize,
        players_max: Option<u32>,
        latency_sum: u64,
        latency_n: usize,
    }
    let mut acc = vec![Acc::default(); buckets];
    for s in samples {
        if s.at < from || s.at >= to {
            continue;
        }
        let i = usize::try_from(s.at.since(from).as_millis() / u128::from(width_ms))
            .unwrap_or(usize::MAX)
            .min(buckets - 1);
        let a = &mut acc[i];
        a.samples += 1;
        if s.online {
            a.online += 1;
            if let Some(p) = s.players {
                a.players_sum += u64::from(p);
                a.players_n += 1;
                a.players_max = Some(a.players_max.map_or(p, |m| m.max(p)));
            }
            if let Some(l) = s.latency_ms {
                a.latency_sum += u64::from(l);
                a.latency_n += 1;
            }
        }
    }
    let mean = |sum: u64, n: usize| (n > 0).then(|| sum as f64 / n as f64);
    acc.iter()
        .enumerate()
        .map(|(i, a)| Point {
            at: Timestamp(from.0.saturating_add(width_ms.saturating_mul(i as u64))),
            players: mean(a.players_sum, a.players_n),
            players_max: a.players_max,
            latency_ms: mean(a.latency_sum, a.latency_n),
            online: (a.samples > 0).then(|| a.online as f64 / a.samples as f64),
            samples: a.samples,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(
        at_s: u64,
        online: bool,
        players: Option<u32>,
        latency: Option<u32>,
    ) -> HistorySample {
        HistorySample {
            target: "a.example".parse().expect("valid"),
            at: Timestamp(at_s * 1000),
            online,
            players,
            latency_ms: latency,
        }
    }

    #[test]
    fn buckets_average_and_leave_gaps_empty() {
        let samples = vec![
            sample(0, true, Some(2), Some(10)),
            sample(30, true, Some(4), Some(30)),
            sample(60, false, None, None),
            sample(90, true, Some(6), None),
            sample(250, true, Some(1), Some(5)), // outside [0, 240)
        ];
        let points = series(&samples, Timestamp(0), Timestamp(240_000), 4);
        assert_eq!(points.len(), 4);
        assert_eq!(points[0].at, Timestamp(0));
        assert_eq!(points[0].players, Some(3.0));
        assert_eq!(points[0].players_max, Some(4));
        assert_eq!(points[0].latency_ms, Some(20.0));
        assert_eq!(points[0].online, Some(1.0));
        assert_eq!(points[1].at, Timestamp(60_000));
        assert_eq!(points[1].online, Some(0.5));
        assert_eq!(points[1].players, Some(6.0));
        assert_eq!(points[1].latency_ms, None);
        assert_eq!(points[2].online, None, "a gap");
        assert_eq!(points[2].samples, 0);
        assert_eq!(points[3].samples, 0);
    }

    #[test]
    fn degenerate_ranges_do_not_panic() {
        let samples = vec![sample(5, true, Some(1), Some(1))];
        assert_eq!(series(&samples, Timestamp(0), Timestamp(0), 10).len(), 10);
        assert_eq!(series(&samples, Timestamp(10), Timestamp(0), 0).len(), 1);
        let one = series(&samples, Timestamp(0), Timestamp(10_000), 1);
        assert_eq!(one[0].samples, 1);
        assert_eq!(
            series(&samples, Timestamp(0), Timestamp(10_000), usize::MAX).len(),
            MAX_POINTS
        );
    }
}
