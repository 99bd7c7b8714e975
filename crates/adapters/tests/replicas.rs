//! Several replicas of the watch scheduler on one real `redis-server`, polling real
//! Java responders on loopback through the network source: each server is polled
//! once per interval in total, each transition is told once per chat, and when the
//! replica that polls a server is killed another one takes it over.
#![cfg(all(feature = "redis", feature = "network"))]

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mc_protocol::java::JavaStatus;
use mc_protocol::net::ClientOptions;
use mc_protocol::net::java::{JavaResponder, JavaResponderHandle};
use mc_protocol::net::resolve::Resolver;
use mcstat_adapters::{NetworkSource, RedisConfig, RedisStore, SystemClock};
use mcstat_core::ports::{
    Clock, HistoryStore, LeasePort, Notification, NotificationEvent, Notifier, NotifyError,
    StatusSource, WatchStore,
};
use mcstat_core::watch::{Scheduler, SchedulerPorts, WatchConfig, WatchService};
use mcstat_core::{ChatRef, Platform, Target, TargetPolicy, UserRef};
use tokio::task::JoinHandle;

use crate::support::redis_server::RedisServer;

const INTERVAL: Duration = Duration::from_secs(1);

/// A Java server on a fixed loopback port that counts status requests and can be
/// stopped and started again.
struct Peer {
    addr: SocketAddr,
    polls: Arc<AtomicUsize>,
    handle: Option<JavaResponderHandle>,
}

