#!/usr/bin/env bash
# Run modvm's libFuzzer targets for SECONDS each (default 60), one after
# the other, each over a temporary copy of its seed corpus in
# tests/fuzz/corpus/TARGET (the source tree is never written).
#
# The fuzzers come from --bin DIR (a clang build with -Dfuzz=enabled
# made them), or else this script builds them: meson setup of this
# source with CC=clang -Dfuzz=enabled in --build DIR (default
# $TMPDIR/modvm-fuzz-$UID), reused by later runs. Without clang and
# libFuzzer it installs clang and libclang-rt-14-dev (apt-get, as root
# or through sudo -n; MODVM_FUZZ_INSTALL=0 forbids), and when that is
# impossible it exits 77 (skip) and says why.
#
# A crash, leak, UBSan report or failed check fails the run; the input
# is saved as ARTIFACTS/TARGET-crash-* (default BUILD/artifacts) and the
# tail of the log printed. See tests/fuzz/README.md for what to do next.
#
# Usage: run.sh [--seconds N] [--bin DIR] [--build DIR] [--artifacts DIR]
#               [--keep DIR] [TARGET...]
#   --keep DIR  copy each grown corpus to DIR/TARGET afterwards
# MODVM_FUZZ_SECONDS, when set, overrides --seconds (e.g. in CI).
# Targets: config kernel-image tables devices (default: all).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/fuzz
all=(config kernel-image tables devices)
seconds=60 bin= build= artifacts= keep=
targets=()

while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--artifacts) artifacts=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done
seconds=${MODVM_FUZZ_SECONDS:-$seconds}
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
	[ -d "$here/corpus/$t" ] || { echo "run.sh: no target '$t' (${all[*]})" >&2; exit 2; }
done
build=${build:-${TMPDIR:-/tmp}/modvm-fuzz-$(id -u)}
artifacts=${artifacts:-$build/artifacts}

skip() {
	echo "fuzz: SKIP: $*"
	exit 77
}

# clang that links a libFuzzer program.
have_libfuzzer() {
	local tmp ok=1

	command -v clang >/dev/null || return 1
	tmp=$(mktemp -d) || return 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$tmp/t.c"
	clang -fsanitize=fuzzer,address,undefined "$tmp/t.c" -o "$tmp/t" 2>/dev/null && ok=0
	rm -rf "$tmp"
	return $ok
}

install_libfuzzer() {
	local sudo=()

	[ "${MODVM_FUZZ_INSTALL:-1}" = 1 ] || return 1
	command -v apt-get >/dev/null || return 1
	if [ "$(id -u)" -ne 0 ]; then
		sudo -n true 2>/dev/null || return 1
		sudo=(sudo -n)
	fi
	echo "fuzz: installing clang libclang-rt-14-dev" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq &&
		"${sudo[@]}" apt-get install -y -qq --no-install-recommends \
			clang libclang-rt-14-dev >/dev/null
}

if [ -z "$bin" ]; then
	if ! have_libfuzzer; then
		install_libfuzzer >&2
		have_libfuzzer || skip "clang with libFuzzer is not available and" \
			"could not be installed (apt-get install clang libclang-rt-14-dev)"
	fi
	mkdir -p "$(dirname "$build")"
	# One build at a time, when several runs share the folder.
	exec 9>"$build.lock"
	flock 9
	if [ ! -f "$build/build.ninja" ]; then
		echo "fuzz: configuring $build (clang, -Dfuzz=enabled)"
		CC=clang meson setup "$build" "$top" -Dfuzz=enabled -Dman=disabled \
			>"$build.setup.log" 2>&1 ||
			{ cat "$build.setup.log"; echo "fuzz: meson setup failed"; exit 1; }
	fi
	ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}" >"$build.ninja.log" 2>&1 ||
		{ tail -50 "$build.ninja.log"; echo "fuzz: build failed"; exit 1; }
	flock -u 9
	bin=$build/tests/fuzz
fi

mkdir -p "$artifacts"
status=0
for t in "${targets[@]}"; do
	fuzzer=$bin/fuzz-$t
	[ -x "$fuzzer" ] || { echo "fuzz: $fuzzer is missing"; status=1; continue; }
	corpus=$(mktemp -d "${TMPDIR:-/tmp}/modvm-fuzz-$t.XXXXXX")
	cp -r "$here/corpus/$t/." "$corpus/"
	log=$artifacts/$t.log
	seeds=$(find "$corpus" -type f | wc -l)
	echo "fuzz: $t: ${seconds}s over $seeds seeds (log: $log)"
	"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
		"$corpus" >"$log" 2>&1
	rc=$?
	grep -E '^#[0-9]+[[:space:]]+(DONE|pulse)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log" | tail -4
	echo "fuzz: $t: corpus $seeds -> $(find "$corpus" -type f | wc -l) inputs"
	if [ $rc -ne 0 ]; then
		status=1
		echo "fuzz: $t: FAILED (status $rc); the log's end:"
		tail -60 "$log"
		ls "$artifacts/$t-"* 2>/dev/null | sed 's/^/fuzz: input saved: /'
	fi
	if [ -n "$keep" ]; then
		rm -rf "${keep:?}/$t"
		mkdir -p "$keep/$t"
		cp -r "$corpus/." "$keep/$t/"
	fi
	rm -rf "$corpus"
done
exit $status
