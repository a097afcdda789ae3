# shellcheck shell=bash
# The sshd bed of the bench/ scripts that measure tools on real OpenSSH
# sshd nodes (bench/sshdbed: a network namespace, address, host key and
# sshd per node, a non-root login user): sourced, after `set -euo pipefail`
# and `cd` to the repository's top, by fanout.sh, copy.sh, nodecost.sh,
# gateways.sh, knownhosts.sh and sync.sh.
#
# The sourcing script sets WORK (its work directory) first; it may define
# bench_stop (run first on exit: stop what it started itself) and
# bench_clean (run last on exit: remove what it wrote). Sourcing defines:
#   die MSG...        "SCRIPT: MSG" on stderr, exit 1 (SCRIPT: the script's name)
#   bed_build         mkdir -p $WORK; build drove and bench/sshdbed into it
#   bed_build_base R  drove at git revision R (when R is not empty) as $WORK/drove-base
#   bed_start N [S]   start a bed of N nodes (sshd LogLevel $SSHD_LOGLEVEL,
#                     INFO by default) and wait at most S seconds (60) for
#                     it; then bed.env's SSHDBED_* are set, CFG is
#                     $SSHDBED_CONFIG and BED_PID sshdbed's PID
# and sets the EXIT trap that kills the session TOOL_SID (the script sets
# it to the session of a tool it runs, if any) and the bed; INT and TERM
# exit 130.

SSHD_LOGLEVEL=${SSHD_LOGLEVEL:-INFO}
BED_PID=
TOOL_SID=

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (sshdbed starts sshd)"

bed_cleanup() {
  if declare -F bench_stop >/dev/null; then bench_stop; fi
  if [ -n "$TOOL_SID" ]; then
    pkill -KILL -s "$TOOL_SID" 2>/dev/null || true
  fi
  if [ -n "$BED_PID" ] && kill -0 "$BED_PID" 2>/dev/null; then
    kill -TERM "$BED_PID" 2>/dev/null || true
    wait "$BED_PID" 2>/dev/null || true
  fi
  rm -f "$WORK/bed.env"
  if declare -F bench_clean >/dev/null; then bench_clean; fi
}
trap bed_cleanup EXIT
trap 'exit 130' INT TERM

bed_build() {
  mkdir -p "$WORK"
  go build -o "$WORK/drove" .
  go build -o "$WORK/sshdbed" ./bench/sshdbed
}

bed_build_base() {
  [ -n "$1" ] || return 0
  rm -rf "$WORK/base" && mkdir -p "$WORK/base"
  git archive "$1" | tar -x -C "$WORK/base"
  (cd "$WORK/base" && go build -o "$WORK/drove-base" .)
}

bed_start() {
  local n=$1 secs=${2:-60}
  rm -f "$WORK/bed.env"
  "$WORK/sshdbed" -n "$n" -o "LogLevel $SSHD_LOGLEVEL" -info "$WORK/bed.env" >"$WORK/bed.out" 2>"$WORK/bed.log" &
  BED_PID=$!
  for _ in $(seq $((secs * 10))); do
    [ -f "$WORK/bed.env" ] && break
    kill -0 "$BED_PID" 2>/dev/null || { cat "$WORK/bed.log" >&2; die "sshdbed exited"; }
    sleep 0.1
  done
  [ -f "$WORK/bed.env" ] || { cat "$WORK/bed.log" >&2; die "sshdbed not up after $secs s"; }
  # shellcheck disable=SC1091
  . "$WORK/bed.env"
  # shellcheck disable=SC2034 # for the sourcing script
  CFG=$SSHDBED_CONFIG
}
