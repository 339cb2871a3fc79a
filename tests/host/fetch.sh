#!/usr/bin/env bash
# tests/host/fetch.sh - make the KVM test host's ingredients available.
#
# Installs (only if missing) qemu-system-x86, busybox-static, cpio and
# xz-utils with apt-get, and unpacks Debian's cloud kernel package (its
# vmlinuz and kvm modules) into a cache outside the git tree:
#     ${MODVM_CACHE:-$HOME/.cache/modvm}/testhost/<kernel-version>/
# A kernel already in the cache is reused without touching apt or the
# network; --refresh resolves linux-image-cloud-amd64 again.
#
# Usage: fetch.sh [--refresh] [--print dir|vmlinuz|kver|env]
#   --print dir      (default) print the kernel's cache directory
#   --print vmlinuz  print the path of the kernel image (usable as a guest
#                    kernel too)
#   --print kver     print the kernel version, e.g. 6.1.0-56-cloud-amd64
#   --print env      print shell assignments MODVM_TESTHOST_{DIR,KVER,
#                    VMLINUZ,MODULES} for eval
# Environment: MODVM_CACHE (cache root), MODVM_TESTHOST_KVER (pin a kernel
# version, e.g. 6.1.0-56-cloud-amd64; downloaded if not cached).
# Only stdout carries the answer; progress and errors go to stderr.
set -euo pipefail

die() { echo "fetch.sh: error: $*" >&2; exit 1; }
note() { echo "fetch.sh: $*" >&2; }

print=dir
refresh=0
while [ $# -gt 0 ]; do
	case $1 in
	--refresh) refresh=1 ;;
	--print) [ $# -ge 2 ] || die "--print needs an argument"; print=$2; shift ;;
	--print=*) print=${1#--print=} ;;
	-h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done
case $print in dir|vmlinuz|kver|env) ;; *) die "--print takes dir, vmlinuz, kver or env" ;; esac

if [ -z "${HOME:-}" ]; then
	HOME=$(getent passwd "$(id -u)" | cut -d: -f6) || true
fi
cache_root=${MODVM_CACHE:-${HOME:?cannot find a home directory; set MODVM_CACHE}/.cache/modvm}/testhost
mkdir -p "$cache_root" || die "cannot create cache directory $cache_root"

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() {
	[ $apt_updated = 0 ] || return 0
	note "apt-get update"
	apt-get update -qq -o DPkg::Lock::Timeout=300 >&2 || die "apt-get update failed"
	apt_updated=1
}

# --- host packages ---------------------------------------------------------
busybox_static_ok() {
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}
missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
busybox_static_ok || missing+=(busybox-static)
command -v cpio >/dev/null 2>&1 || missing+=(cpio)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}"
	note "installing ${missing[*]}"
	# No lists at all on a fresh machine: update first.
	if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then apt_update; fi
	if ! apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >&2; then
		apt_update
		apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >&2 ||
			die "apt-get install ${missing[*]} failed"
	fi
fi
busybox_static_ok || die "/bin/busybox is not a static busybox (install busybox-static)"

# --- kernel ----------------------------------------------------------------
complete() { [ -f "$cache_root/$1/.complete" ]; }

resolve_kver() {
	local dep
	dep=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\(-unsigned\)\{0,1\}\)$/\1/p' | head -n1)
	[ -n "$dep" ] || return 1
	dep=${dep#linux-image-}
	echo "${dep%-unsigned}"
}

kver=${MODVM_TESTHOST_KVER:-}
if [ -z "$kver" ] && [ $refresh = 0 ]; then
	# Newest kernel already in the cache: no apt, no network.
	kver=$(for d in "$cache_root"/[0-9]*-cloud-amd64; do
		if [ -f "$d/.complete" ]; then basename "$d"; fi
	done | sort -V | tail -n1)
fi
if [ -z "$kver" ]; then
	kver=$(resolve_kver) || { apt_update; kver=$(resolve_kver); } ||
		die "cannot resolve linux-image-cloud-amd64 to a kernel version with apt-cache"
fi
case $kver in *[!A-Za-z0-9.+_-]*|'') die "bad kernel version '$kver'" ;; esac
dir=$cache_root/$kver

if ! complete "$kver"; then
	exec 9>"$cache_root/.lock"
	flock 9
	if ! complete "$kver"; then
		tmp=$(mktemp -d "$cache_root/.fetch.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		chmod 755 "$tmp"
		download() {
			local p
			for p in "linux-image-$kver" "linux-image-$kver-unsigned"; do
				if (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$p" >&2); then
					return 0
				fi
			done
			return 1
		}
		note "downloading linux-image-$kver"
		download || { apt_update; download; } || die "apt-get download linux-image-$kver failed"
		deb=$(ls "$tmp"/*.deb)
		note "unpacking $(basename "$deb")"
		dpkg -x "$deb" "$tmp/root" || die "dpkg -x $deb failed"
		kdir=$tmp/root/lib/modules/$kver/kernel
		[ -f "$tmp/root/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $deb"
		# Uncompressed copies of the kvm modules (newer packages ship .ko.xz).
		mkdir -p "$tmp/root/kvm"
		for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
			name=$(basename "$m")
			if [ -f "$kdir/$m.ko" ]; then
				cp "$kdir/$m.ko" "$tmp/root/kvm/$name.ko"
			elif [ -f "$kdir/$m.ko.xz" ]; then
				xz -dc "$kdir/$m.ko.xz" >"$tmp/root/kvm/$name.ko"
			elif [ -f "$kdir/$m.ko.zst" ] && command -v zstd >/dev/null; then
				zstd -qdc "$kdir/$m.ko.zst" >"$tmp/root/kvm/$name.ko"
			else
				die "module $m.ko not found in $deb"
			fi
		done
		ln -s "boot/vmlinuz-$kver" "$tmp/root/vmlinuz"
		echo "$kver" >"$tmp/root/kver"
		rm -f "$deb"
		rm -rf "$dir"
		mv "$tmp/root" "$dir"
		touch "$dir/.complete"
		note "cached in $dir"
	fi
	exec 9>&-
fi

case $print in
dir) echo "$dir" ;;
vmlinuz) echo "$dir/boot/vmlinuz-$kver" ;;
kver) echo "$kver" ;;
env)
	printf 'MODVM_TESTHOST_DIR=%q\n' "$dir"
	printf 'MODVM_TESTHOST_KVER=%q\n' "$kver"
	printf 'MODVM_TESTHOST_VMLINUZ=%q\n' "$dir/boot/vmlinuz-$kver"
	printf 'MODVM_TESTHOST_MODULES=%q\n' "$dir/kvm"
	;;
esac
