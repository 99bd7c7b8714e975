//! The rollups against the raw samples they come from.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::domain::Target;
use crate::ports::HistoryStore;
use crate::watch::uptime;

const MIN: u64 = 60_000;
const INTERVAL: Duration = Duration::from_secs(60);

fn target() -> Target {
    "a.example".parse().expect("valid")
}

fn config() -> HistoryConfig {
    HistoryConfig {
        gap_cap: INTERVAL * 2,
        ..HistoryConfig::default()
    }
}

fn sample(at: u64, online: bool, players: u32, latency: u32) -> HistorySample {
    HistorySample {
        target: target(),
        at: Timestamp(at),
        online,
        players: online.then_some(players),
        latency_ms: online.then_some(latency),
        cause: (!online).then_some(DownCause::Timeout),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_util::FutureExt::now_or_never(f).expect("memory history never waits")
}

/// The samples a store keeps of `input`: in time order, the first of equal times.
fn accepted(input: &[HistorySample]) -> Vec<HistorySample> {
    let mut sorted = input.to_vec();
    sorted.sort_by_key(|s| s.at);
    sorted.dedup_by_key(|s| s.at);
    sorted
}

fn store_of(batches: &[Vec<HistorySample>]) -> MemoryHistory {
    let store = MemoryHistory::new(config());
    for batch in batches {
        block_on(store.append_samples(batch)).expect("appends");
    }
    store
}

/// Raw reference: (known, up, samples, players stat, latency stat) of samples in
/// `[from, now]`, time-weighted as `uptime::window_uptime` does.
fn reference(samples: &[HistorySample], from: u64, now: u64) -> (u64, u64, u64, Stat, Stat) {
    let w = uptime::window_uptime(
        samples,
        Timestamp(now),
        Duration::from_millis(now - from),
        INTERVAL,
    );
    let mut players = Stat::default();
    let mut latency = Stat::default();
    let mut n = 0;
    for s in samples.iter().filter(|s| s.at.0 >= from && s.at.0 <= now) {
        n += 1;
        if s.online {
            if let Some(p) = s.players {
                players.add(p);
            }
            if let Some(l) = s.latency_ms {
                latency.add(l);
            }
        }
    }
    (
        u64::try_from((w.up + w.down).as_millis()).expect("small"),
        u64::try_from(w.up.as_millis()).expect("small"),
        n,
        players,
        latency,
    )
}

#[derive(Debug, Clone)]
enum Step {
    /// The next poll, `jitter` ms off the interval.
    Poll { jitter: i64 },
    /// The bot was not running for a while.
    Gap { minutes: u64 },
    /// The same poll written twice (a replica race, a retried write).
    Duplicate,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => (-2_000_i64..2_000).prop_map(|jitter| Step::Poll { jitter }),
        2 => (3_u64..600).prop_map(|minutes| Step::Gap { minutes }),
        1 => Just(Step::Duplicate),
    ]
}

fn stream() -> impl Strategy<Value = (Vec<HistorySample>, Vec<usize>)> {
    (
        0_u64..3 * 86_400_000,
        prop::collection::vec(
            (step(), any::<bool>(), 0_u8..10, 0_u32..200, 1_u32..400),
            1..500,
        ),
        prop::collection::vec(1_usize..60, 1..20),
    )
        .prop_map(|(start, steps, cuts)| {
            let mut at = 1_767_225_600_000 + start;
            let mut online = true;
            let mut out = Vec::new();
            for (step, flip, flip_roll, players, latency) in steps {
                match step {
                    Step::Poll { jitter } => {
                        at = at.saturating_add_signed(MIN as i64 + jitter);
                    }
                    Step::Gap { minutes } => at += minutes * MIN,
                    Step::Duplicate => {}
                }
                if flip && flip_roll < 2 {
                    online = !online;
                }
                out.push(sample(at, online, players, latency));
            }
            (out, cuts)
        })
}

