//! Watches in Discord: the replies to `/watch`, `/unwatch`, `/watches`, `/uptime` and
//! `/graph` (pure renderers over the core's [`WatchService`] results), and
//! [`DiscordNotifier`], the core's [`Notifier`] posting to channels.
//!
//! A watch belongs to the channel it was asked in (`discord:<channel>`); the
//! scheduler tells that channel. In a guild, `/watch` and `/unwatch` need Manage
//! Server (checked in [`crate::interact`]); the [`WatchService`] writes every change
//! to the audit log.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::chart::ChartRange;
use mcstat_core::chat::watch::{chart_range, watch_error, watch_target};
use mcstat_core::chat::{UserError, UserErrorKind, WatchCommand, display_target};
use mcstat_core::ports::{ChartRenderer, Notification, NotificationEvent, Notifier, NotifyError};
use mcstat_core::watch::text::{format_duration, format_ratio, notification_text};
use mcstat_core::watch::{
    AddOutcome, TargetState, UptimeReport, UptimeWindow, WatchService, WatchSummary,
};
use mcstat_core::{ChatRef, Timestamp, UserRef};

use crate::render::{
    COLOR_DEGRADED, COLOR_INFO, COLOR_OFFLINE, COLOR_ONLINE, error_embed, escape_md,
};
use crate::rest::{DiscordRest, RestError};
use crate::wire::{Embed, EmbedImage, FLAG_EPHEMERAL, FileUpload, MessagePayload};

/// The file name of a `/graph` chart.
pub const GRAPH_FILE: &str = "graph.png";

/// An embed message (public).
fn embed(description: String, color: u32) -> MessagePayload {
    MessagePayload {
        embeds: vec![Embed {
            description: Some(description),
            color: Some(color),
            ..Embed::default()
        }],
        ..MessagePayload::default()
    }
}

/// A user error as an ephemeral message (only the invoker sees it).
#[must_use]
pub fn error_payload(e: &UserError) -> MessagePayload {
    MessagePayload {
        embeds: vec![error_embed(e)],
        flags: Some(FLAG_EPHEMERAL),
        ..MessagePayload::default()
    }
}

/// `<t:unix:f>`: Discord shows the time in the reader's zone.
fn discord_time(t: Timestamp) -> String {
    format!("<t:{}:f>", t.as_millis() / 1000)
}

/// The reply to `/watch`.
#[must_use]
pub fn watch_added(
    display: &str,
    outcome: AddOutcome,
    players: &[String],
    interval: Duration,
) -> MessagePayload {
    let name = escape_md(display);
    let mut out = match outcome {
        AddOutcome::Added => format!(
            "👀 Watching **{name}**: I'll tell this channel when it goes down or comes back (checked every {}).",
            format_duration(interval)
        ),
        AddOutcome::Updated => {
            format!("👀 This channel already watches **{name}**; its player list is updated.")
        }
    };
    if players.is_empty() {
        if outcome == AddOutcome::Updated {
            out.push_str("\nNo players followed.");
        }
    } else {
        let names: Vec<String> = players.iter().map(|p| escape_md(p)).collect();
        let _ = write!(
            out,
            "\nPlayers followed (joins and leaves): {}",
            names.join(", ")
        );
    }
    let _ = write!(
        out,
        "\n`/uptime {display}` shows its uptime; `/unwatch {display}` stops."
    );
    embed(out, COLOR_INFO)
}

/// The reply to `/unwatch`.
#[must_use]
pub fn unwatched(display: &str, removed: bool) -> MessagePayload {
    let name = escape_md(display);
    if removed {
        embed(
            format!("🛑 Stopped watching **{name}** in this channel."),
            COLOR_INFO,
        )
    } else {
        let mut p = embed(
            format!("💡 This channel does not watch **{name}**. `/watches` lists what it watches."),
            COLOR_DEGRADED,
        );
        p.flags = Some(FLAG_EPHEMERAL);
        p
    }
}

