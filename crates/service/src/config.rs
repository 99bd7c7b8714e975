//! Configuration from an optional TOML file and `MCSTAT_*` environment variables.
//!
//! Every setting has one flat name: `store_path` in the file is `MCSTAT_STORE_PATH` in
//! the environment, and the environment wins. The file is the one named by
//! `MCSTAT_CONFIG` (or given to [`ConfigSource::load`]); without one, only the
//! environment and the defaults count. Each frontend reads its own settings from the
//! same [`ConfigSource`] with [`ConfigSource::extract`], so one file can hold them all.
//!
//! Errors name the setting and where its value came from (the file and line, or the
//! environment variable), e.g. `unknown variant: found "sqlite", expected one of
//! "file", "redis" for key "default.store" in MCSTAT_STORE environment variable`.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use mcstat_core::Platform;
use mcstat_core::TargetPolicy;
use mcstat_core::history::HistoryConfig;
use mcstat_core::outbox::{OutboxConfig, PlatformLimits, documented};
use mcstat_core::policy::IpNet;

use mcstat_core::watch::WatchConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::logging::LogFormat;
use crate::secret::Secret;

/// The prefix of every environment variable mcstat reads.
pub const ENV_PREFIX: &str = "MCSTAT_";

/// The environment variable naming the configuration file.
pub const CONFIG_FILE_VAR: &str = "MCSTAT_CONFIG";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file named does not exist or is not a file.
    #[error("configuration file {} does not exist (named by {CONFIG_FILE_VAR} or --config)", .0.display())]
    MissingFile(PathBuf),
    /// A value has the wrong type or form, or the file is not valid TOML.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// Values that are each valid but do not fit together, or are out of range.
    #[error("invalid configuration: {0}")]
    Check(String),
}

/// Where settings come from: a TOML file (optional) with the environment on top.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    figment: Figment,
}

impl ConfigSource {
    /// The process's configuration: the file named by `MCSTAT_CONFIG` if set, then the
    /// `MCSTAT_*` environment variables.
    ///
    /// # Errors
    /// [`ConfigError::MissingFile`] when `MCSTAT_CONFIG` names no file.
    pub fn from_process() -> Result<Self, ConfigError> {
        let file = std::env::var_os(CONFIG_FILE_VAR).map(PathBuf::from);
        Self::load(file.as_deref())
    }

    /// The configuration of a binary named `binary` from its command line: `--config
    /// PATH` (or `-c`) names the file, else `MCSTAT_CONFIG`; `--help` prints `usage` and
    /// `--version` the version, and both exit the process.
    ///
    /// # Errors
    /// [`ConfigError::Check`] for an unknown argument or `--config` without a path;
    /// [`ConfigError::MissingFile`] when the named file does not exist.
    pub fn from_args(binary: &str, version: &str, usage: &str) -> Result<Self, ConfigError> {
        let mut args = std::env::args_os().skip(1);
        let mut path = std::env::var_os(CONFIG_FILE_VAR).map(PathBuf::from);
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("--config" | "-c") => match args.next() {
                    Some(p) => path = Some(PathBuf::from(p)),
                    None => return Err(ConfigError::Check("--config needs a file path".into())),
                },
                Some("--help" | "-h") => {
                    println!("{usage}");
                    std::process::exit(0);
                }
                Some("--version" | "-V") => {
                    println!("{binary} {version}");
                    std::process::exit(0);
                }
                _ => {
                    return Err(ConfigError::Check(format!(
                        "unexpected argument {arg:?}\n\n{usage}"
                    )));
                }
            }
        }
        Self::load(path.as_deref())
    }

    /// `file` (if given; it must exist), then the `MCSTAT_*` environment variables.
    ///
    /// # Errors
    /// [`ConfigError::MissingFile`] when `file` is not a file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX));
        Ok(Self { figment })
    }

    /// Settings from TOML text only (no environment): for tests and embedding.
    #[must_use]
    pub fn from_toml(text: &str) -> Self {
        Self {
            figment: Figment::from(Toml::string(text)),
        }
    }

    /// Deserialize a settings struct (the shared [`ServiceConfig`] or a frontend's own).
    /// Unknown keys are ignored, so each struct takes only its own.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`], naming the key and where its value came from.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.figment.extract().map_err(|e| Box::new(e).into())
    }
}

