//! The outbox: paced, durable, fair sending of everything a bot says.
//!
//! # The promise
//! - **Paced before sending.** Every message to a chat passes the [`Pacer`], which
//!   keeps the bot inside its platform's documented limits ([`PlatformLimits`]: a
//!   global rate per bot token, a rate per chat) so that a `429` is rare. With a
//!   shared backend (Redis) the limits are shared by every replica through the
//!   [`SendLimiter`](crate::ports::SendLimiter) port; with the file store each
//!   process has its own ([`MemoryLimiter`]). A `429` that comes anyway blocks the
//!   chat (or, when global, the bot) for its `retry_after` and the message is tried
//!   again after it, without counting as a failure.
//! - **Answers first.** A request for a turn carries a [`Priority`]: answers to a
//!   user's command, then notifications, then reports and digests. An answer has a
//!   deadline (30 s by default): one that cannot be sent by then is dropped and
//!   counted ([`OutboxEvent::Stale`]), never sent late.
//! - **Durable notifications.** The watch scheduler hands a notification to the
//!   [`OutboxNotifier`], which writes it to the [`OutboxStore`](crate::ports::OutboxStore)
//!   (the file store or Redis) **before** the scheduler records the sample that
//!   caused it; the [`Dispatcher`] removes it only when the platform accepted it. A
//!   restart, a Redis failover or a crash in a storm delivers the rest afterwards.
//!   Each notification has an idempotency key ([`Notification::key`]); the store
//!   accepts a key once (remembered for [`OutboxConfig::remember`]), so a change
//!   seen again after a crash, or by two replicas racing, is told once.
//!   **At most the messages in flight at a crash are sent twice** (at most one per
//!   chat, at most [`OutboxConfig::max_in_flight`] in all): the platform accepted
//!   them but the removal did not happen.
//! - **Gone chats are dropped at once**: a chat that blocked or removed the bot
//!   loses its pending entries and its watches at the first refusal.
//! - **Fair and compact.** Chats are served round-robin from each claimed batch,
//!   so one chat with 500 pending messages does not starve the others; a chat with
//!   more than [`OutboxConfig::digest_after`] pending notifications gets them as one
//!   digest message.
//! - **Visible.** The dispatcher reports [`OutboxEvent`]s (sent, `429`s, drops by
//!   reason, queue depth and oldest age per priority) for metrics and health.
//!
//! Quiet hours and scheduled digests defer into the same queue: an entry's
//! `not_before` is when it may go first, and [`Priority::Report`] comes last.

mod dispatch;
mod limits;
mod memory;
mod notifier;
mod pacer;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::{ChatRef, Platform, Timestamp};
use crate::ports::Notification;

#[cfg(test)]
mod tests;

pub use dispatch::{Dispatcher, DispatcherPorts};
pub use limits::{HEADROOM, PlatformLimits, documented};
pub use memory::{MemoryLimiter, MemoryOutbox};
pub use notifier::OutboxNotifier;
pub use pacer::{Pacer, Stale};

/// How urgent a message is; a more urgent one is sent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// The answer to a user's command: stale after its deadline.
    Answer,
    /// A watch notification.
    Notification,
    /// Scheduled reports and digests.
    Report,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Self; 3] = [Self::Answer, Self::Notification, Self::Report];

    /// A short name for metrics labels and store keys.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Notification => "notification",
            Self::Report => "report",
        }
    }

    /// `0` for the most urgent.
    #[must_use]
    pub const fn rank(self) -> u8 {
        self as u8
    }
}

/// One message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Unique per platform: the notification's idempotency key.
    pub id: String,
    /// Who it is for.
    pub chat: ChatRef,
    /// How urgent.
    pub priority: Priority,
    /// When it was first queued.
    pub created: Timestamp,
    /// The earliest time it may be sent (a retry's backoff, quiet hours).
    pub not_before: Timestamp,
    /// Failed attempts so far (a `429` does not count).
    pub attempts: u32,
    /// What to say.
    pub notification: Notification,
}

impl OutboxEntry {
    /// The entry for `notification`, due at once.
    #[must_use]
    pub fn notification(notification: Notification, priority: Priority, now: Timestamp) -> Self {
        Self {
            id: notification.key.clone(),
            chat: notification.chat.clone(),
            priority,
            created: now,
            not_before: now,
            attempts: 0,
            notification,
        }
    }

