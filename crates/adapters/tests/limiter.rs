//! The [`SendLimiter`](mcstat_core::ports::SendLimiter) contract
//! (tests/support/limiter_contract.rs) on core's `MemoryLimiter` (a manual clock) and
//! on `RedisLimiter` (feature `redis`, a `redis-server` of the test's own, real time);
//! then Redis only: the key layout and its expiry, a flushed script cache, three
//! replicas sharing one rate, and failing fast while Redis is down.

mod support;

mod memory {
    use std::sync::Arc;
    use std::time::Duration;

    use mcstat_core::Timestamp;
    use mcstat_core::outbox::MemoryLimiter;
    use mcstat_core::ports::{Clock, ManualClock};

    use crate::support::limiter_contract::limiter_contract;

    #[tokio::test]
    async fn memory_limiter_passes_the_limiter_contract() {
        let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
        let limiter = MemoryLimiter::new(clock.clone() as Arc<dyn Clock>);
        limiter_contract(
            &limiter,
            Duration::from_millis(100),
            Duration::ZERO,
            async |d| clock.advance(d),
        )
        .await;
    }
}

#[cfg(feature = "redis")]
mod redis {
    use std::future::Future;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use mcstat_adapters::{RedisConfig, RedisLimiter, RedisStore};
    use mcstat_core::ports::{Pace, SendLimiter, StoreError};
    use tokio::time::Instant;

    use crate::support::limiter_contract::limiter_contract;
    use crate::support::redis_server::RedisServer;

    /// A synchronous connection of the test's own, to look at the keys.
    fn raw(server: &RedisServer) -> redis::Connection {
        redis::Client::open(server.url())
            .expect("client")
            .get_connection()
            .expect("connection")
    }

    #[tokio::test]
    async fn redis_limiter_passes_the_limiter_contract() {
        let server = RedisServer::start();
        let limiter = RedisLimiter::new(&RedisConfig::new(server.url())).expect("limiter");
        // Real time: 100 ms intervals, of which up to 50 ms may go by between the
        // calls a wait is checked across (a loaded machine).
        limiter_contract(
            &limiter,
            Duration::from_millis(100),
            Duration::from_millis(50),
            async |d| tokio::time::sleep(d).await,
        )
        .await;
    }

    #[tokio::test]
    async fn redis_limiter_keys_carry_the_prefix_and_expire_once_their_wait_has_passed() {
        let server = RedisServer::start();
        let config = RedisConfig::new(server.url()).prefix("p:");
        let store = RedisStore::connect(&config).await.expect("connect");
        let limiter = store.limiter();
        let other_prefix =
            RedisLimiter::new(&RedisConfig::new(server.url()).prefix("q:")).expect("limiter");
        let mut con = raw(&server);
        let pace = Pace {
            interval: Duration::from_millis(100),
            burst: 2,
        };

        assert_eq!(
            limiter
                .acquire("telegram:bot", pace)
                .await
                .expect("acquire"),
            Duration::ZERO
        );
        let (secs, micros): (u64, u64) = redis::cmd("TIME").query(&mut con).expect("TIME");
        let now_us = secs * 1_000_000 + micros;
        let tat: u64 = redis::cmd("GET")
            .arg("p:send:telegram:bot")
            .query(&mut con)
            .expect("GET");
        assert!(
            tat > now_us && tat <= now_us + 100_000,
            "the theoretical arrival time (µs, Redis' clock) is one interval ahead: \
             {tat} at {now_us}"
        );
        let ttl: i64 = redis::cmd("PTTL")
            .arg("p:send:telegram:bot")
            .query(&mut con)
            .expect("PTTL");
        assert!(
            (1..=100).contains(&ttl),
            "expires when it has passed: {ttl}"
        );

        // The other prefix has a limit of its own.
        for _ in 0..2 {
            assert_eq!(
                other_prefix
                    .acquire("telegram:bot", pace)
                    .await
                    .expect("acquire"),
                Duration::ZERO
            );
        }
        assert!(
            redis::cmd("EXISTS")
                .arg("q:send:telegram:bot")
                .query::<bool>(&mut con)
                .expect("EXISTS")
        );

        // A block keeps the key until it ends.
        limiter
            .block("telegram:chat:5", pace, Duration::from_millis(300))
            .await
            .expect("block");
        let ttl: i64 = redis::cmd("PTTL")
            .arg("p:send:telegram:chat:5")
            .query(&mut con)
            .expect("PTTL");
        assert!(
            (300..=400).contains(&ttl),
            "a block of 300 ms at pace 100 ms × 2 keeps the key ~400 ms: {ttl}"
        );

        // A refusal writes nothing; a zero interval stores nothing at all.
        let free = Pace {
            interval: Duration::ZERO,
            burst: 1,
        };
        assert_eq!(
            limiter.acquire("free", free).await.expect("acquire"),
            Duration::ZERO
        );
        assert!(
            !redis::cmd("EXISTS")
                .arg("p:send:free")
                .query::<bool>(&mut con)
                .expect("EXISTS")
        );

        tokio::time::sleep(Duration::from_millis(450)).await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*send:*")
            .query(&mut con)
            .expect("KEYS");
        assert!(keys.is_empty(), "idle keys are gone: {keys:?}");
    }

