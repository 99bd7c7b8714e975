//! LookupService: TTLs, rate limits, single-flight, cache failures, retries, policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use mcstat_core::domain::{Freshness, OfflineReason, StatusOutcome};
use mcstat_core::lookup::{
    LimitScope, LookupConfig, LookupError, RateLimit, players_cache_key, status_cache_key,
};
use mcstat_core::policy::{PolicyViolation, TargetPolicy};
use mcstat_core::ports::{
    CachedValue, Clock, MockStatusCache, MockStatusSource, SourceError, StoreError,
};
use mockall::predicate::eq;

use crate::support::*;

fn cached(age_s: u64) -> Freshness {
    Freshness::Cached {
        age_ms: age_s * 1000,
    }
}

/// A source mock answering `times` status calls with `outcome(now)`.
fn status_source(
    times: usize,
    clock: &Arc<mcstat_core::ports::ManualClock>,
    is_online: bool,
) -> MockStatusSource {
    let mut source = MockStatusSource::new();
    let c = Arc::clone(clock);
    source.expect_status().times(times).returning(move |t| {
        Ok(if is_online {
            online(t, c.now())
        } else {
            offline(t, c.now())
        })
    });
    source
}

#[tokio::test]
async fn online_status_is_cached_for_60_s() {
    let clock = clock();
    let t = target("play.example.net");
    let svc = service(
        status_source(2, &clock, true),
        ClockCache::new(&clock),
        &clock,
        unlimited(),
    );
    let u = user("1");
    let first = svc.status(&u, &t).await.expect("answer");
    assert_eq!(first.freshness, Freshness::Live);
    assert!(first.value.is_online());

    clock.advance(Duration::from_secs(59));
    let second = svc.status(&u, &t).await.expect("answer");
    assert_eq!(second.freshness, cached(59));
    assert_eq!(second.value, first.value);

    clock.advance(Duration::from_secs(1));
    let third = svc.status(&u, &t).await.expect("answer");
    assert_eq!(third.freshness, Freshness::Live, "60 s old: expired");
    assert_eq!(third.value.taken_at(), T0.plus(Duration::from_secs(60)));
}

#[tokio::test]
async fn offline_status_is_cached_for_10_s() {
    let clock = clock();
    let t = target("down.example.net");
    let svc = service(
        status_source(2, &clock, false),
        ClockCache::new(&clock),
        &clock,
        unlimited(),
    );
    let u = user("1");
    assert_eq!(
        svc.status(&u, &t).await.expect("answer").freshness,
        Freshness::Live
    );
    clock.advance(Duration::from_secs(9));
    let hit = svc.status(&u, &t).await.expect("answer");
    assert_eq!(hit.freshness, cached(9));
    assert!(!hit.value.is_online());
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        svc.status(&u, &t).await.expect("answer").freshness,
        Freshness::Live
    );
}

#[tokio::test]
async fn players_are_cached_for_30_s_and_offline_players_for_10_s() {
    let clock = clock();
    let up = target("up.example.net");
    let down = target("down.example.net");
    let mut source = MockStatusSource::new();
    let c = Arc::clone(&clock);
    source
        .expect_players()
        .with(eq(up.clone()))
        .times(2)
        .returning(move |t| Ok(Some(player_list(t, 5, c.now()))));
    source
        .expect_players()
        .with(eq(down.clone()))
        .times(2)
        .returning(|_| Ok(None));
    let cache = Arc::new(ClockCache::new(&clock));
    let svc = mcstat_core::lookup::LookupService::new(
        Arc::new(source),
        Arc::clone(&cache) as Arc<dyn mcstat_core::ports::StatusCache>,
        Arc::clone(&clock) as Arc<dyn Clock>,
        unlimited(),
    );
    let u = user("1");
    svc.players(&u, &up).await.expect("answer");
    svc.players(&u, &down).await.expect("answer");
    clock.advance(Duration::from_secs(9));
    let up_hit = svc.players(&u, &up).await.expect("answer");
    assert_eq!(up_hit.freshness, cached(9));
    assert_eq!(up_hit.value.expect("online").names.len(), 5);
    let down_hit = svc.players(&u, &down).await.expect("answer");
    assert_eq!(
        down_hit.freshness,
        cached(9),
        "an offline answer has an age too"
    );
    assert_eq!(down_hit.value, None);
    clock.advance(Duration::from_secs(1));
    // Offline list expired at 10 s, the online one not.
    assert_eq!(
        svc.players(&u, &down).await.expect("answer").freshness,
        Freshness::Live
    );
    clock.advance(Duration::from_secs(19));
    assert_eq!(
        svc.players(&u, &up).await.expect("answer").freshness,
        cached(29)
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        svc.players(&u, &up).await.expect("answer").freshness,
        Freshness::Live
    );
    let puts = cache.puts.lock().expect("lock").clone();
    assert_eq!(
        puts,
        vec![
            (players_cache_key(&up), Duration::from_secs(30)),
            (players_cache_key(&down), Duration::from_secs(10)),
            (players_cache_key(&down), Duration::from_secs(10)),
            (players_cache_key(&up), Duration::from_secs(30)),
        ]
    );
}

