/* test_folio.c -- unit tests of folio tiling (folio.c) against an oracle. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folio.h"

#include "fdcheck.h"
#include "rng.h"

#define GIB_PAGES (UINT64_C(1) << 18) /* 1 GiB in 4 KiB pages */
#define P40 (UINT64_C(1) << 40)
#define ORACLE_MAX 2048u /* longest range the oracle is run on */

static int
aligned(uint64_t pg, uint32_t order)
{
	return order < 64 && (pg & ((UINT64_C(1) << order) - 1)) == 0;
}

/*
 * The oracle: the fewest folios tiling [f, f + n) stored at r, by dynamic
 * programming over page boundaries. best[i] is the fewest folios covering
 * the first i pages; the last folio of such a cover is some aligned order k
 * block ending at i. It knows nothing of the greedy idea it checks.
 */
static uint64_t
oracle_min(uint64_t f, uint64_t r, uint64_t n, uint32_t max_order)
{
	static uint64_t best[ORACLE_MAX + 1];

	assert_true(n <= ORACLE_MAX);
	best[0] = 0;
	for (uint64_t i = 1; i <= n; i++) {
		best[i] = UINT64_MAX;
		for (uint32_t k = 0; k <= max_order && k < 63; k++) {
			uint64_t len = UINT64_C(1) << k;
			uint64_t s;

			if (len > i)
				break;
			s = i - len;
			if (!aligned(f + s, k) || !aligned(r + s, k))
				continue;
			if (best[s] != UINT64_MAX && best[s] + 1 < best[i])
				best[i] = best[s] + 1;
		}
		/* Order 0 always fits, so every prefix has a cover. */
		assert_true(best[i] != UINT64_MAX);
	}
	return best[n];
}

/* Checks that @v[0..n) tiles [f, f + npages) at r exactly, in order, each
 * folio aligned in both spaces with order <= max_order. */
static void
assert_valid_tiling(uint64_t f, uint64_t r, uint64_t npages, uint32_t max_order,
		    const struct folio *v, size_t n)
{
	uint64_t done = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t len;

		assert_true(v[i].order <= max_order);
		assert_true(v[i].order < 64);
		assert_true(v[i].file_pg == f + done);
		assert_true(v[i].region_pg == r + done);
		assert_true(aligned(v[i].file_pg, v[i].order));
		assert_true(aligned(v[i].region_pg, v[i].order));
		len = UINT64_C(1) << v[i].order;
		assert_true(len <= npages - done);
		done += len;
	}
	assert_true(done == npages);
}

/* Tiles the whole range into a fresh array; the caller frees it. */
static struct folio *
tile_all(uint64_t f, uint64_t r, uint64_t npages, uint32_t max_order,
	 size_t cap, size_t *ret_n)
{
	struct folio *v = calloc(cap ? cap : 1, sizeof(*v));
	uint64_t pages = UINT64_MAX;

	assert_non_null(v);
	*ret_n = folio_tile(f, r, npages, max_order, v, cap, &pages);
	assert_true(pages == npages);
	return v;
}

/* The full check: valid, minimal per the oracle, and counted alike. */
static void
check_against_oracle(uint64_t f, uint64_t r, uint64_t npages,
		     uint32_t max_order)
{
	size_t n;
	struct folio *v = tile_all(f, r, npages, max_order, npages, &n);
	uint64_t want = oracle_min(f, r, npages, max_order);

	assert_valid_tiling(f, r, npages, max_order, v, n);
	if (n != want)
		fprintf(stderr,
			"f=%llu r=%llu n=%llu max_order=%u: %zu "
			"folios, oracle %llu\n",
			(unsigned long long)f, (unsigned long long)r,
			(unsigned long long)npages, max_order, n,
			(unsigned long long)want);
	assert_true(n == want);
	assert_true(folio_count(f, r, npages, max_order) == want);
	assert_int_equal(folio_order_at(f, r, npages, max_order), v[0].order);
	free(v);
}

