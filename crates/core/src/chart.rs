//! Charts of a watched server's history (`/graph address [24h|7d|30d|90d|1y]`): the
//! range a user asks for, the request handed to a
//! [`ChartRenderer`](crate::ports::ChartRenderer), and the series preparation that
//! turns stored buckets (see [`crate::history`]) into at most [`ChartRange::buckets`]
//! points. Each range reads the tier that fits it: 24 h raw samples, 7 d 5-minute
//! buckets, 30 d and 90 d hourly buckets, a year daily buckets; each chart bucket is
//! a whole number of stored buckets.
//!
//! Everything that decides *what* is drawn lives here, so a renderer only draws:
//!
//! - the time axis: `[from, to)` where `to` is the end of the bucket holding `now`
//!   (buckets are aligned to multiples of their length since the epoch, so two charts
//!   drawn a minute apart share their buckets);
//! - per bucket: players (minimum, average and maximum of the answering samples: a
//!   band where a point covers many samples), latency (mean of the answering samples),
//!   how many samples failed, or nothing at all (a gap);
//! - the axis maxima, the title and the UTC tick labels ([`ChartRange::tick_label`]).
//!
//! No drawing library is known here; the adapters' `charts` feature has one.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::history::Rollup;

/// How many buckets (points) a chart of 24 h or 7 d has.
pub const BUCKETS: usize = 288;

/// The longest server name drawn in a title (longer ones are cut and end with `…`).
pub const MAX_TITLE_NAME: usize = 64;

/// The time span of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChartRange {
    /// The last 24 hours (5-minute buckets).
    #[default]
    Day,
    /// The last 7 days (35-minute buckets).
    Week,
    /// The last 30 days (3-hour buckets).
    Month,
    /// The last 90 days (8-hour buckets).
    Quarter,
    /// The last 365 days (daily buckets).
    Year,
}

impl ChartRange {
    /// Every range, shortest first.
    pub const ALL: [Self; 5] = [
        Self::Day,
        Self::Week,
        Self::Month,
        Self::Quarter,
        Self::Year,
    ];

    /// The span the chart covers.
    #[must_use]
    pub const fn span(self) -> Duration {
        match self {
            Self::Day => crate::watch::uptime::DAY,
            Self::Week => crate::watch::uptime::WEEK,
            Self::Month => crate::watch::uptime::MONTH,
            Self::Quarter => crate::watch::uptime::QUARTER,
            Self::Year => crate::watch::uptime::YEAR,
        }
    }

    /// How many buckets (points) the chart has: 288, 288, 240, 270, 365.
    #[must_use]
    pub const fn buckets(self) -> usize {
        match self {
            Self::Day | Self::Week => BUCKETS,
            Self::Month => 240,
            Self::Quarter => 270,
            Self::Year => 365,
        }
    }

    /// The length of one bucket: the span over [`buckets`](Self::buckets) (5 min,
    /// 35 min, 3 h, 8 h, 1 d): whole stored buckets of the tier the range reads.
    #[must_use]
    pub const fn bucket(self) -> Duration {
        Duration::from_secs(self.span().as_secs() / self.buckets() as u64)
    }

    /// What a user types: `24h`, `7d`, `30d`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Quarter => "90d",
            Self::Year => "1y",
        }
    }

    /// The span in words for titles: `24 h`, `7 d`, `30 d`.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Day => "24 h",
            Self::Week => "7 d",
            Self::Month => "30 d",
            Self::Quarter => "90 d",
            Self::Year => "1 y",
        }
    }

    /// The spacing of the time axis' ticks: 3 hours for a day, a day for a week,
    /// 5 days for a month, 15 days for 90 days, 60 days for a year.
    #[must_use]
    pub const fn tick_every(self) -> Duration {
        match self {
            Self::Day => Duration::from_secs(3 * 3600),
            Self::Week => Duration::from_secs(24 * 3600),
            Self::Month => Duration::from_secs(5 * 24 * 3600),
            Self::Quarter => Duration::from_secs(15 * 24 * 3600),
            Self::Year => Duration::from_secs(60 * 24 * 3600),
        }
    }

    /// The tick label of time `t` on this range's axis, in UTC: `HH:MM` for a day,
    /// `DD Mon` for a week or a month.
    #[must_use]
    pub fn tick_label(self, t: Timestamp) -> String {
        let (_, month, day, hour, minute) = civil_utc(t);
        match self {
            Self::Day => format!("{hour:02}:{minute:02}"),
            Self::Week | Self::Month | Self::Quarter | Self::Year => {
                let name = MONTHS.get(month.saturating_sub(1) as usize).unwrap_or(&"?");
                format!("{day:02} {name}")
            }
        }
    }

    /// The tick positions within `[from, to]`: every multiple of
    /// [`tick_every`](Self::tick_every) since the epoch (so they fall on whole UTC hours
    /// or midnights).
    #[must_use]
    pub fn ticks(self, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let step = u64::try_from(self.tick_every().as_millis()).unwrap_or(u64::MAX);
        let mut t = from.0.div_ceil(step).saturating_mul(step);
        let mut out = Vec::new();
        while t <= to.0 && out.len() < 64 {
            out.push(Timestamp(t));
            t = t.saturating_add(step);
        }
        out
    }
}

