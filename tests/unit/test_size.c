/* test_size.c -- unit tests of the one size grammar (size.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "fdcheck.h"
#include "size.h"

static uint64_t
ok(const char *s, const char **note)
{
	uint64_t v = 0;

	if (size_parse(s, &v, note) != 0)
		fail_msg("'%s' refused", s);
	return v;
}

static void
plain_bytes_and_hex_are_bytes(void **state)
{
	(void)state;
	assert_int_equal(ok("0", NULL), 0);
	assert_int_equal(ok("4096", NULL), 4096);
	assert_int_equal(ok("0x1000", NULL), 4096);
	assert_int_equal(ok("0XfFfF", NULL), 0xffff);
	assert_int_equal(ok("18446744073709551615", NULL), UINT64_MAX);
	assert_int_equal(ok("0xffffffffffffffff", NULL), UINT64_MAX);
}

static void
binary_suffixes_are_powers_of_1024_in_any_case(void **state)
{
	const char *note = "x";

	(void)state;
	assert_int_equal(ok("64K", &note), 64ull << 10);
	assert_null(note);
	assert_int_equal(ok("64k", NULL), 64ull << 10);
	assert_int_equal(ok("2M", NULL), 2ull << 20);
	assert_int_equal(ok("2MiB", &note), 2ull << 20);
	assert_null(note);
	assert_int_equal(ok("3g", NULL), 3ull << 30);
	assert_int_equal(ok("1GiB", NULL), 1ull << 30);
	assert_int_equal(ok("5T", NULL), 5ull << 40);
	assert_int_equal(ok("5TiB", NULL), 5ull << 40);
}

static void
decimal_unit_names_keep_working_with_a_note(void **state)
{
	const char *note = NULL;

	(void)state;
	assert_int_equal(ok("64MB", &note), 64ull << 20);
	assert_non_null(note);
	note = NULL;
	assert_int_equal(ok("1kb", &note), 1024);
	assert_non_null(note);
	/* No note pointer: still read, the same way. */
	assert_int_equal(ok("2GB", NULL), 2ull << 30);
}

static void
anything_else_is_refused_and_nothing_written(void **state)
{
	const char *bad[] = {"",      "-1",   "+1",  " 1",   "1 ", "1X",
			     "1KiBB", "1Ki",  "1iB", "K",    "0x", "0x1B0z",
			     "0x10M", "1.5G", "1e3", "1MBB", NULL};
	uint64_t v = 77;

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		if (size_parse(bad[i], &v, NULL) != -EINVAL)
			fail_msg("'%s' not refused with EINVAL", bad[i]);
		assert_int_equal(v, 77);
	}
	assert_int_equal(size_parse(NULL, &v, NULL), -EINVAL);
}

static void
overflow_is_erange(void **state)
{
	uint64_t v = 77;

	(void)state;
	assert_int_equal(size_parse("18446744073709551616", &v, NULL), -ERANGE);
	assert_int_equal(size_parse("0x10000000000000000", &v, NULL), -ERANGE);
	assert_int_equal(size_parse("16777216T", &v, NULL), -ERANGE);
	assert_int_equal(size_parse("16777215T", &v, NULL), 0);
	assert_int_equal(v, 16777215ull << 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(plain_bytes_and_hex_are_bytes),
		fdcheck_test(binary_suffixes_are_powers_of_1024_in_any_case),
		fdcheck_test(decimal_unit_names_keep_working_with_a_note),
		fdcheck_test(anything_else_is_refused_and_nothing_written),
		fdcheck_test(overflow_is_erange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
