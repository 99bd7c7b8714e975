//! The packed byte formats of history: varints, a bounded reader, and the encodings
//! of raw samples, rollup buckets, outage events and the series head.
//!
//! Every decoder here reads bytes a store gave back: it bounds every length and
//! count by the input it has, checks every addition for overflow, refuses trailing
//! bytes where a value must end, and never panics ([`DecodeError`] instead).

use super::{DownCause, OutageEvent, Point, Rollup, Stat};

/// Why stored history bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("history bytes are unreadable: {0}")]
pub struct DecodeError(pub &'static str);

/// The first byte of an open chunk: packed entries follow.
pub const CHUNK_PLAIN: u8 = 1;
/// The first byte of a sealed chunk: the raw-deflate of the packed entries follows.
pub const CHUNK_SEALED: u8 = 2;
/// The most bytes a sealed chunk may inflate to (a chunk holds at most a few
/// thousand entries of at most a few dozen bytes).
pub const MAX_CHUNK_PLAIN: usize = 4 << 20;

/// A cursor over bytes that never reads past its end.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub(crate) const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or(DecodeError("unexpected end"))?;
        self.bytes = rest;
        Ok(b)
    }

    /// An unsigned LEB128 varint of at most 10 bytes (a tenth byte above 1 is refused).
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(DecodeError("varint overflows 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError("varint longer than 10 bytes"))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint()?).map_err(|_| DecodeError("value above 32 bits"))
    }

    pub(crate) fn zigzag(&mut self) -> Result<i64, DecodeError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// `base + delta` for a decoded delta, refusing values outside `u32`.
fn add_u32(base: u32, delta: i64) -> Result<u32, DecodeError> {
    u32::try_from(i64::from(base) + delta).map_err(|_| DecodeError("value out of range"))
}

fn add_u64(a: u64, b: u64) -> Result<u64, DecodeError> {
    a.checked_add(b).ok_or(DecodeError("time overflows"))
}

fn mul_add(min: u32, n: u32, rest: u64) -> Result<u64, DecodeError> {
    u64::from(min)
        .checked_mul(u64::from(n))
        .and_then(|m| m.checked_add(rest))
        .ok_or(DecodeError("sum overflows"))
}

// ---- raw samples -------------------------------------------------------------------

/// The delta base of the raw entries of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RawBase {
    pub(crate) at: u64,
    pub(crate) dt: u64,
    pub(crate) players: u32,
    pub(crate) latency: u32,
}

impl RawBase {
    pub(crate) const fn chunk_start(start: u64) -> Self {
        Self {
            at: start,
            dt: 0,
            players: 0,
            latency: 0,
        }
    }
}

const ONLINE: u8 = 1;
const HAS_PLAYERS: u8 = 2;
const HAS_LATENCY: u8 = 4;

/// The flag byte of a sample: answered, which values it has, why it failed.
fn point_flags(p: &Point) -> u8 {
    let mut flags = 0;
    if p.online {
        flags |= ONLINE;
    }
    if p.players.is_some() {
        flags |= HAS_PLAYERS;
    }
    if p.latency_ms.is_some() {
        flags |= HAS_LATENCY;
    }
    flags | ((p.cause.code() & 7) << 3)
}

/// Append one raw sample to `out`, relative to `base` (updated).
pub(crate) fn put_raw(out: &mut Vec<u8>, base: &mut RawBase, p: &Point) {
    out.push(point_flags(p));
    let dt = p.at.saturating_sub(base.at);
    put_zigzag(out, dt as i64 - base.dt as i64);
    base.at = p.at;
    base.dt = dt;
    if let Some(n) = p.players {
        put_zigzag(out, i64::from(n) - i64::from(base.players));
        base.players = n;
    }
    if let Some(l) = p.latency_ms {
        put_zigzag(out, i64::from(l) - i64::from(base.latency));
        base.latency = l;
    }
}

