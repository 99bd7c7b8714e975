//! Integration tests of the Discord bot: snapshots of every view (pure functions)
//! and end-to-end runs through the HTTP interactions endpoint (`e2e`, which needs the
//! npm peers: `MCSTAT_NODE_MODULES`, set by `scripts/install-test-deps.sh`).

mod e2e;
mod fake_discord;
mod snapshot;
mod storm;
mod support;
mod views;
mod watch;
