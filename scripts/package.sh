#!/usr/bin/env bash
# Build the Debian packages modvm and modvm-dev from this tree and check
# them with lintian. The build runs in a temporary copy of the tree, so
# nothing is written into the source tree.
#
# Usage: scripts/package.sh [--install] [--out DIR] [--head [--overlay PATH]...]
#   --install       install the built .debs with dpkg -i, then check that
#                   `modvm --list-plugins` lists every packaged plugin
#   --out DIR       where to leave the .debs (default: a new /tmp folder)
#   --head          package the last commit (git archive HEAD) instead of
#                   the working tree (tracked and untracked, not ignored)
#   --overlay PATH  with --head: copy PATH from the working tree over the
#                   export (to try uncommitted packaging changes)
#
# Needs Debian 12 (or newer); installs the build dependencies with
# apt-get when they are missing (as root, or through sudo).
set -euo pipefail

install=false
out=
head=false
overlays=()
while [ $# -gt 0 ]; do
	case "$1" in
	--install) install=true ;;
	--out) out=${2:?--out needs a folder}; shift ;;
	--head) head=true ;;
	--overlay) overlays+=("${2:?--overlay needs a path}"); shift ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "package.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

src=$(cd "$(dirname "$0")/.." && pwd)
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

step() { printf '\n== %s\n' "$*"; }
start=$(date +%s)

step "build dependencies"
want=(debhelper dpkg-dev fakeroot lintian build-essential meson ninja-build
      pkg-config libinih-dev libfdt-dev scdoc libcmocka-dev)
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
else
	echo "all present"
fi

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
work=$(mktemp -d /tmp/modvm-package.XXXXXX)
trap 'rm -rf "$work/modvm-$version"' EXIT
[ -n "$out" ] || out=$work
mkdir -p "$out"
out=$(cd "$out" && pwd)

step "copy the tree to $work/modvm-$version"
mkdir "$work/modvm-$version"
if $head; then
	git -C "$src" archive --format=tar HEAD | tar -C "$work/modvm-$version" -xf -
	for path in "${overlays[@]}"; do
		(cd "$src" && cp -r --parents "$path" "$work/modvm-$version/")
		echo "overlaid $path from the working tree"
	done
elif git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	# Tracked files plus new ones not ignored: no build dirs, no .git.
	(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
		(cd "$src" && xargs -0 cp --parents -t "$work/modvm-$version" 2>/dev/null || true)
else
	tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . |
		tar -C "$work/modvm-$version" -xf -
fi
# Files listed by git but deleted in the working tree are skipped by
# cp above; debian/ must be there.
[ -x "$work/modvm-$version/debian/rules" ] ||
	{ echo "package.sh: debian/rules missing in the copy" >&2; exit 1; }

step "dpkg-buildpackage -us -uc -b"
build_start=$(date +%s)
(cd "$work/modvm-$version" && dpkg-buildpackage -us -uc -b) \
	>"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	echo "package.sh: dpkg-buildpackage failed; full log: $work/build.log" >&2
	exit 1
}
build_secs=$(( $(date +%s) - build_start ))
changes=$(ls "$work"/modvm_"$version"_*.changes)
echo "built in ${build_secs}s:"
for deb in "$work"/*.deb; do
	[ "$out" = "$work" ] || cp "$deb" "$out/"
	echo "  $out/$(basename "$deb")"
done

step "lintian"
lintian_rc=0
lintian --fail-on error --display-info "$changes" >"$work/lintian.log" 2>&1 ||
	lintian_rc=$?
cat "$work/lintian.log"
for tag in E W I; do
	printf '%s: %s  ' "$tag" "$(grep -c "^$tag: " "$work/lintian.log" || true)"
done
echo
if [ "$lintian_rc" -ne 0 ]; then
	echo "package.sh: lintian reports errors (exit $lintian_rc)" >&2
	exit 1
fi

if $install; then
	step "dpkg -i"
	"${sudo[@]}" dpkg -i "$out"/modvm_"$version"_*.deb \
		"$out"/modvm-dev_"$version"_*.deb
	step "modvm --list-plugins"
	listed=$(env -u MODVM_PLUGIN_PATH modvm --list-plugins)
	echo "$listed"
	fail=0
	for so in $(dpkg -L modvm | grep '/modvm/plugins/.*\.so$'); do
		name=$(basename "$so" .so)
		echo "$listed" | grep -q "^$name .*$so" || {
			echo "package.sh: packaged plugin $name ($so) is not listed" >&2
			fail=1
		}
	done
	[ "$fail" -eq 0 ] || exit 1
	echo "every packaged plugin is listed"
fi

step "done in $(( $(date +%s) - start ))s (package build ${build_secs}s); .debs in $out"
