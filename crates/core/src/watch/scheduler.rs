//! [`Scheduler`]: polls watched servers, tracks transitions, notifies, keeps history.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::StreamExt as _;

use crate::domain::{HistorySample, Platform, StatusOutcome, Target, Timestamp, Watch};
use crate::ports::{
    Clock, HistoryStore, LeasePort, Notification, NotificationEvent, Notifier, NotifyError,
    StatusSource, WatchStore,
};

use super::WatchConfig;
use super::slot::Slots;
use super::tracker::{Change, Observation, PlayerView, TargetTracker};

/// The ports a [`Scheduler`] works through.
#[derive(Clone)]
pub struct SchedulerPorts {
    /// Where the watches are (read every [`WatchConfig::reload_every`]; a watch whose
    /// chat is gone is removed).
    pub watches: Arc<dyn WatchStore>,
    /// Where a sample per poll goes (and where trackers are rebuilt from).
    pub history: Arc<dyn HistoryStore>,
    /// What polls the servers (directly: watch polls bypass the lookup cache and the
    /// per-user rate limits; the source applies the target policy).
    pub source: Arc<dyn StatusSource>,
    /// Who delivers notifications (a [`NotifierRouter`](super::NotifierRouter) for
    /// several platforms).
    pub notifier: Arc<dyn Notifier>,
    /// Poll and notification leases, shared by every replica
    /// ([`MemoryLeases`](super::MemoryLeases) for one process).
    pub leases: Arc<dyn LeasePort>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for SchedulerPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedulerPorts").finish_non_exhaustive()
    }
}

/// What one [`Scheduler::poll_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Target keys polled by this scheduler.
    pub polled: Vec<String>,
    /// Target keys that were due but whose lease another replica holds (or the lease
    /// store failed): not polled here.
    pub skipped: Vec<String>,
    /// Target keys whose poll failed on our side (source error): no sample.
    pub failed: Vec<String>,
    /// Notifications delivered.
    pub notified: usize,
    /// Notifications skipped because another replica already sent them.
    pub deduplicated: usize,
    /// Watches removed because their chat is gone.
    pub removed: usize,
    /// Samples pruned, when this call pruned.
    pub pruned: Option<u64>,
}

/// One watched target in the plan.
#[derive(Debug, Clone)]
struct Planned {
    target: Target,
    watches: Vec<Watch>,
    slots: Slots,
    /// The newest slot handled (polled, or left to the lease holder).
    done: Option<u64>,
}

#[derive(Debug)]
struct Tracked {
    tracker: TargetTracker,
    /// The slot of the last poll applied by this scheduler.
    slot: u64,
}

#[derive(Debug, Default)]
struct State {
    plan: BTreeMap<String, Planned>,
    loaded_at: Option<Timestamp>,
    trackers: HashMap<String, Tracked>,
    held: BTreeSet<String>,
    last_prune: Option<Timestamp>,
}

/// A due poll.
#[derive(Debug)]
struct Due {
    key: String,
    slots: Slots,
    target: Target,
    watches: Vec<Watch>,
    slot: u64,
}

enum Polled {
    Done {
        notified: usize,
        dedup: usize,
        removed: usize,
    },
    Skipped,
    Failed,
}

/// Polls every watched server once per interval and tells the chats what changed.
/// See the [module docs](super).
///
/// Call order: [`poll_once`](Self::poll_once) at any time (it polls what is due at
/// `now`, reloading the watch list and pruning history when their time has come),
/// [`next_wake`](Self::next_wake) to learn when to call it again; or
/// [`run`](Self::run), which does both until shutdown, sleeping on the clock.
pub struct Scheduler {
    ports: SchedulerPorts,
    config: WatchConfig,
    holder: String,
    /// The platforms whose watches this scheduler serves (`None`: all).
    platforms: Option<BTreeSet<Platform>>,
    /// The lease namespace: `all`, or the platforms joined by `+`.
    scope: String,
    /// Which stored watches are chats to poll for (see [`Scheduler::with_filter`]).
    filter: WatchFilter,
    state: Mutex<State>,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("holder", &self.holder)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler over `ports`. `holder` names this replica in leases: it MUST be
    /// unique among the replicas sharing a lease store (e.g. host name + process id
    /// + start time), and any fixed text for a single process.
    #[must_use]
    pub fn new(ports: SchedulerPorts, config: WatchConfig, holder: impl Into<String>) -> Self {
        Self {
            ports,
            config: config.normalized(),
            holder: holder.into(),
            platforms: None,
            scope: "all".to_owned(),
            filter: Arc::new(is_chat_watch),
            state: Mutex::default(),
        }
    }

