#!/usr/bin/env bash
# The browser tests of the hall screen and the printable project report: installs Chromium (Debian) and
# playwright-core (npm) if missing, starts the real server on a scratch
# SQLite database with demo data, and runs tests/browser/display.test.js and
# tests/browser/report.test.js.
# Screenshots go to $ARTIFACTS (default target/browser-artifacts).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
NODE_DIR="${MULIN_BROWSER_CACHE:-$HOME/.cache/mulin-browser}"
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent playwright-core@1 >/dev/null
fi

cargo build --quiet --bin mulin
export SCREEN_BIN="$CARGO_TARGET_DIR/debug/mulin"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export SCREEN_DB="$scratch/screen.db"
export SCREEN_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ARTIFACTS="${ARTIFACTS:-$PWD/target/browser-artifacts}"
mkdir -p "$ARTIFACTS"
MULIN_DATABASE_URL="$SCREEN_DB" "$SCREEN_BIN" migrate >/dev/null
# Demo data: serve --demo seeds and serves; stop it once it answers.
MULIN_DATABASE_URL="$SCREEN_DB" MULIN_LISTEN="127.0.0.1:$SCREEN_PORT" RUST_LOG=warn "$SCREEN_BIN" serve --demo >/dev/null &
seed=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$SCREEN_PORT/readyz" >/dev/null && break; sleep 0.2; done
kill "$seed"; wait "$seed" 2>/dev/null || true
# Each test fails within two minutes rather than hang (a watchdog in the test
# names the step). A failure is run once more, and says so: on 2026-11-23 the
# report test hung once, before its first check finished, in a CI run, and
# passed at once when run again; the cause is not known.
run_browser_test() {
  if ! NODE_PATH="$NODE_DIR/node_modules" node "$1"; then
    echo "$1 failed; running it once more"
    NODE_PATH="$NODE_DIR/node_modules" node "$1"
  fi
}
run_browser_test tests/browser/display.test.js
run_browser_test tests/browser/report.test.js
