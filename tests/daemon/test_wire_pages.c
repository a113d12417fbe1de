/* test_wire_pages.c -- a blockers reply page of the longest rows fits in
 * one packet, with and without the fields of CAP_BLOCKER_FIELDS: query.c
 * sizes its pages by these rows (BLOCKERS_MAX, BLOCKERS_FIELDS_MAX), and
 * a page that does not fit would be an error where a listing was due. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "recall.h"
#include "region.h"
#include "wire.h"

/* query.c's rows per blockers page, without and with the fields. */
#define ROWS 200u
#define ROWS_FIELDS 120u

static char region[REGION_NAME_MAX + 1];

/* longest -- every string as long as the daemon makes it, every number
 * as long as a varint gets. */
static void
longest(struct blocker *b)
{
	memset(b, 0, sizeof(*b));
	b->op = "shutdown";
	memset(b->target, 't', sizeof(b->target) - 1);
	b->region = region;
	memset(b->file, 'f', PM_NAME_MAX);
	memset(b->comm, 'c', sizeof(b->comm) - 1);
	b->ino = b->new_size = b->lease_id = b->client_id = UINT64_MAX;
	b->grants = UINT64_MAX;
	b->pid = UINT32_MAX;
}

static void
a_page_of_the_longest_blockers_fits_in_a_packet(void **state)
{
	struct blocker *v = calloc(ROWS, sizeof(*v));
	uint8_t *out = malloc(WIRE_MAX_PACKET);

	(void)state;
	assert_non_null(v);
	assert_non_null(out);
	memset(region, 'r', REGION_NAME_MAX);
	for (size_t i = 0; i < ROWS; i++)
		longest(&v[i]);
	assert_true(wire_blockers(out, WIRE_MAX_PACKET, 1, v, ROWS, true,
				  false, UINT64_MAX) > 0);
	assert_true(wire_blockers(out, WIRE_MAX_PACKET, 1, v, ROWS_FIELDS,
				  true, true, UINT64_MAX) > 0);
	/* ...and the smaller page is needed: the fields make rows larger */
	assert_true(wire_blockers(out, WIRE_MAX_PACKET, 1, v, ROWS, true,
				  true, 0) < 0);
	free(out);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			a_page_of_the_longest_blockers_fits_in_a_packet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