/* A page number of about @bits bits, sometimes with long runs of zeros
 * in its low bits so that large alignments occur. */
static uint64_t
rnd_page(uint32_t bits)
{
	uint64_t pg = bits ? rnd() >> (64 - bits) : 0;
	uint32_t zeros = (uint32_t)rnd_below(bits + 1);

	if (rnd_below(2) && zeros < 64)
		pg &= ~((UINT64_C(1) << zeros) - 1);
	return pg;
}

static const uint32_t orders[] = {0, 1, 2, 3, 9, 10, 18, 63, UINT32_MAX};
#define N_ORDERS (sizeof(orders) / sizeof(orders[0]))

static void
random_ranges_tile_into_the_fewest_folios(void **state)
{
	(void)state;
	for (int t = 0; t < 3000; t++) {
		uint32_t mo = orders[rnd_below(N_ORDERS)];
		uint64_t f = rnd_page((uint32_t)rnd_below(42));
		uint64_t r = rnd_page((uint32_t)rnd_below(42));
		uint64_t n = 1 + rnd_below(t % 4 ? 64 : ORACLE_MAX);

		check_against_oracle(f, r, n, mo);
	}
}

static void
offsets_congruent_mod_2k_only_use_orders_up_to_k(void **state)
{
	(void)state;
	for (uint32_t k = 0; k <= 20; k++) {
		for (int t = 0; t < 60; t++) {
			uint32_t mo = orders[rnd_below(N_ORDERS)];
			uint64_t f = rnd_page(40);
			/* d is an odd multiple of 2^k: exactly k bits agree. */
			uint64_t d = (2 * rnd_below(1u << 12) + 1) << k;
			uint64_t r = f + d;
			uint64_t n = 1 + rnd_below(ORACLE_MAX);
			uint64_t cap = k < mo ? k : mo;
			size_t cnt;
			struct folio *v = tile_all(f, r, n, mo, n, &cnt);

			check_against_oracle(f, r, n, mo);
			for (size_t i = 0; i < cnt; i++)
				assert_true(v[i].order <= cap);
			free(v);
		}
	}
}

static void
congruent_offsets_reach_the_largest_order_that_fits(void **state)
{
	(void)state;
	/* f == r mod 2^18: the range holds a whole 2^k block, so it must
	 * appear as one folio of order min(k, max_order). */
	for (uint32_t k = 0; k <= 9; k++) {
		for (size_t o = 0; o < N_ORDERS; o++) {
			uint32_t mo = orders[o];
			uint64_t f = (UINT64_C(5) << 18) + 3;
			uint64_t r = (UINT64_C(77) << 18) + 3;
			uint64_t n = (UINT64_C(3) << k) + 1;
			uint32_t want = k < mo ? k : mo, top = 0;
			size_t cnt;
			struct folio *v = tile_all(f, r, n, mo, n, &cnt);

			for (size_t i = 0; i < cnt; i++)
				if (v[i].order > top)
					top = v[i].order;
			assert_true(top >= want);
			assert_true(top <= (mo < 63 ? mo : 63));
			check_against_oracle(f, r, n, mo);
			free(v);
		}
	}
}

static void
offsets_of_different_parity_fall_back_to_4k_pages(void **state)
{
	(void)state;
	for (int t = 0; t < 200; t++) {
		uint64_t f = rnd_page(40) & ~UINT64_C(1);
		uint64_t r = rnd_page(40) | 1;
		uint64_t n = 1 + rnd_below(ORACLE_MAX);
		size_t cnt;
		struct folio *v = tile_all(f, r, n, 18, n, &cnt);

		assert_true(cnt == n);
		for (size_t i = 0; i < cnt; i++)
			assert_int_equal(v[i].order, 0);
		assert_valid_tiling(f, r, n, 18, v, cnt);
		assert_true(folio_count(f, r, n, 18) == n);
		free(v);
	}
}

