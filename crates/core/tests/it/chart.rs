//! The chart range, the request and the series preparation behind `/graph`.

use std::sync::Arc;
use std::time::Duration;

use mcstat_core::chart::{BUCKETS, ChartRange, ChartRequest, ChartSeries, civil_utc};
use mcstat_core::domain::{HistorySample, Target, Timestamp};
use mcstat_core::history::{
    HistoryReader, MAX_READ_ENTRIES, MemoryHistory, Point, Rollup, Stream, Tier,
};
use mcstat_core::ports::{
    Clock, HistoryStore, ManualClock, MockHistoryStore, MockWatchStore, WatchStore,
};
use mcstat_core::watch::{WatchConfig, WatchService};

use crate::support::{T0, target};

const MIN: u64 = 60_000;

fn sample(t: &Target, at: Timestamp, players: Option<u32>, latency: Option<u32>) -> HistorySample {
    HistorySample {
        target: t.clone(),
        at,
        online: true,
        players,
        latency_ms: latency,
        cause: None,
    }
}

fn down(t: &Target, at: Timestamp) -> HistorySample {
    HistorySample {
        target: t.clone(),
        at,
        online: false,
        players: None,
        latency_ms: None,
        cause: Some(mcstat_core::history::DownCause::Timeout),
    }
}

/// Samples as the raw tier reads them (what a 24 h chart is drawn from): each a
/// bucket of its own.
fn raw(samples: &[HistorySample]) -> Vec<Rollup> {
    samples
        .iter()
        .map(|s| {
            let mut b = Rollup::at(s.at.0);
            b.add(&Point::of(s));
            b
        })
        .collect()
}

/// The bucket of `series` holding `at`.
fn bucket_at(series: &ChartSeries, at: Timestamp) -> &mcstat_core::chart::Bucket {
    series
        .buckets
        .iter()
        .find(|b| b.start <= at && at < b.end)
        .expect("a bucket holds it")
}

#[test]
fn ranges_parse_from_what_users_type() {
    for (text, range) in [
        ("24h", ChartRange::Day),
        ("", ChartRange::Day),
        (" 1D ", ChartRange::Day),
        ("day", ChartRange::Day),
        ("7d", ChartRange::Week),
        ("7D", ChartRange::Week),
        ("week", ChartRange::Week),
        ("30d", ChartRange::Month),
        ("30 d", ChartRange::Month),
        ("month", ChartRange::Month),
        ("90d", ChartRange::Quarter),
        ("90D", ChartRange::Quarter),
        ("quarter", ChartRange::Quarter),
        ("3m", ChartRange::Quarter),
        ("1y", ChartRange::Year),
        (" 1Y ", ChartRange::Year),
        ("year", ChartRange::Year),
        ("365d", ChartRange::Year),
        ("12m", ChartRange::Year),
    ] {
        assert_eq!(text.parse::<ChartRange>(), Ok(range), "{text:?}");
    }
    for range in ChartRange::ALL {
        assert_eq!(range.to_string().parse::<ChartRange>(), Ok(range));
    }
}

#[test]
fn a_bad_range_says_what_to_type() {
    let err = "2y".parse::<ChartRange>().expect_err("not a range");
    let msg = err.to_string();
    assert!(msg.contains("“2y”"), "{msg}");
    assert!(msg.contains("use 24h, 7d, 30d, 90d or 1y"), "{msg}");
    for bad in ["1q", "180d", "years"] {
        assert!(bad.parse::<ChartRange>().is_err(), "{bad}");
    }

    let hostile = format!("\u{202e}{}", "x".repeat(500));
    let err = hostile.parse::<ChartRange>().expect_err("not a range");
    assert!(!err.input.contains('\u{202e}'), "bidi override removed");
    assert!(err.input.chars().count() <= 65, "cut: {}", err.input);
}

