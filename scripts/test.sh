#!/usr/bin/env bash
# The one command that runs every test (README: "Run all tests"; CI runs exactly this).
#
# 1. installs what the tests need and cargo does not (scripts/install-test-deps.sh:
#    qstat, dnsmasq, redis-server, the pinned npm peers, a venv with mcstatus and
#    schemathesis);
# 2. checks formatting and clippy (-D warnings) on every target;
# 3. runs the whole test suite (unit, proptest, hostile-peer and interop tests), the
#    doc tests, and checks that every fuzz target still builds.
#
# Build artefacts go to CARGO_TARGET_DIR when set, else to a cache outside the clone
# (~/.cache/mcstat/target), so repeated runs on one machine stay fast.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cache="${MCSTAT_CACHE:-$HOME/.cache/mcstat}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL=0

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing test dependencies"
while IFS='=' read -r key value; do
  export "$key=$value"
done < <(bash scripts/install-test-deps.sh)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --locked --no-fail-fast
else
  cargo test --workspace --all-features --locked --no-fail-fast
fi

step "doc tests"
cargo test --workspace --all-features --locked --doc

step "fuzz targets build"
cargo check --manifest-path fuzz/Cargo.toml --bins

step "all tests passed"
