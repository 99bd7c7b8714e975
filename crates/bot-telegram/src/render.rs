//! Rendering the core's view models as Telegram HTML with an inline keyboard; the
//! watch replies are worded by the core in [`Html`].
//!
//! Everything that came from a server or a user is escaped (`&`, `<`, `>`, `"`); the
//! core has already removed control characters and bounded lengths. Telegram's HTML has
//! no colours, so MOTD colours are dropped and only its styles are kept: bold `<b>`,
//! italic `<i>`, underlined `<u>`, strikethrough `<s>`, and obfuscated ("magic") text
//! as a `<tg-spoiler>`. The MOTD sits in a `<blockquote>`.

use std::fmt::Write as _;

use mc_protocol::address::Edition;
use mc_protocol::text::Motd;
use mcstat_core::chat::CommandInfo;
use mcstat_core::chat::{
    About, Button, PlayersPage, Reply, StatusCard, UserError, UserErrorKind, View, Welcome,
};
use mcstat_core::watch::markup::Markup;
use mcstat_core::watch::views::{GraphView, WatchView};
use mcstat_core::{Freshness, PlayerSource, Protocol};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// The most MOTD characters shown (a hostile server may send pages of text).
pub const MOTD_BUDGET: usize = 600;

/// A reply ready to send: HTML text and an optional keyboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Telegram HTML (`parse_mode = HTML`).
    pub html: String,
    /// The buttons, if any.
    pub keyboard: Option<InlineKeyboardMarkup>,
}

/// Render a reply.
#[must_use]
pub fn render(reply: &Reply) -> Rendered {
    Rendered {
        html: view_html(&reply.view),
        keyboard: keyboard(&reply.buttons),
    }
}