fn get_raw(r: &mut Reader<'_>, base: &mut RawBase) -> Result<Point, DecodeError> {
    let flags = r.u8()?;
    if flags & 0xc0 != 0 {
        return Err(DecodeError("unknown raw sample flags"));
    }
    let dt = i64::try_from(base.dt)
        .ok()
        .and_then(|d| d.checked_add(r.zigzag().ok()?))
        .and_then(|d| u64::try_from(d).ok())
        .ok_or(DecodeError("raw sample time out of range"))?;
    let at = add_u64(base.at, dt)?;
    base.at = at;
    base.dt = dt;
    let players = if flags & HAS_PLAYERS != 0 {
        base.players = add_u32(base.players, r.zigzag()?)?;
        Some(base.players)
    } else {
        None
    };
    let latency_ms = if flags & HAS_LATENCY != 0 {
        base.latency = add_u32(base.latency, r.zigzag()?)?;
        Some(base.latency)
    } else {
        None
    };
    Ok(Point {
        at,
        online: flags & ONLINE != 0,
        players,
        latency_ms,
        cause: DownCause::from_code((flags >> 3) & 7),
    })
}

// ---- rollups -----------------------------------------------------------------------

/// The delta base of the rollup entries of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RollupBase {
    /// Where the next consecutive bucket starts.
    pub(crate) next: u64,
    pub(crate) samples: u32,
    pub(crate) players_min: u32,
    pub(crate) latency_min: u32,
}

impl RollupBase {
    pub(crate) const fn chunk_start(start: u64) -> Self {
        Self {
            next: start,
            samples: 0,
            players_min: 0,
            latency_min: 0,
        }
    }
}

const CONSEC: u8 = 1;
const SAME_COUNT: u8 = 2;
const ALL_ONLINE: u8 = 4;
const FULL_KNOWN: u8 = 8;
const ALL_UP: u8 = 16;
const PLAYERS_N: u8 = 32;
const LATENCY_N: u8 = 64;

fn put_stat(out: &mut Vec<u8>, s: &Stat, base_min: &mut u32) {
    if s.n == 0 {
        return;
    }
    put_zigzag(out, i64::from(s.min) - i64::from(*base_min));
    put_varint(out, u64::from(s.max - s.min));
    put_varint(out, s.sum - u64::from(s.min) * u64::from(s.n));
    *base_min = s.min;
}

fn get_stat(r: &mut Reader<'_>, n: u32, base_min: &mut u32) -> Result<Stat, DecodeError> {
    if n == 0 {
        return Ok(Stat::default());
    }
    let min = add_u32(*base_min, r.zigzag()?)?;
    let max = min
        .checked_add(r.u32()?)
        .ok_or(DecodeError("maximum out of range"))?;
    let sum = mul_add(min, n, r.varint()?)?;
    if sum > u64::from(max) * u64::from(n) {
        return Err(DecodeError("sum above n × maximum"));
    }
    *base_min = min;
    Ok(Stat { n, min, max, sum })
}

/// Append one closed bucket of `bucket_ms` to `out`, relative to `base` (updated).
/// The bucket's start must not be before `base.next`.
pub(crate) fn put_rollup(out: &mut Vec<u8>, base: &mut RollupBase, bucket_ms: u64, b: &Rollup) {
    let start = b.start.0.max(base.next);
    let mut flags = 0;
    if start == base.next {
        flags |= CONSEC;
    }
    if b.samples == base.samples {
        flags |= SAME_COUNT;
    }
    if b.online == b.samples {
        flags |= ALL_ONLINE;
    }
    if b.known_ms == bucket_ms {
        flags |= FULL_KNOWN;
    }
    if b.up_ms == b.known_ms {
        flags |= ALL_UP;
    }
    if b.players.n == b.online {
        flags |= PLAYERS_N;
    }
    if b.latency.n == b.online {
        flags |= LATENCY_N;
    }
    out.push(flags);
    if flags & CONSEC == 0 {
        put_varint(out, (start - base.next) / bucket_ms.max(1));
    }
    if flags & SAME_COUNT == 0 {
        put_varint(out, u64::from(b.samples));
    }
    if flags & ALL_ONLINE == 0 {
        put_varint(out, u64::from(b.online));
    }
    if flags & FULL_KNOWN == 0 {
        put_varint(out, b.known_ms);
    }
    if flags & ALL_UP == 0 {
        put_varint(out, b.up_ms);
    }
    if flags & PLAYERS_N == 0 {
        put_varint(out, u64::from(b.players.n));
    }
    put_stat(out, &b.players, &mut base.players_min);
    if flags & LATENCY_N == 0 {
        put_varint(out, u64::from(b.latency.n));
    }
    put_stat(out, &b.latency, &mut base.latency_min);
    base.next = start.saturating_add(bucket_ms);
    base.samples = b.samples;
}

