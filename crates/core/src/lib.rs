//! mcstat core: domain types, ports and services shared by every frontend.
//!
//! No network, no clock of its own, no platform SDK, no Redis: time comes in through
//! the [`ports::Clock`] port, servers through [`ports::StatusSource`], state through
//! the store ports. Frontends (bots, CLI, HTTP API) call the services and render the
//! platform-neutral view models they return.
//!
//! | module      | what it holds |
//! |-------------|---------------|
//! | [`domain`]  | types that can only hold valid values: [`domain::Target`], [`domain::ChatRef`], [`domain::StatusReport`], ... |
//! | [`policy`]  | [`policy::TargetPolicy`]: which IP addresses may be contacted |
//! | [`ports`]   | the async traits adapters implement, with their contracts |
//! | [`lookup`]  | [`lookup::LookupService`]: policy → rate limit → cache → single-flight → source |
//! | [`chart`]   | [`chart::ChartRange`], [`chart::ChartRequest`] and the series preparation behind `/graph` (drawn by a [`ports::ChartRenderer`]) |
//! | [`chat`]    | [`chat::ChatService`]: the bot commands as functions returning view models |
//! | [`history`] | compact tiered history: raw samples, 5-minute/hourly/daily rollups, outages ([`history::prepare`], [`history::HistoryReader`]) |
//! | [`watch`]   | [`watch::WatchService`] (`/watch`, `/unwatch`, `/watches`, `/uptime`), [`watch::Scheduler`] (polls, transitions, notifications, history), uptime maths |

#![deny(missing_docs)]

pub mod chart;
pub mod chat;
pub mod domain;
pub mod history;
pub mod lookup;
pub mod outbox;
pub mod policy;
pub mod ports;
pub mod watch;

pub use chart::{ChartRange, ChartRangeError, ChartRequest, ChartSeries};
pub use chat::{ChatRequest, ChatService, Command, Reply, View};
pub use domain::{
    AuditEntry, ChatRef, ChatState, Freshness, HistorySample, MotdText, Observed, OfflineReason,
    Platform, PlayerList, PlayerSource, Protocol, StatusOutcome, StatusReport, Target, Timestamp,
    UserRef, Watch,
};
pub use lookup::{LookupConfig, LookupError, LookupService};
pub use policy::{PolicyViolation, TargetPolicy};
pub use watch::{Scheduler, SchedulerPorts, WatchConfig, WatchError, WatchService};
