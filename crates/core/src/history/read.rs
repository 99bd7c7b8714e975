//! Reading history through the [`HistoryStore`] port.

use std::time::Duration;

use super::codec;
use super::{ChunkKey, OutageEvent, Point, Rollup, SeriesHead, Stream, Tier};
use crate::domain::{HistorySample, Target, Timestamp};
use crate::ports::{HistoryStore, StoreError};

/// Reads a target's history: samples, buckets, uptime and outages.
#[derive(Clone, Copy)]
pub struct HistoryReader<'a> {
    store: &'a dyn HistoryStore,
}

impl std::fmt::Debug for HistoryReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryReader").finish_non_exhaustive()
    }
}

/// Up and known time over a range, from one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeUptime {
    /// The range's start: `now - span`, aligned down to the tier's bucket.
    pub from: Timestamp,
    /// The range's end.
    pub to: Timestamp,
    /// The tier it was read from.
    pub tier: Tier,
    /// Milliseconds the state was known.
    pub known_ms: u64,
    /// Milliseconds it answered.
    pub up_ms: u64,
    /// How many entries were read (samples or buckets).
    pub entries: usize,
    /// How many samples the range holds.
    pub samples: u64,
}

impl RangeUptime {
    /// As an [`UptimeWindow`](crate::watch::UptimeWindow) of the range's length.
    #[must_use]
    pub fn window(&self) -> crate::watch::UptimeWindow {
        crate::watch::UptimeWindow {
            span: self.to.since(self.from),
            up: Duration::from_millis(self.up_ms),
            down: Duration::from_millis(self.known_ms - self.up_ms.min(self.known_ms)),
        }
    }
}

fn corrupt(target: &Target, what: &str, e: &codec::DecodeError) -> StoreError {
    StoreError::Corrupt(format!("{what} of {target}: {e}"))
}

impl<'a> HistoryReader<'a> {
    /// A reader over `store`.
    #[must_use]
    pub fn new(store: &'a dyn HistoryStore) -> Self {
        Self { store }
    }

    /// The target's head (`None`: no history).
    ///
    /// # Errors
    /// [`StoreError`]; `Corrupt` for unreadable bytes.
    pub async fn head(&self, target: &Target) -> Result<Option<SeriesHead>, StoreError> {
        self.store
            .head(target)
            .await?
            .map(|bytes| {
                SeriesHead::decode(&bytes).map_err(|e| corrupt(target, "history head", &e))
            })
            .transpose()
    }

    async fn chunks(
        &self,
        target: &Target,
        stream: Stream,
        since: u64,
        until: u64,
    ) -> Result<Vec<(ChunkKey, Vec<u8>)>, StoreError> {
        if since >= until {
            return Ok(Vec::new());
        }
        let (first, last) = (stream.chunk_of(since), stream.chunk_of(until - 1));
        Ok(self
            .store
            .chunks(target, stream, first, last)
            .await?
            .into_iter()
            .map(|(index, bytes)| (ChunkKey { stream, index }, bytes))
            .collect())
    }

    /// The raw samples of `target` with `since <= at < until`, oldest first (only the
    /// raw window is kept).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn samples(
        &self,
        target: &Target,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<HistorySample>, StoreError> {
        Ok(self
            .points(target, since, until)
            .await?
            .iter()
            .map(|p| p.sample(target))
            .collect())
    }

    /// [`samples`](Self::samples) without the target.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn points(
        &self,
        target: &Target,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<Point>, StoreError> {
        let mut out = Vec::new();
        for (key, bytes) in self.chunks(target, Stream::Raw, since.0, until.0).await? {
            let points = codec::decode_raw(&bytes, key.start())
                .map_err(|e| corrupt(target, "raw chunk", &e))?;
            out.extend(
                points
                    .into_iter()
                    .filter(|p| p.at >= since.0 && p.at < until.0),
            );
        }
        Ok(out)
    }

    /// The buckets of `tier` starting in `[since, until)`, oldest first, the open one
    /// included. For [`Tier::Raw`] each sample is a bucket of its own, its time
    /// credited up to the next sample (at most the gap cap, at most `until`).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn rollups(
        &self,
        target: &Target,
        tier: Tier,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<Rollup>, StoreError> {
        let head = self.head(target).await?;
        self.rollups_with(target, tier, since, until, head.as_ref())
            .await
    }

