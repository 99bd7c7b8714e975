//! mcstat-api integration tests: the API in-process on port 0, real peers.
//!
//! Needs `MCSTAT_NODE_MODULES` (npm peers) and `MCSTAT_PYTHON` (the venv with
//! schemathesis): `eval "$(bash scripts/install-test-deps.sh)"` and export them.

#[path = "../../../../tests/interop/support.rs"]
mod support;

mod e2e;
mod errors;
mod harness;
mod history;
mod packaging;
mod schemathesis;