static void
max_order_zero_gives_one_folio_per_page(void **state)
{
	(void)state;
	for (int t = 0; t < 200; t++) {
		uint64_t f = rnd_page(41), n = 1 + rnd_below(ORACLE_MAX);
		size_t cnt;
		/* Same offsets: alignment would allow huge folios. */
		struct folio *v = tile_all(f, f, n, 0, n, &cnt);

		assert_true(cnt == n);
		assert_valid_tiling(f, f, n, 0, v, cnt);
		assert_true(folio_count(f, f, n, 0) == n);
		check_against_oracle(f, f, n, 0);
		free(v);
	}
}

static void
single_page_range_is_one_order_zero_folio(void **state)
{
	const uint64_t pg[] = {
		0,	   1,	    2,	 511,	  512,
		GIB_PAGES, P40 - 1, P40, P40 + 1, UINT64_MAX >> 1};

	(void)state;
	for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++) {
		for (size_t j = 0; j < sizeof(pg) / sizeof(pg[0]); j++) {
			for (size_t o = 0; o < N_ORDERS; o++) {
				struct folio v[2];
				uint64_t pages = 0;

				memset(v, 0xff, sizeof(v));
				assert_int_equal(folio_tile(pg[i], pg[j], 1,
							    orders[o], v, 2,
							    &pages),
						 1);
				assert_true(pages == 1);
				assert_true(v[0].file_pg == pg[i]);
				assert_true(v[0].region_pg == pg[j]);
				assert_int_equal(v[0].order, 0);
				/* The slot after the last is not touched. */
				assert_true(v[1].file_pg == UINT64_MAX);
				assert_true(folio_count(pg[i], pg[j], 1,
							orders[o]) == 1);
			}
		}
	}
}

static void
exact_2mib_aligned_range_is_one_order_9_folio(void **state)
{
	const uint32_t mo[] = {9, 10, 18, 63};
	struct folio v[512];
	uint64_t pages;

	(void)state;
	for (size_t i = 0; i < sizeof(mo) / sizeof(mo[0]); i++) {
		assert_int_equal(folio_tile(512 * 3, 512 * 1001, 512, mo[i], v,
					    512, &pages),
				 1);
		assert_true(pages == 512);
		assert_int_equal(v[0].order, 9);
		assert_true(v[0].file_pg == 512 * 3);
		assert_true(v[0].region_pg == 512 * 1001);
		assert_true(folio_count(512 * 3, 512 * 1001, 512, mo[i]) == 1);
	}
	/* Capped lower, the same range needs 2^(9 - max_order) folios. */
	for (uint32_t m = 0; m < 9; m++) {
		size_t n = folio_tile(0, 512, 512, m, v, 512, &pages);

		assert_true(n == (size_t)1 << (9 - m));
		assert_valid_tiling(0, 512, 512, m, v, n);
		assert_true(folio_count(0, 512, 512, m) == n);
	}
	/* Off by one page in the region: nothing bigger than 4 KiB. */
	assert_int_equal(folio_tile(512, 1025, 512, 9, v, 512, &pages), 512);
	check_against_oracle(512, 1025, 512, 9);
	check_against_oracle(512, 1024, 512, 9);
	/* Off by one page in both: climb to 2 MiB, then one page. */
	check_against_oracle(513, 1025, 512, 9);
	assert_true(folio_count(513, 1025, 512, 9) == 9 + 1);
}

