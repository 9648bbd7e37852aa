#!/usr/bin/env bash
# Schemathesis against the real server and its own OpenAPI document: the five
# checks of the contract (no 5xx, response bodies, content types and status codes
# as documented, invalid data refused), for an anonymous caller, a resident, an
# organization's owner and a platform admin, on a scratch SQLite database with
# the demo data. Fails on any failure. Pinned (requirements.txt, installed into a
# cached virtualenv), fixed seed, a time budget per caller
# (SCHEMATHESIS_SECONDS, default 75). One worker: two threads trip a CPython 3.11
# race in ast.parse inside hypothesis ("AST constructor recursion depth mismatch").
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

VENV="${SCHEMATHESIS_VENV:-$HOME/.cache/mulin-schemathesis}"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q '4\.32\.5'; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/schemathesis/requirements.txt
fi

cargo build --quiet --bin mulin
bin="$CARGO_TARGET_DIR/debug/mulin"
scratch=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
MULIN_DATABASE_URL="$scratch/fuzz.db" MULIN_LISTEN="127.0.0.1:$port" RUST_LOG=warn \
  "$bin" serve --demo >"$scratch/demo.txt" 2>"$scratch/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; tail -n 5 "$scratch/server.log" >&2; rm -rf "$scratch"' EXIT
for _ in $(seq 1 150); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.2; done
curl -fs "$base/readyz" >/dev/null

# Access tokens of the demo's logins (see `serve --demo`).
token() {
  curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"phone\": \"$1\", \"password\": \"mulin-demo-2026\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
resident=$(token +8613700000000)
owner=$(token +8613900000000)
admin=$(token +8613800000000)

budget="${SCHEMATHESIS_SECONDS:-75}"
failed=0
fuzz() {
  local who=$1
  shift
  echo "== schemathesis as $who (${budget}s)"
  # A signed-in run must not sign its own caller out (logout, DELETE /me).
  if ! "$VENV/bin/schemathesis" run "$base/api/v1/openapi.json" --url "$base" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance,negative_data_rejection \
    --max-time "$budget" --seed 2026 --workers 1 --request-timeout 10 \
    --exclude-operation-id logout --exclude-operation-id erase \
    --report junit --report-junit-path "$CARGO_TARGET_DIR/schemathesis-$who.xml" \
    "$@" >"$scratch/$who.txt" 2>&1; then
    failed=1
    cat "$scratch/$who.txt"
  else
    grep -E 'generated|passed|failed' "$scratch/$who.txt" | tail -n 3
  fi
}
fuzz anonymous
fuzz resident -H "Authorization: Bearer $resident"
fuzz owner -H "Authorization: Bearer $owner"
fuzz admin -H "Authorization: Bearer $admin"

# `request failed` is how ApiError logs an internal error (a 500).
if grep -q 'request failed\|panicked' "$scratch/server.log"; then
  echo "FAIL: the server logged an internal error or a panic" >&2
  grep -n 'request failed\|panicked' "$scratch/server.log" | head -n 20 >&2
  failed=1
fi
if [ "$failed" -ne 0 ]; then
  echo "FAIL: schemathesis found failures (above)" >&2
  exit 1
fi
echo "schemathesis: no failures"