/// Which store keeps chats, watches and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The embedded crash-safe file store at `store_path` (default).
    #[default]
    File,
    /// Redis at `redis_url`, shared by every replica.
    Redis,
}

/// Which cache keeps recent lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheKind {
    /// In this process's memory (default).
    #[default]
    Memory,
    /// Redis at `redis_url`, shared by every replica.
    Redis,
}

/// The settings every long-running frontend shares.
///
/// | key | environment | default | meaning |
/// |---|---|---|---|
/// | `store` | `MCSTAT_STORE` | `file` | `file` or `redis` |
/// | `store_path` | `MCSTAT_STORE_PATH` | `./mcstat.redb` | the file store's database file |
/// | `redis_url` | `MCSTAT_REDIS_URL` | — | `redis://[:password@]host:port/db`; needed by `store = "redis"` or `cache = "redis"` |
/// | `cache` | `MCSTAT_CACHE` | `memory` | `memory` or `redis` |
/// | `log_format` | `MCSTAT_LOG_FORMAT` | `human` | `human` or `json` |
/// | `log` | `MCSTAT_LOG` | `info` | filter: a level, or `target=level` pairs separated by commas |
/// | `http_addr` | `MCSTAT_HTTP_ADDR` | — | where to serve `/healthz`, `/readyz`, `/metrics` (and webhooks) |
/// | `allow_networks` | `MCSTAT_ALLOW_NETWORKS` | — | special-purpose networks that may be looked up anyway, e.g. `127.0.0.0/8,::1` |
/// | `allow_all_targets` | `MCSTAT_ALLOW_ALL_TARGETS` | `false` | look up any address at all (development only) |
/// | `lookup_timeout_ms` | `MCSTAT_LOOKUP_TIMEOUT_MS` | `5000` | the deadline of one server lookup |
/// | `watch_interval_secs` | `MCSTAT_WATCH_INTERVAL_SECS` | `60` | how often each watched server is polled (1–86400) |
/// | `watch_down_after` | `MCSTAT_WATCH_DOWN_AFTER` | `2` | failed polls in a row that make an outage (1–100) |
/// | `history_raw_hours` | `MCSTAT_HISTORY_RAW_HOURS` | `48` | how long raw poll samples are kept, in hours (1–8760) |
/// | `history_5m_days` | `MCSTAT_HISTORY_5M_DAYS` | `14` | how long 5-minute buckets are kept, in days (1–3650) |
/// | `history_hourly_days` | `MCSTAT_HISTORY_HOURLY_DAYS` | `90` | how long hourly buckets are kept, in days (1–3650) |
/// | `history_daily_days` | `MCSTAT_HISTORY_DAILY_DAYS` | `400` | how long daily buckets and outages are kept, in days (1–3650) |
/// | `watch_retention_days` | `MCSTAT_WATCH_RETENTION_DAYS` | — | the former single retention (1–3650), see below |
/// | `watch_concurrency` | `MCSTAT_WATCH_CONCURRENCY` | `64` | how many watch polls may run at once (1–4096) |
/// | `send_global_per_sec` | `MCSTAT_SEND_GLOBAL_PER_SEC` | platform's (Telegram 30, Discord 50) | messages a second the whole bot sends, across replicas (1–10000) |
/// | `send_chat_per_min` | `MCSTAT_SEND_CHAT_PER_MIN` | platform's (60) | messages a minute to one chat or channel, evenly spaced (1–6000) |
/// | `send_group_per_min` | `MCSTAT_SEND_GROUP_PER_MIN` | platform's (Telegram 20) | messages a minute to one Telegram group (1–6000) |
/// | `answer_deadline_secs` | `MCSTAT_ANSWER_DEADLINE_SECS` | `30` | an answer that cannot be sent within this is dropped, never sent late (1–900) |
/// | `outbox_claim_secs` | `MCSTAT_OUTBOX_CLAIM_SECS` | `30` | how long a replica holds notifications it is sending; a dead replica's come back after it (2–3600) |
/// | `outbox_stale_secs` | `MCSTAT_OUTBOX_STALE_SECS` | `300` | `/healthz` says degraded when a notification waits longer (1–86400) |
/// | `outbox_digest_after` | `MCSTAT_OUTBOX_DIGEST_AFTER` | `3` | more pending notifications than this for one chat go as one digest (1–1000) |
///
/// History is kept in tiers (see `mcstat_core::history`); a coarser tier must keep at
/// least as long as a finer one (raw ≤ 5-minute ≤ hourly ≤ daily). The former
/// `watch_retention_days = N` still works: it caps every tier at `N` days (raw
/// `min(48 h, N d)`, 5-minute `min(14, N)` days, hourly `min(90, N)` days, daily
/// `N` days: `HistoryConfig::from_retention_days`), and a `history_*` key set next
/// to it overrides its own tier.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServiceConfig {
    /// Which store.
    pub store: StoreKind,
    /// The file store's database file.
    pub store_path: PathBuf,
    /// Redis URL (may hold a password, hence secret).
    pub redis_url: Option<Secret>,
    /// Which cache.
    pub cache: CacheKind,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter directives.
    pub log: String,
    /// Address of the operations HTTP server, if any.
    pub http_addr: Option<SocketAddr>,
    /// Networks allowed although special-purpose.
    #[serde(deserialize_with = "net_list")]
    pub allow_networks: Vec<IpNet>,
    /// Allow every target address (development only).
    pub allow_all_targets: bool,
    /// Deadline of one lookup, in milliseconds.
    pub lookup_timeout_ms: u64,
    /// How often each watched server is polled, in seconds.
    pub watch_interval_secs: u64,
    /// How many failed polls in a row make an outage.
    pub watch_down_after: u32,
    /// How long raw samples are kept, in hours (`None`: 48, or the legacy mapping).
    pub history_raw_hours: Option<u64>,
    /// How long 5-minute buckets are kept, in days (`None`: 14, or the legacy mapping).
    pub history_5m_days: Option<u64>,
    /// How long hourly buckets are kept, in days (`None`: 90, or the legacy mapping).
    pub history_hourly_days: Option<u64>,
    /// How long daily buckets and outages are kept, in days (`None`: 400, or the
    /// legacy mapping).
    pub history_daily_days: Option<u64>,
    /// The former single history retention, in days: mapped onto the tiers by
    /// `HistoryConfig::from_retention_days` (the `history_*` keys win).
    pub watch_retention_days: Option<u64>,
    /// How many watch polls may run at once.
    pub watch_concurrency: u64,
    /// Messages a second of the whole bot (`None`: the platform's documented limit).
    pub send_global_per_sec: Option<u64>,
    /// Messages a minute to one chat (`None`: the platform's).
    pub send_chat_per_min: Option<u64>,
    /// Messages a minute to one Telegram group (`None`: the platform's).
    pub send_group_per_min: Option<u64>,
    /// How long an answer may wait for its turn, in seconds.
    pub answer_deadline_secs: u64,
    /// How long a replica's claim on the notifications it sends lasts, in seconds.
    pub outbox_claim_secs: u64,
    /// The age of the oldest pending notification past which `/healthz` says
    /// degraded, in seconds.
    pub outbox_stale_secs: u64,
    /// More pending notifications than this for one chat are sent as one digest.
    pub outbox_digest_after: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            store: StoreKind::File,
            store_path: PathBuf::from("mcstat.redb"),
            redis_url: None,
            cache: CacheKind::Memory,
            log_format: LogFormat::Human,
            log: "info".into(),
            http_addr: None,
            allow_networks: Vec::new(),
            allow_all_targets: false,
            lookup_timeout_ms: 5000,
            watch_interval_secs: 60,
            watch_down_after: 2,
            history_raw_hours: None,
            history_5m_days: None,
            history_hourly_days: None,
            history_daily_days: None,
            watch_retention_days: None,
            watch_concurrency: 64,
            send_global_per_sec: None,
            send_chat_per_min: None,
            send_group_per_min: None,
            answer_deadline_secs: 30,
            outbox_claim_secs: 30,
            outbox_stale_secs: 300,
            outbox_digest_after: 3,
        }
    }
}

