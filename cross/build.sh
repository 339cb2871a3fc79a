#!/usr/bin/env bash
# Cross-build modvm for aarch64 on an x86_64 Debian 12 and check the
# result under user-mode QEMU: `modvm --check` on the arm64 configs and
# the arm64 CLI test (tests/arm64/test-arm64-cli.sh), with modvm and its
# plugins running as aarch64 code. No /dev/kvm is needed.
#
# Usage: cross/build.sh [BUILD_DIR]     (default: build-cross)
# Installs gcc-aarch64-linux-gnu and qemu-user-static with apt-get when
# missing (as root, or with sudo); the arm64 libraries come from a
# private sysroot (cross/sysroot.sh), never from the system's dpkg.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-cross}
mkdir -p "$build"
build=$(cd "$build" && pwd)

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
# The cross C library is only a Recommends of the compiler.
[ -e /usr/aarch64-linux-gnu/lib/crti.o ] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v meson >/dev/null || need+=(meson ninja-build)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
	echo "cross/build.sh: installing ${need[*]}" >&2
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

[ -f "$build/sysroot/sysroot.ini" ] || "$top/cross/sysroot.sh" "$build/sysroot"
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" \
		--cross-file "$top/cross/aarch64-linux-gnu.ini" \
		--cross-file "$build/sysroot/sysroot.ini" \
		-Dtests=false -Dman=disabled -Dwerror=true
fi
# The core and the plugins an arm64 host runs (x86-only plugins include
# x86 UAPI headers and are not built here).
ninja -C "$build" modvm plugins/arch-aarch64.so plugins/boot-linux-arm64.so \
	plugins/exit-io.so plugins/exit-shutdown.so

# A wrapper that runs the aarch64 modvm under qemu-aarch64.
cat >"$build/modvm-qemu" <<SH
#!/bin/sh
export LD_LIBRARY_PATH="$build/sysroot/usr/lib/aarch64-linux-gnu"
export MODVM_PLUGIN_PATH="$build/plugins"
exec qemu-aarch64-static -L /usr/aarch64-linux-gnu "$build/modvm" "\$@"
SH
chmod +x "$build/modvm-qemu"

file "$build/modvm" "$build/plugins/arch-aarch64.so"
for ini in "$top"/configs/aarch64-*.ini; do
	echo "== aarch64 modvm --check $ini"
	"$build/modvm-qemu" --check "$ini"
done
echo "== tests/arm64/test-arm64-cli.sh with the aarch64 modvm"
"$top/tests/arm64/test-arm64-cli.sh" "$build/modvm-qemu" "$top"
