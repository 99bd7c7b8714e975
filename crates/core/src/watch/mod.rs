//! Watches: chats told when a server goes down, comes back, or when named players
//! join or leave; uptime from the history of polls.
//!
//! Three parts, all over ports (no I/O, time only from the [`Clock`](crate::ports::Clock)):
//!
//! - [`WatchService`]: what the bots call for `/watch`, `/unwatch`, `/watches` and
//!   `/uptime` (limits per chat, player names, the target policy, the audit log).
//! - [`Scheduler`]: polls every watched server once per interval, at a per-target
//!   offset (jitter) so polls spread over the interval, at most
//!   [`WatchConfig::max_concurrency`] at once, one poll per target whatever the number
//!   of chats watching it. Each poll starts when it comes due (wake-ups batched
//!   within [`WatchConfig::batch_window`]); a server that stalls until the deadline
//!   holds one of the concurrent slots, never the schedule. After a start, the polls
//!   missed in the current interval are spread over [`WatchConfig::start_spread`]. Each poll appends a [`HistorySample`](crate::domain::HistorySample),
//!   feeds the target's [`TargetTracker`] (up/down with debounce, player diffs) and
//!   sends the resulting notifications through the [`Notifier`](crate::ports::Notifier)
//!   (a [`NotifierRouter`] holds one per platform). Drive it with
//!   [`Scheduler::run`], or step it with [`Scheduler::poll_once`] in tests.
//! - [`uptime`]: pure functions from samples to uptime ratios and outages.
//! - [`text`]: the same plain-text wording of notifications, durations, ratios and
//!   times for every bot.
//! - [`views`]: the view models of the watch replies and notifications, and
//!   [`markup`]: their wording, composed through a bot's [`Markup`](markup::Markup)
//!   (Telegram HTML, Discord Markdown).
//!
//! ## Wiring (a bot's `main`)
//! ```
//! use std::sync::Arc;
//!
//! use mcstat_core::Platform;
//! use mcstat_core::ports::{Clock, HistoryStore, LeasePort, Notifier, StatusSource, WatchStore};
//! use mcstat_core::watch::{
//!     MemoryLeases, NotifierRouter, Scheduler, SchedulerPorts, WatchConfig, WatchService,
//! };
//!
//! /// `store`: the file store or Redis; `leases`: `MemoryLeases` for one process,
//! /// the Redis leases for replicas; `telegram`: this bot's `Notifier`.
//! fn wire<S: WatchStore + HistoryStore + 'static>(
//!     store: Arc<S>,
//!     source: Arc<dyn StatusSource>,
//!     leases: Arc<dyn LeasePort>,
//!     telegram: Arc<dyn Notifier>,
//!     clock: Arc<dyn Clock>,
//!     replica: &str,
//! ) -> (WatchService, Scheduler) {
//!     let config = WatchConfig::default();
//!     let service = WatchService::new(store.clone(), store.clone(), clock.clone(), config.clone());
//!     let ports = SchedulerPorts {
//!         watches: store.clone(),
//!         history: store,
//!         source,
//!         notifier: Arc::new(NotifierRouter::new().with(Platform::Telegram, telegram)),
//!         leases,
//!         clock,
//!     };
//!     let scheduler = Scheduler::new(ports, config, replica).for_platforms([Platform::Telegram]);
//!     // Then: tokio::spawn(async move { scheduler.run(shutdown_signal).await });
//!     (service, scheduler)
//! }
//! # let _ = wire::<Never>;
//! # let _ = MemoryLeases::new;
//! # struct Never(mcstat_core::history::MemoryHistory);
//! # #[async_trait::async_trait]
//! # impl WatchStore for Never {
//! #     async fn add_watch(&self, _: &mcstat_core::Watch) -> Result<bool, mcstat_core::ports::StoreError> { unimplemented!() }
//! #     async fn remove_watch(&self, _: &mcstat_core::ChatRef, _: &mcstat_core::Target) -> Result<bool, mcstat_core::ports::StoreError> { unimplemented!() }
//! #     async fn watches_of(&self, _: &mcstat_core::ChatRef) -> Result<Vec<mcstat_core::Watch>, mcstat_core::ports::StoreError> { unimplemented!() }
//! #     async fn all_watches(&self) -> Result<Vec<mcstat_core::Watch>, mcstat_core::ports::StoreError> { unimplemented!() }
//! # }
//! # #[async_trait::async_trait]
//! # impl HistoryStore for Never {
//! #     async fn append_samples(&self, s: &[mcstat_core::HistorySample]) -> Result<(), mcstat_core::ports::StoreError> { self.0.append_samples(s).await }
//! #     async fn head(&self, t: &mcstat_core::Target) -> Result<Option<Vec<u8>>, mcstat_core::ports::StoreError> { self.0.head(t).await }
//! #     async fn chunks(&self, t: &mcstat_core::Target, s: mcstat_core::history::Stream, a: u64, b: u64) -> Result<Vec<(u64, Vec<u8>)>, mcstat_core::ports::StoreError> { self.0.chunks(t, s, a, b).await }
//! #     async fn prune(&self, now: mcstat_core::Timestamp) -> Result<u64, mcstat_core::ports::StoreError> { self.0.prune(now).await }
//! # }
//! ```
//!
//! ## Several replicas
//! Replicas sharing one store share the work through the [`LeasePort`](crate::ports::LeasePort):
//! a replica polls a target only while it holds the lease `poll:<scope>:<target key>`
//! (scope: `all`, or the platforms of [`Scheduler::for_platforms`]), taken
//! with a TTL of 1.5 intervals and renewed by every poll. The holder keeps a target
//! (its in-memory tracker stays exact); when it dies, the lease ends within 1.5
//! intervals and the next replica whose poll time comes takes the target over,
//! rebuilding the tracker from the shared history. Each interval slot is polled at
//! most once in total. Transition notifications are also deduplicated by a lease
//! on `notify:<scope>:<target key>:<down|up>:<outage start>`. [`MemoryLeases`]
//! serves a single process.
//!
//! Watches whose chat id contains `:` are marker records of other features (the
//! Discord bot's live messages), not chats: the scheduler skips them
//! ([`is_chat_watch`], replaceable with [`Scheduler::with_filter`]).
//!
//! A process that runs one bot only serves its platform's watches
//! ([`Scheduler::for_platforms`]); the Telegram and the Discord processes then each
//! poll a server both watch (once per interval each).

