# shellcheck shell=sh
# keep.sh: the keep check of a copy that must remove nothing from DST, run
# on the node right before the copy as
#   sh -c "$(cat keep.sh)" sh KEEP MODE NONCE SRC DST IN OUT REPORT
# KEEP is this script's own text (to run itself again through xargs or
# find, which gets it in the environment: find would replace a "{}" in it). An entry of SRC conflicts with DST when DST holds its path, or a
# directory above it, as another type (file, directory, symlink, other):
# rsync would remove DST's entry to put SRC's in its place (rclone would
# replace a symlink, writing through it). Conflicting entries are kept: left
# out of the copy, and, when REPORT is 1, reported on stdout as
#   drove-outcome NONCE kept DT ST HEX
# (DT and ST the types in DST and SRC: f d l o; HEX the path relative to
# SRC, hexadecimal), each after a newline of its own. MODE is
#   rsync-list   IN is a NUL-separated rsync list; OUT gets it without the
#                conflicting entries (and those below them)
#   rclone-list  IN is an rclone list (lines, rclone's encoding); OUT gets
#                it without them (a line holding one of the encoding's
#                marks cannot be read back here and is copied unchecked)
#   rsync-walk   SRC is walked (find); OUT gets an rsync exclude pattern,
#                NUL-terminated, for each conflicting entry
#   rclone-walk  the same with rclone exclude patterns, one a line (the
#                entry, and all below it should it be a directory); a path
#                that no pattern can name (a control character, a mark of
#                rclone's encoding) fails the check (exit 3)
# and, run by itself, each-list / each-walk TYPE ENTRY... Exit 0 when
# OUT is written. Every line ends a command with ";" or continues it (see
# copy.sh).
LC_ALL=C;
export LC_ALL;
drove_k=$1 drove_mode=$2 drove_n=$3 drove_src=${4%/} drove_dst=${5%/} drove_in=$6 drove_out=$7 drove_rep=$8;
shift 8;
drove_ty() {
  if [ -L "$1" ]; then drove_t=l;
  elif [ -d "$1" ]; then drove_t=d;
  elif [ -f "$1" ]; then drove_t=f;
  elif [ -e "$1" ]; then drove_t=o;
  else drove_t=-;
  fi;
};
drove_kept() {
  [ "$drove_rep" = 1 ] && [ "$1" != "$drove_last" ] && printf '\ndrove-outcome %s kept %s %s %s\n' "$drove_n" "$2" "$3" "$(printf %s "$1" | od -An -v -tx1 | tr -d ' \n')";
  drove_last=$1;
  case $drove_mode in
  each-walk-rsync)
    drove_e=$1;
    case $1 in
    *[\[*?]*)
      drove_e='' drove_r=$1;
      while [ -n "$drove_r" ]; do
        drove_c=${drove_r%"${drove_r#?}"} drove_r=${drove_r#?};
        case $drove_c in
        \\|'*'|'?'|'[') drove_e="$drove_e\\$drove_c";;
        *) drove_e="$drove_e$drove_c";;
        esac;
      done;;
    esac;
    printf '/%s\000' "$drove_e" >>"$drove_out" || exit 1;;
  each-walk-rclone)
    drove_e='' drove_r=$1;
    while [ -n "$drove_r" ]; do
      drove_c=${drove_r%"${drove_r#?}"} drove_r=${drove_r#?};
      case $drove_c in
      \\|'*'|'?'|'['|']'|'{'|'}') drove_e="$drove_e\\$drove_c";;
      *) drove_e="$drove_e$drove_c";;
      esac;
    done;
    printf '/%s\n/%s/**\n' "$drove_e" "$drove_e" >>"$drove_out" || exit 1;;
  esac;
};
drove_check() {
  drove_p=${1#./};
  case $drove_p in
  "$drove_bad"/*) return 1;;
  esac;
  drove_d=${drove_p%/*};
  if [ "$drove_d" != "$drove_p" ] && [ "$drove_d" != "$drove_ok" ]; then
    drove_r=$drove_d/ drove_a=;
    while [ -n "$drove_r" ]; do
      drove_a=${drove_a:+$drove_a/}${drove_r%%/*} drove_r=${drove_r#*/};
      drove_ty "$drove_dst/$drove_a";
      case $drove_t in
      d) ;;
      -) break;;
      *)
        drove_dt=$drove_t;
        drove_ty "$drove_src/$drove_a";
        [ "$drove_t" = - ] && break;
        drove_bad=$drove_a;
        case $drove_mode in
        *-list*) drove_kept "$drove_a" "$drove_dt" "$drove_t";;
        esac;
        return 1;;
      esac;
    done;
    drove_ok=$drove_d;
  fi;
  drove_ty "$drove_dst/$drove_p";
  [ "$drove_t" = - ] && return 0;
  drove_dt=$drove_t;
  drove_ty "$drove_src/$drove_p";
  [ "$drove_t" = - ] || [ "$drove_t" = "$drove_dt" ] && return 0;
  drove_kept "$drove_p" "$drove_dt" "$drove_t";
  drove_bad=$drove_p;
  return 1;
};
drove_bad=// drove_ok=// drove_last=//;
drove_m1=$(printf '\342\200\233') drove_m2=$(printf '\342\220') drove_m3=$(printf '\357\274\216') drove_m4=$(printf '\357\274\217');
case $drove_mode in
rsync-list)
  : >"$drove_out" && xargs -0 sh -c "$drove_k" sh "$drove_k" each-list-rsync "$drove_n" "$drove_src" "$drove_dst" - "$drove_out" "$drove_rep" <"$drove_in";;
each-list-rsync)
  for drove_x; do
    if drove_check "$drove_x"; then printf '%s\000' "$drove_x" >>"$drove_out" || exit 1; fi;
  done;;
rclone-list)
  : >"$drove_out" && while IFS= read -r drove_x; do
    case $drove_x in
    *"$drove_m1"*|*"$drove_m2"*|*"$drove_m3"*|*"$drove_m4"*)
      printf '%s\n' "$drove_x" >>"$drove_out" || exit 1;
      continue;;
    esac;
    if drove_check "$drove_x"; then printf '%s\n' "$drove_x" >>"$drove_out" || exit 1; fi;
  done <"$drove_in";;
rsync-walk|rclone-walk)
  : >"$drove_out" && cd -- "$drove_src" && export drove_k && find . ! -name . -exec sh -c 'eval "$drove_k"' sh - "each-walk-${drove_mode%-walk}" "$drove_n" "$drove_src" "$drove_dst" - "$drove_out" "$drove_rep" {} +;;
each-walk-*)
  for drove_x; do
    drove_check "$drove_x" || case $drove_mode in
    *-rclone)
      case $drove_last in
      *[[:cntrl:]]*|*"$drove_m1"*|*"$drove_m2"*|*"$drove_m3"*|*"$drove_m4"*)
        echo "drove: keep: cannot exclude $drove_last from rclone's final pass" >&2;
        exit 3;;
      esac;;
    esac;
  done;;
*)
  exit 2;;
esac;
