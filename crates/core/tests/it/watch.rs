//! Watches: the scheduler and the watch service over in-memory fakes of the stores,
//! a scripted status source, a recording notifier and a manual clock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::domain::{
    ChatRef, HistorySample, PlayerList, PlayerSource, StatusOutcome, Target, Timestamp, Watch,
};
use mcstat_core::history::{DownCause, HistoryReader, MemoryHistory, Tier};
use mcstat_core::policy::TargetPolicy;
use mcstat_core::ports::{
    Clock, HistoryStore, LeasePort, ManualClock, MockNotifier, Notification, NotificationEvent,
    Notifier, NotifyError, SourceError, StatusSource, StoreError, WatchStore,
};
use mcstat_core::watch::{
    AddOutcome, MemoryLeases, NotifierRouter, Scheduler, SchedulerPorts, TargetState, WatchConfig,
    WatchError, WatchService, slot::Slots,
};

use crate::support::{T0, chat, clock, offline, online, target, user};

const MIN: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- fakes

/// A status source whose servers are up unless marked down, recording every poll
/// and how many ran at once.
pub(crate) struct FakeSource {
    clock: Arc<ManualClock>,
    down: Mutex<HashSet<String>>,
    players: Mutex<HashMap<String, Vec<String>>>,
    polls: Mutex<Vec<(String, Timestamp)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Targets whose polls hang until [`FakeSource::release`].
    stalled: Mutex<HashSet<String>>,
    released: tokio::sync::Notify,
}

impl FakeSource {
    fn new(clock: &Arc<ManualClock>) -> Self {
        Self {
            clock: Arc::clone(clock),
            down: Mutex::default(),
            players: Mutex::default(),
            polls: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            stalled: Mutex::default(),
            released: tokio::sync::Notify::new(),
        }
    }

    fn stall(&self, t: &Target) {
        self.stalled.lock().expect("lock").insert(t.key());
    }

    fn release(&self) {
        self.stalled.lock().expect("lock").clear();
        self.released.notify_waiters();
    }

    fn set_down(&self, t: &Target, down: bool) {
        let mut set = self.down.lock().expect("lock");
        if down {
            set.insert(t.key());
        } else {
            set.remove(&t.key());
        }
    }

    fn set_players(&self, t: &Target, names: &[&str]) {
        self.players
            .lock()
            .expect("lock")
            .insert(t.key(), names.iter().map(|n| (*n).to_owned()).collect());
    }

    fn polls_of(&self, t: &Target) -> Vec<Timestamp> {
        self.polls
            .lock()
            .expect("lock")
            .iter()
            .filter(|(k, _)| *k == t.key())
            .map(|(_, at)| *at)
            .collect()
    }

    fn poll_count(&self) -> usize {
        self.polls.lock().expect("lock").len()
    }

    fn is_down(&self, t: &Target) -> bool {
        self.down.lock().expect("lock").contains(&t.key())
    }
}

#[async_trait]
impl StatusSource for FakeSource {
    async fn status(&self, t: &Target) -> Result<StatusOutcome, SourceError> {
        let now = self.clock.now();
        self.polls.lock().expect("lock").push((t.key(), now));
        let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(n, Ordering::SeqCst);
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        loop {
            let released = self.released.notified();
            if !self.stalled.lock().expect("lock").contains(&t.key()) {
                break;
            }
            released.await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(if self.is_down(t) {
            offline(t, now)
        } else {
            online(t, now)
        })
    }

    async fn players(&self, t: &Target) -> Result<Option<PlayerList>, SourceError> {
        if self.is_down(t) {
            return Ok(None);
        }
        let names = self
            .players
            .lock()
            .expect("lock")
            .get(&t.key())
            .cloned()
            .unwrap_or_default();
        Ok(Some(PlayerList {
            target: t.clone(),
            source: PlayerSource::Query,
            online: Some(i64::try_from(names.len()).expect("small")),
            max: Some(20),
            names,
            taken_at: self.clock.now(),
        }))
    }
}

#[derive(Default)]
pub(crate) struct MemWatches {
    watches: Mutex<BTreeMap<(String, String), Watch>>,
    /// How many times the whole list was read.
    reads: AtomicUsize,
}

#[async_trait]
impl WatchStore for MemWatches {
    async fn add_watch(&self, watch: &Watch) -> Result<bool, StoreError> {
        Ok(self
            .watches
            .lock()
            .expect("lock")
            .insert((watch.target.key(), watch.chat.key()), watch.clone())
            .is_none())
    }

    async fn remove_watch(&self, chat: &ChatRef, t: &Target) -> Result<bool, StoreError> {
        Ok(self
            .watches
            .lock()
            .expect("lock")
            .remove(&(t.key(), chat.key()))
            .is_some())
    }

    async fn watches_of(&self, chat: &ChatRef) -> Result<Vec<Watch>, StoreError> {
        Ok(self
            .watches
            .lock()
            .expect("lock")
            .values()
            .filter(|w| w.chat == *chat)
            .cloned()
            .collect())
    }

    async fn all_watches(&self) -> Result<Vec<Watch>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .watches
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect())
    }
}

/// Every raw sample of `t` kept in `history`, oldest first.
pub(crate) async fn samples_of(history: &MemoryHistory, t: &Target) -> Vec<HistorySample> {
    HistoryReader::new(history)
        .samples(t, Timestamp(0), Timestamp(u64::MAX))
        .await
        .expect("readable")
}

/// Records every notification; chats in `gone` answer `ChatGone`.
#[derive(Default)]
pub(crate) struct Recorder {
    sent: Mutex<Vec<Notification>>,
    gone: Mutex<HashSet<ChatRef>>,
    /// Chats that answer `ChatMoved` to the given chat.
    moved: Mutex<HashMap<ChatRef, ChatRef>>,
    /// How many notifications bounced with `ChatMoved`.
    bounced: AtomicUsize,
}

impl Recorder {
    /// Notifications to `from` answer `ChatMoved(to)` from now on.
    fn move_on_notify(&self, from: &ChatRef, to: &ChatRef) {
        self.moved
            .lock()
            .expect("lock")
            .insert(from.clone(), to.clone());
    }

    fn sent(&self) -> Vec<Notification> {
        self.sent.lock().expect("lock").clone()
    }

    fn events_for(&self, c: &ChatRef) -> Vec<NotificationEvent> {
        self.sent()
            .into_iter()
            .filter(|n| n.chat == *c)
            .map(|n| n.event)
            .collect()
    }
}

#[async_trait]
impl Notifier for Recorder {
    async fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        if self.gone.lock().expect("lock").contains(&n.chat) {
            return Err(NotifyError::ChatGone);
        }
        if let Some(to) = self.moved.lock().expect("lock").get(&n.chat) {
            self.bounced.fetch_add(1, Ordering::SeqCst);
            return Err(NotifyError::ChatMoved(to.clone()));
        }
        self.sent.lock().expect("lock").push(n.clone());
        Ok(())
    }
}

