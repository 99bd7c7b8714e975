//! Stored-format tests: the format version, the v1 → v2 → v3 migrations of the file
//! store (v2 → v3 resumable per target),
//! and typed errors (never a reset) for corrupt, foreign, newer or locked data.

mod support;

#[cfg(feature = "file")]
mod file {
    use std::path::Path;

    use mcstat_adapters::{FileStore, FileStoreError};
    use mcstat_core::history::{DownCause, HistoryConfig, HistoryReader, MemoryHistory};
    use mcstat_core::ports::{ChatStore, HistoryStore, StoreError};
    use mcstat_core::{HistorySample, Platform, Timestamp};
    use redb::{Database, TableDefinition, TableHandle as _};

    use crate::support::contract::{assert_same_history, series};
    use crate::support::samples::{T0, chat, chat_state, target};

    const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
    const V1_CHAT: TableDefinition<'_, &str, &str> = TableDefinition::new("chat");
    const CHAT_STATE: TableDefinition<'_, &str, &str> = TableDefinition::new("chat_state");

    /// Write a file by hand: `meta.format_version = version` and the given v1 chats.
    fn write_file(path: &Path, version: Option<u64>, v1_chats: &[(&str, &str)]) {
        let db = Database::create(path).expect("create");
        let txn = db.begin_write().expect("write");
        if let Some(v) = version {
            txn.open_table(META)
                .expect("meta")
                .insert("format_version", v)
                .expect("insert");
        }
        {
            let mut chats = txn.open_table(V1_CHAT).expect("chat");
            for (k, v) in v1_chats {
                chats.insert(*k, *v).expect("insert");
            }
        }
        txn.commit().expect("commit");
    }

    fn stored_version(path: &Path) -> Option<u64> {
        let db = Database::open(path).expect("open");
        let txn = db.begin_read().expect("read");
        let meta = txn.open_table(META).expect("meta");
        meta.get("format_version").expect("get").map(|v| v.value())
    }

