//! Ports: the async traits adapters implement. Each trait's docs state its contract.
//!
//! Ports are `dyn`-compatible (via `async-trait`) so a binary can choose a backend at
//! run time (`Arc<dyn ChatStore>`). With the `mocks` feature every port has a mockall
//! mock (`MockStatusSource`, ...) that panics on any call it was not told to expect.

use std::time::Duration;

use async_trait::async_trait;

use crate::chart::ChartRequest;
use crate::domain::{
    AuditEntry, ChatRef, ChatState, HistorySample, Platform, PlayerList, StatusOutcome, Target,
    Timestamp, Watch,
};
use crate::history::Stream;
use crate::policy::PolicyViolation;

/// A boxed error from a backend (I/O, Redis, the database), kept for the cause chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a [`StatusSource`] could not produce an outcome at all.
///
/// "The server is offline" is **not** an error: it is
/// [`StatusOutcome::Offline`]. Errors are what the user should be told differently.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Every address the name resolved to (or the literal) is refused by the
    /// [`TargetPolicy`](crate::policy::TargetPolicy).
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The source itself failed (e.g. no DNS configuration, out of sockets).
    #[error("status source failed")]
    Backend(#[source] BoxError),
}

/// Looks servers up on the network.
///
/// Contract:
/// - MUST check every resolved IP against the target policy it was built with **right
///   before** connecting to it, and never connect to a refused one; when every IP is
///   refused it MUST return [`SourceError::Policy`].
/// - MUST bound every lookup by one overall deadline and return
///   [`StatusOutcome::Offline`] (not an error) for a host that does not resolve,
///   refuses, times out or answers with something that is not a status.
/// - Java targets: modern ping first, legacy ping as fallback; Bedrock targets: the
///   unconnected ping. The report says which protocol answered.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait StatusSource: Send + Sync {
    /// The status of `target`, taken now.
    ///
    /// # Errors
    /// [`SourceError`] as described on the trait.
    async fn status(&self, target: &Target) -> Result<StatusOutcome, SourceError>;

    /// Who is on `target`: Query's full list when the server answers Query, else the
    /// status sample. `Ok(None)` when the server is offline.
    ///
    /// # Errors
    /// [`SourceError`] as described on the trait.
    async fn players(&self, target: &Target) -> Result<Option<PlayerList>, SourceError>;
}

/// Why a store or cache operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached now (Redis down, timeout). Retrying later may work.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Stored data cannot be read: corrupt, or written by an unknown format version.
    /// Never answered by silently resetting data.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("store failed")]
    Backend(#[source] BoxError),
}

/// What a cache holds for one key. Every value carries the time it was taken, so an
/// answer served from a cache can say how old it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
// Adjacently tagged. Stores keep a stored form of their own (the Redis cache does).
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum CachedValue {
    /// A status outcome (online or offline).
    Status(StatusOutcome),
    /// A player list.
    Players(PlayerList),
    /// A players lookup the server did not answer (it is offline): no list.
    NoPlayerList {
        /// When the answer came (the lookup ended without a player list).
        taken_at: Timestamp,
    },
}

impl CachedValue {
    /// When the answer (or the failure) happened.
    #[must_use]
    pub const fn taken_at(&self) -> Timestamp {
        match self {
            Self::Status(outcome) => outcome.taken_at(),
            Self::Players(list) => list.taken_at,
            Self::NoPlayerList { taken_at } => *taken_at,
        }
    }

    /// A players answer as [`StatusSource::players`] gives it (`None`: offline),
    /// taken at `taken_at` when there is no list to carry the time.
    #[must_use]
    pub fn players(list: Option<PlayerList>, taken_at: Timestamp) -> Self {
        list.map_or(Self::NoPlayerList { taken_at }, Self::Players)
    }
}

