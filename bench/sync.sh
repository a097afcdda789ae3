#!/usr/bin/env bash
# Benchmark `drove sync` against fpsync (fpart's, jobs over SSH with -w) and
# against one `rsync -a`, on the same generated tree and the same real sshd
# nodes (bench/sshdbed), by hand, as root:
#
#   bench/sync.sh                          # 20,000 files, ~1.5 GiB, 4 nodes
#   FILES=2000 TOTAL_MB=100 bench/sync.sh  # a quick try
#
# Every tool gets the same parallelism (4 nodes, one job each) and the same
# partition size (-f PART_FILES; both default to 4 GiB per partition). The
# source tree is read once first (warm cache); before each run DST is
# removed and dirty pages are flushed (sync). Each DST is then checked with
#   rsync -a -n -i -c --delete SRC/ DST/
# (contents by checksum, metadata rsync -a keeps): 0 lines = identical copy.
#
# fpsync runs its jobs through `ssh`; a wrapper first in its PATH adds -F
# with a copy of the bed's ssh_config, so it logs in to the same nodes as
# drove. The bed's sessions run as its non-root login user, so the data
# directory belongs to that user, and fpsync itself runs as that user (run
# as root, its workers cannot write the logs it creates, every job fails,
# and fpsync still exits 0). fpsync has no final
# pass without -E, so drove is timed both with and without its final pass.
#
# Prints wall times, throughput and the ratios drove/fpsync and
# drove/rsync (< 1 means drove is faster), and the load average.
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-20000}
TOTAL_MB=${TOTAL_MB:-1536}
DIRS=${DIRS:-400}
PART_FILES=${PART_FILES:-2048}
NODES=${NODES:-4}
ROUNDS=${ROUNDS:-1}
SEED=${SEED:-1}
BASE=${BASE:-/tmp/drove-syncbench}
WORK=$BASE

# shellcheck source=bench/lib/bed.sh
. bench/lib/bed.sh
for c in fpsync fpart rsync python3 go; do command -v "$c" >/dev/null || die "$c is missing"; done

bed_build
mkdir -p "$BASE/bin"
bed_start "$NODES" 30
# fpsync runs as the login user (its workers write its logs as that user),
# with its own copy of the bed's client key, known_hosts and ssh_config.
FPSSH=$BASE/fpssh
rm -rf "$FPSSH" && mkdir -p "$FPSSH"
cp "$SSHDBED_KEY" "$FPSSH/id" && cp "$SSHDBED_KNOWN_HOSTS" "$FPSSH/known_hosts"
sed -e "s#$SSHDBED_KEY#$FPSSH/id#; s#$SSHDBED_KNOWN_HOSTS#$FPSSH/known_hosts#" "$SSHDBED_CONFIG" >"$FPSSH/config"
chown -R "$SSHDBED_USER:" "$FPSSH" && chmod 700 "$FPSSH"
cat >"$BASE/bin/ssh" <<EOF
#!/bin/sh
exec /usr/bin/ssh -F '$FPSSH/config' "\$@"
EOF
chmod 755 "$BASE" "$BASE/bin" "$BASE/bin/ssh"
WORKERS=$(tr '\n' ' ' <"$SSHDBED_NODES")

DATA=$BASE/data
SRC=$DATA/src-$FILES-$TOTAL_MB-$SEED
DST=$DATA/dst
chmod 755 "$BASE"
mkdir -p "$DATA"
if [ ! -f "$SRC.ok" ]; then
  rm -rf "$SRC"
  echo "generating $SRC: $FILES files, $TOTAL_MB MiB, $DIRS directories..."
  python3 - "$SRC" "$FILES" "$TOTAL_MB" "$DIRS" "$SEED" <<'EOF'
import os, random, sys
root, files, total_mb, ndirs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = random.Random(seed)
dirs = [""]
for i in range(ndirs):
    parent = r.choice(dirs) if len(dirs) > 1 and r.random() < 0.6 else ""
    dirs.append(os.path.join(parent, "d%03d" % i))
