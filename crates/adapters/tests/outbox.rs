//! The outbox contract (tests/support/outbox_contract.rs) on every outbox of this
//! crate and core's reference: `MemoryOutbox`, `FileStore` (feature `file`, in a
//! temporary directory) and `RedisStore` (feature `redis`, against a `redis-server`
//! the test starts on a free loopback port), plus what only one store can show (the
//! file store's durability across a reopen, Redis' keys sharing one cluster slot per
//! platform).

mod support;

use mcstat_core::outbox::MemoryOutbox;

use crate::support::outbox_contract::outbox_contract;

#[tokio::test]
async fn memory_outbox_passes_the_outbox_contract() {
    outbox_contract(&MemoryOutbox::new()).await;
}

#[cfg(feature = "file")]
mod file {
    use mcstat_adapters::FileStore;
    use mcstat_core::outbox::Priority;
    use mcstat_core::ports::OutboxStore;
    use mcstat_core::{Platform, Timestamp};

    use crate::support::outbox_contract::{REMEMBER, TTL, entry, outbox_contract};
    use crate::support::samples::{T0, chat};

    #[tokio::test]
    async fn file_store_passes_the_outbox_contract() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(dir.path().join("mcstat.redb"))
            .await
            .expect("open");
        outbox_contract(&store).await;
    }

    #[tokio::test]
    async fn file_store_outbox_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("mcstat.redb");
        let a = chat(Platform::Telegram, "-1001234567890");
        let one = entry(&a, "durable:1", Priority::Notification, T0, T0);
        let two = entry(&a, "durable:2", Priority::Answer, T0, T0 + 5);
        let done = entry(&a, "durable:done", Priority::Answer, T0, T0);
        {
            let store = FileStore::open(&path).await.expect("open");
            let added = store
                .push(
                    &[one.clone(), two.clone(), done.clone()],
                    Timestamp(T0),
                    REMEMBER,
                )
                .await
                .expect("push");
            assert_eq!(added, 3);
            store
                .complete(Platform::Telegram, &["durable:done".to_owned()])
                .await
                .expect("complete");
        }
        let store = FileStore::open(&path).await.expect("reopen");
        let stats = store.stats(Platform::Telegram).await.expect("stats");
        assert_eq!(stats.pending(), 2);
        assert_eq!(
            store
                .claim(Platform::Telegram, Timestamp(T0 + 10), 10, TTL)
                .await
                .expect("claim"),
            vec![two, one.clone()],
            "the pending entries are back, in order"
        );
        assert_eq!(
            store
                .push(&[one, done], Timestamp(T0 + 20), REMEMBER)
                .await
                .expect("push"),
            0,
            "pushed ids (pending or completed) are remembered across the reopen"
        );
    }
    type EntryRow = (u64, u8, u64, &'static str, &'static [u8]);
    const OUTBOX: redb::TableDefinition<'_, (&str, &str), EntryRow> =
        redb::TableDefinition::new("outbox");
    const META: redb::TableDefinition<'_, &str, u64> = redb::TableDefinition::new("meta");

    /// The outbox tables are additive to format 3: the version stays 3, and an
    /// entry whose JSON is damaged is skipped by `claim` (no error, no panic), due
    /// again after the claim's TTL, counted, and removed by `complete`.
    #[tokio::test]
    async fn file_store_outbox_keeps_format_3_and_skips_an_unreadable_entry() {
        use redb::ReadableTable as _;

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("mcstat.redb");
        let a = chat(Platform::Telegram, "1");
        let good = entry(&a, "good", Priority::Notification, T0, T0 + 1);
        let bad = entry(&a, "bad", Priority::Notification, T0, T0);
        {
            let store = FileStore::open(&path).await.expect("open");
            assert_eq!(FileStore::FORMAT_VERSION, 3);
            store
                .push(&[good.clone(), bad], Timestamp(T0), REMEMBER)
                .await
                .expect("push");
        }
        {
            let db = redb::Database::open(&path).expect("open");
            let read = db.begin_read().expect("read");
            let version = read.open_table(META).expect("meta").get("format_version");
            assert_eq!(version.expect("get").map(|v| v.value()), Some(3));
            drop(read);
            let txn = db.begin_write().expect("write");
            {
                let mut table = txn.open_table(OUTBOX).expect("outbox");
                let (due, rank, created, chat_key) = {
                    let row = table.get(("telegram", "bad")).expect("get").expect("row");
                    let (due, rank, created, chat_key, _) = row.value();
                    (due, rank, created, chat_key.to_owned())
                };
                let damaged: &[u8] = b"{\"id\": \"bad\", \"chat\": 42";
                table
                    .insert(
                        ("telegram", "bad"),
                        (due, rank, created, chat_key.as_str(), damaged),
                    )
                    .expect("insert");
            }
            txn.commit().expect("commit");
        }
        let store = FileStore::open(&path).await.expect("reopen");
        let claimed = store
            .claim(Platform::Telegram, Timestamp(T0 + 1), 10, TTL)
            .await
            .expect("claim");
        assert_eq!(claimed, vec![good.clone()]);
        let stats = store.stats(Platform::Telegram).await.expect("stats");
        assert_eq!(stats.pending(), 2, "still pending");
        let again = store
            .claim(Platform::Telegram, Timestamp(T0 + 1 + 30_000), 10, TTL)
            .await
            .expect("claim");
        assert_eq!(again, vec![good], "the bad one is skipped again");
        store
            .complete(Platform::Telegram, &["bad".to_owned(), "good".to_owned()])
            .await
            .expect("complete");
        let stats = store.stats(Platform::Telegram).await.expect("stats");
        assert_eq!(stats.pending(), 0);
    }

    const SEEN: redb::TableDefinition<'_, (&str, &str), u64> =
        redb::TableDefinition::new("outbox_seen");
    const SEEN_EXPIRY: redb::TableDefinition<'_, (u64, &str, &str), ()> =
        redb::TableDefinition::new("outbox_seen_expiry");

    /// Remembered ids are forgotten once their time has passed, at most 256 per
    /// push (bounded work per write), and entries over the size limit are refused.
    #[tokio::test]
    async fn file_store_outbox_forgets_ids_in_bounded_steps_and_refuses_huge_entries() {
        use redb::ReadableTableMetadata as _;

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("mcstat.redb");
        let a = chat(Platform::Telegram, "1");
        let short = std::time::Duration::from_secs(1);
        {
            let store = FileStore::open(&path).await.expect("open");
            let old: Vec<_> = (0..300)
                .map(|i| entry(&a, &format!("old:{i}"), Priority::Report, T0, T0))
                .collect();
            let added = store.push(&old, Timestamp(T0), short).await.expect("push");
            assert_eq!(added, 300);
            let ids: Vec<String> = old.iter().map(|e| e.id.clone()).collect();
            store
                .complete(Platform::Telegram, &ids)
                .await
                .expect("complete");
            for (i, at) in [T0 + 2000, T0 + 3000].into_iter().enumerate() {
                let new = entry(&a, &format!("new:{i}"), Priority::Report, at, at);
                let added = store
                    .push(&[new], Timestamp(at), REMEMBER)
                    .await
                    .expect("push");
                assert_eq!(added, 1);
            }

            let mut huge = entry(&a, "huge", Priority::Answer, T0, T0);
            huge.notification.event = mcstat_core::ports::NotificationEvent::PlayerJoined(
                "x".repeat(mcstat_adapters::MAX_OUTBOX_ENTRY_BYTES),
            );
            let small = entry(&a, "small", Priority::Answer, T0, T0);
            let refused = store
                .push(&[small, huge], Timestamp(T0 + 4000), REMEMBER)
                .await;
            assert!(
                matches!(refused, Err(mcstat_core::ports::StoreError::Backend(_))),
                "{refused:?}"
            );
            let stats = store.stats(Platform::Telegram).await.expect("stats");
            assert_eq!(stats.pending(), 2, "nothing of the refused batch was added");
        }
        let db = redb::Database::open(&path).expect("open");
        let read = db.begin_read().expect("read");
        let seen = read.open_table(SEEN).expect("seen").len().expect("len");
        let expiry = read
            .open_table(SEEN_EXPIRY)
            .expect("seen expiry")
            .len()
            .expect("len");
        assert_eq!(
            (seen, expiry),
            (2, 2),
            "only the two new ids are remembered"
        );
    }
}

