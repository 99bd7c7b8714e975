//! Compact, tiered history of watched servers: what a store keeps of every poll, and
//! the pure logic that keeps it (no store, no clock: time comes in with the samples).
//!
//! # What is kept
//!
//! Per target, a small **head** ([`SeriesHead`]: the newest sample, the open bucket of
//! each rollup tier, the open outage) and append-only **chunks** per [`Stream`]:
//!
//! | stream | entry | chunk spans | kept (default) |
//! |---|---|---|---|
//! | [`Stream::Raw`] | one sample (~4–5 bytes packed) | 12 h | 48 h |
//! | [`Stream::Min5`] | one 5-minute [`Rollup`] | 2 days | 14 days |
//! | [`Stream::Hour`] | one hourly [`Rollup`] | 15 days | 90 days |
//! | [`Stream::Day`] | one daily [`Rollup`] | 100 days | 400 days |
//! | [`Stream::Outages`] | one closed [`OutageEvent`] | 100 days | 400 days |
//!
//! A chunk is a byte string that only grows while it is open; when the next chunk of
//! its stream begins the engine asks the store to **seal** it (deflate the whole
//! chunk, [`codec::seal`]). A chunk is deleted once its end is older than its
//! stream's retention ([`HistoryConfig::keep`]); Redis does this with key expiry.
//!
//! # How it is built
//!
//! [`prepare`] turns the stored head and a batch of new samples of one target into
//! the new head and the bytes to append to (or seal in) each chunk. Rollups are built
//! as samples arrive: each sample's time is credited when the next one comes, as
//! [`uptime::window_uptime`](crate::watch::uptime::window_uptime) counts it (until the
//! next sample, at most the gap cap), split exactly at bucket boundaries, so the up
//! and known milliseconds of any bucket-aligned range are *equal* to what the raw
//! samples give. Samples are accepted in time order only: a sample not newer than the
//! target's newest is dropped, so two replicas writing the same poll store it once.
//! A store applies a prepared batch atomically against the head it read (a redb
//! transaction; a compare-and-set script on Redis).
//!
//! # How it is read
//!
//! [`HistoryReader`] reads through the [`HistoryStore`](crate::ports::HistoryStore)
//! port: raw samples ([`HistoryReader::samples`]), buckets of one tier
//! ([`HistoryReader::rollups`], the open bucket included), uptime over any span from
//! the tier that fits ([`HistoryConfig::tier_for`]), and outages.

pub mod codec;
mod engine;
mod memory;
mod read;

use std::num::NonZeroU32;
use std::time::Duration;

use crate::domain::{HistorySample, OfflineReason, Timestamp};

pub use codec::DecodeError;
pub use engine::{ChunkWrite, Prepared, prepare};
pub use memory::MemoryHistory;
pub use read::{HistoryReader, RangeUptime};

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;

/// A stream of chunks kept per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// Raw samples.
    Raw,
    /// 5-minute buckets.
    Min5,
    /// Hourly buckets.
    Hour,
    /// Daily buckets.
    Day,
    /// Closed outages.
    Outages,
}

impl Stream {
    /// Every stream.
    pub const ALL: [Self; 5] = [Self::Raw, Self::Min5, Self::Hour, Self::Day, Self::Outages];

    /// How much time one chunk of this stream spans (ms).
    #[must_use]
    pub const fn chunk_ms(self) -> u64 {
        match self {
            Self::Raw => 12 * HOUR_MS,
            Self::Min5 => 2 * DAY_MS,
            Self::Hour => 15 * DAY_MS,
            Self::Day | Self::Outages => 100 * DAY_MS,
        }
    }

