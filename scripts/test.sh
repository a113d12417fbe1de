#!/bin/sh
# test.sh -- install what is missing, then build and run every test twice:
# a normal build (build/) and an AddressSanitizer + UBSan build
# (build-asan/), then a bounded run of each fuzz target (build-fuzz/).
# Exits non-zero if anything fails.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for variant in plain asan; do
	if [ $variant = asan ]; then
		dir=build-asan
		set -- -DPAGEMAP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	else
		dir=build
		set --
	fi
	echo "=== $variant build ($dir) ==="
	scripts/build.sh "$dir" "$@"
	echo "=== $variant tests ==="
	(cd "$dir" && ctest --output-on-failure -j 2 --timeout 600) || status=1
done
# The libFuzzer targets, built with clang, a bounded run each on the
# committed seeds (scripts/fuzz.sh; PAGEMAP_FUZZ_TIME seconds per target).
echo "=== fuzz (build-fuzz) ==="
scripts/fuzz.sh --time "${PAGEMAP_FUZZ_TIME:-20}" || status=1
exit $status
