# Sourced by the demos (scripts/demo.sh, scripts/demo-service.sh).
#   step TITLE   prints a heading (bold on a terminal)
#   run 'CMD'    prints "$ CMD" and runs that very string (eval, in the caller's shell),
#                so that what a demo prints is what it ran
#   refused      the line a demo runs first to define refused: "refused CMD..." succeeds
#                only when CMD exits 1, the status of a refusal
bold=
plain=
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$1"; eval "$1"; }
refused='refused() { if "$@"; then echo "(should have been refused)"; return 1; else test $? = 1; fi; }   # exit status 1 wanted'
