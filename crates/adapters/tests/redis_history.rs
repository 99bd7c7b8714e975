//! The Redis store's chunked history (format 2) on a real `redis-server`: the same
//! history as [`MemoryHistory`], atomic appends under racing writers, one Cluster
//! slot per target, key expiry, the format 1 → 2 migration, and the memory one
//! server-year takes.
#![cfg(feature = "redis")]

#[allow(dead_code)]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcstat_adapters::{RedisConfig, RedisStore};
use mcstat_core::history::{DownCause, HistoryConfig, HistoryReader, MemoryHistory, Stream, Tier};
use mcstat_core::ports::HistoryStore;
use mcstat_core::{HistorySample, Target, Timestamp};
use redis_server::{RedisServer, key_slot};

const MINUTE: u64 = 60_000;
const DAY: u64 = 86_400_000;

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis(),
    )
    .expect("fits")
}

fn target(text: &str) -> Target {
    text.parse().expect("valid target")
}

/// A small deterministic generator (xorshift64*), so the tests need no `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// `count` polls of `t` every minute (with up to ±250 ms of jitter) ending just
/// before `end`: players follow a daily curve with noise, latency 20–60 ms, and
/// rare outages (about one a week, 3–40 polls long, with a cause).
fn polls(t: &Target, end: u64, count: u64, seed: u64) -> Vec<HistorySample> {
    let mut rng = Rng(seed | 1);
    let start = end - count * MINUTE;
    let mut down_left = 0_u64;
    let mut cause = DownCause::Timeout;
    (0..count)
        .map(|i| {
            let at = start + i * MINUTE + rng.below(500);
            if down_left == 0 && rng.below(7 * 1440) == 0 {
                down_left = 3 + rng.below(38);
                cause = [
                    DownCause::Timeout,
                    DownCause::Refused,
                    DownCause::InvalidAnswer,
                ][usize::try_from(rng.below(3)).expect("small")];
            }
            if down_left > 0 {
                down_left -= 1;
                return HistorySample {
                    target: t.clone(),
                    at: Timestamp(at),
                    online: false,
                    players: None,
                    latency_ms: None,
                    cause: Some(cause),
                };
            }
            let day_phase = (at % DAY) as f64 / DAY as f64 * std::f64::consts::TAU;
            let curve = 25.0 + 18.0 * (day_phase - 2.0).sin();
            let players = (curve + (rng.unit() - 0.5) * 8.0).max(0.0).round() as u32;
            HistorySample {
                target: t.clone(),
                at: Timestamp(at),
                online: true,
                players: Some(players),
                latency_ms: Some(20 + u32::try_from(rng.below(41)).expect("small")),
                cause: None,
            }
        })
        .collect()
}

async fn connect(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::connect(
        &RedisConfig::new(server.url())
            .prefix(prefix)
            .command_timeout(Duration::from_secs(5)),
    )
    .await
    .expect("connect")
}

fn client(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .expect("client")
        .get_connection()
        .expect("connection")
}

/// Every key under `pattern`.
fn keys(server: &RedisServer, pattern: &str) -> Vec<String> {
    let mut con = client(server);
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query(&mut con)
        .expect("KEYS");
    keys.sort();
    keys
}

/// The head and every chunk of every stream `store` holds for `t`.
async fn everything(
    store: &dyn HistoryStore,
    t: &Target,
) -> (Option<Vec<u8>>, Vec<Vec<(u64, Vec<u8>)>>) {
    let mut chunks = Vec::new();
    for stream in Stream::ALL {
        chunks.push(store.chunks(t, stream, 0, u64::MAX).await.expect("chunks"));
    }
    (store.head(t).await.expect("head"), chunks)
}

/// What a reader makes of `store`'s history of `t` (samples, every tier, uptime,
/// outages).
async fn read_all(store: &dyn HistoryStore, t: &Target, now: u64) -> String {
    let reader = HistoryReader::new(store);
    let mut out = String::new();
    let samples = reader
        .samples(t, Timestamp(0), Timestamp(u64::MAX))
        .await
        .expect("samples");
    out.push_str(&format!("{samples:?}\n"));
    for tier in [Tier::Raw, Tier::Min5, Tier::Hour, Tier::Day] {
        let buckets = reader
            .rollups(t, tier, Timestamp(0), Timestamp(now + 1))
            .await
            .expect("rollups");
        out.push_str(&format!("{tier:?} {buckets:?}\n"));
    }
    for (tier, span) in [
        (Tier::Raw, Duration::from_secs(86_400)),
        (Tier::Min5, Duration::from_secs(7 * 86_400)),
        (Tier::Hour, Duration::from_secs(30 * 86_400)),
        (Tier::Day, Duration::from_secs(365 * 86_400)),
    ] {
        let uptime = reader
            .uptime(t, tier, span, Timestamp(now))
            .await
            .expect("uptime");
        out.push_str(&format!("{uptime:?}\n"));
    }
    let outages = reader
        .outages(t, Timestamp(0), Timestamp(now), 1, 1000)
        .await
        .expect("outages");
    out.push_str(&format!("{outages:?}\n"));
    out
}