    /// The short name stores use in keys: `raw`, `5m`, `1h`, `1d`, `out`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Min5 => "5m",
            Self::Hour => "1h",
            Self::Day => "1d",
            Self::Outages => "out",
        }
    }

    /// A stable one-byte code (for keys of binary stores).
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Raw => 0,
            Self::Min5 => 1,
            Self::Hour => 2,
            Self::Day => 3,
            Self::Outages => 4,
        }
    }

    /// The stream of a [`code`](Self::code).
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Raw),
            1 => Some(Self::Min5),
            2 => Some(Self::Hour),
            3 => Some(Self::Day),
            4 => Some(Self::Outages),
            _ => None,
        }
    }

    /// The chunk holding time `at`.
    #[must_use]
    pub const fn chunk_of(self, at: u64) -> u64 {
        at / self.chunk_ms()
    }
}

/// One chunk of one stream (of a target the caller knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKey {
    /// The stream.
    pub stream: Stream,
    /// The chunk's number: its start over [`Stream::chunk_ms`].
    pub index: u64,
}

impl ChunkKey {
    /// Where the chunk starts (ms).
    #[must_use]
    pub const fn start(self) -> u64 {
        self.index.saturating_mul(self.stream.chunk_ms())
    }

    /// Where the chunk ends (ms, exclusive).
    #[must_use]
    pub const fn end(self) -> u64 {
        self.start().saturating_add(self.stream.chunk_ms())
    }
}

/// A rollup tier: the bucket length of a [`Rollup`] stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Single samples (each a bucket of its own when read as rollups).
    Raw,
    /// 5-minute buckets.
    Min5,
    /// Hourly buckets.
    Hour,
    /// Daily buckets (UTC days).
    Day,
}

impl Tier {
    /// The tiers that keep buckets, finest first.
    pub const ROLLUPS: [Self; 3] = [Self::Min5, Self::Hour, Self::Day];

    /// The bucket length (ms); 1 for raw samples.
    #[must_use]
    pub const fn bucket_ms(self) -> u64 {
        match self {
            Self::Raw => 1,
            Self::Min5 => 5 * MINUTE_MS,
            Self::Hour => HOUR_MS,
            Self::Day => DAY_MS,
        }
    }

    /// The stream the tier is stored in.
    #[must_use]
    pub const fn stream(self) -> Stream {
        match self {
            Self::Raw => Stream::Raw,
            Self::Min5 => Stream::Min5,
            Self::Hour => Stream::Hour,
            Self::Day => Stream::Day,
        }
    }

    /// What the API calls the step: `raw`, `5m`, `1h`, `1d`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        self.stream().name()
    }

    /// The start of the bucket holding `at`.
    #[must_use]
    pub const fn align(self, at: u64) -> u64 {
        at - at % self.bucket_ms()
    }
}

/// Why a poll failed, as kept in history (a [`OfflineReason`] without its details).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DownCause {
    /// Not recorded (answering samples, or history written before causes were kept).
    #[default]
    Unknown,
    /// The host name does not exist.
    NotFound,
    /// The connection was refused.
    Refused,
    /// No answer within the deadline.
    Timeout,
    /// Something answered, but not a Minecraft status.
    InvalidAnswer,
}

impl DownCause {
    /// A stable 3-bit code.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::NotFound => 1,
            Self::Refused => 2,
            Self::Timeout => 3,
            Self::InvalidAnswer => 4,
        }
    }

    /// The cause of a [`code`](Self::code) (unknown codes read as `Unknown`).
    #[must_use]
    pub const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::NotFound,
            2 => Self::Refused,
            3 => Self::Timeout,
            4 => Self::InvalidAnswer,
            _ => Self::Unknown,
        }
    }

    /// In words, for users: `timeout`, `connection refused`, ...
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::NotFound => "host not found",
            Self::Refused => "connection refused",
            Self::Timeout => "timeout",
            Self::InvalidAnswer => "invalid answer",
        }
    }
}

impl From<&OfflineReason> for DownCause {
    fn from(reason: &OfflineReason) -> Self {
        match reason {
            OfflineReason::NotFound => Self::NotFound,
            OfflineReason::Refused => Self::Refused,
            OfflineReason::Timeout { .. } => Self::Timeout,
            OfflineReason::InvalidAnswer { .. } => Self::InvalidAnswer,
        }
    }
}