impl ServiceConfig {
    /// The shortest lookup deadline accepted.
    pub const MIN_LOOKUP_TIMEOUT_MS: u64 = 100;
    /// The longest lookup deadline accepted.
    pub const MAX_LOOKUP_TIMEOUT_MS: u64 = 60_000;

    /// Read and [`check`](Self::check) the shared settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting at fault.
    pub fn from_source(source: &ConfigSource) -> Result<Self, ConfigError> {
        let config: Self = source.extract()?;
        config.check()?;
        Ok(config)
    }

    /// Check the values that are each valid but may not fit together.
    ///
    /// # Errors
    /// [`ConfigError::Check`] with a message naming the variables to set.
    pub fn check(&self) -> Result<(), ConfigError> {
        let needs_redis = match (self.store, self.cache) {
            (StoreKind::Redis, _) => Some("MCSTAT_STORE=redis"),
            (_, CacheKind::Redis) => Some("MCSTAT_CACHE=redis"),
            _ => None,
        };
        match (&self.redis_url, needs_redis) {
            (None, Some(why)) => {
                return Err(ConfigError::Check(format!(
                    "{why} needs MCSTAT_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
                )));
            }
            (Some(url), _) => {
                let url = url.expose();
                if !["redis://", "rediss://", "unix://", "redis+unix://"]
                    .iter()
                    .any(|scheme| url.starts_with(scheme))
                {
                    return Err(ConfigError::Check(
                        "MCSTAT_REDIS_URL must start with redis://, rediss:// or unix:// \
                         (its value is not shown: it may hold a password)"
                            .into(),
                    ));
                }
            }
            (None, None) => {}
        }
        if self.store == StoreKind::File && self.store_path.as_os_str().is_empty() {
            return Err(ConfigError::Check(
                "MCSTAT_STORE_PATH is empty: name the file store's database file, e.g. ./mcstat.redb"
                    .into(),
            ));
        }
        if !(Self::MIN_LOOKUP_TIMEOUT_MS..=Self::MAX_LOOKUP_TIMEOUT_MS)
            .contains(&self.lookup_timeout_ms)
        {
            return Err(ConfigError::Check(format!(
                "MCSTAT_LOOKUP_TIMEOUT_MS is {} but must be between {} and {}",
                self.lookup_timeout_ms,
                Self::MIN_LOOKUP_TIMEOUT_MS,
                Self::MAX_LOOKUP_TIMEOUT_MS
            )));
        }
        for (name, value, range) in [
            (
                "MCSTAT_WATCH_INTERVAL_SECS",
                self.watch_interval_secs,
                1..=86_400,
            ),
            (
                "MCSTAT_WATCH_DOWN_AFTER",
                u64::from(self.watch_down_after),
                1..=100,
            ),
            ("MCSTAT_WATCH_CONCURRENCY", self.watch_concurrency, 1..=4096),
            (
                "MCSTAT_ANSWER_DEADLINE_SECS",
                self.answer_deadline_secs,
                1..=900,
            ),
            ("MCSTAT_OUTBOX_CLAIM_SECS", self.outbox_claim_secs, 2..=3600),
            (
                "MCSTAT_OUTBOX_STALE_SECS",
                self.outbox_stale_secs,
                1..=86_400,
            ),
            (
                "MCSTAT_OUTBOX_DIGEST_AFTER",
                self.outbox_digest_after,
                1..=1000,
            ),
        ]
        .into_iter()
        .chain(
            [
                (
                    "MCSTAT_WATCH_RETENTION_DAYS",
                    self.watch_retention_days,
                    1..=3650,
                ),
                ("MCSTAT_HISTORY_RAW_HOURS", self.history_raw_hours, 1..=8760),
                (
                    "MCSTAT_SEND_GLOBAL_PER_SEC",
                    self.send_global_per_sec,
                    1..=10_000,
                ),
                ("MCSTAT_SEND_CHAT_PER_MIN", self.send_chat_per_min, 1..=6000),
                (
                    "MCSTAT_SEND_GROUP_PER_MIN",
                    self.send_group_per_min,
                    1..=6000,
                ),
                ("MCSTAT_HISTORY_5M_DAYS", self.history_5m_days, 1..=3650),
                (
                    "MCSTAT_HISTORY_HOURLY_DAYS",
                    self.history_hourly_days,
                    1..=3650,
                ),
                (
                    "MCSTAT_HISTORY_DAILY_DAYS",
                    self.history_daily_days,
                    1..=3650,
                ),
            ]
            .into_iter()
            .filter_map(|(name, value, range)| Some((name, value?, range))),
        ) {
            if !range.contains(&value) {
                return Err(ConfigError::Check(format!(
                    "{name} is {value} but must be between {} and {}",
                    range.start(),
                    range.end()
                )));
            }
        }
        let h = self.history_config();
        for ((finer, finer_keep), (coarser, coarser_keep)) in [
            (
                ("MCSTAT_HISTORY_RAW_HOURS", h.raw),
                ("MCSTAT_HISTORY_5M_DAYS", h.min5),
            ),
            (
                ("MCSTAT_HISTORY_5M_DAYS", h.min5),
                ("MCSTAT_HISTORY_HOURLY_DAYS", h.hour),
            ),
            (
                ("MCSTAT_HISTORY_HOURLY_DAYS", h.hour),
                ("MCSTAT_HISTORY_DAILY_DAYS", h.day),
            ),
        ] {
            if coarser_keep < finer_keep {
                return Err(ConfigError::Check(format!(
                    "{coarser} keeps history for {} but {finer} for {}: a coarser tier must \
                     keep at least as long as a finer one{}",
                    describe_keep(coarser_keep),
                    describe_keep(finer_keep),
                    if self.watch_retention_days.is_some() {
                        " (MCSTAT_WATCH_RETENTION_DAYS caps every tier it is not set for)"
                    } else {
                        ""
                    }
                )));
            }
        }
        crate::logging::parse_filter(&self.log)
            .map_err(|e| ConfigError::Check(format!("MCSTAT_LOG: {e}")))?;
        Ok(())
    }

