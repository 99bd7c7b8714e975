//! `mcstat`: is the Minecraft server up, and who is on it?
//!
//! This facade re-exports the workspace crates behind features so an application needs
//! one dependency:
//!
//! | feature    | re-export              | what it is |
//! |------------|------------------------|------------|
//! | `protocol` | [`protocol`]           | sans-IO codecs for Java SLP, legacy ping, Query, Bedrock; MOTD text; addresses |
//! | `net`      | `protocol::net`        | tokio clients, responders and SRV resolution |
//! | `core`     | `core`                 | domain types, ports and services |
//! | `adapters` | `adapters`             | network source, caches and stores |

#[cfg(feature = "protocol")]
pub use mc_protocol as protocol;

#[cfg(feature = "core")]
pub use mcstat_core as core;

#[cfg(feature = "adapters")]
pub use mcstat_adapters as adapters;
