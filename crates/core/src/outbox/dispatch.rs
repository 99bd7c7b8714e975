//! [`Dispatcher`]: drains the outbox through the pacer to the platform.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt as _, StreamExt as _};

use super::{DropReason, EventSink, MemoryOutbox, OutboxConfig, OutboxEntry, OutboxEvent, Pacer};
use crate::domain::{ChatRef, Platform, Timestamp};
use crate::ports::{
    Clock, MAX_NOTIFICATION_KEY, Notification, Notifier, NotifyError, OutboxStore, WatchStore,
};

/// What a [`Dispatcher`] works with.
#[derive(Clone)]
pub struct DispatcherPorts {
    /// The durable outbox.
    pub outbox: Arc<dyn OutboxStore>,
    /// Where the [`OutboxNotifier`](super::OutboxNotifier) put what the outbox
    /// refused (its store was down); drained like the outbox.
    pub fallback: MemoryOutbox,
    /// The platform's notifier: sends for real.
    pub notifier: Arc<dyn Notifier>,
    /// Watches of gone chats are removed, those of moved chats moved.
    pub watches: Arc<dyn WatchStore>,
    /// Turns to send.
    pub pacer: Arc<Pacer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for DispatcherPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherPorts").finish_non_exhaustive()
    }
}

/// One message to send: one entry, or several of one chat as a digest.
struct Job {
    chat: ChatRef,
    entries: Vec<OutboxEntry>,
    /// From the in-process fallback rather than the store.
    fallback: bool,
    claimed_at: Timestamp,
}

/// Sends what the outbox holds for one platform: claims due entries in batches,
/// serves their chats round-robin (a chat with more than
/// [`OutboxConfig::digest_after`] pending gets one digest), asks the [`Pacer`] for
/// each turn, sends with the platform's [`Notifier`], and then completes,
/// reschedules or drops each entry by the answer (see the [module docs](super)).
pub struct Dispatcher {
    ports: DispatcherPorts,
    platform: Platform,
    config: OutboxConfig,
    events: EventSink,
    max_players: usize,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("platform", &self.platform)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

type JobFuture<'a> = Pin<Box<dyn Future<Output = Done> + Send + 'a>>;

/// A finished job.
struct Done {
    chat: ChatRef,
    ids: Vec<String>,
    /// The chat is gone: its queued jobs are forgotten.
    gone: bool,
}

/// What the run loop keeps between wake-ups.
#[derive(Default)]
struct Local {
    /// Chats with jobs waiting, in round-robin order.
    order: VecDeque<ChatRef>,
    jobs: HashMap<ChatRef, VecDeque<Job>>,
    /// Entry ids queued or in flight here (a claim that expired while they waited
    /// must not queue them twice).
    held: HashSet<String>,
    /// Chats with a send in flight (one at a time per chat, in order).
    busy: HashSet<ChatRef>,
    queued: usize,
}

impl Local {
    fn push(&mut self, job: Job) {
        for e in &job.entries {
            self.held.insert(e.id.clone());
        }
        self.queued += 1;
        let chat = job.chat.clone();
        let jobs = self.jobs.entry(chat.clone()).or_default();
        if jobs.is_empty() {
            self.order.push_back(chat);
        }
        jobs.push_back(job);
    }

    /// The next job in round-robin order whose chat has nothing in flight.
    fn next(&mut self) -> Option<Job> {
        for _ in 0..self.order.len() {
            let chat = self.order.pop_front()?;
            if self.busy.contains(&chat) {
                self.order.push_back(chat);
                continue;
            }
            let jobs = self.jobs.get_mut(&chat)?;
            let job = jobs.pop_front();
            if jobs.is_empty() {
                self.jobs.remove(&chat);
            } else {
                self.order.push_back(chat.clone());
            }
            if let Some(job) = job {
                self.queued -= 1;
                self.busy.insert(chat);
                return Some(job);
            }
        }
        None
    }

    /// Take back the queued (not in flight) entries of `chat` with this origin and
    /// priority, and the earliest claim time among them (else `now`).
    fn take_queued(
        &mut self,
        chat: &ChatRef,
        fallback: bool,
        priority: super::Priority,
        now: Timestamp,
    ) -> (Vec<OutboxEntry>, Timestamp) {
        let mut taken = Vec::new();
        let mut claimed_at = now;
        if let Some(jobs) = self.jobs.get_mut(chat) {
            let before = jobs.len();
            let mut kept = VecDeque::with_capacity(before);
            for job in jobs.drain(..) {
                if job.fallback == fallback && job.entries[0].priority == priority {
                    claimed_at = claimed_at.min(job.claimed_at);
                    taken.extend(job.entries);
                } else {
                    kept.push_back(job);
                }
            }
            self.queued -= before - kept.len();
            if kept.is_empty() {
                self.jobs.remove(chat);
                self.order.retain(|c| c != chat);
            } else {
                *jobs = kept;
            }
        }
        (taken, claimed_at)
    }