#[cfg(feature = "redis")]
mod redis {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

    use mcstat_adapters::{RedisConfig, RedisStore};
    use mcstat_core::outbox::{OutboxEntry, Priority};
    use mcstat_core::ports::OutboxStore;
    use mcstat_core::{Platform, Timestamp};

    use crate::support::outbox_contract::{REMEMBER, TTL, entry, outbox_contract};
    use crate::support::redis_server::{RedisServer, key_slot};
    use crate::support::samples::{T0, chat};

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

    /// Every key matching `pattern`, by `SCAN`.
    fn scan(server: &RedisServer, pattern: &str) -> Vec<String> {
        let mut con = client(server);
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .query(&mut con)
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn redis_store_passes_the_outbox_contract() {
        let server = RedisServer::start();
        outbox_contract(&connect(&server, "mcstat:").await).await;
    }

    /// Every key the outbox writes for one platform (after the whole contract, and
    /// with entries of every kind pending, ids with braces among them) carries the
    /// platform as its hash tag: one Redis Cluster slot per platform, so each script
    /// touches one slot.
    #[tokio::test]
    async fn redis_outbox_keys_of_one_platform_share_a_slot() {
        let server = RedisServer::start();
        let store = connect(&server, "slot:").await;
        outbox_contract(&store).await;
        let mut pending = Vec::new();
        for platform in [Platform::Telegram, Platform::Discord, Platform::Api] {
            for (i, priority) in Priority::ALL.into_iter().enumerate() {
                let c = chat(platform, &format!("chat-{i}"));
                pending.push(entry(&c, &format!("{{weird}}:id:{i}"), priority, T0, T0));
                pending.push(entry(&c, &format!("plain:{i}"), priority, T0, T0 + 1));
            }
        }
        let added = store
            .push(&pending, Timestamp(T0 + 9 * 3_600_000), REMEMBER)
            .await
            .expect("push");
        assert_eq!(added, pending.len());

        let keys = scan(&server, "slot:outbox:*");
        let mut by_platform: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for key in &keys {
            let platform = ["telegram", "discord", "api"]
                .into_iter()
                .find(|p| key.starts_with(&format!("slot:outbox:{{{p}}}:")))
                .unwrap_or_else(|| panic!("{key} is not under slot:outbox:{{<platform>}}:"));
            by_platform.entry(platform).or_default().push(key);
        }
        assert_eq!(by_platform.len(), 3, "{keys:?}");
        for (platform, keys) in by_platform {
            let slot = key_slot(platform);
            let mut kinds = BTreeSet::new();
            for key in &keys {
                assert_eq!(key_slot(key), slot, "{key} is not in {platform}'s slot");
                let rest = &key[format!("slot:outbox:{{{platform}}}:").len()..];
                kinds.insert(rest.split_once(':').map_or(rest, |(kind, _)| kind));
            }
            assert_eq!(
                kinds,
                BTreeSet::from(["by-chat", "created", "due", "entries", "meta", "seen"]),
                "{platform}: {keys:?}"
            );
        }
        assert!(
            scan(&server, "*")
                .iter()
                .all(|k| k == "slot:format" || k.starts_with("slot:outbox:{")),
            "the outbox writes nothing outside its keys"
        );
    }

    /// The scripts are called by their SHA: after a `SCRIPT FLUSH` (a restarted
    /// Redis) each call loads its script again and goes on.
    #[tokio::test]
    async fn redis_outbox_goes_on_after_the_script_cache_is_flushed() {
        let server = RedisServer::start();
        let store = connect(&server, "flush:").await;
        let flush = || {
            let _: String = redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query(&mut client(&server))
                .expect("flush");
        };
        let a = chat(Platform::Telegram, "1");
        let one = entry(&a, "flush:1", Priority::Answer, T0, T0);
        let two = entry(&a, "flush:2", Priority::Answer, T0, T0 + 1);
        flush();
        let added = store
            .push(&[one.clone(), two.clone()], Timestamp(T0), REMEMBER)
            .await
            .expect("push");
        assert_eq!(added, 2);
        flush();
        let claimed = store
            .claim(Platform::Telegram, Timestamp(T0 + 1), 10, TTL)
            .await
            .expect("claim");
        assert_eq!(claimed, vec![one.clone(), two]);
        flush();
        let mut later = one;
        later.attempts = 1;
        later.not_before = Timestamp(T0 + 2);
        store
            .reschedule(std::slice::from_ref(&later))
            .await
            .expect("reschedule");
        flush();
        store
            .complete(Platform::Telegram, &["flush:2".to_owned()])
            .await
            .expect("complete");
        flush();
        assert_eq!(store.drop_chat(&a).await.expect("drop"), 1);
        assert_eq!(
            store
                .stats(Platform::Telegram)
                .await
                .expect("stats")
                .pending(),
            0
        );
    }

    /// Replicas on one Redis share the outbox: what one pushes the other claims,
    /// claims racing from both never return an entry twice, and an id pushed by one
    /// is refused to the other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_outbox_is_shared_by_replicas() {
        let server = RedisServer::start();
        let one = connect(&server, "shared:").await;
        let two = connect(&server, "shared:").await;
        let other_prefix = connect(&server, "other:").await;
        let a = chat(Platform::Discord, "112233445566778899");
        let entries: Vec<OutboxEntry> = (0..200)
            .map(|i| {
                entry(
                    &a,
                    &format!("shared:{i:03}"),
                    Priority::Notification,
                    T0,
                    T0,
                )
            })
            .collect();
        let (x, y) = tokio::join!(
            one.push(&entries, Timestamp(T0), REMEMBER),
            two.push(&entries, Timestamp(T0), REMEMBER)
        );
        assert_eq!(
            x.expect("push") + y.expect("push"),
            200,
            "each id added once"
        );
        assert_eq!(
            other_prefix
                .stats(Platform::Discord)
                .await
                .expect("stats")
                .pending(),
            0,
            "another prefix is another outbox"
        );
        let mut seen = BTreeSet::new();
        loop {
            let (x, y) = tokio::join!(
                one.claim(Platform::Discord, Timestamp(T0), 16, TTL),
                two.claim(Platform::Discord, Timestamp(T0), 16, TTL)
            );
            let (x, y) = (x.expect("claim"), y.expect("claim"));
            if x.is_empty() && y.is_empty() {
                break;
            }
            for e in x.iter().chain(&y) {
                assert!(seen.insert(e.id.clone()), "{} claimed twice", e.id);
            }
        }
        assert_eq!(seen.len(), 200);
        let ids: Vec<String> = seen.into_iter().collect();
        one.complete(Platform::Discord, &ids)
            .await
            .expect("complete");
        assert_eq!(
            two.stats(Platform::Discord).await.expect("stats").pending(),
            0
        );
    }

