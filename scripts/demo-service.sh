#!/usr/bin/env bash
# make demo: the main job of e-permit end to end, against a real issuer
# service, in a temporary directory. permitd starts on a free loopback port
# with a fresh store; an ineligible application is told every unmet
# condition; an eligible one is approved by an officer; the wallet scans the
# offer QR, receives its credential and shows a live QR; a verifier syncs
# the trust data and verifies the QR offline; a revoker revokes; after the
# next sync the same scan is refused. Needs curl.
#
# Every line that starts with "$ " is a command exactly as this script runs
# it (one shell, through eval): pasted in order into a shell in an empty
# directory, the lines do the same. scripts/newcomer_test.go runs them so.
#
# Usage: scripts/demo-service.sh [BINDIR]   (BINDIR holds permit and permitd; default bin)
set -euo pipefail
BIN=$(cd "${1:-bin}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
cd "$DIR"

# shellcheck source=scripts/transcript.sh
. "$ROOT/scripts/transcript.sh"

step "0. The binaries and the examples; two shell helpers"
run "export PATH=\"$BIN:\$PATH\" EXAMPLES=\"$ROOT/examples\""
run 'json() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }     # one string field of a JSON answer'
run "$refused"

step "1. The issuer service starts: embedded store, keys generated on first start"
run 'permitd --data var --addr 127.0.0.1:0 > permitd.out 2> permitd.log & PID=$!'
run 'until grep -q "^Next:" permitd.out 2>/dev/null; do kill -0 $PID; sleep 0.1; done   # listening'
run "sed '/^Next:/,\$d' permitd.out"
run 'eval "$(grep "^  export PERMITD_URL=" permitd.out)"   # its address, root key and administrator token, as it printed them'
run 'OFFICER=$(permitd token create --server "$PERMITD_URL" --role officer --name "counter 3")'
run 'REVOKER=$(permitd token create --server "$PERMITD_URL" --role revoker --name "revocation desk")'

step "2. A resident applies; an application that fails is told every unmet condition"
run '"$EXAMPLES/dated.sh" short-residence > short-residence.json   # moved to Hangzhou three months ago'
run 'curl -s -X POST "$PERMITD_URL/v1/applications" -H "Content-Type: application/json" -d "{\"application\": $(cat short-residence.json)}" -o refused.json'
run "sed 's/\"secret\":\"[^\"]*\"/\"secret\":\"(kept by the resident)\"/' refused.json"
run 'curl -s -X POST "$PERMITD_URL/v1/applications" -H "Content-Type: application/json" -d "{\"application\": $(cat "$EXAMPLES/application-adult-hangzhou.json")}" -o application.json'
run "sed 's/\"secret\":\"[^\"]*\"/\"secret\":\"(kept by the resident)\"/' application.json"
run 'ID=$(json id < application.json)'

step "3. An officer approves: the permit and a credential offer (link and QR, single use, 15 minutes)"
run 'curl -s -X POST "$PERMITD_URL/v1/applications/$ID/approve" -H "Authorization: Bearer $OFFICER" -o permit.json'
run "sed 's/\"qr_png\":\"[^\"]*\"/\"qr_png\":\"(offer.png)\"/; s/\"history\":\\[[^]]*\\],//' permit.json"
run 'NO=$(json number < permit.json)'
run 'json qr_png < permit.json | base64 -d > offer.png'

step "4. The resident's wallet scans the offer QR: token, proof of its device key, credential"
run 'permit wallet init --dir wallet'
run 'permit wallet trust --dir wallet --from "$PERMITD_URL" --pin "$PERMITD_PIN"'
run 'permit wallet accept --dir wallet --qr offer.png'
run 'permit wallet show --dir wallet --purpose public-service --qr code.png'

step "5. The counter's verifier syncs its trust data once (checked before it replaces anything), then scans offline"
run 'permit verifier sync --from "$PERMITD_URL" --pin "$PERMITD_PIN" --dir verifier-cache'
run 'permit verify --cache verifier-cache --purpose public-service --qr code.png'

step "6. The same code for a credit loan: refused, whatever the status"
run 'refused permit verify --cache verifier-cache --purpose credit-loan --qr code.png'

step "7. A revoker revokes the permit; the served status list changes at once"
run 'curl -s -X POST "$PERMITD_URL/v1/permits/$NO/revoke" -H "Authorization: Bearer $REVOKER" -H "Content-Type: application/json" -d "{\"reason\": \"the holder left the city\"}" -o revoked.json'
run "sed 's/\"history\":\\[[^]]*\\],//' revoked.json"

step "8. The verifier's next sync fetches only what changed; the same scan is refused as revoked"
run 'permit verifier sync --dir verifier-cache'
run 'refused permit verify --cache verifier-cache --purpose public-service --qr code.png'

step "9. What the service logged (no tokens, no citizen ID numbers); it stops; its audit chain"
run 'tail -n 4 permitd.log'
run 'kill $PID; wait $PID'
PID=
run 'permitd audit verify --data var'
printf '\n%sDone.%s Everything above ran in a temporary directory, now removed.\n' "$bold" "$plain"