/// One sample without its target (what the raw tier keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// When (ms since the epoch).
    pub at: u64,
    /// Whether it answered.
    pub online: bool,
    /// Players online, when it answered and said.
    pub players: Option<u32>,
    /// Latency in ms, when it answered.
    pub latency_ms: Option<u32>,
    /// Why it did not answer.
    pub cause: DownCause,
}

impl Point {
    /// The point of a sample.
    #[must_use]
    pub fn of(sample: &HistorySample) -> Self {
        Self {
            at: sample.at.0,
            online: sample.online,
            players: sample.players.filter(|_| sample.online),
            latency_ms: sample.latency_ms.filter(|_| sample.online),
            cause: if sample.online {
                DownCause::Unknown
            } else {
                sample.cause.unwrap_or_default()
            },
        }
    }

    /// The sample of this point for `target`.
    #[must_use]
    pub fn sample(&self, target: &crate::domain::Target) -> HistorySample {
        HistorySample {
            target: target.clone(),
            at: Timestamp(self.at),
            online: self.online,
            players: self.players,
            latency_ms: self.latency_ms,
            cause: (!self.online).then_some(self.cause),
        }
    }
}

/// Count, minimum, maximum and sum of some values (players, latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    /// How many values.
    pub n: u32,
    /// The smallest (0 when `n == 0`).
    pub min: u32,
    /// The largest (0 when `n == 0`).
    pub max: u32,
    /// Their sum.
    pub sum: u64,
}

impl Stat {
    /// Add one value.
    pub fn add(&mut self, v: u32) {
        if self.n == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.n = self.n.saturating_add(1);
        self.sum = self.sum.saturating_add(u64::from(v));
    }

    /// Fold another statistic in.
    pub fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.n = self.n.saturating_add(other.n);
        self.sum = self.sum.saturating_add(other.sum);
    }

    /// The mean, `None` without values.
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / f64::from(self.n))
    }

    /// The minimum, `None` without values.
    #[must_use]
    pub const fn min(&self) -> Option<u32> {
        if self.n > 0 { Some(self.min) } else { None }
    }

    /// The maximum, `None` without values.
    #[must_use]
    pub const fn max(&self) -> Option<u32> {
        if self.n > 0 { Some(self.max) } else { None }
    }
}

/// What a bucket of time holds: samples and their answers, time known and up,
/// players and latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rollup {
    /// The bucket's start (aligned to its tier's bucket length).
    pub start: Timestamp,
    /// Samples taken in the bucket.
    pub samples: u32,
    /// How many of them answered.
    pub online: u32,
    /// Milliseconds of the bucket covered by samples (each sample counts until the
    /// next, at most the gap cap): the time the server's state is known.
    pub known_ms: u64,
    /// Of those, milliseconds it answered.
    pub up_ms: u64,
    /// Player counts of the answering samples that gave one.
    pub players: Stat,
    /// Latencies (ms) of the answering samples.
    pub latency: Stat,
}

impl Rollup {
    /// An empty bucket starting at `start`.
    #[must_use]
    pub fn at(start: u64) -> Self {
        Self {
            start: Timestamp(start),
            ..Self::default()
        }
    }

    /// Count one sample's answer (not its time: see [`credit`](Self::credit)).
    pub fn add(&mut self, p: &Point) {
        self.samples = self.samples.saturating_add(1);
        if p.online {
            self.online = self.online.saturating_add(1);
            if let Some(n) = p.players {
                self.players.add(n);
            }
            if let Some(l) = p.latency_ms {
                self.latency.add(l);
            }
        }
    }

    /// Count `ms` of time, up or not.
    pub const fn credit(&mut self, ms: u64, up: bool) {
        self.known_ms = self.known_ms.saturating_add(ms);
        if up {
            self.up_ms = self.up_ms.saturating_add(ms);
        }
    }

