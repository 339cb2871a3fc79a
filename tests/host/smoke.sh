#!/usr/bin/env bash
# tests/host/smoke.sh - prove the KVM test host works.
# Builds kvm-smoke.c, runs it on this machine (expects PASS, or SKIP=77 when
# there is no /dev/kvm) and inside the test host via run.sh (expects PASS).
# Usage: smoke.sh [run.sh options, e.g. --smp 2]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modvm-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/payload"
"${CC:-cc}" -O2 -Wall -Wextra -o "$tmp/payload/kvm-smoke" "$here/kvm-smoke.c"

passed=0 failed=0
rc=0
"$tmp/payload/kvm-smoke" || rc=$?
case $rc in
0|77) echo "ok: kvm-smoke on this machine (exit $rc)"; passed=$((passed + 1)) ;;
*) echo "FAIL: kvm-smoke on this machine (exit $rc)"; failed=$((failed + 1)) ;;
esac

rc=0
"$here/run.sh" --stats "$@" "$tmp/payload" -- ./kvm-smoke || rc=$?
if [ $rc = 0 ]; then
	echo "ok: kvm-smoke in the test host"; passed=$((passed + 1))
else
	echo "FAIL: kvm-smoke in the test host (exit $rc)"; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