fn batches(samples: &[HistorySample], cuts: &[usize]) -> Vec<Vec<HistorySample>> {
    let mut out = Vec::new();
    let mut rest = samples;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cuts[i % cuts.len()].min(rest.len());
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
        i += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Uptime, sample counts and players/latency min, max and sums over any
    /// bucket-aligned range of every tier equal what the raw samples give, whatever
    /// the gaps, restarts, duplicates and batching.
    #[test]
    fn rollups_equal_the_raw_samples(
        (input, cuts) in stream(),
        after in 0_u64..10 * MIN,
        spans in prop::collection::vec(1_u64..400_000, 1..4),
    ) {
        let store = store_of(&batches(&input, &cuts));
        let raw = accepted(&input);
        let last = raw.last().expect("one sample").at.0;
        let now = last + after;
        let reader = HistoryReader::new(&store);
        for tier in [Tier::Raw, Tier::Min5, Tier::Hour, Tier::Day] {
            for span_min in &spans {
                let span = Duration::from_millis(span_min * MIN / 10);
                let got = block_on(reader.uptime(&target(), tier, span, Timestamp(now))).expect("reads");
                let (known, up, n, players, latency) = reference(&raw, got.from.0, now);
                prop_assert_eq!((got.known_ms, got.up_ms), (known, up), "{:?} {:?}", tier, span);
                if tier != Tier::Raw {
                    let buckets = block_on(reader.rollups(&target(), tier, got.from, Timestamp(now + 1))).expect("reads");
                    let mut p = Stat::default();
                    let mut l = Stat::default();
                    let mut count = 0;
                    for b in &buckets {
                        p.merge(&b.players);
                        l.merge(&b.latency);
                        count += u64::from(b.samples);
                    }
                    prop_assert_eq!(count, n);
                    prop_assert_eq!(got.samples, n);
                    prop_assert_eq!(p, players);
                    prop_assert_eq!(l, latency);
                }
            }
        }
        // The raw tier gives back exactly the accepted samples.
        let back = block_on(reader.samples(&target(), Timestamp(0), Timestamp(u64::MAX))).expect("reads");
        prop_assert_eq!(back, raw);
    }

    /// Outages are the runs of at least `outage_after` failed samples, as the raw
    /// samples give them.
    #[test]
    fn outages_equal_the_raw_runs((input, cuts) in stream()) {
        let store = store_of(&batches(&input, &cuts));
        let raw = accepted(&input);
        let now = raw.last().expect("one").at;
        let expected = uptime::outages(&raw, now, config().outage_after, 1_000);
        let got = block_on(HistoryReader::new(&store).outages(&target(), Timestamp(0), now, 2, 1_000)).expect("reads");
        let got: Vec<_> = got.iter().map(|o| (o.start, o.end, o.cause)).collect();
        let expected: Vec<_> = expected.iter().map(|o| (o.start, o.end, o.cause)).collect();
        prop_assert_eq!(got, expected);
    }

    /// Writing a batch twice (a retried write, two replicas) changes nothing.
    #[test]
    fn appending_again_is_idempotent((input, cuts) in stream()) {
        let once = store_of(&batches(&input, &cuts));
        let twice = store_of(&[batches(&input, &cuts), batches(&input, &cuts)].concat());
        prop_assert_eq!(once.bytes(), twice.bytes());
        let t = target();
        prop_assert_eq!(block_on(once.head(&t)).expect("head"), block_on(twice.head(&t)).expect("head"));
    }

    /// Heads decode to what was encoded; no bytes make the decoders panic.
    #[test]
    fn head_round_trips_and_decoders_never_panic(
        (input, cuts) in stream(),
        junk in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let store = store_of(&batches(&input, &cuts));
        let bytes = block_on(store.head(&target())).expect("head").expect("some");
        let head = SeriesHead::decode(&bytes).expect("decodes");
        prop_assert_eq!(head.encode(), bytes);
        let _ = SeriesHead::decode(&junk);
        let _ = codec::decode_raw(&junk, 0);
        let _ = codec::decode_rollups(&junk, 0, 300_000);
        let _ = codec::decode_outages(&junk, 0);
    }
}

#[test]
fn an_hour_down_in_a_day_from_5_minute_buckets() {
    let start = 1_767_225_600_000; // a midnight
    let samples: Vec<_> = (0..1440)
        .map(|i| sample(start + i * MIN, !(600..660).contains(&i), 10, 20))
        .collect();
    let store = store_of(&[samples]);
    let now = Timestamp(start + 1440 * MIN);
    let got = block_on(HistoryReader::new(&store).uptime(&target(), Tier::Min5, uptime::DAY, now))
        .expect("reads");
    assert_eq!(got.known_ms, 86_400_000);
    assert_eq!(got.up_ms, 86_400_000 - 3_600_000);
    assert_eq!(got.entries, 288, "one bucket per 5 minutes");
    let outages = block_on(HistoryReader::new(&store).outages(&target(), Timestamp(0), now, 2, 5))
        .expect("reads");
    assert_eq!(
        outages,
        vec![OutageEvent {
            start: Timestamp(start + 600 * MIN),
            end: Some(Timestamp(start + 660 * MIN)),
            failed: 60,
            cause: DownCause::Timeout,
        }]
    );
}

