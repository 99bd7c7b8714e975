//! The wording of the watch replies, written once for every bot: each
//! [`WatchView`] is composed into text through a [`Markup`], which a bot implements
//! for its platform (Telegram HTML, Discord Markdown). The bot then only wraps the
//! text into its message (a Discord embed with a colour, say).
//!
//! A bot that wants another layout can still render the [views](super::views)
//! itself; these texts are the ones both bots use today.

use std::fmt::Write as _;

use super::service::AddOutcome;
use super::views::{Unwatched, UptimeView, WatchAdded, WatchList, WatchView};
use crate::domain::Timestamp;

/// How a platform marks text up. The composed replies call it for every name and
/// every styled piece; the fixed words in between contain no markup characters of
/// HTML or Markdown, and neither do the views' figures (durations, ratios, UTC
/// times).
pub trait Markup {
    /// What a chat is called in replies: `chat`, `channel`.
    fn place(&self) -> &'static str;

    /// Plain text (a server or player name), escaped.
    fn text(&self, s: &str) -> String;

    /// Strong emphasis around already marked-up text.
    fn bold(&self, marked: &str) -> String;

    /// Emphasis around already marked-up text.
    fn italic(&self, marked: &str) -> String;

    /// Plain text as code (an address, something to type), escaped as the code
    /// span needs.
    fn code(&self, s: &str) -> String;

    /// A command the reader may type (`/uptime a.example`), plain text; the default
    /// is [`code`](Self::code).
    fn command(&self, s: &str) -> String {
        self.code(s)
    }

    /// A time: `utc` is its [UTC text](super::text::format_utc_minute); the default
    /// shows it.
    fn time(&self, at: Timestamp, utc: &str) -> String {
        let _ = at;
        utc.to_owned()
    }

    /// What a line under a list entry starts with (its indentation); two spaces by
    /// default.
    fn indent(&self) -> &'static str {
        "  "
    }
}

impl WatchView {
    /// The reply as text in markup `m`.
    #[must_use]
    pub fn compose(&self, m: &impl Markup) -> String {
        match self {
            Self::Added(v) => v.compose(m),
            Self::Unwatched(v) => v.compose(m),
            Self::List(v) => v.compose(m),
            Self::Uptime(v) => v.compose(m),
        }
    }
}

/// Names as a comma-separated list, each through [`Markup::text`].
fn names(m: &impl Markup, names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| m.text(n)).collect();
    names.join(", ")
}

impl WatchAdded {
    /// `👀 Watching **a.example**: I'll tell this chat when it goes down or comes
    /// back (checked every 1 min).`, the players followed, and how to see its uptime
    /// or stop.
    #[must_use]
    pub fn compose(&self, m: &impl Markup) -> String {
        let (name, place) = (m.bold(&m.text(&self.display)), m.place());
        let mut out = match self.outcome {
            AddOutcome::Added => format!(
                "👀 Watching {name}: I'll tell this {place} when it goes down or comes back (checked every {}).",
                self.interval
            ),
            AddOutcome::Updated => {
                format!("👀 This {place} already watches {name}; its player list is updated.")
            }
        };
        if self.says_no_players() {
            out.push_str("\nNo players followed.");
        } else if !self.players.is_empty() {
            let _ = write!(
                out,
                "\nPlayers followed (joins and leaves): {}",
                names(m, &self.players)
            );
        }
        let _ = write!(
            out,
            "\n{} shows its uptime; {} stops.",
            m.command(&format!("/uptime {}", self.display)),
            m.command(&format!("/unwatch {}", self.display)),
        );
        out
    }
}

impl Unwatched {
    /// `🛑 Stopped watching **a.example** in this chat.`, or that the chat does not
    /// watch it.
    #[must_use]
    pub fn compose(&self, m: &impl Markup) -> String {
        let (name, place) = (m.bold(&m.text(&self.display)), m.place());
        if self.removed {
            format!("🛑 Stopped watching {name} in this {place}.")
        } else {
            format!(
                "💡 This {place} does not watch {name}. {} lists what it watches.",
                m.command("/watches")
            )
        }
    }
}

