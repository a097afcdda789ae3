#!/usr/bin/env bash
# Benchmark `drove partition` against fpart (Debian package) on a generated,
# reproducible tree, with the same limits, by hand:
#
#   bench/partition.sh                  # 200,000 files in 5,000 directories
#   FILES=1000000 DIRS=20000 ROUNDS=5 bench/partition.sh
#
# Prints, per scenario, the median wall time and CPU time (user+sys) of each
# tool over ROUNDS warm-cache runs, the ratio fpart/drove of wall times (> 1
# means drove is faster), peak RSS, and the number of entries each listed
# (they must match). The load average is printed too: on a shared machine
# wall times are only comparable within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-200000}
DIRS=${DIRS:-5000}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-5}
WORK=${WORK:-/tmp/drove-bench}
# Lists go to tmpfs: on ext4, creating files right after deleting many makes
# the inode allocator skip "recently deleted" inodes (seen with perf), which
# would time the file system, not the partitioner.
OUT=${OUT:-/dev/shm/drove-bench}
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

# run OUT CMD...: runs CMD with a fresh OUT directory; sets SECS, CPU,
# RSS_KB, ENTRIES (NUL-terminated entries written under OUT) and PARTS.
run() {
  local out=$1; shift
  rm -rf "$out"; mkdir -p "$out"
  local start=$EPOCHREALTIME
  if ! /usr/bin/time -f '%M %U %S' -o "$WORK/rss" "$@" >"$WORK/stdout" 2>"$WORK/stderr"; then
    cat "$WORK/stderr" >&2; exit 1
  fi
  SECS=$(echo "$EPOCHREALTIME - $start" | bc)
  read -r RSS_KB user sys < <(tail -n 1 "$WORK/rss")
  CPU=$(echo "$user + $sys" | bc)
  ENTRIES=$(find "$out" -type f -exec cat {} + | tr -cd '\0' | wc -c)
  PARTS=$(find "$out" -type f | wc -l)
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# scenario NAME "FPART ARGS" "DROVE ARGS"
scenario() {
  local name=$1 fargs=$2 dargs=$3 ft=() dt=() fc=() dc=() fr=() dr=() fe de fp dp
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    run "$OUT/fpart" fpart $fargs -0 -o "$OUT/fpart/part" "$TREE"
    ft+=("$SECS"); fc+=("$CPU"); fr+=("$RSS_KB"); fe=$ENTRIES; fp=$PARTS
    # shellcheck disable=SC2086
    run "$OUT/drove" "$WORK/drove" partition $dargs -o "$OUT/drove" "$TREE" /dst
    dt+=("$SECS"); dc+=("$CPU"); dr+=("$RSS_KB"); de=$ENTRIES; dp=$PARTS
  done
  local fm dm
  fm=$(median "${ft[@]}"); dm=$(median "${dt[@]}")
  printf '%-24s fpart %6.3f s (cpu %5.2f) %6s KiB | drove %6.3f s (cpu %5.2f) %6s KiB | fpart/drove time %5.2fx, drove/fpart RSS %5.2fx | entries %s/%s, parts %s/%s\n' \
    "$name" "$fm" "$(median "${fc[@]}")" "$(maxof "${fr[@]}")" "$dm" "$(median "${dc[@]}")" "$(maxof "${dr[@]}")" \
    "$(echo "$fm / $dm" | bc -l)" "$(echo "$(maxof "${dr[@]}") / $(maxof "${fr[@]}")" | bc -l)" "$fe" "$de" "$fp" "$dp"
  [ "$fe" = "$de" ] || { echo "entry counts differ" >&2; exit 1; }
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $FILES files, $DIRS dirs, seed $SEED ($TREE); $ROUNDS rounds, median wall time, peak RSS; $(nproc) CPUs"
echo "fpart: $(fpart -V 2>&1 | head -n 1); drove: $(git describe --always --dirty 2>/dev/null || echo unknown)"
/usr/bin/time -f %M -o "$WORK/rss" "$WORK/drove" --version >/dev/null
drove_base=$(tail -n 1 "$WORK/rss")
/usr/bin/time -f %M -o "$WORK/rss" fpart -V >/dev/null 2>&1 || true
echo "baseline RSS (nothing crawled): fpart -V $(tail -n 1 "$WORK/rss") KiB, drove --version $drove_base KiB"
scenario "live -f 2048"           "-L -f 2048"                 "-f 2048"
scenario "live -f 2048 --no-sizes" "-L -f 2048"                "-f 2048 --no-sizes"
scenario "live -f 2048 -s 256GiB" "-L -f 2048 -s 274877906944" "-f 2048 -s 256GiB"
scenario "live -f 2048 -z"        "-L -f 2048 -z"              "-f 2048 -z"
scenario "-n 16 (whole crawl)"    "-n 16"                      "-n 16"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$OUT"
