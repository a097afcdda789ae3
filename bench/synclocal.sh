#!/usr/bin/env bash
# Benchmark `drove sync` of many small files on this machine's slots
# (`-n SLOTS/:`) against one `rsync -a` and against fpsync (fpart's, local
# jobs), by hand:
#
#   bench/synclocal.sh                     # 20,000 small files, 4 slots, 5 rounds
#   ROUNDS=9 bench/synclocal.sh
#   DROVE_ARGS=--no-final-pass bench/synclocal.sh
#   TOOLS=drove ROUNDS=3 bench/synclocal.sh   # drove alone (no ratios)
#   TOOLS=rsync,parts,drove bench/synclocal.sh # and the floor of partitioning
#
# "parts" is the floor drove builds on: `drove partition -f 2000` (drove's
# default partitions) timed with the plain `rsync -a --from0 --files-from`
# job lines it prints, SLOTS at a time (xargs -P) and no final pass: what
# splitting the tree costs rsync itself, before anything drove adds
# (confinement, its temporary directory, the keep check, logs, the final
# pass). Without a final pass its copy differs from SRC in the top
# directory's mtime (its check says so: 1 difference).
#
# The tree (python3, seeded): FILES files of 0 to MAX_KB KiB (uniform) in
# DIRS directories. Each round runs every tool once, interleaved, on a
# fresh DST (and a fresh --work / fpsync work directory), after `sync`.
# The first round's copy of each tool is checked with
#   rsync -a -n -i -c --delete SRC/ DST/
# (0 lines = identical copy). Prints every run, the median of each tool,
# the ratios drove/rsync and drove/fpsync of the medians (below 1: drove is
# faster), the median CPU time (user+sys, children included), and the load
# average before and after. The tree and every copy are on tmpfs
# (BASE=/dev/shm/...): on ext4, creating 20,000 files right after deleting
# as many costs rsync 4-6x the system time (seen with /usr/bin/time), which
# would time the file system rather than the tools.
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-20000}
DIRS=${DIRS:-200}
MAX_KB=${MAX_KB:-8}
SLOTS=${SLOTS:-4}
ROUNDS=${ROUNDS:-5}
SEED=${SEED:-1}
TOOLS=${TOOLS:-rsync,fpsync,drove}
DROVE_ARGS=${DROVE_ARGS:-}
BASE=${BASE:-/dev/shm/drove-synclocal}

die() { echo "synclocal.sh: $*" >&2; exit 1; }
for c in rsync python3 go bc /usr/bin/time; do command -v "$c" >/dev/null || die "$c is missing"; done
case ",$TOOLS," in *,fpsync,*) command -v fpsync >/dev/null || die "fpsync is missing (apt-get install fpart)";; esac

mkdir -p "$BASE"
DROVE=${DROVE:-}
if [ -z "$DROVE" ]; then
  go build -o "$BASE/drove" .
  DROVE=$BASE/drove
fi

SRC=$BASE/src-$FILES-$DIRS-$MAX_KB-$SEED
DST=$BASE/dst
if [ ! -f "$SRC.ok" ]; then
  rm -rf "$SRC"
  echo "generating $SRC: $FILES files of 0-$MAX_KB KiB in $DIRS directories..."
  python3 - "$SRC" "$FILES" "$DIRS" "$MAX_KB" "$SEED" <<'EOF'
import os, random, sys
root, files, ndirs, max_kb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = random.Random(seed)
dirs = [""]
for i in range(ndirs):
    parent = r.choice(dirs) if len(dirs) > 1 and r.random() < 0.6 else ""
    dirs.append(os.path.join(parent, "d%03d" % i))
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
block = os.urandom(max_kb * 1024 + 1)
for i in range(files):
    p = os.path.join(root, r.choice(dirs), "f%06d" % i)
    with open(p, "wb") as f:
        f.write(block[:r.randrange(max_kb * 1024 + 1)])
    t = 1600000000 + r.randrange(10**8)
    os.utime(p, (t, t))
EOF
  touch "$SRC.ok"
fi
find "$SRC" -type f -print0 | xargs -0 cat >/dev/null # warm cache
echo "tree: $(find "$SRC" -type f | wc -l) files, $(find "$SRC" -type d | wc -l) directories, $(du -sh --apparent-size "$SRC" | cut -f1); $SLOTS slots; rounds $ROUNDS"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

fresh() { rm -rf "$DST" "$BASE/work" "$BASE/fpwork"; mkdir -p "$BASE/fpwork"; sync; }
check() { # name
  local n
  n=$(rsync -a -n -i -c --delete "$SRC/" "$DST/" | wc -l)
  echo "  $1: $n differences (rsync -a -n -i -c --delete)"
  [ "$n" = 0 ] || echo "  $1: NOT an identical copy"
}
# shellcheck disable=SC2086 # DROVE_ARGS is words
run() { # tool
  case $1 in
  rsync) rsync -a "$SRC/" "$DST/" ;;
  fpsync) fpsync -n "$SLOTS" -d "$BASE/fpwork" "$SRC/" "$DST/" ;;
  drove) "$DROVE" sync -n "$SLOTS/:" -d "$BASE/work" $DROVE_ARGS "$SRC" "$DST" ;;
  parts)
    mkdir -p "$BASE/work" "$DST"
    "$DROVE" partition -f 2000 -o "$BASE/work" "$SRC" "$DST" | tr '\n' '\0' | xargs -0 -n 1 -P "$SLOTS" sh -c ;;
  esac
}

declare -A RUNS CPU
IFS=, read -r -a tools <<<"$TOOLS"
for round in $(seq "$ROUNDS"); do
  for t in "${tools[@]}"; do
    fresh
    /usr/bin/time -o "$BASE/$t.time" -f '%e %U %S' bash -c "$(declare -f run); $(declare -p SRC DST SLOTS BASE DROVE DROVE_ARGS); run $t" \
      >"$BASE/$t.out" 2>&1 || { cat "$BASE/$t.out"; die "$t failed"; }
    read -r d u s <"$BASE/$t.time"
    RUNS[$t]="${RUNS[$t]:-} $d"
    CPU[$t]="${CPU[$t]:-} $(echo "$u + $s" | bc)"
    [ "$round" = 1 ] && check "$t"
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A MED MCPU
for t in "${tools[@]}"; do
  MED[$t]=$(echo "${RUNS[$t]}" | median)
  MCPU[$t]=$(echo "${CPU[$t]}" | median)
  printf "%-7s median %6.3f s  cpu %6.3f s   runs:%s\n" "$t" "${MED[$t]}" "${MCPU[$t]}" "${RUNS[$t]}"
done
[ -n "${MED[drove]:-}" ] && [ -n "${MED[rsync]:-}" ] &&
  printf "ratio drove / rsync -a:  %.2f (cpu %.2f)\n" "$(echo "${MED[drove]} / ${MED[rsync]}" | bc -l)" "$(echo "${MCPU[drove]} / ${MCPU[rsync]}" | bc -l)"
[ -n "${MED[drove]:-}" ] && [ -n "${MED[fpsync]:-}" ] &&
  printf "ratio drove / fpsync:    %.2f (cpu %.2f)\n" "$(echo "${MED[drove]} / ${MED[fpsync]}" | bc -l)" "$(echo "${MCPU[drove]} / ${MCPU[fpsync]}" | bc -l)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