# Long-tailed sizes: mostly small, a few large, scaled to the total.
raw = [r.lognormvariate(9, 1.6) for _ in range(files)]
scale = total_mb * (1 << 20) / sum(raw)
block = os.urandom(8 << 20)
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
for i, s in enumerate(raw):
    size = max(0, int(s * scale))
    p = os.path.join(root, r.choice(dirs), "f%06d %s" % (i, r.choice(["a", "b b", "c'c", "-d", "#e"])))
    with open(p, "wb") as f:
        off = r.randrange(len(block))
        while size > 0:
            chunk = block[off:off + size]
            f.write(chunk)
            size -= len(chunk)
            off = 0
    t = 1600000000 + r.randrange(10**8)
    os.utime(p, (t, t))
for i in range(20):
    os.makedirs(os.path.join(root, r.choice(dirs), "empty%02d" % i), exist_ok=True)
for i in range(50):
    os.symlink("../target%d" % i, os.path.join(root, r.choice(dirs), "link%02d" % i))
EOF
  touch "$SRC.ok"
fi
chown -R "$SSHDBED_USER:" "$DATA"
find "$SRC" -type f -print0 | xargs -0 cat >/dev/null # warm cache
echo "tree: $(find "$SRC" -type f | wc -l) files, $(du -sh --apparent-size "$SRC" | cut -f1); $NODES nodes; -f $PART_FILES"

as_user() { runuser -u "$SSHDBED_USER" -- "$@"; }
fresh() { rm -rf "$DST" "$DATA/work" "$DATA/fpsync" "$DATA/fpsync-tmp"; as_user mkdir -p "$DATA/work" "$DATA/fpsync" "$DATA/fpsync-tmp"; sync; }
now() { date +%s.%N; }
declare -A T
check() { # name: count rsync's differences between SRC and DST
  local n
  n=$(rsync -a -n -i -c --delete "$SRC/" "$DST/" | wc -l)
  echo "  $1: $n differences (rsync -a -n -i -c --delete)"
  [ "$n" = 0 ] || echo "  $1: NOT an identical copy"
}
timed() { # name command...: best wall time over ROUNDS
  local name=$1 best="" s e d
  shift
  for _ in $(seq "$ROUNDS"); do
    fresh
    s=$(now)
    "$@" >"$BASE/$name.out" 2>&1 || { cat "$BASE/$name.out"; die "$name failed"; }
    e=$(now)
    d=$(echo "$e - $s" | bc)
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc)" = 1 ]; then best=$d; fi
  done
  T[$name]=$best
  printf "%-22s %8.2f s  %7.1f MiB/s\n" "$name" "$best" "$(echo "$TOTAL_MB / $best" | bc -l)"
  check "$name"
}

timed "rsync -a" as_user rsync -a "$SRC/" "$DST/"
timed "fpsync -n $NODES -w" as_user env PATH="$BASE/bin:$PATH" fpsync -n "$NODES" -f "$PART_FILES" -w "$WORKERS" \
  -d "$DATA/fpsync" -t "$DATA/fpsync-tmp" "$SRC/" "$DST/"
timed "drove sync" "$BASE/drove" sync -F "$SSHDBED_CONFIG" -N "$SSHDBED_NODES" -f "$PART_FILES" -d "$DATA/work" "$SRC" "$DST"
timed "drove --no-final-pass" "$BASE/drove" sync -F "$SSHDBED_CONFIG" -N "$SSHDBED_NODES" -f "$PART_FILES" --no-final-pass \
  -d "$DATA/work" "$SRC" "$DST"
fresh
"$BASE/drove" sync -F "$SSHDBED_CONFIG" -N "$SSHDBED_NODES" -f "$PART_FILES" -d "$DATA/work" "$SRC" "$DST" 2>/dev/null
s=$(now)
"$BASE/drove" sync -F "$SSHDBED_CONFIG" -N "$SSHDBED_NODES" -d "$DATA/work" --verify=checksum "$SRC" "$DST" 2>&1 | grep verify
echo "  (drove --verify=checksum alone: $(echo "$(now) - $s" | bc) s)"

fp="fpsync -n $NODES -w"
printf "ratio drove sync / fpsync:            %.2f\n" "$(echo "${T[drove sync]} / ${T[$fp]}" | bc -l)"
printf "ratio drove --no-final-pass / fpsync: %.2f\n" "$(echo "${T[drove --no-final-pass]} / ${T[$fp]}" | bc -l)"
printf "ratio drove sync / rsync -a:          %.2f\n" "$(echo "${T[drove sync]} / ${T[rsync -a]}" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
