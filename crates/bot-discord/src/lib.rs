//! The mcstat Discord bot.
//!
//! Not written yet: this crate is filled by its own issue once the core and adapters
//! exist. It has no binary yet, so nothing here pretends to work.
