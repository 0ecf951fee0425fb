#!/usr/bin/env bash
# The offline path of e-permit, step by step, in a temporary directory:
# keys, a trust list, a status list, an application decided and issued,
# a wallet, a QR code, verification, a revocation, and verification again.
set -euo pipefail
PERMIT=$(cd "$(dirname "${1:-bin/permit}")" && pwd)/$(basename "${1:-bin/permit}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"

ISS=https://ep.zjga.example/hz
STATUS=$ISS/status/1
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s#$PERMIT#permit#; s#$ROOT/##g" >&2; "$@"; }

step "1. The Hangzhou bureau makes its signing key; the province makes the root key"
run "$PERMIT" keys new --out keys
run "$PERMIT" keys new --out keys --name root

step "2. An empty status list of 1,048,576 two-bit entries, signed by the bureau"
run "$PERMIT" status new --uri "$STATUS" --key keys/issuer.key --out status.jwt
run "$PERMIT" status show --token status.jwt --key keys/issuer.jwks.json

step "3. The province signs a trust list naming the bureau; verifiers pin the root thumbprint"
out=$(run "$PERMIT" trust sign --root keys/root.key --issuer-key keys/issuer.jwks.json --iss "$ISS" --status-uri "$STATUS" --out trust.jwt)
echo "$out"
PIN=${out##* }

step "4. The resident's phone: a wallet with a device key"
run "$PERMIT" wallet init --dir wallet

step "5. Applications are decided (Art. 2): one that fails is told everything missing at once (Art. 9)"
run "$PERMIT" issue --app "$ROOT/examples/invalid-same-city.json" --holder wallet/device.jwk.json --key keys/issuer.key \
  --iss "$ISS" --status-uri "$STATUS" --idx 1 || echo "(refused, as it should be)"

step "6. An eligible application is issued as an SD-JWT VC bound to the wallet's key"
IDX=$((RANDOM * 16 + RANDOM % 16))
run "$PERMIT" issue --app "$ROOT/examples/application-adult-hangzhou.json" --holder wallet/device.jwk.json \
  --key keys/issuer.key --iss "$ISS" --status-uri "$STATUS" --idx "$IDX" --out credential.sd-jwt
echo "credential: $(wc -c < credential.sd-jwt) bytes"
run "$PERMIT" wallet add --dir wallet --jwks keys/issuer.jwks.json credential.sd-jwt
run "$PERMIT" wallet list --dir wallet

step "7. The wallet shows a live QR code (holder-bound, good for 60 seconds)"
run "$PERMIT" wallet show --dir wallet --qr code.png
run "$PERMIT" wallet show --dir wallet --purpose police-check > police.txt
echo "police-check presentation: $(wc -c < police.txt) bytes (discloses the full ID number)"

step "8. An official scans the PNG and verifies offline"
run "$PERMIT" verify --trust trust.jwt --pin "$PIN" --status status.jwt --qr code.png
run "$PERMIT" verify --trust trust.jwt --pin "$PIN" --status status.jwt --purpose police-check --stdin < police.txt

step "9. The same code for a credit loan, and as an identity card: refused"
run "$PERMIT" verify --trust trust.jwt --pin "$PIN" --status status.jwt --purpose credit-loan --qr code.png || true
run "$PERMIT" verify --trust trust.jwt --pin "$PIN" --status status.jwt --purpose identity-card --qr code.png || true

step "10. The bureau revokes the permit; the verifier's status list is updated"
run "$PERMIT" status set --token status.jwt --key keys/issuer.key --idx "$IDX" --value revoked

step "11. The same scan is now refused as revoked"
if run "$PERMIT" verify --trust trust.jwt --pin "$PIN" --status status.jwt --qr code.png; then
  echo "demo: a revoked permit verified" >&2; exit 1
fi
printf '\n\033[1mDone.\033[0m Everything above ran offline in %s\n' "$DIR"