    /// The platform whose queue it is in.
    #[must_use]
    pub const fn platform(&self) -> Platform {
        self.chat.platform()
    }
}

/// Pending entries of one priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// How many are pending.
    pub pending: u64,
    /// When the oldest pending one was created.
    pub oldest: Option<Timestamp>,
}

/// What an [`OutboxStore`](crate::ports::OutboxStore) holds for one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Per priority, indexed by [`Priority::rank`].
    pub queues: [QueueStats; 3],
}

impl OutboxStats {
    /// The queue of one priority.
    #[must_use]
    pub const fn of(&self, priority: Priority) -> QueueStats {
        self.queues[priority.rank() as usize]
    }

    /// How old the oldest pending entry of `priority` is at `now`.
    #[must_use]
    pub fn oldest_age(&self, priority: Priority, now: Timestamp) -> Option<Duration> {
        self.of(priority).oldest.map(|t| now.since(t))
    }

    /// Pending entries of every priority.
    #[must_use]
    pub fn pending(&self) -> u64 {
        self.queues.iter().map(|q| q.pending).sum()
    }
}

/// How the outbox works; the defaults suit a public instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// How long a pushed id is remembered, so the same event is queued once
    /// (24 h).
    pub remember: Duration,
    /// How long a claim lasts: a dispatcher that dies gives its claimed entries back
    /// after this (30 s).
    pub claim_ttl: Duration,
    /// At most this many sends at once (16).
    pub max_in_flight: usize,
    /// At most this many entries claimed at once (64).
    pub claim_batch: usize,
    /// More pending notifications than this for one chat are sent as one digest
    /// (3).
    pub digest_after: usize,
    /// The most notifications in one digest (50; the rest go in the next).
    pub digest_max: usize,
    /// How long the dispatcher waits before looking for new entries when it found
    /// none (200 ms).
    pub idle_poll: Duration,
    /// The first backoff after a failed send; doubled per attempt up to
    /// `max_backoff` (2 s).
    pub first_backoff: Duration,
    /// The longest backoff (5 min).
    pub max_backoff: Duration,
    /// A notification still failing this long after it was created is given up
    /// (24 h), with a drop event.
    pub max_age: Duration,
    /// How often queue statistics are reported (5 s).
    pub stats_every: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            remember: Duration::from_secs(24 * 3600),
            claim_ttl: Duration::from_secs(30),
            max_in_flight: 16,
            claim_batch: 64,
            digest_after: 3,
            digest_max: 50,
            idle_poll: Duration::from_millis(200),
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            max_age: Duration::from_secs(24 * 3600),
            stats_every: Duration::from_secs(5),
        }
    }
}

impl OutboxConfig {
    /// The backoff before attempt `attempts + 1`.
    #[must_use]
    pub fn backoff(&self, attempts: u32) -> Duration {
        self.first_backoff
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
            .min(self.max_backoff)
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// An answer whose deadline passed before its turn.
    Stale,
    /// The chat is gone (blocked, kicked, deleted).
    ChatGone,
    /// The platform refused the message for good.
    Rejected,
    /// Still failing after [`OutboxConfig::max_age`].
    Expired,
}

impl DropReason {
    /// A short name for metrics labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::ChatGone => "chat_gone",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }
}

/// What the outbox reports, for metrics and health.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboxEvent {
    /// A message went out: `notifications` notifications in it (more than one is a
    /// digest).
    Sent {
        /// Its priority.
        priority: Priority,
        /// How many notifications it carried.
        notifications: usize,
    },
    /// The platform answered `429`.
    RateLimited {
        /// Whether the limit was the bot's global one.
        global: bool,
    },
    /// A send failed and will be tried again.
    Retried,
    /// Messages dropped for good.
    Dropped {
        /// Why.
        reason: DropReason,
        /// How many notifications (or answers).
        count: usize,
    },
    /// The queues of the platform, measured at `at`.
    Stats {
        /// The counts.
        stats: OutboxStats,
        /// When.
        at: Timestamp,
    },
}

/// Where outbox events go (a bot maps them to metrics).
pub type EventSink = std::sync::Arc<dyn Fn(OutboxEvent) + Send + Sync>;

/// A sink that ignores everything.
#[must_use]
pub fn no_events() -> EventSink {
    std::sync::Arc::new(|_| {})
}