    /// A send is over: its chat may send again, its ids are no longer held here.
    fn finish(&mut self, done: Done) {
        self.busy.remove(&done.chat);
        for id in &done.ids {
            self.held.remove(id);
        }
        if done.gone {
            self.forget(&done.chat);
        }
    }

    /// Forget a gone chat's queued jobs (the store dropped their entries).
    fn forget(&mut self, chat: &ChatRef) {
        self.order.retain(|c| c != chat);
        let jobs: Vec<Job> = self.jobs.remove(chat).map(Vec::from).unwrap_or_default();
        self.queued -= jobs.len();
        for job in &jobs {
            for e in &job.entries {
                self.held.remove(&e.id);
            }
        }
    }
}

/// Await `work` while driving the sends `in_flight` (a send whose turn comes must
/// leave at once, not after a store operation), putting the ends of those that
/// finish into `finished`.
async fn driving<'a, T>(
    work: impl Future<Output = T>,
    in_flight: &mut FuturesUnordered<JobFuture<'a>>,
    finished: &mut Vec<Done>,
) -> T {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        while !in_flight.is_empty() {
            match in_flight.poll_next_unpin(cx) {
                Poll::Ready(Some(done)) => finished.push(done),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        work.as_mut().poll(cx)
    })
    .await
}

