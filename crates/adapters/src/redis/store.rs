//! [`RedisStore`]: chat state, watches, history and audit on Redis.

use std::sync::Arc;

use async_trait::async_trait;
use mcstat_core::ports::{AuditLog, ChatStore, HistoryStore, StoreError, WatchStore};
use mcstat_core::{AuditEntry, ChatRef, ChatState, HistorySample, Target, Timestamp, Watch};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::{Conn, RedisCache, RedisConfig, RedisLeases, RedisStoreError};

/// The format version of the data this build writes under the prefix.
const FORMAT: u64 = 1;

/// Width of the sequence number before an audit entry's JSON.
const SEQ_WIDTH: usize = 20;

const ADD_WATCH: &str = r"
local new = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return new";

const REMOVE_WATCH: &str = r"
local n = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n";

const APPEND_SAMPLE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1";

const PRUNE: &str = r"
local n = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n";

const APPEND_AUDIT: &str = r"
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%020d', seq) .. ARGV[2])
return seq";

/// The shared store on Redis: implements [`ChatStore`], [`WatchStore`],
/// [`HistoryStore`] and [`AuditLog`] (so it is a
/// [`SessionStore`](mcstat_core::ports::SessionStore)), for several replicas of a bot.
///
/// Semantics match [`FileStore`](crate::FileStore)'s: one history sample per
/// (target, millisecond), audit entries newest first by time then by insertion order.
/// Durability is Redis' own (configure AOF `appendfsync always` for every
/// acknowledged write to survive a Redis crash).
#[derive(Debug, Clone)]
pub struct RedisStore {
    conn: Conn,
    /// Set once the format version was checked (at `connect`, or at the first call of
    /// a [`RedisStore::lazy`] store).
    format_checked: Arc<OnceCell<()>>,
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(Box::new(e)))
}

fn decode<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Read the format key; record [`FORMAT`] when there is none.
async fn check_format(conn: &Conn) -> Result<(), RedisStoreError> {
    let format_key = conn.key("format");
    let found: Option<String> = conn
        .query(redis::cmd("GET").arg(&format_key))
        .await
        .map_err(RedisStoreError::Unavailable)?;
    let Some(text) = found else {
        return conn
            .query::<()>(redis::cmd("SET").arg(&format_key).arg(FORMAT).arg("NX"))
            .await
            .map_err(RedisStoreError::Unavailable);
    };
    match text.parse::<u64>() {
        Ok(FORMAT) => Ok(()),
        Ok(found) if found > FORMAT => Err(RedisStoreError::TooNew {
            found,
            supported: FORMAT,
        }),
        _ => Err(RedisStoreError::Corrupt {
            detail: format!("unknown format version {text:?} in {format_key}"),
        }),
    }
}

fn eval(script: &str, keys: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(keys.len()).arg(keys);
    cmd
}

impl RedisStore {
    /// The format version this build writes.
    pub const FORMAT_VERSION: u64 = FORMAT;

    /// Connect to the Redis in `config` and check (or, on an empty prefix, record) the
    /// data's format version.
    ///
    /// # Errors
    /// [`RedisStoreError`]: `InvalidUrl`, `Unavailable` (Redis did not answer within
    /// the command timeout), `TooNew`, `Corrupt`.
    pub async fn connect(config: &RedisConfig) -> Result<Self, RedisStoreError> {
        let store = Self::lazy(config)?;
        store
            .format_checked
            .get_or_try_init(|| check_format(&store.conn))
            .await?;
        Ok(store)
    }

    /// A store that does not contact Redis yet, so a service can start while Redis is
    /// down: the format version is checked by the first call that reaches Redis, and
    /// until that check passes every call fails (`Unavailable` while Redis is
    /// unreachable, `Corrupt` for a newer or unknown format).
    ///
    /// # Errors
    /// [`RedisStoreError::InvalidUrl`].
    pub fn lazy(config: &RedisConfig) -> Result<Self, RedisStoreError> {
        Ok(Self {
            conn: Conn::new(config)?,
            format_checked: Arc::new(OnceCell::new()),
        })
    }

    /// Check the format once, then run `cmd`.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        self.ensure_format().await?;
        self.conn.query(cmd).await
    }

    /// Check the format once, then run `pipe`.
    async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        self.ensure_format().await?;
        self.conn.query_pipe(pipe).await
    }

    async fn ensure_format(&self) -> Result<(), StoreError> {
        self.format_checked
            .get_or_try_init(|| check_format(&self.conn))
            .await
            .map(drop)
            .map_err(|e| match e {
                RedisStoreError::Unavailable(e) => e,
                other => StoreError::Corrupt(other.to_string()),
            })
    }

    /// A [`RedisCache`] on the same connection and prefix.
    #[must_use]
    pub fn cache(&self) -> RedisCache {
        RedisCache::from_conn(self.conn.clone())
    }

    /// [`RedisLeases`] on the same connection and prefix (for the watch scheduler).
    #[must_use]
    pub fn leases(&self) -> RedisLeases {
        RedisLeases::from_conn(self.conn.clone())
    }

    fn watches_key(&self, chat_key: &str) -> String {
        self.conn.key(&format!("watches:{chat_key}"))
    }
}

#[async_trait]
impl ChatStore for RedisStore {
    async fn chat(&self, chat: &ChatRef) -> Result<Option<ChatState>, StoreError> {
        let key = self.conn.key(&format!("chat:{}", chat.key()));
        let json: Option<String> = self.query(redis::cmd("GET").arg(&key)).await?;
        json.map(|json| decode(&format!("chat state of {chat}"), &json))
            .transpose()
    }

