#!/usr/bin/env bash
# install-deps.sh — installs what CONVO needs to build, run and test, from Debian's packages and npm.
# Idempotent and quiet when everything is present; never prompts; runs as root with no TTY.
# `apt-get update` runs at most once, and only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
  build-essential cmake pkg-config
  libuv1-dev libhttp-parser-dev libwslay-dev libjansson-dev libsodium-dev
  libcjose-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev libhiredis-dev
  libssl-dev libcmocka-dev zlib1g-dev
  sqlite3 wrk curl
  redis-server redis-tools  # bench/relay.sh's reference (PUBLISH); the Redis bus will need them
  chromium fonts-noto-cjk   # tests/browser: headless Chromium driven by playwright-core; Hangul glyphs
)

missing=()
for p in "${DEBS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js (>= 18 for node --test and fetch): keep whatever node is already there.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

# npm packages used by the tests (package.json); installed once, from the lock file when present.
if [ -f package.json ] && grep -q '"dependencies"\|"devDependencies"' package.json; then
  if [ ! -d node_modules ] || [ package.json -nt node_modules ]; then
    if [ -f package-lock.json ]; then
      npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null
    else
      npm install --no-audit --no-fund --loglevel=error </dev/null >/dev/null
    fi
    touch node_modules
  fi
fi
