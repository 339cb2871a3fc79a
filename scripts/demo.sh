#!/usr/bin/env bash
# Bring up the demo VM described by configs/x86_64-demo.ini.
# Installs what it needs, builds into build/, checks the config, then
# launches it: directly when this machine's /dev/kvm can run Linux,
# otherwise inside the nested test host (tests/host/README.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
ini=${1:-$top/configs/x86_64-demo.ini}

"$top/scripts/deps.sh" build
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null
ninja -C "$build" >/dev/null

echo "== modvm --check $ini"
"$build/modvm" --check "$ini"