#[test]
fn every_range_has_its_bucket_count_of_whole_stored_buckets() {
    let hour = Duration::from_secs(3600);
    assert_eq!(
        ChartRange::ALL.map(ChartRange::buckets),
        [BUCKETS, BUCKETS, 240, 270, 365]
    );
    assert_eq!(ChartRange::Day.bucket(), Duration::from_secs(5 * 60));
    assert_eq!(ChartRange::Week.bucket(), Duration::from_secs(35 * 60));
    assert_eq!(ChartRange::Month.bucket(), 3 * hour);
    assert_eq!(ChartRange::Quarter.bucket(), 8 * hour);
    assert_eq!(ChartRange::Year.bucket(), 24 * hour);
    let config = WatchConfig::default().history_config();
    for range in ChartRange::ALL {
        let series = ChartSeries::prepare(&[], range, T0.plus(Duration::from_secs(1234)));
        assert_eq!(series.buckets.len(), range.buckets());
        assert!(series.buckets.len() <= 365);
        assert_eq!(series.to.since(series.from), range.span());
        // A chart bucket is a whole number of the buckets of the tier it reads.
        let tier = config.tier_for(range.span());
        let bucket_ms = u64::try_from(range.bucket().as_millis()).expect("small");
        assert_eq!(bucket_ms % tier.bucket_ms(), 0, "{range}");
    }
    assert_eq!(
        ChartRange::ALL.map(|r| config.tier_for(r.span())),
        [Tier::Raw, Tier::Min5, Tier::Hour, Tier::Hour, Tier::Day]
    );
}

#[test]
fn no_samples_is_an_empty_series_covering_the_range() {
    let now = T0.plus(Duration::from_secs(17 * 60 + 3));
    let series = ChartSeries::prepare(&[], ChartRange::Day, now);
    assert!(series.is_empty());
    assert_eq!(series.samples, 0);
    assert!(series.buckets.iter().all(|b| !b.has_data()));
    assert!(series.runs(|b| b.players_avg).is_empty());
    assert!(series.offline_spans().is_empty());
    assert_eq!((series.players_peak, series.latency_peak), (0, 0));
    // The last bucket holds now; buckets are contiguous and aligned.
    let last = series.buckets.last().expect("buckets");
    assert!(last.start <= now && now < last.end, "{last:?} {now:?}");
    assert_eq!(series.to, Timestamp(T0.0 + 20 * MIN));
    assert!(series.buckets.windows(2).all(|p| p[0].end == p[1].start));
    assert_eq!(series.from.0 % (5 * MIN), 0);
}

#[test]
fn a_bucket_holds_players_minimum_average_and_maximum_and_mean_latency() {
    let t = target("play.example.net");
    let now = T0.plus(Duration::from_secs(3600));
    let at = |m: u64| Timestamp(T0.0 + 30 * MIN + m * MIN);
    let samples = vec![
        sample(&t, at(0), Some(1), Some(10)),
        sample(&t, at(1), Some(2), Some(11)),
        sample(&t, at(2), Some(6), Some(60)),
        // The next bucket.
        sample(&t, at(5), Some(4), Some(10)),
        sample(&t, at(6), None, Some(90)),
        sample(&t, at(7), Some(4), Some(20)),
        sample(&t, at(8), Some(4), Some(30)),
    ];
    let series = ChartSeries::prepare(&raw(&samples), ChartRange::Day, now);
    assert_eq!(series.samples, 7);

    let first = bucket_at(&series, at(0));
    assert_eq!(first.samples, 3);
    assert_eq!(first.players_min, Some(1));
    assert_eq!(first.players_avg, Some(3.0));
    assert_eq!(first.players_max, Some(6));
    assert_eq!(
        first.latency_ms,
        Some(27),
        "the mean of 10, 11 and 60 (not the median, 11)"
    );
    assert_eq!(first.offline, 0);

    let second = bucket_at(&series, at(5));
    assert_eq!(second.samples, 4);
    assert_eq!(
        (second.players_min, second.players_avg, second.players_max),
        (Some(4), Some(4.0), Some(4)),
        "a sample without a count is left out"
    );
    assert_eq!(
        second.latency_ms,
        Some(38),
        "the mean of 10, 90, 20 and 30 (37.5) rounded to the nearest ms"
    );

    assert_eq!(series.players_peak, 6);
    assert_eq!(series.latency_peak, 38);
}

