# shellcheck shell=sh
# rsyncd.sh: the command of rsync's single-use daemon (rsync's
# --rsync-path), which the "remote shell" evals, as the body of a function
# called with the configuration and the daemon's arguments:
#   drove_rsyncd() { BODY }; drove_rsyncd N LINE... K NAME... DAEMON-ARGS...
# rsync --config=FILE DAEMON-ARGS (which rsync appended) runs without the K
# environment variables NAME (env -u, which takes any name, where sh's unset
# takes only shell names; rsync is found first, should PATH be one); with K
# 0, rsync is run directly (no env process). FILE is a pipe the N
# configuration lines are written into (/dev/fd/4: no file to write, to
# leave behind or to fail on a full or read-only /tmp, and no process but
# rsync's). Where /dev/fd does not show it (FreeBSD without fdescfs), FILE
# is a private temporary file instead, removed when the shell exits (also
# on the signals it may get: rsync sends its children SIGUSR1 when it
# fails; only SIGKILL leaves the file behind).
# Every line ends a command with ";" or continues it (see copy.sh).
drove_lines() {
  drove_i=$1;
  shift;
  while [ "$drove_i" -gt 0 ]; do
    printf '%s\n' "$1" || return 1;
    shift;
    drove_i=$((drove_i - 1));
  done;
};
drove_run() {
  drove_x=$1 drove_c=$2;
  shift 2;
  shift "$(($1 + 1))";
  drove_k=$1;
  shift;
  # shellcheck disable=SC2086 # drove_x is exec or nothing
  if [ "$drove_k" -eq 0 ]; then
    $drove_x rsync --config="$drove_c" "$@";
    return;
  fi;
  drove_a=$(($# - drove_k));
  drove_i=$drove_k;
  while [ "$drove_i" -gt 0 ]; do
    set -- "$@" -u "$1";
    shift;
    drove_i=$((drove_i - 1));
  done;
  drove_r=$(command -v rsync) || return 1;
  set -- "$@" "$drove_r" --config="$drove_c";
  while [ "$drove_a" -gt 0 ]; do
    set -- "$@" "$1";
    shift;
    drove_a=$((drove_a - 1));
  done;
  # shellcheck disable=SC2086 # drove_x is exec or nothing
  $drove_x env "$@";
};
exec 3<&0;
if [ -e /dev/fd/3 ]; then
  drove_lines "$@" | drove_run exec /dev/fd/4 "$@" 4<&0 <&3 3<&-;
  exit;
fi;
drove_c=$(mktemp "${TMPDIR:-/tmp}/drove-rsyncd.XXXXXX") || exit 1;
trap 'rm -f -- "$drove_c"' EXIT;
trap 'exit 1' HUP INT TERM USR1 USR2 PIPE;
drove_lines "$@" >"$drove_c" || exit 1;
drove_run '' "$drove_c" "$@" <&3 3<&-;
exit;
