#!/usr/bin/env bash
# Bring up the demo VM described by configs/x86_64-demo.ini: a Linux guest
# (tests/guest: a small kernel + busybox initramfs) that prints the CPU
# topology it sees and then gives you a busybox shell on the serial console.
#
#   scripts/demo.sh [INI]          default configs/x86_64-demo.ini
#
# Steps: install what is missing (apt-get), build modvm into build/
# (MODVM_BUILD overrides), build or reuse the test guest in
# ~/.cache/modvm/guest (MODVM_CACHE overrides), `modvm --check` the INI,
# then boot it:
#   * directly on /dev/kvm when that is hardware KVM;
#   * otherwise inside the nested test host (tests/host/run.sh: QEMU TCG
#     with AMD SVM + nested paging, Debian's cloud kernel, kvm-amd), because
#     a software /dev/kvm (kvm-pvm) cannot run Linux.
# With a terminal on stdin you get the guest's shell (`exit` or Ctrl-D
# leaves it and powers the VM off). Without one (CI, `</dev/null`) the
# guest prints its topology report and powers off; exit 0 on success.
#   MODVM_DEMO_WHERE=direct|testhost   force where the VM runs
#   MODVM_DEMO_KERNEL=PATH             boot this bzImage instead of the
#                                      test guest's (e.g. the cloud kernel)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MODVM_BUILD:-$top/build}
ini=$(realpath "${1:-$top/configs/x86_64-demo.ini}")
say() { echo "demo.sh: $*" >&2; }
die() { echo "demo.sh: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

interactive=0
[ -t 0 ] && [ -t 1 ] && interactive=1

# --- 1. dependencies and build --------------------------------------------------
t0=$(now)
"$top/scripts/deps.sh" build
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" >/dev/null
fi
say "building modvm in $build"
ninja -C "$build" >/dev/null
say "built in $(since "$t0") s"

echo "== modvm --check $ini"
"$build/modvm" --check "$ini"

# --- 2. the guest ---------------------------------------------------------------------
t0=$(now)
guest=$("$top/tests/guest/build.sh" --quiet | tail -n 1)
[ -f "$guest/initramfs.cpio" ] || die "tests/guest/build.sh gave no guest"
kernel=${MODVM_DEMO_KERNEL:-$guest/bzImage}
say "guest: $kernel + $guest/initramfs.cpio ($(since "$t0") s)"

# --- 3. where can Linux run? -------------------------------------------------------
# kvm-pvm is a software KVM: shadow paging and trap-and-emulate, on which
# Linux does not boot (tests/host/README.md).
kvm_runs_linux() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	[ -d /sys/module/kvm_pvm ] && return 1
	if dmesg 2>/dev/null | grep -qi 'kvm-pvm\|kvm_pvm'; then return 1; fi
	grep -qw 'vmx\|svm' /proc/cpuinfo || return 1
	return 0
}
where=${MODVM_DEMO_WHERE:-}
if [ -z "$where" ]; then
	if kvm_runs_linux; then where=direct; else where=testhost; fi
fi
case $where in
direct) say "booting on this machine's /dev/kvm (hardware KVM)" ;;
testhost) say "this machine's /dev/kvm cannot run Linux (missing or the software kvm-pvm):"
	say "booting inside the nested test host (tests/host/README.md)" ;;
*) die "MODVM_DEMO_WHERE must be direct or testhost" ;;
esac

# --- 4. the VM's INI: the demo config plus a [boot] section -------------------
cmdline="console=ttyS0 panic=-1"
[ $interactive = 1 ] && cmdline+=" modvm.shell=1"
work=$(mktemp -d "${TMPDIR:-/tmp}/modvm-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
write_ini() { # KERNEL INITRD OUT
	awk '/^[ \t]*\[/ { sec = $1 } sec != "[boot]" { print }' "$ini" >"$3"
	printf '\n[boot]\nplugin = boot-linux-x86\nkernel = %s\ninitrd = %s\ncmdline = %s\n' \
		"$1" "$2" "$cmdline" >>"$3"
}

t0=$(now)
if [ $where = direct ]; then
	write_ini "$kernel" "$guest/initramfs.cpio" "$work/vm.ini"
	[ $interactive = 1 ] && say "the guest's shell follows; 'exit' powers the VM off"
	set +e
	"$build/modvm" "$work/vm.ini" | tee "$work/console.log"
	rc=${PIPESTATUS[0]}
	set -e
else
	cmdline+=" $("$top/tests/host/run.sh" --guest-cmdline)"
	pay=$work/payload
	mkdir -p "$pay/plugins"
	cp "$build/modvm" "$pay/"
	find "$build/plugins" -maxdepth 1 -name '*.so' -exec cp {} "$pay/plugins/" \;
	cp "$kernel" "$pay/bzImage"
	cp "$guest/initramfs.cpio" "$pay/initramfs.cpio"
	write_ini /payload/bzImage /payload/initramfs.cpio "$pay/vm.ini"
	hostopts=(--smp 2 --mem 2G --timeout "${MODVM_DEMO_TIMEOUT:-900}"
		--env MODVM_PLUGIN_PATH=/payload/plugins)
	if [ $interactive = 1 ]; then
		hostopts+=(--interactive)
		say "the guest's shell follows; 'exit' powers the VM off"
	fi
	set +e
	"$top/tests/host/run.sh" "${hostopts[@]}" "$pay" -- ./modvm vm.ini | tee "$work/console.log"
	rc=${PIPESTATUS[0]}
	set -e
fi
secs=$(since "$t0")
up=$(sed -n 's/.*@@ uptime: \([0-9.]*\).*/\1/p' "$work/console.log" | head -n 1)
cpus=$(sed -n 's/.*@@ cpu\/online: \(.*\)/\1/p' "$work/console.log" | tr -d '\r' | head -n 1)
say "VM run: ${secs} s wall${up:+, guest reached /init at ${up} s uptime}${cpus:+, online CPUs ${cpus}} ($where)"
if [ "$rc" -ne 0 ]; then
	die "the VM exited with status $rc"
fi
if [ $interactive = 0 ] && ! grep -q '@@ MODVM-GUEST-END' "$work/console.log"; then
	die "the guest's topology report is incomplete"
fi
say "done: the guest powered off, modvm exited 0"
