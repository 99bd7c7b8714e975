//! The outbox on a manual clock: pacing, priorities, fairness, digests, failures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::domain::{Platform, Timestamp, Watch};
use crate::ports::{
    Clock, ManualClock, NotificationEvent, Notifier, NotifyError, OutboxStore, Pace, SendLimiter,
    StoreError, WatchStore,
};

const START: Timestamp = Timestamp(1_700_000_000_000);

fn chat(id: i64) -> ChatRef {
    ChatRef::new(Platform::Telegram, id.to_string()).expect("valid")
}

fn note(chat: &ChatRef, n: usize) -> Notification {
    Notification {
        key: format!("{chat}:k{n}"),
        chat: chat.clone(),
        target: "a.example".parse().expect("valid"),
        event: NotificationEvent::WentDown { up_for: None },
        at: START,
    }
}

/// What the fake platform does with a send.
type Answer = Box<dyn Fn(&[Notification], usize) -> Result<(), NotifyError> + Send + Sync>;

/// A platform that records every message (time, chat, notifications in it).
struct Recorder {
    clock: Arc<ManualClock>,
    sent: Mutex<Vec<(Timestamp, ChatRef, Vec<String>)>>,
    calls: Mutex<usize>,
    answer: Answer,
}

impl Recorder {
    fn new(clock: &Arc<ManualClock>) -> Arc<Self> {
        Self::answering(clock, Box::new(|_, _| Ok(())))
    }

    fn answering(clock: &Arc<ManualClock>, answer: Answer) -> Arc<Self> {
        Arc::new(Self {
            clock: Arc::clone(clock),
            sent: Mutex::default(),
            calls: Mutex::default(),
            answer,
        })
    }

    fn sent(&self) -> Vec<(Timestamp, ChatRef, Vec<String>)> {
        self.sent.lock().expect("lock").clone()
    }

    fn keys(&self) -> Vec<String> {
        self.sent().into_iter().flat_map(|(_, _, k)| k).collect()
    }

    fn record(&self, batch: &[Notification]) -> Result<(), NotifyError> {
        let call = {
            let mut calls = self.calls.lock().expect("lock");
            *calls += 1;
            *calls
        };
        (self.answer)(batch, call)?;
        self.sent.lock().expect("lock").push((
            self.clock.now(),
            batch[0].chat.clone(),
            batch.iter().map(|n| n.key.clone()).collect(),
        ));
        Ok(())
    }
}

#[async_trait]
impl Notifier for Recorder {
    async fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        self.record(std::slice::from_ref(n))
    }

    async fn notify_digest(&self, batch: &[Notification]) -> Result<(), NotifyError> {
        self.record(batch)
    }
}

#[derive(Default)]
struct MemWatches(Mutex<Vec<Watch>>);

#[async_trait]
impl WatchStore for MemWatches {
    async fn add_watch(&self, watch: &Watch) -> Result<bool, StoreError> {
        self.0.lock().expect("lock").push(watch.clone());
        Ok(true)
    }

    async fn remove_watch(&self, chat: &ChatRef, t: &crate::Target) -> Result<bool, StoreError> {
        let mut w = self.0.lock().expect("lock");
        let before = w.len();
        w.retain(|w| !(w.chat == *chat && w.target == *t));
        Ok(w.len() < before)
    }

    async fn watches_of(&self, chat: &ChatRef) -> Result<Vec<Watch>, StoreError> {
        Ok(self
            .0
            .lock()
            .expect("lock")
            .iter()
            .filter(|w| w.chat == *chat)
            .cloned()
            .collect())
    }

    async fn all_watches(&self) -> Result<Vec<Watch>, StoreError> {
        Ok(self.0.lock().expect("lock").clone())
    }
}

struct Rig {
    clock: Arc<ManualClock>,
    outbox: MemoryOutbox,
    watches: Arc<MemWatches>,
    pacer: Arc<Pacer>,
    events: Arc<Mutex<Vec<OutboxEvent>>>,
}