    /// [`rollups`](Self::rollups) with the head already read (one read of the head
    /// per answer, so an append between two reads cannot count time twice).
    async fn rollups_with(
        &self,
        target: &Target,
        tier: Tier,
        since: Timestamp,
        until: Timestamp,
        head: Option<&SeriesHead>,
    ) -> Result<Vec<Rollup>, StoreError> {
        if tier == Tier::Raw {
            let cap = head.as_ref().map_or(0, |h| h.gap_cap_ms);
            let points = self.points(target, since, until).await?;
            let mut out = Vec::with_capacity(points.len());
            for (i, p) in points.iter().enumerate() {
                let mut end = p.at.saturating_add(cap).min(until.0);
                if let Some(next) = points.get(i + 1) {
                    end = end.min(next.at);
                }
                let mut b = Rollup::at(p.at);
                b.add(p);
                b.credit(end.saturating_sub(p.at), p.online);
                out.push(b);
            }
            return Ok(out);
        }
        let mut out = Vec::new();
        for (key, bytes) in self.chunks(target, tier.stream(), since.0, until.0).await? {
            let buckets = codec::decode_rollups(&bytes, key.start(), tier.bucket_ms())
                .map_err(|e| corrupt(target, "rollup chunk", &e))?;
            out.extend(
                buckets
                    .into_iter()
                    .filter(|b| b.start >= since && b.start < until),
            );
        }
        let index = Tier::ROLLUPS.iter().position(|t| *t == tier);
        if let Some(open) = head.and_then(|h| index.and_then(|i| h.open[i]))
            && open.start >= since
            && open.start < until
            && out.last().is_none_or(|b| b.start < open.start)
        {
            out.push(open);
        }
        Ok(out)
    }

    /// Up and known time of `target` over the last `span` before `now`, read from
    /// `tier`: exact for the range from `now - span` aligned down to the tier's
    /// bucket (raw: not aligned) to `now`, the newest sample counted until `now` (at
    /// most its gap cap), as
    /// [`window_uptime`](crate::watch::uptime::window_uptime) counts raw samples.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn uptime(
        &self,
        target: &Target,
        tier: Tier,
        span: Duration,
        now: Timestamp,
    ) -> Result<RangeUptime, StoreError> {
        let head = self.head(target).await?;
        self.uptime_with(target, tier, span, now, head.as_ref())
            .await
    }

    /// [`uptime`](Self::uptime) with the head already read (`None`: no history),
    /// for a caller that reads several ranges from one head.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn uptime_with(
        &self,
        target: &Target,
        tier: Tier,
        span: Duration,
        now: Timestamp,
        head: Option<&SeriesHead>,
    ) -> Result<RangeUptime, StoreError> {
        let from = Timestamp(tier.align(now.minus(span).0));
        let cap = head.as_ref().map_or(0, |h| h.gap_cap_ms);
        let (mut known, mut up, entries, samples);
        if tier == Tier::Raw {
            // Samples that began before `from` may still count into it.
            let points = self
                .points(
                    target,
                    Timestamp(from.0.saturating_sub(cap)),
                    Timestamp(now.0.saturating_add(1)),
                )
                .await?;
            (known, up) = (0, 0);
            for (i, p) in points.iter().enumerate() {
                let mut end = p.at.saturating_add(cap).min(now.0);
                if let Some(next) = points.get(i + 1) {
                    end = end.min(next.at);
                }
                let ms = end.saturating_sub(p.at.max(from.0));
                known += ms;
                if p.online {
                    up += ms;
                }
            }
            entries = points.len();
            samples = points.iter().filter(|p| p.at >= from.0).count() as u64;
        } else {
            let buckets = self
                .rollups_with(target, tier, from, Timestamp(now.0.saturating_add(1)), head)
                .await?;
            known = buckets.iter().map(|b| b.known_ms).sum();
            up = buckets.iter().map(|b| b.up_ms).sum();
            entries = buckets.len();
            samples = buckets.iter().map(|b| u64::from(b.samples)).sum();
            if let Some(head) = head {
                let (k, u) = head.pending(from.0, now.0);
                known += k;
                up += u;
            }
        }
        Ok(RangeUptime {
            from,
            to: now,
            tier,
            known_ms: known,
            up_ms: up,
            entries,
            samples,
        })
    }

    /// The outages of `target` with at least `min_failed` failed polls, newest first,
    /// at most `limit`, the ongoing one (from the head) included; only closed ones
    /// starting at or after `since` are read.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn outages(
        &self,
        target: &Target,
        since: Timestamp,
        now: Timestamp,
        min_failed: u32,
        limit: usize,
    ) -> Result<Vec<OutageEvent>, StoreError> {
        let head = self.head(target).await?;
        self.outages_with(target, since, now, min_failed, limit, head.as_ref())
            .await
    }

    /// [`outages`](Self::outages) with the head already read.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn outages_with(
        &self,
        target: &Target,
        since: Timestamp,
        now: Timestamp,
        min_failed: u32,
        limit: usize,
        head: Option<&SeriesHead>,
    ) -> Result<Vec<OutageEvent>, StoreError> {
        let mut out = Vec::new();
        if let Some(head) = head
            && let Some(run) = head.outage
            && run.failed >= min_failed
        {
            out.push(run);
        }
        let chunks = self
            .chunks(target, Stream::Outages, since.0, now.0.saturating_add(1))
            .await?;
        for (key, bytes) in chunks.iter().rev() {
            if out.len() >= limit {
                break;
            }
            let events = codec::decode_outages(bytes, key.start())
                .map_err(|e| corrupt(target, "outage chunk", &e))?;
            out.extend(
                events
                    .into_iter()
                    .rev()
                    .filter(|o| o.failed >= min_failed && o.start >= since),
            );
        }
        out.truncate(limit);
        Ok(out)
    }
}
