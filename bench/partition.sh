#!/usr/bin/env bash
# Benchmark `drove partition` against fpart (Debian package) on a generated,
# reproducible tree, with the same limits, by hand:
#
#   bench/partition.sh                  # 200,000 files in 5,000 directories
#   FILES=1000000 DIRS=20000 ROUNDS=5 bench/partition.sh
#
# Prints, per scenario, the median wall time of each tool over ROUNDS warm-
# cache runs, the ratio fpart/drove (> 1 means drove is faster), peak RSS,
# and the number of entries each listed (they must match).
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-200000}
DIRS=${DIRS:-5000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-5}
WORK=${WORK:-/tmp/drove-bench}
TREE=$WORK/tree-v2-$FILES-$DIRS-$SEED

command -v fpart >/dev/null || { echo "fpart is missing: apt-get install fpart" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
fi
mkdir -p "$WORK"
go build -o "$WORK/drove" .
go build -o "$WORK/gentree" ./bench/gentree
if [ ! -d "$TREE" ]; then
  echo "generating $TREE ..." >&2
  start=$EPOCHREALTIME
  "$WORK/gentree" -root "$TREE" -files "$FILES" -dirs "$DIRS" -seed "$SEED"
  echo "generated in $(echo "$EPOCHREALTIME - $start" | bc) s" >&2
fi
find "$TREE" >/dev/null # warm the cache for both tools

# run OUT CMD...: runs CMD with a fresh OUT directory; sets SECS, RSS_KB and
# ENTRIES (NUL-terminated entries written under OUT).
run() {
  local out=$1; shift
  rm -rf "$out"; mkdir -p "$out"
  local start=$EPOCHREALTIME
  if ! /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$WORK/stdout" 2>"$WORK/stderr"; then
    cat "$WORK/stderr" >&2; exit 1
  fi
  SECS=$(echo "$EPOCHREALTIME - $start" | bc)
  RSS_KB=$(tail -n 1 "$WORK/rss")
  ENTRIES=$(find "$out" -type f -exec cat {} + | tr -cd '\0' | wc -c)
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# scenario NAME "FPART ARGS" "DROVE ARGS"
scenario() {
  local name=$1 fargs=$2 dargs=$3 ft=() dt=() fr=() dr=() fe de
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    run "$WORK/out-fpart" fpart $fargs -0 -o "$WORK/out-fpart/part" "$TREE"
    ft+=("$SECS"); fr+=("$RSS_KB"); fe=$ENTRIES
    # shellcheck disable=SC2086
    run "$WORK/out-drove" "$WORK/drove" partition $dargs -o "$WORK/out-drove" "$TREE" /dst
    dt+=("$SECS"); dr+=("$RSS_KB"); de=$ENTRIES
  done
  local fm dm
  fm=$(median "${ft[@]}"); dm=$(median "${dt[@]}")
  printf '%-28s fpart %6.3f s %7s KiB | drove %6.3f s %7s KiB | fpart/drove time %5.2fx, drove/fpart RSS %5.2fx | entries %s/%s\n' \
    "$name" "$fm" "$(maxof "${fr[@]}")" "$dm" "$(maxof "${dr[@]}")" \
    "$(echo "$fm / $dm" | bc -l)" "$(echo "$(maxof "${dr[@]}") / $(maxof "${fr[@]}")" | bc -l)" "$fe" "$de"
  [ "$fe" = "$de" ] || { echo "entry counts differ" >&2; exit 1; }
}

echo "tree: $FILES files, $DIRS dirs, seed $SEED ($TREE); $ROUNDS rounds, median wall time, peak RSS; $(nproc) CPUs"
echo "fpart: $(fpart -V 2>&1 | head -n 1); drove: $(git describe --always --dirty 2>/dev/null || echo unknown)"
/usr/bin/time -f %M -o "$WORK/rss" "$WORK/drove" --version >/dev/null
drove_base=$(tail -n 1 "$WORK/rss")
/usr/bin/time -f %M -o "$WORK/rss" fpart -V >/dev/null 2>&1 || true
echo "baseline RSS (nothing crawled): fpart -V $(tail -n 1 "$WORK/rss") KiB, drove --version $drove_base KiB"
scenario "live -f 2048"           "-L -f 2048"                 "-f 2048"
scenario "live -f 2048 --no-sizes" "-L -f 2048"                "-f 2048 --no-sizes"
scenario "live -f 2048 -s 4GiB"   "-L -f 2048 -s 4294967296"   "-f 2048 -s 4GiB"
scenario "live -f 2048 -z"        "-L -f 2048 -z"              "-f 2048 -z"
scenario "-n 16 (whole crawl)"    "-n 16"                      "-n 16"
