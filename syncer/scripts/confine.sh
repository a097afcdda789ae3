# shellcheck shell=sh
# confine.sh: run in a new mount namespace as
#   sh -c "$(cat confine.sh)" sh SRC CMD AWK
# It bind-mounts SRC on itself with every mount below it (--rbind), makes
# each of those mounts nosymfollow, keeping its other per-mount options (a
# user namespace may not clear them), and runs CMD (shell text); exit 125
# when a step before CMD failed. AWK (mountinfo.awk) lists the mounts.
# Every line ends a command with ";" or continues it (see copy.sh).
mount --rbind -- "$1" "$1" 2>/dev/null || exit 125;
drove_s=${1%/} LC_ALL=C awk "$3" /proc/self/mountinfo | {
  n=0;
  while IFS=' ' read -r o m; do
    mount -o "remount,bind,nosymfollow,$o" -- "$m" 2>/dev/null || exit 125;
    n=1;
  done;
  [ $n = 1 ];
} || exit 125;
eval "$2";