#[test]
fn closed_chunks_are_sealed_and_still_read() {
    let start = 1_767_225_600_000;
    // Three days: raw chunks of 12 h roll over five times, 5-minute chunks once.
    let samples: Vec<_> = (0..3 * 1440)
        .map(|i| {
            sample(
                start + i * MIN + (i % 7) * 31,
                i % 97 != 0,
                u32::try_from(i % 40).expect("small"),
                30,
            )
        })
        .collect();
    let store = store_of(std::slice::from_ref(&samples));
    let t = target();
    let raw = block_on(store.chunks(&t, Stream::Raw, 0, u64::MAX)).expect("chunks");
    assert_eq!(raw.len(), 6);
    let sealed = raw
        .iter()
        .filter(|(_, b)| b.first() == Some(&codec::CHUNK_SEALED))
        .count();
    assert_eq!(sealed, 5, "every chunk but the open one is sealed");
    let back = block_on(HistoryReader::new(&store).samples(&t, Timestamp(0), Timestamp(u64::MAX)))
        .expect("reads");
    assert_eq!(back, samples);
    let min5 = block_on(store.chunks(&t, Stream::Min5, 0, u64::MAX)).expect("chunks");
    assert_eq!(min5.len(), 2);
    assert_eq!(min5[0].1.first(), Some(&codec::CHUNK_SEALED));
}

#[test]
fn late_and_duplicate_samples_are_dropped() {
    let store = MemoryHistory::new(config());
    block_on(store.append_samples(&[sample(10 * MIN, true, 1, 1)])).expect("appends");
    let head = block_on(store.head(&target())).expect("head");
    block_on(store.append_samples(&[sample(10 * MIN, false, 0, 0), sample(9 * MIN, false, 0, 0)]))
        .expect("appends");
    assert_eq!(block_on(store.head(&target())).expect("head"), head);
}

#[test]
fn a_corrupt_head_is_an_error_not_a_reset() {
    let err = prepare(Some(&[9, 9, 9]), &[sample(MIN, true, 1, 1)], &config());
    assert!(err.is_err());
}

#[test]
fn prune_deletes_expired_chunks_only() {
    let start = 1_767_225_600_000;
    let samples: Vec<_> = (0..3 * 1440)
        .map(|i| sample(start + i * MIN, true, 5, 20))
        .collect();
    let store = store_of(&[samples]);
    let t = target();
    let now = Timestamp(start + 3 * 86_400_000);
    let raw_before = block_on(store.chunks(&t, Stream::Raw, 0, u64::MAX))
        .expect("chunks")
        .len();
    let deleted = block_on(store.prune(now)).expect("prunes");
    let raw_after = block_on(store.chunks(&t, Stream::Raw, 0, u64::MAX)).expect("chunks");
    // Raw chunks end 12 h, 24 h, ... after the start and are kept 48 h past their
    // end: at 72 h the first two are due (the second exactly now).
    assert_eq!(raw_before - raw_after.len(), 2);
    assert_eq!(deleted, 2);
    assert!(raw_after.iter().all(|(i, _)| config().expires_at(ChunkKey {
        stream: Stream::Raw,
        index: *i
    }) > now));
}

#[test]
fn tiers_for_the_ranges_people_ask() {
    let c = HistoryConfig::default();
    assert_eq!(c.tier_for(uptime::DAY), Tier::Raw);
    assert_eq!(c.tier_for(uptime::WEEK), Tier::Min5);
    assert_eq!(c.tier_for(uptime::MONTH), Tier::Hour);
    assert_eq!(c.tier_for(uptime::QUARTER), Tier::Hour);
    assert_eq!(c.tier_for(uptime::YEAR), Tier::Day);
    let old = HistoryConfig::from_retention_days(7);
    assert_eq!(old.day, uptime::WEEK);
    assert_eq!(old.hour, uptime::WEEK);
    assert_eq!(old.raw, Duration::from_secs(48 * 3600));
}

