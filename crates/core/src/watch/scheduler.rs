//! [`Scheduler`]: polls watched servers, tracks transitions, notifies, keeps history.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use crate::domain::{ChatRef, HistorySample, Platform, StatusOutcome, Target, Timestamp, Watch};
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

impl PollReport {
    fn add(&mut self, key: String, polled: Polled) {
        match polled {
            Polled::Done {
                notified,
                dedup,
                removed,
            } => {
                self.polled.push(key);
                self.notified += notified;
                self.deduplicated += dedup;
                self.removed += removed;
            }
            Polled::Skipped => self.skipped.push(key),
            Polled::Failed => self.failed.push(key),
        }
    }
}

/// One watched target in the plan.
#[derive(Debug, Clone)]
struct Planned {
    target: Target,
    /// Shared with the polls in flight (a poll holds the list it started with).
    watches: Arc<Vec<Watch>>,
    slots: Slots,
    /// The newest slot handled (polled, or left to the lease holder).
    done: Option<u64>,
    /// When it is polled next: its entry in [`State::queue`].
    next: Timestamp,
}

#[derive(Debug)]
struct Tracked {
    tracker: TargetTracker,
    /// The slot of the last poll applied by this scheduler.
    slot: u64,
}

#[derive(Debug, Default)]
struct State {
    plan: HashMap<String, Planned>,
    /// Every planned target once, ordered by its next poll time
    /// ([`Planned::next`]): what is due is at the front, so a round costs
    /// O(due × log N), not a pass over the plan.
    queue: BTreeSet<(Timestamp, String)>,
    loaded_at: Option<Timestamp>,
    /// The targets whose poll is running: a slot that comes due meanwhile is skipped
    /// (never two polls of one target at once, even when a poll outlasts the
    /// interval). Kept apart from the plan so that a reload dropping and re-adding a
    /// target cannot lose it; each key leaves when its [`InFlight`] guard drops (the
    /// poll ended or was cancelled).
    in_flight: HashSet<String>,
    /// Bumped by every change the scheduler makes to the stored watches (a gone
    /// chat's watch removed, a moved chat's watch moved): a reload whose read began
    /// before one reads again, so that it cannot bring the old watch back.
    edits: u64,
    trackers: HashMap<String, Tracked>,
    held: BTreeSet<String>,
    last_prune: Option<Timestamp>,
}

/// A due poll.
#[derive(Debug)]
struct Due<'a> {
    key: String,
    slots: Slots,
    target: Target,
    watches: Arc<Vec<Watch>>,
    slot: u64,
    /// Marks the target in flight until the poll ends (or is dropped).
    _flight: InFlight<'a>,
}

/// Holds a target's key in [`State::in_flight`] while it lives. MUST NOT be dropped
/// while the state lock is held (the drop takes it).
#[derive(Debug)]
struct InFlight<'a> {
    state: &'a Mutex<State>,
    key: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .in_flight
            .remove(&self.key);
    }
}

impl State {
    /// Take the first target due at `now` off the queue, mark its slot handled and
    /// queue its next poll.
    fn pop_due<'a>(&mut self, lock: &'a Mutex<Self>, now: Timestamp) -> Option<Due<'a>> {
        loop {
            let first = self.queue.first()?;
            if first.0 > now {
                return None;
            }
            let (_, key) = self.queue.pop_first()?;
            let Some(p) = self.plan.get_mut(&key) else {
                continue;
            };
            let Some(slot) = is_due(p, now) else {
                // Not due after all (cannot happen while the queue and the plan
                // agree): queue it at its next poll time.
                p.next = p.slots.next_after(now);
                self.queue.insert((p.next, key));
                continue;
            };
            p.done = Some(slot);
            p.next = p.slots.due_at(slot.saturating_add(1));
            self.queue.insert((p.next, key.clone()));
            if self.in_flight.contains(&key) {
                tracing::debug!(%key, "previous poll still running; slot skipped");
                continue;
            }
            self.in_flight.insert(key.clone());
            return Some(Due {
                slots: p.slots,
                target: p.target.clone(),
                watches: Arc::clone(&p.watches),
                slot,
                _flight: InFlight {
                    state: lock,
                    key: key.clone(),
                },
                key,
            });
        }
    }
}

/// What a job of [`Scheduler::run_with`] did.
enum Job {
    Poll(String, Polled),
    Reloaded,
    Pruned(Option<u64>),
}

