# mountinfo.awk: reads /proc/self/mountinfo and prints "OPTIONS MOUNTPOINT"
# for every mount at or below ENVIRON["drove_s"], mount points decoded from
# their octal escapes (run in the C locale, so that %c is a byte), and a
# line that makes the remount fail for one holding a newline.
# Every line ends a statement or continues it: the job's text is this file
# joined into one line.
function dec(p,  out, c) {
  out = "";
  while (match(p, /\\[0-7][0-7][0-7]/)) {
    c = substr(p, RSTART + 1, 3);
    out = out substr(p, 1, RSTART - 1) sprintf("%c", substr(c, 1, 1) * 64 + substr(c, 2, 1) * 8 + substr(c, 3, 1));
    p = substr(p, RSTART + 4);
  }
  return out p;
}
BEGIN { s = ENVIRON["drove_s"] }
{
  m = dec($5);
  if (m == s || index(m, s "/") == 1) {
    if (m ~ /\n/) { print "x"; exit }
    print $6 " " m;
  }
}