impl Rig {
    fn new(limits: PlatformLimits) -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let events: Arc<Mutex<Vec<OutboxEvent>>> = Arc::default();
        let sink = {
            let events = Arc::clone(&events);
            Arc::new(move |e| events.lock().expect("lock").push(e)) as EventSink
        };
        let limiter = Arc::new(MemoryLimiter::new(clock.clone()));
        let pacer = Arc::new(Pacer::new(limits, limiter, clock.clone(), sink));
        Self {
            clock,
            outbox: MemoryOutbox::new(),
            watches: Arc::new(MemWatches::default()),
            pacer,
            events,
        }
    }

    fn dispatcher(&self, notifier: Arc<dyn Notifier>, config: OutboxConfig) -> Dispatcher {
        let sink = {
            let events = Arc::clone(&self.events);
            Arc::new(move |e| events.lock().expect("lock").push(e)) as EventSink
        };
        Dispatcher::new(
            DispatcherPorts {
                outbox: Arc::new(self.outbox.clone()),
                fallback: MemoryOutbox::new(),
                notifier,
                watches: self.watches.clone(),
                pacer: Arc::clone(&self.pacer),
                clock: self.clock.clone(),
            },
            Platform::Telegram,
            config,
            sink,
        )
    }

    async fn push(&self, notes: impl IntoIterator<Item = Notification>) {
        let entries: Vec<OutboxEntry> = notes
            .into_iter()
            .map(|n| OutboxEntry::notification(n, Priority::Notification, self.clock.now()))
            .collect();
        self.outbox
            .push(&entries, self.clock.now(), Duration::from_secs(3600))
            .await
            .expect("push");
    }

    /// Run the pacer and the dispatcher until `done` holds (or a minute of clock
    /// time has passed).
    async fn run_until(&self, dispatcher: &Dispatcher, done: impl Fn() -> bool) {
        let deadline = self.clock.now().plus(Duration::from_secs(600));
        let stop = async {
            while !done() && self.clock.now() < deadline {
                tokio::task::yield_now().await;
            }
        };
        let stop = futures_util::FutureExt::shared(Box::pin(stop));
        futures_util::future::join(self.pacer.run(stop.clone()), dispatcher.run(stop.clone()))
            .await;
    }

    fn dropped(&self, reason: DropReason) -> usize {
        self.events
            .lock()
            .expect("lock")
            .iter()
            .map(|e| match e {
                OutboxEvent::Dropped { reason: r, count } if *r == reason => *count,
                _ => 0,
            })
            .sum()
    }
}

fn fast_limits() -> PlatformLimits {
    PlatformLimits::telegram()
}

#[tokio::test]
async fn a_storm_is_delivered_once_each_within_the_global_pace() {
    let rig = Rig::new(fast_limits());
    let recorder = Recorder::new(&rig.clock);
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    rig.push((0..300).map(|i| note(&chat(i), 0))).await;
    rig.run_until(&dispatcher, || recorder.sent().len() >= 300)
        .await;
    let sent = recorder.sent();
    assert_eq!(sent.len(), 300);
    let mut keys = recorder.keys();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 300, "each once");
    // Never more than 30 in any second.
    for (i, (t, _, _)) in sent.iter().enumerate() {
        let in_window = sent[i..]
            .iter()
            .take_while(|(u, _, _)| u.0 < t.0 + 1000)
            .count();
        assert!(
            in_window <= 30,
            "{in_window} sends in the second from {t:?}"
        );
    }
    let span = sent.last().expect("sent").0.since(sent[0].0);
    assert!(span >= Duration::from_millis(9_900), "{span:?}");
    assert!(rig.outbox.is_empty());
}