fn state_text(state: TargetState, now: Timestamp) -> (&'static str, String) {
    match state {
        TargetState::Up { since: Some(t) } => {
            ("🟢", format!("up for {}", format_duration(now.since(t))))
        }
        TargetState::Up { since: None } => ("🟢", "up".to_owned()),
        TargetState::Down { since: Some(t) } => {
            ("🔴", format!("down for {}", format_duration(now.since(t))))
        }
        TargetState::Down { since: None } => ("🔴", "down".to_owned()),
        TargetState::Unknown => ("⚪", "not checked yet".to_owned()),
    }
}

/// The reply to `/watches` (at `now`; `max`: how many a channel may watch).
#[must_use]
pub fn watch_list(list: &[WatchSummary], max: usize, now: Timestamp) -> MessagePayload {
    if list.is_empty() {
        return embed(
            "👀 This channel watches no servers yet. Try `/watch play.example.net`".to_owned(),
            COLOR_INFO,
        );
    }
    let mut out = format!("👀 **Watched servers** ({}/{max})", list.len());
    for s in list {
        let (icon, state) = state_text(s.state, now);
        let _ = write!(
            out,
            "\n{icon} `{}` — {state} · 24 h: {}",
            display_target(&s.watch.target).replace('`', "'"),
            format_ratio(s.day.ratio())
        );
        if !s.watch.players.is_empty() {
            let names: Vec<String> = s.watch.players.iter().map(|p| escape_md(p)).collect();
            let _ = write!(out, "\n  players: {}", names.join(", "));
        }
    }
    out.push_str("\n`/uptime address` for details; `/unwatch address` to stop.");
    embed(out, COLOR_INFO)
}

fn window_line(out: &mut String, label: &str, w: &UptimeWindow) {
    let _ = write!(out, "\n{label}: **{}**", format_ratio(w.ratio()));
    let known = w.up + w.down;
    if w.ratio().is_some() && w.coverage() < 0.95 {
        let _ = write!(out, " *(of the {} with data)*", format_duration(known));
    }
}

/// The reply to `/uptime`.
#[must_use]
pub fn uptime_report(display: &str, r: &UptimeReport) -> MessagePayload {
    let name = escape_md(display);
    if r.samples == 0 {
        return embed(
            format!(
                "📈 No history for **{name}** yet. Try `/watch {display}`: from then on every check is recorded."
            ),
            COLOR_INFO,
        );
    }
    let mut out = format!("📈 **Uptime of {name}**");
    window_line(&mut out, "24 h", &r.day);
    window_line(&mut out, "7 d", &r.week);
    window_line(&mut out, "30 d", &r.month);
    if r.outages.is_empty() {
        out.push_str("\n\nNo outages recorded.");
    } else {
        out.push_str("\n\n**Last outages**");
        for o in &r.outages {
            let length = format_duration(o.duration);
            match o.end {
                Some(_) => {
                    let _ = write!(out, "\n• {} — {length}", discord_time(o.start));
                }
                None => {
                    let _ = write!(
                        out,
                        "\n• {} — **ongoing**, {length} so far",
                        discord_time(o.start)
                    );
                }
            }
        }
    }
    if let Some((at, online)) = r.last_sample {
        let _ = write!(
            out,
            "\nLast check: {} ({})",
            discord_time(at),
            if online { "answered" } else { "no answer" }
        );
    }
    let color = match r.day.ratio() {
        Some(x) if x >= 0.99 => COLOR_ONLINE,
        Some(x) if x < 0.9 => COLOR_OFFLINE,
        _ => COLOR_DEGRADED,
    };
    embed(out, color)
}

/// The reply to `/graph`: the chart as an attachment shown as the embed's image
/// (`samples`: how many polls it is drawn from).
#[must_use]
pub fn graph_message(
    display: &str,
    range: ChartRange,
    samples: usize,
    png: Vec<u8>,
) -> MessagePayload {
    let name = escape_md(display);
    let mut out = format!(
        "Last {}: players (mean and peak), latency, and when it was offline.",
        range.label()
    );
    if samples == 0 {
        let _ = write!(
            out,
            "\nNo history yet. Try `/watch {display}`: from then on every check is recorded."
        );
    }
    MessagePayload {
        embeds: vec![Embed {
            title: Some(format!("📊 {name}")),
            description: Some(out),
            color: Some(COLOR_INFO),
            image: Some(EmbedImage {
                url: format!("attachment://{GRAPH_FILE}"),
            }),
            ..Embed::default()
        }],
        attachments: vec![serde_json::json!({"id": 0, "filename": GRAPH_FILE})],
        files: vec![FileUpload {
            filename: GRAPH_FILE.to_owned(),
            bytes: png,
        }],
        ..MessagePayload::default()
    }
}

