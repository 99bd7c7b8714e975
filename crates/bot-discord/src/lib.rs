//! The mcstat Discord bot: slash commands, colour-coded embeds, components and live
//! status messages, over the shared core services.
//!
//! | module     | what it holds |
//! |------------|---------------|
//! | [`wire`]   | Discord's interaction wire format (serde structs) |
//! | [`ansi`]   | MOTD → Discord's ANSI code block subset |
//! | [`verify`] | Ed25519 check of the HTTP interactions endpoint |
//! | [`rest`]   | Discord REST client: rate limits, retries, base URL override |

pub mod ansi;
pub mod rest;
pub mod verify;
pub mod wire;
