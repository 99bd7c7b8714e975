//! Platform-neutral view models of the watch replies (`/watch`, `/unwatch`,
//! `/watches`, `/uptime`, `/graph`) and of the notifications: the facts of a reply
//! and its plain-text pieces (durations, percentages, UTC times, states) worded once,
//! here. [`WatchView::compose`] ([`markup`](super::markup)) words a reply in a bot's
//! [`Markup`](super::markup::Markup) (Telegram HTML, Discord Markdown); the bot wraps
//! the text into its message. A bot may also lay a view out itself, as it does for
//! the [`chat` views](crate::chat::View).
//!
//! Strings in these views are plain text without markup. Server names are
//! [`display_target`]s and player names are as the
//! [`WatchService`](super::WatchService) keeps them (checked: letters, digits,
//! `_ . * -` and inner spaces); a renderer escapes both. The figures (durations,
//! ratios, UTC times, states) contain no HTML or Markdown markup characters.
//!
//! [`chat::watch::answer`](crate::chat::watch::answer) runs a command and returns its
//! [`WatchView`].

use std::time::Duration;

use super::service::{AddOutcome, WatchSummary};
use super::text::{format_duration, format_ratio, format_utc_minute, notification_icon};
use super::tracker::TargetState;
use super::uptime::{UptimeReport, UptimeWindow};
use crate::chart::ChartRange;
use crate::chat::display_target;
use crate::domain::{Target, Timestamp};
use crate::ports::{Notification, NotificationEvent};

/// A window whose samples cover less than this share of it says how much they cover.
const FULL_COVERAGE: f64 = 0.95;

/// The reply to a watch command other than `/graph`.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // replies are few and short-lived
pub enum WatchView {
    /// `/watch`: the watch was added or its players updated.
    Added(WatchAdded),
    /// `/unwatch`.
    Unwatched(Unwatched),
    /// `/watches`.
    List(WatchList),
    /// `/uptime`.
    Uptime(UptimeView),
}

impl WatchView {
    /// A short name of the reply for metrics and logs: `watch_added`, `unwatched`,
    /// `watches` or `uptime`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Added(_) => "watch_added",
            Self::Unwatched(_) => "unwatched",
            Self::List(_) => "watches",
            Self::Uptime(_) => "uptime",
        }
    }
}

/// The reply to `/watch`: what is watched now and how often it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchAdded {
    /// The server, as shown ([`display_target`]).
    pub display: String,
    /// A new watch, or new players for an existing one.
    pub outcome: AddOutcome,
    /// The players followed now, as the service keeps them (trimmed, each once); may
    /// be empty.
    pub players: Vec<String>,
    /// How often the server is checked: `1 min` ([`format_duration`]).
    pub interval: String,
}

impl WatchAdded {
    /// The view of a watch of `target` with `players` (as kept), checked every
    /// `interval`.
    #[must_use]
    pub fn new(
        target: &Target,
        outcome: AddOutcome,
        players: Vec<String>,
        interval: Duration,
    ) -> Self {
        Self {
            display: display_target(target),
            outcome,
            players,
            interval: format_duration(interval),
        }
    }

    /// Whether to say that no players are followed: an update that left none (a new
    /// watch without players says nothing about them).
    #[must_use]
    pub fn says_no_players(&self) -> bool {
        self.outcome == AddOutcome::Updated && self.players.is_empty()
    }
}

/// The reply to `/unwatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwatched {
    /// The server, as shown.
    pub display: String,
    /// `true` if the chat watched it (and no longer does); `false` if it did not.
    pub removed: bool,
}

impl Unwatched {
    /// The view of unwatching `target`.
    #[must_use]
    pub fn new(target: &Target, removed: bool) -> Self {
        Self {
            display: display_target(target),
            removed,
        }
    }
}

/// Up, down or not known yet: the colour of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Answering.
    Up,
    /// Not answering (with the debounce applied).
    Down,
    /// Not checked yet.
    Unknown,
}

impl Health {
    /// 🟢, 🔴 or ⚪.
    #[must_use]
    pub const fn icon(self) -> &'static str {
        match self {
            Self::Up => "🟢",
            Self::Down => "🔴",
            Self::Unknown => "⚪",
        }
    }
}

/// The reply to `/watches`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchList {
    /// One entry per watched server, ordered by target (empty: none).
    pub entries: Vec<WatchEntry>,
    /// How many servers a chat may watch.
    pub max: usize,
}

