#!/usr/bin/env bash
# End-to-end benchmarks, one command (README: "Benchmarks"; results in BENCHMARKS.md).
#
# Installs the peers' dependencies when missing (scripts/install-test-deps.sh: the npm
# packages and the mcstatus venv), builds the driver in release mode and runs
# `mcstat-bench run`: it starts local peers (our Java, Query and Bedrock responders, in
# their own process), runs every workload with every tool interleaved, and prints
# markdown tables (medians, ratios to ours and to the raw-socket floor) and the heap
# per in-flight lookup. Arguments go to `mcstat-bench run`:
#   --quick         a short smoke run (fewer lookups, one round)
#   --json FILE     also write every figure (and per-round throughput) as JSON
#
# Not a test: never run by scripts/test.sh. Takes about two minutes on 2 cores.
#
# scripts/bench.sh --watch-scale [ARGS]: the watch-scale benchmark instead
# (`mcstat-bench watch-scale`: the real scheduler polling N loopback Java responders,
# N = 1,000, 10,000 and 100,000 at a 60 s interval; CPU share, peak RSS, polls/s).
# ARGS: --n 1000,10000 --interval SECS --window SECS --concurrency C --current-thread
# --min-round-ms MS (rounds at least MS apart) --json FILE, --redis-history (keep the
# history in a real Redis store on a redis-server the driver starts; reports its CPU
# share and memory per server next to the scheduler's).
# Needs no peers; about 5 minutes. Binds up to N listeners on 127.10.x.y (ports
# 20000-20009) and raises its own open-file limit (above the hard limit only as root).
#
# scripts/bench.sh --history [ARGS]: the history benchmark (`mcstat-bench history`:
# bytes per server-year in Redis and in the file store, old format against the tiered
# one; file-store append throughput; /graph read times). Starts its own redis-server
# (installed by scripts/install-test-deps.sh). ARGS: --servers N --appends N --json FILE.
#
# scripts/bench.sh --storm [ARGS]: the notification-storm benchmark (`mcstat-bench
# storm`: 10,000 notifications, one per chat, then 100 chats × 100 (digests), pushed
# through the outbox and drained by the dispatcher and pacer into an in-process fake
# platform that enforces Telegram's limits at scaled rates; drain time against the
# floor, lost, duplicates, 429s; the memory, file and Redis stores side by side with
# the old way: everything at once, retried after retry_after, 4 attempts). Starts its
# own redis-server (skipped with a message when it cannot). ARGS: --notifications N
# --rate PER_S (500: Telegram's limits 16.7× faster; 30: unscaled) --latency-ms MS
# --push-concurrency C --attempts N --stores memory,file,redis --no-old --json FILE.
# About 3 minutes at the default rate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cache="${MCSTAT_CACHE:-$HOME/.cache/mcstat}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"

if [[ "${1:-}" == "--history" ]]; then
  shift
  command -v redis-server >/dev/null 2>&1 || bash scripts/install-test-deps.sh >/dev/null
  cargo build --release --locked -p mcstat-bench >&2
  echo "# mcstat history benchmark"
  echo
  echo "- command: scripts/bench.sh --history $*"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr), $(rustc --version), $(redis-server --version | cut -d' ' -f1-3)"
  echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$CARGO_TARGET_DIR/release/mcstat-bench" history "$@"
  echo
  echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

if [[ "${1:-}" == "--storm" ]]; then
  shift
  command -v redis-server >/dev/null 2>&1 || bash scripts/install-test-deps.sh >/dev/null || true
  cargo build --release --locked -p mcstat-bench >&2
  redis_version="$(redis-server --version 2>/dev/null | cut -d' ' -f1-3 || true)"
  echo "# mcstat notification-storm benchmark"
  echo
  echo "- command: scripts/bench.sh --storm $*"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr), $(rustc --version), ${redis_version:-no redis-server}"
  echo "- temporary directory (the file store): $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')"
  echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$CARGO_TARGET_DIR/release/mcstat-bench" storm "$@"
  echo
  echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

if [[ "${1:-}" == "--watch-scale" ]]; then
  shift
  cargo build --release --locked -p mcstat-bench >&2
  echo "# mcstat watch-scale benchmark"
  echo
  echo "- command: scripts/bench.sh --watch-scale $*"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr), $(rustc --version)"
  echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$CARGO_TARGET_DIR/release/mcstat-bench" watch-scale "$@"
  echo
  echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

while IFS='=' read -r key value; do
  export "$key=$value"
done < <(bash scripts/install-test-deps.sh)

cargo build --release --locked -p mcstat-bench >&2

echo "# mcstat end-to-end benchmark"
echo
echo "- command: scripts/bench.sh $*"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- tools: mcstatus $("$MCSTAT_PYTHON" -c 'import importlib.metadata as m; print(m.version("mcstatus"))') on $("$MCSTAT_PYTHON" --version 2>&1),"\
  "minecraft-server-util $(node -p "require('$MCSTAT_NODE_MODULES/minecraft-server-util/package.json').version") on node $(node --version),"\
  "craftping $(grep -A1 '^name = "craftping"' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p'), $(rustc --version)"
"$CARGO_TARGET_DIR/release/mcstat-bench" run "$@"
echo
echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
