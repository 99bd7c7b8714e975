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
//!   of chats watching it. Each poll appends a [`HistorySample`](crate::domain::HistorySample),
//!   feeds the target's [`TargetTracker`] (up/down with debounce, player diffs) and
//!   sends the resulting notifications through the [`Notifier`](crate::ports::Notifier)
//!   (a [`NotifierRouter`] holds one per platform). Drive it with
//!   [`Scheduler::run`], or step it with [`Scheduler::poll_once`] in tests.
//! - [`uptime`]: pure functions from samples to uptime ratios and outages.
//!
//! ## Several replicas
//! Replicas sharing one store share the work through the [`LeasePort`](crate::ports::LeasePort):
//! a replica polls a target only while it holds the lease `poll:<target key>`, taken
//! with a TTL of 1.5 intervals and renewed by every poll. The holder keeps a target
//! (its in-memory tracker stays exact); when it dies, the lease ends within 1.5
//! intervals and the next replica whose poll time comes takes the target over,
//! rebuilding the tracker from the shared history. Each interval slot is polled at
//! most once in total. Transition notifications are also deduplicated by a lease
//! on `notify:<target key>:<down|up>:<outage start>`. [`MemoryLeases`] serves a
//! single process.

mod lease;
mod notify;
mod scheduler;
mod service;
pub mod slot;
pub mod tracker;
pub mod uptime;

use std::num::NonZeroU32;
use std::time::Duration;

pub use lease::MemoryLeases;
pub use notify::{NoNotifier, NotifierRouter};
pub use scheduler::{PollReport, Scheduler, SchedulerPorts};
pub use service::{AddOutcome, MAX_PLAYER_NAME_LEN, WatchError, WatchService, WatchSummary};
pub use tracker::{Change, Observation, PlayerView, TargetState, TargetTracker};
pub use uptime::{Outage, UptimeReport, UptimeWindow};

use crate::policy::TargetPolicy;

/// Settings of the watch service and the scheduler (one value for both, so they
/// agree on the interval and the debounce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchConfig {
    /// How many servers one chat may watch (10).
    pub max_watches_per_chat: usize,
    /// How many player names one watch may follow (10).
    pub max_players_per_watch: usize,
    /// How often each watched server is polled (60 s).
    pub interval: Duration,
    /// How many consecutive failed polls make an outage (2): one lost ping is not
    /// one. One answering poll ends it.
    pub down_after: NonZeroU32,
    /// How long history samples are kept (30 days).
    pub retention: Duration,
    /// How often old samples are pruned (1 h; one replica per period).
    pub prune_every: Duration,
    /// How many polls may run at once (16).
    pub max_concurrency: usize,
    /// How often the scheduler re-reads the watch list (10 s): a new watch is polled
    /// within this time.
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
            retention: uptime::MONTH,
            prune_every: Duration::from_secs(3600),
            max_concurrency: 16,
            reload_every: Duration::from_secs(10),
            state_lookback: uptime::DAY,
            notify_dedupe_ttl: Duration::from_secs(3600),
            max_outages: 5,
            policy: TargetPolicy::public_only(),
        }
    }
}

impl WatchConfig {
    /// The TTL of a poll lease: 1.5 intervals, so the holder's renewal always comes
    /// before it ends, and a dead holder's targets move on within one more interval.
    #[must_use]
    pub fn poll_lease_ttl(&self) -> Duration {
        self.interval.saturating_add(self.interval / 2)
    }
}
