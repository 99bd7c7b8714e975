//! [`TelegramNotifier`]: the core's [`Notifier`] on the Bot API. The watch scheduler
//! tells chats through it that a server went down, came back, or that a player came
//! or went.

use async_trait::async_trait;
use mcstat_core::ports::{Notification, Notifier, NotifyError};
use mcstat_core::watch::views::NotificationView;
use mcstat_core::{ChatRef, Platform};
use teloxide::prelude::Requester as _;
use teloxide::requests::HasPayload as _;
use teloxide::types::{ChatId, ParseMode};
use teloxide::{ApiError, Bot, RequestError};

use crate::api::call;
use crate::render::escape;

/// Sends notifications as HTML messages (with the retries of [`call`]: 429 and 5xx).
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
}

/// The message for a notification: the core's icon and sentence, escaped.
#[must_use]
pub fn notification_html(n: &Notification) -> String {
    let v = NotificationView::new(n);
    format!("{} {}", v.icon, escape(&v.text))
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
        let Ok(id) = n.chat.id().parse::<i64>() else {
            // Not a Telegram chat id: nothing will ever deliver to it.
            return Err(NotifyError::ChatGone);
        };
        let mut req = self.bot.send_message(ChatId(id), notification_html(n));
        let p = req.payload_mut();
        p.parse_mode = Some(ParseMode::Html);
        p.link_preview_options = Some(crate::handlers::no_preview());
        match call(req).await {
            Ok(_) => {
                metrics::counter!("mcstat_telegram_notifications_total", "outcome" => "sent")
                    .increment(1);
                Ok(())
            }
            Err(RequestError::MigrateToChatId(to)) if to.0 != id => {
                metrics::counter!("mcstat_telegram_notifications_total", "outcome" => "chat_moved")
                    .increment(1);
                let to = ChatRef::new(Platform::Telegram, to.0.to_string())
                    .map_err(|e| NotifyError::Failed(Box::new(e)))?;
                tracing::info!(chat = %n.chat, %to, "group upgraded to a supergroup; its watches move");
                Err(NotifyError::ChatMoved(to))
            }
            Err(e) if chat_gone(&e) => {
                metrics::counter!("mcstat_telegram_notifications_total", "outcome" => "chat_gone")
                    .increment(1);
                tracing::info!(chat = %n.chat, error = %e, "chat gone; its watches are dropped");
                Err(NotifyError::ChatGone)
            }
            Err(e) => {
                metrics::counter!("mcstat_telegram_notifications_total", "outcome" => "failed")
                    .increment(1);
                tracing::warn!(chat = %n.chat, error = %e, "notification not delivered");
                Err(NotifyError::Failed(Box::new(e)))
            }
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
