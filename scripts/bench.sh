#!/bin/sh
# bench.sh [pagemap-bench options...] -- build pagemapd and pagemap-bench
# as a Release build in build-bench/ and run the benchmark (the full run
# takes well under 5 minutes on 2 cores; --quick takes seconds). Region
# files go to a fresh folder under .run/bench/ unless --dir says otherwise;
# see docs/performance.md for what each figure means.
set -eu
cd "$(dirname "$0")/.."
dir=build-bench
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPAGEMAP_SANITIZE=OFF \
	-DPAGEMAP_CRASH_POINTS=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target pagemapd pagemap-bench >/dev/null
exec "$dir/bench/pagemap-bench" "$@"