    /// Serve only the stored watches `filter` accepts (replacing the default,
    /// [`is_chat_watch`]). For frontends that keep other records in the watch store.
    #[must_use]
    pub fn with_filter(mut self, filter: impl Fn(&Watch) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Arc::new(filter);
        self
    }

    /// Serve only the watches of chats on `platforms` (a process that runs only the
    /// Telegram bot has no way to tell Discord channels). Schedulers serving
    /// different platform sets poll and notify independently (their leases are
    /// namespaced by the set: `poll:telegram:<target>`); schedulers serving the same
    /// set share the work.
    #[must_use]
    pub fn for_platforms(mut self, platforms: impl IntoIterator<Item = Platform>) -> Self {
        let set: BTreeSet<Platform> = platforms.into_iter().collect();
        self.scope = set.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("+");
        self.platforms = Some(set);
        self
    }

    /// The settings.
    #[must_use]
    pub const fn config(&self) -> &WatchConfig {
        &self.config
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-read the watch list if [`WatchConfig::reload_every`] passed (or never
    /// read). A failing store keeps the previous list.
    async fn reload_if_stale(&self, now: Timestamp) {
        let stale = self
            .state()
            .loaded_at
            .is_none_or(|t| now >= t.plus(self.config.reload_every));
        if stale {
            self.reload(now).await;
        }
    }

    /// Re-read the watch list now.
    async fn reload(&self, now: Timestamp) {
        let watches = match self.ports.watches.all_watches().await {
            Ok(watches) => watches,
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "watch list unreadable; keeping the previous one"
                );
                self.state().loaded_at = Some(now);
                return;
            }
        };
        let mut grouped: BTreeMap<String, (Target, Vec<Watch>)> = BTreeMap::new();
        let served = |w: &Watch| {
            self.platforms
                .as_ref()
                .is_none_or(|set| set.contains(&w.chat.platform()))
        };
        for watch in watches
            .into_iter()
            .filter(|w| served(w) && (self.filter)(w))
        {
            grouped
                .entry(watch.target.key())
                .or_insert_with(|| (watch.target.clone(), Vec::new()))
                .1
                .push(watch);
        }
        let mut state = self.state();
        let old = std::mem::take(&mut state.plan);
        let plan: BTreeMap<String, Planned> = grouped
            .into_iter()
            .map(|(key, (target, watches))| {
                let planned = Planned {
                    slots: Slots::for_key(&key, self.config.interval),
                    done: old.get(&key).and_then(|p| p.done),
                    target,
                    watches,
                };
                (key, planned)
            })
            .collect();
        state.trackers.retain(|key, _| plan.contains_key(key));
        state.plan = plan;
        state.loaded_at = Some(now);
    }

    /// The targets due at `now` (their slot's poll time passed and this scheduler
    /// has not handled that slot), reloading the watch list if it is stale. Does not
    /// mark them handled.
    pub async fn due_targets(&self, now: Timestamp) -> Vec<Target> {
        self.reload_if_stale(now).await;
        let state = self.state();
        state
            .plan
            .values()
            .filter(|p| is_due(p, now).is_some())
            .map(|p| p.target.clone())
            .collect()
    }

    /// When [`poll_once`](Self::poll_once) has something to do next: the next poll
    /// time of any target, the next watch list reload or the next prune.
    #[must_use]
    pub fn next_wake(&self, now: Timestamp) -> Timestamp {
        let state = self.state();
        let reload = state
            .loaded_at
            .map_or(now, |t| t.plus(self.config.reload_every));
        let prune = state
            .last_prune
            .map_or(now, |t| t.plus(self.config.prune_every));
        let polls = state.plan.values().map(|p| {
            if is_due(p, now).is_some() {
                now
            } else {
                p.slots.next_after(now)
            }
        });
        polls.chain([reload, prune]).min().unwrap_or(reload)
    }

