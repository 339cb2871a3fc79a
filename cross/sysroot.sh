#!/usr/bin/env bash
# Make a private sysroot with Debian's arm64 builds of the libraries
# modvm links (libfdt, libinih), for cross-compiling with
# gcc-aarch64-linux-gnu. The packages are fetched with apt-get download
# through cross/apt-arm64.sh (private lists and cache) and unpacked with
# dpkg-deb -x: nothing is installed system-wide, no root is needed.
#
# Usage: cross/sysroot.sh [DIR]     (default: build-cross/sysroot)
# Writes DIR/usr/... and DIR/sysroot.ini, the cross file that defines
# the `sysroot` constant cross/aarch64-linux-gnu.ini uses.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build-cross/sysroot}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
packages=(libfdt-dev libfdt1 libinih-dev libinih1)
apt=("$top/cross/apt-arm64.sh" "$dir/.apt")

echo "sysroot.sh: downloading ${packages[*]} (arm64) into $dir" >&2
mkdir -p "$dir/.apt/debs"
rm -f "$dir/.apt/debs/"*.deb
(cd "$dir/.apt/debs" && "${apt[@]}" apt-get -qq download "${packages[@]/%/:arm64}")
for deb in "$dir/.apt/debs"/*.deb; do
	dpkg-deb -x "$deb" "$dir"
done
for lib in libfdt.so libinih.so; do
	if [ ! -e "$dir/usr/lib/aarch64-linux-gnu/$lib" ]; then
		echo "sysroot.sh: $lib missing from the arm64 packages" >&2
		exit 1
	fi
done
cat >"$dir/sysroot.ini" <<INI
# Written by cross/sysroot.sh: use with cross/aarch64-linux-gnu.ini.
[constants]
sysroot = '$dir'
INI
echo "sysroot.sh: ready: $dir (cross file $dir/sysroot.ini)" >&2