fn get_rollup(
    r: &mut Reader<'_>,
    base: &mut RollupBase,
    bucket_ms: u64,
) -> Result<Rollup, DecodeError> {
    let flags = r.u8()?;
    if flags & 0x80 != 0 {
        return Err(DecodeError("unknown rollup flags"));
    }
    let start = if flags & CONSEC == 0 {
        let skip = r
            .varint()?
            .checked_mul(bucket_ms)
            .ok_or(DecodeError("bucket gap overflows"))?;
        add_u64(base.next, skip)?
    } else {
        base.next
    };
    let samples = if flags & SAME_COUNT == 0 {
        r.u32()?
    } else {
        base.samples
    };
    let online = if flags & ALL_ONLINE == 0 {
        r.u32()?
    } else {
        samples
    };
    let known_ms = if flags & FULL_KNOWN == 0 {
        r.varint()?
    } else {
        bucket_ms
    };
    let up_ms = if flags & ALL_UP == 0 {
        r.varint()?
    } else {
        known_ms
    };
    if online > samples || up_ms > known_ms || known_ms > bucket_ms {
        return Err(DecodeError("inconsistent bucket counts"));
    }
    let pn = if flags & PLAYERS_N == 0 {
        r.u32()?
    } else {
        online
    };
    let players = get_stat(r, pn, &mut base.players_min)?;
    let ln = if flags & LATENCY_N == 0 {
        r.u32()?
    } else {
        online
    };
    let latency = get_stat(r, ln, &mut base.latency_min)?;
    if players.n > online || latency.n > online {
        return Err(DecodeError("more values than answering samples"));
    }
    base.next = add_u64(start, bucket_ms)?;
    base.samples = samples;
    Ok(Rollup {
        start: crate::domain::Timestamp(start),
        samples,
        online,
        known_ms,
        up_ms,
        players,
        latency,
    })
}

// ---- outages -----------------------------------------------------------------------

/// Append one closed outage to `out`; `base` is the previous event's start in the
/// chunk (or the chunk's start), updated.
pub(crate) fn put_outage(out: &mut Vec<u8>, base: &mut u64, o: &OutageEvent) {
    let start = o.start.0.max(*base);
    out.push(o.cause.code());
    put_varint(out, start - *base);
    put_varint(out, o.end.map_or(0, |e| e.0.saturating_sub(start)));
    put_varint(out, u64::from(o.failed));
    *base = start;
}

fn get_outage(r: &mut Reader<'_>, base: &mut u64) -> Result<OutageEvent, DecodeError> {
    let cause = r.u8()?;
    if cause > 7 {
        return Err(DecodeError("unknown outage cause"));
    }
    let start = add_u64(*base, r.varint()?)?;
    let end = add_u64(start, r.varint()?)?;
    let failed = r.u32()?;
    *base = start;
    Ok(OutageEvent {
        start: crate::domain::Timestamp(start),
        end: Some(crate::domain::Timestamp(end)),
        failed,
        cause: DownCause::from_code(cause),
    })
}

// ---- chunks ------------------------------------------------------------------------

