//! The mcstat Discord bot: slash commands, colour-coded embeds, components and live
//! status messages, over the shared core services.
//!
//! Interactions are handled by pure functions ([`interact::classify`] decides,
//! [`render::render_reply`] draws); [`app::Bot::dispatch`] glues them to the core
//! services, and both ways of running call it: the gateway ([`gateway`]) and the HTTP
//! interactions endpoint ([`http`]).
//!
//! | module       | what it holds |
//! |--------------|---------------|
//! | [`wire`]     | Discord's interaction wire format (serde structs) |
//! | [`interact`] | interaction → action (pure), autocomplete choices |
//! | [`render`]   | core view models → embeds, buttons, select menu, icon attachment (pure) |
//! | [`ansi`]     | MOTD → Discord's ANSI code block subset |
//! | [`commands`] | the slash commands (help table and registration JSON) |
//! | [`app`]      | [`app::Bot`]: dispatch, deferred replies, guild recent servers |
//! | [`live`]     | live status messages (stored as marker watches), refresh loop, audit |
//! | [`rest`]     | Discord REST client: rate limits, retries, base URL override |
//! | [`verify`]   | Ed25519 check of the HTTP interactions endpoint |
//! | [`http`]     | the HTTP interactions endpoint (axum) |
//! | [`gateway`]  | the serenity gateway client |
//! | [`config`]   | the bot's settings |
//! | [`wiring`]   | building the bot from its configuration, and running it |

pub mod ansi;
pub mod app;
pub mod commands;
pub mod config;
pub mod gateway;
pub mod http;
pub mod interact;
pub mod live;
pub mod render;
pub mod rest;
pub mod verify;
pub mod wire;
pub mod wiring;