impl Dispatcher {
    /// A dispatcher for `platform`'s entries.
    #[must_use]
    pub fn new(
        ports: DispatcherPorts,
        platform: Platform,
        config: OutboxConfig,
        events: EventSink,
    ) -> Self {
        Self {
            ports,
            platform,
            config,
            events,
            max_players: crate::watch::WatchConfig::default().max_players_per_watch,
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &OutboxConfig {
        &self.config
    }

    /// Send until `shutdown` completes; sends in flight then are finished (their
    /// entries completed or rescheduled), queued ones are left to their claim's
    /// expiry.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut local = Local::default();
        let mut in_flight: FuturesUnordered<JobFuture<'_>> = FuturesUnordered::new();
        let mut stopping = false;
        let mut next_claim = self.ports.clock.now();
        let mut next_stats = self.ports.clock.now();
        loop {
            if !stopping && shutdown.as_mut().now_or_never().is_some() {
                stopping = true;
            }
            if stopping && in_flight.is_empty() {
                break;
            }
            let now = self.ports.clock.now();
            // The sends in flight go on meanwhile (see `driving`): a send whose turn
            // came while the store was busy would otherwise leave late, right before
            // the next one, and two messages would reach the platform closer than
            // the pace.
            let mut finished = Vec::new();
            if !stopping && now >= next_stats {
                next_stats = now.plus(self.config.stats_every);
                let stats = driving(
                    self.ports.outbox.stats(self.platform),
                    &mut in_flight,
                    &mut finished,
                )
                .await;
                match stats {
                    Ok(mut stats) => {
                        if let Ok(extra) = self.ports.fallback.stats(self.platform).await {
                            for (q, e) in stats.queues.iter_mut().zip(extra.queues) {
                                q.pending += e.pending;
                                q.oldest = match (q.oldest, e.oldest) {
                                    (Some(a), Some(b)) => Some(a.min(b)),
                                    (a, b) => a.or(b),
                                };
                            }
                        }
                        (self.events)(OutboxEvent::Stats { stats, at: now });
                    }
                    Err(error) => tracing::warn!(
                        platform = %self.platform,
                        error = &error as &dyn std::error::Error,
                        "outbox stats failed"
                    ),
                }
            }
            // Keep about one batch queued here: claim more when it runs low.
            if !stopping && now >= next_claim && local.queued < self.config.claim_batch / 2 {
                let found = self
                    .claim(&mut local, now, &mut in_flight, &mut finished)
                    .await;
                if found == 0 {
                    next_claim = now.plus(self.config.idle_poll);
                }
            }
            for done in finished {
                local.finish(done);
            }
            while !stopping && in_flight.len() < self.config.max_in_flight.max(1) {
                let Some(job) = local.next() else {
                    break;
                };
                in_flight.push(Box::pin(async move {
                    let chat = job.chat.clone();
                    let ids: Vec<String> = job.entries.iter().map(|e| e.id.clone()).collect();
                    let gone = self.send(job).await;
                    Done { chat, ids, gone }
                }));
            }
            let wake_at = if stopping {
                None
            } else if local.queued < self.config.claim_batch / 2 {
                Some(next_claim.max(now).min(next_stats))
            } else {
                Some(next_stats)
            };
            let mut sleep = wake_at.map(|at| {
                self.ports
                    .clock
                    .sleep(at.since(now).max(Duration::from_millis(1)))
                    .boxed()
            });
            let done = std::future::poll_fn(|cx| {
                if !in_flight.is_empty()
                    && let Poll::Ready(done) = in_flight.poll_next_unpin(cx)
                {
                    return Poll::Ready(done);
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
            let mut finished = done;
            while let Some(done) = finished {
                local.finish(done);
                finished = if in_flight.is_empty() {
                    None
                } else {
                    in_flight.next().now_or_never().flatten()
                };
            }
        }
    }

    /// Claim a batch from the outbox (and the fallback) into `local`; returns how
    /// many entries were new here.
    /// Sends in flight go on meanwhile (their ends are put in `finished`).
    async fn claim<'a>(
        &'a self,
        local: &mut Local,
        now: Timestamp,
        in_flight: &mut FuturesUnordered<JobFuture<'a>>,
        finished: &mut Vec<Done>,
    ) -> usize {
        let max = self.config.claim_batch.max(1);
        let mut claimed: Vec<(OutboxEntry, bool)> = Vec::new();
        let from_store = driving(
            self.ports
                .outbox
                .claim(self.platform, now, max, self.config.claim_ttl),
            in_flight,
            finished,
        )
        .await;
        match from_store {
            Ok(entries) => claimed.extend(entries.into_iter().map(|e| (e, false))),
            Err(error) => tracing::warn!(
                platform = %self.platform,
                error = &error as &dyn std::error::Error,
                "outbox claim failed; retrying"
            ),
        }
        if let Ok(entries) = self
            .ports
            .fallback
            .claim(self.platform, now, max, self.config.claim_ttl)
            .await
        {
            claimed.extend(entries.into_iter().map(|e| (e, true)));
        }
        // Group by chat, keeping the claim order (most urgent, then oldest, first).
        let mut by_chat: Vec<(ChatRef, bool, Vec<OutboxEntry>)> = Vec::new();
        let mut found = 0;
        for (entry, fallback) in claimed {
            if local.held.contains(&entry.id) {
                continue;
            }
            found += 1;
            match by_chat.iter_mut().find(|(c, f, es)| {
                *c == entry.chat && *f == fallback && es[0].priority == entry.priority
            }) {
                Some((_, _, entries)) => entries.push(entry),
                None => by_chat.push((entry.chat.clone(), fallback, vec![entry])),
            }
        }
        for (chat, fallback, entries) in by_chat {
            // With what is already queued here for the chat (not in flight), so a
            // backlog claimed in several batches still makes few digests.
            let priority = entries[0].priority;
            let (mut all, claimed_at) = local.take_queued(&chat, fallback, priority, now);
            all.extend(entries);
            let digest = all.len() > self.config.digest_after;
            let size = if digest {
                self.config.digest_max.max(2)
            } else {
                1
            };
            let mut all = all.into_iter().peekable();
            while all.peek().is_some() {
                let part: Vec<OutboxEntry> = all.by_ref().take(size).collect();
                local.push(Job {
                    chat: chat.clone(),
                    entries: part,
                    fallback,
                    claimed_at,
                });
            }
        }
        found
    }

    fn store(&self, fallback: bool) -> &dyn OutboxStore {
        if fallback {
            &self.ports.fallback
        } else {
            self.ports.outbox.as_ref()
        }
    }

    /// Send one job and settle its entries; returns whether the chat is gone.
    async fn send(&self, job: Job) -> bool {
        let chat = job.chat.clone();
        let priority = job.entries[0].priority;
        if self.ports.pacer.admit(&chat, priority, None).await.is_err() {
            // The pacer stopped (shutdown): the claim's expiry gives them back.
            return false;
        }
        let now = self.ports.clock.now();
        // Waited so long that the claim may have run out and another replica taken
        // the entries: give them back rather than risk sending twice.
        let margin = self.config.claim_ttl / 4;
        if now.since(job.claimed_at) + margin >= self.config.claim_ttl {
            self.reschedule(&job, job.entries.clone()).await;
            return false;
        }
        let job = self.gather(job, now).await;
        let count = job.entries.len();
        let notes: Vec<Notification> = job.entries.iter().map(|e| e.notification.clone()).collect();
        let result = if count == 1 {
            self.ports.notifier.notify(&notes[0]).await
        } else {
            self.ports.notifier.notify_digest(&notes).await
        };
        match result {
            Ok(()) => {
                self.complete(&job).await;
                (self.events)(OutboxEvent::Sent {
                    priority,
                    notifications: count,
                });
            }
            Err(NotifyError::RateLimited {
                retry_after,
                global,
            }) => {
                (self.events)(OutboxEvent::RateLimited { global });
                self.ports
                    .pacer
                    .rate_limited(&chat, retry_after, global)
                    .await;
                let not_before = self.ports.clock.now().plus(retry_after);
                let entries = job
                    .entries
                    .iter()
                    .map(|e| OutboxEntry {
                        not_before,
                        ..e.clone()
                    })
                    .collect();
                self.reschedule(&job, entries).await;
            }
            Err(NotifyError::ChatGone) => {
                tracing::info!(%chat, "chat gone; its pending messages and watches are dropped");
                // The job's own entries are still stored (claimed): they count there.
                let mut dropped = 0;
                for store in [
                    self.ports.outbox.as_ref(),
                    &self.ports.fallback as &dyn OutboxStore,
                ] {
                    match store.drop_chat(&chat).await {
                        Ok(n) => dropped += n,
                        Err(error) => tracing::warn!(
                            %chat,
                            error = &error as &dyn std::error::Error,
                            "could not drop a gone chat's pending messages"
                        ),
                    }
                }
                self.complete(&job).await;
                self.remove_watches(&chat).await;
                let dropped = dropped.max(count);
                (self.events)(OutboxEvent::Dropped {
                    reason: DropReason::ChatGone,
                    count: dropped,
                });
                return true;
            }
            Err(NotifyError::ChatMoved(to)) => {
                self.moved(&job, &to).await;
            }
            Err(NotifyError::Rejected(error)) => {
                tracing::warn!(
                    %chat,
                    count,
                    error = &*error as &dyn std::error::Error,
                    "the platform refused a notification for good; dropped"
                );
                self.complete(&job).await;
                (self.events)(OutboxEvent::Dropped {
                    reason: DropReason::Rejected,
                    count,
                });
            }
            Err(error) => {
                let now = self.ports.clock.now();
                let (expired, retry): (Vec<OutboxEntry>, Vec<OutboxEntry>) = job
                    .entries
                    .iter()
                    .cloned()
                    .partition(|e| now.since(e.created) >= self.config.max_age);
                tracing::warn!(
                    %chat,
                    count,
                    error = &error as &dyn std::error::Error,
                    "notification not sent; trying again later"
                );
                if !expired.is_empty() {
                    let ids: Vec<String> = expired.iter().map(|e| e.id.clone()).collect();
                    self.complete_ids(job.fallback, &ids).await;
                    (self.events)(OutboxEvent::Dropped {
                        reason: DropReason::Expired,
                        count: expired.len(),
                    });
                }
                if !retry.is_empty() {
                    (self.events)(OutboxEvent::Retried);
                    let retry = retry
                        .into_iter()
                        .map(|e| {
                            let attempts = e.attempts.saturating_add(1);
                            OutboxEntry {
                                attempts,
                                not_before: now.plus(self.config.backoff(attempts)),
                                ..e
                            }
                        })
                        .collect();
                    self.reschedule(&job, retry).await;
                }
            }
        }
        false
    }

    /// The chat's backlog in the store joins this message: in a storm the scheduler
    /// queues server by server, so a chat's entries are spread over many claims and
    /// a claim alone rarely holds more than one of them. When, with the due entries
    /// of the chat not claimed yet, there are more than `digest_after`, they go as
    /// one digest (of at most `digest_max`); fewer are given back at once (they are
    /// due and go one by one as usual).
    async fn gather(&self, mut job: Job, now: Timestamp) -> Job {
        let priority = job.entries[0].priority;
        let room = self
            .config
            .digest_max
            .max(2)
            .saturating_sub(job.entries.len());
        if job.fallback || priority == super::Priority::Answer || room == 0 {
            return job;
        }
        let more = match self
            .ports
            .outbox
            .claim_chat(&job.chat, now, room, self.config.claim_ttl)
            .await
        {
            Ok(more) => more,
            Err(error) => {
                tracing::warn!(
                    chat = %job.chat,
                    error = &error as &dyn std::error::Error,
                    "could not gather a chat's backlog; sending what is at hand"
                );
                return job;
            }
        };
        if more.is_empty() {
            return job;
        }
        let (same, other): (Vec<OutboxEntry>, Vec<OutboxEntry>) = more
            .into_iter()
            .filter(|e| !job.entries.iter().any(|j| j.id == e.id))
            .partition(|e| e.priority == priority);
        let mut back = other;
        if job.entries.len() + same.len() > self.config.digest_after {
            job.entries.extend(same);
        } else {
            back.extend(same);
        }
        if !back.is_empty() {
            // Their stored due time is their `not_before`: due again at once.
            self.reschedule(&job, back).await;
        }
        job
    }

    async fn complete(&self, job: &Job) {
        let ids: Vec<String> = job.entries.iter().map(|e| e.id.clone()).collect();
        self.complete_ids(job.fallback, &ids).await;
    }

    /// Complete `ids`, trying a few times: an entry left behind is sent again after
    /// its claim expires.
    async fn complete_ids(&self, fallback: bool, ids: &[String]) {
        for attempt in 0..3u32 {
            match self.store(fallback).complete(self.platform, ids).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(
                        platform = %self.platform,
                        attempt,
                        error = &error as &dyn std::error::Error,
                        "outbox complete failed; the message may be sent again"
                    );
                    self.ports
                        .clock
                        .sleep(Duration::from_millis(200 << attempt))
                        .await;
                }
            }
        }
    }

    async fn reschedule(&self, job: &Job, entries: Vec<OutboxEntry>) {
        if let Err(error) = self.store(job.fallback).reschedule(&entries).await {
            // The claim's expiry brings them back anyway.
            tracing::warn!(
                chat = %job.chat,
                error = &error as &dyn std::error::Error,
                "outbox reschedule failed"
            );
        }
    }

    async fn remove_watches(&self, chat: &ChatRef) {
        let store = self.ports.watches.as_ref();
        match store.watches_of(chat).await {
            Ok(watches) => {
                for watch in watches {
                    if let Err(error) = store.remove_watch(chat, &watch.target).await {
                        tracing::warn!(
                            %chat,
                            error = &error as &dyn std::error::Error,
                            "could not remove the watch of a gone chat"
                        );
                    }
                }
            }
            Err(error) => tracing::warn!(
                %chat,
                error = &error as &dyn std::error::Error,
                "could not read the watches of a gone chat"
            ),
        }
    }

    /// The chat has a new id: move its watches, queue the messages for the new id
    /// (new ids, so they are not taken for repeats), and complete the old ones.
    async fn moved(&self, job: &Job, to: &ChatRef) {
        tracing::info!(chat = %job.chat, %to, "chat moved; its watches and messages follow");
        if let Err(error) =
            crate::watch::move_chat(self.ports.watches.as_ref(), &job.chat, to, self.max_players)
                .await
        {
            tracing::warn!(
                chat = %job.chat,
                %to,
                error = &error as &dyn std::error::Error,
                "could not move the watches of a moved chat"
            );
        }
        let now = self.ports.clock.now();
        let moved: Vec<OutboxEntry> = job
            .entries
            .iter()
            .map(|e| {
                let mut id = format!("{to}>{}", e.id);
                if id.len() > MAX_NOTIFICATION_KEY {
                    let mut cut = MAX_NOTIFICATION_KEY;
                    while !id.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    id.truncate(cut);
                }
                OutboxEntry {
                    id: id.clone(),
                    chat: to.clone(),
                    not_before: now,
                    notification: Notification {
                        key: id,
                        chat: to.clone(),
                        ..e.notification.clone()
                    },
                    ..e.clone()
                }
            })
            .collect();
        match self
            .store(job.fallback)
            .push(&moved, now, self.config.remember)
            .await
        {
            Ok(_) => self.complete(job).await,
            Err(error) => tracing::warn!(
                chat = %job.chat,
                error = &error as &dyn std::error::Error,
                "could not queue a moved chat's messages; sent to the old id again later"
            ),
        }
    }
}
