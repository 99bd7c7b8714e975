//! Watches in Discord: the replies to `/watch`, `/unwatch`, `/watches`, `/uptime` and
//! `/graph` (the core's [watch views](mcstat_core::watch::views), worded by the core
//! in Discord Markdown ([`Md`]) and put in embeds), and [`DiscordNotifier`], the
//! core's [`Notifier`] posting to channels.
//!
//! A watch belongs to the channel it was asked in (`discord:<channel>`); the
//! scheduler tells that channel. In a guild, `/watch` and `/unwatch` need Manage
//! Server (checked in [`crate::interact`]); the [`WatchService`] writes every change
//! to the audit log.

use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;
use mcstat_core::Timestamp;
use mcstat_core::chat::UserError;
use mcstat_core::chat::watch;
use mcstat_core::ports::{ChartRenderer, Notification, Notifier, NotifyError};
use mcstat_core::watch::WatchService;
use mcstat_core::watch::markup::Markup;
use mcstat_core::watch::views::{DigestView, GraphView, NotificationView, WatchView};

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
            // The views keep under the limit; this is the guard Discord's 400 needs.
            description: Some(crate::render::truncate(&description, 4096)),
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

/// Discord Markdown for the core's [`Markup`]: commands and addresses are code
/// spans, times are `<t:unix:f>` (Discord shows them in the reader's zone).
#[derive(Debug, Clone, Copy, Default)]
pub struct Md;

impl Markup for Md {
    fn place(&self) -> &'static str {
        "channel"
    }

    fn text(&self, s: &str) -> String {
        escape_md(s)
    }

    fn bold(&self, marked: &str) -> String {
        format!("**{marked}**")
    }

    fn italic(&self, marked: &str) -> String {
        format!("*{marked}*")
    }

    fn code(&self, s: &str) -> String {
        format!("`{}`", unticked(s))
    }

    fn time(&self, at: Timestamp, _utc: &str) -> String {
        discord_time(at)
    }
}

/// Text for inside a code span (no backticks: they would end it).
fn unticked(s: &str) -> String {
    s.replace('`', "'")
}

/// The reply to a watch command other than `/graph`: the core's wording in [`Md`],
/// in an embed. Not watching what `/unwatch` names is told privately (ephemeral,
/// amber); `/uptime` is green from 99 % over 24 h, red under 90 %, amber between or
/// without data.
#[must_use]
pub fn watch_payload(view: &WatchView) -> MessagePayload {
    let color = match view {
        WatchView::Unwatched(v) if !v.removed => COLOR_DEGRADED,
        WatchView::Uptime(v) if v.has_history => match v.day_ratio {
            Some(x) if x >= 0.99 => COLOR_ONLINE,
            Some(x) if x < 0.9 => COLOR_OFFLINE,
            _ => COLOR_DEGRADED,
        },
        _ => COLOR_INFO,
    };
    let mut payload = embed(view.compose(&Md), color);
    if matches!(view, WatchView::Unwatched(v) if !v.removed) {
        payload.flags = Some(FLAG_EPHEMERAL);
    }
    payload
}