#[test]
fn the_order_of_samples_does_not_matter() {
    let t = target("play.example.net");
    let now = T0.plus(Duration::from_secs(6 * 3600));
    let mut samples: Vec<HistorySample> = (0..360)
        .map(|m| {
            let at = Timestamp(T0.0 + m * MIN);
            if m % 7 == 3 {
                down(&t, at)
            } else {
                sample(
                    &t,
                    at,
                    Some(u32::try_from(m % 13).expect("small")),
                    Some(u32::try_from(m % 50).expect("small")),
                )
            }
        })
        .collect();
    let sorted = ChartSeries::prepare(&raw(&samples), ChartRange::Day, now);
    samples.reverse();
    samples.swap(10, 200);
    let shuffled = ChartSeries::prepare(&raw(&samples), ChartRange::Day, now);
    assert_eq!(sorted, shuffled);
}

#[test]
fn samples_outside_the_chart_are_ignored() {
    let t = target("play.example.net");
    let now = T0.plus(Duration::from_secs(2 * 86_400));
    let series_empty = ChartSeries::prepare(&[], ChartRange::Day, now);
    let samples = vec![
        sample(
            &t,
            series_empty.from.minus(Duration::from_millis(1)),
            Some(99),
            Some(99),
        ),
        sample(&t, now.plus(Duration::from_millis(1)), Some(98), Some(98)),
        sample(&t, series_empty.from, Some(5), Some(7)),
        sample(&t, now, Some(6), Some(8)),
    ];
    let series = ChartSeries::prepare(&raw(&samples), ChartRange::Day, now);
    assert_eq!(series.samples, 2);
    assert_eq!(series.players_peak, 6);
    assert_eq!(series.buckets.first().and_then(|b| b.players_max), Some(5));
    assert_eq!(series.buckets.last().and_then(|b| b.players_max), Some(6));
}

#[test]
fn failed_samples_mark_buckets_offline_and_carry_no_values() {
    let t = target("play.example.net");
    let now = T0.plus(Duration::from_secs(3600));
    let at = |m: u64| Timestamp(T0.0 + m * MIN);
    let samples = vec![
        // Bucket 0-5 min: one of three failed.
        sample(&t, at(0), Some(3), Some(10)),
        down(&t, at(1)),
        sample(&t, at(2), Some(5), Some(30)),
        // Buckets 5-15 min: every sample failed.
        down(&t, at(5)),
        down(&t, at(6)),
        down(&t, at(11)),
        // 15-20 min: nothing (a gap). 20-25 min: back.
        sample(&t, at(21), Some(2), Some(12)),
    ];
    let series = ChartSeries::prepare(&raw(&samples), ChartRange::Day, now);

    let mixed = bucket_at(&series, at(0));
    assert!(!mixed.is_offline());
    assert!((mixed.offline_share() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        mixed.players_avg,
        Some(4.0),
        "the failed sample is not a zero"
    );

    let dead = bucket_at(&series, at(5));
    assert!(dead.is_offline());
    assert_eq!(
        (
            dead.players_min,
            dead.players_avg,
            dead.players_max,
            dead.latency_ms
        ),
        (None, None, None, None)
    );

    let gap = bucket_at(&series, at(16));
    assert!(!gap.has_data() && !gap.is_offline());

    // Lines break at the offline buckets and at the gap.
    let runs = series.runs(|b| b.players_avg);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].len(), 1);
    assert_eq!(runs[1].len(), 1);
    assert_eq!(runs[0][0].0, mixed.mid());

    // Shading: the mixed bucket alone, then the two dead buckets merged.
    let spans = series.offline_spans();
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert_eq!((spans[0].0, spans[0].1), (mixed.start, mixed.end));
    assert_eq!((spans[1].0, spans[1].1), (at(5), at(15)));
    assert!((spans[1].2 - 1.0).abs() < 1e-9);
}

