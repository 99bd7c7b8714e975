//! The contract suites (tests/support/contract.rs) run against every backend of this
//! crate: `FileStore` (feature `file`), `RedisStore`, `RedisCache` and `RedisLeases`
//! (feature `redis`, against a `redis-server` the test starts on a free loopback
//! port), and core's `MemoryLeases`.
//!
//! Adding a backend is one test: build a fresh instance and call
//! `store_contract(&store)`, `cache_contract(&cache, pass)` or
//! `lease_contract(&leases, short, pass)`; a history backend also runs
//! `history_prune_contract(&store, &config)` on a fresh instance (and may run
//! `history_contract(&store, &config)` with a config of its own).

mod support;

mod memory {
    use std::sync::Arc;

    use mcstat_adapters::MemoryCache;
    use mcstat_core::Timestamp;
    use mcstat_core::ports::ManualClock;

    use crate::support::contract::cache_contract;

    #[tokio::test]
    async fn memory_leases_pass_the_lease_contract() {
        use mcstat_core::ports::Clock;
        use mcstat_core::watch::MemoryLeases;

        use crate::support::contract::lease_contract;
        let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
        let leases = MemoryLeases::new(clock.clone() as Arc<dyn Clock>);
        lease_contract(&leases, std::time::Duration::from_secs(1), async |d| {
            clock.advance(d);
        })
        .await;
    }

    #[tokio::test]
    async fn memory_cache_passes_the_cache_contract() {
        let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
        let cache = MemoryCache::new(100, clock.clone());
        cache_contract(&cache, async |d| clock.advance(d)).await;
    }
}

#[cfg(feature = "file")]
mod file {
    use mcstat_adapters::FileStore;

    use crate::support::contract::store_contract;

    #[tokio::test]
    async fn file_store_passes_the_store_contract() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(dir.path().join("mcstat.redb"))
            .await
            .expect("open");
        store_contract(&store).await;
    }

    #[tokio::test]
    async fn file_store_passes_the_history_contracts_with_its_config() {
        use mcstat_core::history::HistoryConfig;

        use crate::support::contract::{history_contract, history_prune_contract};
        let dir = tempfile::tempdir().expect("temp dir");
        let config = HistoryConfig::from_retention_days(30);
        let store = FileStore::open(dir.path().join("mcstat.redb"))
            .await
            .expect("open")
            .with_history(config.clone());
        history_contract(&store, &config).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(dir.path().join("mcstat.redb"))
            .await
            .expect("open")
            .with_history(config.clone());
        history_prune_contract(&store, &config).await;
    }

    #[tokio::test]
    async fn file_store_passes_the_history_prune_contract() {
        use mcstat_core::history::HistoryConfig;

        use crate::support::contract::history_prune_contract;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(dir.path().join("mcstat.redb"))
            .await
            .expect("open");
        history_prune_contract(&store, &HistoryConfig::default()).await;
    }

    #[tokio::test]
    async fn file_store_keeps_everything_across_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("mcstat.redb");
        let store = FileStore::open(&path).await.expect("open");
        store_contract(&store).await;
        let before = snapshot(&store).await;
        drop(store);
        let store = FileStore::open(&path).await.expect("reopen");
        assert_eq!(snapshot(&store).await, before);
    }

    /// Everything the contract leaves behind, as text.
    async fn snapshot(store: &FileStore) -> String {
        use mcstat_core::Platform;
        use mcstat_core::Timestamp;
        use mcstat_core::history::{HistoryReader, Stream, Tier};
        use mcstat_core::ports::{AuditLog, ChatStore, HistoryStore, WatchStore};

        use crate::support::contract::HISTORY_TARGET;
        use crate::support::samples::{chat, target};
        let mut out = String::new();
        for c in [
            chat(Platform::Telegram, "-1001234567890"),
            chat(Platform::Discord, "112233445566778899"),
        ] {
            out += &format!("{:?}\n", store.chat(&c).await.expect("chat"));
        }
        out += &format!("{:?}\n", store.all_watches().await.expect("watches"));
        let reader = HistoryReader::new(store);
        for t in [HISTORY_TARGET, "out.history.example", "m7.history.example"] {
            let t = target(t);
            let all = (Timestamp(0), Timestamp(u64::MAX));
            let samples = reader.samples(&t, all.0, all.1).await.expect("samples");
            assert!(!samples.is_empty());
            out += &format!("{samples:?}\n");
            for tier in Tier::ROLLUPS {
                let buckets = reader
                    .rollups(&t, tier, all.0, all.1)
                    .await
                    .expect("rollups");
                out += &format!("{buckets:?}\n");
            }
            out += &format!("{:?}\n", store.head(&t).await.expect("head"));
            for stream in Stream::ALL {
                let chunks = store.chunks(&t, stream, 0, u64::MAX).await.expect("chunks");
                out += &format!("{chunks:?}\n");
            }
        }
        let guild = chat(Platform::Discord, "guild:424242");
        out += &format!(
            "{:?}\n",
            store.audit_entries(&guild, 100).await.expect("audit")
        );
        assert!(
            out.contains("mc.example.org") && out.contains("language de"),
            "{out}"
        );
        out
    }
}