    /// Fold another bucket in (keeps this one's start).
    pub fn merge(&mut self, other: &Self) {
        self.samples = self.samples.saturating_add(other.samples);
        self.online = self.online.saturating_add(other.online);
        self.known_ms = self.known_ms.saturating_add(other.known_ms);
        self.up_ms = self.up_ms.saturating_add(other.up_ms);
        self.players.merge(&other.players);
        self.latency.merge(&other.latency);
    }

    /// How many samples did not answer.
    #[must_use]
    pub const fn offline(&self) -> u32 {
        self.samples.saturating_sub(self.online)
    }

    /// Whether nothing at all fell into it.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.samples == 0 && self.known_ms == 0
    }
}

/// An outage: a run of failed polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutageEvent {
    /// The first failed sample.
    pub start: Timestamp,
    /// The first answering sample after the run; `None` while it lasts.
    pub end: Option<Timestamp>,
    /// How many polls failed in a row.
    pub failed: u32,
    /// Why the first one failed.
    pub cause: DownCause,
}

/// How long each stream is kept, and how samples are weighted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Raw samples (48 h).
    pub raw: Duration,
    /// 5-minute buckets (14 days).
    pub min5: Duration,
    /// Hourly buckets (90 days).
    pub hour: Duration,
    /// Daily buckets and outages (400 days).
    pub day: Duration,
    /// How long one sample counts at most when no next one comes (2 × the poll
    /// interval: 120 s).
    pub gap_cap: Duration,
    /// The shortest run of failed polls stored as an outage (2, the watch
    /// debounce).
    pub outage_after: NonZeroU32,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            raw: Duration::from_secs(48 * 3600),
            min5: Duration::from_secs(14 * 86_400),
            hour: Duration::from_secs(90 * 86_400),
            day: Duration::from_secs(400 * 86_400),
            gap_cap: Duration::from_secs(120),
            outage_after: NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// The most stored entries one read should need.
pub const MAX_READ_ENTRIES: u64 = 2_200;

impl HistoryConfig {
    /// How long a stream is kept.
    #[must_use]
    pub const fn keep(&self, stream: Stream) -> Duration {
        match stream {
            Stream::Raw => self.raw,
            Stream::Min5 => self.min5,
            Stream::Hour => self.hour,
            Stream::Day | Stream::Outages => self.day,
        }
    }

    /// The longest retention of any stream.
    #[must_use]
    pub fn longest(&self) -> Duration {
        self.raw.max(self.min5).max(self.hour).max(self.day)
    }

    /// Today's single `watch_retention_days` mapped onto the tiers: every tier keeps
    /// at most that long (so nothing is kept longer than the operator asked), the
    /// defaults otherwise. `days = 30` (the old default) keeps raw 48 h, 5-minute
    /// 14 d, hourly and daily 30 d.
    #[must_use]
    pub fn from_retention_days(days: u64) -> Self {
        let cap = Duration::from_secs(days.max(1).saturating_mul(86_400));
        let d = Self::default();
        Self {
            raw: d.raw.min(cap),
            min5: d.min5.min(cap),
            hour: d.hour.min(cap),
            day: cap,
            ..d
        }
    }

    /// The tier a read of the last `span` comes from: the finest tier that keeps the
    /// whole span and needs at most [`MAX_READ_ENTRIES`] entries (raw samples count
    /// one a minute), else the coarsest. 24 h → raw, 7 d → 5-minute, 30 d and
    /// 90 d → hourly, 1 y → daily.
    #[must_use]
    pub fn tier_for(&self, span: Duration) -> Tier {
        let span_ms = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
        // One raw sample per poll interval (half the gap cap), at most one a second.
        let per_sample = (self.gap_cap_ms() / 2).max(1_000);
        if self.raw >= span && span_ms / per_sample <= MAX_READ_ENTRIES {
            return Tier::Raw;
        }
        for tier in Tier::ROLLUPS {
            if self.keep(tier.stream()) >= span && span_ms / tier.bucket_ms() <= MAX_READ_ENTRIES {
                return tier;
            }
        }
        Tier::Day
    }

