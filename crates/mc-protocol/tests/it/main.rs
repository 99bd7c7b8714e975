//! mc-protocol integration tests (one binary, a module per area): the tokio clients
//! against our own responders and against hostile servers.

#![cfg(feature = "tokio")]

mod address;
mod bedrock;
mod java;
mod legacy;
mod query;
