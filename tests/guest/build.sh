#!/usr/bin/env bash
# Build modvm's test guest: a kernel (bzImage) and an initramfs
# (busybox-static + cpuid-probe + init).
#
# The kernel, by default, is Debian's cloud kernel (linux-image-cloud-amd64,
# the one tests/host/fetch.sh fetches for the test host): what users run,
# nothing to compile. With MODVM_GUEST_KERNEL=source it is built instead
# from Debian's linux-source-6.1 with tests/guest/kernel.config merged onto
# tinyconfig (about 10-15 minutes on 2 busy cores); that kernel also has
# the MP table parser (CONFIG_X86_MPPARSE), which the cloud kernel lacks.
#
# Output goes to ${MODVM_CACHE:-$HOME/.cache/modvm}/guest/<key>/, never
# into the source tree; <key> hashes every input (kernel version or source
# version + config fragment, busybox version, init and probe sources, this
# script). A folder that is already complete is reused as it is. A built
# kernel has its own cache (guest/kernel-<kkey>/) so editing init or the
# probe does not rebuild it.
#
# The folder holds bzImage, initramfs.cpio, busybox, cpuid-probe,
# KERNEL (cloud or source) and VERSION. The last line of stdout is the
# folder path. Everything else goes to stderr. Installs what it needs with
# apt-get (root or sudo).
#
# Usage: tests/guest/build.sh [--quiet]
#   MODVM_CACHE         cache root (default ~/.cache/modvm)
#   MODVM_GUEST_KERNEL  cloud (default) or source
#   MODVM_JOBS          make -j for the source kernel (default: nproc)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${MODVM_CACHE:-$HOME/.cache/modvm}/guest
jobs=${MODVM_JOBS:-$(nproc)}
kind=${MODVM_GUEST_KERNEL:-cloud}
case $kind in cloud|source) ;; *) echo "guest/build.sh: error: MODVM_GUEST_KERNEL must be cloud or source, not '$kind'" >&2; exit 2 ;; esac
quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1

say() { [ $quiet = 1 ] || echo "guest/build.sh: $*" >&2; }
die() { echo "guest/build.sh: error: $*" >&2; exit 1; }

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
apt_updated=0
apt_update() {
	[ $apt_updated = 1 ] && return 0
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
	apt_updated=1
}
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	apt_update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "$kind" = source ]; then
	# What the kernel build needs (x86_64 6.1 always runs objtool: libelf-dev).
	need_pkgs linux-source-6.1 build-essential bc bison flex libelf-dev python3 xz-utils gzip
	src_tar=/usr/src/linux-source-6.1.tar.xz
	[ -f "$src_tar" ] || die "$src_tar missing after installing linux-source-6.1"
	src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
else
	need_pkgs gcc libc6-dev python3
	# Debian's cloud kernel, shared with the test host (cached, offline once there).
	cloud_vmlinuz=$("$here/../host/fetch.sh" --print vmlinuz) || die "tests/host/fetch.sh failed"
	cloud_kver=$(basename "$cloud_vmlinuz"); cloud_kver=${cloud_kver#vmlinuz-}
fi

# busybox-static: downloaded and unpacked, never the installed one.
bb_ver=$(apt-cache policy busybox-static 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ -z "$bb_ver" ] || [ "$bb_ver" = "(none)" ]; then
	apt_update
	bb_ver=$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2}')
fi
[ -n "$bb_ver" ] && [ "$bb_ver" != "(none)" ] || die "no busybox-static in the apt sources"

h() { sha256sum | cut -c1-16; }
if [ "$kind" = source ]; then
	kkey=$( { echo "linux-source-6.1 $src_ver"; cat "$here/kernel.config"; echo "recipe 1: tinyconfig + merge_config.sh -m + olddefconfig; make bzImage"; } | h)
else
	kkey=cloud-$cloud_kver
fi
key=$( { echo "kernel $kkey"; echo "busybox-static $bb_ver";
	cat "$here/init" "$here/cpuid-probe.c" "$here/mkcpio.py" "$0"; } | h)
out=$cache/$key
kdir=$cache/kernel-$kkey

if [ -f "$out/.complete" ]; then
	say "reusing $out"
	echo "$out"
	exit 0
fi
mkdir -p "$cache"

# One builder at a time per cache (meson may start two tests at once).
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/.complete" ]; then
	echo "$out"
	exit 0
fi

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

# ---- kernel ----------------------------------------------------------
if [ "$kind" = cloud ]; then
	: # nothing to build: copied below
