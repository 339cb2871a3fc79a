#!/usr/bin/env bash
# tests/host/run.sh - run a command on a throw-away Linux "test host" that
# has a working /dev/kvm, even though this machine has none.
#
# The test host is Debian's cloud kernel booted under QEMU TCG with an
# emulated AMD CPU that has SVM + nested paging, so kvm-amd loads inside it.
# PAYLOAD_DIR is copied to /payload in the test host (with the shared
# libraries its ELF files need, at their host paths) and COMMAND runs there
# with /payload as the working directory.
#
# Usage: run.sh [options] PAYLOAD_DIR -- COMMAND [ARGS...]
#        run.sh --guest-cmdline   print what a Linux guest of a VMM inside
#                                 the test host adds to its kernel command
#                                 line (noxsave: README, Gotchas), and exit
#   --smp N           vCPUs of the test host (default 1; >1 uses multi-threaded
#                     TCG, pinned: see --host-cpu)
#   --host-cpu N|none QEMU runs on host CPU N only (default: the first CPU
#                     this script may use). Nested KVM is not stable when
#                     TCG runs two vCPUs at the same instant (test-host
#                     panics, guest triple faults; README); "none" allows it
#   --mem SIZE        RAM of the test host, QEMU -m syntax (default 1G)
#   --timeout S       seconds for boot + command (default 600)
#   --env NAME=VALUE  set NAME for COMMAND (repeatable); --env NAME passes the
#                     host's value of NAME
#   --host-bin PATH   also copy this host program (and its libraries) to the
#                     same path in the test host, e.g. /bin/bash (repeatable)
#   --kvm-amd OPTS    kvm-amd module options, e.g. "nested=0" (default none)
#   --cpu MODEL       QEMU CPU model (default max,family=25,model=1: all TCG
#                     features incl. svm, npt, as an AMD Zen 3 family; see README)
#   --machine TYPE    QEMU machine (default q35; microvm hangs in TSC calibration)
#   --append ARGS     extra kernel command line
#   --verbose         show the whole console (firmware, kernel, init) too
#   --stats           print boot/command timings on stderr at the end
#   --interactive     connect this terminal to the test host's console and
#                     COMMAND's stdin (a tty with job control: Ctrl-C reaches
#                     COMMAND); the whole console is shown, unfiltered
#
# COMMAND's stdout and stderr (merged, via the serial console) go to stdout;
# COMMAND's stdin is /dev/null (the console with --interactive). Exit status: COMMAND's status, 124 on
# timeout, 125 if the test host failed (no kvm, no exit marker, ...).
# Inside, MODVM_TESTHOST=1 is set and PATH ends with /payload.
# Environment: MODVM_CACHE (cache root, see fetch.sh).
set -euo pipefail

t_begin=$EPOCHREALTIME
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=run.sh

die() { echo "$prog: error: $*" >&2; exit 125; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

# TCG runs a nested guest's XSETBV without the SVM intercept, so the test
# host's KVM restores a stale XCR0 (x87 only) on every VM entry and XSAVE
# loses SSE state across the nested guest's context switches; FXSAVE
# does not depend on XCR0. Every caller that boots Linux in here uses it.
if [ "${1-}" = --guest-cmdline ]; then
	echo noxsave
	exit 0
fi

smp=1 mem=1G timeout=600 cpu=max,family=25,model=1 machine=q35 append_extra='' verbose=0 stats=0 kvm_amd_opts=''
host_cpu=auto
interactive=0
envs=() host_bins=()
while [ $# -gt 0 ]; do
	opt=$1 val=
	case $opt in
	--*=*) val=${opt#*=} opt=${opt%%=*} ;;
	esac
	case $opt in
	--smp|--mem|--timeout|--env|--host-bin|--kvm-amd|--cpu|--machine|--append|--host-cpu)
		if [ -z "$val" ] && [[ $1 != *=* ]]; then
			[ $# -ge 2 ] || die "$opt needs a value"
			val=$2; shift
		fi ;;
	esac
	case $opt in
	--smp) smp=$val ;;
	--mem) mem=$val ;;
	--timeout) timeout=$val ;;
	--env) envs+=("$val") ;;
	--host-bin) host_bins+=("$val") ;;
	--kvm-amd) kvm_amd_opts=$val ;;
	--cpu) cpu=$val ;;
	--machine) machine=$val ;;
	--append) append_extra=$val ;;
	--host-cpu) host_cpu=$val ;;
	--verbose) verbose=1 ;;
	--stats) stats=1 ;;
	--interactive) interactive=1 ;;
	-h|--help) usage; exit 0 ;;
	--) die "missing PAYLOAD_DIR before --" ;;
	-*) die "unknown option '$1' (see --help)" ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 3 ] && [ "$2" = -- ] || die "usage: run.sh [options] PAYLOAD_DIR -- COMMAND [ARGS...] (see --help)"
