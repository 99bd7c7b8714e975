//! `mcstat-bench storm`: the time to drain a notification storm against its floor,
//! with nothing lost, through the real outbox, side by side with what the bots did
//! before it.
//!
//! - **Scaled rates**: Telegram's limits (30 messages a second, 1 a second per chat)
//!   with time running `rate / 30` times faster: a *scaled second* is
//!   30 ÷ `rate` s (60 ms at the default 500/s), so 10,000 notifications have a
//!   floor of 10,000 ÷ `rate` seconds (20 s) instead of 10,000 ÷ 30 ≈ 333 s. The bot
//!   paces as the service does for Telegram, scaled the same way:
//!   [`documented`]`(rate, 1 s)` globally (the same interval as `documented(30, one
//!   scaled second)`) and `documented(1, one scaled second)` per chat.
//! - **The platform** is a fake [`Notifier`] in the process ([`Fake`]): like
//!   Telegram's Bot API it enforces a global limit (at most 30 messages in any
//!   sliding window of one scaled second) and a per-chat limit (at most one message
//!   per chat in any such window), answers [`NotifyError::RateLimited`] above them
//!   with the time until it would accept (rounded up to a scaled second, as Telegram's
//!   whole-second `retry_after`, and marked `global` when the global limit refused),
//!   and records every message it accepted and the notifications in it (a digest
//!   carries several). A request takes a round trip (`--latency-ms`, each way half of
//!   it ±50 %); the limits are counted where the message arrives, half-way.
//! - **The paced outbox**: the storm is handed to an [`OutboxNotifier`] (by
//!   `--push-concurrency` tasks, as the watch scheduler's polls finish together),
//!   and drained by a [`Dispatcher`] and [`Pacer`] with the service's default
//!   [`OutboxConfig`], on the real clock ([`SystemClock`]), wired as
//!   `Backend::delivery` wires them; the dispatcher is running when the storm begins.
//!   Stores side by side: [`MemoryOutbox`] + [`MemoryLimiter`], [`FileStore`] (redb in
//!   a temporary directory, durable on every call) + [`MemoryLimiter`], and
//!   [`RedisStore`] + [`RedisStore::limiter`] on a redis-server of the benchmark's own
//!   (skipped with a message when it cannot start).
//! - **The alternative**, what the bots did before the outbox: every notification
//!   sent at once as it is ready, each retried after `retry_after` on a `429`, at most
//!   `--attempts` attempts (4: the old `bot-telegram` `api::MAX_ATTEMPTS`, which also
//!   gave up on a `retry_after` over 60 s, scaled here), no digests.
//! - Three storms (`--storms`): `one-each`, 10,000 chats with one notification each;
//!   `digests`, 100 chats with 100 each queued server by server (each poll that sees
//!   a server go down tells every chat watching it, as the scheduler does); `by-chat`,
//!   the same queued chat by chat (each chat's backlog together in the stores' claim
//!   order). The dispatcher should send a chat's backlog past three as digests.
//!   The floor is the issue's: one message per notification at the platform's rate,
//!   notifications ÷ `rate`. Drain time is from the first notification handed over to
//!   the last one delivered (or, for the old way, given up).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mcstat_adapters::{FileStore, RedisConfig, RedisStore, SystemClock};
use mcstat_core::outbox::{
    Dispatcher, DispatcherPorts, EventSink, MemoryLimiter, MemoryOutbox, OutboxConfig, OutboxEvent,
    OutboxNotifier, Pacer, PlatformLimits, documented,
};
use mcstat_core::ports::{
    Clock, Notification, NotificationEvent, Notifier, NotifyError, OutboxStore, SendLimiter,
    StoreError, WatchStore,
};
use mcstat_core::{ChatRef, Platform, Target, Watch};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::history::Redis;

/// Telegram's documented global limit per second, which the scaled rates speed up.
const TELEGRAM_PER_SECOND: u32 = 30;
/// One second: the platform's rate is per second (and "max in 1 s" is counted in it).
const WINDOW: Duration = Duration::from_secs(1);