/// The packed entries of a chunk, inflating a sealed one (bounded).
fn body(chunk: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, DecodeError> {
    match chunk.split_first() {
        None => Ok(std::borrow::Cow::Borrowed(&[])),
        Some((&CHUNK_PLAIN, rest)) => Ok(std::borrow::Cow::Borrowed(rest)),
        Some((&CHUNK_SEALED, rest)) => {
            miniz_oxide::inflate::decompress_to_vec_with_limit(rest, MAX_CHUNK_PLAIN)
                .map(std::borrow::Cow::Owned)
                .map_err(|_| DecodeError("sealed chunk does not inflate"))
        }
        Some(_) => Err(DecodeError("unknown chunk format")),
    }
}

/// Seal a chunk: `existing` (what the store holds, possibly nothing) followed by
/// `appended`, compressed as a whole. A chunk that is already sealed, or not a
/// chunk, is returned as it is (with `appended` lost only if `existing` was sealed,
/// which the engine never asks for).
#[must_use]
pub fn seal(existing: &[u8], appended: &[u8]) -> Vec<u8> {
    let mut plain = Vec::with_capacity(existing.len() + appended.len());
    plain.extend_from_slice(existing);
    plain.extend_from_slice(appended);
    match plain.split_first() {
        Some((&CHUNK_PLAIN, rest)) => {
            let mut out = vec![CHUNK_SEALED];
            out.extend(miniz_oxide::deflate::compress_to_vec(rest, 9));
            out
        }
        _ => plain,
    }
}

/// Decode a raw chunk starting at `start` (ms).
///
/// # Errors
/// [`DecodeError`] for bytes that are not a raw chunk.
pub fn decode_raw(chunk: &[u8], start: u64) -> Result<Vec<Point>, DecodeError> {
    let body = body(chunk)?;
    let mut r = Reader::new(&body);
    let mut base = RawBase::chunk_start(start);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(get_raw(&mut r, &mut base)?);
    }
    Ok(out)
}

/// Decode a rollup chunk of `bucket_ms` buckets starting at `start` (ms).
///
/// # Errors
/// [`DecodeError`] for bytes that are not a rollup chunk.
pub fn decode_rollups(
    chunk: &[u8],
    start: u64,
    bucket_ms: u64,
) -> Result<Vec<Rollup>, DecodeError> {
    let body = body(chunk)?;
    let mut r = Reader::new(&body);
    let mut base = RollupBase::chunk_start(start);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(get_rollup(&mut r, &mut base, bucket_ms)?);
    }
    Ok(out)
}

/// Decode an outage chunk starting at `start` (ms).
///
/// # Errors
/// [`DecodeError`] for bytes that are not an outage chunk.
pub fn decode_outages(chunk: &[u8], start: u64) -> Result<Vec<OutageEvent>, DecodeError> {
    let body = body(chunk)?;
    let mut r = Reader::new(&body);
    let mut base = start;
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(get_outage(&mut r, &mut base)?);
    }
    Ok(out)
}

// ---- points and buckets in the head ------------------------------------------------

pub(crate) fn put_point(out: &mut Vec<u8>, p: &Point) {
    out.push(point_flags(p));
    put_varint(out, p.at);
    if let Some(n) = p.players {
        put_varint(out, u64::from(n));
    }
    if let Some(l) = p.latency_ms {
        put_varint(out, u64::from(l));
    }
}

pub(crate) fn get_point(r: &mut Reader<'_>) -> Result<Point, DecodeError> {
    let flags = r.u8()?;
    if flags & 0xc0 != 0 {
        return Err(DecodeError("unknown point flags"));
    }
    let at = r.varint()?;
    let players = if flags & HAS_PLAYERS != 0 {
        Some(r.u32()?)
    } else {
        None
    };
    let latency_ms = if flags & HAS_LATENCY != 0 {
        Some(r.u32()?)
    } else {
        None
    };
    Ok(Point {
        at,
        online: flags & ONLINE != 0,
        players,
        latency_ms,
        cause: DownCause::from_code((flags >> 3) & 7),
    })
}

fn put_full_stat(out: &mut Vec<u8>, s: &Stat) {
    put_varint(out, u64::from(s.n));
    if s.n > 0 {
        put_varint(out, u64::from(s.min));
        put_varint(out, u64::from(s.max));
        put_varint(out, s.sum);
    }
}

fn get_full_stat(r: &mut Reader<'_>) -> Result<Stat, DecodeError> {
    let n = r.u32()?;
    if n == 0 {
        return Ok(Stat::default());
    }
    let (min, max, sum) = (r.u32()?, r.u32()?, r.varint()?);
    if min > max || sum < u64::from(min) * u64::from(n) || sum > u64::from(max) * u64::from(n) {
        return Err(DecodeError("inconsistent statistic"));
    }
    Ok(Stat { n, min, max, sum })
}

pub(crate) fn put_full_rollup(out: &mut Vec<u8>, b: &Rollup) {
    put_varint(out, b.start.0);
    put_varint(out, u64::from(b.samples));
    put_varint(out, u64::from(b.online));
    put_varint(out, b.known_ms);
    put_varint(out, b.up_ms);
    put_full_stat(out, &b.players);
    put_full_stat(out, &b.latency);
}