#[tokio::test]
async fn configured_ttls_are_passed_to_the_cache() {
    let clock = clock();
    let t = target("play.example.net");
    let mut cache = MockStatusCache::new();
    cache.expect_get().times(1).returning(|_| Ok(None));
    cache
        .expect_put()
        .withf(|key, value, ttl| {
            key == "status:java:play.example.net"
                && matches!(value, CachedValue::Status(StatusOutcome::Online(_)))
                && *ttl == Duration::from_secs(120)
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let config = LookupConfig {
        status_ttl: Duration::from_secs(120),
        ..unlimited()
    };
    let svc = service(status_source(1, &clock, true), cache, &clock, config);
    svc.status(&user("1"), &t).await.expect("answer");
}

#[tokio::test]
async fn a_cache_entry_past_its_ttl_is_a_miss_even_if_the_cache_returns_it() {
    let clock = clock();
    let t = target("play.example.net");
    let old = online(&t, T0);
    clock.advance(Duration::from_secs(61));
    let mut cache = MockStatusCache::new();
    cache
        .expect_get()
        .with(eq(status_cache_key(&t)))
        .times(1)
        .returning(move |_| Ok(Some(CachedValue::Status(old.clone()))));
    cache.expect_put().times(1).returning(|_, _, _| Ok(()));
    let svc = service(status_source(1, &clock, true), cache, &clock, unlimited());
    let answer = svc.status(&user("1"), &t).await.expect("answer");
    assert_eq!(answer.freshness, Freshness::Live);
}

#[tokio::test]
async fn an_offline_players_entry_past_its_ttl_is_a_miss_even_if_the_cache_returns_it() {
    let clock = clock();
    let t = target("down.example.net");
    clock.advance(Duration::from_secs(11));
    let mut cache = MockStatusCache::new();
    cache
        .expect_get()
        .with(eq(players_cache_key(&t)))
        .times(1)
        .returning(|_| Ok(Some(CachedValue::NoPlayerList { taken_at: T0 })));
    cache
        .expect_put()
        .with(
            eq(players_cache_key(&t)),
            eq(CachedValue::NoPlayerList {
                taken_at: T0.plus(Duration::from_secs(11)),
            }),
            eq(Duration::from_secs(10)),
        )
        .times(1)
        .returning(|_, _, _| Ok(()));
    let mut source = MockStatusSource::new();
    source.expect_players().times(1).returning(|_| Ok(None));
    let svc = service(source, cache, &clock, unlimited());
    let answer = svc.players(&user("1"), &t).await.expect("answer");
    assert_eq!(answer.freshness, Freshness::Live);
    assert_eq!(answer.value, None);
}

#[tokio::test]
async fn cache_failures_never_fail_a_lookup() {
    let clock = clock();
    let t = target("play.example.net");
    let mut cache = MockStatusCache::new();
    cache
        .expect_get()
        .times(2)
        .returning(|_| Err(StoreError::Unavailable("redis is down".into())));
    cache
        .expect_put()
        .times(2)
        .returning(|_, _, _| Err(StoreError::Backend("write failed".into())));
    let svc = service(status_source(2, &clock, true), cache, &clock, unlimited());
    for _ in 0..2 {
        let answer = svc.status(&user("1"), &t).await.expect("still answers");
        assert_eq!(answer.freshness, Freshness::Live);
        assert!(answer.value.is_online());
    }
}

#[tokio::test]
async fn per_user_limit_refuses_then_refills() {
    let clock = clock();
    let t = target("play.example.net");
    let config = LookupConfig {
        per_user: Some(RateLimit::new(2, Duration::from_secs(10))),
        ..unlimited()
    };
    // One source call: the rest are cache hits, which still cost the user a token.
    let svc = service(
        status_source(1, &clock, true),
        ClockCache::new(&clock),
        &clock,
        config,
    );
    let alice = user("alice");
    svc.status(&alice, &t).await.expect("first");
    svc.status(&alice, &t).await.expect("second (burst 2)");
    match svc.status(&alice, &t).await {
        Err(LookupError::RateLimited { scope, retry_after }) => {
            assert_eq!(scope, LimitScope::User);
            assert_eq!(retry_after, Duration::from_secs(10));
        }
        other => panic!("expected a user rate limit, got {other:?}"),
    }
    // Another user has their own bucket.
    svc.status(&user("bob"), &t)
        .await
        .expect("bob is not limited");
    clock.advance(Duration::from_secs(5));
    match svc.status(&alice, &t).await {
        Err(LookupError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Duration::from_secs(5));
        }
        other => panic!("expected a user rate limit, got {other:?}"),
    }
    clock.advance(Duration::from_secs(5));
    svc.status(&alice, &t).await.expect("refilled after 10 s");
    assert!(matches!(
        svc.status(&alice, &t).await,
        Err(LookupError::RateLimited { .. })
    ));
}

#[tokio::test]
async fn per_target_limit_counts_source_calls_per_host() {
    let clock = clock();
    let config = LookupConfig {
        per_target: Some(RateLimit::new(2, Duration::from_secs(30))),
        ..unlimited()
    };
    // Three source calls: two ports of one host, one other host.
    let svc = service(
        status_source(3, &clock, true),
        ClockCache::new(&clock),
        &clock,
        config,
    );
    let u = user("1");
    let a1 = target("host.example.net:25565");
    let a2 = target("host.example.net:25566");
    let a3 = target("bedrock:host.example.net");
    svc.status(&u, &a1).await.expect("first call");
    // Cache hits cost the server nothing.
    for _ in 0..5 {
        let hit = svc.status(&u, &a1).await.expect("hit");
        assert!(matches!(hit.freshness, Freshness::Cached { .. }));
    }
    svc.status(&u, &a2).await.expect("second call");
    match svc.status(&u, &a3).await {
        Err(LookupError::RateLimited { scope, retry_after }) => {
            assert_eq!(scope, LimitScope::Target);
            assert_eq!(retry_after, Duration::from_secs(30));
        }
        other => panic!("expected a target rate limit, got {other:?}"),
    }
    svc.status(&u, &target("other.example.net"))
        .await
        .expect("another host has its own bucket");
}

#[tokio::test]
async fn refresh_uses_only_recent_cache_entries() {
    let clock = clock();
    let t = target("play.example.net");
    let svc = service(
        status_source(2, &clock, true),
        ClockCache::new(&clock),
        &clock,
        unlimited(),
    );
    let u = user("1");
    svc.status(&u, &t).await.expect("live");
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        svc.refresh_status(&u, &t).await.expect("hit").freshness,
        cached(10),
        "10 s old is recent enough for a refresh"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(svc.status(&u, &t).await.expect("hit").freshness, cached(11));
    assert_eq!(
        svc.refresh_status(&u, &t).await.expect("live").freshness,
        Freshness::Live
    );
}

#[tokio::test]
async fn a_refresh_refused_by_the_target_limit_gets_the_cached_answer() {
    let clock = clock();
    let t = target("play.example.net");
    let config = LookupConfig {
        per_target: Some(RateLimit::new(1, Duration::from_secs(60))),
        ..unlimited()
    };
    let svc = service(
        status_source(1, &clock, true),
        ClockCache::new(&clock),
        &clock,
        config,
    );
    let u = user("1");
    svc.status(&u, &t).await.expect("live");
    clock.advance(Duration::from_secs(30));
    let answer = svc.refresh_status(&u, &t).await.expect("stale answer");
    assert_eq!(answer.freshness, cached(30));
}

#[tokio::test]
async fn concurrent_identical_lookups_share_one_source_call() {
    let clock = clock();
    let t = target("play.example.net");
    let source = Arc::new(GatedSource::new(&clock));
    let svc = mcstat_core::lookup::LookupService::new(
        Arc::clone(&source) as Arc<dyn mcstat_core::ports::StatusSource>,
        Arc::new(ClockCache::new(&clock)),
        Arc::clone(&clock) as Arc<dyn Clock>,
        LookupConfig::default(),
    );
    let users: Vec<_> = (0..8).map(|i| user(&format!("u{i}"))).collect();
    let lookups = join_all(users.iter().map(|u| svc.status(u, &t)));
    let open = async {
        // Every lookup is parked on the flight by now (they are polled first).
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
        source.gate.add_permits(100);
    };
    let (answers, ()) = tokio::join!(lookups, open);
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    let first = answers[0].as_ref().expect("answer").clone();
    for a in &answers {
        let a = a.as_ref().expect("answer");
        assert_eq!(a.freshness, Freshness::Live);
        assert_eq!(a.value, first.value);
    }
    // The flight is over: the next lookup is a cache hit, a later miss a new call.
    let hit = svc.status(&users[0], &t).await.expect("hit");
    assert!(matches!(hit.freshness, Freshness::Cached { .. }));
    clock.advance(Duration::from_secs(61));
    let again = svc.status(&users[1], &t);
    let open = async { source.gate.add_permits(1) };
    let (again, ()) = tokio::join!(again, open);
    again.expect("answer");
    assert_eq!(source.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn different_kinds_and_targets_do_not_share_a_flight() {
    let clock = clock();
    let source = Arc::new(GatedSource::new(&clock));
    let svc = mcstat_core::lookup::LookupService::new(
        Arc::clone(&source) as Arc<dyn mcstat_core::ports::StatusSource>,
        Arc::new(ClockCache::new(&clock)),
        Arc::clone(&clock) as Arc<dyn Clock>,
        unlimited(),
    );
    let u = user("1");
    let a = target("a.example.net");
    let b = target("b.example.net");
    let open = async { source.gate.add_permits(100) };
    let (r1, r2, r3, ()) = tokio::join!(
        svc.status(&u, &a),
        svc.status(&u, &b),
        svc.players(&u, &a),
        open
    );
    r1.expect("a");
    r2.expect("b");
    r3.expect("players a");
    assert_eq!(source.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_backend_error_is_retried_once_with_backoff() {
    let clock = clock();
    let t = target("play.example.net");
    let calls = Arc::new(AtomicUsize::new(0));
    let mut source = MockStatusSource::new();
    let (c, n) = (Arc::clone(&clock), Arc::clone(&calls));
    source.expect_status().times(2).returning(move |t| {
        if n.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(SourceError::Backend("out of sockets".into()))
        } else {
            Ok(online(t, c.now()))
        }
    });
    let svc = service(source, ClockCache::new(&clock), &clock, unlimited());
    let answer = svc
        .status(&user("1"), &t)
        .await
        .expect("second try answers");
    assert!(answer.value.is_online());
    assert_eq!(
        clock.now(),
        T0.plus(Duration::from_millis(250)),
        "backoff slept on the clock"
    );
}

#[tokio::test]
async fn a_backend_error_that_persists_fails_after_the_retries() {
    let clock = clock();
    let t = target("play.example.net");
    let mut source = MockStatusSource::new();
    source
        .expect_status()
        .times(3)
        .returning(|_| Err(SourceError::Backend("no DNS configuration".into())));
    let config = LookupConfig {
        backend_retries: 2,
        ..unlimited()
    };
    let svc = service(source, ClockCache::new(&clock), &clock, config);
    let err = svc.status(&user("1"), &t).await.expect_err("fails");
    assert!(matches!(err, LookupError::Backend(_)), "{err:?}");
    assert_eq!(
        clock.now(),
        T0.plus(Duration::from_millis(250 + 500)),
        "exponential backoff"
    );
    // A failure is not cached: the next request tries again.
    let mut cache = MockStatusCache::new();
    cache.expect_get().times(1).returning(|_| Ok(None));
    let mut source = MockStatusSource::new();
    source
        .expect_status()
        .times(1)
        .returning(|_| Err(SourceError::Backend("down".into())));
    let svc = service(
        source,
        cache,
        &clock,
        LookupConfig {
            backend_retries: 0,
            ..unlimited()
        },
    );
    assert!(svc.status(&user("1"), &t).await.is_err());
}

#[tokio::test]
async fn policy_errors_and_offline_answers_are_not_retried() {
    let clock = clock();
    let t = target("rebind.example.net");
    let mut source = MockStatusSource::new();
    source.expect_status().times(1).returning(|_| {
        Err(SourceError::Policy(PolicyViolation {
            ip: "127.0.0.1".parse().expect("ip"),
            kind: "loopback",
        }))
    });
    let mut cache = MockStatusCache::new();
    cache.expect_get().returning(|_| Ok(None));
    let svc = service(source, cache, &clock, unlimited());
    let err = svc.status(&user("1"), &t).await.expect_err("refused");
    assert!(matches!(err, LookupError::Policy(_)), "{err:?}");

    let t = target("slow.example.net");
    let mut source = MockStatusSource::new();
    let c = Arc::clone(&clock);
    source.expect_status().times(1).returning(move |t| {
        Ok(StatusOutcome::Offline {
            target: t.clone(),
            reason: OfflineReason::Timeout { after_ms: 5000 },
            taken_at: c.now(),
        })
    });
    let svc = service(source, ClockCache::new(&clock), &clock, unlimited());
    let answer = svc
        .status(&user("1"), &t)
        .await
        .expect("offline is an answer");
    assert!(!answer.value.is_online());
    assert_eq!(clock.now(), T0, "no backoff sleep");
}

#[tokio::test]
async fn ip_literals_are_refused_before_cache_limits_and_source() {
    let clock = clock();
    // Both mocks panic on any call.
    let svc = service(
        MockStatusSource::new(),
        untouched_cache(),
        &clock,
        LookupConfig::default(),
    );
    for literal in [
        "127.0.0.1",
        "10.0.0.7:25565",
        "192.168.1.1",
        "[::1]:25565",
        "169.254.169.254",
        "bedrock:[fd00::1]",
        "[::ffff:127.0.0.1]",
    ] {
        let t = target(literal);
        match svc.status(&user("1"), &t).await {
            Err(LookupError::Policy(v)) => {
                assert_eq!(Some(v.ip), t.address().host.ip(), "{literal}");
            }
            other => panic!("{literal}: expected a policy refusal, got {other:?}"),
        }
        assert!(matches!(
            svc.players(&user("1"), &t).await,
            Err(LookupError::Policy(_))
        ));
    }
    // Many refusals spent no rate limit token: a public address still works.
    let t = target("93.184.215.14");
    let svc = service(
        status_source(1, &clock, true),
        ClockCache::new(&clock),
        &clock,
        LookupConfig {
            per_user: Some(RateLimit::new(1, Duration::from_secs(60))),
            ..LookupConfig::default()
        },
    );
    for _ in 0..5 {
        assert!(svc.status(&user("1"), &target("10.0.0.1")).await.is_err());
    }
    svc.status(&user("1"), &t).await.expect("token unspent");
}

#[tokio::test]
async fn an_allow_list_lets_literals_through() {
    let clock = clock();
    let svc = service(
        status_source(1, &clock, true),
        ClockCache::new(&clock),
        &clock,
        LookupConfig {
            policy: TargetPolicy::with_loopback(),
            ..unlimited()
        },
    );
    svc.status(&user("1"), &target("127.0.0.1:25565"))
        .await
        .expect("loopback allowed");
}

#[tokio::test]
async fn an_abandoned_flight_is_resumed_not_stuck() {
    let clock = clock();
    let t = target("play.example.net");
    let source = Arc::new(GatedSource::new(&clock));
    let svc = mcstat_core::lookup::LookupService::new(
        Arc::clone(&source) as Arc<dyn mcstat_core::ports::StatusSource>,
        Arc::new(ClockCache::new(&clock)),
        Arc::clone(&clock) as Arc<dyn Clock>,
        unlimited(),
    );
    let u = user("1");
    // Poll once (the flight starts and waits on the gate), then give up.
    let mut first = Box::pin(svc.status(&u, &t));
    assert!(futures_util::FutureExt::now_or_never(&mut first).is_none());
    drop(first);
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    source.gate.add_permits(1);
    let answer = svc.status(&u, &t).await.expect("the same flight finishes");
    assert_eq!(answer.freshness, Freshness::Live);
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
}
