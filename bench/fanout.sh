#!/usr/bin/env bash
# Benchmark `drove run` against real OpenSSH sshd nodes on this machine, side
# by side with a bare x/crypto/ssh loop (bench/fanout, the practical limit)
# and with the Debian tools GNU parallel, pssh and pdsh. Run by hand, as root
# (sshd must start as root; every tool logs in as the bed's non-root user):
#
#   bench/fanout.sh                     # both scenarios, 3 rounds each
#   ROUNDS=5 bench/fanout.sh
#   SCENARIOS=2 bench/fanout.sh         # only the 64-node fan-out
#   TOOLS=pssh bench/fanout.sh          # bare, drove and only pssh
#   BASE=main TOOLS=none bench/fanout.sh # also drove built at git revision main
#
# Scenarios:
#   (1) queue: JOBS trivial jobs (`echo N`) over QNODES nodes x SLOTS slots:
#       bare loop, drove, GNU parallel --sshlogin with ControlMaster (-M) and
#       without (one ssh per job; PLAIN_ROUNDS rounds, default ROUNDS).
#   (2) fan-out: one command on each of ENODES nodes, all at once: bare loop,
#       drove -E, pssh, pdsh, GNU parallel --nonall.
# Every job prints a distinct line, and each run's output is checked: every
# job must have run exactly once, or the script fails. Rounds interleave the
# tools; the table gives each tool's median wall time (whole process, login
# included), jobs/s, its ratio to the bare loop, and how many times faster
# drove is than it; then each tool's CPU per job (or per node in (2)): the
# tool's own (user+sys), the nodes' (every process the bed's sshd listeners
# started and reaped: sshd, the login shells, drove's guards) and the nodes'
# page faults, medians of the rounds. CPU time holds still where wall time
# follows the load: on this bed the nodes share the client's cores, so every
# CPU cycle a tool spends on either side is one the other side waits for. The
# load average is printed before and after each scenario, since other work on
# the machine skews the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
PLAIN_ROUNDS=${PLAIN_ROUNDS:-$ROUNDS}
JOBS=${JOBS:-2000}
QNODES=${QNODES:-8}
SLOTS=${SLOTS:-4}
ENODES=${ENODES:-64}
SCENARIOS=${SCENARIOS:-1 2}
# Contenders besides bare and drove (which always run): all, or a comma list
# of parallel-M,parallel (scenario 1) and pssh,pdsh,parallel-nonall (2).
TOOLS=${TOOLS:-all}
# A git revision: drove built at it runs too, as "drove-base", in every
# scenario, so that a change is measured against what it changes in one run.
BASE=${BASE:-}
# LogLevel INFO is sshd's default; the bed's own default (DEBUG1, for tests)
# would add a dozen log writes per session to sshd's work.
SSHD_LOGLEVEL=${SSHD_LOGLEVEL:-INFO}
WORK=${WORK:-/tmp/drove-fanout}

# shellcheck source=bench/lib/bed.sh
. bench/lib/bed.sh
for t in parallel parallel-ssh pdsh ssh; do
  command -v "$t" >/dev/null || die "$t is missing: apt-get install parallel pssh pdsh openssh-client"
done

bed_build
bed_build_base "$BASE"
go build -o "$WORK/fanout" ./bench/fanout

bed_nodes=$QNODES
[ "$ENODES" -gt "$bed_nodes" ] && bed_nodes=$ENODES
bed_start "$bed_nodes"
# The nodes' sshd listeners (sshdbed's children): their reaped children's CPU
# time and page faults are the nodes' cost of a run.
LISTENERS=$(pgrep -d, -P "$BED_PID")
[ -n "$LISTENERS" ] || die "no sshd listener under sshdbed ($BED_PID)"

