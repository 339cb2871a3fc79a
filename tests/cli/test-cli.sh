#!/usr/bin/env bash
# The modvm command as a user meets it: help, version, plugin listing,
# --check on every shipped config, and one clear line with exit status 2
# for each kind of bad input. Usage: test-cli.sh MODVM SOURCE_DIR TEST_PLUGIN_DIR
set -uo pipefail
modvm=$1 src=$2 tplugins=$3
tmp=$(mktemp -d /tmp/modvm-cli-XXXXXX)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN -- ARGS...: run modvm, check status and that
# stderr has exactly one line matching PATTERN (extended regex).
expect() {
	local want=$1 pattern=$2; shift 3
	local out err st
	err=$("$modvm" "$@" 2>&1 >/dev/null); st=$?
	if [ "$st" -ne "$want" ]; then
		bad "modvm $* exited $st, want $want; stderr: $err"; return
	fi
	if [ -n "$pattern" ]; then
		if ! grep -Eq -- "$pattern" <<<"$err"; then
			bad "modvm $*: stderr lacks /$pattern/: $err"; return
		fi
		if [ "$(grep -c 'modvm: error' <<<"$err")" -ne 1 ]; then
			bad "modvm $*: want one error line, got: $err"; return
		fi
	fi
	ok
}

"$modvm" --help | grep -q 'Usage: modvm' && ok || bad "--help"
"$modvm" --version | grep -Eq '^modvm [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI 1\.0\)' && ok || bad "--version"
expect 2 "no VM.ini given" -- 
expect 2 "" -- --no-such-option
expect 2 "unexpected argument" -- a.ini b.ini

# --list-plugins lists every in-tree plugin with kind and path.
list=$("$modvm" --list-plugins)
for p in arch-x86_64 serial-8250 i8042 debug-exit exit-io exit-halt exit-shutdown; do
	grep -Eq "^$p +(arch|device|exit) " <<<"$list" && ok || bad "--list-plugins lacks $p: $list"
done

# Every shipped config passes --check.
for ini in "$src"/configs/*.ini; do
	if "$modvm" --check "$ini" >"$tmp/out" 2>&1; then ok; else bad "--check $ini: $(cat "$tmp/out")"; fi
done
"$modvm" --check "$src/configs/x86_64-demo.ini" | grep -q '^topology: ' && ok || bad "--check prints no topology"

# A broken config: file:line, section, key, and the fix.
mkini() { printf '%s\n' "$@" >"$tmp/vm.ini"; }
mkini '[machine]' 'memory = 512M' '[smp]' 'cpus = 2' 'frobs = 1'
expect 2 "vm.ini:5: \[smp\] frobs = 1: unknown key; valid keys: smp, cpus" -- --check "$tmp/vm.ini"
mkini '[machine]' 'memory = lots'
expect 2 "vm.ini:2: \[machine\] memory = lots: not a size" -- --check "$tmp/vm.ini"
mkini '[machin]'
expect 2 "vm.ini:1: \[machin\]: unknown section" -- --check "$tmp/vm.ini"
mkini '[device]' 'plugin = serial-8250'
expect 2 "vm.ini:1: \[device\]: needs a name" -- --check "$tmp/vm.ini"
mkini '[machine]' 'memory 512M'
expect 2 "vm.ini:2: not an INI line" -- --check "$tmp/vm.ini"
expect 2 "nonexistent.ini: cannot open" -- --check "$tmp/nonexistent.ini"
mkini '[machine]'
expect 2 "--set smp: expected SECTION.KEY=VALUE" -- --check --set smp "$tmp/vm.ini"
expect 2 "--set machine.memory=1X: not a size" -- --check --set machine.memory=1X "$tmp/vm.ini"

# Plugins: each refusal has its own message and exit status 2.
mkdir -p "$tmp/p" && chmod 0755 "$tmp/p"
for v in good abi-major abi-minor hidden exit-kind init-fails plain; do
	install -m 0644 "$tplugins/test-$v.so" "$tmp/p/test-$v.so"
done
plug() { mkini '[machine]' "plugin-path = $tmp/p" '[device "t"]' "plugin = $1"; }
plug test-good;       expect 0 "" -- --check "$tmp/vm.ini"
plug nothere;         expect 2 "vm.ini:4: \[device \"t\"\] plugin = nothere: plugin 'nothere' not found; searched $tmp/p" -- --check "$tmp/vm.ini"
plug test-abi-major;  expect 2 "built for ABI 99.0, this modvm speaks 1.0" -- --check "$tmp/vm.ini"
plug test-abi-minor;  expect 2 "built for ABI 1.999, newer than this modvm's 1.0" -- --check "$tmp/vm.ini"
plug test-hidden;     expect 2 "not a modvm plugin" -- --check "$tmp/vm.ini"
plug test-plain;      expect 2 "not a modvm plugin" -- --check "$tmp/vm.ini"
plug test-exit-kind;  expect 2 "is an exit plugin, used as a device plugin" -- --check "$tmp/vm.ini"
plug test-init-fails; expect 2 "plugin t failed to initialise" -- --check "$tmp/vm.ini"
plug exit-io;         expect 2 "is an exit plugin, used as a device plugin" -- --check "$tmp/vm.ini"
mkini '[machine]' "plugin-path = $tmp/p" '[arch]' 'plugin = test-good'
expect 2 "is a device plugin, used as an arch plugin" -- --check "$tmp/vm.ini"
mkini '[exit "a"]' 'plugin = exit-io' '[exit "b"]' 'plugin = exit-io'
expect 2 "duplicate: plugin exit-io is already loaded" -- --check "$tmp/vm.ini"
plug test-good; chmod 0666 "$tmp/p/test-good.so"
expect 2 "is writable by group or others \(mode 0666\)" -- --check "$tmp/vm.ini"
chmod 0644 "$tmp/p/test-good.so"; chmod 0777 "$tmp/p"
expect 2 "its folder $tmp/p is writable by group or others" -- --check "$tmp/vm.ini"
chmod 0755 "$tmp/p"; ln -s "$tmp/p/test-good.so" "$tmp/p/test-link.so"; plug test-link
expect 2 "is a symbolic link" -- --check "$tmp/vm.ini"
mkdir "$tmp/p/test-dir.so"; plug test-dir
expect 2 "is not a regular file" -- --check "$tmp/vm.ini"
plug test-good
expect 2 "--set device.t.count=x: not a number" -- --check --set device.t.count=x "$tmp/vm.ini"

# --dump: an unknown table, and a folder that cannot be written, each get
# one error line of their own (not a second, wrong one).
demo=$src/configs/x86_64-demo.ini
expect 2 "--dump=bogus: the arch-x86_64 plugin has no such table" -- --check --dump=bogus "$demo"
expect 2 "writing $tmp/none/rsdp.dat: No such file or directory" -- --check "--dump=acpi:$tmp/none" "$demo"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
