/* test_utf8.c -- unit tests of the strict UTF-8 checks (utf8.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

/* check -- utf8_check() of a string literal (its NULs included). */
#define CHECK(lit, at) utf8_check((lit), sizeof(lit) - 1, (at))

static void
valid_multibyte_text_passes(void **state)
{
	static const char *ok[] = {
		"",
		"plain ascii ~!@#",
		"caf\xC3\xA9",		  /* U+00E9, 2 bytes */
		"\xC2\xA0",		  /* U+00A0, first after C1 */
		"\xE2\x82\xAC 5",	  /* U+20AC, 3 bytes */
		"\xE0\xA0\x80",		  /* U+0800, shortest 3 bytes */
		"\xED\x9F\xBF",		  /* U+D7FF, below surrogates */
		"\xEE\x80\x80",		  /* U+E000, above surrogates */
		"\xEF\xBF\xBD",		  /* U+FFFD */
		"\xF0\x90\x80\x80",	  /* U+10000, shortest 4 bytes */
		"\xF0\x9F\x98\x80 smile", /* U+1F600 */
		"\xF4\x8F\xBF\xBF",	  /* U+10FFFF, the last */
		"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
	};
	size_t at = 99;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(utf8_check(ok[i], strlen(ok[i]), &at),
				 UTF8_OK);
	assert_int_equal(at, 99); /* untouched on success */
}

static void
every_class_of_malformed_sequence_is_invalid(void **state)
{
	static const struct {
		const char *s;
		size_t at;
	} bad[] = {
		{"ab\x80", 2},		 /* stray continuation */
		{"\xBF", 0},		 /* stray continuation */
		{"\xC0\xAF", 0},	 /* overlong '/' */
		{"\xC1\xBF", 0},	 /* overlong 2-byte */
		{"\xE0\x80\xAF", 0},	 /* overlong 3-byte */
		{"\xE0\x9F\xBF", 0},	 /* overlong U+07FF */
		{"\xF0\x80\x80\xAF", 0}, /* overlong 4-byte */
		{"\xF0\x8F\xBF\xBF", 0}, /* overlong U+FFFF */
		{"x\xED\xA0\x80", 1},	 /* surrogate U+D800 */
		{"\xED\xBF\xBF", 0},	 /* surrogate U+DFFF */
		{"\xF4\x90\x80\x80", 0}, /* U+110000 */
		{"\xF5\x80\x80\x80", 0}, /* lead F5 */
		{"\xFE", 0},		 /* never in UTF-8 */
		{"\xFF", 0},
		{"abc\xC3", 3},		 /* cut at the end */
		{"\xE2\x82", 0},	 /* cut at the end */
		{"\xF0\x9F\x98", 0},	 /* cut at the end */
		{"\xC3(", 0},		 /* bad continuation */
		{"\xE2\x28\xA1", 0},	 /* bad second byte */
		{"\xE2\x82\x28", 0},	 /* bad third byte */
		{"\xF0\x9F\x98\x28", 0}, /* bad fourth byte */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t at = 99;

		assert_int_equal(utf8_check(bad[i].s, strlen(bad[i].s), &at),
				 UTF8_INVALID);
		assert_int_equal(at, bad[i].at);
	}
}

static void
controls_and_del_are_refused(void **state)
{
	size_t at = 0;

	(void)state;
	assert_int_equal(CHECK("a\x1b[31mred", &at), UTF8_CONTROL);
	assert_int_equal(at, 1);
	assert_int_equal(CHECK("tab\there", &at), UTF8_CONTROL);
	assert_int_equal(CHECK("nl\n", &at), UTF8_CONTROL);
	assert_int_equal(at, 2);
	assert_int_equal(CHECK("del\x7f", &at), UTF8_CONTROL);
	assert_int_equal(at, 3);
	assert_int_equal(CHECK("c1 \xC2\x9B", &at), UTF8_CONTROL); /* CSI */
	assert_int_equal(at, 3);
	assert_int_equal(CHECK("\xC2\x80", &at), UTF8_CONTROL);
	assert_int_equal(CHECK("\xC2\x9F", &at), UTF8_CONTROL);
	assert_int_equal(CHECK("\xC2\xA0", &at), UTF8_OK);
}

static void
nul_inside_the_length_is_refused(void **state)
{
	size_t at = 0;

	(void)state;
	assert_int_equal(CHECK("abc\0def", &at), UTF8_NUL);
	assert_int_equal(at, 3);
	assert_int_equal(CHECK("\0", &at), UTF8_NUL);
	assert_int_equal(at, 0);
	/* the overlong NUL is malformed, not a NUL */
	assert_int_equal(CHECK("\xC0\x80", &at), UTF8_INVALID);
}

static void
sanitize_replaces_each_fault_and_keeps_good_text(void **state)
{
	static const char in[] = "a\x1b\xC3\xA9\xFF\xE2\x82";
	char out[64];
	size_t n;

	(void)state;
	n = utf8_sanitize(out, sizeof(out), in, sizeof(in) - 1);
	/* ESC, 0xFF and each byte of the cut sequence become U+FFFD */
	assert_string_equal(out, "a\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD"
				 "\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_int_equal(n, strlen(out));
	assert_int_equal(utf8_sanitized_len(in, sizeof(in) - 1), n);
	assert_int_equal(utf8_check(out, n, NULL), UTF8_OK);
}

static void
sanitize_cut_short_never_splits_a_sequence(void **state)
{
	static const char in[] = "\xE2\x82\xAC\xE2\x82\xAC";
	char out[6];
	size_t n;

	(void)state;
	n = utf8_sanitize(out, sizeof(out), in, sizeof(in) - 1);
	assert_int_equal(n, 3);
	assert_string_equal(out, "\xE2\x82\xAC");
	n = utf8_sanitize(out, 1, in, sizeof(in) - 1);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_multibyte_text_passes),
		cmocka_unit_test(every_class_of_malformed_sequence_is_invalid),
		cmocka_unit_test(controls_and_del_are_refused),
		cmocka_unit_test(nul_inside_the_length_is_refused),
		cmocka_unit_test(
			sanitize_replaces_each_fault_and_keeps_good_text),
		cmocka_unit_test(sanitize_cut_short_never_splits_a_sequence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