/// A year of one realistic server at 60 s polls, expired as stores expire it: the
/// chunk bytes leave room within the 64 KiB budget for Redis' per-key overhead
/// (~30 keys; the real stores are measured by `scripts/bench.sh --history` and
/// `redis_history`'s test). `--nocapture` prints the figures per stream.
#[test]
fn a_server_year_packs_well_inside_the_budget() {
    let start = 1_735_689_600_000_u64; // 2025-01-01
    let store = MemoryHistory::new(config());
    let mut seed = 7_u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut batch = Vec::new();
    for i in 0..525_600_u64 {
        let at = start + i * MIN + rnd() % 400;
        let minute_of_day = i % 1440;
        let curve = 20.0 + 15.0 * ((minute_of_day as f64 / 1440.0) * std::f64::consts::TAU).sin();
        let players = (curve + (rnd() % 7) as f64 - 3.0).max(0.0) as u32;
        let online = rnd() % 2000 != 0;
        batch.push(sample(
            at,
            online,
            players,
            20 + u32::try_from(rnd() % 40).expect("small"),
        ));
        if batch.len() == 1440 {
            block_on(store.append_samples(&batch)).expect("appends");
            batch.clear();
        }
    }
    block_on(store.prune(Timestamp(start + 525_600 * MIN))).expect("prunes");
    let t = target();
    for stream in Stream::ALL {
        let chunks = block_on(store.chunks(&t, stream, 0, u64::MAX)).expect("chunks");
        let bytes: usize = chunks.iter().map(|(_, b)| b.len()).sum();
        println!("{stream:?}: {} chunks, {bytes} bytes", chunks.len());
    }
    println!("total {} bytes", store.bytes());
    assert!(store.bytes() <= 56 * 1024, "{} bytes", store.bytes());
    // Every tier holds about what it should after a year: raw 48 h, the rest theirs.
    let raw = block_on(HistoryReader::new(&store).samples(&t, Timestamp(0), Timestamp(u64::MAX)))
        .expect("reads");
    assert!(
        (2_880..=3_600).contains(&raw.len()),
        "{} raw samples",
        raw.len()
    );
}

#[test]
fn a_new_chunk_replaces_a_leftover_under_its_key() {
    let prepared = prepare(None, &[sample(MIN, true, 3, 20)], &config()).expect("prepares");
    assert!(prepared.writes.iter().all(|w| w.fresh && !w.seal));
    for w in &prepared.writes {
        assert_eq!(
            w.apply(Some(&[codec::CHUNK_SEALED, 1, 2, 3])),
            w.apply(None)
        );
    }
    // The next sample in the same chunks appends.
    let next = prepare(
        Some(&prepared.head_bytes),
        &[sample(2 * MIN, true, 3, 20)],
        &config(),
    )
    .expect("prepares");
    assert!(next.writes.iter().all(|w| !w.fresh));
}

#[test]
fn a_damaged_head_is_refused_before_it_can_loop_or_overflow() {
    let prepared = prepare(None, &[sample(MIN, true, 3, 20)], &config()).expect("prepares");
    let mut head = prepared.head.clone();
    head.gap_cap_ms = u64::MAX;
    assert!(SeriesHead::decode(&head.encode()).is_err());
    let mut head = prepared.head.clone();
    if let Some(open) = head.open[0].as_mut() {
        open.known_ms = u64::MAX;
    }
    assert!(SeriesHead::decode(&head.encode()).is_err());
    assert_eq!(SeriesHead::decode(&prepared.head_bytes), Ok(prepared.head));
}

#[test]
fn a_pause_longer_than_the_retention_writes_nothing_into_expired_chunks() {
    let start = 1_767_225_600_000;
    let first = prepare(
        None,
        &[sample(start, false, 0, 0), sample(start + MIN, false, 0, 0)],
        &config(),
    )
    .expect("prepares");
    let later = start + 500 * 86_400_000;
    let next = prepare(
        Some(&first.head_bytes),
        &[sample(later, true, 4, 20)],
        &config(),
    )
    .expect("prepares");
    assert!(!next.writes.is_empty());
    for w in &next.writes {
        assert!(
            w.expires_at.0 > later,
            "{:?} is expired at the sample",
            w.key
        );
    }
}