#[tokio::test]
async fn raw_samples_round_trip() {
    let server = RedisServer::start();
    let store = connect(&server, "rt:").await;
    let t = target("round.example");
    let now = now_ms();
    let samples = polls(&t, now, 600, 7);
    store.append_samples(&samples).await.expect("append");
    let read = HistoryReader::new(&store)
        .samples(&t, Timestamp(0), Timestamp(u64::MAX))
        .await
        .expect("samples");
    assert_eq!(read, samples);
    // A second copy of the same polls (a racing replica) changes nothing.
    let before = everything(&store, &t).await;
    store.append_samples(&samples[300..]).await.expect("append");
    assert_eq!(everything(&store, &t).await, before);
    // Other targets have nothing.
    assert_eq!(
        store.head(&target("other.example")).await.expect("head"),
        None
    );
}

/// Appends call the compare-and-set script by its SHA: a Redis whose script cache was
/// flushed (a restart) answers `NOSCRIPT`, the store loads the script and goes on,
/// nothing lost or doubled.
#[tokio::test]
async fn appends_go_on_after_the_script_cache_is_flushed() {
    let server = RedisServer::start();
    let store = connect(&server, "flush:").await;
    let memory = MemoryHistory::new(HistoryConfig::default());
    let t = target("flush.example");
    let samples = polls(&t, now_ms(), 300, 5);
    for (i, batch) in samples.chunks(50).enumerate() {
        if i % 2 == 1 {
            let _: String = redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query(&mut client(&server))
                .expect("flush");
        }
        store.append_samples(batch).await.expect("append");
        memory.append_samples(batch).await.expect("append");
    }
    assert_eq!(everything(&store, &t).await, everything(&memory, &t).await);
}

