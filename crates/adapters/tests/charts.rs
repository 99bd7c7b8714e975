//! The plotters chart renderer: real PNGs decoded with the `png` crate, compared with
//! committed golden images (per-pixel, with a tolerance), and the edge cases.
//!
//! Regenerate the golden images after an intended change of the drawing with
//! `MCSTAT_UPDATE_GOLDEN=1 cargo test -p mcstat-adapters --features charts --test charts`,
//! then look at them (`crates/adapters/tests/golden/*.png`) before committing.

use std::path::PathBuf;
use std::time::Duration;

use mcstat_adapters::PlottersChartRenderer;
use mcstat_core::chart::{ChartRange, ChartRequest};
use mcstat_core::domain::{HistorySample, Target, Timestamp};
use mcstat_core::history::{DownCause, HistoryConfig, Point, Rollup, Tier};
use mcstat_core::ports::ChartRenderer;

/// 2026-03-14T18:07:00Z: the right edge of every fixture chart.
const NOW: Timestamp = Timestamp(1_773_511_620_000);
const MIN: u64 = 60_000;

/// A pixel differs when one channel differs by more than this.
const PIXEL_DELTA: u8 = 48;
/// At most this share of the pixels may differ from the golden image.
const MAX_DIFFERING: f64 = 0.01;

struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The share of pixels of the plot (above the time labels and the legend) for
    /// which `pred` holds.
    fn plot_share(&self, pred: impl Fn([u8; 3]) -> bool) -> f64 {
        let rows = self.height - 60;
        let mut n = 0;
        for y in 0..rows {
            for x in 0..self.width {
                if pred(self.pixel(x, y)) {
                    n += 1;
                }
            }
        }
        f64::from(n) / f64::from(self.width * rows)
    }

    fn pixels(&self) -> impl Iterator<Item = [u8; 3]> + '_ {
        self.rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]])
    }

    /// The share of pixels for which `pred` holds.
    fn share(&self, pred: impl Fn([u8; 3]) -> bool) -> f64 {
        let n = self.pixels().filter(|p| pred(*p)).count();
        n as f64 / f64::from(self.width * self.height)
    }
}

fn decode(png_bytes: &[u8]) -> Image {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a buffer size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb, "RGB");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "8 bits per channel");
    buf.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        rgb: buf,
    }
}

fn target() -> Target {
    "play.example.net".parse().expect("valid target")
}

fn up(at: Timestamp, players: u32, latency: u32) -> HistorySample {
    HistorySample {
        target: target(),
        at,
        online: true,
        players: Some(players),
        latency_ms: Some(latency),
        cause: None,
    }
}

fn down(at: Timestamp) -> HistorySample {
    HistorySample {
        target: target(),
        at,
        online: false,
        players: None,
        latency_ms: None,
        cause: Some(DownCause::Timeout),
    }
}

/// A small deterministic pseudo-random number (no floats, no RNG crate): the same on
/// every machine.
fn noise(i: u64, modulo: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    x % modulo
}

/// A day-shaped player curve (triangle wave, peak in the evening), latency around
/// 40 ms with spikes; one sample a minute over `span` ending at [`NOW`], with a
/// 45-minute outage, an hour without samples (the bot was stopped) and a lost ping.
fn history(span: Duration) -> Vec<HistorySample> {
    let minutes = span.as_secs() / 60;
    let start = NOW.0 - minutes * MIN;
    let outage = (minutes * 3 / 4, minutes * 3 / 4 + 45);
    let stopped = (minutes / 3, minutes / 3 + 60);
    let lost = minutes / 2;
    (0..minutes)
        .filter(|m| !(stopped.0..stopped.1).contains(m))
        .map(|m| {
            let at = Timestamp(start + m * MIN);
            if (outage.0..outage.1).contains(&m) || m == lost {
                return down(at);
            }
            let minute_of_day = (at.0 / MIN) % 1440;
            // 0 at 06:00, 720 at 18:00.
            let phase = (minute_of_day + 1440 - 360) % 1440;
            let tri = if phase < 720 { phase } else { 1440 - phase };
            let players = u32::try_from(4 + tri * 40 / 720 + noise(m, 5)).expect("small");
            let spike = if noise(m + 7, 97) == 0 { 180 } else { 0 };
            let latency = u32::try_from(35 + noise(m + 3, 12) + spike).expect("small");
            up(at, players, latency)
        })
        .collect()
}

