//! What every long-running mcstat frontend needs, so each bot stays thin.
//!
//! | module       | what it holds |
//! |--------------|---------------|
//! | [`backend`]  | [`backend::Backend`]: the network source, cache, store and clock the configuration asks for, and the core services over them |
//! | [`delivery`] | [`delivery::Delivery`]: one platform's outbox (pacer, dispatcher, durable notifier) with its metrics and `/healthz` state |
//! | [`config`]   | [`ConfigSource`]: an optional TOML file with `MCSTAT_*` environment variables on top; [`ServiceConfig`], the settings every frontend shares, validated with messages that name the variable |
//! | [`logging`]  | [`init_logging`]: human-readable logs, or JSON lines in production |
//! | [`ops`]      | the `/healthz`, `/readyz` and `/metrics` router, the Prometheus recorder, serving with graceful shutdown |
//! | [`shutdown`] | [`shutdown_signal`]: SIGTERM or Ctrl-C |
//! | [`secret`]   | [`Secret`]: a string that never shows in `Debug` output or logs |
//!
//! Architecture invariant: nothing here knows a chat platform. A frontend reads its own
//! settings from the same [`ConfigSource`], and merges its own routes (e.g. a webhook)
//! into the [`ops::router`].

pub mod backend;
pub mod config;
pub mod delivery;
pub mod logging;
pub mod ops;
pub mod secret;
pub mod shutdown;

pub use config::{CacheKind, ConfigError, ConfigSource, ServiceConfig, StoreKind};
pub use logging::{LogFormat, init_logging};
pub use secret::Secret;
pub use shutdown::shutdown_signal;
