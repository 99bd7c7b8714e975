//! [`TelegramNotifier`]: the core's [`Notifier`] on the Bot API. The watch scheduler
//! tells chats through it that a server went down, came back, or that a player came
//! or went.

use async_trait::async_trait;
use mcstat_core::ports::{Notification, Notifier, NotifyError};
use mcstat_core::watch::views::{DigestView, NotificationView};
use mcstat_core::{ChatRef, Platform};
use teloxide::prelude::Requester as _;
use teloxide::requests::{HasPayload as _, Request as _};
use teloxide::types::{ChatId, ParseMode};
use teloxide::{ApiError, Bot, RequestError};

use crate::render::escape;

/// Sends notifications as HTML messages, **one attempt each**: the outbox's
/// dispatcher paces, retries and reschedules, so a 429 or a 5xx comes back to it as
/// [`NotifyError::RateLimited`] or [`NotifyError::Failed`] at once.
#[derive(Debug, Clone)]
pub struct TelegramNotifier {
    bot: Bot,
}

impl TelegramNotifier {
    /// A notifier sending with `bot`.
    #[must_use]
    pub const fn new(bot: Bot) -> Self {
        Self { bot }
    }

    async fn send(&self, chat: &ChatRef, html: String) -> Result<(), NotifyError> {
        let Ok(id) = chat.id().parse::<i64>() else {
            // Not a Telegram chat id: nothing will ever deliver to it.
            return Err(NotifyError::ChatGone);
        };
        let mut req = self.bot.send_message(ChatId(id), html);
        let p = req.payload_mut();
        p.parse_mode = Some(ParseMode::Html);
        p.link_preview_options = Some(crate::handlers::no_preview());
        let outcome = |o: &'static str| {
            metrics::counter!("mcstat_telegram_notifications_total", "outcome" => o).increment(1);
        };
        match req.send().await {
            Ok(_) => {
                outcome("sent");
                Ok(())
            }
            Err(RequestError::MigrateToChatId(to)) if to.0 != id => {
                outcome("chat_moved");
                let to = ChatRef::new(Platform::Telegram, to.0.to_string())
                    .map_err(|e| NotifyError::Failed(Box::new(e)))?;
                tracing::info!(%chat, %to, "group upgraded to a supergroup; its watches move");
                Err(NotifyError::ChatMoved(to))
            }
            Err(RequestError::RetryAfter(s)) => {
                outcome("rate_limited");
                // Telegram does not say which limit; the chat's is the usual one
                // (the pacer keeps the bot under the global one).
                Err(NotifyError::RateLimited {
                    retry_after: s.duration().max(std::time::Duration::from_secs(1)),
                    global: false,
                })
            }
            Err(e) if chat_gone(&e) => {
                outcome("chat_gone");
                tracing::info!(%chat, error = %e, "chat gone; its watches are dropped");
                Err(NotifyError::ChatGone)
            }
            Err(e) if crate::api::classify(&e).is_some() => {
                outcome("failed");
                Err(NotifyError::Failed(Box::new(e)))
            }
            Err(e) => {
                outcome("rejected");
                tracing::warn!(%chat, error = %e, "Telegram refused a notification");
                Err(NotifyError::Rejected(Box::new(e)))
            }
        }
    }
}

/// The message for a notification: the core's icon and sentence, escaped.
#[must_use]
pub fn notification_html(n: &Notification) -> String {
    let v = NotificationView::new(n);
    format!("{} {}", v.icon, escape(&v.text))
}

/// The longest message Telegram accepts, in UTF-16 code units of visible text.
pub const MESSAGE_LIMIT: usize = 4096;

/// Several notifications as one message within [`MESSAGE_LIMIT`].
#[must_use]
pub fn digest_html(batch: &[Notification]) -> String {
    DigestView::new(batch).compose(&crate::render::Html, MESSAGE_LIMIT, |s| {
        crate::handlers::visible_len(s)
    })
}

/// Whether a failed send means the chat will never accept messages again: the bot
/// was blocked, kicked or never let in, the user is deactivated, the chat is gone
/// (Telegram's 403 answers, and 400 "chat not found").
#[must_use]
pub fn chat_gone(e: &RequestError) -> bool {
    match e {
        RequestError::Api(api) => match api {
            ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation => true,
            ApiError::Unknown(description) => {
                description.starts_with("Forbidden:")
                    || description.contains("chat not found")
                    || description.contains("group chat was deactivated")
            }
            _ => false,
        },
        _ => false,
    }
}

#[async_trait]
impl Notifier for TelegramNotifier {
    async fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        self.send(&n.chat, notification_html(n)).await
    }

    async fn notify_digest(&self, batch: &[Notification]) -> Result<(), NotifyError> {
        match batch {
            [] => Ok(()),
            [one] => self.notify(one).await,
            [first, ..] => self.send(&first.chat, digest_html(batch)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mcstat_core::ports::NotificationEvent;
    use mcstat_core::{ChatRef, Platform, Timestamp};

    use super::*;

    #[test]
    fn gone_chats_are_told_from_other_failures() {
        assert!(chat_gone(&RequestError::Api(ApiError::BotBlocked)));
        assert!(chat_gone(&RequestError::Api(ApiError::ChatNotFound)));
        assert!(chat_gone(&RequestError::Api(ApiError::Unknown(
            "Forbidden: bot is not a member of the channel chat".into()
        ))));
        assert!(!chat_gone(&RequestError::Api(ApiError::Unknown(
            "Internal Server Error".into()
        ))));
        assert!(!chat_gone(&RequestError::Api(ApiError::MessageTextIsEmpty)));
        assert!(!chat_gone(&RequestError::Io(std::sync::Arc::new(
            std::io::Error::other("reset")
        ))));
    }

    #[test]
    fn messages_are_escaped_with_an_icon() {
        let n = Notification {
            key: "k".into(),
            chat: ChatRef::new(Platform::Telegram, "7").expect("valid"),
            target: "a.example".parse().expect("valid"),
            event: NotificationEvent::PlayerJoined("<b>x</b>".into()),
            at: Timestamp(0),
        };
        assert_eq!(
            notification_html(&n),
            "👋 &lt;b&gt;x&lt;/b&gt; joined a.example."
        );
        let n = Notification {
            event: NotificationEvent::CameBack {
                down_for: Some(Duration::from_secs(125)),
            },
            ..n
        };
        assert_eq!(
            notification_html(&n),
            "🟢 a.example is back up after 2 min."
        );
    }
}