/// The longest `/watches` reply, in characters of composed text: under Telegram's
/// 4,096 (counted in UTF-16 units, so an emoji counts twice; tags do not count) and a
/// Discord embed description's 4,096 (escapes count), with room to spare.
pub const MAX_LIST_CHARS: usize = 3_500;

impl WatchList {
    /// A line per server (state, 24 h uptime, players), or that there is none.
    ///
    /// At most [`MAX_LIST_CHARS`] characters: when the full list is longer, the
    /// followed players are shortened first (the first three and how many more,
    /// then only how many), and only then are servers left out, with how many.
    #[must_use]
    pub fn compose(&self, m: &impl Markup) -> String {
        if self.entries.is_empty() {
            return format!(
                "👀 This {} watches no servers yet. Try {}",
                m.place(),
                m.code("/watch play.example.net")
            );
        }
        for players in [Some(usize::MAX), Some(3), None] {
            let text = self.compose_with(m, players, usize::MAX);
            if text.chars().count() <= MAX_LIST_CHARS {
                return text;
            }
        }
        self.compose_with(m, None, MAX_LIST_CHARS)
    }

    /// The list with at most `players` names per server (`None`: only how many),
    /// servers left out once `budget` characters would be passed.
    fn compose_with(&self, m: &impl Markup, players: Option<usize>, budget: usize) -> String {
        let title = m.bold("Watched servers");
        let mut out = format!("👀 {title} ({}/{})", self.entries.len(), self.max);
        let footer = format!(
            "\n{} for details; {} to stop.",
            m.command("/uptime address"),
            m.command("/unwatch address")
        );
        // Room for the footer and a "… and N more servers." line.
        let room = budget.saturating_sub(footer.chars().count() + 40);
        let mut len = out.chars().count();
        for (shown, e) in self.entries.iter().enumerate() {
            let mut entry = format!(
                "\n{} {} — {} · 24 h: {}",
                e.health.icon(),
                m.code(&e.display),
                e.state,
                e.day
            );
            if !e.players.is_empty() {
                let list = match players {
                    Some(n) if e.players.len() <= n => names(m, &e.players),
                    Some(n) => format!(
                        "{} and {} more",
                        names(m, &e.players[..n]),
                        e.players.len() - n
                    ),
                    None => format!("{} followed", e.players.len()),
                };
                let _ = write!(entry, "\n{}players: {list}", m.indent());
            }
            let entry_len = entry.chars().count();
            if len + entry_len > room {
                let _ = write!(out, "\n… and {} more servers.", self.entries.len() - shown);
                break;
            }
            len += entry_len;
            out.push_str(&entry);
        }
        out.push_str(&footer);
        out
    }
}

