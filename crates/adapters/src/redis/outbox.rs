//! The outbox on Redis: [`OutboxStore`] for [`RedisStore`].
//!
//! Every key of one platform's outbox carries the platform as its hash tag
//! (`{p}outbox:{telegram}:…`), so all of them live in one Redis Cluster slot and
//! each call is **one Lua script** on that slot (`EVALSHA`, atomic; a call with
//! entries of several platforms runs one script per platform). The keys are listed
//! in the layout table of the module docs of `redis`; in short, per platform:
//! a hash of entry JSON, a hash of each entry's mutable state (`meta`:
//! `<rank>|<attempts>|<not_before ms>|<chat id>`), a due-time sorted set and a
//! creation-time sorted set per priority, one lexically sorted set of
//! `<chat id>|<entry id>` for `drop_chat`, and one `seen:<id>` string per pushed id.
//!
//! Times are the callers' `now` arguments, never Redis' clock: `seen:<id>` holds the
//! time its id is remembered until and `push` compares it with `now`; its `PX`
//! expiry (the `remember` duration) only keeps Redis from holding ids forever.
//! Scores are milliseconds, exact up to 2^53 (the year 287 396; later times are
//! clamped to it).
//!
//! An entry's JSON is written once by `push`; `reschedule` changes only `meta`, and
//! `claim` returns the JSON with `meta`'s `attempts` and `not_before`. An entry
//! whose JSON cannot be read (over
//! [`MAX_OUTBOX_ENTRY_BYTES`](crate::MAX_OUTBOX_ENTRY_BYTES), not an
//! [`OutboxEntry`], naming another id) is logged and skipped by `claim`, due again
//! after the claim's TTL like the entries returned: left for a replica of a build
//! that can read it, never lost, never blocking the queue.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::outbox::{OutboxEntry, OutboxStats, Priority};
use mcstat_core::ports::{OutboxStore, StoreError};
use mcstat_core::{ChatRef, Platform, Timestamp};
use tokio::sync::OnceCell;

use super::store::is_noscript;
use super::{Conn, RedisStore};
use crate::outbox_json;

/// The largest score: milliseconds are exact in a double up to 2^53.
const MAX_SCORE: u64 = 1 << 53;

/// The longest `PX` given to a `seen:<id>` key (Redis refuses expiry times that
/// overflow its clock).
const MAX_REMEMBER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How many keys [`keys`] lists before the `seen:<id>` keys of a push.
const FIXED_KEYS: usize = 9;

/// Add each entry not pending and not remembered at `now`.
/// KEYS: entries, meta, due:0..2, created:0..2, by-chat, then `seen:<id>` per entry.
/// `ARGV[1]` now, `ARGV[2]` remembered until, `ARGV[3]` PX, then per entry: id, rank,
/// attempts, not_before (exact), due score, created score, chat id, JSON.
/// Returns how many were added.
const PUSH: &str = r"
local now = tonumber(ARGV[1])
local added = 0
for i = 0, #KEYS - 10 do
  local j = 4 + i * 8
  local id = ARGV[j]
  if redis.call('HEXISTS', KEYS[1], id) == 0 then
    local until_ = tonumber(redis.call('GET', KEYS[10 + i]) or '')
    if not until_ or until_ <= now then
      local rank = tonumber(ARGV[j + 1])
      redis.call('SET', KEYS[10 + i], ARGV[2], 'PX', ARGV[3])
      redis.call('HSET', KEYS[1], id, ARGV[j + 7])
      redis.call('HSET', KEYS[2], id,
        ARGV[j + 1] .. '|' .. ARGV[j + 2] .. '|' .. ARGV[j + 3] .. '|' .. ARGV[j + 6])
      redis.call('ZADD', KEYS[3 + rank], ARGV[j + 4], id)
      redis.call('ZADD', KEYS[6 + rank], ARGV[j + 5], id)
      redis.call('ZADD', KEYS[9], 0, ARGV[j + 6] .. '|' .. id)
      added = added + 1
    end
  end
end
return added";