/// The reply to `/graph`: the chart as an attachment shown as the embed's image.
#[must_use]
pub fn graph_message(v: &GraphView, png: Vec<u8>) -> MessagePayload {
    let mut out = format!(
        "Last {}: players (mean and peak), latency, and when it was offline.",
        v.range_label
    );
    if !v.has_history {
        let _ = write!(
            out,
            "\nNo history yet. Try `/watch {}`: from then on every check is recorded.",
            unticked(&v.display)
        );
    }
    MessagePayload {
        embeds: vec![Embed {
            title: Some(format!("📊 {}", escape_md(&v.display))),
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

/// The message for the core's answer to a watch command
/// ([`answer`](mcstat_core::chat::watch::answer)): the view, or the error
/// (ephemeral).
#[must_use]
pub fn reply(answer: &Result<WatchView, UserError>) -> MessagePayload {
    match answer {
        Ok(view) => watch_payload(view),
        Err(e) => error_payload(e),
    }
}

/// Answer `/graph address [range]`: the chart, or an error.
pub async fn graph(
    service: &WatchService,
    charts: &Arc<dyn ChartRenderer>,
    address: Option<&str>,
    range: Option<&str>,
) -> MessagePayload {
    let (view, request) = match watch::graph_request(service, address, range).await {
        Ok(v) => v,
        Err(e) => return error_payload(&e),
    };
    let charts = Arc::clone(charts);
    let drawn = tokio::task::spawn_blocking(move || charts.render(&request))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| mcstat_service::ops::error_chain(&e)));
    match drawn {
        Ok(png) => graph_message(&view, png),
        Err(error) => {
            tracing::warn!(%error, "chart rendering failed");
            error_payload(&watch::chart_failed(&view))
        }
    }
}

/// The message for a notification: the core's icon and sentence, as plain text
/// (Markdown escaped, no mentions).
#[must_use]
pub fn notification_payload(n: &Notification) -> MessagePayload {
    let v = NotificationView::new(n);
    MessagePayload {
        content: Some(format!("{} {}", v.icon, escape_md(&v.text))),
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

impl DiscordNotifier {
    async fn post(
        &self,
        chat: &mcstat_core::ChatRef,
        payload: &MessagePayload,
    ) -> Result<(), NotifyError> {
        let channel = chat.id();
        if channel.is_empty() || !channel.bytes().all(|b| b.is_ascii_digit()) {
            // Not a channel id: nothing will ever deliver to it.
            return Err(NotifyError::ChatGone);
        }
        let outcome = |o: &'static str| {
            metrics::counter!("mcstat_discord_notifications_total", "outcome" => o).increment(1);
        };
        match self.rest.create_message_once(channel, payload).await {
            Ok(_) => {
                outcome("sent");
                Ok(())
            }
            Err(RestError::TooManyRequests {
                retry_after,
                global,
            }) => {
                outcome("rate_limited");
                Err(NotifyError::RateLimited {
                    retry_after,
                    global,
                })
            }
            Err(e) if channel_gone(&e) => {
                outcome("chat_gone");
                tracing::info!(%chat, error = %e, "channel gone; its watches are dropped");
                Err(NotifyError::ChatGone)
            }
            Err(e @ RestError::Refused { .. }) => {
                outcome("rejected");
                tracing::warn!(%chat, error = %e, "Discord refused a notification");
                Err(NotifyError::Rejected(Box::new(e)))
            }
            Err(e) => {
                outcome("failed");
                Err(NotifyError::Failed(Box::new(e)))
            }
        }
    }
}

/// The longest message content Discord accepts, in characters.
pub const CONTENT_LIMIT: usize = 2000;

/// Several notifications as one message within [`CONTENT_LIMIT`].
#[must_use]
pub fn digest_payload(batch: &[Notification]) -> MessagePayload {
    MessagePayload {
        content: Some(DigestView::new(batch).compose(&Md, CONTENT_LIMIT, |s| s.chars().count())),
        ..MessagePayload::default()
    }
}

#[async_trait]
impl Notifier for DiscordNotifier {
    async fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        self.post(&n.chat, &notification_payload(n)).await
    }

    async fn notify_digest(&self, batch: &[Notification]) -> Result<(), NotifyError> {
        match batch {
            [] => Ok(()),
            [one] => self.notify(one).await,
            [first, ..] => self.post(&first.chat, &digest_payload(batch)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mcstat_core::chart::ChartRange;
    use mcstat_core::ports::NotificationEvent;
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
            key: "k".into(),
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
        let target = "a.example".parse().expect("valid");
        let p = graph_message(&GraphView::new(&target, ChartRange::Week, 0), vec![1, 2, 3]);
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
        use mcstat_core::watch::views::Unwatched;
        let target = "a.example".parse().expect("valid");
        let unwatched =
            |removed| watch_payload(&WatchView::Unwatched(Unwatched::new(&target, removed)));
        let p = unwatched(false);
        assert_eq!(p.flags, Some(FLAG_EPHEMERAL));
        let p = unwatched(true);
        assert_eq!(p.flags, None);
    }
}