/// A cache of lookup results with per-entry time to live.
///
/// Contract: `get` MUST NOT return an entry after its TTL passed (measured by the
/// cache's own clock or the backend's expiry); a cache MAY forget entries early
/// (bounded memory). A failing backend returns [`StoreError::Unavailable`]; the
/// caller treats that as a miss.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait StatusCache: Send + Sync {
    /// The entry under `key`, if present and not expired.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn get(&self, key: &str) -> Result<Option<CachedValue>, StoreError>;

    /// Store `value` under `key` for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn put(&self, key: &str, value: &CachedValue, ttl: Duration) -> Result<(), StoreError>;
}

/// Per-chat state: last server, recent servers, settings.
///
/// Contract: a `put_chat` that returned `Ok` is durable (survives a crash of the
/// process for the file store) and visible to every later `chat` call, from any
/// replica for shared backends.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// The chat's state, `None` if never stored.
    ///
    /// # Errors
    /// [`StoreError`]; [`StoreError::Corrupt`] for unreadable data.
    async fn chat(&self, chat: &ChatRef) -> Result<Option<ChatState>, StoreError>;

    /// Replace the chat's state.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn put_chat(&self, chat: &ChatRef, state: &ChatState) -> Result<(), StoreError>;

    /// Check that the backend is reachable (for `/readyz`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it is not.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Watches: which chat watches which server.
///
/// Contract: one watch per (chat, target key); `add_watch` of an existing pair
/// replaces it and returns `false`. Durable like [`ChatStore`].
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WatchStore: Send + Sync {
    /// Add (or replace) a watch. `true` if it is new.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn add_watch(&self, watch: &Watch) -> Result<bool, StoreError>;

    /// Remove a watch. `true` if it existed.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn remove_watch(&self, chat: &ChatRef, target: &Target) -> Result<bool, StoreError>;

    /// The watches of one chat, ordered by target key.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn watches_of(&self, chat: &ChatRef) -> Result<Vec<Watch>, StoreError>;

    /// Every watch (for the scheduler), ordered by target key then chat.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn all_watches(&self) -> Result<Vec<Watch>, StoreError>;
}

/// The history of watched servers, kept compact and tiered (see
/// [`crate::history`]): a small head and append-only byte chunks per target and
/// stream. Stores keep bytes; what the bytes mean (rollups, outages, the encodings)
/// lives in core, so every store keeps exactly the same history.
///
/// Contract: [`append_samples`](Self::append_samples) prepares each target's samples
/// with [`history::prepare`](crate::history::prepare) against the head it holds and
/// applies the result (the new head and every [`ChunkWrite`](crate::history::ChunkWrite))
/// atomically per target: two writers racing never lose or double an update. A chunk
/// is deleted only when [`prune`](Self::prune) finds it past its
/// [`expires_at`](crate::history::HistoryConfig::expires_at) (or, on Redis, by key
/// expiry at that time).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Append samples (of any targets; e.g. every poll that finished together).
    /// Durable on return, like [`ChatStore::put_chat`].
    ///
    /// # Errors
    /// [`StoreError`].
    async fn append_samples(&self, samples: &[HistorySample]) -> Result<(), StoreError>;

    /// The head bytes of `target` (`None`: no history).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn head(&self, target: &Target) -> Result<Option<Vec<u8>>, StoreError>;

    /// The chunks of `stream` of `target` numbered `first..=last` that exist, in
    /// ascending order, with their numbers.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn chunks(
        &self,
        target: &Target,
        stream: Stream,
        first: u64,
        last: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// Delete every chunk past its retention at `now` (and heads of series that are
    /// entirely past it); returns how many chunks were deleted.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError>;
}

/// The audit log of setting changes (who changed what, when).
///
/// Contract: append-only; entries come back newest first.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Append an entry.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` entries of `scope`, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn audit_entries(
        &self,
        scope: &ChatRef,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Everything a frontend stores, in one object (blanket-implemented).
pub trait SessionStore: ChatStore + WatchStore + HistoryStore + AuditLog {}

