//! Adding samples to a target's history: the head and the chunk writes they make.

use super::codec::{self, CHUNK_PLAIN, RawBase, RollupBase};
use super::{ChunkKey, HistoryConfig, OutageEvent, Point, Rollup, SeriesHead, Stream, Tier};
use crate::domain::{HistorySample, Timestamp};

/// The bytes to add to one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkWrite {
    /// Which chunk.
    pub key: ChunkKey,
    /// Bytes to append (may be empty when the chunk is only sealed).
    pub append: Vec<u8>,
    /// Replace the chunk by [`codec::seal`]`(stored bytes, append)` instead of
    /// appending: the chunk is closed.
    pub seal: bool,
    /// The chunk begins with this write (its header is the first byte of `append`):
    /// whatever a store still holds under its key (a leftover of an earlier series
    /// of the target whose head expired) is replaced, never appended to.
    pub fresh: bool,
    /// When the chunk may be deleted ([`HistoryConfig::expires_at`]).
    pub expires_at: Timestamp,
}

impl ChunkWrite {
    /// The chunk's new bytes given what the store holds (`None`: nothing yet).
    #[must_use]
    pub fn apply(&self, stored: Option<&[u8]>) -> Vec<u8> {
        let stored = if self.fresh {
            &[]
        } else {
            stored.unwrap_or_default()
        };
        if self.seal {
            codec::seal(stored, &self.append)
        } else {
            [stored, &self.append].concat()
        }
    }
}

/// What a batch of samples of one target changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The new head.
    pub head: SeriesHead,
    /// Its bytes.
    pub head_bytes: Vec<u8>,
    /// When the whole series may be forgotten: the newest sample plus the longest
    /// retention.
    pub head_expires_at: Timestamp,
    /// The chunk writes, at most one per chunk, in the order to apply them.
    pub writes: Vec<ChunkWrite>,
    /// How many samples were taken (the others were not newer than the newest).
    pub accepted: usize,
}

/// Add `samples` (all of one target, any order) to the history whose head is `head`
/// (`None`: a target without history).
///
/// Samples are taken in time order; one not newer than the newest taken is dropped
/// (a duplicate or a late write of a racing replica).
///
/// # Errors
/// [`codec::DecodeError`] when `head` is not a head's bytes.
pub fn prepare(
    head: Option<&[u8]>,
    samples: &[HistorySample],
    config: &HistoryConfig,
) -> Result<Prepared, codec::DecodeError> {
    let mut head = match head {
        Some(bytes) => SeriesHead::decode(bytes)?,
        None => SeriesHead::default(),
    };
    let mut points: Vec<Point> = samples.iter().map(Point::of).collect();
    points.sort_by_key(|p| p.at);
    let mut writes = Writes::default();
    let mut accepted = 0;
    for p in &points {
        if ingest(&mut head, p, config, &mut writes) {
            accepted += 1;
        }
    }
    let head_expires_at = head
        .last
        .map_or(Timestamp(0), |p| Timestamp(p.at).plus(config.longest()));
    let writes = writes
        .0
        .into_iter()
        .map(|w| ChunkWrite {
            key: w.key,
            append: w.append,
            seal: w.seal,
            fresh: w.fresh,
            expires_at: config.expires_at(w.key),
        })
        .collect();
    Ok(Prepared {
        head_bytes: head.encode(),
        head,
        head_expires_at,
        writes,
        accepted,
    })
}

#[derive(Debug)]
struct Write {
    key: ChunkKey,
    append: Vec<u8>,
    seal: bool,
    fresh: bool,
}

#[derive(Debug, Default)]
struct Writes(Vec<Write>);

impl Writes {
    fn entry(&mut self, key: ChunkKey) -> &mut Write {
        let index = match self.0.iter().position(|w| w.key == key) {
            Some(i) => i,
            None => {
                self.0.push(Write {
                    key,
                    append: Vec::new(),
                    seal: false,
                    fresh: false,
                });
                self.0.len() - 1
            }
        };
        &mut self.0[index]
    }

    fn append(&mut self, key: ChunkKey) -> &mut Vec<u8> {
        &mut self.entry(key).append
    }

    /// Start chunk `key`: its header, replacing anything stored under the key.
    fn begin(&mut self, key: ChunkKey) {
        let w = self.entry(key);
        w.fresh = true;
        w.append.clear();
        w.append.push(CHUNK_PLAIN);
    }

    fn seal(&mut self, key: ChunkKey) {
        self.entry(key).seal = true;
    }
}

/// Add one point; `false` when it is not newer than the newest.
fn ingest(head: &mut SeriesHead, p: &Point, config: &HistoryConfig, out: &mut Writes) -> bool {
    let cap = config.gap_cap_ms();
    if let Some(last) = head.last {
        if p.at <= last.at {
            return false;
        }
        // The previous sample counts until this one, at most its gap cap.
        let end = last.at.saturating_add(head.gap_cap_ms).min(p.at);
        for (i, tier) in Tier::ROLLUPS.into_iter().enumerate() {
            roll(head, i, tier, last.at, end, last.online, p, config, out);
        }
    } else {
        for (i, tier) in Tier::ROLLUPS.into_iter().enumerate() {
            roll(head, i, tier, p.at, p.at, true, p, config, out);
        }
    }
    head.gap_cap_ms = cap;
    raw(head, p, config, out);
    outage(head, p, config, out);
    head.last = Some(*p);
    true
}