/// Which stores the paced outbox runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    Memory,
    File,
    Redis,
}

impl StoreKind {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        match s {
            "memory" => Ok(Self::Memory),
            "file" => Ok(Self::File),
            "redis" => Ok(Self::Redis),
            other => Err(format!("store: memory, file or redis, not {other:?}")),
        }
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Memory => "`MemoryOutbox` + `MemoryLimiter`",
            Self::File => "`FileStore` + `MemoryLimiter`",
            Self::Redis => "`RedisStore` + `RedisStore::limiter()`",
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::File => "file",
            Self::Redis => "redis",
        }
    }
}

/// Options of the run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Notifications per storm (10,000).
    pub(crate) notifications: usize,
    /// The fake platform's global limit per second (500).
    pub(crate) rate: u32,
    /// The round trip of one request to the fake platform (3 ms: ≈ 50 ms at
    /// Telegram's scale).
    pub(crate) latency: Duration,
    /// How many tasks hand the storm to the outbox at once (64, the watch
    /// scheduler's default concurrency).
    pub(crate) push_concurrency: usize,
    /// The old way's attempts per notification (4).
    pub(crate) attempts: u32,
    /// The stores of the paced runs.
    pub(crate) stores: Vec<StoreKind>,
    /// The storms to run.
    pub(crate) storms: Vec<Storm>,
    /// Skip the old way.
    pub(crate) no_old: bool,
    /// Where to write every figure as JSON.
    pub(crate) json: Option<String>,
}

/// The scaled limits.
#[derive(Debug, Clone, Copy)]
struct Scale {
    /// Messages per second the platform accepts.
    rate: u32,
    /// One of Telegram's seconds, scaled: the window of both limits (30 messages
    /// in all, one per chat), and the unit of `retry_after`.
    second: Duration,
}

impl Scale {
    fn new(rate: u32) -> Self {
        Self {
            rate,
            second: WINDOW * TELEGRAM_PER_SECOND / rate.max(1),
        }
    }

    fn factor(self) -> f64 {
        f64::from(self.rate) / f64::from(TELEGRAM_PER_SECOND)
    }

    /// What the bot keeps to: the service's Telegram limits, scaled.
    fn limits(self) -> PlatformLimits {
        PlatformLimits {
            platform: Platform::Telegram,
            global: documented(self.rate, WINDOW),
            chat: documented(1, self.second),
            group: documented(20, self.second * 60),
            answer_deadline: Duration::from_secs(30),
        }
    }

    /// The floor: one message per notification at the platform's rate.
    fn floor(self, notifications: usize) -> Duration {
        WINDOW.mul_f64(notifications as f64 / f64::from(self.rate.max(1)))
    }
}

// ---------------------------------------------------------------------------
// The fake platform

/// What the fake platform saw.
#[derive(Debug, Default)]
struct FakeState {
    /// Arrival of the messages accepted in the last scaled second.
    global: VecDeque<Instant>,
    /// Per chat id, arrivals of its messages accepted in the last scaled second.
    chats: HashMap<String, VecDeque<Instant>>,
    /// Arrival of every accepted message, since the start, in order.
    accepted: Vec<Duration>,
    /// Times each notification key was accepted.
    keys: HashMap<String, u32>,
    /// Notifications accepted, repeats included.
    notifications: usize,
    /// Accepted messages that carried more than one notification.
    digests: usize,
    /// `429`s answered, and how many of them for the global limit.
    limited: u64,
    limited_global: u64,
    rng: u64,
}

/// A chat platform in the process that enforces a global and a per-chat limit like
/// Telegram's (see the module docs) and records what it accepts.
struct Fake {
    start: Instant,
    scale: Scale,
    latency: Duration,
    state: Mutex<FakeState>,
    /// Distinct notifications delivered so far.
    delivered: watch::Sender<usize>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake").field("scale", &self.scale).finish()
    }
}

