# shellcheck shell=sh
# rsyncd.sh: the command of rsync's single-use daemon (rsync's
# --rsync-path), run by the "remote shell" as
#   sh -c "$(cat rsyncd.sh)" sh N LINE... K NAME... DAEMON-ARGS...
# It writes the N configuration lines to a private temporary file, removed
# when the shell exits (also on the signals it may get: rsync sends its
# children SIGUSR1 when it fails; only SIGKILL leaves the file behind), and
# runs rsync --config=FILE DAEMON-ARGS (which rsync appended) without the K
# environment variables NAME (env -u, which takes any name, where sh's unset
# takes only shell names; rsync is found first, should PATH be one); with K
# 0, rsync is run directly (no env process).
# Every line ends a command with ";" or continues it (see copy.sh).
drove_c=$(mktemp "${TMPDIR:-/tmp}/drove-rsyncd.XXXXXX") || exit 1;
trap 'rm -f -- "$drove_c"' EXIT;
trap 'exit 1' HUP INT TERM USR1 USR2 PIPE;
drove_i=$1;
shift;
while [ "$drove_i" -gt 0 ]; do
  printf '%s\n' "$1" >>"$drove_c" || exit 1;
  shift;
  drove_i=$((drove_i - 1));
done;
drove_k=$1;
shift;
if [ "$drove_k" -eq 0 ]; then
  rsync --config="$drove_c" "$@";
  exit;
fi;
drove_a=$(($# - drove_k));
drove_i=$drove_k;
while [ "$drove_i" -gt 0 ]; do
  set -- "$@" -u "$1";
  shift;
  drove_i=$((drove_i - 1));
done;
drove_r=$(command -v rsync) || exit 1;
set -- "$@" "$drove_r" --config="$drove_c";
while [ "$drove_a" -gt 0 ]; do
  set -- "$@" "$1";
  shift;
  drove_a=$((drove_a - 1));
done;
env "$@";
