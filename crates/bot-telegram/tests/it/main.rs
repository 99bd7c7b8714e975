//! Integration tests of the Telegram bot: rendering, and end to end against a fake
//! Bot API (npm telegram-test-api behind tests/peers/telegram-api.js) and a real
//! Minecraft server (npm minecraft-protocol).

mod render;
