//! mcstat adapters: implementations of the core ports.
//!
<<<<<<< HEAD
//! | module       | feature   | what it holds |
//! |--------------|-----------|---------------|
//! | [`network`]  | `network` | [`NetworkSource`]: the [`StatusSource`](mcstat_core::ports::StatusSource) on mc-protocol's tokio clients |
//! | [`cache`]    | —         | [`MemoryCache`]: a bounded in-process [`StatusCache`](mcstat_core::ports::StatusCache) with per-entry TTL |
//! | [`clock`]    | —         | [`SystemClock`]: the wall clock and tokio's timer as a [`Clock`](mcstat_core::ports::Clock) |
//!
//! Features are additive; the default enables `network`.

#![deny(missing_docs)]

pub mod cache;
pub mod clock;
#[cfg(feature = "network")]
pub mod network;

pub use cache::MemoryCache;
pub use clock::SystemClock;
#[cfg(feature = "network")]
pub use network::{BedrockFallback, ClientOptions, NetError, NetworkSource, Resolver};
=======
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
>>>>>>> h/store
