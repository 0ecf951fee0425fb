#!/usr/bin/env bash
# make demo-offline: the offline path of e-permit, step by step, with the
# permit CLI alone, in a temporary directory: keys, a trust list, a status
# list, an application decided and issued, a wallet, a QR code,
# verification, a revocation, and verification again.
#
# Every line that starts with "$ " is a command exactly as this script runs
# it (one shell, through eval): pasted in order into a shell in an empty
# directory, the lines do the same. scripts/newcomer_test.go runs them so.
#
# Usage: scripts/demo.sh [PERMIT]   (the permit binary; default bin/permit)
set -euo pipefail
BIN=$(cd "$(dirname "${1:-bin/permit}")" && pwd)
[ "$(basename "${1:-bin/permit}")" = permit ] || { echo "usage: $0 [DIR/permit]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"

# shellcheck source=scripts/transcript.sh
. "$ROOT/scripts/transcript.sh"

step "0. The binary and the examples; the issuer's names; a shell helper"
run "export PATH=\"$BIN:\$PATH\" EXAMPLES=\"$ROOT/examples\""
run 'ISS=https://ep.zjga.example/hz STATUS=https://ep.zjga.example/hz/status/1'
run "$refused"

step "1. The Hangzhou bureau makes its signing key; the province makes the root key"
run 'permit keys new --out keys'
run 'permit keys new --out keys --name root'

step "2. An empty status list of 1,048,576 two-bit entries, signed by the bureau"
run 'permit status new --uri "$STATUS" --key keys/issuer.key --out status.jwt'
run 'permit status show --token status.jwt --key keys/issuer.jwks.json'

step "3. The province signs a trust list naming the bureau; verifiers pin the root thumbprint"
run 'permit trust sign --root keys/root.key --issuer-key keys/issuer.jwks.json --iss "$ISS" --status-uri "$STATUS" --out trust.jwt | tee trust-sign.out'
run "PIN=\$(sed -n 's/^root thumbprint (pin this in verifiers): //p' trust-sign.out)"

step "4. The resident's phone: a wallet with a device key"
run 'permit wallet init --dir wallet'

step "5. Applications are decided (Art. 2): one that fails is told everything missing at once (Art. 9)"
run 'refused permit issue --app "$EXAMPLES/invalid-same-city.json" --holder wallet/device.jwk.json --key keys/issuer.key --iss "$ISS" --status-uri "$STATUS" --idx 1'

step "6. An eligible application is issued as an SD-JWT VC bound to the wallet's key"
run 'IDX=$((RANDOM * 16 + RANDOM % 16))   # a random place in the status list'
run 'permit issue --app "$EXAMPLES/application-adult-hangzhou.json" --holder wallet/device.jwk.json --key keys/issuer.key --iss "$ISS" --status-uri "$STATUS" --idx "$IDX" --out credential.sd-jwt'
run 'wc -c credential.sd-jwt'
run 'permit wallet add --dir wallet --jwks keys/issuer.jwks.json credential.sd-jwt'
run 'permit wallet list --dir wallet'

step "7. The wallet shows a live QR code (holder-bound; accepted for 60 seconds plus 10 seconds of clock allowance)"
run 'permit wallet show --dir wallet --qr code.png'
run 'permit wallet show --dir wallet --purpose police-check > police.txt   # discloses the full ID number'
run 'wc -c police.txt'

step "8. An official scans the PNG and verifies offline"
run 'permit verify --trust trust.jwt --pin "$PIN" --status status.jwt --qr code.png'
run 'permit verify --trust trust.jwt --pin "$PIN" --status status.jwt --purpose police-check --stdin < police.txt'

step "9. The same code for a credit loan, and as an identity card: refused"
run 'refused permit verify --trust trust.jwt --pin "$PIN" --status status.jwt --purpose credit-loan --qr code.png'
run 'refused permit verify --trust trust.jwt --pin "$PIN" --status status.jwt --purpose identity-card --qr code.png'

step "10. The bureau revokes the permit; the verifier's status list is updated"
run 'permit status set --token status.jwt --key keys/issuer.key --idx "$IDX" --value revoked'

step "11. The same scan is now refused as revoked"
run 'refused permit verify --trust trust.jwt --pin "$PIN" --status status.jwt --qr code.png'
printf '\n%sDone.%s Everything above ran offline, in a temporary directory now removed.\n' "$bold" "$plain"