impl Peer {
    async fn start() -> Self {
        let mut peer = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            polls: Arc::default(),
            handle: None,
        };
        peer.up().await;
        peer
    }

    async fn up(&mut self) {
        let status =
            JavaStatus::from_json(r#"{"description":"watched","players":{"max":5,"online":1}}"#)
                .expect("status json");
        let polls = Arc::clone(&self.polls);
        // The port was ours a moment ago; retry briefly in case the OS holds it.
        let mut last = None;
        for _ in 0..50 {
            let status = status.clone();
            let polls = Arc::clone(&polls);
            match JavaResponder::bind(self.addr, move |_| {
                polls.fetch_add(1, Ordering::SeqCst);
                status.clone()
            })
            .await
            {
                Ok(responder) => {
                    let handle = responder.spawn();
                    self.addr = handle.local_addr();
                    self.handle = Some(handle);
                    return;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("cannot bind {}: {last:?}", self.addr);
    }

    fn down(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }

    fn target(&self) -> Target {
        self.addr.to_string().parse().expect("valid target")
    }

    fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Notification>>,
}

impl Recorder {
    fn events(&self, chat: &ChatRef, target: &Target) -> Vec<NotificationEvent> {
        self.sent
            .lock()
            .expect("lock")
            .iter()
            .filter(|n| n.chat == *chat && n.target == *target)
            .map(|n| n.event.clone())
            .collect()
    }

    fn total(&self) -> usize {
        self.sent.lock().expect("lock").len()
    }
}

#[async_trait]
impl Notifier for Recorder {
    async fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        self.sent.lock().expect("lock").push(n.clone());
        Ok(())
    }
}

fn config() -> WatchConfig {
    WatchConfig {
        interval: INTERVAL,
        reload_every: Duration::from_millis(200),
        policy: TargetPolicy::with_loopback(),
        ..WatchConfig::default()
    }
}

struct Replica {
    name: String,
    task: JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn replica(
    name: &str,
    store: &RedisStore,
    source: &Arc<NetworkSource>,
    notifier: &Arc<Recorder>,
) -> Replica {
    let ports = SchedulerPorts {
        watches: Arc::new(store.clone()) as Arc<dyn WatchStore>,
        history: Arc::new(store.clone()) as Arc<dyn HistoryStore>,
        source: Arc::clone(source) as Arc<dyn StatusSource>,
        notifier: Arc::clone(notifier) as Arc<dyn Notifier>,
        leases: Arc::new(store.leases()) as Arc<dyn LeasePort>,
        clock: Arc::new(SystemClock) as Arc<dyn Clock>,
    };
    let scheduler = Scheduler::new(ports, config(), name);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        scheduler
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    Replica {
        name: name.to_owned(),
        task,
        stop,
    }
}

/// The watch service over `store`, on the system clock.
fn watch_service(store: &RedisStore) -> WatchService {
    WatchService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        config(),
    )
}

/// A network source allowed loopback, with a lookup deadline of `timeout` and a
/// resolver that answers nothing (the targets are IP literals).
fn loopback_source(timeout: Duration) -> NetworkSource {
    let resolver = Resolver::with_nameserver(SocketAddr::from(([127, 0, 0, 1], 9)))
        .expect("resolver")
        .with_timeout(Duration::from_millis(300));
    NetworkSource::new(
        TargetPolicy::with_loopback(),
        ClientOptions {
            timeout,
            ..ClientOptions::default()
        },
        resolver,
        Arc::new(SystemClock),
    )
}

async fn wait(d: Duration) {
    tokio::time::sleep(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_poll_once_per_interval_notify_once_and_survive_a_kill() {
    let redis = RedisServer::start();
    let config_r = RedisConfig::new(redis.url()).prefix("replicas:");
    let store = RedisStore::connect(&config_r).await.expect("connect");

    let mut peers = Vec::new();
    for _ in 0..3 {
        peers.push(Peer::start().await);
    }
    let chats = [
        ChatRef::new(Platform::Telegram, "1").expect("valid"),
        ChatRef::new(Platform::Discord, "2").expect("valid"),
    ];
    let service = watch_service(&store);
    let user = UserRef::new(Platform::Telegram, "7").expect("valid");
    for peer in &peers {
        for chat in &chats {
            service
                .watch(chat, &user, &peer.target(), &[])
                .await
                .expect("watch");
        }
    }

    let source = Arc::new(loopback_source(Duration::from_millis(500)));
    let notifier = Arc::new(Recorder::default());
    let mut replicas = Vec::new();
    for name in ["r0", "r1", "r2"] {
        replicas.push(replica(name, &store, &source, &notifier).await);
    }

    // All up: once per interval per server in total, not once per replica.
    let before: Vec<usize> = peers.iter().map(Peer::polls).collect();
    wait(INTERVAL * 6).await;
    for (peer, before) in peers.iter().zip(&before) {
        let polls = peer.polls() - before;
        assert!(
            // 6 expected; never 3 × 6. A loaded machine may lag a little.
            (3..=7).contains(&polls),
            "{}: {polls} polls in 6 intervals by 3 replicas",
            peer.addr
        );
    }
    assert_eq!(notifier.total(), 0, "nothing changed");

    // Server 0 stops: each chat is told once.
    let down = peers[0].target();
    peers[0].down();
    let went_down = std::time::Instant::now();
    wait(INTERVAL * 5).await;
    for chat in &chats {
        assert_eq!(
            notifier.events(chat, &down),
            vec![NotificationEvent::WentDown { up_for: None }],
            "{chat}"
        );
    }

    // The replica polling server 0 dies without releasing anything.
    let leases = store.leases();
    let key = format!("poll:all:{}", down.key());
    let mut holder = None;
    for r in &replicas {
        // Renewing is the only way to ask; only the holder gets `true`.
        if leases
            .try_acquire(&key, &r.name, INTERVAL * 3 / 2)
            .await
            .expect("lease")
        {
            holder = Some(r.name.clone());
            break;
        }
    }
    let holder = holder.expect("some replica holds server 0");
    let index = replicas
        .iter()
        .position(|r| r.name == holder)
        .expect("known");
    let killed = replicas.remove(index);
    killed.task.abort();
    let _ = killed.task.await;

    // The others take over within the lease TTL (1.5 intervals) and go on polling
    // once per interval; server 0 comes back and each chat is told once more.
    wait(INTERVAL * 4).await;
    let before: Vec<usize> = peers.iter().map(Peer::polls).collect();
    wait(INTERVAL * 4).await;
    for (peer, before) in peers.iter().zip(&before).skip(1) {
        let polls = peer.polls() - before;
        assert!(
            (2..=5).contains(&polls),
            "{}: {polls} polls in 4 intervals after {holder} died",
            peer.addr
        );
    }
    peers[0].up().await;
    let outage = went_down.elapsed();
    assert_eq!(peers[0].target(), down, "same port again");
    wait(INTERVAL * 4).await;
    for chat in &chats {
        let events = notifier.events(chat, &down);
        assert_eq!(events.len(), 2, "{chat}: {events:?}");
        match &events[1] {
            NotificationEvent::CameBack { down_for: Some(d) } => {
                // From the first failed poll (≤ 1 interval after the stop) to the
                // first answering one (≤ 1 interval after the start), give or take.
                assert!(
                    *d + INTERVAL * 2 >= outage && *d <= outage + INTERVAL * 2,
                    "{chat}: down for {d:?}, stopped for {outage:?}"
                );
            }
            other => panic!("{chat}: expected CameBack with a length, got {other:?}"),
        }
    }
    assert_eq!(
        notifier.total(),
        4,
        "two transitions, two chats, told once each"
    );

    for r in replicas {
        let _ = r.stop.send(());
        r.task.await.expect("replica ends cleanly");
    }
    // A clean shutdown released the poll leases: a newcomer may take them at once.
    for peer in &peers[1..] {
        let key = format!("poll:all:{}", peer.target().key());
        assert!(
            leases
                .try_acquire(&key, "newcomer", INTERVAL)
                .await
                .expect("lease"),
            "{key} released"
        );
    }
}

/// A server that accepts and never answers (until the deadline) must hold one of the
/// scheduler's concurrent polls, not the schedule: the other servers keep their one
/// poll per interval while it stalls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalling_server_does_not_hold_back_the_others() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&RedisConfig::new(redis.url()).prefix("stall:"))
        .await
        .expect("connect");
    // Accepts connections, reads nothing, answers nothing.
    let stall = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let stall_target: Target = stall
        .local_addr()
        .expect("addr")
        .to_string()
        .parse()
        .expect("valid");
    let held = Arc::new(Mutex::new(Vec::new()));
    let accept = tokio::spawn({
        let held = Arc::clone(&held);
        async move {
            while let Ok((conn, _)) = stall.accept().await {
                held.lock().expect("lock").push(conn);
            }
        }
    });
    let peers = [Peer::start().await, Peer::start().await];
    let service = watch_service(&store);
    let chat = ChatRef::new(Platform::Telegram, "1").expect("valid");
    let user = UserRef::new(Platform::Telegram, "7").expect("valid");
    for target in [stall_target.clone(), peers[0].target(), peers[1].target()] {
        service
            .watch(&chat, &user, &target, &[])
            .await
            .expect("watch");
    }
    // The deadline is four intervals: a loop that waited for its slowest poll would
    // poll the others about once per four intervals.
    let source = Arc::new(loopback_source(4 * INTERVAL).for_watches());
    let notifier = Arc::new(Recorder::default());
    let r = replica("solo", &store, &source, &notifier).await;
    wait(Duration::from_secs(9)).await;
    let _ = r.stop.send(());
    let _ = r.task.await;
    accept.abort();
    for peer in &peers {
        // About nine intervals; at least six even on a slow machine (the first poll
        // comes within the start spread of one interval).
        assert!(
            (6..=10).contains(&peer.polls()),
            "{} polled {} times in 9 s",
            peer.target(),
            peer.polls()
        );
    }
    // The stalled server was polled (held connections) but never twice at once.
    let stalls = held.lock().expect("lock").len();
    assert!(
        (1..=3).contains(&stalls),
        "{stalls} connections to the stalled server"
    );
}
