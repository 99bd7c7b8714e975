//! [`PlottersChartRenderer`]: the core's [`ChartRenderer`] on plotters' bitmap backend.
//!
//! An 800×400 PNG of any range (24 h to a year; [`ChartRange::buckets`] points): the
//! players (left axis) as the average line over a light band from the minimum to the
//! maximum wherever a point covers more than one sample, the mean latency in
//! milliseconds (a line, right axis), offline periods shaded red (the stronger the
//! more polls failed), the title from [`ChartRequest::title`] and UTC time labels
//! from [`ChartRange::tick_label`]. A request without samples gives the same frame
//! with "no data yet" in the middle.
//!
//! [`ChartRange::buckets`]: mcstat_core::chart::ChartRange::buckets
//! [`ChartRange::tick_label`]: mcstat_core::chart::ChartRange::tick_label
//!
//! Text is drawn with DejaVu Sans, embedded in the binary (`assets/fonts/`, Bitstream
//! Vera license) and registered with plotters' `ab_glyph` backend: no system font is
//! read, so the image is the same on every machine. The PNG is encoded by the `png`
//! crate (no `image` crate).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use mcstat_core::chart::{ChartRequest, ChartSeries};
use mcstat_core::domain::Timestamp;
use mcstat_core::ports::{BoxError, ChartError, ChartRenderer};
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans 2.37 (see `assets/fonts/README.md`).
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// The family every text is drawn in. Registered under plotters' default family name,
/// so any text plotters draws with its defaults finds the embedded font too.
const FAMILY: &str = "sans-serif";

const PLAYERS: RGBColor = RGBColor(37, 99, 235);
const LATENCY: RGBColor = RGBColor(234, 88, 12);
const OFFLINE: RGBColor = RGBColor(220, 38, 38);
const GRID: RGBColor = RGBColor(226, 232, 240);
const AXIS: RGBColor = RGBColor(71, 85, 105);
const MUTED: RGBColor = RGBColor(100, 116, 139);
/// How strongly the players' min–max band is filled.
const BAND_ALPHA: f64 = 0.22;

/// Draws `/graph` charts as 800×400 PNG images with plotters. Cheap to create and to
/// share (`Arc<dyn ChartRenderer>`); each call draws into its own buffer.
///
/// ```
/// use mcstat_adapters::PlottersChartRenderer;
/// use mcstat_core::chart::{ChartRange, ChartRequest};
/// use mcstat_core::domain::Timestamp;
/// use mcstat_core::ports::ChartRenderer;
///
/// // A bot gets the request from `WatchService::chart(&target, range)` and renders it
/// // on a blocking pool (`tokio::task::spawn_blocking`).
/// let request = ChartRequest {
///     name: "play.example.net".into(),
///     range: "7d".parse::<ChartRange>()?,
///     now: Timestamp(1_773_511_620_000),
///     points: Vec::new(), // "no data yet"
/// };
/// let png = PlottersChartRenderer::new().render(&request)?;
/// assert!(png.starts_with(b"\x89PNG"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PlottersChartRenderer {
    _private: (),
}

impl PlottersChartRenderer {
    /// The image width in pixels.
    pub const WIDTH: u32 = 800;
    /// The image height in pixels.
    pub const HEIGHT: u32 = 400;

    /// A renderer. The embedded font is registered on the first render.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

impl ChartRenderer for PlottersChartRenderer {
    fn render(&self, request: &ChartRequest) -> Result<Vec<u8>, ChartError> {
        register_font()?;
        let series = request.series();
        let title = request.title();
        let mut rgb = vec![0_u8; (Self::WIDTH * Self::HEIGHT * 3) as usize];
        // plotters reports its errors as values; the guard turns a panic inside the
        // drawing library into an error instead of taking the caller's thread down.
        catch_unwind(AssertUnwindSafe(|| draw(&mut rgb, &title, &series)))
            .map_err(|_| render_error("the drawing library panicked"))??;
        encode_png(&rgb, Self::WIDTH, Self::HEIGHT)
    }
}

fn render_error(message: impl Into<String>) -> ChartError {
    ChartError::Render(BoxError::from(message.into()))
}

fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(render_error("the embedded font could not be loaded"))
    }
}