/// A shutdown signal for `Scheduler::run`: ready once `done()` holds, checked every
/// time it is polled (it wakes itself); panics if polled after it completed.
fn when(mut done: impl FnMut() -> bool) -> impl std::future::Future<Output = ()> {
    let mut completed = false;
    std::future::poll_fn(move |cx| {
        assert!(!completed, "shutdown polled after it completed");
        if done() {
            completed = true;
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
}

// ---------------------------------------------------------------- world

struct World {
    clock: Arc<ManualClock>,
    source: Arc<FakeSource>,
    watches: Arc<MemWatches>,
    history: Arc<MemoryHistory>,
    recorder: Arc<Recorder>,
    leases: Arc<MemoryLeases>,
}

fn config() -> WatchConfig {
    WatchConfig {
        reload_every: Duration::ZERO,
        // Polls of targets seen for the first time at once (spreading them is
        // tested on its own).
        start_spread: Duration::ZERO,
        ..WatchConfig::default()
    }
}

impl World {
    fn new() -> Self {
        let clock = clock();
        Self {
            source: Arc::new(FakeSource::new(&clock)),
            watches: Arc::default(),
            history: Arc::new(MemoryHistory::new(config().history_config())),
            recorder: Arc::default(),
            leases: Arc::new(MemoryLeases::new(Arc::clone(&clock) as Arc<dyn Clock>)),
            clock,
        }
    }

    fn ports(&self) -> SchedulerPorts {
        SchedulerPorts {
            watches: Arc::clone(&self.watches) as Arc<dyn WatchStore>,
            history: Arc::clone(&self.history) as Arc<dyn HistoryStore>,
            source: Arc::clone(&self.source) as Arc<dyn StatusSource>,
            notifier: Arc::clone(&self.recorder) as Arc<dyn Notifier>,
            leases: Arc::clone(&self.leases) as Arc<dyn LeasePort>,
            clock: Arc::clone(&self.clock) as Arc<dyn Clock>,
        }
    }

    fn scheduler(&self, holder: &str) -> Scheduler {
        Scheduler::new(self.ports(), config(), holder)
    }

    /// A scheduler that reads the watch list once (for an hour): what it does to
    /// its plan must not depend on re-reading the store.
    fn quiet_scheduler(&self) -> Scheduler {
        Scheduler::new(
            self.ports(),
            WatchConfig {
                reload_every: Duration::from_secs(3600),
                ..config()
            },
            "a",
        )
    }

    fn service(&self) -> WatchService {
        WatchService::new(
            Arc::clone(&self.watches) as Arc<dyn WatchStore>,
            Arc::clone(&self.history) as Arc<dyn HistoryStore>,
            Arc::clone(&self.clock) as Arc<dyn Clock>,
            config(),
        )
    }

    async fn watch(&self, c: &ChatRef, t: &Target, players: &[&str]) {
        let players: Vec<String> = players.iter().map(|p| (*p).to_owned()).collect();
        self.service()
            .watch(c, &user("1"), t, &players)
            .await
            .expect("watch added");
    }

    /// Step the clock one second at a time for `d`, polling after each step with
    /// every scheduler in `schedulers`.
    async fn run_for(&self, schedulers: &[&Scheduler], d: Duration) {
        for _ in 0..d.as_secs() {
            self.clock.advance(Duration::from_secs(1));
            for s in schedulers {
                s.poll_once(self.clock.now()).await;
            }
        }
    }
}

// ---------------------------------------------------------------- transitions

#[tokio::test]
async fn one_lost_poll_is_silent_two_make_one_outage_and_one_comeback() {
    let w = World::new();
    let t = target("play.example.net");
    let c = chat("100");
    w.watch(&c, &t, &[]).await;
    let s = w.scheduler("a");

    let first = s.poll_once(w.clock.now()).await;
    assert_eq!(first.polled, vec![t.key()], "a new watch is polled at once");

    w.source.set_down(&t, true);
    w.run_for(&[&s], MIN).await;
    w.source.set_down(&t, false);
    w.run_for(&[&s], MIN).await;
    assert!(
        w.recorder.sent().is_empty(),
        "one lost ping is not an outage"
    );

    w.source.set_down(&t, true);
    w.run_for(&[&s], MIN).await;
    assert!(w.recorder.sent().is_empty(), "one failure: not yet");
    w.run_for(&[&s], MIN).await;
    assert_eq!(
        w.recorder.events_for(&c),
        vec![NotificationEvent::WentDown { up_for: None }],
        "up since the first poll: its start is unknown"
    );
    w.run_for(&[&s], 3 * MIN).await;
    assert_eq!(w.recorder.sent().len(), 1, "told once per outage");

    w.source.set_down(&t, false);
    w.run_for(&[&s], MIN).await;
    let events = w.recorder.events_for(&c);
    assert_eq!(events.len(), 2, "{events:?}");
    // Failures at polls 4 to 8, back at poll 9: down from poll 4, five intervals.
    assert_eq!(
        events[1],
        NotificationEvent::CameBack {
            down_for: Some(5 * MIN)
        }
    );
    let polls = w.source.polls_of(&t);
    assert_eq!(polls.len(), 9);
    let sent = w.recorder.sent();
    assert_eq!(sent[1].at, polls[8], "stamped with the poll that saw it");
    assert_eq!(sent[1].target, t);

    // A second outage knows how long the server had been up: since it came back.
    w.run_for(&[&s], 2 * MIN).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], 2 * MIN).await;
    assert_eq!(
        w.recorder.events_for(&c)[2],
        NotificationEvent::WentDown {
            up_for: Some(3 * MIN)
        }
    );
    assert_eq!(
        samples_of(&w.history, &t).await.len(),
        13,
        "a sample per poll"
    );
}

#[tokio::test]
async fn every_chat_watching_a_server_is_told_and_it_is_polled_once() {
    let w = World::new();
    let t = target("play.example.net");
    let chats: Vec<_> = (0..4).map(|i| chat(&format!("{i}"))).collect();
    for c in &chats {
        w.watch(c, &t, &[]).await;
    }
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], 2 * MIN).await;
    assert_eq!(
        w.source.polls_of(&t).len(),
        3,
        "one poll per interval for 4 chats"
    );
    for c in &chats {
        assert_eq!(
            w.recorder.events_for(c),
            vec![NotificationEvent::WentDown { up_for: None }]
        );
    }
}

#[tokio::test]
async fn named_players_joins_and_leaves_go_to_the_chats_that_follow_them() {
    let w = World::new();
    let t = target("play.example.net");
    let (a, b, none) = (chat("1"), chat("2"), chat("3"));
    w.watch(&a, &t, &["Alice"]).await;
    w.watch(&b, &t, &["bob", "alice"]).await;
    w.watch(&none, &t, &[]).await;
    w.source.set_players(&t, &["carol"]);
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;

    w.source.set_players(&t, &["carol", "alice", "Bob"]);
    w.run_for(&[&s], MIN).await;
    w.source.set_players(&t, &["Bob"]);
    w.run_for(&[&s], MIN).await;

    assert_eq!(
        w.recorder.events_for(&a),
        vec![
            NotificationEvent::PlayerJoined("alice".into()),
            NotificationEvent::PlayerLeft("alice".into()),
        ]
    );
    assert_eq!(
        w.recorder.events_for(&b),
        vec![
            NotificationEvent::PlayerJoined("alice".into()),
            NotificationEvent::PlayerJoined("Bob".into()),
            NotificationEvent::PlayerLeft("alice".into()),
        ]
    );
    assert!(w.recorder.events_for(&none).is_empty());
}

#[tokio::test]
async fn a_chat_that_is_gone_loses_its_watch() {
    let w = World::new();
    let t = target("play.example.net");
    let c = chat("100");
    w.watch(&c, &t, &[]).await;

    let mut notifier = MockNotifier::new();
    notifier.expect_idempotent().return_const(false);
    notifier
        .expect_notify()
        .times(1)
        .returning(|_| Err(NotifyError::ChatGone));
    let ports = SchedulerPorts {
        notifier: Arc::new(notifier),
        ..w.ports()
    };
    // The list is read once: the removal must reach the plan itself.
    let s = Scheduler::new(
        ports,
        WatchConfig {
            reload_every: Duration::from_secs(3600),
            ..config()
        },
        "a",
    );
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], MIN).await;
    w.clock.advance(MIN);
    let report = s.poll_once(w.clock.now()).await;
    assert_eq!(report.removed, 1);
    assert!(
        w.watches.all_watches().await.expect("ok").is_empty(),
        "the watch is removed from the store"
    );
    let polls = w.source.poll_count();
    w.source.set_down(&t, false);
    w.run_for(&[&s], 3 * MIN).await;
    assert_eq!(
        w.source.poll_count(),
        polls,
        "no longer polled, nobody told"
    );
}