    /// An entry whose JSON is not an entry is skipped by `claim` (no error, no
    /// panic), due again after the claim's TTL, counted, and removed by `complete`.
    #[tokio::test]
    async fn redis_outbox_skips_an_unreadable_entry() {
        let server = RedisServer::start();
        let store = connect(&server, "bad:").await;
        let a = chat(Platform::Telegram, "1");
        let good = entry(&a, "good", Priority::Notification, T0, T0 + 1);
        let bad = entry(&a, "bad", Priority::Notification, T0, T0);
        store
            .push(&[good.clone(), bad], Timestamp(T0), REMEMBER)
            .await
            .expect("push");
        let _: () = redis::cmd("HSET")
            .arg("bad:outbox:{telegram}:entries")
            .arg("bad")
            .arg("{\"id\": \"bad\", \"chat\": 42")
            .query(&mut client(&server))
            .expect("HSET");
        let claimed = store
            .claim(Platform::Telegram, Timestamp(T0 + 1), 10, TTL)
            .await
            .expect("claim");
        assert_eq!(claimed, vec![good.clone()]);
        let stats = store.stats(Platform::Telegram).await.expect("stats");
        assert_eq!(stats.pending(), 2, "still pending");
        let again = store
            .claim(Platform::Telegram, Timestamp(T0 + 1 + 30_000), 10, TTL)
            .await
            .expect("claim");
        assert_eq!(again, vec![good], "the bad one is skipped again");
        store
            .complete(Platform::Telegram, &["bad".to_owned(), "good".to_owned()])
            .await
            .expect("complete");
        let stats = store.stats(Platform::Telegram).await.expect("stats");
        assert_eq!(stats.pending(), 0);
    }
}