static void
one_gib_at_odd_offset_gives_262144_order_0_folios(void **state)
{
	size_t n;
	struct folio *v;

	(void)state;
	/* d odd: no folio above order 0 is aligned in both. */
	v = tile_all(0, 1, GIB_PAGES, 18, GIB_PAGES, &n);
	assert_true(n == GIB_PAGES);
	assert_valid_tiling(0, 1, GIB_PAGES, 18, v, n);
	assert_true(folio_count(0, 1, GIB_PAGES, 18) == GIB_PAGES);
	free(v);
	/* max_order 0 with perfectly aligned offsets: the same count. */
	v = tile_all(GIB_PAGES, GIB_PAGES, GIB_PAGES, 0, GIB_PAGES, &n);
	assert_true(n == GIB_PAGES);
	assert_valid_tiling(GIB_PAGES, GIB_PAGES, GIB_PAGES, 0, v, n);
	free(v);
}

static void
one_gib_congruent_mod_2mib_gives_512_order_9_folios(void **state)
{
	/* d = 512 * 995: 2 MiB aligned in both, never 4 MiB. */
	const uint64_t f = 512 * 7, r = 512 * 1002;
	const uint32_t mo[] = {9, 18, UINT32_MAX};
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(mo) / sizeof(mo[0]); i++) {
		struct folio *v = tile_all(f, r, GIB_PAGES, mo[i], 1024, &n);

		assert_true(n == 512);
		for (size_t j = 0; j < n; j++)
			assert_int_equal(v[j].order, 9);
		assert_valid_tiling(f, r, GIB_PAGES, mo[i], v, n);
		assert_true(folio_count(f, r, GIB_PAGES, mo[i]) == 512);
		free(v);
	}
}

static void
one_gib_aligned_range_is_one_order_18_folio(void **state)
{
	struct folio v[4];
	uint64_t pages;

	(void)state;
	assert_int_equal(folio_tile(GIB_PAGES * 5, GIB_PAGES * 9, GIB_PAGES, 18,
				    v, 4, &pages),
			 1);
	assert_true(pages == GIB_PAGES);
	assert_int_equal(v[0].order, 18);
	/* With 2 MiB the largest allowed, 512 of them. */
	assert_true(folio_count(GIB_PAGES * 5, GIB_PAGES * 9, GIB_PAGES, 9) ==
		    512);
}

static void
one_gib_range_one_page_off_climbs_and_descends(void **state)
{
	size_t n;
	struct folio *v = tile_all(1, 1, GIB_PAGES, 18, GIB_PAGES, &n);

	(void)state;
	/* Orders 0..17 up to page 2^18, then one page: 19 folios. */
	assert_true(n == 19);
	for (uint32_t k = 0; k < 18; k++)
		assert_int_equal(v[k].order, k);
	assert_int_equal(v[18].order, 0);
	assert_valid_tiling(1, 1, GIB_PAGES, 18, v, n);
	assert_true(folio_count(1, 1, GIB_PAGES, 18) == 19);
	free(v);
	/* Capped at order 9: climb 0..8, 511 blocks of 512, descend 0. */
	assert_true(folio_count(1, 1, GIB_PAGES, 9) == 9 + 511 + 1);
}

static void
ranges_near_2_pow_40_pages_tile_minimally(void **state)
{
	(void)state;
	for (int t = 0; t < 1500; t++) {
		uint32_t mo = orders[rnd_below(N_ORDERS)];
		uint64_t n = 1 + rnd_below(ORACLE_MAX);
		/* Often straddling 2^40 itself, a boundary of every order. */
		uint64_t f = P40 - rnd_below(n + 64);
		uint64_t r = t % 3 ? P40 + (f & 0x3ffff) - rnd_below(3) * 512
				   : rnd_page(41);

		check_against_oracle(f, r, n, mo);
	}
	/* Whole 1 GiB blocks just below and above 2^40. */
	assert_true(folio_count(P40 - GIB_PAGES, P40, 2 * GIB_PAGES, 18) == 2);
	assert_true(folio_count(P40 - 1, 2 * P40 - 1, 2 * GIB_PAGES, 18) ==
		    1 + 1 + 18);
}

