#!/usr/bin/env bash
# tests/kvm/run-in-testhost.sh - run the 'kvm' suite (and optionally the
# exit-cost benchmark) for real, inside the nested KVM test host
# (tests/host/run.sh), from an existing build directory.
#
# Usage: run-in-testhost.sh [options] BUILD_DIR
#   --bench          also run bench/exit-cost (figures only, never fails)
#   --bench-only     run only the benchmark
#   --valgrind TOOL  run each test under valgrind --tool=TOOL (e.g. helgrind);
#                    pause timeouts are raised to suit valgrind's speed
#   --smp N          vCPUs of the test host (default 2)
#   --env NAME=VAL   pass to the tests (repeatable), e.g. ASAN_OPTIONS=...
# Prints each test's output and a closing "N passed, N failed" line; exits
# non-zero when a test failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=0 tests=1 smp=2 valgrind= envs=()
while [ $# -gt 1 ]; do
	case $1 in
	--bench) bench=1 ;;
	--bench-only) bench=1 tests=0 ;;
	--valgrind) valgrind=$2; shift ;;
	--smp) smp=$2; shift ;;
	--env) envs+=(--env "$2"); shift ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
build=$(cd "$1" && pwd)

payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
mkdir "$payload/plugins"
cp "$build"/plugins/*.so "$build"/tests/kvm/*.so "$payload/plugins/"
chmod 755 "$payload/plugins"/*.so
cp "$build/tests/kvm/test-vcpu" "$build/tests/kvm/test-run" "$build/modvm" "$payload/"
[ $bench = 0 ] || cp "$build/bench/exit-cost" "$payload/"

host_bins=()
wrap=
if [ -n "$valgrind" ]; then
	host_bins=(--host-bin "$(command -v valgrind)")
	for f in /usr/libexec/valgrind/*-amd64-linux /usr/libexec/valgrind/*.so \
		 /usr/libexec/valgrind/*.supp; do
		[ -e "$f" ] && host_bins+=(--host-bin "$f")
	done
	wrap="valgrind --tool=$valgrind --error-exitcode=99 -q"
	envs+=(--env MODVM_TEST_PAUSE_TIMEOUT_MS=30000)
fi

cat > "$payload/run-all.sh" <<SCRIPT
pass=0 fail=0
if [ $tests = 1 ]; then
	for t in test-vcpu test-run; do
		echo "=== \$t"
		if $wrap ./\$t; then pass=\$((pass + 1)); else echo "=== \$t FAILED (\$?)"; fail=\$((fail + 1)); fi
	done
fi
if [ $bench = 1 ]; then
	echo "=== exit-cost"
	./exit-cost ${MODVM_BENCH_EXITS:-20000} 3 || echo "=== exit-cost could not run (\$?)"
fi
echo "kvm: \$pass passed, \$fail failed"
[ \$fail = 0 ]
SCRIPT

"$here/../host/run.sh" --smp "$smp" --timeout 1800 \
	--env MODVM_PLUGIN_PATH=/payload/plugins --env MODVM_BIN=/payload/modvm \
	"${envs[@]}" \
	"${host_bins[@]}" "$payload" -- sh run-all.sh
