# shellcheck shell=sh
# The watcher of a job run by RemoteCommand (wrapper.go). It is the body of
# a subshell of the job's shell, which has run ulimit and "set -- GRACE
# PATTERN" before it: $1 is the grace period in whole seconds, $2 the job's
# mark as grep -x matches it in /proc/PID/environ ("DROVE_JOB=MARK"), and
# $$ the job's shell. fd 3 is the session's stdin. The helper started with
# setsid gets the job's process group as its $0 and the pattern as its $1.
#
# It is one line, as the whole wrapper is: a shell's messages about the
# job's text give its line number in the command, which must stay 1.
# Comment lines are removed before the text is sent to a node.
#
# shellcheck disable=SC2013,SC2016 # grep -l prints /proc/PID/environ names, which hold no blanks; the helper's parameters are expanded by the helper
( trap '' HUP INT TERM; k=; while read -r k; do [ "$k" = k ] && break; done; [ "$k" = k ] || kill -0 $$ 2>/dev/null || exit 0; kill -TERM 0; for f in $(grep -lz -x "$2" /proc/[0-9]*/environ 2>/dev/null); do f=${f#/proc/}; kill -TERM "${f%/environ}"; done; n=0; while kill -0 $$ 2>/dev/null && [ $n -lt "$1" ]; do sleep 1; n=$((n+1)); done; setsid sh -c 'while kill -0 -"$0" 2>/dev/null; do sleep 0.05 2>/dev/null || sleep 1; done; for f in $(grep -lz -x "$1" /proc/[0-9]*/environ 2>/dev/null); do f=${f#/proc/}; kill -KILL "${f%/environ}"; done' $$ "$2" & kill -KILL 0 ) <&3 >/dev/null 2>&1 &
