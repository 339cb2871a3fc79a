#!/usr/bin/env bash
# arm64 guests as a user on any host meets them: `modvm --check` on the
# shipped arm64 configs, the per-vCPU topology it prints, the DTB and
# PPTT that --dump writes (decoded by dtc and iasl when installed), and
# boot-linux-arm64 checking its kernel at --check time.
# Usage: test-arm64-cli.sh MODVM SOURCE_DIR
set -uo pipefail
modvm=$1 src=$2
tmp=$(mktemp -d /tmp/modvm-arm64-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skipped=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*"; }

two=$src/configs/aarch64-2s2cl2c.ini
smt=$src/configs/aarch64-1s2cl2c2t.ini

# run STATUS -- ARGS: run modvm, keep stdout in $tmp/out, stderr in $tmp/err.
run() {
	local want=$1 st; shift 2
	"$modvm" "$@" >"$tmp/out" 2>"$tmp/err"; st=$?
	if [ "$st" -ne "$want" ]; then
		bad "modvm $* exited $st, want $want: $(cat "$tmp/err")"
		return 1
	fi
	return 0
}
has() { grep -Eq -- "$2" "$tmp/$1" && ok || bad "$3: $1 lacks /$2/: $(cat "$tmp/$1")"; }

list=$("$modvm" --list-plugins)
grep -Eq '^arch-aarch64 +arch ' <<<"$list" && ok || bad "--list-plugins lacks arch-aarch64: $list"
grep -Eq '^boot-linux-arm64 +boot ' <<<"$list" && ok || bad "--list-plugins lacks boot-linux-arm64: $list"

# One line per vCPU: MPIDR as KVM assigns it, and its place.
if run 0 -- --check "$two"; then
	has out '^vcpu 0: mpidr 0x80000000 socket 0 cluster 0 core 0 thread 0$' 2s2cl2c
	has out '^vcpu 5: mpidr 0x80000005 socket 1 cluster 0 core 1 thread 0$' 2s2cl2c
	has out '^vcpu 7: mpidr 0x80000007 socket 1 cluster 1 core 1 thread 0$' 2s2cl2c
	[ "$(grep -c '^vcpu ' "$tmp/out")" -eq 8 ] && ok || bad "2s2cl2c: not 8 vcpu lines"
fi
if run 0 -- --check "$smt"; then
	has out '^vcpu 7: mpidr 0x80000007 socket 0 cluster 1 core 1 thread 1$' 1s2cl2c2t
fi
if run 0 -- --check "$smt" --set smp.cpus=5 --set smp.maxcpus=8; then
	has out '^vcpu 4: .* thread 0$' "cpus < maxcpus"
	has out '^vcpu 5: .*\(not started\)$' "cpus < maxcpus"
fi
# 16 vCPUs per Aff1 group, as KVM's reset_mpidr does.
if run 0 -- --check "$two" --set smp.sockets=2 --set smp.clusters=1 --set smp.cores=12; then
	has out '^vcpu 23: mpidr 0x80000107 socket 1 cluster 0 core 11 thread 0$' 2s12c
fi

# The arch has clusters but no dies: the core refuses, naming the arch.
run 2 -- --check "$two" --set smp.dies=2 && has err 'has no dies' "dies"
run 2 -- --check "$two" --dump=cpuid && has err 'no such table' "--dump=cpuid"
run 2 -- --check "$two" --dump=dtb && has err 'dtb:FILE' "--dump=dtb without a file"

# The tables themselves.
dump_dts() { # INI DTS [--set ...]
	local ini=$1 dts=$2; shift 2
	run 0 -- --check "$ini" --dump="dtb:$tmp/t.dtb" "$@" || return 1
	if ! command -v dtc >/dev/null; then
		skip "dtc missing (apt-get install device-tree-compiler)"; return 1
	fi
	if dtc -I dtb -O dts -o "$dts" "$tmp/t.dtb" 2>"$tmp/dtc.err" && [ ! -s "$tmp/dtc.err" ]; then
		ok; return 0
	fi
	bad "dtc on $ini: $(cat "$tmp/dtc.err")"; return 1
}
if dump_dts "$two" "$tmp/two.dts"; then
	tr -d '\t' <"$tmp/two.dts" | tr '\n' ' ' >"$tmp/two.flat"
	# socket1/cluster1/core1 is vCPU 7 (phandle 0x17, reg 7).
	grep -Eq 'socket1 \{  cluster0 \{  core0 \{ cpu = <0x14>;' "$tmp/two.flat" && ok || bad "socket1 points at its own CPUs"
	grep -Eq 'cpu@7 \{ device_type = "cpu"; compatible = "arm,arm-v8"; reg = <0x07>; enable-method = "psci"; phandle = <0x17>;' "$tmp/two.flat" && ok || bad "cpu@7 node"
	for n in 'compatible = "arm,gic-v3"' 'compatible = "arm,armv8-timer"' 'method = "hvc"' '"arm,pl011\0arm,primecell"' 'stdout-path = "/pl011@9000000"'; do
		grep -Fq "$n" "$tmp/two.dts" && ok || bad "DTB lacks $n"
	done
fi
if dump_dts "$smt" "$tmp/smt.dts"; then
	grep -q 'thread1 {' "$tmp/smt.dts" && ok || bad "1s2cl2c2t: no thread level"
fi
if dump_dts "$two" "$tmp/12.dts" --set smp.clusters=1 --set smp.cores=12; then
	grep -q 'core11 {' "$tmp/12.dts" && ! grep -q 'corea {' "$tmp/12.dts" && ok || bad "decimal core names"
fi

if run 0 -- --check "$smt" --dump="pptt:$tmp/pptt.dat"; then
	if command -v iasl >/dev/null; then
		if (cd "$tmp" && iasl -d pptt.dat >iasl.log 2>&1) &&
		   ! grep -Eqi 'incorrect|invalid|error' "$tmp/pptt.dsl"; then
			ok
			# 1 package + 2 clusters + 4 cores + 8 threads
			[ "$(grep -c '\[Processor Hierarchy Node\]' "$tmp/pptt.dsl")" -eq 15 ] && ok || bad "PPTT node count"
		else
			bad "iasl -d: $(cat "$tmp/iasl.log")"
		fi
	else
		skip "iasl missing (apt-get install acpica-tools)"
	fi
fi

# boot-linux-arm64 checks the kernel while loading, so --check catches it.
image() { # FILE: a minimal Image header, image_size 4 MiB
	{ printf 'MZ\0\0\0\0\0\0'; printf '\0%.0s' {1..8}; printf '\0\0\x40\0\0\0\0\0'
	  printf '\x08\0\0\0\0\0\0\0'; printf '\0%.0s' {1..24}; printf 'ARM\x64\0\0\0\0'
	  head -c 4096 /dev/zero; } >"$1"
}
image "$tmp/Image"
boot=(--set boot.plugin=boot-linux-arm64 --set "boot.kernel=$tmp/Image" --set "boot.cmdline=console=ttyAMA0")
run 0 -- --check "$two" "${boot[@]}" && ok
: >"$tmp/empty"
run 2 -- --check "$two" --set boot.plugin=boot-linux-arm64 --set "boot.kernel=$tmp/empty" && has err "$tmp/empty is empty" "empty kernel"
printf '\x1f\x8b\x08\0' >"$tmp/vmlinuz"; head -c 100 /dev/zero >>"$tmp/vmlinuz"
run 2 -- --check "$two" --set boot.plugin=boot-linux-arm64 --set "boot.kernel=$tmp/vmlinuz" && has err 'gzip-compressed' "gzip kernel"
head -c 100 /dev/zero >"$tmp/zeros"
run 2 -- --check "$two" --set boot.plugin=boot-linux-arm64 --set "boot.kernel=$tmp/zeros" && has err 'ARM.x64' "not an Image"
run 2 -- --check "$two" --set boot.plugin=boot-linux-arm64 && has err 'needs kernel = PATH' "no kernel"
run 2 -- --check "$two" "${boot[@]}" --set machine.memory=4M && has err 'raise it' "RAM too small"

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
