//! Storms end to end: the bot binary against the in-process fake Bot API with
//! Telegram's own limits (30 messages a second, one a second per chat), a thousand
//! private chats at once.
//!
//! - a thousand `/watch` commands at the same moment: each is answered within its
//!   deadline or dropped and counted as stale, never answered late;
//! - the watched server stops: each of the thousand chats is told once, at the pace
//!   Telegram allows;
//! - `kill -9` in the middle of that storm: the restarted bot tells the rest, and
//!   only messages in flight at the kill are told twice;
//! - three replicas on one Redis share one limit.
//!
//! The tests take a few minutes of wall time (the limits are the point) and a lot of
//! CPU at moments: they run one at a time.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use mcstat_adapters::{FileStore, RedisConfig, RedisStore};
use mcstat_core::ports::WatchStore as _;
use mcstat_core::{ChatRef, Platform, Target, Timestamp, Watch};
use serde_json::json;

use crate::fake_bot_api::{FakeBotApi, FakeConfig, SentMessage};
use crate::harness::{BotProcess, Peer, free_port, http, spawn_node_peer};

/// One storm at a time: each takes both cores of a CI runner at moments.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many chats.
const CHATS: i64 = 1_000;
const CHATS_USIZE: usize = 1_000;

/// The first chat id (private chats: the user's id).
const FIRST_CHAT: i64 = 100_001;

/// Telegram's global limit (messages in any one second).
const GLOBAL_LIMIT: usize = 30;

/// The answer deadline (the default `MCSTAT_ANSWER_DEADLINE_SECS`).
const DEADLINE: Duration = Duration::from_secs(30);

/// Processing slack on top of the deadline (the fake's clock against the bot's).
const SLACK: Duration = Duration::from_secs(2);

/// How long a thousand notifications may take (the floor is ~35 s).
const NOTIFY_WITHIN: Duration = Duration::from_secs(120);

fn chats() -> impl Iterator<Item = i64> {
    FIRST_CHAT..FIRST_CHAT + CHATS
}

fn is_send(method: &str) -> bool {
    matches!(method, "sendmessage" | "sendphoto")
}

fn is_down(m: &SentMessage) -> bool {
    m.plain.starts_with("🔴")
}

/// The most instants of `times` (ascending) within any window of `window`.
fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for (end, t) in times.iter().enumerate() {
        while t.duration_since(times[start]) >= window {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// What the fake saw of the bot's message sends.
#[derive(Debug)]
struct Sends {
    /// sendMessage / sendPhoto calls, accepted or not.
    attempts: usize,
    /// Of those, answered 429.
    rejected_429: usize,
    /// The most of those calls in any 1 s window, by their arrival at the fake.
    max_per_sec: usize,
    /// The most accepted messages in any 1 s window, by the fake's acceptance (the
    /// fake refuses more than Telegram's limit: a check of the fake).
    max_accepted_per_sec: usize,
}

impl Sends {
    fn of(fake: &FakeBotApi, since: Option<Instant>) -> Self {
        let after = |t: Instant| since.is_none_or(|s| t >= s);
        let calls: Vec<_> = fake
            .calls()
            .into_iter()
            // 401: another bot's call (see `fake_for`).
            .filter(|c| is_send(&c.method) && c.status != 401 && after(c.at))
            .collect();
        let mut times: Vec<Instant> = calls.iter().map(|c| c.at).collect();
        times.sort();
        let mut accepted: Vec<Instant> = fake
            .messages()
            .iter()
            .map(|m| m.at)
            .filter(|t| after(*t))
            .collect();
        accepted.sort();
        Self {
            attempts: calls.len(),
            rejected_429: calls.iter().filter(|c| c.status == 429).count(),
            max_per_sec: max_in_window(&times, Duration::from_secs(1)),
            max_accepted_per_sec: max_in_window(&accepted, Duration::from_secs(1)),
        }
    }

    /// 429s under 1 % of the sends; never more than Telegram's global limit
    /// accepted in any second, and the sends themselves (as they arrive) at most 10 %
    /// over it: the bot paces them as they leave, and on a loaded machine (CI runs
    /// the other test binaries beside this one) a few granted a pace apart can arrive
    /// together — which is what the 1 % of 429s allows for.
    fn check(&self, what: &str) {
        assert!(
            self.rejected_429 * 100 < self.attempts,
            "{what}: {} of {} sends answered 429 (1 % allowed)",
            self.rejected_429,
            self.attempts
        );
        assert!(
            self.max_accepted_per_sec <= GLOBAL_LIMIT
                && self.max_per_sec <= GLOBAL_LIMIT + GLOBAL_LIMIT / 10,
            "{what}: {} sends arrived within one second (Telegram allows {GLOBAL_LIMIT}): {self:?}",
            self.max_per_sec
        );
    }
}

/// The value of the counter `name` whose labels include every one of `labels`
/// (`key="value"`), summed over the matching series, from a Prometheus text page.
fn counter(page: &str, name: &str, labels: &[&str]) -> usize {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.iter().all(|want| rest.contains(want)))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .map(|v: f64| v as usize)
        .sum()
}

/// The bot's `/metrics` page (empty while it does not listen yet).
async fn metrics(port: u16) -> String {
    if tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        return String::new();
    }
    let (status, body) = http(port, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200, "/metrics: {body}");
    body
}