#[tokio::test]
async fn one_busy_chat_does_not_starve_the_others_and_gets_digests() {
    let rig = Rig::new(fast_limits());
    let recorder = Recorder::new(&rig.clock);
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    let busy = chat(1);
    rig.push((0..500).map(|n| note(&busy, n))).await;
    rig.push((2..12).map(|i| note(&chat(i), 0))).await;
    rig.run_until(&dispatcher, || recorder.keys().len() >= 510)
        .await;
    let sent = recorder.sent();
    // The ten quiet chats are told in the first second, beside the busy one.
    let quiet_done = sent
        .iter()
        .filter(|(_, c, _)| *c != busy)
        .map(|(t, _, _)| *t)
        .max()
        .expect("sent");
    assert!(
        quiet_done.since(START) < Duration::from_secs(3),
        "{quiet_done:?}"
    );
    let busy_done = sent.iter().map(|(t, _, _)| *t).max().expect("sent");
    assert!(
        busy_done.since(START) > Duration::from_secs(9),
        "{busy_done:?}"
    );
    // The busy chat's 500 came as digests of at most 50, at most one a second.
    let busy_msgs: Vec<_> = sent.iter().filter(|(_, c, _)| *c == busy).collect();
    assert!(busy_msgs.len() <= 12, "{} messages", busy_msgs.len());
    assert!(busy_msgs.iter().all(|(_, _, k)| k.len() <= 50));
    for pair in busy_msgs.windows(2) {
        assert!(pair[1].0.since(pair[0].0) >= Duration::from_millis(1000));
    }
    let mut keys = recorder.keys();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 510);
}

#[tokio::test]
async fn a_storm_queued_server_by_server_still_goes_as_digests() {
    // 100 chats each watching the same 20 servers: the scheduler queues the storm
    // server by server, so any claim of 64 holds at most one entry per chat.
    let rig = Rig::new(fast_limits());
    let recorder = Recorder::new(&rig.clock);
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    for server in 0..20 {
        rig.push((0..100).map(|c| note(&chat(1000 + c), server)))
            .await;
        rig.clock.advance(Duration::from_millis(10));
    }
    rig.run_until(&dispatcher, || recorder.keys().len() >= 2000)
        .await;
    let mut keys = recorder.keys();
    assert_eq!(keys.len(), 2000, "each once");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 2000);
    let sent = recorder.sent();
    assert!(
        sent.len() <= 300,
        "{} messages for 2,000 notifications: the backlogs went as digests",
        sent.len()
    );
    assert!(sent.iter().any(|(_, _, k)| k.len() > 3), "digests");
    assert!(rig.outbox.is_empty());
}

#[tokio::test]
async fn a_few_notifications_of_a_chat_go_one_by_one_a_second_apart() {
    let rig = Rig::new(fast_limits());
    let recorder = Recorder::new(&rig.clock);
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    rig.push((0..3).map(|n| note(&chat(5), n))).await;
    rig.run_until(&dispatcher, || recorder.sent().len() >= 3)
        .await;
    let sent = recorder.sent();
    assert!(sent.iter().all(|(_, _, k)| k.len() == 1));
    assert_eq!(
        sent.iter()
            .map(|(_, _, k)| k[0].clone())
            .collect::<Vec<_>>(),
        ["telegram:5:k0", "telegram:5:k1", "telegram:5:k2"],
        "in order"
    );
    for pair in sent.windows(2) {
        assert!(pair[1].0.since(pair[0].0) >= Duration::from_secs(1));
    }
}

#[tokio::test]
async fn groups_are_held_to_twenty_a_minute() {
    let rig = Rig::new(fast_limits());
    let recorder = Recorder::new(&rig.clock);
    let config = OutboxConfig {
        digest_after: 1000,
        ..OutboxConfig::default()
    };
    let dispatcher = rig.dispatcher(recorder.clone(), config);
    rig.push((0..25).map(|n| note(&chat(-100), n))).await;
    rig.run_until(&dispatcher, || recorder.sent().len() >= 25)
        .await;
    let sent = recorder.sent();
    for (i, (t, _, _)) in sent.iter().enumerate() {
        let in_minute = sent[i..]
            .iter()
            .take_while(|(u, _, _)| u.0 < t.0 + 60_000)
            .count();
        assert!(in_minute <= 20, "{in_minute} in a minute");
    }
}

