//! [`RedisCache`]: the status cache on Redis, expiry by `SET ... PX`.

use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::ports::{CachedValue, StatusCache, StoreError};
use mcstat_core::{PlayerList, StatusOutcome, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Conn, RedisConfig, RedisStoreError};

/// The status cache on Redis (implements [`StatusCache`]).
///
/// Entries expire by Redis' own clock (`SET key value PX ttl`). Construction does not
/// contact Redis, so a service starts even when Redis is down; while it is down every
/// call fails within the command timeout with [`StoreError::Unavailable`], which
/// callers treat as a miss. An entry that does not decode (written by something
/// else under the prefix) is [`StoreError::Corrupt`], also a miss for callers.
///
/// Entries are JSON, `{"kind":"status"|"players","value":…}`; an offline players
/// answer is `{"kind":"players","value":null,"taken_at":…}`. `taken_at` came later:
/// an older build ignores it, and an offline entry without it (written by an older
/// build) is a miss here, since its age is unknown.
#[derive(Debug, Clone)]
pub struct RedisCache {
    conn: Conn,
}

/// The longest TTL stored (Redis refuses expiry times that overflow its clock).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The stored form of a [`CachedValue`] (format `v1`), owned by this adapter so the
/// stored format does not move with core's serde attributes: JSON, adjacently
/// tagged, `{"kind":"status","value":…}` or `{"kind":"players","value":…}`.
///
/// A players lookup the server did not answer is `{"kind":"players","value":null,
/// "taken_at":…}`: `taken_at` was added later, as a key of its own, so both ways stay
/// readable while replicas of two versions share a Redis. An older build ignores the
/// key it does not know (and reads "offline, age unknown", as it wrote it); an entry
/// without it, written by an older build, has no time, and [`RedisCache::get`]
/// treats it as a miss (it lives 10 s at most).
#[derive(Serialize)]
struct EntryRef<'a> {
    #[serde(flatten)]
    body: BodyRef<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    taken_at: Option<Timestamp>,
}

/// The tagged part of [`EntryRef`].
#[derive(Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
enum BodyRef<'a> {
    Status(&'a StatusOutcome),
    Players(Option<&'a PlayerList>),
}

/// [`EntryRef`], owned, for reading.
#[derive(Deserialize)]
struct Entry {
    #[serde(flatten)]
    body: Body,
    #[serde(default)]
    taken_at: Option<Timestamp>,
}

/// [`BodyRef`], owned, for reading.
#[derive(Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
enum Body {
    Status(StatusOutcome),
    Players(Option<PlayerList>),
}

impl<'a> From<&'a CachedValue> for EntryRef<'a> {
    fn from(value: &'a CachedValue) -> Self {
        let (body, taken_at) = match value {
            CachedValue::Status(s) => (BodyRef::Status(s), None),
            CachedValue::Players(p) => (BodyRef::Players(Some(p)), None),
            CachedValue::NoPlayerList { taken_at } => (BodyRef::Players(None), Some(*taken_at)),
        };
        Self { body, taken_at }
    }
}

impl Entry {
    /// The cached value; `None` for an offline players entry without its time (written
    /// by an older build).
    fn into_value(self) -> Option<CachedValue> {
        match (self.body, self.taken_at) {
            (Body::Status(s), _) => Some(CachedValue::Status(s)),
            (Body::Players(Some(p)), _) => Some(CachedValue::Players(p)),
            (Body::Players(None), Some(taken_at)) => Some(CachedValue::NoPlayerList { taken_at }),
            (Body::Players(None), None) => None,
        }
    }
}

impl RedisCache {
    /// A cache on the Redis in `config`. Does not connect yet.
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
        self.conn.key(&format!("cache:v1:{key}"))
    }
}

#[async_trait]
impl StatusCache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<CachedValue>, StoreError> {
        let json: Option<String> = self
            .conn
            .query(redis::cmd("GET").arg(self.key(key)))
            .await?;
        let Some(json) = json else { return Ok(None) };
        let entry = serde_json::from_str::<Entry>(&json)
            .map_err(|e| StoreError::Corrupt(format!("cache entry {key}: {e}")))?;
        Ok(entry.into_value())
    }

    async fn put(&self, key: &str, value: &CachedValue, ttl: Duration) -> Result<(), StoreError> {
        let json = serde_json::to_string(&EntryRef::from(value))
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let ms = ttl.min(MAX_TTL).as_millis();
        if ms == 0 {
            // Expires at once: make sure no older entry is served instead.
            return self.conn.query(redis::cmd("DEL").arg(self.key(key))).await;
        }
        self.conn
            .query(
                redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(json)
                    .arg("PX")
                    .arg(u64::try_from(ms).unwrap_or(u64::MAX)),
            )
            .await
    }
}