impl WatchList {
    /// The view of `list` at `now` (`max`: how many servers a chat may watch).
    #[must_use]
    pub fn new(list: &[WatchSummary], max: usize, now: Timestamp) -> Self {
        Self {
            entries: list.iter().map(|s| WatchEntry::new(s, now)).collect(),
            max,
        }
    }
}

/// One server of `/watches`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEntry {
    /// The server, as shown.
    pub display: String,
    /// Up, down or unknown.
    pub health: Health,
    /// The state in words: `up for 2 h`, `down for 3 min`, `up`, `down`, `not
    /// checked yet`.
    pub state: String,
    /// Uptime over the last 24 hours: `99.30 %` or `no data` ([`format_ratio`]).
    pub day: String,
    /// The players followed (may be empty).
    pub players: Vec<String>,
}

impl WatchEntry {
    /// The entry of `summary` at `now`.
    #[must_use]
    pub fn new(summary: &WatchSummary, now: Timestamp) -> Self {
        let (health, state) = state_text(summary.state, now);
        Self {
            display: display_target(&summary.watch.target),
            health,
            state,
            day: format_ratio(summary.day.ratio()),
            players: summary.watch.players.clone(),
        }
    }
}

/// A state's health and words at `now`.
fn state_text(state: TargetState, now: Timestamp) -> (Health, String) {
    let lasting = |word: &str, since: Option<Timestamp>| match since {
        Some(t) => format!("{word} for {}", format_duration(now.since(t))),
        None => word.to_owned(),
    };
    match state {
        TargetState::Up { since } => (Health::Up, lasting("up", since)),
        TargetState::Down { since } => (Health::Down, lasting("down", since)),
        TargetState::Unknown => (Health::Unknown, "not checked yet".to_owned()),
    }
}

/// The reply to `/uptime`.
#[derive(Debug, Clone, PartialEq)]
pub struct UptimeView {
    /// The server, as shown.
    pub display: String,
    /// Whether any check of the server is recorded. Without history the other
    /// fields say nothing: the reply suggests `/watch` instead.
    pub has_history: bool,
    /// The last 24 hours, 7 days, 30 days, 90 days and a year, in this order.
    pub windows: [WindowLine; 5],
    /// The last outages, newest first (may be empty).
    pub outages: Vec<OutageLine>,
    /// The newest check, if any.
    pub last_check: Option<CheckLine>,
    /// Uptime over the last 24 hours (0.0 to 1.0), `None` without data: for a
    /// colour.
    pub day_ratio: Option<f64>,
}

impl UptimeView {
    /// The view of `report` on `target`.
    #[must_use]
    pub fn new(target: &Target, report: &UptimeReport) -> Self {
        Self {
            display: display_target(target),
            has_history: report.samples > 0,
            windows: [
                WindowLine::new("24 h", &report.day),
                WindowLine::new("7 d", &report.week),
                WindowLine::new("30 d", &report.month),
                WindowLine::new("90 d", &report.quarter),
                WindowLine::new("1 y", &report.year),
            ],
            outages: report
                .outages
                .iter()
                .map(|o| OutageLine {
                    start: o.start,
                    start_utc: format_utc_minute(o.start),
                    length: format_duration(o.duration),
                    ongoing: o.end.is_none(),
                    cause: (o.cause != crate::history::DownCause::Unknown).then(|| o.cause.label()),
                })
                .collect(),
            last_check: report.last_sample.map(|(at, answered)| CheckLine {
                at,
                at_utc: format_utc_minute(at),
                answered,
            }),
            day_ratio: report.day.ratio(),
        }
    }
}

/// The uptime of one window of `/uptime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowLine {
    /// `24 h`, `7 d` or `30 d`.
    pub label: &'static str,
    /// `99.95 %`, `100 %` or `no data` ([`format_ratio`]).
    pub ratio: String,
    /// How much time the ratio is made from (`2 d`), when the samples cover less
    /// than 95 % of the window; `None` when they cover it or there is no data.
    pub known: Option<String>,
}

impl WindowLine {
    /// The line of window `w`, labelled `label`.
    #[must_use]
    pub fn new(label: &'static str, w: &UptimeWindow) -> Self {
        let ratio = w.ratio();
        Self {
            label,
            ratio: format_ratio(ratio),
            known: (ratio.is_some() && w.coverage() < FULL_COVERAGE)
                .then(|| format_duration(w.up + w.down)),
        }
    }
}