#[test]
fn only_failed_samples_give_a_fully_shaded_series_without_lines() {
    let t = target("play.example.net");
    let now = T0.plus(Duration::from_secs(86_400));
    let samples: Vec<HistorySample> = (0..1440)
        .map(|m| down(&t, Timestamp(T0.0 + m * MIN)))
        .collect();
    let series = ChartSeries::prepare(&raw(&samples), ChartRange::Day, now);
    assert!(!series.is_empty());
    assert!(series.runs(|b| b.players_avg).is_empty());
    assert!(series.runs(|b| b.latency_ms.map(f64::from)).is_empty());
    let spans = series.offline_spans();
    assert_eq!(spans.len(), 1, "one merged span");
    assert_eq!((series.players_peak, series.latency_peak), (0, 0));
}

#[test]
fn huge_values_do_not_overflow() {
    let t = target("play.example.net");
    let now = T0.plus(Duration::from_secs(3600));
    let samples: Vec<HistorySample> = (0..4)
        .map(|m| {
            sample(
                &t,
                Timestamp(T0.0 + m * MIN),
                Some(u32::MAX),
                Some(u32::MAX),
            )
        })
        .collect();
    let series = ChartSeries::prepare(&raw(&samples), ChartRange::Day, now);
    let b = bucket_at(&series, T0);
    assert_eq!(b.players_avg, Some(f64::from(u32::MAX)));
    assert_eq!(b.players_min, Some(u32::MAX));
    assert_eq!(b.players_max, Some(u32::MAX));
    assert_eq!(b.latency_ms, Some(u32::MAX), "the mean of four maxima");
    assert_eq!(
        (series.players_peak, series.latency_peak),
        (u32::MAX, u32::MAX)
    );

    // Times at the ends of the clock.
    for now in [Timestamp(0), Timestamp(1), Timestamp(u64::MAX)] {
        for range in ChartRange::ALL {
            let s = ChartSeries::prepare(&raw(&samples), range, now);
            assert_eq!(s.buckets.len(), range.buckets());
        }
    }
}

/// A [`WatchService`] over `history` at `now`.
fn service_at(history: &Arc<MemoryHistory>, now: Timestamp) -> WatchService {
    WatchService::new(
        Arc::new(MockWatchStore::new()) as Arc<dyn WatchStore>,
        Arc::clone(history) as Arc<dyn HistoryStore>,
        Arc::new(ManualClock::new(now)) as Arc<dyn Clock>,
        WatchConfig::default(),
    )
}

#[tokio::test]
async fn a_year_of_samples_fills_every_range_from_its_tier() {
    let t = target("play.example.net");
    let step = 5 * MIN;
    let now = T0.plus(ChartRange::Year.span());
    let history = Arc::new(MemoryHistory::new(WatchConfig::default().history_config()));
    let samples: Vec<HistorySample> = (0..=(now.0 - T0.0) / step)
        .map(|i| sample(&t, Timestamp(T0.0 + i * step), Some(10), Some(50)))
        .collect();
    history.append_samples(&samples).await.expect("stored");
    let service = service_at(&history, now);
    for range in ChartRange::ALL {
        let request = service.chart(&t, range).await.expect("ok");
        assert!(
            request.points.len() as u64 <= MAX_READ_ENTRIES,
            "{range}: {} stored entries read",
            request.points.len()
        );
        let series = request.series();
        let runs = series.runs(|b| b.players_avg);
        let points: usize = runs.iter().map(Vec::len).sum();
        assert_eq!(points, range.buckets(), "{range}: one line without a gap");
        let per_bucket = range.bucket().as_secs() / 300;
        let full = series.buckets.iter().filter(|b| b.has_data()).all(|b| {
            u64::from(b.samples) == per_bucket
                || (b.end > now && u64::from(b.samples) <= per_bucket)
        });
        assert!(full, "{range}: every bucket holds its samples");
        assert!(
            series
                .buckets
                .iter()
                .all(|b| b.players_min == Some(10) && b.latency_ms == Some(50)),
            "{range}"
        );
    }
}

