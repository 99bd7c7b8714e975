//! [`RedisLimiter`]: the [`SendLimiter`] on Redis, shared by every replica of a bot.

use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::ports::{Pace, SendLimiter, StoreError};
use tokio::sync::OnceCell;

use super::{Conn, RedisConfig, RedisStoreError};

/// The longest interval or block sent to Redis (ten years: far beyond any platform's
/// `retry_after`, and well inside the exact integers of Lua's doubles).
const MAX_SPAN: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// One GCRA step on Redis' clock, the maths of core's `MemoryLimiter`.
///
/// KEYS[1] = the key's theoretical arrival time (TAT, µs since the epoch by Redis'
/// clock; absent = in the past). ARGV[1] = `'a'` (acquire) or `'b'` (block); ARGV[2] =
/// interval (µs); ARGV[3] = burst (≥ 1); ARGV[4] = the block's length (µs, block only).
///
/// Acquire: grants when `max(tat, now) + interval - interval * burst <= now`, then
/// stores the new TAT and returns 0; otherwise stores nothing and returns the wait
/// (µs). Block: raises the TAT (never lowers it) so that acquire grants again exactly
/// `d` from now; returns 0. The TAT is written with `PX` up to the moment it passes
/// (a key whose TAT has passed means the same as no key), so idle keys disappear.
/// Numbers are written with `%.0f` (Lua's `tostring` keeps only 14 digits).
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[2])
local tolerance = interval * tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
local new_tat
if ARGV[1] == 'a' then
  new_tat = math.max(tat, now) + interval
  local allowed_at = new_tat - tolerance
  if allowed_at > now then
    return allowed_at - now
  end
else
  new_tat = now + tonumber(ARGV[4]) + tolerance - interval
end
if new_tat > tat and new_tat > now then
  local ttl = math.min(math.ceil((new_tat - now) / 1000), 315360000000)
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl)
end
return 0
";

/// The SHA-1 of [`GCRA`] as Redis' `SCRIPT LOAD` answered it: calls run the script by
/// `EVALSHA`, and send its text (`EVAL`) only when Redis answers `NOSCRIPT` (after a
/// restart or a `SCRIPT FLUSH`).
static GCRA_SHA: OnceCell<String> = OnceCell::const_new();

/// Shared send rate limits on Redis (implements [`SendLimiter`]): key
/// `{prefix}send:{key}` holds the key's theoretical arrival time (GCRA, µs by Redis'
/// clock), expiring (`PX`) once that time has passed.
///
/// Every call is one single-key Lua script (so it runs on Redis Cluster too) that
/// reads the time with `TIME` on the server: replicas whose clocks disagree still share
/// one limit. Like the store, every call runs under the command timeout and fails with
/// [`StoreError::Unavailable`] when Redis does not answer; construction does not
/// contact Redis.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// use mcstat_adapters::{RedisConfig, RedisLimiter};
/// use mcstat_core::ports::{Pace, SendLimiter};
///
/// let limiter = RedisLimiter::new(&RedisConfig::new("redis://127.0.0.1:6379/"))?;
/// let pace = Pace::per(30, Duration::from_secs(1), 30);
/// let wait = limiter.acquire("telegram:bot", pace).await?;
/// if !wait.is_zero() {
///     tokio::time::sleep(wait).await; // then ask again
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisLimiter {
    conn: Conn,
}

impl RedisLimiter {
    /// Limits on the Redis in `config`. Does not connect yet.
    ///
    /// # Errors
    /// [`RedisStoreError::InvalidUrl`].
    pub fn new(config: &RedisConfig) -> Result<Self, RedisStoreError> {
        Ok(Self {
            conn: Conn::new(config)?,
        })
    }

    pub(crate) const fn from_conn(conn: Conn) -> Self {
        Self { conn }
    }

    fn key(&self, key: &str) -> String {
        self.conn.key(&format!("send:{key}"))
    }

    /// Run [`GCRA`] on `key`: `EVALSHA`, or `EVAL` when Redis lost the script.
    async fn run(
        &self,
        op: &str,
        key: &str,
        pace: Pace,
        block: Duration,
    ) -> Result<u64, StoreError> {
        let key = self.key(key);
        let args = |cmd: &mut redis::Cmd| {
            cmd.arg(1)
                .arg(&key)
                .arg(op)
                .arg(micros(pace.interval))
                .arg(pace.burst.max(1))
                .arg(micros(block));
        };
        let sha = GCRA_SHA
            .get_or_try_init(|| async {
                self.conn
                    .query::<String>(redis::cmd("SCRIPT").arg("LOAD").arg(GCRA))
                    .await
            })
            .await?;
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(sha);
        args(&mut cmd);
        match self.conn.query::<i64>(&cmd).await {
            Err(e) if is_noscript(&e) => {
                // The script did not run; its text also loads it for the next call.
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(GCRA);
                args(&mut cmd);
                self.conn.query::<i64>(&cmd).await
            }
            other => other,
        }
        .map(|us| u64::try_from(us).unwrap_or(0))
    }
}

/// `d` in whole µs, at most [`MAX_SPAN`].
fn micros(d: Duration) -> u64 {
    u64::try_from(d.min(MAX_SPAN).as_micros()).unwrap_or(u64::MAX)
}

/// Whether `e` is Redis' `NOSCRIPT` (the script cache does not hold the script).
fn is_noscript(e: &StoreError) -> bool {
    let source: Option<&(dyn std::error::Error + 'static)> = match e {
        StoreError::Backend(source) | StoreError::Unavailable(source) => Some(source.as_ref()),
        _ => None,
    };
    source
        .and_then(|s| s.downcast_ref::<redis::RedisError>())
        .is_some_and(|r| r.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

#[async_trait]
impl SendLimiter for RedisLimiter {
    async fn acquire(&self, key: &str, pace: Pace) -> Result<Duration, StoreError> {
        let wait = self.run("a", key, pace, Duration::ZERO).await?;
        Ok(Duration::from_micros(wait))
    }

    async fn block(&self, key: &str, pace: Pace, d: Duration) -> Result<(), StoreError> {
        self.run("b", key, pace, d).await.map(drop)
    }
}
