#!/usr/bin/env bash
# The bad-input corpus: every NAME.ini here must make `modvm --check`
# exit with status 2 and print exactly the line in NAME.err to stderr
# (@DIR@ stands for this folder). With --update, (re)write the .err files
# from what modvm prints now: review the diff before committing it.
# Plugin directories in messages are written @BUILD@ (the build tree's
# plugins) and @PLUGINDIR@ (the installed plugin directory).
# Usage: run.sh MODVM BUILD_PLUGINDIR PLUGINDIR [--update]
set -uo pipefail
modvm=$1 build_plugins=$2 plugindir=$3 update=${4:-}
dir=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0

for ini in "$dir"/*.ini; do
	name=$(basename "$ini" .ini)
	err=$("$modvm" --check "$ini" 2>&1 >/dev/null); st=$?
	got=${err//$dir/@DIR@}
	got=${got//$build_plugins/@BUILD@}
	got=${got//$plugindir/@PLUGINDIR@}
	if [ "$update" = --update ]; then
		printf '%s\n' "$got" >"$dir/$name.err"
		continue
	fi
	want=$(cat "$dir/$name.err" 2>/dev/null || echo "(no $name.err)")
	if [ "$st" -eq 2 ] && [ "$got" = "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL %s: status %d\n  want: %s\n  got:  %s\n' "$name" "$st" "$want" "$got"
	fi
done
[ "$update" = --update ] && exit 0
echo "bad-configs: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
