#!/usr/bin/env bash
# bench/run.sh - modvm's benchmarks in one command: builds what it needs,
# prints one Markdown table (each row beside its goal) and saves it to
# BUILD/bench/results.md, the raw output of every run to BUILD/bench/log.
# Benchmarks print figures: a missed goal never makes this script fail
# (exit 0 unless the build itself fails).
#
# Usage: bench/run.sh [options]
#   --build DIR     build directory (default: build-bench in the tree;
#                   configured with --buildtype=release when new)
#   --runs N        runs per figure, the median is printed (default 7,
#                   5 with --quick; at least 5). Boots: always 5.
#   --no-boot       skip the Linux rows (boot, memory after boot), which
#                   run inside the nested test host (~15 minutes)
#   --boot-only     only the Linux rows
#   --guest DIR     guest folder with bzImage + initramfs.cpio for them
#                   (default: the last stdout line of tests/guest/build.sh)
#   --quick         fewer exits and runs in the local rows: a smoke test
#
# Rows 2-6 run on this machine's /dev/kvm (row 4: its raw-guest lines);
# row 1 and row 4's after-boot lines inside the test host
# (tests/host/run.sh), where a Linux guest boots. A row that cannot run
# says why.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=$src/build-bench
runs=''
do_boot=1 do_local=1 guest_dir='' quick=0

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--build=*) build=${1#*=} ;;
	--runs) runs=$2; shift ;;
	--runs=*) runs=${1#*=} ;;
	--no-boot) do_boot=0 ;;
	--boot-only) do_local=0 ;;
	--guest) guest_dir=$2; shift ;;
	--guest=*) guest_dir=${1#*=} ;;
	--quick) quick=1 ;;
	-h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
exits=20000
[ $quick = 1 ] && exits=5000 && runs=${runs:-5}
runs=${runs:-7}
[[ $runs =~ ^[0-9]+$ ]] && [ "$runs" -ge 5 ] || { echo "run.sh: --runs wants >= 5" >&2; exit 2; }

log() { echo "bench: $*" >&2; }

# ---- build ----
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -f "$build/build.ninja" ]; then
	log "configuring $build (release)"
	nice meson setup "$build" "$src" --buildtype=release >&2 || { log "meson setup failed"; exit 1; }
fi
log "building in $build"
nice ninja -C "$build" bench-run >&2 || { log "build failed"; exit 1; }

out=$build/bench
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/modvm-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/log"
: >"$work/stderr"
modvm=$build/modvm
probe_bin=$build/bench/vmm-probe
shim=$build/bench/bench-trace.so
export MODVM_PLUGIN_PATH=$build/plugins:$build/tests/kvm
qemu=$(command -v qemu-system-x86_64 || true)