pub(crate) fn get_full_rollup(r: &mut Reader<'_>) -> Result<Rollup, DecodeError> {
    let b = Rollup {
        start: crate::domain::Timestamp(r.varint()?),
        samples: r.u32()?,
        online: r.u32()?,
        known_ms: r.varint()?,
        up_ms: r.varint()?,
        players: get_full_stat(r)?,
        latency: get_full_stat(r)?,
    };
    if b.online > b.samples || b.up_ms > b.known_ms {
        return Err(DecodeError("inconsistent open bucket"));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_vectors() {
        for (v, hex) in [
            (0_u64, "00"),
            (1, "01"),
            (127, "7f"),
            (128, "8001"),
            (25_565, "ddc701"),
            (60_000, "e0d403"),
            (u64::MAX, "ffffffffffffffffff01"),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(hex::encode(&out), hex, "{v}");
            let bytes = out.clone();
            let mut r = Reader::new(&bytes);
            assert_eq!(r.varint(), Ok(v));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn varint_refuses_overlong_and_overflowing() {
        let overflow = hex::decode("ffffffffffffffffff02").expect("hex");
        assert!(Reader::new(&overflow).varint().is_err());
        let long = hex::decode("8080808080808080808000").expect("hex");
        assert!(Reader::new(&long).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
    }

    #[test]
    fn zigzag_vectors() {
        for (v, hex) in [
            (0_i64, "00"),
            (-1, "01"),
            (1, "02"),
            (-64, "7f"),
            (64, "8001"),
        ] {
            let mut out = Vec::new();
            put_zigzag(&mut out, v);
            assert_eq!(hex::encode(&out), hex, "{v}");
            assert_eq!(Reader::new(&out).zigzag(), Ok(v));
        }
    }

    #[test]
    fn a_steady_raw_sample_packs_into_four_bytes() {
        let mut base = RawBase::chunk_start(0);
        let mut out = Vec::new();
        let p = |at, players| Point {
            at,
            online: true,
            players: Some(players),
            latency_ms: Some(20),
            cause: DownCause::Unknown,
        };
        put_raw(&mut out, &mut base, &p(60_000, 10));
        let first = out.len();
        put_raw(&mut out, &mut base, &p(120_010, 11));
        // flags, dod (+10 → 1 byte), players +1, latency 0
        assert_eq!(out.len() - first, 4, "{}", hex::encode(&out));
        let points = decode_raw(&[&[CHUNK_PLAIN][..], &out].concat(), 0).expect("decodes");
        assert_eq!(points, vec![p(60_000, 10), p(120_010, 11)]);
    }

    #[test]
    fn sealed_chunks_inflate_to_the_same_entries() {
        let mut base = RawBase::chunk_start(1_000);
        let mut out = vec![CHUNK_PLAIN];
        let points: Vec<Point> = (1..500)
            .map(|i| Point {
                at: 1_000 + i * 60_000 + (i % 7) * 13,
                online: i % 50 != 0,
                players: (i % 50 != 0).then_some(u32::try_from(i % 23).expect("small")),
                latency_ms: (i % 50 != 0).then_some(30 + u32::try_from(i % 5).expect("small")),
                cause: if i % 50 == 0 {
                    DownCause::Timeout
                } else {
                    DownCause::Unknown
                },
            })
            .collect();
        for p in &points {
            put_raw(&mut out, &mut base, p);
        }
        let sealed = seal(&out[..10], &out[10..]);
        assert_eq!(sealed.first(), Some(&CHUNK_SEALED));
        assert!(sealed.len() < out.len());
        assert_eq!(decode_raw(&sealed, 1_000).expect("decodes"), points);
        assert_eq!(decode_raw(&out, 1_000).expect("decodes"), points);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_u64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (seed >> 33) as u8
                })
                .collect();
            for first in [CHUNK_PLAIN, CHUNK_SEALED, 7] {
                let mut chunk = vec![first];
                chunk.extend_from_slice(&bytes);
                let _ = decode_raw(&chunk, 0);
                let _ = decode_rollups(&chunk, 0, 300_000);
                let _ = decode_outages(&chunk, 0);
            }
            let _ = super::super::SeriesHead::decode(&bytes);
        }
    }
}