/// One outage of `/uptime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutageLine {
    /// When it began (for platforms that show times in the reader's zone).
    pub start: Timestamp,
    /// When it began, in UTC: `2025-12-01 06:10 UTC` ([`format_utc_minute`]).
    pub start_utc: String,
    /// How long it lasted, or has lasted so far: `12 min`.
    pub length: String,
    /// Whether it still lasts.
    pub ongoing: bool,
    /// Why it began (`timeout`, `connection refused`, ...), when known.
    pub cause: Option<&'static str>,
}

/// The newest check of `/uptime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// When.
    pub at: Timestamp,
    /// When, in UTC: `2025-12-01 06:10 UTC`.
    pub at_utc: String,
    /// Whether the server answered.
    pub answered: bool,
}

impl CheckLine {
    /// The outcome in words: `answered` or `no answer`.
    #[must_use]
    pub const fn outcome(&self) -> &'static str {
        if self.answered {
            "answered"
        } else {
            "no answer"
        }
    }
}

/// The reply to `/graph` (the chart itself is drawn by a
/// [`ChartRenderer`](crate::ports::ChartRenderer)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphView {
    /// The server, as shown.
    pub display: String,
    /// The time range drawn.
    pub range: ChartRange,
    /// The range in words: `24 h`, `7 d`, `30 d` ([`ChartRange::label`]).
    pub range_label: &'static str,
    /// Whether any check of the server is recorded in the range (without, the chart
    /// is empty and the reply suggests `/watch`).
    pub has_history: bool,
}

impl GraphView {
    /// The view of a chart of `target` over `range` drawn from `samples` polls.
    #[must_use]
    pub fn new(target: &Target, range: ChartRange, samples: usize) -> Self {
        Self {
            display: display_target(target),
            range,
            range_label: range.label(),
            has_history: samples > 0,
        }
    }
}

/// A notification: an icon and one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationView {
    /// 🔴, 🟢, 👋 or 🚪 ([`notification_icon`]).
    pub icon: &'static str,
    /// The sentence ([`notification_text`](super::text::notification_text)).
    pub text: String,
}

impl NotificationView {
    /// The view of `n`.
    #[must_use]
    pub fn new(n: &Notification) -> Self {
        Self {
            icon: notification_icon(&n.event),
            text: super::text::notification_text(n),
        }
    }
}

/// Several notifications for one chat in one message: the outbox's digest when a
/// chat's backlog grows (a hosting provider's outage: "🔴 12 servers went down").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestView {
    /// 🔴 when every one went down, 🟢 when every one came back, else 🔔.
    pub icon: &'static str,
    /// How many notifications.
    pub count: usize,
    /// What they are, for the title: `servers went down`, `servers are back up`,
    /// `updates`.
    pub what: &'static str,
    /// One line per notification, oldest first.
    pub lines: Vec<NotificationView>,
}

impl DigestView {
    /// The view of `batch` (oldest first).
    #[must_use]
    pub fn new(batch: &[Notification]) -> Self {
        let all = |f: fn(&NotificationEvent) -> bool| batch.iter().all(|n| f(&n.event));
        let (icon, what) = if all(|e| matches!(e, NotificationEvent::WentDown { .. })) {
            ("🔴", "servers went down")
        } else if all(|e| matches!(e, NotificationEvent::CameBack { .. })) {
            ("🟢", "servers are back up")
        } else {
            ("🔔", "updates")
        };
        Self {
            icon,
            count: batch.len(),
            what,
            lines: batch.iter().map(NotificationView::new).collect(),
        }
    }

    /// The digest as one message in markup `m` no longer than `limit` as measured
    /// by `len` (the platform's count: UTF-16 units for Telegram): a bold title,
    /// then a line per notification while they fit, then `… and N more.` for the
    /// rest. The title and the last line always fit a `limit` of 200 or more.
    #[must_use]
    pub fn compose(
        &self,
        m: &impl super::markup::Markup,
        limit: usize,
        len: impl Fn(&str) -> usize,
    ) -> String {
        let mut out = format!(
            "{} {}",
            self.icon,
            m.bold(&m.text(&format!("{} {}:", self.count, self.what)))
        );
        let more = |n: usize| format!("\n… and {n} more.");
        for (i, line) in self.lines.iter().enumerate() {
            let text = format!("\n{} {}", line.icon, m.text(&line.text));
            let rest = self.lines.len() - i - 1;
            let tail = if rest > 0 { len(&more(rest)) } else { 0 };
            if len(&out) + len(&text) + tail > limit {
                out.push_str(&more(self.lines.len() - i));
                return out;
            }
            out.push_str(&text);
        }
        out
    }
}

