//! Stored-format tests: the format version, the v1 → v2 migration of the file store,
//! and typed errors (never a reset) for corrupt, foreign, newer or locked data.

mod support;

#[cfg(feature = "file")]
mod file {
    use std::path::Path;

    use mcstat_adapters::{FileStore, FileStoreError};
    use mcstat_core::Platform;
    use mcstat_core::ports::{ChatStore, StoreError};
    use redb::{Database, TableDefinition, TableHandle as _};

    use crate::support::samples::{chat, chat_state};

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
        assert_eq!(FileStore::FORMAT_VERSION, 2);
    }

    #[tokio::test]
    async fn format_1_chat_state_is_migrated_to_format_2() {
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

        assert_eq!(stored_version(&path), Some(2));
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
                    supported: 2
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