    /// The sending limits on `platform`: its documented ones
    /// ([`PlatformLimits::for_platform`]) with the `send_*` settings on top (each
    /// with the same 3 % [headroom](mcstat_core::outbox::HEADROOM)).
    #[must_use]
    pub fn platform_limits(&self, platform: Platform) -> PlatformLimits {
        let mut limits = PlatformLimits::for_platform(platform);
        let count = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        if let Some(n) = self.send_global_per_sec {
            limits.global = documented(count(n), Duration::from_secs(1));
        }
        if let Some(n) = self.send_chat_per_min {
            limits.chat = documented(count(n), Duration::from_secs(60));
            if platform != Platform::Telegram {
                limits.group = limits.chat;
            }
        }
        if let Some(n) = self.send_group_per_min {
            limits.group = documented(count(n), Duration::from_secs(60));
        }
        limits.answer_deadline = Duration::from_secs(self.answer_deadline_secs);
        limits
    }

    /// How the outbox works: the core's defaults with the `outbox_*` settings.
    #[must_use]
    pub fn outbox_config(&self) -> OutboxConfig {
        OutboxConfig {
            claim_ttl: Duration::from_secs(self.outbox_claim_secs),
            digest_after: usize::try_from(self.outbox_digest_after).unwrap_or(3),
            ..OutboxConfig::default()
        }
    }

