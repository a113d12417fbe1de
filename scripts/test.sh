#!/bin/sh
# test.sh -- install what is missing, then build and run every test twice:
# a normal build (build/) and an AddressSanitizer + UBSan build
# (build-asan/), then a bounded run of each fuzz target (build-fuzz/).
# Ends with one line "N passed, M failed" over all of it (the fuzz run
# counts as one test); exits non-zero if anything fails.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0 passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# tally -- add the counts of ctest's closing line in $log (none: the run
# itself failed, which counts as one failure).
tally() {
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" |
		tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/')
	t=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
	passed=$((passed + t - f))
	failed=$((failed + f))
}

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
	# tee keeps the output live; the tally decides (a pipeline's status
	# is tee's).
	(cd "$dir" && ctest --output-on-failure -j 2 --timeout 600) 2>&1 |
		tee "$log"
	tally
done
[ "$failed" -eq 0 ] || status=1
# The libFuzzer targets, built with clang, a bounded run each on the
# committed seeds (scripts/fuzz.sh; PAGEMAP_FUZZ_TIME seconds per target).
echo "=== fuzz (build-fuzz) ==="
if scripts/fuzz.sh --time "${PAGEMAP_FUZZ_TIME:-20}"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	status=1
fi
echo "$passed passed, $failed failed"
exit $status