impl UptimeView {
    /// The uptime over 24 h, 7 d, 30 d, 90 d and a year, the last outages and the last check, or
    /// that there is no history yet.
    #[must_use]
    pub fn compose(&self, m: &impl Markup) -> String {
        let name = m.text(&self.display);
        if !self.has_history {
            return format!(
                "📈 No history for {} yet. Try {}: from then on every check is recorded.",
                m.bold(&name),
                m.code(&format!("/watch {}", self.display))
            );
        }
        let mut out = format!("📈 {}", m.bold(&format!("Uptime of {name}")));
        for w in &self.windows {
            let _ = write!(out, "\n{}: {}", w.label, m.bold(&w.ratio));
            if let Some(known) = &w.known {
                let _ = write!(out, " {}", m.italic(&format!("(of the {known} with data)")));
            }
        }
        if self.outages.is_empty() {
            out.push_str("\n\nNo outages recorded.");
        } else {
            let _ = write!(out, "\n\n{}", m.bold("Last outages"));
        }
        for o in &self.outages {
            let start = m.time(o.start, &o.start_utc);
            let _ = if o.ongoing {
                write!(
                    out,
                    "\n• {start} — {}, {} so far",
                    m.bold("ongoing"),
                    o.length
                )
            } else {
                write!(out, "\n• {start} — {}", o.length)
            };
            if let Some(cause) = o.cause {
                let _ = write!(out, " ({})", m.text(cause));
            }
        }
        if let Some(c) = &self.last_check {
            let at = m.time(c.at, &c.at_utc);
            let _ = write!(out, "\nLast check: {at} ({})", c.outcome());
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::watch::TargetState;
    use crate::watch::WatchSummary;
    use crate::watch::views::tests::{MIN, NOW, report, summary, target};
    use crate::watch::views::{Health, WatchEntry};

    /// Brackets for every style, so the tests see where each one goes.
    struct Marks;

    impl Markup for Marks {
        fn place(&self) -> &'static str {
            "room"
        }
        fn text(&self, s: &str) -> String {
            s.replace('<', "&lt;")
        }
        fn bold(&self, marked: &str) -> String {
            format!("[b:{marked}]")
        }
        fn italic(&self, marked: &str) -> String {
            format!("[i:{marked}]")
        }
        fn code(&self, s: &str) -> String {
            format!("[c:{}]", self.text(s))
        }
        fn time(&self, at: Timestamp, _utc: &str) -> String {
            format!("[t:{}]", at.as_millis())
        }
    }

    /// Only the required methods: the defaults.
    pub(crate) struct Plain;

    /// [`Plain`], for the tests of the views.
    pub(crate) const fn plain() -> Plain {
        Plain
    }

    impl Markup for Plain {
        fn place(&self) -> &'static str {
            "chat"
        }
        fn text(&self, s: &str) -> String {
            s.to_owned()
        }
        fn bold(&self, marked: &str) -> String {
            marked.to_owned()
        }
        fn italic(&self, marked: &str) -> String {
            marked.to_owned()
        }
        fn code(&self, s: &str) -> String {
            format!("'{s}'")
        }
    }

    #[test]
    fn added_and_unwatched() {
        let added = |outcome, players: &[&str]| {
            let players = players.iter().map(|p| (*p).to_owned()).collect();
            WatchView::Added(WatchAdded::new(&target("a.example"), outcome, players, MIN))
        };
        assert_eq!(
            added(AddOutcome::Added, &["<x>", "y"]).compose(&Marks),
            "👀 Watching [b:a.example]: I'll tell this room when it goes down or comes back (checked every 1 min).\nPlayers followed (joins and leaves): &lt;x>, y\n[c:/uptime a.example] shows its uptime; [c:/unwatch a.example] stops."
        );
        assert_eq!(
            added(AddOutcome::Added, &[]).compose(&Plain),
            "👀 Watching a.example: I'll tell this chat when it goes down or comes back (checked every 1 min).\n'/uptime a.example' shows its uptime; '/unwatch a.example' stops."
        );
        assert_eq!(
            added(AddOutcome::Updated, &[]).compose(&Plain),
            "👀 This chat already watches a.example; its player list is updated.\nNo players followed.\n'/uptime a.example' shows its uptime; '/unwatch a.example' stops."
        );
        let unwatched =
            |removed| WatchView::Unwatched(Unwatched::new(&target("a.example"), removed));
        assert_eq!(
            unwatched(true).compose(&Marks),
            "🛑 Stopped watching [b:a.example] in this room."
        );
        assert_eq!(
            unwatched(false).compose(&Marks),
            "💡 This room does not watch [b:a.example]. [c:/watches] lists what it watches."
        );
    }

    /// Discord-like escaping: every `_` doubled in size, as `escape_md` does.
    struct Escaping;