    /// How long each history tier is kept: the defaults (raw 48 h, 5-minute 14 d,
    /// hourly 90 d, daily 400 d), or `watch_retention_days` mapped by
    /// [`HistoryConfig::from_retention_days`] when set, each `history_*` key set
    /// overriding its tier. The gap cap and outage threshold are the core's defaults
    /// here; [`watch_config`](Self::watch_config)`.history_config()` derives them
    /// from the interval and debounce.
    #[must_use]
    pub fn history_config(&self) -> HistoryConfig {
        const HOUR: u64 = 3600;
        const DAY: u64 = 86_400;
        let base = self
            .watch_retention_days
            .map_or_else(HistoryConfig::default, HistoryConfig::from_retention_days);
        let keep = |value: Option<u64>, unit: u64, default: Duration| {
            value.map_or(default, |v| Duration::from_secs(v.saturating_mul(unit)))
        };
        HistoryConfig {
            raw: keep(self.history_raw_hours, HOUR, base.raw),
            min5: keep(self.history_5m_days, DAY, base.min5),
            hour: keep(self.history_hourly_days, DAY, base.hour),
            day: keep(self.history_daily_days, DAY, base.day),
            ..base
        }
    }

    /// The target policy these settings ask for.
    #[must_use]
    pub fn policy(&self) -> TargetPolicy {
        TargetPolicy {
            allow: self.allow_networks.clone(),
            allow_all: self.allow_all_targets,
        }
    }