head -n "$QNODES" "$SSHDBED_NODES" >"$WORK/qnodes"
sed "s|^|$SLOTS/|" "$WORK/qnodes" >"$WORK/qnodes.slots"
head -n "$ENODES" "$SSHDBED_NODES" >"$WORK/enodes"
seq "$JOBS" | sed 's/^/echo /' >"$WORK/jobs"
# The fan-out command prints the node's sshd port, which tells the nodes apart.
# shellcheck disable=SC2016
ECMD='echo "fanout-ok ${SSH_CONNECTION##* }"'
# The ports the fan-out must report, one per node.
while read -r n; do
  awk -v h="$n" '$1 == "Host" { cur = $2 } cur == h && $1 == "Port" { print $2 }' "$CFG"
done <"$WORK/enodes" | sort >"$WORK/enodes.ports"
[ "$(wc -l <"$WORK/enodes.ports")" = "$ENODES" ] || die "cannot read the ports of $ENODES nodes from $CFG"

# node_stat: the CPU ticks (user+sys) and minor page faults of every process
# the listeners have reaped so far.
node_stat() {
  local p files=()
  for p in ${LISTENERS//,/ }; do files+=("/proc/$p/stat"); done
  # Fields after the command name, which is in parentheses: cutime and
  # cstime are fields 16 and 17, cminflt 11.
  sed 's/^.*) //' "${files[@]}" | awk '{ c += $14 + $15; f += $9 } END { print c, f }'
}

# node_quiet: waits (at most 20 s) until the listeners have no child left, so
# that a run's nodes' cost is all counted, and counted for that run only.
node_quiet() {
  for _ in $(seq 200); do
    pgrep -P "$LISTENERS" >/dev/null || return 0
    sleep 0.1
  done
  echo "  (the nodes still had sessions 20 s after the run; their CPU may count for the next run)" >&2
}

# timed NAME CMD...: runs CMD in a session of its own with stdin from $STDIN
# (default /dev/null) and stdout to $WORK/out, fails loudly on a non-zero
# exit, and kills whatever CMD left running (saying so); sets SECS, and CCPU,
# NCPU and NFLT: the tool's CPU seconds (user+sys, its children included),
# the nodes' CPU seconds and the nodes' minor page faults.
timed() {
  local name=$1; shift
  local start rc=0 left n0 f0 n1 f1
  node_quiet
  read -r n0 f0 < <(node_stat)
  start=$EPOCHREALTIME
  setsid /usr/bin/time -o "$WORK/cpu" -f '%U %S' "$@" <"${STDIN:-/dev/null}" >"$WORK/out" 2>"$WORK/err" &
  TOOL_SID=$!
  wait "$TOOL_SID" || rc=$?
  SECS=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  # Zombies (exited, not yet reaped by init) are not left running.
  left=$(ps -e -o sid=,stat= | awk -v s="$TOOL_SID" '$1 == s && $2 !~ /^Z/' | wc -l)
  if [ "$left" -gt 0 ]; then
    echo "  ($name left $left processes running; killed)" >&2
    pkill -KILL -s "$TOOL_SID" || true
  fi
  TOOL_SID=
  node_quiet
  read -r n1 f1 < <(node_stat)
  CCPU=$(awk '{ printf "%.3f", $1 + $2 }' "$WORK/cpu" 2>/dev/null || echo 0)
  NCPU=$(awk -v a="$n0" -v b="$n1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz }')
  NFLT=$((f1 - f0))
  if [ "$rc" != 0 ]; then
    echo "fanout.sh: $name failed (exit $rc): $*" >&2
    tail -n 20 "$WORK/err" >&2
    exit 1
  fi
}

# check_queue NAME: every job's line (N) exactly once in $WORK/out.
check_queue() {
  local got
  got=$(grep -cE '^[0-9]+$' "$WORK/out" || true)
  if [ "$got" != "$JOBS" ] || ! sort -n "$WORK/out" | cmp -s - <(seq "$JOBS"); then
    die "$1 did not run every job exactly once ($got lines of $JOBS; output in $WORK/out, stderr in $WORK/err)"
  fi
}

# check_each NAME: one fanout-ok line per node, naming every node's port.
check_each() {
  local got
  got=$(grep -c 'fanout-ok' "$WORK/out" || true)
  if [ "$got" != "$ENODES" ] || ! grep -o 'fanout-ok [0-9]*' "$WORK/out" | awk '{ print $2 }' | sort | cmp -s - "$WORK/enodes.ports"; then
    die "$1 did not run once on every node ($got of $ENODES; output in $WORK/out, stderr in $WORK/err)"
  fi
}

# goal TEXT A B OP X: prints whether A/B OP X (OP is <= or >=).
goal() {
  awk -v t="$1" -v a="$2" -v b="$3" -v op="$4" -v x="$5" 'BEGIN {
    r = a / b; ok = (op == "<=") ? r <= x : r >= x
    printf "  goal: %s: %.2fx (want %s %s): %s\n", t, r, op, x, ok ? "met" : "MISSED" }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

say_load() { echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) ($1)"; }

# wanted TOOL: whether TOOL is in $TOOLS (all by default).
wanted() { [ "$TOOLS" = all ] || [[ ",$TOOLS," == *",$1,"* ]]; }

# run_queue TOOL: one run of scenario (1); sets SECS.
run_queue() {
  case $1 in
  bare) timed bare "$WORK/fanout" -F "$CFG" -N "$WORK/qnodes" -slots "$SLOTS" -J "$WORK/jobs" ;;
  drove) timed drove "$WORK/drove" -F "$CFG" -N "$WORK/qnodes.slots" -J "$WORK/jobs" ;;
  drove-base) timed "$1" "$WORK/drove-base" -F "$CFG" -N "$WORK/qnodes.slots" -J "$WORK/jobs" ;;
  # Jobs on stdin: parallel 20221122 with -M and -a ran only a few of them.
  parallel-M) STDIN=$WORK/jobs timed "$1" parallel --will-cite -M --ssh "ssh -F $CFG" --slf "$WORK/qnodes.slots" ;;
  parallel) STDIN=$WORK/jobs timed "$1" parallel --will-cite --ssh "ssh -F $CFG" --slf "$WORK/qnodes.slots" ;;
  *) die "no tool $1 in scenario 1" ;;
  esac
  check_queue "$1"
}