/// The inline keyboard for button rows (`None` when there are none).
#[must_use]
pub fn keyboard(rows: &[Vec<Button>]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = rows
        .iter()
        .filter(|row| !row.is_empty())
        .map(|row| {
            row.iter()
                .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.data.clone()))
                .collect()
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// Escape text for Telegram HTML.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A MOTD as Telegram HTML (styles kept, colours dropped, at most [`MOTD_BUDGET`]
/// characters of text).
#[must_use]
pub fn motd_html(motd: &Motd) -> String {
    let mut out = String::new();
    let mut budget = MOTD_BUDGET;
    for span in &motd.spans {
        let total = span.text.chars().count();
        if total == 0 {
            continue;
        }
        if budget == 0 {
            out.push('…');
            break;
        }
        let text: String = span.text.chars().take(budget).collect();
        let cut = total > budget;
        budget -= total.min(budget);
        let s = &span.style;
        let tags: Vec<&str> = [
            (s.bold, "b"),
            (s.italic, "i"),
            (s.underlined, "u"),
            (s.strikethrough, "s"),
            (s.obfuscated, "tg-spoiler"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, t)| *t)
        .collect();
        // Whitespace-only text needs no tags (and Telegram rejects empty entities).
        let styled = !text.trim().is_empty();
        if styled {
            for t in &tags {
                let _ = write!(out, "<{t}>");
            }
        }
        out.push_str(&escape(&text));
        if styled {
            for t in tags.iter().rev() {
                let _ = write!(out, "</{t}>");
            }
        }
        if cut {
            out.push('…');
            break;
        }
    }
    out.trim_end().to_owned()
}

/// Render a view as Telegram HTML.
#[must_use]
pub fn view_html(view: &View) -> String {
    match view {
        View::Welcome(w) => welcome(w),
        View::Help { commands, example } => help(commands, example),
        View::About(a) => about(a),
        View::Status(card) => status(card),
        View::Players(page) => players(page),
        View::Error(e) => error(e),
        #[allow(unreachable_patterns)]
        _ => "🤔 I have nothing to show for that.".to_owned(),
    }
}

fn command_lines(out: &mut String, commands: &[CommandInfo]) {
    for c in commands {
        let _ = write!(out, "\n/{}", c.name);
        if !c.args.is_empty() {
            let _ = write!(out, " {}", escape(c.args));
        }
        let _ = write!(out, " — {}", escape(c.description));
    }
}

fn welcome(w: &Welcome) -> String {
    let mut out = format!(
        "👋 <b>Welcome to {}!</b>\nI tell you whether a Minecraft server is online, with its MOTD, version, players and latency (Java and Bedrock).\n\nTry <code>/status {}</code>",
        escape(&w.name),
        escape(w.example)
    );
    if let Some(last) = &w.last_server {
        let _ = write!(
            out,
            "\nYour last server: <code>{}</code> — a bare /status shows it again.",
            escape(last)
        );
    }
    out.push('\n');
    command_lines(&mut out, w.commands);
    out
}

fn help(commands: &[CommandInfo], example: &str) -> String {
    let mut out = "❓ <b>Commands</b>".to_owned();
    command_lines(&mut out, commands);
    let ex = escape(example);
    let _ = write!(
        out,
        "\n\n<b>Addresses</b>\n<code>{ex}</code>, <code>{ex}:25565</code>, <code>203.0.113.7</code>, <code>[2001:db8::7]:25565</code>\nBedrock: <code>bedrock:{ex}</code> (port 19132 unless given)\nWithout an address, /status and /players use this chat's last server.\nInline: type <code>@bot {ex}</code> in any chat to share a status card.\n\n<b>Players</b>\n/watch tells you when the players you name join or leave; put a name with spaces in double quotes: <code>/watch {ex} &quot;Steve Smith&quot; Notch</code>. Bedrock players on a Java server through Geyser (shown as <code>.Steve_Smith</code>) are matched by their gamertag."
    );
    out
}

fn about(a: &About) -> String {
    format!(
        "ℹ️ <b>{}</b> {}\n{}\n\nSource: <a href=\"{}\">{}</a>\nLicence: {}",
        escape(&a.name),
        escape(&a.version),
        escape(&a.description),
        escape(&a.repository),
        escape(&a.repository),
        escape(&a.license)
    )
}

fn freshness_line(out: &mut String, f: Freshness) {
    if let Freshness::Cached { age_ms } = f {
        let secs = age_ms / 1000;
        let _ = write!(out, "\n🕒 <i>cached answer, {secs} s old</i>");
    }
}

fn players_count(online: Option<i64>, max: Option<i64>) -> String {
    match (online, max) {
        (Some(o), Some(m)) => format!("<b>{o}</b>/{m}"),
        (Some(o), None) => format!("<b>{o}</b>"),
        (None, Some(m)) => format!("?/{m}"),
        (None, None) => "unknown".to_owned(),
    }
}

fn status(card: &StatusCard) -> String {
    let name = escape(&card.display);
    let edition = match card.edition {
        Edition::Java => "",
        Edition::Bedrock => " (Bedrock)",
    };
    if !card.online {
        let mut out = format!("🔴 <b>{name}</b>{edition} is <b>offline</b>");
        if let Some(reason) = &card.offline_reason {
            let _ = write!(out, "\nReason: {}", escape(reason));
        }
        if let Some(hint) = &card.hint {
            let _ = write!(out, "\n💡 {}", escape(hint));
        }
        freshness_line(&mut out, card.freshness);
        return out;
    }
    let mut out = format!("🟢 <b>{name}</b>{edition} is <b>online</b>");
    let motd = motd_html(&card.motd);
    if !motd.is_empty() {
        let _ = write!(out, "\n<blockquote>{motd}</blockquote>");
    } else {
        out.push('\n');
    }
    if let Some(v) = &card.version {
        let _ = write!(out, "\n🏷 Version: <code>{}</code>", escape(v));
    }
    let _ = write!(
        out,
        "\n👥 Players: {}",
        players_count(card.players_online, card.players_max)
    );
    if !card.sample.is_empty() {
        let names: Vec<String> = card.sample.iter().map(|n| escape(n)).collect();
        let _ = write!(out, "\n      {}", names.join(", "));
    }
    if let Some(ms) = card.latency_ms {
        let _ = write!(out, "\n📶 Latency: {ms} ms");
    }
    if let Some(mode) = &card.game_mode {
        let _ = write!(out, "\n🎮 Mode: {}", escape(mode));
    }
    if let Some(map) = &card.map {
        let _ = write!(out, "\n🗺 Map: {}", escape(map));
    }
    if let Some(mods) = card.mod_count {
        let _ = write!(out, "\n🧩 Mods: {mods}");
    }
    match card.protocol {
        Some(Protocol::Legacy) => out.push_str("\n<i>(answered the pre-1.7 legacy ping)</i>"),
        Some(Protocol::Query) => out.push_str("\n<i>(answered Query)</i>"),
        _ => {}
    }
    freshness_line(&mut out, card.freshness);
    out
}

fn players(p: &PlayersPage) -> String {
    let mut out = format!(
        "👥 <b>{}</b>: {} online",
        escape(&p.display),
        players_count(p.online, p.max)
    );
    if p.page_count > 1 {
        let first = p.page * mcstat_core::chat::PAGE_SIZE + 1;
        let last = first + p.names.len().saturating_sub(1);
        let _ = write!(
            out,
            "\nPage {} of {} · names {first}–{last} of {}",
            p.page + 1,
            p.page_count,
            p.total_names
        );
    }
    for n in &p.names {
        let _ = write!(out, "\n• {}", escape(n));
    }
    match p.source {
        PlayerSource::Query => {}
        PlayerSource::Sample if p.names.is_empty() => {
            out.push_str("\n<i>The server shares no names.</i>");
        }
        PlayerSource::Sample => {
            out.push_str("\n<i>Only the names the server chose to share (a sample).</i>");
        }
        PlayerSource::CountOnly => out.push_str("\n<i>The server shares no names.</i>"),
    }
    freshness_line(&mut out, p.freshness);
    out
}

fn error(e: &UserError) -> String {
    let icon = match e.kind {
        UserErrorKind::RateLimited { .. } => "⏳",
        UserErrorKind::Refused => "🚫",
        UserErrorKind::Offline => "🔴",
        UserErrorKind::Unavailable => "⚠️",
        UserErrorKind::BadCallback => "⌛",
        _ => "💡",
    };
    format!("{icon} {}", escape(&e.message))
}

/// Telegram HTML for the core's [`Markup`]: commands stay plain text (Telegram links
/// them), times are shown in UTC, lines under a list entry are indented by six
/// spaces.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl Markup for Html {
    fn place(&self) -> &'static str {
        "chat"
    }

    fn text(&self, s: &str) -> String {
        escape(s)
    }

    fn bold(&self, marked: &str) -> String {
        format!("<b>{marked}</b>")
    }

    fn italic(&self, marked: &str) -> String {
        format!("<i>{marked}</i>")
    }

    fn code(&self, s: &str) -> String {
        format!("<code>{}</code>", escape(s))
    }

    fn command(&self, s: &str) -> String {
        escape(s)
    }

    fn indent(&self) -> &'static str {
        "      "
    }
}

/// Render the reply to a watch command (`/watch`, `/unwatch`, `/watches`,
/// `/uptime`) as Telegram HTML: the core's wording in [`Html`].
#[must_use]
pub fn watch_html(view: &WatchView) -> String {
    view.compose(&Html)
}

/// The caption of a `/graph` photo.
#[must_use]
pub fn graph_caption(v: &GraphView) -> String {
    let name = escape(&v.display);
    let mut out = format!(
        "📊 <b>{name}</b> — last {}: players (mean and peak), latency, and when it was offline.",
        v.range_label
    );
    if !v.has_history {
        let _ = write!(
            out,
            "\nNo history yet. Try <code>/watch {name}</code>: from then on every check is recorded."
        );
    }
    out
}