#[tokio::test]
async fn a_429_waits_its_retry_after_and_is_not_a_failure() {
    let rig = Rig::new(fast_limits());
    let recorder = Recorder::answering(
        &Arc::new(ManualClock::new(START)),
        Box::new(|_, call| {
            if call == 1 {
                Err(NotifyError::RateLimited {
                    retry_after: Duration::from_secs(7),
                    global: true,
                })
            } else {
                Ok(())
            }
        }),
    );
    // The recorder's own clock is not the rig's: time the sends with the rig's.
    let recorder = Arc::new(Recorder {
        clock: Arc::clone(&rig.clock),
        ..Arc::into_inner(recorder).expect("one owner")
    });
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    rig.push([note(&chat(1), 0), note(&chat(2), 0)]).await;
    rig.run_until(&dispatcher, || recorder.sent().len() >= 2)
        .await;
    let sent = recorder.sent();
    assert_eq!(sent.len(), 2);
    // Global: nobody was sent to before the 7 s passed.
    assert!(sent[0].0.since(START) >= Duration::from_secs(7), "{sent:?}");
    let events = rig.events.lock().expect("lock").clone();
    assert!(events.contains(&OutboxEvent::RateLimited { global: true }));
    assert!(!events.contains(&OutboxEvent::Retried));
}

#[tokio::test]
async fn failures_are_retried_with_backoff_until_they_work() {
    let rig = Rig::new(fast_limits());
    let recorder = Arc::new(Recorder {
        clock: Arc::clone(&rig.clock),
        sent: Mutex::default(),
        calls: Mutex::default(),
        answer: Box::new(|_, call| {
            if call <= 3 {
                Err(NotifyError::Failed("502".into()))
            } else {
                Ok(())
            }
        }),
    });
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    rig.push([note(&chat(1), 0)]).await;
    rig.run_until(&dispatcher, || !recorder.sent().is_empty())
        .await;
    let sent = recorder.sent();
    assert_eq!(sent.len(), 1);
    // 2 s + 4 s + 8 s of backoff.
    assert!(
        sent[0].0.since(START) >= Duration::from_secs(14),
        "{sent:?}"
    );
    assert!(rig.outbox.is_empty());
}

#[tokio::test]
async fn a_gone_chat_loses_its_messages_and_watches_at_once() {
    let rig = Rig::new(fast_limits());
    let gone = chat(9);
    let recorder = Arc::new(Recorder {
        clock: Arc::clone(&rig.clock),
        sent: Mutex::default(),
        calls: Mutex::default(),
        answer: Box::new(|batch, _| {
            if batch[0].chat.id() == "9" {
                Err(NotifyError::ChatGone)
            } else {
                Ok(())
            }
        }),
    });
    rig.watches
        .add_watch(&Watch {
            chat: gone.clone(),
            target: "a.example".parse().expect("valid"),
            players: vec![],
            created_at: START,
        })
        .await
        .expect("watch");
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    rig.push([note(&gone, 0), note(&gone, 1), note(&chat(1), 0)])
        .await;
    rig.run_until(&dispatcher, || {
        *recorder.calls.lock().expect("lock") >= 2 && rig.outbox.is_empty()
    })
    .await;
    assert_eq!(
        *recorder.calls.lock().expect("lock"),
        2,
        "one refusal, one send: {:?}",
        recorder.sent()
    );
    assert!(rig.outbox.is_empty());
    assert!(
        rig.watches
            .watches_of(&gone)
            .await
            .expect("read")
            .is_empty()
    );
    assert_eq!(rig.dropped(DropReason::ChatGone), 2);
}