static void
huge_ranges_and_orders_beyond_63_stay_defined(void **state)
{
	struct folio v[70];
	uint64_t pages;
	size_t n;

	(void)state;
	/* 2^64 - 1 pages from 0: orders 63 down to 0, one each. */
	n = folio_tile(0, 0, UINT64_MAX, UINT32_MAX, v, 70, &pages);
	assert_true(n == 64);
	assert_true(pages == UINT64_MAX);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].order, 63 - i);
	assert_valid_tiling(0, 0, UINT64_MAX, UINT32_MAX, v, n);
	assert_true(folio_count(0, 0, UINT64_MAX, UINT32_MAX) == 64);
	assert_true(folio_count(0, 0, UINT64_C(1) << 63, 64) == 1);
	/* A cap below the range's alignment still bounds every folio. */
	assert_true(folio_count(0, 0, UINT64_C(1) << 50, 18) == UINT64_C(1)
									<< 32);
}

static void
tiling_resumes_where_max_ran_out(void **state)
{
	(void)state;
	for (int t = 0; t < 400; t++) {
		uint32_t mo = orders[rnd_below(N_ORDERS)];
		uint64_t f = rnd_page(41), r = rnd_page(41);
		uint64_t n = 1 + rnd_below(t % 32 ? ORACLE_MAX : GIB_PAGES);
		size_t want_n, got = 0;
		struct folio *want = tile_all(f, r, n, mo, n, &want_n);
		struct folio *got_v = calloc(want_n, sizeof(*got_v));
		uint64_t done = 0;
		size_t step = 1 + rnd_below(8);

		assert_non_null(got_v);
		while (done < n) {
			uint64_t pages = UINT64_MAX;
			size_t max = step < want_n - got ? step : want_n - got;
			size_t k = folio_tile(f + done, r + done, n - done, mo,
					      got_v + got, max, &pages);

			assert_true(k == max);
			assert_true(pages > 0 && pages <= n - done);
			if (got + k < want_n)
				assert_true(pages < n - done);
			got += k;
			done += pages;
		}
		assert_true(got == want_n);
		assert_memory_equal(got_v, want, want_n * sizeof(*want));
		free(got_v);
		free(want);
	}
}

static void
empty_output_or_empty_range_writes_nothing(void **state)
{
	struct folio v[1];
	uint64_t pages = 42;

	(void)state;
	memset(v, 0xab, sizeof(v));
	assert_int_equal(folio_tile(0, 0, 512, 9, v, 0, &pages), 0);
	assert_true(pages == 0);
	assert_true(v[0].file_pg == UINT64_C(0xabababababababab));
	pages = 42;
	assert_int_equal(folio_tile(0, 0, 0, 9, v, 1, &pages), 0);
	assert_true(pages == 0);
	assert_true(folio_count(123, 456, 0, 9) == 0);
	/* ret_pages may be left out when the caller only wants folios. */
	assert_int_equal(folio_tile(0, 0, 512, 9, v, 1, NULL), 1);
	assert_int_equal(v[0].order, 9);
}

static void
count_equals_the_number_of_folios_tiled(void **state)
{
	struct folio buf[64];

	(void)state;
	for (int t = 0; t < 1000; t++) {
		uint32_t mo = orders[rnd_below(N_ORDERS)];
		uint64_t f = rnd_page((uint32_t)rnd_below(45));
		uint64_t r = t % 2 ? f + (rnd_below(1u << 20) << 9)
				   : rnd_page((uint32_t)rnd_below(45));
		uint64_t n = 1 + rnd_below(UINT64_C(1) << rnd_below(19));
		uint64_t total = 0, done = 0;

		while (done < n) {
			uint64_t pages;

			total += folio_tile(f + done, r + done, n - done, mo,
					    buf, 64, &pages);
			done += pages;
		}
		assert_true(done == n);
		assert_true(folio_count(f, r, n, mo) == total);
	}
}

