//! `MemoryCache`: TTL against a manual clock, the bounds on entries and bytes,
//! recency, concurrent use.

use std::sync::Arc;
use std::time::Duration;

use mcstat_adapters::MemoryCache;
use mcstat_core::ports::{CachedValue, ManualClock, StatusCache};
use mcstat_core::{
    MotdText, OfflineReason, PlayerList, PlayerSource, Protocol, StatusOutcome, StatusReport,
    Target, Timestamp,
};

use crate::util::NOW;

fn target(host: &str) -> Target {
    host.parse().expect("target")
}

fn offline(host: &str) -> CachedValue {
    CachedValue::Status(StatusOutcome::Offline {
        target: target(host),
        reason: OfflineReason::Timeout { after_ms: 5000 },
        taken_at: NOW,
    })
}

fn online_with_icon(host: &str, icon_len: usize) -> CachedValue {
    CachedValue::Status(StatusOutcome::Online(StatusReport {
        target: target(host),
        protocol: Protocol::Java,
        answered_by: Some("203.0.113.7:25565".into()),
        version: Some("1.21.1".into()),
        protocol_version: Some(767),
        players_online: Some(1),
        players_max: Some(20),
        sample: vec!["Alex".into()],
        motd: MotdText {
            legacy: "§aHello".into(),
            bedrock: false,
        },
        icon_png: Some(vec![0x89; icon_len]),
        latency_ms: Some(12),
        game_mode: None,
        map: None,
        mod_count: None,
        taken_at: NOW,
    }))
}

fn cache(max_entries: usize) -> (MemoryCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOW));
    (MemoryCache::new(max_entries, clock.clone()), clock)
}

#[tokio::test]
async fn entries_expire_exactly_at_their_ttl() {
    let (cache, clock) = cache(10);
    let status = online_with_icon("a.example", 16);
    let players = CachedValue::Players(PlayerList {
        target: target("a.example"),
        source: PlayerSource::Query,
        online: Some(1),
        max: Some(2),
        names: vec!["Alex".into()],
        taken_at: NOW,
    });
    cache
        .put("status", &status, Duration::from_secs(60))
        .await
        .expect("put");
    cache
        .put("players", &players, Duration::from_secs(30))
        .await
        .expect("put");

    clock.advance(Duration::from_millis(29_999));
    assert_eq!(cache.get("players").await.expect("get"), Some(players));
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        cache.get("players").await.expect("get"),
        None,
        "30 s TTL passed"
    );
    assert_eq!(
        cache.get("status").await.expect("get"),
        Some(status.clone())
    );
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        cache.get("status").await.expect("get"),
        None,
        "60 s TTL passed"
    );
    assert!(cache.is_empty(), "expired entries are dropped when found");
    assert_eq!(cache.bytes(), 0);
}

#[tokio::test]
async fn put_replaces_value_and_ttl_and_zero_ttl_stores_nothing() {
    let (cache, clock) = cache(10);
    cache
        .put("k", &offline("a.example"), Duration::from_secs(10))
        .await
        .expect("put");
    cache
        .put("k", &offline("b.example"), Duration::from_secs(100))
        .await
        .expect("put");
    assert_eq!(cache.len(), 1);
    clock.advance(Duration::from_secs(50));
    assert_eq!(
        cache.get("k").await.expect("get"),
        Some(offline("b.example"))
    );
    cache
        .put("k", &offline("c.example"), Duration::ZERO)
        .await
        .expect("put");
    assert_eq!(cache.get("k").await.expect("get"), None, "zero TTL removes");
    assert!(cache.is_empty());
}

#[tokio::test]
async fn entry_bound_evicts_the_least_recently_used() {
    let (cache, _clock) = cache(3);
    for key in ["a", "b", "c"] {
        cache
            .put(key, &offline("x.example"), Duration::from_secs(60))
            .await
            .expect("put");
    }
    // Touch "a": "b" is now the least recently used.
    assert!(cache.get("a").await.expect("get").is_some());
    cache
        .put("d", &offline("x.example"), Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.get("b").await.expect("get"), None, "LRU evicted");
    for key in ["a", "c", "d"] {
        assert!(cache.get(key).await.expect("get").is_some(), "{key} kept");
    }
    for i in 0..100 {
        cache
            .put(
                &format!("many{i}"),
                &offline("x.example"),
                Duration::from_secs(60),
            )
            .await
            .expect("put");
        assert!(cache.len() <= 3);
    }
}

#[tokio::test]
async fn expired_entries_go_before_live_ones() {
    let (cache, clock) = cache(2);
    cache
        .put("long", &offline("a.example"), Duration::from_secs(600))
        .await
        .expect("put");
    cache
        .put("short", &offline("b.example"), Duration::from_secs(1))
        .await
        .expect("put");
    // "long" is the least recently used, but "short" has expired.
    clock.advance(Duration::from_secs(2));
    cache
        .put("new", &offline("c.example"), Duration::from_secs(600))
        .await
        .expect("put");
    assert!(cache.get("long").await.expect("get").is_some());
    assert!(cache.get("new").await.expect("get").is_some());
    assert_eq!(cache.len(), 2);
    clock.advance(Duration::from_secs(600));
    assert_eq!(cache.purge_expired(), 2);
    assert!(cache.is_empty());
}

#[tokio::test]
async fn byte_bound_holds_against_large_icons() {
    let clock = Arc::new(ManualClock::new(Timestamp(0)));
    let cache = MemoryCache::new(1000, clock).with_max_bytes(100_000);
    assert_eq!(cache.max_bytes(), 100_000);
    // A value larger than the whole budget is not stored at all.
    cache
        .put(
            "huge",
            &online_with_icon("h.example", 200_000),
            Duration::from_secs(60),
        )
        .await
        .expect("put");
    assert_eq!(cache.get("huge").await.expect("get"), None);
    // 30 KB icons: at most three fit.
    for i in 0..10 {
        cache
            .put(
                &format!("k{i}"),
                &online_with_icon("a.example", 30_000),
                Duration::from_secs(60),
            )
            .await
            .expect("put");
        assert!(cache.bytes() <= 100_000, "{} bytes", cache.bytes());
    }
    assert_eq!(cache.len(), 3);
    assert!(
        cache.get("k9").await.expect("get").is_some(),
        "the newest stays"
    );
}

#[tokio::test]
async fn concurrent_tasks_share_one_cache() {
    let clock = Arc::new(ManualClock::new(NOW));
    let cache = Arc::new(MemoryCache::new(50, clock));
    let mut tasks = Vec::new();
    for t in 0..8 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..200 {
                let key = format!("k{}", (t * 7 + i) % 80);
                if i % 3 == 0 {
                    let _ = cache.get(&key).await.expect("get");
                } else {
                    cache
                        .put(&key, &offline("x.example"), Duration::from_secs(60))
                        .await
                        .expect("put");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert!(cache.len() <= 50);
    assert!(!cache.is_empty());
}
