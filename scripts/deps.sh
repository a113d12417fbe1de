#!/bin/sh
# deps.sh -- install what building and testing pagemapd needs from Debian,
# only if something is missing. Safe to run again; needs root (or sudo).
# clang builds the libFuzzer targets (scripts/fuzz.sh); libFuzzer and the
# sanitizer runtimes are in libclang-rt-14-dev, which clang only recommends
# (and recommends are not installed here), so it is named.
set -eu

PKGS="build-essential cmake pkg-config libuv1-dev libprotobuf-c-dev
protobuf-c-compiler libpmem2-dev libcmocka-dev libinih-dev libjson-c-dev
systemd groff-base clang libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q </dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing </dev/null