impl Fake {
    fn new(scale: Scale, latency: Duration) -> Self {
        Self {
            start: Instant::now(),
            scale,
            latency,
            state: Mutex::new(FakeState {
                rng: 0x9e37_79b9_7f4a_7c15,
                ..FakeState::default()
            }),
            delivered: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One way of the round trip: half the latency, ±50 %.
    fn one_way(&self) -> Duration {
        let mut state = self.lock();
        let mut s = state.rng;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        state.rng = s;
        let u = (s >> 11) as f64 / (1u64 << 53) as f64;
        (self.latency / 2).mul_f64(0.5 + u)
    }

    /// `d` rounded up to whole scaled seconds, at least one (Telegram's
    /// `retry_after` is whole seconds).
    fn retry_after(&self, d: Duration) -> Duration {
        let unit = self.scale.second.as_nanos().max(1);
        let n = d.as_nanos().div_ceil(unit).max(1);
        self.scale.second * u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// A message for `chat` carrying `keys` arrives: accept it or answer `429`.
    fn arrive(&self, chat: &ChatRef, keys: &[&str]) -> Result<(), NotifyError> {
        let mut state = self.lock();
        let now = Instant::now();
        let FakeState {
            global,
            chats,
            accepted,
            keys: seen,
            notifications,
            digests,
            limited,
            limited_global,
            ..
        } = &mut *state;
        let window = self.scale.second;
        while global.front().is_some_and(|t| now - *t >= window) {
            global.pop_front();
        }
        let in_chat = chats.entry(chat.id().to_owned()).or_default();
        while in_chat.front().is_some_and(|t| now - *t >= window) {
            in_chat.pop_front();
        }
        if global.len() >= TELEGRAM_PER_SECOND as usize {
            *limited += 1;
            *limited_global += 1;
            let wait = global.front().map_or(window, |t| *t + window - now);
            return Err(NotifyError::RateLimited {
                retry_after: self.retry_after(wait),
                global: true,
            });
        }
        if let Some(first) = in_chat.front() {
            *limited += 1;
            let wait = *first + window - now;
            return Err(NotifyError::RateLimited {
                retry_after: self.retry_after(wait),
                global: false,
            });
        }
        global.push_back(now);
        in_chat.push_back(now);
        accepted.push(now - self.start);
        *notifications += keys.len();
        *digests += usize::from(keys.len() > 1);
        let mut new = 0;
        for key in keys {
            let n = seen.entry((*key).to_owned()).or_insert(0);
            *n += 1;
            new += usize::from(*n == 1);
        }
        if new > 0 {
            self.delivered.send_modify(|d| *d += new);
        }
        Ok(())
    }

    async fn send(&self, chat: &ChatRef, keys: &[&str]) -> Result<(), NotifyError> {
        tokio::time::sleep(self.one_way()).await;
        let answer = self.arrive(chat, keys);
        tokio::time::sleep(self.one_way()).await;
        answer
    }

    /// Wait until `n` distinct notifications were delivered.
    async fn all_delivered(&self, n: usize) {
        let _ = self.delivered.subscribe().wait_for(|d| *d >= n).await;
    }

    /// The figures, for a storm of `n` notifications.
    fn outcome(&self, n: usize, drain: Duration) -> Outcome {
        let state = self.lock();
        let delivered = state.keys.len();
        // The most messages in any window of 1 s (arrivals are in order).
        let mut max_window = 0;
        let mut first = 0;
        for (i, t) in state.accepted.iter().enumerate() {
            while *t - state.accepted[first] >= WINDOW {
                first += 1;
            }
            max_window = max_window.max(i + 1 - first);
        }
        Outcome {
            drain,
            queued: None,
            messages: state.accepted.len(),
            digests: state.digests,
            delivered,
            lost: n.saturating_sub(delivered),
            duplicates: state.notifications - delivered,
            limited: state.limited,
            limited_global: state.limited_global,
            max_window,
            left: None,
            dropped: 0,
        }
    }
}

#[async_trait]
impl Notifier for Fake {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.send(&notification.chat, &[notification.key.as_str()])
            .await
    }

    async fn notify_digest(&self, batch: &[Notification]) -> Result<(), NotifyError> {
        let Some(first) = batch.first() else {
            return Ok(());
        };
        let keys: Vec<&str> = batch.iter().map(|n| n.key.as_str()).collect();
        self.send(&first.chat, &keys).await
    }
}

/// Watches for the memory run: none (the dispatcher only reads them for a gone or
/// moved chat, which the fake never answers).
#[derive(Debug)]
struct NoWatches;

#[async_trait]
impl WatchStore for NoWatches {
    async fn add_watch(&self, _watch: &Watch) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn remove_watch(&self, _chat: &ChatRef, _target: &Target) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn watches_of(&self, _chat: &ChatRef) -> Result<Vec<Watch>, StoreError> {
        Ok(Vec::new())
    }
    async fn all_watches(&self) -> Result<Vec<Watch>, StoreError> {
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------
// The runs

/// The figures of one run.
#[derive(Debug, Clone)]
struct Outcome {
    /// From the storm's start to the last notification delivered or given up.
    drain: Duration,
    /// How long handing the storm to the outbox took (paced runs).
    queued: Option<Duration>,
    /// Messages the platform accepted (a digest is one).
    messages: usize,
    /// Of them, digests (more than one notification).
    digests: usize,
    /// Distinct notifications delivered.
    delivered: usize,
    /// Notifications never delivered (given up, or still queued at the deadline).
    lost: usize,
    /// Notifications delivered more than once (the repeats).
    duplicates: usize,
    /// `429`s answered, and of them for the global limit.
    limited: u64,
    limited_global: u64,
    /// The most messages accepted in any window of 1 s.
    max_window: usize,
    /// Entries still in the outbox after the run (paced runs).
    left: Option<u64>,
    /// Notifications the outbox reported dropped.
    dropped: usize,
}

/// A kind of storm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Storm {
    name: &'static str,
    title: &'static str,
    chats: usize,
    per_chat: usize,
    /// Queued chat by chat (each chat's backlog together in claim order) rather
    /// than server by server.
    by_chat: bool,
}

impl Storm {
    /// The storms of `n` notifications: `one-each`, `digests`, `by-chat`.
    pub(crate) fn all(n: usize) -> Vec<Self> {
        let per_chat = 100.min(n.max(1));
        vec![
            Self {
                name: "one-each",
                title: "one notification per chat",
                chats: n,
                per_chat: 1,
                by_chat: false,
            },
            Self {
                name: "digests",
                title: "notifications per chat, server by server (digests)",
                chats: n / per_chat,
                per_chat,
                by_chat: false,
            },
            Self {
                name: "by-chat",
                title: "notifications per chat, chat by chat (digests)",
                chats: n / per_chat,
                per_chat,
                by_chat: true,
            },
        ]
    }

    pub(crate) const fn name(&self) -> &'static str {
        self.name
    }

    fn heading(&self) -> String {
        if self.per_chat == 1 {
            format!("{} chats, {}", thousands(self.chats as u64), self.title)
        } else {
            format!(
                "{} chats, {} {}",
                thousands(self.chats as u64),
                self.per_chat,
                self.title
            )
        }
    }
}

/// A storm of `chats × per_chat` notifications, server by server (each poll that
/// sees a server go down tells every chat watching it) or chat by chat.
fn storm(kind: &Storm) -> Result<Vec<Notification>, String> {
    let Storm {
        name,
        chats,
        per_chat,
        by_chat,
        ..
    } = *kind;
    let at = SystemClock::new().now();
    let mut out = Vec::with_capacity(chats * per_chat);
    let chat_refs: Vec<ChatRef> = (0..chats)
        .map(|c| ChatRef::new(Platform::Telegram, (1_000_000 + c).to_string()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("chat: {e}"))?;
    let order: Vec<(usize, usize)> = if by_chat {
        (0..chats)
            .flat_map(|c| (0..per_chat).map(move |s| (s, c)))
            .collect()
    } else {
        (0..per_chat)
            .flat_map(|s| (0..chats).map(move |c| (s, c)))
            .collect()
    };
    for (s, c) in order {
        let chat = &chat_refs[c];
        {
            // One server per chat in the first storm (100 chats on each of 100
            // servers); every chat watches the same servers in the others.
            let server = if per_chat == 1 { c % 100 } else { s };
            let host = format!("s{server}.example.net");
            let target: Target = host.parse().map_err(|e| format!("{host}: {e}"))?;
            let at_ms = at.as_millis();
            // Stores claim the entries due at the same millisecond in key order: the
            // chat first keeps each chat's backlog together.
            let key = if by_chat {
                format!("{name}:{chat}:java:{host}:25565:down:{at_ms}")
            } else {
                format!("{name}:java:{host}:25565:down:{at_ms}:{chat}")
            };
            out.push(Notification {
                key,
                chat: chat.clone(),
                target,
                event: NotificationEvent::WentDown {
                    up_for: Some(Duration::from_secs(3600)),
                },
                at,
            });
        }
    }
    Ok(out)
}

/// The ports of one paced run.
struct Ports {
    outbox: Arc<dyn OutboxStore>,
    limiter: Arc<dyn SendLimiter>,
    watches: Arc<dyn WatchStore>,
}

async fn ports(
    kind: StoreKind,
    dir: &Path,
    redis: Option<&Redis>,
    run: &str,
) -> Result<Ports, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    match kind {
        StoreKind::Memory => Ok(Ports {
            outbox: Arc::new(MemoryOutbox::new()),
            limiter: Arc::new(MemoryLimiter::new(clock)),
            watches: Arc::new(NoWatches),
        }),
        StoreKind::File => {
            let store = Arc::new(
                FileStore::open(dir.join(format!("{run}.redb")))
                    .await
                    .map_err(|e| format!("file store: {e}"))?,
            );
            Ok(Ports {
                outbox: store.clone(),
                limiter: Arc::new(MemoryLimiter::new(clock)),
                watches: store,
            })
        }
        StoreKind::Redis => {
            let redis = redis.ok_or("no redis-server")?;
            let config = RedisConfig::new(redis.url()).prefix(format!("{run}:"));
            let store = Arc::new(
                RedisStore::connect(&config)
                    .await
                    .map_err(|e| format!("redis store: {e}"))?,
            );
            Ok(Ports {
                outbox: store.clone(),
                limiter: Arc::new(store.limiter()),
                watches: store,
            })
        }
    }
}

/// The storm through the outbox: pushed through an [`OutboxNotifier`], drained by a
/// [`Dispatcher`] and a [`Pacer`] into the fake platform.
async fn paced(
    scale: Scale,
    options: &Options,
    notes: &Arc<Vec<Notification>>,
    ports: Ports,
) -> Result<Outcome, String> {
    let n = notes.len();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let config = OutboxConfig::default();
    let dropped = Arc::new(AtomicUsize::new(0));
    let events: EventSink = {
        let dropped = Arc::clone(&dropped);
        Arc::new(move |event| {
            if let OutboxEvent::Dropped { count, .. } = event {
                dropped.fetch_add(count, Ordering::Relaxed);
            }
        })
    };
    let pacer = Arc::new(Pacer::new(
        scale.limits(),
        ports.limiter,
        Arc::clone(&clock),
        Arc::clone(&events),
    ));
    let fallback = MemoryOutbox::new();
    let notifier = Arc::new(OutboxNotifier::new(
        Arc::clone(&ports.outbox),
        fallback.clone(),
        Arc::clone(&clock),
        config.clone(),
    ));
    let fake = Arc::new(Fake::new(scale, options.latency));
    let dispatcher = Dispatcher::new(
        DispatcherPorts {
            outbox: Arc::clone(&ports.outbox),
            fallback: fallback.clone(),
            notifier: Arc::clone(&fake) as Arc<dyn Notifier>,
            watches: ports.watches,
            pacer: Arc::clone(&pacer),
            clock,
        },
        Platform::Telegram,
        config,
        events,
    );
    let deadline = scale.floor(n) * 5 + Duration::from_secs(30);

    // The storm: tasks hand the notifications over as the scheduler's polls would.
    let next = Arc::new(AtomicUsize::new(0));
    let mut pushers = JoinSet::new();
    for _ in 0..options.push_concurrency.max(1) {
        let notifier = Arc::clone(&notifier);
        let notes = Arc::clone(notes);
        let next = Arc::clone(&next);
        pushers.spawn(async move {
            let mut failed = 0usize;
            while let Some(note) = notes.get(next.fetch_add(1, Ordering::Relaxed)) {
                failed += usize::from(notifier.notify(note).await.is_err());
            }
            failed
        });
    }
    let start = fake.start;
    let pushed = async {
        let mut failed = 0;
        while let Some(done) = pushers.join_next().await {
            failed += done.unwrap_or(usize::MAX / 2);
        }
        (start.elapsed(), failed)
    };

    // The delivery, as `Delivery::run` runs it: the dispatcher until the fake has
    // every notification (or the deadline), then the pacer stops.
    let (stop, stopped) = watch::channel(false);
    let drained = {
        let fake = Arc::clone(&fake);
        async move {
            let _ = tokio::time::timeout(deadline, fake.all_delivered(n)).await;
        }
    };
    let delivery = async {
        let pacer_run = pacer.run(async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|s| *s).await;
        });
        let dispatcher_run = async {
            dispatcher.run(drained).await;
            let _ = stop.send(true);
        };
        tokio::join!(pacer_run, dispatcher_run);
    };
    let ((queued, failed), ()) = tokio::join!(pushed, delivery);
    if failed > 0 {
        return Err(format!("{failed} notifications could not be queued"));
    }
    let mut outcome = fake.outcome(n, Duration::ZERO);
    outcome.drain = if outcome.lost == 0 {
        fake.lock().accepted.last().copied().unwrap_or_default()
    } else {
        deadline
    };
    outcome.queued = Some(queued);
    outcome.left = Some(
        ports
            .outbox
            .stats(Platform::Telegram)
            .await
            .map_err(|e| e.to_string())?
            .pending()
            + fallback.len() as u64,
    );
    outcome.dropped = dropped.load(Ordering::Relaxed);
    Ok(outcome)
}