/// Fixtures shared with the tests of [`markup`](super::markup).
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{ChatRef, Platform, Watch};
    use crate::history::DownCause;
    use crate::ports::NotificationEvent;
    use crate::watch::Outage;

    pub(crate) const MIN: Duration = Duration::from_secs(60);
    pub(crate) const DAY: Duration = Duration::from_secs(86_400);
    /// The time of the fixtures.
    pub(crate) const NOW: Timestamp = Timestamp(10 * 86_400_000);

    pub(crate) fn target(s: &str) -> Target {
        s.parse().expect("valid")
    }

    #[test]
    fn a_digest_fits_its_limit_and_says_how_many_more() {
        let n = |i: usize, event: NotificationEvent| Notification {
            key: format!("k{i}"),
            chat: ChatRef::new(Platform::Telegram, "7").expect("valid"),
            target: target(&format!("server-{i}.example")),
            event,
            at: NOW,
        };
        let down: Vec<Notification> = (0..200)
            .map(|i| n(i, NotificationEvent::WentDown { up_for: None }))
            .collect();
        let plain = super::super::markup::tests::plain();
        let d = DigestView::new(&down);
        assert_eq!((d.icon, d.what, d.count), ("🔴", "servers went down", 200));
        let all = d.compose(&plain, 100_000, |s| s.chars().count());
        assert_eq!(all.lines().count(), 201);
        assert!(
            all.starts_with("🔴 200 servers went down:\n🔴 server-0.example"),
            "{all}"
        );
        for limit in [200, 500, 1000, 4096] {
            let text = d.compose(&plain, limit, |s| s.encode_utf16().count());
            assert!(
                text.encode_utf16().count() <= limit,
                "{limit}: {}",
                text.len()
            );
            let shown = text.lines().count() - 2;
            assert!(
                text.ends_with(&format!("… and {} more.", 200 - shown)),
                "{text}"
            );
        }
        let mixed = [
            n(1, NotificationEvent::WentDown { up_for: None }),
            n(2, NotificationEvent::PlayerJoined("Steve".into())),
        ];
        assert_eq!(DigestView::new(&mixed).what, "updates");
    }

    fn window(span: Duration, up: Duration, down: Duration) -> UptimeWindow {
        UptimeWindow { span, up, down }
    }

    /// A watch of `t` following `players`, in `state`, up 99.79 % of the last day.
    pub(crate) fn summary(t: &str, state: TargetState, players: &[&str]) -> WatchSummary {
        WatchSummary {
            watch: Watch {
                chat: ChatRef::new(Platform::Telegram, "7").expect("valid"),
                target: target(t),
                created_at: Timestamp(0),
                players: players.iter().map(|p| (*p).to_owned()).collect(),
            },
            state,
            day: window(DAY, DAY - MIN * 3, MIN * 3),
            last_sample: None,
        }
    }

    /// 100 samples: 24 h fully up, 7 d 85.71 %, 30 d, 90 d and 1 y up but only 2 d
    /// known; an outage ongoing for a minute (a timeout) and one of 2 min on day 2
    /// (cause unknown); the last check at
    /// [`NOW`] (`answered` or not).
    pub(crate) fn report(answered: bool) -> UptimeReport {
        UptimeReport {
            day: window(DAY, DAY, Duration::ZERO),
            week: window(DAY * 7, DAY * 6, DAY),
            month: window(DAY * 30, DAY * 2, Duration::ZERO),
            quarter: window(DAY * 90, DAY * 2, Duration::ZERO),
            year: window(DAY * 365, DAY * 2, Duration::ZERO),
            outages: vec![
                Outage {
                    start: NOW.minus(MIN),
                    end: None,
                    duration: MIN,
                    cause: DownCause::Timeout,
                },
                Outage {
                    start: Timestamp(86_400_000),
                    end: Some(Timestamp(86_400_000 + 125_000)),
                    duration: Duration::from_secs(125),
                    cause: DownCause::Unknown,
                },
            ],
            last_sample: Some((NOW, answered)),
            samples: 100,
        }
    }

    #[test]
    fn added_watches_show_the_interval_and_the_players() {
        let v = WatchAdded::new(
            &target("bedrock:xn--bcher-kva.example"),
            AddOutcome::Added,
            vec!["Notch".into()],
            MIN,
        );
        assert_eq!(v.display, "bedrock:bücher.example");
        assert_eq!(v.interval, "1 min");
        assert!(!v.says_no_players());
        let v = WatchAdded::new(&target("a.example"), AddOutcome::Added, vec![], MIN);
        assert!(!v.says_no_players());
        let v = WatchAdded::new(&target("a.example"), AddOutcome::Updated, vec![], MIN);
        assert!(v.says_no_players());
        assert_eq!(WatchView::Added(v).kind(), "watch_added");
        let u = Unwatched::new(&target("a.example:25566"), false);
        assert_eq!(u.display, "a.example:25566");
        assert_eq!(WatchView::Unwatched(u).kind(), "unwatched");
    }

    #[test]
    fn list_entries_word_each_state() {
        let now = NOW;
        let watching = |state| summary("a.example", state, &["Notch"]);
        let states = [
            TargetState::Up {
                since: Some(now.minus(MIN * 125)),
            },
            TargetState::Up { since: None },
            TargetState::Down {
                since: Some(now.minus(MIN * 3)),
            },
            TargetState::Down { since: None },
            TargetState::Unknown,
        ];
        let list = WatchList::new(&states.map(watching), 10, now);
        assert_eq!(list.max, 10);
        let words: Vec<(Health, &str)> = list
            .entries
            .iter()
            .map(|e| (e.health, e.state.as_str()))
            .collect();
        assert_eq!(
            words,
            [
                (Health::Up, "up for 2 h 5 min"),
                (Health::Up, "up"),
                (Health::Down, "down for 3 min"),
                (Health::Down, "down"),
                (Health::Unknown, "not checked yet"),
            ]
        );
        let e = &list.entries[0];
        assert_eq!(e.display, "a.example");
        assert_eq!(e.day, "99.79 %");
        assert_eq!(e.players, ["Notch"]);
        assert_eq!(
            [Health::Up, Health::Down, Health::Unknown].map(Health::icon),
            ["🟢", "🔴", "⚪"]
        );
        assert_eq!(WatchView::List(list).kind(), "watches");
    }

    #[test]
    fn uptime_has_windows_outages_and_the_last_check() {
        let now = NOW;
        let report = report(false);
        let v = UptimeView::new(&target("a.example"), &report);
        assert!(v.has_history);
        assert_eq!(v.day_ratio, Some(1.0));
        let windows: Vec<(&str, &str, Option<&str>)> = v
            .windows
            .iter()
            .map(|w| (w.label, w.ratio.as_str(), w.known.as_deref()))
            .collect();
        assert_eq!(
            windows,
            [
                ("24 h", "100 %", None),
                ("7 d", "85.71 %", None),
                ("30 d", "100 %", Some("2 d")),
                ("90 d", "100 %", Some("2 d")),
                ("1 y", "100 %", Some("2 d")),
            ]
        );
        assert_eq!(
            v.outages,
            [
                OutageLine {
                    start: now.minus(MIN),
                    start_utc: "1970-01-10 23:59 UTC".into(),
                    length: "1 min".into(),
                    ongoing: true,
                    cause: Some("timeout"),
                },
                OutageLine {
                    start: Timestamp(86_400_000),
                    start_utc: "1970-01-02 00:00 UTC".into(),
                    length: "2 min".into(),
                    ongoing: false,
                    cause: None,
                },
            ]
        );
        let check = v.last_check.as_ref().expect("checked");
        assert_eq!(check.at_utc, "1970-01-11 00:00 UTC");
        assert_eq!(check.outcome(), "no answer");
        assert_eq!(WatchView::Uptime(v).kind(), "uptime");

        let empty = UptimeReport {
            day: window(DAY, Duration::ZERO, Duration::ZERO),
            outages: Vec::new(),
            last_sample: None,
            samples: 0,
            ..report
        };
        let v = UptimeView::new(&target("a.example"), &empty);
        assert!(!v.has_history);
        assert_eq!(v.windows[0].ratio, "no data");
        assert_eq!(v.windows[0].known, None);
        assert_eq!(v.day_ratio, None);
        assert_eq!(v.last_check, None);
    }

    #[test]
    fn graphs_and_notifications() {
        let g = GraphView::new(&target("a.example"), ChartRange::Week, 0);
        assert_eq!(g.range_label, "7 d");
        assert!(!g.has_history);
        assert!(GraphView::new(&target("a.example"), ChartRange::Day, 3).has_history);
        let n = NotificationView::new(&Notification {
            key: "k".into(),
            chat: ChatRef::new(Platform::Discord, "1").expect("valid"),
            target: target("a.example"),
            event: NotificationEvent::CameBack {
                down_for: Some(MIN * 2),
            },
            at: Timestamp(0),
        });
        assert_eq!(n.icon, "🟢");
        assert_eq!(n.text, "a.example is back up after 2 min.");
    }
}