/// Seconds since the chart's left edge: the x coordinate (small numbers keep `f64`
/// exact and the key points ours).
fn x_of(series: &ChartSeries, t: Timestamp) -> f64 {
    t.since(series.from).as_secs_f64()
}

/// The time axis: seconds since the chart's left edge, with our tick positions (whole
/// UTC hours or midnights) instead of plotters' round numbers.
#[derive(Debug, Clone)]
struct TimeAxis {
    end: f64,
    ticks: Vec<f64>,
}

impl plotters::coord::ranged1d::Ranged for TimeAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = if self.end > 0.0 {
            value / self.end
        } else {
            0.0
        };
        let pixels = f64::from(limit.1 - limit.0) * share;
        // Bounded: `share` is within [0, 1] for every point of the chart.
        #[allow(clippy::cast_possible_truncation)]
        let offset = pixels.round().clamp(-1e6, 1e6) as i32;
        limit.0 + offset
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.end
    }
}

/// A value axis' top: the peak times `headroom`, at least `floor`.
fn axis_top(peak: u32, headroom: f64, floor: f64) -> f64 {
    (f64::from(peak) * headroom).max(floor)
}

/// `1234567` → `1.2M`: axis labels stay short whatever the values.
fn compact(v: f64) -> String {
    let a = v.abs();
    let (scaled, unit) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if (scaled - scaled.round()).abs() < 1e-6 {
        format!("{scaled:.0}{unit}")
    } else {
        format!("{scaled:.1}{unit}")
    }
}

type DrawResult = Result<(), ChartError>;

