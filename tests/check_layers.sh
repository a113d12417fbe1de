#!/bin/sh
# check_layers.sh -- fail if the daemon's files call each other in a
# circle. A file X (X.c and X.h together) depends on Y when either includes
# Y.h; the graph of pagemapd/ must have no cycle, so every call goes one
# way (see docs/architecture.md, "Layers").
#
# usage: check_layers.sh [DIR]   (default: the pagemapd/ of this checkout)
set -eu
dir=${1:-$(dirname "$0")/../pagemapd}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in "$dir"/*.c "$dir"/*.h; do
	x=$(basename "$f")
	x=${x%.*}
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([A-Za-z0-9_]*\)\.h".*/\1/p' \
		"$f" | while read -r y; do
		[ -f "$dir/$y.h" ] || continue
		[ "$x" = "$y" ] && continue
		echo "$x $y"
	done
done | sort -u >"$edges"

if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	echo "check_layers: the include graph of $dir has a cycle:" >&2
	sed -n 's/^tsort: //p' "$edges.err" | grep -v 'input contains a loop' |
		tr '\n' ' ' >&2
	echo >&2
	rm -f "$edges.err"
	exit 1
fi
rm -f "$edges.err"
echo "check_layers: $(wc -l <"$edges") dependencies, no cycle"