impl<T: ChatStore + WatchStore + HistoryStore + AuditLog + ?Sized> SessionStore for T {}

/// A notification for a chat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// The idempotency key of the event for this chat: the same change of the same
    /// server for the same chat has the same key on every replica and after a
    /// restart (e.g. `all:java:a.example:25565:down:1700000000000:telegram:42`), so a
    /// durable outbox accepts it once. At most
    /// [`MAX_NOTIFICATION_KEY`] bytes.
    pub key: String,
    /// The chat to tell.
    pub chat: ChatRef,
    /// The server it is about.
    pub target: Target,
    /// What happened.
    pub event: NotificationEvent,
    /// When it was detected.
    pub at: Timestamp,
}

/// The longest [`Notification::key`].
pub const MAX_NOTIFICATION_KEY: usize = 512;

/// What a notification reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotificationEvent {
    /// The server stopped answering; it had been up for `up_for` (if known).
    WentDown {
        /// How long it had been up.
        up_for: Option<Duration>,
    },
    /// The server answers again after being down for `down_for` (if known).
    CameBack {
        /// How long it was down.
        down_for: Option<Duration>,
    },
    /// A named player joined.
    PlayerJoined(String),
    /// A named player left.
    PlayerLeft(String),
}

/// Why a notification could not be delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The chat no longer accepts messages (bot removed, chat deleted): the watch
    /// should be dropped.
    #[error("the chat is gone")]
    ChatGone,
    /// The chat has a new id (a Telegram group upgraded to a supergroup): its
    /// watches should move to `0` and the notification go there.
    #[error("the chat moved to {0}")]
    ChatMoved(ChatRef),
    /// The platform failed; retrying later may work.
    #[error("delivery failed")]
    Failed(#[source] BoxError),
    /// The platform said to wait (`429` with `retry_after`): for this chat, or for
    /// every request of the bot when `global`.
    #[error("rate limited for {retry_after:?}{}", if *.global { " (global)" } else { "" })]
    RateLimited {
        /// How long the platform asked to wait.
        retry_after: Duration,
        /// Whether the limit is the bot's global one rather than this chat's.
        global: bool,
    },
    /// The platform refused this message for good (e.g. `400 Bad Request`): sending
    /// it again cannot work.
    #[error("the platform refused the message")]
    Rejected(#[source] BoxError),
}

/// Delivers notifications to chats on one platform.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Deliver one notification.
    ///
    /// # Errors
    /// [`NotifyError`].
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError>;

    /// Deliver several notifications for one chat as **one** message (a digest:
    /// "12 servers went down: …"), within the platform's length limit. All of
    /// `batch` is for `batch[0].chat`. The default sends a one-item batch with
    /// [`notify`](Self::notify) and fails a longer one with
    /// [`NotifyError::Rejected`]; platform notifiers override it.
    ///
    /// # Errors
    /// [`NotifyError`].
    async fn notify_digest(&self, batch: &[Notification]) -> Result<(), NotifyError> {
        match batch {
            [] => Ok(()),
            [one] => self.notify(one).await,
            _ => Err(NotifyError::Rejected(
                "this notifier sends no digests".into(),
            )),
        }
    }

    /// Whether this notifier takes notifications durably and exactly once per
    /// [`Notification::key`] (an outbox): the watch scheduler then leaves
    /// deduplication across replicas to it instead of taking a lease per change.
    fn idempotent(&self) -> bool {
        false
    }
}

/// A pace for [`SendLimiter`]: up to `burst` sends at once, then one every
/// `interval` (the generic cell rate algorithm: `burst` 30 and `interval` 33 ms is
/// "30 a second, with a burst of 30").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pace {
    /// The time one send uses up.
    pub interval: Duration,
    /// How many sends may go back to back.
    pub burst: u32,
}

