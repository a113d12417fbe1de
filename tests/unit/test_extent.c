/* test_extent.c -- unit tests of the extent map (extent.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "extent.h"
#include "fdcheck.h"

static struct extent
ext(uint64_t file_pg, uint64_t region_pg, uint64_t npages, uint32_t slot)
{
	return (struct extent){.file_pg = file_pg,
			       .region_pg = region_pg,
			       .npages = npages,
			       .slot = slot};
}

/* The map used by most tests: [10,20) [20,25) [40,50), a hole at [25,40). */
static void
fill(struct extent_map *m)
{
	struct extent e[] = {ext(40, 1000, 10, 3), ext(10, 500, 10, 1),
			     ext(20, 700, 5, 2)};

	extent_map_init(m);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(extent_map_insert(m, &e[i]), 0);
}

static void
empty_map_has_no_pages_and_ends_at_zero(void **state)
{
	struct extent_map m;

	(void)state;
	extent_map_init(&m);
	assert_int_equal(m.n, 0);
	assert_null(m.v);
	assert_int_equal(extent_map_pages(&m), 0);
	assert_int_equal(extent_map_end(&m), 0);
	assert_int_equal(extent_map_find(&m, 0), 0);
	assert_null(extent_map_lookup(&m, 0));
	extent_map_fini(&m);
}

static void
insert_out_of_order_keeps_file_order_and_slots(void **state)
{
	struct extent_map m;

	(void)state;
	fill(&m);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.v[0].file_pg, 10);
	assert_int_equal(m.v[0].slot, 1);
	assert_int_equal(m.v[1].file_pg, 20);
	assert_int_equal(m.v[1].slot, 2);
	assert_int_equal(m.v[2].file_pg, 40);
	assert_int_equal(m.v[2].region_pg, 1000);
	assert_int_equal(m.v[2].slot, 3);
	extent_map_fini(&m);
	assert_int_equal(m.n, 0);
	assert_null(m.v);
}

static void
adjacent_extents_are_not_merged(void **state)
{
	struct extent_map m;
	struct extent a = ext(0, 100, 4, 7), b = ext(4, 104, 4, 8);

	(void)state;
	extent_map_init(&m);
	assert_int_equal(extent_map_insert(&m, &a), 0);
	assert_int_equal(extent_map_insert(&m, &b), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.v[1].slot, 8);
	extent_map_fini(&m);
}

static void
overlapping_insert_fails_with_eexist_and_changes_nothing(void **state)
{
	struct extent_map m;
	struct extent bad[] = {
		ext(10, 0, 10, 9), /* same range */
		ext(5, 0, 6, 9),   /* tail into [10,20) */
		ext(24, 0, 2, 9),  /* last page of [20,25) */
		ext(12, 0, 2, 9),  /* inside */
		ext(0, 0, 100, 9), /* covers everything */
		ext(39, 0, 2, 9),  /* head into [40,50) */
		ext(49, 0, 1, 9),  /* last page */
	};

	(void)state;
	fill(&m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(extent_map_insert(&m, &bad[i]), -EEXIST);
		assert_int_equal(m.n, 3);
		assert_int_equal(extent_map_pages(&m), 25);
	}
	extent_map_fini(&m);
}

static void
insert_filling_a_hole_exactly_succeeds(void **state)
{
	struct extent_map m;
	struct extent hole = ext(25, 900, 15, 4), head = ext(0, 0, 10, 5);

	(void)state;
	fill(&m);
	assert_int_equal(extent_map_insert(&m, &hole), 0);
	assert_int_equal(extent_map_insert(&m, &head), 0);
	assert_int_equal(m.n, 5);
	for (size_t i = 1; i < m.n; i++)
		assert_int_equal(m.v[i].file_pg,
				 m.v[i - 1].file_pg + m.v[i - 1].npages);
	assert_int_equal(extent_map_pages(&m), 50);
	extent_map_fini(&m);
}

static void
find_returns_containing_or_next_extent_at_boundaries(void **state)
{
	struct extent_map m;

	(void)state;
	fill(&m);
	assert_int_equal(extent_map_find(&m, 0), 0);  /* before all */
	assert_int_equal(extent_map_find(&m, 10), 0); /* first page */
	assert_int_equal(extent_map_find(&m, 19), 0); /* last page */
	assert_int_equal(extent_map_find(&m, 20), 1); /* next starts */
	assert_int_equal(extent_map_find(&m, 24), 1);
	assert_int_equal(extent_map_find(&m, 25), 2); /* hole: next */
	assert_int_equal(extent_map_find(&m, 39), 2);
	assert_int_equal(extent_map_find(&m, 49), 2);
	assert_int_equal(extent_map_find(&m, 50), 3); /* past the end */
	assert_int_equal(extent_map_find(&m, UINT64_MAX), 3);
	extent_map_fini(&m);
}

