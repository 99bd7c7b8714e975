//! Shared by the adapters' integration tests: a `redis-server` fixture, sample values
//! and the contract suites every store, cache and limiter must pass.
//!
//! Each test binary uses part of it.
#![allow(dead_code)]

pub(crate) mod contract;
pub(crate) mod limiter_contract;
pub(crate) mod outbox_contract;
pub(crate) mod redis_server;
pub(crate) mod samples;