impl fmt::Display for ChartRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a chart range. Its message is meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "“{input}” is not a chart range: use 24h, 7d, 30d, 90d or 1y (for example /graph example.net 7d)"
)]
pub struct ChartRangeError {
    /// What was typed, cleaned and cut to 64 characters.
    pub input: String,
}

impl FromStr for ChartRange {
    type Err = ChartRangeError;

    /// `24h`, `7d`, `30d`, `90d`, `1y`, and a few spellings people use (`1d`, `day`,
    /// `1w`, `week`, `month`, `1m`, `3m`, `quarter`, `365d`, `year`, `12m`),
    /// case-insensitive, spaces around ignored. An empty text is the default, a day.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        match norm.as_str() {
            "" | "24h" | "1d" | "d" | "day" | "24" => Ok(Self::Day),
            "7d" | "1w" | "w" | "week" | "7" => Ok(Self::Week),
            "30d" | "1m" | "m" | "month" | "30" => Ok(Self::Month),
            "90d" | "3m" | "q" | "quarter" | "90" => Ok(Self::Quarter),
            "1y" | "y" | "year" | "365d" | "12m" | "365" => Ok(Self::Year),
            _ => Err(ChartRangeError {
                input: crate::chat::quote_input(s.trim()),
            }),
        }
    }
}

/// What a [`ChartRenderer`](crate::ports::ChartRenderer) is asked to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRequest {
    /// The server's name as shown to users (e.g. `play.example.net`).
    pub name: String,
    /// The span to draw.
    pub range: ChartRange,
    /// The right edge of the chart.
    pub now: Timestamp,
    /// The server's stored buckets (raw samples as one-sample buckets for 24 h), in
    /// any order; those outside the chart are ignored.
    pub points: Vec<Rollup>,
}

impl ChartRequest {
    /// The title: `<server> — last 24 h`, the name cleaned of control characters and
    /// cut to [`MAX_TITLE_NAME`] characters.
    #[must_use]
    pub fn title(&self) -> String {
        format!(
            "{} — last {}",
            cut_name(&self.name, MAX_TITLE_NAME),
            self.range.label()
        )
    }

    /// The prepared series: see [`ChartSeries::prepare`].
    #[must_use]
    pub fn series(&self) -> ChartSeries {
        ChartSeries::prepare(&self.points, self.range, self.now)
    }
}

/// The samples that fell into one bucket of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// The bucket's start (inclusive).
    pub start: Timestamp,
    /// The bucket's end (exclusive).
    pub end: Timestamp,
    /// How many samples fell into it.
    pub samples: u32,
    /// How many of them did not answer.
    pub offline: u32,
    /// The average player count of the answering samples that gave one.
    pub players_avg: Option<f64>,
    /// The smallest player count of the answering samples.
    pub players_min: Option<u32>,
    /// The largest player count of the answering samples.
    pub players_max: Option<u32>,
    /// The mean latency of the answering samples that gave one, rounded to the
    /// nearest millisecond.
    pub latency_ms: Option<u32>,
}

impl Bucket {
    /// Whether any sample fell into the bucket (an empty bucket is a gap in the lines).
    #[must_use]
    pub const fn has_data(&self) -> bool {
        self.samples > 0
    }

    /// The share of failed samples, 0.0 to 1.0 (0.0 for an empty bucket).
    #[must_use]
    pub fn offline_share(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            f64::from(self.offline) / f64::from(self.samples)
        }
    }

    /// Whether every sample in the bucket failed (and there was at least one).
    #[must_use]
    pub const fn is_offline(&self) -> bool {
        self.samples > 0 && self.offline == self.samples
    }

    /// The middle of the bucket, where its point is drawn.
    #[must_use]
    pub const fn mid(&self) -> Timestamp {
        Timestamp(self.start.0 + (self.end.0 - self.start.0) / 2)
    }
}

/// A chart's data, ready to draw: [`BUCKETS`] buckets covering `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    /// The range it was prepared for.
    pub range: ChartRange,
    /// The left edge.
    pub from: Timestamp,
    /// The right edge (the end of the bucket holding `now`).
    pub to: Timestamp,
    /// The buckets, oldest first, contiguous, each [`ChartRange::bucket`] long
    /// ([`ChartRange::buckets`] of them).
    pub buckets: Vec<Bucket>,
    /// How many samples the chart is made from.
    pub samples: usize,
    /// The largest player count of any bucket (0 without any).
    pub players_peak: u32,
    /// The largest mean latency of any bucket (0 without any).
    pub latency_peak: u32,
}