    pub(crate) fn gap_cap_ms(&self) -> u64 {
        u64::try_from(self.gap_cap.as_millis()).unwrap_or(u64::MAX)
    }

    /// When a chunk may be deleted: its end plus its stream's retention.
    #[must_use]
    pub fn expires_at(&self, key: ChunkKey) -> Timestamp {
        Timestamp(key.end()).plus(self.keep(key.stream))
    }
}

/// The per-target state the next sample is added to (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeriesHead {
    /// The newest accepted sample.
    pub last: Option<Point>,
    /// The gap cap it was written with (ms).
    pub gap_cap_ms: u64,
    raw_base: codec::RawBase,
    /// The open bucket of each rollup tier ([`Tier::ROLLUPS`] order).
    pub open: [Option<Rollup>; 3],
    /// Per rollup tier: the chunk its last closed bucket went to, and the delta base.
    bases: [Option<(u64, codec::RollupBase)>; 3],
    /// The open run of failed polls: start, count, cause.
    pub outage: Option<OutageEvent>,
    /// The chunk the last closed outage went to, and its start.
    outage_base: Option<(u64, u64)>,
}

const HEAD_VERSION: u8 = 1;

/// The longest gap cap a head may carry (31 days: twice the longest sensible poll
/// interval, with room).
const MAX_GAP_CAP_MS: u64 = 31 * DAY_MS;

