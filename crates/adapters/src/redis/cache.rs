//! [`RedisCache`]: the status cache on Redis, expiry by `SET ... PX`.

use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::ports::{CachedValue, StatusCache, StoreError};

use super::{Conn, RedisConfig, RedisStoreError};

/// The status cache on Redis (implements [`StatusCache`]).
///
/// Entries expire by Redis' own clock (`SET key value PX ttl`). Construction does not
/// contact Redis, so a service starts even when Redis is down; while it is down every
/// call fails within the command timeout with [`StoreError::Unavailable`], which
/// callers treat as a miss.
#[derive(Debug, Clone)]
pub struct RedisCache {
    conn: Conn,
}

/// The longest TTL stored (Redis refuses expiry times that overflow its clock).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

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
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("cache entry {key}: {e}")))
        })
        .transpose()
    }

    async fn put(&self, key: &str, value: &CachedValue, ttl: Duration) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Backend(Box::new(e)))?;
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
