# shellcheck shell=sh
# copy.sh: one copy of a sync (a partition or the final pass), run as
#   sh -c "$(cat copy.sh)" sh NONCE LOGDIR LOG KIND TMP SRC DST CMD CONFINE AWK CHECK MARK KEEP KEEPMODE LIST REPORT
# KIND is rsync (CMD reads SRC through drove's daemon, TMP is made first),
# rsync-final (the same, then TMP is removed and DST's mtime set to SRC's),
# rclone (CMD as is) or rclone-confined (CMD in a mount namespace where no
# symlink below SRC is followed: CONFINE run with AWK, see confine.sh).
# CMD is shell text whose words are already quoted; so is CHECK, run after
# a CMD that exited 0 (rclone: the listing of DST that drove checks), or
# nothing when empty. MARK, when not empty, is the name of drove's view
# marker at the top of SRC: a node that does not see it has a stale view of
# SRC and runs nothing (exit 8).
# With KEEPMODE not empty, keep.sh (KEEP) runs first with LIST and REPORT
# (see keep.sh): it writes a list (or exclude file) without the entries
# whose DST counterpart is of another type, into a temporary directory, as
# a file named as LIST (or "excludes"), whose path is $drove_list
# (exported) when CMD runs, and its outcome lines go to
# stdout; a check that fails fails the copy (exit 1, CMD not run).
# Its output is appended to LOG; the outcome is a line on stdout,
# "drove-outcome NONCE exit 23", "... exit 24", "... exit 25" (rsync
# stopped deleting at --max-delete; rsync: the job then exits 0),
# "... unconfined" (no mount namespace), "... unconfined mount" (one, but
# confine.sh failed: it says why in LOG) or "... failed N" (the copy ran,
# with its log open, and exited N, which is the job's exit status too),
# printed after a newline so that bytes before it cannot join it.
# Two variables of the environment, when drove sets them (in front of the
# job's text, as each attempt starts), save a process each: drove_date is
# the attempt's start (the log header's date, else date -u), drove_rsync
# what an earlier copy on this node reported of its rsync (trust-sender or
# plain; else this copy asks rsync --version, and reports it on stdout as
# "drove-outcome NONCE rsync trust-sender" or "... rsync plain").
# Every line of this file ends a command with ";" or continues it: the
# job's text is this file joined into one line.
drove_n=$1 drove_logdir=$2 drove_log=$3 drove_kind=$4 drove_tmp=$5 drove_src=$6 drove_dst=$7 drove_cmd=$8 drove_confine=$9;
shift 9;
drove_awk=$1 drove_check=$2 drove_mark=$3 drove_keep=$4 drove_keepmode=$5 drove_in=$6 drove_rep=$7;
exec 3>&1;
drove_list='' drove_ld='';
# One mkdir makes both directories of a partition's rsync copy (each
# process costs a few ms), and none is run for a directory that is there
# (as they are for every copy of a run but a node's first: test is built
# in); when it fails, each is made on its own, the temporary directory's
# error going to LOG as before. drove_t says the log directory was made (the copy's own
# failure is then "failed N").
drove_t=0 drove_d=;
case $drove_kind in
rsync) { { [ -d "$drove_logdir" ] && [ -d "$drove_tmp" ]; } || mkdir -p -- "$drove_logdir" "$drove_tmp" 2>/dev/null; } && drove_d=1;;
esac;
{ [ -n "$drove_d" ] || [ -d "$drove_logdir" ] || mkdir -p -- "$drove_logdir"; } && {
  drove_t=1;
  { read -r drove_h </proc/sys/kernel/hostname; } 2>/dev/null || drove_h=$(uname -n);
  echo "== ${drove_date:-$(date -u)} $drove_h";
  if [ -n "$drove_mark" ] && ! [ -f "$drove_src/$drove_mark" ]; then
    echo "drove: this node does not see $drove_src/$drove_mark, which drove wrote before this pass: its view of SRC is stale";
    exit 8;
  fi;
  if [ -n "$drove_keepmode" ]; then
    drove_b=excludes;
    [ "$drove_in" = - ] || drove_b=${drove_in##*/};
    if ! drove_ld=$(mktemp -d) || ! drove_list=$drove_ld/$drove_b || ! sh -c "$drove_keep" sh "$drove_keep" "$drove_keepmode" "$drove_n" "$drove_src" "$drove_dst" "$drove_in" "$drove_list" "$drove_rep" >&3; then
      echo "drove: the keep check before the copy failed";
      [ -z "$drove_ld" ] || rm -rf -- "$drove_ld";
      exit 1;
    fi;
    export drove_list;
  fi;
  case $drove_kind in
  rsync|rsync-final)
    # shellcheck disable=SC2034 # drove_m is read by CMD (the daemon module)
    # The effective user ID from /proc where there is one (no id process).
    drove_u=;
    # shellcheck disable=SC2034 # drove_x takes the fields not used
    { while read -r drove_m drove_x drove_u drove_x; do [ "$drove_m" = Uid: ] && break; drove_u=; done </proc/self/status; } 2>/dev/null;
    [ -n "$drove_u" ] || drove_u=$(id -u);
    drove_m=user && [ "$drove_u" -eq 0 ] && drove_m=root;
    # drove_ts is --trust-sender (read by CMD) when this rsync has it:
    # 3.2.5 and later, as its --version says ("rsync  version 3.2.7 ...";
    # not openrsync, whose first line is "openrsync: protocol version 29").
    # shellcheck disable=SC2034 # drove_ts is read by CMD
    drove_ts=;
    case ${drove_rsync-} in
    trust-sender) drove_ts=--trust-sender;;
    plain) ;;
    *)
      drove_r=plain;
      if drove_v=$(rsync --version 2>/dev/null) && case $drove_v in "rsync "*) true;; *) false;; esac; then
        drove_v=${drove_v#*version } && drove_v=${drove_v%%[!0-9.]*}..;
        drove_a=${drove_v%%.*} && drove_v=${drove_v#*.} && drove_b=${drove_v%%.*} && drove_v=${drove_v#*.} && drove_v=${drove_v%%.*};
        # shellcheck disable=SC2034 # drove_ts is read by CMD
        { [ "${drove_a:-0}" -gt 3 ] || { [ "${drove_a:-0}" -eq 3 ] && { [ "${drove_b:-0}" -gt 2 ] || { [ "${drove_b:-0}" -eq 2 ] && [ "${drove_v:-0}" -ge 5 ]; }; }; }; } && drove_ts=--trust-sender && drove_r=trust-sender;
      fi;
      printf '\ndrove-outcome %s rsync %s\n' "$drove_n" "$drove_r" >&3;;
    esac;
    { [ -n "$drove_d" ] || [ -d "$drove_tmp" ] || mkdir -p -- "$drove_tmp"; } && eval "$drove_cmd";
    drove_s=$?;
    if [ "$drove_kind" = rsync-final ]; then
      rm -rf -- "$drove_tmp" && touch -c -m -r "$drove_src/" "$drove_dst";
    fi;
    (exit "$drove_s");;
  rclone)
    eval "$drove_cmd";;
  rclone-confined)
    drove_u=-m;
    [ "$(id -u)" -eq 0 ] || drove_u=-rm;
    drove_w=;
    if [ "$(uname -s)" = Linux ] && unshare "$drove_u" true 2>/dev/null; then
      unshare "$drove_u" sh -c "$drove_confine" sh "$drove_src" "$drove_cmd" "$drove_awk";
      drove_s=$?;
      drove_w=' mount';
    else
      drove_s=125;
    fi;
    if [ "$drove_s" -eq 125 ]; then
      printf '\ndrove-outcome %s unconfined%s\n' "$drove_n" "$drove_w" >&3;
      eval "$drove_cmd";
    else
      (exit "$drove_s");
    fi;;
  esac;
  drove_s=$?;
  if [ "$drove_s" -eq 0 ] && [ -n "$drove_check" ]; then
    eval "$drove_check";
  else
    (exit "$drove_s");
  fi;
} >>"$drove_log" 2>&1;
drove_s=$?;
[ -z "$drove_ld" ] || rm -rf -- "$drove_ld";
case $drove_kind in
rsync*)
  if [ "$drove_s" -eq 25 ]; then
    printf '\ndrove-outcome %s exit 25\n' "$drove_n" && drove_s=0;
  elif [ "$drove_s" -eq 24 ] || [ "$drove_s" -eq 23 ]; then
    { [ "$drove_s" -eq 24 ] || echo '== exit 23' >>"$drove_log"; } && printf '\ndrove-outcome %s exit %s\n' "$drove_n" "$drove_s" && drove_s=0;
  fi;;
esac;
if [ "$drove_s" -ne 0 ] && [ "$drove_t" -eq 1 ]; then
  printf '\ndrove-outcome %s failed %s\n' "$drove_n" "$drove_s";
fi;
exit "$drove_s";