impl ChartSeries {
    /// Bucket stored `points` for a chart of `range` ending at `now`: each point
    /// falls into the chart bucket holding its start.
    ///
    /// Points starting after `now` or before the first bucket are ignored; the order
    /// of `points` does not matter.
    #[must_use]
    pub fn prepare(points: &[Rollup], range: ChartRange, now: Timestamp) -> Self {
        let bucket_ms = u64::try_from(range.bucket().as_millis()).unwrap_or(u64::MAX);
        let n = range.buckets();
        // The end of the bucket holding `now` (`now` on a boundary starts a bucket).
        // (A chart of the first span after the epoch starts at the epoch.)
        let span_ms = bucket_ms.saturating_mul(n as u64);
        let to = (now.0 / bucket_ms)
            .saturating_add(1)
            .saturating_mul(bucket_ms)
            .max(span_ms);
        let (from, to) = (Timestamp(to - span_ms), Timestamp(to));

        let mut accs: Vec<Rollup> = (0..n)
            .map(|i| Rollup::at(from.0 + bucket_ms * i as u64))
            .collect();
        let mut used = 0;
        for point in points {
            if point.start < from || point.start > now {
                continue;
            }
            let index = usize::try_from((point.start.0 - from.0) / bucket_ms).unwrap_or(usize::MAX);
            let Some(acc) = accs.get_mut(index) else {
                continue;
            };
            used += point.samples as usize;
            acc.merge(point);
        }

        let mut buckets = Vec::with_capacity(n);
        let mut players_peak = 0;
        let mut latency_peak = 0;
        for acc in accs {
            let latency_ms = acc
                .latency
                .mean()
                .map(|m| u32::try_from(m.round() as u64).unwrap_or(u32::MAX));
            players_peak = players_peak.max(acc.players.max().unwrap_or(0));
            latency_peak = latency_peak.max(latency_ms.unwrap_or(0));
            buckets.push(Bucket {
                start: acc.start,
                end: Timestamp(acc.start.0 + bucket_ms),
                samples: acc.samples,
                offline: acc.offline(),
                players_avg: acc.players.mean(),
                players_min: acc.players.min(),
                players_max: acc.players.max(),
                latency_ms,
            });
        }
        Self {
            range,
            from,
            to,
            buckets,
            samples: used,
            players_peak,
            latency_peak,
        }
    }

    /// Whether no sample fell into the chart (draw "no data yet").
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// Runs of consecutive buckets that have a value picked by `value` (a line is drawn
    /// per run; a bucket without one breaks the line). Each point is the bucket's
    /// middle and the value.
    pub fn runs<F>(&self, value: F) -> Vec<Vec<(Timestamp, f64)>>
    where
        F: Fn(&Bucket) -> Option<f64>,
    {
        let mut runs = Vec::new();
        let mut current: Vec<(Timestamp, f64)> = Vec::new();
        for bucket in &self.buckets {
            match value(bucket) {
                Some(v) => current.push((bucket.mid(), v)),
                None if current.is_empty() => {}
                None => runs.push(std::mem::take(&mut current)),
            }
        }
        if !current.is_empty() {
            runs.push(current);
        }
        runs
    }

    /// The buckets to shade as offline, merged into spans: `(start, end, share)` for
    /// each run of consecutive buckets with the same non-zero offline share.
    #[must_use]
    pub fn offline_spans(&self) -> Vec<(Timestamp, Timestamp, f64)> {
        let mut spans: Vec<(Timestamp, Timestamp, f64)> = Vec::new();
        for bucket in &self.buckets {
            let share = bucket.offline_share();
            if share <= 0.0 {
                continue;
            }
            match spans.last_mut() {
                Some(last) if last.1 == bucket.start && (last.2 - share).abs() < 1e-9 => {
                    last.1 = bucket.end;
                }
                _ => spans.push((bucket.start, bucket.end, share)),
            }
        }
        spans
    }
}

fn cut_name(name: &str, max: usize) -> String {
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control() && !is_bidi(*c))
        .collect();
    let clean = clean.trim();
    if clean.chars().count() > max {
        let mut cut: String = clean.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        clean.to_owned()
    }
}

const fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `(year, month 1-12, day 1-31, hour, minute)` of `t` in UTC (proleptic Gregorian;
/// Howard Hinnant's `civil_from_days`).
#[must_use]
pub fn civil_utc(t: Timestamp) -> (i64, u32, u32, u32, u32) {
    let secs = t.0 / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let hour = u32::try_from(rem / 3600).unwrap_or(0);
    let minute = u32::try_from(rem % 3600 / 60).unwrap_or(0);

    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, hour, minute)
}
