//! Integration tests of the Telegram bot: rendering, and end to end against a fake
//! Bot API (npm telegram-test-api behind tests/peers/telegram-api.js) and a real
//! Minecraft server (npm minecraft-protocol).
//!
//! The end-to-end tests need `MCSTAT_NODE_MODULES` (printed by
//! `scripts/install-test-deps.sh`); without it they fail saying so.

#[path = "../../../../tests/interop/support.rs"]
mod support;

mod e2e;
mod harness;
mod render;