/// What the store hands the chart of `range`: the samples bucketed by the tier the
/// range reads (raw samples for 24 h, one bucket each; 5-minute buckets for 7 d,
/// hourly for 30 and 90 d, daily for a year), oldest first.
fn points(range: ChartRange, samples: &[HistorySample]) -> Vec<Rollup> {
    let tier = HistoryConfig::default().tier_for(range.span());
    let mut out: Vec<Rollup> = Vec::new();
    for s in samples {
        let start = tier.align(s.at.0);
        match out.last_mut() {
            Some(b) if tier != Tier::Raw && b.start.0 == start => b.add(&Point::of(s)),
            _ => {
                let mut b = Rollup::at(start);
                b.add(&Point::of(s));
                out.push(b);
            }
        }
    }
    out
}

fn request(range: ChartRange, samples: Vec<HistorySample>) -> ChartRequest {
    ChartRequest {
        name: "play.example.net".into(),
        range,
        now: NOW,
        points: points(range, &samples),
    }
}

/// Draw `request`; with `MCSTAT_CHART_DUMP=dir` the PNG is also written there to look at.
fn render(request: &ChartRequest) -> Image {
    let png = PlottersChartRenderer::new()
        .render(request)
        .expect("a chart is drawn");
    if let Some(dir) = std::env::var_os("MCSTAT_CHART_DUMP") {
        let name = format!(
            "{}-{}-{}.png",
            request.range,
            request.points.len(),
            request
                .points
                .first()
                .and_then(|b| b.players.max())
                .unwrap_or(0)
        );
        std::fs::write(PathBuf::from(dir).join(name), &png).expect("dump written");
    }
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let image = decode(&png);
    assert_eq!(
        (image.width, image.height),
        (PlottersChartRenderer::WIDTH, PlottersChartRenderer::HEIGHT)
    );
    assert_eq!((image.width, image.height), (800, 400));
    image
}

fn near(p: [u8; 3], c: [u8; 3], delta: u8) -> bool {
    p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= delta)
}

const PLAYERS: [u8; 3] = [37, 99, 235];
const LATENCY: [u8; 3] = [234, 88, 12];
/// The players' min–max band on white (the players' colour at 22 %).
const BAND: [u8; 3] = [207, 221, 251];