    /// Poll every target due at `now`, at most [`WatchConfig::max_concurrency`] at
    /// once, each only if this scheduler holds its lease; record samples, send
    /// notifications, remove watches of chats that are gone; prune history when
    /// [`WatchConfig::prune_every`] passed.
    pub async fn poll_once(&self, now: Timestamp) -> PollReport {
        self.reload_if_stale(now).await;
        let due: Vec<Due> = {
            let mut state = self.state();
            state
                .plan
                .iter_mut()
                .filter_map(|(key, p)| {
                    let slot = is_due(p, now)?;
                    p.done = Some(slot);
                    Some(Due {
                        key: key.clone(),
                        slots: p.slots,
                        target: p.target.clone(),
                        watches: p.watches.clone(),
                        slot,
                    })
                })
                .collect()
        };
        let limit = self.config.max_concurrency.max(1);
        let results: Vec<(String, Polled)> = futures_util::stream::iter(due)
            .map(|d| async move {
                let key = d.key.clone();
                (key, self.poll_target(d, now).await)
            })
            .buffer_unordered(limit)
            .collect()
            .await;
        let mut report = PollReport::default();
        for (key, result) in results {
            match result {
                Polled::Done {
                    notified,
                    dedup,
                    removed,
                } => {
                    report.polled.push(key);
                    report.notified += notified;
                    report.deduplicated += dedup;
                    report.removed += removed;
                }
                Polled::Skipped => report.skipped.push(key),
                Polled::Failed => report.failed.push(key),
            }
        }
        report.polled.sort();
        report.skipped.sort();
        report.failed.sort();
        report.pruned = self.prune_if_due(now).await;
        report
    }