#[tokio::test]
async fn a_chart_bucket_of_many_samples_is_a_players_band() {
    let t = target("play.example.net");
    let now = T0.plus(ChartRange::Quarter.span());
    let history = Arc::new(MemoryHistory::new(WatchConfig::default().history_config()));
    // A sample a minute over the last 8-hour bucket before now: 0, 1, ... 9 players
    // in turn, latency 20 or 40 ms.
    let last = now.0 - now.0 % (8 * 3_600_000) - 8 * 3_600_000;
    let samples: Vec<HistorySample> = (0..480)
        .map(|m| {
            let n = u32::try_from(m % 10).expect("small");
            sample(
                &t,
                Timestamp(last + m * MIN),
                Some(n),
                Some(if m % 2 == 0 { 20 } else { 40 }),
            )
        })
        .collect();
    history.append_samples(&samples).await.expect("stored");
    let request = service_at(&history, now)
        .chart(&t, ChartRange::Quarter)
        .await
        .expect("ok");
    assert_eq!(request.points.len(), 8, "8 hourly buckets");
    let series = request.series();
    assert_eq!(series.samples, 480);
    let band = bucket_at(&series, Timestamp(last));
    assert_eq!(band.samples, 480);
    assert_eq!(band.players_min, Some(0));
    assert_eq!(band.players_max, Some(9));
    assert_eq!(band.players_avg, Some(4.5));
    assert_eq!(band.latency_ms, Some(30));
    assert_eq!(series.players_peak, 9);
    // Every other bucket is empty.
    assert_eq!(series.buckets.iter().filter(|b| b.has_data()).count(), 1);
}

#[test]
fn utc_labels_and_ticks() {
    // 2024-02-29T23:59:00Z, a leap day.
    let t = Timestamp(1_709_251_140_000);
    assert_eq!(civil_utc(t), (2024, 2, 29, 23, 59));
    assert_eq!(civil_utc(Timestamp(0)), (1970, 1, 1, 0, 0));
    // 2026-01-01T00:00:00Z.
    assert_eq!(civil_utc(T0), (2026, 1, 1, 0, 0));
    assert_eq!(ChartRange::Day.tick_label(t), "23:59");
    assert_eq!(ChartRange::Week.tick_label(t), "29 Feb");
    assert_eq!(ChartRange::Month.tick_label(T0), "01 Jan");

    let now = T0.plus(Duration::from_secs(3600 + 120));
    let series = ChartSeries::prepare(&[], ChartRange::Day, now);
    let ticks = ChartRange::Day.ticks(series.from, series.to);
    assert_eq!(ticks.len(), 8, "every 3 hours over a day: {ticks:?}");
    assert!(ticks.iter().all(|t| t.0 % (3 * 3_600_000) == 0));
    assert!(ticks.iter().all(|t| series.from <= *t && *t <= series.to));
    let labels: Vec<String> = ticks
        .iter()
        .map(|t| ChartRange::Day.tick_label(*t))
        .collect();
    assert_eq!(labels.first().map(String::as_str), Some("03:00"));
    assert_eq!(labels.last().map(String::as_str), Some("00:00"));

    let week = ChartSeries::prepare(&[], ChartRange::Week, now);
    let ticks = ChartRange::Week.ticks(week.from, week.to);
    assert_eq!(ticks.len(), 7);
    assert_eq!(
        ChartRange::Week.tick_label(*ticks.last().expect("ticks")),
        "01 Jan"
    );

    // 90 days: every 15 days since the epoch; a year: every 60 days.
    for (range, labels) in [
        (
            ChartRange::Quarter,
            ["09 Oct", "24 Oct", "08 Nov", "23 Nov", "08 Dec", "23 Dec"],
        ),
        (
            ChartRange::Year,
            ["12 Jan", "13 Mar", "12 May", "11 Jul", "09 Sep", "08 Nov"],
        ),
    ] {
        let series = ChartSeries::prepare(&[], range, now);
        let ticks = range.ticks(series.from, series.to);
        assert!(
            ticks
                .iter()
                .all(|t| t.0 % range.tick_every().as_millis() as u64 == 0)
        );
        let got: Vec<String> = ticks.iter().map(|t| range.tick_label(*t)).collect();
        assert_eq!(got, labels, "{range}");
    }
}