/// Polls finishing together share pipelines (the store gathers concurrent appends):
/// 40 tasks appending one sample at a time to one store end with exactly the history
/// one writer gives; a target whose head is damaged fails only its own callers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_gathered_and_answered_one_by_one() {
    let server = RedisServer::start();
    let store = Arc::new(connect(&server, "gather:").await);
    let memory = MemoryHistory::new(HistoryConfig::default());
    let now = now_ms();
    let targets: Vec<Target> = (0..40).map(|i| target(&format!("g{i}.example"))).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, t) in targets.iter().enumerate() {
        let polls = polls(t, now, 60, 100 + i as u64);
        memory.append_samples(&polls).await.expect("append");
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            for p in polls {
                store
                    .append_samples(std::slice::from_ref(&p))
                    .await
                    .expect("append");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    for t in &targets {
        assert_eq!(
            everything(store.as_ref(), t).await,
            everything(&memory, t).await
        );
    }

    // A damaged head: its callers get `Corrupt`, the others' samples land.
    let bad = target("bad.example");
    let _: () = redis::cmd("SET")
        .arg("gather:hist:{java:bad.example}:head")
        .arg(b"\x09garbage".as_slice())
        .query(&mut client(&server))
        .expect("SET");
    let good = target("good.example");
    let (bad_poll, good_poll) = (polls(&bad, now, 1, 1), polls(&good, now, 1, 2));
    let (a, b) = tokio::join!(
        store.append_samples(&bad_poll),
        store.append_samples(&good_poll)
    );
    assert!(
        matches!(a, Err(mcstat_core::ports::StoreError::Corrupt(_))),
        "{a:?}"
    );
    b.expect("the other caller's samples land");
    assert_eq!(
        HistoryReader::new(store.as_ref())
            .samples(&good, Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples"),
        good_poll
    );
}

#[tokio::test]
async fn the_history_equals_memory_history_fed_the_same() {
    let server = RedisServer::start();
    let store = connect(&server, "mem:").await;
    let memory = MemoryHistory::new(HistoryConfig::default());
    let (a, b) = (target("a.example"), target("bedrock:b.example:19132"));
    let now = now_ms();
    // Ten days of two targets, in batches of mixed sizes holding both targets.
    let mut all = polls(&a, now, 10 * 1440, 11);
    all.extend(polls(&b, now - 3 * MINUTE, 10 * 1440, 12));
    all.sort_by_key(|s| s.at);
    let mut rng = Rng(99);
    let mut i = 0;
    while i < all.len() {
        let n = 1 + usize::try_from(rng.below(700)).expect("small");
        let batch = &all[i..(i + n).min(all.len())];
        store.append_samples(batch).await.expect("append");
        memory.append_samples(batch).await.expect("append");
        i += n;
    }
    // Redis expired what is past its retention; the memory history prunes it.
    memory.prune(Timestamp(now_ms())).await.expect("prune");
    for t in [&a, &b] {
        assert_eq!(
            everything(&store, t).await,
            everything(&memory, t).await,
            "{t}"
        );
        assert_eq!(
            read_all(&store, t, now).await,
            read_all(&memory, t, now).await,
            "{t}"
        );
    }
    assert!(
        !HistoryReader::new(&store)
            .samples(&a, Timestamp(0), Timestamp(u64::MAX))
            .await
            .expect("samples")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_appenders_lose_and_double_nothing() {
    let server = RedisServer::start();
    let shared = target("raced.example");
    let now = now_ms();
    let polls_of_shared = polls(&shared, now, 3 * 1440, 21);
    let mut handles = Vec::new();
    let mut own = Vec::new();
    for w in 0..3_u64 {
        // Separate connections: separate stores.
        let store = connect(&server, "race:").await;
        let mine = target(&format!("own{w}.example"));
        let mine_polls = polls(&mine, now, 3 * 1440, 30 + w);
        own.push((mine.clone(), mine_polls.clone()));
        let shared_polls = polls_of_shared.clone();
        handles.push(tokio::spawn(async move {
            // Every writer writes every poll of the shared target (as replicas that
            // all polled it would), in small batches of its own sizes, beside a
            // target of its own.
            let mut rng = Rng(77 + w);
            let mut i = 0;
            while i < shared_polls.len() {
                let n = 1 + usize::try_from(rng.below(40)).expect("small");
                let end = (i + n).min(shared_polls.len());
                let mut batch = shared_polls[i..end].to_vec();
                batch.extend_from_slice(&mine_polls[i..end]);
                store.append_samples(&batch).await.expect("append");
                if rng.below(4) == 0 {
                    tokio::task::yield_now().await;
                }
                i = end;
            }
        }));
    }
    for h in handles {
        h.await.expect("writer");
    }
    let store = connect(&server, "race:").await;
    let sequential = MemoryHistory::new(HistoryConfig::default());
    sequential
        .append_samples(&polls_of_shared)
        .await
        .expect("append");
    for (_, samples) in &own {
        sequential.append_samples(samples).await.expect("append");
    }
    sequential.prune(Timestamp(now_ms())).await.expect("prune");
    for (t, _) in &own {
        assert!(
            everything(&store, t).await == everything(&sequential, t).await,
            "{t}"
        );
    }
    assert!(everything(&store, &shared).await == everything(&sequential, &shared).await);
    assert_eq!(
        read_all(&store, &shared, now).await,
        read_all(&sequential, &shared, now).await
    );
}

#[tokio::test]
async fn keys_of_one_target_share_a_slot_and_expire() {
    let server = RedisServer::start();
    let store = connect(&server, "slot:").await;
    let config = HistoryConfig::default();
    let now = now_ms();
    let t = target("slots.example");
    let other = target("java:other.example:25566");
    for chunk in polls(&t, now, 20 * 1440, 5).chunks(1440) {
        store.append_samples(chunk).await.expect("append");
    }
    store
        .append_samples(&polls(&other, now, 10, 6))
        .await
        .expect("append");
    let tkey = t.key();
    let mine = keys(&server, &format!("slot:hist:{{{tkey}}}:*"));
    assert!(mine.len() > 8, "{mine:?}");
    let slot = key_slot(&mine[0]);
    assert_eq!(slot, key_slot(&tkey));
    let mut con = client(&server);
    for key in &mine {
        assert!(key.contains(&format!("{{{tkey}}}")), "{key}");
        assert_eq!(key_slot(key), slot, "{key}");
        let expire_at: i64 = redis::cmd("PEXPIRETIME")
            .arg(key)
            .query(&mut con)
            .expect("PEXPIRETIME");
        assert!(
            expire_at > i64::try_from(now).expect("fits"),
            "{key}: {expire_at}"
        );
        // Chunks expire exactly when their retention ends.
        let rest = key.rsplit_once("}:").expect("tagged").1;
        if let Some((stream, index)) = rest.split_once(':') {
            let stream = Stream::ALL
                .into_iter()
                .find(|s| s.name() == stream)
                .expect("a stream");
            let index: u64 = index.parse().expect("an index");
            let expected = config.expires_at(mcstat_core::history::ChunkKey { stream, index });
            assert_eq!(expire_at, i64::try_from(expected.0).expect("fits"), "{key}");
        } else {
            assert_eq!(rest, "head");
        }
    }
    let theirs = keys(&server, &format!("slot:hist:{{{}}}:*", other.key()));
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|k| key_slot(k) == key_slot(&other.key())));
    // Old raw chunks are gone already: only ~48 h of raw samples remain.
    let raw = store
        .chunks(&t, Stream::Raw, 0, u64::MAX)
        .await
        .expect("chunks");
    assert!((4..=6).contains(&raw.len()), "{}", raw.len());
    // Prune has nothing left to do.
    assert_eq!(store.prune(Timestamp(now_ms())).await.expect("prune"), 0);
}

/// What a format-1 build wrote for one sample (its `APPEND_SAMPLE`, verbatim:
/// score = time, member = the sample as JSON, the target listed in a set).
fn write_v1(con: &mut redis::Connection, prefix: &str, samples: &[HistorySample]) {
    for s in samples {
        let t = s.target.key();
        let json = serde_json::to_string(s).expect("json");
        let _: () = redis::pipe()
            .cmd("ZREMRANGEBYSCORE")
            .arg(format!("{prefix}history:{t}"))
            .arg(s.at.0)
            .arg(s.at.0)
            .ignore()
            .cmd("ZADD")
            .arg(format!("{prefix}history:{t}"))
            .arg(s.at.0)
            .arg(json)
            .ignore()
            .cmd("SADD")
            .arg(format!("{prefix}history-targets"))
            .arg(&t)
            .ignore()
            .query(con)
            .expect("format-1 write");
    }
}

/// A format-1 sample as a format-1 build serialized it (no `cause`).
fn v1(mut s: HistorySample) -> HistorySample {
    s.cause = None;
    s
}

fn get(con: &mut redis::Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(con).expect("GET")
}

#[tokio::test]
async fn format_1_history_is_migrated_and_an_interrupted_migration_resumes() {
    let server = RedisServer::start();
    let mut con = client(&server);
    let now = now_ms();
    let targets = [
        target("m1.example"),
        target("m2.example"),
        target("bedrock:m3.example"),
    ];
    let mut all = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let samples: Vec<HistorySample> = polls(t, now - 5 * MINUTE, 4 * 1440, 40 + i as u64)
            .into_iter()
            .map(v1)
            .collect();
        all.push(samples);
    }
    for p in ["m:", "n:"] {
        let _: () = redis::cmd("SET")
            .arg(format!("{p}format"))
            .arg(1)
            .query(&mut con)
            .expect("SET");
        for samples in &all {
            write_v1(&mut con, p, samples);
        }
    }
    // What the migrated history must be: the samples fed to a memory history.
    let memory = MemoryHistory::new(HistoryConfig::default());
    for samples in &all {
        memory.append_samples(samples).await.expect("append");
    }
    memory.prune(Timestamp(now_ms())).await.expect("prune");

    // "m:": a clean migration on connect.
    let store = connect(&server, "m:").await;
    assert_eq!(get(&mut con, "m:format").as_deref(), Some("2"));
    assert!(keys(&server, "m:history*").is_empty());
    for t in &targets {
        assert_eq!(
            everything(&store, t).await,
            everything(&memory, t).await,
            "{t}"
        );
        assert_eq!(
            read_all(&store, t, now).await,
            read_all(&memory, t, now).await
        );
    }

    // "n:": interrupted after its first target (moved by hand the way the migration
    // moves it: the new keys, the old set and membership gone, format still 1).
    {
        let by_hand = RedisStore::connect(
            &RedisConfig::new(server.url())
                .prefix("hand:")
                .command_timeout(Duration::from_secs(5)),
        )
        .await
        .expect("connect");
        by_hand.append_samples(&all[0]).await.expect("append");
        let first = targets[0].key();
        for key in keys(&server, &format!("hand:hist:{{{first}}}:*")) {
            let _: () = redis::cmd("COPY")
                .arg(&key)
                .arg(key.replacen("hand:", "n:", 1))
                .query(&mut con)
                .expect("COPY");
        }
        let _: () = redis::pipe()
            .cmd("DEL")
            .arg(format!("n:history:{first}"))
            .ignore()
            .cmd("SREM")
            .arg("n:history-targets")
            .arg(&first)
            .ignore()
            .query(&mut con)
            .expect("by hand");
    }
    assert_eq!(get(&mut con, "n:format").as_deref(), Some("1"));
    // A lazy store serves nothing before the migration is done; two replicas
    // migrating at once end with the same history.
    let config = RedisConfig::new(server.url())
        .prefix("n:")
        .command_timeout(Duration::from_secs(5));
    let lazy = RedisStore::lazy(&config).expect("lazy");
    let (one, two) = tokio::join!(lazy.head(&targets[1]), RedisStore::connect(&config));
    assert!(one.expect("head after the migration").is_some());
    let two = two.expect("connect");
    assert_eq!(get(&mut con, "n:format").as_deref(), Some("2"));
    assert!(keys(&server, "n:history*").is_empty());
    for t in &targets {
        assert_eq!(
            everything(&lazy, t).await,
            everything(&memory, t).await,
            "{t}"
        );
        assert_eq!(
            everything(&two, t).await,
            everything(&memory, t).await,
            "{t}"
        );
    }
    // Each migrated target's keys carry expiries.
    for key in keys(&server, "n:hist:*") {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut con).expect("PTTL");
        assert!(ttl > 0, "{key}: {ttl}");
    }

    // Format-1 history an older replica writes after the migration is moved by
    // prune; a newer format is refused as before.
    let late = v1(polls(&targets[2], now + 5 * MINUTE, 3, 50)[2].clone());
    write_v1(&mut con, "n:", std::slice::from_ref(&late));
    assert_eq!(two.prune(Timestamp(now_ms())).await.expect("prune"), 0);
    assert!(keys(&server, "n:history*").is_empty());
    let head = HistoryReader::new(&two)
        .head(&targets[2])
        .await
        .expect("head")
        .expect("some");
    assert_eq!(head.last.map(|p| p.at), Some(late.at.0));
    let _: () = redis::cmd("SET")
        .arg("n:format")
        .arg(3)
        .query(&mut con)
        .expect("SET");
    let err = RedisStore::connect(&config).await.expect_err("too new");
    assert!(
        matches!(
            err,
            mcstat_adapters::RedisStoreError::TooNew {
                found: 3,
                supported: 2
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_server_year_takes_at_most_64_kib() {
    let server = RedisServer::start();
    let store = Arc::new(connect(&server, "year:").await);
    let t = target("play.example.net");
    let now = now_ms();
    let year = polls(&t, now, 525_600, 2024);
    for batch in year.chunks(1440) {
        store.append_samples(batch).await.expect("append");
    }
    assert_eq!(store.prune(Timestamp(now_ms())).await.expect("prune"), 0);
    let mut con = client(&server);
    let mut total = 0_u64;
    let mut per_stream = std::collections::BTreeMap::<String, (u64, u64, u64)>::new();
    for key in keys(&server, &format!("year:hist:{{{}}}:*", t.key())) {
        let usage: u64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&key)
            .arg("SAMPLES")
            .arg(0)
            .query(&mut con)
            .expect("MEMORY USAGE");
        let len: u64 = redis::cmd("STRLEN")
            .arg(&key)
            .query(&mut con)
            .expect("STRLEN");
        let rest = key.rsplit_once("}:").expect("tagged").1;
        let stream = rest.split(':').next().unwrap_or(rest).to_owned();
        let e = per_stream.entry(stream).or_default();
        e.0 += 1;
        e.1 += usage;
        e.2 += len;
        total += usage;
    }
    println!(
        "one server-year at 60 s polling: {total} bytes of Redis memory ({:.1} KiB)",
        total as f64 / 1024.0
    );
    for (stream, (n, usage, len)) in &per_stream {
        println!(
            "  {stream:>4}: {n:>3} keys, {usage:>6} bytes MEMORY USAGE, {len:>6} bytes of values"
        );
    }
    // The year is still readable where it is kept.
    let up = HistoryReader::new(&*store)
        .uptime(
            &t,
            Tier::Day,
            Duration::from_secs(365 * 86_400),
            Timestamp(now),
        )
        .await
        .expect("uptime");
    assert!(up.samples > 350 * 1440, "{up:?}");
    assert!(total <= 64 * 1024, "{total} bytes > 64 KiB: {per_stream:?}");
}