mod lease;
pub mod markup;
mod notify;
mod scheduler;
mod service;
pub mod slot;
pub mod text;
pub mod tracker;
pub mod uptime;
pub mod views;

use std::num::NonZeroU32;
use std::time::Duration;

pub use lease::MemoryLeases;
pub use notify::{NoNotifier, NotifierRouter};
pub use scheduler::{PollReport, Scheduler, SchedulerPorts, is_chat_watch};
pub(crate) use service::clean_players;
pub use service::{
    AddOutcome, MAX_PLAYER_NAME_LEN, WatchError, WatchService, WatchSummary, move_chat,
};
pub use tracker::{Change, Observation, PlayerView, TargetState, TargetTracker, player_key};
pub use uptime::{Outage, UptimeReport, UptimeWindow};

use crate::history::HistoryConfig;
use crate::policy::TargetPolicy;

/// Settings of the watch service and the scheduler (one value for both, so they
/// agree on the interval and the debounce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchConfig {
    /// How many servers one chat may watch (10).
    pub max_watches_per_chat: usize,
    /// How many player names one watch may follow (10).
    pub max_players_per_watch: usize,
    /// How often each watched server is polled (60 s; at least
    /// [`WatchConfig::MIN_INTERVAL`]).
    pub interval: Duration,
    /// How many consecutive failed polls make an outage (2): one lost ping is not
    /// one. One answering poll ends it.
    pub down_after: NonZeroU32,
    /// How long each history tier is kept (raw 48 h, 5-minute 14 d, hourly 90 d,
    /// daily 400 d); its gap cap and outage threshold are taken from
    /// [`interval`](Self::interval) and [`down_after`](Self::down_after) by
    /// [`history_config`](Self::history_config).
    pub history: HistoryConfig,
    /// How often old history is pruned (1 h; one replica per period; in
    /// [`Scheduler::run`] at most every 100 ms).
    pub prune_every: Duration,
    /// How many polls may run at once (64). With [`Scheduler::run`] a poll starts
    /// when it comes due and a slot is free, so this bounds the servers that may
    /// stall until the deadline at once without delaying the others: at 100,000
    /// watches per minute (1,667 polls/s) and 20 ms per poll, 34 run at once.
    pub max_concurrency: usize,
    /// How close together polls coming due start in one wake-up of
    /// [`Scheduler::run`] (100 ms): while fewer than
    /// [`max_concurrency`](Self::max_concurrency) polls run, a poll starts at most
    /// this late, and the scheduler wakes at most once per window for polls (instead
    /// of once per poll).
    pub batch_window: Duration,
    /// Over how long the polls of targets seen for the first time whose poll time in
    /// the current interval has already passed are spread (10 s, at most one
    /// interval): after a start, or for watches added since the last reload. Each
    /// comes at the same fraction of the spread as its jitter is of the interval,
    /// so a start catches up in the targets' usual order instead of all at once.
    /// Zero polls them at once.
    pub start_spread: Duration,
    /// How often the scheduler re-reads the watch list (10 s; in [`Scheduler::run`]
    /// at least every 100 ms): a new watch is polled within this time plus
    /// [`start_spread`](Self::start_spread).
    pub reload_every: Duration,
    /// How much history a tracker is rebuilt from after a restart or a takeover
    /// (24 h). An up or down period that began before it is reported without length.
    pub state_lookback: Duration,
    /// How long a notification dedupe lease lives (1 h).
    pub notify_dedupe_ttl: Duration,
    /// How many outages an uptime report lists (5).
    pub max_outages: usize,
    /// Which addresses may be watched (IP literals are checked when a watch is added;
    /// the status source checks resolved addresses on every poll).
    pub policy: TargetPolicy,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            max_watches_per_chat: 10,
            max_players_per_watch: 10,
            interval: Duration::from_secs(60),
            down_after: NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN),
            history: HistoryConfig::default(),
            prune_every: Duration::from_secs(3600),
            max_concurrency: 64,
            batch_window: Duration::from_millis(100),
            start_spread: Duration::from_secs(10),
            reload_every: Duration::from_secs(10),
            state_lookback: uptime::DAY,
            notify_dedupe_ttl: Duration::from_secs(3600),
            max_outages: 5,
            policy: TargetPolicy::public_only(),
        }
    }
}

impl WatchConfig {
    /// The history settings stores are opened with: [`history`](Self::history) with
    /// a gap cap of two intervals and outages from [`down_after`](Self::down_after)
    /// failed polls, so rollups count time exactly as the uptime maths do.
    #[must_use]
    pub fn history_config(&self) -> HistoryConfig {
        HistoryConfig {
            gap_cap: self.interval.max(Self::MIN_INTERVAL).saturating_mul(2),
            outage_after: self.down_after,
            ..self.history.clone()
        }
    }

    /// The shortest poll interval: smaller values count as this.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

    /// The settings with the interval at least [`Self::MIN_INTERVAL`] and the
    /// concurrency at least 1 (what the services use).
    #[must_use]
    pub fn normalized(mut self) -> Self {
        self.interval = self.interval.max(Self::MIN_INTERVAL);
        self.max_concurrency = self.max_concurrency.max(1);
        self
    }

    /// The TTL of a poll lease: 1.5 intervals, so the holder's renewal always comes
    /// before it ends, and a dead holder's targets move on within one more interval.
    #[must_use]
    pub fn poll_lease_ttl(&self) -> Duration {
        self.interval.saturating_add(self.interval / 2)
    }
}
