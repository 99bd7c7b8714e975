//! Redis backends (feature `redis`): [`RedisStore`] (chat state, watches, history,
//! audit, the outbox), [`RedisCache`] (the status cache), [`RedisLeases`] (the watch
//! scheduler's leases) and [`RedisLimiter`] (the send rate limits), sharing one
//! [`RedisConfig`].
//!
//! Both fail fast when Redis is down: every command runs under a short deadline
//! ([`RedisConfig::command_timeout`], 500 ms by default) and a failure or timeout is
//! [`StoreError::Unavailable`]. The underlying `redis::aio::ConnectionManager`
//! reconnects in the background, so calls work again as soon as Redis is back.
//!
//! Every key starts with a configurable prefix ([`RedisConfig::prefix`], `mcstat:` by
//! default). Layout, format 2 (`{p}` is the prefix; values are JSON unless said):
//!
//! | key | type | holds |
//! |-----|------|-------|
//! | `{p}format` | string | the store's format version |
//! | `{p}chat:{chat key}` | string | [`ChatState`](mcstat_core::ChatState) |
//! | `{p}watches:{chat key}` | hash | target key → [`Watch`](mcstat_core::Watch) |
//! | `{p}watch-chats` | set | chat keys that have watches |
//! | `{p}hist:{<target key>}:head` | string (bytes), with expiry | the target's history head ([`SeriesHead`](mcstat_core::history::SeriesHead) bytes) |
//! | `{p}hist:{<target key>}:<stream>:<index>` | string (bytes), with expiry | one history chunk ([`Stream::name`](mcstat_core::history::Stream::name), chunk number) |
//! | `{p}audit:{scope key}` | sorted set | score = time (ms), member = 20-digit sequence + [`AuditEntry`](mcstat_core::AuditEntry) |
//! | `{p}audit-seq` | string | audit sequence counter |
//! | `{p}cache:v1:{key}` | string, with expiry | [`CachedValue`](mcstat_core::ports::CachedValue) |
//! | `{p}lease:{key}` | string, with expiry | the holder of a [`LeasePort`](mcstat_core::ports::LeasePort) lease ([`RedisLeases`]) |
//! | `{p}send:{key}` | string, with expiry | a [`SendLimiter`](mcstat_core::ports::SendLimiter) key's theoretical arrival time (GCRA, µs since the epoch by Redis' `TIME`; [`RedisLimiter`]), expiring when it has passed |
//! | `{p}outbox:{<platform>}:entries` | hash | entry id → [`OutboxEntry`](mcstat_core::outbox::OutboxEntry) JSON, as pushed |
//! | `{p}outbox:{<platform>}:meta` | hash | entry id → `<priority rank>\|<attempts>\|<not_before ms>\|<chat id>` (what `reschedule` changes) |
//! | `{p}outbox:{<platform>}:due:<rank>` | sorted set | score = due time (ms), member = entry id; one per [`Priority::rank`](mcstat_core::outbox::Priority::rank) |
//! | `{p}outbox:{<platform>}:created:<rank>` | sorted set | score = created (ms), member = entry id (counts and oldest for `stats`) |
//! | `{p}outbox:{<platform>}:by-chat` | sorted set | score 0, member = `<chat id>\|<entry id>` (`drop_chat` reads one chat's range by `ZRANGEBYLEX`) |
//! | `{p}outbox:{<platform>}:seen:<entry id>` | string, with expiry | remembered until (ms): a pushed id is refused until then (`PX` = `remember`) |
//!
//! The outbox ([`OutboxStore`](mcstat_core::ports::OutboxStore)) keys of one
//! platform share the hash tag `{<platform>}` (one Redis Cluster slot), and each
//! outbox call is one Lua script (`EVALSHA`) on them; see the outbox module. They are
//! additive to format 2: builds that predate them never read them, so the format
//! version did not change.
//!
//! History keys of one target share the hash tag `{<target key>}` (one Redis Cluster
//! slot): a batch of samples is prepared in Rust against the head read and applied by
//! one script that first checks the head is unchanged (else it is prepared again).
//! Chunks and heads expire by themselves (`PEXPIREAT`) when their retention ends.
//! Format 1 kept history in sorted sets (`{p}history:{target key}`, score = time,
//! member = a JSON [`HistorySample`](mcstat_core::HistorySample), listed in the set
//! `{p}history-targets`); connecting to format-1 data moves it into chunks first,
//! one target per `MULTI`/`EXEC`, and resumes where an interrupted migration stopped.
//!
//! Multi-key writes run as Lua scripts (`EVAL`), so each is atomic. Cache entries
//! carry their format in the key (`v1`): entries of another format are never read.
//! Within `v1`, an offline players entry gained a `taken_at` key beside its `null`
//! value; builds before and after it read each other's entries (see [`RedisCache`]).

mod cache;
mod lease;
mod limiter;
mod outbox;
mod store;