#[tokio::test]
async fn a_chat_that_moved_takes_its_watch_along_and_is_told_there() {
    let w = World::new();
    let t = target("play.example.net");
    let (old, new, other) = (chat("-100"), chat("-1001234"), chat("7"));
    w.watch(&old, &t, &["Notch"]).await;
    w.watch(&other, &t, &[]).await;
    w.recorder.move_on_notify(&old, &new);
    // The list is read once: the move must reach the plan itself.
    let s = w.quiet_scheduler();
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], 3 * MIN).await;
    // Told in the new chat, and the other chat as usual.
    assert!(matches!(
        w.recorder.events_for(&new)[..],
        [NotificationEvent::WentDown { .. }]
    ));
    assert_eq!(w.recorder.events_for(&other).len(), 1);
    // The store holds the watch under the new chat, players and creation time kept.
    let moved = w.watches.watches_of(&new).await.expect("ok");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].players, vec!["Notch".to_owned()]);
    assert_eq!(moved[0].created_at, T0);
    assert!(w.watches.watches_of(&old).await.expect("ok").is_empty());
    // The next change goes straight to the new chat.
    w.source.set_down(&t, false);
    w.run_for(&[&s], 2 * MIN).await;
    assert_eq!(w.recorder.events_for(&new).len(), 2);
    assert!(w.recorder.events_for(&old).is_empty());
    assert_eq!(
        w.recorder.bounced.load(Ordering::SeqCst),
        1,
        "the old chat tried once"
    );
}

#[tokio::test]
async fn move_chat_moves_every_watch_of_a_chat() {
    let w = World::new();
    let (old, new) = (chat("-100"), chat("-1001234"));
    for i in 0..3 {
        w.watch(&old, &target(&format!("s{i}.example.net")), &[])
            .await;
    }
    w.watch(&chat("7"), &target("s0.example.net"), &[]).await;
    assert_eq!(w.service().move_chat(&old, &new).await.expect("ok"), 3);
    assert_eq!(w.watches.watches_of(&new).await.expect("ok").len(), 3);
    assert!(w.watches.watches_of(&old).await.expect("ok").is_empty());
    assert_eq!(w.watches.watches_of(&chat("7")).await.expect("ok").len(), 1);
    assert_eq!(w.service().move_chat(&old, &new).await.expect("ok"), 0);
}

#[tokio::test]
async fn a_restarted_scheduler_rebuilds_its_state_from_history() {
    let w = World::new();
    let t = target("play.example.net");
    let c = chat("1");
    w.watch(&c, &t, &[]).await;
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], 2 * MIN).await;
    assert_eq!(w.recorder.sent().len(), 1);
    drop(s);

    // A new process (same holder name): no memory, same stores. The server comes
    // back while it starts.
    let s2 = w.scheduler("a");
    w.source.set_down(&t, false);
    w.run_for(&[&s2], MIN).await;
    let events = w.recorder.events_for(&c);
    let polls = w.source.polls_of(&t);
    assert_eq!(polls.len(), 4, "3 by the old process, 1 by the new one");
    let back = polls[3];
    assert_eq!(
        back.since(polls[2]),
        MIN,
        "the slot the old process polled is not polled again"
    );
    assert_eq!(
        events,
        vec![
            NotificationEvent::WentDown { up_for: None },
            NotificationEvent::CameBack {
                down_for: Some(back.since(polls[1]))
            },
        ],
        "the outage start (the first failed poll, made by the old process) came from the history"
    );
}

#[tokio::test]
async fn notifications_route_by_platform() {
    use mcstat_core::domain::Platform;
    let tg = Arc::new(Recorder::default());
    let dc = Arc::new(Recorder::default());
    let router = NotifierRouter::new()
        .with(Platform::Telegram, Arc::clone(&tg) as Arc<dyn Notifier>)
        .with(Platform::Discord, Arc::clone(&dc) as Arc<dyn Notifier>);
    let note = |c: ChatRef| Notification {
        key: "k".into(),
        chat: c,
        target: target("a.example"),
        event: NotificationEvent::CameBack { down_for: None },
        at: T0,
    };
    let d = ChatRef::new(Platform::Discord, "42").expect("valid");
    router.notify(&note(chat("1"))).await.expect("telegram");
    router.notify(&note(d.clone())).await.expect("discord");
    assert_eq!(tg.sent().len(), 1);
    assert_eq!(dc.sent().len(), 1);
    assert_eq!(dc.sent()[0].chat, d);
    let api = ChatRef::new(Platform::Api, "k").expect("valid");
    assert!(matches!(
        router.notify(&note(api)).await,
        Err(NotifyError::Failed(_))
    ));
}

// ---------------------------------------------------------------- scheduling

#[tokio::test]
async fn each_target_is_polled_once_per_interval_at_its_jittered_time() {
    let w = World::new();
    let targets: Vec<_> = (0..8)
        .map(|i| target(&format!("s{i}.example.net")))
        .collect();
    for (i, t) in targets.iter().enumerate() {
        for j in 0..=i {
            w.watch(&chat(&format!("{j}")), t, &[]).await;
        }
    }
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.run_for(&[&s], 5 * MIN).await;
    let mut offsets = HashSet::new();
    for t in &targets {
        let polls = w.source.polls_of(t);
        assert_eq!(polls.len(), 6, "{t}: at once, then once per interval");
        let slots = Slots::for_key(&t.key(), MIN);
        for pair in polls[1..].windows(2) {
            assert_eq!(pair[1].since(pair[0]), MIN, "{t}: one interval apart");
        }
        for at in &polls[1..] {
            // Polled at the first one-second step at or after its due time.
            let slot = slots.current(*at).expect("after the epoch");
            let late = at.since(slots.due_at(slot));
            assert!(late < Duration::from_secs(1), "{t}: {late:?} late");
        }
        offsets.insert(slots.offset().as_secs());
    }
    assert!(
        offsets.len() >= 6,
        "8 targets spread over the interval, not bunched: {offsets:?}"
    );
}

