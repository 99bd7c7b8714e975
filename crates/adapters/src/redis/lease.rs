//! [`RedisLeases`]: the [`LeasePort`] on Redis, shared by every replica.

use std::time::Duration;

use async_trait::async_trait;
use mcstat_core::ports::{LeasePort, StoreError};

use super::{Conn, RedisConfig, RedisStoreError};

/// The longest TTL stored (Redis refuses expiry times that overflow its clock).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Take the lease when free (`SET NX PX`), renew it when `holder` has it, else refuse.
/// KEYS[1] = lease key; ARGV[1] = holder; ARGV[2] = TTL in ms. Returns 1 or 0.
const ACQUIRE: &str = r"
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Delete the lease only if `holder` has it. KEYS[1] = lease key; ARGV[1] = holder.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Leases on Redis (implements [`LeasePort`]): key `{prefix}lease:{key}` holding the
/// holder's name, expiring by Redis' own clock (`PX`), so replicas need no clock
/// agreement. Acquire-or-renew and release are Lua scripts, atomic on the server.
///
/// Like the store, every call runs under the command timeout and fails with
/// [`StoreError::Unavailable`] when Redis does not answer; construction does not
/// contact Redis.
#[derive(Debug, Clone)]
pub struct RedisLeases {
    conn: Conn,
}

impl RedisLeases {
    /// Leases on the Redis in `config`. Does not connect yet.
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
        self.conn.key(&format!("lease:{key}"))
    }
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.min(MAX_TTL).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[async_trait]
impl LeasePort for RedisLeases {
    async fn try_acquire(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(ACQUIRE)
            .arg(1)
            .arg(self.key(key))
            .arg(holder)
            .arg(ttl_ms(ttl));
        let granted: i64 = self.conn.query(&cmd).await?;
        Ok(granted == 1)
    }

    async fn release(&self, key: &str, holder: &str) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RELEASE).arg(1).arg(self.key(key)).arg(holder);
        let deleted: i64 = self.conn.query(&cmd).await?;
        Ok(deleted == 1)
    }
}
