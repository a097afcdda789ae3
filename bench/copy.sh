#!/usr/bin/env bash
# Benchmark `drove copy` against pdcp, `clush --copy` and pscp (parallel-scp)
# on real OpenSSH sshd nodes on this machine (bench/sshdbed). Run by hand, as
# root (sshd must start as root; every tool logs in as the bed's non-root
# user):
#
#   bench/copy.sh                        # 16 nodes, both scenarios, 3 rounds
#   NODES=64 ROUNDS=2 bench/copy.sh
#   SCENARIOS=tree TOOLS=pdcp bench/copy.sh
#
# Scenarios: (file) one file of FILE_MB MiB to every node; (tree) a tree of
# TREE_FILES files (1-8 KiB each, in directories of 100) to every node. Every
# tool keeps modes and mtimes (drove always, pdcp -p, clush -p, scp -p) and
# copies at most NODES nodes at once. The bed's nodes share this machine's
# file system, so every node's copy lands in the same destination; each
# round starts from an empty one, and after each run the result is compared
# with the source (cmp, diff -r, the mtime). drove writes each file under a
# temporary name and renames it, so NODES concurrent copies of one file
# still leave it whole: a drove result that differs fails the script. The
# others write in place, and NODES writers of one file can leave it mixed
# up (pdcp did, once in a few rounds): such a run is counted and shown in
# the table's "bad" column, not fatal. Rounds interleave the tools; the
# table gives each tool's median wall time and its ratio to drove's (above
# 1: drove is faster).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
NODES=${NODES:-16}
FILE_MB=${FILE_MB:-100}
TREE_FILES=${TREE_FILES:-1000}
SCENARIOS=${SCENARIOS:-file tree}
# Contenders besides drove (which always runs): all, or a comma list of
# pdcp,clush,pscp.
TOOLS=${TOOLS:-all}
SSHD_LOGLEVEL=${SSHD_LOGLEVEL:-INFO}
WORK=${WORK:-/tmp/drove-copybench}

# shellcheck source=bench/lib/bed.sh
. bench/lib/bed.sh
for t in pdcp clush parallel-scp ssh scp; do
  command -v "$t" >/dev/null || die "$t is missing: apt-get install pdsh clustershell pssh openssh-client"
done
bench_clean() { if [ -n "${DEST:-}" ]; then rm -rf "$DEST"; fi; }

bed_build
bed_start "$NODES"
NODESET=$(paste -sd, "$SSHDBED_NODES")
USER_HOME=$(getent passwd "$SSHDBED_USER" | cut -d: -f6)
DEST=$USER_HOME/drove-copybench

# The sources, readable by everyone (the tools run as root here, but the
# same files must be comparable with what the login user wrote).
SRC=$WORK/src
if [ ! -f "$SRC/big" ] || [ "$(stat -c %s "$SRC/big")" != $((FILE_MB << 20)) ]; then
  mkdir -p "$SRC"
  head -c $((FILE_MB << 20)) /dev/urandom >"$SRC/big"
fi
if [ ! -d "$SRC/tree" ] || [ "$(find "$SRC/tree" -type f | wc -l)" != "$TREE_FILES" ]; then
  rm -rf "$SRC/tree"
  i=0
  while [ "$i" -lt "$TREE_FILES" ]; do
    d=$SRC/tree/d$((i / 100))
    mkdir -p "$d"
    head -c $((RANDOM % 8192 + 1)) /dev/urandom >"$d/f$i"
    i=$((i + 1))
  done
fi
chmod -R a+rX "$SRC"

# fresh_dest: an empty destination directory owned by the login user.
fresh_dest() {
  rm -rf "$DEST"
  install -d -o "$SSHDBED_USER" -m 755 "$DEST"
}

# timed NAME CMD...: runs CMD in a session of its own, fails loudly on a
# non-zero exit, kills whatever it left running; sets SECS.
timed() {
  local name=$1; shift
  local start=$EPOCHREALTIME rc=0
  setsid "$@" </dev/null >"$WORK/out" 2>"$WORK/err" &
  TOOL_SID=$!
  wait "$TOOL_SID" || rc=$?
  SECS=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  pkill -KILL -s "$TOOL_SID" 2>/dev/null || true
  TOOL_SID=
  if [ "$rc" != 0 ]; then
    echo "copy.sh: $name failed (exit $rc): $*" >&2
    tail -n 20 "$WORK/err" >&2
    exit 1
  fi
}

