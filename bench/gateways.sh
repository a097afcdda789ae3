#!/usr/bin/env bash
# Benchmark drove's gateways at scale against a flat run, the bare
# x/crypto/ssh loop and ClusterShell's clush (flat and with the same
# gateways), on a bed of real OpenSSH sshd nodes on this machine. Run by
# hand, as root (sshd must start as root; every tool logs in as the bed's
# non-root user, and gateways run as that user under their node's sshd):
#
#   bench/gateways.sh                         # 1,000 nodes, 8/16/32 gateways, 3 rounds
#   NODES=128 GATEWAYS="8 16" ROUNDS=1 bench/gateways.sh
#   TOOLS=drove,drove-gw bench/gateways.sh    # only drove, flat and through gateways
#
# The bed has NODES nodes (node1..nodeNODES) plus the largest of GATEWAYS
# gateway nodes after them; gateways are bed nodes like the others (their
# own sshd, address and host key). One command runs once on every node:
# it prints the node's sshd address and port (from SSH_CONNECTION, dash
# builtins only), and every run's output is checked: each node's line
# exactly once, or the script fails.
#
# Contenders (TOOLS: all, or a comma list of these), run in interleaved
# rounds:
#   bare      bench/fanout -E (x/crypto/ssh, every node dialled at once)
#   drove     drove -E, flat
#   drove-gw  drove -E --gateway GW (GW: the first G gateway nodes), for
#             each G in GATEWAYS; the gateways reach the nodes with
#             --gateway-ssh-config (an ssh_config of the gateways' user)
#   clush     clush -f CLUSH_FANOUT, flat
#   clush-gw  clush -f CLUSH_FANOUT --topology T, T a topology.conf that
#             routes every node through the same G gateway nodes
#
# For each run: wall time; the controller's CPU (user+sys of the tool's
# process and the children it waited for, e.g. clush's ssh clients:
# /usr/bin/time) and its max RSS; the gateways' CPU and the nodes' CPU,
# each the growth of the children's CPU times (cutime+cstime) of the
# gateway nodes' and the other nodes' sshd listeners, read once every
# process under them has ended: every session, gateway program and ssh
# client a gateway started counts there, and nothing else does. The table
# gives medians and the ratios to drove flat; the load average is printed
# before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=${NODES:-1000}
GATEWAYS=${GATEWAYS:-8 16 32}
ROUNDS=${ROUNDS:-3}
TOOLS=${TOOLS:-all}
# clush's fan-out (-f: ssh clients at once, on the controller and, inherited,
# on each gateway). drove dials every node at once and bounds handshakes in
# progress (--max-handshakes, 128 by default), the controller's and each
# gateway's own. Here the gateways share this machine's cores with the
# nodes, so through G gateways drove gets --max-handshakes GW_HANDSHAKES/G
# (at least 1): as many under way in all as flat. On real gateways, each
# with its own cores, the default is the one to use.
CLUSH_FANOUT=${CLUSH_FANOUT:-128}
GW_HANDSHAKES=${GW_HANDSHAKES:-128}
# Connect timeout (s) for drove (--connect-timeout, passed on to its
# gateways) and clush (-t), and drove's keepalive (--keepalive, missed 3
# times = a hung node). On this 2-core bed, 1,000 handshakes under way at
# once (as through gateways without --max-handshakes, or clush's gateways)
# took more than the default 10 s (drove) and 15 s (clush) to connect, and
# sessions missed keepalive replies for 15 s (load average 170).
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-120}
KEEPALIVE=${KEEPALIVE:-20}
SSHD_LOGLEVEL=${SSHD_LOGLEVEL:-INFO}
WORK=${WORK:-/tmp/drove-gateways}

# shellcheck source=bench/lib/bed.sh
. bench/lib/bed.sh
for t in clush ssh /usr/bin/time; do
  command -v "$t" >/dev/null || die "$t is missing: apt-get install clustershell openssh-client time"
done
MAXGW=0
for g in $GATEWAYS; do [ "$g" -gt "$MAXGW" ] && MAXGW=$g; done
BEDN=$((NODES + MAXGW))

# Limits: every node's connection is a socket (and for clush an ssh client
# with its pipes) on the controller or a gateway; the bed is about
# BEDN sshd listeners plus 2-3 processes per open connection.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((4 * BEDN + 256)) ] || die "open files limit $(ulimit -n) is below $((4 * BEDN + 256))"
[ "$(cat /proc/sys/kernel/pid_max)" -ge $((6 * BEDN)) ] || die "kernel.pid_max $(cat /proc/sys/kernel/pid_max) is below $((6 * BEDN))"