static void
lookup_finds_pages_inside_extents_and_null_in_holes(void **state)
{
	struct extent_map m;
	const struct extent *e;

	(void)state;
	fill(&m);
	assert_null(extent_map_lookup(&m, 9));
	e = extent_map_lookup(&m, 10);
	assert_non_null(e);
	assert_int_equal(e->region_pg, 500);
	assert_ptr_equal(extent_map_lookup(&m, 19), e);
	e = extent_map_lookup(&m, 20);
	assert_non_null(e);
	assert_int_equal(e->region_pg, 700);
	assert_ptr_equal(extent_map_lookup(&m, 24), e);
	assert_null(extent_map_lookup(&m, 25));
	assert_null(extent_map_lookup(&m, 39));
	e = extent_map_lookup(&m, 49);
	assert_non_null(e);
	assert_int_equal(e->slot, 3);
	assert_null(extent_map_lookup(&m, 50));
	extent_map_fini(&m);
}

static void
remove_at_drops_one_extent_and_keeps_order(void **state)
{
	struct extent_map m;

	(void)state;
	fill(&m);
	extent_map_remove_at(&m, 1);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.v[0].file_pg, 10);
	assert_int_equal(m.v[1].file_pg, 40);
	assert_null(extent_map_lookup(&m, 22));
	assert_int_equal(extent_map_pages(&m), 20);
	assert_int_equal(extent_map_end(&m), 50);

	extent_map_remove_at(&m, 1); /* the last one */
	assert_int_equal(m.n, 1);
	assert_int_equal(extent_map_end(&m), 20);
	extent_map_remove_at(&m, 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(extent_map_end(&m), 0);
	assert_int_equal(extent_map_pages(&m), 0);
	extent_map_fini(&m);
}

static void
pages_and_end_count_mapped_pages_not_holes(void **state)
{
	struct extent_map m;

	(void)state;
	fill(&m);
	assert_int_equal(extent_map_pages(&m), 25);
	assert_int_equal(extent_map_end(&m), 50);
	extent_map_fini(&m);
}

static void
many_inserts_grow_the_array_and_stay_sorted(void **state)
{
	struct extent_map m;
	uint64_t k = 1;

	(void)state;
	extent_map_init(&m);
	/* 1000 two-page extents at even positions, in a scrambled order
	 * (7 is coprime with 1000, so i*7 mod 1000 visits each once). */
	for (uint64_t i = 0; i < 1000; i++) {
		struct extent e = ext((i * 7 % 1000) * 4, i, 2, (uint32_t)i);

		assert_int_equal(extent_map_insert(&m, &e), 0);
	}
	assert_int_equal(m.n, 1000);
	assert_true(m.cap >= m.n);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(m.v[i].file_pg, i * 4);
	assert_int_equal(extent_map_pages(&m), 2000);
	assert_int_equal(extent_map_end(&m), 999 * 4 + 2);
	for (uint64_t pg = 0; pg < 4000; pg += k, k = k % 5 + 1) {
		const struct extent *e = extent_map_lookup(&m, pg);

		if (pg % 4 < 2) {
			assert_non_null(e);
			assert_int_equal(e->file_pg, pg - pg % 4);
		} else {
			assert_null(e);
			assert_int_equal(extent_map_find(&m, pg), pg / 4 + 1);
		}
	}
	extent_map_fini(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(empty_map_has_no_pages_and_ends_at_zero),
		fdcheck_test(insert_out_of_order_keeps_file_order_and_slots),
		fdcheck_test(adjacent_extents_are_not_merged),
		fdcheck_test(
			overlapping_insert_fails_with_eexist_and_changes_nothing),
		fdcheck_test(insert_filling_a_hole_exactly_succeeds),
		fdcheck_test(
			find_returns_containing_or_next_extent_at_boundaries),
		fdcheck_test(
			lookup_finds_pages_inside_extents_and_null_in_holes),
		fdcheck_test(remove_at_drops_one_extent_and_keeps_order),
		fdcheck_test(pages_and_end_count_mapped_pages_not_holes),
		fdcheck_test(many_inserts_grow_the_array_and_stay_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