static void
order_at_is_the_least_of_alignment_length_and_cap(void **state)
{
	(void)state;
	/* Page 0 in both is aligned to everything: length decides. */
	assert_int_equal(folio_order_at(0, 0, 1, 18), 0);
	assert_int_equal(folio_order_at(0, 0, 511, 18), 8);
	assert_int_equal(folio_order_at(0, 0, 512, 18), 9);
	assert_int_equal(folio_order_at(0, 0, GIB_PAGES, 18), 18);
	assert_int_equal(folio_order_at(0, 0, GIB_PAGES * 4, 18), 18);
	assert_int_equal(folio_order_at(0, 0, UINT64_MAX, 18), 18);
	assert_int_equal(folio_order_at(0, 0, UINT64_MAX, 63), 63);
	assert_int_equal(folio_order_at(0, 0, UINT64_MAX, UINT32_MAX), 63);
	assert_int_equal(folio_order_at(0, 0, UINT64_C(1) << 63, 64), 63);
	/* max_order 0 always wins. */
	assert_int_equal(folio_order_at(0, 0, UINT64_MAX, 0), 0);
	assert_int_equal(folio_order_at(P40, P40, P40, 0), 0);
	/* The less aligned of the two pages decides. */
	assert_int_equal(folio_order_at(512, 256, 4096, 18), 8);
	assert_int_equal(folio_order_at(256, 512, 4096, 18), 8);
	assert_int_equal(folio_order_at(P40, 1, 4096, 18), 0);
	assert_int_equal(folio_order_at(P40, P40 * 3, P40, 18), 18);
	assert_int_equal(folio_order_at(P40, 0, P40, 63), 40);
	assert_int_equal(folio_order_at(UINT64_C(1) << 63, 0, UINT64_MAX, 63),
			 63);
	/* Offsets congruent but not aligned: only their alignment counts. */
	assert_int_equal(folio_order_at(3, 3, 4096, 18), 0);
	assert_int_equal(folio_order_at(4, 4, 3, 18), 1);
	/* Random checks against the definition. */
	for (int t = 0; t < 5000; t++) {
		uint32_t mo = orders[rnd_below(N_ORDERS)], want = 0;
		uint64_t f = rnd_page(45), r = rnd_page(45);
		uint64_t n = 1 + rnd_below(UINT64_C(1) << rnd_below(30));

		for (uint32_t k = 1; k <= mo && k < 64; k++)
			if (aligned(f, k) && aligned(r, k) &&
			    (UINT64_C(1) << k) <= n)
				want = k;
		assert_int_equal(folio_order_at(f, r, n, mo), want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(random_ranges_tile_into_the_fewest_folios),
		fdcheck_test(offsets_congruent_mod_2k_only_use_orders_up_to_k),
		fdcheck_test(
			congruent_offsets_reach_the_largest_order_that_fits),
		fdcheck_test(offsets_of_different_parity_fall_back_to_4k_pages),
		fdcheck_test(max_order_zero_gives_one_folio_per_page),
		fdcheck_test(single_page_range_is_one_order_zero_folio),
		fdcheck_test(exact_2mib_aligned_range_is_one_order_9_folio),
		fdcheck_test(one_gib_at_odd_offset_gives_262144_order_0_folios),
		fdcheck_test(
			one_gib_congruent_mod_2mib_gives_512_order_9_folios),
		fdcheck_test(one_gib_aligned_range_is_one_order_18_folio),
		fdcheck_test(one_gib_range_one_page_off_climbs_and_descends),
		fdcheck_test(ranges_near_2_pow_40_pages_tile_minimally),
		fdcheck_test(huge_ranges_and_orders_beyond_63_stay_defined),
		fdcheck_test(tiling_resumes_where_max_ran_out),
		fdcheck_test(empty_output_or_empty_range_writes_nothing),
		fdcheck_test(count_equals_the_number_of_folios_tiled),
		fdcheck_test(order_at_is_the_least_of_alignment_length_and_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
