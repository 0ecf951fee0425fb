#!/usr/bin/env bash
# Side-by-side scan benchmark: qr.DecodeFile, plain gozxing and zbarimg on the
# same degraded-photo corpus (qr/testdata/corpus) in one run, interleaved
# image by image. Prints success counts, the median milliseconds per
# 1280x720 frame of each decoder and the ratio to zbarimg.
# Installs zbar-tools (zbarimg) with apt-get when it is missing.
# Usage: scripts/bench-scan.sh [rounds]   (timed decodes per image, default 5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
GO=${GO:-go}

if ! command -v zbarimg >/dev/null 2>&1; then
  echo "bench-scan: zbarimg not found, installing zbar-tools" >&2
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
      echo "bench-scan: need root or sudo to apt-get install zbar-tools" >&2; exit 1
    fi
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq zbar-tools >/dev/null
fi

echo "zbarimg $(zbarimg --version 2>/dev/null), $($GO version | cut -d' ' -f3-), $(nproc) CPU(s), GOMAXPROCS=${GOMAXPROCS:-all}"
$GO build -o "${TMPDIR:-/tmp}/corpusgen.$$" ./qr/internal/corpusgen
trap 'rm -f "${TMPDIR:-/tmp}/corpusgen.$$"' EXIT
"${TMPDIR:-/tmp}/corpusgen.$$" -compare -out qr/testdata/corpus -texts qr/testdata -rounds "${1:-5}"