# run_each TOOL: one run of scenario (2); sets SECS.
run_each() {
  case $1 in
  bare) timed bare "$WORK/fanout" -F "$CFG" -N "$WORK/enodes" -E "$ECMD" ;;
  drove) timed drove "$WORK/drove" -F "$CFG" -N "$WORK/enodes" -E "$ECMD" ;;
  drove-base) timed "$1" "$WORK/drove-base" -F "$CFG" -N "$WORK/enodes" -E "$ECMD" ;;
  pssh) timed pssh parallel-ssh -h "$WORK/enodes" -x "-F $CFG" -p "$ENODES" -i "$ECMD" ;;
  pdsh) PDSH_SSH_ARGS="-a -x -F $CFG -l%u %h" timed pdsh pdsh -R ssh -l "$SSHDBED_USER" -f "$ENODES" -w "^$WORK/enodes" "$ECMD" ;;
  parallel-nonall) timed "$1" parallel --will-cite --nonall -j "$ENODES" --ssh "ssh -F $CFG" --slf "$WORK/enodes" "$ECMD" ;;
  *) die "no tool $1 in scenario 2" ;;
  esac
  check_each "$1"
}

# scenario RUNNER UNITS TOOL...: ROUNDS rounds of every wanted TOOL in turn
# (bare and drove always), then the table of medians: seconds, jobs/s, ratio
# to the bare loop, and how many times drove's time the tool's is. Sets MED.
declare -A MED
scenario() {
  local runner=$1 units=$2; shift 2
  local tools=() t r line
  declare -A times=() ccpu=() ncpu=() nflt=()
  for t in "$@"; do
    if [ "$t" = bare ] || [ "$t" = drove ] || wanted "$t"; then tools+=("$t"); fi
    if [ "$t" = drove ] && [ -n "$BASE" ]; then tools+=(drove-base); fi
  done
  say_load before
  for r in $(seq "$ROUNDS"); do
    line="  round $r:"
    for t in "${tools[@]}"; do
      # One ssh per job is slow and heavy: PLAIN_ROUNDS rounds only.
      if [ "$t" = parallel ] && [ "$r" -gt "$PLAIN_ROUNDS" ]; then continue; fi
      "$runner" "$t"
      times[$t]+="$SECS "
      ccpu[$t]+="$CCPU " ncpu[$t]+="$NCPU " nflt[$t]+="$NFLT "
      line+=" $t $SECS s,"
    done
    echo "${line%,}"
  done
  say_load after
  MED=()
  for t in "${tools[@]}"; do
    # shellcheck disable=SC2086
    MED[$t]=$(median ${times[$t]})
  done
  printf '  %-16s %9s %9s %9s %11s  %s\n' tool "median s" "jobs/s" "vs bare" "vs drove" "runs (s)"
  for t in "${tools[@]}"; do
    awk -v t="$t" -v m="${MED[$t]}" -v u="$units" -v b="${MED[bare]}" -v d="${MED[drove]}" -v runs="${times[$t]% }" \
      'BEGIN { printf "  %-16s %9.3f %9.1f %8.2fx %10.2fx  %s\n", t, m, u / m, m / b, m / d, runs }'
  done
  # CPU per unit (job or node), medians: the tool's, the nodes', both, and
  # both against the bare loop's.
  declare -A cm=() nm=() fm=()
  for t in "${tools[@]}"; do
    # shellcheck disable=SC2086
    cm[$t]=$(median ${ccpu[$t]}) nm[$t]=$(median ${ncpu[$t]}) fm[$t]=$(median ${nflt[$t]})
  done
  printf '  %-16s %11s %11s %11s %9s %11s\n' "CPU per unit" "tool ms" "nodes ms" "total ms" "vs bare" "node faults"
  for t in "${tools[@]}"; do
    awk -v t="$t" -v c="${cm[$t]}" -v n="${nm[$t]}" -v f="${fm[$t]}" -v u="$units" -v bc="${cm[bare]}" -v bn="${nm[bare]}" \
      'BEGIN { printf "  %-16s %11.3f %11.3f %11.3f %8.2fx %11.1f\n", t, 1000 * c / u, 1000 * n / u, 1000 * (c + n) / u, (c + n) / (bc + bn), f / u }'
  done
}