#[tokio::test]
async fn no_more_polls_at_once_than_the_concurrency_limit() {
    let w = World::new();
    for i in 0..10 {
        w.watch(&chat("1"), &target(&format!("s{i}.example.net")), &[])
            .await;
    }
    let s = Scheduler::new(
        w.ports(),
        WatchConfig {
            max_concurrency: 3,
            max_watches_per_chat: 20,
            ..config()
        },
        "a",
    );
    // All ten are due together at the start.
    let report = s.poll_once(w.clock.now()).await;
    assert_eq!(report.polled.len(), 10);
    assert_eq!(w.source.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn due_targets_and_next_wake_follow_the_slots() {
    let w = World::new();
    let t = target("play.example.net");
    w.watch(&chat("1"), &t, &[]).await;
    let s = w.scheduler("a");
    assert_eq!(s.due_targets(w.clock.now()).await, vec![t.clone()]);
    s.poll_once(w.clock.now()).await;
    assert!(s.due_targets(w.clock.now()).await.is_empty());
    let slots = Slots::for_key(&t.key(), MIN);
    let next = slots.next_after(w.clock.now());
    let quiet = Scheduler::new(
        w.ports(),
        WatchConfig {
            reload_every: Duration::from_secs(3600),
            ..config()
        },
        "b",
    );
    quiet.poll_once(w.clock.now()).await;
    assert_eq!(quiet.next_wake(w.clock.now()), next);
    w.clock.set(Timestamp(next.0 - 1));
    assert!(s.due_targets(w.clock.now()).await.is_empty());
    w.clock.set(next);
    assert_eq!(s.due_targets(w.clock.now()).await, vec![t]);
}

#[tokio::test]
async fn run_sleeps_on_the_clock_until_shutdown_and_releases_its_leases() {
    let w = World::new();
    let t = target("play.example.net");
    w.watch(&chat("1"), &t, &[]).await;
    let s = w.quiet_scheduler();
    let clock = Arc::clone(&w.clock);
    let end = T0.plus(10 * MIN);
    let shutdown = when(move || clock.now() >= end);
    let mut reported = 0;
    s.run_with(shutdown, |report| {
        reported += report.polled.len();
        assert!(report.failed.is_empty());
    })
    .await;
    let polls = w.source.polls_of(&t);
    assert!(
        (10..=11).contains(&polls.len()),
        "one poll per interval over ten intervals: {}",
        polls.len()
    );
    // Every poll was reported (the last ones finish before `run` returns).
    assert_eq!(reported, polls.len());
    assert_eq!(w.leases.holder(&format!("poll:all:{}", t.key())), None);
}

#[tokio::test]
async fn history_is_pruned_to_each_tiers_retention_once_per_period() {
    let w = World::new();
    let t = target("old.example.net");
    let day = Duration::from_secs(86_400);
    let up = |at: Timestamp| HistorySample {
        target: t.clone(),
        at,
        online: true,
        players: Some(1),
        latency_ms: Some(20),
        cause: None,
    };
    // 600 days ago: a raw chunk past its retention (its buckets, closed by the
    // sample 597 days later, are past theirs then too: never written). 3 days ago: a
    // raw chunk past the 48 h of raw samples, its buckets closed an hour ago into
    // chunks kept 14, 90 and 400 days.
    let long_ago = T0.minus(600 * day);
    let days_ago = T0.minus(3 * day);
    let hour_ago = T0.minus(Duration::from_secs(3600));
    w.history
        .append_samples(&[
            up(long_ago),
            up(long_ago.plus(MIN)),
            up(days_ago),
            up(hour_ago),
        ])
        .await
        .expect("stored");
    let reader = HistoryReader::new(w.history.as_ref());
    let hourly = || reader.rollups(&t, Tier::Hour, T0.minus(90 * day), T0);

    let s = w.scheduler("a");
    let first = s.poll_once(w.clock.now()).await;
    assert_eq!(
        first.pruned,
        Some(2),
        "the raw chunks of 600 and of 3 days ago"
    );
    assert_eq!(
        samples_of(&w.history, &t).await,
        vec![up(hour_ago)],
        "raw samples are kept 48 h"
    );
    let kept = hourly().await.expect("readable");
    assert_eq!(
        kept.iter().map(|b| b.start).collect::<Vec<_>>(),
        vec![days_ago, hour_ago],
        "hourly buckets are kept 90 days (the open one from the head)"
    );
    w.clock.advance(Duration::from_secs(3599));
    assert_eq!(s.poll_once(w.clock.now()).await.pruned, None);
    w.clock.advance(Duration::from_secs(1));
    assert_eq!(s.poll_once(w.clock.now()).await.pruned, Some(0));
    // A second replica does not prune in the same period.
    let other = w.scheduler("b");
    assert_eq!(other.poll_once(w.clock.now()).await.pruned, None);
    assert_eq!(hourly().await.expect("readable"), kept);
}

// ---------------------------------------------------------------- replicas

#[tokio::test]
async fn two_replicas_poll_each_target_once_per_interval_in_total() {
    let w = World::new();
    let targets: Vec<_> = (0..6)
        .map(|i| target(&format!("s{i}.example.net")))
        .collect();
    for t in &targets {
        w.watch(&chat("1"), t, &[]).await;
        w.watch(&chat("2"), t, &[]).await;
    }
    let a = w.scheduler("a");
    let b = w.scheduler("b");
    a.poll_once(w.clock.now()).await;
    b.poll_once(w.clock.now()).await;
    w.run_for(&[&b, &a], 4 * MIN).await;
    for t in &targets {
        assert_eq!(w.source.polls_of(t).len(), 5, "{t}: once per slot in total");
    }

    // Everything goes down: each chat is told once per target, not once per replica.
    for t in &targets {
        w.source.set_down(t, true);
    }
    w.run_for(&[&a, &b], 3 * MIN).await;
    assert_eq!(w.recorder.events_for(&chat("1")).len(), 6);
    assert_eq!(w.recorder.events_for(&chat("2")).len(), 6);

    // Replica `a` dies (is never stepped again): `b` takes its targets over within
    // two intervals and keeps polling once per interval.
    let before = w.source.poll_count();
    w.run_for(&[&b], 2 * MIN).await;
    let mid = w.source.poll_count();
    w.run_for(&[&b], 3 * MIN).await;
    assert_eq!(
        w.source.poll_count() - mid,
        18,
        "b polls all six each interval"
    );
    assert!(
        mid - before >= 6,
        "some polls continued during the takeover"
    );

    // And `b` notices the comeback exactly once per chat, with the outage length
    // from the shared history (the outage began on `a`'s or `b`'s polls).
    for t in &targets {
        w.source.set_down(t, false);
    }
    w.run_for(&[&b], MIN).await;
    let back: Vec<_> = w
        .recorder
        .events_for(&chat("1"))
        .into_iter()
        .filter(|e| matches!(e, NotificationEvent::CameBack { .. }))
        .collect();
    assert_eq!(back.len(), 6);
    for e in back {
        assert!(
            matches!(e, NotificationEvent::CameBack { down_for: Some(d) } if d >= 8 * MIN),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn a_released_lease_lets_the_other_replica_take_over_at_once() {
    let w = World::new();
    let t = target("play.example.net");
    w.watch(&chat("1"), &t, &[]).await;
    let a = w.scheduler("a");
    let b = w.scheduler("b");
    a.poll_once(w.clock.now()).await;
    let report = b.poll_once(w.clock.now()).await;
    assert_eq!(report.skipped, vec![t.key()]);
    a.release_leases().await;
    w.run_for(&[&b], MIN).await;
    assert_eq!(w.source.polls_of(&t).len(), 2, "b polled the next slot");
    assert_eq!(
        w.leases.holder(&format!("poll:all:{}", t.key())).as_deref(),
        Some("b")
    );
}

// ---------------------------------------------------------------- service

#[tokio::test]
async fn watch_limits_updates_policy_and_unwatch() {
    let w = World::new();
    let svc = WatchService::new(
        Arc::clone(&w.watches) as Arc<dyn WatchStore>,
        Arc::clone(&w.history) as Arc<dyn HistoryStore>,
        Arc::clone(&w.clock) as Arc<dyn Clock>,
        WatchConfig {
            max_watches_per_chat: 2,
            ..config()
        },
    );
    let (c, u) = (chat("1"), user("7"));
    let a = target("a.example.net");
    assert_eq!(
        svc.watch(&c, &u, &a, &[]).await.expect("ok"),
        AddOutcome::Added
    );
    w.clock.advance(MIN);
    assert_eq!(
        svc.watch(&c, &u, &a, &["Notch".into()]).await.expect("ok"),
        AddOutcome::Updated
    );
    let listed = w.watches.watches_of(&c).await.expect("ok");
    assert_eq!(listed[0].players, vec!["Notch".to_owned()]);
    assert_eq!(
        listed[0].created_at, T0,
        "an update keeps the creation time"
    );
    svc.watch(&c, &u, &target("b.example.net"), &[])
        .await
        .expect("second");
    assert!(matches!(
        svc.watch(&c, &u, &target("c.example.net"), &[]).await,
        Err(WatchError::LimitReached { max: 2 })
    ));
    assert_eq!(
        svc.watch(&c, &u, &a, &[])
            .await
            .expect("re-watch at the limit"),
        AddOutcome::Updated
    );
    assert!(
        svc.watch(&chat("2"), &u, &target("c.example.net"), &[])
            .await
            .is_ok()
    );
    assert!(matches!(
        svc.watch(&c, &u, &target("127.0.0.1"), &[]).await,
        Err(WatchError::Policy(_))
    ));
    let open = WatchService::new(
        Arc::clone(&w.watches) as Arc<dyn WatchStore>,
        Arc::clone(&w.history) as Arc<dyn HistoryStore>,
        Arc::clone(&w.clock) as Arc<dyn Clock>,
        WatchConfig {
            policy: TargetPolicy::with_loopback(),
            ..config()
        },
    );
    assert!(
        open.watch(&chat("3"), &u, &target("127.0.0.1"), &[])
            .await
            .is_ok()
    );
    assert!(svc.unwatch(&c, &u, &a).await.expect("ok"));
    assert!(!svc.unwatch(&c, &u, &a).await.expect("ok"));
}

#[tokio::test]
async fn watches_lists_state_and_uptime_and_uptime_reports_outages() {
    let w = World::new();
    let (up, down) = (target("up.example.net"), target("down.example.net"));
    let c = chat("1");
    w.watch(&c, &up, &[]).await;
    w.watch(&c, &down, &[]).await;
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.run_for(&[&s], 30 * MIN).await;
    w.source.set_down(&down, true);
    w.run_for(&[&s], 10 * MIN).await;

    let svc = w.service();
    let listed = svc.watches(&c).await.expect("ok");
    assert_eq!(listed.len(), 2);
    let by_key: HashMap<_, _> = listed.iter().map(|s| (s.watch.target.key(), s)).collect();
    assert!(by_key[&up.key()].state.is_up());
    assert!(matches!(
        by_key[&down.key()].state,
        TargetState::Down { since: Some(_) }
    ));
    assert_eq!(by_key[&up.key()].day.ratio(), Some(1.0));
    let ratio = by_key[&down.key()].day.ratio().expect("known");
    assert!(
        (0.7..0.8).contains(&ratio),
        "about 30 of 40 minutes: {ratio}"
    );

    let report = svc.uptime(&down).await.expect("ok");
    assert_eq!(report.outages.len(), 1);
    assert_eq!(report.outages[0].end, None, "ongoing");
    assert!(report.outages[0].duration >= 9 * MIN);
    assert_eq!(report.outages[0].cause, DownCause::Timeout);
    // All history is within a day: every tier (raw, 5-minute, hourly, daily) counts
    // exactly the same up and down time.
    let raw = samples_of(&w.history, &down).await;
    let expected = mcstat_core::watch::uptime::window_uptime(
        &raw,
        w.clock.now(),
        mcstat_core::watch::uptime::DAY,
        config().interval,
    );
    let day = (report.day.up, report.day.down);
    assert_eq!(day, (expected.up, expected.down));
    assert_eq!(
        day.0 + day.1,
        40 * MIN,
        "known from the first poll until now"
    );
    for w in [report.week, report.month, report.quarter, report.year] {
        assert_eq!((w.up, w.down), day, "{:?}", w.span);
    }
    assert_eq!(report.samples, 41, "a poll a minute over 40 minutes");
    assert_eq!(report.last_sample.map(|(_, online)| online), Some(false));

    let history = svc
        .history(&down, Duration::from_secs(3600))
        .await
        .expect("ok");
    assert_eq!(history.len(), 41);
    assert!(history.windows(2).all(|p| p[0].at < p[1].at));
}

#[tokio::test]
async fn chat_answers_are_views_of_the_service_results() {
    use mcstat_core::chat::WatchCommand;
    use mcstat_core::chat::watch::{answer, chart_failed, graph_request};
    use mcstat_core::watch::views::{Health, WatchView};

    let w = World::new();
    let svc = w.service();
    let (c, u) = (chat("1"), user("7"));
    let ask = |command| answer(&svc, &c, &u, command, w.clock.now());
    let watch = |address: &str, players: &[&str]| WatchCommand::Watch {
        address: Some(address.to_owned()),
        players: players.iter().map(|p| (*p).to_owned()).collect(),
    };

    let Ok(WatchView::Added(added)) =
        ask(watch("a.example.net", &[" Notch", "notch", "jeb_"])).await
    else {
        panic!("added");
    };
    assert_eq!(added.display, "a.example.net");
    assert_eq!(added.players, ["Notch", "jeb_"], "as the watch keeps them");
    assert_eq!(added.interval, "1 min");
    let Ok(WatchView::Added(updated)) = ask(watch("a.example.net", &[])).await else {
        panic!("updated");
    };
    assert_eq!(updated.outcome, AddOutcome::Updated);
    assert!(updated.says_no_players());

    let Ok(WatchView::List(list)) = ask(WatchCommand::List).await else {
        panic!("list");
    };
    assert_eq!((list.entries.len(), list.max), (1, 10));
    assert_eq!(list.entries[0].health, Health::Unknown);

    let uptime = ask(WatchCommand::Uptime {
        address: Some("a.example.net".into()),
    })
    .await;
    assert!(matches!(&uptime, Ok(WatchView::Uptime(v)) if !v.has_history));

    let Ok(WatchView::Unwatched(gone)) = ask(WatchCommand::Unwatch {
        address: Some("a.example.net".into()),
    })
    .await
    else {
        panic!("unwatched");
    };
    assert!(gone.removed);

    let e = ask(watch("a.example.net", &["not a name!"]))
        .await
        .expect_err("bad name");
    assert!(e.message.contains("is not a player name"), "{}", e.message);
    let e = ask(WatchCommand::Unwatch { address: None })
        .await
        .expect_err("no address");
    assert!(e.message.contains("Try /unwatch"), "{}", e.message);

    let (view, request) = graph_request(&svc, Some("a.example.net"), Some("7d"))
        .await
        .expect("graph");
    assert_eq!((view.range_label, view.has_history), ("7 d", false));
    assert!(request.points.is_empty());
    assert!(
        chart_failed(&view)
            .message
            .contains("/uptime a.example.net")
    );
    let e = graph_request(&svc, Some("a.example.net"), Some("fortnight"))
        .await
        .expect_err("bad range");
    assert!(
        e.message.contains("24h, 7d, 30d, 90d or 1y"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn graph_and_uptime_cover_90_days_and_a_year() {
    use mcstat_core::chart::ChartRange;
    use mcstat_core::chat::WatchCommand;
    use mcstat_core::chat::watch::{answer, graph_request};
    use mcstat_core::watch::views::WatchView;

    let w = World::new();
    let t = target("play.example.net");
    let c = chat("1");
    w.watch(&c, &t, &[]).await;
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.run_for(&[&s], 20 * MIN).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], 5 * MIN).await;
    let polls = w.source.polls_of(&t).len();
    let svc = w.service();

    for (typed, range, label) in [
        ("90d", ChartRange::Quarter, "90 d"),
        ("quarter", ChartRange::Quarter, "90 d"),
        ("1y", ChartRange::Year, "1 y"),
        ("year", ChartRange::Year, "1 y"),
    ] {
        let (view, request) = graph_request(&svc, Some("play.example.net"), Some(typed))
            .await
            .expect("graph");
        assert_eq!(
            (view.range_label, view.has_history),
            (label, true),
            "{typed}"
        );
        assert_eq!(request.range, range);
        let series = request.series();
        assert_eq!(series.buckets.len(), range.buckets());
        assert_eq!(series.samples, polls, "{typed}: every poll is in the chart");
        let with_data: Vec<_> = series.buckets.iter().filter(|b| b.has_data()).collect();
        assert_eq!(with_data.len(), 1, "{typed}: 25 minutes fit one bucket");
        assert!(with_data[0].offline > 0 && with_data[0].players_max.is_some());
    }

    let Ok(WatchView::Uptime(view)) = answer(
        &svc,
        &c,
        &user("7"),
        WatchCommand::Uptime {
            address: Some("play.example.net".into()),
        },
        w.clock.now(),
    )
    .await
    else {
        panic!("uptime");
    };
    assert!(view.has_history);
    assert_eq!(
        view.windows.iter().map(|l| l.label).collect::<Vec<_>>(),
        ["24 h", "7 d", "30 d", "90 d", "1 y"]
    );
    let day = &view.windows[0];
    assert!(
        view.windows
            .iter()
            .all(|l| l.ratio == day.ratio && l.known == day.known),
        "{:?}",
        view.windows
    );
    assert_eq!(view.outages.len(), 1);
    assert!(view.outages[0].ongoing);
    assert_eq!(view.outages[0].cause, Some("timeout"));
    struct Plain;
    impl mcstat_core::watch::markup::Markup for Plain {
        fn place(&self) -> &'static str {
            "chat"
        }
        fn text(&self, s: &str) -> String {
            s.to_owned()
        }
        fn bold(&self, marked: &str) -> String {
            marked.to_owned()
        }
        fn italic(&self, marked: &str) -> String {
            marked.to_owned()
        }
        fn code(&self, s: &str) -> String {
            s.to_owned()
        }
    }
    let text = view.compose(&Plain);
    assert!(text.contains("\n90 d: "), "{text}");
    assert!(text.contains("\n1 y: "), "{text}");
    assert!(text.contains("so far (timeout)"), "{text}");
}

#[tokio::test]
async fn schedulers_of_different_platforms_each_serve_their_own_chats() {
    use mcstat_core::domain::Platform;
    let w = World::new();
    let t = target("play.example.net");
    let tg = chat("1");
    let dc = ChatRef::new(Platform::Discord, "900").expect("valid");
    w.watch(&tg, &t, &[]).await;
    w.watch(&dc, &t, &[]).await;
    let telegram = w.scheduler("tg-1").for_platforms([Platform::Telegram]);
    let discord = w.scheduler("dc-1").for_platforms([Platform::Discord]);
    let telegram2 = w.scheduler("tg-2").for_platforms([Platform::Telegram]);
    telegram.poll_once(w.clock.now()).await;
    discord.poll_once(w.clock.now()).await;
    telegram2.poll_once(w.clock.now()).await;
    assert_eq!(
        w.source.polls_of(&t).len(),
        1,
        "a starting scheduler takes a sample of this slot from the history"
    );
    w.source.set_down(&t, true);
    w.run_for(&[&telegram, &discord, &telegram2], 3 * MIN).await;
    assert_eq!(
        w.source.polls_of(&t).len(),
        1 + 3 * 2,
        "once per interval per platform, not per replica"
    );
    let sent = w.recorder.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        w.recorder.events_for(&tg),
        vec![NotificationEvent::WentDown { up_for: None }]
    );
    assert_eq!(
        w.recorder.events_for(&dc),
        vec![NotificationEvent::WentDown { up_for: None }]
    );
    assert_eq!(
        w.leases
            .holder(&format!("poll:telegram:{}", t.key()))
            .as_deref(),
        Some("tg-1")
    );
}

#[tokio::test]
async fn marker_records_in_the_watch_store_are_not_polled_or_told() {
    use mcstat_core::domain::Platform;
    let w = World::new();
    let t = target("play.example.net");
    let live = ChatRef::new(Platform::Discord, "live:123:456").expect("valid");
    w.watches
        .add_watch(&Watch {
            chat: live.clone(),
            target: t.clone(),
            created_at: T0,
            players: Vec::new(),
        })
        .await
        .expect("stored");
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], 3 * MIN).await;
    assert_eq!(w.source.poll_count(), 0, "a marker is not a watch");

    let all = w.scheduler("b").with_filter(|_| true);
    all.poll_once(w.clock.now()).await;
    assert_eq!(w.source.poll_count(), 1, "a custom filter decides");
}

#[tokio::test]
async fn watch_service_audits_changes_and_reports_store_failures() {
    use mcstat_core::ports::{MockAuditLog, MockHistoryStore, MockWatchStore};
    use mockall::predicate::function;

    let clock = clock();
    let (c, u, t) = (chat("1"), user("7"), target("a.example.net"));

    let mut store = MockWatchStore::new();
    store.expect_watches_of().times(1).returning(|_| Ok(vec![]));
    store.expect_add_watch().times(1).returning(|_| Ok(true));
    store
        .expect_remove_watch()
        .times(1)
        .returning(|_, _| Ok(true));
    let mut audit = MockAuditLog::new();
    audit
        .expect_append_audit()
        .with(function(|e: &mcstat_core::domain::AuditEntry| {
            e.action == "watch add a.example.net" && e.at == T0
        }))
        .times(1)
        .returning(|_| Ok(()));
    audit
        .expect_append_audit()
        .with(function(|e: &mcstat_core::domain::AuditEntry| {
            e.action == "watch remove a.example.net"
        }))
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("audit down".into())));
    let svc = WatchService::new(
        Arc::new(store),
        Arc::new(MockHistoryStore::new()),
        Arc::clone(&clock) as Arc<dyn Clock>,
        config(),
    )
    .with_audit(Arc::new(audit));
    assert_eq!(
        svc.watch(&c, &u, &t, &[]).await.expect("added"),
        AddOutcome::Added
    );
    assert!(
        svc.unwatch(&c, &u, &t)
            .await
            .expect("a failing audit log is not an error"),
    );

    let mut failing = MockWatchStore::new();
    failing
        .expect_watches_of()
        .returning(|_| Err(StoreError::Unavailable("down".into())));
    let mut history = MockHistoryStore::new();
    history
        .expect_head()
        .returning(|_| Err(StoreError::Unavailable("down".into())));
    history
        .expect_chunks()
        .returning(|_, _, _, _| Err(StoreError::Unavailable("down".into())));
    let svc = WatchService::new(
        Arc::new(failing),
        Arc::new(history),
        Arc::clone(&clock) as Arc<dyn Clock>,
        config(),
    );
    assert!(matches!(
        svc.watch(&c, &u, &t, &[]).await,
        Err(WatchError::Store(StoreError::Unavailable(_)))
    ));
    assert!(matches!(svc.watches(&c).await, Err(WatchError::Store(_))));
    assert!(matches!(svc.uptime(&t).await, Err(WatchError::Store(_))));
}