#[tokio::test]
async fn answers_go_before_notifications_and_stale_ones_are_dropped() {
    let rig = Rig::new(fast_limits());
    let order: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let run = {
        let stop = Arc::clone(&stop);
        rig.pacer.run(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
        })
    };
    let work = async {
        // 40 notifications ask first, then an answer: it goes within the next turn.
        let notes = futures_util::future::join_all((0..40).map(|i| {
            let order = Arc::clone(&order);
            let pacer = Arc::clone(&rig.pacer);
            async move {
                pacer
                    .admit(&chat(100 + i), Priority::Notification, None)
                    .await
                    .expect("turn");
                order.lock().expect("lock").push(format!("n{i}"));
            }
        }));
        let answer = async {
            for _ in 0..64 {
                tokio::task::yield_now().await;
            }
            let deadline = rig.clock.now().plus(Duration::from_secs(30));
            rig.pacer
                .admit(&chat(1), Priority::Answer, Some(deadline))
                .await
                .expect("turn");
            order.lock().expect("lock").push("answer".into());
            // An answer whose deadline has passed is refused.
            let past = rig.clock.now();
            rig.clock.advance(Duration::from_millis(1));
            assert_eq!(
                rig.pacer
                    .admit(&chat(2), Priority::Answer, Some(past))
                    .await,
                Err(Stale)
            );
        };
        futures_util::future::join(notes, answer).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    futures_util::future::join(run, work).await;
    let order = order.lock().expect("lock").clone();
    let at = order.iter().position(|s| s == "answer").expect("answered");
    assert!(at < 6, "the answer came {at}th: {order:?}");
    assert_eq!(rig.dropped(DropReason::Stale), 1);
}

#[tokio::test]
async fn a_crashed_dispatchers_claims_come_back_after_their_ttl() {
    let rig = Rig::new(fast_limits());
    rig.push((0..5).map(|i| note(&chat(i), 0))).await;
    // A dispatcher claims everything and dies.
    let claimed = rig
        .outbox
        .claim(
            Platform::Telegram,
            rig.clock.now(),
            64,
            Duration::from_secs(30),
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 5);
    let recorder = Recorder::new(&rig.clock);
    let dispatcher = rig.dispatcher(recorder.clone(), OutboxConfig::default());
    rig.run_until(&dispatcher, || recorder.sent().len() >= 5)
        .await;
    assert_eq!(recorder.sent().len(), 5);
    assert!(recorder.sent()[0].0.since(START) >= Duration::from_secs(30));
}

#[tokio::test]
async fn the_outbox_notifier_queues_each_key_once_and_falls_back_when_the_store_fails() {
    struct Down;
    #[async_trait]
    impl OutboxStore for Down {
        async fn push(
            &self,
            _: &[OutboxEntry],
            _: Timestamp,
            _: Duration,
        ) -> Result<usize, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn claim(
            &self,
            _: Platform,
            _: Timestamp,
            _: usize,
            _: Duration,
        ) -> Result<Vec<OutboxEntry>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn claim_chat(
            &self,
            _: &ChatRef,
            _: Timestamp,
            _: usize,
            _: Duration,
        ) -> Result<Vec<OutboxEntry>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn complete(&self, _: Platform, _: &[String]) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn reschedule(&self, _: &[OutboxEntry]) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn drop_chat(&self, _: &ChatRef) -> Result<usize, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn stats(&self, _: Platform) -> Result<OutboxStats, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
    }
    let clock = Arc::new(ManualClock::new(START));
    let outbox = MemoryOutbox::new();
    let notifier = OutboxNotifier::new(
        Arc::new(outbox.clone()),
        MemoryOutbox::new(),
        clock.clone(),
        OutboxConfig::default(),
    );
    assert!(notifier.idempotent());
    notifier.notify(&note(&chat(1), 0)).await.expect("queued");
    notifier.notify(&note(&chat(1), 0)).await.expect("queued");
    assert_eq!(outbox.len(), 1);

    let fallback = MemoryOutbox::new();
    let notifier = OutboxNotifier::new(
        Arc::new(Down),
        fallback.clone(),
        clock.clone(),
        OutboxConfig::default(),
    );
    notifier
        .notify(&note(&chat(1), 0))
        .await
        .expect("queued in memory");
    assert_eq!(fallback.len(), 1);
}

