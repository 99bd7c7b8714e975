//! Interop tests: our clients against independent servers, and independent clients
//! against our responders. Run through `scripts/test.sh`, which installs the peers.
//!
//! One module per protocol; `support` holds the peer plumbing.

mod bedrock;
mod java;
mod legacy;
mod query;
mod srv;
mod support;