impl Pace {
    /// `count` sends per `per`, with a burst of `burst`.
    #[must_use]
    pub fn per(count: u32, per: Duration, burst: u32) -> Self {
        Self {
            interval: per / count.max(1),
            burst: burst.max(1),
        }
    }
}

/// Rate limits on sending, keyed (the bot's global limit, one per chat), shared by
/// every replica of a bot when the backend is shared: the limits belong to the bot
/// token, not to a process.
///
/// Contract:
/// - `acquire(key, pace)` MUST atomically either grant one send (and count it) and
///   return `Duration::ZERO`, or count nothing and return how long until a send
///   would be granted. Over any window of length `w`, at most
///   `burst + w / interval` sends are granted per key, across all replicas.
/// - `block(key, pace, d)` MUST make `acquire` refuse under `key` for `d` from now
///   (a platform's `retry_after`); it never shortens an existing wait.
/// - Keys are independent; an unused key costs nothing after its wait has passed.
/// - A failing backend returns [`StoreError::Unavailable`] (the caller falls back
///   to a limiter of its own process).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SendLimiter: Send + Sync {
    /// Take one send under `key`, or learn how long to wait.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn acquire(&self, key: &str, pace: Pace) -> Result<Duration, StoreError>;

    /// Refuse every send under `key` for `d`.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn block(&self, key: &str, pace: Pace, d: Duration) -> Result<(), StoreError>;
}

/// Messages waiting to be sent, kept until the platform accepted them
/// ([`crate::outbox`] has the design). Entries are grouped by the platform of
/// their chat; ids are unique per platform.
///
/// Contract:
/// - `push(entries, now, remember)` adds each entry whose id was not pushed before
///   within `remember` of `now` (whether still pending or already completed) and returns how
///   many it added; adding is atomic per entry and idempotent.
/// - `claim(platform, now, max, ttl)` returns up to `max` entries of `platform`
///   that are due (`due ≤ now`), the most urgent [`Priority`](crate::outbox::Priority)
///   first and, within one, the earliest due first; each returned entry is due
///   again at `now + ttl`, so a claimer that dies gives it back after `ttl`, and no
///   other claimer gets it before. A new entry is due at its `not_before`.
/// - `claim_chat(chat, now, max, ttl)` is `claim` for one chat's entries only (the
///   dispatcher gathers a chat's backlog into one digest), in the same order and
///   with the same effect on each returned entry.
/// - `complete(platform, ids)` removes entries for good (unknown ids are ignored);
///   their ids stay remembered for `push`.
/// - `reschedule(entries)` stores each entry's new `attempts` and makes it due at
///   its `not_before`, **only if it is still pending** (a completed or dropped
///   entry is never brought back).
/// - `drop_chat(chat)` removes every pending entry of `chat` and returns how many.
/// - `stats(platform)` counts pending entries and finds the oldest `created` per
///   priority.
/// - Everything is durable on return: a crash after `push` returned loses nothing.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Add new entries; returns how many were new.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn push(
        &self,
        entries: &[crate::outbox::OutboxEntry],
        now: Timestamp,
        remember: Duration,
    ) -> Result<usize, StoreError>;

    /// Claim due entries.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn claim(
        &self,
        platform: Platform,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<crate::outbox::OutboxEntry>, StoreError>;

    /// Claim one chat's due entries.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn claim_chat(
        &self,
        chat: &ChatRef,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<crate::outbox::OutboxEntry>, StoreError>;

    /// Remove delivered (or given up) entries.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn complete(&self, platform: Platform, ids: &[String]) -> Result<(), StoreError>;

    /// Store new attempt counts and due times of pending entries.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn reschedule(&self, entries: &[crate::outbox::OutboxEntry]) -> Result<(), StoreError>;

    /// Remove every pending entry of a chat.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn drop_chat(&self, chat: &ChatRef) -> Result<usize, StoreError>;

    /// Pending counts and ages.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn stats(&self, platform: Platform) -> Result<crate::outbox::OutboxStats, StoreError>;
}