#[test]
fn config_is_normalized() {
    let c = WatchConfig {
        interval: Duration::ZERO,
        max_concurrency: 0,
        ..WatchConfig::default()
    }
    .normalized();
    assert_eq!(c.interval, WatchConfig::MIN_INTERVAL);
    assert_eq!(c.max_concurrency, 1);
    assert_eq!(
        WatchConfig::default().poll_lease_ttl(),
        Duration::from_secs(90)
    );
}

#[tokio::test]
async fn a_start_spreads_the_catch_up_polls_over_the_start_spread() {
    let w = World::new();
    let n = 200;
    let targets: Vec<Target> = (0..n)
        .map(|i| target(&format!("s{i}.example.net")))
        .collect();
    for (i, t) in targets.iter().enumerate() {
        w.watch(&chat(&format!("{}", i / 10)), t, &[]).await;
    }
    let spread = Duration::from_secs(10);
    let s = Scheduler::new(
        w.ports(),
        WatchConfig {
            start_spread: spread,
            max_concurrency: 1000,
            ..config()
        },
        "a",
    );
    // At the start, only the targets whose share of the spread is under 1 s.
    let first = s.poll_once(w.clock.now()).await.polled.len();
    assert!(first < n / 5, "{first} of {n} polled at once");
    // Second by second: every target once within the spread: at its slot's poll
    // time if that comes within the spread, else at the fraction of the spread its
    // jitter is of the interval.
    w.run_for(&[&s], spread).await;
    for t in &targets {
        let polls = w.source.polls_of(t);
        let slots = Slots::for_key(&t.key(), MIN);
        let share = slots.offset().as_millis() * spread.as_millis() / MIN.as_millis();
        let expected = if slots.next_after(T0) <= T0.plus(spread) {
            slots.next_after(T0)
        } else {
            T0.plus(Duration::from_millis(u64::try_from(share).expect("small")))
        };
        assert_eq!(polls.len(), 1, "{t}: {polls:?}");
        assert!(
            polls[0] >= expected && polls[0].since(expected) < Duration::from_secs(1),
            "{t}: polled at {:?}, expected {:?}",
            polls[0],
            expected
        );
    }
    // And then once per slot as usual: over one more interval, one more poll each.
    w.run_for(&[&s], MIN).await;
    for t in &targets {
        assert_eq!(w.source.polls_of(t).len(), 2, "{t}");
    }
}

