#!/usr/bin/env bash
# The programs make test uses beyond Go: chromium (the browser apps' tests),
# node (the WebAssembly module's tests) and curl (the README and demo tests).
#
#   scripts/test-deps.sh           as root with apt-get (a fresh machine, CI), installs what
#                                  is missing; otherwise says which tests will be skipped
#                                  and the command that installs what they need
#   scripts/test-deps.sh --report  only says what is missing (make test's last word)
#
# With EPERMIT_BROWSER_TESTS=require (CI) a missing program is an error.
set -uo pipefail

missing() {
  need=()
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
  command -v node >/dev/null || need+=(nodejs)
  command -v curl >/dev/null || need+=(curl)
}

missing
if ((${#need[@]})) && [ "${1:-}" != --report ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "make test: installing ${need[*]} (apt-get install -y ${need[*]})"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } ||
    echo "make test: apt-get could not install ${need[*]}" >&2
  missing
fi
((${#need[@]})) || exit 0
for p in "${need[@]}"; do
  case $p in
  chromium) what="the headless Chromium tests of the browser apps (cmd/permitd TestBrowserApps)" ;;
  nodejs) what="the WebAssembly module's tests under Node (./cmd/epermit-wasm, ./browser)" ;;
  curl) what="the tests of the README's commands and of make demo (./scripts)" ;;
  esac
  echo "make test: SKIPPED $what: $p is not installed. To run them: sudo apt-get install -y $p"
done
if [ "${EPERMIT_BROWSER_TESTS:-}" = require ]; then
  echo "make test: EPERMIT_BROWSER_TESTS=require, and ${need[*]} could not be installed" >&2
  exit 1
fi
exit 0