SAMPLER=
bench_stop() { if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi; }

bed_build
go build -o "$WORK/fanout" ./bench/fanout
bed_start "$BEDN" 300

# The gateways run as the bed's user: their ssh_config (used by drove's
# gateways, clush's gateways, and clush on the controller, which root may
# read) names a copy of the client key that user owns.
GWDIR=$SSHDBED_DIR/gw
mkdir -p "$GWDIR"
cp "$SSHDBED_KEY" "$GWDIR/key"
GWCFG=$GWDIR/ssh_config
sed "s|$SSHDBED_KEY|$GWDIR/key|" "$CFG" >"$GWCFG"
chown -R "$SSHDBED_USER:" "$GWDIR" && chmod 700 "$GWDIR" && chmod 600 "$GWDIR/key" "$GWCFG"

seq 1 "$NODES" | sed 's/^/node/' >"$WORK/nodes"
NODESET="node[1-$NODES]"
# The address each node must report, one line per node.
awk -v n="$NODES" '$1 == "Host" { cur = substr($2, 5) + 0 } $1 == "HostName" { h[cur] = $2 } $1 == "Port" { p[cur] = $2 }
  END { for (i = 1; i <= n; i++) print h[i] ":" p[i] }' "$CFG" | sort >"$WORK/want"
[ "$(grep -c ':[0-9]' "$WORK/want")" = "$NODES" ] || die "cannot read the addresses of $NODES nodes from $CFG"
# shellcheck disable=SC2016
CMD='set -- $SSH_CONNECTION; echo "gw-ok $3:$4"'

# The sshd listeners: gateway nodes' and the other nodes', by PID.
ps --ppid "$BED_PID" -o pid=,args= | awk -v n="$NODES" '{
    for (i = 2; i <= NF; i++) if ($i ~ /\/node[0-9]+\/sshd_config$/) { k = $i; sub(/.*\/node/, "", k); sub(/\/.*/, "", k)
      print $1 > (k + 0 > n ? "'"$WORK"'/gwpids" : "'"$WORK"'/nodepids") } }'
if [ "$(wc -l <"$WORK/nodepids")" != "$NODES" ] || [ "$(wc -l <"$WORK/gwpids")" != "$MAXGW" ]; then
  die "found $(wc -l <"$WORK/nodepids") node and $(wc -l <"$WORK/gwpids") gateway listeners, want $NODES and $MAXGW"
fi
TCK=$(getconf CLK_TCK)

# cpu_of PIDFILE: seconds of CPU (cutime+cstime) the listeners of PIDFILE
# have reaped.
cpu_of() { sed 's|.*|/proc/&/stat|' "$1" | xargs cat | awk -v t="$TCK" '{ s += $16 + $17 } END { printf "%.2f", s / t }'; }

# quiesce: waits (180 s at most) until no listener has a child left, so that
# every session of the last run is counted in its listener's times.
quiesce() {
  local left
  for _ in $(seq 900); do
    left=$(ps -e -o ppid= | awk 'NR == FNR { l[$1] = 1; next } l[$1]' "$WORK/gwpids" "$WORK/nodepids" - | wc -l)
    [ "$left" = 0 ] && return 0
    sleep 0.2
  done
  die "$left sshd sessions still open 180 s after the run ($(ps -e -o ppid=,args= | awk 'NR == FNR { l[$1] = 1; next } l[$1]' "$WORK/gwpids" "$WORK/nodepids" - | head -3))"
}

# clush's topology: this machine (its short host name, as clush finds its
# own place in the tree) -> G gateways -> every node; clush spreads the
# nodes over the gateways by their load.
topology() {
  local g=$1
  printf '[routes]\n%s: node[%d-%d]\nnode[%d-%d]: %s\n' "$(hostname -s)" $((NODES + 1)) $((NODES + g)) \
    $((NODES + 1)) $((NODES + g)) "$NODESET" >"$WORK/topology-$g.conf"
}

