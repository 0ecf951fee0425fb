#!/usr/bin/env bash
# Side-by-side scan benchmark (docs/scanning.md): the qr package, zbar
# (zbarimg), zxing-cpp (Debian's python3-zxing-cpp) and zxing-cpp's
# WebAssembly build (npm zxing-wasm under Node) on the photo corpora
# (qr/testdata/corpus, and qr/testdata/photos: its tune and held-out sets),
# interleaved image by image in one run. Prints success counts and median
# milliseconds per image for each degradation kind. Then the same frames
# decoded in headless Chromium through scan.js (WebAssembly), with their
# success, time and processor time per frame, and the camera loop's frame
# rate on a fake camera.
# Installs what it needs (apt-get: zbar-tools python3-zxing-cpp python3-pil
# nodejs npm chromium; npm ci of the pinned zxing-wasm) when run as root or
# with sudo.
# Usage: scripts/bench-scan.sh [rounds]   (timed decodes per image, default 3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
GO=${GO:-go}
PY=/usr/bin/python3
WASMDIR=qr/internal/scanbench/zxingwasm

need=()
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
if ! [ -x "$PY" ] || ! "$PY" -c 'import zxingcpp' 2>/dev/null; then need+=(python3-zxing-cpp); fi
if ! [ -x "$PY" ] || ! "$PY" -c 'import PIL' 2>/dev/null; then need+=(python3-pil); fi
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench-scan: installing ${need[*]}" >&2
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
      echo "bench-scan: need root or sudo to apt-get install ${need[*]}" >&2; exit 1
    fi
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! [ -d "$WASMDIR/node_modules/zxing-wasm" ]; then
  echo "bench-scan: npm ci in $WASMDIR (zxing-wasm, pinned)" >&2
  (cd "$WASMDIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

echo "zbarimg $(zbarimg --version 2>/dev/null), zxing-cpp $(dpkg-query -W -f='${Version}' python3-zxing-cpp 2>/dev/null)," \
  "zxing-wasm $(node -p "require('./$WASMDIR/node_modules/zxing-wasm/package.json').version") on node $(node --version)," \
  "$($GO version | cut -d' ' -f3-), $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
$GO run ./qr/internal/scanbench -rounds "${1:-3}"

echo
echo "In the browser: $(chromium --version 2>/dev/null)"
make --no-print-directory wasm >/dev/null
SCANBENCH_BROWSER=all EPERMIT_BROWSER_TESTS=require $GO test -count=1 -run '^TestBrowser$' -v ./qr/internal/scanbench |
  sed -n 's/^ *browser_test.go:[0-9]*: //p; s/^        //p' | grep -v '^$' || true