elif [ ! -f "$kdir/bzImage" ]; then
	t0=$(now)
	work=$cache/work-kernel
	rm -rf "$work" && mkdir -p "$work"
	say "unpacking $src_tar ($src_ver)"
	tar -C "$work" -xf "$src_tar"
	ksrc=$work/linux-source-6.1
	say "configuring: tinyconfig + tests/guest/kernel.config"
	(
		cd "$ksrc"
		make -s tinyconfig >/dev/null
		scripts/kconfig/merge_config.sh -m .config "$here/kernel.config" >/dev/null
		make -s olddefconfig >/dev/null
	) >&2
	# Every option the fragment asks for must have survived olddefconfig.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$ksrc/.config" || { echo "guest/build.sh: kernel.config: $line did not stick (got: $(grep "^${line%%=*}=" "$ksrc/.config" || echo 'not set'))" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			! grep -q "^$opt=" "$ksrc/.config" || { echo "guest/build.sh: kernel.config: $opt should be off but is $(grep "^$opt=" "$ksrc/.config")" >&2; bad=1; } ;;
		esac
	done < "$here/kernel.config"
	[ $bad = 0 ] || die "kernel config fragment does not apply cleanly"
	say "building bzImage with make -j$jobs (a few minutes)"
	if ! make -C "$ksrc" -j"$jobs" bzImage >"$work/build.log" 2>&1; then
		tail -n 40 "$work/build.log" >&2
		die "kernel build failed (log: $work/build.log)"
	fi
	mkdir -p "$kdir.tmp"
	cp "$ksrc/arch/x86/boot/bzImage" "$kdir.tmp/bzImage"
	cp "$ksrc/.config" "$kdir.tmp/config"
	echo "$(elapsed "$t0")" > "$kdir.tmp/build-seconds"
	rm -rf "$kdir" && mv "$kdir.tmp" "$kdir"
	rm -rf "$work"
	say "kernel built in $(cat "$kdir/build-seconds") s"
fi

# ---- initramfs -------------------------------------------------------
t0=$(now)
tmp=$cache/work-$key
rm -rf "$tmp" && mkdir -p "$tmp/deb" "$tmp/root/bin"
say "fetching busybox-static $bb_ver"
( cd "$tmp/deb" && apt-get download -q "busybox-static=$bb_ver" >/dev/null 2>&1 ) || {
	apt_update
	( cd "$tmp/deb" && apt-get download -q "busybox-static=$bb_ver" >&2 )
}
dpkg -x "$tmp"/deb/busybox-static_*.deb "$tmp/deb/x"
cp "$tmp/deb/x/bin/busybox" "$tmp/root/bin/busybox"

say "compiling cpuid-probe (gcc -static -O2)"
gcc -static -O2 -Wall -Wextra -o "$tmp/root/bin/cpuid-probe" "$here/cpuid-probe.c"
cp "$here/init" "$tmp/root/init"
if [ "$kind" = cloud ]; then
	# The cloud kernel builds pvpanic as modules: /init loads them so a
	# guest panic reaches modvm's pvpanic device (a built kernel has them in).
	mdir=$(dirname "$(dirname "$cloud_vmlinuz")")/lib/modules/$cloud_kver/kernel/drivers/misc/pvpanic
	mkdir -p "$tmp/root/lib/modules"
	for m in pvpanic pvpanic-mmio; do
		if [ -f "$mdir/$m.ko" ]; then
			cp "$mdir/$m.ko" "$tmp/root/lib/modules/"
		elif [ -f "$mdir/$m.ko.xz" ]; then
			xz -dc "$mdir/$m.ko.xz" >"$tmp/root/lib/modules/$m.ko"
		else
			say "warning: no $m.ko in $mdir: a guest panic will look like a reboot"
		fi
	done
fi
chmod 0755 "$tmp/root/init" "$tmp/root/bin/busybox" "$tmp/root/bin/cpuid-probe"
python3 "$here/mkcpio.py" "$tmp/root" "$tmp/initramfs.cpio"

mkdir -p "$tmp/out"
if [ "$kind" = cloud ]; then
	cp "$cloud_vmlinuz" "$tmp/out/bzImage"
else
	cp "$kdir/bzImage" "$kdir/config" "$kdir/build-seconds" "$tmp/out/"
fi
echo "$kind" >"$tmp/out/KERNEL"
mv "$tmp/initramfs.cpio" "$tmp/out/initramfs.cpio"
cp "$tmp/root/bin/busybox" "$tmp/root/bin/cpuid-probe" "$tmp/out/"
echo "$(elapsed "$t0")" > "$tmp/out/initramfs-seconds"
{
	echo "key $key"
	echo "kernel $kind"
	echo "kernel-key $kkey"
	if [ "$kind" = source ]; then echo "linux-source-6.1 $src_ver"; else echo "linux-image $cloud_kver"; fi
	echo "busybox-static $bb_ver"
} >"$tmp/out/VERSION"
touch "$tmp/out/.complete"
rm -rf "$out" && mv "$tmp/out" "$out"
rm -rf "$tmp"
# Drop guest folders of older keys of the same kernel kind (a built kernel
# and its guest stay when switching to the cloud kernel and back).
for d in "$cache"/*/; do
	d=${d%/}
	[ "$d" != "$out" ] || continue
	case "$(basename "$d")" in
	kernel-*) [ "$kind" = source ] && [ "$(basename "$d")" != "kernel-$kkey" ] && rm -rf "$d" ;;
	????????????????) [ "$(cat "$d/KERNEL" 2>/dev/null || echo source)" = "$kind" ] && rm -rf "$d" ;;
	esac
done
say "initramfs built in $(cat "$out/initramfs-seconds") s"
echo "$out"