/// Answer a watch command other than `/graph` in `chat` (asked by `user`).
/// Errors come back ephemeral.
pub async fn answer(
    service: &WatchService,
    chat: &ChatRef,
    user: &UserRef,
    command: WatchCommand,
    now: Timestamp,
) -> MessagePayload {
    enum Act {
        Watch(Vec<String>),
        Unwatch,
        Uptime,
    }
    let name = command.name();
    let (address, act) = match command {
        WatchCommand::List => {
            return match service.watches(chat).await {
                Ok(list) => watch_list(&list, service.config().max_watches_per_chat, now),
                Err(e) => error_payload(&watch_error(&e, None)),
            };
        }
        WatchCommand::Watch { address, players } => (address, Act::Watch(players)),
        WatchCommand::Unwatch { address } => (address, Act::Unwatch),
        WatchCommand::Uptime { address } | WatchCommand::Graph { address, .. } => {
            (address, Act::Uptime)
        }
    };
    let target = match watch_target(address.as_deref(), name) {
        Ok(t) => t,
        Err(e) => return error_payload(&e),
    };
    let shown = display_target(&target);
    let result = match act {
        Act::Watch(players) => service
            .watch(chat, user, &target, &players)
            .await
            .map(|outcome| {
                let mut shown_players: Vec<String> = Vec::new();
                for p in players.iter().map(|p| p.trim()) {
                    if !shown_players.iter().any(|s| s.eq_ignore_ascii_case(p)) {
                        shown_players.push(p.to_owned());
                    }
                }
                watch_added(&shown, outcome, &shown_players, service.config().interval)
            }),
        Act::Unwatch => service
            .unwatch(chat, user, &target)
            .await
            .map(|removed| unwatched(&shown, removed)),
        Act::Uptime => service
            .uptime(&target)
            .await
            .map(|report| uptime_report(&shown, &report)),
    };
    result.unwrap_or_else(|e| error_payload(&watch_error(&e, Some(&target))))
}

/// Answer `/graph address [range]`: the chart, or an error.
pub async fn graph(
    service: &WatchService,
    charts: &Arc<dyn ChartRenderer>,
    address: Option<&str>,
    range: Option<&str>,
) -> MessagePayload {
    let parsed = watch_target(address, "graph").and_then(|t| Ok((t, chart_range(range)?)));
    let (target, range) = match parsed {
        Ok(v) => v,
        Err(e) => return error_payload(&e),
    };
    let request = match service.chart(&target, range).await {
        Ok(r) => r,
        Err(e) => return error_payload(&watch_error(&e, Some(&target))),
    };
    let samples = request.samples.len();
    let charts = Arc::clone(charts);
    let drawn = tokio::task::spawn_blocking(move || charts.render(&request))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| mcstat_service::ops::error_chain(&e)));
    let shown = display_target(&target);
    match drawn {
        Ok(png) => graph_message(&shown, range, samples, png),
        Err(error) => {
            tracing::warn!(%error, "chart rendering failed");
            error_payload(&UserError::new(
                UserErrorKind::Unavailable,
                format!("I could not draw that chart. Try /uptime {shown} for the figures"),
            ))
        }
    }
}

/// The message for a notification: an icon and the core's sentence, as plain text
/// (Markdown escaped, no mentions).
#[must_use]
pub fn notification_payload(n: &Notification) -> MessagePayload {
    let icon = match &n.event {
        NotificationEvent::WentDown { .. } => "🔴",
        NotificationEvent::CameBack { .. } => "🟢",
        NotificationEvent::PlayerJoined(_) => "👋",
        NotificationEvent::PlayerLeft(_) => "🚪",
        _ => "🔔",
    };
    MessagePayload {
        content: Some(format!("{icon} {}", escape_md(&notification_text(n)))),
        ..MessagePayload::default()
    }
}