#[tokio::test]
async fn run_keeps_the_schedule_while_a_poll_stalls() {
    let w = World::new();
    let stuck = target("stuck.example.net");
    let fine = target("fine.example.net");
    w.watch(&chat("1"), &stuck, &[]).await;
    w.watch(&chat("1"), &fine, &[]).await;
    w.source.stall(&stuck);
    let s = Scheduler::new(
        w.ports(),
        WatchConfig {
            // Reloads while the poll hangs must not forget it is running.
            reload_every: Duration::from_secs(1),
            max_concurrency: 2,
            ..config()
        },
        "a",
    );
    let clock = Arc::clone(&w.clock);
    let source = Arc::clone(&w.source);
    let end = T0.plus(5 * MIN);
    let shutdown = when(move || {
        // Let the stalled poll finish so that `run` can drain it.
        clock.now() >= end && {
            source.release();
            true
        }
    });
    let mut reported = Vec::new();
    s.run_with(shutdown, |report| reported.extend(report.polled.clone()))
        .await;
    // The other target kept its one poll per interval while the first hung (a loop
    // of rounds would have waited for it: one poll in all).
    let fine_polls = w.source.polls_of(&fine);
    assert!((5..=6).contains(&fine_polls.len()), "{fine_polls:?}");
    // The stalled target was not polled again while its poll hung, and its poll was
    // reported once it finished.
    assert_eq!(w.source.polls_of(&stuck).len(), 1);
    assert_eq!(
        reported.iter().filter(|k| **k == stuck.key()).count(),
        1,
        "{reported:?}"
    );
}

