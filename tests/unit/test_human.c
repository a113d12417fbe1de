/* test_human.c -- unit tests of the CLI's human sizes and durations
 * (client/ctl/human.c): lsblk's sizes, systemctl's durations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "human.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define EiB (GiB * GiB)

/* size_is -- human_size(@v) is @want. */
static void
size_is(uint64_t v, const char *want)
{
	char buf[32];

	human_size(v, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* ms_is -- human_duration_ms(@ms) is @want. */
static void
ms_is(uint64_t ms, const char *want)
{
	char buf[64];

	human_duration_ms(ms, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
bytes_below_a_kib_are_exact(void **state)
{
	(void)state;
	size_is(0, "0");
	size_is(1, "1");
	size_is(512, "512");
	size_is(1023, "1023");
}

static void
whole_units_have_no_decimal(void **state)
{
	(void)state;
	size_is(KiB, "1K");
	size_is(4 * KiB, "4K");
	size_is(2 * MiB, "2M");
	size_is(64 * MiB, "64M");
	size_is(256 * MiB, "256M");
	size_is(12 * GiB, "12G");
	size_is(1024 * GiB, "1T");
	size_is(EiB, "1E");
}

static void
small_values_keep_one_decimal(void **state)
{
	(void)state;
	size_is(1536 * MiB, "1.5G");
	size_is(1500 * KiB, "1.5M");
	size_is(4681728, "4.5M");
	size_is(9 * MiB + 900 * KiB, "9.9M");
	size_is(9 * MiB + 973 * KiB, "10M");
}

static void
values_from_ten_units_are_rounded(void **state)
{
	(void)state;
	size_is(10 * MiB + 600 * KiB, "11M");
	size_is(259559424, "248M");
	size_is(1023 * KiB, "1023K");
}

static void
rounding_up_to_1024_takes_the_next_unit(void **state)
{
	(void)state;
	size_is(MiB - 1, "1M");
	size_is(1023 * KiB + 1000, "1M");
	size_is(GiB - KiB, "1G");
}

static void
the_largest_sizes_stay_exact_enough(void **state)
{
	(void)state;
	size_is(UINT64_MAX, "16E");
	size_is(8 * EiB, "8E");
	size_is(EiB + EiB / 2, "1.5E");
	size_is(15 * EiB + EiB / 2, "16E");
}

static void
a_short_buffer_is_cut_not_overrun(void **state)
{
	char buf[4] = "xxx";

	(void)state;
	human_size(1536 * MiB, buf, sizeof(buf));
	assert_string_equal(buf, "1.5");
	human_duration_ms(3723000, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 3);
}

static void
durations_below_a_second_are_milliseconds(void **state)
{
	(void)state;
	ms_is(0, "0");
	ms_is(1, "1ms");
	ms_is(450, "450ms");
	ms_is(999, "999ms");
}

static void
durations_name_every_unit_down_to_seconds(void **state)
{
	(void)state;
	ms_is(1000, "1s");
	ms_is(5450, "5s");
	ms_is(65000, "1min 5s");
	ms_is(242000, "4min 2s");
	ms_is(7380000, "2h 3min");
	ms_is(3723000, "1h 2min 3s");
	ms_is(86400000, "1d");
	ms_is(90061000, "1d 1h 1min 1s");
	ms_is(UINT64_MAX, "213503982334d 14h 25min 51s");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bytes_below_a_kib_are_exact),
		cmocka_unit_test(whole_units_have_no_decimal),
		cmocka_unit_test(small_values_keep_one_decimal),
		cmocka_unit_test(values_from_ten_units_are_rounded),
		cmocka_unit_test(rounding_up_to_1024_takes_the_next_unit),
		cmocka_unit_test(the_largest_sizes_stay_exact_enough),
		cmocka_unit_test(a_short_buffer_is_cut_not_overrun),
		cmocka_unit_test(durations_below_a_second_are_milliseconds),
		cmocka_unit_test(durations_name_every_unit_down_to_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
