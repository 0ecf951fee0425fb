#!/usr/bin/env bash
# make interop: independent OpenID4VCI and SD-JWT VC libraries, pinned in
# interop/package-lock.json, against a real permitd on loopback with a fresh
# store (docs/interop.md). Usage: interop/run.sh [BIN_DIR]; needs Node.js 20
# or later and npm. EPERMIT_HOLDER_KEYS=Ed25519,P-256 picks the holder key
# kinds (default Ed25519).
set -euo pipefail
BIN=$(cd "${1:-bin}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)

command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "make interop: node and npm are required (Node.js 20 or later)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "make interop: Node.js $(node --version) is too old; the pinned libraries need 20 or later" >&2
  exit 1
fi
echo "== npm ci (interop/package-lock.json)"
(cd "$ROOT/interop" && npm ci --no-audit --no-fund --loglevel=error)

DIR=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

echo "== permitd on loopback, fresh store in $DIR"
"$BIN/permitd" --data "$DIR/var" --addr 127.0.0.1:0 --rate-limit 1000 >"$DIR/permitd.out" 2>"$DIR/permitd.log" &
PID=$!
for _ in $(seq 200); do
  grep -q '^Next:' "$DIR/permitd.out" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$DIR/permitd.out" "$DIR/permitd.log" >&2; echo "make interop: permitd did not start" >&2; exit 1; }
  sleep 0.05
done
BASE=$(sed -n 's/^permitd listening on \([^ ]*\).*/\1/p' "$DIR/permitd.out")
PIN=$(sed -n 's/.*root key \([^ ]*\).*/\1/p' "$DIR/permitd.out")
ADMIN=$(sed -n 's/^  \(ept_[^ ]*\)$/\1/p' "$DIR/permitd.out")
if [ -z "$BASE" ] || [ -z "$PIN" ] || [ -z "$ADMIN" ]; then
  cat "$DIR/permitd.out" >&2
  echo "make interop: could not read the address, root key and admin token from permitd's banner" >&2
  exit 1
fi
OFFICER=$(PERMITD_TOKEN=$ADMIN "$BIN/permitd" token create --server "$BASE" --role officer --name "interop officer")
REVOKER=$(PERMITD_TOKEN=$ADMIN "$BIN/permitd" token create --server "$BASE" --role revoker --name "interop revoker")
echo "   $BASE"

echo "== node --test (interop/*.test.mjs)"
cd "$ROOT/interop"
status=0
EPERMIT_BASE=$BASE EPERMIT_PIN=$PIN EPERMIT_OFFICER=$OFFICER EPERMIT_REVOKER=$REVOKER EPERMIT_PERMIT="$BIN/permit" \
  node --test --test-reporter=spec ./*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "== the last lines of permitd's log" >&2
  tail -n 40 "$DIR/permitd.log" >&2
fi
exit "$status"