    #[tokio::test]
    async fn redis_limiter_keeps_counting_after_a_script_flush() {
        let server = RedisServer::start();
        let limiter = RedisLimiter::new(&RedisConfig::new(server.url())).expect("limiter");
        let pace = Pace {
            interval: Duration::from_secs(60),
            burst: 2,
        };
        assert_eq!(
            limiter.acquire("k", pace).await.expect("acquire"),
            Duration::ZERO
        );
        let mut con = raw(&server);
        redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query::<()>(&mut con)
            .expect("SCRIPT FLUSH");
        assert_eq!(
            limiter
                .acquire("k", pace)
                .await
                .expect("acquire after a flush"),
            Duration::ZERO
        );
        assert!(limiter.acquire("k", pace).await.expect("acquire") > Duration::from_secs(59));
        limiter
            .block("k", pace, Duration::from_secs(120))
            .await
            .expect("block");
        assert!(limiter.acquire("k", pace).await.expect("acquire") > Duration::from_secs(119));
    }

    /// Three replicas (a connection each), three tasks each, send on one key at
    /// 100/s with a burst of 1 for 2 s, each task as soon as it is granted (else it
    /// sleeps the wait it was told). Every grant is known to have happened on the
    /// server between the request leaving and the answer coming back: any 1 s window
    /// holds at most 101 grants that certainly fall into it, and the run as a whole
    /// is close to the rate.
    ///
    /// The waits are slept on a blocking thread (the OS timer, to ~0.1 ms): tokio's
    /// timer wakes ~1.2 ms late on average (it rounds up to its 1 ms tick), and at a
    /// burst of 1 every late wake is lost for good, which alone costs ~12 % of the
    /// rate at 100/s and left too little room for a loaded machine.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn three_replicas_share_one_rate_per_key() {
        const TASKS_PER_REPLICA: usize = 3;
        let run = Duration::from_secs(2);
        let window = Duration::from_secs(1);
        let pace = Pace::per(100, Duration::from_secs(1), 1);
        let server = RedisServer::start();
        let config = RedisConfig::new(server.url()).prefix("shared:");
        let replicas: Vec<Arc<RedisLimiter>> = (0..3)
            .map(|_| Arc::new(RedisLimiter::new(&config).expect("limiter")))
            .collect();
        for replica in &replicas {
            // Connect (and load the script) before the clock starts.
            replica.acquire("warm-up", pace).await.expect("warm-up");
        }