fn reddish(p: [u8; 3]) -> bool {
    // The offline shade on white (and over grid lines), not the orange latency line.
    p[0] > 200
        && p[1] < 215
        && p[2] < 215
        && p[0] > p[1].saturating_add(40)
        && p[1].abs_diff(p[2]) < 30
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compare `request`'s chart with `tests/golden/<name>.png`, or rewrite the golden
/// image when `MCSTAT_UPDATE_GOLDEN=1`.
fn check_golden(name: &str, request: &ChartRequest) {
    let png = PlottersChartRenderer::new()
        .render(request)
        .expect("a chart is drawn");
    let path = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("MCSTAT_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        std::fs::write(&path, &png).expect("golden image written");
        eprintln!("wrote {}", path.display());
        return;
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with MCSTAT_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    let (actual, expected) = (decode(&png), decode(&golden));
    assert_eq!(
        (actual.width, actual.height),
        (expected.width, expected.height),
        "{name}: size"
    );
    let differing = actual
        .pixels()
        .zip(expected.pixels())
        .filter(|(a, b)| !near(*a, *b, PIXEL_DELTA))
        .count();
    let share = differing as f64 / f64::from(actual.width * actual.height);
    if share > MAX_DIFFERING {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.actual.png"));
        let _ = std::fs::write(&out, &png);
        panic!(
            "{name}: {differing} pixels ({:.2} %) differ from {} by more than {PIXEL_DELTA} \
             (at most {:.0} % may); this rendering is in {}. If the change is intended, \
             regenerate with MCSTAT_UPDATE_GOLDEN=1",
            share * 100.0,
            path.display(),
            MAX_DIFFERING * 100.0,
            out.display()
        );
    }
}

#[test]
fn every_range_renders_an_800_by_400_png() {
    for range in ChartRange::ALL {
        let image = render(&request(range, history(range.span())));
        // Something of each series is drawn.
        assert!(
            image.plot_share(|p| near(p, PLAYERS, 12)) > 0.001,
            "{range}: players"
        );
        assert!(
            image.plot_share(|p| near(p, LATENCY, 12)) > 0.001,
            "{range}: latency"
        );
        assert!(
            image.share(reddish) > 0.0005,
            "{range}: the outage is shaded"
        );
        // Mostly a white background.
        assert!(
            image.share(|p| p == [255, 255, 255]) > 0.4,
            "{range}: background"
        );
    }
}

#[test]
fn golden_day() {
    check_golden(
        "day",
        &request(ChartRange::Day, history(ChartRange::Day.span())),
    );
}

#[test]
fn golden_month() {
    check_golden(
        "month",
        &request(ChartRange::Month, history(ChartRange::Month.span())),
    );
}

#[test]
fn golden_year() {
    check_golden(
        "year",
        &request(ChartRange::Year, history(ChartRange::Year.span())),
    );
}

#[test]
fn golden_no_data() {
    check_golden("no-data", &request(ChartRange::Week, Vec::new()));
}

#[test]
fn the_golden_comparison_notices_a_different_chart() {
    // The tolerance is not so loose that another chart passes as the golden one.
    let day = decode(
        &PlottersChartRenderer::new()
            .render(&request(ChartRange::Day, history(ChartRange::Day.span())))
            .expect("drawn"),
    );
    // The same data with the player curve upside down (same axis, another shape).
    let mut shifted = history(ChartRange::Day.span());
    for s in &mut shifted {
        s.players = s.players.map(|p| 50_u32.saturating_sub(p));
    }
    let other = render(&request(ChartRange::Day, shifted));
    let differing = day
        .pixels()
        .zip(other.pixels())
        .filter(|(a, b)| !near(*a, *b, PIXEL_DELTA))
        .count();
    assert!(
        differing as f64 / f64::from(day.width * day.height) > MAX_DIFFERING,
        "{differing} pixels differ"
    );
}

#[test]
fn no_samples_draws_the_frame_and_says_no_data_yet() {
    let image = render(&request(ChartRange::Day, Vec::new()));
    // "no data yet" in grey around the centre; no series, no shading.
    let mut text = 0;
    for y in 185..215 {
        for x in 330..470 {
            let p = image.pixel(x, y);
            if p[0] < 200 && p[0].abs_diff(p[2]) < 60 && p[2] > p[0] {
                text += 1;
            }
        }
    }
    assert!(text > 200, "grey text in the middle: {text} pixels");
    assert_eq!(
        image.plot_share(|p| near(p, LATENCY, 12)),
        0.0,
        "no latency line"
    );
    assert_eq!(
        image.plot_share(|p| near(p, PLAYERS, 12)),
        0.0,
        "no players line"
    );
    assert_eq!(
        image.share(reddish),
        0.0,
        "no shading, no offline legend entry"
    );
}

#[test]
fn a_single_sample_is_a_dot() {
    let image = render(&request(
        ChartRange::Day,
        vec![up(NOW.minus(Duration::from_secs(600)), 12, 48)],
    ));
    assert!(
        image.plot_share(|p| near(p, PLAYERS, 12)) > 0.0,
        "players dot"
    );
    assert!(
        image.plot_share(|p| near(p, LATENCY, 12)) > 0.0,
        "latency dot"
    );
}

#[test]
fn all_offline_is_shaded_red_without_lines() {
    let span = ChartRange::Week.span().as_secs() / 60;
    let samples: Vec<HistorySample> = (0..span)
        .map(|m| down(Timestamp(NOW.0 - span * MIN + m * MIN)))
        .collect();
    let image = render(&request(ChartRange::Week, samples));
    assert!(
        image.share(reddish) > 0.4,
        "the plot is shaded: {}",
        image.share(reddish)
    );
    assert_eq!(
        image.plot_share(|p| near(p, LATENCY, 12)),
        0.0,
        "no latency line"
    );
    assert_eq!(
        image.plot_share(|p| near(p, PLAYERS, 12)),
        0.0,
        "no players line"
    );
}

#[test]
fn huge_values_render() {
    let samples: Vec<HistorySample> = (0..120_u32)
        .map(|m| {
            let at = Timestamp(NOW.0 - 120 * MIN + u64::from(m) * MIN);
            // Players flat at the top, latency rising over the whole axis.
            up(at, u32::MAX - (m % 3) * 1000, m * 35_000_000)
        })
        .collect();
    let image = render(&request(ChartRange::Day, samples));
    assert!(image.plot_share(|p| near(p, PLAYERS, 12)) > 0.0005);
    assert!(image.plot_share(|p| near(p, LATENCY, 12)) > 0.0005);

    let long_name = ChartRequest {
        name: format!("{}\u{202e}{}", "x".repeat(300), "日本語"),
        ..request(ChartRange::Month, vec![up(NOW, u32::MAX, u32::MAX)])
    };
    render(&long_name);
}

#[test]
fn the_renderer_is_deterministic() {
    let r = request(ChartRange::Week, history(ChartRange::Week.span()));
    let renderer = PlottersChartRenderer::new();
    let a = renderer.render(&r).expect("drawn");
    let b = std::thread::spawn(move || PlottersChartRenderer::new().render(&r).expect("drawn"))
        .join()
        .expect("thread");
    assert_eq!(a, b, "same request, same bytes (on any thread)");
}

/// Samples every minute over the last `days` days, the player count going round
/// 0..=`spread` within each hour (0 when `spread` is 0, around 20 otherwise).
fn swinging(days: u64, spread: u32) -> Vec<HistorySample> {
    let minutes = days * 1440;
    (0..minutes)
        .map(|m| {
            let at = Timestamp(NOW.0 - minutes * MIN + m * MIN);
            let swing = u32::try_from(m % 60).expect("small") * spread / 59;
            up(at, 20 - spread / 2 + swing, 40)
        })
        .collect()
}

#[test]
fn a_point_of_many_samples_draws_the_players_band() {
    for range in [ChartRange::Month, ChartRange::Quarter, ChartRange::Year] {
        let days = range.span().as_secs() / 86_400;
        let band = render(&request(range, swinging(days, 30)));
        let flat = render(&request(range, swinging(days, 0)));
        let (with, without) = (
            band.plot_share(|p| near(p, BAND, 6)),
            flat.plot_share(|p| near(p, BAND, 6)),
        );
        // Players between 5 and 35 of an axis up to about 40: most of the plot's
        // height is band.
        assert!(with > 0.3, "{range}: the band fills the plot: {with}");
        assert!(
            without < 0.001,
            "{range}: no band when min = max: {without}"
        );
        assert!(
            band.plot_share(|p| near(p, PLAYERS, 12)) > 0.001,
            "{range}: the average line over the band"
        );
    }
    // 24 h: a point is 5 minutes of raw samples, a band with a sample a minute
    // (5 and 35 players in turn)...
    let alternating: Vec<HistorySample> = (0..1440_u32)
        .map(|m| {
            let at = Timestamp(NOW.0 - 1440 * MIN + u64::from(m) * MIN);
            up(at, if m % 2 == 0 { 5 } else { 35 }, 40)
        })
        .collect();
    let day = render(&request(ChartRange::Day, alternating.clone()));
    assert!(day.plot_share(|p| near(p, BAND, 6)) > 0.3);
    // ... none with one sample per point, however the count moves.
    let sparse: Vec<HistorySample> = alternating.into_iter().step_by(5).collect();
    let day = render(&request(ChartRange::Day, sparse));
    assert!(day.plot_share(|p| near(p, BAND, 6)) < 0.001);
}

#[test]
fn the_legend_names_the_band_and_the_mean_latency() {
    // The band's legend swatch is drawn in the legend row even without a band.
    let image = render(&request(ChartRange::Day, Vec::new()));
    let mut swatch = 0;
    for y in 370..395 {
        for x in 0..400 {
            if near(image.pixel(x, y), BAND, 6) {
                swatch += 1;
            }
        }
    }
    assert!(swatch >= 100, "a 12×10 swatch: {swatch} pixels");
}
