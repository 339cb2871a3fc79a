#!/usr/bin/env bash
# bench/boot-in-testhost.sh - the Linux rows of bench/run.sh: boot to init
# of the test guest (tests/guest) under modvm, QEMU -M microvm and QEMU
# -M pc (for reference), 1 and 4 vCPUs, same kernel, initramfs, memory
# and command line, on the same KVM: inside the nested test host
# (tests/host/run.sh), which gets QEMU's binary, libraries and firmware.
# Time = VMM exec -> the console line "@@ MODVM-GUEST-BEGIN" that the
# guest's /init prints first; memory = the VMM's own RSS at that moment
# (bench/boot-timer). One test-host session per vCPU count; in it the
# runs are interleaved (run 1 of each VMM, then run 2, ...) so a change in
# the machine's load hits every VMM alike; medians of RUNS.
#
# Usage: bench/boot-in-testhost.sh --build DIR [--runs N] [--guest DIR]
#                                  [--cpus "1 4"] [--keep DIR]
# Prints Markdown rows on stdout: "| 1 | ..." (boot) and "| 4 | ..."
# (memory after boot) per vCPU count. When nothing could be measured,
# the last stdout line is "NOT MEASURED: <reason>" (exit 1).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build='' runs=5 guest='' cpus='1 4' keep=''
mem_mib=256
# A 4-vCPU boot takes up to a minute or two in the test host on a busy
# 2-core machine; boot-timer gives up on one after boot_timeout. The test
# host itself sometimes freezes (no output, its vCPUs busy): one that
# printed nothing for stall_s is ended and a new one picks up at the
# round it was in, up to sessions times per vCPU count.
boot_timeout=240 stall_s=360 sessions=3
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--runs) runs=$2; shift ;;
	--guest) guest=$2; shift ;;
	--cpus) cpus=$2; shift ;;
	--keep) keep=$2; shift ;;
	-h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "boot-in-testhost.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
skip() { echo "NOT MEASURED: $*"; exit 1; }
log() { echo "bench(boot): $*" >&2; }

[ -n "$build" ] && [ -x "$build/modvm" ] || skip "no modvm in '${build:-?}' (--build DIR)"
[ -f "$build/plugins/boot-linux-x86.so" ] || skip "boot-linux-x86 plugin not built"
[ -x "$build/bench/boot-timer" ] || skip "bench/boot-timer not built"
[ -x "$src/tests/host/run.sh" ] || skip "tests/host/run.sh missing"
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed"
if [ -z "$guest" ]; then
	log "tests/guest/build.sh (cached after the first build)"
	guest=$("$src/tests/guest/build.sh" | tail -1) || skip "tests/guest/build.sh failed"
fi
[ -f "$guest/bzImage" ] && [ -f "$guest/initramfs.cpio" ] ||
	skip "no bzImage + initramfs.cpio in '$guest' (tests/guest/build.sh)"

