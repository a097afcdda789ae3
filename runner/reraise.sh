# shellcheck shell=sh
# Follows a job's eval on the job's own line (see jobCommand in wrapper.go):
# a status of 128+n (256+n in ksh93), for a signal n that ends a process by
# default, becomes death by that signal, unless the job set a trap that
# runs code ("trap -- 'CODE' SIG", ksh's "trap -- $'CODE' SIG"): a signal
# ignored ("trap -- '' SIG"), by the job or since the shell started (bash
# lists those: nohup, a background job of a script), is not one. It is one
# line: comment lines are removed before the text is sent to a node.
{ s=$?; case $s in 129|130|131|132|134|135|136|137|138|139|140|141|142|143) n=$((s-128));; 257|258|259|260|262|263|264|265|266|267|268|269|270|271) n=$((s-256)); s=$((n+128));; *) exit "$s";; esac; case $(trap) in *"trap -- '"[!"'"]*|*"trap -- ''\\'"*|*"trap -- \$'"*) exit "$s";; esac; kill -"$n" "$$"; exit "$s"; } 2>/dev/null