        // (replica, sent, answered) of every grant.
        let grants: Arc<Mutex<Vec<(usize, Instant, Instant)>>> = Arc::default();
        let start = Instant::now();
        let end = start + run;
        let mut tasks = Vec::new();
        for (r, replica) in replicas.iter().enumerate() {
            for _ in 0..TASKS_PER_REPLICA {
                let replica = Arc::clone(replica);
                let grants = Arc::clone(&grants);
                tasks.push(tokio::spawn(async move {
                    loop {
                        let sent = Instant::now();
                        if sent >= end {
                            break;
                        }
                        let wait = replica
                            .acquire("telegram:bot", pace)
                            .await
                            .expect("acquire");
                        if wait.is_zero() {
                            grants
                                .lock()
                                .expect("grants")
                                .push((r, sent, Instant::now()));
                        } else {
                            tokio::task::spawn_blocking(move || std::thread::sleep(wait))
                                .await
                                .expect("sleep");
                        }
                    }
                }));
            }
        }
        for task in tasks {
            task.await.expect("task");
        }
        let mut grants = grants.lock().expect("grants").clone();
        grants.sort_by_key(|&(_, sent, _)| sent);

        let most_in_a_window = grants
            .iter()
            .map(|&(_, from, _)| {
                grants
                    .iter()
                    .filter(|&&(_, sent, answered)| sent >= from && answered <= from + window)
                    .count()
            })
            .max()
            .unwrap_or(0);
        assert!(
            most_in_a_window <= 101,
            "{most_in_a_window} grants in one second, at most 100 + 1 allowed"
        );
        let last = grants.iter().map(|&(_, _, a)| a).max().unwrap_or(start);
        let span_ms = (last - start).as_millis();
        assert!(
            grants.len() as u128 <= 1 + span_ms / 10,
            "{} grants in {span_ms} ms",
            grants.len()
        );
        assert!(
            grants.len() >= 160,
            "{} grants in 2 s: under 80 % of 100/s",
            grants.len()
        );
        for r in 0..replicas.len() {
            assert!(
                grants.iter().any(|&(g, ..)| g == r),
                "replica {r} was never granted a send"
            );
        }
    }

    const TIMEOUT: Duration = Duration::from_millis(300);
    /// What a failing call may take beyond the command timeout (scheduling).
    const MARGIN: Duration = Duration::from_millis(250);

    async fn unavailable_in_time<T: std::fmt::Debug>(
        what: &str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) {
        let started = Instant::now();
        let result = tokio::time::timeout(TIMEOUT * 10, call)
            .await
            .unwrap_or_else(|_| panic!("{what} hung while Redis is down"));
        let took = started.elapsed();
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{what}: {result:?}"
        );
        assert!(
            took <= TIMEOUT + MARGIN,
            "{what} took {took:?}, the command timeout is {TIMEOUT:?}"
        );
    }

    async fn both_unavailable(limiter: &RedisLimiter, pace: Pace) {
        unavailable_in_time("acquire", limiter.acquire("k", pace)).await;
        unavailable_in_time("block", limiter.block("k", pace, Duration::from_secs(1))).await;
    }

    async fn wait_until_back(limiter: &RedisLimiter, pace: Pace) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while limiter.acquire("back", pace).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "the limiter did not reconnect within 15 s of Redis returning"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_stopped_redis_is_unavailable_within_the_command_timeout() {
        let mut server = RedisServer::start();
        let limiter = RedisLimiter::new(&RedisConfig::new(server.url()).command_timeout(TIMEOUT))
            .expect("limiter");
        let pace = Pace {
            interval: Duration::from_millis(10),
            burst: 1,
        };
        limiter.acquire("k", pace).await.expect("acquire");

        // Frozen: connected, nothing answers (the deadline ends each call).
        server.pause();
        both_unavailable(&limiter, pace).await;
        both_unavailable(&limiter, pace).await;
        server.resume();
        wait_until_back(&limiter, pace).await;

        // Killed: refused (twice: the second round runs while the connection manager
        // is reconnecting).
        server.kill();
        both_unavailable(&limiter, pace).await;
        both_unavailable(&limiter, pace).await;
        // The new server has no scripts loaded: the call sends the script's text.
        server.restart();
        wait_until_back(&limiter, pace).await;
        assert_eq!(
            limiter
                .acquire("after", pace)
                .await
                .expect("acquire after restart"),
            Duration::ZERO
        );
    }
}