    async fn put_chat(&self, chat: &ChatRef, state: &ChatState) -> Result<(), StoreError> {
        let key = self.conn.key(&format!("chat:{}", chat.key()));
        self.conn
            .query(redis::cmd("SET").arg(key).arg(encode(state)?))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = self.query(&redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Backend(
                format!("unexpected PING reply {pong:?}").into(),
            ))
        }
    }
}

#[async_trait]
impl WatchStore for RedisStore {
    async fn add_watch(&self, watch: &Watch) -> Result<bool, StoreError> {
        let chat = watch.chat.key();
        let new: i64 = self
            .conn
            .query(
                eval(
                    ADD_WATCH,
                    &[&self.watches_key(&chat), &self.conn.key("watch-chats")],
                )
                .arg(watch.target.key())
                .arg(encode(watch)?)
                .arg(&chat),
            )
            .await?;
        Ok(new == 1)
    }

    async fn remove_watch(&self, chat: &ChatRef, target: &Target) -> Result<bool, StoreError> {
        let chat = chat.key();
        let removed: i64 = self
            .conn
            .query(
                eval(
                    REMOVE_WATCH,
                    &[&self.watches_key(&chat), &self.conn.key("watch-chats")],
                )
                .arg(target.key())
                .arg(&chat),
            )
            .await?;
        Ok(removed == 1)
    }

    async fn watches_of(&self, chat: &ChatRef) -> Result<Vec<Watch>, StoreError> {
        let values: Vec<String> = self
            .conn
            .query(redis::cmd("HVALS").arg(self.watches_key(&chat.key())))
            .await?;
        let mut watches = values
            .iter()
            .map(|json| decode::<Watch>("watch", json))
            .collect::<Result<Vec<_>, _>>()?;
        watches.sort_by_cached_key(|w| w.target.key());
        Ok(watches)
    }

    async fn all_watches(&self) -> Result<Vec<Watch>, StoreError> {
        let chats: Vec<String> = self
            .conn
            .query(redis::cmd("SMEMBERS").arg(self.conn.key("watch-chats")))
            .await?;
        if chats.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for chat in &chats {
            pipe.cmd("HVALS").arg(self.watches_key(chat));
        }
        let values: Vec<Vec<String>> = self.query_pipe(&pipe).await?;
        let mut watches = values
            .iter()
            .flatten()
            .map(|json| decode::<Watch>("watch", json))
            .collect::<Result<Vec<_>, _>>()?;
        watches.sort_by_cached_key(|w| (w.target.key(), w.chat.key()));
        Ok(watches)
    }
}

#[async_trait]
impl HistoryStore for RedisStore {
    async fn append_sample(&self, sample: &HistorySample) -> Result<(), StoreError> {
        let target = sample.target.key();
        let _: i64 = self
            .conn
            .query(
                eval(
                    APPEND_SAMPLE,
                    &[
                        &self.conn.key(&format!("history:{target}")),
                        &self.conn.key("history-targets"),
                    ],
                )
                .arg(sample.at.as_millis())
                .arg(encode(sample)?)
                .arg(&target),
            )
            .await?;
        Ok(())
    }

    async fn samples(
        &self,
        target: &Target,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<HistorySample>, StoreError> {
        if since >= until {
            return Ok(Vec::new());
        }
        let values: Vec<String> = self
            .conn
            .query(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(self.conn.key(&format!("history:{}", target.key())))
                    .arg(since.as_millis())
                    .arg(format!("({}", until.as_millis())),
            )
            .await?;
        values
            .iter()
            .map(|json| decode("history sample", json))
            .collect()
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let targets_key = self.conn.key("history-targets");
        let targets: Vec<String> = self
            .conn
            .query(redis::cmd("SMEMBERS").arg(&targets_key))
            .await?;
        let mut deleted = 0;
        for target in targets {
            let n: u64 = self
                .conn
                .query(
                    eval(
                        PRUNE,
                        &[&self.conn.key(&format!("history:{target}")), &targets_key],
                    )
                    .arg(before.as_millis())
                    .arg(&target),
                )
                .await?;
            deleted += n;
        }
        Ok(deleted)
    }
}

#[async_trait]
impl AuditLog for RedisStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let _: i64 = self
            .conn
            .query(
                eval(
                    APPEND_AUDIT,
                    &[
                        &self.conn.key(&format!("audit:{}", entry.scope.key())),
                        &self.conn.key("audit-seq"),
                    ],
                )
                .arg(entry.at.as_millis())
                .arg(encode(entry)?),
            )
            .await?;
        Ok(())
    }

    async fn audit_entries(
        &self,
        scope: &ChatRef,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let values: Vec<String> = self
            .conn
            .query(
                redis::cmd("ZREVRANGEBYSCORE")
                    .arg(self.conn.key(&format!("audit:{}", scope.key())))
                    .arg("+inf")
                    .arg("-inf")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(i64::try_from(limit).unwrap_or(i64::MAX)),
            )
            .await?;
        values
            .iter()
            .map(|member| {
                let json = member.get(SEQ_WIDTH..).ok_or_else(|| {
                    StoreError::Corrupt(format!("audit member too short: {member:?}"))
                })?;
                decode("audit entry", json)
            })
            .collect()
    }
}
