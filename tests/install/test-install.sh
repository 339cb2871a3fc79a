#!/usr/bin/env bash
# Install modvm into a temporary prefix and check what a user, a plugin
# author and a packager rely on:
#   - the layout: bin/modvm, $libdir/modvm/plugins/*.so, include/modvm/*.h,
#     $libdir/pkgconfig/modvm-plugin.pc, the man pages, share/modvm/configs;
#   - nothing is installed outside the prefix;
#   - examples/counter builds with nothing but pkg-config against that
#     prefix, exports one symbol, and the installed modvm loads it
#     (--check, --list-plugins) from the example folder and, after
#     `make install`, from the installed plugin directory.
# Configures and builds its own tree (tests off), so it needs no root and
# never writes outside a temporary folder.
#
# Usage: test-install.sh SOURCE_DIR
set -euo pipefail
umask 022

src=$(cd "${1:?usage: test-install.sh SOURCE_DIR}" && pwd)
tmp=$(mktemp -d /tmp/modvm-install-test.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fails=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# Same sorted name lists, or say what differs.
same() {
	local what=$1 want=$2 got=$3
	if [ "$want" = "$got" ]; then
		ok "$what: $(echo $got)"
	else
		fail "$what differ"
		diff <(echo "$want") <(echo "$got") >&2 || true
	fi
}

for tool in meson ninja pkg-config make cc scdoc; do
	command -v "$tool" >/dev/null ||
		{ echo "FAIL: $tool is missing (scripts/deps.sh build)" >&2; exit 1; }
done

echo "== configure, build and install into $prefix"
unset MODVM_PLUGIN_PATH DESTDIR
meson setup "$tmp/build" "$src" --prefix="$prefix" -Dtests=false \
	-Dman=enabled >"$tmp/setup.log" 2>&1 ||
	{ cat "$tmp/setup.log" >&2; echo "FAIL: meson setup" >&2; exit 1; }
ninja -C "$tmp/build" >"$tmp/build.log" 2>&1 ||
	{ tail -30 "$tmp/build.log" >&2; echo "FAIL: build" >&2; exit 1; }
meson install -C "$tmp/build" --no-rebuild >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; echo "FAIL: meson install" >&2; exit 1; }

outside=$(sed -n 's/^Installing .* to //p' "$tmp/install.log" |
	grep -v "^$prefix\(/\|$\)" || true)
[ -z "$outside" ] && ok "every file went under the prefix" ||
	fail "installed outside the prefix: $outside"

echo "== layout"
pc=$(find "$prefix" -name modvm-plugin.pc)
if [ -z "$pc" ] || [ "$(dirname "$pc")" = "$prefix" ]; then
	echo "FAIL: modvm-plugin.pc not installed" >&2
	exit 1
fi
libdir=$(dirname "$(dirname "$pc")")
case "$pc" in
"$prefix"/lib*/pkgconfig/modvm-plugin.pc) ok "pkg-config file: ${pc#"$prefix"/}" ;;
*) fail "modvm-plugin.pc is not in \$libdir/pkgconfig: $pc" ;;
esac
plugindir=$libdir/modvm/plugins

[ -x "$prefix/bin/modvm" ] && ok "bin/modvm" || fail "bin/modvm missing"

same "plugins in ${plugindir#"$prefix"/}" \
	"$(cd "$tmp/build/plugins" && ls -1 ./*.so | xargs -n1 basename | sort)" \
	"$(cd "$plugindir" 2>/dev/null && ls -1 ./*.so | xargs -n1 basename | sort)"
[ -n "$(ls "$tmp/build/plugins"/*.so 2>/dev/null)" ] || fail "no plugins built"

same "headers in include/modvm" \
	"$(cd "$src/include/modvm" && ls -1 ./*.h | xargs -n1 basename | sort)" \
	"$(cd "$prefix/include/modvm" 2>/dev/null && ls -1 ./*.h | xargs -n1 basename | sort)"

same "configs in share/modvm/configs" \
	"$(cd "$src/configs" && ls -1 ./*.ini | xargs -n1 basename | sort)" \
	"$(cd "$prefix/share/modvm/configs" 2>/dev/null && ls -1 ./*.ini | xargs -n1 basename | sort)"