/// `(chat → the bot's messages there)` for every chat that has one.
fn by_chat(messages: &[SentMessage]) -> HashMap<i64, Vec<&SentMessage>> {
    let mut out: HashMap<i64, Vec<&SentMessage>> = HashMap::new();
    for m in messages {
        out.entry(m.chat_id).or_default().push(m);
    }
    out
}

/// Wait until `ok()` holds, checking every 250 ms; `false` after `timeout`.
async fn until(timeout: Duration, mut ok: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if ok().await {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Wait until the watch scheduler of the bots serving `/metrics` on `ports` polled
/// the server successfully (so the trackers know it is up).
async fn wait_polled_up(ports: &[u16]) {
    let polled = until(Duration::from_secs(30), async || {
        let mut ok = 0;
        for port in ports {
            ok += counter(
                &metrics(*port).await,
                "mcstat_watch_polls_total",
                &[r#"outcome="ok""#],
            );
        }
        ok >= 2
    })
    .await;
    assert!(polled, "the watched server was never polled up");
}

/// A fake with Telegram's limits that answers only `token` (401 to any other): a
/// bot of another test still polling a port this fake now has cannot take its
/// updates.
async fn fake_for(token: &str) -> FakeBotApi {
    FakeBotApi::start(FakeConfig {
        token: Some(token.to_owned()),
        ..FakeConfig::default()
    })
    .await
}

/// The Minecraft server everybody watches.
async fn minecraft(motd: &str) -> (Peer, String) {
    let mc = spawn_node_peer("java-server.js", &[&json!({ "motd": motd }).to_string()]).await;
    let addr = format!("127.0.0.1:{}", mc.port);
    (mc, addr)
}

/// One watch of `target` for every chat.
fn watches(target: &str) -> Vec<Watch> {
    let target: Target = target.parse().expect("a target");
    chats()
        .map(|id| Watch {
            chat: ChatRef::new(Platform::Telegram, id.to_string()).expect("a chat"),
            target: target.clone(),
            created_at: Timestamp(0),
            players: Vec::new(),
        })
        .collect()
}

async fn fill_file_store(path: &Path, target: &str) {
    let store = FileStore::open(path).await.expect("open the file store");
    for w in watches(target) {
        assert!(store.add_watch(&w).await.expect("add a watch"));
    }
}

/// The environment every storm bot runs with: 1 s polls, down after 2 failures,
/// quiet logs (a thousand chats would flood the test output; `STORM_LOG=info` in the
/// test's environment shows them).
fn base_env(http_port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("MCSTAT_WATCH_INTERVAL_SECS", "1".to_owned()),
        ("MCSTAT_WATCH_DOWN_AFTER", "2".to_owned()),
        ("MCSTAT_HTTP_ADDR", format!("127.0.0.1:{http_port}")),
        (
            "MCSTAT_LOG",
            std::env::var("STORM_LOG").unwrap_or_else(|_| "warn".to_owned()),
        ),
        ("MCSTAT_TELEGRAM_POLL_TIMEOUT_SECS", "2".to_owned()),
    ]
}

/// How many chats got a "went down" message.
fn chats_told(fake: &FakeBotApi) -> usize {
    fake.with_messages(|ms| {
        ms.iter()
            .filter(|m| is_down(m))
            .map(|m| m.chat_id)
            .collect::<HashSet<_>>()
            .len()
    })
}

/// Wait until every chat got a "went down" message; returns how long it took from
/// `since`.
async fn wait_all_told(fake: &FakeBotApi, since: Instant, within: Duration) -> Duration {
    let all = until(within, async || chats_told(fake) >= CHATS_USIZE).await;
    assert!(
        all,
        "{} of {CHATS} chats told within {within:?}; 429s: {}",
        chats_told(fake),
        fake.rejected_429()
    );
    since.elapsed()
}

/// How many "went down" messages each chat got: `(chats told once, told twice,
/// told more, not told)`.
fn down_counts(fake: &FakeBotApi) -> (usize, usize, usize, usize) {
    let messages = fake.messages();
    let per = by_chat(&messages);
    let (mut once, mut twice, mut more, mut none) = (0, 0, 0, 0);
    for chat in chats() {
        match per
            .get(&chat)
            .map_or(0, |ms| ms.iter().filter(|m| is_down(m)).count())
        {
            0 => none += 1,
            1 => once += 1,
            2 => twice += 1,
            _ => more += 1,
        }
    }
    (once, twice, more, none)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_commands_then_a_thousand_notifications_within_telegrams_limits() {
    let _serial = SERIAL.lock().await;
    let (mc, addr) = minecraft("Storm").await;
    let token = "7001:storm-commands";
    let fake = fake_for(token).await;
    let http_port = free_port();
    let bot = BotProcess::start_url(&fake.url(), token, &base_env(http_port));
    let polling = fake
        .wait_for(
            |f| f.calls().iter().any(|c| c.method == "getupdates"),
            Duration::from_secs(30),
        )
        .await;
    assert!(polling, "the bot never polled: {:#?}", fake.calls());

    // 1. A thousand users send /watch at the same moment.
    let text = format!("/watch {addr}");
    let asked = Instant::now();
    for chat in chats() {
        fake.user_says(chat, chat, &text);
    }
    let queued = asked.elapsed();
    let (mut answered, mut stale) = (0, 0);
    let settled = until(DEADLINE + Duration::from_secs(30), async || {
        answered =
            fake.with_messages(|ms| ms.iter().map(|m| m.chat_id).collect::<HashSet<_>>().len());
        stale = counter(
            &metrics(http_port).await,
            "mcstat_outbox_dropped_total",
            &[r#"reason="stale""#],
        );
        answered + stale >= CHATS_USIZE
    })
    .await;
    let drained = asked.elapsed();
    let messages = fake.messages();
    let per = by_chat(&messages);
    if !settled {
        let missing: Vec<i64> = chats().filter(|c| !per.contains_key(c)).collect();
        let page = metrics(http_port).await;
        let ours: Vec<&str> = page
            .lines()
            .filter(|l| l.starts_with("mcstat_telegram") || l.starts_with("mcstat_outbox"))
            .collect();
        panic!(
            "{answered} answered and {stale} counted stale of {CHATS}; 429s: {}; updates not \
             taken: {}; unanswered chats: {missing:?}\n{}",
            fake.rejected_429(),
            fake.pending_updates(),
            ours.join("\n")
        );
    }
    assert_eq!(
        per.len() + stale,
        CHATS_USIZE,
        "answered + counted stale (settled at {answered} + {stale})"
    );
    let mut delays: Vec<Duration> = messages
        .iter()
        .map(|m| m.at.duration_since(asked))
        .collect();
    delays.sort();
    let percentile = |p: usize| delays[(delays.len() - 1) * p / 100];
    for (chat, ms) in &per {
        assert_eq!(ms.len(), 1, "chat {chat} answered more than once: {ms:#?}");
        assert!(
            ms[0].plain.starts_with("👀 Watching"),
            "chat {chat}: {:?}",
            ms[0].plain
        );
        let after = ms[0].at.duration_since(asked);
        assert!(
            after <= DEADLINE + SLACK + queued,
            "chat {chat} answered {after:?} after its message (deadline {DEADLINE:?}); answers \
             after p50 {:?}, p90 {:?}",
            percentile(50),
            percentile(90)
        );
    }
    let answers = Sends::of(&fake, None);
    eprintln!(
        "storm: {CHATS} /watch queued in {queued:?}: {} answered, {stale} dropped stale, settled \
         after {drained:?}; answers after p50 {:?}, p90 {:?}, max {:?}; {answers:?}",
        per.len(),
        percentile(50),
        percentile(90),
        percentile(100),
    );
    answers.check("answers");

    // 2. The server stops: every chat is told once.
    wait_polled_up(&[http_port]).await;
    let before = fake.messages().len();
    let stopped = Instant::now();
    drop(mc);
    let took = wait_all_told(&fake, stopped, NOTIFY_WITHIN).await;
    // Nothing more comes (a repeat would come within a claim's time).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (once, twice, more, none) = down_counts(&fake);
    let notes = Sends::of(&fake, Some(stopped));
    eprintln!(
        "storm: {CHATS} notifications delivered {took:?} after the server stopped; {notes:?}; \
         {} messages in all",
        fake.messages().len() - before
    );
    assert_eq!(
        (once, twice, more, none),
        (CHATS_USIZE, 0, 0, 0),
        "chats told (once, twice, more, never)"
    );
    assert_eq!(
        fake.messages().len() - before,
        CHATS_USIZE,
        "one message per chat"
    );
    notes.check("notifications");
    let overall = Sends::of(&fake, None);
    overall.check("the whole test");
    drop(bot);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_in_the_middle_of_a_storm_repeats_at_most_the_messages_in_flight() {
    let _serial = SERIAL.lock().await;
    let (mc, addr) = minecraft("Crash").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("storm.redb");
    fill_file_store(&store, &addr).await;
    let token = "7002:storm-kill";
    let fake = fake_for(token).await;
    let env = |port| {
        let mut env = base_env(port);
        env.extend([
            ("MCSTAT_STORE_PATH", store.display().to_string()),
            ("MCSTAT_OUTBOX_CLAIM_SECS", "5".to_owned()),
        ]);
        env
    };
    let first_port = free_port();
    let first = BotProcess::start_url(&fake.url(), token, &env(first_port));
    wait_polled_up(&[first_port]).await;

    let stopped = Instant::now();
    drop(mc);
    let some = until(NOTIFY_WITHIN, async || chats_told(&fake) >= 300).await;
    assert!(some, "300 chats never told; 429s: {}", fake.rejected_429());
    first.kill9().await;
    let killed = Instant::now();
    let before = fake.with_messages(|ms| ms.iter().filter(|m| is_down(m)).count());

    let second_port = free_port();
    let _second = BotProcess::start_url(&fake.url(), token, &env(second_port));
    let took = wait_all_told(&fake, stopped, NOTIFY_WITHIN).await;
    // Anything still to repeat comes within a claim's time (5 s).
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (once, twice, more, none) = down_counts(&fake);
    let sends = Sends::of(&fake, Some(stopped));
    let after_kill = Sends::of(&fake, Some(killed));
    eprintln!(
        "storm kill -9: {before} told before the kill ({:?} after the stop); all {CHATS} told {took:?} after the stop; \
         once {once}, twice {twice}, more {more}, never {none}; {sends:?}; after the restart {after_kill:?}",
        killed.duration_since(stopped)
    );
    assert_eq!(none, 0, "every chat is told");
    assert_eq!(more, 0, "at most one extra message per chat");
    assert!(
        twice <= 16,
        "{twice} chats told twice: at most the 16 messages in flight"
    );
    sends.check("kill -9");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_on_one_redis_share_telegrams_limit() {
    let _serial = SERIAL.lock().await;
    let redis = tokio::task::spawn_blocking(crate::redis_server::RedisServer::start)
        .await
        .expect("redis-server");
    let (mc, addr) = minecraft("Replicas").await;
    {
        let store = RedisStore::connect(&RedisConfig::new(redis.url()))
            .await
            .expect("connect to redis");
        for w in watches(&addr) {
            assert!(store.add_watch(&w).await.expect("add a watch"));
        }
    }
    let token = "7003:storm-replicas";
    let fake = fake_for(token).await;
    // Telegram has one getUpdates consumer per token: the replicas run in webhook
    // mode with the webhook not set (nothing posts to them; no command is needed).
    let ports = [free_port(), free_port(), free_port()];
    let bots: Vec<BotProcess> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let mut env = base_env(*port);
            env.extend([
                ("MCSTAT_STORE", "redis".to_owned()),
                ("MCSTAT_CACHE", "redis".to_owned()),
                ("MCSTAT_REDIS_URL", redis.url()),
                ("MCSTAT_TELEGRAM_MODE", "webhook".to_owned()),
                (
                    "MCSTAT_TELEGRAM_WEBHOOK_URL",
                    format!("http://127.0.0.1:{port}/hook"),
                ),
                ("MCSTAT_TELEGRAM_WEBHOOK_SECRET", format!("replica-{i}")),
                ("MCSTAT_TELEGRAM_SET_WEBHOOK", "false".to_owned()),
            ]);
            BotProcess::start_url(&fake.url(), token, &env)
        })
        .collect();
    wait_polled_up(&ports).await;

    let stopped = Instant::now();
    drop(mc);
    let took = wait_all_told(&fake, stopped, NOTIFY_WITHIN).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (once, twice, more, none) = down_counts(&fake);
    let sends = Sends::of(&fake, Some(stopped));
    let mut sent_by = Vec::new();
    for port in ports {
        sent_by.push(counter(
            &metrics(port).await,
            "mcstat_outbox_sent_total",
            &[r#"priority="notification""#],
        ));
    }
    eprintln!(
        "storm replicas: all {CHATS} told {took:?} after the stop; sent by each replica {sent_by:?}; {sends:?}"
    );
    assert_eq!(
        (once, twice, more, none),
        (CHATS_USIZE, 0, 0, 0),
        "chats told (once, twice, more, never)"
    );
    sends.check("three replicas");
    drop(bots);
}

/// More updates wait than one getUpdates answer holds (100): every one is handled,
/// none confirmed unseen by the next call's offset.
#[tokio::test(flavor = "multi_thread")]
async fn updates_beyond_one_get_updates_answer_are_all_handled() {
    const USERS: i64 = 205;
    let token = "7004:storm-batches";
    let fake = fake_for(token).await;
    // Queued before the bot starts: its first getUpdates finds them all waiting.
    for chat in 1..=USERS {
        fake.user_says(chat, chat, "/help");
    }
    let http_port = free_port();
    let _bot = BotProcess::start_url(
        &fake.url(),
        token,
        &[
            (
                "MCSTAT_LOG",
                std::env::var("STORM_LOG").unwrap_or_else(|_| "warn".to_owned()),
            ),
            ("MCSTAT_TELEGRAM_POLL_TIMEOUT_SECS", "2".to_owned()),
            ("MCSTAT_HTTP_ADDR", format!("127.0.0.1:{http_port}")),
        ],
    );
    let answered =
        |f: &FakeBotApi| f.with_messages(|ms| ms.iter().map(|m| m.chat_id).collect::<HashSet<_>>());
    let all = fake
        .wait_for(
            |f| answered(f).len() >= usize::try_from(USERS).unwrap_or(usize::MAX),
            Duration::from_secs(60),
        )
        .await;
    let told = answered(&fake);
    let missing: Vec<i64> = (1..=USERS).filter(|c| !told.contains(c)).collect();
    let calls: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.chat_id.is_some_and(|id| missing.contains(&id)))
        .collect();
    if !all {
        let page = metrics(http_port).await;
        let ours: Vec<&str> = page
            .lines()
            .filter(|l| l.starts_with("mcstat_telegram") || l.starts_with("mcstat_outbox"))
            .collect();
        panic!(
            "{} of {USERS} users answered; updates not taken: {}; 429s: {}; not answered: \
             {missing:?}, their calls: {calls:#?}\n{}",
            told.len(),
            fake.pending_updates(),
            fake.rejected_429(),
            ours.join("\n")
        );
    }
}
