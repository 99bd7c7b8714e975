#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while (default 60 s each) on its committed
# corpus. Needs cargo-fuzz (`cargo install cargo-fuzz`); libFuzzer needs a nightly
# compiler, or RUSTC_BOOTSTRAP=1 on stable, which this script sets.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
secs="${1:-60}"; shift || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  echo "==> fuzzing $t for ${secs}s" >&2
  # New inputs go to a scratch corpus outside the tree; the committed seeds are read only.
  scratch="${FUZZ_WORK:-${TMPDIR:-/tmp}/mcstat-fuzz}/$t"
  mkdir -p "$scratch" "corpus/$t"
  cargo fuzz run "$t" "$scratch" "corpus/$t" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
done