for page in man1/modvm.1 man5/modvm.ini.5; do
	f=$prefix/share/man/$page
	if [ ! -s "$f" ]; then
		fail "share/man/$page missing"
	elif command -v man >/dev/null; then
		warn=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null || echo "man failed")
		[ -z "$warn" ] && ok "share/man/$page renders" ||
			fail "man -l share/man/$page: $warn"
	else
		ok "share/man/$page (man not installed, not rendered)"
	fi
done

export PKG_CONFIG_PATH=$libdir/pkgconfig
got=$(pkg-config --variable=plugindir modvm-plugin)
[ "$got" = "$plugindir" ] && ok "pkg-config plugindir = $got" ||
	fail "pkg-config plugindir is '$got', plugins are in $plugindir"
cflags=$(pkg-config --cflags modvm-plugin)
case " $cflags " in
*" -I$prefix/include "*) ok "pkg-config --cflags: $cflags" ;;
*) fail "pkg-config --cflags '$cflags' lacks -I$prefix/include" ;;
esac

echo "== the installed modvm"
"$prefix/bin/modvm" --version || fail "modvm --version"
list=$("$prefix/bin/modvm" --list-plugins) || fail "modvm --list-plugins"
for so in "$plugindir"/*.so; do
	echo "$list" | grep -q "^$(basename "$so" .so) .* $so " ||
		fail "--list-plugins does not list $so"
done
ok "--list-plugins lists the installed plugins from $plugindir"
for ini in "$prefix"/share/modvm/configs/*.ini; do
	"$prefix/bin/modvm" --check "$ini" >/dev/null ||
		fail "modvm --check $ini"
done
ok "modvm --check passes on every installed config"

echo "== examples/counter against the installed SDK"
cp -r "$src/examples/counter" "$tmp/counter"
rm -f "$tmp/counter"/*.so
make -C "$tmp/counter" CFLAGS="-O2 -g -Werror" >"$tmp/make.log" 2>&1 ||
	{ cat "$tmp/make.log" >&2; echo "FAIL: building examples/counter" >&2; exit 1; }
ok "built $(cd "$tmp/counter" && ls ./*.so | xargs -n1 basename)"
so=$tmp/counter/guest-counter.so
exports=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
[ "$exports" = "modvm_plugin_descriptor " ] && ok "exports only modvm_plugin_descriptor" ||
	fail "guest-counter.so exports: $exports"

out=$("$prefix/bin/modvm" --check "$tmp/counter/counter.ini" 2>&1) ||
	{ echo "$out" >&2; fail "modvm --check counter.ini"; }
echo "$out"
# plugin-path = . resolves against the INI's folder.
here="$tmp/counter\\(/\\.\\)\\?/guest-counter\\.so"
echo "$out" | grep -q "^device .* counter .* guest-counter .*($here)" &&
	ok "--check loads guest-counter from the example folder" ||
	fail "--check did not load $so"
echo "$out" | grep -q "^exit .* exit-io .*($plugindir/exit-io.so)" &&
	ok "--check loads exit-io from $plugindir" ||
	fail "--check did not load exit-io from $plugindir"

"$prefix/bin/modvm" --list-plugins "$tmp/counter/counter.ini" |
	grep -q "^guest-counter .*device .* $here " &&
	ok "--list-plugins counter.ini lists guest-counter" ||
	fail "--list-plugins counter.ini does not list $so"

# A wrong value must fail with the plugin's own message.
out=$("$prefix/bin/modvm" --check --set device.counter.port=0x10000 \
	"$tmp/counter/counter.ini" 2>&1) && fail "port 0x10000 was accepted" ||
	{ [ $? -eq 2 ] && echo "$out" | grep -q "port=0x10000: must be an I/O port" &&
	  ok "port 0x10000 refused: $out" || fail "port 0x10000: $out"; }

make -C "$tmp/counter" install >"$tmp/make-install.log" 2>&1 ||
	{ cat "$tmp/make-install.log" >&2; fail "make install"; }
"$prefix/bin/modvm" --list-plugins |
	grep -q "^guest-counter .*device .* $plugindir/guest-counter.so " &&
	ok "after make install, --list-plugins finds guest-counter in $plugindir" ||
	fail "make install: guest-counter not listed from $plugindir"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed (KEEP=1 keeps $tmp)" >&2
	exit 1
fi
echo "all install checks passed"
