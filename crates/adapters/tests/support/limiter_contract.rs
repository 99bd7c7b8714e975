//! The contract suite of every [`SendLimiter`]: GCRA per key, as core's
//! `MemoryLimiter` is the reference of. Each backend's test calls
//! [`limiter_contract`] on a fresh limiter.

use std::time::Duration;

use mcstat_core::ports::{Pace, SendLimiter};

/// A pace whose waits are never waited for (concurrency and "never shortens").
const SLOW: Duration = Duration::from_secs(60);

/// `actual` is `expected`, or less by at most `slack` (the time that went by between
/// the calls that set the wait up and the call that read it).
#[track_caller]
fn assert_close(actual: Duration, expected: Duration, slack: Duration, what: &str) {
    assert!(
        actual <= expected && actual + slack >= expected,
        "{what}: waited {actual:?}, expected {expected:?} (less by at most {slack:?})"
    );
}

async fn acquire(limiter: &dyn SendLimiter, key: &str, pace: Pace) -> Duration {
    limiter.acquire(key, pace).await.expect("acquire")
}

/// [`SendLimiter`]'s contract: a burst goes back to back, then one send per interval;
/// a refusal counts nothing and says how long to wait; keys are independent; `block`
/// refuses for its duration and never shortens a longer wait; a zero interval always
/// grants; concurrent callers never get more than the burst.
///
/// `unit` is the interval of the paces that are waited out (real time for Redis:
/// short, but long against `slack`). `slack` is how much time may go by between calls
/// that are checked against each other (zero on a manual clock). `pass(d)` lets `d`
/// go by for the backend (a manual clock advance, or a real sleep).
pub(crate) async fn limiter_contract(
    limiter: &dyn SendLimiter,
    unit: Duration,
    slack: Duration,
    pass: impl AsyncFn(Duration),
) {
    // The burst, then one per interval.
    let pace = Pace {
        interval: unit,
        burst: 3,
    };
    for i in 0..3 {
        assert_eq!(
            acquire(limiter, "k", pace).await,
            Duration::ZERO,
            "send {i} of the burst"
        );
    }
    let wait = acquire(limiter, "k", pace).await;
    assert_close(wait, unit, slack, "after the burst, one interval");

    // A refusal counts nothing: asking again does not push the wait out.
    for _ in 0..5 {
        let again = acquire(limiter, "k", pace).await;
        assert!(
            again > Duration::ZERO && again <= wait,
            "a refusal counts nothing: {again:?} after {wait:?}"
        );
    }

    // Keys are independent.
    for i in 0..3 {
        assert_eq!(
            acquire(limiter, "other", pace).await,
            Duration::ZERO,
            "send {i} of another key's burst"
        );
    }
    assert!(acquire(limiter, "other", pace).await > Duration::ZERO);
    assert!(
        acquire(limiter, "k", pace).await <= wait,
        "another key's sends do not count under this one"
    );

    // Granted once the wait has passed (had the refusals counted, it would not be),
    // then one interval again.
    pass(wait).await;
    assert_eq!(
        acquire(limiter, "k", pace).await,
        Duration::ZERO,
        "granted after the wait"
    );
    let wait = acquire(limiter, "k", pace).await;
    assert_close(wait, unit, slack, "one per interval after the burst");

    // `block` refuses for `d`, a shorter block does not shorten it, and it ends.
    let pace = Pace {
        interval: unit,
        burst: 2,
    };
    limiter.block("b", pace, unit * 3).await.expect("block");
    let wait = acquire(limiter, "b", pace).await;
    assert_close(wait, unit * 3, slack, "a block refuses for its duration");
    limiter.block("b", pace, unit).await.expect("block");
    let shorter = acquire(limiter, "b", pace).await;
    assert_close(shorter, wait, slack, "a shorter block does not shorten it");
    pass(shorter).await;
    assert_eq!(
        acquire(limiter, "b", pace).await,
        Duration::ZERO,
        "granted once the block has passed"
    );

    // A block shorter than the pace's own wait leaves that wait; a longer one
    // lengthens it.
    let slow = Pace {
        interval: SLOW,
        burst: 1,
    };
    assert_eq!(acquire(limiter, "c", slow).await, Duration::ZERO);
    limiter
        .block("c", slow, Duration::from_secs(1))
        .await
        .expect("block");
    assert_close(
        acquire(limiter, "c", slow).await,
        SLOW,
        slack,
        "a block does not shorten the pace's wait",
    );
    limiter.block("c", slow, SLOW * 2).await.expect("block");
    assert_close(
        acquire(limiter, "c", slow).await,
        SLOW * 2,
        slack,
        "a longer block lengthens it",
    );

    // A zero interval always grants.
    let free = Pace {
        interval: Duration::ZERO,
        burst: 1,
    };
    for i in 0..50 {
        assert_eq!(
            acquire(limiter, "free", free).await,
            Duration::ZERO,
            "zero interval, send {i}"
        );
    }

    // Racing callers: exactly the burst is granted, the others wait the interval.
    let pace = Pace {
        interval: SLOW,
        burst: 5,
    };
    let results =
        futures_util::future::join_all((0..20).map(|_| limiter.acquire("race", pace))).await;
    let waits: Vec<Duration> = results.into_iter().map(|r| r.expect("acquire")).collect();
    assert_eq!(
        waits.iter().filter(|w| w.is_zero()).count(),
        5,
        "granted: {waits:?}"
    );
    for w in waits.iter().filter(|w| !w.is_zero()) {
        assert_close(*w, SLOW, slack, "a racing caller past the burst");
    }
}
