//! The mcstat Telegram bot: configuration, wiring, rendering of the core's view models
//! to Telegram HTML, and Telegram I/O. The behaviour lives in `mcstat-core`.

pub mod api;
pub mod listener;