payload=$1
shift 2
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp wants a positive integer"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds"
[[ $mem =~ ^[1-9][0-9]*[MGmg]?$ ]] || die "--mem wants e.g. 512M or 2G"
[[ $kvm_amd_opts =~ ^[A-Za-z0-9_=,.\ -]*$ ]] || die "bad --kvm-amd options"
[[ $host_cpu =~ ^([0-9]+|none|auto)$ ]] || die "--host-cpu wants a CPU number or none"
[ -d "$payload" ] || die "payload directory '$payload' does not exist"
payload=$(cd "$payload" && pwd -P)

# --- ingredients -------------------------------------------------------------
fetch_env=$("$here/fetch.sh" --print env) || die "fetch.sh failed"
eval "$fetch_env"
cache_root=$(dirname "$MODVM_TESTHOST_DIR")
busybox=/bin/busybox

tmp=$(mktemp -d "${TMPDIR:-/tmp}/modvm-testhost.XXXXXX")
cleanup() {
	if [ -s "$tmp/qemu.pid" ]; then kill "$(cat "$tmp/qemu.pid")" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT
trap 'echo "$prog: terminated" >&2; exit 143' TERM HUP

# --- /init of the test host ----------------------------------------------------
# Static text: what changes per run lives in /modvm-testhost/run.conf.
read -r -d '' init_script <<'EOF' || true
#!/bin/busybox sh
# /init of the modvm KVM test host (generated by tests/host/run.sh)
# applet symlinks; existing files (e.g. --host-bin /bin/bash) are kept
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/payload
export HOME=/root TMPDIR=/tmp TERM=dumb MODVM_TESTHOST=1
up() { read -r u _ </proc/uptime; echo "$u"; }
drain() { stty -F /dev/console -tostop 2>/dev/null; sleep 0.05; }
die() {
	echo "MODVM-TESTHOST-ERROR=$*"
	drain; poweroff -f; sleep 2; reboot -f
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# /tmp stays as is when payload libraries were copied below it
[ -n "$(ls -A /tmp)" ] || mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
hostname testhost
ip link set lo up 2>/dev/null
. /modvm-testhost/run.conf || die "cannot read run.conf"
echo "testhost: init at $(up)s"
insmod /lib/modvm-testhost/irqbypass.ko || die "insmod irqbypass.ko failed"
insmod /lib/modvm-testhost/kvm.ko || die "insmod kvm.ko failed"
insmod /lib/modvm-testhost/kvm-amd.ko $kvm_amd_opts || die "insmod kvm-amd.ko failed (is svm in /proc/cpuinfo?)"
[ -c /dev/kvm ] || die "/dev/kvm missing after loading kvm-amd"
echo "testhost: kvm-amd loaded at $(up)s, npt=$(cat /sys/module/kvm_amd/parameters/npt) nested=$(cat /sys/module/kvm_amd/parameters/nested)"
cd /payload || die "no /payload"
echo "MODVM-TESTHOST-START uptime=$(up)"
if [ "${interactive:-0}" = 1 ]; then
	# a session of its own with the serial console as controlling tty
	( exec setsid -c /bin/sh -c '. /modvm-testhost/run.conf; modvm_command' ) </dev/ttyS0
else
	( modvm_command ) </dev/null
fi
status=$?
echo "MODVM-TESTHOST-EXIT=$status uptime=$(up)"
drain
poweroff -f
sleep 2
reboot -f
EOF

# --- initramfs, cached by content hash ---------------------------------------
is_elf() { # no fork: payloads can hold many files
	local m=
	LC_ALL=C IFS= read -r -d '' -N 4 m <"$1" 2>/dev/null || true
	[ "$m" = $'\x7fELF' ]
}

elves=()
while IFS= read -r -d '' f; do
	if is_elf "$f"; then elves+=("$f"); fi
done < <(find "$payload" -type f \( -perm /111 -o -name '*.so' -o -name '*.so.*' \) -print0)

extra=() # host files to copy to the same absolute path
for b in "${host_bins[@]}"; do
	if [[ $b != /* ]]; then
		p=$(command -v -- "$b") || die "--host-bin $b: not found in PATH"
		b=$p
	fi
	[ -f "$b" ] || die "--host-bin $b: no such file"
	extra+=("$b")
	if is_elf "$b"; then elves+=("$b"); fi
done
if [ ${#elves[@]} -gt 0 ]; then
	while IFS= read -r lib; do
		[ -n "$lib" ] && extra+=("$lib")
	done < <(ldd "${elves[@]}" 2>/dev/null | awk '
		/=> not found/ { print "run.sh: warning: missing library " $1 > "/dev/stderr"; next }
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// && NF == 2 { print $1 }' | LC_ALL=C sort -u)
fi

{
	echo "modvm-testhost initramfs v1"
	printf '%s\n' "$init_script"
	echo "kver $MODVM_TESTHOST_KVER"
	sha256sum "$busybox" "$MODVM_TESTHOST_MODULES"/*.ko
	echo "payload"
	(cd "$payload" && find . -mindepth 1 -printf '%P\t%y\t%m\t%l\n' | LC_ALL=C sort)
	(cd "$payload" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
	echo "extra"
	[ ${#extra[@]} -eq 0 ] || sha256sum "${extra[@]}"
} >"$tmp/manifest"
key=$(sha256sum <"$tmp/manifest" | cut -c1-32)
initrd_dir=$cache_root/initramfs
mkdir -p "$initrd_dir"
base=$initrd_dir/$key.cpio

if [ ! -f "$base" ]; then
	stage=$tmp/stage
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,payload,lib/modvm-testhost,modvm-testhost}
	cp -a "$payload/." "$stage/payload/"
	for f in "${extra[@]}"; do
		mkdir -p "$stage$(dirname "$f")"
		[ -e "$stage$f" ] || cp -L -- "$f" "$stage$f"
	done
	chmod 1777 "$stage/tmp"
	cp "$busybox" "$stage/bin/busybox"
	cp "$MODVM_TESTHOST_MODULES"/{irqbypass,kvm,kvm-amd}.ko "$stage/lib/modvm-testhost/"
	printf '%s\n' "$init_script" >"$stage/init"
	chmod 755 "$stage/init"
	# Loader cache for libraries in directories the loader does not search
	# by default.
	if [ ${#extra[@]} -gt 0 ]; then
		for f in "${extra[@]}"; do dirname "$f"; done | LC_ALL=C sort -u >"$stage/etc/ld.so.conf"
		ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
		"$ldconfig" -r "$stage" 2>/dev/null || true
	fi
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --quiet -R 0:0 --reproducible) >"$base.tmp.$$" ||
		die "cpio failed building the initramfs"
	mv -f "$base.tmp.$$" "$base"
	rm -rf "$stage"
	# keep the 8 most recently used images
	ls -1t "$initrd_dir"/*.cpio 2>/dev/null | tail -n +9 | xargs -r rm -f --
fi
touch "$base"

# --- per-run part: command and environment --------------------------------------
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
mkdir -p "$tmp/run/modvm-testhost"
{
	echo "kvm_amd_opts=$(q "$kvm_amd_opts")"
	echo "interactive=$interactive"
	echo "modvm_command() {"
	for e in "${envs[@]}"; do
		name=${e%%=*}
		[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "--env $e: bad variable name"
		if [[ $e == *=* ]]; then value=${e#*=}; else value=${!name-}; fi
		echo "export $name=$(q "$value")"
	done
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	printf '\n}\n'
} >"$tmp/run/modvm-testhost/run.conf"
(cd "$tmp/run" && find . -mindepth 1 | cpio -o -H newc --quiet -R 0:0) >"$tmp/run.cpio"
cat "$base" "$tmp/run.cpio" >"$tmp/initrd.cpio"

# --- boot --------------------------------------------------------------------------
accel=tcg
[ "$smp" -gt 1 ] && accel=tcg,thread=multi
# One host CPU for all of QEMU: when TCG ran two vCPUs of the test host at
# the same instant, nested KVM crashed the test host or triple-faulted its
# guests in most boots; thread=single instead hangs with all vCPUs idle
# (tests/host/README.md).
pin=()
if [ "$host_cpu" = auto ]; then
	host_cpu=$(taskset -cp $$ 2>/dev/null | sed 's/.*: *//; s/[-,].*//')
	[[ $host_cpu =~ ^[0-9]+$ ]] || host_cpu=none
fi
if [ "$host_cpu" != none ] && command -v taskset >/dev/null 2>&1; then
	pin=(taskset -c "$host_cpu")
fi
cmdline="console=ttyS0 panic=-1 rdinit=/init"
[ $verbose = 1 ] || cmdline+=" quiet"
[ -z "$append_extra" ] || cmdline+=" $append_extra"
# shellcheck disable=SC2054 # commas are QEMU's
qemu=("${pin[@]}" qemu-system-x86_64 -nodefaults -no-user-config -no-reboot
	-accel "$accel" -M "$machine" -cpu "$cpu" -smp "$smp" -m "$mem"
	-display none -chardev stdio,id=con,signal=off -serial chardev:con
	-kernel "$MODVM_TESTHOST_VMLINUZ" -initrd "$tmp/initrd.cpio" -append "$cmdline"
	-pidfile "$tmp/qemu.pid")

log=$tmp/console.log
# Console filter: keeps a raw log, shows only what COMMAND printed (unless
# --verbose) and records the markers in $tmp/{start,exit,error}.
awk_cmd=(awk)
if command -v mawk >/dev/null 2>&1; then awk_cmd=(mawk -W interactive); fi
filter() {
	"${awk_cmd[@]}" -v verbose="$verbose" -v lf="$log" -v dir="$tmp" '
	function show(s) { print s; fflush() }
	{ sub(/\r$/, ""); print > lf; fflush(lf) }
	(i = index($0, "MODVM-TESTHOST-EXIT=")) {
		pre = substr($0, 1, i - 1); st = substr($0, i + 20); up = st
		if (pre != "" && state == 1) show(pre)
		sub(/[^0-9].*/, "", st); sub(/.*uptime=/, "", up)
		print st, up > (dir "/exit"); close(dir "/exit")
		state = 2
		if (verbose) show($0)
		next
	}
	/MODVM-TESTHOST-START/ {
		up = $0; sub(/.*uptime=/, "", up)
		print up > (dir "/start"); close(dir "/start")
		state = 1
		if (verbose) show($0)
		next
	}
	(i = index($0, "MODVM-TESTHOST-ERROR=")) {
		print substr($0, i + 21) > (dir "/error"); close(dir "/error")
		if (verbose) show($0)
		next
	}
	state == 1 || verbose { show($0) }'
}

t0=$EPOCHREALTIME
if [ $interactive = 1 ]; then
	# Foreground, stdin the terminal (QEMU puts it in raw mode); the raw
	# console goes to the screen and the log, the markers are read after.
	rc=0
	timeout --foreground "$timeout" "${qemu[@]}" | tee "$log" || rc=${PIPESTATUS[0]}
	echo "$rc" >"$tmp/qemu.rc"
	tr -d '\r' <"$log" | awk -v dir="$tmp" '
	(i = index($0, "MODVM-TESTHOST-EXIT=")) { st = substr($0, i + 20); up = st
		sub(/[^0-9].*/, "", st); sub(/.*uptime=/, "", up); print st, up > (dir "/exit") }
	/MODVM-TESTHOST-START/ { up = $0; sub(/.*uptime=/, "", up); print up > (dir "/start") }
	(i = index($0, "MODVM-TESTHOST-ERROR=")) { print substr($0, i + 21) > (dir "/error") }'
else
	{
		rc=0
		timeout -k 5 "$timeout" "${qemu[@]}" </dev/null || rc=$?
		echo "$rc" 2>/dev/null >"$tmp/qemu.rc" || true
	} | filter &
	wait $! || true
fi
t1=$EPOCHREALTIME

qrc=$(cat "$tmp/qemu.rc" 2>/dev/null || echo 125)
show_log() {
	[ $verbose = 0 ] || return 0
	echo "$prog: ---- last console lines ----" >&2
	tail -n 40 "$log" >&2 2>/dev/null || true
	echo "$prog: ----------------------------" >&2
}
if [ -f "$tmp/exit" ]; then
	read -r status up_exit <"$tmp/exit"
	[ -n "$status" ] || status=125
	[ "$qrc" = 0 ] || echo "$prog: warning: QEMU exited with $qrc after the command finished" >&2
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	if [ -f "$tmp/start" ]; then
		echo "$prog: error: timeout: COMMAND did not finish within ${timeout}s" >&2
	else
		echo "$prog: error: timeout: the test host did not boot within ${timeout}s" >&2
		show_log
	fi
	status=124
elif [ -f "$tmp/error" ]; then
	echo "$prog: error: test host failed: $(cat "$tmp/error")" >&2
	show_log
	status=125
else
	echo "$prog: error: the test host stopped without reporting an exit status (QEMU status $qrc)" >&2
	show_log
	status=125
fi

if [ $stats = 1 ] && [ -f "$tmp/start" ]; then
	read -r up_start <"$tmp/start"
	awk -v tb="$t_begin" -v t0="$t0" -v t1="$t1" -v us="$up_start" -v ue="${up_exit:-}" -v s="$status" 'BEGIN {
		cmd = (ue != "") ? ue - us : 0
		printf "run.sh: stats: prepare %.2fs, QEMU %.2fs = boot to command start ~%.2fs (guest kernel+init %.2fs) + command %.2fs + power-off; exit %s\n",
			t0 - tb, t1 - t0, t1 - t0 - cmd, us, cmd, s > "/dev/stderr" }'
fi
exit "$status"
