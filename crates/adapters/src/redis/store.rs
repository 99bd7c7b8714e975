//! [`RedisStore`]: chat state, watches, history and audit on Redis.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use mcstat_core::history::{ChunkKey, HistoryConfig, Prepared, SeriesHead, Stream, prepare};
use mcstat_core::ports::{AuditLog, ChatStore, HistoryStore, StoreError, WatchStore};
use mcstat_core::{AuditEntry, ChatRef, ChatState, HistorySample, Target, Timestamp, Watch};
use redis::aio::MultiplexedConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::{Conn, RedisCache, RedisConfig, RedisLeases, RedisLimiter, RedisStoreError};

/// The format version of the data this build writes under the prefix.
const FORMAT: u64 = 2;

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

const APPEND_AUDIT: &str = r"
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%020d', seq) .. ARGV[2])
return seq";

/// The shared store on Redis: implements [`ChatStore`], [`WatchStore`],
/// [`HistoryStore`] and [`AuditLog`] (so it is a
/// [`SessionStore`](mcstat_core::ports::SessionStore)), and the
/// [`OutboxStore`](mcstat_core::ports::OutboxStore) (one Lua script per call on one
/// cluster slot per platform), for several replicas of a bot.
///
/// Semantics match [`FileStore`](crate::FileStore)'s and
/// [`MemoryHistory`](mcstat_core::history::MemoryHistory)'s: history is kept as
/// [`mcstat_core::history`] says (a sample not newer than a target's newest is
/// dropped), appends are atomic per target (compare-and-set on the head, retried),
/// audit entries newest first by time then by insertion order. History expires by
/// itself at the end of its retention, measured against Redis' clock: samples must
/// carry real times (old ones are gone at once).
/// Durability is Redis' own (configure AOF `appendfsync always` for every
/// acknowledged write to survive a Redis crash).
#[derive(Debug, Clone)]
pub struct RedisStore {
    conn: Conn,
    history: Arc<HistoryConfig>,
    /// Set once the format version was checked (at `connect`, or at the first call of
    /// a [`RedisStore::lazy`] store).
    format_checked: Arc<OnceCell<()>>,
    /// The queue of the task that gathers concurrent history appends (started by the
    /// first append; it ends with the last clone of the store).
    appender: Arc<std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<AppendRequest>>>>,
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(Box::new(e)))
}