#[test]
fn the_title_names_the_server_and_the_range() {
    let request = ChartRequest {
        name: "play.example.net".into(),
        range: ChartRange::Week,
        now: T0,
        points: Vec::new(),
    };
    assert_eq!(request.title(), "play.example.net — last 7 d");

    let hostile = ChartRequest {
        name: format!("a\u{202e}b\n{}", "c".repeat(200)),
        range: ChartRange::Day,
        now: T0,
        points: Vec::new(),
    };
    let title = hostile.title();
    assert!(title.starts_with("abccc"), "{title}");
    assert!(
        title.ends_with("…\u{2014} last 24 h") || title.ends_with("… — last 24 h"),
        "{title}"
    );
    assert!(title.chars().count() < 90);
}

#[tokio::test]
async fn the_watch_service_reads_the_tier_that_fits_the_range() {
    let t = target("play.example.net");
    let clock = Arc::new(ManualClock::new(T0.plus(Duration::from_secs(7 * 86_400))));
    let now = clock.now();
    // A week reads 5-minute buckets from the start of the first chart bucket.
    let since = now.minus(Duration::from_secs(7 * 86_400 + 35 * 60)).0;
    let since = Tier::Min5.align(since);

    let mut history = MockHistoryStore::new();
    let expected_target = t.clone();
    history
        .expect_head()
        .withf(move |target| *target == expected_target)
        .times(1)
        .returning(|_| Ok(None));
    history
        .expect_chunks()
        .withf(move |_, stream, first, last| {
            *stream == Stream::Min5
                && *first == Stream::Min5.chunk_of(since)
                && *last == Stream::Min5.chunk_of(now.0)
        })
        .times(1)
        .returning(|_, _, _, _| Ok(Vec::new()));
    let service = WatchService::new(
        Arc::new(MockWatchStore::new()) as Arc<dyn WatchStore>,
        Arc::new(history) as Arc<dyn HistoryStore>,
        clock as Arc<dyn Clock>,
        WatchConfig::default(),
    );
    let request = service.chart(&t, ChartRange::Week).await.expect("ok");
    assert_eq!(request.name, "play.example.net");
    assert_eq!(request.range, ChartRange::Week);
    assert_eq!(request.now, now);
    assert!(request.points.is_empty());
}

#[tokio::test]
async fn the_watch_service_builds_a_request_from_the_history() {
    let t = target("play.example.net");
    let now = T0.plus(Duration::from_secs(7 * 86_400));
    let history = Arc::new(MemoryHistory::new(WatchConfig::default().history_config()));
    let stored = vec![
        sample(
            &t,
            now.minus(Duration::from_secs(8 * 86_400)),
            Some(9),
            Some(9),
        ),
        sample(&t, now.minus(Duration::from_secs(120)), Some(3), Some(40)),
        down(&t, now.minus(Duration::from_secs(60))),
    ];
    history.append_samples(&stored).await.expect("stored");
    let service = service_at(&history, now);

    // 24 h: the raw samples, each a bucket of its own.
    let day = service.chart(&t, ChartRange::Day).await.expect("ok");
    assert_eq!(
        day.points.len(),
        2,
        "the sample of 8 days ago is out of range"
    );
    assert_eq!(
        day.points,
        HistoryReader::new(history.as_ref())
            .rollups(
                &t,
                Tier::Raw,
                now.minus(Duration::from_secs(3600)),
                now.plus(Duration::from_millis(1))
            )
            .await
            .expect("readable")
    );
    assert_eq!(
        (
            day.points[0].samples,
            day.points[0].players.max(),
            day.points[1].online
        ),
        (1, Some(3), 0)
    );
    // 7 d: the open 5-minute bucket holds both.
    let week = service.chart(&t, ChartRange::Week).await.expect("ok");
    assert_eq!(week.points.len(), 1);
    assert_eq!((week.points[0].samples, week.points[0].online), (2, 1));
    let series = week.series();
    assert_eq!(series.samples, 2);
    // (`now` is on a bucket boundary: the last chart bucket starts at now, empty.)
    let last = bucket_at(&series, now.minus(Duration::from_secs(60)));
    assert_eq!(last.end, now);
    assert_eq!(
        (last.samples, last.offline, last.players_max),
        (2, 1, Some(3))
    );
    // 1 y: the daily bucket of 8 days ago and today's.
    let year = service.chart(&t, ChartRange::Year).await.expect("ok");
    assert_eq!(
        year.points.iter().map(|b| b.samples).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(year.series().samples, 3);
}