impl SeriesHead {
    /// The head's bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        use codec::{put_full_rollup, put_point, put_varint};
        let mut out = vec![HEAD_VERSION];
        let mut present = 0_u8;
        if self.last.is_some() {
            present |= 1;
        }
        if self.outage.is_some() {
            present |= 2;
        }
        if self.outage_base.is_some() {
            present |= 4;
        }
        out.push(present);
        put_varint(&mut out, self.gap_cap_ms);
        if let Some(last) = &self.last {
            put_point(&mut out, last);
        }
        let b = &self.raw_base;
        put_varint(&mut out, b.at);
        put_varint(&mut out, b.dt);
        put_varint(&mut out, u64::from(b.players));
        put_varint(&mut out, u64::from(b.latency));
        for i in 0..3 {
            let mut tier = 0_u8;
            if self.open[i].is_some() {
                tier |= 1;
            }
            if self.bases[i].is_some() {
                tier |= 2;
            }
            out.push(tier);
            if let Some(open) = &self.open[i] {
                put_full_rollup(&mut out, open);
            }
            if let Some((chunk, base)) = &self.bases[i] {
                put_varint(&mut out, *chunk);
                put_varint(&mut out, base.next);
                put_varint(&mut out, u64::from(base.samples));
                put_varint(&mut out, u64::from(base.players_min));
                put_varint(&mut out, u64::from(base.latency_min));
            }
        }
        if let Some(o) = &self.outage {
            out.push(o.cause.code());
            put_varint(&mut out, o.start.0);
            put_varint(&mut out, u64::from(o.failed));
        }
        if let Some((chunk, start)) = self.outage_base {
            put_varint(&mut out, chunk);
            put_varint(&mut out, start);
        }
        out
    }

    /// Read a head's bytes.
    ///
    /// # Errors
    /// [`DecodeError`] for bytes that are not a head this build writes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        use codec::{Reader, get_full_rollup, get_point};
        let mut r = Reader::new(bytes);
        if r.u8()? != HEAD_VERSION {
            return Err(DecodeError("unknown head version"));
        }
        let present = r.u8()?;
        if present & !7 != 0 {
            return Err(DecodeError("unknown head flags"));
        }
        let mut head = Self {
            gap_cap_ms: r.varint()?,
            ..Self::default()
        };
        if present & 1 != 0 {
            head.last = Some(get_point(&mut r)?);
        }
        head.raw_base = codec::RawBase {
            at: r.varint()?,
            dt: r.varint()?,
            players: r.u32()?,
            latency: r.u32()?,
        };
        for i in 0..3 {
            let tier = r.u8()?;
            if tier & !3 != 0 {
                return Err(DecodeError("unknown tier flags"));
            }
            if tier & 1 != 0 {
                head.open[i] = Some(get_full_rollup(&mut r)?);
            }
            if tier & 2 != 0 {
                let chunk = r.varint()?;
                head.bases[i] = Some((
                    chunk,
                    codec::RollupBase {
                        next: r.varint()?,
                        samples: r.u32()?,
                        players_min: r.u32()?,
                        latency_min: r.u32()?,
                    },
                ));
            }
        }
        if present & 2 != 0 {
            let cause = r.u8()?;
            head.outage = Some(OutageEvent {
                cause: DownCause::from_code(cause),
                start: Timestamp(r.varint()?),
                end: None,
                failed: r.u32()?,
            });
        }
        if present & 4 != 0 {
            head.outage_base = Some((r.varint()?, r.varint()?));
        }
        if !r.is_empty() {
            return Err(DecodeError("trailing bytes after the head"));
        }
        head.check()?;
        Ok(head)
    }

    /// Refuse a head the engine cannot have written (so a damaged one cannot make
    /// adding a sample loop for long or overflow).
    fn check(&self) -> Result<(), DecodeError> {
        if self.gap_cap_ms > MAX_GAP_CAP_MS {
            return Err(DecodeError("gap cap out of range"));
        }
        let raw_chunk = Stream::Raw.chunk_ms();
        if self.raw_base.dt > raw_chunk {
            return Err(DecodeError("raw delta base out of range"));
        }
        if let Some(last) = self.last
            && Stream::Raw.chunk_of(self.raw_base.at) != Stream::Raw.chunk_of(last.at)
        {
            return Err(DecodeError("raw delta base outside the newest chunk"));
        }
        for (i, tier) in Tier::ROLLUPS.into_iter().enumerate() {
            if let Some(open) = &self.open[i]
                && (open.start.0 % tier.bucket_ms() != 0 || open.known_ms > tier.bucket_ms())
            {
                return Err(DecodeError("open bucket out of range"));
            }
            if let Some((chunk, base)) = &self.bases[i] {
                let key = ChunkKey {
                    stream: tier.stream(),
                    index: *chunk,
                };
                if *chunk > u64::MAX / tier.stream().chunk_ms() - 1
                    || base.next < key.start()
                    || base.next > key.end()
                {
                    return Err(DecodeError("bucket delta base out of range"));
                }
            }
        }
        if let Some((chunk, start)) = self.outage_base {
            let key = ChunkKey {
                stream: Stream::Outages,
                index: chunk,
            };
            if chunk > u64::MAX / Stream::Outages.chunk_ms() - 1
                || start < key.start()
                || start >= key.end()
            {
                return Err(DecodeError("outage delta base out of range"));
            }
        }
        Ok(())
    }

    /// The newest sample's time and answer.
    #[must_use]
    pub fn last_sample(&self) -> Option<(Timestamp, bool)> {
        self.last.map(|p| (Timestamp(p.at), p.online))
    }

    /// The time the newest sample still counts for, up to `now`, within
    /// `[from, now)`: `(known, up)` in ms. Rollups do not hold it yet (it is credited
    /// when the next sample comes).
    #[must_use]
    pub fn pending(&self, from: u64, now: u64) -> (u64, u64) {
        let Some(last) = self.last else { return (0, 0) };
        let end = last.at.saturating_add(self.gap_cap_ms).min(now);
        let start = last.at.max(from);
        let ms = end.saturating_sub(start);
        (ms, if last.online { ms } else { 0 })
    }
}

#[cfg(test)]
mod tests;