use std::fmt;
use std::time::Duration;

use mcstat_core::history::HistoryConfig;
use mcstat_core::ports::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Pipeline, RedisError};

pub use cache::RedisCache;
pub use lease::RedisLeases;
pub use limiter::RedisLimiter;
pub use store::RedisStore;

/// Where Redis is and how to use it.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// use mcstat_adapters::{RedisCache, RedisConfig, RedisStore};
///
/// let config = RedisConfig::new("redis://127.0.0.1:6379/")
///     .prefix("mcstat:")
///     .command_timeout(Duration::from_millis(500));
/// let store = RedisStore::connect(&config).await?; // checks the format version
/// let cache: RedisCache = store.cache(); // same connection; or RedisCache::new(&config)?
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    url: String,
    prefix: String,
    command_timeout: Duration,
    history: HistoryConfig,
}

impl fmt::Debug for RedisConfig {
    /// Hides a password in the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match (self.url.split_once("://"), self.url.rsplit_once('@')) {
            (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
            _ => self.url.clone(),
        };
        f.debug_struct("RedisConfig")
            .field("url", &url)
            .field("prefix", &self.prefix)
            .field("command_timeout", &self.command_timeout)
            .field("history", &self.history)
            .finish()
    }
}

impl RedisConfig {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "mcstat:";
    /// The default deadline of one command.
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

    /// A configuration for the Redis at `url` (`redis://[:password@]host:port[/db]`),
    /// with the default prefix and command timeout.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            command_timeout: Self::DEFAULT_COMMAND_TIMEOUT,
            history: HistoryConfig::default(),
        }
    }

    /// Keep history as `history` says (retention of each stream, gap cap, outage
    /// threshold; [`HistoryConfig::default`] unless set).
    #[must_use]
    pub fn history(mut self, history: HistoryConfig) -> Self {
        self.history = history;
        self
    }

    /// How history is kept.
    #[must_use]
    pub const fn history_config(&self) -> &HistoryConfig {
        &self.history
    }

    /// Use `prefix` before every key (e.g. `mcstat:` or `mcstat-staging:`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The deadline of each command (and of each connection attempt).
    #[must_use]
    pub const fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The key prefix.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline of each command.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.command_timeout
    }
}

/// Why a [`RedisStore`] or [`RedisCache`] could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a valid Redis URL.
    #[error("invalid Redis URL")]
    InvalidUrl(#[source] RedisError),
    /// Redis did not answer (down, unreachable, or slower than the command timeout).
    #[error("Redis is unavailable")]
    Unavailable(#[source] StoreError),
    /// The data under the prefix was written by a newer mcstat.
    #[error("the Redis data has format version {found}; this build supports up to {supported}")]
    TooNew {
        /// The stored format version.
        found: u64,
        /// The newest format this build reads.
        supported: u64,
    },
    /// The format version key holds something that is not a known version.
    #[error("the Redis data is unreadable: {detail}")]
    Corrupt {
        /// What is wrong.
        detail: String,
    },
}

/// A connection manager with a deadline on every command and the key prefix.
#[derive(Clone)]
pub(crate) struct Conn {
    /// For a connection of its own (the format migration's `WATCH`).
    client: redis::Client,
    manager: ConnectionManager,
    timeout: Duration,
    prefix: String,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// A lazy connection: nothing is contacted until the first command.
    fn new(config: &RedisConfig) -> Result<Self, RedisStoreError> {
        let client =
            redis::Client::open(config.url.as_str()).map_err(RedisStoreError::InvalidUrl)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.command_timeout))
            .set_response_timeout(Some(config.command_timeout))
            // Reconnect attempts are cheap and quick; callers never wait on them for
            // longer than the command timeout.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
            .map_err(RedisStoreError::InvalidUrl)?;
        Ok(Self {
            client,
            manager,
            timeout: config.command_timeout,
            prefix: config.prefix.clone(),
        })
    }

    /// `prefix + rest`.
    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Run one command under the deadline.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut manager = self.manager.clone();
        match tokio::time::timeout(self.timeout, cmd.query_async(&mut manager)).await {
            Ok(result) => result.map_err(map_err),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// Run a pipeline under the deadline.
    async fn query_pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, StoreError> {
        let mut manager = self.manager.clone();
        match tokio::time::timeout(self.timeout, pipe.query_async(&mut manager)).await {
            Ok(result) => result.map_err(map_err),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> StoreError {
        StoreError::Unavailable(
            format!(
                "Redis did not answer within {} ms",
                self.timeout.as_millis()
            )
            .into(),
        )
    }
}

/// Connection-level failures are `Unavailable`; anything else is `Backend`.
fn map_err(e: RedisError) -> StoreError {
    if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
    {
        StoreError::Unavailable(Box::new(e))
    } else {
        StoreError::Backend(Box::new(e))
    }
}
