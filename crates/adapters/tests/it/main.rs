//! Integration tests of the adapters: the network source against real servers (npm
//! `minecraft-protocol` and `bedrock-protocol`, mc-protocol's responders, dnsmasq for
//! names), the target policy on real sockets, and the memory cache.
//!
//! Run through `scripts/test.sh`, which installs the peers and sets
//! `MCSTAT_NODE_MODULES`; a test that needs a missing peer fails saying so.

#[path = "../../../../tests/interop/support.rs"]
mod support;

mod bedrock;
mod cache;
mod dns;
mod java;
mod offline;
mod players;
mod policy;
mod util;
