//! Core view models → Discord messages (embeds, components, the icon attachment).
//! Pure functions: the same reply always renders to the same message.
//!
//! - Colour: green when a server answered live, amber when the answer came from the
//!   cache (or a lookup could not be made now: rate limit, our side failing), red when
//!   it is offline or the request was wrong; blurple for help and about.
//! - The MOTD is an ```` ```ansi ```` block ([`crate::ansi`]); server-controlled
//!   text elsewhere is markdown-escaped, and no message ever pings anyone.
//! - The server icon is uploaded as `icon.png` and shown as the thumbnail.
//! - Buttons carry the core's callback data behind [`CUSTOM_ID_PREFIX`]; a select menu
//!   switches between recent servers.

use mcstat_core::Target;
use mcstat_core::chat::{
    About, Button, CallbackData, PlayersPage, Reply, StatusCard, TargetRef, UserError,
    UserErrorKind, View, display_target,
};
use mcstat_core::domain::{Freshness, PlayerSource, Protocol};
use serde_json::{Value, json};

use crate::ansi::motd_block;
use crate::commands::DISCORD_COMMANDS;
use crate::wire::{
    Embed, EmbedField, EmbedFooter, EmbedImage, FLAG_EPHEMERAL, FileUpload, MessagePayload,
};

/// Green: online, live answer.
pub const COLOR_ONLINE: u32 = 0x3B_A5_5C;
/// Red: offline, or a request that cannot be answered as asked.
pub const COLOR_OFFLINE: u32 = 0xED_42_45;
/// Amber: a cached answer, or a temporary problem.
pub const COLOR_DEGRADED: u32 = 0xFA_A6_1A;
/// Blurple: help, about.
pub const COLOR_INFO: u32 = 0x58_65_F2;

/// Every custom id this version of the bot writes starts with this; anything else is
/// stale (an older version's message) or foreign.
pub const CUSTOM_ID_PREFIX: &str = "mc1:";
/// The select menu's custom id; its values are targets in text form.
pub const PICK_ID: &str = "mc1:pick";
/// The attachment name of the server icon.
pub const ICON_NAME: &str = "icon.png";
/// Icons larger than this are not uploaded.
pub const MAX_ICON_BYTES: usize = 256 * 1024;

/// Escape Discord markdown in server-controlled text.
#[must_use]
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '-' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn field(name: &str, value: impl Into<String>, inline: bool) -> EmbedField {
    EmbedField {
        name: truncate(name, 256),
        value: truncate(&value.into(), 1024),
        inline,
    }
}

fn freshness_text(f: Freshness) -> String {
    match f {
        Freshness::Live => "live".to_owned(),
        Freshness::Cached { age_ms } => {
            let secs = age_ms / 1000;
            if secs < 90 {
                format!("cached {secs} s ago")
            } else {
                format!("cached {} min ago", secs / 60)
            }
        }
    }
}

fn count(n: Option<i64>) -> String {
    n.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

/// Context a message is rendered in: which recent servers the select menu offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderContext {
    /// Recent servers (most recent first) for the select menu; fewer than two: no menu.
    pub recent: Vec<Target>,
}

/// Render a core reply as a message.
#[must_use]
pub fn render_reply(reply: &Reply, ctx: &RenderContext) -> MessagePayload {
    let (embed, files, current) = match &reply.view {
        View::Status(card) => {
            let (embed, files) = status_embed(card);
            (embed, files, Some(&card.target))
        }
        View::Players(page) => (players_embed(page), Vec::new(), Some(&page.target)),
        View::Help { example, .. } | View::Welcome(mcstat_core::chat::Welcome { example, .. }) => {
            (help_embed(example), Vec::new(), None)
        }
        View::About(about) => (about_embed(about), Vec::new(), None),
        View::Error(e) => (error_embed(e), Vec::new(), None),
    };
    let mut components = buttons(&reply.buttons);
    if let Some(menu) = current.and_then(|t| server_menu(&ctx.recent, t)) {
        components.push(menu);
    }
    MessagePayload {
        embeds: vec![embed],
        components,
        attachments: files
            .iter()
            .enumerate()
            .map(|(n, f)| json!({ "id": n, "filename": f.filename }))
            .collect(),
        files,
        ..MessagePayload::default()
    }
}