payload=$(mktemp -d "${TMPDIR:-/tmp}/modvm-bench-boot.XXXXXX")
trap 'rm -rf "$payload"' EXIT
mkdir -p "$payload/plugins" "$payload/qemu-share"
cp "$build/modvm" "$build/bench/boot-timer" "$payload/"
cp "$build"/plugins/*.so "$payload/plugins/"
cp "$guest/bzImage" "$guest/initramfs.cpio" "$payload/"
# tests/host/run.sh carries the libraries every ELF file in the payload
# needs; the firmware QEMU looks up by name goes in a -L directory.
cp "$qemu" "$payload/qemu-system-x86_64"
for f in bios-microvm.bin bios-256k.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin; do
	for d in /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu; do
		if [ -e "$d/$f" ]; then cp -L "$d/$f" "$payload/qemu-share/"; break; fi
	done
done

# Both VMMs' guests get what the test host asks of nested guests.
cmdline="console=ttyS0 quiet panic=-1 $("$src/tests/host/run.sh" --guest-cmdline)"
for n in $cpus; do
	cat >"$payload/modvm-$n.ini" <<EOF
[machine]
memory = ${mem_mib}M
[smp]
cpus = $n
[arch]
plugin = arch-x86_64
[boot]
plugin = boot-linux-x86
kernel = /payload/bzImage
initrd = /payload/initramfs.cpio
cmdline = $cmdline
[device "com1"]
plugin = serial-8250
[device "i8042"]
[device "debug-exit"]
[exit "exit-io"]
[exit "exit-halt"]
[exit "exit-shutdown"]
EOF
done
# Runs inside the test host (busybox sh): bench-boot.sh N FROM, rounds
# FROM.. for N vCPUs. A VMM that fails before it booted once is not tried
# again: it would only spend the timeout every round.
cat >"$payload/bench-boot.sh" <<EOF
#!/bin/sh
cd /payload
n=\$1 r=\$2
q="./qemu-system-x86_64 -L /payload/qemu-share -enable-kvm -m ${mem_mib}M -nodefaults -no-user-config -display none -serial stdio -monitor none -kernel bzImage -initrd initramfs.cpio"
failed=' ' booted=' '
while [ \$r -lt $runs ]; do
	for v in modvm microvm pc; do
		case "\$failed" in *" \$v "*) continue ;; esac
		case \$v in
		modvm) set -- ./modvm -q modvm-\$n.ini ;;
		*) set -- \$q -M \$v -smp \$n -append "$cmdline" ;;
		esac
		echo "=== \$v \$n \$r"
		if ./boot-timer $boot_timeout $mem_mib '@@ MODVM-GUEST-BEGIN' -- "\$@" 2>&1; then
			booted="\$booted\$v "
		else
			case "\$booted" in *" \$v "*) ;; *) failed="\$failed\$v " ;; esac
		fi
	done
	echo "=== round \$r done"
	r=\$((r + 1))
done
EOF
chmod +x "$payload/bench-boot.sh"
[ -n "$keep" ] && { mkdir -p "$keep"; cp -r "$payload"/. "$keep/"; }

# session N FROM: one test host running bench-boot.sh N FROM, its console
# appended to $out; ended when it prints nothing for stall_s. Prints the
# first round it did not finish.
session() {
	local n=$1 from=$2 log=$payload/session size=-1 still=0 pid last
	# setsid: the test host and its QEMU in a process group of their own,
	# to end them together.
	setsid "$src/tests/host/run.sh" --smp 2 --mem 2G --timeout $((runs * 3 * boot_timeout)) \
		--env MODVM_PLUGIN_PATH=/payload/plugins \
		"$payload" -- ./bench-boot.sh "$n" "$from" >"$log" 2>>"$payload/host-stderr" &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		sleep 10
		if [ "$(stat -c %s "$log")" != "$size" ]; then
			size=$(stat -c %s "$log") still=0
		elif [ $((still += 10)) -ge $stall_s ]; then
			log "warning: the test host for $n vCPU(s) printed nothing for $stall_s s; ending it"
			kill -- -$pid
			break
		fi
	done
	wait $pid
	cat "$log" >>"$out"
	last=$(sed -n 's/^=== round \([0-9]*\) done$/\1/p' "$log" | tail -1)
	echo $((${last:-$((from - 1))} + 1))
}

# Downloads (the test host's kernel, once) before the watchdog starts.
"$src/tests/host/fetch.sh" >/dev/null || skip "tests/host/fetch.sh failed"
out=$payload/console
: >"$out"
for n in $cpus; do
	from=0
	for ((s = 1; s <= sessions && from < runs; s++)); do
		log "test host (QEMU TCG + kvm-amd), $n vCPU(s): rounds $((from + 1))-$runs of 3 boots, minutes"
		from=$(session "$n" "$from")
	done
	[ "$from" -ge "$runs" ] || log "warning: $n vCPU(s): rounds $((from + 1))-$runs not run; the rows use the runs that finished"
done
cat "$out" "$payload/host-stderr" >&2
[ -n "$keep" ] && cp "$out" "$payload/host-stderr" "$keep/"
grep -q '^RESULT ok=1' "$out" ||
	skip "no boot reached init: $(tail -1 "$payload/host-stderr" 2>/dev/null)"

# Medians per VMM and vCPU count, then one boot row and one memory row
# per vCPU count.
awk -v cpus="$cpus" -v mem="$mem_mib" '
function kv(k,   i, s) {
	i = index($0, " " k "=")
	if (!i) return -1
	s = substr($0, i + length(k) + 2)
	sub(/ .*/, "", s)
	return s + 0
}
function median(key,   n, i, j, t, v) {
	n = cnt[key]
	if (!n) return -1
	for (i = 1; i <= n; i++) v[i] = val[key, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function add(key, x) { if (x >= 0) val[key, ++cnt[key]] = x }
function boot(v, n) {
	if (!cnt[v, n, "ms"]) return "did not reach init"
	return sprintf("%.0f ms (guest uptime at init %.2f s; median of %d)",
		median(v SUBSEP n SUBSEP "ms"), median(v SUBSEP n SUBSEP "up"), cnt[v, n, "ms"])
}
function memory(v, n) {
	if (!cnt[v, n, "kib"]) return "not measured"
	return sprintf("%.2f MiB (private %.2f MiB)",
		median(v SUBSEP n SUBSEP "kib") / 1024, median(v SUBSEP n SUBSEP "priv") / 1024)
}
function ratio(key_a, key_b) {
	if (!cnt[key_a] || !cnt[key_b]) return "–"
	return sprintf("%.3f", median(key_a) / median(key_b))
}
/^=== (modvm|microvm|pc) / { key = $2 SUBSEP $3 SUBSEP $4; next }
/^=== / { key = ""; next }
# A round a frozen test host left unfinished runs again: the last wins.
key != "" && /^RESULT / { result[key] = $0; key = "" }
END {
	for (key in result) {
		split(key, f, SUBSEP)
		$0 = result[key]
		if (kv("ok") != 1) continue
		add(f[1] SUBSEP f[2] SUBSEP "ms", kv("marker_ms"))
		add(f[1] SUBSEP f[2] SUBSEP "up", kv("uptime_s"))
		add(f[1] SUBSEP f[2] SUBSEP "kib", kv("vmm_kib"))
		add(f[1] SUBSEP f[2] SUBSEP "priv", kv("vmm_private_kib"))
	}
	k = split(cpus, ns, " ")
	for (i = 1; i <= k; i++) {
		n = ns[i]
		printf "| 1 | Boot to init, %d vCPU(s), %d MiB: exec → first line of /init (test host) | %s | QEMU microvm %s; QEMU pc %s | %s | (figure: ratio vs QEMU microvm, < 1 = modvm faster) | |\n",
			n, mem, boot("modvm", n), boot("microvm", n), boot("pc", n),
			ratio("modvm" SUBSEP n SUBSEP "ms", "microvm" SUBSEP n SUBSEP "ms")
	}
	for (i = 1; i <= k; i++) {
		n = ns[i]
		kib = cnt["modvm", n, "kib"] ? median("modvm" SUBSEP n SUBSEP "kib") : -1
		printf "| 4 | Memory after Linux boot (at /init), %d vCPU(s), RSS of non-guest-RAM mappings (test host) | %s | QEMU microvm %s; QEMU pc %s | %s | < 2 MiB | %s |\n",
			n, memory("modvm", n), memory("microvm", n), memory("pc", n),
			ratio("modvm" SUBSEP n SUBSEP "kib", "microvm" SUBSEP n SUBSEP "kib"),
			kib < 0 ? "" : kib < 2048 ? "yes" : "**no**"
	}
}' "$out"