/// Whether a failed post means the channel will never take messages from the bot
/// again: 403 (Missing Access, Missing Permissions) or 404 (Unknown Channel).
#[must_use]
pub const fn channel_gone(e: &RestError) -> bool {
    matches!(
        e,
        RestError::Refused {
            status: 403 | 404,
            ..
        }
    )
}

/// Posts notifications to channels through the bot's REST client.
#[derive(Debug, Clone)]
pub struct DiscordNotifier {
    rest: Arc<DiscordRest>,
}

impl DiscordNotifier {
    /// A notifier posting with `rest`.
    #[must_use]
    pub const fn new(rest: Arc<DiscordRest>) -> Self {
        Self { rest }
    }
}

#[async_trait]
impl Notifier for DiscordNotifier {
    async fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        let channel = n.chat.id();
        if channel.is_empty() || !channel.bytes().all(|b| b.is_ascii_digit()) {
            // Not a channel id: nothing will ever deliver to it.
            return Err(NotifyError::ChatGone);
        }
        match self
            .rest
            .create_message(channel, &notification_payload(n))
            .await
        {
            Ok(_) => {
                metrics::counter!("mcstat_discord_notifications_total", "outcome" => "sent")
                    .increment(1);
                Ok(())
            }
            Err(e) if channel_gone(&e) => {
                metrics::counter!("mcstat_discord_notifications_total", "outcome" => "chat_gone")
                    .increment(1);
                tracing::info!(chat = %n.chat, error = %e, "channel gone; its watches are dropped");
                Err(NotifyError::ChatGone)
            }
            Err(e) => {
                metrics::counter!("mcstat_discord_notifications_total", "outcome" => "failed")
                    .increment(1);
                tracing::warn!(chat = %n.chat, error = %e, "notification not delivered");
                Err(NotifyError::Failed(Box::new(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use mcstat_core::{ChatRef, Platform};

    use super::*;

    #[test]
    fn gone_channels_are_told_from_other_failures() {
        let refused = |status| RestError::Refused {
            status,
            body: "{}".into(),
        };
        assert!(channel_gone(&refused(403)));
        assert!(channel_gone(&refused(404)));
        assert!(!channel_gone(&refused(400)));
        assert!(!channel_gone(&RestError::Unavailable {
            attempts: 3,
            last: "502".into()
        }));
        assert!(!channel_gone(&RestError::RateLimited(Duration::from_secs(
            9
        ))));
    }

    #[test]
    fn notifications_are_plain_text_without_mentions() {
        let n = Notification {
            chat: ChatRef::new(Platform::Discord, "7").expect("valid"),
            target: "a.example".parse().expect("valid"),
            event: NotificationEvent::PlayerJoined("**@everyone**".into()),
            at: Timestamp(0),
        };
        let p = notification_payload(&n);
        let content = p.content.as_deref().expect("content");
        assert!(content.starts_with("👋 "), "{content}");
        assert!(!content.contains("**@"), "{content}");
        assert!(p.embeds.is_empty());
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["allowed_mentions"]["parse"], serde_json::json!([]));
        let n = Notification {
            event: NotificationEvent::CameBack {
                down_for: Some(Duration::from_secs(125)),
            },
            ..n
        };
        assert_eq!(
            notification_payload(&n).content.as_deref(),
            Some("🟢 a.example is back up after 2 min.")
        );
    }

    #[test]
    fn graph_shows_its_attachment_as_the_embed_image() {
        let p = graph_message("a.example", ChartRange::Week, 0, vec![1, 2, 3]);
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["embeds"][0]["image"]["url"], "attachment://graph.png");
        assert_eq!(json["attachments"][0]["filename"], "graph.png");
        assert_eq!(p.files.len(), 1);
        assert!(
            p.embeds[0]
                .description
                .as_deref()
                .is_some_and(|d| d.contains("No history yet")),
        );
    }

    #[test]
    fn unwatching_nothing_is_private_and_hints_the_list() {
        let p = unwatched("a.example", false);
        assert_eq!(p.flags, Some(FLAG_EPHEMERAL));
        let p = unwatched("a.example", true);
        assert_eq!(p.flags, None);
    }
}