/// A short ephemeral notice (only the invoking user sees it), e.g. for expired
/// buttons and permission refusals.
#[must_use]
pub fn notice(text: &str, color: u32) -> MessagePayload {
    MessagePayload {
        embeds: vec![Embed {
            description: Some(truncate(text, 4096)),
            color: Some(color),
            ..Embed::default()
        }],
        flags: Some(FLAG_EPHEMERAL),
        ..MessagePayload::default()
    }
}

/// The status embed and the icon file to upload with it.
#[must_use]
pub fn status_embed(card: &StatusCard) -> (Embed, Vec<FileUpload>) {
    let cached = matches!(card.freshness, Freshness::Cached { .. });
    let color = match (card.online, cached) {
        (false, _) => COLOR_OFFLINE,
        (true, true) => COLOR_DEGRADED,
        (true, false) => COLOR_ONLINE,
    };
    let dot = if card.online { "🟢" } else { "🔴" };
    let mut embed = Embed {
        title: Some(truncate(&format!("{dot} {}", card.display), 256)),
        color: Some(color),
        ..Embed::default()
    };
    let mut files = Vec::new();
    if card.online {
        embed.description = motd_block(&card.motd);
        if let Some(v) = &card.version {
            embed.fields.push(field("Version", escape_md(v), true));
        }
        embed.fields.push(field(
            "Players",
            format!(
                "{} / {}",
                count(card.players_online),
                count(card.players_max)
            ),
            true,
        ));
        if let Some(ms) = card.latency_ms {
            embed
                .fields
                .push(field("Latency", format!("{ms} ms"), true));
        }
        if let Some(mode) = &card.game_mode {
            embed.fields.push(field("Game mode", escape_md(mode), true));
        }
        if let Some(map) = &card.map {
            embed.fields.push(field("Map", escape_md(map), true));
        }
        if let Some(mods) = card.mod_count {
            embed.fields.push(field("Mods", mods.to_string(), true));
        }
        if !card.sample.is_empty() {
            let names: Vec<String> = card.sample.iter().map(|n| escape_md(n)).collect();
            embed
                .fields
                .push(field("Online now", names.join(", "), false));
        }
        if let Some(icon) = card
            .icon_png
            .as_ref()
            .filter(|b| b.len() <= MAX_ICON_BYTES && b.starts_with(b"\x89PNG\r\n\x1a\n"))
        {
            embed.thumbnail = Some(EmbedImage {
                url: format!("attachment://{ICON_NAME}"),
            });
            files.push(FileUpload {
                filename: ICON_NAME.to_owned(),
                bytes: icon.clone(),
            });
        }
    } else {
        let mut text = format!(
            "**Offline**: {}",
            escape_md(card.offline_reason.as_deref().unwrap_or("no answer"))
        );
        if let Some(hint) = &card.hint {
            text.push('\n');
            text.push_str(&escape_md(hint));
        }
        embed.description = Some(truncate(&text, 4096));
    }
    let protocol = card.protocol.map(|p| match p {
        Protocol::Java => "Java",
        Protocol::Legacy => "Java (legacy ping)",
        Protocol::Query => "Query",
        Protocol::Bedrock => "Bedrock",
    });
    let mut footer = freshness_text(card.freshness);
    if let Some(p) = protocol {
        footer = format!("{p} · {footer}");
    }
    embed.footer = Some(EmbedFooter {
        text: format!("{footer} · mcstat"),
    });
    (embed, files)
}

