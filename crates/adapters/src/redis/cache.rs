//! [`RedisCache`]: the status cache on Redis, expiry by `SET ... PX`.

use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::ports::{CachedValue, StatusCache, StoreError};
use mcstat_core::{PlayerList, StatusOutcome};
use serde::{Deserialize, Serialize};

use super::{Conn, RedisConfig, RedisStoreError};

/// The status cache on Redis (implements [`StatusCache`]).
///
/// Entries expire by Redis' own clock (`SET key value PX ttl`). Construction does not
/// contact Redis, so a service starts even when Redis is down; while it is down every
/// call fails within the command timeout with [`StoreError::Unavailable`], which
/// callers treat as a miss. An entry that does not decode (written by something
/// else under the prefix) is [`StoreError::Corrupt`], also a miss for callers.
#[derive(Debug, Clone)]
pub struct RedisCache {
    conn: Conn,
}

/// The longest TTL stored (Redis refuses expiry times that overflow its clock).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The stored form of a [`CachedValue`] (format `v1`): adjacently tagged, so that
/// `Players(None)` can be written (core's internally tagged form cannot hold it), and
/// owned by this adapter so the stored format does not move with core's serde
/// attributes.
#[derive(Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
enum EntryRef<'a> {
    Status(&'a StatusOutcome),
    Players(&'a Option<PlayerList>),
}

/// [`EntryRef`], owned, for reading.
#[derive(Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
enum Entry {
    Status(StatusOutcome),
    Players(Option<PlayerList>),
}

impl<'a> From<&'a CachedValue> for EntryRef<'a> {
    fn from(value: &'a CachedValue) -> Self {
        match value {
            CachedValue::Status(s) => Self::Status(s),
            CachedValue::Players(p) => Self::Players(p),
        }
    }
}

impl From<Entry> for CachedValue {
    fn from(entry: Entry) -> Self {
        match entry {
            Entry::Status(s) => Self::Status(s),
            Entry::Players(p) => Self::Players(p),
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
        json.map(|json| {
            serde_json::from_str::<Entry>(&json)
                .map(CachedValue::from)
                .map_err(|e| StoreError::Corrupt(format!("cache entry {key}: {e}")))
        })
        .transpose()
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