#[tokio::test]
async fn run_works_through_a_backlog_without_waiting_for_the_batch_window() {
    let w = World::new();
    let n = 300;
    for i in 0..n {
        w.watch(
            &chat(&format!("{}", i / 10)),
            &target(&format!("s{i}.example.net")),
            &[],
        )
        .await;
    }
    let s = Scheduler::new(
        w.ports(),
        WatchConfig {
            reload_every: Duration::from_secs(3600),
            max_concurrency: 4,
            ..config()
        },
        "a",
    );
    let source = Arc::clone(&w.source);
    let shutdown = when(move || source.poll_count() >= n);
    s.run(shutdown).await;
    // 300 polls 4 at a time: a finished poll makes room for the next at once (75
    // batch windows of waiting would have been 7.5 s).
    let took = w.clock.now().since(T0);
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(w.source.poll_count(), n);
    assert_eq!(w.source.max_in_flight.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn run_with_zero_housekeeping_periods_does_not_spin() {
    let w = World::new();
    let t = target("play.example.net");
    w.watch(&chat("1"), &t, &[]).await;
    // `config()` reloads at every `poll_once` (reload_every zero); `run` must still
    // sleep between reloads, and never poll `shutdown` once it completed.
    let s = Scheduler::new(
        w.ports(),
        WatchConfig {
            prune_every: Duration::ZERO,
            ..config()
        },
        "a",
    );
    let clock = Arc::clone(&w.clock);
    let end = T0.plus(2 * MIN);
    let shutdown = when(move || clock.now() >= end);
    s.run(shutdown).await;
    // Two minutes at most one reload per 100 ms: 1,200 (a spin makes tens of
    // thousands without the clock moving).
    let reads = w.watches.reads.load(Ordering::SeqCst);
    assert!(reads <= 1_300, "{reads} reloads");
    assert!((2..=3).contains(&w.source.polls_of(&t).len()));
}

#[tokio::test]
async fn a_chat_found_gone_or_moved_is_not_told_again_in_the_same_poll() {
    let w = World::new();
    let t = target("play.example.net");
    let (gone, old, new) = (chat("1"), chat("-100"), chat("-1001234"));
    w.watch(&gone, &t, &["alice", "bob"]).await;
    w.watch(&old, &t, &["alice", "bob"]).await;
    w.source.set_players(&t, &["carol"]);
    let s = w.quiet_scheduler();
    s.poll_once(w.clock.now()).await;
    w.recorder.gone.lock().expect("lock").insert(gone.clone());
    w.recorder.move_on_notify(&old, &new);
    // Two followed players join at once: two changes in one poll.
    w.source.set_players(&t, &["carol", "alice", "bob"]);
    let mut removed = 0;
    for _ in 0..MIN.as_secs() {
        w.clock.advance(Duration::from_secs(1));
        removed += s.poll_once(w.clock.now()).await.removed;
    }
    assert_eq!(removed, 1, "the gone chat's watch is removed once");
    // The moved chat bounced once; the second change went straight to the new id.
    assert_eq!(w.recorder.bounced.load(Ordering::SeqCst), 1);
    assert_eq!(
        w.recorder.events_for(&new),
        vec![
            NotificationEvent::PlayerJoined("alice".into()),
            NotificationEvent::PlayerJoined("bob".into()),
        ]
    );
}

#[tokio::test]
async fn a_bedrock_player_behind_geyser_is_followed_by_their_gamertag() {
    let w = World::new();
    let t = target("play.example.net");
    let c = chat("1");
    w.watch(&c, &t, &["Steve Smith"]).await;
    w.source.set_players(&t, &["Notch"]);
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    // Floodgate's spelling: a `.` prefix and `_` for the space.
    w.source.set_players(&t, &["Notch", ".Steve_Smith"]);
    w.run_for(&[&s], MIN).await;
    w.source.set_players(&t, &["Notch"]);
    w.run_for(&[&s], MIN).await;
    assert_eq!(
        w.recorder.events_for(&c),
        vec![
            NotificationEvent::PlayerJoined(".Steve_Smith".into()),
            NotificationEvent::PlayerLeft(".Steve_Smith".into()),
        ]
    );
}

// ---------------------------------------------------------------- chat moves (from a review)

/// The supergroup already watches the server (its members added it again while the
/// old group's watch was still under the old id): the bounce must not tell it twice
/// nor replace its player list with the old group's.
#[tokio::test]
async fn moves_a_move_onto_an_existing_watch_tells_once_and_keeps_its_players() {
    let w = World::new();
    let t = target("play.example.net");
    let (old, new) = (chat("-100"), chat("-1001234"));
    w.watch(&old, &t, &["Notch"]).await;
    w.watch(&new, &t, &["Alex"]).await;
    w.recorder.move_on_notify(&old, &new);
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], 3 * MIN).await;
    let got = w.recorder.events_for(&new);
    let players = w.watches.watches_of(&new).await.expect("ok")[0]
        .players
        .clone();
    assert!(
        got.len() == 1 && players.iter().any(|p| p == "Alex"),
        "told {} times (once expected); players now {players:?} (Alex expected)",
        got.len()
    );
}

