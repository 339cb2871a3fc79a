#!/usr/bin/env bash
# Run modvm's whole test suite on a fresh Debian 12 machine:
# installs what it needs, builds into build/, runs every meson suite.
# Tests that need /dev/kvm run inside the nested test host
# (tests/host/run.sh) when this machine has no usable KVM.
#
# Usage: scripts/test.sh [BUILD_DIR] [-- extra meson setup options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift $(( $# > 0 ? 1 : 0 ))
[ "${1:-}" = "--" ] && shift

"$top/scripts/deps.sh" build test guest
if [ -f "$build/build.ninja" ]; then
	meson configure "$build" "$@" >/dev/null
else
	meson setup "$build" "$top" "$@"
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
