#!/bin/sh
# test_symbols.sh SRCDIR LIBPAGEMAP_SO -- every symbol libpagemap exports
# is described in man/libpagemap.3, so nothing public goes undocumented.
set -eu
SRC=$1 SO=$2
SHIP_DAEMON=
. "$(dirname "$0")/lib.sh"

command -v nm >/dev/null || exit 77
nm -D --defined-only "$SO" | awk '$2 ~ /^[TDBR]$/ { sub(/@.*/, "", $3);
	print $3 }' | sort -u >"$T/exports"
[ "$(wc -l <"$T/exports")" -ge 40 ] || fail "too few exports: $(cat "$T/exports")"
while read -r sym; do
	grep -qw "$sym" "$SRC/man/libpagemap.3" ||
		fail "libpagemap.3 does not mention $sym"
done <"$T/exports"
echo "ok: $(wc -l <"$T/exports") exported symbols, all in libpagemap.3"