/// `move_chat` onto a chat that already watches the same server merges into that
/// watch (its players kept) instead of overwriting it.
#[tokio::test]
async fn moves_move_chat_merges_instead_of_overwriting() {
    let w = World::new();
    let t = target("play.example.net");
    let (old, new) = (chat("-100"), chat("-1001234"));
    w.watch(&old, &t, &["Notch"]).await;
    w.watch(&new, &t, &["Alex"]).await;
    w.service().move_chat(&old, &new).await.expect("moved");
    let players = w.watches.watches_of(&new).await.expect("ok")[0]
        .players
        .clone();
    assert!(
        players.iter().any(|p| p == "Alex"),
        "Alex, followed in the new chat, is lost: {players:?}"
    );
}

/// A chat "moved" to itself (a bogus answer) must not lose its watches.
#[tokio::test]
async fn moves_move_chat_to_itself_keeps_the_watches() {
    let w = World::new();
    let t = target("play.example.net");
    let c = chat("-100");
    w.watch(&c, &t, &[]).await;
    w.service().move_chat(&c, &c).await.expect("moved");
    assert_eq!(w.watches.watches_of(&c).await.expect("ok").len(), 1);
}

/// The service message moved the watches; the supergroup then unwatched the server.
/// The scheduler's plan (read before the move) still names the old group: its
/// bounce must not bring the watch back.
#[tokio::test]
async fn moves_a_stale_bounce_does_not_resurrect_an_unwatched_watch() {
    let w = World::new();
    let t = target("play.example.net");
    let (old, new) = (chat("-100"), chat("-1001234"));
    w.watch(&old, &t, &[]).await;
    w.recorder.move_on_notify(&old, &new);
    let s = w.quiet_scheduler();
    s.poll_once(w.clock.now()).await;
    // The Telegram handler, on the service message; then /unwatch in the supergroup.
    w.service().move_chat(&old, &new).await.expect("moved");
    assert!(w.service().unwatch(&new, &user("1"), &t).await.expect("ok"));
    w.source.set_down(&t, true);
    w.run_for(&[&s], 2 * MIN).await;
    assert!(
        w.watches.watches_of(&new).await.expect("ok").is_empty(),
        "the unwatched server is watched again"
    );
}

/// The old group watches two servers; only one changes. The bounce moves both (else
/// the other would stay under the old id, not listed by /watches in the supergroup,
/// until its server changed too).
#[tokio::test]
async fn moves_a_bounce_moves_every_watch_of_the_chat() {
    let w = World::new();
    let (t1, t2) = (target("a.example.net"), target("b.example.net"));
    let (old, new) = (chat("-100"), chat("-1001234"));
    w.watch(&old, &t1, &[]).await;
    w.watch(&old, &t2, &[]).await;
    w.recorder.move_on_notify(&old, &new);
    let s = w.scheduler("a");
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t1, true);
    w.run_for(&[&s], 3 * MIN).await;
    assert_eq!(w.recorder.events_for(&new).len(), 1);
    assert!(
        w.watches.watches_of(&old).await.expect("ok").is_empty(),
        "left under the old id: {:?}",
        w.watches.watches_of(&old).await.expect("ok")
    );
}

// ---------------------------------------------------------------- the outbox

/// History whose appends, while `fail` is set, record the sample and then never
/// return: the process dies right after the sample is recorded.
struct FlakyHistory {
    inner: Arc<MemoryHistory>,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl HistoryStore for FlakyHistory {
    async fn append_samples(&self, samples: &[HistorySample]) -> Result<(), StoreError> {
        self.inner.append_samples(samples).await?;
        if self.fail.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    async fn head(&self, target: &Target) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.head(target).await
    }

    async fn chunks(
        &self,
        target: &Target,
        stream: mcstat_core::history::Stream,
        first: u64,
        last: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner.chunks(target, stream, first, last).await
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.inner.prune(now).await
    }
}

#[tokio::test]
async fn a_change_is_queued_before_its_sample_so_a_crash_between_is_told_once() {
    use mcstat_core::outbox::{MemoryOutbox, OutboxConfig, OutboxNotifier};
    use mcstat_core::ports::OutboxStore as _;

    let w = World::new();
    let t = target("play.example.net");
    let (a, b) = (chat("1"), chat("2"));
    w.watch(&a, &t, &[]).await;
    w.watch(&b, &t, &[]).await;
    let outbox = MemoryOutbox::new();
    let history = Arc::new(FlakyHistory {
        inner: Arc::clone(&w.history),
        fail: std::sync::atomic::AtomicBool::new(false),
    });
    let ports = || SchedulerPorts {
        history: Arc::clone(&history) as Arc<dyn HistoryStore>,
        notifier: Arc::new(OutboxNotifier::new(
            Arc::new(outbox.clone()),
            MemoryOutbox::new(),
            Arc::clone(&w.clock) as Arc<dyn Clock>,
            OutboxConfig::default(),
        )),
        ..w.ports()
    };
    let s = Scheduler::new(ports(), config(), "a");
    s.poll_once(w.clock.now()).await;
    w.source.set_down(&t, true);
    w.run_for(&[&s], MIN).await;
    assert!(outbox.is_empty(), "one failure: not yet");
    // The second failure makes the outage; the process dies as its sample is
    // recorded. Had it recorded the sample first and queued after, the change
    // would be lost: the restarted tracker reads it from the history as old news.
    history.fail.store(true, Ordering::SeqCst);
    let died = tokio::time::timeout(Duration::from_millis(200), w.run_for(&[&s], MIN)).await;
    assert!(died.is_err(), "the append never returned");
    assert_eq!(outbox.len(), 2, "one per chat, queued before the sample");
    drop(s);
    history.fail.store(false, Ordering::SeqCst);

    // Restarted (another holder). The change is in the history now; polls go on,
    // and nothing new is queued (the same change again would have the same keys).
    let s2 = Scheduler::new(ports(), config(), "b");
    w.run_for(&[&s2], 3 * MIN).await;
    let pending = outbox
        .claim(
            mcstat_core::domain::Platform::Telegram,
            w.clock.now(),
            100,
            Duration::from_secs(30),
        )
        .await
        .expect("claim");
    assert_eq!(pending.len(), 2, "{pending:?}");
    let mut chats: Vec<_> = pending.iter().map(|e| e.chat.clone()).collect();
    chats.sort();
    assert_eq!(chats, vec![a.clone(), b.clone()]);
    assert!(
        pending
            .iter()
            .all(|e| matches!(e.notification.event, NotificationEvent::WentDown { .. })),
        "{pending:?}"
    );
    // The outbox deduplicates: no notify lease was taken.
    let start = w.source.polls_of(&t)[1];
    assert_eq!(
        w.leases
            .holder(&format!("notify:all:{}:down:{}", t.key(), start.0)),
        None
    );
    assert_eq!(
        pending[0].id,
        format!("{}:all:{}:down:{}", pending[0].chat, t.key(), start.0)
    );
}