#[tokio::test]
async fn the_limiter_grants_a_burst_then_one_per_interval_and_blocks() {
    let clock = Arc::new(ManualClock::new(START));
    let limiter = MemoryLimiter::new(clock.clone());
    let pace = Pace::per(10, Duration::from_secs(1), 3);
    for _ in 0..3 {
        assert_eq!(
            limiter.acquire("k", pace).await.expect("ok"),
            Duration::ZERO
        );
    }
    let wait = limiter.acquire("k", pace).await.expect("ok");
    assert_eq!(wait, Duration::from_millis(100));
    assert_eq!(
        limiter.acquire("other", pace).await.expect("ok"),
        Duration::ZERO
    );
    clock.advance(wait);
    assert_eq!(
        limiter.acquire("k", pace).await.expect("ok"),
        Duration::ZERO
    );
    limiter
        .block("k", pace, Duration::from_secs(5))
        .await
        .expect("ok");
    let wait = limiter.acquire("k", pace).await.expect("ok");
    assert!(
        wait >= Duration::from_millis(4_900) && wait <= Duration::from_secs(5),
        "{wait:?}"
    );
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        limiter.acquire("k", pace).await.expect("ok"),
        Duration::ZERO
    );
}

/// An outbox whose claims after the first take a while (a file store's `fsync`, a
/// Redis round trip under load).
struct SlowClaims {
    inner: MemoryOutbox,
    clock: Arc<ManualClock>,
    claims: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl OutboxStore for SlowClaims {
    async fn push(
        &self,
        entries: &[OutboxEntry],
        now: Timestamp,
        remember: Duration,
    ) -> Result<usize, StoreError> {
        self.inner.push(entries, now, remember).await
    }

    async fn claim(
        &self,
        platform: Platform,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let entries = self.inner.claim(platform, now, max, ttl).await;
        if self
            .claims
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            > 0
        {
            // 300 ms, in steps: turns are granted meanwhile.
            for _ in 0..10 {
                self.clock.sleep(Duration::from_millis(30)).await;
            }
        }
        entries
    }

    async fn claim_chat(
        &self,
        chat: &ChatRef,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.claim_chat(chat, now, max, ttl).await
    }

    async fn complete(&self, platform: Platform, ids: &[String]) -> Result<(), StoreError> {
        self.inner.complete(platform, ids).await
    }

    async fn reschedule(&self, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        self.inner.reschedule(entries).await
    }

    async fn drop_chat(&self, chat: &ChatRef) -> Result<usize, StoreError> {
        self.inner.drop_chat(chat).await
    }

    async fn stats(&self, platform: Platform) -> Result<OutboxStats, StoreError> {
        self.inner.stats(platform).await
    }
}

#[tokio::test]
async fn a_send_whose_turn_came_leaves_at_once_even_while_a_claim_is_slow() {
    let rig = Rig::new(fast_limits());
    let recorder = Recorder::new(&rig.clock);
    let outbox = Arc::new(SlowClaims {
        inner: rig.outbox.clone(),
        clock: Arc::clone(&rig.clock),
        claims: std::sync::atomic::AtomicUsize::default(),
    });
    let dispatcher = Dispatcher::new(
        DispatcherPorts {
            outbox,
            fallback: MemoryOutbox::new(),
            notifier: recorder.clone(),
            watches: rig.watches.clone(),
            pacer: Arc::clone(&rig.pacer),
            clock: rig.clock.clone(),
        },
        Platform::Telegram,
        OutboxConfig {
            claim_batch: 8,
            ..OutboxConfig::default()
        },
        no_events(),
    );
    rig.push((0..64).map(|i| note(&chat(i), 0))).await;
    rig.run_until(&dispatcher, || recorder.sent().len() >= 64)
        .await;
    let sent = recorder.sent();
    assert_eq!(sent.len(), 64);
    // A send granted while a claim was under way did not wait for the claim and
    // then leave right before the next one: the messages stay a pace apart.
    let pace = fast_limits().global.interval;
    for pair in sent.windows(2) {
        let gap = pair[1].0.since(pair[0].0);
        assert!(
            gap + Duration::from_millis(1) >= pace,
            "{gap:?} between two sends (the pace is {pace:?}): {sent:?}"
        );
    }
}
