#!/usr/bin/env bash
# What a job costs on the node: runs JOBS trivial jobs (`echo N`) on one real
# sshd node (bench/sshdbed) over SLOTS slots with the bare x/crypto loop
# (bench/fanout) and with drove (and drove built at git revision BASE, if
# given), with strace following the node's sshd listener and everything it
# starts, and prints per job: processes forked (clone, fork, vfork),
# programs exec'd, and system calls, all counted on the node (sshd, the
# login shells, drove's guard and watchers). Run by hand, as root:
#
#   bench/nodecost.sh                   # 400 jobs, 4 slots
#   BASE=main bench/nodecost.sh         # also drove at main
#   JOBS=1000 SLOTS=1 bench/nodecost.sh
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-400}
SLOTS=${SLOTS:-4}
BASE=${BASE:-}
WORK=${WORK:-/tmp/drove-nodecost}

# shellcheck source=bench/lib/bed.sh
. bench/lib/bed.sh
command -v strace >/dev/null || die "strace is missing: apt-get install strace"

bed_build
go build -o "$WORK/fanout" ./bench/fanout
bed_build_base "$BASE"

bed_start 1
listener=$(pgrep -f "$SSHDBED_DIR/node1/sshd_config" | head -n 1)
[ -n "$listener" ] || die "no sshd listener for node1"

head -n 1 "$SSHDBED_NODES" >"$WORK/node"
sed "s|^|$SLOTS/|" "$WORK/node" >"$WORK/node.slots"
seq "$JOBS" | sed 's/^/echo /' >"$WORK/jobs"

# measure NAME CMD...: runs CMD with strace following the listener; prints
# the counts per job.
measure() {
  local name=$1; shift
  strace -f -qq -c -o "$WORK/strace.$name" -p "$listener" &
  local sp=$!
  sleep 1 # strace attaches
  "$@" >"$WORK/out" 2>"$WORK/err" || { tail "$WORK/err" >&2; die "$name failed"; }
  sleep 1 # sshd reaps the last sessions and the guard
  kill -INT "$sp"; wait "$sp" || true
  [ "$(grep -cE '^[0-9]+$' "$WORK/out")" = "$JOBS" ] || die "$name did not run every job"
  awk -v t="$name" -v n="$JOBS" '
    $NF ~ /^(clone|clone3|fork|vfork)$/ { forks += $4 }
    $NF == "execve" { execs += $4; fails += ($5 ~ /^[0-9]+$/) ? $5 : 0 }
    $NF == "total" { calls = $4 }
    END { printf "  %-11s %8.3f %8.3f %9.1f\n", t, forks / n, (execs - fails) / n, calls / n }' "$WORK/strace.$name"
}

echo "nodecost: $JOBS jobs (echo N) on 1 node x $SLOTS slots, $(ssh -V 2>&1 | cut -d, -f1), drove $(git describe --always --dirty)${BASE:+, drove-base $(git rev-parse --short "$BASE")}, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "  per job, on the node (sshd and all it starts):"
printf '  %-11s %8s %8s %9s\n' tool forks execs syscalls
measure bare "$WORK/fanout" -F "$SSHDBED_CONFIG" -N "$WORK/node" -slots "$SLOTS" -J "$WORK/jobs"
measure drove "$WORK/drove" -F "$SSHDBED_CONFIG" -N "$WORK/node.slots" -J "$WORK/jobs"
if [ -n "$BASE" ]; then
  measure drove-base "$WORK/drove-base" -F "$SSHDBED_CONFIG" -N "$WORK/node.slots" -J "$WORK/jobs"
fi