fn draw(rgb: &mut [u8], title: &str, series: &ChartSeries) -> DrawResult {
    let e = |err: &dyn std::fmt::Display| render_error(err.to_string());
    let range = series.range;
    let x_end = x_of(series, series.to);
    let ticks: Vec<f64> = range
        .ticks(series.from, series.to)
        .into_iter()
        .map(|t| x_of(series, t))
        .collect();
    // Different headroom per axis, so equal shares of each peak do not draw on top of
    // each other: the players reach 87 % of the height, the latency 67 %.
    let players_top = axis_top(series.players_peak, 1.15, 5.0);
    let latency_top = axis_top(series.latency_peak, 1.5, 50.0);

    let root = BitMapBackend::with_buffer(
        rgb,
        (PlottersChartRenderer::WIDTH, PlottersChartRenderer::HEIGHT),
    )
    .into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;

    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 20).into_font().color(&BLACK))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .right_y_label_area_size(56)
        .build_cartesian_2d(TimeAxis { end: x_end, ticks }, 0.0..players_top)
        .map_err(|x| e(&x))?
        .set_secondary_coord(0.0..x_end, 0.0..latency_top);

    let from = series.from;
    let label = |x: &f64| {
        let ms = (x.max(0.0) * 1000.0).round();
        // In range by construction: 0 ≤ x ≤ the span of a year.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let t = Timestamp(from.0.saturating_add(ms as u64));
        range.tick_label(t)
    };
    let y_label = |v: &f64| compact(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_label_formatter(&label)
        .y_label_formatter(&y_label)
        .y_labels(6)
        .label_style((FAMILY, 13).into_font().color(&AXIS))
        .axis_desc_style((FAMILY, 13).into_font().color(&AXIS))
        .y_desc("players")
        .draw()
        .map_err(|x| e(&x))?;
    chart
        .configure_secondary_axes()
        .axis_style(AXIS)
        .y_label_formatter(&y_label)
        .y_labels(6)
        .label_style((FAMILY, 13).into_font().color(&AXIS))
        .axis_desc_style((FAMILY, 13).into_font().color(&AXIS))
        .y_desc("latency (ms)")
        .draw()
        .map_err(|x| e(&x))?;

    // Offline shading under the lines: full height, stronger the more polls failed.
    let spans = series.offline_spans();
    chart
        .draw_series(spans.iter().map(|(start, end, share)| {
            let alpha = 0.12 + 0.28 * share.clamp(0.0, 1.0);
            Rectangle::new(
                [
                    (x_of(series, *start), 0.0),
                    (x_of(series, *end), players_top),
                ],
                OFFLINE.mix(alpha).filled(),
            )
        }))
        .map_err(|x| e(&x))?;

    // Players: a light band from the minimum to the maximum where a point covers
    // more than one sample (a bar per bucket: exact, and no polygon filling over
    // hundreds of vertices), the average as a line on top; a lone point (a run of one
    // bucket) as a dot.
    chart
        .draw_series(series.buckets.iter().filter_map(|b| {
            let (lo, hi) = (b.players_min?, b.players_max?);
            (b.samples > 1 && lo < hi).then(|| {
                Rectangle::new(
                    [
                        (x_of(series, b.start), f64::from(lo)),
                        (x_of(series, b.end), f64::from(hi)),
                    ],
                    PLAYERS.mix(BAND_ALPHA).filled(),
                )
            })
        }))
        .map_err(|x| e(&x))?;
    for run in series.runs(|b| b.players_avg) {
        let points: Vec<(f64, f64)> = run.iter().map(|(t, v)| (x_of(series, *t), *v)).collect();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                PLAYERS.stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
        if let [only] = points.as_slice() {
            chart
                .draw_series(std::iter::once(Circle::new(*only, 3, PLAYERS.filled())))
                .map_err(|x| e(&x))?;
        }
    }

    // Latency on the right axis.
    for run in series.runs(|b| b.latency_ms.map(f64::from)) {
        let points: Vec<(f64, f64)> = run.iter().map(|(t, v)| (x_of(series, *t), *v)).collect();
        chart
            .draw_secondary_series(LineSeries::new(
                points.iter().copied(),
                LATENCY.stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
        if let [only] = points.as_slice() {
            chart
                .draw_secondary_series(std::iter::once(Circle::new(*only, 3, LATENCY.filled())))
                .map_err(|x| e(&x))?;
        }
    }

    draw_legend(&root, !spans.is_empty()).map_err(|x| e(&x))?;

    if series.is_empty() {
        let (w, h) = root.dim_in_pixel();
        let style =
            (FAMILY, 26)
                .into_font()
                .color(&MUTED)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
        root.draw(&Text::new(
            "no data yet",
            (
                i32::try_from(w / 2).unwrap_or(0),
                i32::try_from(h / 2).unwrap_or(0),
            ),
            style,
        ))
        .map_err(|x| e(&x))?;
    }

    root.present().map_err(|x| e(&x))?;
    Ok(())
}

/// A one-line legend in the bottom left corner, under the time labels, and the time
/// axis' description on the right.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    offline: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font = (FAMILY, 12).into_font().color(&AXIS);
    let mut entries: Vec<(&str, ShapeStyle)> = vec![
        ("players (avg)", PLAYERS.filled()),
        ("players (min–max)", PLAYERS.mix(BAND_ALPHA).filled()),
        ("latency (mean)", LATENCY.filled()),
    ];
    if offline {
        entries.push(("offline", OFFLINE.mix(0.4).filled()));
    }
    let y = i32::try_from(PlottersChartRenderer::HEIGHT).unwrap_or(400) - 18;
    // The time axis' description, right-aligned under the plot's right edge.
    let right = font.clone().pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Right,
        plotters::style::text_anchor::VPos::Top,
    ));
    let plot_right = i32::try_from(PlottersChartRenderer::WIDTH).unwrap_or(800) - 12 - 56;
    root.draw(&Text::new("time (UTC)", (plot_right, y - 7), right))?;
    let mut x = 14;
    for (label, style) in entries {
        root.draw(&Rectangle::new([(x, y - 5), (x + 12, y + 5)], style))?;
        root.draw(&Text::new(label, (x + 17, y - 7), font.clone()))?;
        let (w, _) = root.estimate_text_size(label, &font)?;
        x += 17 + i32::try_from(w).unwrap_or(100) + 14;
    }
    Ok(())
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|x| ChartError::Render(Box::new(x)))?;
    writer
        .write_image_data(rgb)
        .map_err(|x| ChartError::Render(Box::new(x)))?;
    writer
        .finish()
        .map_err(|x| ChartError::Render(Box::new(x)))?;
    Ok(out)
}