    /// The watch settings: the core's defaults with the configured interval, debounce,
    /// history retention ([`history_config`](Self::history_config)) and target policy.
    /// Stores are opened with its `history_config()`.
    #[must_use]
    pub fn watch_config(&self) -> WatchConfig {
        WatchConfig {
            interval: Duration::from_secs(self.watch_interval_secs),
            down_after: NonZeroU32::new(self.watch_down_after).unwrap_or(NonZeroU32::MIN),
            history: self.history_config(),
            // A short interval (tests, small setups) also picks up new watches sooner.
            reload_every: Duration::from_secs(self.watch_interval_secs.clamp(1, 10)),
            max_concurrency: usize::try_from(self.watch_concurrency).unwrap_or(usize::MAX),
            policy: self.policy(),
            ..WatchConfig::default()
        }
        .normalized()
    }

    /// The lookup deadline.
    #[must_use]
    pub const fn lookup_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.lookup_timeout_ms)
    }
}

/// `48 h`, `14 d`: a retention in the unit it is usually set in.
fn describe_keep(keep: Duration) -> String {
    let secs = keep.as_secs();
    if secs.is_multiple_of(86_400) {
        format!("{} d", secs / 86_400)
    } else {
        format!("{} h", secs / 3600)
    }
}

/// A list of networks: a TOML array, or one string with commas or spaces between the
/// networks (the form an environment variable can hold).
fn net_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let items = match Raw::deserialize(d)? {
        Raw::One(s) => s
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Raw::Many(v) => v,
    };
    items
        .iter()
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    #[test]
    fn defaults_are_the_file_store_and_memory_cache() {
        let c = ServiceConfig::from_source(&ConfigSource::from_toml("")).expect("defaults");
        assert_eq!(c.store, StoreKind::File);
        assert_eq!(c.cache, CacheKind::Memory);
        assert_eq!(c.store_path, PathBuf::from("mcstat.redb"));
        assert!(!c.policy().allow_all);
        assert!(c.policy().allow.is_empty());
        let w = c.watch_config();
        assert_eq!(w.interval, Duration::from_secs(60));
        assert_eq!(w.down_after.get(), 2);
        assert_eq!(w.history, HistoryConfig::default());
        let h = w.history_config();
        assert_eq!(
            (h.raw, h.min5, h.hour, h.day),
            (
                Duration::from_secs(48 * 3600),
                Duration::from_secs(14 * 86_400),
                Duration::from_secs(90 * 86_400),
                Duration::from_secs(400 * 86_400)
            )
        );
        assert_eq!(h.gap_cap, Duration::from_secs(120), "two intervals");
        assert_eq!(w.max_concurrency, 64);
        let c = ServiceConfig::from_source(&ConfigSource::from_toml("watch_concurrency = 4096"))
            .expect("the largest concurrency");
        assert_eq!(c.watch_config().max_concurrency, 4096);
        assert!(
            ServiceConfig::from_source(&ConfigSource::from_toml("watch_concurrency = 0")).is_err()
        );
        let c = ServiceConfig::from_source(&ConfigSource::from_toml(
            "watch_interval_secs = 5\nwatch_down_after = 3\nwatch_retention_days = 7",
        ))
        .expect("valid");
        let w = c.watch_config();
        assert_eq!(w.interval, Duration::from_secs(5));
        assert_eq!(w.down_after.get(), 3);
        assert_eq!(w.history, HistoryConfig::from_retention_days(7));
        let day = Duration::from_secs(86_400);
        assert_eq!(
            (w.history.raw, w.history.min5, w.history.hour, w.history.day),
            (2 * day, 7 * day, 7 * day, 7 * day)
        );
        assert_eq!(w.history_config().gap_cap, Duration::from_secs(10));
    }

    #[test]
    fn history_tiers_are_set_per_tier_and_the_old_retention_maps_onto_them() {
        let day = Duration::from_secs(86_400);
        let read = |toml: &str| ServiceConfig::from_source(&ConfigSource::from_toml(toml));
        let c = read(
            "history_raw_hours = 24\nhistory_5m_days = 7\nhistory_hourly_days = 30\n\
             history_daily_days = 730",
        )
        .expect("valid");
        let h = c.watch_config().history;
        assert_eq!(
            (h.raw, h.min5, h.hour, h.day),
            (day, 7 * day, 30 * day, 730 * day)
        );
        // The old default, 30 days: raw 48 h, 5-minute 14 d, hourly and daily 30 d.
        let h = read("watch_retention_days = 30")
            .expect("valid")
            .history_config();
        assert_eq!(
            (h.raw, h.min5, h.hour, h.day),
            (2 * day, 14 * day, 30 * day, 30 * day)
        );
        // A new key wins for its tier; the others keep the old mapping.
        let h = read("watch_retention_days = 365\nhistory_hourly_days = 60")
            .expect("valid")
            .history_config();
        assert_eq!(
            (h.raw, h.min5, h.hour, h.day),
            (2 * day, 14 * day, 60 * day, 365 * day)
        );
        for (toml, says) in [
            (
                "history_raw_hours = 0",
                "MCSTAT_HISTORY_RAW_HOURS is 0 but must be between 1 and 8760",
            ),
            (
                "history_5m_days = 4000",
                "MCSTAT_HISTORY_5M_DAYS is 4000 but must be between 1 and 3650",
            ),
            (
                "history_hourly_days = 0",
                "MCSTAT_HISTORY_HOURLY_DAYS is 0 but must be between 1 and 3650",
            ),
            (
                "history_daily_days = 3651",
                "MCSTAT_HISTORY_DAILY_DAYS is 3651 but must be between 1 and 3650",
            ),
            (
                "watch_retention_days = 0",
                "MCSTAT_WATCH_RETENTION_DAYS is 0 but must be between 1 and 3650",
            ),
            (
                "history_hourly_days = 10",
                "MCSTAT_HISTORY_HOURLY_DAYS keeps history for 10 d but MCSTAT_HISTORY_5M_DAYS for 14 d: a coarser tier must keep at least as long as a finer one",
            ),
            (
                "history_raw_hours = 400",
                "MCSTAT_HISTORY_5M_DAYS keeps history for 14 d but MCSTAT_HISTORY_RAW_HOURS for 400 h",
            ),
            (
                "history_daily_days = 30",
                "MCSTAT_HISTORY_DAILY_DAYS keeps history for 30 d but MCSTAT_HISTORY_HOURLY_DAYS for 90 d",
            ),
            (
                "watch_retention_days = 30\nhistory_5m_days = 60",
                "MCSTAT_HISTORY_HOURLY_DAYS keeps history for 30 d but MCSTAT_HISTORY_5M_DAYS for 60 d: a coarser tier must keep at least as long as a finer one (MCSTAT_WATCH_RETENTION_DAYS caps every tier it is not set for)",
            ),
        ] {
            let err = read(toml).expect_err(toml).to_string();
            assert!(err.contains(says), "{toml}: {err}");
        }
    }

    #[test]
    fn file_values_are_read_and_networks_take_both_forms() {
        let c = ServiceConfig::from_source(&ConfigSource::from_toml(
            r#"
            store = "redis"
            redis_url = "redis://127.0.0.1:6390/0"
            cache = "redis"
            log_format = "json"
            http_addr = "127.0.0.1:8080"
            allow_networks = "127.0.0.0/8, ::1"
            "#,
        ))
        .expect("valid");
        assert_eq!(c.store, StoreKind::Redis);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.http_addr, Some("127.0.0.1:8080".parse().expect("addr")));
        assert_eq!(c.allow_networks.len(), 2);
        assert!(c.policy().allow[0].contains(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))));
        let c = ServiceConfig::from_source(&ConfigSource::from_toml(
            r#"allow_networks = ["10.0.0.0/8"]"#,
        ))
        .expect("valid");
        assert_eq!(c.allow_networks.len(), 1);
    }

    #[test]
    fn errors_name_the_setting() {
        let err = ServiceConfig::from_source(&ConfigSource::from_toml(r#"store = "sqlite""#))
            .expect_err("bad store");
        let msg = err.to_string();
        assert!(msg.contains("store") && msg.contains("sqlite"), "{msg}");

        let err = ServiceConfig::from_source(&ConfigSource::from_toml(r#"store = "redis""#))
            .expect_err("redis without url");
        assert!(err.to_string().contains("MCSTAT_REDIS_URL"), "{err}");

        let err = ServiceConfig::from_source(&ConfigSource::from_toml(
            r#"redis_url = "http://user:hunter2@x""#,
        ))
        .expect_err("bad scheme");
        assert!(!err.to_string().contains("hunter2"), "{err}");

        let err = ServiceConfig::from_source(&ConfigSource::from_toml(
            r#"allow_networks = "10.0.0.0/33""#,
        ))
        .expect_err("bad net");
        assert!(err.to_string().contains("10.0.0.0/33"), "{err}");

        let err = ServiceConfig::from_source(&ConfigSource::from_toml("lookup_timeout_ms = 5"))
            .expect_err("too short");
        assert!(
            err.to_string().contains("MCSTAT_LOOKUP_TIMEOUT_MS"),
            "{err}"
        );

        let err = ServiceConfig::from_source(&ConfigSource::from_toml("watch_interval_secs = 0"))
            .expect_err("no interval");
        assert!(
            err.to_string().contains("MCSTAT_WATCH_INTERVAL_SECS"),
            "{err}"
        );
        let err = ServiceConfig::from_source(&ConfigSource::from_toml("watch_down_after = 0"))
            .expect_err("no debounce");
        assert!(err.to_string().contains("MCSTAT_WATCH_DOWN_AFTER"), "{err}");

        let err = ServiceConfig::from_source(&ConfigSource::from_toml(r#"log = "info,x=loud""#))
            .expect_err("bad filter");
        assert!(err.to_string().contains("MCSTAT_LOG"), "{err}");
    }

    #[test]
    fn a_named_file_must_exist() {
        let err = ConfigSource::load(Some(Path::new("/nonexistent/mcstat.toml")))
            .expect_err("missing file");
        assert!(matches!(err, ConfigError::MissingFile(_)));
    }
}