    fn table_names(path: &Path) -> Vec<String> {
        let db = Database::open(path).expect("open");
        let txn = db.begin_read().expect("read");
        txn.list_tables()
            .expect("tables")
            .map(|t| t.name().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_new_file_records_the_current_format() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("new.redb");
        drop(FileStore::open(&path).await.expect("open"));
        assert_eq!(stored_version(&path), Some(FileStore::FORMAT_VERSION));
        assert_eq!(FileStore::FORMAT_VERSION, 3);
    }

    #[tokio::test]
    async fn format_1_chat_state_is_migrated_to_the_current_format() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v1.redb");
        write_file(
            &path,
            Some(1),
            &[
                (
                    "telegram:-10042",
                    r#"{"last":"mc.example.net:25566","recent":["mc.example.net:25566","bedrock:pe.example"],"lang":"de"}"#,
                ),
                ("discord:99", r#"{"last":null}"#),
            ],
        );

        let store = FileStore::open(&path).await.expect("open migrates");
        assert_eq!(
            store
                .chat(&chat(Platform::Telegram, "-10042"))
                .await
                .expect("chat"),
            Some(chat_state(
                "mc.example.net:25566",
                &["mc.example.net:25566", "bedrock:pe.example"],
                Some("de")
            ))
        );
        assert_eq!(
            store
                .chat(&chat(Platform::Discord, "99"))
                .await
                .expect("chat"),
            Some(mcstat_core::ChatState::default())
        );
        drop(store);

        assert_eq!(stored_version(&path), Some(3));
        let tables = table_names(&path);
        assert!(!tables.contains(&"chat".to_owned()), "{tables:?}");
        assert!(tables.contains(&"chat_state".to_owned()), "{tables:?}");

        // Opening again is a no-op (the migration ran once).
        let store = FileStore::open(&path).await.expect("reopen");
        assert_eq!(
            store
                .chat(&chat(Platform::Telegram, "-10042"))
                .await
                .expect("chat")
                .and_then(|s| s.language),
            Some("de".to_owned())
        );
    }

    #[tokio::test]
    async fn a_failed_migration_leaves_the_format_1_file_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v1-bad.redb");
        write_file(
            &path,
            Some(1),
            &[
                ("telegram:1", r#"{"last":"good.example"}"#),
                ("telegram:2", r#"{"last":"not a host name!"}"#),
            ],
        );
        let err = FileStore::open(&path)
            .await
            .expect_err("unreadable v1 data");
        assert!(
            matches!(&err, FileStoreError::Corrupt { detail } if detail.contains("telegram:2")),
            "{err:?}"
        );
        assert_eq!(stored_version(&path), Some(1), "not half-migrated");
        assert!(table_names(&path).contains(&"chat".to_owned()));
    }

    #[tokio::test]
    async fn a_newer_format_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("future.redb");
        write_file(&path, Some(99), &[]);
        let err = FileStore::open(&path).await.expect_err("too new");
        assert!(
            matches!(
                err,
                FileStoreError::TooNew {
                    found: 99,
                    supported: 3
                }
            ),
            "{err:?}"
        );
        assert_eq!(stored_version(&path), Some(99), "left as it was");
    }

    #[tokio::test]
    async fn garbage_bytes_are_corrupt_and_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, bytes) in [
            ("text", b"this is not a database\n".repeat(500)),
            ("short", b"x".to_vec()),
            ("zeros", vec![0; 8192]),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).expect("write");
            let err = FileStore::open(&path).await.expect_err("garbage");
            assert!(
                matches!(err, FileStoreError::Corrupt { .. }),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains("corrupt"), "{err}");
            assert_eq!(
                std::fs::read(&path).expect("read"),
                bytes,
                "{name} untouched"
            );
        }
    }

    #[tokio::test]
    async fn a_store_whose_header_is_overwritten_is_corrupt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("damaged.redb");
        drop(FileStore::open(&path).await.expect("open"));
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[..64].fill(0xA5);
        std::fs::write(&path, &bytes).expect("write");
        let err = FileStore::open(&path).await.expect_err("damaged");
        assert!(matches!(err, FileStoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_redb_file_without_a_format_version_is_corrupt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("foreign.redb");
        write_file(&path, None, &[("telegram:1", "{}")]);
        let err = FileStore::open(&path).await.expect_err("foreign");
        assert!(
            matches!(&err, FileStoreError::Corrupt { detail } if detail.contains("format version")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_second_open_of_the_same_file_is_locked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("locked.redb");
        let first = FileStore::open(&path).await.expect("open");
        let err = FileStore::open(&path).await.expect_err("locked");
        assert!(matches!(err, FileStoreError::Locked), "{err:?}");
        drop(first);
        FileStore::open(&path).await.expect("free again");
    }

    #[tokio::test]
    async fn a_missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = FileStore::open(dir.path().join("no/such/dir/x.redb"))
            .await
            .expect_err("no directory");
        assert!(matches!(err, FileStoreError::Io(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_unreadable_value_is_a_corrupt_error_not_a_miss() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad-value.redb");
        drop(FileStore::open(&path).await.expect("open"));
        {
            let db = Database::open(&path).expect("open");
            let txn = db.begin_write().expect("write");
            txn.open_table(CHAT_STATE)
                .expect("table")
                .insert("telegram:7", "{not json")
                .expect("insert");
            txn.commit().expect("commit");
        }
        let store = FileStore::open(&path).await.expect("open");
        let err = store
            .chat(&chat(Platform::Telegram, "7"))
            .await
            .expect_err("corrupt value");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        assert_eq!(
            store
                .chat(&chat(Platform::Telegram, "8"))
                .await
                .expect("other chats still read"),
            None
        );
    }

    /// Format 2's history tables, as the format-2 store wrote them.
    const V2_HISTORY: TableDefinition<'_, (&str, u64), &str> = TableDefinition::new("history");
    const V2_HISTORY_BY_TIME: TableDefinition<'_, (u64, &str), ()> =
        TableDefinition::new("history_by_time");
    const HISTORY_HEAD: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("history_head");

    /// A minimal format-2 writer: `meta.format_version = 2`, one chat, and every
    /// sample as the format-2 store's `append_sample` wrote it (JSON without `cause`
    /// in `history`, plus the `history_by_time` index). `bad` rows are written as
    /// given (unreadable JSON).
    fn write_v2_file(path: &Path, samples: &[HistorySample], bad: &[(&str, u64, &str)]) {
        let db = Database::create(path).expect("create");
        let txn = db.begin_write().expect("write");
        {
            let mut meta = txn.open_table(META).expect("meta");
            meta.insert("format_version", 2).expect("insert");
            meta.insert("audit_seq", 0).expect("insert");
            txn.open_table(CHAT_STATE)
                .expect("chat_state")
                .insert("telegram:5", r#"{"last_server":"a.example","recent":[]}"#)
                .expect("insert");
            let mut history = txn.open_table(V2_HISTORY).expect("history");
            let mut by_time = txn.open_table(V2_HISTORY_BY_TIME).expect("by time");
            for s in samples {
                let json = serde_json::to_string(s).expect("json");
                assert!(!json.contains("cause"), "format 2 had no cause: {json}");
                let key = s.target.key();
                history
                    .insert((key.as_str(), s.at.as_millis()), json.as_str())
                    .expect("insert");
                by_time
                    .insert((s.at.as_millis(), key.as_str()), ())
                    .expect("insert");
            }
            for (key, at, text) in bad {
                history.insert((*key, *at), *text).expect("insert");
                by_time.insert((*at, *key), ()).expect("insert");
            }
        }
        txn.commit().expect("commit");
    }

    /// Format-2 samples (no cause) of three targets, with a week of history each.
    fn v2_samples() -> (Vec<&'static str>, Vec<HistorySample>) {
        let names = vec![
            "a.history.example",
            "b.history.example",
            "bedrock:c.history.example",
        ];
        let mut all = Vec::new();
        for (i, name) in names.iter().enumerate() {
            all.extend(
                series(name, T0 + i as u64 * 1000, 300)
                    .into_iter()
                    .map(|mut s| {
                        s.cause = None;
                        s
                    }),
            );
        }
        (names, all)
    }

    fn count_rows(path: &Path, table: TableDefinition<'_, (&str, u64), &str>, key: &str) -> usize {
        let db = Database::open(path).expect("open");
        let txn = db.begin_read().expect("read");
        let Ok(t) = txn.open_table(table) else {
            return 0;
        };
        t.range((key, 0)..=(key, u64::MAX)).expect("range").count()
    }

    fn has_head(path: &Path, key: &str) -> bool {
        let db = Database::open(path).expect("open");
        let txn = db.begin_read().expect("read");
        txn.open_table(HISTORY_HEAD)
            .ok()
            .is_some_and(|t| t.get(key).expect("get").is_some())
    }

    /// The migrated history of every target equals a `MemoryHistory` fed the same
    /// samples; the chat state is kept.
    async fn assert_migrated(store: &FileStore, names: &[&str], samples: &[HistorySample]) {
        let memory = MemoryHistory::new(HistoryConfig::default());
        memory.append_samples(samples).await.expect("memory");
        let last = samples.iter().map(|s| s.at.0).max().expect("samples");
        for name in names {
            assert_same_history(store, &memory, name, Timestamp(last + 60_000)).await;
            let back = HistoryReader::new(store)
                .samples(&target(name), Timestamp(0), Timestamp(u64::MAX))
                .await
                .expect("samples");
            assert_eq!(back.len(), 300, "{name}");
            assert!(
                back.iter()
                    .all(|s| s.online || s.cause == Some(DownCause::Unknown))
            );
        }
        assert_eq!(
            store
                .chat(&chat(Platform::Telegram, "5"))
                .await
                .expect("chat"),
            Some(mcstat_core::ChatState {
                last_server: Some(target("a.example")),
                ..Default::default()
            })
        );
    }

    #[tokio::test]
    async fn format_2_history_is_migrated_to_format_3() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v2.redb");
        let (names, samples) = v2_samples();
        write_v2_file(&path, &samples, &[]);

        let store = FileStore::open(&path).await.expect("open migrates");
        assert_migrated(&store, &names, &samples).await;
        drop(store);
        assert_eq!(stored_version(&path), Some(3));
        let tables = table_names(&path);
        assert!(
            !tables.contains(&"history".to_owned())
                && !tables.contains(&"history_by_time".to_owned()),
            "{tables:?}"
        );
        assert!(tables.contains(&"history_head".to_owned()), "{tables:?}");

        // Opening again changes nothing.
        let store = FileStore::open(&path).await.expect("reopen");
        assert_migrated(&store, &names, &samples).await;
    }

    #[tokio::test]
    async fn an_interrupted_history_migration_goes_on_at_the_next_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v2-interrupted.redb");
        let (names, samples) = v2_samples();
        // The second target has an unreadable row: the migration stops there, after
        // the first target's transaction committed (as a kill would leave it).
        let bad_at = T0 + 5 * 86_400_000 + 7;
        let bad_key = target(names[1]).key();
        write_v2_file(&path, &samples, &[(&bad_key, bad_at, "{not json")]);
        let err = FileStore::open(&path).await.expect_err("unreadable row");
        assert!(
            matches!(&err, FileStoreError::Corrupt { detail } if detail.contains(names[1])),
            "{err:?}"
        );
        assert_eq!(stored_version(&path), Some(2), "still format 2");
        // Targets migrate in key order: bedrock:c, java:a, then java:b fails.
        let key = |i: usize| target(names[i]).key();
        for done in [0, 2] {
            assert!(has_head(&path, &key(done)), "{} is migrated", names[done]);
            assert_eq!(
                count_rows(&path, V2_HISTORY, &key(done)),
                0,
                "and its old rows are gone"
            );
        }
        assert!(!has_head(&path, &key(1)));
        assert_eq!(count_rows(&path, V2_HISTORY, &key(1)), 301);

        // Repair the row (as it should have been: a sample between two others is
        // simply one more sample) and open again: the migration finishes.
        let fixed = HistorySample {
            target: target(names[1]),
            at: Timestamp(bad_at),
            online: true,
            players: Some(1),
            latency_ms: Some(2),
            cause: None,
        };
        {
            let db = Database::open(&path).expect("open");
            let txn = db.begin_write().expect("write");
            txn.open_table(V2_HISTORY)
                .expect("history")
                .insert(
                    (key(1).as_str(), bad_at),
                    serde_json::to_string(&fixed).expect("json").as_str(),
                )
                .expect("insert");
            txn.commit().expect("commit");
        }
        let store = FileStore::open(&path)
            .await
            .expect("open finishes the migration");
        let mut all = samples.clone();
        all.push(fixed);
        let memory = MemoryHistory::new(HistoryConfig::default());
        memory.append_samples(&all).await.expect("memory");
        let last = all.iter().map(|s| s.at.0).max().expect("samples");
        for name in &names {
            assert_same_history(&store, &memory, name, Timestamp(last + 60_000)).await;
        }
        drop(store);
        assert_eq!(stored_version(&path), Some(3));
        assert!(!table_names(&path).contains(&"history".to_owned()));
    }
}

#[cfg(feature = "redis")]
mod redis {
    use std::time::Duration;

    use mcstat_adapters::{RedisConfig, RedisStore, RedisStoreError};
    use mcstat_core::Platform;
    use mcstat_core::ports::{ChatStore, StoreError};

    use crate::support::redis_server::{RedisServer, free_port};
    use crate::support::samples::chat;

    fn redis_set(server: &RedisServer, key: &str, value: &str) {
        let client = redis::Client::open(server.url()).expect("client");
        let mut con = client.get_connection().expect("connection");
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query::<()>(&mut con)
            .expect("SET");
    }

    fn redis_get(server: &RedisServer, key: &str) -> Option<String> {
        let client = redis::Client::open(server.url()).expect("client");
        let mut con = client.get_connection().expect("connection");
        redis::cmd("GET").arg(key).query(&mut con).expect("GET")
    }

    #[tokio::test]
    async fn connect_records_the_format_under_the_prefix() {
        let server = RedisServer::start();
        RedisStore::connect(&RedisConfig::new(server.url()).prefix("p1:"))
            .await
            .expect("connect");
        assert_eq!(redis_get(&server, "p1:format").as_deref(), Some("2"));
        assert_eq!(RedisStore::FORMAT_VERSION, 2);
    }

    #[tokio::test]
    async fn a_newer_or_unknown_format_is_refused() {
        let server = RedisServer::start();
        redis_set(&server, "mcstat:format", "7");
        let err = RedisStore::connect(&RedisConfig::new(server.url()))
            .await
            .expect_err("too new");
        assert!(
            matches!(
                err,
                RedisStoreError::TooNew {
                    found: 7,
                    supported: 2
                }
            ),
            "{err:?}"
        );
        assert_eq!(redis_get(&server, "mcstat:format").as_deref(), Some("7"));

        redis_set(&server, "odd:format", "one");
        let err = RedisStore::connect(&RedisConfig::new(server.url()).prefix("odd:"))
            .await
            .expect_err("unknown");
        assert!(matches!(err, RedisStoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_lazy_store_refuses_every_call_on_a_newer_format() {
        let server = RedisServer::start();
        redis_set(&server, "mcstat:format", "3");
        let store = RedisStore::lazy(&RedisConfig::new(server.url())).expect("lazy");
        let c = chat(Platform::Telegram, "3");
        for _ in 0..2 {
            let err = store.chat(&c).await.expect_err("too new");
            assert!(
                matches!(&err, StoreError::Corrupt(m) if m.contains("format version 3")),
                "{err:?}"
            );
            let err = store.ping().await.expect_err("not ready either");
            assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        }
        assert_eq!(redis_get(&server, "mcstat:format").as_deref(), Some("3"));
        assert_eq!(redis_get(&server, "mcstat:chat:telegram:3"), None);
    }

    #[tokio::test]
    async fn an_unreadable_value_is_a_corrupt_error() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&RedisConfig::new(server.url()))
            .await
            .expect("connect");
        redis_set(&server, "mcstat:chat:telegram:3", "[1,2");
        let err = store
            .chat(&chat(Platform::Telegram, "3"))
            .await
            .expect_err("corrupt");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_undecodable_cache_entry_is_corrupt() {
        use mcstat_core::ports::StatusCache;

        let server = RedisServer::start();
        let cache = mcstat_adapters::RedisCache::new(&RedisConfig::new(server.url()).prefix("c:"))
            .expect("cache");
        redis_set(
            &server,
            "c:cache:v1:java:a.example",
            "{\"kind\":\"status\"}",
        );
        let err = cache.get("java:a.example").await.expect_err("corrupt");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        assert_eq!(cache.get("java:b.example").await.expect("get"), None);
    }

    /// How a build before `CachedValue::NoPlayerList` read cache entries (its
    /// `Entry`, verbatim): kept to show it still reads what this build writes.
    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(tag = "kind", content = "value", rename_all = "snake_case")]
    enum OldEntry {
        Status(mcstat_core::StatusOutcome),
        Players(Option<mcstat_core::PlayerList>),
    }

    #[tokio::test]
    async fn cache_entries_stay_readable_by_older_and_newer_builds() {
        use mcstat_core::ports::{CachedValue, StatusCache};

        use crate::support::samples::{no_players, offline, players};

        let server = RedisServer::start();
        let cache = mcstat_adapters::RedisCache::new(&RedisConfig::new(server.url()).prefix("c:"))
            .expect("cache");
        let long = Duration::from_secs(3600);
        // What this build writes: an offline players answer keeps its time in a key
        // of its own, beside the `null` an older build wrote and still reads.
        cache
            .put("players:java:down.example", &no_players(), long)
            .await
            .expect("put");
        let stored = redis_get(&server, "c:cache:v1:players:java:down.example").expect("stored");
        let CachedValue::NoPlayerList { taken_at } = no_players() else {
            unreachable!()
        };
        assert_eq!(
            stored,
            format!(
                r#"{{"kind":"players","value":null,"taken_at":{}}}"#,
                taken_at.as_millis()
            )
        );
        assert_eq!(
            serde_json::from_str::<OldEntry>(&stored).expect("an older build reads it"),
            OldEntry::Players(None)
        );
        // Lists and statuses are stored as before, byte for byte.
        for (key, value) in [
            ("players:java:a.example", players("a.example")),
            ("java:b.example", offline("b.example")),
        ] {
            cache.put(key, &value, long).await.expect("put");
            let stored = redis_get(&server, &format!("c:cache:v1:{key}")).expect("stored");
            let json: serde_json::Value = serde_json::from_str(&stored).expect("json");
            let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
            assert_eq!(keys, ["kind", "value"], "{stored}");
            let old = serde_json::from_str::<OldEntry>(&stored).expect("an older build reads it");
            match (&old, &value) {
                (OldEntry::Players(Some(l)), CachedValue::Players(v)) => assert_eq!(l, v),
                (OldEntry::Status(s), CachedValue::Status(v)) => assert_eq!(s, v),
                _ => panic!("{old:?} for {value:?}"),
            }
            assert_eq!(cache.get(key).await.expect("get"), Some(value));
        }
        // What an older build wrote for an offline server: no time, so a miss (it
        // lived 10 s at most), never an error.
        redis_set(
            &server,
            "c:cache:v1:players:java:old.example",
            r#"{"kind":"players","value":null}"#,
        );
        assert_eq!(
            cache.get("players:java:old.example").await.expect("a miss"),
            None
        );
        // An older build's list decodes as a list.
        let old_list = serde_json::to_string(&serde_json::json!({
            "kind": "players",
            "value": serde_json::to_value(match players("c.example") {
                CachedValue::Players(l) => l,
                _ => unreachable!(),
            }).expect("json"),
        }))
        .expect("json");
        redis_set(&server, "c:cache:v1:players:java:c.example", &old_list);
        assert_eq!(
            cache.get("players:java:c.example").await.expect("get"),
            Some(players("c.example"))
        );
    }

    #[tokio::test]
    async fn connect_without_a_server_is_unavailable_within_the_timeout() {
        let config = RedisConfig::new(format!("redis://127.0.0.1:{}/", free_port()))
            .command_timeout(Duration::from_millis(300));
        let err = tokio::time::timeout(Duration::from_secs(5), RedisStore::connect(&config))
            .await
            .expect("connect gives up by its deadline")
            .expect_err("nothing listens");
        assert!(matches!(err, RedisStoreError::Unavailable(_)), "{err:?}");
    }

    #[test]
    fn an_invalid_url_is_refused() {
        let err = mcstat_adapters::RedisCache::new(&RedisConfig::new("http://nope"))
            .expect_err("not a redis URL");
        assert!(matches!(err, RedisStoreError::InvalidUrl(_)), "{err:?}");
    }

    #[test]
    fn the_config_debug_form_hides_the_password() {
        let config = RedisConfig::new("redis://:hunter2@cache.internal:6379/0");
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("cache.internal:6379"), "{text}");
    }
}
