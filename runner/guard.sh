# shellcheck shell=sh
# The guard of one SSH connection (guard.go), run as "sh -c GUARD sh GRACE
# NAME": $1 is the grace period in whole seconds, $2 the last element of its
# directory, made under $TMPDIR (or /tmp); a guarded job's mark is
# DROVE_JOB=NAME:TOKEN. Its stdin carries "p" (drain) and "k TOKEN" (kill)
# lines. drain uses variables of its own (i, j, q, e): sh has no locals, and
# the loop's o and t must survive it. Comment lines and indentation are
# removed before the text is sent to a node.
g=$1 m=$2
trap '' HUP INT TERM PIPE; d=${TMPDIR:-/tmp}/$m
# shellcheck disable=SC2015 # C is the cleanup when any step fails; exec is the last step
mkdir -m 700 "$d" && mkfifo -m 600 "$d/q" && : >"$d/up" && exec 4<>"$d/q" || { rm -rf "$d"; exit 1; }
printf 'drove-guard %s %s\n' $$ "$d"; exec >/dev/null 2>&1; p=' ' k=' '
# S SIG TOKEN: send SIG to the processes marked with the job's token.
# shellcheck disable=SC2013 # grep -l prints /proc/PID/environ names, which hold no blanks
S() { for f in $(grep -lz "^DROVE_JOB=$m:$2\$" /proc/[0-9]*/environ 2>/dev/null); do f=${f#/proc/}; kill -"$1" "${f%/environ}"; done; }
# end PGID TOKEN: TERM to the job's group and marked processes, KILL after the grace period.
end() { kill -TERM -"$1"; S TERM "$2"; (sleep "$g"; kill -KILL -"$1"; S KILL "$2") & }
drain() {
  echo e >&4
  while read -r i j <&4 && [ "$i" != e ]; do case $k in *" $j "*) end "$i" "$j";; *) p="$p$j:$i ";; esac; done
  q=' '; for e in $p; do kill -0 "${e#*:}" && q="$q$e "; done; p=$q
}
while read -r o t; do case $o in
  p) drain;;
  k) drain; case $p in *" $t:"*) n=${p#* "$t":}; end "${n%% *}" "$t";; *) k="$k$t "; S TERM "$t"; (sleep "$g"; S KILL "$t") &;; esac;;
esac; done
rm -f "$d/up"; drain; rm -rf "$d"
[ "$p" = ' ' ] || { for e in $p; do kill -TERM -"${e#*:}"; S TERM "${e%%:*}"; done; sleep "$g"; for e in $p; do kill -KILL -"${e#*:}"; S KILL "${e%%:*}"; done; }