# sample_gateways: until killed, every 0.2 s, appends "PID TICKS" for each
# gateway program (drove's, clush's) to $WORK/gwsamples: its CPU with its
# reaped children's. A gateway program outlives the sshd session that
# started it (the controller closes the connection; the gateway then closes
# its node connections and exits, reparented away from sshd), so its CPU
# is not in the listener's reaped times: the largest sample per process is
# counted instead (it misses at most the last 0.2 s of each).
sample_gateways() {
  : >"$WORK/gwsamples"
  while :; do
    pgrep -u "$SSHDBED_USER" -f 'gateway-[0-9a-f]*/drove gateway --ready|ClusterShell.Gateway' |
      sed 's|.*|/proc/&/stat|' | xargs -r cat 2>/dev/null | awk '{ print $1, $14 + $15 + $16 + $17 }' >>"$WORK/gwsamples" || true
    sleep 0.2
  done
}

# timed NAME CMD...: runs CMD under /usr/bin/time in a session of its own,
# output to $WORK/out, fails loudly on a non-zero exit, kills (saying so)
# whatever it left in its session, waits for the bed's sessions to end;
# sets SECS, CPU, RSS (MB), GWCPU, GWPROG and NODECPU (s).
timed() {
  local name=$1; shift
  local rc=0 left g0 n0 g1 n1
  g0=$(cpu_of "$WORK/gwpids") n0=$(cpu_of "$WORK/nodepids")
  sample_gateways &
  SAMPLER=$!
  setsid /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" </dev/null >"$WORK/out" 2>"$WORK/err" &
  TOOL_SID=$!
  wait "$TOOL_SID" || rc=$?
  left=$(ps -e -o sid=,stat= | awk -v s="$TOOL_SID" '$1 == s && $2 !~ /^Z/' | wc -l)
  if [ "$left" -gt 0 ]; then
    echo "  ($name left $left processes running; killed)" >&2
    pkill -KILL -s "$TOOL_SID" || true
  fi
  TOOL_SID=
  if [ "$rc" != 0 ]; then
    echo "gateways.sh: $name failed (exit $rc): $*" >&2
    tail -n 20 "$WORK/err" >&2
    exit 1
  fi
  quiesce
  { kill "$SAMPLER"; wait "$SAMPLER"; } 2>/dev/null || true
  SAMPLER=
  GWPROG=$(awk '{ if ($2 > m[$1]) m[$1] = $2 } END { for (p in m) s += m[p]; printf "%.2f", s / '"$TCK"' }' "$WORK/gwsamples")
  g1=$(cpu_of "$WORK/gwpids") n1=$(cpu_of "$WORK/nodepids")
  read -r SECS CPU RSS < <(awk '{ printf "%.3f %.2f %.1f\n", $1, $2 + $3, $4 / 1024 }' "$WORK/time")
  GWCPU=$(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.2f", b - a }')
  NODECPU=$(awk -v a="$n0" -v b="$n1" 'BEGIN { printf "%.2f", b - a }')
}

# check NAME: one gw-ok line per node, naming every node's address.
check() {
  local got
  got=$(grep -c 'gw-ok' "$WORK/out" || true)
  if [ "$got" != "$NODES" ] || ! grep -o 'gw-ok [0-9.:]*' "$WORK/out" | awk '{ print $2 }' | sort | cmp -s - "$WORK/want"; then
    die "$1 did not run once on every node ($got lines of $NODES; output in $WORK/out, stderr in $WORK/err)"
  fi
}

gwset() { echo "node[$((NODES + 1))-$((NODES + $1))]"; }

# run TOOL G: one run (G gateways, 0 for flat).
run() {
  local t=$1 g=$2
  case $t in
  bare) timed "$t" "$WORK/fanout" -F "$CFG" -N "$WORK/nodes" -E "$CMD" ;;
  drove) timed "$t" "$WORK/drove" --connect-timeout "${CONNECT_TIMEOUT}s" --keepalive "${KEEPALIVE}s" -F "$CFG" -N "$WORK/nodes" -E "$CMD" ;;
  drove-gw) timed "$t" "$WORK/drove" --connect-timeout "${CONNECT_TIMEOUT}s" --keepalive "${KEEPALIVE}s" \
    --max-handshakes $((GW_HANDSHAKES / g > 0 ? GW_HANDSHAKES / g : 1)) -F "$CFG" -N "$WORK/nodes" --gateway "$(gwset "$g")" --gateway-ssh-config "$GWCFG" -E "$CMD" ;;
  clush) timed "$t" clush -f "$CLUSH_FANOUT" -t "$CONNECT_TIMEOUT" -o "-F $GWCFG" -w "$NODESET" "$CMD" ;;
  # The gateways' Python: the controller's own basename ("python3") would
  # do, named in full so no PATH on the gateway can pick another.
  clush-gw) CLUSTERSHELL_GW_PYTHON_EXECUTABLE=/usr/bin/python3 timed "$t" clush -f "$CLUSH_FANOUT" -t "$CONNECT_TIMEOUT" -o "-F $GWCFG" \
    --topology "$WORK/topology-$g.conf" -w "$NODESET" "$CMD" ;;
  *) die "no tool $t" ;;
  esac
  check "$t/$g"
}