    /// Run until `shutdown` completes: [`poll_once`](Self::poll_once), then sleep on
    /// the clock until [`next_wake`](Self::next_wake), again and again. A poll in
    /// progress finishes first (each is bounded by the source's deadline). On the
    /// way out the poll leases are released, so another replica takes over at once.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        self.run_with(shutdown, |_| {}).await;
    }

    /// [`run`](Self::run), handing every round's [`PollReport`] to `on_report` (for
    /// metrics).
    pub async fn run_with(
        &self,
        shutdown: impl Future<Output = ()>,
        mut on_report: impl FnMut(&PollReport),
    ) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            if shutdown.as_mut().now_or_never().is_some() {
                break;
            }
            let report = self.poll_once(self.ports.clock.now()).await;
            if !report.polled.is_empty() || !report.failed.is_empty() {
                tracing::debug!(
                    polled = report.polled.len(),
                    skipped = report.skipped.len(),
                    failed = report.failed.len(),
                    notified = report.notified,
                    "watch polls"
                );
            }
            on_report(&report);
            let now = self.ports.clock.now();
            let wait = self.next_wake(now).since(now).max(Duration::from_millis(1));
            let sleep = self.ports.clock.sleep(wait);
            if let futures_util::future::Either::Right(_) =
                futures_util::future::select(sleep, shutdown.as_mut()).await
            {
                break;
            }
        }
        self.release_leases().await;
    }

    /// Release every poll lease this scheduler holds (on shutdown).
    pub async fn release_leases(&self) {
        let held = std::mem::take(&mut self.state().held);
        for key in held {
            if let Err(error) = self.ports.leases.release(&key, &self.holder).await {
                tracing::warn!(%key, error = &error as &dyn std::error::Error, "lease release failed");
            }
        }
    }

    async fn prune_if_due(&self, now: Timestamp) -> Option<u64> {
        {
            let mut state = self.state();
            if state
                .last_prune
                .is_some_and(|t| now < t.plus(self.config.prune_every))
            {
                return None;
            }
            state.last_prune = Some(now);
        }
        match self
            .ports
            .leases
            .try_acquire("prune", &self.holder, self.config.prune_every)
            .await
        {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "prune lease failed"
                );
                return None;
            }
        }
        match self
            .ports
            .history
            .prune(now.minus(self.config.retention))
            .await
        {
            Ok(n) => Some(n),
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "history prune failed"
                );
                None
            }
        }
    }

    async fn poll_target(&self, due: Due, now: Timestamp) -> Polled {
        let lease_key = format!("poll:{}:{}", self.scope, due.key);
        match self
            .ports
            .leases
            .try_acquire(&lease_key, &self.holder, self.config.poll_lease_ttl())
            .await
        {
            Ok(true) => {
                self.state().held.insert(lease_key);
            }
            Ok(false) => {
                self.state().held.remove(&lease_key);
                return Polled::Skipped;
            }
            Err(error) => {
                tracing::warn!(
                    target = %due.target,
                    error = &error as &dyn std::error::Error,
                    "poll lease failed; not polling"
                );
                return Polled::Skipped;
            }
        }

        if self.catch_up(&due, now).await {
            return Polled::Skipped;
        }
        let outcome = match self.ports.source.status(&due.target).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(
                    target = %due.target,
                    error = &error as &dyn std::error::Error,
                    "watch poll failed; no sample"
                );
                return Polled::Failed;
            }
        };
        let watched: Vec<String> = due
            .watches
            .iter()
            .flat_map(|w| w.players.iter().cloned())
            .collect();
        let players = if outcome.is_online() && !watched.is_empty() {
            self.players(&due.target, &outcome).await
        } else {
            None
        };
        let at = outcome.taken_at();
        let sample = sample_of(&outcome);
        if let Err(error) = self.ports.history.append_sample(&sample).await {
            tracing::warn!(
                target = %due.target,
                error = &error as &dyn std::error::Error,
                "history append failed"
            );
        }

        let changes = self.track(
            &due,
            &Observation {
                at,
                online: outcome.is_online(),
                players,
            },
            &watched,
        );
        let (notified, dedup, removed) = self.deliver(&due, at, changes).await;
        Polled::Done {
            notified,
            dedup,
            removed,
        }
    }

    /// Who is on: the source's list (Query when it answers), else the status sample.
    async fn players(&self, target: &Target, outcome: &StatusOutcome) -> Option<PlayerView> {
        match self.ports.source.players(target).await {
            Ok(Some(list)) => {
                if let Some(view) = PlayerView::from_list(&list) {
                    return Some(view);
                }
            }
            Ok(None) => return None,
            Err(error) => tracing::warn!(
                target = %target,
                error = &error as &dyn std::error::Error,
                "player list failed; using the status sample"
            ),
        }
        let StatusOutcome::Online(report) = outcome else {
            return None;
        };
        let complete = report
            .players_online
            .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n <= report.sample.len()));
        (complete || !report.sample.is_empty()).then(|| PlayerView {
            names: report.sample.clone(),
            complete,
        })
    }

    /// Catch the target's tracker up with the history when this scheduler has none
    /// (start, takeover) or missed slots (another replica polled them). Returns
    /// `true` when the history already holds a sample of the current slot (another
    /// process polled it, e.g. this one before a restart): the slot is not polled
    /// again.
    async fn catch_up(&self, due: &Due, now: Timestamp) -> bool {
        let since = {
            let state = self.state();
            match state.trackers.get(&due.key) {
                None => Some(now.minus(self.config.state_lookback)),
                Some(t) if t.slot.saturating_add(1) != due.slot => Some(
                    t.tracker
                        .last_at()
                        .map_or(now.minus(self.config.state_lookback), |last| {
                            last.plus(Duration::from_millis(1))
                        }),
                ),
                Some(_) => None,
            }
        };
        let Some(since) = since else {
            return false;
        };
        let samples = match self
            .ports
            .history
            .samples(&due.target, since, now.plus(Duration::from_millis(1)))
            .await
        {
            Ok(samples) => samples,
            Err(error) => {
                tracing::warn!(
                    target = %due.target,
                    error = &error as &dyn std::error::Error,
                    "history unreadable; tracker not caught up"
                );
                Vec::new()
            }
        };
        let mut state = self.state();
        let down_after = self.config.down_after;
        let tracked = state
            .trackers
            .entry(due.key.clone())
            .or_insert_with(|| Tracked {
                tracker: TargetTracker::new(down_after),
                slot: due.slot,
            });
        tracked.tracker.replay(&samples);
        tracked.slot = due.slot;
        samples
            .last()
            .is_some_and(|s| s.at >= due.slots.due_at(due.slot))
    }

    /// Feed the target's tracker with this poll.
    fn track(&self, due: &Due, obs: &Observation, watched: &[String]) -> Vec<Change> {
        let mut state = self.state();
        let down_after = self.config.down_after;
        let tracked = state
            .trackers
            .entry(due.key.clone())
            .or_insert_with(|| Tracked {
                tracker: TargetTracker::new(down_after),
                slot: due.slot,
            });
        tracked.slot = due.slot;
        tracked.tracker.observe(obs, watched)
    }

    /// Send each change to the chats it concerns. Returns (delivered, deduplicated,
    /// watches removed).
    async fn deliver(
        &self,
        due: &Due,
        at: Timestamp,
        changes: Vec<Change>,
    ) -> (usize, usize, usize) {
        let (mut delivered, mut dedup, mut removed) = (0, 0, 0);
        for change in changes {
            let (event, dedupe_key, only_player) = match change {
                Change::WentDown {
                    outage_start,
                    up_for,
                } => (
                    NotificationEvent::WentDown { up_for },
                    Some(format!(
                        "notify:{}:{}:down:{}",
                        self.scope, due.key, outage_start.0
                    )),
                    None,
                ),
                Change::CameBack {
                    outage_start,
                    at,
                    down_for,
                } => (
                    NotificationEvent::CameBack { down_for },
                    Some(format!(
                        "notify:{}:{}:up:{}",
                        self.scope,
                        due.key,
                        outage_start.unwrap_or(at).0
                    )),
                    None,
                ),
                Change::Joined(name) => (
                    NotificationEvent::PlayerJoined(name.clone()),
                    None,
                    Some(name),
                ),
                Change::Left(name) => (
                    NotificationEvent::PlayerLeft(name.clone()),
                    None,
                    Some(name),
                ),
            };
            if let Some(key) = dedupe_key {
                match self
                    .ports
                    .leases
                    .try_acquire(&key, &self.holder, self.config.notify_dedupe_ttl)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        dedup += 1;
                        continue;
                    }
                    // Better told twice than never: deliver.
                    Err(error) => tracing::warn!(
                        %key,
                        error = &error as &dyn std::error::Error,
                        "notification dedupe failed; delivering anyway"
                    ),
                }
            }
            for watch in &due.watches {
                if let Some(name) = &only_player
                    && !watch.players.iter().any(|p| p.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                let notification = Notification {
                    chat: watch.chat.clone(),
                    target: due.target.clone(),
                    event: event.clone(),
                    at,
                };
                match self.ports.notifier.notify(&notification).await {
                    Ok(()) => delivered += 1,
                    Err(NotifyError::ChatGone) => {
                        if self.remove_gone(watch).await {
                            removed += 1;
                        }
                    }
                    Err(error) => tracing::warn!(
                        chat = %watch.chat,
                        target = %due.target,
                        error = &error as &dyn std::error::Error,
                        "notification not delivered"
                    ),
                }
            }
        }
        (delivered, dedup, removed)
    }

    /// Drop the watch of a chat that is gone, from the store and from the plan.
    async fn remove_gone(&self, watch: &Watch) -> bool {
        tracing::info!(chat = %watch.chat, target = %watch.target, "chat is gone; removing its watch");
        if let Err(error) = self
            .ports
            .watches
            .remove_watch(&watch.chat, &watch.target)
            .await
        {
            tracing::warn!(
                chat = %watch.chat,
                error = &error as &dyn std::error::Error,
                "could not remove the watch of a gone chat"
            );
            return false;
        }
        let key = watch.target.key();
        let mut state = self.state();
        if let Some(planned) = state.plan.get_mut(&key) {
            planned.watches.retain(|w| w.chat != watch.chat);
            if planned.watches.is_empty() {
                state.plan.remove(&key);
                state.trackers.remove(&key);
            }
        }
        true
    }
}