echo "fanout: $(nproc) CPUs, $(ssh -V 2>&1 | cut -d, -f1); $(dpkg-query -W -f='${Package} ${Version}, ' parallel pssh pdsh | sed 's/, $//')"
echo "drove $(git describe --always --dirty 2>/dev/null || echo unknown)${BASE:+, drove-base $(git rev-parse --short "$BASE")}, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS rounds, median wall time; sshd LogLevel $SSHD_LOGLEVEL"
echo "ratios: 'vs bare' = tool time / bare loop time; 'vs drove' = tool time / drove time (how many times faster drove is)"

for s in $SCENARIOS; do
  case $s in
  1)
    echo
    echo "(1) $JOBS jobs over $QNODES nodes x $SLOTS slots"
    scenario run_queue "$JOBS" bare drove parallel-M parallel
    goal "drove time / bare time" "${MED[drove]}" "${MED[bare]}" "<=" 1.00
    if [ -n "${MED[parallel-M]:-}" ]; then
      goal "parallel -M time / drove time" "${MED[parallel-M]}" "${MED[drove]}" ">=" 10
    fi
    ;;
  2)
    echo
    echo "(2) one command on each of $ENODES nodes"
    scenario run_each "$ENODES" bare drove pssh pdsh parallel-nonall
    goal "drove time / bare time" "${MED[drove]}" "${MED[bare]}" "<=" 1.10
    if [ -n "${MED[pssh]:-}" ]; then
      goal "pssh time / drove time" "${MED[pssh]}" "${MED[drove]}" ">=" 3
    fi
    ;;
  *) die "unknown scenario $s (want 1 or 2)" ;;
  esac
done