# ---- helpers ----
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |"); }
# kv KEY LINE: the value of KEY=... in a RESULT line
kv() { sed -n "s/.*\\b$1=\\(\"[^\"]*\"\\|[^ ]*\\).*/\\1/p" <<<"$2" | tr -d '"'; }
# calc FMT ARGS: awk arithmetic, printf-formatted
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
verdict() { # verdict VALUE OP GOAL -> yes/no
	awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN {
		ok = (op == "<") ? v < g : (op == ">=") ? v >= g : 0
		print ok ? "yes" : "**no**" }'
}
# ok LINE: the RESULT line reports at least one good run
ok() { [ -n "$1" ] && [ "$(kv ok "$1")" != 0 ]; }
# median COLUMN FILE: median of a column of numbers ("x" = no value)
median() { awk -v c="$1" '$c != "x" { print $c }' "$2" | sort -g |
	awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# probe MODE ARGS...: vmm-probe under the shim; its RESULT line
probe() {
	local mode=$1
	shift
	"$probe_bin" "$mode" "$shim" "$@" 2>>"$work/stderr" | tee -a "$work/log" | grep '^RESULT' | tail -1
}

# loop_rate IDLE_MS CMD...: exits/s of one run of the loop guest, or "x"
# (exec → exit, less exec → first KVM_RUN, less IDLE_MS of teardown)
loop_rate() {
	local l idle=$1
	shift
	l=$(probe startup 1 -- "$@")
	if ok "$l"; then
		calc '%.0f' "$exits / (($(kv exit_wall_ms "$l") - $(kv run_wall_ms "$l") - $idle) / 1000)"
	else
		echo x
	fi
}

kvm_desc=/dev/kvm
for mod in kvm_pvm kvm_intel kvm_amd; do
	if [ -d /sys/module/$mod ]; then kvm_desc="/dev/kvm ($mod)"; break; fi
done
[ "$kvm_desc" = "/dev/kvm (kvm_pvm)" ] && kvm_desc="/dev/kvm (kvm_pvm, a software KVM)"

local_rows() {
	# ---- guests and configs ----
	# Raw 64 KiB BIOS images for QEMU: the same real-mode code as modvm's
	# test programs, reached from the reset vector (CS base 0xffff0000).
	python3 - "$work" "$exits" <<'EOF'
import struct, sys
work, n = sys.argv[1], int(sys.argv[2])
def image(code, name):
    b = bytearray(b'\xf4' * 65536)
    b[0:len(code)] = code
    b[0xfff0:0xfff3] = b'\xe9' + struct.pack('<H', (0x10000 - 0xfff3) & 0xffff)  # jmp 0
    open(f'{work}/{name}', 'wb').write(b)
# mov dx,0x501; mov al,42; out dx,al; hlt
image(bytes([0xba, 0x01, 0x05, 0xb0, 0x2a, 0xee, 0xf4]), 'qemu-exit.bin')
# cli; hlt; jmp hlt
image(bytes([0xfa, 0xf4, 0xeb, 0xfd]), 'qemu-hlt.bin')
# mov ecx,N; mov dx,0x80; 1: out dx,al; dec ecx; jnz 1b; mov dx,0x501; mov al,0; out dx,al; hlt
image(b'\x66\xb9' + struct.pack('<I', n) +
      bytes([0xba, 0x80, 0x00, 0xee, 0x66, 0x49, 0x75, 0xfb,
             0xba, 0x01, 0x05, 0xb0, 0x00, 0xee, 0xf4, 0xeb, 0xfd]), 'qemu-loop.bin')
EOF

	cat >"$work/min.ini" <<'EOF'
; the fewest plugins that run a raw guest: test arch + loader, one device, one exit
[machine]
memory = 64M
[arch]
plugin = kvmtest-arch
[boot]
plugin = kvmtest-boot
program = debug-exit
[device "debug"]
plugin = debug-exit
[exit "io"]
plugin = exit-io
EOF
	# + every other in-tree device and exit plugin, as modvm lists them
	# (arch and boot plugins are one of a kind: the test ones stay)
	"$modvm" --list-plugins 2>>"$work/stderr" | awk -v dir="$build/plugins/" '
		($2 == "device" || $2 == "exit") && index($4, dir) == 1 &&
		$1 != "debug-exit" && $1 != "exit-io" { print $2, $1 }' >"$work/extra"
	{
		cat "$work/min.ini"
		awk '{ printf "[%s \"%s\"]\nplugin = %s\n", $1, $2, $2 }' "$work/extra"
	} >"$work/all.ini"
	local extra_names
	extra_names=$(awk '{ print $2 }' "$work/extra" | paste -sd, | sed 's/,/, /g')
	local n_min n_all
	n_min=$(grep -c '^plugin' "$work/min.ini") n_all=$(grep -c '^plugin' "$work/all.ini")
	for v in min all; do
		sed -e 's/^program = debug-exit/program = hlt/' -e 's/^plugin = kvmtest-arch/&\nirqchip = true/' \
			"$work/$v.ini" >"$work/$v-hlt.ini"
	done
	sed -e 's/^program = debug-exit/program = bench/' -e "s/^plugin = kvmtest-arch/&\nrcx = $exits/" \
		"$work/min.ini" >"$work/loop.ini"
	printf '[exit "halt"]\nplugin = exit-halt\n' >>"$work/loop.ini"

	local qemu_base=(-enable-kvm -M microvm -m 64M -nodefaults -no-user-config -display none)
	local qemu_exit=(-device 'isa-debug-exit,iobase=0x501,iosize=1')
	local s_min s_q='' w c d q qr

	# ---- 2. start-up ----
	log "2 start-up ($runs runs each)"
	s_min=$(probe startup "$runs" -- "$modvm" -q "$work/min.ini")
	if ok "$s_min"; then
		w=$(kv run_wall_ms "$s_min") c=$(kv run_cpu_ms "$s_min") d=$(kv dlopen_ms "$s_min")
		q='QEMU not installed' qr='–'
		if [ -n "$qemu" ]; then
			s_q=$(probe startup "$runs" -- "$qemu" "${qemu_base[@]}" -bios "$work/qemu-exit.bin" "${qemu_exit[@]}")
			if ok "$s_q"; then
				q="QEMU microvm $(calc '%.1f ms wall, %.1f ms CPU' "$(kv run_wall_ms "$s_q"), $(kv run_cpu_ms "$s_q")")"
				qr=$(calc '%.3f' "$w / $(kv run_wall_ms "$s_q")")
			else
				q="QEMU microvm did not reach KVM_RUN"
			fi
		fi
		row 2 "VMM start-up: exec → first KVM_RUN (raw guest, $n_min plugins)" \
			"$(calc '%.2f ms wall (min %.2f), %.2f ms CPU; plugin loading (dlopen) %.2f ms = %.0f%% of the wall time; exec → exit %.2f ms' \
				"$w, $(kv run_wall_min_ms "$s_min"), $c, $d, 100 * $d / $w, $(kv exit_wall_ms "$s_min")")" \
			"$q" "$qr" "< 5 ms wall" "$(verdict "$w" '<' 5)"
	else
		row 2 "VMM start-up" "not measured: modvm did not reach KVM_RUN (see the log)" "" "" "< 5 ms wall" ""
	fi

	# ---- 3. exit cost ----
	log "3 exit cost ($exits exits x $((3 * runs)) rounds, in-process)"
	local e r
	e=$("$build/bench/exit-cost" "$exits" "$((3 * runs))" 2>>"$work/stderr" | tee -a "$work/log" | grep '^RESULT' | tail -1)
	if ok "$e"; then
		r=$(kv ratio "$e")
		row 3 "Exit cost: $exits port-I/O exits through the core (vCPU thread, exit table, exit-io, bus) vs a bare KVM_RUN loop, same code" \
			"$(calc '%.0f exits/s (%.2f µs/exit)' "$(kv modvm_per_s "$e"), 1e6 / $(kv modvm_per_s "$e")")" \
			"bare loop $(calc '%.0f exits/s (%.2f µs/exit)' "$(kv bare_per_s "$e"), 1e6 / $(kv bare_per_s "$e")")" \
			"$(calc '%.3f (fastest rounds: %.3f)' "$r, $(kv best_ratio "$e")")" "≥ 0.97 of the bare loop" "$(verdict "$r" '>=' 0.97)"
	else
		row 3 "Exit cost" "not measured: exit-cost failed (see the log)" "" "" "≥ 0.97 of the bare loop" ""
	fi
	log "3 exit cost, whole processes: modvm vs QEMU microvm, interleaved"
	# Teardown time: (exec → exit) − (exec → first KVM_RUN) of row 2's
	# guest, which exits at once.
	local idle_m=0 idle_q=0 pm pq pr
	ok "$s_min" && idle_m=$(calc '%.3f' "$(kv exit_wall_ms "$s_min") - $(kv run_wall_ms "$s_min")")
	ok "$s_q" && idle_q=$(calc '%.3f' "$(kv exit_wall_ms "$s_q") - $(kv run_wall_ms "$s_q")")
	: >"$work/loop"
	for ((i = 0; i < runs; i++)); do
		pm=$(loop_rate "$idle_m" "$modvm" -q "$work/loop.ini")
		pq=x
		[ -n "$qemu" ] && pq=$(loop_rate "$idle_q" "$qemu" "${qemu_base[@]}" -bios "$work/qemu-loop.bin" "${qemu_exit[@]}")
		echo "$pm $pq $([ "$pm" != x ] && [ "$pq" != x ] && calc '%.4f' "$pm / $pq" || echo x)" >>"$work/loop"
	done
	pm=$(median 1 "$work/loop") pq=$(median 2 "$work/loop") pr=$(median 3 "$work/loop")
	if [ -n "$pm" ]; then
		row 3b "Exit cost, whole VMM process: the same loop to an unclaimed port, runs interleaved" \
			"$(calc '%.0f exits/s' "$pm")" "$([ -n "$pq" ] && calc 'QEMU microvm %.0f exits/s' "$pq" || echo "QEMU not run")" \
			"$([ -n "$pr" ] && calc '%.3f' "$pr" || echo –)" "(figure)" ""
	else
		row 3b "Exit cost, whole VMM process" "not measured: modvm did not run the loop (see the log)" "" "" "(figure)" ""
	fi

	# ---- 4. memory ----
	log "4 memory"
	local m mq
	for n in 1 8; do
		m=$(probe rss "$runs" 64 "$n" -- "$modvm" -q --set smp.cpus=$n "$work/min-hlt.ini")
		if ok "$m"; then
			q='QEMU not installed' qr='–'
			if [ -n "$qemu" ]; then
				mq=$(probe rss "$runs" 64 "$n" -- "$qemu" "${qemu_base[@]}" -smp "$n" -bios "$work/qemu-hlt.bin")
				q='QEMU microvm: not measured'
				if ok "$mq"; then
					q="QEMU microvm $(calc '%.2f MiB (private %.2f MiB)' "$(kv vmm_kib "$mq") / 1024, $(kv vmm_private_kib "$mq") / 1024")"
					qr=$(calc '%.3f' "$(kv vmm_kib "$m") / $(kv vmm_kib "$mq")")
				fi
			fi
			row 4 "Memory: RSS of non-guest-RAM mappings, raw guest, $n vCPU(s) halted" \
				"$(calc '%.2f MiB (private %.2f MiB, anonymous %.2f MiB)' "$(kv vmm_kib "$m") / 1024, $(kv vmm_private_kib "$m") / 1024, $(kv vmm_anon_kib "$m") / 1024")" \
				"$q" "$qr" "< 2 MiB" "$(verdict "$(kv vmm_kib "$m")" '<' 2048)"
		else
			row 4 "Memory, raw guest, $n vCPU(s)" "not measured: the vCPUs did not all enter KVM_RUN (see the log)" "" "" "< 2 MiB" ""
		fi
	done

	# ---- 5. vCPU scaling ----
	log "5 vCPU scaling"
	local l goal met
	"$build/bench/vcpu-scaling" "$runs" 2>>"$work/stderr" | tee -a "$work/log" >"$work/scaling"
	for n in 1 8 64 255; do
		l=$(grep "^RESULT lifecycle n=$n " "$work/scaling")
		if [ -n "$l" ] && [ -z "$(kv skipped "$l")" ]; then
			row 5 "vCPU new + realize + destroy, N = $n (arch-x86_64)" \
				"$(calc '%.3f ms (new %.3f, realize %.3f, destroy %.3f)' "$(kv total_ms "$l"), $(kv new_ms "$l"), $(kv realize_ms "$l"), $(kv destroy_ms "$l")")" \
				"" "" "(figure)" ""
		else
			row 5 "vCPU new + realize + destroy, N = $n" "not measured: $(kv skipped "$l")" "" "" "(figure)" ""
		fi
	done
	for n in 1 8 64; do
		l=$(grep "^RESULT pause n=$n " "$work/scaling")
		goal='(figure)' met=''
		[ "$n" = 64 ] && goal='< 5 ms'
		if [ -n "$l" ] && [ -z "$(kv skipped "$l")" ]; then
			[ "$n" = 64 ] && met=$(verdict "$(kv total_ms "$l")" '<' 5)
			row 5 "pause + resume of all vCPUs, N = $n (halted in the kernel)" \
				"$(calc '%.3f ms (pause %.3f, resume %.3f)' "$(kv total_ms "$l"), $(kv pause_ms "$l"), $(kv resume_ms "$l")")" \
				"" "" "$goal" "$met"
		else
			row 5 "pause + resume, N = $n" "not measured: $(kv skipped "$l")" "" "" "$goal" ""
		fi
	done

	# ---- 6. plugin cost ----
	log "6 plugin cost (min and all interleaved)"
	: >"$work/plugins"
	for ((i = 0; i < runs; i++)); do
		for v in min all; do
			l=$(probe startup 1 -- "$modvm" -q "$work/$v.ini")
			ok "$l" && echo "$v $(kv run_wall_ms "$l") $(kv run_cpu_ms "$l") $(kv dlopen_ms "$l")" >>"$work/plugins"
		done
	done
	grep '^min ' "$work/plugins" | cut -d' ' -f2- >"$work/p-min"
	grep '^all ' "$work/plugins" | cut -d' ' -f2- >"$work/p-all"
	local m_min m_all w0 w1 c0 c1 rd
	m_min=$(probe rss "$runs" 64 1 -- "$modvm" -q "$work/min-hlt.ini")
	m_all=$(probe rss "$runs" 64 1 -- "$modvm" -q "$work/all-hlt.ini")
	w0=$(median 1 "$work/p-min") w1=$(median 1 "$work/p-all") c0=$(median 2 "$work/p-min") c1=$(median 2 "$work/p-all")
	if [ -n "$w0" ] && [ -n "$w1" ]; then
		rd='RSS not measured'
		ok "$m_min" && ok "$m_all" &&
			rd=$(calc 'RSS %+.0f KiB (%.0f → %.0f KiB)' "$(kv vmm_kib "$m_all") - $(kv vmm_kib "$m_min"), $(kv vmm_kib "$m_min"), $(kv vmm_kib "$m_all")")
		row 6 "Plugin cost: $n_min plugins (kvmtest-arch/-boot, debug-exit, exit-io) vs $n_all (+ every other in-tree device and exit plugin: $extra_names), runs interleaved" \
			"$(calc 'start-up CPU %+.2f ms (%.2f → %.2f), wall %+.2f ms (%.2f → %.2f), dlopen %.2f → %.2f ms; ' "$c1 - $c0, $c0, $c1, $w1 - $w0, $w0, $w1, $(median 3 "$work/p-min"), $(median 3 "$work/p-all")")$rd" \
			"" "$(calc '%.3f (CPU)' "$c1 / $c0")" "(figure)" ""
	else
		row 6 "Plugin cost" "not measured: modvm failed with $([ -z "$w1" ] && echo "all plugins" || echo "the minimum") (see the log)" "" "" "(figure)" ""
	fi
}

if [ $do_local = 1 ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		local_rows
	else
		for r in "2 VMM start-up" "3 Exit cost" "4 Memory (raw guest)" "5 vCPU scaling" "6 Plugin cost"; do
			row "${r%% *}" "${r#* }" "not measured: no usable /dev/kvm here" "" "" "" ""
		done
	fi
fi

# ---- 1. boot to init (and 4. memory after boot), inside the test host ----
if [ $do_boot = 1 ]; then
	log "1 boot to init in the test host (also row 4 after boot)"
	boot_args=(--build "$build")
	[ -n "$guest_dir" ] && boot_args+=(--guest "$guest_dir")
	"$here/boot-in-testhost.sh" "${boot_args[@]}" >"$work/boot" 2>>"$work/stderr"
	if grep -q '^| [0-9]' "$work/boot"; then
		while IFS= read -r l; do rows+=("$l"); done < <(grep '^| [0-9]' "$work/boot")
	else
		why=$(sed -n 's/^NOT MEASURED: //p' "$work/boot" | tail -1)
		row 1 "Boot to init (Linux, test host)" "not measured: ${why:-see the log}" "" "" "(figure: ratio vs QEMU microvm)" ""
		row 4 "Memory after Linux boot (test host)" "not measured: ${why:-see the log}" "" "" "< 2 MiB" ""
	fi
fi

# ---- the table, rows in the issue's order ----
{
	echo "## modvm benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?'), $(nproc) host CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	echo "| # | Measurement | modvm | Reference | Ratio | Goal | Met |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${rows[@]}" | sort -s -k2,2n
	echo
	[ $do_local = 1 ] && echo "Rows 2-6 and the raw-guest rows of 4: this machine's $kvm_desc, medians of $runs runs."
	[ $do_boot = 1 ] && echo "Row 1 and the after-boot rows of 4: inside the nested test host (QEMU TCG + kvm-amd), medians of 5 interleaved boots; slow in absolute terms, compare the ratios."
	echo "Compare figures within one run (ratios); absolute times move with the machine's load."
	echo "Details: bench/README.md. Raw output: $out/log."
} >"$out/results.md"
cat "$work/log" "$work/boot" "$work/stderr" >"$out/log" 2>/dev/null
cat "$out/results.md"
