//! Integration tests of the Telegram bot: rendering, and end to end against a fake
//! Bot API (npm telegram-test-api behind tests/peers/telegram-api.js) and a real
//! Minecraft server (npm minecraft-protocol).
//!
//! `fake_bot_api` is a second fake Bot API, in process and in Rust, that enforces
//! Telegram's documented rate and content limits (429s, 400s) for tests at scale.
//!
//! The end-to-end tests need `MCSTAT_NODE_MODULES` (printed by
//! `scripts/install-test-deps.sh`); without it they fail saying so.

#[path = "../../../../tests/interop/support.rs"]
mod support;

// The adapters' redis-server fixture (a server of the test's own on a free port).
#[allow(dead_code, unreachable_pub)]
#[path = "../../../adapters/tests/support/redis_server.rs"]
mod redis_server;

mod e2e;
mod fake_bot_api;
mod harness;
mod migrate;
mod render;
mod storm;
mod watch;
