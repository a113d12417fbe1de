/* test_escape.c -- unit tests of the CLI's escaping of daemon strings
 * (client/ctl/escape.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "utf8.h"

/* text_is -- escape_text(@in) is @want. */
static void
text_is(const char *in, const char *want)
{
	char *s = escape_text(in);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* json_is -- escape_json(@in) is @want, and valid UTF-8. */
static void
json_is(const char *in, const char *want)
{
	char *s = escape_json(in);

	assert_non_null(s);
	assert_string_equal(s, want);
	assert_int_not_equal(utf8_check(s, strlen(s), NULL), UTF8_INVALID);
	free(s);
}

static void
printable_text_is_printed_as_it_is(void **state)
{
	(void)state;
	text_is("", "");
	text_is(NULL, "");
	text_is("plain name-1.dat", "plain name-1.dat");
	text_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	text_is("back\\slash", "back\\slash");
}

static void
control_characters_become_hex_escapes(void **state)
{
	(void)state;
	text_is("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	text_is("a\tb\nc\rd", "a\\x09b\\x0ac\\x0dd");
	text_is("del\x7f", "del\\x7f");
	text_is("csi\xc2\x9b"
		"2J",
		"csi\\xc2\\x9b2J"); /* C1: both bytes */
	text_is("bell\x07", "bell\\x07");
}

static void
malformed_bytes_become_hex_escapes(void **state)
{
	(void)state;
	text_is("ab\xff\xfe", "ab\\xff\\xfe");
	text_is("\xc0\xaf", "\\xc0\\xaf");	    /* overlong */
	text_is("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	text_is("cut\xe2\x82", "cut\\xe2\\x82");
	text_is("\xe2\x82\xe2\x82\xac", "\\xe2\\x82\xe2\x82\xac");
}

static void
json_text_is_always_valid_utf8(void **state)
{
	(void)state;
	json_is("caf\xc3\xa9", "caf\xc3\xa9");
	json_is("ab\xff", "ab\xef\xbf\xbd");
	json_is("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* controls stay: json-c writes them as \u00XX itself */
	json_is("\x1b[2J", "\x1b[2J");
	/* DEL and C1, which JSON writers pass on raw, do not */
	json_is("del\x7f csi\xc2\x9b", "del\xef\xbf\xbd csi\xef\xbf\xbd");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(printable_text_is_printed_as_it_is),
		cmocka_unit_test(control_characters_become_hex_escapes),
		cmocka_unit_test(malformed_bytes_become_hex_escapes),
		cmocka_unit_test(json_text_is_always_valid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
