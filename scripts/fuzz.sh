#!/bin/sh
# fuzz.sh [--time SECONDS] [--seeds] [TARGET...] -- build the libFuzzer
# targets with clang in build-fuzz/ (-DPAGEMAP_FUZZ=ON) and run each
# (default: all of fuzz_request, fuzz_region, fuzz_config) for SECONDS
# (default 20) on its committed seed corpus fuzz/corpus/TARGET/. What a
# run finds new goes to build-fuzz/corpus/TARGET/ (kept for the next run;
# the committed corpus is only read), a crash, leak or hang to
# fuzz/crashes/TARGET-*. Exits non-zero if any target failed.
# --seeds rewrites the committed seed corpus of fuzz_request and
# fuzz_region from their generators instead of fuzzing.
set -eu
cd "$(dirname "$0")/.."
time=20
seeds=0
while [ $# -gt 0 ]; do
	case $1 in
	--time)
		time=$2
		shift 2
		;;
	--seeds)
		seeds=1
		shift
		;;
	-h | --help)
		sed -n '2,12p' "$0"
		exit 0
		;;
	*)
		break
		;;
	esac
done
targets=${*:-fuzz_request fuzz_region fuzz_config}

# The build tree is clang's; a tree configured with another compiler
# cannot be switched, so it is made anew.
if [ -f build-fuzz/CMakeCache.txt ] &&
	! grep -q '^CMAKE_C_COMPILER_ID:.*Clang' build-fuzz/CMakeCache.txt &&
	! grep -q '^CMAKE_C_COMPILER:.*clang' build-fuzz/CMakeCache.txt; then
	rm -rf build-fuzz
fi
CC=clang cmake -S . -B build-fuzz -DPAGEMAP_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
# shellcheck disable=SC2086
cmake --build build-fuzz -j "$(nproc)" --target $targets mkseeds_request

if [ $seeds = 1 ]; then
	rm -rf fuzz/corpus/fuzz_request fuzz/corpus/fuzz_region
	mkdir -p fuzz/corpus/fuzz_request fuzz/corpus/fuzz_region
	build-fuzz/fuzz/mkseeds_request fuzz/corpus/fuzz_request
	PAGEMAP_FUZZ_SEEDS=fuzz/corpus/fuzz_region build-fuzz/fuzz/fuzz_region
	exit 0
fi

# Leaks fail a run like crashes; UBSan's findings are fatal too (the
# objects are built with -fno-sanitize-recover).
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p fuzz/crashes
status=0
for t in $targets; do
	work=build-fuzz/corpus/$t
	log=build-fuzz/$t.log
	mkdir -p "$work"
	echo "=== $t: ${time}s ==="
	if build-fuzz/fuzz/"$t" -max_total_time="$time" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=fuzz/crashes/"$t"- \
		"$work" fuzz/corpus/"$t" >"$log" 2>&1; then
		grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
	else
		echo "$t FAILED (log: $log):"
		grep -E 'ERROR|SUMMARY|artifact|Test unit written' "$log" | head -20
		status=1
	fi
done
exit $status