wanted() { [ "$TOOLS" = all ] || [[ ",$TOOLS," == *",$1,"* ]]; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
say_load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($1)"; }

# The runs: "tool/G" for each wanted tool and gateway count.
RUNS=()
for t in bare drove clush; do wanted "$t" && RUNS+=("$t/0"); done
for g in $GATEWAYS; do
  topology "$g"
  for t in drove-gw clush-gw; do wanted "$t" && RUNS+=("$t/$g"); done
done
[ "${#RUNS[@]}" -gt 0 ] || die "no tool wanted (TOOLS=$TOOLS)"

echo "gateways: $(nproc) CPUs, $(ssh -V 2>&1 | cut -d, -f1), clush $(clush --version | awk '{ print $2 }')"
echo "drove $(git describe --always --dirty 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC'), $NODES nodes, gateways: $GATEWAYS, $ROUNDS rounds, clush -f $CLUSH_FANOUT, connect timeout ${CONNECT_TIMEOUT}s, keepalive ${KEEPALIVE}s, drove --max-handshakes through G gateways $GW_HANDSHAKES/G, sshd LogLevel $SSHD_LOGLEVEL"
echo "bed: $BEDN sshd nodes up ($(tail -n 1 "$WORK/bed.log"))"
# drove sends itself to the gateways once (they share a home here): a
# first, untimed run, so the rounds time what a user's every run pays.
if wanted drove-gw; then
  g=${GATEWAYS##* }
  run drove-gw "$g" && echo "warm-up: drove sent to the gateways' ~/.cache/drove ($SECS s)"
fi
say_load before

declare -A W C R GC GP NC
for r in $(seq "$ROUNDS"); do
  line="round $r:"
  for k in "${RUNS[@]}"; do
    run "${k%/*}" "${k#*/}"
    W[$k]+="$SECS " C[$k]+="$CPU " R[$k]+="$RSS " GC[$k]+="$GWCPU " GP[$k]+="$GWPROG " NC[$k]+="$NODECPU "
    echo "  $k: wall ${SECS}s, controller cpu ${CPU}s rss ${RSS}MB, gateways cpu: sshd ${GWCPU}s, program ${GWPROG}s, nodes cpu ${NODECPU}s; load $(cut -d' ' -f1 /proc/loadavg)"
    line+=" $k ${SECS}s,"
  done
  echo "${line%,}"
done
say_load after

echo
echo "medians over $ROUNDS rounds; CPU in s (per node in ms); 'x drove' = this / drove flat"
printf '%-9s %3s %8s %8s %8s %7s %8s %8s %8s %8s %8s  %s\n' tool gws "wall s" "ctl cpu" "ms/node" "RSS MB" "gwsshd/n" "gwprog/n" "node ms/n" "wall x" "cpu x" "walls (s)"
base=drove/0
wanted drove || base=${RUNS[0]}
# shellcheck disable=SC2086
bw=$(median ${W[$base]}) bc=$(median ${C[$base]})
for k in "${RUNS[@]}"; do
  # shellcheck disable=SC2086
  awk -v t="${k%/*}" -v g="${k#*/}" -v n="$NODES" -v w="$(median ${W[$k]})" -v c="$(median ${C[$k]})" -v r="$(median ${R[$k]})" \
    -v gc="$(median ${GC[$k]})" -v gp="$(median ${GP[$k]})" -v nc="$(median ${NC[$k]})" -v bw="$bw" -v bc="$bc" -v runs="${W[$k]% }" 'BEGIN {
      printf "%-9s %3d %8.3f %8.2f %8.3f %7.1f %8.3f %8.3f %8.3f %7.2fx %7.2fx  %s\n", t, g, w, c, 1000 * c / n, r, 1000 * gc / n, 1000 * gp / n, 1000 * nc / n, w / bw, c / bc, runs }'
done