    impl Markup for Escaping {
        fn place(&self) -> &'static str {
            "channel"
        }
        fn text(&self, s: &str) -> String {
            s.replace('_', "\\_")
        }
        fn bold(&self, marked: &str) -> String {
            format!("**{marked}**")
        }
        fn italic(&self, marked: &str) -> String {
            format!("*{marked}*")
        }
        fn code(&self, s: &str) -> String {
            format!("`{s}`")
        }
    }

    #[test]
    fn a_full_list_fits_a_message() {
        let long: Vec<String> = (0..10)
            .map(|i| format!("Bedrock_Player_Name_Number_{i:05}"))
            .collect();
        let names: Vec<&str> = long.iter().map(String::as_str).collect();
        let entries = |n: usize, players: &[&str]| -> Vec<WatchSummary> {
            (0..n)
                .map(|i| {
                    summary(
                        &format!("mc{i}.survival-server.example"),
                        TargetState::Unknown,
                        players,
                    )
                })
                .collect()
        };
        // Ten servers with ten 32-character names each: names shortened, every
        // server still listed.
        let list = WatchList::new(&entries(10, &names), 10, NOW);
        let text = list.compose(&Escaping);
        assert!(
            text.chars().count() <= MAX_LIST_CHARS,
            "{}",
            text.chars().count()
        );
        assert!(text.contains("mc9.survival-server.example"), "{text}");
        assert!(
            text.contains("and 7 more") || text.contains("10 followed"),
            "{text}"
        );
        // A short list is shown in full.
        let short = WatchList::new(&entries(2, &names[..2]), 10, NOW).compose(&Escaping);
        assert!(
            short.contains("Bedrock\\_Player\\_Name\\_Number\\_00001"),
            "{short}"
        );
        // With a limit far above the default, servers are left out, and said so.
        let many = WatchList::new(&entries(200, &names), 200, NOW).compose(&Escaping);
        assert!(
            many.chars().count() <= MAX_LIST_CHARS,
            "{}",
            many.chars().count()
        );
        assert!(many.contains("more servers."), "{many}");
        assert!(many.ends_with("`/unwatch address` to stop."), "{many}");
    }

    #[test]
    fn lists() {
        let list = WatchList::new(
            &[
                summary(
                    "a.example",
                    TargetState::Down {
                        since: Some(NOW.minus(MIN * 3)),
                    },
                    &["Notch", "jeb_"],
                ),
                summary("b.example", TargetState::Unknown, &[]),
            ],
            10,
            NOW,
        );
        assert_eq!(
            WatchView::List(list).compose(&Marks),
            "👀 [b:Watched servers] (2/10)\n🔴 [c:a.example] — down for 3 min · 24 h: 99.79 %\n  players: Notch, jeb_\n⚪ [c:b.example] — not checked yet · 24 h: 99.79 %\n[c:/uptime address] for details; [c:/unwatch address] to stop."
        );
        let empty = WatchList {
            entries: Vec::<WatchEntry>::new(),
            max: 10,
        };
        assert_eq!(
            empty.compose(&Plain),
            "👀 This chat watches no servers yet. Try '/watch play.example.net'"
        );
        assert_eq!(Health::Unknown.icon(), "⚪");
    }

    #[test]
    fn uptime() {
        let view = UptimeView::new(&target("a.example"), &report(true));
        assert_eq!(
            view.compose(&Marks),
            "📈 [b:Uptime of a.example]\n24 h: [b:100 %]\n7 d: [b:85.71 %]\n30 d: [b:100 %] [i:(of the 2 d with data)]\n90 d: [b:100 %] [i:(of the 2 d with data)]\n1 y: [b:100 %] [i:(of the 2 d with data)]\n\n[b:Last outages]\n• [t:863940000] — [b:ongoing], 1 min so far (timeout)\n• [t:86400000] — 2 min\nLast check: [t:864000000] (answered)"
        );
        assert!(view.compose(&Plain).contains(
            "• 1970-01-10 23:59 UTC — ongoing, 1 min so far (timeout)\n• 1970-01-02 00:00 UTC — 2 min\n"
        ));
        let quiet = UptimeView {
            outages: Vec::new(),
            last_check: None,
            ..view.clone()
        };
        assert!(
            quiet
                .compose(&Plain)
                .ends_with("(of the 2 d with data)\n\nNo outages recorded.")
        );
        let none = UptimeView {
            has_history: false,
            ..view
        };
        assert_eq!(
            WatchView::Uptime(none).compose(&Marks),
            "📈 No history for [b:a.example] yet. Try [c:/watch a.example]: from then on every check is recorded."
        );
    }
}