/// Claim up to `ARGV[2]` entries due at `ARGV[1]` (a score), most urgent priority
/// first, earliest due first; each is due again at `ARGV[3]`.
/// KEYS: entries, meta, due:0..2. Returns `{id, json, meta or false}` per entry.
const CLAIM: &str = r"
local left = tonumber(ARGV[2])
local out = {}
for r = 0, 2 do
  if left <= 0 then break end
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3 + r], '-inf', ARGV[1], 'LIMIT', 0, left)
  for _, id in ipairs(ids) do
    local json = redis.call('HGET', KEYS[1], id)
    if json then
      redis.call('ZADD', KEYS[3 + r], ARGV[3], id)
      out[#out + 1] = {id, json, redis.call('HGET', KEYS[2], id)}
    else
      redis.call('ZREM', KEYS[3 + r], id)
    end
  end
  left = left - #ids
end
return out";

/// Claim up to `ARGV[3]` entries of the chat `ARGV[1]` (its id) due at `ARGV[2]` (a
/// score), most urgent priority first, earliest due first, then by id; each is due
/// again at `ARGV[4]`. KEYS as `remove_fn!`. Returns `{id, json, meta}` per entry.
const CLAIM_CHAT: &str = r"
local prefix = ARGV[1] .. '|'
local members = redis.call('ZRANGEBYLEX', KEYS[9], '[' .. prefix, '(' .. ARGV[1] .. '}')
local now = tonumber(ARGV[2])
local due = {}
for _, m in ipairs(members) do
  local id = string.sub(m, #prefix + 1)
  local meta = redis.call('HGET', KEYS[2], id)
  local rank = meta and tonumber(string.match(meta, '^([012])|'))
  if rank then
    local score = tonumber(redis.call('ZSCORE', KEYS[3 + rank], id) or '')
    if score and score <= now then
      due[#due + 1] = {rank, score, id}
    end
  end
end
table.sort(due, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[3] < b[3]
end)
local out = {}
for i = 1, math.min(#due, tonumber(ARGV[3])) do
  local r, id = due[i][1], due[i][3]
  local json = redis.call('HGET', KEYS[1], id)
  if json then
    redis.call('ZADD', KEYS[3 + r], ARGV[4], id)
    out[#out + 1] = {id, json, redis.call('HGET', KEYS[2], id)}
  end
end
return out";

/// A Lua function `remove(id, meta)`: remove an entry and every index row of it
/// (`meta`: its meta value, or false). KEYS: entries, meta, due:0..2, created:0..2,
/// by-chat. Returns 1 if it was pending. (A macro: `concat!` takes literals only.)
macro_rules! remove_fn {
    () => {
        r"
local function remove(id, meta)
  local n = redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  for r = 0, 2 do
    redis.call('ZREM', KEYS[3 + r], id)
    redis.call('ZREM', KEYS[6 + r], id)
  end
  if meta then
    local chat = string.match(meta, '^%d+|%d+|%d+|(.+)$')
    if chat then redis.call('ZREM', KEYS[9], chat .. '|' .. id) end
  end
  return n
end
"
    };
}

/// Remove the entries ARGV (ids). KEYS as `remove_fn!`. Returns how many were
/// pending.
const COMPLETE: &str = concat!(
    remove_fn!(),
    r"
local n = 0
for _, id in ipairs(ARGV) do
  n = n + remove(id, redis.call('HGET', KEYS[2], id))
end
return n"
);

/// Remove every entry of the chat `ARGV[1]` (its id). KEYS as `remove_fn!`. Returns
/// how many were pending.
const DROP_CHAT: &str = concat!(
    remove_fn!(),
    r"
local prefix = ARGV[1] .. '|'
local members = redis.call('ZRANGEBYLEX', KEYS[9], '[' .. prefix, '(' .. ARGV[1] .. '}')
local n = 0
for _, m in ipairs(members) do
  local id = string.sub(m, #prefix + 1)
  n = n + remove(id, redis.call('HGET', KEYS[2], id))
  redis.call('ZREM', KEYS[9], m)
end
return n"
);

/// Store new attempts and not_before of pending entries and make them due.
/// KEYS: entries, meta, due:0..2. ARGV per entry: id, attempts, not_before (exact),
/// due score.
const RESCHEDULE: &str = r"
for i = 1, #ARGV, 4 do
  local id = ARGV[i]
  local meta = redis.call('HGET', KEYS[2], id)
  if meta and redis.call('HEXISTS', KEYS[1], id) == 1 then
    local rank, chat = string.match(meta, '^([012])|%d+|%d+|(.+)$')
    if rank then
      redis.call('HSET', KEYS[2], id,
        rank .. '|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. chat)
      redis.call('ZADD', KEYS[3 + tonumber(rank)], ARGV[i + 3], id)
    end
  end
end
return 0";

/// A Lua script called by `EVALSHA`, loaded (`SCRIPT LOAD`) on first use and again
/// when Redis answers `NOSCRIPT` (after a restart or a `SCRIPT FLUSH`).
struct Script {
    text: &'static str,
    sha: OnceCell<String>,
}

impl Script {
    const fn new(text: &'static str) -> Self {
        Self {
            text,
            sha: OnceCell::const_new(),
        }
    }

    async fn load(&self, conn: &Conn) -> Result<String, StoreError> {
        conn.query(redis::cmd("SCRIPT").arg("LOAD").arg(self.text))
            .await
    }

    /// `EVALSHA <sha> <keys>`, for the caller to add its arguments to.
    async fn cmd(&self, conn: &Conn, keys: &[String]) -> Result<redis::Cmd, StoreError> {
        let sha = self.sha.get_or_try_init(|| self.load(conn)).await?;
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(sha).arg(keys.len()).arg(keys);
        Ok(cmd)
    }

    /// Run `cmd` (made by [`Script::cmd`]), loading the script again when Redis lost
    /// it.
    async fn run<T: redis::FromRedisValue>(
        &self,
        conn: &Conn,
        cmd: &redis::Cmd,
    ) -> Result<T, StoreError> {
        match conn.query(cmd).await {
            Err(e) if is_noscript(&e) => {
                self.load(conn).await?;
                conn.query(cmd).await
            }
            result => result,
        }
    }
}

static PUSH_SCRIPT: Script = Script::new(PUSH);
static CLAIM_SCRIPT: Script = Script::new(CLAIM);
static CLAIM_CHAT_SCRIPT: Script = Script::new(CLAIM_CHAT);
static RESCHEDULE_SCRIPT: Script = Script::new(RESCHEDULE);
static COMPLETE_SCRIPT: Script = Script::new(COMPLETE);
static DROP_CHAT_SCRIPT: Script = Script::new(DROP_CHAT);

/// `{p}outbox:{<platform>}:` — the start of every key of the platform's outbox.
fn base(conn: &Conn, platform: Platform) -> String {
    conn.key(&format!("outbox:{{{}}}:", platform.as_str()))
}

/// The fixed keys of a platform's outbox, in the order the scripts take them:
/// entries, meta, due:0..2, created:0..2, by-chat.
fn keys(conn: &Conn, platform: Platform) -> Vec<String> {
    let base = base(conn, platform);
    let mut keys = Vec::with_capacity(FIXED_KEYS);
    keys.push(format!("{base}entries"));
    keys.push(format!("{base}meta"));
    for kind in ["due", "created"] {
        for priority in Priority::ALL {
            keys.push(format!("{base}{kind}:{}", priority.rank()));
        }
    }
    keys.push(format!("{base}by-chat"));
    keys
}

/// The `seen:<id>` key of a pushed id.
fn seen_key(conn: &Conn, platform: Platform, id: &str) -> String {
    format!("{}seen:{id}", base(conn, platform))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What the claim scripts return per entry: id, JSON, meta.
type ClaimedRow = (String, Vec<u8>, Option<String>);

/// Claimed rows as entries, with the meta's attempts and not_before over the pushed
/// ones (an unreadable entry is logged and skipped).
fn decode_claimed(platform: Platform, rows: Vec<ClaimedRow>) -> Vec<OutboxEntry> {
    let platform_name = platform.as_str();
    rows.into_iter()
        .filter_map(|(id, json, meta)| {
            let mut entry = outbox_json::decode(platform_name, &id, &json)?;
            match meta.as_deref().and_then(parse_meta) {
                Some((attempts, not_before)) => {
                    entry.attempts = attempts;
                    entry.not_before = Timestamp(not_before);
                }
                None => tracing::warn!(
                    platform = platform_name,
                    id,
                    "outbox entry without readable state; its pushed attempts and not_before are used"
                ),
            }
            Some(entry)
        })
        .collect()
}

/// A time as a score.
fn score(t: u64) -> u64 {
    t.min(MAX_SCORE)
}

/// `attempts` and `not_before` from a `meta` value.
fn parse_meta(meta: &str) -> Option<(u32, u64)> {
    let mut parts = meta.splitn(4, '|');
    let _rank = parts.next()?;
    let attempts = parts.next()?.parse().ok()?;
    let not_before = parts.next()?.parse().ok()?;
    Some((attempts, not_before))
}

#[async_trait]
impl OutboxStore for RedisStore {
    /// One script per platform. Fails with [`StoreError::Backend`] (adding nothing)
    /// when an entry's JSON is over
    /// [`MAX_OUTBOX_ENTRY_BYTES`](crate::MAX_OUTBOX_ENTRY_BYTES).
    async fn push(
        &self,
        entries: &[OutboxEntry],
        now: Timestamp,
        remember: Duration,
    ) -> Result<usize, StoreError> {
        if entries.is_empty() {
            return Ok(0);
        }
        // Per platform, in the callers' order (the first of an id twice is added).
        let mut by_platform: BTreeMap<Platform, Vec<(&OutboxEntry, Vec<u8>)>> = BTreeMap::new();
        for entry in entries {
            by_platform
                .entry(entry.platform())
                .or_default()
                .push((entry, outbox_json::encode(entry)?));
        }
        self.ensure_format().await?;
        let conn = self.conn();
        let until = now.0.saturating_add(ms(remember));
        let px = ms(remember.min(MAX_REMEMBER)).max(1);
        let mut added = 0;
        for (platform, entries) in by_platform {
            let mut keys = keys(conn, platform);
            keys.extend(entries.iter().map(|(e, _)| seen_key(conn, platform, &e.id)));
            let mut cmd = PUSH_SCRIPT.cmd(conn, &keys).await?;
            cmd.arg(now.0).arg(until).arg(px);
            for (e, json) in &entries {
                cmd.arg(&e.id)
                    .arg(e.priority.rank())
                    .arg(e.attempts)
                    .arg(e.not_before.0)
                    .arg(score(e.not_before.0))
                    .arg(score(e.created.0))
                    .arg(e.chat.id())
                    .arg(json.as_slice());
            }
            let n: usize = PUSH_SCRIPT.run(conn, &cmd).await?;
            added += n;
        }
        Ok(added)
    }

    async fn claim(
        &self,
        platform: Platform,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        self.ensure_format().await?;
        let conn = self.conn();
        let keys = keys(conn, platform);
        let mut cmd = CLAIM_SCRIPT.cmd(conn, &keys[..5]).await?;
        cmd.arg(score(now.0))
            .arg(max)
            .arg(score(now.0.saturating_add(ms(ttl))));
        let rows: Vec<ClaimedRow> = CLAIM_SCRIPT.run(conn, &cmd).await?;
        Ok(decode_claimed(platform, rows))
    }

    async fn claim_chat(
        &self,
        chat: &ChatRef,
        now: Timestamp,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        self.ensure_format().await?;
        let conn = self.conn();
        let platform = chat.platform();
        let mut cmd = CLAIM_CHAT_SCRIPT.cmd(conn, &keys(conn, platform)).await?;
        cmd.arg(chat.id())
            .arg(score(now.0))
            .arg(max)
            .arg(score(now.0.saturating_add(ms(ttl))));
        let rows: Vec<ClaimedRow> = CLAIM_CHAT_SCRIPT.run(conn, &cmd).await?;
        Ok(decode_claimed(platform, rows))
    }

    async fn complete(&self, platform: Platform, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.ensure_format().await?;
        let conn = self.conn();
        let mut cmd = COMPLETE_SCRIPT.cmd(conn, &keys(conn, platform)).await?;
        cmd.arg(ids);
        let _: i64 = COMPLETE_SCRIPT.run(conn, &cmd).await?;
        Ok(())
    }

    async fn reschedule(&self, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.ensure_format().await?;
        let conn = self.conn();
        let mut by_platform: BTreeMap<Platform, Vec<&OutboxEntry>> = BTreeMap::new();
        for entry in entries {
            by_platform.entry(entry.platform()).or_default().push(entry);
        }
        for (platform, entries) in by_platform {
            let keys = keys(conn, platform);
            let mut cmd = RESCHEDULE_SCRIPT.cmd(conn, &keys[..5]).await?;
            for e in entries {
                cmd.arg(&e.id)
                    .arg(e.attempts)
                    .arg(e.not_before.0)
                    .arg(score(e.not_before.0));
            }
            let _: i64 = RESCHEDULE_SCRIPT.run(conn, &cmd).await?;
        }
        Ok(())
    }

    async fn drop_chat(&self, chat: &ChatRef) -> Result<usize, StoreError> {
        self.ensure_format().await?;
        let conn = self.conn();
        let mut cmd = DROP_CHAT_SCRIPT
            .cmd(conn, &keys(conn, chat.platform()))
            .await?;
        cmd.arg(chat.id());
        DROP_CHAT_SCRIPT.run(conn, &cmd).await
    }

    /// One `MULTI`/`EXEC` of `ZCARD` and the first member of each creation set.
    async fn stats(&self, platform: Platform) -> Result<OutboxStats, StoreError> {
        self.ensure_format().await?;
        let conn = self.conn();
        let keys = keys(conn, platform);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in &keys[5..8] {
            pipe.cmd("ZCARD").arg(key);
            pipe.cmd("ZRANGE").arg(key).arg(0).arg(0).arg("WITHSCORES");
        }
        let (c0, f0, c1, f1, c2, f2): (u64, Vec<String>, u64, Vec<String>, u64, Vec<String>) =
            conn.query_pipe(&pipe).await?;
        let mut stats = OutboxStats::default();
        for (queue, (pending, first)) in stats.queues.iter_mut().zip([(c0, f0), (c1, f1), (c2, f2)])
        {
            queue.pending = pending;
            queue.oldest = match first.get(1) {
                Some(text) => Some(Timestamp(parse_score(text)?)),
                None => None,
            };
        }
        Ok(stats)
    }
}

/// A score Redis printed, as whole milliseconds.
fn parse_score(text: &str) -> Result<u64, StoreError> {
    text.parse::<u64>()
        .ok()
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                // In range: scores are at most 2^53.
                .map(|f| f.min(MAX_SCORE as f64) as u64)
        })
        .ok_or_else(|| StoreError::Corrupt(format!("outbox creation score {text:?}")))
}
