//! [`PlatformLimits`]: the documented sending limits of each platform.

use std::time::Duration;

use crate::domain::{ChatRef, Platform};
use crate::ports::Pace;

/// The limits a bot keeps to on one platform. The defaults are the platforms'
/// documented values, spaced evenly (a burst of one) and with [`HEADROOM`] to
/// spare, so that no window of the documented length ever holds more than the limit
/// even when the network delays one message more than the next:
///
/// | platform | global | per chat |
/// |---|---|---|
/// | Telegram | 30 messages a second | 1 a second; groups (negative ids) 20 a minute |
/// | Discord | 50 requests a second | 5 per 5 s per channel (`POST /channels/{id}/messages`) |
///
/// Discord's interaction answers are not bound to the global limit (Discord's
/// documentation says so) and do not pass the pacer; Telegram's answers are
/// ordinary messages and do, first in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformLimits {
    /// Which platform.
    pub platform: Platform,
    /// Every message of the bot.
    pub global: Pace,
    /// One private chat (Telegram), one channel (Discord).
    pub chat: Pace,
    /// One group chat (Telegram ids below zero); Discord uses `chat`.
    pub group: Pace,
    /// How long an answer may wait for its turn before it is dropped (30 s).
    pub answer_deadline: Duration,
}

/// How much slower than a documented limit the default paces are (3 %): the limit
/// is counted where messages arrive, and two messages sent one interval apart can
/// arrive closer together.
pub const HEADROOM: f64 = 1.03;

/// `count` per `per`, evenly spaced, with [`HEADROOM`].
#[must_use]
pub fn documented(count: u32, per: Duration) -> Pace {
    let pace = Pace::per(count, per, 1);
    Pace {
        interval: pace.interval.mul_f64(HEADROOM),
        ..pace
    }
}

impl PlatformLimits {
    /// Telegram's documented limits.
    #[must_use]
    pub fn telegram() -> Self {
        Self {
            platform: Platform::Telegram,
            global: documented(30, Duration::from_secs(1)),
            chat: documented(1, Duration::from_secs(1)),
            group: documented(20, Duration::from_secs(60)),
            answer_deadline: Duration::from_secs(30),
        }
    }

    /// Discord's documented limits.
    #[must_use]
    pub fn discord() -> Self {
        Self {
            platform: Platform::Discord,
            global: documented(50, Duration::from_secs(1)),
            chat: documented(5, Duration::from_secs(5)),
            group: documented(5, Duration::from_secs(5)),
            // Follow-ups are accepted for 15 minutes; the first answer within 3 s is
            // sent outside the pacer.
            answer_deadline: Duration::from_secs(30),
        }
    }

    /// The documented limits of `platform` (the API client has none: unlimited).
    #[must_use]
    pub fn for_platform(platform: Platform) -> Self {
        match platform {
            Platform::Discord => Self::discord(),
            Platform::Telegram => Self::telegram(),
            other => Self {
                platform: other,
                global: Pace {
                    interval: Duration::ZERO,
                    burst: 1,
                },
                chat: Pace {
                    interval: Duration::ZERO,
                    burst: 1,
                },
                group: Pace {
                    interval: Duration::ZERO,
                    burst: 1,
                },
                answer_deadline: Duration::from_secs(30),
            },
        }
    }

    /// The pace of one chat.
    #[must_use]
    pub fn chat_pace(&self, chat: &ChatRef) -> Pace {
        if self.platform == Platform::Telegram && chat.id().starts_with('-') {
            self.group
        } else {
            self.chat
        }
    }

    /// The limiter key of the bot's global limit.
    #[must_use]
    pub fn global_key(&self) -> String {
        format!("send:{}:global", self.platform)
    }

    /// The limiter key of one chat.
    #[must_use]
    pub fn chat_key(&self, chat: &ChatRef) -> String {
        format!("send:{}:chat:{}", self.platform, chat.id())
    }
}
