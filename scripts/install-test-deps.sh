#!/usr/bin/env bash
# Installs everything the test suite needs that cargo does not: Debian packages
# (qstat, dnsmasq, redis-server), the pinned npm peers and a Python venv with mcstatus,
# schemathesis and openapi-spec-validator.
# Idempotent and cached outside the clone (MCSTAT_CACHE, default ~/.cache/mcstat), so a
# second run on the same machine takes seconds. Prints the environment the tests read.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${MCSTAT_CACHE:-$HOME/.cache/mcstat}"
mkdir -p "$cache"

log() { echo "[install-test-deps] $*" >&2; }

# --- Debian packages -------------------------------------------------------------
need_apt=()
command -v quakestat >/dev/null 2>&1 || need_apt+=(qstat)
command -v dnsmasq >/dev/null 2>&1 || need_apt+=(dnsmasq-base)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if ((${#need_apt[@]})); then
  log "apt-get install ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

# --- npm peers (pinned in tests/peers/package.json) --------------------------------
peers="$cache/peers"
mkdir -p "$peers"
if ! cmp -s "$here/tests/peers/package.json" "$peers/package.json" || [ ! -d "$peers/node_modules/minecraft-protocol" ] || [ ! -d "$peers/node_modules/telegram-test-api" ]; then
  log "npm install peers into $peers"
  cp "$here/tests/peers/package.json" "$peers/package.json"
  (cd "$peers" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi

# --- Python venv: mcstatus (interop peer), schemathesis and openapi-spec-validator
# (the HTTP API's OpenAPI document) ---------------------------------------------------
venv="$cache/venv"
python_pins=('mcstatus==14.2.0' 'schemathesis==4.32.5' 'hypothesis==6.170.17' 'openapi-spec-validator==0.9.0')
venv_ok() {
  [ -x "$venv/bin/python" ] || return 1
  local frozen
  frozen="$("$venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null)" || return 1
  for pin in "${python_pins[@]}"; do
    grep -qixF "$pin" <<<"$frozen" || return 1
  done
}
if ! venv_ok; then
  log "python venv with ${python_pins[*]} into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${python_pins[@]}" >&2
fi

echo "MCSTAT_NODE_MODULES=$peers/node_modules"
echo "MCSTAT_PYTHON=$venv/bin/python"
