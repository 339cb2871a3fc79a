#!/usr/bin/env bash
# Install what building and testing modvm needs, on Debian 12, when missing.
# Usage: scripts/deps.sh [build|test|guest]...   (default: build test)
set -euo pipefail

want=()
for set in "${@:-build test}"; do
	for s in $set; do
		case "$s" in
		build) want+=(gcc meson ninja-build pkg-config libinih-dev libfdt-dev linux-libc-dev scdoc) ;;
		test) want+=(libcmocka-dev valgrind libc6-dbg device-tree-compiler acpica-tools) ;;
		guest) want+=(qemu-system-x86 qemu-system-arm qemu-efi-aarch64 busybox-static cpio xz-utils) ;;
		*) echo "deps.sh: unknown set '$s' (build, test, guest)" >&2; exit 2 ;;
		esac
	done
done

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
