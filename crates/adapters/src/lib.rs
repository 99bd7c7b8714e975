//! mcstat adapters: implementations of the core ports.
//!
//! | feature | what it adds |
//! |---------|--------------|
//! | `file` (default) | [`FileStore`]: the embedded single-file store (redb) |
//! | `redis` | [`RedisStore`] and [`RedisCache`]: the shared store and cache on Redis |

#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "redis")]
pub mod redis;

#[cfg(feature = "redis")]
pub use self::redis::{RedisCache, RedisConfig, RedisStore, RedisStoreError};
#[cfg(feature = "file")]
pub use file::{FileStore, FileStoreError};
