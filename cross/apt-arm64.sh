#!/usr/bin/env bash
# Run apt-get or apt-cache for Debian's arm64 packages with private lists,
# cache and (empty) dpkg status under STATE, and the Debian sources this
# machine already uses. The system's apt configuration, lists and dpkg
# state are never touched; only `update`, `download` and look-ups make
# sense here. The lists are fetched on first use.
#
# Usage: cross/apt-arm64.sh STATE apt-get|apt-cache ARGS...
set -euo pipefail
state=$1 tool=$2
shift 2
case "$tool" in apt-get|apt-cache) ;; *) echo "apt-arm64.sh: apt-get or apt-cache, not '$tool'" >&2; exit 2 ;; esac
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources.list.d"
state=$(cd "$state" && pwd)
[ -f "$state/status" ] || : >"$state/status"
if [ ! -f "$state/sources.list" ]; then
	# Debian's sources as configured here (deb822 .sources and one-line
	# .list files); disabled files keep other names and are left out.
	: >"$state/sources.list"
	if [ -f /etc/apt/sources.list ]; then
		grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list >>"$state/sources.list" || true
	fi
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
		if [ -f "$f" ]; then cp "$f" "$state/sources.list.d/"; fi
	done
fi
opts=(
	-o "Dir::State=$state"
	-o "Dir::State::Lists=$state/lists"
	-o "Dir::State::status=$state/status"
	-o "Dir::Cache=$state/cache"
	-o "Dir::Etc::SourceList=$state/sources.list"
	-o "Dir::Etc::SourceParts=$state/sources.list.d"
	-o "APT::Architecture=arm64"
	-o "APT::Architectures=arm64"
	-o "APT::Sandbox::User=$(id -un)"
	-o "Acquire::Languages=none"
)
if [ "$tool" = apt-cache ] || [ "${1:-}" != update ]; then
	compgen -G "$state/lists/*_Packages*" >/dev/null || apt-get "${opts[@]}" -qq update
fi
exec "$tool" "${opts[@]}" "$@"
