//! The mcstat Telegram bot: configuration, wiring, rendering of the core's view models
//! to Telegram HTML, and Telegram I/O. The behaviour lives in `mcstat-core`; what every
//! long-running frontend needs (config sources, logging, ops endpoints, shutdown) in
//! `mcstat-service`.

pub mod api;
pub mod config;
pub mod dispatch;
pub mod handlers;
pub mod listener;
pub mod notify;
pub mod render;
pub mod run;
