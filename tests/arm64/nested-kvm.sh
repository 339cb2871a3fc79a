#!/usr/bin/env bash
# modvm runs an arm64 guest on real KVM: QEMU TCG emulates an arm64
# machine with EL2 (-M virt,virtualization=on), Debian's cloud kernel
# boots in it with KVM, and the aarch64 modvm from cross/build.sh runs
# a second Linux on that /dev/kvm with arch-aarch64 and
# boot-linux-arm64 (in-kernel GICv3, PSCI, the DTB in x0, initrd).
#
# The inner guest has no console device, so it reports through MMIO:
# for each CPU its init writes to an unclaimed address encoding
# (cpu, package, cluster, core), which modvm logs once per address, and
# the number of CPUs online, then powers off through PSCI. The test checks modvm's exit status, the
# logged addresses against `modvm --check`, and that every vCPU ran.
#
# Usage: nested-kvm.sh CROSS_BUILD_DIR SOURCE_DIR
# (CROSS_BUILD_DIR as made by cross/build.sh). Exit 77 when QEMU, the
# cross build or the Debian archive are missing. Takes about a minute.
set -uo pipefail
cross=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
cache=${MODVM_CACHE:-$HOME/.cache/modvm}/arm64
tmp=$(mktemp -d /tmp/modvm-arm64-nested-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
skip_all() { echo "SKIP: $*"; exit 77; }

for tool in qemu-system-aarch64 cpio gzip; do
	command -v "$tool" >/dev/null || skip_all "$tool is missing"
done
[ -x "$cross/modvm" ] || skip_all "no aarch64 modvm in $cross (run cross/build.sh $cross)"
# guest-qemu.sh fetches and caches the kernel and busybox.
if [ ! -s "$cache/Image" ] || [ ! -x "$cache/busybox" ]; then
	mkdir -p "$cache/debs"
	kpkg=$("$src/cross/apt-arm64.sh" "$cache/apt" apt-cache depends linux-image-cloud-arm64 2>/dev/null |
		awk '/Depends: linux-image-/ { print $2; exit }')
	[ -n "$kpkg" ] || skip_all "cannot reach Debian's arm64 archive"
	(cd "$cache/debs" && "$src/cross/apt-arm64.sh" "$cache/apt" apt-get -qq download \
		"$kpkg:arm64" busybox-static:arm64) || skip_all "download failed"
	mkdir -p "$cache/x"
	for deb in "$cache/debs"/*.deb; do dpkg-deb -x "$deb" "$cache/x"; done
	cp "$cache"/x/boot/vmlinuz-* "$cache/Image"
	cp "$cache/x/bin/busybox" "$cache/busybox"
	rm -rf "$cache/x" "$cache/debs"
fi

ini=$src/configs/aarch64-2s2cl2c.ini
shape=(--set smp.cores=1) # 2 sockets x 2 clusters x 1 core: 4 vCPUs
"$cross/modvm-qemu" --check "$ini" "${shape[@]}" >"$tmp/check" || { echo "FAIL: --check"; exit 1; }

# The inner guest: report each CPU's topology through MMIO, power off.
inner=$tmp/inner
mkdir -p "$inner/bin"
cp "$cache/busybox" "$inner/bin/"
cat >"$inner/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for c in /sys/devices/system/cpu/cpu[0-9]*; do
	t=$c/topology n=${c##*/cpu}
	devmem $(( 0x0a000000 | n << 16 | $(cat $t/physical_package_id) << 12 |
		$(cat $t/cluster_id) << 8 | $(cat $t/core_id) << 4 )) 32 1
done
# How many CPUs came online (PSCI CPU_ON worked for each).
devmem $(( 0x0b000000 | $(grep -c ^processor /proc/cpuinfo) << 4 )) 32 1
poweroff -f
EOF
chmod +x "$inner/init"

# The outer guest: modvm, its plugins and libraries, the inner guest.
outer=$tmp/outer
mkdir -p "$outer/bin" "$outer/lib" "$outer/modvm/plugins" "$outer/vm"
cp "$cache/busybox" "$outer/bin/"
for l in ld-linux-aarch64.so.1 libc.so.6 libdl.so.2 libpthread.so.0; do
	cp -L "/usr/aarch64-linux-gnu/lib/$l" "$outer/lib/"
done
cp -L "$cross/sysroot/usr/lib/aarch64-linux-gnu/"{libinih.so.1,libfdt.so.1} "$outer/lib/"
cp "$cross/modvm" "$outer/modvm/"
cp "$cross/plugins/"{arch-aarch64,boot-linux-arm64,exit-io,exit-shutdown}.so "$outer/modvm/plugins/"
chmod 755 "$outer/modvm" "$outer/modvm/plugins"
chmod 644 "$outer/modvm/plugins/"*.so
cp "$cache/Image" "$outer/vm/Image"
(cd "$inner" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$outer/vm/initrd.gz")
cp "$ini" "$outer/vm/vm.ini"
cat >>"$outer/vm/vm.ini" <<'EOF'

[boot]
plugin = boot-linux-arm64
kernel = Image
initrd = initrd.gz
cmdline = panic=-1 rdinit=/init

[exit "exit-io"]
[exit "exit-shutdown"]
EOF
cat >"$outer/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
export LD_LIBRARY_PATH=/lib MODVM_PLUGIN_PATH=/modvm/plugins
/modvm/modvm /vm/vm.ini --set smp.cores=1
echo "MODVM-EXIT $?"
poweroff -f
EOF
chmod +x "$outer/init"
(cd "$outer" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$tmp/outer.gz")

timeout 1200 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 \
	-accel tcg,thread=multi -cpu cortex-a57 -smp 2 -m 2G -nographic -no-reboot \
	-kernel "$cache/Image" -initrd "$tmp/outer.gz" \
	-append "console=ttyAMA0 panic=-1 rdinit=/init" </dev/null 2>&1 | tr -d '\r' >"$tmp/log"

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
grep -E '^modvm: |MODVM-EXIT|kvm \[1\]: Hyp' "$tmp/log" | grep -v 'unclaimed MMIO read'
grep -q 'kvm \[1\]: Hyp mode initialized' "$tmp/log" || skip_all "no KVM in the outer guest"
grep -q '^MODVM-EXIT 0$' "$tmp/log" && ok || bad "modvm did not exit 0"
grep -q 'guest powered off' "$tmp/log" && ok || bad "the inner guest did not power off"
n=$(grep -c '^vcpu [0-9]*: .*thread [0-9]*$' "$tmp/check")
for ((i = 0; i < n; i++)); do
	read -r s c k <<<"$(sed -n "s/^vcpu $i: mpidr [^ ]* socket \([0-9]*\) cluster \([0-9]*\) core \([0-9]*\) thread.*/\1 \2 \3/p" "$tmp/check")"
	addr=$(printf '0x%x' $(( 0x0a000000 | i << 16 | s << 12 | c << 8 | k << 4 )))
	grep -q "unclaimed MMIO write of 4 bytes at $addr" "$tmp/log" && ok ||
		bad "cpu$i: no report of socket $s cluster $c core $k ($addr)"
done
addr=$(printf '0x%x' $(( 0x0b000000 | n << 4 )))
grep -q "unclaimed MMIO write of 4 bytes at $addr" "$tmp/log" && ok ||
	bad "not all $n vCPUs came online in the inner guest"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
