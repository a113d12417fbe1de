/* test_uidcount.c -- unit tests of the per-uid connection counts
 * (uidcount.c) against a plain array, with uids chosen to collide. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "uidcount.h"

#include "fdcheck.h"
#include "rng.h"

#define MAX_UIDS 8u   /* a table of 16 slots */
#define UID_SPACE 64u /* uids drawn from [0, 64): four per slot */
#define STEPS 200000

static void
counts_start_at_zero_and_follow_adds_and_drops(void **state)
{
	struct uidcount t;

	(void)state;
	assert_int_equal(uidcount_init(&t, MAX_UIDS), 0);
	assert_int_equal(uidcount_get(&t, 65534), 0);
	uidcount_add(&t, 65534);
	uidcount_add(&t, 65534);
	uidcount_add(&t, 1000);
	assert_int_equal(uidcount_get(&t, 65534), 2);
	assert_int_equal(uidcount_get(&t, 1000), 1);
	uidcount_drop(&t, 65534);
	uidcount_drop(&t, 1000);
	uidcount_drop(&t, 1000); /* already at 0: nothing */
	assert_int_equal(uidcount_get(&t, 65534), 1);
	assert_int_equal(uidcount_get(&t, 1000), 0);
	uidcount_fini(&t);
	uidcount_fini(&t); /* twice is fine */
	/* A freed table counts nothing and drops nothing. */
	assert_int_equal(uidcount_get(&t, 65534), 0);
	uidcount_drop(&t, 65534);
}

/* random_adds_and_drops_match_an_array -- the model: one count per uid.
 * Colliding uids come and go, so every deletion shifts entries back
 * across the table's wrap; a count that went missing or came back would
 * let a user past its cap. */
static void
random_adds_and_drops_match_an_array(void **state)
{
	uint32_t model[UID_SPACE] = {0};
	struct uidcount t;
	struct rng r;
	unsigned held = 0; /* uids with a count */

	(void)state;
	rng_init(&r, rng_seed("uidcount", 0x5eed));
	assert_int_equal(uidcount_init(&t, MAX_UIDS), 0);
	for (int step = 0; step < STEPS; step++) {
		uint32_t uid = (uint32_t)rng_below(&r, UID_SPACE);

		if (rng_below(&r, 2) && (model[uid] || held < MAX_UIDS)) {
			held += model[uid] == 0;
			model[uid]++;
			uidcount_add(&t, uid);
		} else if (model[uid]) {
			model[uid]--;
			held -= model[uid] == 0;
			uidcount_drop(&t, uid);
		}
		for (uint32_t u = 0; u < UID_SPACE; u++)
			if (uidcount_get(&t, u) != model[u])
				fail_msg("step %d: uid %u counts %u, not %u",
					 step, u, uidcount_get(&t, u),
					 model[u]);
	}
	uidcount_fini(&t);
}

/* many_uids_passing_through_never_fill_the_table -- slots are freed at a
 * uid's last drop: a million uids, each connecting and leaving, fit in a
 * table for eight. */
static void
many_uids_passing_through_never_fill_the_table(void **state)
{
	struct uidcount t;

	(void)state;
	assert_int_equal(uidcount_init(&t, MAX_UIDS), 0);
	for (uint32_t uid = 0; uid < 1000000; uid++) {
		uidcount_add(&t, uid);
		if (uid >= MAX_UIDS - 1)
			uidcount_drop(&t, uid - (MAX_UIDS - 1));
	}
	for (uint32_t uid = 1000000 - (MAX_UIDS - 1); uid < 1000000; uid++)
		assert_int_equal(uidcount_get(&t, uid), 1);
	assert_int_equal(uidcount_get(&t, 0), 0);
	uidcount_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(counts_start_at_zero_and_follow_adds_and_drops),
		fdcheck_test(random_adds_and_drops_match_an_array),
		fdcheck_test(many_uids_passing_through_never_fill_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
