//! Building the backend from [`ServiceConfig`]: the network status source, the cache,
//! the store and the clock, as port objects, and the core services over them.
//!
//! | setting | backend |
//! |---|---|
//! | `store = "file"` (default) | [`FileStore`] at `store_path`: embedded, crash-safe, no other service |
//! | `store = "redis"` | [`RedisStore`] at `redis_url`, shared by every replica |
//! | `cache = "memory"` (default) | [`MemoryCache`] in this process |
//! | `cache = "redis"` | [`RedisCache`] at `redis_url`, shared by every replica |

use std::sync::Arc;

use mcstat_adapters::{
    ClientOptions, FileStore, FileStoreError, MemoryCache, NetError, NetworkSource, RedisCache,
    RedisConfig, RedisStore, RedisStoreError, SystemClock,
};
use mcstat_core::chat::BotInfo;
use mcstat_core::ports::{
    AuditLog, ChatStore, Clock, HistoryStore, StatusCache, StatusSource, WatchStore,
};
use mcstat_core::{ChatService, LookupConfig, LookupService};

use crate::config::{CacheKind, ServiceConfig, StoreKind};

/// How many entries the in-memory cache keeps at most.
pub const MEMORY_CACHE_ENTRIES: usize = 10_000;

/// Why the backend could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The network source (e.g. no DNS configuration in `/etc/resolv.conf`).
    #[error("cannot set up server lookups")]
    Source(#[source] NetError),
    /// The file store cannot be opened (locked by another process, corrupt, newer
    /// format, no permission).
    #[error("cannot open the file store {path}")]
    FileStore {
        /// The database file.
        path: String,
        /// Why.
        #[source]
        source: FileStoreError,
    },
    /// Redis cannot be used (bad URL, unreachable, newer format).
    #[error("cannot use Redis (MCSTAT_REDIS_URL)")]
    Redis(#[source] RedisStoreError),
    /// Redis is asked for but no URL is configured (checked by
    /// [`ServiceConfig::check`] already; here for callers that skipped it).
    #[error("MCSTAT_REDIS_URL is not set")]
    NoRedisUrl,
}

/// The ports a frontend works with, all built from one configuration.
#[derive(Clone)]
pub struct Backend {
    /// Looks servers up on the network.
    pub source: Arc<dyn StatusSource>,
    /// Recent lookups.
    pub cache: Arc<dyn StatusCache>,
    /// Wall-clock time.
    pub clock: Arc<dyn Clock>,
    /// Per-chat state.
    pub chats: Arc<dyn ChatStore>,
    /// Watches.
    pub watches: Arc<dyn WatchStore>,
    /// History samples.
    pub history: Arc<dyn HistoryStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditLog>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

/// The four store ports of one store object.
type StorePorts = (
    Arc<dyn ChatStore>,
    Arc<dyn WatchStore>,
    Arc<dyn HistoryStore>,
    Arc<dyn AuditLog>,
);

fn ports<T: ChatStore + WatchStore + HistoryStore + AuditLog + 'static>(
    store: Arc<T>,
) -> StorePorts {
    (store.clone(), store.clone(), store.clone(), store)
}

fn redis_config(config: &ServiceConfig) -> Result<RedisConfig, BackendError> {
    config
        .redis_url
        .as_ref()
        .map(|url| RedisConfig::new(url.expose()))
        .ok_or(BackendError::NoRedisUrl)
}

impl Backend {
    /// Build every port as `config` says; opens the file store or connects to Redis.
    ///
    /// # Errors
    /// [`BackendError`].
    pub async fn build(config: &ServiceConfig) -> Result<Self, BackendError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let options = ClientOptions {
            timeout: config.lookup_timeout(),
            ..ClientOptions::default()
        };
        let source = NetworkSource::from_system_conf(config.policy(), options, Arc::clone(&clock))
            .map_err(BackendError::Source)?;
        let cache: Arc<dyn StatusCache> = match config.cache {
            CacheKind::Memory => {
                Arc::new(MemoryCache::new(MEMORY_CACHE_ENTRIES, Arc::clone(&clock)))
            }
            CacheKind::Redis => {
                Arc::new(RedisCache::new(&redis_config(config)?).map_err(BackendError::Redis)?)
            }
        };
        let (chats, watches, history, audit) = match config.store {
            StoreKind::File => {
                let store = Arc::new(FileStore::open(&config.store_path).await.map_err(
                    |source| BackendError::FileStore {
                        path: config.store_path.display().to_string(),
                        source,
                    },
                )?);
                ports(store)
            }
            StoreKind::Redis => {
                let store = Arc::new(
                    RedisStore::connect(&redis_config(config)?)
                        .await
                        .map_err(BackendError::Redis)?,
                );
                ports(store)
            }
        };
        Ok(Self {
            source: Arc::new(source),
            cache,
            clock,
            chats,
            watches,
            history,
            audit,
        })
    }

    /// The lookup service over this backend, with the configured target policy and
    /// the core's default TTLs and rate limits.
    #[must_use]
    pub fn lookup_service(&self, config: &ServiceConfig) -> Arc<LookupService> {
        Arc::new(LookupService::new(
            Arc::clone(&self.source),
            Arc::clone(&self.cache),
            Arc::clone(&self.clock),
            LookupConfig {
                policy: config.policy(),
                ..LookupConfig::default()
            },
        ))
    }

    /// The chat service over this backend.
    #[must_use]
    pub fn chat_service(&self, config: &ServiceConfig, info: BotInfo) -> Arc<ChatService> {
        Arc::new(ChatService::new(
            self.lookup_service(config),
            Arc::clone(&self.chats),
            info,
        ))
    }
}
