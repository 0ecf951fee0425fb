#!/usr/bin/env bash
# The main job of e-permit against a running issuer service, step by step:
# permitd starts on a free loopback port with a fresh store; a resident
# applies; an officer approves; the wallet scans the offer QR and receives
# its credential and shows a QR; a verifier syncs the trust data and scans
# the QR offline; a revoker revokes; after the next sync the same scan is
# refused. Needs curl.
set -euo pipefail
BIN=$(cd "${1:-bin}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
cd "$DIR"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed "s#$BIN/##g; s#$ROOT/##g" >&2; }
run() { show "$@"; "$@"; }
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }   # one string field of a JSON answer

step "1. The issuer service starts: embedded store, keys generated on first start"
"$BIN/permitd" --data var --addr 127.0.0.1:0 >permitd.out 2>permitd.log &
PID=$!
for _ in $(seq 100); do grep -q '^Next:' permitd.out 2>/dev/null && break; sleep 0.05; done
sed '/^Next:/d' permitd.out
BASE=$(sed -n 's/^permitd listening on \([^ ]*\).*/\1/p' permitd.out)
PIN=$(sed -n 's/.*root key \([^ ]*\).*/\1/p' permitd.out)
ADMIN=$(sed -n 's/^  \(ept_[^ ]*\)$/\1/p' permitd.out)
OFFICER=$(PERMITD_TOKEN=$ADMIN "$BIN/permitd" token create --server "$BASE" --role officer --name "counter 3")
REVOKER=$(PERMITD_TOKEN=$ADMIN "$BIN/permitd" token create --server "$BASE" --role revoker --name "revocation desk")
echo "officer and revoker tokens made with: permitd token create --server $BASE --role officer|revoker"

step "2. A resident applies; an application that fails is told every unmet condition"
printf '{"application": %s}' "$(cat "$ROOT/examples/invalid-short-residence.json")" > bad.json
show curl -s -X POST "$BASE/v1/applications" -d @bad.json
curl -s -H 'Content-Type: application/json' -X POST "$BASE/v1/applications" -d @bad.json | sed 's/"secret":"[^"]*",//'; echo
printf '{"application": %s}' "$(cat "$ROOT/examples/application-adult-hangzhou.json")" > app.json
show curl -s -X POST "$BASE/v1/applications" -d @app.json
curl -s -H 'Content-Type: application/json' -X POST "$BASE/v1/applications" -d @app.json > app.out
sed 's/"secret":"[^"]*"/"secret":"(kept by the resident)"/' app.out; echo
ID=$(field id < app.out)

step "3. An officer approves: the permit and a credential offer (link and QR, single use, 15 minutes)"
show curl -s -X POST "$BASE/v1/applications/$ID/approve" -H "Authorization: Bearer \$OFFICER"
curl -s -X POST "$BASE/v1/applications/$ID/approve" -H "Authorization: Bearer $OFFICER" > permit.json
NO=$(field number < permit.json)
sed 's/"qr_png":"[^"]*"/"qr_png":"(PNG)"/; s/"history":\[[^]]*\],//' permit.json; echo
field qr_png < permit.json | base64 -d > offer.png
echo "offer QR: offer.png ($(wc -c < offer.png) bytes)"

step "4. The resident's wallet scans the offer QR: token, proof of its device key, credential"
run "$BIN/permit" wallet init --dir wallet >/dev/null
run "$BIN/permit" wallet trust --dir wallet --from "$BASE" --pin "$PIN"   # offers only from issuers this trust list names
run "$BIN/permit" wallet accept --dir wallet --qr offer.png
run "$BIN/permit" wallet show --dir wallet --purpose public-service --qr code.png

step "5. The counter's verifier syncs its trust data once (checked before it replaces anything), then scans offline"
run "$BIN/permit" verifier sync --from "$BASE" --pin "$PIN" --dir verifier-cache
run "$BIN/permit" verify --cache verifier-cache --purpose public-service --qr code.png

step "6. The same code for a credit loan: refused, whatever the status"
run "$BIN/permit" verify --cache verifier-cache --purpose credit-loan --qr code.png || true

step "7. A revoker revokes the permit; the served status list changes at once"
show curl -s -X POST "$BASE/v1/permits/$NO/revoke" -H "Authorization: Bearer \$REVOKER" -d '{"reason": "..."}'
curl -s -X POST "$BASE/v1/permits/$NO/revoke" -H "Authorization: Bearer $REVOKER" -H 'Content-Type: application/json' \
  -d '{"reason": "the holder left the city"}' | sed 's/"history":\[[^]]*\],//'; echo

step "8. The verifier's next sync fetches only what changed; the same scan is refused as revoked"
run "$BIN/permit" verifier sync --dir verifier-cache
if run "$BIN/permit" verify --cache verifier-cache --purpose public-service --qr code.png; then
  echo "demo: a revoked permit verified" >&2; exit 1
fi

step "9. What the service logged (no tokens, no citizen ID numbers) and its audit chain"
tail -n 4 permitd.log
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
run "$BIN/permitd" audit verify --data var
printf '\n\033[1mDone.\033[0m\n'