/// A predicate over stored watches.
type WatchFilter = Arc<dyn Fn(&Watch) -> bool + Send + Sync>;

/// The default [`Scheduler`] filter: a watch whose chat id contains `:` is not a chat
/// that can be told but a marker record another feature keeps in the watch store
/// (e.g. the Discord bot's live status messages, `live:<channel>:<message>`).
/// Telegram chat ids and Discord channel ids never contain `:`.
#[must_use]
pub fn is_chat_watch(watch: &Watch) -> bool {
    !watch.chat.id().contains(':')
}

/// The slot to poll now, if the target is due.
fn is_due(p: &Planned, now: Timestamp) -> Option<u64> {
    let slot = p.slots.current(now)?;
    p.done.is_none_or(|done| done < slot).then_some(slot)
}

fn sample_of(outcome: &StatusOutcome) -> HistorySample {
    match outcome {
        StatusOutcome::Online(report) => HistorySample {
            target: report.target.clone(),
            at: report.taken_at,
            online: true,
            players: report
                .players_online
                .map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX)),
            latency_ms: report.latency_ms,
        },
        StatusOutcome::Offline {
            target, taken_at, ..
        } => HistorySample {
            target: target.clone(),
            at: *taken_at,
            online: false,
            players: None,
            latency_ms: None,
        },
    }
}