type JobFuture<'a> = Pin<Box<dyn Future<Output = Job> + Send + 'a>>;

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
/// Drive it with [`run`](Self::run) (what the bots do: each poll starts when it comes
/// due, until shutdown, sleeping on the clock), or step it with
/// [`poll_once`](Self::poll_once) (polls what is due at `now` and waits for all of
/// it, reloading the watch list and pruning history when their time has come) and
/// [`next_wake`](Self::next_wake) (when to call it again), as the tests do.
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
            .is_none_or(|t| now >= t.plus(self.config.reload_every) || now < t);
        if stale {
            self.reload(now).await;
        }
    }

    /// Re-read the watch list now.
    async fn reload(&self, now: Timestamp) {
        // A read that overlaps a change of ours to the store (a gone chat's watch
        // removed, a moved chat's watch moved) may predate it: read again (a few
        // times; such changes are rare).
        let mut attempts = 0;
        let watches = loop {
            let edits = self.state().edits;
            let read = self.ports.watches.all_watches().await;
            attempts += 1;
            if read.is_err() || attempts >= 3 || self.state().edits == edits {
                break read;
            }
        };
        let watches = match watches {
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
        let mut grouped: HashMap<String, (Target, Vec<Watch>)> = HashMap::new();
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
        let plan: HashMap<String, Planned> = grouped
            .into_iter()
            .map(|(key, (target, watches))| {
                let slots = Slots::for_key(&key, self.config.interval);
                let (done, next) = match old.get(&key) {
                    Some(p) if p.slots == slots => (p.done, p.next),
                    _ => (None, first_poll(&slots, now, self.config.start_spread)),
                };
                let planned = Planned {
                    slots,
                    done,
                    next,
                    target,
                    watches: Arc::new(watches),
                };
                (key, planned)
            })
            .collect();
        let mut queue: Vec<(Timestamp, String)> =
            plan.iter().map(|(key, p)| (p.next, key.clone())).collect();
        queue.sort_unstable();
        state.queue = queue.into_iter().collect();
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
        let mut due: Vec<Target> = state
            .queue
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter_map(|(_, key)| state.plan.get(key))
            .filter(|p| is_due(p, now).is_some())
            .map(|p| p.target.clone())
            .collect();
        due.sort_by_key(Target::key);
        due
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
        let poll = state.queue.first().map_or(reload, |(at, _)| (*at).max(now));
        poll.min(reload).min(prune)
    }

    /// Poll every target due at `now`, at most [`WatchConfig::max_concurrency`] at
    /// once, each only if this scheduler holds its lease; record samples, send
    /// notifications, remove watches of chats that are gone; prune history when
    /// [`WatchConfig::prune_every`] passed.
    pub async fn poll_once(&self, now: Timestamp) -> PollReport {
        self.reload_if_stale(now).await;
        let due: Vec<Due<'_>> = {
            let mut state = self.state();
            std::iter::from_fn(|| state.pop_due(&self.state, now)).collect()
        };
        let limit = self.config.max_concurrency.max(1);
        let mut due = due.into_iter();
        let mut running = FuturesUnordered::new();
        let mut results: Vec<(String, Polled)> = Vec::new();
        loop {
            while running.len() < limit {
                let Some(d) = due.next() else {
                    break;
                };
                running.push(self.poll_keyed(d, now));
            }
            match running.next().await {
                Some(result) => results.push(result),
                None => break,
            }
        }
        let mut report = PollReport::default();
        for (key, result) in results {
            report.add(key, result);
        }
        report.polled.sort();
        report.skipped.sort();
        report.failed.sort();
        report.pruned = self.prune_if_due(now).await;
        report
    }

    /// Run until `shutdown` completes, sleeping on the clock between polls. A poll
    /// in progress finishes first (each is bounded by the source's deadline). On the
    /// way out the poll leases are released, so another replica takes over at once.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        self.run_with(shutdown, |_| {}).await;
    }

    /// [`run`](Self::run), handing a [`PollReport`] of the polls finished since the
    /// previous one to `on_report` (for metrics) every time polls finish.
    ///
    /// Unlike a loop over [`poll_once`](Self::poll_once), which waits for a round's
    /// slowest poll, each poll starts when it comes due (at most
    /// [`WatchConfig::batch_window`] late, so that polls due close together start in
    /// one wake-up) while fewer than [`WatchConfig::max_concurrency`] run: a server
    /// that stalls until the deadline holds one slot, not the schedule. The watch
    /// list reload and the history prune run beside the polls.
    pub async fn run_with(
        &self,
        shutdown: impl Future<Output = ()>,
        mut on_report: impl FnMut(&PollReport),
    ) {
        let mut shutdown = std::pin::pin!(shutdown);
        let limit = self.config.max_concurrency.max(1);
        let mut jobs: FuturesUnordered<JobFuture<'_>> = FuturesUnordered::new();
        let mut polls = 0usize;
        let (mut reloading, mut pruning, mut stopping) = (false, false, false);
        // In `run`, housekeeping at most every 100 ms however small the settings.
        let reload_every = self.config.reload_every.max(MIN_HOUSEKEEPING);
        let prune_every = self.config.prune_every.max(MIN_HOUSEKEEPING);
        let mut report = PollReport::default();
        // Polls start no earlier than this: one wake-up per batch window.
        let mut not_before = self.ports.clock.now();
        loop {
            if !stopping && shutdown.as_mut().now_or_never().is_some() {
                stopping = true;
            }
            if stopping && jobs.is_empty() {
                break;
            }
            let now = self.ports.clock.now();
            let mut wake_at: Option<Timestamp> = None;
            if !stopping {
                let mut state = self.state();
                // A time before the last one: the wall clock stepped back (its
                // schedule restarts from now).
                let after = |last: Option<Timestamp>, every: Duration| {
                    last.filter(|t| *t <= now).map_or(now, |t| t.plus(every))
                };
                if not_before > now.plus(self.config.batch_window) {
                    not_before = now;
                }
                let reload_at = after(state.loaded_at, reload_every);
                if !reloading && now >= reload_at {
                    reloading = true;
                    jobs.push(Box::pin(async move {
                        self.reload(now).await;
                        Job::Reloaded
                    }));
                }
                let prune_at = after(state.last_prune, prune_every);
                if !pruning && now >= prune_at {
                    pruning = true;
                    jobs.push(Box::pin(async move {
                        Job::Pruned(self.prune_if_due(now).await)
                    }));
                }
                // The first load comes before the first polls. Polls start at most
                // once per batch window, or at once when the first waiting one is a
                // window late (a backlog: each finished poll makes room for the next).
                let backlog = state
                    .queue
                    .first()
                    .is_some_and(|(at, _)| at.plus(self.config.batch_window) <= now);
                if state.loaded_at.is_some() && (now >= not_before || backlog) && polls < limit {
                    let before = polls;
                    while polls < limit {
                        let Some(due) = state.pop_due(&self.state, now) else {
                            break;
                        };
                        polls += 1;
                        jobs.push(Box::pin(async move {
                            let (key, polled) = self.poll_keyed(due, now).await;
                            Job::Poll(key, polled)
                        }));
                    }
                    if polls > before {
                        not_before = now.plus(self.config.batch_window);
                    }
                }
                let mut wake = |at: Timestamp| {
                    wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
                };
                if !reloading {
                    wake(reload_at);
                }
                if !pruning {
                    wake(prune_at);
                }
                if state.loaded_at.is_some()
                    && polls < limit
                    && let Some((at, _)) = state.queue.first()
                {
                    wake((*at).max(not_before));
                }
            }
            // Never longer than MAX_SLEEP: a wall clock stepping back is noticed.
            let mut sleep = wake_at.map(|at| {
                self.ports
                    .clock
                    .sleep(at.since(now).clamp(Duration::from_millis(1), MAX_SLEEP))
            });
            let woke = std::future::poll_fn(|cx| {
                if !jobs.is_empty()
                    && let Poll::Ready(job) = jobs.poll_next_unpin(cx)
                {
                    return Poll::Ready(job);
                }
                if !stopping && shutdown.as_mut().poll(cx).is_ready() {
                    stopping = true;
                    return Poll::Ready(None);
                }
                if let Some(sleep) = sleep.as_mut()
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await;
            drop(sleep);
            // Take every job that finished meanwhile too, then report once.
            let mut finished = woke;
            while let Some(job) = finished {
                match job {
                    Job::Poll(key, polled) => {
                        polls -= 1;
                        report.add(key, polled);
                    }
                    Job::Reloaded => reloading = false,
                    Job::Pruned(pruned) => {
                        pruning = false;
                        if pruned.is_some() {
                            report.pruned = pruned;
                        }
                    }
                }
                finished = if jobs.is_empty() {
                    None
                } else {
                    jobs.next().now_or_never().flatten()
                };
            }
            if report != PollReport::default() {
                on_report(&std::mem::take(&mut report));
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
                .is_some_and(|t| t <= now && now < t.plus(self.config.prune_every))
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
        match self.ports.history.prune(now).await {
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

    /// [`poll_target`](Self::poll_target), with the target's key.
    async fn poll_keyed(&self, due: Due<'_>, now: Timestamp) -> (String, Polled) {
        let key = due.key.clone();
        (key, self.poll_target(due, now).await)
    }

    async fn poll_target(&self, due: Due<'_>, now: Timestamp) -> Polled {
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
        let changes = self.track(
            &due,
            &Observation {
                at,
                online: outcome.is_online(),
                players,
            },
            &watched,
        );
        // Notifications are handed over (to the durable outbox, when there is one)
        // before the sample that caused them is recorded: a crash in between polls
        // again after the restart, sees the same change (its key is the outage's
        // start) and the outbox accepts it once. The other order would lose it: the
        // restarted tracker would read the change from the history as old news.
        let (notified, dedup, removed) = self.deliver(&due, at, changes).await;
        if let Err(error) = self
            .ports
            .history
            .append_samples(std::slice::from_ref(&sample))
            .await
        {
            tracing::warn!(
                target = %due.target,
                error = &error as &dyn std::error::Error,
                "history append failed"
            );
        }
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
    async fn catch_up(&self, due: &Due<'_>, now: Timestamp) -> bool {
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
        let samples = match crate::history::HistoryReader::new(self.ports.history.as_ref())
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
    fn track(&self, due: &Due<'_>, obs: &Observation, watched: &[String]) -> Vec<Change> {
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
        due: &Due<'_>,
        at: Timestamp,
        changes: Vec<Change>,
    ) -> (usize, usize, usize) {
        let (mut delivered, mut dedup, mut removed) = (0, 0, 0);
        // Chats an earlier change of this poll found gone (`None`) or moved: the
        // poll's watch list is a snapshot from before.
        let mut redirect: HashMap<ChatRef, Option<ChatRef>> = HashMap::new();
        for change in changes {
            // `event_key` names the change the same way on every replica and after a
            // restart (the outage's start, not the poll's time); a chat's
            // notification key adds the chat.
            let (event, event_key, dedupe, only_player) = match change {
                Change::WentDown {
                    outage_start,
                    up_for,
                } => (
                    NotificationEvent::WentDown { up_for },
                    format!("{}:{}:down:{}", self.scope, due.key, outage_start.0),
                    true,
                    None,
                ),
                Change::CameBack {
                    outage_start,
                    at,
                    down_for,
                } => (
                    NotificationEvent::CameBack { down_for },
                    format!(
                        "{}:{}:up:{}",
                        self.scope,
                        due.key,
                        outage_start.unwrap_or(at).0
                    ),
                    true,
                    None,
                ),
                Change::Joined(name) => (
                    NotificationEvent::PlayerJoined(name.clone()),
                    format!("{}:{}:join:{}:{}", self.scope, due.key, at.0, name),
                    false,
                    Some(name),
                ),
                Change::Left(name) => (
                    NotificationEvent::PlayerLeft(name.clone()),
                    format!("{}:{}:left:{}:{}", self.scope, due.key, at.0, name),
                    false,
                    Some(name),
                ),
            };
            // An idempotent notifier (the outbox) accepts each key once: no lease.
            let dedupe_key = (dedupe && !self.ports.notifier.idempotent())
                .then(|| format!("notify:{event_key}"));
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
            // Each chat is told of a change once (a moved chat may also watch under
            // its new id already).
            let mut told: HashSet<ChatRef> = HashSet::new();
            for snapshot in due.watches.iter() {
                if let Some(name) = &only_player
                    && !snapshot
                        .players
                        .iter()
                        .any(|p| super::tracker::player_key(p) == super::tracker::player_key(name))
                {
                    continue;
                }
                let moved;
                let watch = match redirect.get(&snapshot.chat) {
                    Some(None) => continue,
                    Some(Some(to)) => {
                        moved = Watch {
                            chat: to.clone(),
                            ..snapshot.clone()
                        };
                        &moved
                    }
                    None => snapshot,
                };
                if !told.insert(watch.chat.clone()) {
                    continue;
                }
                let notification = Notification {
                    key: notification_key(&event_key, &watch.chat),
                    chat: watch.chat.clone(),
                    target: due.target.clone(),
                    event: event.clone(),
                    at,
                };
                match self.ports.notifier.notify(&notification).await {
                    Ok(()) => delivered += 1,
                    Err(NotifyError::ChatGone) => {
                        redirect.insert(snapshot.chat.clone(), None);
                        if self.remove_gone(watch).await {
                            removed += 1;
                        }
                    }
                    Err(NotifyError::ChatMoved(to)) => {
                        redirect.insert(snapshot.chat.clone(), Some(to.clone()));
                        // Told there only if it watches this server there now (the
                        // move, or its own watch), and only once.
                        if self.move_moved(&watch.chat, &to, &due.target).await
                            && told.insert(to.clone())
                        {
                            let notification = Notification {
                                key: notification_key(&event_key, &to),
                                chat: to.clone(),
                                ..notification
                            };
                            match self.ports.notifier.notify(&notification).await {
                                Ok(()) => delivered += 1,
                                Err(error) => tracing::warn!(
                                    chat = %to,
                                    target = %due.target,
                                    error = &error as &dyn std::error::Error,
                                    "notification not delivered to the moved chat"
                                ),
                            }
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

    /// Move every watch of a chat that has a new id, merging into the new chat's
    /// own ([`move_chat`](super::move_chat)), and reload the plan from the store.
    /// Whether `to` now watches `target`: when the old chat's watch was already
    /// moved or removed meanwhile (the upgrade's service message, a user's
    /// `/unwatch` there), nothing is written back from this poll's stale copy.
    async fn move_moved(&self, from: &ChatRef, to: &ChatRef, target: &Target) -> bool {
        let store = self.ports.watches.as_ref();
        if let Err(error) =
            super::move_chat(store, from, to, self.config.max_players_per_watch).await
        {
            tracing::warn!(
                chat = %from,
                %to,
                error = &error as &dyn std::error::Error,
                "could not move the watches of a moved chat"
            );
        }
        {
            // The plan still lists the old chat for this and other servers.
            let mut state = self.state();
            state.edits += 1;
            state.loaded_at = None;
        }
        match store.watches_of(to).await {
            Ok(list) => list.iter().any(|w| w.target.key() == target.key()),
            Err(error) => {
                tracing::warn!(
                    chat = %to,
                    error = &error as &dyn std::error::Error,
                    "could not read the moved chat's watches"
                );
                false
            }
        }
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
        state.edits += 1;
        if let Some(planned) = state.plan.get_mut(&key) {
            Arc::make_mut(&mut planned.watches).retain(|w| w.chat != watch.chat);
            if planned.watches.is_empty() {
                let next = planned.next;
                state.plan.remove(&key);
                state.queue.remove(&(next, key.clone()));
                state.trackers.remove(&key);
            }
        }
        true
    }
}

/// The shortest period of the watch list reload and the history prune in
/// [`Scheduler::run`] (smaller settings would make it reload back to back).
const MIN_HOUSEKEEPING: Duration = Duration::from_millis(100);

/// A notification's idempotency key: the chat and the change's key, bounded to
/// [`MAX_NOTIFICATION_KEY`](crate::ports::MAX_NOTIFICATION_KEY) bytes (a long
/// player name is cut at a character boundary; the time before it keeps it unique).
fn notification_key(event_key: &str, chat: &ChatRef) -> String {
    let mut key = format!("{chat}:{event_key}");
    if key.len() > crate::ports::MAX_NOTIFICATION_KEY {
        let mut cut = crate::ports::MAX_NOTIFICATION_KEY;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        key.truncate(cut);
    }
    key
}

/// The longest sleep of [`Scheduler::run`]: a wall clock stepping back makes the
/// next wake-up look far away; this bounds how long that goes unnoticed.
const MAX_SLEEP: Duration = Duration::from_secs(10);

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

/// When a target first seen at `now` is polled first. The poll time of the current
/// slot has passed unhandled (a start, or a watch added since): if the next slot's
/// poll time comes within `spread` (at most one interval), then; else within
/// `spread` of `now`, at the same fraction of it as its offset is of the interval.
/// So a start with many watches polls each once over `spread`, evenly, instead of
/// all at once, and none twice.
fn first_poll(slots: &Slots, now: Timestamp, spread: Duration) -> Timestamp {
    let Some(slot) = slots.current(now) else {
        return slots.due_at(0);
    };
    let next_slot = slots.due_at(slot.saturating_add(1));
    let spread = spread.min(slots.interval());
    if next_slot <= now.plus(spread) {
        // Its next poll time comes within the spread anyway: no extra poll before.
        return next_slot;
    }
    let interval = slots.interval().as_millis().max(1);
    let delay = slots.offset().as_millis() * spread.as_millis() / interval;
    now.plus(Duration::from_millis(
        u64::try_from(delay).unwrap_or(u64::MAX),
    ))
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
            cause: None,
        },
        StatusOutcome::Offline {
            target,
            taken_at,
            reason,
        } => HistorySample {
            target: target.clone(),
            at: *taken_at,
            online: false,
            players: None,
            latency_ms: None,
            cause: Some(crate::history::DownCause::from(reason)),
        },
    }
}