/// What the bots did before the outbox: every notification sent at once, retried
/// after `retry_after` on a `429`, `attempts` attempts at most.
async fn at_once(scale: Scale, options: &Options, notes: &[Notification]) -> Outcome {
    let fake = Arc::new(Fake::new(scale, options.latency));
    // The old `api::MAX_RETRY_AFTER` (60 s), scaled.
    let max_retry_after = scale.second * 60;
    let attempts = options.attempts.max(1);
    let mut tasks = JoinSet::new();
    for note in notes {
        let note = note.clone();
        let fake = Arc::clone(&fake);
        tasks.spawn(async move {
            for attempt in 0..attempts {
                match fake.notify(&note).await {
                    Err(NotifyError::RateLimited { retry_after, .. })
                        if attempt + 1 < attempts && retry_after <= max_retry_after =>
                    {
                        tokio::time::sleep(retry_after).await;
                    }
                    _ => return,
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let drain = fake.start.elapsed();
    fake.outcome(notes.len(), drain)
}

// ---------------------------------------------------------------------------
// The report

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn row(sender: &str, store: &str, floor: Duration, o: &Outcome) -> String {
    let ratio = o.drain.as_secs_f64() / floor.as_secs_f64();
    let per_message = o.limited as f64 / o.messages.max(1) as f64;
    // A run that lost notifications never drained: its time is when it stopped
    // (gave up, or the deadline), and its ratio means nothing.
    let (drain, ratio) = if o.lost == 0 {
        (secs(o.drain), format!("**{ratio:.3}**"))
    } else if o.queued.is_some() {
        (
            format!("{} (deadline)", secs(o.drain)),
            "not drained".to_owned(),
        )
    } else {
        (
            format!("{} (gave up)", secs(o.drain)),
            "not drained".to_owned(),
        )
    };
    format!(
        "| {sender} | {store} | {} | {drain} | {} | {ratio} | {} ({} digests) | {} | **{}** | {} | {} ({} global) | {per_message:.3} | {} |",
        o.queued.map_or_else(|| "—".to_owned(), secs),
        secs(floor),
        thousands(o.messages as u64),
        thousands(o.digests as u64),
        thousands(o.delivered as u64),
        thousands(o.lost as u64),
        thousands(o.duplicates as u64),
        thousands(o.limited),
        thousands(o.limited_global),
        thousands(o.max_window as u64),
    )
}

fn record(figures: &mut BTreeMap<String, f64>, prefix: &str, floor: Duration, o: &Outcome) {
    let mut put = |k: &str, v: f64| {
        figures.insert(format!("{prefix}_{k}"), v);
    };
    put("drain_s", o.drain.as_secs_f64());
    put("floor_s", floor.as_secs_f64());
    put("ratio", o.drain.as_secs_f64() / floor.as_secs_f64());
    if let Some(q) = o.queued {
        put("queued_s", q.as_secs_f64());
    }
    put("messages", o.messages as f64);
    put("digests", o.digests as f64);
    put("delivered", o.delivered as f64);
    put("lost", o.lost as f64);
    put("duplicates", o.duplicates as f64);
    put("rate_limited", o.limited as f64);
    put("rate_limited_global", o.limited_global as f64);
    put("max_per_second", o.max_window as f64);
    if let Some(left) = o.left {
        put("left_in_outbox", left as f64);
    }
    put("dropped", o.dropped as f64);
}

/// Run the benchmark and print markdown tables.
///
/// # Errors
/// A store that cannot be used, or a runtime that cannot start.
pub(crate) fn run(options: &Options) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run_async(options))
}

#[allow(clippy::too_many_lines)]
async fn run_async(options: &Options) -> Result<(), String> {
    let scale = Scale::new(options.rate);
    let limits = scale.limits();
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let redis = if options.stores.contains(&StoreKind::Redis) {
        match Redis::start() {
            Ok(redis) => Some(redis),
            Err(e) => {
                println!("Redis skipped: {e}\n");
                None
            }
        }
    } else {
        None
    };
    let mut figures: BTreeMap<String, f64> = BTreeMap::new();

    println!("## Notification storm: drain time against the floor\n");
    println!(
        "Scaled rates: Telegram's limits with time {:.1}× faster (a scaled second is {} ms). \
         The fake platform accepts {TELEGRAM_PER_SECOND} messages in any {} ms window ({}/s) and \
         1 per chat in any {} ms (Telegram: 30 a second, 1 a second per chat), and answers \
         `429` above them with `retry_after` rounded up to {} ms (Telegram's whole seconds). The bot paces \
         with `documented({}, 1 s)` = one message per {:.2} ms ({:.0}/s) and `documented(1, {} ms)` \
         per chat = one per {:.1} ms; default `OutboxConfig` (16 in flight, claims of 64, digests \
         past 3 of up to 50). Round trip to the fake: {} ms ±50 % (≈ {:.0} ms at Telegram's \
         scale). The storm is handed to the `OutboxNotifier` by {} tasks while the dispatcher \
         runs. Old way: every notification sent at once, retried after `retry_after` on a `429`, \
         {} attempts at most, no digests.\n",
        scale.factor(),
        scale.second.as_millis(),
        scale.second.as_millis(),
        scale.rate,
        scale.second.as_millis(),
        scale.second.as_millis(),
        scale.rate,
        limits.global.interval.as_secs_f64() * 1000.0,
        1.0 / limits.global.interval.as_secs_f64(),
        scale.second.as_millis(),
        limits.chat.interval.as_secs_f64() * 1000.0,
        options.latency.as_secs_f64() * 1000.0,
        options.latency.as_secs_f64() * 1000.0 * scale.factor(),
        options.push_concurrency,
        options.attempts,
    );

    for kind in &options.storms {
        let Storm {
            name,
            chats,
            per_chat,
            ..
        } = *kind;
        let notes = Arc::new(storm(kind)?);
        let floor = scale.floor(notes.len());
        let mut rows = Vec::new();
        let mut paced_outcomes = Vec::new();
        for &kind in &options.stores {
            if kind == StoreKind::Redis && redis.is_none() {
                rows.push(format!(
                    "| outbox, paced | {} | skipped: no redis-server |||||||||||",
                    kind.label()
                ));
                continue;
            }
            let run_name = format!("storm-{name}-{}", kind.name());
            let ports = ports(kind, dir.path(), redis.as_ref(), &run_name).await?;
            eprintln!("storm {name}: outbox on {} …", kind.name());
            let outcome = paced(scale, options, &notes, ports).await?;
            record(
                &mut figures,
                &format!("{name}_outbox_{}", kind.name()),
                floor,
                &outcome,
            );
            rows.push(row("outbox, paced", kind.label(), floor, &outcome));
            if outcome.left != Some(0) || outcome.dropped > 0 {
                rows.push(format!(
                    "| | ↳ left in the outbox: {}, dropped: {} |||||||||||",
                    outcome.left.unwrap_or(0),
                    outcome.dropped
                ));
            }
            paced_outcomes.push((kind, outcome));
        }
        let old = if options.no_old {
            None
        } else {
            eprintln!("storm {name}: old way …");
            let outcome = at_once(scale, options, &notes).await;
            record(&mut figures, &format!("{name}_old"), floor, &outcome);
            rows.push(row(
                &format!("old: at once, {} attempts", options.attempts),
                "none",
                floor,
                &outcome,
            ));
            Some(outcome)
        };

        println!("### {}\n", kind.heading());
        println!(
            "| sender | store / limiter | queued in | drain | floor | drain ÷ floor | messages accepted | notifications delivered | lost | duplicates | 429s | 429s per message | max in 1 s |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &rows {
            println!("{r}");
        }
        println!();
        if per_chat > 1 {
            let messages = chats * per_chat.div_ceil(OutboxConfig::default().digest_max);
            println!(
                "The floor counts one message per notification (the issue's); with digests of \
                 up to {} the fewest messages are {} ({} per chat), whose own floor is {}.\n",
                OutboxConfig::default().digest_max,
                thousands(messages as u64),
                per_chat.div_ceil(OutboxConfig::default().digest_max),
                secs(scale.floor(messages)),
            );
        }
        for (kind, paced) in &paced_outcomes {
            let mut line = format!(
                "- {}: {:.0} messages/s ({:.2} ms apart on average; the pace asks {:.2} ms).",
                kind.name(),
                paced.messages as f64 / paced.drain.as_secs_f64(),
                paced.drain.as_secs_f64() * 1000.0 / paced.messages.max(1) as f64,
                limits.global.interval.as_secs_f64() * 1000.0,
            );
            if let Some(old) = &old {
                line.push_str(&format!(
                    " Against the old way: drain ÷ floor {:.3} vs {} (it stopped after {}); \
                     lost {} vs {} ({:.1} %); 429s per message {:.3} vs {:.3}.",
                    paced.drain.as_secs_f64() / floor.as_secs_f64(),
                    if old.lost == 0 {
                        format!("{:.3}", old.drain.as_secs_f64() / floor.as_secs_f64())
                    } else {
                        "not drained".to_owned()
                    },
                    secs(old.drain),
                    thousands(paced.lost as u64),
                    thousands(old.lost as u64),
                    old.lost as f64 * 100.0 / notes.len().max(1) as f64,
                    paced.limited as f64 / paced.messages.max(1) as f64,
                    old.limited as f64 / old.messages.max(1) as f64,
                ));
            }
            println!("{line}");
        }
        println!();
    }

    if let Some(path) = &options.json {
        let json = serde_json::to_string_pretty(&figures).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}