/// One page of the player list.
#[must_use]
pub fn players_embed(page: &PlayersPage) -> Embed {
    let cached = matches!(page.freshness, Freshness::Cached { .. });
    let mut description = if page.names.is_empty() {
        match page.source {
            PlayerSource::CountOnly => "The server does not list names.".to_owned(),
            _ if page.online == Some(0) => "Nobody is online.".to_owned(),
            _ => "The server lists no names right now.".to_owned(),
        }
    } else {
        let start = page.page * mcstat_core::chat::PAGE_SIZE;
        page.names
            .iter()
            .enumerate()
            .map(|(n, name)| format!("`{:>3}` {}", start + n + 1, escape_md(name)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if page.source == PlayerSource::Sample && page.online.unwrap_or(0) > page.total_names as i64 {
        description.push_str("\n*The server shows only a sample of the names.*");
    }
    Embed {
        title: Some(truncate(
            &format!(
                "👥 {} / {} on {}",
                count(page.online),
                count(page.max),
                page.display
            ),
            256,
        )),
        description: Some(truncate(&description, 4096)),
        color: Some(if cached { COLOR_DEGRADED } else { COLOR_ONLINE }),
        footer: Some(EmbedFooter {
            text: format!(
                "Page {}/{} · {} name{} · {} · mcstat",
                page.page + 1,
                page.page_count,
                page.total_names,
                if page.total_names == 1 { "" } else { "s" },
                freshness_text(page.freshness)
            ),
        }),
        ..Embed::default()
    }
}

/// The help embed: every Discord command.
#[must_use]
pub fn help_embed(example: &str) -> Embed {
    let lines: Vec<String> = DISCORD_COMMANDS
        .iter()
        .map(|c| format!("`/{}{}` — {}", c.name, c.usage, c.description))
        .collect();
    Embed {
        title: Some("mcstat — Minecraft server status".to_owned()),
        description: Some(truncate(
            &format!(
                "{}\n\nAddresses: `{example}`, `{example}:25566`, `bedrock:{example}` for Bedrock. \
                 Without an address, `/status` shows this channel's last server.",
                lines.join("\n")
            ),
            4096,
        )),
        color: Some(COLOR_INFO),
        ..Embed::default()
    }
}

/// The about embed.
#[must_use]
pub fn about_embed(about: &About) -> Embed {
    Embed {
        title: Some(truncate(&format!("{} {}", about.name, about.version), 256)),
        description: Some(truncate(&about.description, 4096)),
        url: about
            .repository
            .starts_with("https://")
            .then(|| about.repository.clone()),
        color: Some(COLOR_INFO),
        fields: vec![
            field("Code", about.repository.clone(), false),
            field("Licence", about.license.clone(), true),
        ],
        ..Embed::default()
    }
}

/// A user error: red when the request was wrong, amber when waiting helps.
#[must_use]
pub fn error_embed(e: &UserError) -> Embed {
    let color = match e.kind {
        UserErrorKind::RateLimited { .. } | UserErrorKind::Unavailable => COLOR_DEGRADED,
        _ => COLOR_OFFLINE,
    };
    Embed {
        description: Some(truncate(&escape_md(&e.message), 4096)),
        color: Some(color),
        ..Embed::default()
    }
}

fn button(b: &Button) -> Value {
    json!({
        "type": 2,
        "style": 2,
        "label": truncate(&b.label, 80),
        "custom_id": format!("{CUSTOM_ID_PREFIX}{}", b.data),
    })
}

/// Core button rows as Discord action rows (at most 5 buttons a row, 4 rows: the
/// fifth is kept for the server menu).
#[must_use]
pub fn buttons(rows: &[Vec<Button>]) -> Vec<Value> {
    rows.iter()
        .filter(|r| !r.is_empty())
        .take(4)
        .map(|row| json!({ "type": 1, "components": row.iter().take(5).map(button).collect::<Vec<_>>() }))
        .collect()
}

/// The select menu of recent servers, with `current` selected; `None` when there is
/// nothing to switch to.
#[must_use]
pub fn server_menu(recent: &[Target], current: &Target) -> Option<Value> {
    let mut options: Vec<Value> = Vec::new();
    let mut seen = Vec::new();
    for t in std::iter::once(current).chain(recent.iter()) {
        let value = t.to_string();
        if value.len() > 100 || seen.contains(&value) {
            continue;
        }
        options.push(json!({
            "label": truncate(&display_target(t), 100),
            "value": value,
            "default": t == current,
        }));
        seen.push(value);
        if options.len() == 25 {
            break;
        }
    }
    (options.len() >= 2).then(|| {
        json!({
            "type": 1,
            "components": [{
                "type": 3,
                "custom_id": PICK_ID,
                "placeholder": "Switch server…",
                "options": options,
            }]
        })
    })
}

/// The callback data a menu choice stands for: the status of the chosen server.
#[must_use]
pub fn pick_callback(value: &str) -> Option<String> {
    let target: Target = value.parse().ok()?;
    Some(
        CallbackData::Status {
            target: TargetRef::Server(target),
            refresh: false,
        }
        .encode(),
    )
}
