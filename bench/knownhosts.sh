#!/usr/bin/env bash
# Benchmark drove's known_hosts lookup against ssh's on a large known_hosts
# file: SIZE_MB of lines for other hosts (HASHED of them hashed, the rest
# plain, ed25519 and RSA-3072 keys; bench/genknownhosts), then the line of
# one real sshd node (bench/sshdbed) at the very end, so both tools must
# read the whole file. Each round runs, with that file as UserKnownHostsFile
# and StrictHostKeyChecking yes:
#   drove -F CFG -n node1 -j true        (connects, checks the key, runs true)
#   ssh -F CFG -o BatchMode=yes node1 true
#   ssh-keygen -F '[HOST]:PORT' -f FILE  (the lookup alone)
# and drove again with the node's line alone as known_hosts (what drove
# costs without a large file), and prints the median wall time and peak RSS (/usr/bin/time) of each, and
# drove's ratios to ssh. Run by hand, as root (sshd must start as root):
#
#   bench/knownhosts.sh                  # 34 MB, half hashed, 5 rounds
#   SIZE_MB=100 HASHED=0.9 ROUNDS=3 bench/knownhosts.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-34}
HASHED=${HASHED:-0.5}
ROUNDS=${ROUNDS:-5}
WORK=${WORK:-/tmp/drove-knownhosts}

# shellcheck source=bench/lib/bed.sh
. bench/lib/bed.sh
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install time"
command -v ssh >/dev/null || die "ssh is missing: apt-get install openssh-client"

bed_build
go build -o "$WORK/genknownhosts" ./bench/genknownhosts

bed_start 1 30

KH=$WORK/known_hosts
"$WORK/genknownhosts" -o "$KH" -size $((SIZE_MB << 20)) -hashed "$HASHED"
cat "$SSHDBED_KNOWN_HOSTS" >>"$KH"
NAME=$(awk '{print $1; exit}' "$SSHDBED_KNOWN_HOSTS")
CFG=$WORK/ssh_config
sed -e "s|UserKnownHostsFile .*|UserKnownHostsFile $KH|" "$SSHDBED_CONFIG" >"$CFG"
printf 'Host *\n    GlobalKnownHostsFile /dev/null\n' >>"$CFG"
SMALL=$WORK/ssh_config.small
sed -e "s|UserKnownHostsFile .*|UserKnownHostsFile $SSHDBED_KNOWN_HOSTS|" "$SSHDBED_CONFIG" >"$SMALL"
printf 'Host *\n    GlobalKnownHostsFile /dev/null\n' >>"$SMALL"
echo "known_hosts: $(du -m "$KH" | cut -f1) MB, $(wc -l <"$KH") lines, $HASHED hashed; node $NAME"

# measure NAME CMD...: one run, appends "wall_s rss_kb" to $WORK/NAME.
measure() {
  local name=$1
  shift
  /usr/bin/time -o "$WORK/time.out" -f '%e %M' "$@" >/dev/null 2>"$WORK/$name.err" || {
    cat "$WORK/$name.err" >&2
    die "$name failed"
  }
  cat "$WORK/time.out" >>"$WORK/$name"
}

rm -f "$WORK/drove.t" "$WORK/ssh.t" "$WORK/keygen.t" "$WORK/small.t"
cat "$KH" >/dev/null # warm the page cache
for _ in $(seq "$ROUNDS"); do
  measure drove.t "$WORK/drove" -F "$CFG" -n node1 -j true
  measure ssh.t ssh -F "$CFG" -o BatchMode=yes node1 true
  measure keygen.t ssh-keygen -F "$NAME" -f "$KH"
  measure small.t "$WORK/drove" -F "$SMALL" -n node1 -j true
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$WORK/$1"; }
dt=$(col drove.t 1 | median); dm=$(col drove.t 2 | median)
st=$(col ssh.t 1 | median); sm=$(col ssh.t 2 | median)
kt=$(col keygen.t 1 | median); km=$(col keygen.t 2 | median)
mt=$(col small.t 1 | median); mm=$(col small.t 2 | median)
printf '%-22s %10s %12s\n' tool "wall s" "peak RSS MB"
printf '%-22s %10s %12.1f\n' "drove -j true" "$dt" "$(echo "$dm / 1024" | bc -l)"
printf '%-22s %10s %12.1f\n' "ssh BatchMode true" "$st" "$(echo "$sm / 1024" | bc -l)"
printf '%-22s %10s %12.1f\n' "ssh-keygen -F" "$kt" "$(echo "$km / 1024" | bc -l)"
printf '%-22s %10s %12.1f\n' "drove, 1-line file" "$mt" "$(echo "$mm / 1024" | bc -l)"
printf 'drove/ssh: time %.2fx, RSS %.2fx (ROUNDS=%s, median)\n' \
  "$(echo "$dt / $st" | bc -l)" "$(echo "$dm / $sm" | bc -l)" "$ROUNDS"