#[cfg(feature = "redis")]
mod redis {
    use std::time::Duration;

    use mcstat_adapters::{RedisCache, RedisConfig, RedisStore};
    use mcstat_core::ports::ChatStore;

    use crate::support::contract::{cache_contract, store_contract};
    use crate::support::redis_server::RedisServer;
    use crate::support::samples::{chat, chat_state};

    #[tokio::test]
    async fn redis_store_passes_the_store_contract() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&RedisConfig::new(server.url()))
            .await
            .expect("connect");
        store_contract(&store).await;
    }

    #[tokio::test]
    async fn redis_stores_with_different_prefixes_do_not_see_each_other() {
        let server = RedisServer::start();
        let a = RedisStore::connect(&RedisConfig::new(server.url()).prefix("a:"))
            .await
            .expect("connect");
        let b = RedisStore::connect(&RedisConfig::new(server.url()).prefix("b:"))
            .await
            .expect("connect");
        // Both full contracts on one server: each would fail if it saw the other's data.
        store_contract(&a).await;
        store_contract(&b).await;
    }

    #[tokio::test]
    async fn redis_store_writes_are_visible_to_another_replica() {
        let server = RedisServer::start();
        let config = RedisConfig::new(server.url()).prefix("shared:");
        let one = RedisStore::connect(&config).await.expect("connect");
        let two = RedisStore::connect(&config).await.expect("connect");
        let c = chat(mcstat_core::Platform::Telegram, "5");
        let state = chat_state("a.example", &["a.example"], Some("en"));
        one.put_chat(&c, &state).await.expect("put");
        assert_eq!(two.chat(&c).await.expect("chat"), Some(state));
    }

    #[tokio::test]
    async fn redis_leases_pass_the_lease_contract() {
        use mcstat_adapters::RedisLeases;

        use crate::support::contract::lease_contract;
        let server = RedisServer::start();
        let leases = RedisLeases::new(&RedisConfig::new(server.url())).expect("leases");
        lease_contract(&leases, Duration::from_secs(1), async |d| {
            tokio::time::sleep(d).await;
        })
        .await;
    }

    #[tokio::test]
    async fn redis_store_leases_share_the_prefix_and_are_seen_by_every_replica() {
        use mcstat_adapters::RedisLeases;
        use mcstat_core::ports::LeasePort;

        let server = RedisServer::start();
        let config = RedisConfig::new(server.url()).prefix("p:");
        let store = RedisStore::connect(&config).await.expect("connect");
        let one = store.leases();
        let two = RedisLeases::new(&config).expect("leases");
        let other_prefix =
            RedisLeases::new(&RedisConfig::new(server.url()).prefix("q:")).expect("leases");
        let ttl = Duration::from_secs(60);
        assert!(
            one.try_acquire("poll:all:java:a.example", "r1", ttl)
                .await
                .expect("ok")
        );
        assert!(
            !two.try_acquire("poll:all:java:a.example", "r2", ttl)
                .await
                .expect("ok")
        );
        assert!(
            other_prefix
                .try_acquire("poll:all:java:a.example", "r2", ttl)
                .await
                .expect("ok"),
            "another prefix is another namespace"
        );
        // A TTL beyond Redis' range is capped, not refused; zero is one millisecond.
        assert!(
            one.try_acquire("big", "r1", Duration::MAX)
                .await
                .expect("ok")
        );
        assert!(
            one.try_acquire("zero", "r1", Duration::ZERO)
                .await
                .expect("ok")
        );
    }

    #[tokio::test]
    async fn redis_cache_passes_the_cache_contract() {
        let server = RedisServer::start();
        let cache = RedisCache::new(&RedisConfig::new(server.url())).expect("cache");
        cache_contract(&cache, async |d| tokio::time::sleep(d).await).await;
    }

    #[tokio::test]
    async fn redis_store_cache_shares_the_connection_and_passes_the_contract() {
        let server = RedisServer::start();
        let store = RedisStore::connect(&RedisConfig::new(server.url()).prefix("s:"))
            .await
            .expect("connect");
        cache_contract(&store.cache(), async |d| tokio::time::sleep(d).await).await;
    }

    #[tokio::test]
    async fn redis_cache_zero_ttl_drops_the_entry() {
        use mcstat_core::ports::StatusCache;

        use crate::support::samples::online;
        let server = RedisServer::start();
        let cache = RedisCache::new(&RedisConfig::new(server.url())).expect("cache");
        let v = online("a.example");
        cache
            .put("k", &v, Duration::from_secs(60))
            .await
            .expect("put");
        cache.put("k", &v, Duration::ZERO).await.expect("put");
        assert_eq!(cache.get("k").await.expect("get"), None);
        // A TTL beyond Redis' range is capped, not refused.
        cache.put("k", &v, Duration::MAX).await.expect("put");
        assert_eq!(cache.get("k").await.expect("get"), Some(v));
    }
}
