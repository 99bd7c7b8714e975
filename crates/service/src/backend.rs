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
use std::time::Duration;

use mcstat_adapters::{
    ClientOptions, FileStore, FileStoreError, MemoryCache, NetError, NetworkSource, RedisCache,
    RedisConfig, RedisStore, RedisStoreError, SystemClock,
};
use mcstat_core::Platform;
use mcstat_core::chat::BotInfo;
use mcstat_core::outbox::{
    Dispatcher, DispatcherPorts, MemoryLimiter, MemoryOutbox, OutboxNotifier, Pacer,
};
use mcstat_core::ports::{
    AuditLog, ChatStore, Clock, HistoryStore, LeasePort, Notifier, OutboxStore, SendLimiter,
    StatusCache, StatusSource, WatchStore,
};
use mcstat_core::watch::{MemoryLeases, NotifierRouter, Scheduler, SchedulerPorts, WatchService};
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
    /// Looks servers up for the watch scheduler: the same network source (policy,
    /// deadline, resolver) in its lighter watch mode (no ping, no favicon or mod-list
    /// decoding: [`mcstat_adapters::LookupMode::Watch`]).
    pub watch_source: Arc<dyn StatusSource>,
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
    /// Leases for the watch scheduler: in memory with the file store (one process),
    /// in Redis with the Redis store (shared by every replica).
    pub leases: Arc<dyn LeasePort>,
    /// The durable outbox of notifications (the store's).
    pub outbox: Arc<dyn OutboxStore>,
    /// Sending limits: in memory with the file store, in Redis with the Redis store
    /// (one limit per bot token, whatever the number of replicas).
    pub limiter: Arc<dyn SendLimiter>,
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

/// The ports replicas share work through: leases, the outbox, send limits.
type SharedPorts = (
    Arc<dyn LeasePort>,
    Arc<dyn OutboxStore>,
    Arc<dyn SendLimiter>,
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
        let watch_source = source.clone().for_watches();
        let cache: Arc<dyn StatusCache> = match config.cache {
            CacheKind::Memory => {
                Arc::new(MemoryCache::new(MEMORY_CACHE_ENTRIES, Arc::clone(&clock)))
            }
            CacheKind::Redis => {
                Arc::new(RedisCache::new(&redis_config(config)?).map_err(BackendError::Redis)?)
            }
        };
        // How long each history tier is kept, with the gap cap and outage threshold
        // of the configured interval and debounce.
        let history = config.watch_config().history_config();
        let ((chats, watches, history, audit), (leases, outbox, limiter)): (
            StorePorts,
            SharedPorts,
        ) = match config.store {
            StoreKind::File => {
                let store = Arc::new(
                    FileStore::open_with(&config.store_path, history.clone())
                        .await
                        .map_err(|source| BackendError::FileStore {
                            path: config.store_path.display().to_string(),
                            source,
                        })?,
                );
                let outbox: Arc<dyn OutboxStore> = store.clone();
                (
                    ports(store),
                    (
                        Arc::new(MemoryLeases::new(Arc::clone(&clock))),
                        outbox,
                        Arc::new(MemoryLimiter::new(Arc::clone(&clock))),
                    ),
                )
            }
            StoreKind::Redis => {
                let store = Arc::new(
                    RedisStore::connect(&redis_config(config)?.history(history.clone()))
                        .await
                        .map_err(BackendError::Redis)?,
                );
                let leases = Arc::new(store.leases());
                let outbox: Arc<dyn OutboxStore> = store.clone();
                let limiter = Arc::new(store.limiter());
                (ports(store), (leases, outbox, limiter))
            }
        };
        Ok(Self {
            source: Arc::new(source),
            watch_source: Arc::new(watch_source),
            cache,
            clock,
            chats,
            watches,
            history,
            audit,
            leases,
            outbox,
            limiter,
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

    /// The watch service over this backend (with the audit log), with
    /// [`ServiceConfig::watch_config`].
    #[must_use]
    pub fn watch_service(&self, config: &ServiceConfig) -> Arc<WatchService> {
        Arc::new(
            WatchService::new(
                Arc::clone(&self.watches),
                Arc::clone(&self.history),
                Arc::clone(&self.clock),
                config.watch_config(),
            )
            .with_audit(Arc::clone(&self.audit)),
        )
    }

    /// The outbox of a process serving `platform`: sends through `sender` (the
    /// platform's notifier, one attempt per call), paced by the configured limits
    /// (shared by every replica on Redis). `holder` is unused today (claims expire
    /// by time) but names the replica in logs.
    #[must_use]
    pub fn delivery(
        &self,
        config: &ServiceConfig,
        platform: Platform,
        sender: Arc<dyn Notifier>,
    ) -> crate::delivery::Delivery {
        let health = Arc::new(crate::delivery::OutboxHealth::new(Duration::from_secs(
            config.outbox_stale_secs,
        )));
        let events = crate::delivery::event_sink(platform, Arc::clone(&health));
        let outbox_config = config.outbox_config();
        let pacer = Arc::new(Pacer::new(
            config.platform_limits(platform),
            Arc::clone(&self.limiter),
            Arc::clone(&self.clock),
            Arc::clone(&events),
        ));
        let fallback = MemoryOutbox::new();
        let notifier = Arc::new(OutboxNotifier::new(
            Arc::clone(&self.outbox),
            fallback.clone(),
            Arc::clone(&self.clock),
            outbox_config.clone(),
        ));
        let dispatcher = Dispatcher::new(
            DispatcherPorts {
                outbox: Arc::clone(&self.outbox),
                fallback,
                notifier: sender,
                watches: Arc::clone(&self.watches),
                pacer: Arc::clone(&pacer),
                clock: Arc::clone(&self.clock),
            },
            platform,
            outbox_config,
            events,
        );
        crate::delivery::Delivery {
            pacer,
            notifier,
            health,
            dispatcher,
        }
    }

    /// The watch scheduler of a process serving `platform` only, telling chats
    /// through `notifier`. `holder` names this replica in leases (unique among
    /// replicas: see [`replica_name`]). Run it with [`Scheduler::run`].
    #[must_use]
    pub fn scheduler(
        &self,
        config: &ServiceConfig,
        platform: Platform,
        notifier: Arc<dyn Notifier>,
        holder: impl Into<String>,
    ) -> Scheduler {
        let ports = SchedulerPorts {
            watches: Arc::clone(&self.watches),
            history: Arc::clone(&self.history),
            source: Arc::clone(&self.watch_source),
            notifier: Arc::new(NotifierRouter::new().with(platform, notifier)),
            leases: Arc::clone(&self.leases),
            clock: Arc::clone(&self.clock),
        };
        Scheduler::new(ports, config.watch_config(), holder).for_platforms([platform])
    }
}

/// The chart renderer for `/graph`: plotters' PNG renderer.
#[cfg(feature = "charts")]
#[must_use]
pub fn chart_renderer() -> Arc<dyn mcstat_core::ports::ChartRenderer> {
    Arc::new(mcstat_adapters::PlottersChartRenderer::new())
}

/// A name for this process among replicas: host name, process id and start time
/// (`host-1234-1733000000123`).
#[must_use]
pub fn replica_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "mcstat".to_owned());
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{host}-{}-{millis}", std::process::id())
}