/// Credit `[from, to)` to tier `i`'s buckets, count `p` in its bucket, and close every
/// bucket before it.
#[allow(clippy::too_many_arguments)]
fn roll(
    head: &mut SeriesHead,
    i: usize,
    tier: Tier,
    from: u64,
    to: u64,
    up: bool,
    p: &Point,
    config: &HistoryConfig,
    out: &mut Writes,
) {
    let bucket = tier.bucket_ms();
    let mut open: Vec<Rollup> = head.open[i].take().into_iter().collect();
    let mut at = from;
    while at < to {
        let start = tier.align(at);
        let end = start.saturating_add(bucket).min(to);
        bucket_at(&mut open, start).credit(end - at, up);
        at = end;
    }
    let current = tier.align(p.at);
    bucket_at(&mut open, current).add(p);
    open.sort_by_key(|b| b.start);
    for closed in open.iter().filter(|b| b.start.0 < current) {
        close(head, i, tier, closed, p.at, config, out);
    }
    head.open[i] = open.into_iter().find(|b| b.start.0 == current);
}

fn bucket_at(open: &mut Vec<Rollup>, start: u64) -> &mut Rollup {
    // Buckets are asked for in time order: the newest is almost always the one.
    let index = match open
        .last()
        .filter(|b| b.start.0 == start)
        .map(|_| open.len() - 1)
        .or_else(|| open.iter().position(|b| b.start.0 == start))
    {
        Some(i) => i,
        None => {
            open.push(Rollup::at(start));
            open.len() - 1
        }
    };
    &mut open[index]
}

/// Write a closed bucket to its chunk (a new chunk seals the previous one). A
/// bucket whose chunk is already past its retention at `now` (after a pause longer
/// than the retention) is dropped: its chunk may be pruned already.
#[allow(clippy::too_many_arguments)]
fn close(
    head: &mut SeriesHead,
    i: usize,
    tier: Tier,
    bucket: &Rollup,
    now: u64,
    config: &HistoryConfig,
    out: &mut Writes,
) {
    if bucket.is_empty() {
        return;
    }
    let stream = tier.stream();
    let chunk = stream.chunk_of(bucket.start.0);
    let key = ChunkKey {
        stream,
        index: chunk,
    };
    if config.expires_at(key).0 <= now {
        return;
    }
    let base = match head.bases[i] {
        Some((c, base)) if c == chunk => base,
        previous => {
            if let Some((c, _)) = previous
                && c < chunk
            {
                let old = ChunkKey { stream, index: c };
                if config.expires_at(old).0 > now {
                    out.seal(old);
                }
            }
            out.begin(key);
            RollupBase::chunk_start(key.start())
        }
    };
    let mut base = base;
    codec::put_rollup(out.append(key), &mut base, tier.bucket_ms(), bucket);
    head.bases[i] = Some((chunk, base));
}

fn raw(head: &mut SeriesHead, p: &Point, config: &HistoryConfig, out: &mut Writes) {
    let chunk = Stream::Raw.chunk_of(p.at);
    let key = ChunkKey {
        stream: Stream::Raw,
        index: chunk,
    };
    let previous = head.last.map(|l| Stream::Raw.chunk_of(l.at));
    if previous != Some(chunk) {
        if let Some(c) = previous {
            let old = ChunkKey {
                stream: Stream::Raw,
                index: c,
            };
            if config.expires_at(old).0 > p.at {
                out.seal(old);
            }
        }
        out.begin(key);
        head.raw_base = RawBase::chunk_start(key.start());
    }
    codec::put_raw(out.append(key), &mut head.raw_base, p);
}

fn outage(head: &mut SeriesHead, p: &Point, config: &HistoryConfig, out: &mut Writes) {
    if !p.online {
        match &mut head.outage {
            Some(run) => run.failed = run.failed.saturating_add(1),
            None => {
                head.outage = Some(OutageEvent {
                    start: Timestamp(p.at),
                    end: None,
                    failed: 1,
                    cause: p.cause,
                });
            }
        }
        return;
    }
    let Some(mut run) = head.outage.take() else {
        return;
    };
    if run.failed < config.outage_after.get() {
        return;
    }
    run.end = Some(Timestamp(p.at));
    let stream = Stream::Outages;
    let chunk = stream.chunk_of(run.start.0);
    let key = ChunkKey {
        stream,
        index: chunk,
    };
    if config.expires_at(key).0 <= p.at {
        return;
    }
    let mut base = match head.outage_base {
        Some((c, start)) if c == chunk => start,
        previous => {
            if let Some((c, _)) = previous
                && c < chunk
            {
                let old = ChunkKey { stream, index: c };
                if config.expires_at(old).0 > p.at {
                    out.seal(old);
                }
            }
            out.begin(key);
            key.start()
        }
    };
    codec::put_outage(out.append(key), &mut base, &run);
    head.outage_base = Some((chunk, base));
}