/// Short-lived exclusive leases, so several replicas share work without doing it twice
/// (the watch scheduler's polls and notification dedupe).
///
/// Contract:
/// - `try_acquire(key, holder, ttl)` MUST atomically grant the lease when `key` is
///   free or its lease expired, and renew it (expiry = now + `ttl`) when `holder`
///   already holds it; it MUST refuse (`Ok(false)`) while another holder's lease is
///   live. Every replica sharing a backend sees the same leases.
/// - A lease ends by itself `ttl` after its last grant: a replica that dies gives its
///   work away within one TTL.
/// - `release(key, holder)` ends the lease only if `holder` holds it.
/// - A failing backend returns [`StoreError::Unavailable`]; the caller chooses what
///   an unknown answer means (the watch scheduler skips a poll, but still delivers
///   a notification: better told twice than never).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LeasePort: Send + Sync {
    /// Take or renew the lease on `key` for `holder`, for `ttl`. `true` if `holder`
    /// now holds it.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn try_acquire(&self, key: &str, holder: &str, ttl: Duration)
    -> Result<bool, StoreError>;

    /// End `holder`'s lease on `key` (nothing if another holder has it). `true` if a
    /// lease was ended.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn release(&self, key: &str, holder: &str) -> Result<bool, StoreError>;
}

/// Why a [`ChartRenderer`] could not draw a chart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// The drawing or the image encoding failed (a bug or a missing resource such
    /// as the font, never the data: every [`ChartRequest`] can be drawn).
    #[error("chart rendering failed")]
    Render(#[source] BoxError),
}

/// Draws history charts (`/graph`) as PNG images.
///
/// Contract:
/// - MUST return a PNG for every [`ChartRequest`]: no samples (a chart saying there is
///   no data yet), one sample, only failed samples, any values up to `u32::MAX`.
/// - MUST draw what [`ChartRequest::series`] prepared (players, latency, offline
///   shading, [`ChartRequest::title`], [`ChartRange::tick_label`](crate::chart::ChartRange::tick_label)
///   labels in UTC) and decide nothing about the data itself.
/// - MUST NOT depend on the machine (no system fonts): the same request gives the
///   same image anywhere.
/// - Rendering is CPU work without I/O; an async caller runs it on a blocking pool.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait ChartRenderer: Send + Sync {
    /// The chart as PNG bytes.
    ///
    /// # Errors
    /// [`ChartError`] as described on the trait.
    fn render(&self, request: &ChartRequest) -> Result<Vec<u8>, ChartError>;
}

/// Wall-clock time and sleeping. The core has no clock of its own.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;

    /// Wait for `d` (a fake clock may advance itself instead).
    async fn sleep(&self, d: Duration);
}

/// A clock that only moves when told to (tests). `sleep` first lets work that is
/// ready run (it yields to the executor [`ManualClock::SLEEP_YIELDS`] times, as
/// time passing would), then advances the clock by the whole duration and returns.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: std::sync::atomic::AtomicU64,
}

impl ManualClock {
    /// A clock showing `start`.
    #[must_use]
    pub const fn new(start: Timestamp) -> Self {
        Self {
            now_ms: std::sync::atomic::AtomicU64::new(start.0),
        }
    }

    /// How many times `sleep` yields before it advances the clock: a task that
    /// waits on a sleep and on other futures at once (the watch scheduler's polls)
    /// sees those that only need a few turns of the executor finish first.
    pub const SLEEP_YIELDS: usize = 16;

    /// Move the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.now_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// Set the clock.
    pub fn set(&self, t: Timestamp) {
        self.now_ms.store(t.0, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now_ms.load(std::sync::atomic::Ordering::SeqCst))
    }

    async fn sleep(&self, d: Duration) {
        for _ in 0..Self::SLEEP_YIELDS {
            yield_now().await;
        }
        self.advance(d);
    }
}

/// Return to the executor once (wake at once, then finish).
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}
