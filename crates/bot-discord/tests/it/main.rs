//! Integration tests of the Discord bot: snapshots of every view (pure functions)
//! and end-to-end runs through the HTTP interactions endpoint.

mod snapshot;
mod views;