fn decode<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Read the format key: record [`FORMAT`] when there is none, migrate format 1
/// (history in sorted sets) to 2 (chunked history), refuse newer or unknown ones.
async fn check_format(conn: &Conn, history: &HistoryConfig) -> Result<(), RedisStoreError> {
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
        Ok(1) => {
            let done = migrate_v1_history(conn, history)
                .await
                .map_err(|e| match e {
                    StoreError::Corrupt(detail) => RedisStoreError::Corrupt { detail },
                    other => RedisStoreError::Unavailable(other),
                })?;
            if !done {
                return Err(RedisStoreError::Unavailable(StoreError::Backend(
                    "the history migration from format 1 did not finish".into(),
                )));
            }
            // Another replica may have finished first: it wrote the same.
            conn.query::<()>(redis::cmd("SET").arg(&format_key).arg(FORMAT))
                .await
                .map_err(RedisStoreError::Unavailable)
        }
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
            .get_or_try_init(|| check_format(&store.conn, &store.history))
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
            history: Arc::new(config.history_config().clone()),
            format_checked: Arc::new(OnceCell::new()),
            appender: Arc::default(),
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

    /// Check the data's format version once (see [`RedisStore::lazy`]).
    pub(super) async fn ensure_format(&self) -> Result<(), StoreError> {
        self.format_checked
            .get_or_try_init(|| check_format(&self.conn, &self.history))
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

    /// A [`RedisLimiter`] on the same connection and prefix (the send rate limits
    /// every replica of a bot shares).
    #[must_use]
    pub fn limiter(&self) -> RedisLimiter {
        RedisLimiter::from_conn(self.conn.clone())
    }

    /// The connection (the outbox's scripts run on it).
    pub(super) const fn conn(&self) -> &Conn {
        &self.conn
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

/// The key of `target_key`'s history head: `{p}hist:{<target key>}:head`. Every key
/// of one target carries the target key as its hash tag, so they share one Redis
/// Cluster slot and one script may touch them all.
fn head_key(conn: &Conn, target_key: &str) -> String {
    conn.key(&format!("hist:{{{target_key}}}:head"))
}

/// The key of one chunk: `{p}hist:{<target key>}:<stream>:<index>`.
fn chunk_key(conn: &Conn, target_key: &str, key: ChunkKey) -> String {
    conn.key(&format!(
        "hist:{{{target_key}}}:{}:{}",
        key.stream.name(),
        key.index
    ))
}

/// The stored bytes every seal write of `prepared` needs (`MGET` of those chunks),
/// and the writes' new values: `(key, value, replace)` (`replace`: `SET` the
/// whole value, else `APPEND` it).
fn chunk_values(
    prepared: &Prepared,
    stored: &[Option<Vec<u8>>],
) -> Vec<(ChunkKey, Vec<u8>, bool, Timestamp)> {
    let mut stored = stored.iter();
    prepared
        .writes
        .iter()
        .map(|w| {
            if w.seal {
                let old = stored.next().and_then(Option::as_deref);
                (w.key, w.apply(old), true, w.expires_at)
            } else if w.fresh {
                (w.key, w.apply(None), true, w.expires_at)
            } else {
                (w.key, w.append.clone(), false, w.expires_at)
            }
        })
        .collect()
}

/// The keys of the chunks `prepared` seals (their stored bytes are read first).
fn seal_keys(conn: &Conn, target_key: &str, prepared: &Prepared) -> Vec<String> {
    prepared
        .writes
        .iter()
        .filter(|w| w.seal)
        .map(|w| chunk_key(conn, target_key, w.key))
        .collect()
}

/// Apply one target's prepared batch if its head still is the one it was prepared
/// against: `KEYS[1]` the head, `KEYS[2..]` the chunks; `ARGV[1]` `1` when a head
/// was read (then `ARGV[2]` holds it), `ARGV[3]` the new head, `ARGV[4]` its expiry
/// (ms), then per chunk `s` (set) or `a` (append), the bytes and the expiry. Returns
/// 1, or 0 when the head changed (nothing written).
const APPLY_HISTORY: &str = r"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
for i = 2, #KEYS do
  local j = 5 + (i - 2) * 3
  if ARGV[j] == 's' then
    redis.call('SET', KEYS[i], ARGV[j + 1])
  else
    redis.call('APPEND', KEYS[i], ARGV[j + 1])
  end
  redis.call('PEXPIREAT', KEYS[i], ARGV[j + 2])
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1";

/// The SHA-1 of [`APPLY_HISTORY`] as Redis' `SCRIPT LOAD` answered it: appends call
/// the script by `EVALSHA` (its text is sent again only when Redis answers
/// `NOSCRIPT`: after a restart or a `SCRIPT FLUSH`).
static APPLY_HISTORY_SHA: OnceCell<String> = OnceCell::const_new();

/// Load [`APPLY_HISTORY`] into Redis' script cache; its SHA-1.
async fn load_apply(conn: &Conn) -> Result<String, StoreError> {
    conn.query(redis::cmd("SCRIPT").arg("LOAD").arg(APPLY_HISTORY))
        .await
}

/// Whether `e` is Redis' `NOSCRIPT` (the script cache does not hold the script).
pub(super) fn is_noscript(e: &StoreError) -> bool {
    let source: Option<&(dyn std::error::Error + 'static)> = match e {
        StoreError::Backend(source) | StoreError::Unavailable(source) => Some(source.as_ref()),
        _ => None,
    };
    source
        .and_then(|s| s.downcast_ref::<redis::RedisError>())
        .is_some_and(|r| r.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

/// The [`APPLY_HISTORY`] call of one target.
fn apply_cmd(
    sha: &str,
    conn: &Conn,
    target_key: &str,
    read: Option<&[u8]>,
    prepared: &Prepared,
    stored: &[Option<Vec<u8>>],
) -> redis::Cmd {
    let values = chunk_values(prepared, stored);
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(sha)
        .arg(1 + values.len())
        .arg(head_key(conn, target_key));
    for (key, ..) in &values {
        cmd.arg(chunk_key(conn, target_key, *key));
    }
    cmd.arg(if read.is_some() { "1" } else { "0" })
        .arg(read.unwrap_or_default())
        .arg(prepared.head_bytes.as_slice())
        .arg(prepared.head_expires_at.as_millis());
    for (_, bytes, replace, expires_at) in &values {
        cmd.arg(if *replace { "s" } else { "a" })
            .arg(bytes.as_slice())
            .arg(expires_at.as_millis());
    }
    cmd
}

/// The same writes as plain commands, for a `MULTI`/`EXEC` (the migration).
fn add_writes(
    pipe: &mut redis::Pipeline,
    conn: &Conn,
    target_key: &str,
    prepared: &Prepared,
    stored: &[Option<Vec<u8>>],
) {
    for (key, bytes, replace, expires_at) in chunk_values(prepared, stored) {
        let key = chunk_key(conn, target_key, key);
        pipe.cmd(if replace { "SET" } else { "APPEND" })
            .arg(&key)
            .arg(bytes)
            .ignore();
        pipe.cmd("PEXPIREAT")
            .arg(&key)
            .arg(expires_at.as_millis())
            .ignore();
    }
    let head = head_key(conn, target_key);
    pipe.cmd("SET")
        .arg(&head)
        .arg(prepared.head_bytes.as_slice())
        .ignore();
    pipe.cmd("PEXPIREAT")
        .arg(&head)
        .arg(prepared.head_expires_at.as_millis())
        .ignore();
}

/// How often one target's batch is prepared again after another writer changed its
/// head in between.
const MAX_ATTEMPTS: usize = 8;

/// How long one migration command may take (whole sorted sets are read).
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the migration goes over the remaining format-1 targets.
const MIGRATION_PASSES: usize = 8;

fn prepare_err(target_key: &str, e: &mcstat_core::history::DecodeError) -> StoreError {
    StoreError::Corrupt(format!("history head of {target_key}: {e}"))
}

/// Run `cmd` on a connection of the migration's own.
async fn on<T: redis::FromRedisValue>(
    con: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
) -> Result<T, StoreError> {
    match tokio::time::timeout(MIGRATION_TIMEOUT, cmd.query_async(con)).await {
        Ok(result) => result.map_err(super::map_err),
        Err(_) => Err(StoreError::Unavailable(
            "Redis did not answer a migration command in time".into(),
        )),
    }
}

/// Run `pipe` on a connection of the migration's own.
async fn on_pipe<T: redis::FromRedisValue>(
    con: &mut MultiplexedConnection,
    pipe: &redis::Pipeline,
) -> Result<T, StoreError> {
    match tokio::time::timeout(MIGRATION_TIMEOUT, pipe.query_async(con)).await {
        Ok(result) => result.map_err(super::map_err),
        Err(_) => Err(StoreError::Unavailable(
            "Redis did not answer a migration command in time".into(),
        )),
    }
}

/// Move every target left in format 1's `{p}history-targets` to the chunked
/// history; returns whether none is left. Each target moves in one `MULTI`/`EXEC`
/// watched on its old sorted set and new head: a replica migrating at the same time
/// makes the other's transaction of that target fail, and the next pass finds it done.
async fn migrate_v1_history(conn: &Conn, config: &HistoryConfig) -> Result<bool, StoreError> {
    let targets_key = conn.key("history-targets");
    let mut con =
        match tokio::time::timeout(conn.timeout, conn.client.get_multiplexed_async_connection())
            .await
        {
            Ok(con) => con.map_err(super::map_err)?,
            Err(_) => return Err(conn.timed_out()),
        };
    for _ in 0..MIGRATION_PASSES {
        let targets: Vec<String> = on(&mut con, redis::cmd("SMEMBERS").arg(&targets_key)).await?;
        if targets.is_empty() {
            return Ok(true);
        }
        for target in targets {
            migrate_v1_target(&mut con, conn, config, &target).await?;
        }
    }
    // Replicas of an older build may still be writing format-1 history (a rolling
    // upgrade): do not wait for them (the rollout would wait for this replica to be
    // ready); `prune` moves what they write later.
    let left: u64 = on(&mut con, redis::cmd("SCARD").arg(&targets_key)).await?;
    if left > 0 {
        tracing::warn!(
            left,
            "format-1 history is still being written (an older replica?); prune moves it"
        );
    }
    Ok(true)
}

/// Move one format-1 target (see [`migrate_v1_history`]); `false` when another
/// client changed it meanwhile (nothing written).
async fn migrate_v1_target(
    con: &mut MultiplexedConnection,
    conn: &Conn,
    config: &HistoryConfig,
    target: &str,
) -> Result<bool, StoreError> {
    let old = conn.key(&format!("history:{target}"));
    let head = head_key(conn, target);
    on::<()>(con, redis::cmd("WATCH").arg(&old).arg(&head)).await?;
    let members: Vec<String> = on(con, redis::cmd("ZRANGE").arg(&old).arg(0).arg(-1)).await?;
    let read: Option<Vec<u8>> = on(con, redis::cmd("GET").arg(&head)).await?;
    let samples = members
        .iter()
        .map(|json| decode::<HistorySample>(&format!("format-1 history sample of {target}"), json))
        .collect::<Result<Vec<_>, _>>();
    let samples = match samples {
        Ok(samples) => samples,
        Err(e) => {
            let _ = on::<()>(con, &redis::cmd("UNWATCH")).await;
            return Err(e);
        }
    };
    let prepared = prepare(read.as_deref(), &samples, config).map_err(|e| prepare_err(target, &e));
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            let _ = on::<()>(con, &redis::cmd("UNWATCH")).await;
            return Err(e);
        }
    };
    let seal = seal_keys(conn, target, &prepared);
    let stored: Vec<Option<Vec<u8>>> = if seal.is_empty() {
        Vec::new()
    } else {
        on(con, redis::cmd("MGET").arg(&seal)).await?
    };
    let mut pipe = redis::pipe();
    pipe.atomic();
    if prepared.accepted > 0 {
        add_writes(&mut pipe, conn, target, &prepared, &stored);
    }
    pipe.cmd("DEL").arg(&old).ignore();
    pipe.cmd("SREM")
        .arg(conn.key("history-targets"))
        .arg(target)
        .ignore();
    let done: redis::Value = on_pipe(con, &pipe).await?;
    Ok(!matches!(done, redis::Value::Nil))
}

/// Append `samples` (any targets) with the compare-and-set script, retried per
/// target when another writer changed its head in between.
async fn append_direct(
    conn: &Conn,
    history: &HistoryConfig,
    samples: &[HistorySample],
) -> Result<(), StoreError> {
    let mut by_target: BTreeMap<String, Vec<HistorySample>> = BTreeMap::new();
    for s in samples {
        by_target.entry(s.target.key()).or_default().push(s.clone());
    }
    let mut pending: Vec<(String, Vec<HistorySample>)> = by_target.into_iter().collect();
    let sha = APPLY_HISTORY_SHA
        .get_or_try_init(|| load_apply(conn))
        .await?
        .as_str();
    for _ in 0..MAX_ATTEMPTS {
        if pending.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (target, _) in &pending {
            pipe.cmd("GET").arg(head_key(conn, target));
        }
        let heads: Vec<Option<Vec<u8>>> = conn.query_pipe(&pipe).await?;
        let mut batch = Vec::new();
        for ((target, samples), read) in pending.into_iter().zip(heads) {
            let prepared = prepare(read.as_deref(), &samples, history)
                .map_err(|e| prepare_err(&target, &e))?;
            if prepared.accepted > 0 {
                batch.push((target, samples, read, prepared));
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        // The chunks to seal: their stored bytes (one MGET per target: one slot).
        let mut pipe = redis::pipe();
        let mut sealing = Vec::new();
        for (i, (target, _, _, prepared)) in batch.iter().enumerate() {
            let keys = seal_keys(conn, target, prepared);
            if !keys.is_empty() {
                pipe.cmd("MGET").arg(keys);
                sealing.push(i);
            }
        }
        let mut stored: Vec<Vec<Option<Vec<u8>>>> = vec![Vec::new(); batch.len()];
        if !sealing.is_empty() {
            let values: Vec<Vec<Option<Vec<u8>>>> = conn.query_pipe(&pipe).await?;
            for (i, v) in sealing.into_iter().zip(values) {
                stored[i] = v;
            }
        }
        let mut pipe = redis::pipe();
        for ((target, _, read, prepared), stored) in batch.iter().zip(&stored) {
            pipe.add_command(apply_cmd(
                sha,
                conn,
                target,
                read.as_deref(),
                prepared,
                stored,
            ));
        }
        let applied: Vec<i64> = match conn.query_pipe(&pipe).await {
            Ok(applied) => applied,
            Err(e) if is_noscript(&e) => {
                // A started (or flushed) Redis: load the script and go again (a
                // target applied meanwhile finds its head changed and its samples
                // already taken).
                load_apply(conn).await?;
                pending = batch
                    .into_iter()
                    .map(|(target, samples, ..)| (target, samples))
                    .collect();
                continue;
            }
            Err(e) => return Err(e),
        };
        pending = batch
            .into_iter()
            .zip(applied)
            .filter(|(_, applied)| *applied != 1)
            .map(|((target, samples, ..), _)| (target, samples))
            .collect();
    }
    if pending.is_empty() {
        return Ok(());
    }
    Err(StoreError::Backend(
        format!(
            "the history of {} changed under {MAX_ATTEMPTS} attempts to append to it",
            pending
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into(),
    ))
}

/// One caller's samples waiting for the appender, and where its answer goes.
type AppendRequest = (
    Vec<HistorySample>,
    tokio::sync::oneshot::Sender<Result<(), StoreError>>,
);

/// The most requests the appender gathers into one pipeline.
const MAX_GATHERED: usize = 512;

/// Gathers the appends that arrive while a pipeline is in flight into the next one
/// (polls that finish together share their round trips), answering each caller.
/// Ends when every sender (every clone of the store) is gone.
async fn appender(
    conn: Conn,
    history: Arc<HistoryConfig>,
    mut requests: tokio::sync::mpsc::UnboundedReceiver<AppendRequest>,
) {
    while let Some(first) = requests.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_GATHERED {
            match requests.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        if batch.len() == 1 {
            for (samples, reply) in batch {
                let _ = reply.send(append_direct(&conn, &history, &samples).await);
            }
            continue;
        }
        let all: Vec<HistorySample> = batch
            .iter()
            .flat_map(|(samples, _)| samples.iter().cloned())
            .collect();
        match append_direct(&conn, &history, &all).await {
            Ok(()) => {
                for (_, reply) in batch {
                    let _ = reply.send(Ok(()));
                }
            }
            // One target's unreadable head: each caller learns only of its own.
            Err(StoreError::Corrupt(_)) => {
                for (samples, reply) in batch {
                    let _ = reply.send(append_direct(&conn, &history, &samples).await);
                }
            }
            // Redis away or failing: every caller at once (no waiting out the
            // deadline once per caller).
            Err(e) => {
                for (_, reply) in batch {
                    let _ = reply.send(Err(copy_err(&e)));
                }
            }
        }
    }
}

/// The same error again (its kind, and its message with every cause).
fn copy_err(e: &StoreError) -> StoreError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    match e {
        StoreError::Unavailable(_) => StoreError::Unavailable(text.into()),
        StoreError::Corrupt(detail) => StoreError::Corrupt(detail.clone()),
        _ => StoreError::Backend(text.into()),
    }
}

impl RedisStore {
    /// The appender's queue, starting the appender on the current runtime when there
    /// is none (or the runtime it ran on is gone); `None` outside a runtime.
    fn appender(&self) -> Option<tokio::sync::mpsc::UnboundedSender<AppendRequest>> {
        let mut slot = self
            .appender
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = slot.as_ref()
            && !sender.is_closed()
        {
            return Some(sender.clone());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        runtime.spawn(appender(
            self.conn.clone(),
            Arc::clone(&self.history),
            receiver,
        ));
        *slot = Some(sender.clone());
        Some(sender)
    }
}

#[async_trait]
impl HistoryStore for RedisStore {
    /// Appends that arrive while another is in flight go to Redis together in the
    /// next pipeline (one round trip for the heads, one for the scripts, whatever
    /// the number of polls): the answer comes when the caller's samples are applied.
    async fn append_samples(&self, samples: &[HistorySample]) -> Result<(), StoreError> {
        self.ensure_format().await?;
        if let Some(queue) = self.appender() {
            let (reply, answer) = tokio::sync::oneshot::channel();
            if queue.send((samples.to_vec(), reply)).is_ok()
                && let Ok(result) = answer.await
            {
                return result;
            }
        }
        // No appender to hand it to (no runtime, or it stopped): append here.
        append_direct(&self.conn, &self.history, samples).await
    }

    async fn head(&self, target: &Target) -> Result<Option<Vec<u8>>, StoreError> {
        self.query(redis::cmd("GET").arg(head_key(&self.conn, &target.key())))
            .await
    }

    async fn chunks(
        &self,
        target: &Target,
        stream: Stream,
        first: u64,
        last: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        // Only chunks that have not expired and that a sample so far wrote can
        // exist: clamp the range to them (a caller may ask for `0..=u64::MAX`).
        let target_key = target.key();
        let head: Option<Vec<u8>> = self
            .query(redis::cmd("GET").arg(head_key(&self.conn, &target_key)))
            .await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let newest = head
            .as_deref()
            .and_then(|h| SeriesHead::decode(h).ok())
            .and_then(|h| h.last)
            .map_or(now, |p| p.at.max(now));
        let keep = u64::try_from(self.history.keep(stream).as_millis()).unwrap_or(u64::MAX);
        // One chunk of slack for a clock that differs from Redis'.
        let oldest = stream.chunk_of(now.saturating_sub(keep)).saturating_sub(1);
        let first = first.max(oldest);
        let last = last.min(stream.chunk_of(newest));
        let mut out = Vec::new();
        let mut index = first;
        while index <= last {
            let end = last.min(index.saturating_add(CHUNKS_PER_READ - 1));
            let indexes: Vec<u64> = (index..=end).collect();
            let keys: Vec<String> = indexes
                .iter()
                .map(|&i| chunk_key(&self.conn, &target_key, ChunkKey { stream, index: i }))
                .collect();
            let values: Vec<Option<Vec<u8>>> =
                self.conn.query(redis::cmd("MGET").arg(keys)).await?;
            out.extend(
                indexes
                    .into_iter()
                    .zip(values)
                    .filter_map(|(i, v)| v.map(|v| (i, v))),
            );
            if end == u64::MAX {
                break;
            }
            index = end + 1;
        }
        Ok(out)
    }

    /// Redis deletes every chunk at its [`expires_at`](HistoryConfig::expires_at) and
    /// every head at its series' end (`PEXPIREAT`, set by every write), so there is
    /// nothing to delete here and this returns 0. What expiry does not handle is
    /// format-1 history a replica of an older build wrote after the migration (during
    /// a rolling upgrade): it is moved into the chunks here.
    async fn prune(&self, _now: Timestamp) -> Result<u64, StoreError> {
        self.ensure_format().await?;
        let left: u64 = self
            .conn
            .query(redis::cmd("SCARD").arg(self.conn.key("history-targets")))
            .await?;
        if left > 0 {
            migrate_v1_history(&self.conn, &self.history).await?;
        }
        Ok(0)
    }
}

/// How many chunks one `MGET` of [`HistoryStore::chunks`] reads at most.
const CHUNKS_PER_READ: u64 = 256;

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
