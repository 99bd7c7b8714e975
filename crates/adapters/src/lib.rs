//! mcstat adapters: implementations of the core ports.
//!
//! | module       | feature   | what it holds |
//! |--------------|-----------|---------------|
//! | [`network`]  | `network` | [`NetworkSource`]: the [`StatusSource`](mcstat_core::ports::StatusSource) on mc-protocol's tokio clients (a lighter [`LookupMode::Watch`] for watch polls) |
//! | [`cache`]    | —         | [`MemoryCache`]: a bounded in-process [`StatusCache`](mcstat_core::ports::StatusCache) with per-entry TTL |
//! | [`clock`]    | —         | [`SystemClock`]: the wall clock and tokio's timer as a [`Clock`](mcstat_core::ports::Clock) |
//! | `file`       | `file`    | `FileStore`: the embedded single-file store (redb), the default store (also the durable outbox) |
//! | `redis`      | `redis`   | `RedisStore`, `RedisCache`, `RedisLeases` and `RedisLimiter`: the shared store (also the durable outbox), cache, watch leases and send rate limits on Redis |
//! | `chart`      | `charts`  | `PlottersChartRenderer`: the [`ChartRenderer`](mcstat_core::ports::ChartRenderer) drawing `/graph` PNGs |
//!
//! Features are additive; the default enables `network` and `file`.

#![deny(missing_docs)]

pub mod cache;
#[cfg(feature = "charts")]
pub mod chart;
pub mod clock;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "network")]
pub mod network;
#[cfg(any(feature = "file", feature = "redis"))]
mod outbox_json;
#[cfg(feature = "redis")]
pub mod redis;

#[cfg(feature = "redis")]
pub use self::redis::{
    RedisCache, RedisConfig, RedisLeases, RedisLimiter, RedisStore, RedisStoreError,
};
pub use cache::MemoryCache;
#[cfg(feature = "charts")]
pub use chart::PlottersChartRenderer;
pub use clock::SystemClock;
#[cfg(feature = "file")]
pub use file::{FileStore, FileStoreError, StoreSpace};
#[cfg(feature = "network")]
pub use network::{BedrockFallback, ClientOptions, LookupMode, NetError, NetworkSource, Resolver};
#[cfg(any(feature = "file", feature = "redis"))]
pub use outbox_json::MAX_OUTBOX_ENTRY_BYTES;