# copy_with TOOL WHAT: one copy of $SRC/WHAT into $DEST on every node.
copy_with() {
  local what=$SRC/$2
  case $1 in
  drove) timed drove "$WORK/drove" copy -F "$CFG" -N "$SSHDBED_NODES" -f "$NODES" "$what" "$DEST/" ;;
  pdcp) PDSH_SSH_ARGS="-a -x -F $CFG -l%u %h" timed pdcp pdcp -R ssh -l "$SSHDBED_USER" -f "$NODES" -w "^$SSHDBED_NODES" -r -p "$what" "$DEST" ;;
  clush) timed clush clush -w "$NODESET" -f "$NODES" -l "$SSHDBED_USER" -o "-F $CFG" -p -c "$what" --dest "$DEST" ;;
  pscp) timed pscp parallel-scp -h "$SSHDBED_NODES" -l "$SSHDBED_USER" -p "$NODES" -x "-F $CFG -p" -r "$what" "$DEST" ;;
  *) die "no tool $1" ;;
  esac
}

# check WHAT TOOL: whether the destination holds exactly the source; a
# difference is fatal for drove and counted (BAD) for the others.
check() {
  local ok=1
  if [ -d "$SRC/$1" ]; then
    diff -r "$SRC/$1" "$DEST/$1" >/dev/null 2>&1 || ok=0
  else
    cmp -s "$SRC/$1" "$DEST/$1" || ok=0
  fi
  [ "$(stat -c %Y "$SRC/$1" 2>/dev/null)" = "$(stat -c %Y "$DEST/$1" 2>/dev/null)" ] || ok=0
  if [ "$ok" = 0 ]; then
    [ "$2" = drove ] && die "drove: $DEST/$1 differs from $SRC/$1"
    echo "  ($2: $DEST/$1 differs from $SRC/$1 after this run)"
    bad[$2]=$((${bad[$2]:-0} + 1))
  fi
}

wanted() { [ "$TOOLS" = all ] || [[ ",$TOOLS," == *",$1,"* ]]; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "copy: $(nproc) CPUs, $NODES nodes, $(ssh -V 2>&1 | cut -d, -f1); $(dpkg-query -W -f='${Package} ${Version}, ' pdsh clustershell pssh | sed 's/, $//')"
echo "drove $(git describe --always --dirty 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS rounds, median wall time"
for s in $SCENARIOS; do
  case $s in
  file) what=big; echo; echo "(file) one file of $FILE_MB MiB to each of $NODES nodes" ;;
  tree) what=tree; echo; echo "(tree) $TREE_FILES files in $(find "$SRC/tree" -type d | wc -l) directories to each of $NODES nodes" ;;
  *) die "unknown scenario $s (want file or tree)" ;;
  esac
  tools=(drove)
  for t in pdcp clush pscp; do wanted "$t" && tools+=("$t"); done
  declare -A times=() bad=()
  echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) (before)"
  for r in $(seq "$ROUNDS"); do
    line="  round $r:"
    for t in "${tools[@]}"; do
      fresh_dest
      copy_with "$t" "$what"
      check "$what" "$t"
      times[$t]+="$SECS "
      line+=" $t $SECS s,"
    done
    echo "${line%,}"
  done
  echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) (after)"
  # shellcheck disable=SC2086
  d=$(median ${times[drove]})
  printf '  %-8s %9s %11s %4s  %s\n' tool "median s" "vs drove" bad "runs (s)"
  for t in "${tools[@]}"; do
    # shellcheck disable=SC2086
    m=$(median ${times[$t]})
    awk -v t="$t" -v m="$m" -v d="$d" -v b="${bad[$t]:-0}" -v runs="${times[$t]% }" 'BEGIN { printf "  %-8s %9.3f %10.2fx %4d  %s\n", t, m, m / d, b, runs }'
  done
  unset times bad
done
