#!/usr/bin/env bash
# Builds drove's release files into a directory; publishes nothing.
#
#   release/build.sh [-o DIR] [-t "os/arch ..."] [--release]
#
# Output (DIR, default dist/, emptied first):
#   drove_<V>_<os>_<arch>.tar.gz   linux, darwin, freebsd (amd64, arm64): drove,
#   drove_<V>_windows_amd64.zip    drove.1, completions/, README.md (LICENSE if any)
#   drove_<DV>_<arch>.deb          linux amd64, arm64: /usr/bin/drove, man page,
#                                  bash, zsh and fish completions
#   SHA256SUMS                     sha256sum of all of the above
# Binaries are static (CGO_ENABLED=0) and -trimpath, with the version stamped
# (-X main.stampVersion, main.stampRevision): "drove version" prints it.
#
# Version: with --release, HEAD must carry a tag (v1.2.3) and the tree must be
# clean; V is the tag. Otherwise (a snapshot) V is "git describe --tags" when
# there is a tag, else "snapshot-<revision>", with "-dirty" for a tree with
# uncommitted changes. DV, the Debian version, is V without a leading v, or
# 0.0.0~<revision> for an untagged snapshot.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
targets="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 freebsd/arm64 windows/amd64"
release=false
while [ $# -gt 0 ]; do
  case $1 in
  -o) out=$2; shift 2 ;;
  -t) targets=$2; shift 2 ;;
  --release) release=true; shift ;;
  -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "release/build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

command -v git >/dev/null || { echo "release/build.sh: needs git (the version comes from the checkout)" >&2; exit 2; }
rev=$(git rev-parse --short=12 HEAD) || { echo "release/build.sh: not a git checkout" >&2; exit 2; }
dirty=
[ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=-dirty
if $release; then
  version=$(git describe --tags --exact-match HEAD 2>/dev/null) || { echo "release/build.sh: --release needs a tag on HEAD" >&2; exit 2; }
  [ -z "$dirty" ] || { echo "release/build.sh: --release needs a clean tree (git status)" >&2; exit 2; }
  case $version in v[0-9]*) ;; *) echo "release/build.sh: tag $version is not vMAJOR.MINOR.PATCH" >&2; exit 2 ;; esac
elif version=$(git describe --tags --dirty 2>/dev/null); then
  :
else
  version=snapshot-$rev$dirty
fi
case $version in
v[0-9]*) debversion=${version#v}; debversion=${debversion//-/\~} ;;
*) debversion=0.0.0~$rev${dirty:+~dirty} ;;
esac
# Reproducible archives: every file dated at the commit.
epoch=$(git log -1 --format=%ct HEAD)

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ldflags="-s -w -X main.stampVersion=$version -X main.stampRevision=$rev$dirty"
build() { # build GOOS GOARCH OUTPUT
  echo "build: $1/$2" >&2
  CGO_ENABLED=0 GOOS=$1 GOARCH=$2 go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$3" .
}

# Completions come from a drove that runs here.
build "$(go env GOHOSTOS)" "$(go env GOHOSTARCH)" "$work/drove-host"
mkdir -p "$work/completions"
"$work/drove-host" completion bash >"$work/completions/drove.bash"
"$work/drove-host" completion zsh >"$work/completions/_drove"
"$work/drove-host" completion fish >"$work/completions/drove.fish"

for t in $targets; do
  os=${t%/*} arch=${t#*/}
  name=drove_${version}_${os}_${arch}
  dir=$work/$name
  mkdir -p "$dir"
  exe=drove
  [ "$os" = windows ] && exe=drove.exe
  if [ "$os/$arch" = "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" ]; then
    cp "$work/drove-host" "$dir/$exe"
  else
    build "$os" "$arch" "$dir/$exe"
  fi
  cp docs/drove.1 README.md "$dir/"
  [ -f LICENSE ] && cp LICENSE "$dir/"
  cp -r "$work/completions" "$dir/"
  find "$dir" -exec touch -h -d "@$epoch" {} +
  if [ "$os" = windows ]; then
    (cd "$work" && find "$name" | LC_ALL=C sort | zip -q -X -@ "$out/$name.zip")
  else
    tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - "$name" | gzip -9n >"$out/$name.tar.gz"
  fi

  if [ "$os" = linux ]; then
    deb=$work/deb-$arch
    mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/usr/share/man/man1" "$deb/usr/share/bash-completion/completions" \
      "$deb/usr/share/zsh/vendor-completions" "$deb/usr/share/fish/vendor_completions.d" "$deb/usr/share/doc/drove"
    install -m 0755 "$dir/drove" "$deb/usr/bin/drove"
    gzip -9n <docs/drove.1 >"$deb/usr/share/man/man1/drove.1.gz"
    install -m 0644 "$work/completions/drove.bash" "$deb/usr/share/bash-completion/completions/drove"
    install -m 0644 "$work/completions/_drove" "$deb/usr/share/zsh/vendor-completions/_drove"
    install -m 0644 "$work/completions/drove.fish" "$deb/usr/share/fish/vendor_completions.d/drove.fish"
    gzip -9n <README.md >"$deb/usr/share/doc/drove/README.md.gz"
    size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
    cat >"$deb/DEBIAN/control" <<CONTROL
Package: drove
Version: $debversion
Architecture: $arch
Maintainer: drove developers <drove@users.noreply.github.com>
Installed-Size: $size
Section: net
Priority: optional
Homepage: https://github.com/drove-dev/drove
Suggests: rsync, rclone
Description: run shell jobs across machines over SSH, copy big trees in parallel
 drove runs shell commands across a fleet of machines over SSH, one job per
 node slot at a time, and accounts for every job at the end. It also splits
 big file trees into partitions that the nodes copy in parallel with rsync or
 rclone, resumably.
CONTROL
    find "$deb" -exec touch -h -d "@$epoch" {} +
    SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$deb" "$out/drove_${debversion}_${arch}.deb" >/dev/null
  fi
done

(
  cd "$out"
  shopt -s nullglob
  files=(*.tar.gz *.zip *.deb)
  sha256sum -- "${files[@]}" >SHA256SUMS
)
echo "release: drove $version in $out" >&2
ls -l "$out" >&2
