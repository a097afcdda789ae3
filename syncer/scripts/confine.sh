# shellcheck shell=sh
# confine.sh: run in a new mount namespace as
#   sh -c "$(cat confine.sh)" sh SRC CMD AWK
# It resolves SRC as the kernel does (a node may see it through symbolic
# links: the mounts are at the real path), bind-mounts it on itself with every mount below it (--rbind), makes
# each of those mounts nosymfollow, keeping its other per-mount options (a
# user namespace may not clear them), and runs CMD (shell text); exit 125
# when a step before CMD failed, with a line on stderr saying which. AWK (mountinfo.awk) lists the mounts.
# Every line ends a command with ";" or continues it (see copy.sh).
drove_r=$(cd -P -- "$1" && pwd -P) || exit 125;
mount --rbind -- "$drove_r" "$drove_r" 2>/dev/null || {
  echo "drove: confine: cannot bind-mount $drove_r on itself" >&2;
  exit 125;
};
drove_s=${drove_r%/} LC_ALL=C awk "$3" /proc/self/mountinfo | {
  n=0;
  while IFS=' ' read -r o m; do
    mount -o "remount,bind,nosymfollow,$o" -- "$m" 2>/dev/null || {
      echo "drove: confine: cannot remount $m nosymfollow" >&2;
      exit 125;
    };
    n=1;
  done;
  [ $n = 1 ] || echo "drove: confine: no mount at $drove_r" >&2;
  [ $n = 1 ];
} || exit 125;
eval "$2";
